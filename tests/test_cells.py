"""The cell kinds of grader/cells.py on hand-made cells and on the course's notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import trusted_notebooks as toy
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

from grader.cells import (
    CellKind,
    cells_of,
    forget_grading,
    grade_id_of,
    is_locked,
    kind_of,
    points_by_test,
    points_of,
)
from grader.demos import is_demo
from grader.trusted.notebook import read_source

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "solutions").glob("*/*.ipynb"))

CELLS = {
    "setup": (
        new_code_cell("import numpy as np", metadata=toy.metadata("setup", ["setup"], locked=True)),
        CellKind.SETUP,
    ),
    "untracked setup": (new_code_cell("import os", metadata={"tags": ["setup"]}), CellKind.SETUP),
    "answer": (new_code_cell("x = 1", metadata=toy.metadata("x", solution=True)), CellKind.ANSWER),
    "manually graded answer": (
        new_code_cell("x = 1", metadata=toy.metadata("x", solution=True, grade=True, points=2)),
        CellKind.ANSWER,
    ),
    "test": (
        new_code_cell("assert x", metadata=toy.metadata("t", grade=True, locked=True, points=3)),
        CellKind.TEST,
    ),
    "written answer": (
        new_markdown_cell("Because.", metadata=toy.metadata("w", solution=True, grade=True)),
        CellKind.WRITTEN_ANSWER,
    ),
    "demo": (new_code_cell("plt.plot(x)"), CellKind.DEMO),
    "demo with empty metadata": (
        new_code_cell("plt.plot(x)", metadata=toy.metadata("d")),
        CellKind.DEMO,
    ),
    "locked code": (new_code_cell("1", metadata=toy.metadata("l", locked=True)), CellKind.TEXT),
    "text": (new_markdown_cell("# Title", metadata=toy.metadata("i", locked=True)), CellKind.TEXT),
    "plain text": (new_markdown_cell("words"), CellKind.TEXT),
    "raw": (new_raw_cell("raw"), CellKind.TEXT),
    "malformed metadata": (
        nbformat.from_dict(
            {
                "cell_type": "code",
                "source": "x",
                "metadata": {"nbgrader": "a test", "tags": "setup"},
            }
        ),
        CellKind.DEMO,
    ),
}


@pytest.mark.parametrize(("cell", "kind"), CELLS.values(), ids=CELLS.keys())
def test_each_cell_has_its_kind(cell: nbformat.NotebookNode, kind: CellKind) -> None:
    assert kind_of(cell) is kind


def test_grade_ids_points_and_locks() -> None:
    test, answer, malformed = CELLS["test"][0], CELLS["answer"][0], CELLS["malformed metadata"][0]
    assert (grade_id_of(test), points_of(test), is_locked(test)) == ("t", 3.0, True)
    assert (grade_id_of(answer), points_of(answer), is_locked(answer)) == ("x", 0.0, False)
    manual = CELLS["manually graded answer"][0]
    assert points_of(manual) == 2.0 and not is_locked(manual)
    assert (grade_id_of(malformed), points_of(malformed), is_locked(malformed)) == (None, 0, False)
    assert is_locked(CELLS["setup"][0]) and not is_locked(CELLS["demo"][0])


def test_cells_of_keeps_the_order_and_points_by_test_names_each_test() -> None:
    cells = [cell for cell, _ in CELLS.values()]
    assert cells_of(cells, CellKind.ANSWER) == [
        CELLS["answer"][0],
        CELLS["manually graded answer"][0],
    ]
    assert cells_of(cells, CellKind.SETUP, CellKind.TEST) == [
        CELLS["setup"][0],
        CELLS["untracked setup"][0],
        CELLS["test"][0],
    ]
    assert points_by_test(cells) == {"t": 3.0}


def test_forget_grading_makes_a_cell_the_students() -> None:
    cell = new_code_cell("assert x", metadata=toy.metadata("t", grade=True, locked=True, points=1))
    forget_grading(cell)
    assert (kind_of(cell), grade_id_of(cell), cell.metadata) == (CellKind.DEMO, None, {})
    forget_grading(cell)  # nothing left to forget


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_the_kinds_of_the_course_agree_with_what_grading_reads(path: Path) -> None:
    """Tests and setup cells as the trusted re-check reads them, demos as grading skips them;
    every code cell of a source notebook is setup, answer, test or demo."""
    cells = nbformat.read(path, as_version=4).cells
    source = read_source(path)
    assert [grade_id_of(c) for c in cells_of(cells, CellKind.TEST)] == [
        t.grade_id for t in source.tests
    ]
    assert [c.source for c in cells_of(cells, CellKind.SETUP)] == [s for _, s in source.setup]
    assert [c.source for c in cells_of(cells, CellKind.DEMO)] == [
        c.source for c in cells if is_demo(c)
    ]
    code = [kind_of(c) for c in cells if c.cell_type == "code"]
    assert set(code) <= {CellKind.SETUP, CellKind.ANSWER, CellKind.TEST, CellKind.DEMO}
    assert sum(points_by_test(cells).values()) == sum(t.points for t in source.tests) > 0
