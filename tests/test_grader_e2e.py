"""End to end: the grading loop of ``python -m grader`` with the real nbgrader, on notebook 01.

One module-scoped course (a temporary copy of the repository's configuration and solutions) is
released, given six submissions and graded in parallel; feedback and export run on it, then
two submissions are graded again serially. The tests inspect what that left behind.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest
from html_text import page_text

from grader.__main__ import main
from grader.check import delimited_regions
from grader.course import CONFIG_FILE, Course
from grader.cells import CellKind, kind_of
from grader.scores import cell_scores
from grader.secret import SECRET_ENV, SECRET_FILE
from grader.submissions import Submission, graded_tests

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_derivatives"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
#: Long enough for a normal submission on a loaded 2-core machine, short enough for the test.
TIMEOUT = 40
STUDENT_WARNING = "a warning raised by the student's code"


def rewrite_answers(source: str, rewrite: Callable[[list[str], str], list[str]]) -> str:
    """``source`` with the lines of each BEGIN/END SOLUTION region replaced by ``rewrite``."""
    out: list[str] = []
    body: list[str] | None = None
    indent = ""
    for line in source.splitlines():
        if "BEGIN SOLUTION" in line:
            out.append(line)
            body, indent = [], line[: len(line) - len(line.lstrip())]
        elif "END SOLUTION" in line and body is not None:
            out += rewrite(body, indent) + [line]
            body = None
        elif body is not None:
            body.append(line)
        else:
            out.append(line)
    return "\n".join(out)


def answer_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The autograded answer cells: solution cells whose test cell is ``test_<grade_id>``."""
    tests = {
        c.metadata.nbgrader["grade_id"]
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }
    return [
        c
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("solution")
        and f"test_{c.metadata.nbgrader['grade_id']}" in tests
    ]


def submit(course: Path, student: str, notebook: nbformat.NotebookNode | str) -> Path:
    """Write ``notebook`` (or raw text) as ``student``'s submission; return its path."""
    path = course / "submitted" / student / ASSIGNMENT / NOTEBOOK
    path.parent.mkdir(parents=True)
    if isinstance(notebook, str):
        path.write_text(notebook)
    else:
        nbformat.write(notebook, path)
    return path


def grader(course: Path, *args: str) -> None:
    """Run ``python -m grader --course course ARGS`` in this process; it must succeed."""
    assert main(["--course", str(course), *args]) == 0


def scores_by_student(course: Path) -> dict[str, dict[str, float]]:
    """Autograded test scores: student -> test cell -> points."""
    with Course(course).gradebook() as gradebook:
        scores = [s for s in cell_scores(gradebook) if s.autograded]
    result: dict[str, dict[str, float]] = {}
    for s in scores:
        result.setdefault(s.student, {})[s.cell] = s.score
    return result


