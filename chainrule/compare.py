"""Comparing a computed result with its reference: the one comparison core of chainrule.

Every check of the course ends here: an array against its expected value (the notebooks'
``check_array``), a gradient against central finite differences
(:func:`chainrule.gradcheck.compare_gradient`, the notebooks' ``check_gradient``), each gradient
of a box (:func:`chainrule.gradcheck.check_module`). :func:`compare` returns a
:class:`Comparison`: whether the result passed, its worst entry with both values and their
relative error, and the mistake the result most likely comes from.

The tolerance is the one of ``numpy.isclose`` and ``torch.autograd.gradcheck``: ``got`` passes
when, entry by entry,

    |got - expected| <= atol + rtol |expected|.

``rtol`` bounds the relative error of the entries of ordinary size, ``atol`` the absolute error
of the tiny ones: a central difference of an entry that is exactly 0 comes out near 1e-11,
not 0, so a gradient check needs atol > 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule._validate import as_float_array, positive_number

__all__ = ["Comparison", "Mistake", "compare", "describe", "diagnose", "mistake_id", "rel_error"]


@dataclass(frozen=True)
class Mistake:
    """A likely mistake: an identifier that stays when the explanation is reworded (the
    grader's report counts students by it) and the explanation shown to the student."""

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


def rel_error(a: np.ndarray | float, b: np.ndarray | float) -> float:
    """Relative error max|a - b| / max(1e-8, max(|a| + |b|)): one number for a whole array.

    The worst absolute difference is scaled by the size of the values compared, so entries
    that are zero in both (a ReLU's dead units) do not blow the ratio up. Below 1e-7 in
    float64 means an analytic gradient agrees with central differences. A debugging aid: the
    checks decide entry by entry (:func:`compare`).
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
) -> Mistake | None:
    """The common backprop mistake whose pattern the analytic gradient shows, or None.

    Recognized (identifier in brackets): a transposed matrix [transposed], a gradient of
    another shape [wrong-shape], a flipped sign [sign-flipped], a constant factor
    [constant-factor], all entries zero [all-zeros]. A factor is blamed on the batch mean only
    when the gradient is that of a mean over ``batch_size`` = N > 1 examples and the factor is
    N (the 1/N left out) [batch-mean-missing] or 1/N (divided twice) [batch-mean-twice]. A
    pattern holds when :func:`rel_error` of the transformed gradient is below ``tol``.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        if analytic.ndim == 2 and analytic.T.shape == numeric.shape:
            return Mistake(
                "transposed",
                f"shape {analytic.shape} is the transpose of the expected {numeric.shape}",
            )
        return Mistake(
            "wrong-shape", f"shape {analytic.shape} differs from the expected {numeric.shape}"
        )
    if numeric.size == 0 or not np.any(numeric) or rel_error(analytic, numeric) < tol:
        return None
    if analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1] > 1:
        if rel_error(analytic.T, numeric) < tol:
            return Mistake("transposed", "looks transposed")
    if rel_error(-analytic, numeric) < tol:
        return Mistake("sign-flipped", "sign flipped")
    if not np.any(analytic):
        return Mistake("all-zeros", "all zeros: is the gradient computed at all?")
    scale = float(np.vdot(analytic, numeric) / np.vdot(numeric, numeric))
    if abs(scale) > tol and rel_error(analytic, scale * numeric) < tol:
        factor = 1.0 / scale if abs(scale) < 1 else scale
        direction = "too small" if abs(scale) < 1 else "too large"
        text = f"off by a constant factor: {direction} by {abs(factor):.4g}"
        if batch_size is not None and batch_size > 1 and np.isclose(abs(factor), batch_size):
            if abs(scale) > 1:
                return Mistake(
                    "batch-mean-missing",
                    f"{text} = N, the batch size: the 1/N of the mean over the batch is missing",
                )
            return Mistake(
                "batch-mean-twice",
                f"{text} = N, the batch size: the mean over the batch is taken twice",
            )
        return Mistake("constant-factor", text)
    return None


def describe(value: Any) -> str:
    """A short, readable rendering of a value for a message (a string is shown as it is)."""
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


