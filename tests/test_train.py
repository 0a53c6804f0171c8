"""The training loop: history, early stopping with restore, modes, regularization, digits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import data, init, layers
from chainrule.regularizers import L2
from chainrule.train import History, accuracy, fit, predict


def line(w: float, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """n points x in [-1, 1], symmetric about 0, with targets y = w x, shaped (n, 1)."""
    x = np.linspace(-1.0, 1.0, n)[:, None]
    return x, w * x


def fit_line(w_valid: float, epochs: int, patience: int | None, lr: float = 0.1):
    """A 1-D linear model from W = b = 0, trained on y = x, validated on y = w_valid x."""
    model = layers.Linear(1, 1, init=init.zeros)
    X, y = line(1.0)
    X_valid, y_valid = line(w_valid, n=5)
    history = fit(
        model,
        layers.MeanSquaredError(),
        X,
        y,
        epochs=epochs,
        batch_size=len(X),
        lr=lr,
        X_valid=X_valid,
        y_valid=y_valid,
        patience=patience,
        rng=0,
    )
    return model, history


def valid_loss_of(model: layers.Module, loss: layers.Loss, X: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    value = loss.fprop(model.fprop(X), y)
    model.train()
    return value


# --- history --------------------------------------------------------------------------------


def test_history_of_a_classifier_with_a_validation_set():
    X, y = data.xor(80, rng=0)
    model = layers.Sequential(
        [layers.Linear(2, 8, rng=1), layers.Tanh(), layers.Linear(8, 2, rng=2)]
    )
    history = fit(
        model,
        layers.SoftmaxCrossEntropy(),
        X[:60],
        y[:60],
        epochs=40,
        batch_size=16,
        lr=0.5,
        X_valid=X[60:],
        y_valid=y[60:],
        rng=0,
    )
    assert isinstance(history, History)
    for curve in (history.train_loss, history.valid_loss, history.train_accuracy):
        assert len(curve) == 40
    assert history.train_loss[-1] < history.train_loss[0] / 5
    assert history.valid_accuracy[-1] == accuracy(model, X[60:], y[60:]) == 1.0
    assert history.best_epoch == int(np.argmin(history.valid_loss))
    assert not history.stopped_early


def test_regression_has_no_accuracy_and_no_validation_without_a_validation_set():
    X, y = data.linear_regression(30, rng=0)
    history = fit(
        layers.Linear(1, 1, rng=0),
        layers.MeanSquaredError(),
        X,
        y,
        epochs=5,
        batch_size=8,
        lr=0.1,
        rng=0,
    )
    assert len(history.train_loss) == 5
    assert history.train_accuracy == history.valid_accuracy == history.valid_loss == []
    assert history.best_epoch is None and not history.stopped_early


def test_train_loss_is_the_mean_of_the_minibatch_losses_before_each_update():
    X, y = line(1.0)  # one full batch: the epoch's loss is the loss at the start of the epoch
    model = layers.Linear(1, 1, init=init.zeros)
    loss = layers.MeanSquaredError()
    expected = []
    for _ in range(3):
        expected.append(valid_loss_of(model, loss, X, y))
        model.params["W"] -= 0.1 * (model.params["W"] * X - y).T @ X / len(X)
    history = fit(
        layers.Linear(1, 1, init=init.zeros),
        loss,
        X,
        y,
        epochs=3,
        batch_size=len(X),
        lr=0.1,
        rng=0,
    )
    np.testing.assert_allclose(history.train_loss, expected, rtol=1e-12)


# --- early stopping -------------------------------------------------------------------------


def test_early_stopping_restores_the_best_parameters():
    # W climbs from 0 towards 1: the validation loss on y = 0.5 x falls, then rises.
    model, history = fit_line(0.5, epochs=100, patience=3)
    best = history.best_epoch
    assert 0 < best < len(history.valid_loss) - 1
    assert history.stopped_early
    assert len(history.valid_loss) == best + 1 + 3
    assert history.valid_loss[best] == min(history.valid_loss)
    assert all(v > history.valid_loss[best] for v in history.valid_loss[best + 1 :])
    again, _ = fit_line(0.5, epochs=best + 1, patience=None)
    np.testing.assert_array_equal(model.params["W"], again.params["W"])
    np.testing.assert_array_equal(model.params["b"], again.params["b"])
    assert valid_loss_of(model, layers.MeanSquaredError(), *line(0.5, n=5)) == pytest.approx(
        history.valid_loss[best], rel=1e-12
    )


def test_a_validation_loss_that_never_improves_stops_after_patience_epochs():
    # trained on y = x, validated on y = -x: every epoch is worse than the first
    model, history = fit_line(-1.0, epochs=50, patience=4)
    assert history.best_epoch == 0 and history.stopped_early
    assert len(history.valid_loss) == 5
    assert np.all(np.diff(history.valid_loss) > 0)
    first, _ = fit_line(-1.0, epochs=1, patience=None)
    np.testing.assert_array_equal(model.params["W"], first.params["W"])


def test_ties_do_not_count_as_improvements():
    # trained on x = ±1, y = x: the two bias gradients cancel exactly, so b stays 0 and the
    # validation loss at x = 0 is exactly 0 in every epoch
    model = layers.Linear(1, 1, init=init.zeros)
    X = np.array([[-1.0], [1.0]])
    y = X.copy()
    history = fit(
        model,
        layers.MeanSquaredError(),
        X,
        y,
        epochs=20,
        batch_size=len(X),
        lr=0.1,
        X_valid=np.zeros((1, 1)),
        y_valid=np.zeros((1, 1)),
        patience=2,
        rng=0,
    )
    assert history.valid_loss == [0.0, 0.0, 0.0]
    assert history.best_epoch == 0 and history.stopped_early


def test_without_patience_all_epochs_run_and_the_last_parameters_stay():
    model, history = fit_line(0.5, epochs=30, patience=None)
    assert len(history.valid_loss) == 30 and not history.stopped_early
    assert history.best_epoch < 29
    assert valid_loss_of(model, layers.MeanSquaredError(), *line(0.5, n=5)) == pytest.approx(
        history.valid_loss[-1], rel=1e-12
    )


def test_patience_running_out_on_the_last_epoch_is_not_an_early_stop():
    _, history = fit_line(-1.0, epochs=3, patience=2)
    assert len(history.valid_loss) == 3 and not history.stopped_early


@given(patience=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=8, deadline=None)
def test_early_stopping_invariants_on_a_noisy_problem(patience, seed):
    X, y = data.xor(60, rng=seed, noise=0.6)
    rng = np.random.default_rng(seed)
    model = layers.Sequential(
        [layers.Linear(2, 6, rng=rng), layers.Tanh(), layers.Linear(6, 2, rng=rng)]
    )
    loss = layers.SoftmaxCrossEntropy()
    history = fit(
        model,
        loss,
        X[:40],
        y[:40],
        epochs=60,
        batch_size=5,
        lr=1.0,
        X_valid=X[40:],
        y_valid=y[40:],
        patience=patience,
        rng=seed,
    )
    best = history.best_epoch
    assert history.valid_loss[best] == min(history.valid_loss)
    assert history.valid_loss.index(min(history.valid_loss)) == best  # the first of any ties
    if history.stopped_early:
        assert len(history.valid_loss) == best + 1 + patience
    else:
        assert len(history.valid_loss) == 60
        assert len(history.valid_loss) - 1 - best <= patience
    assert valid_loss_of(model, loss, X[40:], y[40:]) == pytest.approx(
        history.valid_loss[best], rel=1e-12
    )


# --- modes, regularization, momentum --------------------------------------------------------


class ModeSpy(layers.Module):
    """Identity box recording (batch size, training flag) at every fprop."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, bool]] = []

    def fprop(self, x: np.ndarray) -> np.ndarray:
        self.calls.append((len(x), self.training))
        return x

    def bprop(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


def test_train_mode_for_updates_and_eval_mode_for_validation():
    X, y = data.blobs(10, 3, rng=0)
    spy = ModeSpy()
    model = layers.Sequential([layers.Linear(2, 3, rng=0), spy])
    fit(
        model,
        layers.SoftmaxCrossEntropy(),
        X,
        y,
        epochs=2,
        batch_size=8,
        lr=0.1,
        X_valid=X[:7],
        y_valid=y[:7],
        rng=0,
    )
    assert spy.calls == 2 * ([(8, True)] * 3 + [(6, True), (7, False)])
    assert model.training


def test_predict_uses_eval_mode_and_restores_the_mode():
    model = layers.Sequential([layers.Linear(4, 3, rng=0), layers.Dropout(0.5, rng=0)])
    X = np.random.default_rng(0).normal(size=(50, 4))
    first = predict(model, X)
    np.testing.assert_array_equal(first, predict(model, X))
    np.testing.assert_array_equal(first, np.argmax(X @ model.params["0.W"].T, axis=1))
    assert model.training and model.modules[1].training
    assert accuracy(model, X, first) == 1.0
    assert accuracy(model, X, (first + 1) % 3) == 0.0


def test_l2_in_fit_reaches_the_ridge_solution_with_an_unpenalized_bias():
    X, y = data.linear_regression(40, rng=1, w=np.array([2.0, -3.0]), b=0.5, noise=0.3)
    lam = 0.2
    model = layers.Linear(2, 1, rng=0)
    fit(
        model,
        layers.MeanSquaredError(),
        X,
        y,
        epochs=800,
        batch_size=len(X),
        lr=0.5,
        regularizer=L2(lam),
        rng=0,
    )
    # ∇ of (1/2N)||Aθ - y||² + λ||W||² is 0 at (AᵀA/N + 2λP) θ = Aᵀy/N, P = diag(1, 1, 0)
    A = np.column_stack([X, np.ones(len(X))])
    P = np.diag([1.0, 1.0, 0.0])
    theta = np.linalg.solve(A.T @ A / len(X) + 2 * lam * P, A.T @ y[:, 0] / len(X))
    np.testing.assert_allclose(model.params["W"][0], theta[:2], atol=1e-9)
    np.testing.assert_allclose(model.params["b"], theta[2:], atol=1e-9)


def test_momentum_in_fit_follows_the_sgd_recursion():
    X, y = line(1.0)
    model, _ = (layers.Linear(1, 1, init=init.zeros), None)
    fit(
        model,
        layers.MeanSquaredError(),
        X,
        y,
        epochs=5,
        batch_size=len(X),
        lr=0.1,
        momentum=0.9,
        rng=0,
    )
    w, v = 0.0, 0.0
    for _ in range(5):
        g = float(np.mean((w * X - y) * X))
        v = g + 0.9 * v
        w -= 0.1 * v
    assert model.params["W"][0, 0] == pytest.approx(w, rel=1e-12)


# --- the digits -----------------------------------------------------------------------------


def test_a_64_64_10_tanh_mlp_reaches_97_percent_on_the_digits():
    X, y = data.load_digits()
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = data.train_valid_test_split(
        X, y, rng=0
    )
    rng = np.random.default_rng(0)
    model = layers.Sequential(
        [layers.Linear(64, 64, rng=rng), layers.Tanh(), layers.Linear(64, 10, rng=rng)]
    )
    history = fit(
        model,
        layers.SoftmaxCrossEntropy(),
        X_train,
        y_train,
        epochs=30,
        batch_size=32,
        lr=0.1,
        X_valid=X_valid,
        y_valid=y_valid,
        patience=5,
        rng=0,
    )
    assert accuracy(model, X_test, y_test) >= 0.97, history


# --- bad input ------------------------------------------------------------------------------


def _call(**overrides):
    kwargs = dict(epochs=1, batch_size=2, lr=0.1, rng=0)
    args = dict(
        model=layers.Linear(2, 3, rng=0),
        loss=layers.SoftmaxCrossEntropy(),
        X=np.zeros((4, 2)),
        y=np.array([0, 1, 2, 0]),
    )
    for key, value in overrides.items():
        (args if key in args else kwargs)[key] = value
    return lambda: fit(args["model"], args["loss"], args["X"], args["y"], **kwargs)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (_call(epochs=0), ValueError, "epochs must be >= 1"),
        (_call(batch_size=0), ValueError, "batch_size must be >= 1"),
        (_call(lr=0.0), ValueError, "lr must be a finite number > 0"),
        (_call(lr=-0.1), ValueError, "lr must be"),
        (_call(momentum=1.0), ValueError, r"momentum must be in \[0, 1\)"),
        (_call(patience=2), ValueError, "patience needs a validation set"),
        (_call(X_valid=np.zeros((2, 2))), ValueError, "X_valid and y_valid must be given together"),
        (
            _call(X_valid=np.zeros((2, 2)), y_valid=np.array([0]), patience=1),
            ValueError,
            r"y_valid must have one entry per row of X_valid \(2\)",
        ),
        (_call(patience=0, X_valid=np.zeros((1, 2)), y_valid=[0]), ValueError, "patience must be"),
        (_call(y=np.array([0, 1])), ValueError, r"y must have one entry per row of X \(4\)"),
        (_call(X=np.zeros(4)), ValueError, "X must be 2-D"),
        (_call(y=np.array([0, 1, 3, 0])), ValueError, r"labels in \[0, 3\)"),
        (_call(model="mlp"), TypeError, "model must be a chainrule Module"),
        (_call(loss=np.mean), TypeError, "loss must be a chainrule Loss"),
        (_call(regularizer=0.1), TypeError, "regularizer must be a Regularizer"),
        (_call(rng="seed"), TypeError, "rng must be"),
        (
            lambda: accuracy(layers.Linear(2, 3), np.zeros((4, 2)), np.zeros(3)),
            ValueError,
            r"\(4,\)",
        ),
        (lambda: predict(layers.Linear(2, 3), np.zeros(2)), ValueError, "X must be 2-D"),
    ],
)
def test_bad_input_raises_a_named_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
