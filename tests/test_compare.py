"""The comparison core, chainrule.compare: the rtol/atol rule, the report of the worst entry,
the named mistakes, and errors that name the bad argument."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.compare import Mistake, compare, diagnose, mistake_id

seeds = st.integers(0, 2**32 - 1)


@given(
    shape=st.lists(st.integers(1, 4), max_size=3).map(tuple),
    rtol=st.sampled_from([0.0, 1e-7, 1e-3]),
    atol=st.sampled_from([0.0, 1e-8, 1e-2]),
    seed=seeds,
)
@settings(max_examples=60, deadline=None)
def test_an_entry_passes_iff_it_is_within_atol_plus_rtol_times_the_expected(
    shape, rtol, atol, seed
):
    rng = np.random.default_rng(seed)
    expected = rng.standard_normal(shape) * 10.0 ** rng.integers(-9, 2, size=shape)
    # Errors around the tolerance of each entry, some exactly 0, some on the boundary.
    allowed = atol + rtol * np.abs(expected)
    got = expected + rng.choice([-1.0, 1.0], size=shape) * allowed * rng.choice(
        [0.0, 0.5, 2.0], size=shape
    )
    report = compare(got, expected, name="f", rtol=rtol, atol=atol)
    within = np.abs(got - expected) <= allowed
    assert report.passed == bool(within.all())
    assert report.bad == int(np.count_nonzero(~within))
    assert report.size == expected.size and report.shape == expected.shape


def test_the_report_names_the_worst_entry_with_both_values_and_the_relative_error():
    expected = np.array([[1.0, 2.0, 4.0], [0.5, -3.0, 1e-9]])
    got = expected.copy()
    got[0, 2] = 4.4  # 10% off
    got[1, 2] = 2e-9  # 100% off, but tiny: atol covers it
    report = compare(got, expected, name="g", rtol=1e-3, atol=1e-6)
    assert not report.passed and report.bad == 1
    assert report.worst_index == (0, 2)
    assert (report.got, report.expected) == (4.4, 4.0)
    assert report.rel_error == pytest.approx(0.1)
    assert report.ratio == pytest.approx(0.4 / (1e-6 + 4e-3))
    text = str(report)
    assert text.startswith("g: 1 of 6 entries differ from the expected values (rtol=0.001")
    assert "worst entry at index [0, 2]: expected 4, got 4.4 (relative error 0.1)" in text


def test_a_gradient_report_says_analytic_and_numeric_and_names_the_pattern():
    numeric = np.arange(1.0, 7.0).reshape(2, 3)
    report = compare(-numeric, numeric, name="grads['W']", numeric=True)
    assert not report.passed
    assert report.mistake == Mistake("sign-flipped", "sign flipped")
    text = str(report)
    assert text.startswith("grads['W'] disagrees with central finite differences: 6 of 6")
    assert "worst entry at index [1, 2]: analytic -6, numeric 6 (relative error 2)" in text
    assert text.endswith("hint: sign flipped")


def test_a_known_mistake_comes_before_the_pattern_and_adds_a_line():
    numeric = np.arange(1.0, 5.0)
    report = compare(
        2 * numeric,
        numeric,
        name="g",
        numeric=True,
        batch_size=2,
        mistakes={"not this one": numeric + 1, Mistake("doubled", "you doubled it"): 2 * numeric},
    )
    assert report.mistake == Mistake("doubled", "you doubled it")
    assert "hint: off by a constant factor: too large by 2 = N" in report.message()
    assert report.message("\ninputs: ...").endswith("\ninputs: ...\nlikely mistake: you doubled it")


def test_a_passing_comparison_names_no_mistake_even_if_it_matches_one():
    report = compare(1.0, 1.0, name="f", mistakes={"the right answer": 1.0})
    assert report.passed and report.mistake is None and report.likely == ""
    assert report.worst_index == () and report.where == ""


@pytest.mark.parametrize(
    ("got", "problem", "mistake"),
    [
        (None, "returned None; did you forget a `return` statement?", "returned-none"),
        ("oops", "returned oops (str), which is not an array of numbers", "not-numbers"),
        (np.zeros(3), "returned an array of shape (3,), expected shape (3, 1)", "wrong-shape"),
        (
            np.zeros((1, 3)),
            "returned an array of shape (1, 3), expected shape (3, 1)",
            "transposed",
        ),
    ],
)
def test_results_that_cannot_be_compared_entry_by_entry_say_why(got, problem, mistake):
    report = compare(got, np.ones((3, 1)), name="f", numeric=True)
    assert not report.passed and report.worst_index is None
    assert report.problem.startswith(problem)
    assert str(report).startswith(f"f {problem}")
    assert report.mistake.id == mistake


def test_nan_fails_as_the_worst_entry_unless_both_are_nan():
    report = compare([1.0, np.nan, 3.5, np.nan], [1.0, 2.0, 3.0, np.nan], name="f", rtol=1e-3)
    assert report.bad == 2 and report.worst_index == (1,) and math.isnan(report.got)
    assert compare([np.nan, 1.0], [np.nan, 1.0], name="f").passed


def test_exact_comparisons_and_empty_arrays():
    assert compare([0.0, 1.0], [0.0, 1.0], name="f", rtol=0.0).passed
    report = compare([0.0, 1e-300], [0.0, 0.0], name="f", rtol=0.0)
    assert not report.passed and report.rel_error == math.inf
    assert "relative error" not in str(report)  # none at an expected 0
    assert compare(np.zeros((0, 3)), np.zeros((0, 3)), name="f").passed


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rtol": -1e-7}, ValueError, "rtol must be a finite number >= 0, got -1e-07"),
        ({"atol": "0"}, TypeError, "atol must be a real number, got str"),
        ({"expected": "one"}, TypeError, "expected must be a numeric array, got dtype <U3"),
        ({"expected": 1j}, TypeError, "expected must be real"),
    ],
)
def test_bad_arguments_of_the_test_raise_errors_that_name_them(kwargs, error, match):
    arguments = {"got": 1.0, "expected": 1.0, "name": "f", **kwargs}
    with pytest.raises(error, match=match):
        compare(**arguments)


def test_diagnose_names_common_mistakes():
    g = np.arange(1.0, 13.0).reshape(3, 4)
    sq = np.arange(1.0, 10.0).reshape(3, 3)
    assert diagnose(g, g) is None
    assert diagnose(g.T, g) == Mistake(
        "transposed", "shape (4, 3) is the transpose of the expected (3, 4)"
    )
    assert diagnose(np.ones(5), g).id == "wrong-shape"
    assert diagnose(sq.T, sq) == Mistake("transposed", "looks transposed")
    assert diagnose(-g, g).id == "sign-flipped"
    assert diagnose(8 * g, g) == Mistake(
        "constant-factor", "off by a constant factor: too large by 8"
    )
    assert "too small by 8" in str(diagnose(g / 8, g))
    assert diagnose(0 * g, g).id == "all-zeros"
    assert diagnose(g + np.eye(3, 4), g) is None  # no known pattern: no guess


def test_diagnose_blames_the_batch_mean_only_for_a_batch_of_that_size():
    g = np.arange(1.0, 13.0).reshape(3, 4)
    assert diagnose(2 * g, g).id == "constant-factor"  # one example: a factor, no batch
    assert diagnose(2 * g, g, batch_size=5).id == "constant-factor"  # a factor that is not N
    missing = diagnose(5 * g, g, batch_size=5)
    assert missing.id == "batch-mean-missing"
    assert "1/N of the mean over the batch is missing" in missing.explanation
    assert diagnose(g / 5, g, batch_size=5).id == "batch-mean-twice"
    assert diagnose(5 * g, g, batch_size=1).id == "constant-factor"


def test_mistake_ids_are_short_slugs():
    assert mistake_id("sign flipped: the gradient is f(x) - e(y)") == "sign-flipped"
    assert (
        mistake_id("the bias is shared by all examples: sum G")
        == "the-bias-is-shared-by-all-examples"
    )
    assert len(mistake_id("word " * 40)) <= 48
    assert mistake_id("!!!") == "unnamed"
