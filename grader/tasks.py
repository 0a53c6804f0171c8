"""The coordinator's side of a grading task: the bytes it sends for each submission.

:class:`TaskMaker` reads once per run what the tasks of a run share: the course's grading
inputs (:mod:`grader.inputs`), the grading secret, the tests of each source notebook and, per
assignment, a gradebook holding only that assignment (:func:`assignment_gradebook`). Each
:meth:`TaskMaker.task` then adds one submission's files, its tests' seeds
(:func:`grader.secret.submission_seeds`: the secret stays here) and the digest its record will
name (:func:`grader.submissions.submission_digest`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from nbgrader.api import (
    Assignment,
    Gradebook,
    GradeCell,
    Notebook,
    SolutionCell,
    SourceCell,
    TaskCell,
)
from sqlalchemy import create_engine, text

from grader.course import Course
from grader.inputs import grading_inputs
from grader.limits import Limits
from grader.packets import GradingTask
from grader.secret import ensure_secret, submission_seeds
from grader.submissions import Submission, submission_digest
from grader.trusted.notebook import read_source


def assignment_gradebook(course: Course, assignment: str, path: Path) -> bytes:
    """Write at ``path`` an SQLite gradebook that holds ``assignment`` as ``course``'s gradebook
    has it (its notebooks, their kernel and cells) and nothing else, and return its bytes.

    A grading process grades into a copy of it: nbgrader's autograde reads the cells from it
    and saves the scores in it, and the coordinator copies those into the course's gradebook.
    It has the schema of the course's gradebook (nbgrader's tables and alembic version), so
    nbgrader opens it as it is instead of running alembic to version a new one.
    """
    url = f"sqlite:///{path}"
    with course.gradebook() as source:
        version = source.db.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        found = source.find_assignment(assignment)
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            connection.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": version})
        engine.dispose()
        with Gradebook(url, source.course_id) as target:
            copy = Assignment(name=found.name, course_id=target.course_id)
            for notebook in found.notebooks:
                into = Notebook(name=notebook.name, kernelspec=notebook.kernelspec, assignment=copy)
                for graded, cells in (
                    (GradeCell, notebook.grade_cells),
                    (TaskCell, notebook.task_cells),
                ):
                    for cell in cells:
                        graded(
                            name=cell.name,
                            max_score=cell.max_score,
                            cell_type=cell.cell_type,
                            notebook=into,
                        )
                for cell in notebook.solution_cells:
                    SolutionCell(name=cell.name, notebook=into)
                for cell in notebook.source_cells:
                    SourceCell(
                        name=cell.name,
                        cell_type=cell.cell_type,
                        locked=cell.locked,
                        source=cell.source,
                        checksum=cell.checksum,
                        notebook=into,
                    )
            target.db.add(copy)
            target.db.commit()
    return path.read_bytes()


class TaskMaker:
    """Makes the grading task of each submission of ``assignments`` within ``limits``."""

    def __init__(self, course: Course, limits: Limits, assignments: Iterable[str]) -> None:
        self.course = course
        self.limits = limits
        self.inputs = grading_inputs(course)
        self.secret = ensure_secret(course.root)
        names = sorted(set(assignments))
        self.tests = {
            name: {
                path.stem: [test.grade_id for test in read_source(path).tests]
                for path in course.notebook_paths("source", name)
            }
            for name in names
        }
        with tempfile.TemporaryDirectory(prefix="chainrule-gradebooks-") as folder:
            self.gradebooks = {
                name: assignment_gradebook(course, name, Path(folder) / f"{name}.db")
                for name in names
            }

    def task(self, submission: Submission) -> tuple[str, bytes]:
        """The digest of ``submission``'s files (what its record will name) and its task."""
        folder = self.course.directory("submitted") / submission.student / submission.assignment
        digest = submission_digest(folder)
        task = GradingTask(
            submission=submission,
            files={
                relative.as_posix(): path.read_bytes()
                for relative, path in self.course.files(folder).items()
            },
            gradebook=self.gradebooks[submission.assignment],
            seeds=submission_seeds(
                self.secret,
                submission.student,
                submission.assignment,
                self.tests[submission.assignment],
            ),
            limits=self.limits,
            inputs=self.inputs,
        )
        return digest, task.to_bytes()
