"""One grading process: grade one (student, assignment) submission, trusted scores included.

:func:`grade` runs in a child process of ``python -m grader autograde`` (see
:mod:`grader.autograde`), in a session of its own so that the parent can kill it and its kernel,
under a memory limit (``RLIMIT_AS``) that nbgrader's kernel and the re-check's sandbox inherit.
It grades in a temporary course that holds nothing of ``solutions/`` (:mod:`grader.workspace`):

1. the trusted re-check of each submitted notebook (:func:`grader.trusted.recheck.recheck`),
   in a forked child, while
2. nbgrader's autograde runs here: the student's kernel, the gradebook rows, the autograded
   notebook;
3. each test's score becomes min(nbgrader's, the re-check's) in one transaction, and the
   reason for every lost point goes under its test cell (:mod:`grader.verdicts`);
4. the autograded folder, with the record that the submission is graded, replaces the old one
   (:mod:`grader.submissions`).

It sends back a :class:`Result`: graded; failed (the submission's fault: the parent records
score 0 and the reason); or not graded (the grading machine's fault: nothing is recorded, a
rerun grades it).
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import re
import resource
import signal
import sys
import time
import traceback
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path

import nbformat
from nbgrader.apps import NbGraderAPI

from grader.course import Course, GraderError, check_result
from grader.submissions import Submission, install, submission_digest, write_record
from grader.trusted.proxy import SandboxError
from grader.trusted.recheck import TestVerdict, recheck
from grader.verdicts import annotate, combine
from grader.workspace import bring_back, make_workspace

#: Default wall-clock limit for grading one submission, in seconds.
DEFAULT_TIMEOUT = 600.0
#: Default address-space limit of a grading process and of the processes it starts, in bytes.
DEFAULT_MEMORY_LIMIT = 4 * 1024**3
#: Share of a submission's time limit the trusted re-check may use; nbgrader gets the rest.
RECHECK_SHARE = 0.5
#: Variables of the grader's environment that name the course; the kernel does not inherit them.
COURSE_VARIABLES = ("PWD", "OLDPWD", "CHAINRULE_DB_URL")

_PR_SET_PDEATHSIG = 1
#: What nbgrader logs when the gradebook fails it (sqlalchemy's OperationalError).
_DATABASE_FAULT = "error accessing the nbgrader database"
#: The "SomeError: message" line that ends a Python traceback.
_EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception)\b.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Limits:
    """What grading one submission may use."""

    timeout: float = DEFAULT_TIMEOUT
    """Wall-clock seconds for the whole submission (the parent kills the process after it)."""
    cell_timeout: int | None = None
    """Seconds for one cell, in the kernel and in the re-check (default: ``Execute.timeout``
    of nbgrader_config.py)."""
    memory: int = DEFAULT_MEMORY_LIMIT
    """Bytes of address space of each process (``RLIMIT_AS``)."""

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout}")
        if self.cell_timeout is not None and self.cell_timeout < 1:
            raise ValueError(f"cell_timeout must be at least 1 second, got {self.cell_timeout}")
        if self.memory < 256 * 1024**2:
            raise ValueError(f"memory must be at least 256 MiB, got {self.memory} bytes")


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


@dataclass(frozen=True)
class Result:
    """How grading went: both None when the submission was graded."""

    failure: str | None = None
    """Why the submission itself could not be graded (recorded as score 0 with this reason)."""
    error: str | None = None
    """Why the grading machine could not grade it (nothing recorded: grade it again)."""


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
            "trusted re-check needs the instructor's source notebook"
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
    if "Kernel died" in log or "DeadKernelError" in log:
        return (
            "The Python kernel stopped while running the notebook (a call such as os._exit, a "
            "crash, or too much memory), so no test could run."
        )
    if "CellTimeoutError" in log or "unresponsive" in log:
        return (
            "A cell ran past the time limit and the kernel could not be interrupted (an "
            "endless loop that catches KeyboardInterrupt?), so the notebook could not be graded."
        )
    if "overwritecells.py" in log:
        return (
            "nbgrader could not restore the graded cells of the notebook (deleted, duplicated "
            "or renamed cells?). Start again from the released notebook."
        )
    exceptions = [e for e in _EXCEPTION_LINE.findall(log) if "NbGraderException" not in e]
    detail = exceptions[0].strip() if exceptions else "no error message"
    return f"nbgrader could not grade the notebook ({detail})."


def _recheck_all(
    workspace: Course, course: Course, submission: Submission, limits: Limits, seconds: float
) -> dict[str, dict[str, TestVerdict]]:
    """The trusted verdicts of each submitted notebook, by notebook name."""
    cell_timeout = float(workspace.config().Execute.timeout)
    deadline = time.monotonic() + seconds
    folder = workspace.directory("submitted") / submission.student / submission.assignment
    verdicts = {}
    for source in course.notebook_paths("source", submission.assignment):
        if (folder / source.name).is_file():
            verdicts[source.stem] = recheck(
                folder / source.name,
                source,
                timeout=cell_timeout,
                cell_timeout=cell_timeout,
                total_timeout=max(1.0, deadline - time.monotonic()),
                memory_limit=limits.memory,
            )
    return verdicts


class _BackgroundRecheck:
    """:func:`_recheck_all` in a child forked from this process, while nbgrader grades here.

    The two take about as long, and a grading machine has cores to spare while one of them
    waits for its kernel or sandbox. The child sends one message back: the verdicts, or why the
    re-check could not run.
    """

    def __init__(self, *args: object) -> None:
        self._receiver, sender = multiprocessing.Pipe(duplex=False)
        self._pid = os.fork()
        if self._pid == 0:  # the child: never returns
            self._receiver.close()
            try:
                sender.send(("verdicts", _recheck_all(*args)))
            except SandboxError as error:
                sender.send(("sandbox", str(error)))
            except Exception as error:
                traceback.print_exc()
                sender.send(("error", f"{type(error).__name__}: {error}"[:2000]))
            finally:
                os._exit(0)
        sender.close()

    def verdicts(self) -> dict[str, dict[str, TestVerdict]]:
        """Wait for the child's verdicts. Raises SandboxError when the re-check could not run."""
        try:
            kind, value = self._receiver.recv()
        except EOFError:  # killed (out of memory?) before it could answer
            kind, value = "sandbox", "the re-check process ended without a result"
        finally:
            self._receiver.close()
            os.waitpid(self._pid, 0)
        if kind == "error":
            raise RuntimeError(value)
        if kind == "sandbox":
            raise SandboxError(value)
        return value


