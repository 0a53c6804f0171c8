"""Recorded SGD runs on the least-squares problems, without any widget: they are chainrule.optim's
updates, their records are consistent, and a run that blows up stops before any NaN."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import optim
from chainrule.least_squares import N_EXAMPLES, PROBLEMS, regression
from chainrule.runs import DIVERGENCE_FACTOR, run_sgd


def sgd_path(problem, lr, batch_size, momentum, epochs, seed) -> np.ndarray:
    """θ after 0, 1, ... updates, the updates written out with chainrule.optim (never stopped)."""
    theta, rng = problem.theta0.copy(), np.random.default_rng(seed)
    sgd, path = optim.SGD({"theta": theta}, lr, momentum=momentum), [theta.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            for features, targets in optim.minibatches(
                problem.features, problem.targets, batch_size, rng
            ):
                sgd.step({"theta": problem.gradient(theta, features, targets)})
                path.append(theta.copy())
    return np.array(path)


def test_gd_run_is_chainrule_gradient_descent():
    problem = regression(5)
    run = run_sgd(problem, 0.3, N_EXAMPLES, 0.0, 12, rng=0)

    def full_gradient(theta: np.ndarray) -> np.ndarray:
        return problem.gradient(theta, problem.features, problem.targets)

    expected = optim.gradient_descent(full_gradient, problem.theta0, 0.3, 12)
    # Same arithmetic; only the order of the N terms of the sum differs (shuffled batch).
    np.testing.assert_allclose(run.path, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(run.losses, problem.loss(expected), rtol=1e-12)
    assert run.updates_per_epoch == 1 and run.diverged_at is None


@given(
    name=st.sampled_from(sorted(PROBLEMS)),
    batch_size=st.integers(1, N_EXAMPLES),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    epochs=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=25, deadline=None)
def test_sgd_run_is_chainrule_sgd_over_minibatches(name, batch_size, momentum, epochs, seed):
    problem = PROBLEMS[name](1)
    theta0 = problem.theta0.copy()
    run = run_sgd(problem, 0.05, batch_size, momentum, epochs, rng=seed)
    np.testing.assert_array_equal(problem.theta0, theta0)  # the start is not moved
    path = sgd_path(problem, 0.05, batch_size, momentum, epochs, seed)
    per_epoch = math.ceil(N_EXAMPLES / batch_size)
    assert run.updates_per_epoch == per_epoch and run.diverged_at is None
    assert run.path.shape == (epochs * per_epoch + 1, 2) and run.losses.shape == (len(path),)
    np.testing.assert_array_equal(run.path, path)
    np.testing.assert_allclose(run.losses, problem.loss(run.path), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_stable_runs_approach_the_least_squares_minimum(name):
    problem = PROBLEMS[name](0)
    run = run_sgd(problem, 0.5, N_EXAMPLES, 0.9, 25, rng=0)
    minimum = float(problem.loss(problem.minimum))
    assert run.losses[-1] - minimum < 0.1 * (run.losses[0] - minimum)  # deterministic: GD


@pytest.mark.filterwarnings("error")  # no overflow warning escapes
@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("batch_size", [1, N_EXAMPLES])
def test_a_run_that_blows_up_stops_before_it(name, batch_size):
    problem = PROBLEMS[name](1)
    run = run_sgd(problem, 10.0, batch_size, 0.99, 25, rng=0)
    limit = DIVERGENCE_FACTOR * run.losses[0]
    assert run.diverged_at is not None
    assert len(run.path) == len(run.losses) == run.diverged_at
    assert np.all(np.isfinite(run.path)) and np.all(run.losses <= limit)
    # The updates are those of the run that never stops, up to the first one that blew up.
    path = sgd_path(problem, 10.0, batch_size, 0.99, 25, seed=0)
    np.testing.assert_array_equal(run.path, path[: run.diverged_at])
    with np.errstate(over="ignore", invalid="ignore"):
        assert not problem.loss(path[run.diverged_at]) <= limit


def test_the_rng_fixes_the_run():
    problem = PROBLEMS["quadratic"](0)
    first = run_sgd(problem, 0.1, 7, 0.5, 3, rng=2)
    np.testing.assert_array_equal(first.path, run_sgd(problem, 0.1, 7, 0.5, 3, rng=2).path)
    assert not np.array_equal(first.path, run_sgd(problem, 0.1, 7, 0.5, 3, rng=3).path)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an integer"),
        ({"epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"lr": -0.1}, ValueError, "lr must be a finite number > 0"),
        ({"momentum": 1.0}, ValueError, r"momentum must be in \[0, 1\)"),
        ({"rng": "seed"}, TypeError, "rng must be"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, error, match):
    arguments = {"lr": 0.1, "batch_size": 5, "momentum": 0.0, "epochs": 2, "rng": 0, **kwargs}
    with pytest.raises(error, match=match):
        run_sgd(regression(0), **arguments)
