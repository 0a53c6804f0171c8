"""Finite differences, relative error, directional and module checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import layers
from chainrule.compare import compare
from chainrule.gradcheck import (
    check_module,
    compare_gradient,
    directional_check,
    numerical_derivative,
    numerical_gradient,
    numerical_jacobian,
    rel_error,
)

seeds = st.integers(0, 2**32 - 1)


def test_central_difference_has_second_order_error():
    # sin'(1) = cos(1); halving h divides the central-difference error by about 4.
    errors = [abs(numerical_derivative(np.sin, 1.0, h) - np.cos(1.0)) for h in (1e-2, 5e-3)]
    assert 3.9 < errors[0] / errors[1] < 4.1


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), seed=seeds)
@settings(max_examples=20, deadline=None)
def test_numerical_gradient_of_a_quadratic_form(shape, seed):
    # f(x) = sum(c * x^2) + sum(d * x) has gradient 2 c x + d.
    rng = np.random.default_rng(seed)
    c, d, x = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)
    before = x.copy()
    grad = numerical_gradient(lambda z: np.sum(c * z**2) + np.sum(d * z), x)
    assert rel_error(grad, 2 * c * x + d) < 1e-9
    np.testing.assert_array_equal(x, before)  # the input is left as it was


@given(n=st.integers(1, 5), m=st.integers(1, 5), seed=seeds)
@settings(max_examples=20, deadline=None)
def test_numerical_jacobian_of_a_linear_map_is_the_matrix(n, m, seed):
    M = np.random.default_rng(seed).normal(size=(m, n))
    J = numerical_jacobian(lambda z: M @ z, np.random.default_rng(seed + 1).normal(size=n))
    assert J.shape == (m, n)
    assert rel_error(J, M) < 1e-9


def test_rel_error():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    np.testing.assert_allclose(rel_error(np.array([1.0, 0.0]), np.array([1.1, 0.0])), 0.1 / 2.1)
    assert rel_error(np.zeros(3), np.full(3, 1e-12)) < 1e-3  # both ~0: no blow-up
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.zeros(2), np.zeros(3))


def test_directional_check_accepts_the_gradient_and_rejects_a_wrong_one():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    A = A @ A.T
    x = rng.normal(size=6)

    def f(z):
        return 0.5 * z @ A @ z

    good = directional_check(f, A @ x, x, rng=1)
    assert good.passed and good.rel_error < 1e-8
    wrong = A @ x
    wrong[3] += 0.1
    bad = directional_check(f, wrong, x, rng=1)
    assert not bad.passed and bad.rel_error > 1e-4
    assert str(bad).startswith("∇f(x)·u disagrees with central finite differences")
    with pytest.raises(ValueError, match="grad must have the shape of x"):
        directional_check(f, np.zeros(5), x, rng=1)


class _WrongLinear(layers.Linear):
    """A Linear whose weight gradient forgets one row: check_module must point at it."""

    def bprop(self, grad_out):
        grad_in = super().bprop(grad_out)
        self.grads["W"][1] = 0.0
        return grad_in


def test_check_module_names_the_worst_parameter_and_entry():
    rng = np.random.default_rng(3)
    net = layers.Sequential(
        [layers.Linear(4, 5, rng=rng), layers.Tanh(), _WrongLinear(5, 3, rng=rng)]
    )
    report = check_module(net, rng.normal(size=(6, 4)), rng=rng)
    assert not report.passed
    assert report.worst.name == "2.W"
    assert report.worst.worst_index[0] == 1
    assert report.worst.got == 0.0 and report.worst.expected != 0.0
    text = str(report)
    assert text.startswith("worst: 2.W: FAILED, worst entry at index [1, ")
    assert "analytic 0, numeric" in text
    passed = {check.name: check.passed for check in report.checks}
    assert passed == {"input": True, "0.W": True, "0.b": True, "2.W": False, "2.b": True}


def test_check_module_leaves_parameters_unchanged():
    rng = np.random.default_rng(4)
    lin = layers.Linear(3, 2, rng=rng)
    before = {k: v.copy() for k, v in lin.params.items()}
    assert check_module(lin, rng.normal(size=(2, 3)), rng=rng).passed
    for k, v in lin.params.items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        (lambda W: W.T.copy().T, "C-contiguous"),  # a transposed view: perturbations get lost
        (lambda W: W.astype(np.float32), "dtype float32"),
        (lambda W: W.tolist(), "got list"),
    ],
    ids=["transposed view", "float32", "list"],
)
def test_check_module_refuses_parameters_it_cannot_perturb_in_place(stored, problem):
    lin = layers.Linear(3, 2, rng=0)
    lin.params["W"] = stored(lin.params["W"])
    with pytest.raises(ValueError, match=rf"module.params\['W'\] must be .*{problem}"):
        check_module(lin, np.ones((2, 3)), rng=0)


@pytest.mark.parametrize(
    "as_returned", [float, np.float64, np.asarray, lambda v: np.array([v]), lambda v: [[v]]]
)
def test_any_one_number_f_returns_gives_the_same_gradient(as_returned):
    x = np.random.default_rng(5).normal(size=(2, 3))
    expected = numerical_gradient(lambda z: float(np.sum(np.sin(z))), x)
    np.testing.assert_array_equal(
        numerical_gradient(lambda z: as_returned(np.sum(np.sin(z))), x), expected
    )


def test_check_module_leaves_input_and_parameters_bit_for_bit_unchanged():
    rng = np.random.default_rng(6)
    net = layers.Sequential([layers.Linear(3, 4, rng=rng), layers.Tanh(), layers.Linear(4, 2)])
    x, y = rng.normal(size=(5, 3)), rng.integers(0, 2, size=5)
    before = {k: v.copy() for k, v in net.params.items()}
    x_before = x.copy()
    loss = layers.SoftmaxCrossEntropy()

    class NetLoss:  # the network and its loss as one box, as in benchmarks/core.py
        params, grads = property(lambda self: net.params), property(lambda self: net.grads)

        def fprop(self, x, y):
            return loss.fprop(net.fprop(x), y)

        def bprop(self):
            return net.bprop(loss.bprop())

    assert check_module(NetLoss(), x, y=y).passed
    assert check_module(net, x, loss=loss, y=y).passed
    np.testing.assert_array_equal(x, x_before)
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, before[k])


def test_bad_step_is_refused():
    with pytest.raises(ValueError, match="h must be a finite number > 0"):
        numerical_gradient(np.sum, np.zeros(2), h=0.0)
    with pytest.raises(ValueError, match="f must return a scalar"):
        numerical_gradient(lambda z: z, np.zeros(2))
    with pytest.raises(ValueError, match=r"f must return a scalar, got an array of shape \(0,\)"):
        numerical_gradient(lambda z: [], np.zeros(2))


def test_compare_gradient_reports_the_worst_entry_against_central_differences():
    x = np.array([[0.5, -1.0, 2.0]])
    good = compare_gradient(np.cos(x), lambda v: float(np.sum(np.sin(v))), x, name="cos")
    assert good.passed and good.numeric and good.rel_error < 1e-9
    wrong = np.cos(x) * [[1.0, 1.0, 1.5]]
    bad = compare_gradient(wrong, lambda v: float(np.sum(np.sin(v))), x, name="cos")
    assert not bad.passed and bad.worst_index == (0, 2) and bad.got == wrong[0, 2]
    assert bad.expected == pytest.approx(np.cos(2.0), rel=1e-9)


class _CenteredTanh(layers.Module):
    """h = tanh(x - mean of x over the batch): the examples of a batch are coupled."""

    def fprop(self, x):
        self.h = np.tanh(x - x.mean(axis=0))
        return self.h

    def bprop(self, grad_out):
        g = grad_out * (1 - self.h**2)
        return g - g.mean(axis=0) if self.coupled else g

    coupled = True


@pytest.mark.parametrize("coupled", [True, False])
def test_a_module_that_couples_the_examples_is_checked_entry_by_entry(coupled):
    box = _CenteredTanh()
    box.coupled = coupled  # False: bprop forgets the coupling, and the check must see it
    report = check_module(box, np.random.default_rng(7).normal(size=(4, 3)), rng=0)
    assert report.passed == coupled, str(report)


@given(
    widths=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    n=st.integers(1, 5),
    seed=seeds,
)
@settings(max_examples=15, deadline=None)
def test_box_by_box_differences_equal_the_differences_of_the_whole_network(widths, n, seed):
    """The numeric side of check_module (each box alone, inputs perturbed in stacked batches)
    agrees with the central differences of L = sum(R * fprop(x)) perturbed entry by entry, to
    their own accuracy (~1e-11 absolute: smooth boxes, so that no difference crosses a kink)."""
    from chainrule.gradcheck import _numeric_vjp

    rng = np.random.default_rng(seed)
    boxes = []
    for d, k in zip(widths[:-1], widths[1:], strict=False):
        boxes += [layers.Linear(d, k, rng=rng), layers.Tanh()]
    inner = layers.Sequential([layers.Linear(widths[-1], 2, rng=rng), layers.Sigmoid()])
    net = layers.Sequential([*boxes, inner])
    for p in net.params.values():
        p[...] = rng.normal(size=p.shape)
    x = rng.normal(size=(n, widths[0]))
    R = rng.normal(size=(n, 2))

    def L(v):
        return float(np.sum(R * net.fprop(v)))

    numeric = _numeric_vjp(net, x.copy(), R, 1e-5)
    assert list(numeric) == ["input", *net.params]
    same = {"rtol": 1e-7, "atol": 1e-9}
    assert compare(numeric["input"], numerical_gradient(L, x), name="input", **same).passed
    for name, array in net.params.items():
        saved = array.copy()

        def L_at(v, array=array):
            array[...] = v
            return L(x)

        whole = numerical_gradient(L_at, saved)
        array[...] = saved
        assert compare(numeric[name], whole, name=name, **same).passed, name


def test_check_module_with_a_loss_names_a_wrong_loss_gradient():
    class HalfLoss(layers.SoftmaxCrossEntropy):
        def bprop(self, grad_out=1.0):
            return 0.5 * super().bprop(grad_out)

    rng = np.random.default_rng(8)
    net = layers.Sequential([layers.Linear(3, 4, rng=rng), layers.Tanh()])
    x, y = rng.normal(size=(5, 3)), rng.integers(0, 4, size=5)
    report = check_module(net, x, loss=HalfLoss(), y=y)
    assert [c.name for c in report.checks] == ["input", "0.W", "0.b", "output"]
    assert not any(c.passed for c in report.checks)
    output = report.checks[-1]
    assert output.mistake.id == "constant-factor" and "too small by 2" in output.hint


def test_check_module_names_a_gradient_bprop_did_not_fill():
    class NoBiasGradient(layers.Linear):
        def bprop(self, grad_out):
            grad_x = super().bprop(grad_out)
            del self.grads["b"]
            return grad_x

    report = check_module(NoBiasGradient(2, 3, rng=0), np.ones((4, 2)), rng=0)
    missing = [c for c in report.checks if not c.passed]
    assert [c.name for c in missing] == ["b"]
    assert "bprop must fill module.grads" in missing[0].problem


def test_check_module_keeps_its_own_R_when_bprop_writes_into_it():
    class ClobberingTanh(layers.Tanh):
        def bprop(self, grad_out):
            grad_out *= 1.0 - self._h**2
            return grad_out

    assert check_module(ClobberingTanh(), np.random.default_rng(9).normal(size=(3, 2))).passed


def test_check_module_refuses_a_loss_without_targets():
    with pytest.raises(ValueError, match="loss needs the targets y"):
        check_module(layers.Tanh(), np.ones((2, 2)), loss=layers.SoftmaxCrossEntropy())
