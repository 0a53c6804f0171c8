"""Save a grading result in the course: the coordinator is its only writer.

Grading processes, here or on Dask workers, grade into temporary courses and send back a
:class:`grader.packets.GradingResult`; :func:`save_result` is the one place it enters the
course, one submission at a time:

* graded: first the gradebook, through nbgrader's API (the submission's row made or found as
  nbgrader's autograde makes it; then each cell's automatic score and whether it needs manual
  grading, by nbgrader's ``SaveAutoGrades`` rule, a manual score kept; each automatic comment;
  one commit), then the late penalty by nbgrader's own ``AssignLatePenalties``, then the
  autograded folder with its record, moved in last (:func:`grader.submissions.install`);
* failed: every grade 0 and the reason (:func:`grader.failures.record_failure`);
* not graded: nothing.

A graded result that does not fit the gradebook (a cell the assignment does not have, a score
outside 0..points, a test whose recorded score is not its grade) is refused before anything is
written (:class:`ResultError`): the submission stays not graded.
"""

from __future__ import annotations

from nbformat.v4 import new_notebook
from nbgrader.api import Gradebook
from nbgrader.preprocessors import AssignLatePenalties

from grader.course import Course
from grader.failures import record_failure
from grader.packets import GradingResult, write_files
from grader.submissions import (
    Submission,
    install,
    staging_folder,
    submission_row,
    write_record,
)


class ResultError(ValueError):
    """A grading result that does not fit the course's gradebook."""


def check_result(gradebook: Gradebook, submission: Submission, result: GradingResult) -> None:
    """Raise ResultError unless every row of ``result`` is one of the assignment's cells, every
    score within its points, and every test's recorded score its grade's."""
    notebooks = gradebook.find_assignment(submission.assignment).notebooks
    points = {
        (nb.name, cell.name): float(cell.max_score)
        for nb in notebooks
        for cell in [*nb.grade_cells, *nb.task_cells]
    }
    commented = {
        (nb.name, cell.name) for nb in notebooks for cell in [*nb.solution_cells, *nb.task_cells]
    }
    for grade in result.grades:
        most = points.get((grade.notebook, grade.cell))
        if most is None:
            raise ResultError(
                f"the result grades {grade.notebook}/{grade.cell}, which is not a graded cell "
                f"of {submission.assignment}"
            )
        if grade.auto_score is not None and not 0 <= grade.auto_score <= most:
            raise ResultError(
                f"the result scores {grade.notebook}/{grade.cell} {grade.auto_score} of {most}"
            )
    unknown = [
        f"{c.notebook}/{c.cell}" for c in result.comments if (c.notebook, c.cell) not in commented
    ]
    if unknown:
        raise ResultError(
            f"the result comments on {', '.join(unknown)}, which are not answer or task cells "
            f"of {submission.assignment}"
        )
    scores = {(g.notebook, g.cell): float(g.auto_score or 0.0) for g in result.grades}
    for test in result.tests:
        key = (test.notebook, test.grade_id)
        if (scores.get(key), points.get(key)) != (test.score, test.max_score):
            raise ResultError(
                f"the recorded score of {test.notebook}/{test.grade_id} is not its grade"
            )


def save_result(course: Course, submission: Submission, digest: str, result: GradingResult) -> None:
    """Save ``result``, the grading of ``submission``'s files of ``digest``, in ``course``."""
    if result.error is not None:
        return
    if result.failure is not None:
        record_failure(course, submission, result.failure, digest)
        return
    with course.gradebook() as gradebook:
        check_result(gradebook, submission, result)
        found = submission_row(course, gradebook, submission)
        grades = {(nb.name, g.cell.name): g for nb in found.notebooks for g in nb.grades}
        comments = {(nb.name, c.cell.name): c for nb in found.notebooks for c in nb.comments}
        for row in result.grades:
            grade = grades[row.notebook, row.cell]
            grade.auto_score = row.auto_score
            grade.needs_manual_grade = row.needs_manual_grade or grade.manual_score is not None
        for row in result.comments:
            comments[row.notebook, row.cell].auto_comment = row.auto_comment
        gradebook.db.commit()
        notebooks = [nb.name for nb in found.notebooks]
    late = AssignLatePenalties(config=course.config())
    for notebook in notebooks:
        ids = {"assignment": submission.assignment, "student": submission.student}
        resources = {"nbgrader": {**ids, "notebook": notebook, "db_url": course.resolved_db_url}}
        late.preprocess(new_notebook(), resources)
    staged = staging_folder(course, submission)
    write_files(result.files, staged)
    write_record(staged, digest, result.tests, isolated=result.isolated)
    install(staged, course, submission)
