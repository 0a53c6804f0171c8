"""Static house rules of every source notebook in solutions/ (fast: nothing is executed)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from grader.cells import CellKind, cells_of
from grader.trusted.notebook import read_source
from grader.trusted.tripwire import resolve

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "solutions").glob("*/*.ipynb"))


def test_there_are_source_notebooks():
    assert SOURCES, "no notebook in solutions/"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_source_notebook_house_rules(path: Path):
    assert path.stem == path.parent.name, "the notebook is named after its assignment folder"
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert not any(cell.outputs for cell in code), "outputs must be stripped"
    assert not any(cell.execution_count for cell in code), "execution counts must be cleared"
    source = read_source(path)
    assert source.setup, "the imports cell must be tagged `setup` for the trusted re-check"
    assert not any("matplotlib" in text for _, text in source.setup), (
        "plotting imports go in a plain cell after the setup cell: grading skips it, and every "
        "grading kernel and sandbox would otherwise import matplotlib for nothing"
    )
    assert source.tests, "at least one autograded test cell"
    for test in source.tests:
        assert test.grade_id.startswith("test_"), test.grade_id
        assert test.points > 0, test.grade_id
        for name in test.forbid:
            resolve(name)  # raises if a forbid entry names nothing (e.g. after a rename)
    answers = cells_of(nb.cells, CellKind.ANSWER)
    for cell in answers:
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    hidden = [test for test in source.tests if "### BEGIN HIDDEN TESTS" in test.source]
    assert len(hidden) == len(source.tests), "every test cell has hidden tests"
    # Grading skips the demo cells no later cell reads a name of (grader/demos.py): no cell may
    # leave state behind without a name, such as numpy's global random generator.
    seeded = [cell.source[:60] for cell in code if "random.seed(" in cell.source]
    assert not seeded, f"draw from a Generator (rng), never seed the global one: {seeded}"
