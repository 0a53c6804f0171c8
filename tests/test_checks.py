"""Tests of chainrule.checks: each helper passes on a right answer and fails on a wrong one with a
message that names the function, the worst entry, expected vs received values, the inputs and
the likely mistake."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import functional, gradcheck
from chainrule.checks import check_array, check_gradient, check_unchanged, split_mistake
from chainrule.compare import diagnose


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20250116)


def test_check_array_passes_within_tolerance(rng: np.random.Generator) -> None:
    expected = rng.standard_normal((3, 4))
    check_array(expected * (1 + 1e-9), expected, name="f(a)", rtol=1e-7)
    check_array(expected.tolist(), expected, name="f(a)")  # lists are converted
    check_array(2.0, np.float64(2.0), name="f(x)")  # scalars work too


def test_check_array_names_worst_entry_and_inputs(rng: np.random.Generator) -> None:
    a = rng.standard_normal((3, 4))
    expected = functional.sigmoid_grad(a)
    got = expected.copy()
    got[1, 2] += 0.5
    got[0, 0] += 0.01
    with pytest.raises(AssertionError) as info:
        check_array(got, expected, name="sigmoid_grad(a)", inputs={"a": a})
    message = str(info.value)
    assert message.startswith("sigmoid_grad(a): 2 of 12 entries differ")
    assert "worst entry at index [1, 2]" in message
    assert f"expected {expected[1, 2]:.10g}, got {got[1, 2]:.10g} (relative error" in message
    assert "a = array of shape (3, 4)" in message
    assert f"a[1, 2] = {float(a[1, 2])!r} at the worst entry" in message


def test_check_array_scalar_message_has_no_index() -> None:
    with pytest.raises(
        AssertionError, match=r"worst entry: expected 6, got 6\.5 \(relative error 0\.083\)\n"
    ):
        check_array(6.5, 6.0, name="forward_difference", inputs={"f": "x -> x**2", "x": 3.0})


def test_check_array_shows_string_and_callable_inputs() -> None:
    with pytest.raises(AssertionError) as info:
        check_array(1.0, 0.0, name="g", inputs={"f": "x -> sin(x)", "fn": np.sin, "x": 0.5})
    message = str(info.value)
    assert "f = x -> sin(x)" in message
    assert "fn = sin" in message
    assert "x = 0.5" in message


def test_check_array_rejects_wrong_shape() -> None:
    with pytest.raises(AssertionError, match=r"shape \(3,\), expected shape \(3, 1\)"):
        check_array(np.zeros(3), np.zeros((3, 1)), name="relu_grad(a)")


def test_check_array_rejects_none_with_a_hint_about_return() -> None:
    with pytest.raises(AssertionError, match="returned None; did you forget a `return`"):
        check_array(None, np.zeros(2), name="tanh_grad(a)")


def test_check_array_rejects_non_numeric() -> None:
    with pytest.raises(AssertionError, match="not an array of numbers"):
        check_array("oops", np.zeros(2), name="tanh_grad(a)")


def test_check_array_reports_nan_as_worst_entry() -> None:
    got = np.array([1.0, np.nan, 3.1])
    with pytest.raises(AssertionError) as info:
        check_array(got, [1.0, 2.0, 3.0], name="f", rtol=1e-3)
    assert "2 of 3 entries differ" in str(info.value)
    assert str(info.value).endswith("worst entry at index [1]: expected 2, got nan")


def _quadratic(A: np.ndarray):
    """f(x) = 1/2 x^T A x on flattened x, with gradient 1/2 (A + A^T) x."""

    def f(x: np.ndarray) -> float:
        v = x.ravel()
        return 0.5 * float(v @ A @ v)

    def grad(x: np.ndarray) -> np.ndarray:
        return (0.5 * (A + A.T) @ x.ravel()).reshape(x.shape)

    return f, grad


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 2, 2)])
def test_check_gradient_passes_on_correct_gradient(
    rng: np.random.Generator, shape: tuple[int, ...]
) -> None:
    x = rng.standard_normal(shape)
    f, grad = _quadratic(rng.standard_normal((x.size, x.size)))
    check_gradient(grad(x), f, x, name="grad")


def test_check_gradient_fails_on_flipped_sign_with_hint(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3))
    f, grad = _quadratic(rng.standard_normal((6, 6)))
    with pytest.raises(AssertionError) as info:
        check_gradient(-grad(x), f, x, name="my_grad", inputs={"note": "quadratic"})
    message = str(info.value)
    hint = diagnose(-grad(x), gradcheck.numerical_gradient(f, x))
    assert hint, "diagnose should recognise a flipped sign"
    assert message.startswith("my_grad disagrees with central finite differences")
    assert f"\nhint: {hint}" in message
    assert "note = quadratic" in message
    assert "x = array of shape (2, 3)" in message


def test_check_gradient_names_the_wrong_entry(rng: np.random.Generator) -> None:
    x = rng.standard_normal(6)

    def wrong(v: np.ndarray) -> np.ndarray:
        g = functional.sigmoid_grad(v)
        g[4] *= 1.5
        return g

    def total(v: np.ndarray) -> float:
        return float(functional.sigmoid(v).sum())

    with pytest.raises(AssertionError) as info:
        check_gradient(wrong(x), total, x, name="sigmoid_grad")
    message = str(info.value)
    numeric = gradcheck.numerical_gradient(total, x)
    assert "worst entry at index [4]" in message
    assert f"analytic {wrong(x)[4]:.10g}, numeric {numeric[4]:.10g}" in message
    assert f"x[4] = {float(x[4])!r} at the worst entry" in message


def test_check_gradient_rejects_wrong_shape_with_transpose_hint(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3))
    f, grad = _quadratic(rng.standard_normal((6, 6)))
    with pytest.raises(AssertionError) as info:
        check_gradient(grad(x).T, f, x, name="grad_W")
    assert "shape (3, 2), expected shape (2, 3)" in str(info.value)
    assert "hint: shape (3, 2) is the transpose of the expected (2, 3)" in str(info.value)


def test_check_gradient_rejects_none() -> None:
    with pytest.raises(AssertionError, match="grad returned None"):
        check_gradient(None, lambda v: float(np.sum(v)), np.ones(2), name="grad")


def test_check_gradient_names_the_point_and_the_missing_batch_mean():
    X = np.arange(6.0).reshape(3, 2)

    def loss(theta):
        return float(np.mean((X @ theta) ** 2))

    def summed_grad(theta):  # forgets the 1/N of the mean
        return 2 * X.T @ (X @ theta)

    with pytest.raises(AssertionError) as error:
        check_gradient(
            summed_grad(np.ones(2)), loss, np.ones(2), name="g", point="theta", batch_size=3
        )
    message = str(error.value)
    assert "theta = array" in message and "  x = " not in message
    assert "1/N of the mean over the batch is missing" in message


def test_check_gradient_uses_rtol_and_atol_entry_by_entry() -> None:
    x = np.array([1.0, 2.0])
    gradient = np.array([2.0, 1e-9])  # of f(v) = v0^2 + 1e-9 v1: the second entry is tiny

    def f(v: np.ndarray) -> float:
        return float(v[0] ** 2 + 1e-9 * v[1])

    check_gradient(gradient * [1 + 1e-9, 3.0], f, x, name="g")  # 2e-9 off: within atol 1e-8
    with pytest.raises(AssertionError, match=r"1 of 2 entries differ.*rtol=1e-07, atol=1e-10"):
        check_gradient(gradient * [1 + 1e-9, 3.0], f, x, name="g", atol=1e-10)
    with pytest.raises(AssertionError, match=r"worst entry at index \[0\]: analytic 2\.00002, "):
        check_gradient(gradient * [1 + 1e-5, 1.0], f, x, name="g")
    check_gradient(gradient * [1 + 1e-5, 1.0], f, x, name="g", rtol=1e-4)


def test_check_unchanged_passes_on_equal_arrays_and_names_the_changed_entry() -> None:
    check_unchanged(np.array([1.0, np.nan]), np.array([1.0, np.nan]), name="f", argument="x")
    with pytest.raises(AssertionError) as info:
        check_unchanged(np.array([[1.0, 0.0]]), np.array([[1.0, -2.0]]), name="relu", argument="a")
    message, mistake = split_mistake(str(info.value))
    assert message.startswith("relu changed its input a in place: entry at index [0, 1]")
    assert "went from -2 to 0" in message and mistake == "changed-input-in-place"


def test_check_unchanged_reports_a_new_shape() -> None:
    with pytest.raises(AssertionError, match=r"shape went from \(2,\) to \(1, 2\)"):
        check_unchanged(np.zeros((1, 2)), np.zeros(2), name="f", argument="x")


def test_a_computed_gradient_of_the_wrong_shape_names_the_known_mistake(
    rng: np.random.Generator,
) -> None:
    x = rng.standard_normal((2, 3))
    with pytest.raises(AssertionError) as info:
        check_gradient(
            np.zeros((1, 3)),
            lambda v: float(np.sum(v**2)),
            x,
            name="grad",
            mistakes={"one row per batch": np.zeros((1, 3))},
        )
    message, mistake = split_mistake(str(info.value))
    assert "grad returned an array of shape (1, 3), expected shape (2, 3)" in message
    assert message.endswith("likely mistake: one row per batch")
    assert mistake == "one-row-per-batch"
