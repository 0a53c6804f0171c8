"""The hostile corpus (tests/submissions/corpus.py), graded in parallel with the real nbgrader.

The session's graded course (tests/graded_course.py) holds one submission per case (the student
id is the case's name), graded with everything else by one ``python -m grader autograde --jobs
2`` run with short limits (seconds per cell, a minute per submission), then ``feedback``. Each
case must get its exact scores and its feedback, the gradebook one submission per notebook, and
plain ``nbgrader autograde`` the same scores on a copy (the cases whose outcome depends on more
than the grading function both paths run, ``BEYOND_THE_GRADING_FUNCTION``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from graded_course import GRADEBOOK, LIMITS, RELEASED_GRADEBOOK, GradedCourse
from html_text import page_text
from submissions.corpus import BEYOND_THE_GRADING_FUNCTION, CASES, EVERY_PATH, PROBE, Case

from grader.check import BLANK, SOLUTION
from grader.course import Course
from grader.scores import cell_scores
from grader.submissions import GradedTest, Submission, graded_tests

pytestmark = pytest.mark.slow

#: The corpus's assignments.
ASSIGNMENTS = sorted({case.assignment for case in CASES})


def test_the_corpus_is_big_and_covers_every_assignment() -> None:
    assert len(CASES) >= 25
    assert len({case.name for case in CASES}) == len(CASES)
    assert set(ASSIGNMENTS) == {
        "01_derivatives",
        "02_gradient_descent",
        "03_softmax",
        "04_backprop",
    }


def recorded_tests(graded: GradedCourse, case: Case) -> dict[str, GradedTest]:
    recorded = graded_tests(graded.course, Submission(case.name, case.assignment))
    return {test.grade_id: test for test in recorded}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_exact_scores_and_feedback(graded_course: GradedCourse, case: Case) -> None:
    expected = case.expected(graded_course.points(case.assignment))
    assert graded_course.first[case.assignment][case.name] == expected, case.what
    recorded = recorded_tests(graded_course, case)
    assert {name: test.score for name, test in recorded.items()} == expected
    page = graded_course.root / "feedback" / case.name / case.assignment
    assert case.feedback in page_text(page / f"{case.assignment}.html"), case.what


def test_grading_leaves_the_course_unchanged(graded_course: GradedCourse) -> None:
    """The configuration, solutions/, lectures/ and submitted/ (the corpus's and every other
    submission) are as they were before grading."""
    before, after = graded_course.files_before, graded_course.files_after
    assert before == after and any(name.startswith("solutions/") for name in before)
    assert all(
        f"submitted/{case.name}/{case.assignment}/{case.filename or case.assignment + '.ipynb'}"
        in before
        for case in CASES
    )


def test_the_gradebook_holds_one_submission_per_notebook(graded_course: GradedCourse) -> None:
    submitted = sum(len(students) for students in graded_course.submitted.values())
    assert graded_course.gradebook_submissions == submitted
    for case in CASES:
        assert case.name in graded_course.first[case.assignment], case.name


def test_a_huge_output_is_cut(graded_course: GradedCourse) -> None:
    folder = graded_course.root / "autograded" / "huge-output" / "03_softmax"
    assert (folder / "03_softmax.ipynb").stat().st_size < 2_000_000
    page = graded_course.root / "feedback" / "huge-output" / "03_softmax" / "03_softmax.html"
    assert page.stat().st_size < 3_000_000


def test_the_sandbox_finds_no_solution_near_its_working_directory(
    graded_course: GradedCourse,
) -> None:
    path = graded_course.root / "autograded" / "leak-probe" / "03_softmax" / "03_softmax.ipynb"
    outputs = [
        o.text
        for c in nbformat.read(path, as_version=4).cells
        for o in c.get("outputs", [])
        if o.output_type == "stream" and PROBE in o.text
    ]
    assert len(outputs) == 1
    probe = json.loads(outputs[0].split(PROBE, 1)[1])
    assert probe["found"] == []
    # The probe walked the whole folder of its grading process, which holds the course's copy
    # outside the sandbox, and no further; it saw its own notebook and nothing of the course.
    assert Path(probe["top"]).name.startswith("chainrule-grade-")
    assert probe["seen"] >= 1
    assert not Path(probe["top"]).exists()  # removed after grading


def copy_for_plain_nbgrader(
    graded: GradedCourse, root: Path, submissions: list[tuple[str, str]]
) -> Course:
    """The graded course's configuration, sources, release, secret and gradebook as release
    left it, with the (student, assignment) ``submissions``."""
    ignore = shutil.ignore_patterns("submitted", "autograded", "feedback", "reports", GRADEBOOK)
    shutil.copytree(graded.root, root, ignore=ignore)
    shutil.copy(graded.records / RELEASED_GRADEBOOK, root / GRADEBOOK)
    for student, assignment in submissions:
        folder = Path("submitted") / student / assignment
        shutil.copytree(graded.root / folder, root / folder)
    return Course(root, db_url=f"sqlite:///{root / GRADEBOOK}")


def plain_nbgrader(copy: Course) -> dict[tuple[str, str], dict[str, float]]:
    """(assignment, student) -> autograded scores, after ``nbgrader autograde`` of each
    assignment submitted in ``copy``, one after the other (as an instructor types it)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("CHAINRULE_DB_URL", None)
    cell_timeout = LIMITS[LIMITS.index("--cell-timeout") + 1]
    for assignment in sorted({p.name for p in copy.directory("submitted").glob("*/*")}):
        subprocess.run(
            ["nbgrader", "autograde", assignment, "--force", f"--Execute.timeout={cell_timeout}"],
            cwd=copy.root,
            env=env,
            capture_output=True,
            check=False,
        )
    scores: dict[tuple[str, str], dict[str, float]] = {}
    with copy.gradebook() as gradebook:
        for s in cell_scores(gradebook):
            if s.autograded:
                scores.setdefault((s.assignment, s.student), {})[s.cell] = s.score
    return scores


