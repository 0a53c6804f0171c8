"""Input checks shared by the module: every bad input gets an error that names the argument."""

from __future__ import annotations

import numbers
from collections.abc import Collection

import numpy as np

_FLOAT64 = np.dtype(np.float64)


def as_float_array(value: object, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a float64 array, or raise naming ``name`` and what was expected.

    Raises ``TypeError`` for non-numeric input and ``ValueError`` for a wrong number of
    dimensions. A float64 ndarray (native byte order) is returned as it is, without a copy.
    """
    # The conversion would return such an array unchanged: skip it, keep the ndim check.
    if type(value) is not np.ndarray or value.dtype != _FLOAT64:
        value = _converted(value, name)
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {value.shape}")
    return value


def _converted(value: object, name: str) -> np.ndarray:
    """``np.asarray(value)`` as float64; complex and non-numeric dtypes are refused."""
    array = np.asarray(value)
    kind = array.dtype.kind  # b(ool), i(nt), u(nsigned), f(loat), c(omplex); others not numeric
    if kind == "c":
        raise TypeError(f"{name} must be real, got dtype {array.dtype}")
    if kind not in "biuf":
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    return array.astype(np.float64, copy=False)


def require_finite(array: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``array`` holds NaN or inf."""
    # Counting the finite entries is cheaper than the reduction behind .all(). Testing a sum
    # first would be no cheaper, and large finite entries overflow it with a RuntimeWarning.
    if np.count_nonzero(np.isfinite(array)) != array.size:
        raise ValueError(f"{name} must be finite, got NaN or inf")


def as_labels(y: object, n_examples: int, n_classes: int, name: str = "y") -> np.ndarray:
    """Return integer class labels of shape (N,) with values in [0, C), or raise."""
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != n_examples:
        raise ValueError(f"{name} must have shape ({n_examples},), got {labels.shape}")
    if labels.dtype.kind not in "iu":  # signed or unsigned integers
        raise TypeError(f"{name} must hold integer class labels, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"{name} must hold labels in [0, {n_classes}), got values in "
            f"[{labels.min()}, {labels.max()}]"
        )
    return labels


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}"
        )


def positive_number(value: object, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is a real number > 0 (or >= 0), else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value}")
    return float(value)


def positive_int(value: object, name: str) -> int:
    """Return ``value`` if it is an integer >= 1, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def as_rng(rng: object, name: str = "rng") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from a Generator, an int seed or None (fresh entropy).

    numpy's global random state is never used.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"{name} must be a numpy.random.Generator, an int seed or None, got {rng!r}")


def one_of(value: object, name: str, choices: Collection[str]) -> str:
    """Return ``value`` if it is one of ``choices`` (names), else raise ``ValueError``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value
