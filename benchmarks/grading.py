"""Grading benchmark: the cost of the instructor's pipeline on this machine.

Everything runs in a temporary copy of the course (never the real gradebook or submitted/):

- release: seconds to generate every assignment of ``solutions/`` (nbgrader generate_assignment);
- one submission: seconds to autograde the solution of notebook 01 alone, first with a cold
  grading server (it imports nbgrader once) and then warm;
- throughput: submissions per minute for ``COPIES`` copies of that submission with ``--jobs 1``
  and ``--jobs 2``, and their ratio. One grading process already runs the trusted re-check
  beside nbgrader's kernel, so ``--jobs 1`` keeps more than one core busy and the ratio on a
  2-core machine stays well under 2.

Times are printed, never asserted.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from grader.autograde import Submission, autograde
from grader.check import copy_course
from grader.course import Course
from grader.release import release

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_derivatives"
COPIES = 20


def _seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def submit_solution(
    course: Course, students: list[str], assignment: str = ASSIGNMENT
) -> list[Submission]:
    """Submit the solution notebook(s) of ``assignment`` once for each of ``students``."""
    notebooks = course.notebook_paths("source", assignment)
    for student in students:
        folder = course.directory("submitted") / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for notebook in notebooks:
            shutil.copy(notebook, folder / notebook.name)
    return [Submission(student, assignment) for student in students]


def _grade(course: Course, submissions: list[Submission], jobs: int) -> float:
    """Seconds to grade ``submissions``; every one must be graded."""
    start = time.perf_counter()
    outcomes = autograde(course, submissions, jobs=jobs, progress=False)
    seconds = time.perf_counter() - start
    failures = [f"{o.submission}: {o.failure or o.error}" for o in outcomes if o.failure or o.error]
    if failures:
        raise RuntimeError("benchmark submissions failed to grade:\n" + "\n".join(failures))
    return seconds


def run() -> None:
    """Print the table of grading times."""
    course = Course(ROOT)
    if ASSIGNMENT not in course.assignments():
        print(f"skipped: {course.directory('source') / ASSIGNMENT} does not exist")
        return
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        copy = copy_course(course, Path(tmp))
        assignments = copy.assignments()
        seconds = _seconds(lambda: release(copy))
        rows.append((f"release {len(assignments)} assignment(s)", f"{seconds:.1f} s"))
        for label in ("cold", "warm"):
            seconds = _grade(copy, submit_solution(copy, [f"one-{label}"]), jobs=1)
            rows.append((f"autograde one submission of {ASSIGNMENT} ({label})", f"{seconds:.1f} s"))
        per_minute = {}
        for jobs in (1, 2):
            submissions = submit_solution(copy, [f"jobs{jobs}-{i:02d}" for i in range(COPIES)])
            per_minute[jobs] = 60 * COPIES / _grade(copy, submissions, jobs=jobs)
            rows.append(
                (f"throughput, {COPIES} submissions, --jobs {jobs}", f"{per_minute[jobs]:.1f} /min")
            )
        rows.append(("throughput of --jobs 2 / --jobs 1", f"{per_minute[2] / per_minute[1]:.2f}x"))
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
