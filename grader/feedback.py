"""``feedback``: one HTML page per student and assignment, from the autograded notebooks.

nbgrader's ``generate_feedback`` does the work; ``nbgrader_config.py`` adds the step that
removes the hidden tests and every output from the first test on except the grader's verdicts
(:class:`grader.preprocessors.SafeFeedback`). A submission that could not be graded has a
one-cell autograded notebook saying why (:mod:`grader.failures`), rendered the same way. No
feedback is made while a submission it would show is not graded (or changed since).

With ``students``, only their pages are written (after a regrade of a few, say): nbgrader's
``generate_feedback`` runs once per student and assignment instead of once per assignment.
"""

from __future__ import annotations

from pathlib import Path

from grader.course import Course, GraderError, check_result, select
from grader.submissions import find_submissions, require_graded


def autograded_assignments(course: Course) -> list[str]:
    """Assignments with at least one autograded submission."""
    folders = course.directory("autograded").glob("*/*")
    return sorted({p.name for p in folders if p.is_dir() and not p.name.startswith(".")})


def feedback(
    course: Course, assignments: list[str] | None = None, students: list[str] | None = None
) -> list[Path]:
    """Generate the feedback of ``assignments`` (default: all autograded), for ``students``
    (default: everyone); return the pages written."""
    names = select(assignments, autograded_assignments(course))
    if not names:
        raise GraderError("no autograded submission: run `python -m grader autograde` first")
    require_graded(course, names, students)
    submissions = find_submissions(course, names, students)
    if not submissions:
        raise GraderError(f"{', '.join(students or [])}: no submission of {', '.join(names)}")
    api = course.api()
    pages: list[Path] = []
    for name in names:
        if students:
            for student in (s.student for s in submissions if s.assignment == name):
                result = api.generate_feedback(name, student_id=student)
                check_result(result, f"nbgrader generate_feedback {name} --student {student}")
                pages += sorted(course.directory("feedback").glob(f"{student}/{name}/*.html"))
        else:
            check_result(api.generate_feedback(name), f"nbgrader generate_feedback {name}")
            pages += sorted(course.directory("feedback").glob(f"*/{name}/*.html"))
    return pages
