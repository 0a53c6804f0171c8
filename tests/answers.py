"""Answering a release notebook the way a student who has done the work would."""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader.cells import CellKind, cells_of, grade_id_of
from grader.check import delimited_regions


def exercises(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The nbgrader solution cells (the exercises: code and written answers) of ``notebook``,
    in order."""
    return cells_of(notebook.cells, CellKind.ANSWER, CellKind.WRITTEN_ANSWER)


def answer_exercises(release: Path, solution: Path, *, keep_first: bool = False) -> None:
    """Give each exercise of the ``release`` notebook the source of the cell with the same
    nbgrader ``grade_id`` in ``solution``; with ``keep_first`` the first one stays a stub."""
    notebook = nbformat.read(release, as_version=4)
    answers = {grade_id_of(c): c.source for c in exercises(nbformat.read(solution, as_version=4))}
    cells = exercises(notebook)
    for cell in cells[1:] if keep_first else cells:
        cell.source = answers[grade_id_of(cell)]
    nbformat.write(notebook, release)


def first_answer(solution: Path) -> tuple[str, list[str]]:
    """The first line of the first exercise of the ``solution`` notebook (the signature a
    student sees) and the lines of its answer (between the solution delimiters)."""
    lines = exercises(nbformat.read(solution, as_version=4))[0].source.splitlines()
    (answer,) = delimited_regions(lines, "BEGIN SOLUTION", "END SOLUTION")
    return lines[0], answer
