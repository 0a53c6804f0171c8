"""Hyper-parameter search: cross-validation, grids and random configurations.

A *configuration* is a dict from hyper-parameter name to value. Search tries several
configurations, scores each on held-out data (a validation set, or the folds of
:func:`chainrule.data.kfold_splits`), and keeps the best; the test set plays no part.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from chainrule._validate import as_rng, positive_int, positive_number

#: score(X_train, y_train, X_valid, y_valid) -> a number, e.g. a validation loss.
Score = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]


def cross_validate(
    score: Score,
    X: np.ndarray,
    y: np.ndarray,
    splits: Iterable[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """The k scores of k-fold cross-validation.

    For each pair (train_idx, valid_idx) of ``splits`` (from :func:`chainrule.data.kfold_splits`),
    s_i = score(X[train_idx], y[train_idx], X[valid_idx], y[valid_idx]). Returns the array
    (s_1, ..., s_k); their mean (1/k) Σ_i s_i is the cross-validation estimate.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y must have the same number of examples, got shapes {X.shape} and {y.shape}"
        )
    scores = [float(score(X[train], y[train], X[valid], y[valid])) for train, valid in splits]
    if not scores:
        raise ValueError("splits must hold at least one (train_idx, valid_idx) pair")
    return np.array(scores)


def grid(values: Mapping[str, Sequence[object]]) -> list[dict[str, object]]:
    """Every combination of the listed values: the configurations of a grid search.

    ``values`` maps each hyper-parameter to its candidate values; the result has
    Π_j len(values_j) configurations, the last name varying fastest.
    """
    names = list(values)
    for name in names:
        if len(values[name]) == 0:
            raise ValueError(f"values[{name!r}] must list at least one value")
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(values[n] for n in names))
    ]


def random_configs(
    ranges: Mapping[str, tuple[float, float]],
    n: int,
    *,
    rng: np.random.Generator | int | None,
    log: Iterable[str] = (),
) -> list[dict[str, float]]:
    """``n`` configurations drawn independently: each hyper-parameter uniform in its range
    (low, high), or log-uniform (log v uniform in [log low, log high]) for the names in ``log``.

    Unlike a grid of the same size, n random configurations try n different values of
    every hyper-parameter.
    """
    n = positive_int(n, "n")
    rng = as_rng(rng)
    log = set(log)
    unknown = log - set(ranges)
    if unknown:
        raise ValueError(f"log names hyper-parameters without a range: {sorted(unknown)}")
    columns = {}
    for name, (low, high) in ranges.items():
        if not low < high:
            raise ValueError(f"ranges[{name!r}] must be (low, high) with low < high")
        if name in log:
            positive_number(low, f"the low end of ranges[{name!r}] (log scale)")
            columns[name] = np.exp(rng.uniform(np.log(low), np.log(high), size=n))
        else:
            columns[name] = rng.uniform(low, high, size=n)
    return [{name: float(column[i]) for name, column in columns.items()} for i in range(n)]
