"""A Dask scheduler and grading workers on this machine's loopback, each a process of its own.

To try ``autograde --scheduler`` on one machine, and what the tests (tests/test_cluster.py)
and ``python -m benchmarks grading`` grade with: ``dask scheduler`` on 127.0.0.1, then workers
started in a copy of the course as ``python -m grader worker`` or as ``dask worker --preload
grader.cluster``, each with its own threads. Nothing listens beyond 127.0.0.1 (no dashboard).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from distributed import Client

from grader.course import CONFIG_FILE, Course

#: Seconds to wait for the scheduler and the workers to start.
START_TIMEOUT = 120


def _environment() -> dict[str, str]:
    """This environment, with this Python's scripts (``dask``, ``alembic``) first on PATH."""
    scripts = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")])}


def worker_copy(course: Course, destination: Path) -> Path:
    """Copy into the new folder ``destination`` what a worker has of ``course``: its
    configuration, sources and release (no gradebook, no submission)."""
    destination.mkdir()
    shutil.copy(course.root / CONFIG_FILE, destination / CONFIG_FILE)
    for step in ("source", "release"):
        folder = course.directory(step)
        shutil.copytree(folder, destination / folder.relative_to(course.root))
    return destination


def stop(process: subprocess.Popen) -> None:
    """End ``process`` and its session (SIGTERM, then SIGKILL after 30 s)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def scheduler(folder: Path) -> Iterator[str]:
    """A ``dask scheduler`` on 127.0.0.1 (its log and address file in ``folder``): its address."""
    address_file = folder / "scheduler.json"
    with open(folder / "scheduler.log", "ab") as log:
        process = subprocess.Popen(
            [Path(sys.executable).parent / "dask", "scheduler", "--host", "127.0.0.1"]
            + ["--port", "0", "--no-dashboard", "--scheduler-file", str(address_file)],
            stdout=log,
            stderr=log,
            env=_environment(),
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not address_file.is_file() or not address_file.read_text().strip():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Dask scheduler did not start: see {folder}/scheduler.log")
            time.sleep(0.1)
        yield json.loads(address_file.read_text())["address"]
    finally:
        stop(process)


def start_worker(
    address: str, course: Path, name: str, *, nthreads: int = 1, dask_cli: bool = False
) -> subprocess.Popen:
    """A grading worker in the course at ``course``: ``python -m grader worker``, or with
    ``dask_cli`` ``dask worker --no-nanny --preload grader.cluster``; its log is
    ``course/../<name>.log``."""
    if dask_cli:
        command = [str(Path(sys.executable).parent / "dask"), "worker", address, "--no-nanny"]
        command += ["--host", "127.0.0.1", "--no-dashboard", "--preload", "grader.cluster"]
    else:
        command = [sys.executable, "-m", "grader", "worker", address]
    with open(course.parent / f"{name}.log", "ab") as log:
        return subprocess.Popen(
            [*command, "--nthreads", str(nthreads), "--name", name],
            cwd=course,
            stdout=log,
            stderr=log,
            env=_environment(),
            start_new_session=True,
        )


def wait_for_workers(address: str, count: int) -> None:
    """Wait until ``count`` workers have joined the scheduler at ``address``."""
    with Client(address, timeout=START_TIMEOUT, set_as_default=False) as client:
        client.wait_for_workers(count, timeout=START_TIMEOUT)
