"""Assertion helpers for the notebooks' test cells.

Every helper either returns ``None`` or raises ``AssertionError`` with a message written for the
student: the function under test, the worst entry, the expected and the received value, and the
inputs that produced them. Gradients are compared with central finite differences from
:mod:`chainrule.gradcheck`, whose :func:`~chainrule.gradcheck.diagnose` adds a hint when the error
has a recognisable shape (sign flipped, transposed, off by a factor).

The helpers deliberately return ``None``: nbgrader reads a number left as the last value of a test
cell as a partial grade, so a test cell must never end in an expression that evaluates to a float.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from chainrule import gradcheck

__all__ = ["check_array", "check_gradient"]


def _describe(value: Any) -> str:
    """A short, readable rendering of one input value for a failure message."""
    if isinstance(value, str):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        body = np.array2string(value, precision=6, threshold=12, edgeitems=2, separator=", ")
        return body if value.ndim == 0 else f"array of shape {value.shape}: {body}"
    if callable(value):
        return getattr(value, "__name__", repr(value))
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _format_inputs(
    inputs: Mapping[str, Any] | None,
    worst: tuple[int, ...] | None = None,
    shape: tuple[int, ...] | None = None,
) -> str:
    """Lines ``name = value`` for each input; an array shaped like the output also shows its entry
    at the worst index, so an elementwise bug is easy to trace back to the input that caused it."""
    if not inputs:
        return ""
    lines = ["\ninputs:"]
    for key, value in inputs.items():
        line = f"  {key} = {_describe(value)}"
        if worst and isinstance(value, np.ndarray) and value.shape == shape:
            line += f"\n    ({key}{list(worst)} = {_describe(value[worst])} at the worst entry)"
        lines.append(line)
    return "\n".join(lines)


def _as_float_array(got: Any, *, name: str, inputs: Mapping[str, Any] | None) -> np.ndarray:
    """Convert a student's return value to a float array, or fail with a message saying why not."""
    if got is None:
        raise AssertionError(
            f"{name} returned None; did you forget a `return` statement?{_format_inputs(inputs)}"
        )
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError) as error:
        raise AssertionError(
            f"{name} returned {_describe(got)} ({type(got).__name__}), "
            f"which is not an array of numbers: {error}{_format_inputs(inputs)}"
        ) from None


def _worst_index(badness: np.ndarray) -> tuple[int, ...]:
    """Index of the largest entry of ``badness``, a NaN counting as the largest."""
    flat = int(np.argmax(np.where(np.isnan(badness), np.inf, badness)))
    return tuple(int(i) for i in np.unravel_index(flat, badness.shape))


def _check_shape(
    got: np.ndarray,
    expected: np.ndarray,
    *,
    name: str,
    inputs: Mapping[str, Any] | None,
    hint: str = "",
) -> None:
    if got.shape != expected.shape:
        raise AssertionError(
            f"{name} returned an array of shape {got.shape}, expected shape {expected.shape}"
            + (f"\nhint: {hint}" if hint else "")
            + _format_inputs(inputs)
        )


def check_array(
    got: Any,
    expected: Any,
    *,
    name: str,
    rtol: float = 1e-7,
    atol: float = 0.0,
    inputs: Mapping[str, Any] | None = None,
) -> None:
    """Assert that ``got`` equals ``expected`` entry by entry, within ``atol + rtol * |expected|``.

    Parameters
    ----------
    got
        The value returned by the code under test (a number or an array of any shape).
    expected
        The reference value, same shape as ``got``.
    name
        How the message names the code under test, e.g. ``"sigmoid_grad(a)"``.
    rtol, atol
        Relative and absolute tolerance, as in :func:`numpy.isclose`.
    inputs
        Optional mapping from argument name to value, shown in the message. An array input with
        the shape of ``expected`` also shows its entry at the worst index. Strings are shown as
        they are, which lets a test describe an input such as a function in words.

    Raises
    ------
    AssertionError
        If ``got`` is ``None``, not numeric, of the wrong shape, or differs anywhere by more than
        the tolerance; the message names the worst entry with expected and received values.
    """
    got = _as_float_array(got, name=name, inputs=inputs)
    expected = np.asarray(expected, dtype=float)
    _check_shape(got, expected, name=name, inputs=inputs)
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if not bad.any():
        return
    excess = np.abs(got - expected) - (atol + rtol * np.abs(expected))
    worst = _worst_index(excess)
    where = f" at index {list(worst)}" if got.ndim else ""
    raise AssertionError(
        f"{name}: {int(bad.sum())} of {bad.size} entries differ from the expected values "
        f"(rtol={rtol:g}, atol={atol:g}).\n"
        f"worst entry{where}: expected {expected[worst]:.10g}, got {got[worst]:.10g}"
        f"{_format_inputs(inputs, worst, got.shape)}"
    )


def check_gradient(
    f: Callable[[np.ndarray], float],
    grad_fn: Callable[[np.ndarray], Any],
    x: Any,
    *,
    name: str,
    tol: float = 1e-7,
    h: float = 1e-5,
    inputs: Mapping[str, Any] | None = None,
) -> None:
    """Assert that ``grad_fn(x)`` is the gradient of the scalar function ``f`` at ``x``.

    The reference is :func:`chainrule.gradcheck.numerical_gradient` (central differences with step
    ``h``) and the comparison is :func:`chainrule.gradcheck.rel_error`,
    ``max|analytic - numeric| / max(1e-8, max(|analytic| + |numeric|))``. Both functions receive
    copies of ``x``, so code that modifies its argument cannot corrupt the check.

    Parameters
    ----------
    f
        Scalar function of an array shaped like ``x``.
    grad_fn
        The code under test: returns the gradient of ``f`` at its argument, shaped like ``x``.
    x
        The point, any shape; converted to float64.
    name
        How the message names the code under test.
    tol
        Largest accepted relative error. In float64 with ``h = 1e-5`` a correct gradient of a
        smooth function lands near 1e-10, a wrong one near 1, so 1e-7 separates them widely.
    h
        Finite-difference step.
    inputs
        Optional mapping of inputs to show in the message (``x`` itself is always shown).

    Raises
    ------
    AssertionError
        If the gradient is ``None``, of the wrong shape, or its relative error exceeds ``tol``;
        the message gives the worst entry (analytic vs numeric) and any hint from ``diagnose``.
    """
    x = np.asarray(x, dtype=float)
    shown = {"x": x, **(inputs or {})}
    analytic = _as_float_array(grad_fn(x.copy()), name=name, inputs=shown)
    numeric = gradcheck.numerical_gradient(f, x.copy(), h=h)
    hint = gradcheck.diagnose(analytic, numeric)
    _check_shape(analytic, numeric, name=name, inputs=shown, hint=hint)
    error = gradcheck.rel_error(analytic, numeric)
    if error <= tol:
        return
    worst = _worst_index(np.abs(analytic - numeric))
    where = f" at index {list(worst)}" if x.ndim else ""
    raise AssertionError(
        f"{name} disagrees with central finite differences: relative error {error:.3g} > {tol:g}.\n"
        f"worst entry{where}: analytic {analytic[worst]:.10g}, numeric {numeric[worst]:.10g}"
        + (f"\nhint: {hint}" if hint else "")
        + _format_inputs(shown, worst, x.shape)
    )