@dataclass
class Graded:
    root: Path
    solution: nbformat.NotebookNode
    points: dict[str, float]  # test cell -> points
    wrong_test: str  # the test of the exercise answered wrongly
    first_test: str  # the test of the first exercise
    submitted: dict[str, bytes]  # student -> submitted bytes, as written
    parallel: dict[str, dict[str, float]]  # scores after the parallel run
    serial: dict[str, dict[str, float]]  # scores after regrading serially
    shape_bug_first: bytes  # the autograded notebook of "shape-a" before its regrade
    shape_bug_test: str  # the test of the exercise that "shape-a" and "shape-b" got wrong


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / CONFIG_FILE, root / CONFIG_FILE)
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    solution = nbformat.read(root / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4)
    points = {
        c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"])
        for c in solution.cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
    }
    answers = answer_cells(solution)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CHAINRULE_DB_URL", raising=False)
        patch.delenv(SECRET_ENV, raising=False)
        grader(root, "release")
        released = nbformat.read(root / "lectures" / ASSIGNMENT / NOTEBOOK, as_version=4)

        def variant(cell: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
            notebook = nbformat.from_dict(json.loads(json.dumps(solution)))
            notebook.cells[solution.cells.index(cell)].source = source
            return notebook

        first, second, last = answers[0], answers[1], answers[-1]
        (tanh,) = [c for c in answers if c.metadata.nbgrader["grade_id"] == "tanh_grad"]
        # Right on the visible tests' shapes (a scalar, 17 points), wrong on the hidden ones
        # (1 to 3 axes of 1 to 5 entries): the feedback shows the hidden inputs.
        shape_bug = [
            "if np.ndim(a) > 0 and np.size(a) != 17:",
            "    return 1 - tanh(a) ** 2 + 0.01 * np.asarray(a)",
        ]
        shape_bug_notebook = variant(
            tanh, rewrite_answers(tanh.source, lambda b, i: [i + w for w in shape_bug] + b)
        )
        # Correct, but its first answer warns and the test cell of its second was deleted.
        warn = ["import warnings", f"warnings.warn({STUDENT_WARNING!r})"]
        correct = variant(
            first, rewrite_answers(first.source, lambda b, i: [i + w for w in warn] + b)
        )
        deleted = f"test_{second.metadata.nbgrader['grade_id']}"
        correct.cells = [
            c for c in correct.cells if c.metadata.get("nbgrader", {}).get("grade_id") != deleted
        ]
        paths = {
            "a-hang": submit(root, "a-hang", variant(first, "import time\ntime.sleep(600)")),
            "correct": submit(root, "correct", correct),
            "blank": submit(root, "blank", released),
            "wrong": submit(
                root,
                "wrong",
                variant(last, rewrite_answers(last.source, lambda b, i: [f"{i}return None"])),
            ),
            "not-json": submit(root, "not-json", "this is not a notebook {"),
            "dead": submit(root, "dead", variant(first, "import os\nos._exit(1)")),
            "shape-a": submit(root, "shape-a", shape_bug_notebook),
            "shape-b": submit(root, "shape-b", shape_bug_notebook),
        }
        submitted = {student: path.read_bytes() for student, path in paths.items()}
        grader(
            root,
            "autograde",
            "--jobs",
            "2",
            "--timeout",
            str(TIMEOUT),
            "--cell-timeout",
            "5",
            "--quiet",
        )
        parallel = scores_by_student(root)
        grader(root, "feedback")
        grader(root, "export")
        shape_bug_first = autograded_bytes(root, "shape-a")
        grader(
            root,
            "autograde",
            *("--student", "correct", "wrong", "shape-a"),
            *("--jobs", "1", "--quiet"),
        )
        serial = scores_by_student(root)
    wrong_test = f"test_{last.metadata.nbgrader['grade_id']}"
    first_test = f"test_{first.metadata.nbgrader['grade_id']}"
    return Graded(
        root,
        solution,
        points,
        wrong_test,
        first_test,
        submitted,
        parallel,
        serial,
        shape_bug_first,
        f"test_{tanh.metadata.nbgrader['grade_id']}",
    )


def autograded_bytes(root: Path, student: str) -> bytes:
    """The autograded notebook of ``student``, as nbgrader wrote it."""
    return (root / "autograded" / student / ASSIGNMENT / NOTEBOOK).read_bytes()


def failure_message(root: Path, student: str, grade_id: str) -> str:
    """The grader's message in the test cell ``grade_id`` of ``student``'s autograded notebook."""
    notebook = nbformat.reads(autograded_bytes(root, student).decode(), as_version=4)
    (cell,) = [
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    ]
    (output,) = cell.outputs
    return output.evalue


def test_correct_submission_gets_every_point_despite_a_warning_and_a_deleted_test(
    graded: Graded,
) -> None:
    assert graded.parallel["correct"] == graded.points
    autograded = nbformat.read(
        graded.root / "autograded" / "correct" / ASSIGNMENT / NOTEBOOK, as_version=4
    )
    test_ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in autograded.cells}
    assert set(graded.points) <= test_ids  # the deleted test cell was put back
    # The warning (raised while a test called the answer) cost nothing and shows nowhere: a test
    # cell's only output would be the grader's message.
    assert not [c.outputs for c in autograded.cells if kind_of(c) is CellKind.TEST and c.outputs]


def test_blank_release_scores_zero_everywhere(graded: Graded) -> None:
    assert graded.parallel["blank"] == dict.fromkeys(graded.points, 0.0)


def test_one_wrong_answer_loses_exactly_that_exercise(graded: Graded) -> None:
    assert graded.parallel["wrong"] == {**graded.points, graded.wrong_test: 0.0}
    assert sum(graded.parallel["wrong"].values()) == (
        sum(graded.points.values()) - graded.points[graded.wrong_test]
    )


def test_a_notebook_that_is_not_json_scores_zero_with_a_reason(graded: Graded) -> None:
    assert graded.parallel["not-json"] == dict.fromkeys(graded.points, 0.0)
    page = page_text(graded.root / "feedback" / "not-json" / ASSIGNMENT / f"{ASSIGNMENT}.html")
    assert "not a valid" in page and "Not graded" in page
    submission = graded.root / "submitted" / "not-json" / ASSIGNMENT / NOTEBOOK
    assert submission.read_bytes() == graded.submitted["not-json"]


