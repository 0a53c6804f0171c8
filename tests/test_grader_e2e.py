"""End to end: the grading loop of ``python -m grader`` with the real nbgrader.

The session's graded course (tests/graded_course.py) released every assignment, graded the
solution and the blank release of each, and the end-to-end students of notebook 01, in
parallel; feedback and export ran on it, then three students were graded again one at a time.
The tests inspect what that left behind, and that ``python -m grader check`` finds nothing
wrong with the repository's course.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import psutil
import pytest
from graded_course import (
    E2E_ASSIGNMENT,
    FIRST_CSV,
    FIRST_PLOT,
    REGRADED,
    REGRADED_CSV,
    SHAPE_BUG_BEFORE,
    GradedCourse,
    feedback_commands,
)
from html_text import page_text

from grader.__main__ import main
from grader.cells import CellKind, cells_of, grade_id_of
from grader.check import BLANK, SOLUTION, AssignmentCheck, delimited_regions, leaks, stale_release
from grader.course import CONFIG_FILE, Course
from grader.scores import cell_scores
from grader.secret import SECRET_FILE
from grader.submissions import Submission, graded_tests

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = E2E_ASSIGNMENT
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


def scores(graded: GradedCourse, student: str) -> dict[str, float]:
    """The first run's autograded scores of ``student`` in notebook 01."""
    return graded.first[ASSIGNMENT][student]


def autograded_path(graded: GradedCourse, student: str) -> Path:
    return graded.root / "autograded" / student / ASSIGNMENT / NOTEBOOK


def feedback_page(graded: GradedCourse, student: str) -> Path:
    return graded.root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"


def failure_message(notebook: Path, grade_id: str) -> str:
    """The grader's message in the test cell ``grade_id`` of an autograded notebook."""
    cells = nbformat.read(notebook, as_version=4).cells
    (cell,) = [c for c in cells if grade_id_of(c) == grade_id]
    (output,) = cell.outputs
    return output.evalue


def recorded(graded: GradedCourse, student: str, test: str):
    (found,) = [
        t
        for t in graded_tests(graded.course, Submission(student, ASSIGNMENT))
        if t.grade_id == test
    ]
    return found


def test_correct_submission_gets_every_point_despite_a_warning_and_a_deleted_test(
    graded_course: GradedCourse,
) -> None:
    points = graded_course.points(ASSIGNMENT)
    assert scores(graded_course, "correct") == points
    autograded = nbformat.read(autograded_path(graded_course, "correct"), as_version=4)
    test_ids = {grade_id_of(c) for c in autograded.cells}
    assert graded_course.end_to_end.deleted_test in test_ids  # the deleted test was put back
    assert set(points) <= test_ids
    # The warning (raised while a test called the answer) cost nothing and shows nowhere: a test
    # cell's only output would be the grader's message.
    assert not [c.outputs for c in cells_of(autograded.cells, CellKind.TEST) if c.outputs]


@pytest.mark.parametrize("assignment", sorted(p.name for p in (REPO / "solutions").iterdir()))
def test_solution_gets_every_point_and_blank_release_none(
    graded_course: GradedCourse, assignment: str
) -> None:
    """What ``python -m grader check`` asserts of the repository, read from the graded course:
    solution full marks, blank release 0 on every test, lectures/ a fresh release, no leak."""
    repository = Course(REPO)
    result = AssignmentCheck(assignment)
    result.problems += stale_release(repository, graded_course.course, assignment)
    result.problems += leaks(repository, assignment)
    with graded_course.course.gradebook() as gradebook:
        tests = [
            s
            for s in cell_scores(gradebook, [assignment])
            if s.autograded and s.student in (SOLUTION, BLANK)
        ]
    why = {
        (student, t.notebook, t.grade_id): t
        for student in (SOLUTION, BLANK)
        for t in graded_tests(graded_course.course, Submission(student, assignment))
    }
    result.add_test_scores(tests, why)
    assert result.ok, str(result)
    points = graded_course.points(assignment)
    assert graded_course.first[assignment][SOLUTION] == points
    assert graded_course.first[assignment][BLANK] == dict.fromkeys(points, 0.0)


def test_one_wrong_answer_loses_exactly_that_exercise(graded_course: GradedCourse) -> None:
    points, wrong = graded_course.points(ASSIGNMENT), graded_course.end_to_end.wrong_test
    assert scores(graded_course, "wrong") == {**points, wrong: 0.0}
    assert sum(scores(graded_course, "wrong").values()) == sum(points.values()) - points[wrong]


def test_a_notebook_that_is_not_json_scores_zero_with_a_reason(
    graded_course: GradedCourse,
) -> None:
    points = graded_course.points(ASSIGNMENT)
    assert scores(graded_course, "not-json") == dict.fromkeys(points, 0.0)
    page = page_text(feedback_page(graded_course, "not-json"))
    assert "not a valid" in page and "Not graded" in page
    name = f"submitted/not-json/{ASSIGNMENT}/{NOTEBOOK}"
    assert graded_course.files_after[name] == graded_course.files_before[name]


@pytest.mark.parametrize(
    ("student", "reason"), [("dead", "ended (exit code 1)"), ("a-hang", "time limit")]
)
def test_a_cell_that_ends_or_hangs_the_sandbox_costs_only_its_exercise(
    graded_course: GradedCourse, student: str, reason: str
) -> None:
    """The cell is skipped and the sandbox restarted: the other exercises keep their points."""
    first = graded_course.end_to_end.first_test
    assert scores(graded_course, student) == {**graded_course.points(ASSIGNMENT), first: 0.0}
    assert reason in recorded(graded_course, student, first).message
    assert reason in page_text(feedback_page(graded_course, student))


