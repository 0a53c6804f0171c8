"""The student edition (``python -m grader publish``): what students get, and nothing more."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest
from lab_server import jupyter_tool
from test_project import conda_bounds
from traitlets.config.loader import PyFileConfigLoader

from grader import kernel_setup, publish
from grader.__main__ import main
from grader.course import Course, GraderError
from grader.leakscan import Secrets, leaks, secrets
from grader.requirements import STUDENT_REQUIREMENTS, requirement_bounds

REPO = Path(__file__).resolve().parents[1]
#: What the edition holds at its top level, and only that.
TOP_LEVEL = {
    ".gitignore",
    "Makefile",
    "README.md",
    "chainrule",
    "environment.yml",
    "jupyter",
    "lectures",
    "nbgrader_config.py",
    "nbgrader_kernel_setup.py",
    "postBuild",
    "pyproject.toml",
    "requirements.txt",
}


def files_of(folder: Path) -> dict[Path, tuple[bytes, int]]:
    """Content and permission bits of every file under ``folder``, by relative path."""
    return {
        path.relative_to(folder): (path.read_bytes(), path.stat().st_mode & 0o777)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def course() -> Course:
    return Course(REPO)


@pytest.fixture(scope="module")
def found(course: Course) -> Secrets:
    return secrets(course)


@pytest.fixture(scope="module")
def edition(course: Course, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The student edition, published by the command line."""
    destination = tmp_path_factory.mktemp("edition") / "student"
    assert main(["--course", str(REPO), "publish", str(destination)]) == 0
    return destination


def test_the_edition_holds_the_release_the_module_and_their_setup_only(edition: Path) -> None:
    assert {p.name for p in edition.iterdir()} == TOP_LEVEL
    parts = {part for path in files_of(edition) for part in path.parts}
    for forbidden in ("solutions", "grader", "tests", "autograded", "submitted", "gradebook"):
        assert not [p for p in parts if p.startswith(forbidden)], forbidden
    released = {p.relative_to(REPO) for p in (REPO / "lectures").rglob("*.ipynb")}
    assert released and released <= set(files_of(edition))
    assert (edition / "postBuild").stat().st_mode & 0o111


def test_publishing_twice_gives_the_same_bytes(
    course: Course, edition: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    publish.publish(course, again)
    assert files_of(again) == files_of(edition)
    # Into a clone of the edition's repository, after `make lab` ran there: .git stays.
    head = {Path(".git/HEAD"): (b"ref: refs/heads/main\n", 0o644)}
    (again / ".git").mkdir()
    (again / ".git" / "HEAD").write_bytes(head[Path(".git/HEAD")][0])
    (again / "work").mkdir()
    publish.publish(course, again)
    assert files_of(again) == files_of(edition) | head
    assert not (again / "work").exists()


def test_publishing_refuses_a_folder_that_holds_something_else(
    course: Course, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(GraderError, match="holds no student edition"):
        publish.publish(course, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_no_answer_hidden_test_delimiter_or_source_path_anywhere_in_the_edition(
    edition: Path, found: Secrets
) -> None:
    # The secrets are real: every answer and hidden test has lines students must not see.
    assert len(found.lines) > 100 and found.source_folder == "solutions"
    files = {name: content for name, (content, _) in files_of(edition).items()}
    assert leaks(files, found) == []


def _hidden_line(found: Secrets, where: str) -> str:
    """A secret line coming from a cell whose description contains ``where``."""
    return next(line for line, origin in found.lines.items() if where in origin and len(line) > 20)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("README.md", "{hidden_test}\n", "hidden in"),
        ("lectures/x.ipynb", "{answer_in_metadata}", "hidden in"),
        ("lectures/x.ipynb", '{{"metadata": {{"a": "### BEGIN SOLUTION"}}}}', "delimiter"),
        ("README.md", "see solutions/04_backprop/04_backprop.ipynb\n", "a path in solutions/"),
        ("solutions/notes.txt", "nothing\n", "a file of the source folder"),
    ],
    ids=["hidden-test-in-text", "answer-in-metadata", "marker", "source-path", "source-file"],
)
def test_the_leak_scan_finds_each_kind_of_leak(
    found: Secrets, name: str, content: str, problem: str
) -> None:
    answer = _hidden_line(found, "cell linreg_grad")
    notebook = nbformat.v4.new_notebook(metadata={"note": f"first\n  {answer}  \nlast"})
    text = content.format(
        hidden_test=_hidden_line(found, "cell test_"),
        answer_in_metadata=nbformat.writes(notebook),
    )
    (report,) = leaks({Path(name): text.encode()}, found)
    assert problem in report and report.startswith(name)


def test_publishing_an_edition_that_would_leak_writes_nothing(
    course: Course, found: Secrets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaky = {**publish.edition_files(course), Path("notes.md"): next(iter(found.lines)).encode()}
    monkeypatch.setattr(publish, "edition_files", lambda course: leaky)
    with pytest.raises(GraderError, match="notes.md"):
        publish.publish(course, tmp_path / "student")
    assert not (tmp_path / "student").exists()


def test_the_editions_lists_are_the_students_list(edition: Path) -> None:
    student = REPO / STUDENT_REQUIREMENTS
    assert (edition / "requirements.txt").read_bytes() == student.read_bytes()
    bounds = requirement_bounds(student)
    assert conda_bounds((edition / "environment.yml").read_text()) == bounds
    assert "scikit-learn" in bounds  # notebook 04's digits come from its package


def test_the_editions_nbgrader_config_has_no_source_no_gradebook_no_grader(edition: Path) -> None:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(edition)).load_config()
    assert set(config.CourseDirectory) == {"course_id"}
    assert "grader." not in str(config.Execute.extra_arguments)
    setup = edition / "nbgrader_kernel_setup.py"
    assert setup.read_bytes() == Path(kernel_setup.__file__).read_bytes()


def validate(edition: Path, notebook: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``nbgrader validate notebook`` run from the edition, with its configuration."""
    return subprocess.run(
        [*jupyter_tool("nbgrader.apps.nbgraderapp"), "validate", str(notebook), *options],
        cwd=edition,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_validate_in_the_edition_runs_the_visible_tests_and_ignores_warnings(
    edition: Path,
) -> None:
    test = {"grade": True, "grade_id": "test_w", "points": 1, "solution": False, "locked": True}
    test["schema_version"] = 3
    warns = nbformat.v4.new_notebook()
    warns.cells = [
        nbformat.v4.new_code_cell(
            "import warnings\nwarnings.warn('overflow')", metadata={"nbgrader": test}
        )
    ]
    nbformat.write(warns, edition / "warns.ipynb")
    try:
        result = validate(edition, edition / "warns.ipynb")
        # Without the edition's kernel set-up, the warning on stderr fails the test cell.
        bare = validate(edition, edition / "warns.ipynb", "--Execute.extra_arguments=[]")
    finally:
        (edition / "warns.ipynb").unlink()
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stderr
    assert "VALIDATION FAILED" in bare.stdout

    stub = validate(edition, edition / "lectures/01_derivatives/01_derivatives.ipynb")
    assert "VALIDATION FAILED" in stub.stdout and "NotImplementedError" in stub.stdout


def test_the_hub_config_of_the_deploy_guide_runs_the_editions_kernel_setup() -> None:
    config = (REPO / "grader" / "edition" / "nbgrader_config.py").read_text().splitlines()
    (line,) = [line.strip() for line in config if "--IPKernelApp.exec_lines=" in line]
    assert line in (REPO / "docs" / "deploy.md").read_text()
