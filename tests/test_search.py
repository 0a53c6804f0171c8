"""Hyper-parameter search: cross-validation over k folds, grids, random configurations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import data, search


@given(n=st.integers(4, 60), k=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_cross_validate_scores_each_fold_on_its_own_examples(n, k, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, 3)), rng.integers(0, 3, size=n)
    splits = data.kfold_splits(n, min(k, n), rng=rng)
    calls = []

    def score(X_train, y_train, X_valid, y_valid):
        calls.append((X_train, y_train, X_valid, y_valid))
        return X_valid.sum() - y_train.sum()

    scores = search.cross_validate(score, X, y, splits)
    assert scores.shape == (len(splits),)
    for s, (train, valid), (Xt, yt, Xv, yv) in zip(scores, splits, calls, strict=True):
        np.testing.assert_array_equal(Xt, X[train])
        np.testing.assert_array_equal(yt, y[train])
        np.testing.assert_array_equal(Xv, X[valid])
        np.testing.assert_array_equal(yv, y[valid])
        assert s == pytest.approx(X[valid].sum() - y[train].sum(), rel=1e-12, abs=1e-12)


def test_cross_validate_mean_of_the_mean_loss_over_equal_folds_is_the_mean_loss():
    # With k equal folds, the mean over folds of a per-fold mean equals the overall mean.
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 2)), rng.standard_normal(60)
    scores = search.cross_validate(
        lambda Xt, yt, Xv, yv: np.mean(yv**2), X, y, data.kfold_splits(60, 6, rng=rng)
    )
    assert np.mean(scores) == pytest.approx(np.mean(y**2), rel=1e-12)


def test_cross_validate_rejects_mismatched_data_and_no_splits():
    with pytest.raises(ValueError, match="same number of examples"):
        search.cross_validate(lambda *a: 0.0, np.zeros((3, 2)), np.zeros(4), [])
    with pytest.raises(ValueError, match="at least one"):
        search.cross_validate(lambda *a: 0.0, np.zeros((3, 2)), np.zeros(3), [])


def test_grid_is_every_combination_last_name_fastest():
    configs = search.grid({"lr": [0.1, 1.0], "hidden": [5, 10, 20]})
    assert len(configs) == 6
    assert configs[:2] == [{"lr": 0.1, "hidden": 5}, {"lr": 0.1, "hidden": 10}]
    assert {(c["lr"], c["hidden"]) for c in configs} == {
        (lr, h) for lr in (0.1, 1.0) for h in (5, 10, 20)
    }
    with pytest.raises(ValueError, match="at least one value"):
        search.grid({"lr": []})


def test_random_configs_are_uniform_or_log_uniform_in_their_ranges():
    configs = search.random_configs({"lr": (1e-3, 1.0), "p": (0.0, 0.5)}, 4000, rng=0, log=["lr"])
    lr = np.array([c["lr"] for c in configs])
    p = np.array([c["p"] for c in configs])
    assert lr.min() >= 1e-3 and lr.max() <= 1.0 and p.min() >= 0.0 and p.max() <= 0.5
    # log-uniform: log10 lr uniform on [-3, 0], mean -1.5, std 3/sqrt(12) ~ 0.87; the mean of
    # 4000 draws is within 0.1 of -1.5 except with probability < 1e-10 (Hoeffding, width 3).
    assert abs(np.mean(np.log10(lr)) + 1.5) < 0.1
    assert abs(np.mean(p) - 0.25) < 0.02  # Hoeffding, width 0.5: failure < 1e-7
    assert len({c["lr"] for c in configs}) == 4000  # every configuration a new value
    same = search.random_configs({"lr": (1e-3, 1.0)}, 3, rng=np.random.default_rng(1))
    assert same == search.random_configs({"lr": (1e-3, 1.0)}, 3, rng=1)


def test_random_configs_reject_bad_ranges():
    with pytest.raises(ValueError, match="low < high"):
        search.random_configs({"lr": (1.0, 1.0)}, 2, rng=0)
    with pytest.raises(ValueError, match="without a range"):
        search.random_configs({"lr": (0.1, 1.0)}, 2, rng=0, log=["p"])
    with pytest.raises(ValueError):
        search.random_configs({"lr": (0.0, 1.0)}, 2, rng=0, log=["lr"])
