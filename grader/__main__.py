"""``python -m grader`` (or ``chainrule-grader``): the grading loop, one command per step.

    release    generate lectures/ from solutions/ (nbgrader generate_assignment)
    check      test the tests: solution full marks, blank release 0, lectures/ up to date
    collect    file an LMS download (folder or zip) into submitted/ (nbgrader zip_collect)
    autograde  grade submitted/ in parallel, with time and memory limits; --resume after a stop;
               --scheduler ADDRESS: on a Dask cluster
    worker     a Dask worker that grades for this course (autograde --scheduler)
    feedback   HTML feedback per student, hidden tests removed (nbgrader generate_feedback)
    export     grades CSV (nbgrader export) and a histogram of scores per exercise
    report     per assignment, for instructors: mistakes per exercise, scores, similar answers
    html       a static HTML reading copy of the lectures, outputs included (make html)
    lab-copy   the student's working copy of lectures/ that make lab serves (never overwrites)
    publish    the student edition: lectures/, chainrule, set-up; no answer or hidden test

Run it from the course root (the directory of nbgrader_config.py) or pass --course.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from grader.autograde import autograde
from grader.check import check
from grader.collect import DEFAULT_REGEXP, collect, count_notebooks
from grader.course import Course, GraderError
from grader.export import export
from grader.feedback import feedback
from grader.html import build_html
from grader.labcopy import working_copy
from grader.limits import DEFAULT_MEMORY, DEFAULT_TIMEOUT, Limits
from grader.publish import publish
from grader.release import release
from grader.report import build_report
from grader.report_html import write_report
from grader.submissions import find_submissions, not_graded
from grader.trusted import isolation

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def _size(text: str) -> int:
    """A size in bytes from ``4G``, ``512M``, ``1.5GiB`` or a plain number of bytes."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a size such as 4G or 512M, got {text!r}")
    return int(float(match[1]) * _UNITS[match[2].upper()])


#: The environment variable that names the Dask scheduler (Dask's own name for it).
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


def _limits(args: argparse.Namespace, grading_here: bool = True) -> Limits:
    """The limits of the command line; refuses, naming the package, when bubblewrap is needed
    but cannot run here and grading is here (a cluster's workers check their own)."""
    if args.no_isolation:
        print(
            "warning: --no-isolation: the student's code runs without bubblewrap and can read "
            "the course (solutions, gradebook) as the grading user",
            file=sys.stderr,
        )
    elif grading_here:
        reason = isolation.unavailable_reason()
        if reason is not None:
            raise GraderError(reason)
    try:
        return Limits(
            args.timeout, args.cell_timeout, args.memory_limit, isolation=not args.no_isolation
        )
    except ValueError as error:
        raise GraderError(str(error)) from None


def _relative(course: Course, path: Path) -> str:
    """``path`` relative to the course root when inside it, for shorter messages."""
    return str(path.relative_to(course.root)) if path.is_relative_to(course.root) else str(path)


def run_release(course: Course, args: argparse.Namespace) -> int:
    """``release [ASSIGNMENT...]``."""
    for notebook in release(course, args.assignments):
        print(f"released {_relative(course, notebook)}")
    return 0


def run_check(course: Course, args: argparse.Namespace) -> int:
    """``check [ASSIGNMENT...]``: exit status 1 when any assignment has a problem."""
    results = check(course, args.assignments, jobs=args.jobs, limits=_limits(args))
    for result in results:
        print(result)
    failed = [r.assignment for r in results if not r.ok]
    print(f"check: {len(results) - len(failed)} of {len(results)} assignment(s) ok")
    return 1 if failed else 0


def run_collect(course: Course, args: argparse.Namespace) -> int:
    """``collect PATH``."""
    collected = collect(course, args.path, args.assignment, regexp=args.regexp, force=args.force)
    total = 0
    for assignment, students in collected.items():
        total += len(students)
        print(f"{assignment}: {len(students)} submission(s) {', '.join(students)}".rstrip())
    available = count_notebooks(args.path)
    if total < available:
        print(
            f"warning: {available - total} of the {available} notebooks in {args.path} were not "
            "collected (name matched no assignment or student pattern, see --regexp)",
            file=sys.stderr,
        )
    return 0


