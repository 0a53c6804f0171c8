"""The grader's parts, one at a time (the whole loop is in test_grader_e2e.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from grader import kernel_setup
from grader.__main__ import main
from grader.autograde import Submission, find_submissions, kill_process_tree
from grader.check import AssignmentCheck, delimited_regions, leaks, stale_release
from grader.collect import DEFAULT_REGEXP, collect, named_regexp
from grader.course import CONFIG_FILE, Course, GraderError, check_result, select, with_busy_timeout
from grader.export import plot_histograms
from grader.failures import failure_notebook
from grader.preprocessors import HideHiddenTests, NormalizeMetadata
from grader.scores import CellScore
from grader.worker import explain_failure, unreadable_reason

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_derivatives"


def nbgrader_cell(source: str, grade_id: str, *, solution: bool = False, points: float = 0):
    """A code cell with nbgrader metadata: an answer cell, or a test cell worth ``points``."""
    meta = {"grade_id": grade_id, "solution": solution, "grade": points > 0, "locked": not solution}
    if points:
        meta["points"] = points
    return new_code_cell(source, metadata={"nbgrader": {**meta, "schema_version": 3}})


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Course:
    """An empty course: the repository's configuration and nothing else."""
    monkeypatch.delenv("CHAINRULE_DB_URL", raising=False)
    shutil.copy(REPO / CONFIG_FILE, tmp_path / CONFIG_FILE)
    return Course(tmp_path)


def write_notebook(path: Path, notebook: nbformat.NotebookNode) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


# -- course ----------------------------------------------------------------------------------


def test_sqlite_gradebook_gets_a_busy_timeout_other_databases_do_not() -> None:
    assert with_busy_timeout("sqlite:////tmp/x/gradebook.db", 30) == (
        "sqlite:////tmp/x/gradebook.db?timeout=30"
    )
    assert with_busy_timeout("sqlite:////tmp/g.db?timeout=5") == "sqlite:////tmp/g.db?timeout=5"
    url = "postgresql://grader:secret@db.example/chainrule"
    assert with_busy_timeout(url) == url


def test_course_needs_its_configuration(tmp_path: Path) -> None:
    with pytest.raises(GraderError, match="--course"):
        Course(tmp_path)


def test_course_root_and_gradebook_follow_the_copy(course: Course) -> None:
    coursedir = course.coursedir()
    assert Path(coursedir.root) == course.root
    assert coursedir.db_url == f"sqlite:///{course.root / 'gradebook.db'}"
    assert course.directory("release") == course.root / "lectures"
    assert Course(course.root, db_url="sqlite:////elsewhere.db").resolved_db_url == (
        "sqlite:////elsewhere.db"
    )
    with pytest.raises(ValueError, match="step"):
        course.directory("nowhere")


def test_select_names_unknown_items() -> None:
    assert select(None, ["a", "b"]) == ["a", "b"]
    assert select(["b", "b"], ["a", "b"]) == ["b"]
    with pytest.raises(GraderError, match=r"unknown student\(s\) zed; available: a, b"):
        select(["zed"], ["a", "b"], what="student")


def test_check_result_turns_a_failed_api_call_into_an_error() -> None:
    assert check_result({"success": True, "log": "done"}, "x") == "done"
    failure = {"success": False, "log": "[ERROR] bad cell", "error": "Traceback\nValueError: no"}
    with pytest.raises(GraderError, match=r"(?s)release 01 failed:.*bad cell.*ValueError: no"):
        check_result(failure, "release 01")


# -- worker and failures -------------------------------------------------------------------


def test_unreadable_notebooks_are_explained(tmp_path: Path) -> None:
    (tmp_path / "text.ipynb").write_text("not json at all")
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    good = write_notebook(tmp_path / "good.ipynb", new_notebook(cells=[new_code_cell("1")]))
    reason = unreadable_reason(tmp_path / "text.ipynb") or ""
    assert reason.startswith("text.ipynb is not a valid") and "JSON" in reason
    assert "list.ipynb is not a valid" in (unreadable_reason(tmp_path / "list.ipynb") or "")
    assert unreadable_reason(good) is None


def test_failure_reasons_read_from_nbgrader_logs() -> None:
    dead = "[ERROR] Kernel died while waiting for execute reply.\nDeadKernelError: Kernel died"
    assert "kernel stopped" in explain_failure(dead)
    other = "[ERROR] Traceback (most recent call last):\n  File x\nKeyError: 'points'\n"
    assert explain_failure(other) == "nbgrader could not grade the notebook (KeyError: 'points')."


def test_failure_notebook_tells_the_student_why() -> None:
    notebook = failure_notebook("The kernel stopped.")
    (cell,) = notebook.cells
    assert cell.cell_type == "markdown"
    assert "score 0" in cell.source and "The kernel stopped." in cell.source


