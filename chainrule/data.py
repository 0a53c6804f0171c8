"""Datasets for the notebooks: small synthetic problems, the digits, splits and scaling.

Every generator takes ``rng`` (a numpy Generator or an int seed) and returns X of shape
(N, D) float64 with y of shape (N,) int64 class labels (classification) or (N, 1) float64
targets (regression, shaped like the output of Linear(D, 1)). Examples come grouped by
class; :func:`train_valid_test_split` and the minibatches shuffle them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from chainrule._validate import as_float_array, as_rng, positive_int, positive_number


def xor(
    n: int, rng: np.random.Generator | int | None, noise: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """XOR in the plane: n points around the corners (±1, ±1), class 1 where the signs differ.

    Corner c is drawn uniformly, x = c + noise · N(0, I), y = [c_1 c_2 < 0]; no linear
    classifier separates the classes, one hidden layer does. X: (n, 2), y: (n,).
    """
    n = positive_int(n, "n")
    noise = positive_number(noise, "noise", allow_zero=True)
    rng = as_rng(rng)
    corners = rng.choice([-1.0, 1.0], size=(n, 2))
    X = corners + noise * rng.standard_normal((n, 2))
    y = (corners[:, 0] * corners[:, 1] < 0).astype(np.int64)
    return X, y


def spirals(
    n_per_class: int,
    n_classes: int = 3,
    *,
    rng: np.random.Generator | int | None,
    noise: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms in the plane, one per class.

    Arm c: radius r from 0 to 1, angle φ = 2π c / C + 4 r, x = r (cos φ, sin φ) + noise · N(0, I).
    X: (n_per_class · C, 2), y: (n_per_class · C,) grouped by class.
    """
    n_per_class = positive_int(n_per_class, "n_per_class")
    n_classes = positive_int(n_classes, "n_classes")
    noise = positive_number(noise, "noise", allow_zero=True)
    rng = as_rng(rng)
    r = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    y = np.repeat(np.arange(n_classes), n_per_class)
    phi = 2.0 * np.pi * y / n_classes + 4.0 * r
    X = r[:, None] * np.column_stack([np.cos(phi), np.sin(phi)])
    return X + noise * rng.standard_normal(X.shape), y


