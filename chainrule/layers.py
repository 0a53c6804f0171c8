"""Flow-graph boxes: each has ``fprop`` (forward) and ``bprop`` (backward).

Two kinds of box, with two signatures:

- a :class:`Module` (a layer, an activation, a whole :class:`Sequential`): ``fprop(x)`` computes
  the box's output and caches what ``bprop`` needs; ``bprop(grad_out)`` receives ∂L/∂(output),
  returns ∂L/∂(input), and fills ``grads`` with ∂L/∂θ for every entry of ``params`` (same keys,
  same shapes);
- a :class:`Loss`, the box at the top of the graph: ``fprop(output, target)`` returns the scalar
  L (a mean over the batch) and ``bprop()`` starts the backward pass with ∂L/∂(output).

Boxes are called forward in order, backward in reverse order. A batch is rows: x has shape
(N, D).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from chainrule import functional as F
from chainrule._validate import as_float_array, as_rng, positive_int
from chainrule.init import Initializer, glorot_uniform


class Box:
    """What every box of the flow graph has: parameters ``params`` (name -> array) and, after
    ``bprop``, their gradients ``grads`` (same keys and shapes)."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def _cached(self, value: np.ndarray | None) -> np.ndarray:
        if value is None:
            raise ValueError(f"{type(self).__name__}.bprop called before fprop: call fprop first")
        return value


class Module(Box):
    """A box inside the flow graph: ``fprop(x)`` -> output, ``bprop(∂L/∂output)`` -> ∂L/∂x."""

    def __init__(self) -> None:
        super().__init__()
        self.training = True

    def fprop(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define fprop")

    def bprop(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define bprop")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.fprop(x)

    def train(self, mode: bool = True) -> Module:
        """Switch to training mode (``mode=True``) or evaluation mode; returns self."""
        self.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode (Dropout keeps every unit); returns self."""
        return self.train(False)

    def _grad_like(self, grad_out: object, shape: tuple[int, ...]) -> np.ndarray:
        grad_out = as_float_array(grad_out, "grad_out")
        if grad_out.shape != shape:
            raise ValueError(
                f"{type(self).__name__}.bprop: grad_out must have the output's shape "
                f"{shape}, got {grad_out.shape}"
            )
        return grad_out


class Linear(Module):
    """Affine box a = b + W h, batched as A = H W^T + b.

    params: ``W`` of shape (out_features, in_features) = (H_k, H_{k-1}), ``b`` of shape (H_k,).
    bprop: ∇_W = G^T H, ∇_b = sum over the batch of G, ∇_H = G W, with G = ∂L/∂A of shape (N, H_k).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        init: Initializer = glorot_uniform,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        W = np.asarray(init(self.in_features, self.out_features, as_rng(rng)), dtype=np.float64)
        expected = (self.out_features, self.in_features)
        if W.shape != expected:
            raise ValueError(f"init must return W of shape {expected}, got {W.shape}")
        self.params = {"W": W, "b": np.zeros(self.out_features)}
        self._x: np.ndarray | None = None
        self._out_shape: tuple[int, ...] = ()

    def fprop(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "x", ndim=2)
        if x.shape[1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}).fprop: x must have shape "
                f"(N, {self.in_features}), got {x.shape}"
            )
        self._x = x
        out = x @ self.params["W"].T + self.params["b"]
        self._out_shape = out.shape
        return out

    def bprop(self, grad_out: np.ndarray) -> np.ndarray:
        x = self._cached(self._x)
        G = self._grad_like(grad_out, self._out_shape)
        self.grads = {"W": G.T @ x, "b": G.sum(axis=0)}
        return G @ self.params["W"]

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"


