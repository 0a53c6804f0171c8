"""Scores per test cell, read from the gradebook (used by ``check`` and ``export``)."""

from __future__ import annotations

from dataclasses import dataclass

from nbgrader.api import Gradebook

from grader.cells import recorded_tests


@dataclass(frozen=True)
class CellScore:
    """One student's score on one graded cell of an assignment notebook."""

    assignment: str
    student: str
    notebook: str
    cell: str
    score: float
    max_score: float
    autograded: bool
    """True for an autograder test (a code grade cell that is not an answer cell)."""


def cell_scores(gradebook: Gradebook, assignments: list[str] | None = None) -> list[CellScore]:
    """Scores of every graded cell of every submission of ``assignments`` (default: all).

    ``score`` is nbgrader's: a manual score overrides the autograder's, an unset one counts 0.
    """
    scores = []
    for assignment in gradebook.assignments:
        if assignments is not None and assignment.name not in assignments:
            continue
        for submission in assignment.submissions:
            for notebook in submission.notebooks:
                tests = recorded_tests(notebook.notebook)
                for grade in notebook.grades:
                    cell = grade.cell
                    scores.append(
                        CellScore(
                            assignment=assignment.name,
                            student=submission.student.id,
                            notebook=notebook.name,
                            cell=cell.name,
                            score=float(grade.score),
                            max_score=float(grade.max_score),
                            autograded=cell.name in tests,
                        )
                    )
    return sorted(scores, key=lambda s: (s.assignment, s.student, s.notebook, s.cell))
