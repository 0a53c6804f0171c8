"""The training loop: epochs of minibatch SGD, a validation curve and early stopping.

One epoch visits every training example once, in minibatches drawn in a new random order.
The training loss and accuracy of an epoch are averaged over its minibatches as they are
trained on (no second pass over the training set); after each epoch the model is evaluated
on the validation set, if given, in eval mode (Dropout keeps every unit). Early stopping
with look-ahead: keep the parameters of the epoch with the lowest validation loss, stop once
``patience`` epochs in a row have not improved on it, and put those best parameters back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from chainrule._validate import as_float_array, as_rng, positive_int
from chainrule.layers import Loss, Module, SoftmaxCrossEntropy
from chainrule.optim import SGD, Schedule, minibatches
from chainrule.regularizers import Regularizer, regularize


@dataclass
class History:
    """What :func:`fit` measured, one entry per epoch run (index 0 = after the first epoch).

    Losses are mean data losses, without the regularization penalty. ``train_loss`` and
    ``train_accuracy`` average over the epoch's minibatches, each measured just before its
    update (in train mode); ``valid_loss`` and ``valid_accuracy`` are measured on the whole
    validation set after the epoch (in eval mode). Accuracies are recorded only for
    classification (a SoftmaxCrossEntropy loss) and validation figures only when a
    validation set is given; otherwise those lists stay empty.
    ``best_epoch`` is the index of the lowest validation loss (the first one on ties), or
    None without a validation set. ``stopped_early`` is True when patience ran out before
    ``epochs``.
    """

    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    valid_accuracy: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False


def _output(model: Module, X: np.ndarray) -> np.ndarray:
    """model.fprop(X) in eval mode; the model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        return model.fprop(X)
    finally:
        model.train(was_training)


def predict(model: Module, X: np.ndarray) -> np.ndarray:
    """Predicted classes argmax_c f(x)_c, shape (N,), for inputs X (N, D), in eval mode."""
    return np.argmax(_output(model, as_float_array(X, "X", ndim=2)), axis=1)


def accuracy(model: Module, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of the N examples whose predicted class equals the label y (N,)."""
    y = np.asarray(y)
    if y.shape != (np.shape(X)[0],):
        raise ValueError(f"y must have shape ({np.shape(X)[0]},), got {y.shape}")
    return float(np.mean(predict(model, X) == y))


def _evaluate(
    model: Module, loss: Loss, X: np.ndarray, y: np.ndarray
) -> tuple[float, float | None]:
    """(mean loss, accuracy) on a whole set in eval mode; accuracy is None unless classifying."""
    out = _output(model, X)
    value = float(loss.fprop(out, y))
    if isinstance(loss, SoftmaxCrossEntropy):
        return value, float(np.mean(np.argmax(out, axis=1) == y))
    return value, None


def _train_epoch(
    model: Module,
    loss: Loss,
    optimizer: SGD,
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    regularizer: Regularizer | None,
) -> tuple[float, float | None]:
    """One SGD update per minibatch; returns the epoch's (mean loss, accuracy or None)."""
    model.train()
    classify = isinstance(loss, SoftmaxCrossEntropy)
    total_loss, correct, seen = 0.0, 0, 0
    for X_batch, y_batch in batches:
        out = model.fprop(X_batch)
        total_loss += loss.fprop(out, y_batch) * len(y_batch)
        if classify:
            correct += int(np.count_nonzero(out.argmax(axis=1) == y_batch))
        seen += len(y_batch)
        model.bprop(loss.bprop())
        if regularizer is not None:
            regularize(model, regularizer)
        optimizer.step(model.grads)
    return total_loss / seen, correct / seen if classify else None


def _checked_set(X: object, y: object, name_X: str, name_y: str) -> tuple[np.ndarray, np.ndarray]:
    X = as_float_array(X, name_X, ndim=2)
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{name_y} must have one entry per row of {name_X} ({X.shape[0]}), got shape {y.shape}"
        )
    return X, y


def fit(
    model: Module,
    loss: Loss,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float | Schedule,
    momentum: float = 0.0,
    regularizer: Regularizer | None = None,
    X_valid: np.ndarray | None = None,
    y_valid: np.ndarray | None = None,
    patience: int | None = None,
    rng: np.random.Generator | int | None,
) -> History:
    """Train ``model`` in place by minibatch SGD on the mean loss (+ λ Ω(W) if regularized).

    model: a Module mapping X (N, D) to outputs (e.g. logits (N, C)); loss: a Loss module
    (SoftmaxCrossEntropy with integer labels y (N,), or MeanSquaredError with targets shaped
    like the outputs). Each update: forward on a batch, ∇ of the batch's mean loss by bprop,
    plus λ ∇Ω on the weights, then an :class:`~chainrule.optim.SGD` step with rate ``lr``
    (a number or a schedule of the update count) and ``momentum`` β.

    With ``patience`` (needs X_valid, y_valid), training stops after ``patience`` epochs in
    a row without a validation loss strictly below the best so far, and the parameters of
    the best epoch are restored. Without it, all ``epochs`` run and the final parameters stay.
    ``rng`` (Generator or int seed) draws the order of the examples in each epoch.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a chainrule Module, got {type(model).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a chainrule Loss module, got {type(loss).__name__}")
    if regularizer is not None and not isinstance(regularizer, Regularizer):
        raise TypeError(f"regularizer must be a Regularizer or None, got {regularizer!r}")
    X, y = _checked_set(X, y, "X", "y")
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    validate = X_valid is not None or y_valid is not None
    if validate:
        if X_valid is None or y_valid is None:
            raise ValueError("X_valid and y_valid must be given together")
        X_valid, y_valid = _checked_set(X_valid, y_valid, "X_valid", "y_valid")
    if patience is not None:
        patience = positive_int(patience, "patience")
        if not validate:
            raise ValueError("patience needs a validation set: pass X_valid and y_valid")
    rng = as_rng(rng)
    optimizer = SGD(model.params, lr, momentum)
    history = History()
    best_loss, best_params, waited = np.inf, None, 0

    for epoch in range(epochs):
        batches = minibatches(X, y, batch_size, rng)
        train_loss, train_acc = _train_epoch(model, loss, optimizer, batches, regularizer)
        history.train_loss.append(train_loss)
        if train_acc is not None:
            history.train_accuracy.append(train_acc)
        if not validate:
            continue
        valid_loss, valid_acc = _evaluate(model, loss, X_valid, y_valid)
        history.valid_loss.append(valid_loss)
        if valid_acc is not None:
            history.valid_accuracy.append(valid_acc)
        if valid_loss < best_loss:
            best_loss, waited, history.best_epoch = valid_loss, 0, epoch
            if patience is not None:
                best_params = {name: p.copy() for name, p in model.params.items()}
        elif patience is not None:
            waited += 1
            if waited >= patience:
                history.stopped_early = epoch < epochs - 1
                break

    if best_params is not None:
        for name, p in model.params.items():
            p[...] = best_params[name]
    return history
