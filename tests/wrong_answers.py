"""The catalogue of classic wrong answers, for the ``test_wrong_*`` modules.

A *mistake* is a student whose notebook is the solution with one answer cell's source edited:
``(answer cell, test cell it must fail, text in that answer cell, the same text with the
mistake)``. Each ``test_wrong_*`` module lists the mistakes of some assignments (``MISTAKES``:
assignment -> student -> mistake); :func:`catalogue` gathers them all.

Two tests per module:

* :func:`visible_mistakes_test`, plain Python and fast: the visible tests run in this process
  (no nbgrader, no sandbox); the solution passes them all, each mistake fails the visible test
  of its own exercise and no other;
* :func:`mistakes_test`, under grading: the session's graded course (tests/graded_course.py)
  holds one submission per mistake, made by :func:`mistake_notebooks` and graded with everything
  else in one ``python -m grader autograde`` run; each mistake loses the points of its own
  exercise and only those, the solution gets every point and the blank release none.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import nbformat
import pytest

from grader.cells import CellKind, cells_of, grade_id_of, kind_of, points_by_test
from grader.check import BLANK, SOLUTION

ROOT = Path(__file__).resolve().parents[1]
#: The modules that list mistakes.
MODULES = ("test_wrong_exercises", "test_wrong_bprops", "test_wrong_regularization_init")

#: (answer cell, test cell it must fail, text in that answer cell, the same text wrong).
Mistake = tuple[str, str, str, str]


def catalogue() -> dict[str, dict[str, Mistake]]:
    """assignment -> student -> mistake, of every ``test_wrong_*`` module."""
    found: dict[str, dict[str, Mistake]] = {}
    for name in MODULES:
        for assignment, mistakes in importlib.import_module(name).MISTAKES.items():
            found.setdefault(assignment, {}).update(mistakes)
    return found


def answers_of(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """grade id -> source of the answer cells of ``notebook``."""
    return {grade_id_of(c) or "": c.source for c in cells_of(notebook.cells, CellKind.ANSWER)}


def answered(release: nbformat.NotebookNode, answers: Mapping[str, str]) -> nbformat.NotebookNode:
    """The ``release`` notebook with the cells named in ``answers`` given those sources. The
    demos (cells without a grade id) are left out: grading does not need them, and is much
    shorter without them."""
    notebook = nbformat.from_dict(release)
    notebook.cells = [cell for cell in notebook.cells if grade_id_of(cell) is not None]
    for cell in notebook.cells:
        cell.source = answers.get(grade_id_of(cell) or "", cell.source)
    return notebook


def with_mistake(answers: Mapping[str, str], mistake: Mistake) -> dict[str, str]:
    """``answers`` with ``mistake`` made in its answer cell."""
    cell, _, right, wrong = mistake
    assert right in answers[cell], f"{right!r} not in answer cell {cell}"
    return {**answers, cell: answers[cell].replace(right, wrong)}


def mistake_notebooks(
    source: nbformat.NotebookNode,
    release: nbformat.NotebookNode,
    mistakes: Mapping[str, Mistake],
) -> dict[str, nbformat.NotebookNode]:
    """Student -> the :func:`answered` release with the answers of ``source`` and the student's
    mistake, for each of ``mistakes``."""
    answers = answers_of(source)
    return {
        student: answered(release, with_mistake(answers, mistake))
        for student, mistake in mistakes.items()
    }


def visible_part(test: str) -> str:
    """The source of a test cell as released: without the hidden-test block."""
    lines, hidden = [], False
    for line in test.splitlines():
        if "### BEGIN HIDDEN TESTS" in line:
            hidden = True
        elif "### END HIDDEN TESTS" in line:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines)


def failing_visible_tests(assignment: str, mistake: Mistake | None = None) -> dict[str, str]:
    """Test cell -> failure message, for the visible tests of ``assignment`` that fail when its
    setup, answer and test cells (visible parts) run in order in a fresh namespace of this
    process, with ``mistake`` made. The demo cells do not run: no test may depend on them
    (README, "Writing tests")."""
    folder = ROOT / "solutions" / assignment
    notebook = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
    answers = answers_of(notebook)
    if mistake is not None:
        answers = with_mistake(answers, mistake)
    namespace: dict = {"__name__": "__main__"}
    failures = {}
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        for cell in notebook.cells:
            kind, name = kind_of(cell), grade_id_of(cell) or "cell"
            if kind is CellKind.TEST:
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(compile(visible_part(cell.source), name, "exec"), namespace)
                except Exception as error:  # noqa: BLE001 - any failure fails the test
                    failures[name] = f"{type(error).__name__}: {error}"
            elif kind in (CellKind.SETUP, CellKind.ANSWER):
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(answers.get(name, cell.source), name, "exec"), namespace)
    finally:
        os.chdir(cwd)
    return failures


def visible_mistakes_test(
    mistakes: Mapping[str, Mapping[str, Mistake]],
) -> Callable[[str, str, Mistake | None], None]:
    """The fast test of a ``test_wrong_*`` module: the solution passes every visible test, and
    each mistake fails the visible test of its own exercise and no other one."""
    cases = [("solution", assignment, None) for assignment in mistakes] + [
        (student, assignment, mistake)
        for assignment, students in mistakes.items()
        for student, mistake in students.items()
    ]

    @pytest.mark.parametrize(
        ("student", "assignment", "mistake"), cases, ids=[f"{a}-{s}" for s, a, _ in cases]
    )
    def test(student: str, assignment: str, mistake: Mistake | None) -> None:
        if mistake is None:
            assert failing_visible_tests(assignment) == {}
            return
        failing = mistake[1]
        failures = failing_visible_tests(assignment, mistake)
        assert set(failures) == {failing}, (
            f"{student} should fail the visible {failing} only; failed: {failures}"
        )
        assert "Error: " in failures[failing]  # a message, never a bare AssertionError

    return test


def expected_scores(assignment: str, mistakes: Mapping[str, Mistake]) -> dict[str, dict]:
    """What every student must score: the solution every point, the blank release none, and each
    mistake every point except those of the test cell it must fail."""
    source = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    full = points_by_test(nbformat.read(source, as_version=4).cells)
    assert full, f"{assignment} has no autograded test cell"
    expected = {SOLUTION: full, BLANK: dict.fromkeys(full, 0.0)}
    for student, (_, failing, _, _) in mistakes.items():
        assert failing in full, f"{failing} is not a test cell of {assignment}"
        expected[student] = {**full, failing: 0.0}
    return expected


def mistakes_test(mistakes: Mapping[str, Mapping[str, Mistake]]) -> Callable[..., None]:
    """The graded test of a ``test_wrong_*`` module (assign it to a ``test_*`` name there),
    parametrized by the assignments of ``mistakes``: in the session's graded course, every
    student of the assignment scores :func:`expected_scores`."""

    @pytest.mark.slow
    @pytest.mark.parametrize("assignment", list(mistakes))
    def test(graded_course, assignment: str) -> None:
        expected = expected_scores(assignment, mistakes[assignment])
        scores = graded_course.first[assignment]
        assert {student: scores.get(student) for student in expected} == expected

    return test
