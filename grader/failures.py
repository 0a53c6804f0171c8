"""Record a submission that could not be graded: score 0 in the gradebook, and the reason.

nbgrader deletes the autograded folder of a submission it fails to grade and leaves its grades
unset ("needs manual grading"). A failed submission here gets every grade set to 0 and, in
``autograded/<student>/<assignment>/``, one notebook per assignment notebook that says why. The
feedback step renders that notebook like any other, so the student reads the reason. The
submission itself is never touched.
"""

from __future__ import annotations

import warnings

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook
from sqlalchemy.exc import SAWarning

from grader.course import Course


def failure_notebook(reason: str) -> nbformat.NotebookNode:
    """The notebook that stands for an ungradable submission: a single cell with the reason."""
    text = (
        "# Not graded: score 0\n\n"
        f"This submission could not be graded automatically. {reason}\n\n"
        "Check that your notebook runs from top to bottom (Kernel > Restart and Run All) "
        "and submit it again, or ask your instructor."
    )
    return new_notebook(cells=[new_markdown_cell(text)])


def record_failure(course: Course, assignment: str, student: str, reason: str) -> None:
    """Give ``student`` 0 on every grade of ``assignment`` and write the reason as feedback."""
    with course.gradebook() as gradebook, warnings.catch_warnings():
        # nbgrader's add_submission makes SQLAlchemy 2 warn that an autoflush skipped the new
        # submission's relationships; the submission and its grades are saved all the same.
        warnings.filterwarnings("ignore", category=SAWarning, message="Object of type")
        gradebook.update_or_create_student(student)
        submission = gradebook.update_or_create_submission(assignment, student)
        notebook_names = [notebook.name for notebook in submission.notebooks]
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
        gradebook.db.commit()

    folder = course.directory("autograded") / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name in notebook_names:
        path = folder / f"{name}.ipynb"
        path.unlink(missing_ok=True)  # nbgrader leaves its outputs read-only
        nbformat.write(failure_notebook(reason), path)
