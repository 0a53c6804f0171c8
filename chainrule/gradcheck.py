"""Finite-difference derivatives and gradient checks: the debugging tool of backprop.

The central difference (f(x + h) - f(x - h)) / 2h has truncation error O(h^2) (the forward
difference only O(h)); in float64 a step h = 1e-5 balances it against round-off, leaving a
relative error around 1e-10 on smooth functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from chainrule._validate import as_float_array, as_rng, positive_number


def numerical_derivative(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray | float, h: float = 1e-5
) -> np.ndarray:
    """Central difference (f(x + h) - f(x - h)) / 2h, elementwise.

    For a scalar function this is f'(x); for an elementwise function g of an array ``a``
    it is g'(a) with the shape of ``a``.
    """
    h = positive_number(h, "h")
    x = as_float_array(x, "x")
    return (np.asarray(f(x + h), dtype=np.float64) - np.asarray(f(x - h), dtype=np.float64)) / (
        2.0 * h
    )


def _scalar(value: object) -> float:
    if isinstance(value, float):  # a Python float or a numpy float64: one number already
        return float(value)
    array = np.asarray(value, dtype=np.float64)
    if array.size != 1:
        raise ValueError(f"f must return a scalar, got an array of shape {array.shape}")
    return float(array.reshape(()))


def _perturbed(
    f: Callable[[], object], flat: np.ndarray, h: float, index: int
) -> tuple[object, object]:
    """f() with entry ``index`` of ``flat`` moved by +h and by -h, in place.

    ``flat`` is a flat view of the array that ``f`` reads (itself or through an object holding
    it); the entry is restored afterwards.
    """
    saved = flat[index]
    flat[index] = saved + h
    plus = f()
    flat[index] = saved - h
    minus = f()
    flat[index] = saved
    return plus, minus


def _gradient_in_place(f: Callable[[], object], x: np.ndarray, h: float) -> np.ndarray:
    """∂f/∂x by central differences, perturbing the float64 array ``x`` in place."""
    grad = np.empty_like(x)
    flat, flat_grad = x.reshape(-1), grad.reshape(-1)
    two_h = 2.0 * h
    for i in range(x.size):
        plus, minus = _perturbed(f, flat, h, i)
        flat_grad[i] = (_scalar(plus) - _scalar(minus)) / two_h
    return grad


def _writable_copy(x: object) -> np.ndarray:
    return np.array(as_float_array(x, "x"), dtype=np.float64, copy=True)


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """∇f(x) by central differences, one entry at a time: (f(x + h e_i) - f(x - h e_i)) / 2h.

    f: scalar function of a float array; x: any shape. Returns an array shaped like ``x``.
    ``x`` itself is not modified. Costs 2 * x.size evaluations of f.
    """
    h = positive_number(h, "h")
    x = _writable_copy(x)
    return _gradient_in_place(lambda: f(x), x, h)


def numerical_jacobian(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Jacobian J[i, j] = ∂ f(x).ravel()[i] / ∂ x.ravel()[j] by central differences.

    Shape (f(x).size, x.size). Costs 2 * x.size evaluations of f.
    """
    h = positive_number(h, "h")
    x = _writable_copy(x)
    out_size = np.asarray(f(x)).size
    J = np.empty((out_size, x.size))
    flat = x.reshape(-1)
    for j in range(x.size):
        plus, minus = _perturbed(lambda: f(x), flat, h, j)
        J[:, j] = (
            np.asarray(plus, dtype=np.float64).reshape(-1)
            - np.asarray(minus, dtype=np.float64).reshape(-1)
        ) / (2.0 * h)
    return J


def rel_error(a: np.ndarray | float, b: np.ndarray | float) -> float:
    """Relative error max|a - b| / max(1e-8, max(|a| + |b|)).

    The worst absolute difference is scaled by the size of the values compared, so entries
    that are zero in both (a ReLU's dead units) do not blow the ratio up. Below 1e-7 in
    float64 means the analytic gradient agrees with central differences.
    """
    a = as_float_array(a, "a")
    b = as_float_array(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(1e-8, float(np.max(np.abs(a) + np.abs(b)))))


