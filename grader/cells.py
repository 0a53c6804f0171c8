"""What the grader reads in a notebook's cells: the setup tag, the grade id, the code as Python."""

from __future__ import annotations

from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode

#: Tag of the instructor's setup cells (imports and helpers every later cell relies on).
SETUP_TAG = "setup"

_TRANSFORMER = TransformerManager()


def to_python(source: str) -> str:
    """A cell's source as plain Python (IPython magics become ``get_ipython()`` calls)."""
    return _TRANSFORMER.transform_cell(source)


def grade_id_of(cell: NotebookNode) -> str | None:
    """A cell's nbgrader ``grade_id``, or None (no nbgrader metadata, or a malformed one)."""
    nbgrader = cell.metadata.get("nbgrader")
    value = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return value if isinstance(value, str) else None