#: The corpus's cases plain ``nbgrader autograde`` grades: those whose outcome depends on more
#: than the grading function (tests/submissions/corpus.py), which both paths run.
PLAIN_CASES = [case for case in EVERY_PATH if case.name in BEYOND_THE_GRADING_FUNCTION]


def test_plain_nbgrader_gives_the_same_scores(graded_course: GradedCourse, tmp_path: Path) -> None:
    """`nbgrader autograde` (the "by hand" command, formgrader's button) grades as
    `python -m grader autograde` does: the corpus's notebooks get the same scores (the
    unreadable and misnamed ones none: nbgrader fails them, and the submission it created
    counts 0), the solution every point and the blank release none. It runs the same grading
    function (the preprocessors of nbgrader_config.py) in another process, among other files:
    so it grades only the cases whose outcome depends on what is around that function
    (:data:`PLAIN_CASES`); the others, defended wholly inside it, are graded on the main path.
    One copy of the course, one ``nbgrader`` process per assignment (each imports nbgrader and
    its Jupyter dependencies, several CPU-seconds)."""
    assert len(PLAIN_CASES) == len(BEYOND_THE_GRADING_FUNCTION)  # each of its names is a case
    submissions = [(case.name, case.assignment) for case in PLAIN_CASES]
    submissions += [(SOLUTION, "03_softmax"), (BLANK, "03_softmax")]
    plain = plain_nbgrader(copy_for_plain_nbgrader(graded_course, tmp_path / "course", submissions))
    for case in PLAIN_CASES:
        key = (case.assignment, case.name)
        assert plain[key] == graded_course.first[case.assignment][case.name], case.name
    points = graded_course.points("03_softmax")
    assert plain["03_softmax", SOLUTION] == points
    assert plain["03_softmax", BLANK] == dict.fromkeys(points, 0.0)