def diagnose(
    analytic: np.ndarray,
    numeric: np.ndarray,
    tol: float = 1e-6,
    *,
    batch_size: int | None = None,
) -> str:
    """A hint naming a common backprop mistake whose pattern the analytic gradient shows, or "".

    Recognized: a transposed matrix, a flipped sign, a constant factor, and entries that are zero
    where they should not be. A factor is blamed on the batch mean only when the gradient is that
    of a mean over ``batch_size`` = N > 1 examples and the factor is N (the 1/N left out) or 1/N
    (divided twice); otherwise the hint names the factor alone.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        if analytic.ndim == 2 and analytic.T.shape == numeric.shape:
            return f"shape {analytic.shape} is the transpose of the expected {numeric.shape}"
        return f"shape {analytic.shape} differs from the expected {numeric.shape}"
    if numeric.size == 0 or not np.any(numeric) or rel_error(analytic, numeric) < tol:
        return ""
    if analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1] > 1:
        if rel_error(analytic.T, numeric) < tol:
            return "looks transposed"
    if rel_error(-analytic, numeric) < tol:
        return "sign flipped"
    if not np.any(analytic):
        return "all zeros: is the gradient computed at all?"
    scale = float(np.vdot(analytic, numeric) / np.vdot(numeric, numeric))
    if abs(scale) > tol and rel_error(analytic, scale * numeric) < tol:
        factor = 1.0 / scale if abs(scale) < 1 else scale
        direction = "too small" if abs(scale) < 1 else "too large"
        text = f"off by a constant factor: {direction} by {abs(factor):.4g}"
        if batch_size is not None and batch_size > 1 and np.isclose(abs(factor), batch_size):
            if abs(scale) > 1:
                return f"{text} = N, the batch size: the 1/N of the mean over the batch is missing"
            return f"{text} = N, the batch size: the mean over the batch is taken twice"
        return text
    return ""


@dataclass(frozen=True)
class EntryCheck:
    """The comparison of one gradient (a module input or parameter) with central differences."""

    name: str
    rel_error: float
    worst_index: tuple[int, ...]
    analytic: float
    numeric: float
    hint: str

    def __str__(self) -> str:
        text = (
            f"{self.name}: rel. error {self.rel_error:.2e}, worst entry {self.worst_index}: "
            f"analytic {self.analytic:.8g} vs numeric {self.numeric:.8g}"
        )
        return f"{text} ({self.hint})" if self.hint else text


def compare(
    name: str, analytic: np.ndarray, numeric: np.ndarray, *, batch_size: int | None = None
) -> EntryCheck:
    """Compare an analytic gradient with a numeric one and locate the worst entry
    (``batch_size`` as in :func:`diagnose`)."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    hint = diagnose(analytic, numeric, batch_size=batch_size)
    if analytic.shape != numeric.shape:
        return EntryCheck(name, np.inf, (), np.nan, np.nan, hint)
    if numeric.size == 0:
        return EntryCheck(name, 0.0, (), 0.0, 0.0, "")
    worst = np.unravel_index(int(np.argmax(np.abs(analytic - numeric))), numeric.shape)
    index = tuple(int(i) for i in worst)
    return EntryCheck(
        name,
        rel_error(analytic, numeric),
        index,
        float(analytic[index]),
        float(numeric[index]),
        hint,
    )


@dataclass(frozen=True)
class GradCheckReport:
    """All the gradients of one check, with the worst of them first in ``str()``."""

    checks: tuple[EntryCheck, ...]

    @property
    def worst(self) -> EntryCheck:
        """The check with the largest relative error."""
        return max(self.checks, key=lambda check: check.rel_error)

    @property
    def max_rel_error(self) -> float:
        return self.worst.rel_error

    def passed(self, tol: float = 1e-7) -> bool:
        """True when every gradient agrees with central differences to ``tol``."""
        return all(check.rel_error < tol for check in self.checks)

    def __str__(self) -> str:
        lines = [f"worst: {self.worst}"]
        lines += [f"  {check}" for check in self.checks]
        return "\n".join(lines)


