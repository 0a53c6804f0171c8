"""``release``: generate the student notebooks of ``lectures/`` from ``solutions/``."""

from __future__ import annotations

from pathlib import Path

from grader.course import Course, GraderError, check_result, select


def release(course: Course, assignments: list[str] | None = None) -> list[Path]:
    """Run nbgrader's ``generate_assignment`` for ``assignments`` (default: all in solutions/).

    The release folder of each assignment is rebuilt from scratch, so a file removed from the
    solutions disappears from the release too. Returns the released notebooks.
    """
    names = select(assignments, course.assignments())
    if not names:
        raise GraderError(f"no assignment to release: {course.directory('source')} has none")
    api = course.api()
    released: list[Path] = []
    for name in names:
        check_result(
            api.generate_assignment(name, force=True), f"nbgrader generate_assignment {name}"
        )
        released += course.notebook_paths("release", name)
    return released
