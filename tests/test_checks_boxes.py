"""Tests of the chainrule.checks helpers for gradients a test has already computed and for
flow-graph boxes: check_unchanged, known_mistakes, check_computed_gradient and check_box."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import layers
from chainrule.checks import (
    check_box,
    check_computed_gradient,
    check_unchanged,
    known_mistakes,
    split_mistake,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20250117)


def affine(x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    return x @ params["W"].T + params["b"]


def test_check_unchanged_passes_on_equal_arrays_and_names_the_changed_entry() -> None:
    check_unchanged(np.array([1.0, np.nan]), np.array([1.0, np.nan]), name="f", argument="x")
    with pytest.raises(AssertionError) as info:
        check_unchanged(np.array([[1.0, 0.0]]), np.array([[1.0, -2.0]]), name="relu", argument="a")
    message = str(info.value)
    assert message.startswith("relu changed its input a in place: entry at index [0, 1]")
    assert "went from -2 to 0" in message


def test_check_unchanged_reports_a_new_shape() -> None:
    with pytest.raises(AssertionError, match=r"shape went from \(2,\) to \(1, 2\)"):
        check_unchanged(np.zeros((1, 2)), np.zeros(2), name="f", argument="x")


def test_known_mistakes_adds_the_explanation_of_a_matching_mistake() -> None:
    got = np.array([2.0, 4.0])
    with pytest.raises(AssertionError) as info:
        with known_mistakes(got, {"not this one": np.ones(2), "doubled": np.array([2.0, 4.0])}):
            raise AssertionError("f is wrong")
    assert str(info.value) == "f is wrong\nlikely mistake: doubled\n[mistake: doubled]"


@pytest.mark.parametrize("got", [np.array([5.0, 6.0]), None, "text"])
def test_known_mistakes_leaves_other_failures_alone(got: object) -> None:
    with pytest.raises(AssertionError, match=r"^f is wrong$"):
        with known_mistakes(got, {"doubled": np.array([2.0, 4.0])}):
            raise AssertionError("f is wrong")


def test_check_computed_gradient_passes_and_fails_with_a_hint(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3))
    check_computed_gradient(2 * x, lambda v: float(np.sum(v**2)), x, name="grad")
    with pytest.raises(AssertionError) as info:
        check_computed_gradient(
            np.zeros((1, 3)),
            lambda v: float(np.sum(v**2)),
            x,
            name="grad",
            mistakes={"one row per batch": np.zeros((1, 3))},
        )
    message = str(info.value)
    assert "grad returned an array of shape (1, 3), expected shape (2, 3)" in message
    assert split_mistake(message)[0].endswith("likely mistake: one row per batch")


def test_check_box_passes_on_the_reference_boxes(rng: np.random.Generator) -> None:
    x = rng.standard_normal((4, 3))
    params = {"W": rng.standard_normal((2, 3)), "b": rng.standard_normal(2)}
    check_box(
        layers.Linear(3, 2), affine, x, rng.standard_normal((4, 2)), name="Linear", params=params
    )
    check_box(layers.Tanh(), lambda v, _: np.tanh(v), x, rng.standard_normal((4, 3)), name="Tanh")


def test_check_box_rejects_a_grad_out_of_the_wrong_shape(rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match=r"grad_out must have the output's shape, got \(2,\)"):
        check_box(layers.Tanh(), lambda v, _: np.tanh(v), np.zeros((2, 2)), np.zeros(2), name="T")


class UnsummedBias(layers.Linear):
    """A Linear box whose bias gradient keeps one row per example."""

    def bprop(self, grad_out: np.ndarray) -> np.ndarray:
        grad_x = super().bprop(grad_out)
        self.grads["b"] = np.array(grad_out)
        return grad_x


def test_check_box_names_the_wrong_parameter_gradient(rng: np.random.Generator) -> None:
    x = rng.standard_normal((4, 3))
    params = {"W": rng.standard_normal((2, 3)), "b": rng.standard_normal(2)}
    R = rng.standard_normal((4, 2))
    mistakes = {"b": {"one bias gradient per example: sum over the batch": R}}
    with pytest.raises(AssertionError) as info:
        check_box(UnsummedBias(3, 2), affine, x, R, name="Linear", params=params, mistakes=mistakes)
    message = str(info.value)
    assert message.startswith("Linear.grads['b'] after bprop returned an array")
    assert "shape (4, 2), expected shape (2,)" in message
    assert split_mistake(message)[0].endswith(
        "likely mistake: one bias gradient per example: sum over the batch"
    )


class ClobberingTanh(layers.Tanh):
    """A Tanh box that writes into the gradient it receives."""

    def bprop(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out *= 1.0 - self._h**2
        return grad_out


def test_check_box_fails_when_the_box_changes_its_input(rng: np.random.Generator) -> None:
    x = rng.standard_normal((3, 2))
    with pytest.raises(AssertionError, match=r"^Tanh.bprop changed its input grad_out in place"):
        check_box(
            ClobberingTanh(), lambda v, _: np.tanh(v), x, rng.standard_normal((3, 2)), name="Tanh"
        )


def test_check_box_adds_the_likely_mistake_for_the_input_gradient(rng: np.random.Generator) -> None:
    class SigmoidWithoutOneMinus(layers.Sigmoid):
        def bprop(self, grad_out: np.ndarray) -> np.ndarray:
            return grad_out * self._h

    x, R = rng.standard_normal((2, 3, 2))
    sigmoid = layers.Sigmoid.g
    mistakes = {"x": {"g(a) instead of g(a)(1 - g(a))": R * sigmoid(x)}}
    with pytest.raises(AssertionError) as info:
        check_box(
            SigmoidWithoutOneMinus(),
            lambda v, _: sigmoid(v),
            x,
            R,
            name="Sigmoid",
            mistakes=mistakes,
        )
    message = str(info.value)
    assert "Sigmoid.bprop(grad_out), the gradient with respect to the input x disagrees" in message
    assert split_mistake(message)[0].endswith("likely mistake: g(a) instead of g(a)(1 - g(a))")
