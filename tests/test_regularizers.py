"""Weight penalties: gradients against central differences, known values, weights-only."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import layers
from chainrule.gradcheck import numerical_gradient, rel_error
from chainrule.regularizers import L1, L2, WeightElimination, regularize

seeds = st.integers(0, 2**32 - 1)
shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)
strengths = st.floats(0.0, 3.0)


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """|W| in [0.1, 2]: a step h = 1e-5 never crosses the kink of |W| at 0."""
    return rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


@given(shape=shapes, strength=strengths, scale=st.floats(0.3, 3.0), seed=seeds)
@settings(max_examples=30, deadline=None)
def test_smooth_penalty_gradients_match_central_differences(shape, strength, scale, seed):
    W = np.random.default_rng(seed).normal(size=shape)
    for reg in (L2(strength), WeightElimination(strength, scale=scale)):
        analytic = reg.grad(W)
        assert analytic.shape == W.shape
        assert rel_error(analytic, numerical_gradient(reg.penalty, W)) < 1e-7, reg


@given(shape=shapes, strength=strengths, seed=seeds)
@settings(max_examples=30, deadline=None)
def test_l1_gradient_matches_central_differences_away_from_zero(shape, strength, seed):
    W = away_from_zero(np.random.default_rng(seed), shape)
    reg = L1(strength)
    assert rel_error(reg.grad(W), numerical_gradient(reg.penalty, W)) < 1e-7


def test_penalties_have_the_formula_values():
    W = np.array([[1.0, -2.0], [3.0, 0.0]])
    assert L2(0.5).penalty(W) == pytest.approx(0.5 * 14.0)
    np.testing.assert_allclose(L2(0.5).grad(W), 2 * 0.5 * W)
    assert L1(0.5).penalty(W) == pytest.approx(0.5 * 6.0)
    np.testing.assert_array_equal(L1(0.5).grad(W), 0.5 * np.array([[1.0, -1.0], [1.0, 0.0]]))
    # u = W / 2: u^2 / (1 + u^2) = 0.2, 0.5, 9/13, 0
    assert WeightElimination(0.5, scale=2.0).penalty(W) == pytest.approx(0.5 * (0.2 + 0.5 + 9 / 13))
    assert L2(0.0).penalty(W) == 0.0


def test_weight_elimination_is_weight_decay_for_small_weights_and_ignores_large_ones():
    reg, w0 = WeightElimination(1.0, scale=2.0), 2.0
    small = np.array([1e-4, -3e-4])
    np.testing.assert_allclose(reg.grad(small), L2(1.0 / w0**2).grad(small), rtol=1e-7)
    large = np.array([1e3, -1e4])
    assert np.all(np.abs(reg.grad(large)) < 1e-8)
    assert reg.penalty(large) == pytest.approx(2.0, rel=1e-5)  # each term tends to 1


def test_an_l2_step_on_the_penalty_alone_shrinks_weights_by_1_minus_2_alpha_lambda():
    W = np.random.default_rng(0).normal(size=(3, 4))
    alpha, lam = 0.1, 0.3
    np.testing.assert_allclose(W - alpha * L2(lam).grad(W), (1 - 2 * alpha * lam) * W)


def mlp(rng: np.random.Generator, widths: list[int]) -> layers.Sequential:
    modules: list[layers.Module] = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        modules += [layers.Linear(fan_in, fan_out, rng=rng), layers.Tanh()]
    net = layers.Sequential(modules[:-1])
    for name, p in net.params.items():
        if name.endswith(".b"):
            p[:] = rng.normal(size=p.shape)  # nonzero biases: a penalty on them would show
    return net


@given(
    widths=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    reg_index=st.integers(0, 2),
    seed=seeds,
)
@settings(max_examples=20, deadline=None)
def test_regularize_adds_the_penalty_gradient_to_weights_only(widths, reg_index, seed):
    rng = np.random.default_rng(seed)
    net = mlp(rng, widths)
    reg = [L2(0.7), L1(0.7), WeightElimination(0.7, scale=0.5)][reg_index]
    net.fprop(rng.normal(size=(3, widths[0])))
    net.bprop(rng.normal(size=(3, widths[-1])))
    before = {name: g.copy() for name, g in net.grads.items()}

    total = regularize(net, reg)

    weights = [name for name in net.params if name.endswith(".W")]
    assert len(weights) == len(widths) - 1
    assert total == pytest.approx(sum(reg.penalty(net.params[name]) for name in weights))
    for name, g in net.grads.items():
        if name.endswith(".b"):
            np.testing.assert_array_equal(g, before[name])
        else:
            np.testing.assert_allclose(g, before[name] + reg.grad(net.params[name]))


@given(n=st.integers(1, 5), seed=seeds)
@settings(max_examples=15, deadline=None)
def test_bprop_plus_regularize_is_the_gradient_of_the_regularized_loss(n, seed):
    rng = np.random.default_rng(seed)
    net = mlp(rng, [3, 4, 3])
    loss, reg = layers.SoftmaxCrossEntropy(), L2(0.3)
    x, y = rng.normal(size=(n, 3)), rng.integers(0, 3, size=n)

    def objective() -> float:
        return loss.fprop(net.fprop(x), y) + sum(
            reg.penalty(W) for name, W in net.params.items() if name.endswith(".W")
        )

    objective()
    net.bprop(loss.bprop())
    regularize(net, reg)
    analytic = {name: g.copy() for name, g in net.grads.items()}
    for name, p in net.params.items():

        def at(value: np.ndarray, p: np.ndarray = p) -> float:
            saved = p.copy()
            p[...] = value
            result = objective()
            p[...] = saved
            return result

        assert rel_error(analytic[name], numerical_gradient(at, p)) < 1e-7, name


def test_regularize_works_on_a_single_linear_module():
    lin = layers.Linear(3, 2, rng=0)
    lin.fprop(np.ones((4, 3)))
    lin.bprop(np.zeros((4, 2)))
    regularize(lin, L2(1.0))
    np.testing.assert_allclose(lin.grads["W"], 2 * lin.params["W"])
    np.testing.assert_array_equal(lin.grads["b"], np.zeros(2))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: L2(-0.1), ValueError, "strength must be a finite number >= 0"),
        (lambda: L1(float("nan")), ValueError, "strength"),
        (lambda: L2("big"), TypeError, "strength must be a real number"),
        (
            lambda: WeightElimination(0.1, scale=0.0),
            ValueError,
            "scale must be a finite number > 0",
        ),
        (lambda: L2(1.0).penalty("W"), TypeError, "W must be a numeric array"),
        (lambda: L1(1.0).grad([1j]), TypeError, "W must be real"),
        (lambda: regularize(layers.Linear(2, 2), 0.1), TypeError, "regularizer must be"),
        (lambda: regularize(layers.Linear(2, 2), L2(0.1)), ValueError, "call model.bprop first"),
    ],
)
def test_bad_input_raises_a_named_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
