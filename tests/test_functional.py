"""Activations, softmax and losses: values, derivatives against central differences, stability."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import functional as F
from chainrule.gradcheck import numerical_derivative, numerical_gradient, rel_error

ACTIVATIONS = {
    "linear": (F.linear, F.linear_grad),
    "sigmoid": (F.sigmoid, F.sigmoid_grad),
    "tanh": (F.tanh, F.tanh_grad),
    "relu": (F.relu, F.relu_grad),
    "leaky_relu": (F.leaky_relu, F.leaky_relu_grad),
}

shapes = st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple)
seeds = st.integers(0, 2**32 - 1)


def away_from_kink(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random values with |a| >= 0.1, so a step h = 1e-5 never crosses ReLU's kink at 0."""
    a = rng.uniform(0.1, 3.0, size=shape)
    return a * rng.choice([-1.0, 1.0], size=shape)


@pytest.mark.parametrize("name", ACTIVATIONS)
@given(shape=shapes, seed=seeds)
@settings(max_examples=25, deadline=None)
def test_activation_grad_matches_central_differences(name, shape, seed):
    g, g_grad = ACTIVATIONS[name]
    a = away_from_kink(np.random.default_rng(seed), shape)
    assert rel_error(g_grad(a), numerical_derivative(g, a)) < 1e-7


def test_activation_values():
    a = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(F.sigmoid(a), 1 / (1 + np.exp(-a)))
    np.testing.assert_allclose(F.tanh(a), np.tanh(a))
    np.testing.assert_allclose(F.relu(a), [0, 0, 0, 0.5, 2])
    np.testing.assert_allclose(F.leaky_relu(a, 0.1), [-0.2, -0.05, 0, 0.5, 2])
    np.testing.assert_allclose(F.relu_grad(a), [0, 0, 0, 1, 1])
    np.testing.assert_allclose(F.linear(a), a)


def test_sigmoid_saturates_without_overflow():
    with np.errstate(over="raise"):
        s = F.sigmoid(np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(s, [0.0, 1.0])
    assert np.all(F.sigmoid_grad(np.array([-1000.0, 1000.0])) == 0.0)


@given(n=st.integers(1, 6), c=st.integers(2, 7), seed=seeds)
@settings(max_examples=30, deadline=None)
def test_softmax_is_a_distribution_and_log_softmax_agrees(n, c, seed):
    A = np.random.default_rng(seed).normal(scale=5, size=(n, c))
    P = F.softmax(A)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert np.all(P > 0)
    np.testing.assert_allclose(F.log_softmax(A), np.log(P), atol=1e-12)
    np.testing.assert_allclose(F.logsumexp(A), np.log(np.exp(A).sum(axis=1)))


def test_softmax_is_stable_at_large_logits():
    A = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise"):
        P = F.softmax(A)
        logP = F.log_softmax(A)
        lse = F.logsumexp(A)
    assert np.all(np.isfinite(P)) and np.all(np.isfinite(logP))
    np.testing.assert_allclose(P[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(logP[0], [0.0, -1000.0, -2000.0])
    e = np.exp(-1.0)
    np.testing.assert_allclose(P[1], [1 / (2 + e), 1 / (2 + e), e / (2 + e)])
    np.testing.assert_allclose(P[2], [1 / 3] * 3)
    np.testing.assert_allclose(lse[2], -1000.0 + np.log(3.0))
    loss = F.softmax_cross_entropy(A, np.array([2, 2, 0]))
    np.testing.assert_allclose(loss, (2000.0 + (1.0 + np.log(2 + e)) + np.log(3.0)) / 3)


@given(n=st.integers(1, 6), c=st.integers(2, 6), seed=seeds)
@settings(max_examples=30, deadline=None)
def test_cross_entropy_grad_matches_central_differences(n, c, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2, size=(n, c))
    y = rng.integers(0, c, size=n)
    numeric = numerical_gradient(lambda A: F.softmax_cross_entropy(A, y), logits)
    analytic = F.softmax_cross_entropy_grad(logits, y)
    assert rel_error(analytic, numeric) < 1e-7
    np.testing.assert_allclose(analytic, (F.softmax(logits) - F.one_hot(y, c)) / n)


@given(n=st.integers(1, 6), c=st.integers(1, 6), scale=st.sampled_from([1.0, 1e3]), seed=seeds)
@settings(max_examples=40, deadline=None)
def test_cross_entropy_is_exactly_the_mean_of_minus_log_softmax_at_the_labels(n, c, scale, seed):
    # Computed as logsumexp(a_n) - a_{n,y_n}: the same floats as -log_softmax(A)[n, y_n].
    rng = np.random.default_rng(seed)
    A = rng.normal(scale=scale, size=(n, c))
    y = rng.integers(0, c, size=n)
    expected = -float(F.log_softmax(A)[np.arange(n), y].sum()) / n
    assert F.softmax_cross_entropy(A, y) == expected
    # Any other numeric input is converted first and gives the same loss.
    assert F.softmax_cross_entropy(A.tolist(), y.astype(np.uint8)) == expected
    assert np.isfinite(expected)


def test_cross_entropy_is_mean_negative_log_likelihood():
    logits = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]))
    y = np.array([0, 1])
    np.testing.assert_allclose(F.softmax_cross_entropy(logits, y), -(np.log(0.5) + np.log(0.8)) / 2)


@given(shape=st.tuples(st.integers(1, 6), st.integers(1, 4)), seed=seeds)
@settings(max_examples=30, deadline=None)
def test_squared_error_and_grad(shape, seed):
    rng = np.random.default_rng(seed)
    pred, target = rng.normal(size=shape), rng.normal(size=shape)
    np.testing.assert_allclose(
        F.squared_error(pred, target), 0.5 * np.sum((pred - target) ** 2) / shape[0]
    )
    numeric = numerical_gradient(lambda p: F.squared_error(p, target), pred)
    assert rel_error(F.squared_error_grad(pred, target), numeric) < 1e-7


def test_one_hot():
    np.testing.assert_array_equal(F.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
            ValueError,
            r"\[0, 3\)",
        ),
        (
            lambda: F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, -1])),
            ValueError,
            "labels",
        ),
        (
            lambda: F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])),
            TypeError,
            "integer",
        ),
        (
            lambda: F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])),
            ValueError,
            r"\(2,\)",
        ),
        (
            lambda: F.softmax_cross_entropy(np.zeros(3), np.array([0])),
            ValueError,
            "logits must be 2-D",
        ),
        (
            lambda: F.softmax_cross_entropy(np.array([[np.nan, 0.0]]), np.array([0])),
            ValueError,
            "logits must be finite",
        ),
        (
            lambda: F.softmax_cross_entropy_grad(np.array([[np.inf, 0.0]]), np.array([0])),
            ValueError,
            "finite",
        ),
        (lambda: F.squared_error(np.zeros(3), np.zeros(4)), ValueError, "same shape"),
        (
            lambda: F.squared_error(np.array([np.nan]), np.zeros(1)),
            ValueError,
            "pred must be finite",
        ),
        (lambda: F.sigmoid(np.array(["a"])), TypeError, "a must be a numeric array"),
        (lambda: F.one_hot(np.array([[0]]), 2), ValueError, r"shape \(N,\)"),
    ],
)
def test_bad_input_raises_a_named_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