def grade_one(course: Course, submission: Submission, root: Path, limits: Limits) -> Result:
    """Grade ``submission`` in a temporary course made in the empty directory ``root``."""
    start = time.monotonic()
    submitted = course.directory("submitted") / submission.student / submission.assignment
    digest = submission_digest(submitted)
    problem = submission_problem(course, submission)
    if problem:
        return Result(failure=problem)
    workspace = replace(make_workspace(course, submission, root), cell_timeout=limits.cell_timeout)
    rechecking = _BackgroundRecheck(
        workspace, course, submission, limits, RECHECK_SHARE * limits.timeout
    )
    api = NbGraderAPI(config=workspace.config())
    nbgrader_error = None
    try:
        check_result(
            api.autograde(submission.assignment, submission.student, force=True, create=True),
            f"autograde {submission}",
        )
    except GraderError as error:
        nbgrader_error = str(error)
    try:  # a fault of the grading machine outranks one of the submission
        verdicts = rechecking.verdicts()
    except SandboxError as error:
        return Result(error=f"the trusted re-check could not start: {error}")
    if nbgrader_error is not None:
        if _DATABASE_FAULT in nbgrader_error:  # the gradebook, not the submission
            return Result(error=f"nbgrader could not use the gradebook: {nbgrader_error}"[:2000])
        return Result(failure=explain_failure(nbgrader_error))
    with course.gradebook() as gradebook:
        tests = combine(gradebook, submission, verdicts)
    staged = bring_back(workspace, course, submission)
    for path in staged.glob("*.ipynb"):
        annotate(path, [test for test in tests if test.notebook == path.stem])
    write_record(staged, digest, tests)
    install(staged, course, submission)
    print(f"graded {submission} in {time.monotonic() - start:.1f} s", flush=True)
    return Result()


def _isolate(task: Task) -> None:
    """Set up the grading process: own session, death with the parent, memory limit, output to
    the log, working directory and environment that do not lead to the course."""
    os.setsid()
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    resource.setrlimit(resource.RLIMIT_AS, (task.limits.memory, task.limits.memory))
    with open(task.log_path, "ab", buffering=0) as log:
        os.dup2(log.fileno(), sys.stdout.fileno())
        os.dup2(log.fileno(), sys.stderr.fileno())
    os.chdir(task.workspace)
    for name in COURSE_VARIABLES:
        os.environ.pop(name, None)


def grade(task: Task, conn: Connection) -> None:
    """Process entry point: grade ``task`` and send its :class:`Result` on ``conn``."""
    _isolate(task)
    course = Course(task.course_root, db_url=task.db_url)
    try:
        result = grade_one(course, task.submission, task.workspace, task.limits)
    except Exception as error:  # the gradebook, the disk...: not the submission's fault
        traceback.print_exc()
        result = Result(error=f"{type(error).__name__}: {error}"[:2000])
    conn.send(result)
    conn.close()
