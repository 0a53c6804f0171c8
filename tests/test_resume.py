"""Nothing is lost: a grading run killed mid-batch resumes to the grades of an uninterrupted run.

A course with 03_softmax released and five submissions copied from the session's graded course
(tests/graded_course.py), where one uninterrupted run graded them. A real ``python -m grader
autograde --jobs 2`` is started as a process; the test kills one grading process (and what it
started) while it grades, then the whole run with SIGKILL once a first submission is graded.
Nothing of the run may survive it (the resumed run removes the folders its grading processes
left in the temporary directory), ``autograde --resume`` must grade only what has no record,
and the grades and the exported CSV rows must equal those of the graded course (which also
proves, by its regrade, that grading again gives the same CSV byte for byte).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from graded_course import FIRST_CSV, LIMITS, SLOW_STUDENT, GradedCourse

from grader.__main__ import main
from grader.check import BLANK, SOLUTION
from grader.course import CONFIG_FILE, Course
from grader.process import kill_process_tree
from grader.scores import cell_scores
from grader.secret import SECRET_FILE
from grader.submissions import RECORD_NAME

pytestmark = pytest.mark.slow

ASSIGNMENT = "03_softmax"
#: The students copied from the graded course: scores 13, 0, 11, 11 and 13 of 13; ``slow``
#: sleeps in its last cell, so that its grading process is still at work when one is killed.
STUDENTS = (SOLUTION, BLANK, "reference-answer", "log_of_softmax", SLOW_STUDENT)


def make_course(graded: GradedCourse, root: Path) -> Course:
    """A course with 03_softmax released and the submissions of :data:`STUDENTS`."""
    shutil.copytree(graded.root / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    for name in (CONFIG_FILE, SECRET_FILE):  # the same hidden inputs as in the graded course
        shutil.copy(graded.root / name, root / name)
    assert main(["--course", str(root), "release", ASSIGNMENT]) == 0
    for student in STUDENTS:
        folder = Path("submitted") / student / ASSIGNMENT
        shutil.copytree(graded.root / folder, root / folder)
    return Course(root)


def records(course: Course) -> dict[str, int]:
    """Student -> modification time (ns) of the record of each graded submission."""
    return {
        path.parent.parent.name: path.stat().st_mtime_ns
        for path in course.directory("autograded").glob(f"*/{ASSIGNMENT}/{RECORD_NAME}")
    }


def grades(course: Course) -> dict[tuple[str, str], float]:
    """(student, cell) -> score of every grade of :data:`STUDENTS` in 03_softmax."""
    with course.gradebook() as gradebook:
        return {
            (s.student, s.cell): s.score
            for s in cell_scores(gradebook, [ASSIGNMENT])
            if s.student in STUDENTS
        }


def rows(csv: bytes) -> list[bytes]:
    """The header and the rows of :data:`STUDENTS` in 03_softmax of an exported grades CSV."""
    header, *lines = csv.splitlines()
    return [header] + [
        line
        for line in lines
        if line.startswith(f"{ASSIGNMENT},".encode()) and line.split(b",")[3].decode() in STUDENTS
    ]


def wait_for(condition, what: str, run: subprocess.Popen, log: Path):
    """Wait up to two minutes for ``condition`` to return something true, while ``run`` (its
    output in ``log``) runs; return it."""
    deadline = time.monotonic() + 120.0
    while not (found := condition()):
        assert run.poll() is None, f"the run ended before {what}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{log.read_text()}"
        time.sleep(0.1)
    return found


def workers(run: psutil.Process) -> list[psutil.Process]:
    """The grading processes of a run: the children of its fork server. A process of the run
    that ends while they are listed (a grading process done, a short-lived command) is
    skipped."""
    found = []
    for child in run.children():
        try:
            grading = child.children()
            for process in grading:
                process.create_time()  # read now, kept by psutil: asked again after it ended
        except psutil.NoSuchProcess:
            continue
        found += grading
    return found


def test_a_killed_run_resumes_to_the_grades_of_an_uninterrupted_one(
    graded_course: GradedCourse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAINRULE_DB_URL", raising=False)
    interrupted = make_course(graded_course, tmp_path / "interrupted")
    scratch = tmp_path / "tmp"  # the temporary directory of both runs
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path, "TMPDIR": str(scratch)}
    command = [sys.executable, "-m", "grader", "--course", str(interrupted.root)]
    log = tmp_path / "interrupted-run.log"
    with open(log, "wb") as output:
        run = subprocess.Popen(
            [*command, "autograde", "--jobs", "2", "--quiet", *LIMITS],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    parent = psutil.Process(run.pid)
    try:
        # Kill one grading process, and its sandbox, while it grades.
        grading = wait_for(
            lambda: [w for w in workers(parent) if time.time() - w.create_time() > 3],
            "a worker",
            run,
            log,
        )
        victim = min(grading, key=lambda w: w.create_time())
        kill_process_tree(victim.pid)
        # Then the whole run, at once, once a submission is graded and others are not.
        wait_for(lambda: records(interrupted), "a graded submission", run, log)
        everything = [parent, *parent.children(recursive=True)]
        run.send_signal(signal.SIGKILL)
        run.wait()
        _, alive = psutil.wait_procs(everything, timeout=60)
        assert alive == [], "processes of the killed run survived it"
    finally:
        kill_process_tree(run.pid)
    before = records(interrupted)
    assert 0 < len(before) < len(STUDENTS)

    resume = ["--course", str(interrupted.root), "autograde", "--resume", "--quiet", *LIMITS]
    assert main(resume) == 0
    after = records(interrupted)
    assert len(after) == len(STUDENTS)
    assert {student: after[student] for student in before} == before  # not graded twice
    assert list(scratch.glob("chainrule-*")) == []  # what the killed run left is gone

    assert grades(interrupted) == grades(graded_course.course)
    path = tmp_path / "grades.csv"
    assert main(["--course", str(interrupted.root), "export", "--to", str(path)]) == 0
    csv = path.read_bytes()
    assert rows(csv) == rows((graded_course.records / FIRST_CSV).read_bytes())
    assert b",13.0,0.0,13.0,13.0" in csv and b",11.0,0.0,11.0,13.0" in csv
