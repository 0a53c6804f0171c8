"""Every module's bprop against central differences on random shapes; shapes and errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import functional as F
from chainrule import init, layers
from chainrule.gradcheck import check_module, numerical_derivative, numerical_gradient, rel_error

seeds = st.integers(0, 2**32 - 1)
sizes = st.integers(1, 6)


def kink_free(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values with |x| in [0.1, 2]: a finite-difference step never crosses ReLU's kink."""
    return rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


@given(n=sizes, d=sizes, k=sizes, seed=seeds)
@settings(max_examples=25, deadline=None)
def test_linear_bprop(n, d, k, seed):
    rng = np.random.default_rng(seed)
    lin = layers.Linear(d, k, init=init.normal(1.0), rng=rng)
    lin.params["b"][:] = rng.normal(size=k)
    report = check_module(lin, rng.normal(size=(n, d)), rng=rng)
    assert report.passed, str(report)
    assert set(lin.grads) == set(lin.params)
    for name in lin.params:
        assert lin.grads[name].shape == lin.params[name].shape


@pytest.mark.parametrize(
    "make", [layers.Sigmoid, layers.Tanh, layers.ReLU, lambda: layers.LeakyReLU(0.2)]
)
@given(n=sizes, d=sizes, seed=seeds)
@settings(max_examples=20, deadline=None)
def test_activation_bprop(make, n, d, seed):
    rng = np.random.default_rng(seed)
    report = check_module(make(), kink_free(rng, (n, d)), rng=rng)
    assert report.passed, str(report)


@pytest.mark.parametrize(
    ("make", "g"),
    [
        (layers.Sigmoid, F.sigmoid),
        (layers.Tanh, F.tanh),
        (layers.ReLU, F.relu),
        (lambda: layers.LeakyReLU(0.2), lambda a: F.leaky_relu(a, 0.2)),
    ],
)
@given(shape=st.lists(sizes, min_size=1, max_size=3), seed=seeds)
@settings(max_examples=15, deadline=None)
def test_activation_derivative_is_g_prime_at_the_input(make, g, shape, seed):
    # One mechanism for every activation box: derivative() is g'(a) at the cached input, and
    # bprop multiplies by it.
    rng = np.random.default_rng(seed)
    a = kink_free(rng, tuple(shape))
    box = make()
    np.testing.assert_array_equal(box.fprop(a), g(a))
    assert rel_error(box.derivative(), numerical_derivative(g, a)) < 1e-7
    G = rng.normal(size=a.shape)
    np.testing.assert_array_equal(box.bprop(G), G * box.derivative())


def test_an_activation_without_derivative_says_so():
    class Halve(layers.Activation):
        def g(self, a: np.ndarray) -> np.ndarray:
            return a / 2

    box = Halve()
    np.testing.assert_array_equal(box.fprop(np.ones((1, 2))), [[0.5, 0.5]])
    with pytest.raises(NotImplementedError, match="Halve does not define derivative"):
        box.bprop(np.ones((1, 2)))
    with pytest.raises(ValueError, match="Sigmoid.bprop called before fprop"):
        layers.Sigmoid().derivative()


def test_losses_have_their_own_interface_and_are_not_modules():
    rng = np.random.default_rng(0)
    logits, y = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])
    loss = layers.SoftmaxCrossEntropy()
    assert isinstance(loss, layers.Loss) and not isinstance(loss, layers.Module)
    assert loss.params == {} and loss.grads == {}
    assert loss.fprop(logits, y) == F.softmax_cross_entropy(logits, y)
    np.testing.assert_array_equal(loss.bprop(), F.softmax_cross_entropy_grad(logits, y))
    np.testing.assert_allclose(loss.bprop(2.0), 2 * loss.bprop(), rtol=1e-15)  # dL/dL scaled
    with pytest.raises(TypeError, match=r"modules\[1\] must be a Module, got SoftmaxCrossEntropy"):
        layers.Sequential([layers.Linear(3, 3, rng=0), loss])


@given(n=sizes, seed=seeds)
@settings(max_examples=15, deadline=None)
def test_dropout_bprop_uses_the_forward_mask(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 7))
    drop = layers.Dropout(0.4, rng=seed)
    out = drop.fprop(x)
    mask = drop.mask.copy()
    np.testing.assert_allclose(out, x * mask)
    assert set(np.unique(mask)) <= {0.0, 1 / 0.6}
    R = rng.normal(size=x.shape)
    numeric = numerical_gradient(lambda z: np.sum(R * z * mask), x)
    assert rel_error(drop.bprop(R), numeric) < 1e-7


def test_dropout_keeps_the_expected_activation_and_is_identity_in_eval():
    x = np.ones((400, 250))
    drop = layers.Dropout(0.3, rng=0)
    out = drop.fprop(x)
    # 1e5 Bernoulli(0.7) draws scaled by 1/0.7: the mean has std sqrt(0.3/0.7/1e5) ~ 2e-3.
    assert abs(out.mean() - 1.0) < 0.01
    assert abs((out == 0).mean() - 0.3) < 0.01
    np.testing.assert_array_equal(drop.eval().fprop(x), x)


