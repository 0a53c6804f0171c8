"""What a notebook's cells are to the grader: their kind, grade id and points, and their code.

The one place that reads nbgrader's cell metadata, with nbgrader's own predicates
(:func:`nbgrader.utils.is_solution`, ``is_grade``, ``is_locked``). Every cell is of one
:class:`CellKind`:

========================  ==================================================================
kind                      cell
========================  ==================================================================
``SETUP``                 code tagged ``setup``: imports and helpers every later cell relies
                          on (run from ``solutions/`` in the sandbox and in the grader)
``ANSWER``                code solution cell: the student's answer (``### BEGIN SOLUTION``)
``TEST``                  code grade cell that is not an answer: an autograded test
``WRITTEN_ANSWER``        markdown solution cell: an answer graded by hand
``DEMO``                  code with no nbgrader role, not locked: in the instructor's notebook a
                          demo (plots, sliders; :mod:`grader.demos`), in a submission also a
                          cell the student added
``TEXT``                  the rest, which never runs: markdown and raw text, and locked code
                          that is neither setup nor a test
========================  ==================================================================

Malformed nbgrader metadata (not a dict) counts as none: such a cell is one the student added.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode
from nbgrader import utils

if TYPE_CHECKING:  # the gradebook's records (sqlalchemy), only for a type
    from nbgrader.api import Notebook

#: Tag of the instructor's setup cells (imports and helpers every later cell relies on).
SETUP_TAG = "setup"
#: The cell metadata key nbgrader keeps its flags under.
_METADATA = "nbgrader"

_TRANSFORMER = TransformerManager()


class CellKind(enum.Enum):
    """What a cell is to the grader (see the module's table)."""

    SETUP = "setup"
    ANSWER = "answer"
    TEST = "test"
    WRITTEN_ANSWER = "written answer"
    DEMO = "demo"
    TEXT = "text"


def _metadata(cell: NotebookNode) -> dict:
    """The cell's metadata ({} when a submission's is malformed)."""
    value = cell.get("metadata")
    return value if isinstance(value, dict) else {}


def _nbgrader(cell: NotebookNode) -> dict | None:
    """The cell's nbgrader metadata, or None (absent or malformed)."""
    value = _metadata(cell).get(_METADATA)
    return value if isinstance(value, dict) else None


def kind_of(cell: NotebookNode) -> CellKind:
    """The :class:`CellKind` of ``cell``."""
    graded = _nbgrader(cell) is not None
    if cell.get("cell_type") == "code":
        if graded and utils.is_solution(cell):
            return CellKind.ANSWER
        if graded and utils.is_grade(cell):
            return CellKind.TEST
        tags = _metadata(cell).get("tags")
        if isinstance(tags, list) and SETUP_TAG in tags:
            return CellKind.SETUP
        return CellKind.TEXT if is_locked(cell) else CellKind.DEMO
    if cell.get("cell_type") == "markdown" and graded and utils.is_solution(cell):
        return CellKind.WRITTEN_ANSWER
    return CellKind.TEXT


def is_locked(cell: NotebookNode) -> bool:
    """Whether students may not change ``cell`` (nbgrader's lock: tests, and the cells marked
    read-only, such as setup cells and the instructor's text)."""
    return _nbgrader(cell) is not None and bool(utils.is_locked(cell))


def grade_id_of(cell: NotebookNode) -> str | None:
    """A cell's nbgrader ``grade_id``, or None (no nbgrader metadata, or a malformed one)."""
    value = (_nbgrader(cell) or {}).get("grade_id")
    return value if isinstance(value, str) else None


def points_of(cell: NotebookNode) -> float:
    """The points a grade cell is worth (0 for any other cell)."""
    metadata = _nbgrader(cell)
    return float(metadata.get("points", 0)) if metadata and utils.is_grade(cell) else 0.0


def cells_of(cells: Iterable[NotebookNode], *kinds: CellKind) -> list[NotebookNode]:
    """The cells of ``cells`` of one of ``kinds``, in order."""
    return [cell for cell in cells if kind_of(cell) in kinds]


def points_by_test(cells: Iterable[NotebookNode]) -> dict[str, float]:
    """grade id -> points of each autograded test cell of ``cells``, in order."""
    return {grade_id_of(cell) or "": points_of(cell) for cell in cells_of(cells, CellKind.TEST)}


def forget_grading(cell: NotebookNode) -> None:
    """Drop the nbgrader metadata of ``cell``: it then counts as a cell the student added."""
    _metadata(cell).pop(_METADATA, None)


def recorded_tests(notebook: Notebook) -> set[str]:
    """The names of the autograded tests in the gradebook's record of a source ``notebook``:
    code grade cells that are not answers, the rule of :func:`kind_of`."""
    answers = {cell.name for cell in notebook.solution_cells}
    return {
        cell.name
        for cell in notebook.grade_cells
        if cell.cell_type == "code" and cell.name not in answers
    }


@functools.lru_cache(maxsize=256)
def to_python(source: str) -> str:
    """A cell's source as plain Python (IPython magics become ``get_ipython()`` calls).

    Remembered for the last 256 sources: grading reads most cells two or three times (the
    sandbox's plan of the cells to run, the static scan of the student's code, the tests).
    """
    return _TRANSFORMER.transform_cell(source)
