"""``feedback``: one HTML page per student and assignment, from the autograded notebooks.

nbgrader's ``generate_feedback`` does the work; ``nbgrader_config.py`` adds the step that
removes the hidden tests and every output from the first test on except the grader's verdicts
(:class:`grader.preprocessors.SafeFeedback`). A submission that could not be graded has a
one-cell autograded notebook saying why (:mod:`grader.failures`), rendered the same way. No
feedback is made while a submission of the assignment is not graded (or changed since).
"""

from __future__ import annotations

from pathlib import Path

from grader.course import Course, GraderError, check_result, select
from grader.submissions import require_graded


def autograded_assignments(course: Course) -> list[str]:
    """Assignments with at least one autograded submission."""
    folders = course.directory("autograded").glob("*/*")
    return sorted({p.name for p in folders if p.is_dir() and not p.name.startswith(".")})


def feedback(course: Course, assignments: list[str] | None = None) -> list[Path]:
    """Generate the feedback of ``assignments`` (default: all autograded); return the pages."""
    names = select(assignments, autograded_assignments(course))
    if not names:
        raise GraderError("no autograded submission: run `python -m grader autograde` first")
    require_graded(course, names)
    api = course.api()
    pages: list[Path] = []
    for name in names:
        check_result(api.generate_feedback(name), f"nbgrader generate_feedback {name}")
        pages += sorted(course.directory("feedback").glob(f"*/{name}/*.html"))
    return pages
