"""Finite-difference derivatives and gradient checks: the debugging tool of backprop.

The central difference (f(x + h) - f(x - h)) / 2h has truncation error O(h^2) (the forward
difference only O(h)); in float64 a step h = 1e-5 balances it against round-off, leaving a
relative error around 1e-10 on smooth functions.

Every check here compares with :func:`chainrule.compare.compare` and reports a
:class:`~chainrule.compare.Comparison`: a gradient passes when, entry by entry,
|analytic - numeric| <= atol + rtol |numeric|. The defaults rtol = 1e-7, atol = 1e-8 hold the
course's float64 standard (relative error below 1e-7) while letting entries that should be 0,
whose central difference is ~1e-11, pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule._validate import as_float_array, as_rng, positive_number
from chainrule.compare import Comparison, compare, rel_error
from chainrule.layers import Sequential

__all__ = [
    "GradCheckReport",
    "check_module",
    "compare_gradient",
    "directional_check",
    "numerical_derivative",
    "numerical_gradient",
    "numerical_jacobian",
    "rel_error",
]

#: Default tolerances of a gradient against central differences (module docstring).
RTOL, ATOL = 1e-7, 1e-8


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


def _central(f: Callable[[], object], x: np.ndarray, h: float) -> Iterator[tuple[int, Any, Any]]:
    """(i, f() with x.flat[i] moved by +h, f() with it moved by -h) for every entry of ``x``.

    ``x`` is a float64 array that ``f`` reads (itself or through an object holding it); it is
    perturbed in place and each entry restored afterwards.
    """
    flat = x.reshape(-1)
    for index in range(x.size):
        saved = flat[index]
        flat[index] = saved + h
        plus = f()
        flat[index] = saved - h
        minus = f()
        flat[index] = saved
        yield index, plus, minus


def _gradient_in_place(f: Callable[[], object], x: np.ndarray, h: float) -> np.ndarray:
    """∂f/∂x of the scalar f() by central differences, perturbing the float64 ``x`` in place."""
    grad = np.empty(x.size)
    for i, plus, minus in _central(f, x, h):
        grad[i] = (_scalar(plus) - _scalar(minus)) / (2.0 * h)
    return grad.reshape(x.shape)


def _vjp_in_place(f: Callable[[], object], x: np.ndarray, R: np.ndarray, h: float) -> np.ndarray:
    """∂/∂x of sum(R * f()) by central differences, perturbing the float64 ``x`` in place.

    The outputs are subtracted before they are weighted by R: the entries a perturbation
    leaves unchanged then cancel exactly instead of adding the round-off of a large sum.
    """
    grad = np.empty(x.size)
    for i, plus, minus in _central(f, x, h):
        difference = np.asarray(plus, dtype=np.float64) - np.asarray(minus, dtype=np.float64)
        grad[i] = np.vdot(R, difference) / (2.0 * h)
    return grad.reshape(x.shape)


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
    for j, plus, minus in _central(lambda: f(x), x, h):
        J[:, j] = (
            np.asarray(plus, dtype=np.float64).reshape(-1)
            - np.asarray(minus, dtype=np.float64).reshape(-1)
        ) / (2.0 * h)
    return J


def compare_gradient(
    got: Any,
    f: Callable[[np.ndarray], float],
    x: Any,
    *,
    name: str,
    rtol: float = RTOL,
    atol: float = ATOL,
    h: float = 1e-5,
    mistakes: Mapping[Any, Any] | None = None,
    batch_size: int | None = None,
) -> Comparison:
    """Compare ``got`` with the central-difference gradient of the scalar ``f`` at ``x``.

    ``f`` sees only copies of ``x`` (:func:`numerical_gradient`), so ``got`` may come from code
    that changed its own copy. ``mistakes`` and ``batch_size`` as in
    :func:`chainrule.compare.compare`; the report calls ``got`` analytic and the estimate numeric.
    """
    numeric = numerical_gradient(f, x, h=h)
    return compare(
        got,
        numeric,
        name=name,
        rtol=rtol,
        atol=atol,
        mistakes=mistakes,
        numeric=True,
        batch_size=batch_size,
    )


def directional_check(
    f: Callable[[np.ndarray], float],
    grad: np.ndarray,
    x: np.ndarray,
    rng: np.random.Generator | int | None = None,
    h: float = 1e-5,
    *,
    rtol: float = RTOL,
    atol: float = ATOL,
) -> Comparison:
    """Check a whole gradient with 2 evaluations of f along one random unit direction u.

    Compares ∇f(x)·u (``grad`` is the analytic ∇f(x), shaped like ``x``) with
    (f(x + h u) - f(x - h u)) / 2h. A wrong entry is caught with probability 1 over the random
    u, though a single number cannot say which entry is wrong.
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
    return compare(analytic, numeric, name="∇f(x)·u", rtol=rtol, atol=atol, numeric=True)


