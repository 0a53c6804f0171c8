"""The learning-rate explorer: full-batch GD and minibatch SGD side by side on a 2-D loss.

Both datasets are least-squares problems in two parameters θ = (θ_1, θ_2), so the loss
L(θ) = (1/N) Σ_t ½ (φ^(t)·θ - y^(t))² is a quadratic whose contours can be drawn:

- "regression": y = w x + b + noise with θ = (w, b) and φ = (x, 1) (well conditioned);
- "quadratic": two strongly correlated features, so the Hessian H = ΦᵀΦ / N has eigenvalues
  near 1 and 0.03 (condition number 36 with seed 0) and the contours are long thin ellipses;
  the start θ_0 lies across and along the valley from the minimum.

The runs use :mod:`chainrule.optim` (``SGD`` with momentum and ``minibatches``): GD is the same
optimizer with one batch of all N examples per epoch. A run whose loss becomes non-finite or
exceeds ``DIVERGENCE_FACTOR`` · L(θ_0) is stopped and reported as diverged.

Display. The figure is built once; a change of a control updates the artists in place. With
``%matplotlib widget`` (ipympl) the figure's canvas is itself a widget and is redrawn with
``draw_idle``. With any other backend (the default inline one included) the figure has an Agg
canvas of its own (no pyplot figure, so nothing is displayed twice or left open): every change
draws the run artists over a stored background (:func:`chainrule.plots.render_runs`) and puts
the pixels, as a PNG, into an ``ipywidgets.Image``.
"""

from __future__ import annotations

import io
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imsave

from chainrule import data, optim, plots
from chainrule._validate import as_rng, positive_int, positive_number

N_EXAMPLES = 50
MAX_EPOCHS = 25
LR_RANGE = (1e-3, 10.0)
MAX_MOMENTUM = 0.99
#: A run has diverged once L(θ_t) > DIVERGENCE_FACTOR · L(θ_0) (or is NaN/inf).
DIVERGENCE_FACTOR = 1e6