@given(depth=st.integers(1, 4), n=sizes, d=sizes, c=st.integers(2, 5), seed=seeds)
@settings(max_examples=15, deadline=None)
def test_sequential_mlp_bprop(depth, n, d, c, seed):
    rng = np.random.default_rng(seed)
    modules, width = [], d
    for _ in range(depth):
        out = int(rng.integers(1, 6))
        act = [layers.Tanh, layers.Sigmoid][int(rng.integers(2))]
        modules += [layers.Linear(width, out, rng=rng), act()]
        width = out
    net = layers.Sequential([*modules, layers.Linear(width, c, rng=rng)])
    report = check_module(net, rng.normal(size=(n, d)), rng=rng)
    assert report.passed, str(report)
    assert (
        set(net.grads)
        == set(net.params)
        == {f"{i}.{p}" for i in range(0, 2 * depth + 1, 2) for p in ("W", "b")}
    )


@given(n=sizes, c=st.integers(2, 6), seed=seeds)
@settings(max_examples=20, deadline=None)
def test_loss_modules_bprop(n, c, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2, size=(n, c))
    ce = check_module(layers.SoftmaxCrossEntropy(), logits, y=rng.integers(0, c, size=n))
    assert ce.passed, str(ce)
    mse = check_module(layers.MeanSquaredError(), logits, y=rng.normal(size=(n, c)))
    assert mse.passed, str(mse)


def test_sequential_params_are_views_of_the_modules():
    net = layers.Sequential([layers.Linear(2, 3, rng=0), layers.ReLU(), layers.Linear(3, 1, rng=0)])
    net.params["2.W"] += 1.0
    np.testing.assert_array_equal(net.params["2.W"], net.modules[2].params["W"])
    assert net.modules[2].params["W"].min() > 1.0 - np.sqrt(6 / 4) - 1e-12


def test_linear_uses_the_initializer_and_zero_biases():
    lin = layers.Linear(3, 2, init=init.constant(0.5))
    np.testing.assert_array_equal(lin.params["W"], np.full((2, 3), 0.5))
    np.testing.assert_array_equal(lin.params["b"], np.zeros(2))
    a = layers.Linear(5, 4, rng=7).params["W"]
    np.testing.assert_array_equal(a, layers.Linear(5, 4, rng=7).params["W"])


def test_train_and_eval_propagate():
    net = layers.Sequential([layers.Dropout(0.5, rng=0)])
    net.eval()
    assert not net.modules[0].training
    net.train()
    assert net.modules[0].training


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: layers.Linear(3, 2).fprop(np.zeros((4, 5))), ValueError, r"shape \(N, 3\)"),
        (lambda: layers.Linear(3, 2).fprop(np.zeros(3)), ValueError, "x must be 2-D"),
        (lambda: layers.Linear(3, 2).bprop(np.zeros((1, 2))), ValueError, "before fprop"),
        (lambda: layers.Tanh().bprop(np.zeros(2)), ValueError, "Tanh.bprop called before fprop"),
        (lambda: layers.SoftmaxCrossEntropy().bprop(), ValueError, "before fprop"),
        (lambda: layers.Dropout(1.0), ValueError, r"p must be a drop probability in \[0, 1\)"),
        (lambda: layers.Dropout(-0.1), ValueError, "p must be"),
        (lambda: layers.Linear(0, 2), ValueError, "in_features must be >= 1"),
        (lambda: layers.Linear(2.5, 2), TypeError, "in_features must be an integer"),
        (lambda: layers.Sequential([layers.Tanh(), "relu"]), TypeError, r"modules\[1\]"),
        (lambda: layers.Linear(2, 2, rng="seed"), TypeError, "rng must be"),
        (
            lambda: layers.Linear(2, 3, init=lambda i, o, r: np.zeros((2, 3))),
            ValueError,
            r"init must return W of shape \(3, 2\)",
        ),
    ],
)
def test_bad_input_raises_a_named_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bprop_checks_the_gradient_shape():
    lin = layers.Linear(3, 2)
    lin.fprop(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"grad_out must have the output's shape \(4, 2\)"):
        lin.bprop(np.zeros((2, 4)))


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (7, 2), (2, 3, 4)])
def test_prelu_gradients_match_finite_differences(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(shape))
    box = layers.PReLU(alpha=float(rng.uniform(0.05, 0.5)))
    x = rng.uniform(0.01, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)  # off the kink
    report = check_module(box, x, rng=rng)
    assert report.passed, str(report)
    assert set(box.grads) == {"alpha"} and np.shape(box.grads["alpha"]) == ()


def test_prelu_is_relu_at_alpha_0_and_identity_at_alpha_1() -> None:
    x = np.array([[-2.0, -0.5, 0.0, 1.5]])
    np.testing.assert_array_equal(layers.PReLU(0.0).fprop(x), np.maximum(x, 0))
    np.testing.assert_array_equal(layers.PReLU(1.0).fprop(x), x)
    box = layers.PReLU(0.1)
    box.fprop(x)
    np.testing.assert_allclose(box.bprop(np.ones_like(x)), [[0.1, 0.1, 0.1, 1.0]])
    assert box.grads["alpha"] == pytest.approx(-2.5)  # sum of the non-positive inputs