@dataclass(frozen=True)
class GradCheckReport:
    """The comparisons of every gradient of one module check, the worst first in ``str()``."""

    checks: tuple[Comparison, ...]

    @property
    def passed(self) -> bool:
        """True when every gradient agrees with central differences."""
        return all(check.passed for check in self.checks)

    @property
    def worst(self) -> Comparison:
        """A failed comparison if there is one, the one closest to failing otherwise."""
        return max(self.checks, key=lambda check: (not check.passed, check.ratio))

    def __str__(self) -> str:
        lines = [f"worst: {self.worst.summary()}"]
        lines += [f"  {check.summary()}" for check in self.checks]
        return "\n".join(lines)


def _writable_params(module: Any) -> dict[str, np.ndarray]:
    """``module.params``, each checked to be an array a perturbation in place reaches."""
    params = dict(module.params)
    for name, array in params.items():
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
    return params


def _is_composition(module: Any) -> bool:
    """Whether ``module`` is a :class:`~chainrule.layers.Sequential` whose fprop is the
    composition of its boxes (not overridden), each box appearing once and owning its own
    parameters: its numeric gradients can then be taken box by box."""
    if not (
        isinstance(module, Sequential)
        and type(module).fprop is Sequential.fprop
        and type(module).params is Sequential.params
    ):
        return False
    boxes = module.modules
    arrays = [array for box in boxes for array in box.params.values()]
    return len({id(box) for box in boxes}) == len(boxes) and not any(
        np.may_share_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1 :]
    )


def _is_rowwise(module: Any, x: np.ndarray, out: np.ndarray, h: float) -> bool:
    """Whether ``module.fprop`` maps each row (example) of a batch on its own.

    Probe: a batch of another size, x followed by its first row perturbed by h, must give
    fprop(x) followed by that row's output (a box that mixes the examples of a batch, such as
    a batch normalisation, or that depends on the batch size, fails it). Deterministic fprop
    is assumed, as by every finite-difference check.
    """
    if x.size == 0 or x.ndim == 0 or out.ndim == 0 or out.shape[0] != x.shape[0]:
        return False
    row = x[:1].copy()
    row.reshape(-1)[0] += h
    try:
        stacked = np.asarray(module.fprop(np.concatenate([x, row])), dtype=np.float64)
        alone = np.asarray(module.fprop(row), dtype=np.float64)
    except Exception:  # a box that cannot take another batch size: checked entry by entry
        return False
    expected = np.concatenate([out, alone])
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    return stacked.shape == expected.shape and bool(
        np.allclose(stacked, expected, rtol=1e-12, atol=1e-12 * scale)
    )


#: Entries of the input perturbed in one stacked batch: about 2**20 numbers per fprop.
_STACK = 2**20


