"""Input checks: the fast paths give what the full conversions give and never skip an error."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule._validate import as_float_array, as_labels, require_finite

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def test_a_float64_array_is_returned_as_it_is():
    x = np.arange(6.0).reshape(2, 3)
    assert as_float_array(x, "x") is x
    assert as_float_array(x, "x", ndim=2) is x
    view = x[:, ::2]  # not contiguous: still returned as it is, no copy
    assert as_float_array(view, "x") is view


@pytest.mark.parametrize(
    "value",
    [
        [[1, 2], [3, 4]],
        np.array([[1, 2], [3, 4]], dtype=np.int32),
        np.array([[1.5, 2.0], [3.0, 4.0]], dtype=np.float32),
        np.array([[True, False], [False, True]]),
        np.array([[1.5, 2.0], [3.0, 4.0]], dtype=">f8"),  # float64, not native byte order
        np.ma.masked_array([[1.5, 2.0], [3.0, 4.0]]),  # an ndarray subclass
        2.5,
    ],
)
def test_other_input_is_converted_to_a_native_float64_ndarray(value):
    array = as_float_array(value, "x")
    assert type(array) is np.ndarray
    assert array.dtype == np.float64 and array.dtype.isnative
    np.testing.assert_array_equal(array, np.asarray(value, dtype=np.float64))


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (np.zeros(3), ValueError, r"x must be 2-D, got shape \(3,\)"),  # float64: fast path
        (np.zeros((1, 2, 3)), ValueError, r"x must be 2-D, got shape \(1, 2, 3\)"),
        ([0.0, 1.0, 2.0], ValueError, r"x must be 2-D, got shape \(3,\)"),
        (np.zeros(3, dtype=np.int64), ValueError, r"x must be 2-D, got shape \(3,\)"),
        (np.array([["a", "b"]]), TypeError, "x must be a numeric array, got dtype <U1"),
        (np.zeros((1, 2), dtype=complex), TypeError, "x must be real, got dtype complex128"),
        (np.array([[None, 1.0]]), TypeError, "x must be a numeric array, got dtype object"),
    ],
)
def test_bad_arrays_raise_the_same_named_errors(value, error, match):
    with pytest.raises(error, match=match):
        as_float_array(value, "x", ndim=2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("position", [0, 5, 11])
def test_require_finite_finds_any_nan_or_inf(bad, position):
    x = np.ones(12)
    x[position] = bad
    with pytest.raises(ValueError, match="logits must be finite, got NaN or inf"):
        require_finite(x.reshape(3, 4), "logits")


def test_require_finite_accepts_large_finite_values_silently():
    # Their sum overflows to inf: a check through a sum would need a fallback and would warn.
    x = np.array([[1e308, 1e308], [-1e308, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        require_finite(x, "x")
        require_finite(np.zeros((0, 3)), "x")
    with pytest.raises(ValueError, match="x must be finite"):
        require_finite(np.array([np.inf, -np.inf]), "x")  # inf - inf: NaN, still an error


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_labels_in_range_pass_unchanged(dtype):
    y = np.array([0, 3, 1, 3], dtype=dtype)
    assert as_labels(y, 4, 4) is y


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_labels_out_of_range_are_refused(dtype):
    with pytest.raises(ValueError, match=r"y must hold labels in \[0, 4\), got values in \[0, 4\]"):
        as_labels(np.array([0, 4, 1], dtype=dtype), 3, 4)
    if np.issubdtype(dtype, np.signedinteger):
        with pytest.raises(ValueError, match=r"labels in \[0, 4\), got values in \[-1, 2\]"):
            as_labels(np.array([2, -1, 1], dtype=dtype), 3, 4)
        with pytest.raises(ValueError, match=r"got values in \[-128, 0\]"):
            as_labels(np.array([0, -128], dtype=dtype), 2, 4)


def test_extreme_labels_are_refused():
    big = np.iinfo(np.int64)
    for y in ([0, big.max], [big.min, 0], [2**40, 1]):
        with pytest.raises(ValueError, match="labels in"):
            as_labels(np.array(y, dtype=np.int64), 2, 3)
    with pytest.raises(ValueError, match="labels in"):
        as_labels(np.array([np.iinfo(np.uint64).max], dtype=np.uint64), 1, 3)


@given(
    labels=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=0, max_size=8),
    n_classes=st.integers(0, 12),
)
@settings(max_examples=100, deadline=None)
def test_labels_are_refused_exactly_when_one_is_out_of_range(labels, n_classes):
    y = np.array(labels, dtype=np.int64)
    out_of_range = any(not 0 <= label < n_classes for label in labels)
    if out_of_range:
        with pytest.raises(ValueError, match="labels in"):
            as_labels(y, len(labels), n_classes)
    else:
        assert as_labels(y, len(labels), n_classes) is y


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        (np.array([0.0, 1.0]), TypeError, "y must hold integer class labels, got dtype float64"),
        (np.array([True, False]), TypeError, "integer class labels, got dtype bool"),
        (np.array([0, 1, 2]), ValueError, r"y must have shape \(2,\), got \(3,\)"),
        (np.array([[0, 1]]), ValueError, r"y must have shape \(2,\), got \(1, 2\)"),
    ],
)
def test_bad_labels_raise_named_errors(y, error, match):
    with pytest.raises(error, match=match):
        as_labels(y, 2, 3)
