"""Grading classic wrong answers with the real nbgrader, for the ``test_wrong_*`` modules.

A *mistake* is a student whose notebook is the solution with one solution cell's source edited:
``(solution cell, test cell it must fail, text in that solution cell, the same text with the
mistake)``. :func:`grade_mistakes` copies the course configuration and the assignments' source
notebooks into temporary courses, releases them, submits the solution, the blank release and one
notebook per mistake, autogrades each assignment with ONE ``nbgrader autograde`` run (the
assignments in parallel, each in its own course), and reads the score of every test cell from
nbgrader's gradebook. The demo cells (cells without nbgrader metadata) are left out of the
submissions: grading does not need them, and the runs are much shorter without them.
:func:`mistakes_test` makes the test of a ``test_wrong_*`` module from its mistakes.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[1]

#: (solution cell, test cell it must fail, text in that solution cell, the same text wrong).
Mistake = tuple[str, str, str, str]
#: assignment -> student -> test cell -> autograded score.
Scores = dict[str, dict[str, dict[str, float]]]


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def submissions(
    source: nbformat.NotebookNode,
    release: nbformat.NotebookNode,
    mistakes: Mapping[str, Mistake],
) -> dict[str, nbformat.NotebookNode]:
    """Student id -> notebook: "solution" (the release with every solution cell filled from
    ``source``), "blank" (the release) and one notebook per mistake."""
    answers = {
        grade_id(cell): cell.source
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }

    def answered(edit: tuple[str, str, str] | None = None) -> nbformat.NotebookNode:
        notebook = nbformat.from_dict(release)
        for cell in notebook.cells:
            if grade_id(cell) in answers:
                cell.source = answers[grade_id(cell)]
                if edit and grade_id(cell) == edit[0]:
                    assert edit[1] in cell.source, f"{edit[1]!r} not in solution cell {edit[0]}"
                    cell.source = cell.source.replace(edit[1], edit[2])
        return notebook

    notebooks = {"solution": answered(), "blank": nbformat.from_dict(release)}
    for student, (cell, _, right, wrong) in mistakes.items():
        notebooks[student] = answered((cell, right, wrong))
    for notebook in notebooks.values():  # the demos (cells without nbgrader metadata) are left out
        notebook.cells = [cell for cell in notebook.cells if "nbgrader" in cell.metadata]
    return notebooks


def nbgrader(course: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("CHAINRULE_DB_URL", None)  # the gradebook of the temporary course, not a shared one
    # nbgrader runs `alembic` by name: the venv's bin directory must be on PATH.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.Popen(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_in_parallel(courses: Mapping[str, Path], command: str) -> None:
    """``nbgrader <command> <assignment>`` in each assignment's course, all at once."""
    running = {
        assignment: nbgrader(course, command, assignment) for assignment, course in courses.items()
    }
    for assignment, process in running.items():
        log, _ = process.communicate(timeout=600)
        assert process.returncode == 0, f"nbgrader {command} {assignment} failed:\n{log}"


def autograded_points(assignment: str) -> dict[str, float]:
    """Test cell -> points, for the autograded test cells of the assignment's source notebook."""
    source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return {
        grade_id(cell): float(cell.metadata["nbgrader"]["points"])
        for cell in source.cells
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")
    }


def grade_mistakes(
    tmp_path_factory: pytest.TempPathFactory, mistakes: Mapping[str, Mapping[str, Mistake]]
) -> Scores:
    """Autograde every assignment's solution, blank release and mistakes (module docstring);
    return the score of each autograded test cell (manually graded cells are left out)."""
    courses = {}
    for assignment in mistakes:
        course = tmp_path_factory.mktemp(assignment)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
        courses[assignment] = course
    run_in_parallel(courses, "generate_assignment")
    for assignment, course in courses.items():
        name = f"{assignment}.ipynb"
        source = nbformat.read(course / "solutions" / assignment / name, as_version=4)
        release = nbformat.read(course / "lectures" / assignment / name, as_version=4)
        for student, notebook in submissions(source, release, mistakes[assignment]).items():
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(notebook, folder / name)
    run_in_parallel(courses, "autograde")
    result: Scores = {}
    for assignment, course in courses.items():
        tests = autograded_points(assignment)
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "chainrule") as gradebook:
            result[assignment] = {
                student: {
                    grade.name: grade.score
                    for grade in gradebook.find_submission_notebook(
                        assignment, assignment, student
                    ).grades
                    if grade.name in tests
                }
                for student in ["solution", "blank", *mistakes[assignment]]
            }
    return result


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


def failing_visible_tests(assignment: str, edit: tuple[str, str, str] | None = None) -> dict:
    """Test cell -> failure message, for the visible tests of ``assignment`` that fail when its
    setup, solution and test cells (visible parts) run in order in a fresh namespace of this
    process, the solution cell ``edit[0]`` having ``edit[1]`` replaced with ``edit[2]``. The demo
    cells do not run: no test may depend on them (README, "Writing tests")."""
    folder = ROOT / "solutions" / assignment
    notebook = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
    namespace: dict = {"__name__": "__main__"}
    failures = {}
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta:
                continue
            source = cell.source
            if edit and grade_id(cell) == edit[0]:
                assert edit[1] in source, f"{edit[1]!r} not in solution cell {edit[0]}"
                source = source.replace(edit[1], edit[2])
            if meta.get("grade") and not meta.get("solution"):
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(compile(visible_part(source), grade_id(cell), "exec"), namespace)
                except Exception as error:  # noqa: BLE001 - any failure fails the test
                    failures[grade_id(cell)] = f"{type(error).__name__}: {error}"
            else:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(source, grade_id(cell) or "cell", "exec"), namespace)
    finally:
        os.chdir(cwd)
    return failures


def visible_mistakes_test(
    mistakes: Mapping[str, Mapping[str, Mistake]],
) -> Callable[[str, str], None]:
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
        cell, failing, right, wrong = mistake
        failures = failing_visible_tests(assignment, (cell, right, wrong))
        assert set(failures) == {failing}, (
            f"{student} should fail the visible {failing} only; failed: {failures}"
        )
        assert "Error: " in failures[failing]  # a message, never a bare AssertionError

    return test


def expected_scores(assignment: str, mistakes: Mapping[str, Mistake]) -> dict[str, dict]:
    """What every student must score: the solution every point, the blank release none, and each
    mistake every point except those of the test cell it must fail."""
    full = autograded_points(assignment)
    assert full, f"{assignment} has no autograded test cell"
    expected = {"solution": full, "blank": dict.fromkeys(full, 0.0)}
    for student, (_, failing, _, _) in mistakes.items():
        assert failing in full, f"{failing} is not a test cell of {assignment}"
        expected[student] = {**full, failing: 0.0}
    return expected


def mistakes_test(
    mistakes: Mapping[str, Mapping[str, Mistake]],
) -> Callable[[pytest.TempPathFactory, str], None]:
    """The test of a ``test_wrong_*`` module (assign it to a ``test_*`` name there): a slow test
    parametrized by the assignments of ``mistakes`` (assignment -> student -> mistake), checking
    that every student of the assignment scores :func:`expected_scores`. Its first case grades
    every assignment at once with :func:`grade_mistakes`; the other cases reuse those scores."""
    graded: Scores = {}

    @pytest.mark.slow
    @pytest.mark.parametrize("assignment", list(mistakes))
    def test(tmp_path_factory: pytest.TempPathFactory, assignment: str) -> None:
        if not graded:
            graded.update(grade_mistakes(tmp_path_factory, mistakes))
        assert graded[assignment] == expected_scores(assignment, mistakes[assignment])

    return test
