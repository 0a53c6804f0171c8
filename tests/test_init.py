"""Initializers: shapes, reproducibility, and their distributions' bounds, means and variances."""

import numpy as np
import pytest

from chainrule import init

# With n = 200 * 300 = 6e4 draws, a sample mean lies within 6 standard errors of the true
# mean except with probability ~2e-9; the variance tolerance below is also ~6 standard errors.
FAN_IN, FAN_OUT = 300, 200
N = FAN_IN * FAN_OUT


def _check_moments(W: np.ndarray, var: float, fourth_moment: float) -> None:
    assert abs(W.mean()) < 6 * np.sqrt(var / N)
    assert abs(W.var() - var) < 6 * np.sqrt((fourth_moment - var**2) / N)


def test_glorot_uniform_bound_mean_and_variance():
    W = init.glorot_uniform(FAN_IN, FAN_OUT, rng=0)
    assert W.shape == (FAN_OUT, FAN_IN)
    b = np.sqrt(6) / np.sqrt(FAN_IN + FAN_OUT)
    assert np.abs(W).max() <= b
    assert np.abs(W).max() > 0.99 * b  # the whole interval is used
    _check_moments(W, b**2 / 3, b**4 / 5)


def test_he_normal_variance():
    W = init.he_normal(FAN_IN, FAN_OUT, rng=1)
    var = 2 / FAN_IN
    _check_moments(W, var, 3 * var**2)


def test_normal_std_and_constants():
    W = init.normal(0.5)(FAN_IN, FAN_OUT, rng=2)
    _check_moments(W, 0.25, 3 * 0.25**2)
    np.testing.assert_array_equal(init.zeros(3, 2), np.zeros((2, 3)))
    np.testing.assert_array_equal(init.constant(0.1)(3, 2), np.full((2, 3), 0.1))


def test_same_seed_same_weights_and_no_global_state():
    # The legacy global state must be untouched: the test reads it on purpose.
    np.random.seed(0)  # noqa: NPY002
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    a = init.glorot_uniform(4, 5, rng=11)
    np.testing.assert_array_equal(a, init.glorot_uniform(4, 5, rng=np.random.default_rng(11)))
    assert not np.array_equal(a, init.glorot_uniform(4, 5, rng=12))
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_bad_arguments():
    with pytest.raises(ValueError, match="std must be a finite number > 0"):
        init.normal(-1.0)
    with pytest.raises(ValueError, match="fan_in must be >= 1"):
        init.glorot_uniform(0, 3, rng=0)


def test_by_name_gives_each_initializer():
    assert init.by_name("zeros") is init.zeros
    assert init.by_name("glorot", 5.0) is init.glorot_uniform  # scale is ignored
    assert init.by_name("he") is init.he_normal
    np.testing.assert_array_equal(init.by_name("constant", 0.3)(3, 2), np.full((2, 3), 0.3))
    _check_moments(init.by_name("normal", 0.5)(FAN_IN, FAN_OUT, rng=3), 0.25, 3 * 0.25**2)
    assert set(init.SCHEMES) == {"zeros", "constant", "normal", "glorot", "he"}
    with pytest.raises(ValueError, match=r"scheme must be one of \['constant', "):
        init.by_name("lecun")