@dataclass
class LeastSquares:
    """L(θ) = (1/N) Σ_t ½ (φ^(t)·θ - y^(t))², a quadratic in θ ∈ R².

    features Φ: (N, 2), rows φ^(t); targets y: (N,); theta0: the starting point (2,);
    extent: the plotted box (θ_1 min, θ_1 max, θ_2 min, θ_2 max); labels: axis names.
    The minimizer θ* solves ΦᵀΦ θ = Φᵀy; the Hessian is H = ΦᵀΦ / N.
    """

    features: np.ndarray
    targets: np.ndarray
    theta0: np.ndarray
    extent: tuple[float, float, float, float]
    labels: tuple[str, str]
    minimum: np.ndarray = field(init=False)
    grid: tuple[np.ndarray, np.ndarray, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.minimum = np.linalg.lstsq(self.features, self.targets, rcond=None)[0]
        self.grid = plots.loss_grid(self.loss, self.extent)

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


DATASETS: dict[str, tuple[str, Callable[[int], LeastSquares]]] = {
    "regression": ("linear regression y = w x + b", regression),
    "quadratic": ("ill-conditioned quadratic", ill_conditioned),
}


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
    each update is ∇̄ ← ∇_θ L_B(θ) + β ∇̄, θ ← θ - η ∇̄ with L_B the mean loss over the batch.
    batch_size = N is full-batch gradient descent. The loss is checked after every epoch and
    the run stops at the first update where it is not finite or exceeds
    DIVERGENCE_FACTOR · L(θ_0).
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


def _uses_ipympl() -> bool:
    """True under ``%matplotlib widget`` / ``%matplotlib ipympl``."""
    backend = matplotlib.get_backend().lower()
    return "ipympl" in backend or backend == "widget"


def _check_range(value: object, name: str, low: float, high: float) -> float:
    value = positive_number(value, name, allow_zero=low == 0.0)
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {value:g}")
    return value


class LearningRateExplorer(widgets.VBox):
    """Sliders for η, batch size, β, epochs and the dataset above the explorer's figure.

    Attributes for code and tests: ``controls`` (dict of the control widgets, keys "lr",
    "batch_size", "momentum", "epochs", "dataset"; set ``.value`` to drive the explorer),
    ``view`` (:class:`chainrule.plots.ExplorerView`: the figure and its artists), ``runs``
    (dict "GD"/"SGD" -> :class:`Run` of the settings shown), ``problems`` (dataset key ->
    :class:`LeastSquares`) and ``image`` (the PNG widget, or None under ipympl).
    """

    def __init__(
        self,
        *,
        dataset: str = "regression",
        lr: float = 0.1,
        batch_size: int = 5,
        momentum: float = 0.0,
        epochs: int = 10,
        seed: int = 0,
        interactive: bool | None = None,
    ) -> None:
        super().__init__()
        if dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {dataset!r}")
        lr = _check_range(lr, "lr", *LR_RANGE)
        batch_size = int(
            _check_range(positive_int(batch_size, "batch_size"), "batch_size", 1, N_EXAMPLES)
        )
        momentum = _check_range(momentum, "momentum", 0.0, MAX_MOMENTUM)
        epochs = int(_check_range(positive_int(epochs, "epochs"), "epochs", 1, MAX_EPOCHS))
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        self.seed = int(seed)
        self.problems = {key: build(self.seed) for key, (_, build) in DATASETS.items()}
        if interactive is None:
            interactive = _uses_ipympl()
        elif interactive and not _uses_ipympl():
            raise ValueError(
                "interactive=True needs the ipympl backend: run `%matplotlib widget` first"
            )
        style = {"description_width": "initial"}
        self.controls: dict[str, widgets.ValueWidget] = {
            "lr": widgets.FloatLogSlider(
                value=lr,
                base=10,
                min=np.log10(LR_RANGE[0]),
                max=np.log10(LR_RANGE[1]),
                step=0.05,
                description="learning rate η",
                readout_format=".3g",
                style=style,
                continuous_update=interactive,
            ),
            "batch_size": widgets.IntSlider(
                value=batch_size,
                min=1,
                max=N_EXAMPLES,
                description="batch size",
                style=style,
                continuous_update=interactive,
            ),
            "momentum": widgets.FloatSlider(
                value=momentum,
                min=0.0,
                max=MAX_MOMENTUM,
                step=0.01,
                description="momentum β",
                style=style,
                continuous_update=interactive,
            ),
            "epochs": widgets.IntSlider(
                value=epochs,
                min=1,
                max=MAX_EPOCHS,
                description="epochs",
                style=style,
                continuous_update=interactive,
            ),
            "dataset": widgets.Dropdown(
                options=[(label, key) for key, (label, _) in DATASETS.items()],
                value=dataset,
                description="dataset",
                style=style,
            ),
        }
        figure, display = self._figure(interactive)
        self.image = None if interactive else display
        self.view = plots.explorer_view(figure, MAX_EPOCHS, MAX_EPOCHS * N_EXAMPLES)
        self.runs: dict[str, Run] = {}
        c = self.controls
        self.children = (
            widgets.HBox([c["lr"], c["batch_size"], c["dataset"]]),
            widgets.HBox([c["momentum"], c["epochs"]]),
            display,
        )
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self._show_dataset()
        self.refresh()

    @staticmethod
    def _figure(interactive: bool) -> tuple[Figure, widgets.DOMWidget]:
        """The figure and the widget that shows it: ipympl's canvas, or an Image of PNG bytes."""
        size = (11.0, 3.4)
        if interactive:
            import matplotlib.pyplot as plt

            with plt.ioff():
                figure = plt.figure(figsize=size, dpi=90)
            figure.canvas.header_visible = False
            return figure, figure.canvas
        figure = Figure(figsize=size, dpi=90)
        FigureCanvasAgg(figure)
        return figure, widgets.Image(format="png")

    @property
    def problem(self) -> LeastSquares:
        """The dataset currently selected."""
        return self.problems[self.controls["dataset"].value]

    def _on_change(self, change: dict) -> None:
        if change["owner"] is self.controls["dataset"]:
            self._show_dataset()
        self.refresh()

    def _show_dataset(self) -> None:
        p = self.problem
        loss_min, loss_start = float(p.loss(p.minimum)), float(p.loss(p.theta0))
        plots.show_surface(self.view, p.grid, p.theta0, p.minimum, loss_min, loss_start, p.labels)

    def compute(self) -> dict[str, Run]:
        """The GD and SGD runs for the current settings (nothing is drawn).

        The shuffling generator is re-seeded from ``seed`` each time: the same settings always
        give the same runs, hence the same picture.
        """
        c = {key: control.value for key, control in self.controls.items()}
        sizes = {"GD": N_EXAMPLES, "SGD": c["batch_size"]}
        return {
            name: run_sgd(
                self.problem,
                c["lr"],
                size,
                c["momentum"],
                c["epochs"],
                np.random.default_rng(self.seed),
            )
            for name, size in sizes.items()
        }

    def refresh(self) -> None:
        """Recompute both runs, put them into the artists and redraw."""
        self.runs = self.compute()
        for name, run in self.runs.items():
            plots.show_run(self.view, name, run.path, run.losses, run.updates_per_epoch)
        self.view.status.set_text(
            "\n".join(
                f"{name} diverged after {run.diverged_at} updates"
                for name, run in self.runs.items()
                if run.diverged_at is not None
            )
        )
        self.render()

    def render(self) -> None:
        """Redraw: ``draw_idle`` under ipympl, else blit the runs and put a PNG in ``image``."""
        if self.image is None:
            self.view.figure.canvas.draw_idle()
            return
        buffer = io.BytesIO()
        # compress_level 1: a third of the default's encoding time for a slightly larger PNG
        imsave(buffer, plots.render_runs(self.view), format="png", pil_kwargs={"compress_level": 1})
        self.image.value = buffer.getvalue()


def learning_rate_explorer(**settings: object) -> LearningRateExplorer:
    """The explorer widget (display it as a notebook cell's last value).

    Keyword arguments (all optional): dataset ("regression" or "quadratic"), lr in
    [1e-3, 10], batch_size in [1, 50], momentum in [0, 0.99], epochs in [1, 25], seed (int,
    fixes the data and the shuffling), interactive (None: ipympl canvas under
    ``%matplotlib widget``, else PNG images).
    """
    return LearningRateExplorer(**settings)
