"""One grading process: grade one (student, assignment) submission.

:func:`grade` runs in a child process of ``python -m grader autograde`` (see
:mod:`grader.autograde`), in a session of its own so that the parent can kill it and its
sandbox, under a memory limit (``RLIMIT_AS``) that the sandbox inherits. It grades in a
temporary course (:mod:`grader.workspace`):

1. nbgrader's autograde runs there, with :class:`grader.execute.TrustedExecute` in place of
   nbgrader's ``Execute``: the student's code runs once, in the sandbox, and the tests from
   ``solutions/`` here; nbgrader writes the scores into the gradebook;
2. the autograded folder, with the record that the submission is graded (each test's score and
   the reason for every lost point), replaces the old one (:mod:`grader.submissions`).

It sends back a :class:`Result`: graded; failed (the submission's fault: the parent records
score 0 and the reason); or not graded (the grading machine's fault: nothing is recorded, a
rerun grades it).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI

from chainrule.checks import split_mistake
from grader import phases
from grader.cells import CellKind, cells_of, grade_id_of, recorded_tests
from grader.course import Course, GraderError, check_result
from grader.execute import FAILED_TEST
from grader.limits import Limits
from grader.submissions import (
    GradedTest,
    Submission,
    install,
    submission_digest,
    write_record,
)
from grader.workspace import bring_back, make_workspace

#: Share of a submission's time limit its notebooks' trusted runs may use in all (the rest is
#: nbgrader's own work and the margin before the parent kills the grading process).
SANDBOX_SHARE = 0.8

#: The phases of the trusted run, inside nbgrader's autograde (:mod:`grader.phases`).
TRUSTED_PHASES = ("sandbox start", "setup in grader", "student cells", "tests")

_PR_SET_PDEATHSIG = 1
#: What nbgrader logs when the gradebook fails it (sqlalchemy's OperationalError).
_DATABASE_FAULT = "error accessing the nbgrader database"
#: The line of nbgrader's log that says the sandbox could not run (grader.trusted.proxy).
_SANDBOX_FAULT = re.compile(r"(SandboxError|IsolationUnavailable|CourseError): (.*)")
#: The "SomeError: message" line that ends a Python traceback.
_EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception)\b.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Task:
    """What one grading process grades, where, and where its output goes."""

    course_root: Path
    db_url: str
    submission: Submission
    workspace: Path
    """An empty directory for the temporary course (the parent removes it)."""
    log_path: Path
    limits: Limits
    """The parent kills the process after ``limits.timeout``."""
    isolation: bool = True
    """Whether the sandbox runs in bubblewrap (``--no-isolation`` turns it off)."""


@dataclass(frozen=True)
class Result:
    """How grading went: both None when the submission was graded."""

    failure: str | None = None
    """Why the submission itself could not be graded (recorded as score 0 with this reason)."""
    error: str | None = None
    """Why the grading machine could not grade it (nothing recorded: grade it again)."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each phase of :data:`grader.phases.PHASES`."""


def unreadable_reason(path: Path) -> str | None:
    """Why the notebook at ``path`` cannot be graded as a notebook, or None if it can."""
    try:
        nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return f"{path.name} is not a valid notebook file (not JSON: {error})."
    except Exception as error:  # nbformat raises several types for a malformed notebook
        return f"{path.name} is not a valid Jupyter notebook ({type(error).__name__}: {error})."
    return None


def submission_problem(course: Course, submission: Submission) -> str | None:
    """Why ``submission`` cannot be graded at all (no notebook of the assignment, or one that is
    not a notebook), or None. Raises GraderError when the assignment has no source notebook."""
    folder = course.directory("submitted") / submission.student / submission.assignment
    expected = [p.name for p in course.notebook_paths("source", submission.assignment)]
    if not expected:
        raise GraderError(
            f"{course.directory('source').name}/{submission.assignment} has no notebook: the "
            "tests run from the instructor's source notebook"
        )
    present = [name for name in expected if (folder / name).is_file()]
    if not present:
        found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        return (
            f"The submission has no notebook named {' or '.join(expected)}"
            f" (found: {', '.join(found) or 'nothing'}). Submit the notebook under the name it "
            "was released with."
        )
    reasons = [reason for name in present if (reason := unreadable_reason(folder / name))]
    return " ".join(reasons) or None


