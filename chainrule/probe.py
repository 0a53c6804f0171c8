"""One forward and one backward pass through a freshly initialized deep network.

What the initialization explorer of notebook 6 shows: with weights drawn by an initializer of
:mod:`chainrule.init`, how the activations h^(k) and the gradients ∇_{W^(k)} L behave across the
layers k = 1..L of a network of :mod:`chainrule.layers` boxes (vanishing, exploding, symmetric).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chainrule import layers
from chainrule._validate import as_float_array, as_rng, positive_int
from chainrule.init import Initializer


@dataclass
class Probe:
    """One forward and backward pass of a freshly initialized network on a batch.

    activations: h^(1), ..., h^(L), each (N, H); stds: (L,) the standard deviation of each
    h^(k) over examples and units; grad_norms: (L + 1,), ‖∇_{W^(k)} L‖_F for k = 1..L+1 (the
    last one is the output layer's), L the mean softmax cross-entropy; NaN when the forward pass
    overflowed. net: the network probed, its parameters and gradients as they were.
    """

    activations: list[np.ndarray]
    stds: np.ndarray
    grad_norms: np.ndarray
    net: layers.Sequential


def probe_network(
    init_weights: Initializer,
    depth: int,
    activation: type[layers.Activation],
    X: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator | int | None,
) -> Probe:
    """Forward and backward through a fresh network of ``chainrule.layers`` boxes.

    The network has ``depth`` = L hidden layers of width H = D (X is (N, D)), each
    Linear(H, H) then an ``activation`` box (a subclass of :class:`chainrule.layers.Activation`,
    e.g. ``layers.Tanh``), and a Linear output layer with C = max(y) + 1 classes; every W^(k) is
    drawn by ``init_weights`` from ``rng`` (biases are 0). Forward on X, mean softmax
    cross-entropy with labels y (N,), then backward: the δ recursion
    δ^(k) = (W^(k+1)ᵀ δ^(k+1)) ⊙ g'(a^(k)) runs through the boxes' ``bprop``.
    """
    depth = positive_int(depth, "depth")
    if not (isinstance(activation, type) and issubclass(activation, layers.Activation)):
        raise TypeError(
            f"activation must be a chainrule.layers.Activation class such as layers.Tanh, "
            f"got {activation!r}"
        )
    X = as_float_array(X, "X", ndim=2)
    rng = as_rng(rng)
    width, classes = X.shape[1], int(np.max(y)) + 1
    modules: list[layers.Module] = []
    for _ in range(depth):
        modules += [layers.Linear(width, width, init=init_weights, rng=rng), activation()]
    net = layers.Sequential([*modules, layers.Linear(width, classes, init=init_weights, rng=rng)])
    loss = layers.SoftmaxCrossEntropy()
    activations = []
    h = X
    with np.errstate(all="ignore"):
        for module in net.modules:
            h = module.fprop(h)
            if isinstance(module, layers.Activation):
                activations.append(h)
        stds = np.array([np.std(a) for a in activations])
        if not np.all(np.isfinite(h)):  # overflow (far beyond the explorer's ranges): no loss
            return Probe(activations, stds, np.full(depth + 1, np.nan), net)
        loss.fprop(h, y)
        net.bprop(loss.bprop())
        norms = [np.linalg.norm(g) for name, g in net.grads.items() if name.endswith(".W")]
    return Probe(activations, stds, np.array(norms), net)
