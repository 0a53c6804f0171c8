"""The tolerances of chainrule.checks for statistics of random draws: each is at least as wide
as the exact quantile it bounds, and check_statistic explains a failure."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from chainrule.checks import (
    check_statistic,
    chi_square_interval,
    gaussian_mean_tolerance,
    hoeffding_tolerance,
)


@pytest.mark.parametrize("failure", [1e-2, 1e-7])
@pytest.mark.parametrize("n", [10, 1000, 100_000])
def test_bounds_contain_the_exact_quantiles(n, failure):
    low, high = chi_square_interval(n, failure)
    assert low <= stats.chi2.ppf(failure / 2, n) / n
    assert high >= stats.chi2.isf(failure / 2, n) / n
    assert gaussian_mean_tolerance(n, 2.0, failure) >= 2.0 * stats.norm.isf(failure / 2) / np.sqrt(
        n
    )
    # A fair coin (width 1) has the largest variance a variable in [0, 1] can have; the exact
    # binomial tail of its mean is within Hoeffding's tolerance.
    t = hoeffding_tolerance(n, 1.0, failure)
    assert stats.binom.sf(np.ceil(n * (0.5 + t)) - 1, n, 0.5) <= failure / 2


def test_hoeffding_holds_for_a_skewed_distribution():
    rng = np.random.default_rng(0)
    n, failure = 50, 0.05
    means = rng.exponential(size=(20_000, n)).clip(max=3.0).mean(axis=1)  # draws in [0, 3]
    expected = 1.0 - np.exp(-3.0)  # E[min(X, 3)] for X ~ Exp(1)
    t = hoeffding_tolerance(n, 3.0, failure)
    assert np.mean(np.abs(means - expected) >= t) <= failure


def test_check_statistic_passes_inside_and_explains_outside():
    check_statistic(0.5, 0.4, 0.6, name="f", what="the mean", failure=1e-7)
    with pytest.raises(
        AssertionError, match=r"(?s)f: the mean is 0\.7.*\[0\.4, 0\.6\].*1e-07.*hint: x"
    ):
        check_statistic(0.7, 0.4, 0.6, name="f", what="the mean", failure=1e-7, hint="x")