@dataclass(frozen=True)
class Comparison:
    """The verdict on one result compared with its reference, and where it is worst.

    - ``passed``: every entry is within atol + rtol |expected|; ``bad`` entries of ``size`` are
      not. ``numeric``: the reference is a central-difference estimate, so the messages call
      the result "analytic" and the reference "numeric" (otherwise "got" and "expected").
    - ``problem``: why the entries could not be compared (None returned, not numbers, another
      shape), empty when they were.
    - ``worst_index``: the entry with the largest ``ratio`` = |got - expected| / (atol + rtol
      |expected|), the largest difference among equal ratios (the check passes when the ratio
      is at most 1; None without entries). ``got``, ``expected`` and ``rel_error`` =
      |got - expected| / |expected| are the values there.
    - ``hint``: the pattern :func:`diagnose` recognised; ``likely``: the test's known mistake
      that ``got`` equals; ``mistake``: the one the grader counts (the known one first).
    """

    name: str
    passed: bool
    numeric: bool
    rtol: float
    atol: float
    shape: tuple[int, ...]
    problem: str = ""
    bad: int = 0
    size: int = 0
    worst_index: tuple[int, ...] | None = None
    got: float = math.nan
    expected: float = math.nan
    rel_error: float = math.nan
    ratio: float = math.nan
    hint: str = ""
    likely: str = ""
    mistake: Mistake | None = None

    @property
    def where(self) -> str:
        """`` at index [i, j]`` of the worst entry, or nothing (a number, or no entries)."""
        return f" at index {list(self.worst_index)}" if self.worst_index else ""

    def _worst(self) -> str:
        """``worst entry at index [i, j]: analytic a, numeric n (relative error e)``."""
        if self.worst_index is None:
            return ""
        if self.numeric:
            values = [("analytic", self.got), ("numeric", self.expected)]
        else:
            values = [("expected", self.expected), ("got", self.got)]
        text = ", ".join(f"{label} {value:.10g}" for label, value in values)
        if self.expected != 0 and math.isfinite(self.rel_error):
            text += f" (relative error {self.rel_error:.2g})"
        return f"worst entry{self.where}: {text}"

    def _verdict(self) -> str:
        criterion = f"rtol={self.rtol:g}, atol={self.atol:g}"
        if self.problem:
            return f"{self.name} {self.problem}"
        if self.passed:
            return f"{self.name}: all {self.size} entries agree ({criterion})."
        if self.numeric:
            return (
                f"{self.name} disagrees with central finite differences: {self.bad} of "
                f"{self.size} entries differ by more than atol + rtol |numeric| ({criterion})."
            )
        return (
            f"{self.name}: {self.bad} of {self.size} entries differ from the expected values "
            f"({criterion})."
        )

    def message(self, details: str = "") -> str:
        """The explanation for the student: verdict, worst entry, hint, then ``details`` (what
        the test shows of its inputs, starting with a newline), then the likely mistake."""
        lines = [self._verdict(), self._worst()]
        lines.append(f"hint: {self.hint}" if self.hint else "")
        text = "\n".join(line for line in lines if line) + details
        return f"{text}\nlikely mistake: {self.likely}" if self.likely else text

    def summary(self) -> str:
        """One line: the name, ok or FAILED, the worst entry (or the problem) and the hint."""
        verdict = "ok" if self.passed else "FAILED"
        text = f"{self.name}: {verdict}, {self.problem or self._worst() or 'no entries'}"
        return f"{text} ({self.hint})" if self.hint else text

    def __str__(self) -> str:
        return self.message()


def _known(got: np.ndarray, mistakes: Mapping[Any, Any] | None) -> Mistake | None:
    """The first of ``mistakes`` (explanation -> the value that mistake gives) that ``got``
    equals, as a :class:`Mistake`; a plain string key gets :func:`mistake_id` of its words."""
    for explanation, wrong in (mistakes or {}).items():
        try:
            wrong = np.asarray(wrong, dtype=float)
        except (TypeError, ValueError):
            continue
        if got.shape == wrong.shape and np.allclose(got, wrong, rtol=1e-6, atol=1e-12):
            if isinstance(explanation, Mistake):
                return explanation
            return Mistake(mistake_id(str(explanation)), str(explanation))
    return None


