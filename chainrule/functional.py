"""Activation functions, output functions and losses, with their derivatives.

Notation of the lecture notes: a pre-activation ``a``, an activation ``h = g(a)``, and
``g'(a)`` its derivative. Every ``*_grad(a)`` returns g'(a) elementwise, with the shape of ``a``.
A batch is rows: logits ``A`` have shape (N, C), labels ``y`` shape (N,). Batch losses are the
mean over the N examples, so their gradients carry a factor 1/N.
"""

from __future__ import annotations

import numpy as np

from chainrule._validate import as_float_array, as_labels, require_finite, same_shape


def linear(a: np.ndarray) -> np.ndarray:
    """Identity activation g(a) = a."""
    return as_float_array(a, "a").copy()


def linear_grad(a: np.ndarray) -> np.ndarray:
    """g'(a) = 1 for the identity activation."""
    return np.ones_like(as_float_array(a, "a"))


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic sigmoid g(a) = 1 / (1 + exp(-a)), computed without overflow for large |a|."""
    a = as_float_array(a, "a")
    e = np.exp(-np.abs(a))  # in (0, 1]: never overflows
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(a: np.ndarray) -> np.ndarray:
    """g'(a) = g(a) (1 - g(a)) for the sigmoid."""
    s = sigmoid(a)
    return s * (1.0 - s)


def tanh(a: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent g(a) = (exp(2a) - 1) / (exp(2a) + 1)."""
    return np.tanh(as_float_array(a, "a"))


def tanh_grad(a: np.ndarray) -> np.ndarray:
    """g'(a) = 1 - tanh(a)^2."""
    return 1.0 - np.tanh(as_float_array(a, "a")) ** 2


def relu(a: np.ndarray) -> np.ndarray:
    """Rectified linear unit g(a) = max(0, a)."""
    return np.maximum(as_float_array(a, "a"), 0.0)


def relu_grad(a: np.ndarray) -> np.ndarray:
    """g'(a) = 1 if a > 0 else 0 (at the kink a = 0 we take 0)."""
    return (as_float_array(a, "a") > 0).astype(np.float64)


def leaky_relu(a: np.ndarray, slope: float = 0.01) -> np.ndarray:
    """Leaky (parametric) ReLU g(a) = a if a >= 0 else slope * a."""
    a = as_float_array(a, "a")
    return np.where(a >= 0, a, slope * a)


def leaky_relu_grad(a: np.ndarray, slope: float = 0.01) -> np.ndarray:
    """g'(a) = 1 if a >= 0 else slope."""
    return np.where(as_float_array(a, "a") >= 0, 1.0, slope)


def logsumexp(A: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """log sum_c exp(A_c) along ``axis``, computed as m + log sum_c exp(A_c - m), m = max_c A_c.

    Subtracting the maximum keeps every exponent <= 0, so nothing overflows.
    The result has ``axis`` removed (kept with length 1 if ``keepdims``).
    """
    A = as_float_array(A, "A")
    m = A.max(axis=axis, keepdims=True)
    out = m + np.log(np.exp(A - m).sum(axis=axis, keepdims=True))
    return out if keepdims else out.squeeze(axis=axis)


def log_softmax(A: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(A)_c = A_c - logsumexp(A), row-wise by default; finite for any finite A."""
    A = as_float_array(A, "A")
    return A - logsumexp(A, axis=axis, keepdims=True)


def softmax(A: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(A)_c = exp(A_c) / sum_c' exp(A_c'), row-wise; shifted by the row max, so stable.

    For logits a^(L+1) of shape (N, C) this is f(x) = p(y = c | x) for each row.
    """
    A = as_float_array(A, "A")
    E = np.exp(A - A.max(axis=axis, keepdims=True))
    return E / E.sum(axis=axis, keepdims=True)


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    """e(y): rows of the (N, C) identity picked by integer labels ``y`` of shape (N,)."""
    if np.ndim(y) != 1:
        raise ValueError(f"y must have shape (N,), got {np.shape(y)}")
    labels = as_labels(y, len(y), num_classes)
    E = np.zeros((labels.shape[0], num_classes))
    E[np.arange(labels.shape[0]), labels] = 1.0
    return E


def _logits_and_labels(logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = as_float_array(logits, "logits", ndim=2)
    require_finite(logits, "logits")
    return logits, as_labels(y, logits.shape[0], logits.shape[1])


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood (1/N) sum_n -log softmax(a_n)_{y_n}.

    logits: (N, C) pre-activations a^(L+1); y: (N,) integer labels in [0, C).
    Computed as -log softmax(a_n)_{y_n} = logsumexp(a_n) - a_{n,y_n}, with the stable
    :func:`logsumexp`, so it is finite even for |logits| ~ 1e3.
    """
    logits, y = _logits_and_labels(logits, y)
    n = y.shape[0]
    return float((logsumexp(logits, axis=1) - logits[np.arange(n), y]).sum()) / n


def softmax_cross_entropy_grad(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of the mean loss with respect to the logits: (softmax(A) - e(y)) / N, shape (N, C).

    Per example this is -(e(y) - f(x)); the 1/N comes from averaging over the batch.
    """
    logits, y = _logits_and_labels(logits, y)
    G = softmax(logits)
    G[np.arange(y.shape[0]), y] -= 1.0
    G /= y.shape[0]
    return G


def _prediction_and_target(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = as_float_array(pred, "pred")
    target = as_float_array(target, "target")
    same_shape(pred, target, "pred", "target")
    if pred.ndim == 0:
        raise ValueError("pred must have a batch axis: shape (N,) or (N, K), got a scalar")
    require_finite(pred, "pred")
    require_finite(target, "target")
    return pred, target


def squared_error(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean over the batch of 1/2 ||f(x_n) - y_n||^2; pred and target of shape (N,) or (N, K)."""
    pred, target = _prediction_and_target(pred, target)
    return float(0.5 * np.sum((pred - target) ** 2) / pred.shape[0])


def squared_error_grad(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Gradient of :func:`squared_error` with respect to ``pred``: (f(x) - y) / N."""
    pred, target = _prediction_and_target(pred, target)
    return (pred - target) / pred.shape[0]