def blobs(
    n_per_class: int,
    centers: int | np.ndarray = 3,
    *,
    rng: np.random.Generator | int | None,
    std: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters: class c is x = μ_c + std · N(0, I).

    centers: an array (C, D) of means μ_c, or a number of classes C whose means are drawn
    uniformly in [-5, 5]² (D = 2). X: (n_per_class · C, D), y: (n_per_class · C,).
    """
    n_per_class = positive_int(n_per_class, "n_per_class")
    std = positive_number(std, "std", allow_zero=True)
    rng = as_rng(rng)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        means = rng.uniform(-5.0, 5.0, size=(positive_int(centers, "centers"), 2))
    else:
        means = as_float_array(centers, "centers", ndim=2)
        if means.shape[0] == 0:
            raise ValueError("centers must hold at least one row (one mean per class)")
    y = np.repeat(np.arange(means.shape[0]), n_per_class)
    return means[y] + std * rng.standard_normal((y.shape[0], means.shape[1])), y


def linear_regression(
    n: int,
    rng: np.random.Generator | int | None,
    *,
    w: float | np.ndarray = 2.0,
    b: float = -1.0,
    noise: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy linear targets y = x·w + b + noise · N(0, 1) with x uniform in [-1, 1]^D.

    w: a number (D = 1) or an array (D,). X: (n, D), y: (n, 1).
    """
    n = positive_int(n, "n")
    w = as_float_array(w, "w").reshape(-1)
    if w.size == 0:
        raise ValueError("w must hold at least one weight")
    b = float(as_float_array(b, "b", ndim=0))
    noise = positive_number(noise, "noise", allow_zero=True)
    rng = as_rng(rng)
    X = rng.uniform(-1.0, 1.0, size=(n, w.size))
    y = X @ w + b + noise * rng.standard_normal(n)
    return X, y[:, None]


#: Where scikit-learn keeps the digits, inside its package: 64 pixels and the label per row.
DIGITS_FILE = ("datasets", "data", "digits.csv.gz")


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8×8 handwritten digits bundled with scikit-learn (read from disk, no download).

    X: (1797, 64) float64 pixel intensities scaled from 0..16 to [0, 1]; y: (1797,) int64
    in 0..9. The file is read from scikit-learn's installed package without importing it
    (the import takes seconds, in every kernel and every grading process that loads digits).
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("load_digits needs scikit-learn: pip install scikit-learn")
    path = Path(next(iter(spec.submodule_search_locations)), *DIGITS_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"scikit-learn's digits are not at {path}: reinstall scikit-learn")
    table = np.loadtxt(path, delimiter=",")
    return table[:, :-1] / 16.0, table[:, -1].astype(np.int64)


def train_valid_test_split(
    X: np.ndarray,
    y: np.ndarray,
    valid: float = 0.2,
    test: float = 0.2,
    *,
    rng: np.random.Generator | int | None,
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Shuffle and cut (X, y) into ((X_train, y_train), (X_valid, y_valid), (X_test, y_test)).

    valid, test: fractions in [0, 1) of the N examples (rounded to whole examples), with
    valid + test < 1; the training set gets the rest. The training set fits the parameters,
    the validation set picks hyper-parameters and the stopping epoch, and the test set is
    looked at once, at the end, to estimate the generalization error.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y must have the same number of examples, got shapes {X.shape} and {y.shape}"
        )
    for name, fraction in (("valid", valid), ("test", test)):
        if positive_number(fraction, name, allow_zero=True) >= 1.0:
            raise ValueError(f"{name} must be a fraction in [0, 1), got {fraction}")
    n = X.shape[0]
    n_valid, n_test = round(valid * n), round(test * n)
    if n - n_valid - n_test < 1:
        raise ValueError(
            f"valid + test must leave at least one training example, got valid={valid}, "
            f"test={test} for {n} examples"
        )
    order = as_rng(rng).permutation(n)
    parts = np.split(order, [n - n_valid - n_test, n - n_test])
    return tuple((X[idx], y[idx]) for idx in parts)


def standardize(X_train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Scale every feature to mean 0 and standard deviation 1 on the training set.

    x'_j = (x_j - μ_j) / σ_j with μ_j, σ_j computed on X_train (N, D) only, then applied
    unchanged to ``others`` (each (M, D)): validation or test data must not leak into the
    scaling. A constant feature (σ_j = 0) is only centred: σ_j is taken as 1.
    Returns a tuple (X_train', *others').
    """
    X_train = as_float_array(X_train, "X_train", ndim=2)
    arrays = [as_float_array(X, f"others[{i}]", ndim=2) for i, X in enumerate(others)]
    for i, X in enumerate(arrays):
        if X.shape[1] != X_train.shape[1]:
            raise ValueError(
                f"others[{i}] must have X_train's {X_train.shape[1]} features, got shape {X.shape}"
            )
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std[np.ptp(X_train, axis=0) == 0.0] = 1.0  # not std == 0: round-off leaves ~1e-17
    return tuple((X - mean) / std for X in [X_train, *arrays])


def kfold_splits(
    n: int, k: int, *, rng: np.random.Generator | int | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """k-fold cross-validation: the indices 0..n-1, shuffled by ``rng``, cut into k folds.

    Fold i is the validation set of round i and the other k - 1 folds its training set.
    The first n mod k folds hold ⌈n/k⌉ examples, the others ⌊n/k⌋, so every index is
    validated exactly once. Returns k pairs (train_idx, valid_idx) of int64 arrays, each
    sorted in the shuffled order.
    """
    n = positive_int(n, "n")
    k = positive_int(k, "k")
    if not 2 <= k <= n:
        raise ValueError(f"k must be a number of folds between 2 and n = {n}, got {k}")
    folds = np.array_split(as_rng(rng).permutation(n), k)
    return [(np.concatenate(folds[:i] + folds[i + 1 :]), valid) for i, valid in enumerate(folds)]
