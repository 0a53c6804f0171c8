"""The score of each autograded test: it needs both nbgrader's and the trusted re-check's pass.

nbgrader scores a test cell in the student's kernel, where the student's code may have replaced
anything the test relies on (and where a non-numeric or suppressed last value counts as full
marks). :func:`grader.trusted.recheck.recheck` runs the test's code from ``solutions/`` in the
grader and passes or fails it. :func:`combine` sets each test's score in the gradebook to the
smaller of the two, so only a test that passed in both earns its points. :func:`annotate` writes
what came of each test under its cell of the autograded notebook, as an output marked
:data:`grader.preprocessors.VERDICT_KEY`, the only output of a test cell the feedback shows
(:class:`grader.preprocessors.SafeFeedback`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from nbgrader.api import Gradebook

from grader.course import GraderError
from grader.preprocessors import VERDICT_KEY, is_test_cell, is_verdict
from grader.scores import autograded_tests
from grader.submissions import GradedTest, Submission
from grader.trusted.recheck import TestVerdict

KERNEL_FAILURE = (
    "this test failed when nbgrader ran your notebook (an error, or output on stderr; run the "
    "notebook from the top to see it). The re-check outside your notebook passed, but a test "
    "earns its points only when it passes in both."
)


def _reason(score: float, max_score: float, nbgrader: float, verdict: TestVerdict) -> str:
    """Why a test scored ``score`` rather than ``max_score`` ('' when it did not)."""
    if score >= max_score:
        return ""
    if not verdict.passed:
        return verdict.message
    if nbgrader == 0:
        return KERNEL_FAILURE
    return f"the value your notebook's test cell showed gave {nbgrader:g} of {max_score:g} points."


def combine(
    gradebook: Gradebook, submission: Submission, verdicts: dict[str, dict[str, TestVerdict]]
) -> list[GradedTest]:
    """Score every autograded test of ``submission`` min(nbgrader's, trusted) and commit.

    ``verdicts`` maps each submitted notebook's name to its re-check. A notebook nbgrader graded
    but the re-check did not see was not submitted: nbgrader scored it 0. Raises GraderError when
    the gradebook has a test that ``solutions/`` does not (the release is out of date).
    """
    found = gradebook.find_submission(submission.assignment, submission.student)
    results = []
    for notebook in found.notebooks:
        tests = autograded_tests(notebook.notebook)
        checked = verdicts.get(notebook.name)
        for grade in notebook.grades:
            name = grade.cell.name
            if name not in tests:
                continue
            max_score = float(grade.max_score)
            if checked is None:
                verdict = TestVerdict(0.0, max_score, False, f"{notebook.name}.ipynb is missing")
            elif name in checked:
                verdict = checked[name]
            else:
                raise GraderError(
                    f"the gradebook's test {notebook.name}/{name} of {submission.assignment} is "
                    f"not in solutions/: release the assignment again"
                )
            nbgrader = float(grade.auto_score or 0.0)
            score = min(nbgrader, verdict.points, max_score)
            grade.auto_score = score
            grade.needs_manual_grade = False
            reason = _reason(score, max_score, nbgrader, verdict)
            results.append(
                GradedTest(notebook.name, name, score, max_score, nbgrader, verdict.passed, reason)
            )
    gradebook.db.commit()
    return results


def verdict_text(test: GradedTest) -> str:
    """What the feedback says under a test cell."""
    points = f"{test.score:g} of {test.max_score:g} point{'s' if test.max_score != 1 else ''}"
    return f"Passed: {points}." if not test.message else f"{points}: {test.message}"


def annotate(path: Path, tests: Iterable[GradedTest]) -> None:
    """Add each test's verdict to the outputs of its cell in the autograded notebook ``path``.

    Outputs that look like verdicts but come from the student's code are removed first.
    """
    by_id = {test.grade_id: test for test in tests}
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [output for output in cell.outputs if not is_verdict(output)]
        test = by_id.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if test is not None and is_test_cell(cell):
            cell.outputs.append(
                new_output(
                    "display_data",
                    data={"text/plain": verdict_text(test)},
                    metadata={VERDICT_KEY: {"score": test.score, "max_score": test.max_score}},
                )
            )
    path.unlink()  # nbgrader leaves its outputs read-only
    nbformat.write(notebook, path)
