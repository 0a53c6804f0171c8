"""Record a submission that could not be graded: score 0 in the gradebook, and the reason.

nbgrader deletes the autograded folder of a submission it fails to grade and leaves its grades
unset ("needs manual grading"). A failed submission here gets every grade set to 0 and an
autograded folder with one notebook per assignment notebook that says why, and the record that
it is graded (:mod:`grader.submissions`). The feedback step renders that notebook like any
other, so the student reads the reason. The submission itself is never touched.
"""

from __future__ import annotations

import warnings

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook
from sqlalchemy.exc import SAWarning

from grader.cells import recorded_tests
from grader.course import Course
from grader.submissions import (
    GradedTest,
    Submission,
    install,
    staging_folder,
    submission_digest,
    write_record,
)


def failure_notebook(reason: str) -> nbformat.NotebookNode:
    """The notebook that stands for an ungradable submission: a single cell with the reason."""
    text = (
        "# Not graded: score 0\n\n"
        f"This submission could not be graded automatically. {reason}\n\n"
        "Check that your notebook runs from top to bottom (Kernel > Restart and Run All) "
        "and submit it again, or ask your instructor."
    )
    return new_notebook(cells=[new_markdown_cell(text)])


def record_failure(course: Course, submission: Submission, reason: str) -> None:
    """Give ``submission`` 0 on every grade and write the reason as its feedback."""
    folder = course.directory("submitted") / submission.student / submission.assignment
    digest = submission_digest(folder)
    tests = []
    with course.gradebook() as gradebook, warnings.catch_warnings():
        # nbgrader's add_submission makes SQLAlchemy 2 warn that an autoflush skipped the new
        # submission's relationships; the submission and its grades are saved all the same.
        warnings.filterwarnings("ignore", category=SAWarning, message="Object of type")
        gradebook.update_or_create_student(submission.student)
        found = gradebook.update_or_create_submission(submission.assignment, submission.student)
        notebook_names = [notebook.name for notebook in found.notebooks]
        for notebook in found.notebooks:
            names = recorded_tests(notebook.notebook)
            for grade in notebook.grades:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
                if grade.cell.name in names:
                    tests.append(
                        GradedTest(
                            notebook.name,
                            grade.cell.name,
                            0.0,
                            float(grade.max_score),
                            reason,
                        )
                    )
        gradebook.db.commit()
    staged = staging_folder(course, submission)
    for name in notebook_names:
        nbformat.write(failure_notebook(reason), staged / f"{name}.ipynb")
    write_record(staged, digest, tests, failure=reason)
    install(staged, course, submission)