def test_no_grading_process_or_kernel_outlives_the_batch(graded_course: GradedCourse) -> None:
    inside = []
    for process in psutil.process_iter(["cwd"]):
        cwd = process.info.get("cwd")
        if cwd and Path(cwd).is_relative_to(graded_course.root):
            inside.append(process)
    assert inside == []


def test_parallel_and_serial_grading_agree(graded_course: GradedCourse) -> None:
    for student in REGRADED:
        assert graded_course.final[ASSIGNMENT][student] == scores(graded_course, student)


def test_regrading_gives_the_same_grades_csv_byte_for_byte(graded_course: GradedCourse) -> None:
    first = (graded_course.records / FIRST_CSV).read_bytes()
    assert (graded_course.records / REGRADED_CSV).read_bytes() == first


def test_a_regrade_draws_the_same_hidden_inputs_and_two_students_other_ones(
    graded_course: GradedCourse,
) -> None:
    """Hidden inputs are seeded from the course's secret, the student, the assignment and the
    test: the regraded notebook is the same, byte for byte; the other student's is not."""
    test = graded_course.end_to_end.shape_bug_test
    assert scores(graded_course, "shape-a") == {**graded_course.points(ASSIGNMENT), test: 0.0}
    before = graded_course.records / SHAPE_BUG_BEFORE
    assert autograded_path(graded_course, "shape-a").read_bytes() == before.read_bytes()
    message = failure_message(before, test)
    assert "tanh_grad(a)" in message
    assert failure_message(autograded_path(graded_course, "shape-b"), test) != message
    secret = (graded_course.root / SECRET_FILE).read_text().strip()
    assert len(secret) == 64  # made by the first autograde
    for folder in ("lectures", "feedback", "autograded"):
        for path in (graded_course.root / folder).rglob("*"):
            assert path.name != SECRET_FILE and (
                path.is_dir() or secret.encode() not in path.read_bytes()
            ), path


def test_feedback_shows_failures_but_no_hidden_test(graded_course: GradedCourse) -> None:
    solution = nbformat.read(graded_course.course.notebook_paths("source", ASSIGNMENT)[0], 4)
    source_lines = [line.strip() for c in solution.cells for line in c.source.splitlines()]
    hidden = {
        line
        for region in delimited_regions(source_lines, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
        for line in region
        if len(line) > 20
    }
    released = (graded_course.root / "lectures" / ASSIGNMENT / NOTEBOOK).read_text()
    hidden = {line for line in hidden if json.dumps(line)[1:-1] not in released}
    assert hidden, "notebook 01 should have hidden tests"
    pages = sorted((graded_course.root / "feedback").glob(f"*/{ASSIGNMENT}/*.html"))
    assert {p.parts[-3] for p in pages} == set(graded_course.submitted[ASSIGNMENT])
    for page in pages:
        text = page_text(page)
        assert "HIDDEN TESTS" not in text
        assert not [line for line in hidden if line in text], page
    failed = recorded(graded_course, "wrong", graded_course.end_to_end.wrong_test)
    assert failed.score == 0 and failed.message
    assert failed.message.splitlines()[0] in page_text(feedback_page(graded_course, "wrong"))


def test_feedback_for_chosen_students_writes_their_pages_only(
    graded_course: GradedCourse,
) -> None:
    """``feedback ... --student ID...`` (the graded course's second feedback command) wrote a page
    for each student named who submitted the assignment, and none for the others."""
    (command,) = [c for c in feedback_commands() if "--student" in c]
    at = command.index("--student")
    assignments, students = command[1:at], set(command[at + 1 :])
    feedback = graded_course.root / "feedback"
    for assignment in assignments:
        submitted = set(graded_course.submitted[assignment])
        assert submitted - students, f"every student of {assignment} was asked for"
        pages = {p.parts[-3] for p in feedback.glob(f"*/{assignment}/{assignment}.html")}
        assert pages == submitted & students, assignment


def test_export_writes_grades_and_histogram(graded_course: GradedCourse) -> None:
    with open(graded_course.records / FIRST_CSV, newline="") as handle:
        rows = {
            row["student_id"]: row
            for row in csv.DictReader(handle)
            if row["assignment"] == ASSIGNMENT
        }
    # One row per student of the course (nbgrader's export: 0 for one who did not submit).
    assert set(rows) == {s for students in graded_course.submitted.values() for s in students}
    points = graded_course.points(ASSIGNMENT)
    total = sum(points.values())
    assert float(rows["correct"]["score"]) == total
    wrong = graded_course.end_to_end.wrong_test
    assert float(rows["wrong"]["score"]) == total - points[wrong]
    assert float(rows[BLANK]["score"]) == 0.0
    plot = graded_course.records / FIRST_PLOT
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_release_is_byte_stable_and_the_plain_cli_agrees(
    graded_course: GradedCourse, tmp_path: Path
) -> None:
    root = tmp_path / "course"  # a copy: the graded course is shared
    root.mkdir()
    shutil.copy(graded_course.root / CONFIG_FILE, root / CONFIG_FILE)
    for step in ("solutions", "lectures"):
        shutil.copytree(graded_course.root / step / ASSIGNMENT, root / step / ASSIGNMENT)
    lectures = root / "lectures" / ASSIGNMENT
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
        subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)
        assert (lectures / NOTEBOOK).read_bytes() == before, command
        assert [p.name for p in lectures.iterdir()] == [NOTEBOOK]


def test_check_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    """The command itself, on one assignment (every assignment's verdict is read from the
    graded course by test_solution_gets_every_point_and_blank_release_none)."""
    status = main(["--course", str(REPO), "check", "03_softmax"])
    report = capsys.readouterr().out
    assert status == 0, report
    assert "03_softmax: ok" in report
