"""A synthetic class for notebook 04 (backpropagation), for the report and similarity tests.

Students: the solution, the blank release, each classic wrong answer of the catalogue
(tests/test_wrong_bprops.py) :data:`COPIES` times (:func:`copy_name`: the first copy is the
catalogue's own student), two students who submit the same unusual Linear box with renamed
variables and other comments (``copy-a``, ``copy-b``), and one whose Linear.bprop is the body of
``chainrule.layers.Linear.bprop`` (``from-reference``). The session's graded course
(tests/graded_course.py) grades them all.
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

import nbformat
from test_wrong_bprops import MISTAKES
from wrong_answers import answers_of, with_mistake

from chainrule import layers

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "04_backprop"
#: How many students make each mistake of the catalogue.
COPIES = 2
#: The exercise the copies are about.
COPIED = "linear"

#: The answer to Linear's fprop and bprop that copy-a wrote, with its four names to rename.
UNUSUAL = """        # keep a float copy of the batch for the backward pass
        {batch} = np.array(x, dtype=np.float64)
        self.saved_input = {batch}
        {weights}, {bias} = self.params["W"], self.params["b"]
        return np.dot({batch}, {weights}.T) + {bias}[np.newaxis, :]
"""
UNUSUAL_BPROP = """        {grad} = np.array(grad_out, dtype=np.float64)  # G, one row per example
        grad_weights = np.einsum("nh,nd->hd", {grad}, self.saved_input)
        grad_bias = np.einsum("nh->h", {grad})
        self.grads = dict(W=grad_weights, b=grad_bias)
        return np.einsum("nh,hd->nd", {grad}, self.params["W"])
"""


def _answers(source: str, fprop: str, bprop: str) -> str:
    """The Linear cell ``source`` with the two solution regions replaced."""
    head, rest = source.split("        ### BEGIN SOLUTION\n", 1)
    _, rest = rest.split("        ### END SOLUTION\n", 1)
    middle, rest = rest.split("        ### BEGIN SOLUTION\n", 1)
    _, tail = rest.split("        ### END SOLUTION", 1)
    return head + fprop + middle + bprop.rstrip("\n") + tail


def solution_cells(step: str = "solutions") -> dict[str, str]:
    """grade id -> source of the answer cells of the notebook in ``step`` (``solutions`` or
    ``lectures``, the released stubs)."""
    return answers_of(nbformat.read(ROOT / step / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4))


def copy_name(mistake: str, n: int) -> str:
    """The student who makes ``mistake`` the ``n``-th time (the first is the catalogue's)."""
    return mistake if n == 0 else f"{mistake}-{n}"


def class_answers() -> dict[str, dict[str, str]]:
    """student -> grade id -> the source of each solution cell the student submits (a student
    missing a grade id keeps the released cell: "blank" has none)."""
    cells = solution_cells()
    students: dict[str, dict[str, str]] = {"solution": dict(cells), "blank": {}}
    for name, mistake in MISTAKES[ASSIGNMENT].items():
        for n in range(COPIES):
            students[copy_name(name, n)] = with_mistake(cells, mistake)
    linear = cells[COPIED]
    names_a = {"batch": "inputs", "weights": "weights", "bias": "bias", "grad": "upstream"}
    names_b = {"batch": "X_in", "weights": "Wt", "bias": "bt", "grad": "dOut"}
    copy_b_fprop = UNUSUAL.format(**names_b).replace(
        "# keep a float copy of the batch for the backward pass", "# store x for later"
    )
    copy_b_bprop = UNUSUAL_BPROP.format(**names_b).replace("# G, one row per example", "")
    students["copy-a"] = {
        **cells,
        COPIED: _answers(linear, UNUSUAL.format(**names_a), UNUSUAL_BPROP.format(**names_a)),
    }
    students["copy-b"] = {**cells, COPIED: _answers(linear, copy_b_fprop, copy_b_bprop)}
    reference = inspect.getsource(layers.Linear.bprop).split("\n", 1)[1]
    fprop = linear.split("        ### BEGIN SOLUTION\n", 1)[1].split("        ### END")[0]
    students["from-reference"] = {
        **cells,
        COPIED: _answers(linear, fprop, textwrap.indent(textwrap.dedent(reference), " " * 8)),
    }
    return students