def run_autograde(course: Course, args: argparse.Namespace) -> int:
    """``autograde [ASSIGNMENT...] [--student ID...] [--resume] [--scheduler ADDRESS]``: prints
    a summary and what went wrong; exit status 1 when a submission was not graded, 130 when
    interrupted."""
    limits = _limits(args, grading_here=args.scheduler is None)
    submissions = find_submissions(course, args.assignments, args.student)
    if not submissions:
        raise GraderError(f"no submission to grade in {course.directory('submitted')}")
    if args.resume:
        skipped = len(submissions)
        submissions = not_graded(course, submissions)
        print(f"resume: {skipped - len(submissions)} submission(s) already graded, skipped")
        if not submissions:
            return 0
    start = time.perf_counter()
    try:
        outcomes = autograde(
            course,
            submissions,
            jobs=args.jobs,
            limits=limits,
            progress=not args.quiet,
            scheduler=args.scheduler,
        )
    except KeyboardInterrupt:
        left = len(not_graded(course, submissions))
        print(
            f"interrupted: {len(submissions) - left} graded, {left} left; "
            "run `python -m grader autograde --resume` to grade the rest",
            file=sys.stderr,
        )
        return 130
    failed = [o for o in outcomes if o.failure is not None]
    errors = [o for o in outcomes if o.error is not None]
    for outcome in failed:
        print(f"failed (score 0): {outcome.submission}: {outcome.failure}")
    for outcome in errors:
        print(f"NOT GRADED (grading machine error): {outcome.submission}: {outcome.error}")
    slowest = max(outcomes, key=lambda o: o.seconds)
    where = f"{args.jobs} job(s)" if args.scheduler is None else f"Dask at {args.scheduler}"
    print(
        f"autograde: {len(outcomes) - len(failed) - len(errors)} graded, {len(failed)} failed "
        f"(score 0), {len(errors)} not graded, {time.perf_counter() - start:.1f} s with "
        f"{where}; slowest {slowest.submission} {slowest.seconds:.1f} s"
        + ("; ISOLATION OFF (--no-isolation)" if args.no_isolation else "")
    )
    if errors:
        print("run `python -m grader autograde --resume` to grade what was not graded")
    return 1 if errors else 0


def run_worker(course: Course, args: argparse.Namespace) -> int:
    """``worker [ADDRESS] [--nthreads N] [--name NAME]``: until the scheduler closes."""
    if not args.address:
        raise GraderError(f"name the Dask scheduler: worker ADDRESS, or set {SCHEDULER_ENV}")
    from grader.cluster import run_worker as serve  # Dask's import only where it is used

    try:
        serve(course, args.address, args.nthreads, args.name)
    except KeyboardInterrupt:
        return 130
    return 0


def run_feedback(course: Course, args: argparse.Namespace) -> int:
    """``feedback [ASSIGNMENT...] [--student ID...]``."""
    pages = feedback(course, args.assignments, args.student)
    print(f"feedback: {len(pages)} page(s) in {_relative(course, course.directory('feedback'))}/")
    return 0


def run_export(course: Course, args: argparse.Namespace) -> int:
    """``export [--to CSV] [--plot PNG]``."""
    csv_path = (args.to or course.root / "grades.csv").resolve()
    plot_path = (args.plot or course.root / "grades.png").resolve()
    export(course, csv_path, plot_path)
    print(f"export: wrote {_relative(course, csv_path)} and {_relative(course, plot_path)}")
    return 0


def run_report(course: Course, args: argparse.Namespace) -> int:
    """``report [ASSIGNMENT...] [--to DIR]``: one HTML page and one CSV per assignment."""
    destination = (args.to or course.root / "reports").resolve()
    if destination.is_relative_to(course.directory("feedback").resolve()):
        raise GraderError("the report is for instructors: write it outside feedback/")
    submitted = sorted({s.assignment for s in find_submissions(course, args.assignments)})
    if not submitted:
        raise GraderError(f"no submission to report on in {course.directory('submitted')}")
    for assignment in submitted:
        start = time.perf_counter()
        page, table = write_report(course, build_report(course, assignment), destination)
        print(
            f"report: wrote {_relative(course, page)} and {_relative(course, table)} "
            f"in {time.perf_counter() - start:.1f} s"
        )
    return 0


def run_html(course: Course, args: argparse.Namespace) -> int:
    """``html [ASSIGNMENT...] [--to DIR]``."""
    destination = (args.to or course.root / "build" / "html").resolve()
    pages = build_html(course, destination, args.assignments)
    where = _relative(course, destination)
    print(f"html: {len(pages) - 1} lecture page(s) and index.html in {where}/")
    return 0


def run_lab_copy(course: Course, args: argparse.Namespace) -> int:
    """``lab-copy --to DIR``: the release files DIR does not have yet, copied there."""
    destination = args.to.resolve()
    for path in working_copy(course, destination):
        print(f"lab-copy: new {_relative(course, destination / path)}")
    return 0


