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

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import gradcheck

__all__ = [
    "Mistake",
    "check_array",
    "check_box",
    "check_computed_gradient",
    "check_gradient",
    "check_statistic",
    "check_unchanged",
    "chi_square_interval",
    "gaussian_mean_tolerance",
    "hoeffding_tolerance",
    "known_mistakes",
    "split_mistake",
]

# -- Mistake identifiers ----------------------------------------------------------------------
# A failure message that names a known mistake ends with a tag line ``[mistake: <id>]``: a stable
# identifier that the grader's report counts (grader/report.py), however the explanation is
# worded. The grader strips the tag from the message it records (split_mistake).

#: The tag line, with the identifier as group 1.
MISTAKE_TAG = re.compile(r"^\[mistake: ([a-z0-9][a-z0-9-]*)\]$", re.MULTILINE)
#: Phrases of the hints of chainrule.gradcheck.diagnose, and the mistake each one names.
_HINT_MISTAKES = (
    ("1/N of the mean over the batch is missing", "batch-mean-missing"),
    ("mean over the batch is taken twice", "batch-mean-twice"),
    ("is the transpose of the expected", "transposed"),
    ("looks transposed", "transposed"),
    ("sign flipped", "sign-flipped"),
    ("all zeros", "all-zeros"),
    ("off by a constant factor", "constant-factor"),
    ("differs from the expected", "wrong-shape"),
)


@dataclass(frozen=True)
class Mistake:
    """A key of ``mistakes`` (:func:`known_mistakes`) with an identifier that stays when the
    explanation is reworded; a plain string key gets :func:`mistake_id` of its words."""

    id: str
    explanation: str

    def __str__(self) -> str:
        return self.explanation


def mistake_id(explanation: str) -> str:
    """The identifier of a mistake explained in words: the words of its first clause (up to a
    colon, semicolon or comma) in lower case, joined by dashes, at most 48 characters:
    ``"sign flipped: the gradient is f(x) - e(y)"`` -> ``"sign-flipped"``."""
    clause = re.split(r"[:;,]", explanation, maxsplit=1)[0]
    words = re.findall(r"[a-z0-9]+", clause.lower()) or re.findall(
        r"[a-z0-9]+", explanation.lower()
    )
    text = ""
    for word in words:
        if len(text) + len(word) + 1 > 48:
            break
        text = f"{text}-{word}" if text else word
    return text or "unnamed"


def _tagged(message: str, mistake: str) -> str:
    """``message`` ending with the tag of ``mistake`` (instead of any earlier tag)."""
    return f"{MISTAKE_TAG.sub('', message).rstrip()}\n[mistake: {mistake}]"


def split_mistake(message: str) -> tuple[str, str]:
    """The message without its mistake tag, and the identifier of the last tag ('' if none)."""
    found = MISTAKE_TAG.findall(message)
    if not found:
        return message, ""
    return re.sub(r"\n{3,}", "\n\n", MISTAKE_TAG.sub("", message)).strip("\n"), found[-1]


def _hint_mistake(hint: str) -> str:
    """The identifier of the mistake a diagnose hint names, or ''."""
    return next((mistake for phrase, mistake in _HINT_MISTAKES if phrase in hint), "")


def _failure(message: str, mistake: str = "") -> AssertionError:
    """The AssertionError of a failed check, tagged with ``mistake`` when it names one."""
    return AssertionError(_tagged(message, mistake) if mistake else message)


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
        raise _failure(
            f"{name} returned None; did you forget a `return` statement?{_format_inputs(inputs)}",
            "returned-none",
        )
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError) as error:
        raise _failure(
            f"{name} returned {_describe(got)} ({type(got).__name__}), "
            f"which is not an array of numbers: {error}{_format_inputs(inputs)}",
            "not-numbers",
        ) from None


def _worst_entry(badness: np.ndarray) -> tuple[tuple[int, ...], str]:
    """Index of the largest entry of ``badness`` (a NaN counting as the largest), and the words
    that place it in a message: `` at index [i, j]``, or nothing for a 0-d array."""
    flat = int(np.argmax(np.where(np.isnan(badness), np.inf, badness)))
    worst = tuple(int(i) for i in np.unravel_index(flat, badness.shape))
    return worst, f" at index {list(worst)}" if badness.ndim else ""


