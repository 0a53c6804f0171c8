"""``autograde``: grade every submission, in parallel, each within its time and memory limits.

Each (student, assignment) submission is graded by its own process (:func:`grader.worker.grade`),
at most ``jobs`` at a time, in a temporary course of its own. Processes are forked from a server
that has imported nbgrader once (``forkserver``), so a submission does not pay nbgrader's
seconds-long import, nor the import of the modules the notebooks' setup cells use (the grading
process runs those cells itself, to run the tests). Each submission ends in one of three ways:

* graded: its scores and record are written (:mod:`grader.submissions`);
* failed: it cannot be graded (not a notebook, over the time limit): it is
  recorded with score 0 and the reason (:mod:`grader.failures`);
* not graded: the grading machine failed (the sandbox could not start, the gradebook
  could not be written, the grading process was killed): nothing is recorded and the summary
  says so; ``autograde --resume`` grades it, and whatever else has no record.

The batch goes on in every case. Gradebook writes: all processes write to one gradebook.
Students are created up front (the only rows two processes could both create), and a SQLite
gradebook is opened with a busy timeout so a writer waits for another's lock instead of failing
with "database is locked".
"""

from __future__ import annotations

import ast
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from pathlib import Path

import psutil
from nbgrader.api import MissingEntry
from tqdm import tqdm

from grader.course import Course, GraderError, with_busy_timeout
from grader.failures import record_failure
from grader.limits import Limits
from grader.secret import ensure_secret
from grader.submissions import Submission
from grader.trusted.notebook import read_source
from grader.trusted.scan import parse
from grader.worker import Result, Task, grade


@dataclass(frozen=True)
class Outcome:
    """How grading a submission went: both reasons are None when it was graded."""

    submission: Submission
    seconds: float
    failure: str | None = None
    """Why it could not be graded: it is recorded with score 0 and this reason."""
    error: str | None = None
    """Why the grading machine did not grade it: nothing is recorded."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per phase (:mod:`grader.phases`); "process" is what the grading process's own
    phases leave of ``seconds``."""


@dataclass
class _Running:
    """A grading process in flight."""

    submission: Submission
    process: multiprocessing.process.BaseProcess
    conn: Connection
    started: float
    log_path: Path
    workspace: Path


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


def setup_modules(course: Course, assignments: Iterable[str]) -> list[str]:
    """The modules the setup cells of ``assignments`` import (``from a import b`` gives ``a``
    and ``a.b``, which may not be a module), in the source notebooks' order."""
    modules: dict[str, None] = {}
    for assignment in assignments:
        for path in course.notebook_paths("source", assignment):
            for _, text in read_source(path).setup:
                for node in ast.walk(parse(text) or ast.Module(body=[], type_ignores=[])):
                    if isinstance(node, ast.Import):
                        modules.update(dict.fromkeys(alias.name for alias in node.names))
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        modules[node.module] = None
                        modules.update(dict.fromkeys(f"{node.module}.{a.name}" for a in node.names))
    return list(modules)


def _context(preload: list[str]) -> BaseContext:
    """A forkserver that has imported nbgrader and ``preload`` (spawn where forkserver does not
    exist). The forkserver skips a name that does not import."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["grader.worker", *preload])
    return context


def kill_process_tree(pid: int) -> None:
    """SIGKILL process ``pid``, its descendants and their process groups.

    The grading process leads its own session, and the sandbox runs in a session of its own
    too (bubblewrap's ``--new-session``), so it would survive a kill of the grader's group
    alone.
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


def _result(running: _Running) -> Result:
    """What a grading process that ended by itself sent, or why it sent nothing."""
    try:
        if running.conn.poll():
            return running.conn.recv()
    except EOFError:  # the process died while sending
        pass
    try:
        log_tail = running.log_path.read_text(errors="replace").strip().splitlines()[-3:]
    except OSError:  # it ended before opening its log
        log_tail = []
    return Result(
        error=f"the grading process ended without a result (exit code {running.process.exitcode})"
        + (f": {' / '.join(log_tail)}" if log_tail else "")
    )


def _stop(running: _Running) -> None:
    """Kill a grading process and everything it started, and remove its workspace."""
    kill_process_tree(running.process.pid)
    running.process.join()
    running.conn.close()
    shutil.rmtree(running.workspace, ignore_errors=True)


def _finish(running: _Running, timed_out: float | None) -> Outcome:
    """Collect a finished (or, with ``timed_out`` = the limit, overdue) grading process."""
    seconds = time.monotonic() - running.started
    if timed_out is not None:
        result = Result(
            failure=f"Grading was stopped at the time limit of {timed_out:g} s "
            "(an endless loop, or code far slower than needed?)."
        )
    else:
        result = _result(running)
    _stop(running)
    spent = {**result.phases, "process": seconds - sum(result.phases.values())}
    return Outcome(running.submission, seconds, result.failure, result.error, spent)


def _start(
    context: BaseContext,
    course: Course,
    submission: Submission,
    logs: Path,
    limits: Limits,
    isolation: bool,
) -> _Running:
    """Start the grading process of ``submission``; its output goes to a file in ``logs``."""
    log_path = logs / f"{submission.student}-{submission.assignment}.log"
    workspace = Path(tempfile.mkdtemp(prefix="chainrule-grade-"))
    task = Task(course.root, str(course.db_url), submission, workspace, log_path, limits, isolation)
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=grade, args=(task, sender), daemon=True)
    process.start()
    sender.close()
    return _Running(submission, process, receiver, time.monotonic(), log_path, workspace)


def autograde(
    course: Course,
    submissions: list[Submission],
    *,
    jobs: int = 1,
    limits: Limits | None = None,
    isolation: bool = True,
    progress: bool = True,
) -> list[Outcome]:
    """Grade ``submissions`` with at most ``jobs`` processes, each within ``limits`` (default
    :class:`grader.limits.Limits`), the student's code in bubblewrap if ``isolation``.

    Returns one outcome per submission, in the order of ``submissions`` (each graded once).
    Failed submissions are recorded (score 0 and the reason as feedback) when this returns. On
    KeyboardInterrupt the grading processes are killed; what they graded is kept, the rest has
    no record.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be a positive number of processes, got {jobs}")
    limits = limits or Limits()
    submissions = list(dict.fromkeys(submissions))
    course = Course(course.root, db_url=with_busy_timeout(course.resolved_db_url))
    ensure_secret(course.root)
    _prepare_gradebook(course, submissions)
    # Each grading process runs the setup cells to run the tests: import their modules once.
    context = _context(setup_modules(course, {s.assignment for s in submissions}))
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
                    started = _start(
                        context, course, pending.popleft(), Path(logs), limits, isolation
                    )
                    running[started.process.sentinel] = started
                next_deadline = min(r.started + limits.timeout for r in running.values())
                ready = wait(list(running), timeout=max(0.0, next_deadline - time.monotonic()))
                now = time.monotonic()
                for sentinel in list(running):
                    overdue = now - running[sentinel].started >= limits.timeout
                    if sentinel not in ready and not overdue:
                        continue
                    timed_out = None if sentinel in ready else limits.timeout
                    outcome = _finish(running.pop(sentinel), timed_out)
                    if outcome.failure is not None:
                        record_failure(course, outcome.submission, outcome.failure)
                    outcomes[outcome.submission] = outcome
                    bar.update()
                    bar.set_postfix(
                        failed=sum(o.failure is not None for o in outcomes.values()),
                        not_graded=sum(o.error is not None for o in outcomes.values()),
                    )
        finally:
            for left in running.values():
                _stop(left)
    return [outcomes[s] for s in submissions]
