"""What the grader reads in a notebook's cells: the setup tag, and a cell's code as Python."""

from __future__ import annotations

from IPython.core.inputtransformer2 import TransformerManager

#: Tag of the instructor's setup cells (imports and helpers every later cell relies on).
SETUP_TAG = "setup"

_TRANSFORMER = TransformerManager()


def to_python(source: str) -> str:
    """A cell's source as plain Python (IPython magics become ``get_ipython()`` calls)."""
    return _TRANSFORMER.transform_cell(source)
