"""Assertion helpers for the notebooks' test cells: thin wrappers over :mod:`chainrule.compare`.

Every helper either returns ``None`` or raises ``AssertionError`` with a message written for the
student: the code under test, the worst entry, the expected and the received value, and the
inputs that produced them. :func:`check_array` compares with an expected value,
:func:`check_gradient` with central finite differences; both accept ``mistakes``, the values
that common mistakes give, to name the one a wrong result comes from.

A failure that names a known mistake ends with a tag line ``[mistake: <id>]``: a stable
identifier that the grader's report counts (grader/report.py), however the explanation is
worded. The grader strips the tag from the message it records (:func:`split_mistake`).

The helpers deliberately return ``None``: nbgrader reads a number left as the last value of a test
cell as a partial grade, so a test cell must never end in an expression that evaluates to a float.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from chainrule import gradcheck
from chainrule.compare import Comparison, compare, describe

__all__ = [
    "check_array",
    "check_gradient",
    "check_statistic",
    "check_unchanged",
    "chi_square_interval",
    "gaussian_mean_tolerance",
    "hoeffding_tolerance",
    "split_mistake",
]

#: The tag line, with the identifier as group 1.
MISTAKE_TAG = re.compile(r"^\[mistake: ([a-z0-9][a-z0-9-]*)\]$", re.MULTILINE)


def split_mistake(message: str) -> tuple[str, str]:
    """The message without its mistake tag, and the identifier of the last tag ('' if none)."""
    found = MISTAKE_TAG.findall(message)
    if not found:
        return message, ""
    return re.sub(r"\n{3,}", "\n\n", MISTAKE_TAG.sub("", message)).strip("\n"), found[-1]


def _failure(message: str, mistake: str = "") -> AssertionError:
    """The AssertionError of a failed check, tagged with ``mistake`` when it names one."""
    return AssertionError(f"{message}\n[mistake: {mistake}]" if mistake else message)


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
        line = f"  {key} = {describe(value)}"
        if worst and isinstance(value, np.ndarray) and value.shape == shape:
            line += f"\n    ({key}{list(worst)} = {describe(value[worst])} at the worst entry)"
        lines.append(line)
    return "\n".join(lines)


def _assert_passed(report: Comparison, inputs: Mapping[str, Any] | None) -> None:
    """Raise the AssertionError of a failed ``report``, with ``inputs`` and its mistake tag."""
    if report.passed:
        return
    message = report.message(_format_inputs(inputs, report.worst_index, report.shape))
    raise _failure(message, report.mistake.id if report.mistake else "")


def check_array(
    got: Any,
    expected: Any,
    *,
    name: str,
    rtol: float = 1e-7,
    atol: float = 0.0,
    inputs: Mapping[str, Any] | None = None,
    mistakes: Mapping[Any, Any] | None = None,
) -> None:
    """Assert that ``got`` equals ``expected``, entry by entry within atol + rtol |expected|.

    Parameters
    ----------
    got
        The value returned by the code under test (a number or an array of any shape).
    expected
        The reference value, same shape as ``got``.
    name
        How the message names the code under test, e.g. ``"sigmoid_grad(a)"``.
    rtol, atol
        Relative and absolute tolerance (:func:`chainrule.compare.compare`).
    inputs
        Optional mapping from argument name to value, shown in the message. An array input with
        the shape of ``expected`` also shows its entry at the worst index. Strings are shown as
        they are, which lets a test describe an input such as a function in words.
    mistakes
        Optional mapping from the explanation of a common mistake (a string, or a
        :class:`chainrule.compare.Mistake` to keep its identifier when rewording) to the value it
        gives on these inputs: a wrong ``got`` equal to one gets a ``likely mistake:`` line.

    Raises
    ------
    AssertionError
        If ``got`` is ``None``, not numeric, of the wrong shape, or differs anywhere by more than
        the tolerance; the message names the worst entry with expected and received values.
    """
    report = compare(got, expected, name=name, rtol=rtol, atol=atol, mistakes=mistakes)
    _assert_passed(report, inputs)


def check_gradient(
    got: Any,
    f: Callable[[np.ndarray], float],
    x: Any,
    *,
    name: str,
    rtol: float = gradcheck.RTOL,
    atol: float = gradcheck.ATOL,
    h: float = 1e-5,
    inputs: Mapping[str, Any] | None = None,
    mistakes: Mapping[Any, Any] | None = None,
    point: str = "x",
    batch_size: int | None = None,
) -> None:
    """Assert that ``got`` is the gradient of the scalar function ``f`` at ``x``.

    The reference is the central-difference gradient (f(x + h e_i) - f(x - h e_i)) / 2h
    (:func:`chainrule.gradcheck.compare_gradient`, which gives ``f`` copies of ``x``), and
    ``got`` passes when |analytic - numeric| <= atol + rtol |numeric| entry by entry. In float64
    with h = 1e-5 a correct gradient of a smooth function lands near 1e-10 relative, a wrong one
    near 1: the defaults rtol = 1e-7, atol = 1e-8 separate them widely.

    Parameters
    ----------
    got
        The gradient the code under test computed at ``x`` (call it on a copy of ``x`` if it
        might change its argument), shaped like ``x``.
    f
        Scalar function of an array shaped like ``x``: the test's own loss.
    x
        The point, any shape; converted to float64. The message shows it as ``point``
        (e.g. ``"theta"`` or ``"W1"``), next to ``inputs``.
    mistakes
        As in :func:`check_array`; a failure also gets the hint of
        :func:`chainrule.compare.diagnose` (sign flipped, transposed, off by a factor...).
    batch_size
        N when ``f`` is a mean over a batch of N examples: a gradient off by exactly N or 1/N
        then gets the hint that the 1/N of the mean is missing or doubled.

    Raises
    ------
    AssertionError
        If the gradient is ``None``, of the wrong shape, or differs anywhere by more than the
        tolerance; the message gives the worst entry (analytic vs numeric) and any hint.
    """
    x = np.asarray(x, dtype=float)
    report = gradcheck.compare_gradient(
        got,
        f,
        x,
        name=name,
        rtol=rtol,
        atol=atol,
        h=h,
        mistakes=mistakes,
        batch_size=batch_size,
    )
    _assert_passed(report, {point: x, **(inputs or {})})


def check_unchanged(passed: Any, original: Any, *, name: str, argument: str) -> None:
    """Assert that the array ``passed`` to the code under test still equals ``original``.

    A test hands the student's function a copy (``passed``) and keeps ``original`` for itself;
    a difference afterwards means the function changed its argument in place, which silently
    corrupts the caller's data (the cached input of a box, the batch of a training loop).
    """
    report = compare(passed, original, name=name, rtol=0.0)
    if report.passed:
        return
    if report.problem:
        change = f"its shape went from {report.shape} to {np.shape(passed)}"
    else:
        change = f"entry{report.where} went from {report.expected:.10g} to {report.got:.10g}"
    raise _failure(
        f"{name} changed its input {argument} in place: {change}.\n"
        "hint: build new arrays (x = x - m, np.maximum(x, 0), x.copy()) instead of writing "
        "into the arrays you were given (x -= m, x[x < 0] = 0)",
        "changed-input-in-place",
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
        f"{failure:.0e}: this is not bad luck." + (f"\nhint: {hint}" if hint else "")
    )
