"""Datasets: shapes, labels, reproducibility, splits and training-set-only standardization."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import data

seeds = st.integers(0, 2**32 - 1)


def test_generators_are_reproducible_and_take_a_generator_or_a_seed():
    makers = [
        lambda rng: data.xor(30, rng),
        lambda rng: data.spirals(10, 4, rng=rng),
        lambda rng: data.blobs(10, 3, rng=rng),
        lambda rng: data.linear_regression(30, rng),
    ]
    for make in makers:
        X1, y1 = make(7)
        X2, y2 = make(np.random.default_rng(7))
        X3, _ = make(8)
        np.testing.assert_array_equal(X1, X2)
        np.testing.assert_array_equal(y1, y2)
        assert not np.array_equal(X1, X3)
        assert X1.dtype == np.float64 and X1.ndim == 2


@given(n=st.integers(1, 200), seed=seeds)
@settings(max_examples=20, deadline=None)
def test_xor_labels_are_the_xor_of_the_signs(n, seed):
    X, y = data.xor(n, seed, noise=0.05)  # 20 standard deviations from the axes
    assert X.shape == (n, 2) and y.shape == (n,) and y.dtype == np.int64
    np.testing.assert_array_equal(y, ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(int))
    assert np.all(np.abs(np.abs(X) - 1) < 0.5)


def test_xor_is_not_linearly_separable_but_balanced_in_expectation():
    X, y = data.xor(4000, 0)
    assert abs(y.mean() - 0.5) < 0.05
    # the best least-squares linear fit explains nothing: XOR has no linear signal
    A = np.column_stack([X, np.ones(len(X))])
    coef, *_ = np.linalg.lstsq(A, y - y.mean(), rcond=None)
    assert np.all(np.abs(coef) < 0.05)


@given(n=st.integers(1, 40), c=st.integers(1, 5), seed=seeds)
@settings(max_examples=20, deadline=None)
def test_spirals_shapes_and_arms(n, c, seed):
    X, y = data.spirals(n, c, rng=seed, noise=0.0)
    assert X.shape == (n * c, 2)
    np.testing.assert_array_equal(np.bincount(y, minlength=c), [n] * c)
    assert np.all(np.linalg.norm(X, axis=1) <= 1 + 1e-12)
    # without noise, each arm is a curve r -> r (cos φ, sin φ), φ = 2πc/C + 4r
    r = np.linalg.norm(X, axis=1)
    phi = 2 * np.pi * y / c + 4 * r
    np.testing.assert_allclose(X, r[:, None] * np.column_stack([np.cos(phi), np.sin(phi)]))


def test_blobs_with_given_centers():
    centers = np.array([[0.0, 0.0, 1.0], [5.0, 5.0, 5.0]])
    X, y = data.blobs(3, centers, rng=0, std=0.0)
    np.testing.assert_array_equal(X, centers[y])
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1, 1])
    X, y = data.blobs(5000, centers, rng=0, std=2.0)
    for c in range(2):
        np.testing.assert_allclose(X[y == c].mean(axis=0), centers[c], atol=0.1)
        np.testing.assert_allclose(X[y == c].std(axis=0), 2.0, rtol=0.05)


def test_blobs_with_a_number_of_classes():
    X, y = data.blobs(4, 5, rng=1)
    assert X.shape == (20, 2) and set(y) == set(range(5))


def test_linear_regression_targets():
    w = np.array([1.5, -2.0, 0.5])
    X, y = data.linear_regression(50, 3, w=w, b=0.25, noise=0.0)
    assert X.shape == (50, 3) and y.shape == (50, 1)
    assert X.min() >= -1 and X.max() <= 1
    np.testing.assert_allclose(y[:, 0], X @ w + 0.25)
    X, y = data.linear_regression(20_000, 3, w=2.0, b=-1.0, noise=0.5)
    A = np.column_stack([X, np.ones(len(X))])
    (w_hat, b_hat), residuals, *_ = np.linalg.lstsq(A, y[:, 0], rcond=None)
    assert w_hat == pytest.approx(2.0, abs=0.02) and b_hat == pytest.approx(-1.0, abs=0.02)
    assert np.sqrt(residuals[0] / len(X)) == pytest.approx(0.5, rel=0.02)


def test_load_digits():
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.shape == (1797,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.unique(y), np.arange(10))


def test_load_digits_are_scikit_learns_without_importing_it():
    code = (
        "import sys; from chainrule import data; X, y = data.load_digits(); "
        "print('sklearn' in sys.modules)"
    )
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert imported.stdout.strip() == "False", imported.stderr
    from sklearn.datasets import load_digits as sklearn_digits

    X, y = data.load_digits()
    digits = sklearn_digits()
    np.testing.assert_array_equal(X, digits.data / 16.0)
    np.testing.assert_array_equal(y, digits.target)


@given(n=st.integers(3, 100), valid=st.floats(0.0, 0.3), test=st.floats(0.0, 0.3), seed=seeds)
@settings(max_examples=30, deadline=None)
def test_split_is_a_shuffled_partition(n, valid, test, seed):
    X = np.arange(n, dtype=float)[:, None] * np.ones((1, 2))
    y = np.arange(n)
    parts = data.train_valid_test_split(X, y, valid, test, rng=seed)
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = parts
    assert len(y_va) == round(valid * n) and len(y_te) == round(test * n)
    assert len(y_tr) == n - len(y_va) - len(y_te)
    np.testing.assert_array_equal(np.sort(np.concatenate([y_tr, y_va, y_te])), y)
    for Xp, yp in parts:
        np.testing.assert_array_equal(Xp[:, 0], yp)  # rows keep their labels
    again = data.train_valid_test_split(X, y, valid, test, rng=seed)
    for (_, a), (_, b) in zip(parts, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_split_shuffles():
    _, _, (_, y_test) = data.train_valid_test_split(np.zeros((100, 1)), np.arange(100), rng=0)
    assert not np.array_equal(np.sort(y_test), np.arange(80, 100))


@given(n=st.integers(2, 30), d=st.integers(1, 5), seed=seeds)
@settings(max_examples=25, deadline=None)
def test_standardize_uses_training_statistics_only(n, d, seed):
    rng = np.random.default_rng(seed)
    X_train = rng.normal(3.0, 2.0, size=(n, d))
    X_other = rng.normal(-1.0, 5.0, size=(7, d))
    Z_train, Z_other = data.standardize(X_train, X_other)
    np.testing.assert_allclose(Z_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z_train.std(axis=0), 1.0, rtol=1e-10)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    np.testing.assert_allclose(Z_other, (X_other - mean) / std)


def test_standardize_leaves_constant_features_finite():
    X_train = np.column_stack([np.full(10, 0.1), np.arange(10.0)])
    X_test = np.array([[0.1, 3.0], [0.7, 4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero
        Z_train, Z_test = data.standardize(X_train, X_test)
    np.testing.assert_allclose(Z_train[:, 0], 0.0, atol=1e-15)
    np.testing.assert_allclose(Z_test[:, 0], [0.0, 0.6], atol=1e-15)
    assert np.all(np.isfinite(Z_test))
    (alone,) = data.standardize(X_train)
    np.testing.assert_array_equal(alone, Z_train)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: data.xor(0, 0), ValueError, "n must be >= 1"),
        (lambda: data.xor(10, 0, noise=-1.0), ValueError, "noise must be a finite number >= 0"),
        (lambda: data.xor(10, "seed"), TypeError, "rng must be"),
        (lambda: data.spirals(5, 0, rng=0), ValueError, "n_classes must be >= 1"),
        (lambda: data.blobs(5, np.zeros(3), rng=0), ValueError, "centers must be 2-D"),
        (lambda: data.blobs(5, np.zeros((0, 2)), rng=0), ValueError, "centers must hold"),
        (lambda: data.blobs(5, 0, rng=0), ValueError, "centers must be >= 1"),
        (lambda: data.blobs(5, 3, rng=0, std=-1.0), ValueError, "std must be"),
        (lambda: data.linear_regression(5, 0, w=[]), ValueError, "w must hold"),
        (lambda: data.linear_regression(5, 0, b=[1.0, 2.0]), ValueError, "b must be 0-D"),
        (
            lambda: data.train_valid_test_split(np.zeros((4, 1)), np.zeros(3), rng=0),
            ValueError,
            "same number of examples",
        ),
        (
            lambda: data.train_valid_test_split(np.zeros((4, 1)), np.zeros(4), 1.0, 0.0, rng=0),
            ValueError,
            r"valid must be a fraction in \[0, 1\)",
        ),
        (
            lambda: data.train_valid_test_split(np.zeros((4, 1)), np.zeros(4), 0.2, -0.1, rng=0),
            ValueError,
            "test must be a finite number >= 0",
        ),
        (
            lambda: data.train_valid_test_split(np.zeros((10, 1)), np.zeros(10), 0.5, 0.5, rng=0),
            ValueError,
            "valid \\+ test must leave at least one training example",
        ),
        (lambda: data.standardize(np.zeros(3)), ValueError, "X_train must be 2-D"),
        (
            lambda: data.standardize(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 3))),
            ValueError,
            r"others\[1\] must have X_train's 2 features",
        ),
    ],
)
def test_bad_input_raises_a_named_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


@given(n=st.integers(2, 120), k=st.integers(2, 12), seed=seeds)
@settings(max_examples=40, deadline=None)
def test_kfold_splits_validate_every_index_once_in_folds_of_near_equal_size(n, k, seed):
    k = min(k, n)
    splits = data.kfold_splits(n, k, rng=seed)
    assert len(splits) == k
    valid = np.concatenate([v for _, v in splits])
    np.testing.assert_array_equal(np.sort(valid), np.arange(n))  # each index validated once
    sizes = [len(v) for _, v in splits]
    assert sizes == [n // k + (i < n % k) for i in range(k)]  # ⌈n/k⌉ first, then ⌊n/k⌋
    for train, v in splits:  # the training set is everything else
        np.testing.assert_array_equal(np.sort(np.concatenate([train, v])), np.arange(n))
        assert train.dtype.kind == "i" and v.dtype.kind == "i"
    again = data.kfold_splits(n, k, rng=np.random.default_rng(seed))
    for (t1, v1), (t2, v2) in zip(splits, again, strict=True):
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_array_equal(v1, v2)


def test_kfold_splits_shuffle_and_reject_bad_k():
    orders = {tuple(data.kfold_splits(50, 5, rng=seed)[0][1]) for seed in range(5)}
    assert len(orders) == 5  # a new shuffle per seed, not the folds 0..9, 10..19, ...
    for k in (1, 11):
        with pytest.raises(ValueError, match="k must be"):
            data.kfold_splits(10, k, rng=0)