class Activation(Module):
    """Elementwise box h = g(a); bprop multiplies by g'(a): ∂L/∂a = ∂L/∂h ⊙ g'(a).

    A subclass gives ``g`` and :meth:`derivative`, g'(a) at the input a cached by the last fprop;
    fprop also caches its output h = g(a), from which some derivatives are cheaper
    (sigmoid: h (1 - h), tanh: 1 - h²).
    """

    def __init__(self) -> None:
        super().__init__()
        self._a: np.ndarray | None = None
        self._h: np.ndarray | None = None

    def g(self, a: np.ndarray) -> np.ndarray:
        """The activation function h = g(a), elementwise."""
        raise NotImplementedError(f"{type(self).__name__} does not define g")

    def derivative(self) -> np.ndarray:
        """g'(a) at the input a cached by the last fprop, elementwise (the shape of a)."""
        raise NotImplementedError(f"{type(self).__name__} does not define derivative")

    def fprop(self, x: np.ndarray) -> np.ndarray:
        self._a = as_float_array(x, "x")
        self._h = self.g(self._a)
        return self._h

    def bprop(self, grad_out: np.ndarray) -> np.ndarray:
        a = self._cached(self._a)
        return self._grad_like(grad_out, a.shape) * self.derivative()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """h = 1 / (1 + exp(-a)), g'(a) = g(a)(1 - g(a)) = h (1 - h).

    bprop reuses the output h cached by fprop instead of evaluating the sigmoid again.
    """

    g = staticmethod(F.sigmoid)

    def derivative(self) -> np.ndarray:
        h = self._cached(self._h)
        return h * (1.0 - h)


class Tanh(Activation):
    """h = tanh(a), g'(a) = 1 - tanh(a)^2 = 1 - h^2.

    bprop reuses the output h cached by fprop instead of evaluating tanh again.
    """

    g = staticmethod(F.tanh)

    def derivative(self) -> np.ndarray:
        return 1.0 - self._cached(self._h) ** 2


class ReLU(Activation):
    """h = max(0, a), g'(a) = 1 if a > 0 else 0."""

    g = staticmethod(F.relu)

    def derivative(self) -> np.ndarray:
        return F.relu_grad(self._cached(self._a))


class LeakyReLU(Activation):
    """h = a if a >= 0 else slope * a (PReLU with a fixed slope), g'(a) = 1 or slope."""

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        self.slope = float(slope)

    def g(self, a: np.ndarray) -> np.ndarray:
        return F.leaky_relu(a, self.slope)

    def derivative(self) -> np.ndarray:
        return F.leaky_relu_grad(self._cached(self._a), self.slope)

    def __repr__(self) -> str:
        return f"LeakyReLU(slope={self.slope})"


class PReLU(Module):
    """Parametric ReLU with a learned slope: h = a if a > 0 else α a, one α for the whole box.

    params: ``alpha``, shape (); bprop returns ∂L/∂a = G ⊙ g'(a) with g'(a) = 1 or α, and sets
    grads["alpha"] = ∂L/∂α = Σ over the entries with a <= 0 of G ⊙ a (summed over the batch:
    the incoming gradient G already carries the 1/N of a mean loss).
    """

    def __init__(self, alpha: float = 0.25) -> None:
        super().__init__()
        self.params = {"alpha": np.array(float(alpha))}
        self._a: np.ndarray | None = None

    def fprop(self, x: np.ndarray) -> np.ndarray:
        self._a = as_float_array(x, "x")
        return np.where(self._a > 0, self._a, self.params["alpha"] * self._a)

    def bprop(self, grad_out: np.ndarray) -> np.ndarray:
        a = self._cached(self._a)
        G = self._grad_like(grad_out, a.shape)
        negative = a <= 0
        self.grads = {"alpha": np.array(np.sum(G * a * negative))}
        return G * np.where(negative, self.params["alpha"], 1.0)

    def __repr__(self) -> str:
        return f"PReLU(alpha={float(self.params['alpha']):g})"


