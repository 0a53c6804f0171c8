"""Grading on a Dask cluster: ``autograde --scheduler ADDRESS`` and its workers.

The coordinator (:func:`grade_on_cluster`) sends each grading task's bytes as a Dask task
(``Client.submit`` of :func:`grade_on_worker`, ``pure=False``: a regrade is a new task), a few
per worker thread at a time so that the scheduler never holds a whole class, and yields each
result's bytes as it completes (``as_completed``); :mod:`grader.autograde` saves them. A worker
grades a task exactly as ``--jobs N`` does here (:class:`grader.process.GradingProcesses`: a
process of its own under the task's memory and time limits, the sandbox inside) with its own
copy of the course, which must be the coordinator's version (:mod:`grader.inputs`); it needs
no access to the coordinator's course, gradebook or other workers. When a worker dies (killed,
its machine lost) the scheduler runs its task again on another: nothing was saved for it, so
it is saved once, when a result comes back.

What travels is bytes: results are read with Dask's msgpack deserializer only, so a result that
is not plain bytes is refused rather than unpickled. Dask's own messages (a task's exception)
are pickles: workers are machines the coordinator trusts, as it trusts itself
(grader/SECURITY.md).

A worker for the course in the current directory: ``python -m grader worker ADDRESS``
(:func:`run_worker`), or ``dask worker ADDRESS --preload grader.cluster`` (:func:`dask_setup`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import uuid
from pathlib import Path

from distributed import Client, Future, Worker, as_completed

from grader.autograde import DaskCluster, Results, Tasks
from grader.course import Course, GraderError
from grader.inputs import grading_inputs, inputs_digest
from grader.packets import GradingResult
from grader.process import GradingProcesses
from grader.submissions import Submission
from grader.trusted import isolation

#: Tasks in flight per worker thread: one at work, one on its way.
TASKS_PER_THREAD = 2
#: Seconds to wait for the scheduler to answer.
CONNECT_TIMEOUT = 30

#: This worker's grading processes (None: not a worker of a course).
_processes: GradingProcesses | None = None
#: Why this worker grades nothing, while ``_processes`` is None.
_not_grading = (
    "this Dask worker grades for no course: start it in the course with "
    "`python -m grader worker` or `dask worker --preload grader.cluster`"
)


def serve_course(course: Course) -> None:
    """Make this process, a Dask worker, grade the tasks it gets with ``course``."""
    global _processes, _not_grading
    if multiprocessing.current_process().daemon:
        _not_grading = (
            "this Dask worker is a daemonic process, which cannot start grading processes: "
            "start it with --no-nanny or DASK_DISTRIBUTED__WORKER__DAEMON=False"
        )
        raise GraderError(_not_grading)
    reason = isolation.unavailable_reason()
    if reason is not None:
        print(f"warning: {reason}: tasks that need it will not be graded", file=sys.stderr)
    processes = GradingProcesses(course, course.assignments())
    processes.warm_up()
    _processes = processes
    digest = inputs_digest(grading_inputs(course))
    print(f"grading for the course at {course.root}, version {digest[:12]}", file=sys.stderr)


def dask_setup(worker: Worker) -> None:
    """The preload of ``dask worker --preload grader.cluster``: grade for the course in the
    current directory."""
    serve_course(Course(Path.cwd()))


def dask_teardown(worker: Worker) -> None:
    """Stop the grading processes at work when the worker closes."""
    _stop_grading()


def _stop_grading() -> None:
    if _processes is not None:
        _processes.stop()


def grade_on_worker(task: bytes) -> bytes:
    """The Dask task: the result bytes of grading ``task`` (task bytes) on this worker."""
    if _processes is None:
        return GradingResult(error=_not_grading).to_bytes()
    return _processes.grade(task)


def run_worker(course: Course, address: str, nthreads: int, name: str | None) -> None:
    """Run a Dask worker with ``nthreads`` threads that grades for ``course``, connected to the
    scheduler at ``address``, until the scheduler closes or Ctrl-C."""
    serve_course(course)

    async def serve() -> None:
        async with Worker(address, nthreads=nthreads, name=name) as worker:
            await worker.finished()

    try:
        asyncio.run(serve())
    finally:
        _stop_grading()


def _result(future: Future) -> bytes:
    """The bytes a task's future holds, or a not-graded result saying why there are none."""
    try:
        data = future.result()
    except Exception as error:  # KilledWorker, a cancelled task, a result that is not bytes
        data = None
        why = f"{type(error).__name__}: {error}"
    else:
        why = f"the worker sent a {type(data).__name__}, not bytes"
    if isinstance(data, bytes):
        return data
    return GradingResult(error=f"the cluster did not grade it ({why})"[:2000]).to_bytes()


def grade_on_cluster(scheduler: str | DaskCluster, tasks: Tasks) -> Results:
    """Grade ``tasks`` on the Dask cluster of ``scheduler`` (its scheduler's address, or the
    cluster object); results as they come."""
    address = getattr(scheduler, "scheduler_address", scheduler)
    try:
        client = Client(
            scheduler, timeout=CONNECT_TIMEOUT, deserializers=["msgpack"], set_as_default=False
        )
    except (OSError, TimeoutError) as error:
        raise GraderError(f"could not reach the Dask scheduler at {address}: {error}") from None
    with client:
        if not client.nthreads():
            print(f"waiting for a worker to join the scheduler at {address}", file=sys.stderr)
            client.wait_for_workers(1)
        running: dict[Future, Submission] = {}
        completed = as_completed(loop=client.loop)
        try:
            for submission, task in tasks:
                key = f"grade-{submission.assignment}-{uuid.uuid4().hex}"
                future = client.submit(grade_on_worker, task, key=key, pure=False)
                running[future] = submission
                completed.add(future)
                while len(running) >= TASKS_PER_THREAD * max(1, sum(client.nthreads().values())):
                    future = next(completed)
                    yield running.pop(future), _result(future)
            for future in completed:
                yield running.pop(future), _result(future)
        finally:  # Ctrl-C, or the coordinator failed: the cluster stops what it has not begun
            client.cancel(list(running))