def run_publish(course: Course, args: argparse.Namespace) -> int:
    """``publish DIR``: the student edition written into DIR."""
    files = publish(course, args.destination.resolve())
    print(f"publish: the student edition, {len(files)} files, in {args.destination}/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m grader",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--course",
        type=Path,
        default=Path.cwd(),
        help="course root, the directory of nbgrader_config.py (default: current directory)",
    )
    parser.add_argument(
        "--db-url", help="gradebook SQLAlchemy URL (default: the one of nbgrader_config.py)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[Course, argparse.Namespace], int], help: str):
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        return sub

    def add_assignments(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")

    def add_parallel(sub: argparse.ArgumentParser, jobs: int) -> None:
        sub.add_argument(
            "--jobs", type=_positive_int, default=jobs, help=f"grading processes (default {jobs})"
        )
        sub.add_argument(
            "--timeout",
            type=_positive_float,
            default=DEFAULT_TIMEOUT,
            help=f"seconds allowed per submission (default {DEFAULT_TIMEOUT:g})",
        )
        sub.add_argument(
            "--cell-timeout",
            type=_positive_int,
            help="seconds allowed per notebook cell and per test "
            "(default: Execute.timeout of nbgrader_config.py)",
        )
        sub.add_argument(
            "--memory-limit",
            type=_size,
            default=DEFAULT_MEMORY,
            help="address space of each grading process and its sandbox, e.g. 4G "
            f"(default {DEFAULT_MEMORY // 1024**3}G)",
        )
        sub.add_argument(
            "--no-isolation",
            action="store_true",
            help="run the student's code without bubblewrap (where it cannot run): the code can "
            "then read the course; printed in the summary and recorded with each submission",
        )

    add_assignments(command("release", run_release, "generate lectures/ from solutions/"))

    sub = command("check", run_check, "test the tests of every assignment (exit 1 on failure)")
    add_assignments(sub)
    add_parallel(sub, jobs=2)

    sub = command("collect", run_collect, "file downloaded notebooks into submitted/")
    sub.add_argument("path", type=Path, metavar="PATH", help="folder or zip file of notebooks")
    sub.add_argument(
        "--assignment", action="extend", nargs="+", help="collect only these assignments"
    )
    sub.add_argument(
        "--regexp",
        default=DEFAULT_REGEXP,
        help="nbgrader named_regexp with groups student_id and file_id, matched against each "
        "extracted path; {extracted} and {assignment} are filled in (default: %(default)s)",
    )
    sub.add_argument("--force", action="store_true", help="replace earlier submissions")

    sub = command("autograde", run_autograde, "grade the submissions in submitted/")
    add_assignments(sub)
    sub.add_argument(
        "--student", action="extend", nargs="+", metavar="ID", help="only these students"
    )
    add_parallel(sub, jobs=1)
    sub.add_argument(
        "--resume",
        action="store_true",
        help="grade only the submissions not graded yet (after an interruption or a grading "
        "machine error) or changed since they were graded",
    )
    sub.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=os.environ.get(SCHEDULER_ENV) or None,
        help="grade on the Dask cluster of this scheduler (e.g. tcp://10.0.0.5:8786; default "
        f"${SCHEDULER_ENV}), whose workers run `python -m grader worker` in a copy of this "
        "course; --jobs is then unused",
    )

    sub = command(
        "worker",
        run_worker,
        "a Dask worker that grades for the course (the current directory, or --course) the "
        "submissions `autograde --scheduler` sends",
    )
    sub.add_argument(
        "address",
        nargs="?",
        metavar="ADDRESS",
        default=os.environ.get(SCHEDULER_ENV) or None,
        help=f"the Dask scheduler's address (default ${SCHEDULER_ENV})",
    )
    sub.add_argument(
        "--nthreads",
        type=_positive_int,
        default=1,
        help="submissions graded at once (default 1; take the number of cores)",
    )
    sub.add_argument("--name", help="the worker's name on the scheduler's dashboard")

    sub = command("feedback", run_feedback, "write HTML feedback into feedback/")
    add_assignments(sub)
    sub.add_argument(
        "--student", action="extend", nargs="+", metavar="ID", help="only these students' pages"
    )

    sub = command("export", run_export, "write the grades CSV and a PNG of scores per exercise")
    sub.add_argument("--to", type=Path, help="CSV file (default: grades.csv in the course)")
    sub.add_argument("--plot", type=Path, help="PNG file (default: grades.png in the course)")

    sub = command(
        "report",
        run_report,
        "per assignment, an HTML page and a CSV for instructors: named mistakes per exercise, "
        "scores per student, unusually similar answers (after autograde)",
    )
    add_assignments(sub)
    sub.add_argument("--to", type=Path, help="folder (default: reports in the course)")

    sub = command("html", run_html, "render the lectures to static HTML for reading")
    add_assignments(sub)
    sub.add_argument("--to", type=Path, help="folder (default: build/html in the course)")

    sub = command(
        "lab-copy",
        run_lab_copy,
        "copy the release files a student's working folder lacks into it (never overwrites)",
    )
    sub.add_argument("--to", type=Path, required=True, help="the working folder, e.g. work")

    sub = command(
        "publish", run_publish, "write the student edition, to push as its own repository"
    )
    sub.add_argument(
        "destination",
        type=Path,
        metavar="DIR",
        help="a new or empty folder, or an earlier edition (all but its .git is replaced)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status (2 for an error, with its message on stderr)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(Course(args.course, db_url=args.db_url), args)
    except GraderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
