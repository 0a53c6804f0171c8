"""The least-squares problems of the learning-rate explorer, without any widget: the batch
gradient against central differences, the minimum, the conditioning the docstrings promise."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.gradcheck import numerical_gradient, rel_error
from chainrule.least_squares import N_EXAMPLES, PROBLEMS, LeastSquares

seeds = st.integers(0, 2**32 - 1)


@given(dims=st.integers(1, 5), batch=st.integers(1, 8), seed=seeds)
@settings(max_examples=30, deadline=None)
def test_batch_gradient_matches_central_differences(dims, batch, seed):
    rng = np.random.default_rng(seed)
    features, targets = rng.standard_normal((batch, dims)), rng.standard_normal(batch)
    theta = rng.standard_normal(dims)

    def mean_loss(t: np.ndarray) -> float:  # the test's own (1/B) Σ ½ (φ·θ - y)²
        return float(np.mean(0.5 * (features @ t - targets) ** 2))

    analytic = LeastSquares.gradient(theta, features, targets)
    assert analytic.shape == (dims,)
    assert rel_error(analytic, numerical_gradient(mean_loss, theta)) < 1e-7


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@given(seed=st.integers(0, 1000), theta_seed=seeds)
@settings(max_examples=10, deadline=None)
def test_full_batch_gradient_is_the_gradient_of_the_loss(name, seed, theta_seed):
    problem = PROBLEMS[name](seed)
    theta = np.random.default_rng(theta_seed).uniform(-3, 3, size=2)
    numeric = numerical_gradient(lambda t: float(problem.loss(t)), theta)
    analytic = problem.gradient(theta, problem.features, problem.targets)
    assert rel_error(analytic, numeric) < 1e-7


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_the_minimum_is_stationary_and_lowest(name):
    problem = PROBLEMS[name](0)
    assert problem.features.shape == (N_EXAMPLES, 2) and problem.targets.shape == (N_EXAMPLES,)
    gradient = problem.gradient(problem.minimum, problem.features, problem.targets)
    np.testing.assert_allclose(gradient, 0.0, atol=1e-12)
    thetas = np.random.default_rng(1).uniform(-3, 3, size=(200, 2))
    assert np.all(problem.loss(thetas) >= problem.loss(problem.minimum))
    # Both θ_0 and θ* lie in the box the contours are drawn over.
    low, high = np.array(problem.extent[::2]), np.array(problem.extent[1::2])
    for point in (problem.theta0, problem.minimum):
        assert np.all((low < point) & (point < high)), point


def test_loss_is_vectorized_over_rows():
    problem = PROBLEMS["regression"](2)
    thetas = np.random.default_rng(0).standard_normal((7, 2))
    rows = [float(problem.loss(theta)) for theta in thetas]
    np.testing.assert_allclose(problem.loss(thetas), rows, rtol=1e-14)
    assert problem.loss(thetas[0]).shape == ()


def test_one_problem_is_ill_conditioned_and_the_other_is_not():
    def condition(name: str) -> float:
        problem = PROBLEMS[name](0)
        eigenvalues = np.linalg.eigvalsh(problem.features.T @ problem.features / N_EXAMPLES)
        return eigenvalues.max() / eigenvalues.min()

    assert 30 < condition("quadratic") < 42  # the docstring's 36 with seed 0
    assert condition("regression") < 5


def test_the_seed_fixes_the_data():
    for build in PROBLEMS.values():
        np.testing.assert_array_equal(build(4).targets, build(4).targets)
        assert not np.array_equal(build(4).targets, build(5).targets)
