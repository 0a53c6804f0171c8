"""Least-squares problems in two parameters, whose loss contours can be drawn.

Each problem has N examples with features φ^(t) ∈ R² and targets y^(t); its loss

    L(θ) = (1/N) Σ_t ½ (φ^(t)·θ - y^(t))²

is a quadratic in θ = (θ_1, θ_2) with Hessian H = ΦᵀΦ / N (Φ: the (N, 2) matrix of rows φ^(t))
and minimizer θ*, the solution of ΦᵀΦ θ = Φᵀy. The learning-rate explorer of notebook 2 runs GD
and SGD on them (:mod:`chainrule.runs`):

- :func:`regression`: y = w x + b + noise with θ = (w, b) and φ = (x, 1) (well conditioned);
- :func:`ill_conditioned`: two strongly correlated features, so H has eigenvalues near 1 and 0.03
  (condition number 36 with seed 0) and the contours are long thin ellipses; the start θ_0 lies
  across and along the valley from the minimum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from chainrule import data

#: Examples of every problem built here.
N_EXAMPLES = 50


@dataclass
class LeastSquares:
    """L(θ) = (1/N) Σ_t ½ (φ^(t)·θ - y^(t))², a quadratic in θ ∈ R².

    features Φ: (N, 2), rows φ^(t); targets y: (N,); theta0: the starting point (2,);
    extent: the box of θ worth looking at (θ_1 min, θ_1 max, θ_2 min, θ_2 max); labels: the
    names of θ_1 and θ_2. ``minimum`` is θ*, the solution of ΦᵀΦ θ = Φᵀy.
    """

    features: np.ndarray
    targets: np.ndarray
    theta0: np.ndarray
    extent: tuple[float, float, float, float]
    labels: tuple[str, str]
    minimum: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.minimum = np.linalg.lstsq(self.features, self.targets, rcond=None)[0]

    def loss(self, thetas: np.ndarray) -> np.ndarray:
        """L(θ) for each row of thetas (M, 2) -> (M,), or for one θ (2,) -> a 0-d array."""
        residuals = np.asarray(thetas) @ self.features.T - self.targets
        return 0.5 * np.mean(residuals**2, axis=-1)

    @staticmethod
    def gradient(theta: np.ndarray, features: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """∇_θ of the mean loss over a batch (Φ_B (B, 2), y_B (B,)): Φ_Bᵀ (Φ_B θ - y_B) / B."""
        return features.T @ (features @ theta - targets) / len(targets)


def regression(seed: int) -> LeastSquares:
    """y = 2x - 1 + 0.5 · noise, x uniform in [-1, 1]; θ = (w, b), H = diag(1/3, 1) roughly."""
    X, y = data.linear_regression(N_EXAMPLES, seed, w=2.0, b=-1.0, noise=0.5)
    return LeastSquares(
        features=np.column_stack([X[:, 0], np.ones(N_EXAMPLES)]),
        targets=y[:, 0],
        theta0=np.array([-1.5, 2.0]),
        extent=(-2.5, 4.0, -2.5, 3.0),
        labels=("w", "b"),
    )


def ill_conditioned(seed: int) -> LeastSquares:
    """Least squares on φ = Mᵀx with M = 1.2 [[1, 1], [0, 0.3]] and x uniform in [-1, 1]²: the
    features φ_1 = 1.2 x_1 and φ_2 = 1.2 (x_1 + 0.3 x_2) are strongly correlated, so H has
    eigenvalues near 1 and 0.03. The targets are Φθ* + 0.3 · noise with θ* = (1, 1)."""
    mixing = 1.2 * np.array([[1.0, 1.0], [0.0, 0.3]])
    X, y = data.linear_regression(N_EXAMPLES, seed, w=mixing @ [1.0, 1.0], b=0.0, noise=0.3)
    return LeastSquares(
        features=X @ mixing,
        targets=y[:, 0],
        theta0=np.array([3.5, 0.5]),
        extent=(-2.5, 4.5, -2.0, 4.0),
        labels=(r"$\theta_1$", r"$\theta_2$"),
    )


#: The problems by name: name -> a function of the data's seed.
PROBLEMS: dict[str, Callable[[int], LeastSquares]] = {
    "regression": regression,
    "quadratic": ill_conditioned,
}
