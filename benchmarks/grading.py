"""Grading benchmark: the cost of the instructor's pipeline on this machine.

Everything runs in a temporary copy of the course (never the real gradebook or submitted/):

- release: seconds to generate every assignment of ``solutions/`` (nbgrader generate_assignment);
- one submission: seconds to autograde the solution of notebook 01 alone, first with a cold
  grading server (it imports nbgrader once) and then warm;
- throughput: submissions per minute for ``COPIES`` copies of that submission with ``--jobs 1``
  and ``--jobs 2``, and their ratio; then through a Dask scheduler on this machine's loopback
  with two one-thread workers (``autograde --scheduler``, :mod:`grader.loopback`; the workers
  already running, their start-up printed apart), and its ratio to ``--jobs 2`` (the cluster's
  overhead: shipping bytes and the scheduler's round trips);
- one student's whole course (the solution of every assignment) graded by stock nbgrader (its
  default autograde pipeline, in a copy of the course with a bare configuration: every cell run
  in a kernel, nothing trusted) and by ``python -m grader autograde`` (the sandboxed path) with
  ``--jobs 1`` and ``--jobs 2``, their ratios, and with ``--jobs 1`` the seconds of each phase
  of grading (:mod:`grader.phases`) summed over the notebooks;
- bubblewrap's start-up cost: one empty sandbox (``bwrap ... /bin/true``);
- the report (``python -m grader report``) of a class of ``REPORT_CLASS`` submissions of
  ``REPORT_ASSIGNMENT``, from grading records written for the benchmark (not graded): answers
  varied per student, some exercises left blank, some failed with a named mistake.

Times are printed, never asserted.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import nbformat

from grader import loopback
from grader.autograde import Submission, autograde
from grader.check import copy_course
from grader.course import Course
from grader.phases import PHASES
from grader.release import release
from grader.report import build_report
from grader.report_html import write_report
from grader.submissions import GradedTest, submission_digest, write_record
from grader.trusted import isolation

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_derivatives"
COPIES = 20
REPORT_ASSIGNMENT = "04_backprop"
REPORT_CLASS = 200


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


def _graded(
    course: Course, submissions: list[Submission], jobs: int, scheduler: str | None = None
) -> tuple[float, Counter]:
    """Seconds to grade ``submissions`` with ``jobs`` processes or on the Dask ``scheduler``
    (every one must be graded), and the seconds of each phase (:mod:`grader.phases`) summed
    over them."""
    start = time.perf_counter()
    outcomes = autograde(course, submissions, jobs=jobs, progress=False, scheduler=scheduler)
    seconds = time.perf_counter() - start
    failures = [f"{o.submission}: {o.failure or o.error}" for o in outcomes if o.failure or o.error]
    if failures:
        raise RuntimeError("benchmark submissions failed to grade:\n" + "\n".join(failures))
    return seconds, sum((Counter(o.phases) for o in outcomes), Counter())


def _grade(
    course: Course, submissions: list[Submission], jobs: int, scheduler: str | None = None
) -> float:
    """Seconds to grade ``submissions``; every one must be graded."""
    return _graded(course, submissions, jobs, scheduler)[0]


def cluster_rows(course: Course, tmp: Path, local_per_minute: float) -> list[tuple[str, str]]:
    """The rows of the Dask path: a scheduler and two one-thread workers on the loopback, each
    in a copy of ``course`` for workers; their start-up, then ``COPIES`` submissions."""
    workers = [loopback.worker_copy(course, tmp / f"worker-{n}") for n in range(2)]
    with loopback.scheduler(tmp) as address:
        start = time.perf_counter()
        started = [loopback.start_worker(address, root, root.name) for root in workers]
        try:
            loopback.wait_for_workers(address, len(started))
            up = time.perf_counter() - start
            submissions = submit_solution(course, [f"dask-{i:02d}" for i in range(COPIES)])
            per_minute = 60 * COPIES / _grade(course, submissions, jobs=1, scheduler=address)
        finally:
            for worker in started:
                loopback.stop(worker)
    return [
        ("Dask: scheduler and 2 one-thread workers up", f"{up:.1f} s"),
        (f"throughput, {COPIES} submissions, Dask 2 workers x 1 thread", f"{per_minute:.1f} /min"),
        ("throughput of Dask / --jobs 2 (target >= 0.85)", f"{per_minute / local_per_minute:.2f}x"),
    ]


#: The configuration of stock nbgrader: only where the course's folders are.
BARE_CONFIG = """c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lectures"
"""


def stock_nbgrader_seconds(course: Course, tmp: Path) -> float:
    """Seconds for stock nbgrader to autograde one student's whole course, one notebook after
    another (releasing it first is not timed)."""
    root = tmp / "stock"
    root.mkdir()
    shutil.copytree(course.directory("source"), root / "solutions")
    (root / "nbgrader_config.py").write_text(BARE_CONFIG.format(root=str(root)))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("CHAINRULE_DB_URL", None)
    assignments = course.assignments()

    def nbgrader(*args: str) -> None:
        subprocess.run(["nbgrader", *args], cwd=root, env=env, capture_output=True, check=True)

    for assignment in assignments:
        nbgrader("generate_assignment", assignment, "--force")
    for assignment in assignments:
        folder = root / "submitted" / "student" / assignment
        shutil.copytree(root / "solutions" / assignment, folder)
    return _seconds(lambda: [nbgrader("autograde", a, "--force") for a in assignments])


def whole_course(course: Course, student: str) -> list[Submission]:
    """Submit the solution of every assignment as ``student``."""
    return [s for a in course.assignments() for s in submit_solution(course, [student], a)]


def graded_class(course: Course, assignment: str, size: int, seed: int = 0) -> None:
    """Submit ``size`` variants of the solution of ``assignment`` (each answer with an extra
    statement of its own shape; a tenth of the answers left blank) and write for each the
    grading record it could have had: a blank exercise fails its test, a tenth of the others
    fail with a named mistake."""
    rng = random.Random(seed)
    (source,) = course.notebook_paths("source", assignment)
    (released,) = course.notebook_paths("release", assignment)
    solution = nbformat.read(source, as_version=4)
    blank = {
        c.metadata.nbgrader["grade_id"]: c.source
        for c in nbformat.read(released, as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    tests = {
        c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"])
        for c in solution.cells
        if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.nbgrader.get("solution")
    }
    for n in range(size):
        student = f"student-{n:03d}"
        notebook = nbformat.from_dict(solution)
        lost = set()
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id not in blank:
                continue
            if rng.random() < 0.1:
                cell.source, _ = blank[grade_id], lost.add(f"test_{grade_id}")
                continue
            extra = " + ".join(
                rng.choice(["x", "1", "(x)", "x[0]"]) for _ in range(rng.randint(1, 9))
            )
            cell.source = re.sub(
                r"^( *)### BEGIN SOLUTION$",
                lambda m, extra=extra: f"{m[0]}\n{m[1]}unused = {extra}",
                cell.source,
                flags=re.MULTILINE,
            )
        folder = course.directory("submitted") / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / source.name)
        records = []
        for test, points in tests.items():
            record = GradedTest(source.stem, test, points, points, "")
            if test in lost:
                record = replace(record, score=0.0, message="NotImplementedError (no message)")
            elif rng.random() < 0.1:
                message = f"{test} failed: {rng.random()}\nlikely mistake: mistake {n % 3}"
                record = replace(record, score=0.0, message=message, mistake=f"mistake-{n % 3}")
            records.append(record)
        graded = course.directory("autograded") / student / assignment
        graded.mkdir(parents=True)
        write_record(graded, submission_digest(folder), records)


def report_seconds(course: Course, assignment: str = REPORT_ASSIGNMENT) -> float:
    """Seconds for ``report`` of ``assignment`` (page and CSV) in ``course``."""
    return _seconds(
        lambda: write_report(course, build_report(course, assignment), course.root / "reports")
    )


def bwrap_start_seconds(runs: int = 10) -> float:
    """Mean seconds to start and end an empty bubblewrap sandbox."""
    command = isolation.wrap(["/bin/true"], writable=[], workdir=Path("/"))
    start = time.perf_counter()
    for _ in range(runs):
        subprocess.run(command, check=True)
    return (time.perf_counter() - start) / runs


def report_row(course: Course, tmp: Path) -> tuple[str, str]:
    """The benchmark's row for ``report``: a class of :data:`REPORT_CLASS` in a course of its
    own (a copy of ``course``'s configuration, sources and release of the assignment)."""
    root = tmp / "report-class"
    for step in ("source", "release"):
        folder = course.directory(step).relative_to(course.root) / REPORT_ASSIGNMENT
        shutil.copytree(course.root / folder, root / folder)
    shutil.copy(course.root / "nbgrader_config.py", root / "nbgrader_config.py")
    target = Course(root)
    graded_class(target, REPORT_ASSIGNMENT, REPORT_CLASS)
    seconds = report_seconds(target)
    return (f"report of {REPORT_CLASS} submissions of {REPORT_ASSIGNMENT}", f"{seconds:.1f} s")


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
        rows += cluster_rows(copy, Path(tmp), per_minute[2])
        stock = stock_nbgrader_seconds(course, Path(tmp))
        rows.append(("one student's course, stock nbgrader (every cell, kernel)", f"{stock:.1f} s"))
        for jobs in (1, 2):
            seconds, spent = _graded(copy, whole_course(copy, f"course-jobs{jobs}"), jobs=jobs)
            rows.append((f"one student's course, trusted, --jobs {jobs}", f"{seconds:.1f} s"))
            rows.append((f"  trusted / stock, --jobs {jobs}", f"{seconds / stock:.2f}"))
            if jobs == 1:  # one notebook at a time: the phases add up to the wall time
                rows += [(f"  phase: {name}", f"{spent[name]:.2f} s") for name in PHASES]
        rows.append(
            ("bubblewrap start-up (empty sandbox)", f"{1000 * bwrap_start_seconds():.0f} ms")
        )
        rows.append(report_row(copy, Path(tmp)))
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
