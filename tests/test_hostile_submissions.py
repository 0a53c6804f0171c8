"""The hostile corpus (tests/submissions/corpus.py), graded in parallel with the real nbgrader.

One module-scoped course holds a copy of the configuration and the source notebooks, released,
with one submission per case (the student id is the case's name). ``python -m grader
autograde --jobs 2`` grades them all with short limits (a few seconds per cell, a minute per
submission), then ``feedback`` runs. Each case must get its exact scores, its feedback, and
the gradebook one submission per case.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from html_text import page_text
from submissions.corpus import CASES, PROBE, Case, Notebooks, write

from grader.__main__ import main
from grader.course import CONFIG_FILE, Course
from grader.scores import cell_scores
from grader.submissions import GradedTest, Submission, graded_tests

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
#: Seconds per notebook cell and per submission: room for a 2-core machine grading two at once.
CELL_TIMEOUT, TIMEOUT = 6, 45


@dataclass
class Graded:
    course: Course
    points: dict[str, dict[str, float]]  # assignment -> test -> points
    scores: dict[str, dict[str, float]]  # student -> test -> score
    submissions: int  # submission rows in the gradebook
    course_files: tuple[dict[str, bytes], dict[str, bytes]]  # the course before and after grading


def course_files(root: Path) -> dict[str, bytes]:
    """What the course holds that grading must leave alone: the configuration, solutions/,
    lectures/ and submitted/ (the gradebook, autograded/ and feedback/ are grading's output)."""
    files = [root / "nbgrader_config.py"]
    for folder in ("solutions", "lectures", "submitted"):
        files += [p for p in sorted((root / folder).rglob("*")) if p.is_file()]
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    root = tmp_path_factory.mktemp("course")
    assignments = sorted({case.assignment for case in CASES})
    shutil.copy(REPO / CONFIG_FILE, root / CONFIG_FILE)
    for assignment in assignments:
        shutil.copytree(REPO / "solutions" / assignment, root / "solutions" / assignment)
    with (
        pytest.MonkeyPatch.context() as patch,
        socket.create_server(("127.0.0.1", 0)) as listening,  # what "network" must not reach
    ):
        patch.delenv("CHAINRULE_DB_URL", raising=False)
        assert main(["--course", str(root), "release", *assignments]) == 0
        course = Course(root)
        notebooks = {
            assignment: Notebooks(
                *(
                    nbformat.read(course.notebook_paths(step, assignment)[0], as_version=4)
                    for step in ("source", "release")
                ),
                listening_port=listening.getsockname()[1],
            )
            for assignment in assignments
        }
        for case in CASES:
            folder = course.directory("submitted") / case.name / case.assignment
            folder.mkdir(parents=True)
            write(case, notebooks[case.assignment], folder)
        limits = ["--cell-timeout", str(CELL_TIMEOUT), "--timeout", str(TIMEOUT)]
        before = course_files(root)
        assert main(["--course", str(root), "autograde", "--jobs", "2", "--quiet", *limits]) == 0
        after = course_files(root)
        assert main(["--course", str(root), "feedback"]) == 0
    points = {
        assignment: {
            c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"])
            for c in notebooks[assignment].source.cells
            if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata.nbgrader.get("solution")
        }
        for assignment in assignments
    }
    scores: dict[str, dict[str, float]] = {}
    with course.gradebook() as gradebook:
        for s in cell_scores(gradebook):
            if s.autograded:
                scores.setdefault(s.student, {})[s.cell] = s.score
        submissions = sum(len(a.submissions) for a in gradebook.assignments)
    return Graded(course, points, scores, submissions, (before, after))


def test_the_corpus_is_big_and_covers_every_assignment() -> None:
    assert len(CASES) >= 25
    assert len({case.name for case in CASES}) == len(CASES)
    assert {case.assignment for case in CASES} == {
        "01_derivatives",
        "02_gradient_descent",
        "03_softmax",
        "04_backprop",
    }


def recorded_tests(graded: Graded, case: Case) -> dict[str, GradedTest]:
    recorded = graded_tests(graded.course, Submission(case.name, case.assignment))
    return {test.grade_id: test for test in recorded}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_exact_scores_and_feedback(graded: Graded, case: Case) -> None:
    expected = case.expected(graded.points[case.assignment])
    assert graded.scores[case.name] == expected, case.what
    recorded = recorded_tests(graded, case)
    assert {name: test.score for name, test in recorded.items()} == expected
    page = graded.course.directory("feedback") / case.name / case.assignment
    assert case.feedback in page_text(page / f"{case.assignment}.html"), case.what


def test_grading_the_corpus_leaves_the_course_unchanged(graded: Graded) -> None:
    before, after = graded.course_files
    assert before == after and any(name.startswith("solutions/") for name in before)


def test_the_gradebook_holds_one_submission_per_notebook(graded: Graded) -> None:
    assert graded.submissions == len(CASES)
    assert set(graded.scores) == {case.name for case in CASES}


def test_a_huge_output_is_cut(graded: Graded) -> None:
    folder = graded.course.directory("autograded") / "huge-output" / "03_softmax"
    assert (folder / "03_softmax.ipynb").stat().st_size < 2_000_000
    page = graded.course.directory("feedback") / "huge-output" / "03_softmax" / "03_softmax.html"
    assert page.stat().st_size < 3_000_000


def test_the_sandbox_finds_no_solution_near_its_working_directory(graded: Graded) -> None:
    path = graded.course.directory("autograded") / "leak-probe" / "03_softmax" / "03_softmax.ipynb"
    outputs = [
        o.text
        for c in nbformat.read(path, as_version=4).cells
        for o in c.get("outputs", [])
        if o.output_type == "stream" and PROBE in o.text
    ]
    assert len(outputs) == 1
    probe = json.loads(outputs[0].split(PROBE, 1)[1])
    assert probe["found"] == []
    # The probe walked the whole sandbox folder, its own notebook included, and no further.
    assert Path(probe["top"]).name.startswith("chainrule-sandbox-")
    assert probe["seen"] >= 1
    assert not Path(probe["top"]).exists()  # removed after grading


def test_plain_nbgrader_gives_the_same_scores(graded: Graded, tmp_path: Path) -> None:
    """`nbgrader autograde` (the "by hand" command, formgrader's button) grades as
    `python -m grader autograde` does: the corpus's readable notebooks get the same scores, the
    solution every point and the blank release none."""
    root = tmp_path / "course"
    shutil.copytree(graded.course.root, root, ignore=shutil.ignore_patterns("feedback"))
    for student, step in (("solution", "source"), ("blank", "release")):
        folder = root / "submitted" / student / "03_softmax"
        folder.mkdir(parents=True)
        shutil.copy(Course(root).notebook_paths(step, "03_softmax")[0], folder)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("CHAINRULE_DB_URL", None)
    for assignment in graded.points:
        subprocess.run(
            ["nbgrader", "autograde", assignment, "--force", f"--Execute.timeout={CELL_TIMEOUT}"],
            cwd=root,
            env=env,
            capture_output=True,
            check=False,
        )
    plain: dict[str, dict[str, float]] = {}
    with Course(root).gradebook() as gradebook:
        for s in cell_scores(gradebook):
            if s.autograded:
                plain.setdefault(s.student, {})[s.cell] = s.score
    unreadable = {"not-json", "not-a-notebook", "empty-file", "wrong-file-name"}
    for case in CASES:
        if case.name not in unreadable:
            assert plain[case.name] == graded.scores[case.name], case.name
    assert plain["solution"] == graded.points["03_softmax"]
    assert plain["blank"] == dict.fromkeys(graded.points["03_softmax"], 0.0)
