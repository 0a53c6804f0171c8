"""The temporary course one submission is graded in, brought back into the course in one step.

:func:`make_workspace` builds, in an empty temporary directory, a course for one submission:
``nbgrader_config.py`` and the grading secret (grader/secret.py), the assignment's source folder
(the tests :class:`grader.execute.TrustedExecute` runs, and the files nbgrader copies next to
the notebook), the released
notebooks (:class:`grader.preprocessors.RestoreDeletedCells` puts back the cells a student
deleted from them) and a copy of the submission. The gradebook is the real one (its URL is
passed on, never a copy). nbgrader grades there, so a grading process stopped half-way leaves
nothing in the course; the autograded folder is brought back afterwards (:func:`bring_back`).
Only the grading process sees this directory: the student's code runs in the sandbox, which
sees none of it (grader/SECURITY.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from nbgrader.utils import find_all_files

from grader.course import CONFIG_FILE, Course
from grader.secret import SECRET_FILE
from grader.submissions import Submission, staging_folder


def make_workspace(course: Course, submission: Submission, root: Path) -> Course:
    """Fill the empty directory ``root`` with a course to grade ``submission`` in; return it.

    ``course`` must carry the gradebook URL to use (``Course.db_url``).
    """
    if course.db_url is None:
        raise ValueError("course must name its gradebook (db_url) to make a workspace of it")
    if any(root.iterdir()):
        raise ValueError(f"root must be an empty directory, {root} is not")
    shutil.copy(course.root / CONFIG_FILE, root / CONFIG_FILE)
    if (course.root / SECRET_FILE).is_file():  # the seeds of the hidden inputs (grader/secret.py)
        shutil.copy(course.root / SECRET_FILE, root / SECRET_FILE)
    coursedir = course.coursedir()
    for step in ("source", "submitted"):
        relative = course.directory(step).relative_to(course.root)
        student = "." if step == "source" else submission.student
        origin = course.root / relative / student / submission.assignment
        target = root / relative / student / submission.assignment
        for path in find_all_files(str(origin), coursedir.ignore):
            destination = target / Path(path).relative_to(origin)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, destination)
    released = root / course.directory("release").relative_to(course.root) / submission.assignment
    for notebook in course.notebook_paths("release", submission.assignment):
        released.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebook, released / notebook.name)
    return Course(root, db_url=course.db_url)


def bring_back(workspace: Course, course: Course, submission: Submission) -> Path:
    """Copy the workspace's autograded folder of ``submission`` next to its place in ``course``
    and return that staging folder (to :func:`grader.submissions.install` when complete)."""
    staged = staging_folder(course, submission)
    autograded = workspace.directory("autograded") / submission.student / submission.assignment
    shutil.copytree(autograded, staged, dirs_exist_ok=True)
    return staged
