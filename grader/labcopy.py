"""The student's working copy of the release: the notebooks ``make lab`` serves.

``lectures/`` is tracked and rebuilt by every ``python -m grader release``, so JupyterLab never
opens it: a student's answers (saved by Ctrl-S or autosave) would change tracked files and be
overwritten by the next release. :func:`working_copy` copies the released files into a folder of
the student's own (``work/``, ignored by git) and never overwrites a file there, so nothing typed
is lost; deleting a notebook (or the whole folder) brings back a fresh copy the next time.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.course import Course


def working_copy(course: Course, destination: Path) -> list[Path]:
    """Copy into ``destination`` each file of the release (``lectures/`` without what nbgrader
    ignores, :meth:`Course.files`) that ``destination`` does not have yet; never overwrite one.

    Returns the files copied, relative to ``destination`` (none when the copy is complete).
    """
    copied = []
    for relative, path in course.files(course.directory("release")).items():
        target = destination / relative
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied.append(relative)
    return copied
