"""``collect``: file downloaded student notebooks into ``submitted/`` with nbgrader's zip_collect.

An LMS exports submissions as a folder or a zip of notebooks named after the student, either
``<student>_<anything>_<assignment>.ipynb`` or ``<student>/<assignment>.ipynb``. nbgrader's
``ZipCollectApp`` extracts them and its ``FileNameCollectorPlugin`` reads the student id from
each path with ``named_regexp``; both run here once per assignment, in a temporary
"downloaded" folder, and copy ``submitted/<student>/<assignment>/<assignment>.ipynb``.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from nbgrader.apps import ZipCollectApp

from grader.course import Course, GraderError, run_app, select

#: Default ``named_regexp``: the student is the first ``_``-separated word of the file name
#: (``jdoe_123_01_derivatives.ipynb``) or, for a file named exactly after the assignment, its
#: folder (``jdoe/01_derivatives.ipynb``). ``{extracted}`` and ``{assignment}`` are filled in.
DEFAULT_REGEXP = (
    r"^{extracted}/(?:.*/)?(?P<student_id>[^/]+?)(?:/|_(?:[^/]*_)?)"
    r"(?P<file_id>{assignment}\.ipynb)$"
)


def named_regexp(template: str, extracted: Path, assignment: str) -> str:
    """``template`` with ``{extracted}`` and ``{assignment}`` replaced by escaped literals."""
    return template.replace("{extracted}", re.escape(str(extracted))).replace(
        "{assignment}", re.escape(assignment)
    )


def _stage(path: Path, archive: Path) -> None:
    """Put the download ``path`` (a folder or a zip file) into zip_collect's archive folder."""
    if path.is_dir():
        shutil.copytree(path, archive)
    else:
        archive.mkdir(parents=True)
        shutil.copy(path, archive / path.name)


def _snapshot(course: Course, assignment: str) -> dict[Path, int]:
    """Submitted notebooks of ``assignment`` and their modification times."""
    submitted = course.directory("submitted")
    return {p: p.stat().st_mtime_ns for p in submitted.glob(f"*/{assignment}/*.ipynb")}


def count_notebooks(path: Path) -> int:
    """Number of notebooks in a folder (recursively) or in a zip file."""
    if path.is_dir():
        return sum(1 for _ in path.rglob("*.ipynb"))
    with zipfile.ZipFile(path) as archive:
        return sum(1 for name in archive.namelist() if name.endswith(".ipynb"))


def collect(
    course: Course,
    path: Path,
    assignments: list[str] | None = None,
    *,
    regexp: str = DEFAULT_REGEXP,
    force: bool = False,
) -> dict[str, list[str]]:
    """Collect the notebooks in ``path`` into ``submitted/``; return the students per assignment.

    ``assignments`` defaults to every released assignment; a file that belongs to none of them
    is skipped. ``force`` replaces a student's earlier submission (otherwise nbgrader refuses).
    """
    path = Path(path)
    if not (path.is_dir() or zipfile.is_zipfile(path)):
        raise GraderError(f"PATH must be a folder or a zip file of notebooks, got {path}")
    names = select(assignments, course.assignments("release"))
    if not names:
        raise GraderError("no released assignment to collect: run `python -m grader release`")
    collected: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="grader-collect-") as downloaded:
        for name in names:
            archive = Path(downloaded) / name / "archive"
            _stage(path, archive)
            config = course.config()
            # An absolute layout: zip_collect joins it to the course root.
            layout = str(Path(downloaded.replace("{", "{{").replace("}", "}}")) / "{assignment_id}")
            config.ZipCollectApp.collect_directory_structure = layout + "/{collect_step}"
            config.ZipCollectApp.force = force
            config.ExtractorPlugin.force = force
            # Skip notebooks not named like a release notebook (a custom regexp may match them).
            config.ZipCollectApp.strict = True
            config.FileNameCollectorPlugin.named_regexp = named_regexp(
                regexp, archive.parent / "extracted", name
            )
            before = _snapshot(course, name)
            run_app(ZipCollectApp, config, f"nbgrader zip_collect {name}", assignment_id=name)
            after = _snapshot(course, name)
            changed = [p for p, mtime in after.items() if before.get(p) != mtime]
            collected[name] = sorted({p.parent.parent.name for p in changed})
    return collected
