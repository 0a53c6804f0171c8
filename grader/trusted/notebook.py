"""Read the trusted source notebook and a submission, and plan the cells the sandbox runs.

The source notebook (``solutions/``) decides everything: which cells are tests and which are
setup (imports and helpers, run from the source's text both in the sandbox and in the grader;
the kinds of :mod:`grader.cells`), and which grade ids belong to the instructor. From the
submission the sandbox runs every code cell except tests, the instructor's locked cells and the
demo cells no later cell needs (:mod:`grader.demos`); a setup cell runs from the source's text
where the submission has it, or first of all if the student deleted it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from grader.cells import CellKind, grade_id_of, is_locked, kind_of, points_of
from grader.demos import demo_texts, skippable

MAX_SUBMISSION_BYTES = 100 * 1024**2
MAX_CODE = 1024**2
"""Most characters of code in one cell, and a quarter of the most in all cells, that are run
(and parsed by the grader): more is not an answer, and would only slow the grader down."""


class SubmissionError(Exception):
    """The submission cannot be read as a notebook."""


@dataclass(frozen=True)
class TestCell:
    """An autograded test cell of the source notebook, with its options.

    ``cell.metadata.chainrule`` may hold ``forbid`` (dotted names of reference code the graded
    functions may not call) and ``inplace`` (true if they may change their array arguments).
    """

    grade_id: str
    points: float
    source: str
    forbid: tuple[str, ...]
    inplace: bool


@dataclass(frozen=True)
class SourceNotebook:
    """What the re-check takes from the instructor's notebook."""

    tests: tuple[TestCell, ...]
    setup: tuple[tuple[str | None, str], ...]
    """(grade id, source) of each setup cell, in order."""
    instructor_ids: frozenset[str]
    """Grade ids of the locked cells (tests, setup, text)."""
    demos: frozenset[str]
    """Texts of the demo cells (:func:`grader.demos.is_demo`)."""


@dataclass(frozen=True)
class PlannedCell:
    """A cell the sandbox runs: ``trusted`` when its text comes from the source notebook.

    ``note`` says why a cell of the submission is not run (its ``source`` is then empty).
    """

    label: str
    source: str
    trusted: bool
    note: str = ""
    index: int | None = None
    """Position of the cell in the submission (None: a deleted setup cell, run first)."""


def _options(cell: NotebookNode) -> dict[str, Any]:
    options = cell.metadata.get("chainrule", {})
    if not isinstance(options, dict):
        raise ValueError(f"metadata.chainrule of {grade_id_of(cell)} must be a dict")
    return options


def read_source(path: str | Path) -> SourceNotebook:
    """The tests and setup cells of the instructor's notebook; ValueError if they are malformed."""
    notebook = nbformat.read(path, as_version=4)
    tests, setup, instructor_ids = [], [], set()
    for cell in notebook.cells:
        grade_id, kind = grade_id_of(cell), kind_of(cell)
        if grade_id and is_locked(cell):
            instructor_ids.add(grade_id)
        if kind is CellKind.TEST:
            options = _options(cell)
            forbid = tuple(options.get("forbid", ()))
            if not grade_id or not all(isinstance(name, str) for name in forbid):
                raise ValueError(f"test cell {grade_id!r} needs a grade_id and string forbid names")
            tests.append(
                TestCell(
                    grade_id, points_of(cell), cell.source, forbid, bool(options.get("inplace"))
                )
            )
        elif kind is CellKind.SETUP:
            setup.append((grade_id, cell.source))
    if len({test.grade_id for test in tests}) != len(tests):
        raise ValueError(f"{path}: two test cells share a grade_id")
    return SourceNotebook(
        tuple(tests), tuple(setup), frozenset(instructor_ids), demo_texts(notebook.cells)
    )


def read_submission(path: str | Path) -> list[NotebookNode]:
    """The cells of a submitted notebook. Raises SubmissionError when it is not one.

    Malformed nbgrader metadata counts as none (:mod:`grader.cells`): the cell is then one the
    student added.
    """
    try:
        if Path(path).stat().st_size > MAX_SUBMISSION_BYTES:
            raise SubmissionError(f"it is larger than {MAX_SUBMISSION_BYTES // 1024**2} MB")
        notebook = nbformat.reads(Path(path).read_text(encoding="utf-8"), as_version=4)
        cells = notebook["cells"]
    except SubmissionError:
        raise
    except Exception as error:  # OSError, invalid UTF-8 or JSON, not a notebook...
        raise SubmissionError(f"{type(error).__name__}: {error}"[:500]) from None
    if not isinstance(cells, list):
        raise SubmissionError("it has no list of cells")
    for number, cell in enumerate(cells, 1):
        if not (
            isinstance(cell, dict)
            and isinstance(cell.get("cell_type"), str)
            and isinstance(cell.get("source"), str)
            and isinstance(cell.get("metadata"), dict)
        ):
            raise SubmissionError(f"cell {number} is malformed")
    return cells


def plan(source: SourceNotebook, cells: list[NotebookNode]) -> list[PlannedCell]:
    """The cells the sandbox runs, in order, for a submission's ``cells``."""
    setup = {grade_id: text for grade_id, text in source.setup if grade_id}
    planned, placed, size = [], set(), 0
    for number, cell in enumerate(cells, 1):
        grade_id = grade_id_of(cell)
        label = f"cell {number}" + (f" ({grade_id})" if grade_id else "")
        if grade_id in setup:
            if grade_id not in placed:
                placed.add(grade_id)
                planned.append(PlannedCell(label, setup[grade_id], True, index=number - 1))
        elif not (
            cell.cell_type != "code"
            or grade_id in source.instructor_ids
            or kind_of(cell) is CellKind.TEST
        ):
            size += len(cell.source)
            if len(cell.source) > MAX_CODE or size > 4 * MAX_CODE:
                note = "not run: too much code (over a million characters)"
                planned.append(PlannedCell(label, "", False, note=note, index=number - 1))
            else:
                planned.append(PlannedCell(label, cell.source, False, index=number - 1))
    missing = [
        PlannedCell(f"setup cell {grade_id or ''}".strip(), text, trusted=True)
        for grade_id, text in source.setup
        if grade_id not in placed
    ]
    cells_run = [
        (cell.source, not cell.trusted and cell.source in source.demos)
        for cell in missing + planned
    ]
    skipped = skippable(cells_run + [(test.source, False) for test in source.tests])
    return [cell for index, cell in enumerate(missing + planned) if index not in skipped]
