"""Recorded runs of minibatch SGD with momentum on a least-squares problem of two parameters.

A run keeps θ after every update and the training loss there, so its path can be drawn over the
loss contours and its loss curve per epoch or per update (the learning-rate explorer of notebook
2). The updates are those of :class:`chainrule.optim.SGD` over :func:`chainrule.optim.minibatches`;
full-batch GD is the same run with one batch of all N examples per epoch. A run whose loss becomes
non-finite or exceeds :data:`DIVERGENCE_FACTOR` · L(θ_0) is stopped and marked as diverged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chainrule import optim
from chainrule._validate import as_rng, positive_int
from chainrule.least_squares import LeastSquares

#: A run has diverged once L(θ_t) > DIVERGENCE_FACTOR · L(θ_0) (or is NaN/inf).
DIVERGENCE_FACTOR = 1e6


@dataclass
class Run:
    """One optimization run: path (T + 1, 2) of θ after 0..T updates, losses (T + 1,) of the
    training loss L(θ_t), updates_per_epoch ⌈N / batch size⌉, and diverged_at: the first update
    whose loss blew up (the path stops just before it), or None."""

    path: np.ndarray
    losses: np.ndarray
    updates_per_epoch: int
    diverged_at: int | None


def run_sgd(
    problem: LeastSquares,
    lr: float,
    batch_size: int,
    momentum: float,
    epochs: int,
    rng: np.random.Generator | int | None,
) -> Run:
    """``epochs`` passes of minibatch SGD with momentum from θ_0 (``chainrule.optim.SGD``).

    Each epoch visits the N examples once in ⌈N / batch_size⌉ minibatches drawn from ``rng``;
    each update is ∇̄ ← ∇_θ L_B(θ) + β ∇̄, θ ← θ - η ∇̄ with L_B the mean loss over the batch,
    η = ``lr`` and β = ``momentum``. batch_size = N is full-batch gradient descent. The loss is
    checked after every epoch and the run stops at the first update where it is not finite or
    exceeds DIVERGENCE_FACTOR · L(θ_0).
    """
    batch_size = positive_int(batch_size, "batch_size")
    epochs = positive_int(epochs, "epochs")
    rng = as_rng(rng)
    theta = problem.theta0.copy()
    optimizer = optim.SGD({"theta": theta}, lr, momentum=momentum)
    per_epoch = -(-len(problem.targets) // batch_size)
    path = np.empty((epochs * per_epoch + 1, 2))
    losses = np.empty(len(path))
    path[0], losses[0] = theta, problem.loss(theta)
    limit = DIVERGENCE_FACTOR * losses[0]
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            first = epoch * per_epoch + 1
            batches = optim.minibatches(problem.features, problem.targets, batch_size, rng)
            for t, (features, targets) in enumerate(batches, start=first):
                optimizer.step({"theta": problem.gradient(theta, features, targets)})
                path[t] = theta
            rows = slice(first, first + per_epoch)
            losses[rows] = problem.loss(path[rows])
            blown = ~(losses[rows] <= limit)  # NaN compares False, so it counts as blown up
            if blown.any():
                stop = first + int(np.argmax(blown))
                return Run(path[:stop], losses[:stop], per_epoch, diverged_at=stop)
    return Run(path, losses, per_epoch, diverged_at=None)
