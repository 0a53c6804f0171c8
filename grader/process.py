"""Grading processes: each task graded by a process of its own, within its limits.

:class:`GradingProcesses` grades a task's bytes (:class:`grader.packets.GradingTask`) in a new
process (:func:`grader.worker.grade`) and returns the result's bytes; several threads may call
it at once (``autograde --jobs N`` and a Dask worker's threads both do). Processes are forked
from a server that has imported nbgrader once (``forkserver``), so a submission does not pay
nbgrader's seconds-long import, nor the import of the modules the notebooks' setup cells use
(the grading process runs those cells itself, to run the tests), nor the validators and the
database set-up every grading process would make again (:mod:`grader.preload`).

The wall-clock limit is kept here: a process still at work at the task's ``timeout`` is killed
with everything it started, and the submission fails ("stopped at the time limit"). A process
that ends without a result (killed, out of memory) leaves the submission not graded. Either way
the process's folder is removed: the temporary course, and its temporary files (its sandbox's
folder, with the student's notebook), which a process killed mid-way cannot remove itself. A run
killed at once (SIGKILL, a machine's OOM killer) cannot remove its folders either: the folder's
lock, held by the thread that made it while it is in use, is then free, and the next
:class:`GradingProcesses` on the machine removes it (:func:`remove_abandoned_folders`).
"""

from __future__ import annotations

import ast
import fcntl
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from multiprocessing import forkserver
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from pathlib import Path

import psutil

from grader.course import Course
from grader.packets import GradingResult, GradingTask, PacketError
from grader.trusted.notebook import read_source
from grader.trusted.scan import parse
from grader.worker import grade

#: Seconds a grading process may take to exit after sending its result.
_EXIT_GRACE = 10.0
#: The prefix of a grading process's folder in the temporary directory, and the lock file in it.
_FOLDER_PREFIX, _LOCK = "chainrule-grade-", ".in-use"
#: The environment variable that names to the forkserver, as it starts, the source and release
#: notebooks of the assignments it grades (:mod:`grader.preload` analyses their cells once).
NOTEBOOKS_ENV = "CHAINRULE_GRADED_NOTEBOOKS"


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
    """A forkserver that has imported nbgrader, made what every grading process would make
    again (:mod:`grader.preload`), imported matplotlib (every grading process gives its
    sandbox a copy of matplotlib's font cache, :mod:`grader.trusted.environment`) and
    ``preload`` (spawn where forkserver does not exist). The forkserver skips a name that does
    not import."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["grader.worker", "grader.preload", "matplotlib", *preload])
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


@contextmanager
def _grading_folder() -> Iterator[Path]:
    """A new folder in the temporary directory, locked while the block runs, then removed. Its
    lock file appears only once locked (made under another name, then renamed): a folder
    without one is being made, and :func:`remove_abandoned_folders` leaves it alone."""
    directory = tempfile.TemporaryDirectory(prefix=_FOLDER_PREFIX)
    folder = Path(directory.name)
    making = folder / f"{_LOCK}.new"
    with open(making, "wb") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            making.rename(folder / _LOCK)
            yield folder
        finally:
            directory.cleanup()  # still locked: nobody else removes it meanwhile


def remove_abandoned_folders() -> list[Path]:
    """Remove the grading processes' folders of runs that were killed at once (their lock is
    free: no process holds it) from the temporary directory; return them. A folder in use, being
    made, or another user's is left alone."""
    removed = []
    for folder in sorted(Path(tempfile.gettempdir()).glob(f"{_FOLDER_PREFIX}*")):
        try:
            with open(folder / _LOCK, "rb") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(folder)
        except OSError:  # locked (in use), no lock yet, not readable, or removed meanwhile
            continue
        removed.append(folder)
    return removed


def _log_tail(path: Path) -> str:
    """The last lines of a grading process's log, for a message ('' when there are none)."""
    try:
        lines = path.read_text(errors="replace").strip().splitlines()[-3:]
    except OSError:  # it ended before opening its log
        return ""
    return f": {' / '.join(lines)}" if lines else ""


