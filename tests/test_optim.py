"""Schedules, minibatches, gradient descent, momentum and Newton's step on quadratics."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import optim

seeds = st.integers(0, 2**32 - 1)


def spd_quadratic(rng: np.random.Generator, D: int, low: float = 1.0, high: float = 10.0):
    """f(θ) = ½ θᵀAθ - bᵀθ with A symmetric positive definite, eigenvalues in [low, high]."""
    Q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    eigenvalues = rng.uniform(low, high, size=D)
    eigenvalues[0] = high  # λ_max known exactly
    A = Q @ np.diag(eigenvalues) @ Q.T
    A = (A + A.T) / 2
    b = rng.normal(size=D)
    return A, b, np.linalg.solve(A, b), high


# --- schedules ------------------------------------------------------------------------------


def test_constant_schedule():
    schedule = optim.constant(0.3)
    assert [schedule(t) for t in (0, 1, 1000)] == [0.3, 0.3, 0.3]


def test_step_decay_halves_every_period():
    schedule = optim.step_decay(0.8, every=3)
    assert [schedule(t) for t in range(8)] == [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2]
    assert optim.step_decay(1.0, 0.1, every=1)(2) == pytest.approx(0.01)


@given(lr=st.floats(0.01, 1.0), decay=st.floats(0.01, 1.0), t=st.integers(0, 10**6))
@settings(max_examples=30, deadline=None)
def test_inverse_time_values(lr, decay, t):
    schedule = optim.inverse_time(lr, decay)
    assert schedule(t) == pytest.approx(lr / (1 + decay * t))
    assert schedule(t + 1) < schedule(t)


def test_inverse_time_meets_the_robbins_monro_conditions():
    lr, decay = 0.5, 0.1
    schedule = optim.inverse_time(lr, decay)
    alphas = np.array([schedule(t) for t in range(200_000)])
    partial = np.cumsum(alphas)
    squares = np.cumsum(alphas**2)
    for T in (10, 1000, 200_000):
        # Σ α_t >= (α_0/δ) log(1 + δT), unbounded in T ...
        assert partial[T - 1] >= lr / decay * math.log(1 + decay * T)
        # ... while Σ α_t² <= α_0² (1 + 1/δ) for every T.
        assert squares[T - 1] <= lr**2 * (1 + 1 / decay)
    assert optim.inverse_time(0.5, 0.0)(10**6) == 0.5  # δ = 0: a constant rate


# --- minibatches ----------------------------------------------------------------------------


@given(n=st.integers(1, 60), batch_size=st.integers(1, 25), seed=seeds)
@settings(max_examples=40, deadline=None)
def test_every_example_exactly_once_per_epoch(n, batch_size, seed):
    X = np.arange(n, dtype=float)[:, None] * np.ones((1, 3))
    y = 10 * np.arange(n)
    batches = list(optim.minibatches(X, y, batch_size, seed))
    sizes = [len(yb) for _, yb in batches]
    assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    for Xb, yb in batches:
        np.testing.assert_array_equal(10 * Xb[:, 0], yb)  # rows stay paired with their labels
    seen = np.concatenate([yb for _, yb in batches])
    np.testing.assert_array_equal(np.sort(seen), y)


def test_minibatch_order_is_shuffled_per_epoch_and_reproducible():
    X, y = np.arange(40.0)[:, None], np.arange(40)

    def epoch_order(rng):
        return np.concatenate([yb for _, yb in optim.minibatches(X, y, 7, rng)])

    rng = np.random.default_rng(3)
    first, second = epoch_order(rng), epoch_order(rng)
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, y)
    np.testing.assert_array_equal(epoch_order(5), epoch_order(5))
    rng_again = np.random.default_rng(3)
    np.testing.assert_array_equal(epoch_order(rng_again), first)
    np.testing.assert_array_equal(epoch_order(rng_again), second)


# --- gradient descent -----------------------------------------------------------------------


def test_gd_step_updates_in_place():
    W, b = np.ones((2, 3)), np.zeros(2)
    params = {"W": W, "b": b}
    optim.gd_step(params, {"W": np.full((2, 3), 2.0), "b": np.array([1.0, -1.0])}, lr=0.5)
    assert params["W"] is W and params["b"] is b
    np.testing.assert_array_equal(W, np.zeros((2, 3)))
    np.testing.assert_array_equal(b, [-0.5, 0.5])


@given(D=st.integers(2, 6), seed=seeds)
@settings(max_examples=15, deadline=None)
def test_gd_converges_below_2_over_lambda_max_and_diverges_above(D, seed):
    rng = np.random.default_rng(seed)
    A, b, theta_star, lam_max = spd_quadratic(rng, D)
    theta0 = rng.normal(size=D)
    start = np.linalg.norm(theta0 - theta_star)

    stable = optim.gradient_descent(lambda th: A @ th - b, theta0, 1.9 / lam_max, 600)
    assert stable.shape == (601, D)
    np.testing.assert_array_equal(stable[0], theta0)
    np.testing.assert_allclose(stable[-1], theta_star, atol=1e-8 * (1 + start))

    unstable = optim.gradient_descent(lambda th: A @ th - b, theta0, 2.1 / lam_max, 300)
    # the λ_max component is multiplied by |1 - 2.1| = 1.1 per step: 1.1^300 ~ 3e12
    assert np.linalg.norm(unstable[-1] - theta_star) > 1e6 * start


def test_gradient_descent_follows_the_schedule_and_leaves_theta0_alone():
    theta0 = np.array([1.0, 2.0])
    schedule = optim.inverse_time(0.5, 1.0)
    path = optim.gradient_descent(lambda th: np.ones(2), theta0, schedule, 3)
    np.testing.assert_allclose(path[:, 0], [1.0, 0.5, 0.25, 0.25 - 0.5 / 3])
    np.testing.assert_array_equal(theta0, [1.0, 2.0])


# --- SGD with momentum ----------------------------------------------------------------------


@given(beta=st.floats(0.0, 0.95), steps=st.integers(1, 8), seed=seeds)
@settings(max_examples=25, deadline=None)
def test_sgd_momentum_is_the_exponential_average_of_gradients(beta, steps, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(2, 3))
    expected, average = w.copy(), np.zeros_like(w)
    sgd = optim.SGD({"w": w}, lr=0.1, momentum=beta)
    for _ in range(steps):
        g = rng.normal(size=w.shape)
        average = g + beta * average
        expected -= 0.1 * average
        sgd.step({"w": g})
    np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-12)
    assert sgd.t == steps


def test_sgd_without_momentum_is_gd_step_and_uses_the_schedule():
    a, b = np.ones(3), np.ones(3)
    sgd = optim.SGD({"p": a}, lr=optim.step_decay(0.4, every=1))
    for _ in range(3):
        g = np.array([1.0, 2.0, 3.0])
        lr = sgd.lr
        sgd.step({"p": g})
        optim.gd_step({"p": b}, {"p": g}, lr)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, 1 - (0.4 + 0.2 + 0.1) * np.array([1.0, 2.0, 3.0]))


def test_momentum_crosses_an_ill_conditioned_valley_faster():
    A = np.diag([1.0, 100.0])  # condition number 100
    L, mu = 100.0, 1.0

    def distance_after(lr: float, beta: float, steps: int = 150) -> float:
        theta = np.array([1.0, 1.0])
        sgd = optim.SGD({"theta": theta}, lr=lr, momentum=beta)
        for _ in range(steps):
            sgd.step({"theta": A @ theta})
        return float(np.linalg.norm(theta))

    plain = distance_after(2 / (L + mu), 0.0)  # GD's best rate: (L - μ)/(L + μ) per step
    root_L, root_mu = math.sqrt(L), math.sqrt(mu)
    heavy = distance_after(
        4 / (root_L + root_mu) ** 2, ((root_L - root_mu) / (root_L + root_mu)) ** 2
    )
    assert plain > 1e-2
    assert heavy < 1e-8


# --- Newton ---------------------------------------------------------------------------------


@given(D=st.integers(1, 8), seed=seeds)
@settings(max_examples=25, deadline=None)
def test_newton_solves_a_quadratic_in_one_step(D, seed):
    rng = np.random.default_rng(seed)
    A, b, theta_star, _ = spd_quadratic(rng, D, low=0.1, high=100.0)
    theta = rng.normal(size=D) * 10
    new = optim.newton_step(theta, A @ theta - b, A)
    np.testing.assert_allclose(new, theta_star, rtol=1e-9, atol=1e-9)
    assert not np.shares_memory(new, theta)


def test_newton_converges_fast_on_a_smooth_convex_function():
    # f(θ) = Σ exp(θ_i) - θ_i has its minimum at 0; gradient exp(θ) - 1, Hessian diag(exp(θ))
    theta = np.array([1.0, -0.5])
    for _ in range(6):
        theta = optim.newton_step(theta, np.exp(theta) - 1, np.diag(np.exp(theta)))
    np.testing.assert_allclose(theta, 0.0, atol=1e-12)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: optim.constant(0.0), ValueError, "lr must be a finite number > 0"),
        (lambda: optim.constant(-0.1), ValueError, "lr must be"),
        (lambda: optim.constant("fast"), TypeError, "lr must be a real number"),
        (lambda: optim.step_decay(0.1, 1.5, every=2), ValueError, r"factor must be in \(0, 1\]"),
        (lambda: optim.step_decay(0.1, every=0), ValueError, "every must be >= 1"),
        (lambda: optim.inverse_time(0.1, -1.0), ValueError, "decay must be a finite number >= 0"),
        (lambda: optim.inverse_time(0.1, 0.1)(-1), ValueError, "t must be an update count"),
        (lambda: optim.constant(0.1)(1.5), ValueError, "t must be an update count"),
        (
            lambda: optim.minibatches(np.zeros((3, 2)), np.zeros(4), 2, 0),
            ValueError,
            "same number of examples",
        ),
        (lambda: optim.minibatches(np.zeros((3, 2)), np.zeros(3), 0, 0), ValueError, "batch_size"),
        (lambda: optim.minibatches(np.zeros((3, 2)), np.zeros(3), 2, "x"), TypeError, "rng"),
        (lambda: optim.gd_step({"w": np.ones(2)}, {"w": np.ones(2)}, 0), ValueError, "lr must be"),
        (
            lambda: optim.gd_step({"w": np.ones(2)}, {"v": np.ones(2)}, 0.1),
            ValueError,
            "grads must have the keys of params",
        ),
        (
            lambda: optim.gd_step({"w": np.ones(2)}, {"w": np.ones(3)}, 0.1),
            ValueError,
            r"grads\['w'\] must have the shape",
        ),
        (lambda: optim.SGD({"w": np.ones(2)}, lr=-1.0), ValueError, "lr must be"),
        (lambda: optim.SGD({"w": np.ones(2)}, 0.1, momentum=1.0), ValueError, "momentum"),
        (lambda: optim.SGD({"w": np.ones(2)}, 0.1, momentum=-0.5), ValueError, "momentum"),
        (lambda: optim.SGD({"w": [1.0, 2.0]}, 0.1), TypeError, r"params\['w'\] must be a float64"),
        (
            lambda: optim.gradient_descent(lambda th: th, np.ones((2, 2)), 0.1, 3),
            ValueError,
            "theta0 must be 1-D",
        ),
        (
            lambda: optim.gradient_descent(lambda th: th[:1], np.ones(2), 0.1, 3),
            ValueError,
            "grad_fn must return a gradient of shape",
        ),
        (
            lambda: optim.gradient_descent(lambda th: th, np.ones(2), 0.1, 0),
            ValueError,
            "steps must be >= 1",
        ),
        (
            lambda: optim.newton_step(np.ones(2), np.ones(2), np.ones((2, 3))),
            ValueError,
            r"hessian must be a square \(2, 2\) matrix",
        ),
        (
            lambda: optim.newton_step(np.ones(2), np.ones(2), np.ones((2, 2))),
            ValueError,
            "hessian is singular",
        ),
        (
            lambda: optim.newton_step(np.ones(2), np.ones(3), np.eye(2)),
            ValueError,
            "grad must have the shape of theta",
        ),
        (
            lambda: optim.newton_step(np.ones((2, 1)), np.ones(2), np.eye(2)),
            ValueError,
            "theta must be 1-D",
        ),
    ],
)
def test_bad_input_raises_a_named_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_sgd_step_checks_grads_and_the_scheduled_rate():
    sgd = optim.SGD({"w": np.ones(2)}, lr=lambda t: 0.1 if t == 0 else 0.0)
    with pytest.raises(ValueError, match="grads must have the keys"):
        sgd.step({"v": np.ones(2)})
    sgd.step({"w": np.ones(2)})
    with pytest.raises(ValueError, match="lr at t=1 must be a finite number > 0"):
        sgd.step({"w": np.ones(2)})
