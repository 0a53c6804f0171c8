"""Gradient descent and its stochastic, scheduled and momentum variants; Newton's step.

Notation of the notes: parameters θ, learning rate α_t at update t (t = 0, 1, 2, ... counts
updates, not epochs), gradient ∇_θ of the mean loss over a minibatch. A plain step is
θ ← θ - α_t ∇_θ. Every update here is done in place on the parameter arrays.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from chainrule._validate import as_float_array, as_rng, positive_int, positive_number

Schedule = Callable[[int], float]


def _update_count(t: object) -> int:
    if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
        raise ValueError(f"t must be an update count (an integer >= 0), got {t!r}")
    return int(t)


def constant(lr: float) -> Schedule:
    """α_t = α_0 for every t. Does not satisfy Σ α_t² < ∞: SGD keeps jittering near a minimum."""
    lr = positive_number(lr, "lr")

    def schedule(t: int) -> float:
        _update_count(t)
        return lr

    return schedule


def step_decay(lr: float, factor: float = 0.5, *, every: int) -> Schedule:
    """α_t = α_0 · factor^⌊t / every⌋: multiplied by ``factor`` (default: halved) every ``every``
    updates, e.g. once per epoch with ``every = ceil(N / batch_size)``."""
    lr = positive_number(lr, "lr")
    factor = positive_number(factor, "factor")
    if factor > 1.0:
        raise ValueError(f"factor must be in (0, 1] so the rate decays, got {factor}")
    every = positive_int(every, "every")

    def schedule(t: int) -> float:
        return lr * factor ** (_update_count(t) // every)

    return schedule


def inverse_time(lr: float, decay: float) -> Schedule:
    """α_t = α_0 / (1 + δ t) with decrease constant δ = ``decay`` >= 0.

    For δ > 0 this satisfies the conditions under which SGD converges:
    Σ_t α_t = ∞ (harmonic series) and Σ_t α_t² < ∞.
    """
    lr = positive_number(lr, "lr")
    decay = positive_number(decay, "decay", allow_zero=True)

    def schedule(t: int) -> float:
        return lr / (1.0 + decay * _update_count(t))

    return schedule


def as_schedule(lr: float | Schedule) -> Schedule:
    """A schedule from a number (constant rate > 0) or a schedule (returned as is)."""
    if callable(lr):
        return lr
    return constant(lr)


def minibatches(
    X: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator | int | None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of minibatches (X_b, y_b) in a random order drawn from ``rng``.

    X: (N, ...), y: (N, ...). Every example appears in exactly one batch; all batches have
    ``batch_size`` rows except possibly the last, which holds the N mod batch_size left over.
    Arguments are checked when the function is called, not at the first ``next``.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y need a batch axis, got shapes {X.shape} and {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y must have the same number of examples, got {X.shape[0]} and {y.shape[0]}"
        )
    batch_size = positive_int(batch_size, "batch_size")
    order = as_rng(rng).permutation(X.shape[0])
    return (
        (X[idx], y[idx])
        for idx in (order[i : i + batch_size] for i in range(0, len(order), batch_size))
    )


def _check_matching(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
    if params.keys() != grads.keys():
        raise ValueError(
            f"grads must have the keys of params {sorted(params)}, got {sorted(grads)}"
        )
    for name, p in params.items():
        if np.shape(grads[name]) != p.shape:
            raise ValueError(
                f"grads[{name!r}] must have the shape of params[{name!r}] {p.shape}, "
                f"got {np.shape(grads[name])}"
            )


def gd_step(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray], lr: float) -> None:
    """θ ← θ - α ∇_θ for every entry, in place on the arrays of ``params``.

    params and grads: dicts with the same keys, arrays of matching shapes.
    """
    lr = positive_number(lr, "lr")
    _check_matching(params, grads)
    for name, p in params.items():
        p -= lr * grads[name]


def gradient_descent(
    grad_fn: Callable[[np.ndarray], np.ndarray],
    theta0: np.ndarray,
    lr: float | Schedule,
    steps: int,
) -> np.ndarray:
    """Run θ_{t+1} = θ_t - α_t ∇f(θ_t) from θ_0 and return the trajectory.

    grad_fn: θ (D,) -> ∇f(θ) (D,); theta0: (D,). Returns an array of shape (steps + 1, D)
    whose row t is θ_t (row 0 is θ_0).
    """
    schedule = as_schedule(lr)
    steps = positive_int(steps, "steps")
    theta = np.array(as_float_array(theta0, "theta0", ndim=1))
    trajectory = np.empty((steps + 1, theta.shape[0]))
    trajectory[0] = theta
    for t in range(steps):
        grad = np.asarray(grad_fn(theta), dtype=np.float64)
        if grad.shape != theta.shape:
            raise ValueError(
                f"grad_fn must return a gradient of shape {theta.shape}, got {grad.shape}"
            )
        theta = theta - positive_number(schedule(t), f"lr at t={t}") * grad
        trajectory[t + 1] = theta
    return trajectory


class SGD:
    """Minibatch SGD with momentum, updating the arrays of ``params`` in place.

    With β = ``momentum`` in [0, 1), each :meth:`step` computes the exponential average of
    past gradients and steps along it (the form of the notes, as in PyTorch):

        ∇̄^(t) = ∇_θ^(t) + β ∇̄^(t-1),   ∇̄^(-1) = 0
        θ ← θ - α_t ∇̄^(t)

    β = 0 is plain SGD. Along a constant gradient the step grows to α ∇ / (1 - β), which
    carries the iterate across plateaus; with a constant α this is the same as the
    "velocity" form v ← β v - α ∇, θ ← θ + v.

    params: dict name -> float64 array (e.g. ``model.params``); lr: a rate > 0 or a schedule
    t -> α_t of the update count t.
    """

    def __init__(
        self,
        params: Mapping[str, np.ndarray],
        lr: float | Schedule,
        momentum: float = 0.0,
    ) -> None:
        self.params = dict(params)
        for name, p in self.params.items():
            if not isinstance(p, np.ndarray) or p.dtype != np.float64:
                raise TypeError(
                    f"params[{name!r}] must be a float64 numpy array updated in place, "
                    f"got {type(p).__name__}"
                )
        self.schedule = as_schedule(lr)
        self.momentum = positive_number(momentum, "momentum", allow_zero=True)
        if self.momentum >= 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.velocity = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.t = 0

    @property
    def lr(self) -> float:
        """The rate α_t the next step will use."""
        return self.schedule(self.t)

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        """One update of every parameter from ``grads`` (same keys and shapes as params)."""
        _check_matching(self.params, grads)
        lr = positive_number(self.lr, f"lr at t={self.t}")
        for name, p in self.params.items():
            direction = grads[name]
            if self.momentum:
                direction = self.velocity[name]
                direction *= self.momentum
                direction += grads[name]
            p -= lr * direction
        self.t += 1


def newton_step(theta: np.ndarray, grad: np.ndarray, hessian: np.ndarray) -> np.ndarray:
    """θ_{t+1} = θ_t - H^{-1} ∇, the minimum of the second-order Taylor expansion at θ_t.

    theta, grad: (D,); hessian H: (D, D). H^{-1} ∇ is obtained by solving H s = ∇, never by
    forming the inverse. Returns the new θ (a new array). On a quadratic
    f(θ) = ½ θᵀAθ - bᵀθ with A positive definite one step lands on the minimum A^{-1} b.
    Raises ValueError if H is not square (D, D) or is singular.
    """
    theta = as_float_array(theta, "theta", ndim=1)
    grad = as_float_array(grad, "grad", ndim=1)
    hessian = as_float_array(hessian, "hessian", ndim=2)
    D = theta.shape[0]
    if grad.shape != (D,):
        raise ValueError(f"grad must have the shape of theta ({D},), got {grad.shape}")
    if hessian.shape != (D, D):
        raise ValueError(f"hessian must be a square ({D}, {D}) matrix, got {hessian.shape}")
    if not np.all(np.isfinite(hessian)) or np.linalg.cond(hessian) > 1.0 / np.finfo(float).eps:
        raise ValueError("hessian is singular (or nearly so): the Newton step is not defined")
    return theta - np.linalg.solve(hessian, grad)
