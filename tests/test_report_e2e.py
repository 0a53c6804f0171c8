"""End to end: ``python -m grader autograde`` then ``report`` on a synthetic class of notebook 04
(tests/synthetic_class.py): the solution, the blank release, each classic wrong answer of the
catalogue twice, a renamed copy and a copy of the reference module's Linear.bprop.

The named mistakes are counted from the identifiers the checkers of chainrule.checks tag their
messages with; the flagged pairs are exactly the renamed copy and the reference copy; the page
opens in Chromium with no console error and no network request.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest
from html_text import browser_problems, page_text
from synthetic_class import ASSIGNMENT, COPIED, COPIES, ROOT, class_answers
from test_wrong_bprops import MISTAKES

from grader.__main__ import main
from grader.course import CONFIG_FILE, Course
from grader.report import Report, build_report
from grader.submissions import Submission, graded_tests

pytestmark = pytest.mark.slow

NOTEBOOK = f"{ASSIGNMENT}.ipynb"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    root = tmp_path_factory.mktemp("class")
    shutil.copy(ROOT / CONFIG_FILE, root / CONFIG_FILE)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CHAINRULE_DB_URL", raising=False)
        assert main(["--course", str(root), "release", ASSIGNMENT]) == 0
        release = nbformat.read(root / "lectures" / ASSIGNMENT / NOTEBOOK, as_version=4)
        for student, cells in class_answers().items():
            notebook = nbformat.from_dict(release)
            # The demos (cells without nbgrader metadata) are left out: grading is faster.
            notebook.cells = [c for c in notebook.cells if "nbgrader" in c.metadata]
            for cell in notebook.cells:
                cell.source = cells.get(cell.metadata.nbgrader.get("grade_id"), cell.source)
            folder = root / "submitted" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(notebook, folder / NOTEBOOK)
        command = ["--course", str(root), "autograde", "--jobs", "2", "--quiet"]
        assert main([*command, "--timeout", "120"]) == 0
        assert main(["--course", str(root), "report"]) == 0
    return root, build_report(Course(root), ASSIGNMENT)


def test_each_mistake_of_the_catalogue_is_counted_once_per_student(graded) -> None:
    root, report = graded
    by_test = {e.grade_id: e for e in report.exercises}
    for mistake, (_, test, _, _) in MISTAKES[ASSIGNMENT].items():
        students = [f"{mistake}-{n}" for n in range(COPIES)]
        groups = by_test[test].mistakes + by_test[test].unexplained
        holding = [g for g in groups if set(students) & set(g.students)]
        assert len(holding) == 1 and set(students) <= set(holding[0].students), (mistake, holding)
        records = {
            s: {t.grade_id: t for t in graded_tests(Course(root), Submission(s, ASSIGNMENT))}
            for s in students
        }
        assert all(
            r[test].score == 0 and "[mistake" not in r[test].message for r in records.values()
        )


def test_named_mistakes_carry_their_identifiers(graded) -> None:
    _, report = graded
    named = {(e.grade_id, g.key): sorted(g.students) for e in report.exercises for g in e.mistakes}
    expected = {
        ("test_linear_fprop", "the-bias-b-is-missing"): "linear_fprop_without_bias",
        ("test_softmax_cross_entropy_bprop", "the-loss-is-the-mean-over-the-batch"): (
            "loss_gradient_without_1_over_N"
        ),
        ("test_linear_bprop", "the-bias-is-shared-by-all-examples"): (
            "linear_bias_gradient_not_summed"
        ),
        ("test_sigmoid_bprop", "that-is-g-a"): "sigmoid_derivative_is_g",
        ("test_linear_bprop", "transposed"): "linear_weight_gradient_transposed",  # diagnose
        ("test_tanh_bprop", "the-derivative-is-1-g-a-2"): "tanh_derivative_missing_square",
        ("test_relu_bprop", "that-is-g-a-max-0"): "relu_derivative_is_g",
    }
    assert named == {
        key: [f"{mistake}-{n}" for n in range(COPIES)] for key, mistake in expected.items()
    }


def test_the_renamed_copy_and_the_reference_copy_are_flagged_and_nothing_else(graded) -> None:
    root, report = graded
    flagged = {(s.grade_id, m.first, m.second) for s in report.similarity for m in s.matches}
    assert flagged == {
        (COPIED, "copy-a", "copy-b"),
        (COPIED, "from-reference", "chainrule.layers.Linear.bprop"),
    }
    with open(root / "reports" / f"{ASSIGNMENT}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["key"] for r in rows if r["kind"] == "similarity"} == {
        "copy-a copy-b",
        "from-reference chainrule.layers.Linear.bprop",
    }
    counts = defaultdict(int)
    for r in rows:
        if r["kind"] == "mistake":
            counts[r["exercise"], r["key"]] = int(r["count"])
    assert counts["test_linear_fprop", "the-bias-b-is-missing"] == COPIES


def test_the_page_opens_in_chromium_offline_and_hides_the_tests(graded, chromium) -> None:
    root, report = graded
    path = root / "reports" / f"{ASSIGNMENT}.html"
    text = page_text(path)
    assert "HIDDEN TESTS" not in path.read_text() and "no verdict" in text
    assert f"{COPIES} of {len(report.students)}" in text
    errors, requests = browser_problems(chromium, path)
    assert errors == [] and requests == []
