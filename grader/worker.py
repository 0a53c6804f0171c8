"""One grading process: autograde one (student, assignment) submission with nbgrader.

:func:`grade` runs in a child process of ``python -m grader autograde`` (see
:mod:`grader.autograde`), in a session of its own so that the parent can kill it, and its kernel,
when it runs out of time. It sends back ``None`` when nbgrader graded the submission, or the
reason it could not, in words meant for the student.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import nbformat

from grader.course import Course, GraderError, check_result

#: The "SomeError: message" line that ends a Python traceback.
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception)\b.*$", re.MULTILINE)


@dataclass(frozen=True)
class Task:
    """What one grading process grades, and where its output goes."""

    course_root: Path
    db_url: str
    assignment: str
    student: str
    log_path: Path


def unreadable_reason(path: Path) -> str | None:
    """Why the notebook at ``path`` cannot be graded as a notebook, or None if it can."""
    try:
        nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return f"{path.name} is not a valid notebook file (not JSON: {error})."
    except Exception as error:  # nbformat raises several types for a malformed notebook
        return f"{path.name} is not a valid Jupyter notebook ({type(error).__name__}: {error})."
    return None


def explain_failure(log: str) -> str:
    """A student-readable reason for an nbgrader autograde failure, from its captured log."""
    if "Kernel died" in log or "DeadKernelError" in log:
        return (
            "The Python kernel stopped while running the notebook (a call such as os._exit, a "
            "crash, or too much memory), so no test could run."
        )
    if "unresponsive" in log:
        return "The Python kernel stopped responding while running the notebook."
    exceptions = _EXCEPTION_LINE.findall(log)
    detail = exceptions[0].strip() if exceptions else "no error message"
    return f"nbgrader could not grade the notebook ({detail})."


def grade_one(course: Course, assignment: str, student: str) -> str | None:
    """Autograde one submission; None when graded, else the reason it could not be."""
    notebooks = course.notebook_paths("submitted", assignment, student)
    reasons = [reason for path in notebooks if (reason := unreadable_reason(path))]
    if reasons:
        return " ".join(reasons)
    result = course.api().autograde(assignment, student, force=True, create=True)
    try:
        check_result(result, f"autograde {student}/{assignment}")
    except GraderError as error:
        return explain_failure(str(error))
    return None


def grade(task: Task, conn: Connection) -> None:
    """Process entry point: grade ``task`` and send the outcome (None or a reason) on ``conn``.

    The process leads a new session (the parent kills the whole group on timeout) and writes
    everything it, nbgrader and the kernel print to ``task.log_path``.
    """
    os.setsid()
    with open(task.log_path, "ab", buffering=0) as log:
        os.dup2(log.fileno(), sys.stdout.fileno())
        os.dup2(log.fileno(), sys.stderr.fileno())
    course = Course(task.course_root, db_url=task.db_url)
    conn.send(grade_one(course, task.assignment, task.student))
    conn.close()
