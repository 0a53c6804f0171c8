"""Weight initializers. Each is a callable ``init(fan_in, fan_out, rng) -> W``.

W^(k) has shape (H_k, H_{k-1}) = (fan_out, fan_in), as in the notes. Biases start at zero
(see :class:`chainrule.layers.Linear`). ``rng`` is a numpy Generator, an int seed, or None
for fresh entropy; numpy's global random state is never used.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chainrule._validate import as_rng, one_of, positive_int, positive_number

Initializer = Callable[[int, int, "np.random.Generator | int | None"], np.ndarray]


def _shape(fan_in: int, fan_out: int) -> tuple[int, int]:
    return positive_int(fan_out, "fan_out"), positive_int(fan_in, "fan_in")


def zeros(fan_in: int, fan_out: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """W = 0. Every hidden unit then computes the same thing: symmetry is never broken."""
    return np.zeros(_shape(fan_in, fan_out))


def constant(value: float) -> Initializer:
    """An initializer that fills W with ``value`` (as symmetric, and as useless, as zeros)."""
    value = float(value)

    def init(fan_in: int, fan_out: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        return np.full(_shape(fan_in, fan_out), value)

    return init


def normal(std: float) -> Initializer:
    """An initializer drawing W_ij ~ N(0, std^2)."""
    std = positive_number(std, "std")

    def init(fan_in: int, fan_out: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        return std * as_rng(rng).standard_normal(_shape(fan_in, fan_out))

    return init


def glorot_uniform(
    fan_in: int, fan_out: int, rng: np.random.Generator | int | None = None
) -> np.ndarray:
    """Glorot/Xavier: W_ij ~ U[-b, b] with b = sqrt(6) / sqrt(H_k + H_{k-1}).

    The variance b^2 / 3 = 2 / (H_k + H_{k-1}) keeps activations and back-propagated
    gradients at a similar scale through tanh layers.
    """
    shape = _shape(fan_in, fan_out)
    bound = np.sqrt(6.0) / np.sqrt(shape[0] + shape[1])
    return as_rng(rng).uniform(-bound, bound, size=shape)


def he_normal(
    fan_in: int, fan_out: int, rng: np.random.Generator | int | None = None
) -> np.ndarray:
    """He: W_ij ~ N(0, 2 / H_{k-1}); the factor 2 makes up for ReLU zeroing half its inputs."""
    shape = _shape(fan_in, fan_out)
    return np.sqrt(2.0 / shape[1]) * as_rng(rng).standard_normal(shape)


#: The initializers :func:`by_name` knows, by name.
SCHEMES = ("zeros", "constant", "normal", "glorot", "he")


def by_name(scheme: str, scale: float = 1.0) -> Initializer:
    """The initializer called ``scheme``, one of :data:`SCHEMES`.

    "zeros" is :func:`zeros`, "constant" fills W with c = ``scale`` (:func:`constant`),
    "normal" draws W_ij ~ N(0, σ²) with σ = ``scale`` (:func:`normal`), "glorot" is
    :func:`glorot_uniform` and "he" :func:`he_normal`; ``scale`` is ignored by the last two and
    by "zeros".
    """
    scheme = one_of(scheme, "scheme", SCHEMES)
    if scheme == "constant":
        return constant(scale)
    if scheme == "normal":
        return normal(scale)
    return {"zeros": zeros, "glorot": glorot_uniform, "he": he_normal}[scheme]