@dataclass(frozen=True)
class DirectionalCheck:
    """∇f(x)·u (analytic) against (f(x + h u) - f(x - h u)) / 2h (numeric) for a random unit u."""

    analytic: float
    numeric: float
    rel_error: float


def directional_check(
    f: Callable[[np.ndarray], float],
    grad: np.ndarray,
    x: np.ndarray,
    rng: np.random.Generator | int | None = None,
    h: float = 1e-5,
) -> DirectionalCheck:
    """Check a whole gradient with 2 evaluations of f along one random unit direction u.

    ``grad`` is the analytic ∇f(x) (shaped like ``x``). A wrong entry is caught with
    probability 1 over the random u, though a single number cannot say which entry is wrong.
    """
    h = positive_number(h, "h")
    x = as_float_array(x, "x")
    grad = as_float_array(grad, "grad")
    if grad.shape != x.shape:
        raise ValueError(f"grad must have the shape of x {x.shape}, got {grad.shape}")
    u = as_rng(rng).standard_normal(x.shape)
    u /= np.linalg.norm(u)
    numeric = (_scalar(f(x + h * u)) - _scalar(f(x - h * u))) / (2.0 * h)
    analytic = float(np.vdot(grad, u))
    return DirectionalCheck(analytic, numeric, rel_error(analytic, numeric))


def check_module(
    module: object,
    x: np.ndarray,
    *,
    y: np.ndarray | None = None,
    rng: np.random.Generator | int | None = None,
    h: float = 1e-5,
) -> GradCheckReport:
    """Check a module's ``bprop`` (input and every parameter gradient) by central differences.

    For a layer, the scalar checked is L = sum(R * fprop(x)) with a fixed random R, so
    ``bprop(R)`` must return ∂L/∂x and fill ``grads``. For a loss module (one whose ``fprop``
    takes labels), pass ``y``: L = fprop(x, y) and ``bprop()`` gives ∂L/∂x.
    The module must be deterministic between calls (put Dropout in eval mode or fix its mask).
    Its parameters are perturbed in place, so each must be a writable, C-contiguous float64
    array (not a view such as ``W.T``, whose changes would not reach ``fprop``).
    """
    h = positive_number(h, "h")
    for name, array in module.params.items():
        if not (
            isinstance(array, np.ndarray)
            and array.dtype == np.float64
            and array.flags.c_contiguous
            and array.flags.writeable
        ):
            raise ValueError(
                f"module.params[{name!r}] must be a writable, C-contiguous float64 array to be "
                f"perturbed in place, got {type(array).__name__}"
                + (f" of dtype {array.dtype}" if isinstance(array, np.ndarray) else "")
                + " (store np.ascontiguousarray(value, dtype=float) instead)"
            )
    x = _writable_copy(x)
    if y is None:
        out = np.asarray(module.fprop(x))
        R = as_rng(rng).standard_normal(out.shape)

        def loss() -> float:
            return float(np.sum(R * module.fprop(x)))

        module.fprop(x)
        grad_x = module.bprop(R)
    else:

        def loss() -> float:
            return float(module.fprop(x, y))

        module.fprop(x, y)
        grad_x = module.bprop()
    analytic = {"input": np.array(grad_x, dtype=np.float64)}
    analytic.update({name: np.array(g, dtype=np.float64) for name, g in module.grads.items()})
    targets = {"input": x, **module.params}
    batch_size = None if y is None else len(x)  # a loss module's output is a batch mean
    checks = tuple(
        compare(name, analytic[name], _gradient_in_place(loss, array, h), batch_size=batch_size)
        for name, array in targets.items()
    )
    return GradCheckReport(checks)
