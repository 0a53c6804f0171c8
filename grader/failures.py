"""Record a submission that could not be graded: score 0 in the gradebook, and the reason.

nbgrader deletes the autograded folder of a submission it fails to grade and leaves its grades
unset ("needs manual grading"). A failed submission here gets every grade set to 0 and an
autograded folder with one notebook per assignment notebook that says why, and the record that
it is graded (:mod:`grader.submissions`). The feedback step renders that notebook like any
other, so the student reads the reason. The submission itself is never touched.
"""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook

from grader.cells import recorded_tests
from grader.course import Course
from grader.submissions import (
    GradedTest,
    Submission,
    install,
    staging_folder,
    submission_row,
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
    # A fixed cell id (nbformat draws one at random): grading again writes the same notebook.
    return new_notebook(cells=[new_markdown_cell(text, id="not-graded")])


def record_failure(course: Course, submission: Submission, reason: str, digest: str) -> None:
    """Give ``submission`` 0 on every grade and write the reason as its feedback, with the
    record that its files of ``digest`` are graded."""
    tests = []
    with course.gradebook() as gradebook:
        found = submission_row(course, gradebook, submission)
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