def _stacked_input_vjp(module: Any, x: np.ndarray, R: np.ndarray, h: float) -> np.ndarray:
    """∂/∂x of sum(R * fprop(x)) for a box that maps rows on their own (:func:`_is_rowwise`).

    Each perturbed entry x[n, ...] ± h becomes a row of its own, a copy of row n, in a
    stacked batch; one fprop of the stack gives every difference fprop(x + h e) - fprop(x - h e)
    in row n, weighted by R[n]. Two rows per entry, instead of two fprops of the whole batch.
    """
    rows, width = x.shape[0], x[0].size
    flat_x, flat_R = x.reshape(rows, width), R.reshape(rows, -1)
    grad = np.empty(x.size)
    step = max(1, _STACK // (2 * width))
    for start in range(0, x.size, step):
        entries = np.arange(start, min(start + step, x.size))
        row, column = np.divmod(entries, width)
        k = len(entries)
        batch = np.concatenate([flat_x[row], flat_x[row]])
        batch[np.arange(k), column] += h
        batch[np.arange(k, 2 * k), column] -= h
        out = np.asarray(module.fprop(batch.reshape((2 * k, *x.shape[1:]))), dtype=np.float64)
        out = out.reshape(2 * k, -1)
        grad[entries] = np.einsum("ij,ij->i", flat_R[row], out[:k] - out[k:]) / (2.0 * h)
    return grad.reshape(x.shape)


def _numeric_vjp(module: Any, x: np.ndarray, R: np.ndarray, h: float) -> dict[str, np.ndarray]:
    """Central-difference gradients of L = sum(R * module.fprop(x)): ``"input"`` for ∂L/∂x and
    one per parameter, keyed as ``module.params``.

    A composition (:func:`_is_composition`) is differentiated box by box, from the top, as
    backprop does: box k gets R_k = ∂L/∂(its output), numeric, and gives R_{k-1} = ∂L/∂(its
    input); so a parameter costs two fprops of its own box, not of the whole network. A box's
    input gradient comes from one stacked batch when the box maps rows on their own
    (:func:`_stacked_input_vjp`), otherwise from two fprops per entry. Parameters are perturbed
    in place; ``x`` is not changed.
    """
    if _is_composition(module):
        inputs = [x]
        for box in module.modules[:-1]:
            inputs.append(np.array(box.fprop(inputs[-1]), dtype=np.float64))
        grads: dict[str, np.ndarray] = {}
        for k in reversed(range(len(module.modules))):
            box_grads = _numeric_vjp(module.modules[k], inputs[k], R, h)
            R = box_grads.pop("input")
            grads.update({f"{k}.{name}": grad for name, grad in box_grads.items()})
        return {"input": R, **{name: grads[name] for name in module.params}}
    out = np.asarray(module.fprop(x), dtype=np.float64)
    if _is_rowwise(module, x, out, h):
        grad_x = _stacked_input_vjp(module, x, R, h)
    else:
        x = x.copy()
        grad_x = _vjp_in_place(lambda: module.fprop(x), x, R, h)
    grads = {
        name: _vjp_in_place(lambda: module.fprop(x), array, R, h)
        for name, array in _writable_params(module).items()
    }
    return {"input": grad_x, **grads}


def check_module(
    module: Any,
    x: np.ndarray,
    *,
    y: np.ndarray | None = None,
    loss: Any = None,
    rng: np.random.Generator | int | None = None,
    h: float = 1e-5,
    rtol: float = RTOL,
    atol: float = ATOL,
) -> GradCheckReport:
    """Check a module's ``bprop`` (input and every parameter gradient) by central differences.

    Three scalars L can be differentiated:

    - a layer (``y`` and ``loss`` left out): L = sum(R * fprop(x)) with a fixed random R
      (from ``rng``), so ``bprop(R)`` must return ∂L/∂x and fill ``grads``;
    - a network with its loss (``loss`` a loss box such as SoftmaxCrossEntropy, ``y`` the
      targets): L = loss.fprop(fprop(x), y), and ``bprop(loss.bprop())`` must give ∂L/∂x and
      fill ``grads``; the loss box's own gradient ∂L/∂f(x) is checked too (named "output");
    - a loss box alone (``y`` without ``loss``): L = fprop(x, y), and ``bprop()`` gives ∂L/∂x.

    Each gradient is compared entry by entry (|analytic - numeric| <= atol + rtol |numeric|)
    and the report names the worst parameter and entry, analytic vs numeric, with a hint.

    The numeric side never calls ``bprop``. With a loss, ∂L/∂f(x) is taken by central
    differences of the loss alone, and the network's gradients as those of
    sum(R * fprop(x)) with R that numeric ∂L/∂f(x): the chain rule, each factor numeric. A
    :class:`~chainrule.layers.Sequential` is differentiated box by box in the same way, and
    the input of a box that maps the examples of a batch on their own is perturbed in one
    stacked batch. Other modules (a loss box alone, a module of your own) are evaluated twice
    per entry. The module must be deterministic between calls (put Dropout in eval mode or
    fix its mask). Its parameters are perturbed in place, so each must be a writable,
    C-contiguous float64 array (not a view such as ``W.T``, whose changes would not reach
    ``fprop``); they and ``x`` are left as they were.
    """
    h = positive_number(h, "h")
    if loss is not None and y is None:
        raise ValueError("loss needs the targets y: check_module(module, x, loss=loss, y=y)")
    params = _writable_params(module)
    x = _writable_copy(x)
    if y is not None and loss is None:  # a loss box: a black box L = fprop(x, y)
        module.fprop(x, y)
        analytic = {"input": module.bprop()}
    elif loss is not None:
        out = np.array(module.fprop(x), dtype=np.float64)
        loss.fprop(out, y)
        grad_out = np.array(loss.bprop(), dtype=np.float64)
        analytic = {"input": module.bprop(grad_out.copy()), "output": grad_out}
    else:
        R = as_rng(rng).standard_normal(np.shape(module.fprop(x)))
        analytic = {"input": module.bprop(R.copy())}
    analytic.update(module.grads)
    analytic = {name: _snapshot(value) for name, value in analytic.items()}
    if y is not None and loss is None:
        numeric = {
            name: _gradient_in_place(lambda: module.fprop(x, y), array, h)
            for name, array in {"input": x, **params}.items()
        }
    elif loss is not None:
        R = _gradient_in_place(lambda: loss.fprop(out, y), out, h)
        numeric = {**_numeric_vjp(module, x, R, h), "output": R}
    else:
        numeric = _numeric_vjp(module, x, R, h)
    batch_size = None if y is None else len(x)  # a loss is a batch mean
    return GradCheckReport(
        tuple(
            _compare_entry(name, analytic, numeric[name], rtol, atol, batch_size)
            for name in numeric
        )
    )


def _snapshot(value: object) -> object:
    """A copy of an array (later evaluations of the module must not change it), else as is."""
    return value.copy() if isinstance(value, np.ndarray) else value


def _compare_entry(
    name: str,
    analytic: Mapping[str, object],
    numeric: np.ndarray,
    rtol: float,
    atol: float,
    batch_size: int | None,
) -> Comparison:
    """The comparison of the gradient ``name`` of :func:`check_module`."""
    if name not in analytic:
        return Comparison(
            name=name,
            passed=False,
            numeric=True,
            rtol=rtol,
            atol=atol,
            shape=numeric.shape,
            problem="is missing: bprop must fill module.grads with the keys of module.params",
        )
    return compare(
        analytic[name],
        numeric,
        name=name,
        rtol=rtol,
        atol=atol,
        numeric=True,
        batch_size=batch_size,
    )
