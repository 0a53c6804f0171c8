"""``autograde``: grade every submission, each by a process of its own within its limits, on this
machine (``--jobs N``) or on a Dask cluster (``--scheduler``).

This process is the coordinator. It reads ``submitted/``, makes each submission's grading task
(:mod:`grader.tasks`: bytes holding the files, the assignment's gradebook rows, the hidden
tests' seeds and the limits), hands the tasks to grading processes, at most ``jobs`` of its own
(:mod:`grader.process`) or a cluster's workers (:mod:`grader.cluster`, and Dask, imported only
then), and saves each result as it comes back (:mod:`grader.results`): it is the only writer of
the gradebook, ``autograded/`` and the records. Each submission ends in one of three ways:

* graded: its scores and record are written;
* failed: it cannot be graded (not a notebook, over the time limit): it is recorded with
  score 0 and the reason (:mod:`grader.failures`);
* not graded: the grading machine failed (the sandbox could not start, the grading process
  was killed, a worker has another version of the course): nothing is recorded and the summary
  says so; ``autograde --resume`` grades it, and whatever else has no record.

The batch goes on in every case.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Protocol

from nbgrader.api import MissingEntry
from tqdm import tqdm

from grader.course import Course, GraderError, shared_gradebook_engines
from grader.limits import Limits
from grader.packets import GradingResult, PacketError
from grader.process import GradingProcesses
from grader.results import save_result
from grader.submissions import Submission
from grader.tasks import TaskMaker

#: A submission and its grading task's bytes; the same submission and its result's bytes.
Tasks = Iterator[tuple[Submission, bytes]]
Results = Iterator[tuple[Submission, bytes]]


class DaskCluster(Protocol):
    """A Dask cluster object (``dask_jobqueue.SLURMCluster``, a dask-gateway cluster...): Dask's
    client reads its scheduler's address and its security (TLS) from it."""

    scheduler_address: str


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
    phases leave of its time, "save" the coordinator's."""


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


def _grade_here(processes: GradingProcesses, tasks: Tasks, jobs: int) -> Results:
    """Grade ``tasks`` on this machine, ``jobs`` at a time; results as they come."""
    running: dict[Future[bytes], Submission] = {}
    with ThreadPoolExecutor(jobs, thread_name_prefix="grading") as pool:
        try:
            for submission, task in tasks:
                while len(running) >= jobs:
                    yield from _done(running)
                running[pool.submit(processes.grade, task)] = submission
            while running:
                yield from _done(running)
        finally:  # Ctrl-C, or the coordinator failed: what is at work is killed
            processes.stop()


def _done(running: dict[Future[bytes], Submission]) -> Results:
    """The results of the first tasks of ``running`` to end (removed from it)."""
    done, _ = wait(running, return_when=FIRST_COMPLETED)
    for future in done:
        try:
            data = future.result()
        except Exception as error:  # a fault of this machine, not of the submission
            data = GradingResult(error=f"{type(error).__name__}: {error}").to_bytes()
        yield running.pop(future), data


def _save(course: Course, submission: Submission, digest: str, data: bytes) -> Outcome:
    """Save the result ``data`` of ``submission``'s files of ``digest``; how it went."""
    start = time.monotonic()
    try:
        result = GradingResult.from_bytes(data)
    except PacketError as error:
        result = GradingResult(error=f"the result could not be read: {error}")
    try:
        save_result(course, submission, digest, result)
    except Exception as error:  # the gradebook, the disk, a result that does not fit them
        reason = f"the result could not be saved: {type(error).__name__}: {error}"[:2000]
        result = replace(result, failure=None, error=reason)
    saved = time.monotonic() - start
    spent = {
        **result.phases,
        "process": result.seconds - sum(result.phases.values()),
        "save": saved,
    }
    return Outcome(submission, result.seconds + saved, result.failure, result.error, spent)


def autograde(
    course: Course,
    submissions: list[Submission],
    *,
    jobs: int = 1,
    limits: Limits | None = None,
    progress: bool = True,
    scheduler: str | DaskCluster | None = None,
) -> list[Outcome]:
    """Grade ``submissions`` within ``limits`` (default :class:`grader.limits.Limits`): with at
    most ``jobs`` processes here, or on a Dask cluster, ``scheduler`` being its scheduler's
    address or the cluster object (``jobs`` then unused: the workers' threads decide).

    Returns one outcome per submission, in the order of ``submissions`` (each graded once).
    Results are saved as they come. On KeyboardInterrupt what is at work is stopped; what was
    saved is kept, the rest has no record.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be a positive number of processes, got {jobs}")
    limits = limits or Limits()
    submissions = list(dict.fromkeys(submissions))
    if not submissions:
        return []
    with shared_gradebook_engines():  # the gradebook is opened again for every result
        assignments = {s.assignment for s in submissions}
        _prepare_gradebook(course, submissions)
        maker = TaskMaker(course, limits, assignments)
        digests: dict[Submission, str] = {}

        def tasks() -> Tasks:
            for submission in submissions:
                digests[submission], task = maker.task(submission)
                yield submission, task

        if scheduler is None:
            processes = GradingProcesses(course, assignments)
            processes.warm_up()
            results = _grade_here(processes, tasks(), jobs)
        else:
            from grader.cluster import grade_on_cluster  # Dask's import only where it is used

            results = grade_on_cluster(scheduler, tasks())
        outcomes: dict[Submission, Outcome] = {}
        with tqdm(total=len(submissions), desc="autograde", unit="nb", disable=not progress) as bar:
            try:
                for submission, data in results:
                    outcomes[submission] = _save(course, submission, digests[submission], data)
                    bar.update()
                    bar.set_postfix(
                        failed=sum(o.failure is not None for o in outcomes.values()),
                        not_graded=sum(o.error is not None for o in outcomes.values()),
                    )
            finally:
                results.close()
        return [outcomes[s] for s in submissions]
