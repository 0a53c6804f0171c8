"""One grading process: grade one submission's task, with this machine's copy of the course.

:func:`grade` runs in a process of its own (:mod:`grader.process`), on the machine that keeps
the course (``python -m grader autograde``) or on a Dask worker (:mod:`grader.cluster`), in a
session of its own so that its parent can kill it and its sandbox, under a memory limit
(``RLIMIT_AS``) that the sandbox inherits. It reads a :class:`grader.packets.GradingTask` and
grades it in a temporary course (:func:`grade_task`, :mod:`grader.workspace`):

1. the task's grading inputs must be this machine's (:mod:`grader.inputs`), else it refuses;
2. nbgrader's autograde runs there, with :class:`grader.execute.TrustedExecute` in place of
   nbgrader's ``Execute`` (the student's code runs once, in the sandbox, and the tests from
   ``solutions/`` here, their hidden inputs seeded by the task's seeds), and saves the scores
   in the temporary course's own gradebook;
3. the saved grades and comments, each test's score and message and the autograded folder go
   back as a :class:`grader.packets.GradingResult`: graded; failed (the submission's fault:
   the coordinator records score 0 and the reason); or not graded (the grading machine's
   fault: nothing is recorded, a rerun grades it).

It writes nothing of the course: the coordinator does (:mod:`grader.results`).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import signal
import socket
import sys
import tempfile
import traceback
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI

from chainrule.checks import split_mistake
from grader import phases
from grader.cells import CellKind, cells_of, grade_id_of, recorded_tests
from grader.course import Course, GraderError, check_result, shared_gradebook_engines
from grader.execute import FAILED_TEST
from grader.inputs import differences, grading_inputs
from grader.limits import Limits
from grader.packets import CellComment, CellGrade, GradingResult, GradingTask, folder_files
from grader.submissions import GradedTest, Submission
from grader.workspace import make_workspace

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


def saved_rows(
    gradebook: Gradebook, submission: Submission
) -> tuple[tuple[CellGrade, ...], tuple[CellComment, ...]]:
    """The grades and comments nbgrader saved for ``submission`` in ``gradebook``."""
    notebooks = gradebook.find_submission(submission.assignment, submission.student).notebooks
    grades = tuple(
        CellGrade(nb.name, g.cell.name, g.auto_score, bool(g.needs_manual_grade))
        for nb in notebooks
        for g in nb.grades
    )
    comments = tuple(
        CellComment(nb.name, c.cell.name, c.auto_comment) for nb in notebooks for c in nb.comments
    )
    return grades, comments


def grade_task(course: Course, task: GradingTask, root: Path) -> GradingResult:
    """Grade ``task`` with this machine's ``course``, in a temporary course made in the empty
    directory ``root``."""
    submission = task.submission
    with phases.timed("workspace"):
        different = differences(task.inputs, grading_inputs(course))
        if different:
            return GradingResult(
                error=f"the course on the grading machine {socket.gethostname()} is not the "
                f"coordinator's version ({different}): install the same version there"
            )
        made = make_workspace(course, task, root)
    problem = submission_problem(made, submission)
    if problem:
        return GradingResult(failure=problem)
    workspace = replace(
        made, limits=replace(task.limits, timeout=task.limits.timeout * SANDBOX_SHARE)
    )
    config = workspace.config()
    config.TrustedExecute.hidden_seeds = task.seeds
    api = NbGraderAPI(config=config)
    try:
        with phases.timed("nbgrader", *TRUSTED_PHASES):
            check_result(
                api.autograde(submission.assignment, submission.student, force=True, create=True),
                f"autograde {submission}",
            )
    except GraderError as error:
        if _DATABASE_FAULT in str(error):  # the gradebook, not the submission
            return GradingResult(error=f"nbgrader could not use the gradebook: {error}"[:2000])
        sandbox = _SANDBOX_FAULT.search(str(error))
        if sandbox:  # the grading machine or the course, before any student code ran
            what = (
                "grading could not run"
                if sandbox[1] == "CourseError"
                else "the sandbox could not start"
            )
            return GradingResult(error=f"{what}: {sandbox[2]}"[:2000])
        return GradingResult(failure=explain_failure(str(error)))
    with phases.timed("results"):
        folder = workspace.directory("autograded") / submission.student / submission.assignment
        with workspace.gradebook() as gradebook:
            tests = graded_tests(gradebook, submission, folder)
            grades, comments = saved_rows(gradebook, submission)
        files = folder_files(folder)
    return GradingResult(
        isolated=task.limits.isolation,
        grades=grades,
        comments=comments,
        tests=tuple(tests),
        files=files,
    )


def _isolate(limits: Limits, log_path: Path, workdir: Path, scratch: Path) -> None:
    """Set up the grading process: own session, death with the parent, memory limit, output to
    the log, working directory in the temporary course, temporary files (the sandbox's folder,
    with the student's notebook) in ``scratch``, which its parent removes however it ends."""
    os.setsid()
    tempfile.tempdir = str(scratch)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
    with open(log_path, "ab", buffering=0) as log:
        os.dup2(log.fileno(), sys.stdout.fileno())
        os.dup2(log.fileno(), sys.stderr.fileno())
    os.chdir(workdir)


def grade(
    course_root: Path, task: bytes, workdir: Path, scratch: Path, log_path: Path, conn: Connection
) -> None:
    """Process entry point: grade ``task`` (:class:`grader.packets.GradingTask` bytes, which its
    parent has read) with the course at ``course_root`` in the empty directory ``workdir``, its
    temporary files in the empty directory ``scratch``, and send the
    :class:`grader.packets.GradingResult` bytes on ``conn``."""
    decoded = GradingTask.from_bytes(task)
    _isolate(decoded.limits, log_path, workdir, scratch)
    try:
        with shared_gradebook_engines():
            result = grade_task(Course(course_root), decoded, workdir)
    except Exception as error:  # the disk, the course...: not the submission's fault
        traceback.print_exc()
        result = GradingResult(error=f"{type(error).__name__}: {error}"[:2000])
    conn.send_bytes(replace(result, phases=dict(phases.SECONDS)).to_bytes())
    conn.close()
