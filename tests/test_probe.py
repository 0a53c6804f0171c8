"""The network probe of the initialization explorer, without any widget: its gradients against
central differences of the test's own forward pass, what it records, and an overflow."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chainrule import functional as F
from chainrule import init, layers
from chainrule.gradcheck import compare_gradient
from chainrule.probe import probe_network

#: The activation boxes and the test's own formula of each.
BOXES = {
    layers.Tanh: F.tanh,
    layers.Sigmoid: F.sigmoid,
    layers.ReLU: F.relu,
    layers.LeakyReLU: F.leaky_relu,  # the box's default slope 0.01 is F's too
}


def forward(weights: list[np.ndarray], X: np.ndarray, g) -> tuple[list[np.ndarray], np.ndarray]:
    """The test's own forward pass with zero biases: pre-activations a^(1..L+1) and logits."""
    pre, h = [], X
    for k, W in enumerate(weights):
        pre.append(h @ W.T)
        h = g(pre[-1]) if k < len(weights) - 1 else pre[-1]
    return pre, h


@given(
    box=st.sampled_from(list(BOXES)),
    depth=st.integers(1, 3),
    n=st.integers(1, 6),
    width=st.integers(2, 6),
    classes=st.integers(2, 4),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=40, deadline=None)
def test_weight_gradients_match_central_differences(box, depth, n, width, classes, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, width))
    y = np.append(rng.integers(0, classes, size=n - 1), classes - 1)  # C = max(y) + 1 = classes
    probe = probe_network(init.normal(0.8), depth, box, X, y, rng=rng)
    weights = [probe.net.params[f"{2 * k}.W"] for k in range(depth + 1)]
    assert [W.shape for W in weights] == [(width, width)] * depth + [(classes, width)]
    pre, _ = forward(weights, X, BOXES[box])
    # A finite difference of ReLU's across its kink is no derivative: keep away from a = 0.
    assume(min(np.abs(a).min() for a in pre[:-1]) > 1e-3)

    for k, W in enumerate(weights):

        def loss(V: np.ndarray, k: int = k) -> float:
            return F.softmax_cross_entropy(
                forward([*weights[:k], V, *weights[k + 1 :]], X, BOXES[box])[1], y
            )

        analytic = probe.net.grads[f"{2 * k}.W"]
        report = compare_gradient(analytic, loss, W, name=f"W^({k + 1})")
        assert report.passed, str(report)
        assert probe.grad_norms[k] == pytest.approx(np.linalg.norm(analytic), rel=1e-12)


def test_the_probe_records_activations_and_their_spread():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((9, 7)), rng.integers(0, 3, size=9)
    probe = probe_network(init.glorot_uniform, 4, layers.Tanh, X, y, rng=1)
    weights = [probe.net.params[f"{2 * k}.W"] for k in range(5)]
    pre, _ = forward(weights, X, F.tanh)
    assert len(probe.activations) == 4 and probe.grad_norms.shape == (5,)
    for h, a in zip(probe.activations, pre[:-1], strict=True):
        np.testing.assert_allclose(h, np.tanh(a), rtol=1e-12)
    np.testing.assert_allclose(probe.stds, [np.std(h) for h in probe.activations], rtol=1e-12)
    assert all(np.all(probe.net.params[f"{2 * k}.b"] == 0) for k in range(5))  # biases start at 0
    # Every W^(k) is drawn by the initializer from the generator, in order.
    draws = np.random.default_rng(1)
    for W in weights:
        np.testing.assert_array_equal(W, init.glorot_uniform(W.shape[1], W.shape[0], draws))


def test_the_same_generator_gives_the_same_probe():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((5, 6)), rng.integers(0, 4, size=5)
    first = probe_network(init.he_normal, 3, layers.ReLU, X, y, rng=7)
    np.testing.assert_array_equal(
        first.grad_norms, probe_network(init.he_normal, 3, layers.ReLU, X, y, rng=7).grad_norms
    )
    assert not np.array_equal(
        first.grad_norms, probe_network(init.he_normal, 3, layers.ReLU, X, y, rng=8).grad_norms
    )


def test_zero_weights_give_zero_gradients_below_the_output_layer():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((8, 5)), rng.integers(0, 3, size=8)
    probe = probe_network(init.zeros, 3, layers.Tanh, X, y, rng=0)
    np.testing.assert_array_equal(probe.grad_norms, 0.0)  # tanh(0) = 0: a stationary point
    assert np.all(probe.stds == 0)


def test_an_overflow_gives_nan_norms_without_a_warning():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 20)), rng.integers(0, 3, size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probe = probe_network(init.constant(1e20), 20, layers.ReLU, X, y, rng=0)
    assert probe.grad_norms.shape == (21,) and np.all(np.isnan(probe.grad_norms))
    assert not np.all(np.isfinite(probe.stds))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"depth": 0}, ValueError, "depth must be >= 1"),
        ({"activation": "tanh"}, TypeError, "activation must be a chainrule.layers.Activation"),
        ({"activation": layers.Linear}, TypeError, "activation must be"),
        ({"X": np.zeros(4)}, ValueError, "X must be 2-D"),
        ({"rng": "seed"}, TypeError, "rng must be"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, error, match):
    arguments = {
        "init_weights": init.glorot_uniform,
        "depth": 2,
        "activation": layers.Tanh,
        "X": np.zeros((3, 4)),
        "y": np.array([0, 1, 1]),
        "rng": 0,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        probe_network(**arguments)