@pytest.mark.parametrize(
    ("student", "reason"), [("dead", "ended (exit code 1)"), ("a-hang", "time limit")]
)
def test_a_cell_that_ends_or_hangs_the_sandbox_costs_only_its_exercise(
    graded: Graded, student: str, reason: str
) -> None:
    """The cell is skipped and the sandbox restarted: the other exercises keep their points."""
    first = graded.first_test
    assert graded.parallel[student] == {**graded.points, first: 0.0}
    (test,) = [
        t
        for t in graded_tests(Course(graded.root), Submission(student, ASSIGNMENT))
        if t.grade_id == first
    ]
    assert reason in test.message
    page = page_text(graded.root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html")
    assert reason in page


def test_no_grading_process_or_kernel_outlives_the_batch(graded: Graded) -> None:
    inside = []
    for process in psutil.process_iter(["cwd"]):
        cwd = process.info.get("cwd")
        if cwd and Path(cwd).is_relative_to(graded.root):
            inside.append(process)
    assert inside == []


def test_parallel_and_serial_grading_agree(graded: Graded) -> None:
    for student in ("correct", "wrong", "shape-a"):
        assert graded.serial[student] == graded.parallel[student]


def test_a_regrade_draws_the_same_hidden_inputs_and_two_students_other_ones(
    graded: Graded,
) -> None:
    """Hidden inputs are seeded from the course's secret, the student, the assignment and the
    test: the regraded notebook is the same, byte for byte; the other student's is not."""
    assert graded.parallel["shape-a"] == {**graded.points, graded.shape_bug_test: 0.0}
    assert autograded_bytes(graded.root, "shape-a") == graded.shape_bug_first
    message = failure_message(graded.root, "shape-a", graded.shape_bug_test)
    assert "tanh_grad(a)" in message
    assert failure_message(graded.root, "shape-b", graded.shape_bug_test) != message
    secret = (graded.root / SECRET_FILE).read_text().strip()
    assert len(secret) == 64  # made by the first autograde
    for folder in ("lectures", "feedback", "autograded"):
        for path in (graded.root / folder).rglob("*"):
            assert path.name != SECRET_FILE and (
                path.is_dir() or secret.encode() not in path.read_bytes()
            ), path


def test_feedback_shows_failures_but_no_hidden_test(graded: Graded) -> None:
    source_lines = [line.strip() for c in graded.solution.cells for line in c.source.splitlines()]
    hidden = {
        line
        for region in delimited_regions(source_lines, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
        for line in region
        if len(line) > 20
    }
    released = (graded.root / "lectures" / ASSIGNMENT / NOTEBOOK).read_text()
    hidden = {line for line in hidden if json.dumps(line)[1:-1] not in released}
    assert hidden, "notebook 01 should have hidden tests"
    pages = sorted((graded.root / "feedback").glob(f"*/{ASSIGNMENT}/*.html"))
    assert {p.parts[-3] for p in pages} == set(graded.submitted)
    for page in pages:
        text = page_text(page)
        assert "HIDDEN TESTS" not in text
        assert not [line for line in hidden if line in text], page
    (failed,) = [
        test
        for test in graded_tests(Course(graded.root), Submission("wrong", ASSIGNMENT))
        if test.grade_id == graded.wrong_test
    ]
    assert failed.score == 0 and failed.message
    text = page_text(graded.root / "feedback" / "wrong" / ASSIGNMENT / f"{ASSIGNMENT}.html")
    assert failed.message.splitlines()[0] in text


def test_export_writes_grades_and_histogram(graded: Graded) -> None:
    with open(graded.root / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(graded.submitted)
    total = sum(graded.points.values())
    assert float(rows["correct"]["score"]) == total
    assert float(rows["wrong"]["score"]) == total - graded.points[graded.wrong_test]
    assert float(rows["blank"]["score"]) == 0.0
    assert (graded.root / "grades.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_release_is_byte_stable_and_the_plain_cli_agrees(graded: Graded) -> None:
    lectures = graded.root / "lectures" / ASSIGNMENT
    assert [p.name for p in lectures.iterdir()] == [NOTEBOOK]
    before = (lectures / NOTEBOOK).read_bytes()
    released = nbformat.reads(before.decode(), as_version=4)
    assert all(not c.get("outputs") for c in released.cells)
    assert "BEGIN SOLUTION" not in before.decode() and "HIDDEN TESTS" not in before.decode()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("CHAINRULE_DB_URL", None)
    for command in (
        [sys.executable, "-m", "grader", "release", ASSIGNMENT],
        [
            str(Path(sys.executable).parent / "nbgrader"),
            "generate_assignment",
            ASSIGNMENT,
            "--force",
        ],
    ):
        subprocess.run(command, cwd=graded.root, env=env, check=True, capture_output=True)
        assert (lectures / NOTEBOOK).read_bytes() == before, command
        assert [p.name for p in lectures.iterdir()] == [NOTEBOOK]


def test_check_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--course", str(REPO), "check"])
    report = capsys.readouterr().out
    assert status == 0, report
    assert f"{ASSIGNMENT}: ok" in report
