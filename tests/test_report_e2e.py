"""End to end: ``python -m grader report`` on the synthetic class of notebook 04
(tests/synthetic_class.py), graded with the session's graded course (tests/graded_course.py):
the solution, the blank release, each classic wrong answer of the catalogue twice, a renamed
copy and a copy of the reference module's Linear.bprop, next to the corpus's students of 04.

The named mistakes are counted from the identifiers the checkers of chainrule.checks tag their
messages with; the flagged pairs are exactly the renamed copy and the reference copy; the page
opens in Chromium with no console error and no network request.
"""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest
from graded_course import GradedCourse
from html_text import browser_problems, page_text
from synthetic_class import ASSIGNMENT, COPIED, COPIES, copy_name
from test_wrong_bprops import MISTAKES

from grader.report import Report, build_report
from grader.submissions import Submission, graded_tests

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(graded_course: GradedCourse) -> tuple[GradedCourse, Report]:
    return graded_course, build_report(graded_course.course, ASSIGNMENT)


def test_each_mistake_of_the_catalogue_is_counted_once_per_student(graded) -> None:
    course, report = graded[0].course, graded[1]
    by_test = {e.grade_id: e for e in report.exercises}
    for mistake, (_, test, _, _) in MISTAKES[ASSIGNMENT].items():
        students = [copy_name(mistake, n) for n in range(COPIES)]
        groups = by_test[test].mistakes + by_test[test].unexplained
        holding = [g for g in groups if set(students) & set(g.students)]
        assert len(holding) == 1 and set(students) <= set(holding[0].students), (mistake, holding)
        records = {
            s: {t.grade_id: t for t in graded_tests(course, Submission(s, ASSIGNMENT))}
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
        key: [copy_name(mistake, n) for n in range(COPIES)] for key, mistake in expected.items()
    }


def test_the_renamed_copy_and_the_reference_copy_are_flagged_and_nothing_else(graded) -> None:
    root, report = graded[0].root, graded[1]
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
    root, report = graded[0].root, graded[1]
    path = root / "reports" / f"{ASSIGNMENT}.html"
    text = page_text(path)
    assert "HIDDEN TESTS" not in path.read_text() and "no verdict" in text
    assert f"{COPIES} of {len(report.students)}" in text
    errors, requests = browser_problems(chromium, path)
    assert errors == [] and requests == []
