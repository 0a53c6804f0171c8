"""The temporary course one submission is graded in.

:func:`make_workspace` builds, in an empty temporary directory, a course for one grading task
(:class:`grader.packets.GradingTask`): ``nbgrader_config.py``, the assignment's source folder
(the tests :class:`grader.execute.TrustedExecute` runs, and the files nbgrader copies next to
the notebook) and released notebooks (:class:`grader.preprocessors.RestoreDeletedCells` puts
back the cells a student deleted from them), all from this machine's copy of the course, then
the task's submitted files and its gradebook, which holds only the assignment. nbgrader grades
there and saves the scores in that gradebook: the course's own gradebook is written only by the
coordinator (:mod:`grader.results`), and a grading process stopped half-way leaves nothing
anywhere. Only the grading process sees this directory: the student's code runs in the sandbox,
which sees none of it (grader/SECURITY.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.course import CONFIG_FILE, Course
from grader.packets import GradingTask, write_files

#: The workspace's gradebook, in its root.
GRADEBOOK = "gradebook.db"


def make_workspace(course: Course, task: GradingTask, root: Path) -> Course:
    """Fill the empty directory ``root`` with a course to grade ``task`` in; return it."""
    if any(root.iterdir()):
        raise ValueError(f"root must be an empty directory, {root} is not")
    submission = task.submission
    shutil.copy(course.root / CONFIG_FILE, root / CONFIG_FILE)
    source, release = (
        root / course.directory(step).relative_to(course.root) / submission.assignment
        for step in ("source", "release")
    )
    for relative, path in course.files(course.directory("source") / submission.assignment).items():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, source / relative)
    release.mkdir(parents=True)
    for notebook in course.notebook_paths("release", submission.assignment):
        shutil.copy(notebook, release / notebook.name)
    submitted = course.directory("submitted").relative_to(course.root)
    write_files(task.files, root / submitted / submission.student / submission.assignment)
    (root / GRADEBOOK).write_bytes(task.gradebook)
    return Course(root, db_url=f"sqlite:///{root / GRADEBOOK}")
