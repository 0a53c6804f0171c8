"""Finite differences, relative error, hints and module checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import layers
from chainrule.gradcheck import (
    check_module,
    diagnose,
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
    assert good.rel_error < 1e-8
    wrong = A @ x
    wrong[3] += 0.1
    assert directional_check(f, wrong, x, rng=1).rel_error > 1e-4
    with pytest.raises(ValueError, match="grad must have the shape of x"):
        directional_check(f, np.zeros(5), x, rng=1)


def test_diagnose_names_common_mistakes():
    g = np.arange(1.0, 13.0).reshape(3, 4)
    sq = np.arange(1.0, 10.0).reshape(3, 3)
    assert diagnose(g, g) == ""
    assert "transpose" in diagnose(g.T, g)
    assert diagnose(sq.T, sq) == "looks transposed"
    assert diagnose(-g, g) == "sign flipped"
    assert "too large by 8" in diagnose(8 * g, g)
    assert "too small by 8" in diagnose(g / 8, g)
    assert "all zeros" in diagnose(0 * g, g)
    assert diagnose(g + np.eye(3, 4), g) == ""  # no known pattern: no guess


def test_diagnose_blames_the_batch_mean_only_for_a_batch_of_that_size():
    g = np.arange(1.0, 13.0).reshape(3, 4)
    assert "batch" not in diagnose(2 * g, g)  # one example: a factor, nothing about batches
    assert "batch" not in diagnose(2 * g, g, batch_size=5)  # a factor that is not N
    assert "1/N of the mean over the batch is missing" in diagnose(5 * g, g, batch_size=5)
    assert "mean over the batch is taken twice" in diagnose(g / 5, g, batch_size=5)
    assert "batch" not in diagnose(5 * g, g, batch_size=1)


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
    assert not report.passed()
    assert report.worst.name == "2.W"
    assert report.worst.worst_index[0] == 1
    assert report.worst.analytic == 0.0 and report.worst.numeric != 0.0
    text = str(report)
    assert "2.W" in text and "analytic" in text and "numeric" in text
    ok = {check.name: check.rel_error for check in report.checks}
    assert ok["0.W"] < 1e-7 and ok["input"] < 1e-7


def test_check_module_leaves_parameters_unchanged():
    rng = np.random.default_rng(4)
    lin = layers.Linear(3, 2, rng=rng)
    before = {k: v.copy() for k, v in lin.params.items()}
    assert check_module(lin, rng.normal(size=(2, 3)), rng=rng).passed()
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

    assert check_module(NetLoss(), x, y=y).passed()
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