def compare(
    got: Any,
    expected: Any,
    *,
    name: str,
    rtol: float = 1e-7,
    atol: float = 0.0,
    mistakes: Mapping[Any, Any] | None = None,
    numeric: bool = False,
    batch_size: int | None = None,
) -> Comparison:
    """Compare ``got`` with ``expected`` entry by entry: |got - expected| <= atol + rtol |expected|.

    Parameters
    ----------
    got
        The result under test: a number or an array of any shape (None and values that are not
        numbers fail with a message saying so).
    expected
        The reference, of the shape ``got`` must have.
    name
        How the messages name the result, e.g. ``"sigmoid_grad(a)"`` or ``"grads['W']"``.
    rtol, atol
        Relative and absolute tolerance (real numbers >= 0).
    mistakes
        Optional mapping from an explanation (a string, or a :class:`Mistake` with its
        identifier) to the value that mistake gives on the same inputs: a failed ``got``
        equal to one of them (``numpy.allclose``, rtol 1e-6) is reported as that mistake.
    numeric
        True when ``expected`` is a central-difference estimate of the gradient ``got``: the
        report says analytic and numeric, and a failure also gets the pattern
        :func:`diagnose` recognises (``batch_size`` as there).

    Entries that are NaN in both count as equal; a NaN anywhere else fails and is the worst
    entry. Raises TypeError or ValueError (naming the argument) for a bad ``expected``,
    ``rtol`` or ``atol``: a mistake of the test, not of the code under test.
    """
    rtol = positive_number(rtol, "rtol", allow_zero=True)
    atol = positive_number(atol, "atol", allow_zero=True)
    expected = as_float_array(expected, "expected")
    base = {"name": name, "numeric": numeric, "rtol": rtol, "atol": atol, "shape": expected.shape}
    if got is None:
        problem = "returned None; did you forget a `return` statement?"
        return Comparison(
            **base, passed=False, problem=problem, mistake=Mistake("returned-none", problem)
        )
    try:
        array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError) as error:
        problem = (
            f"returned {describe(got)} ({type(got).__name__}), which is not an array of "
            f"numbers: {error}"
        )
        return Comparison(
            **base, passed=False, problem=problem, mistake=Mistake("not-numbers", problem)
        )
    if array.shape != expected.shape:
        problem = f"returned an array of shape {array.shape}, expected shape {expected.shape}"
        pattern = diagnose(array, expected, batch_size=batch_size) if numeric else None
        likely = _known(array, mistakes)
        return Comparison(
            **base,
            passed=False,
            problem=problem,
            hint=str(pattern or ""),
            likely=str(likely or ""),
            mistake=likely or pattern or Mistake("wrong-shape", problem),
        )
    return _entrywise(array, expected, base, mistakes, batch_size)


def _entrywise(
    got: np.ndarray,
    expected: np.ndarray,
    base: dict[str, Any],
    mistakes: Mapping[Any, Any] | None,
    batch_size: int | None,
) -> Comparison:
    """:func:`compare` of two float arrays of the same shape."""
    if got.size == 0:
        return Comparison(**base, passed=True)
    difference = np.abs(got - expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = difference / (base["atol"] + base["rtol"] * np.abs(expected))
    same = (got == expected) | (np.isnan(got) & np.isnan(expected))
    ratio = np.where(same, 0.0, np.where(np.isnan(ratio), np.inf, ratio))
    # The largest ratio; among equal ratios (a flipped sign, a factor) the largest difference.
    flat = int(np.lexsort((difference.ravel(), ratio.ravel()))[-1])
    worst = tuple(int(i) for i in np.unravel_index(flat, ratio.shape))
    bad = int(np.count_nonzero(ratio > 1.0))
    value, reference = float(got[worst]), float(expected[worst])
    if same[worst]:
        relative = 0.0
    else:
        relative = abs(value - reference) / abs(reference) if reference != 0 else math.inf
    found = {}
    if bad:
        pattern = diagnose(got, expected, batch_size=batch_size) if base["numeric"] else None
        likely = _known(got, mistakes)
        found = {
            "hint": str(pattern or ""),
            "likely": str(likely or ""),
            "mistake": likely or pattern,
        }
    return Comparison(
        **base,
        passed=not bad,
        bad=bad,
        size=got.size,
        worst_index=worst,
        got=value,
        expected=reference,
        rel_error=relative,
        ratio=float(ratio[worst]),
        **found,
    )
