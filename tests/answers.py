"""Answering a release notebook the way a student who has done the work would."""

from __future__ import annotations

from pathlib import Path

import nbformat


def exercises(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The nbgrader solution cells (the exercises) of ``notebook``, in order."""
    return [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]


def answer_exercises(release: Path, solution: Path, *, keep_first: bool = False) -> None:
    """Give each exercise of the ``release`` notebook the source of the cell with the same
    nbgrader ``grade_id`` in ``solution``; with ``keep_first`` the first one stays a stub."""
    notebook = nbformat.read(release, as_version=4)
    answers = {
        c.metadata.nbgrader["grade_id"]: c.source
        for c in exercises(nbformat.read(solution, as_version=4))
    }
    cells = exercises(notebook)
    for cell in cells[1:] if keep_first else cells:
        cell.source = answers[cell.metadata.nbgrader["grade_id"]]
    nbformat.write(notebook, release)
