"""Core benchmark: chainrule's training loop against scikit-learn, and the cost of gradient checks.

(a) A 64-64-10 tanh MLP (64 inputs, one hidden layer of 64 tanh units, 10 softmax outputs) is
trained on the digits by :func:`chainrule.train.fit` and by scikit-learn's ``MLPClassifier``
with the same architecture, minibatch size, learning rate, momentum and number of epochs,
no weight penalty and no early stopping, on the same split. Reported: the median wall time
over a few interleaved repeats, the ratio ours / scikit-learn and both test accuracies.
Targets: ratio <= 1.0 at equal or better accuracy.

(b) A full :func:`chainrule.gradcheck.check_module` of that MLP with its softmax cross-entropy
(``loss=``: every one of the ~5k parameters and the inputs, by central differences) on a small
batch, the network alone, and one :func:`chainrule.gradcheck.directional_check` of the whole
parameter vector. Target: the full check under 0.5 s.

Times are printed, never asserted.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np

from chainrule.data import load_digits, train_valid_test_split
from chainrule.gradcheck import GradCheckReport, check_module, directional_check
from chainrule.layers import Linear, Sequential, SoftmaxCrossEntropy, Tanh
from chainrule.train import accuracy, fit

EPOCHS = 30
BATCH_SIZE = 32
LR = 0.1
MOMENTUM = 0.0
REPEATS = 5
CHECK_BATCH = 8


def mlp(seed: int) -> Sequential:
    """The 64-64-10 tanh network with Glorot-uniform weights drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    return Sequential([Linear(64, 64, rng=rng), Tanh(), Linear(64, 10, rng=rng)])


def _timed(run: Callable[[], float]) -> tuple[float, float]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def _fit_ours(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> float:
    model = mlp(0)
    fit(
        model,
        SoftmaxCrossEntropy(),
        X,
        y,
        epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        lr=LR,
        momentum=MOMENTUM,
        rng=0,
    )
    return accuracy(model, X_test, y_test)


def _fit_sklearn(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=(64,),
        activation="tanh",
        solver="sgd",
        batch_size=BATCH_SIZE,
        learning_rate_init=LR,
        learning_rate="constant",
        momentum=MOMENTUM,
        nesterovs_momentum=False,
        max_iter=EPOCHS,
        alpha=0.0,
        early_stopping=False,
        n_iter_no_change=10**9,
        tol=0.0,
        shuffle=True,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached: on purpose
        clf.fit(X, y)
    return float(clf.score(X_test, y_test))


def _directional(net: Sequential, x: np.ndarray, y: np.ndarray) -> float:
    """directional_check of ∇_θ L over the flat vector θ of all parameters; returns rel. error."""
    loss = SoftmaxCrossEntropy()
    params = net.params
    theta0 = np.concatenate([p.ravel() for p in params.values()])
    loss.fprop(net.fprop(x), y)
    net.bprop(loss.bprop())
    grad = np.concatenate([g.ravel() for g in net.grads.values()])
    cuts = np.cumsum([p.size for p in params.values()])[:-1]

    def loss_at(theta: np.ndarray) -> float:
        for p, chunk in zip(params.values(), np.split(theta, cuts), strict=True):
            p[...] = chunk.reshape(p.shape)
        return loss.fprop(net.fprop(x), y)

    result = directional_check(loss_at, grad, theta0, rng=0)
    loss_at(theta0)
    return result.rel_error


def _verdict(report: GradCheckReport) -> str:
    """passed or FAILED, and the relative error at the entry closest to failing."""
    worst = report.worst
    return (
        f"{'passed' if report.passed else 'FAILED'}, worst entry rel. error {worst.rel_error:.1e}"
    )


def run() -> None:
    X, y = load_digits()
    (X_train, y_train), _, (X_test, y_test) = train_valid_test_split(X, y, rng=0)
    ours, theirs = [], []
    for _ in range(REPEATS):  # interleaved, so a slow moment of the machine hits both
        ours.append(_timed(lambda: _fit_ours(X_train, y_train, X_test, y_test)))
        theirs.append(_timed(lambda: _fit_sklearn(X_train, y_train, X_test, y_test)))
    t_ours = statistics.median(t for t, _ in ours)
    t_sk = statistics.median(t for t, _ in theirs)

    net = mlp(1)
    rng = np.random.default_rng(2)
    idx = rng.choice(len(X_train), CHECK_BATCH, replace=False)
    x_small, y_small = X_train[idx], y_train[idx]
    n_params = sum(p.size for p in net.params.values())
    loss = SoftmaxCrossEntropy()
    checks = [_timed(lambda: check_module(net, x_small, loss=loss, y=y_small)) for _ in range(3)]
    t_check = statistics.median(t for t, _ in checks)
    layer_checks = [_timed(lambda: check_module(net, x_small, rng=0)) for _ in range(3)]
    t_layer_check = statistics.median(t for t, _ in layer_checks)
    directional = [_timed(lambda: _directional(net, x_small, y_small)) for _ in range(3)]
    t_dir = statistics.median(t for t, _ in directional)

    print(
        f"digits: {len(X_train)} train / {len(X_test)} test; 64-64-10 tanh MLP, "
        f"{EPOCHS} epochs, batch {BATCH_SIZE}, lr {LR}, momentum {MOMENTUM}; "
        f"median of {REPEATS}"
    )
    print(
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
        f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at the end"
    )
    rows = [
        ("fit, chainrule", f"{t_ours:.3f} s", f"test acc {ours[0][1]:.4f}"),
        ("fit, scikit-learn MLPClassifier", f"{t_sk:.3f} s", f"test acc {theirs[0][1]:.4f}"),
        ("ratio chainrule / scikit-learn", f"{t_ours / t_sk:.2f}x", "target <= 1.00x"),
        (
            f"check_module with loss, {n_params} params + input, N={CHECK_BATCH}",
            f"{t_check:.3f} s",
            f"{_verdict(checks[0][1])}; target < 0.5 s",
        ),
        (
            "check_module, network alone, L = sum(R * f(x))",
            f"{t_layer_check:.3f} s",
            _verdict(layer_checks[0][1]),
        ),
        (
            "directional_check, all params",
            f"{t_dir * 1e3:.2f} ms",
            f"rel. error {directional[0][1]:.1e}",
        ),
    ]
    width = max(len(name) for name, _, _ in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>10}  {note}")
