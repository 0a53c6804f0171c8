"""The submissions in ``submitted/``, and which of them are graded.

A submission counts as graded when ``autograded/<student>/<assignment>/`` holds
:data:`RECORD_NAME` and the record names the digest of the submitted files it was graded from.
The autograded folder is built next to its final place, record included, and moved there in one
rename, after the gradebook holds the submission's final scores. So a run stopped at any moment
(Ctrl-C, a killed process) leaves each submission either graded with its record or without one:
``autograde --resume`` grades exactly those without a current record (a submission changed since
it was graded has none), and ``feedback`` and ``export`` refuse to run while one is left, since
its gradebook rows may be nbgrader's alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from nbgrader.api import Gradebook, SubmittedAssignment
from sqlalchemy.exc import SAWarning

from grader.course import Course, GraderError, select

#: The record's file name; nbgrader_config.py keeps it out of nbgrader's file copies.
RECORD_NAME = ".chainrule-graded.json"


@dataclass(frozen=True, order=True)
class Submission:
    """One student's submission of one assignment, in ``submitted/<student>/<assignment>/``."""

    student: str
    assignment: str

    def __str__(self) -> str:
        return f"{self.student}/{self.assignment}"


@dataclass(frozen=True)
class GradedTest:
    """The score of one autograded test cell and where it came from."""

    notebook: str
    grade_id: str
    score: float
    max_score: float
    message: str
    """Why the test scored less than its points ('' if it did not)."""
    mistake: str = ""
    """The identifier of the known mistake the message names ('' if none): the tag that
    :mod:`chainrule.checks` ends the message with, stripped from ``message``."""


def find_submissions(
    course: Course, assignments: list[str] | None = None, students: list[str] | None = None
) -> list[Submission]:
    """Submissions in ``submitted/``, restricted to ``assignments`` and ``students`` if given."""
    found = sorted(
        Submission(folder.parent.name, folder.name)
        for folder in course.directory("submitted").glob("*/*")
        if folder.is_dir()
    )
    wanted_assignments = set(select(assignments, sorted({s.assignment for s in found})))
    wanted_students = set(select(students, sorted({s.student for s in found}), what="student"))
    return [s for s in found if s.assignment in wanted_assignments and s.student in wanted_students]


def submission_row(
    course: Course, gradebook: Gradebook, submission: Submission
) -> SubmittedAssignment:
    """``submission``'s row of ``gradebook``, made (with its student and a row per cell) or found
    as nbgrader's autograde does, with the time of its ``timestamp.txt`` when it has one."""
    gradebook.update_or_create_student(submission.student)
    folder = course.directory("submitted") / submission.student / submission.assignment
    timestamp = course.coursedir().get_existing_timestamp(str(folder))
    with warnings.catch_warnings():
        # nbgrader's add_submission makes SQLAlchemy 2 warn that an autoflush skipped the new
        # submission's relationships; the submission and its grades are saved all the same.
        warnings.filterwarnings("ignore", category=SAWarning, message="Object of type")
        return gradebook.update_or_create_submission(
            submission.assignment,
            submission.student,
            **({"timestamp": timestamp} if timestamp else {}),
        )


def submission_digest(folder: Path) -> str:
    """SHA-256 of the relative paths and contents of every file under ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def write_record(
    folder: Path,
    digest: str,
    tests: Iterable[GradedTest],
    failure: str | None = None,
    isolated: bool = True,
) -> None:
    """Write the record of a graded submission into ``folder`` (not yet in its final place);
    ``isolated`` says whether the student's code ran in bubblewrap."""
    record = {
        "digest": digest,
        "failure": failure,
        "isolated": isolated,
        "tests": [asdict(t) for t in tests],
    }
    (folder / RECORD_NAME).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def _record(course: Course, submission: Submission) -> dict | None:
    path = course.directory("autograded") / submission.student / submission.assignment
    try:
        record = json.loads((path / RECORD_NAME).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def graded_tests(course: Course, submission: Submission) -> list[GradedTest]:
    """The test results recorded for ``submission`` (empty when it has no record)."""
    record = _record(course, submission) or {}
    return [GradedTest(**test) for test in record.get("tests", [])]


def is_graded(course: Course, submission: Submission) -> bool:
    """Whether the current files of ``submission`` have been graded."""
    record = _record(course, submission)
    folder = course.directory("submitted") / submission.student / submission.assignment
    return record is not None and record.get("digest") == submission_digest(folder)


def not_graded(course: Course, submissions: Iterable[Submission]) -> list[Submission]:
    """The ``submissions`` that have not been graded (or changed since)."""
    return [s for s in submissions if not is_graded(course, s)]


def require_graded(
    course: Course, assignments: list[str] | None = None, students: list[str] | None = None
) -> None:
    """Raise GraderError naming the submissions of ``assignments`` by ``students`` (default all)
    not graded."""
    submitted = find_submissions(course, students=students)
    wanted = [s for s in submitted if assignments is None or s.assignment in assignments]
    missing = [str(s) for s in not_graded(course, wanted)]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if missing[10:] else "")
        raise GraderError(
            f"{len(missing)} submission(s) not graded yet, or changed since grading: {shown}. "
            "Run `python -m grader autograde --resume` first."
        )


def staging_folder(course: Course, submission: Submission) -> Path:
    """An empty folder next to the submission's autograded folder (on the same file system),
    to fill and then :func:`install`. Its name starts with a dot, so no command lists it."""
    parent = course.directory("autograded") / submission.student
    parent.mkdir(parents=True, exist_ok=True)
    staged = parent / f".{submission.assignment}.staged-{os.getpid()}"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir()
    return staged


def install(staged: Path, course: Course, submission: Submission) -> None:
    """Move ``staged`` to ``autograded/<student>/<assignment>``, replacing what was there.
    Between the two renames the folder is missing, never partial."""
    target = course.directory("autograded") / submission.student / submission.assignment
    old = target.with_name(f".{submission.assignment}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)