class Dropout(Module):
    """Inverted dropout: in training, h = x ⊙ m / (1 - p) with m_i ~ Bernoulli(1 - p).

    Each unit is dropped with probability ``p``; dividing by 1 - p keeps E[h] = x, so at
    evaluation time the box is the identity. bprop multiplies by the same mask.
    """

    def __init__(self, p: float, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            raise ValueError(f"p must be a drop probability in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = as_rng(rng)
        self.mask: np.ndarray | None = None

    def fprop(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "x")
        if self.training:
            self.mask = (self.rng.random(x.shape) >= self.p) / (1.0 - self.p)
        else:
            self.mask = np.ones_like(x)
        return x * self.mask

    def bprop(self, grad_out: np.ndarray) -> np.ndarray:
        mask = self._cached(self.mask)
        return self._grad_like(grad_out, mask.shape) * mask

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class Sequential(Module):
    """Boxes applied in order: fprop through modules[0], modules[1], ...; bprop in reverse.

    ``params`` and ``grads`` are views keyed ``"<index>.<name>"`` (e.g. ``"0.W"``); updating an
    array in ``params`` in place updates the module that owns it.
    """

    def __init__(self, modules: Iterable[Module]) -> None:
        self.training = True
        self.modules = list(modules)
        for i, module in enumerate(self.modules):
            if not isinstance(module, Module):
                raise TypeError(f"modules[{i}] must be a Module, got {type(module).__name__}")

    @property
    def params(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return {f"{i}.{k}": v for i, m in enumerate(self.modules) for k, v in m.params.items()}

    @property
    def grads(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return {f"{i}.{k}": v for i, m in enumerate(self.modules) for k, v in m.grads.items()}

    def train(self, mode: bool = True) -> Sequential:
        super().train(mode)
        for module in self.modules:
            module.train(mode)
        return self

    def fprop(self, x: np.ndarray) -> np.ndarray:
        for module in self.modules:
            x = module.fprop(x)
        return x

    def bprop(self, grad_out: np.ndarray) -> np.ndarray:
        for module in reversed(self.modules):
            grad_out = module.bprop(grad_out)
        return grad_out

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(map(repr, self.modules)) + ")"


class Loss(Box):
    """The box at the top of the flow graph: L = loss(output, target), a mean over the batch.

    - ``fprop(output, target) -> float``: L for the network's output (N, ...) and the target of
      each example; caches both.
    - ``bprop(grad_out=1.0) -> ∂L/∂output``, shaped like the output: the gradient that starts
      the backward pass (∂L/∂L = 1; another ``grad_out`` scales it, e.g. the weight of this
      term in a sum of losses).
    - ``params`` and ``grads`` are empty: a loss has no parameters.

    A loss is not a :class:`Module`: its fprop takes the target and its bprop receives no
    gradient from above, so it is never placed inside a :class:`Sequential`. The training loop
    is ``loss.fprop(model.fprop(X), y)`` then ``model.bprop(loss.bprop())``.

    fprop only caches its inputs next to the loss value; the gradient is computed by bprop, so
    evaluating the loss alone (as a finite-difference check does thousands of times) costs no
    backward work. Subclasses set ``value`` and ``gradient`` to the pair of functional formulas.
    """

    value: Callable[[np.ndarray, np.ndarray], float]
    gradient: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def __init__(self) -> None:
        super().__init__()
        self._inputs: tuple[np.ndarray, np.ndarray] | None = None

    def fprop(self, output: np.ndarray, target: np.ndarray) -> float:
        loss = type(self).value(output, target)
        self._inputs = (output, target)
        return loss

    def bprop(self, grad_out: float = 1.0) -> np.ndarray:
        output, target = self._cached(self._inputs)
        return float(grad_out) * type(self).gradient(output, target)


class SoftmaxCrossEntropy(Loss):
    """L = (1/N) sum_n -log softmax(a_n)_{y_n}; bprop gives (softmax(A) - e(y)) / N.

    fprop(logits (N, C), y (N,) integer labels in [0, C)) -> float.
    """

    value = staticmethod(F.softmax_cross_entropy)
    gradient = staticmethod(F.softmax_cross_entropy_grad)


class MeanSquaredError(Loss):
    """L = (1/N) sum_n 1/2 ||f(x_n) - y_n||^2; bprop gives (f(x) - y) / N.

    fprop(pred (N,) or (N, K), target of the same shape) -> float.
    """

    value = staticmethod(F.squared_error)
    gradient = staticmethod(F.squared_error_grad)
