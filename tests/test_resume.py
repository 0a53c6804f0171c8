"""Nothing is lost: a grading run killed mid-batch resumes to the grades of an uninterrupted run.

Two identical courses (03_softmax released, the same four submissions). In the first, a real
``python -m grader autograde --jobs 2`` is started as a process; the test kills one grading
process (and what it started) while it grades, then the whole run with SIGKILL once a first
submission is graded. Nothing of the run may survive it, ``autograde --resume`` must grade only
what has no record, and the grades and the exported CSV must equal, byte for byte, those of the
second course graded in one go, and of that course after regrading two submissions.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from submissions.corpus import Notebooks, small, with_answers

from grader.__main__ import main
from grader.course import CONFIG_FILE, Course
from grader.process import kill_process_tree
from grader.scores import cell_scores
from grader.submissions import RECORD_NAME

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "03_softmax"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


def make_course(root: Path) -> Course:
    """A course with 03_softmax released and five small submissions (no text, no demos) with
    known, different scores; the last one's extra cell sleeps, so that its grading process is
    still at work when the test kills one."""
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    shutil.copy(REPO / CONFIG_FILE, root / CONFIG_FILE)
    assert main(["--course", str(root), "release", ASSIGNMENT]) == 0
    course = Course(root)
    notebooks = Notebooks(
        *(
            nbformat.read(course.notebook_paths(step, ASSIGNMENT)[0], as_version=4)
            for step in ("source", "release")
        )
    )
    submissions = {
        "a-solution": small(notebooks),
        "b-blank": small(notebooks, only=()),
        "c-reference": with_answers(
            small(notebooks), softmax="def softmax(A):\n    return F.softmax(A)\n"
        ),
        "d-wrong": with_answers(
            small(notebooks), log_softmax="def log_softmax(A):\n    return A\n"
        ),
        "e-slow": small(notebooks),
    }
    submissions["e-slow"].cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(10)"))
    for student, notebook in submissions.items():
        folder = course.directory("submitted") / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / NOTEBOOK)
    return course


def records(course: Course) -> dict[str, int]:
    """Student -> modification time (ns) of the record of each graded submission."""
    return {
        path.parent.parent.name: path.stat().st_mtime_ns
        for path in course.directory("autograded").glob(f"*/{ASSIGNMENT}/{RECORD_NAME}")
    }


def grades(course: Course) -> dict[tuple[str, str], float]:
    with course.gradebook() as gradebook:
        return {(s.student, s.cell): s.score for s in cell_scores(gradebook)}


def exported(course: Course, name: str) -> bytes:
    path = course.root / name
    assert main(["--course", str(course.root), "export", "--to", str(path)]) == 0
    return path.read_bytes()


def wait_for(condition, what: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def workers(run: psutil.Process) -> list[psutil.Process]:
    """The grading processes of a run: the children of its fork server."""
    return [p for child in run.children() for p in child.children()]


def test_a_killed_run_resumes_to_the_grades_of_an_uninterrupted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAINRULE_DB_URL", raising=False)
    interrupted = make_course(tmp_path / "interrupted")
    straight = make_course(tmp_path / "straight")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = [sys.executable, "-m", "grader", "--course", str(interrupted.root)]
    run = subprocess.Popen(
        [*command, "autograde", "--jobs", "2", "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    parent = psutil.Process(run.pid)
    try:
        # Kill one grading process, and its sandbox, while it grades.
        wait_for(
            lambda: any(time.time() - w.create_time() > 3 for w in workers(parent)), "a worker"
        )
        victim = min(workers(parent), key=lambda w: w.create_time())
        kill_process_tree(victim.pid)
        # Then the whole run, at once, once a submission is graded and others are not.
        wait_for(lambda: records(interrupted), "a graded submission")
        everything = [parent, *parent.children(recursive=True)]
        run.send_signal(signal.SIGKILL)
        run.wait()
        _, alive = psutil.wait_procs(everything, timeout=60)
        assert alive == [], "processes of the killed run survived it"
    finally:
        kill_process_tree(run.pid)
        run.stdout.close()
    before = records(interrupted)
    assert 0 < len(before) < 5

    assert main(["--course", str(interrupted.root), "autograde", "--resume", "--quiet"]) == 0
    after = records(interrupted)
    assert len(after) == 5
    assert {student: after[student] for student in before} == before  # not graded twice

    assert main(["--course", str(straight.root), "autograde", "--jobs", "2", "--quiet"]) == 0
    assert grades(interrupted) == grades(straight)
    csv = exported(straight, "grades.csv")
    assert exported(interrupted, "grades.csv") == csv
    assert b",13.0,0.0,13.0,13.0" in csv and b",11.0,0.0,11.0,13.0" in csv

    # Grading again changes nothing: same scores, the same CSV byte for byte.
    again = ["autograde", "--student", "a-solution", "c-reference", "--jobs", "2", "--quiet"]
    assert main(["--course", str(straight.root), *again]) == 0
    assert exported(straight, "again.csv") == csv