def test_kill_process_tree_reaches_a_grandchild_in_its_own_session() -> None:
    # The child starts a grandchild in a new session, as jupyter_client starts a kernel.
    script = textwrap.dedent(
        """
        import subprocess, sys, time
        grandchild = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True
        )
        print(grandchild.pid, flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    grandchild = psutil.Process(int(child.stdout.readline()))
    kill_process_tree(child.pid)
    child.wait(timeout=10)
    gone, alive = psutil.wait_procs([grandchild], timeout=10)
    assert alive == [] and gone == [grandchild]
    kill_process_tree(child.pid)  # already gone: nothing to do, no error


def test_find_submissions_filters_by_assignment_and_student(course: Course) -> None:
    for student, assignment in [("ann", "01_a"), ("ann", "02_b"), ("bob", "01_a")]:
        (course.directory("submitted") / student / assignment).mkdir(parents=True)
    assert find_submissions(course) == [
        Submission("ann", "01_a"),
        Submission("ann", "02_b"),
        Submission("bob", "01_a"),
    ]
    assert find_submissions(course, ["01_a"], ["bob"]) == [Submission("bob", "01_a")]
    with pytest.raises(GraderError, match="unknown student"):
        find_submissions(course, students=["eve"])


# -- nbgrader pipeline additions -------------------------------------------------------------


def test_feedback_hides_hidden_tests_and_keeps_only_the_message_of_a_failure() -> None:
    traceback = [
        "AssertionError  Traceback",
        "----> 3 assert secret_check(x)",
        "AssertionError: off",
    ]
    error = new_output("error", ename="AssertionError", evalue="off", traceback=traceback)
    test = nbgrader_cell(
        "assert x\n### BEGIN HIDDEN TESTS\nassert secret_check(x)\n### END HIDDEN TESTS",
        "test_x",
        points=1,
    )
    answer = nbgrader_cell("1 / 0", "x", solution=True)
    test.outputs = [error]
    answer.outputs = [new_output("error", ename="E", evalue="", traceback=["a", "b"])]
    notebook = new_notebook(cells=[answer, test])
    HideHiddenTests().preprocess(notebook, {})
    assert "secret_check" not in notebook.cells[1].source
    assert notebook.cells[1].outputs[0].traceback == ["AssertionError: off"]
    assert notebook.cells[0].outputs[0].traceback == ["a", "b"]  # the student's own code


def test_release_metadata_is_reduced_to_what_students_need() -> None:
    cell = nbgrader_cell("x = 1", "x", solution=True)
    cell.metadata.update({"execution": {"iopub.status.busy": "2024-01-01"}, "tags": ["t"]})
    notebook = new_notebook(
        cells=[cell, new_markdown_cell("text")],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python", "version": "3.11.7"},
            "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
        },
    )
    notebook, _ = NormalizeMetadata().preprocess(notebook, {})
    assert set(notebook.metadata) == {"kernelspec", "language_info"}
    assert notebook.metadata["language_info"] == {"name": "python"}
    assert set(notebook.cells[0].metadata) == {"nbgrader", "tags"}


def test_grading_kernel_prints_warnings_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    saved = warnings.showwarning
    try:
        kernel_setup.warnings_to_stdout()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = kernel_setup._show_warning_on_stdout
            warnings.warn("careful", RuntimeWarning, stacklevel=1)
    finally:
        warnings.showwarning = saved
    captured = capsys.readouterr()
    assert "RuntimeWarning: careful" in captured.out and captured.err == ""


# -- check ---------------------------------------------------------------------------------


def test_delimited_regions() -> None:
    lines = ["a", "# BEGIN X", "b", "c", "# END X", "d", "# BEGIN X", "# END X"]
    assert delimited_regions(lines, "BEGIN X", "END X") == [["b", "c"], []]


def test_leaks_finds_answers_hidden_tests_and_delimiters(course: Course) -> None:
    answer = nbgrader_cell(
        "def f(x):\n    ### BEGIN SOLUTION\n    return x * 41 + 1\n    ### END SOLUTION",
        "f",
        solution=True,
    )
    test = nbgrader_cell(
        "assert f(1) == 42\n### BEGIN HIDDEN TESTS\nassert f(2) == 83\n### END HIDDEN TESTS",
        "test_f",
        points=1,
    )
    write_notebook(course.root / "solutions/a/a.ipynb", new_notebook(cells=[answer, test]))
    release = course.root / "lectures/a/a.ipynb"
    clean = new_notebook(cells=[new_code_cell("def f(x):\n    raise NotImplementedError()")])
    write_notebook(release, clean)
    assert leaks(course, "a") == []
    leaked = [new_code_cell("def f(x):\n    return x * 41 + 1"), new_code_cell("assert f(2) == 83")]
    write_notebook(release, new_notebook(cells=[*leaked, new_code_cell("# END HIDDEN TESTS")]))
    found = leaks(course, "a")
    assert len(found) == 3
    assert any("answer" in f for f in found) and any("hidden test" in f for f in found)
    assert any("delimiter" in f for f in found)


def test_stale_release_lists_missing_extra_and_changed_files(course: Course, tmp_path: Path):
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(course.root / CONFIG_FILE, fresh / CONFIG_FILE)
    for root, files in (
        (course.root, {"same": "1", "changed": "2", "extra": "3"}),
        (fresh, {"same": "1", "changed": "4", "missing": "5"}),
    ):
        folder = root / "lectures" / "a"
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text)
    problems = stale_release(course, Course(fresh), "a")
    assert [p.split(" (run")[0] for p in problems] == [
        "lectures/a/missing is missing",
        "lectures/a/extra is not made by the release",
        "lectures/a/changed differs from a fresh release",
    ]


def score(student: str, cell: str, value: float, top: float = 2.0) -> CellScore:
    return CellScore("a", student, "a", cell, value, top, autograded=True)


def test_check_report_flags_tests_that_do_not_separate_solution_from_blank() -> None:
    good = AssignmentCheck("a")
    good.add_test_scores([score("solution", "t1", 2), score("blank", "t1", 0)])
    assert good.ok and str(good).startswith("a: ok (solution 2/2, unanswered release 0/2")
    bad = AssignmentCheck("a")
    bad.add_test_scores([score("solution", "t1", 0), score("blank", "t1", 2)])
    assert not bad.ok
    assert bad.problems == [
        "a/t1 gives the solution 0/2",
        "a/t1 gives the unanswered release 2/2",
    ]
    empty = AssignmentCheck("a")
    empty.add_test_scores([])
    assert empty.problems == ["no autograded test cell"]


# -- collect -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "student"),
    [
        ("jdoe_12345_67890_01_derivatives.ipynb", "jdoe"),
        ("jdoe_01_derivatives.ipynb", "jdoe"),
        ("export/Jane Doe_4711_assignsubmission_file_01_derivatives.ipynb", "Jane Doe"),
        ("jane_doe/01_derivatives.ipynb", "jane_doe"),
        ("class.zip/jdoe/01_derivatives.ipynb", "jdoe"),
        ("01_derivatives.ipynb", None),  # whose?
        ("jdoe_02_gradient_descent.ipynb", None),  # another assignment
        ("jdoe_01_derivatives (1).ipynb", None),
    ],
)
def test_default_regexp_finds_the_student(relative: str, student: str | None) -> None:
    extracted = Path("/tmp/grader-collect-x/01_derivatives/extracted")
    pattern = named_regexp(DEFAULT_REGEXP, extracted, ASSIGNMENT)
    match = re.match(pattern, f"{extracted}/{relative}")
    assert (match["student_id"] if match else None) == student
    if match:
        assert match["file_id"] == f"{ASSIGNMENT}.ipynb"


@pytest.mark.slow
def test_collect_files_folders_and_zips_into_submitted(course: Course, tmp_path: Path) -> None:
    release = write_notebook(
        course.root / "lectures" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", new_notebook()
    )
    download = tmp_path / "download"
    (download / "amy").mkdir(parents=True)
    shutil.copy(release, download / "bo_123_01_derivatives.ipynb")
    shutil.copy(release, download / "amy" / "01_derivatives.ipynb")
    (download / "notes.txt").write_text("not a notebook")
    assert collect(course, download) == {ASSIGNMENT: ["amy", "bo"]}
    for student in ("amy", "bo"):
        path = course.directory("submitted") / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert path.read_bytes() == release.read_bytes()
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(release, "cy_999_01_derivatives.ipynb")
        zipped.write(release, "bo_123_01_derivatives.ipynb")
    with pytest.raises(GraderError, match="--force"):
        collect(course, archive)
    assert collect(course, archive, force=True) == {ASSIGNMENT: ["bo", "cy"]}
    with pytest.raises(GraderError, match="PATH must be a folder or a zip"):
        collect(course, download / "notes.txt")


# -- export and command line ---------------------------------------------------------------


def test_histogram_png_has_one_panel_per_graded_cell(course: Course, tmp_path: Path) -> None:
    scores = [score(s, c, v) for s, c, v in [("x", "t1", 2), ("y", "t1", 0), ("x", "t2", 1)]]
    plot_histograms(course, scores, tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(GraderError, match="nothing to plot"):
        plot_histograms(course, [], tmp_path / "empty.png")


def test_command_line_errors_name_the_problem(
    course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["--course", str(course.root), "autograde", "--jobs", "0"])
    assert "positive integer" in capsys.readouterr().err
    assert main(["--course", str(tmp_path / "nowhere"), "release"]) == 2
    assert "nbgrader_config.py" in capsys.readouterr().err
    assert main(["--course", str(course.root), "autograde"]) == 2
    assert "no submission to grade" in capsys.readouterr().err
