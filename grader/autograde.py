"""``autograde``: grade every submission with nbgrader, in parallel, each within a time limit.

Each (student, assignment) submission is graded by its own process (:func:`grader.worker.grade`),
at most ``jobs`` at a time. Processes are forked from a server that has imported nbgrader once
(``forkserver``), so a submission does not pay nbgrader's seconds-long import. A submission that
cannot be graded (not a notebook, kernel death, over the time limit) is recorded with score 0 and
the reason (:mod:`grader.failures`); the batch goes on.

Gradebook writes: all processes write to one gradebook. Students are created up front (the only
rows two processes could both create), and a SQLite gradebook is opened with a busy timeout so
a writer waits for another's lock instead of failing with "database is locked".
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from pathlib import Path

import psutil
from nbgrader.api import MissingEntry
from tqdm import tqdm

from grader.course import Course, GraderError, select, with_busy_timeout
from grader.failures import record_failure
from grader.worker import Task, grade

#: Default wall-clock limit for grading one submission, in seconds.
DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True, order=True)
class Submission:
    """One student's submission of one assignment, in ``submitted/<student>/<assignment>/``."""

    student: str
    assignment: str

    def __str__(self) -> str:
        return f"{self.student}/{self.assignment}"


@dataclass(frozen=True)
class Outcome:
    """How grading a submission went: ``failure`` is None when nbgrader graded it."""

    submission: Submission
    seconds: float
    failure: str | None = None


@dataclass
class _Running:
    """A grading process in flight."""

    submission: Submission
    process: multiprocessing.process.BaseProcess
    conn: Connection
    started: float
    log_path: Path


def find_submissions(
    course: Course, assignments: list[str] | None = None, students: list[str] | None = None
) -> list[Submission]:
    """Submissions in ``submitted/``, restricted to ``assignments`` and ``students`` if given."""
    submitted = course.directory("submitted")
    found = sorted(
        Submission(folder.parent.name, folder.name)
        for folder in submitted.glob("*/*")
        if folder.is_dir()
    )
    wanted_assignments = set(select(assignments, sorted({s.assignment for s in found})))
    wanted_students = set(select(students, sorted({s.student for s in found}), what="student"))
    return [s for s in found if s.assignment in wanted_assignments and s.student in wanted_students]


def _prepare_gradebook(course: Course, submissions: Iterable[Submission]) -> None:
    """Check every assignment is released and create every student before grading starts."""
    with course.gradebook() as gradebook:
        for assignment in sorted({s.assignment for s in submissions}):
            try:
                gradebook.find_assignment(assignment)
            except MissingEntry:
                raise GraderError(
                    f"assignment {assignment} is not in the gradebook: release it first "
                    f"(python -m grader release {assignment})"
                ) from None
        for student in sorted({s.student for s in submissions}):
            gradebook.update_or_create_student(student)


def _context() -> BaseContext:
    """A forkserver that has imported nbgrader (spawn where forkserver does not exist)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["grader.worker"])
    return context


def kill_process_tree(pid: int) -> None:
    """SIGKILL process ``pid``, its descendants and their process groups.

    The grading process leads its own session, and jupyter_client starts each kernel in a
    session of its own too, so a kernel survives a kill of the grader's group alone.
    """
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    own_group = os.getpgrp()
    for process in processes:
        try:
            group = os.getpgid(process.pid)
            if group != own_group:
                os.killpg(group, signal.SIGKILL)
            else:  # not yet in a session of its own: never signal our own group
                process.kill()
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue


def _finish(running: _Running, timed_out: float | None) -> Outcome:
    """Collect a finished (or, with ``timed_out`` = the limit, killed) grading process."""
    seconds = time.monotonic() - running.started
    if timed_out is not None:
        kill_process_tree(running.process.pid)
    running.process.join()
    if timed_out is not None:
        failure: str | None = (
            f"Grading was stopped at the time limit of {timed_out:g} s "
            "(an endless loop, or code far slower than needed?)."
        )
    else:
        try:
            failure = running.conn.recv() if running.conn.poll() else _no_outcome(running)
        except EOFError:  # the process died before sending its outcome
            failure = _no_outcome(running)
    running.conn.close()
    return Outcome(running.submission, seconds, failure)


def _no_outcome(running: _Running) -> str:
    """The failure of a grading process that ended without sending an outcome."""
    log_tail = running.log_path.read_text(errors="replace").strip().splitlines()[-3:]
    return f"The grading process exited with code {running.process.exitcode}" + (
        f": {' / '.join(log_tail)}" if log_tail else "."
    )


def _start(context: BaseContext, course: Course, submission: Submission, logs: Path) -> _Running:
    """Start the grading process of ``submission``; its output goes to a file in ``logs``."""
    log_path = logs / f"{submission.student}-{submission.assignment}.log"
    task = Task(
        course.root, str(course.db_url), submission.assignment, submission.student, log_path
    )
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=grade, args=(task, sender), daemon=True)
    process.start()
    sender.close()
    return _Running(submission, process, receiver, time.monotonic(), log_path)


def autograde(
    course: Course,
    submissions: list[Submission],
    *,
    jobs: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = True,
) -> list[Outcome]:
    """Grade ``submissions`` with at most ``jobs`` processes, each within ``timeout`` seconds.

    Returns one outcome per submission, in the order of ``submissions``. Failed submissions are
    already recorded (score 0 and the reason as feedback) when this returns.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be a positive number of processes, got {jobs}")
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
    course = Course(course.root, db_url=with_busy_timeout(course.resolved_db_url))
    _prepare_gradebook(course, submissions)
    context = _context()
    pending = deque(submissions)
    running: dict[int, _Running] = {}  # by process sentinel
    outcomes: dict[Submission, Outcome] = {}
    with (
        tempfile.TemporaryDirectory(prefix="grader-logs-") as logs,
        tqdm(total=len(submissions), desc="autograde", unit="nb", disable=not progress) as bar,
    ):
        try:
            while pending or running:
                while pending and len(running) < jobs:
                    started = _start(context, course, pending.popleft(), Path(logs))
                    running[started.process.sentinel] = started
                next_deadline = min(r.started + timeout for r in running.values())
                ready = wait(list(running), timeout=max(0.0, next_deadline - time.monotonic()))
                now = time.monotonic()
                for sentinel in list(running):
                    overdue = now - running[sentinel].started >= timeout
                    if sentinel not in ready and not overdue:
                        continue
                    outcome = _finish(running.pop(sentinel), None if sentinel in ready else timeout)
                    if outcome.failure is not None:
                        submission = outcome.submission
                        record_failure(
                            course, submission.assignment, submission.student, outcome.failure
                        )
                    outcomes[outcome.submission] = outcome
                    bar.update()
                    bar.set_postfix(failed=sum(o.failure is not None for o in outcomes.values()))
        finally:
            for left in running.values():
                kill_process_tree(left.process.pid)
    return [outcomes[s] for s in submissions]