def explain_failure(log: str) -> str:
    """A student-readable reason for an nbgrader autograde failure, from its captured log."""
    if "overwritecells.py" in log:
        return (
            "nbgrader could not restore the graded cells of the notebook (deleted, duplicated "
            "or renamed cells?). Start again from the released notebook."
        )
    exceptions = [e for e in _EXCEPTION_LINE.findall(log) if "NbGraderException" not in e]
    detail = exceptions[0].strip() if exceptions else "no error message"
    return f"nbgrader could not grade the notebook ({detail})."


def graded_tests(gradebook: Gradebook, submission: Submission, folder: Path) -> list[GradedTest]:
    """The autograded tests of ``submission`` as nbgrader scored them, with the reason for every
    lost point read from the test cell's failure output in the autograded notebooks of
    ``folder`` (:func:`grader.execute.failure_output`)."""
    messages = {}
    for path in folder.glob("*.ipynb"):
        for cell in cells_of(nbformat.read(path, as_version=4).cells, CellKind.TEST):
            found = [o.evalue for o in cell.outputs if o.get("ename") == FAILED_TEST]
            messages[path.stem, grade_id_of(cell)] = found[0] if found else ""
    results = []
    for notebook in gradebook.find_submission(submission.assignment, submission.student).notebooks:
        tests = recorded_tests(notebook.notebook)
        for grade in notebook.grades:
            if grade.cell.name in tests:
                score, max_score = float(grade.auto_score or 0.0), float(grade.max_score)
                message = messages.get((notebook.name, grade.cell.name), "")
                if score < max_score and not message:
                    message = f"{notebook.name}.ipynb was not submitted"
                message, mistake = split_mistake(message)
                results.append(
                    GradedTest(notebook.name, grade.cell.name, score, max_score, message, mistake)
                )
    return results


def grade_one(
    course: Course, submission: Submission, root: Path, limits: Limits, *, isolation: bool = True
) -> Result:
    """Grade ``submission`` in a temporary course made in the empty directory ``root``, within
    ``limits``, the sandbox in bubblewrap if ``isolation``."""
    start = time.monotonic()
    submitted = course.directory("submitted") / submission.student / submission.assignment
    digest = submission_digest(submitted)
    problem = submission_problem(course, submission)
    if problem:
        return Result(failure=problem)
    with phases.timed("workspace"):
        made = make_workspace(course, submission, root)
    trusted_run = replace(limits, timeout=limits.timeout * SANDBOX_SHARE)
    workspace = replace(made, limits=trusted_run, isolation=isolation)
    api = NbGraderAPI(config=workspace.config())
    try:
        with phases.timed("nbgrader", *TRUSTED_PHASES):
            check_result(
                api.autograde(submission.assignment, submission.student, force=True, create=True),
                f"autograde {submission}",
            )
    except GraderError as error:
        if _DATABASE_FAULT in str(error):  # the gradebook, not the submission
            return Result(error=f"nbgrader could not use the gradebook: {error}"[:2000])
        sandbox = _SANDBOX_FAULT.search(str(error))
        if sandbox:  # the grading machine or the course, before any student code ran
            what = (
                "grading could not run"
                if sandbox[1] == "CourseError"
                else "the sandbox could not start"
            )
            return Result(error=f"{what}: {sandbox[2]}"[:2000])
        return Result(failure=explain_failure(str(error)))
    with phases.timed("records"):
        staged = bring_back(workspace, course, submission)
        with course.gradebook() as gradebook:
            tests = graded_tests(gradebook, submission, staged)
        write_record(staged, digest, tests, isolated=isolation)
        install(staged, course, submission)
    print(f"graded {submission} in {time.monotonic() - start:.1f} s", flush=True)
    return Result()


def _isolate(task: Task) -> None:
    """Set up the grading process: own session, death with the parent, memory limit, output to
    the log, working directory in the temporary course."""
    os.setsid()
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    resource.setrlimit(resource.RLIMIT_AS, (task.limits.memory, task.limits.memory))
    with open(task.log_path, "ab", buffering=0) as log:
        os.dup2(log.fileno(), sys.stdout.fileno())
        os.dup2(log.fileno(), sys.stderr.fileno())
    os.chdir(task.workspace)


def grade(task: Task, conn: Connection) -> None:
    """Process entry point: grade ``task`` and send its :class:`Result` on ``conn``."""
    _isolate(task)
    course = Course(task.course_root, db_url=task.db_url)
    try:
        result = grade_one(
            course, task.submission, task.workspace, task.limits, isolation=task.isolation
        )
    except Exception as error:  # the gradebook, the disk...: not the submission's fault
        traceback.print_exc()
        result = Result(error=f"{type(error).__name__}: {error}"[:2000])
    conn.send(replace(result, phases=dict(phases.SECONDS)))
    conn.close()