def _hint(hint: str) -> str:
    """The ``hint:`` line of a failure message, or nothing when there is no hint."""
    return f"\nhint: {hint}" if hint else ""


def _check_shape(
    got: np.ndarray,
    expected: np.ndarray,
    *,
    name: str,
    inputs: Mapping[str, Any] | None,
    hint: str = "",
) -> None:
    if got.shape != expected.shape:
        raise _failure(
            f"{name} returned an array of shape {got.shape}, expected shape {expected.shape}"
            + _hint(hint)
            + _format_inputs(inputs),
            _hint_mistake(hint) or "wrong-shape",
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
    worst, where = _worst_entry(excess)
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
    point: str = "x",
    batch_size: int | None = None,
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
    point
        The name under which the message shows ``x``, e.g. ``"theta"`` or ``"W1"``.
    batch_size
        N when ``f`` is a mean over a batch of N examples: a gradient off by exactly N or 1/N
        then gets the hint that the 1/N of the mean is missing or doubled.

    Raises
    ------
    AssertionError
        If the gradient is ``None``, of the wrong shape, or its relative error exceeds ``tol``;
        the message gives the worst entry (analytic vs numeric) and any hint from ``diagnose``.
    """
    x = np.asarray(x, dtype=float)
    shown = {point: x, **(inputs or {})}
    analytic = _as_float_array(grad_fn(x.copy()), name=name, inputs=shown)
    numeric = gradcheck.numerical_gradient(f, x.copy(), h=h)
    hint = gradcheck.diagnose(analytic, numeric, batch_size=batch_size)
    _check_shape(analytic, numeric, name=name, inputs=shown, hint=hint)
    error = gradcheck.rel_error(analytic, numeric)
    if error <= tol:
        return
    worst, where = _worst_entry(np.abs(analytic - numeric))
    raise _failure(
        f"{name} disagrees with central finite differences: relative error {error:.3g} > {tol:g}.\n"
        f"worst entry{where}: analytic {analytic[worst]:.10g}, numeric {numeric[worst]:.10g}"
        + _hint(hint)
        + _format_inputs(shown, worst, x.shape),
        _hint_mistake(hint),
    )


def check_unchanged(passed: Any, original: Any, *, name: str, argument: str) -> None:
    """Assert that the array ``passed`` to the code under test still equals ``original``.

    A test hands the student's function a copy (``passed``) and keeps ``original`` for itself;
    a difference afterwards means the function changed its argument in place, which silently
    corrupts the caller's data (the cached input of a box, the batch of a training loop).
    """
    got = _as_float_array(passed, name=name, inputs=None)
    expected = np.asarray(original, dtype=float)
    if got.shape == expected.shape and np.array_equal(got, expected, equal_nan=True):
        return
    if got.shape != expected.shape:
        change = f"its shape went from {expected.shape} to {got.shape}"
    else:
        worst, where = _worst_entry(np.abs(got - expected))
        change = f"entry{where} went from {expected[worst]:.10g} to {got[worst]:.10g}"
    raise _failure(
        f"{name} changed its input {argument} in place: {change}.\n"
        "hint: build new arrays (x = x - m, np.maximum(x, 0), x.copy()) instead of writing "
        "into the arrays you were given (x -= m, x[x < 0] = 0)",
        "changed-input-in-place",
    )


def _matches(got: Any, wrong: Any) -> bool:
    try:
        got = np.asarray(got, dtype=float)
        wrong = np.asarray(wrong, dtype=float)
    except (TypeError, ValueError):
        return False
    return got.shape == wrong.shape and bool(np.allclose(got, wrong, rtol=1e-6, atol=1e-12))


@contextmanager
def known_mistakes(got: Any, mistakes: Mapping[Any, Any] | None) -> Iterator[None]:
    """Name the mistake behind a failed check when ``got`` is what that mistake produces.

    ``mistakes`` maps an explanation (``"g(a) instead of g(a)(1 - g(a))"``, or a
    :class:`Mistake` with its identifier) to the value the mistake gives on the same inputs. An
    AssertionError raised inside the ``with`` block gets the explanation of the first mistake
    ``got`` equals as an extra ``likely mistake:`` line, and that mistake's tag; other errors,
    and a ``got`` matching no mistake, pass through unchanged.
    """
    try:
        yield
    except AssertionError as error:
        for explanation, wrong in (mistakes or {}).items():
            if _matches(got, wrong):
                mistake = (
                    explanation.id
                    if isinstance(explanation, Mistake)
                    else mistake_id(str(explanation))
                )
                text = MISTAKE_TAG.sub("", str(error)).rstrip()
                raise _failure(f"{text}\nlikely mistake: {explanation}", mistake) from None
        raise


def check_computed_gradient(
    got: Any,
    f: Callable[[np.ndarray], float],
    x: Any,
    *,
    name: str,
    tol: float = 1e-7,
    h: float = 1e-5,
    inputs: Mapping[str, Any] | None = None,
    mistakes: Mapping[str, Any] | None = None,
    point: str = "x",
    batch_size: int | None = None,
) -> None:
    """:func:`check_gradient` for a gradient the code under test has already computed.

    ``got`` is compared with the central-difference gradient of ``f`` at ``x`` (the message
    calls the point ``point``, ``x`` unless told, e.g. ``"W1"``). It suits gradients a box
    leaves in its ``grads`` during ``bprop``, and functions the test calls once itself (to
    watch their inputs) instead of through ``grad_fn``. ``mistakes`` as in
    :func:`known_mistakes`; ``point`` and ``batch_size`` as in :func:`check_gradient`.
    """
    with known_mistakes(got, mistakes):
        check_gradient(
            f,
            lambda _point: got,
            x,
            name=name,
            tol=tol,
            h=h,
            inputs=inputs,
            point=point,
            batch_size=batch_size,
        )


def check_box(
    box: Any,
    forward: Callable[[np.ndarray, Mapping[str, np.ndarray]], np.ndarray],
    x: Any,
    grad_out: Any,
    *,
    name: str,
    params: Mapping[str, Any] | None = None,
    tol: float = 1e-7,
    h: float = 1e-5,
    mistakes: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Assert that a flow-graph box's ``bprop`` gives the gradients of the forward computation.

    ``forward(x, params)`` is the test's own computation of the box's output (N, ...) from the
    input ``x`` and the parameter arrays ``params``; the box's own ``fprop`` output is not
    checked here. With ``grad_out`` = R shaped like the output (random, in a test), the scalar
    checked is ``L = sum(R * forward(x, params))``: the box gets ``box.params[name] = array``
    for each parameter, then ``fprop(x)`` and ``bprop(R)``, which must return ∂L/∂x and leave
    ∂L/∂θ in ``box.grads[name]``. Both are compared with central differences of ``L``.

    The box receives copies of ``x``, ``R`` and the parameters; changing any of them in place
    fails the check. ``mistakes`` maps ``"x"`` or a parameter name to the explanations of
    :func:`known_mistakes` for that gradient. The box is only called and read, never given
    the test's own arrays, so a box living in another process works as well.
    """
    x = np.array(x, dtype=float)
    params = {key: np.array(value, dtype=float) for key, value in (params or {}).items()}
    R = np.array(grad_out, dtype=float)
    if R.shape != np.shape(forward(x, params)):
        raise ValueError(f"grad_out must have the output's shape, got {R.shape}")
    mistakes = mistakes or {}
    for key, value in params.items():
        box.params[key] = value.copy()
    x_in, R_in = x.copy(), R.copy()
    box.fprop(x_in)
    grad_x = box.bprop(R_in)
    check_unchanged(x_in, x, name=f"{name}.fprop", argument="x")
    check_unchanged(R_in, R, name=f"{name}.bprop", argument="grad_out")
    for key, value in params.items():
        check_unchanged(box.params[key], value, name=name, argument=f"params[{key!r}]")
    check_computed_gradient(
        grad_x,
        lambda v: float(np.sum(R * forward(v, params))),
        x,
        name=f"{name}.bprop(grad_out), the gradient with respect to the input x",
        tol=tol,
        h=h,
        inputs={"grad_out": R},
        mistakes=mistakes.get("x"),
    )
    for key, value in params.items():
        check_computed_gradient(
            box.grads[key],
            lambda v, key=key: float(np.sum(R * forward(x, {**params, key: v}))),
            value,
            name=f"{name}.grads[{key!r}] after bprop",
            tol=tol,
            h=h,
            inputs={"grad_out": R},
            mistakes=mistakes.get(key),
            point=key,
        )


# -- Statistics of random draws ---------------------------------------------------------------
# A test of random code (an initializer, a dropout mask) compares a statistic of many draws with
# its expectation. Each tolerance below comes from a bound that holds for every sample size, not
# from a normal approximation, so a test can state the probability that a correct implementation
# fails it; a test that checks several statistics adds their probabilities (union bound).


def hoeffding_tolerance(n: int, width: float, failure: float) -> float:
    """Half-width t of an interval around its expectation that holds the mean of ``n``
    independent draws from any distribution on an interval of length ``width``, except with
    probability ``failure``.

    Hoeffding's inequality, P(|mean - E[mean]| >= t) <= 2 exp(-2 n t^2 / width^2), gives
    t = width sqrt(ln(2 / failure) / (2 n)).
    """
    return float(width * np.sqrt(np.log(2.0 / failure) / (2.0 * n)))


def gaussian_mean_tolerance(n: int, std: float, failure: float) -> float:
    """Half-width t of an interval around 0 that holds the mean of ``n`` independent draws from
    N(0, std^2), except with probability ``failure``.

    The mean is N(0, std^2 / n) and P(|Z| >= z) <= 2 exp(-z^2 / 2) for Z ~ N(0, 1), so
    t = std sqrt(2 ln(2 / failure) / n).
    """
    return float(std * np.sqrt(2.0 * np.log(2.0 / failure) / n))


def chi_square_interval(n: int, failure: float) -> tuple[float, float]:
    """Interval (low, high) that holds S / n, for S a sum of ``n`` squared independent N(0, 1)
    draws (chi-square with n degrees of freedom), except with probability ``failure``.

    Laurent and Massart (2000): P(S - n >= 2 sqrt(n x) + 2 x) <= e^-x and
    P(n - S >= 2 sqrt(n x)) <= e^-x. With x = ln(2 / failure) the two tails together have
    probability at most ``failure``. For draws W ~ N(0, s^2), sum(W^2) / (n s^2) is such an S / n.
    """
    x = np.log(2.0 / failure)
    return float(1.0 - 2.0 * np.sqrt(x / n)), float(1.0 + 2.0 * np.sqrt(x / n) + 2.0 * x / n)


def check_statistic(
    value: float,
    low: float,
    high: float,
    *,
    name: str,
    what: str,
    failure: float,
    hint: str = "",
) -> None:
    """Assert that a statistic of random draws lies in [low, high].

    The interval must come from a bound (above) under which a correct implementation falls
    outside with probability at most ``failure``; the message says so, so that the student
    knows a failure points to a bug and not to bad luck.

    Parameters
    ----------
    value
        The statistic, computed by the test from the draws of the code under test.
    low, high
        The interval a correct implementation lands in.
    name
        How the message names the code under test, e.g. ``"glorot_uniform(300, 200, rng)"``.
    what
        What the statistic is, e.g. ``"the mean of W**2 (the variance)"``.
    failure
        Probability that a correct implementation fails this check.
    hint
        Optional likely cause, shown when the check fails.
    """
    value = float(value)
    if low <= value <= high:
        return
    raise AssertionError(
        f"{name}: {what} is {value:.6g}, expected a value in [{low:.6g}, {high:.6g}].\n"
        f"A correct implementation lands outside this interval with probability below "
        f"{failure:.0e}: this is not bad luck." + _hint(hint)
    )