class GradingProcesses:
    """Grades tasks for the course at ``course``, each in a process of its own, the setup
    modules of ``assignments`` imported once by the forkserver. What killed runs left in the
    temporary directory is removed first (:func:`remove_abandoned_folders`)."""

    def __init__(self, course: Course, assignments: Iterable[str]) -> None:
        remove_abandoned_folders()
        names = sorted(set(assignments))
        self.course = course
        self.context = _context(setup_modules(course, names))
        self._notebooks = [
            path
            for name in names
            for step in ("source", "release")
            for path in course.notebook_paths(step, name)
        ]
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self._stopped = False

    def warm_up(self) -> None:
        """Start the forkserver now rather than with the first task, naming it the notebooks of
        the assignments (:data:`NOTEBOOKS_ENV`, for :mod:`grader.preload`) while it starts. A
        forkserver already running (started by an earlier instance in this process) is kept."""
        if self.context.get_start_method() != "forkserver":
            return
        before = os.environ.get(NOTEBOOKS_ENV)
        os.environ[NOTEBOOKS_ENV] = os.pathsep.join(str(p.resolve()) for p in self._notebooks)
        try:
            forkserver.ensure_running()
        finally:
            if before is None:
                del os.environ[NOTEBOOKS_ENV]
            else:
                os.environ[NOTEBOOKS_ENV] = before

    def stop(self) -> None:
        """Kill every grading process at work; tasks given afterwards are not graded."""
        with self._lock:
            self._stopped = True
            running = list(self._running)
        for pid in running:
            kill_process_tree(pid)

    def grade(self, task: bytes) -> bytes:
        """The result bytes of grading ``task`` (task bytes) in a process of its own."""
        started = time.monotonic()
        result = self._grade(task, started)
        return replace(result, seconds=time.monotonic() - started).to_bytes()

    def _grade(self, task: bytes, started: float) -> GradingResult:
        try:
            limits = GradingTask.from_bytes(task).limits
        except PacketError as error:
            return GradingResult(error=f"the task could not be read: {error}")
        with _grading_folder() as folder:
            workdir, scratch, log_path = folder / "course", folder / "tmp", folder / "grading.log"
            workdir.mkdir()
            scratch.mkdir()
            with self._lock:
                if self._stopped:
                    return GradingResult(error="grading was stopped before this submission")
                receiver, sender = self.context.Pipe(duplex=False)
                process = self.context.Process(
                    target=grade,
                    args=(self.course.root, task, workdir, scratch, log_path, sender),
                    daemon=True,
                )
                process.start()
                self._running.add(process.pid)
            sender.close()
            try:
                data = _receive(process, receiver, started + limits.timeout)
            finally:
                kill_process_tree(process.pid)
                process.join()
                receiver.close()
                with self._lock:
                    self._running.discard(process.pid)
            if data is None:
                return GradingResult(
                    failure=f"Grading was stopped at the time limit of {limits.timeout:g} s "
                    "(an endless loop, or code far slower than needed?)."
                )
            if not data:
                return GradingResult(
                    error="the grading process ended without a result (exit code "
                    f"{process.exitcode}){_log_tail(log_path)}"
                )
        try:
            return GradingResult.from_bytes(data)
        except PacketError as error:
            return GradingResult(error=f"the grading process sent an unreadable result: {error}")


def _receive(process: BaseProcess, receiver: Connection, deadline: float) -> bytes | None:
    """What ``process`` sent on ``receiver``: b'' when it ended without sending, None when
    ``deadline`` (``time.monotonic()``) came first. Reads while the process writes, so a large
    result never blocks it."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready = wait([receiver, process.sentinel], timeout=left)
        if receiver in ready:
            try:
                data = receiver.recv_bytes()
            except (EOFError, OSError):  # it ended, maybe while sending
                return b""
            process.join(_EXIT_GRACE)
            return data
        if process.sentinel in ready and not receiver.poll():
            return b""
