"""Weight penalties λ Ω(θ) added to the training loss, and their gradients.

The regularized objective is (1/T) Σ_t l(f(x^(t); θ), y^(t)) + λ Ω(θ). Ω sums over the
entries W_ij^(k) of every weight matrix and never over the biases b^(k): shrinking a bias
does not make the function any smoother, it only shifts it.

Each regularizer has ``penalty(W) -> float`` (λ Ω for one weight array) and
``grad(W) -> array`` (λ ∇_W Ω, shaped like W); :func:`regularize` applies one to a model.
"""

from __future__ import annotations

import numpy as np

from chainrule._validate import as_float_array, positive_number


class Regularizer:
    """λ Ω(W) = λ Σ_ij ω(W_ij) for an elementwise term ω; subclasses define ω and ω'."""

    def __init__(self, strength: float) -> None:
        self.strength = positive_number(strength, "strength", allow_zero=True)

    def term(self, W: np.ndarray) -> np.ndarray:
        """ω(W_ij) elementwise, shaped like W."""
        raise NotImplementedError(f"{type(self).__name__} does not define term")

    def term_grad(self, W: np.ndarray) -> np.ndarray:
        """ω'(W_ij) elementwise, shaped like W."""
        raise NotImplementedError(f"{type(self).__name__} does not define term_grad")

    def penalty(self, W: np.ndarray) -> float:
        """λ Σ_ij ω(W_ij) for a weight array W of any shape."""
        return self.strength * float(np.sum(self.term(as_float_array(W, "W"))))

    def grad(self, W: np.ndarray) -> np.ndarray:
        """∇_W of :meth:`penalty`: λ ω'(W), shaped like W."""
        return self.strength * self.term_grad(as_float_array(W, "W"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(strength={self.strength})"


class L2(Regularizer):
    """Weight decay: Ω(W) = Σ_ij W_ij² = ||W||_F², ∇_W Ω = 2W.

    A gradient step on the penalty alone multiplies W by (1 - 2αλ): the weights decay.
    """

    def term(self, W: np.ndarray) -> np.ndarray:
        return W**2

    def term_grad(self, W: np.ndarray) -> np.ndarray:
        return 2.0 * W


class L1(Regularizer):
    """Ω(W) = Σ_ij |W_ij|, ∇_W Ω = sign(W) (taken as 0 at W_ij = 0, where |·| has a kink).

    The pull towards 0 has the same size λ however small W_ij is, so L1 sets weights
    exactly to zero where L2 only shrinks them.
    """

    def term(self, W: np.ndarray) -> np.ndarray:
        return np.abs(W)

    def term_grad(self, W: np.ndarray) -> np.ndarray:
        return np.sign(W)


class WeightElimination(Regularizer):
    """Ω(W) = Σ_ij u_ij² / (1 + u_ij²) with u = W / w0 (``scale`` = w0 > 0).

    ∂Ω/∂W_ij = 2 W_ij / (w0² (1 + u_ij²)²). For |W_ij| << w0 this is weight decay with
    strength λ / w0²; for |W_ij| >> w0 each term tends to the constant 1 and its gradient
    to 0, so large weights are left alone while small ones are pushed to zero.
    """

    def __init__(self, strength: float, scale: float = 1.0) -> None:
        super().__init__(strength)
        self.scale = positive_number(scale, "scale")

    def term(self, W: np.ndarray) -> np.ndarray:
        u2 = (W / self.scale) ** 2
        return u2 / (1.0 + u2)

    def term_grad(self, W: np.ndarray) -> np.ndarray:
        u2 = (W / self.scale) ** 2
        return 2.0 * W / (self.scale**2 * (1.0 + u2) ** 2)

    def __repr__(self) -> str:
        return f"WeightElimination(strength={self.strength}, scale={self.scale})"


def is_weight(name: str) -> bool:
    """True for a weight matrix's parameter name: ``"W"`` or ``"<prefix>.W"`` (e.g. ``"0.W"``)."""
    return name == "W" or name.endswith(".W")


def regularize(model: object, regularizer: Regularizer) -> float:
    """Add λ ∇_W Ω to ``model.grads`` for every weight matrix W of ``model``; return λ Ω(θ).

    Only parameters named ``"W"`` or ``"*.W"`` are penalized; biases are untouched. The
    gradient arrays in ``model.grads`` are updated in place, so call this after
    ``model.bprop`` and before the optimizer step. Returns the total penalty
    λ Σ_k Ω(W^(k)), to be added to the (mean) data loss if the regularized loss is wanted.
    """
    if not isinstance(regularizer, Regularizer):
        raise TypeError(
            f"regularizer must be a chainrule.regularizers.Regularizer, "
            f"got {type(regularizer).__name__}"
        )
    grads = model.grads
    total = 0.0
    for name, W in model.params.items():
        if not is_weight(name):
            continue
        if name not in grads:
            raise ValueError(f"model.grads has no entry {name!r}: call model.bprop first")
        total += regularizer.penalty(W)
        grads[name] += regularizer.grad(W)
    return total
