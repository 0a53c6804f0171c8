"""The explorers of the notebooks: learning rate (notebook 2) and initialization (notebook 6).

**Learning-rate explorer**: full-batch GD and minibatch SGD side by side on a 2-D loss.
Both datasets are least-squares problems in two parameters θ = (θ_1, θ_2), so the loss
L(θ) = (1/N) Σ_t ½ (φ^(t)·θ - y^(t))² is a quadratic whose contours can be drawn:

- "regression": y = w x + b + noise with θ = (w, b) and φ = (x, 1) (well conditioned);
- "quadratic": two strongly correlated features, so the Hessian H = ΦᵀΦ / N has eigenvalues
  near 1 and 0.03 (condition number 36 with seed 0) and the contours are long thin ellipses;
  the start θ_0 lies across and along the valley from the minimum.

The runs use :mod:`chainrule.optim` (``SGD`` with momentum and ``minibatches``): GD is the same
optimizer with one batch of all N examples per epoch. A run whose loss becomes non-finite or
exceeds ``DIVERGENCE_FACTOR`` · L(θ_0) is stopped and reported as diverged.

**Initialization explorer**: a network of L hidden layers of H units, its weights drawn by one
of the initializers of :mod:`chainrule.init`, takes one forward and one backward pass (through
the boxes of :mod:`chainrule.layers`) on a fixed batch; the figure shows the histogram of every
layer's activations h^(k), and per layer their spread and the gradient norm ‖∇_{W^(k)} L‖_F.

Display (both). The figure is built once; a change of a control updates the artists in place. With
``%matplotlib widget`` (ipympl) the figure's canvas is itself a widget and is redrawn with
``draw_idle``. With any other backend (the default inline one included) the figure has an Agg
canvas of its own (no pyplot figure, so nothing is displayed twice or left open): every change
draws the run artists over a stored background (:func:`chainrule.plots.render_runs`) and puts
the pixels, as a PNG, into an ``ipywidgets.Image``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

from chainrule import data, init, layers, optim, plots
from chainrule._validate import as_float_array, as_rng, positive_int, positive_number

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


def _check_int_range(value: object, name: str, low: int, high: int) -> int:
    return int(_check_range(positive_int(value, name), name, low, high))


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def _check_choice(value: object, name: str, choices: Mapping[str, object]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return str(value)


#: Style of every control's description: as wide as its text.
_STYLE = {"description_width": "initial"}


class FigureExplorer(widgets.VBox):
    """Controls above a figure that is built once and updated in place (what the explorers
    share).

    A subclass makes its controls with :meth:`_log_slider`, :meth:`_int_slider`,
    :meth:`_slider_options` and :meth:`_dropdown` (each checks the initial value it is given),
    lays out ``view`` (a :class:`chainrule.plots.BlitView`) on the figure of :meth:`_figure`,
    and hands both to :meth:`_start`. It defines :meth:`_show_layout`, which sets what only the
    controls named in ``layout_controls`` change, and :meth:`refresh`, which recomputes, puts
    the result into the artists and calls :meth:`render`.

    ``image`` is the PNG widget that shows the figure, or None under ipympl, where the figure's
    canvas is itself the widget.
    """

    view: plots.BlitView
    image: widgets.Image | None
    controls: dict[str, widgets.ValueWidget]
    #: Keys of the controls whose change calls :meth:`_show_layout` before :meth:`refresh`.
    layout_controls: tuple[str, ...] = ()

    def __init__(self, interactive: bool | None) -> None:
        """``interactive``: show the figure on ipympl's canvas (None: if ipympl is the
        backend), else as PNG images; True without ipympl is a ValueError."""
        super().__init__()
        if interactive is None:
            interactive = _uses_ipympl()
        elif interactive and not _uses_ipympl():
            raise ValueError(
                "interactive=True needs the ipympl backend: run `%matplotlib widget` first"
            )
        self._interactive = interactive

    def _slider_options(self, description: str) -> dict[str, object]:
        """Keyword arguments of every slider: it reports while dragged on ipympl's canvas
        (``draw_idle`` skips the frames it cannot keep up with) and on release otherwise (every
        change renders and sends a PNG)."""
        return {"description": description, "style": _STYLE, "continuous_update": self._interactive}

    def _log_slider(
        self, name: str, value: object, value_range: tuple[float, float], description: str
    ) -> widgets.FloatLogSlider:
        """A slider over ``value_range`` on a log scale (20 steps a decade) at ``value``, which
        must lie in that range (ValueError naming ``name``)."""
        low, high = value_range
        return widgets.FloatLogSlider(
            value=_check_range(value, name, low, high),
            base=10,
            min=np.log10(low),
            max=np.log10(high),
            step=0.05,
            readout_format=".3g",
            **self._slider_options(description),
        )

    def _int_slider(
        self,
        name: str,
        value: object,
        value_range: tuple[int, int],
        description: str,
        step: int = 1,
    ) -> widgets.IntSlider:
        """An integer slider over ``value_range`` at ``value``, which must be an integer in that
        range (ValueError naming ``name``)."""
        low, high = value_range
        return widgets.IntSlider(
            value=_check_int_range(value, name, low, high),
            min=low,
            max=high,
            step=step,
            **self._slider_options(description),
        )

    @staticmethod
    def _dropdown(
        name: str, value: object, labels: Mapping[str, str], description: str
    ) -> widgets.Dropdown:
        """A dropdown of the keys of ``labels`` (shown by their labels) set to ``value``, which
        must be one of the keys (ValueError naming ``name``)."""
        return widgets.Dropdown(
            options=[(label, key) for key, label in labels.items()],
            value=_check_choice(value, name, labels),
            description=description,
            style=_STYLE,
        )

    def _figure(self, size: tuple[float, float]) -> tuple[Figure, widgets.DOMWidget]:
        """The figure and the widget that shows it: ipympl's canvas if interactive, else a bare
        Agg figure and an Image of PNG bytes (no pyplot figure, so nothing is displayed twice or
        left open). Sets :attr:`image`."""
        if self._interactive:
            import matplotlib.pyplot as plt

            with plt.ioff():
                figure = plt.figure(figsize=size, dpi=90)
            figure.canvas.header_visible = False
            self.image = None
            return figure, figure.canvas
        figure = Figure(figsize=size, dpi=90)
        FigureCanvasAgg(figure)
        self.image = widgets.Image(format="png")
        return figure, self.image

    def _start(
        self,
        controls: dict[str, widgets.ValueWidget],
        rows: Sequence[Sequence[str]],
        display: widgets.DOMWidget,
    ) -> None:
        """Show the controls in ``rows`` (each a list of keys of ``controls``) above
        ``display``, update the figure after every change of a control, and draw it a first
        time."""
        self.controls = controls
        self.children = (*(widgets.HBox([controls[key] for key in row]) for row in rows), display)
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self._show_layout()
        self.refresh()

    def _on_change(self, change: dict) -> None:
        if any(change["owner"] is self.controls[key] for key in self.layout_controls):
            self._show_layout()
        self.refresh()

    def _settings(self) -> dict[str, object]:
        """The value of every control, by key."""
        return {key: control.value for key, control in self.controls.items()}

    def _show_layout(self) -> None:
        """Set what depends on the ``layout_controls`` only (the subclass's)."""
        raise NotImplementedError

    def refresh(self) -> None:
        """Recompute from the controls, put the result into the artists and :meth:`render`
        (the subclass's)."""
        raise NotImplementedError

    def render(self) -> None:
        """Redraw: ``draw_idle`` under ipympl, else blit the changing artists over the stored
        background and put a PNG in ``image``."""
        if self.image is None:
            self.view.figure.canvas.draw_idle()
            return
        self.image.value = plots.png_bytes(plots.render_runs(self.view))


class LearningRateExplorer(FigureExplorer):
    """Sliders for η, batch size, β, epochs and the dataset above the explorer's figure.

    Attributes for code and tests: ``controls`` (dict of the control widgets, keys "lr",
    "batch_size", "momentum", "epochs", "dataset"; set ``.value`` to drive the explorer),
    ``view`` (:class:`chainrule.plots.ExplorerView`: the figure and its artists), ``runs``
    (dict "GD"/"SGD" -> :class:`Run` of the settings shown), ``problems`` (dataset key ->
    :class:`LeastSquares`) and ``image`` (the PNG widget, or None under ipympl).
    """

    layout_controls = ("dataset",)

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
        super().__init__(interactive)
        controls: dict[str, widgets.ValueWidget] = {
            "lr": self._log_slider("lr", lr, LR_RANGE, "learning rate η"),
            "batch_size": self._int_slider("batch_size", batch_size, (1, N_EXAMPLES), "batch size"),
            "momentum": widgets.FloatSlider(
                value=_check_range(momentum, "momentum", 0.0, MAX_MOMENTUM),
                min=0.0,
                max=MAX_MOMENTUM,
                step=0.01,
                **self._slider_options("momentum β"),
            ),
            "epochs": self._int_slider("epochs", epochs, (1, MAX_EPOCHS), "epochs"),
            "dataset": self._dropdown(
                "dataset", dataset, {key: label for key, (label, _) in DATASETS.items()}, "dataset"
            ),
        }
        self.seed = _check_seed(seed)
        self.problems = {key: build(self.seed) for key, (_, build) in DATASETS.items()}
        self.runs: dict[str, Run] = {}
        figure, display = self._figure((11.0, 3.4))
        self.view = plots.explorer_view(figure, MAX_EPOCHS, MAX_EPOCHS * N_EXAMPLES)
        self._start(controls, [["lr", "batch_size", "dataset"], ["momentum", "epochs"]], display)

    @property
    def problem(self) -> LeastSquares:
        """The dataset currently selected."""
        return self.problems[self.controls["dataset"].value]

    def _show_layout(self) -> None:
        """The contours, θ_0 and θ* of the selected dataset."""
        p = self.problem
        loss_min, loss_start = float(p.loss(p.minimum)), float(p.loss(p.theta0))
        plots.show_surface(self.view, p.grid, p.theta0, p.minimum, loss_min, loss_start, p.labels)

    def compute(self) -> dict[str, Run]:
        """The GD and SGD runs for the current settings (nothing is drawn).

        The shuffling generator is re-seeded from ``seed`` each time: the same settings always
        give the same runs, hence the same picture.
        """
        c = self._settings()
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


def learning_rate_explorer(**settings: object) -> LearningRateExplorer:
    """The explorer widget (display it as a notebook cell's last value).

    Keyword arguments (all optional): dataset ("regression" or "quadratic"), lr in
    [1e-3, 10], batch_size in [1, 50], momentum in [0, 0.99], epochs in [1, 25], seed (int,
    fixes the data and the shuffling), interactive (None: ipympl canvas under
    ``%matplotlib widget``, else PNG images).
    """
    return LearningRateExplorer(**settings)


# -- The initialization explorer ---------------------------------------------------------------

#: Weight initializers of the initialization explorer: key -> label of the dropdown.
SCHEMES = {
    "zeros": "zeros",
    "constant": "constant c",
    "normal": "normal N(0, σ²)",
    "glorot": "Glorot uniform",
    "he": "He normal",
}


class ActivationChoice(NamedTuple):
    """A hidden activation of the initialization explorer: its name in the dropdown, its box,
    the range of its histograms (values beyond it are counted in the last bin) and the
    histograms' axis label."""

    label: str
    box: type[layers.Activation]
    value_range: tuple[float, float]
    axis_label: str


ACTIVATIONS = {
    "tanh": ActivationChoice("tanh", layers.Tanh, (-1.0, 1.0), "$h$ = tanh($a$)"),
    "sigmoid": ActivationChoice("sigmoid", layers.Sigmoid, (0.0, 1.0), "$h$ = sigmoid($a$)"),
    "relu": ActivationChoice(
        "ReLU", layers.ReLU, (0.0, 4.0), "$h$ = ReLU($a$); values above 4 in the last bin"
    ),
}
MAX_DEPTH = 20
WIDTH_RANGE = (10, 300)
#: Range of the slider that sets σ of "normal" and c of "constant".
SCALE_RANGE = (1e-3, 10.0)
PROBE_EXAMPLES = 256
PROBE_CLASSES = 10
HISTOGRAM_BINS = 40


def initializer(scheme: str, scale: float = 1.0) -> init.Initializer:
    """The initializer of ``scheme`` (a key of :data:`SCHEMES`): ``scale`` is the value c of
    "constant" and the standard deviation σ of "normal", and is ignored by the others."""
    scheme = _check_choice(scheme, "scheme", SCHEMES)
    if scheme == "constant":
        return init.constant(scale)
    if scheme == "normal":
        return init.normal(scale)
    return {"zeros": init.zeros, "glorot": init.glorot_uniform, "he": init.he_normal}[scheme]


@dataclass
class Probe:
    """One forward and backward pass of a freshly initialized network on a batch.

    activations: h^(1), ..., h^(L), each (N, H); stds: (L,) the standard deviation of each
    h^(k) over examples and units; grad_norms: (L + 1,), ‖∇_{W^(k)} L‖_F for k = 1..L+1 (the
    last one is the output layer's), L the mean softmax cross-entropy; NaN when the forward pass
    overflowed. net: the network probed, its parameters and gradients as they were.
    """

    activations: list[np.ndarray]
    stds: np.ndarray
    grad_norms: np.ndarray
    net: layers.Sequential


def probe_network(
    init_weights: init.Initializer,
    depth: int,
    activation: str,
    X: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator | int | None,
) -> Probe:
    """Forward and backward through a fresh network of ``chainrule.layers`` boxes.

    The network has ``depth`` = L hidden layers of width H = D (X is (N, D)), each
    Linear(H, H) then the ``activation`` box (a key of :data:`ACTIVATIONS`), and a Linear output
    layer with C = max(y) + 1 classes; every W^(k) is drawn by ``init_weights`` from ``rng``
    (biases are 0). Forward on X, mean softmax cross-entropy with labels y (N,), then backward: the
    δ recursion δ^(k) = (W^(k+1)ᵀ δ^(k+1)) ⊙ g'(a^(k)) runs through the boxes' ``bprop``.
    """
    depth = positive_int(depth, "depth")
    box = ACTIVATIONS[_check_choice(activation, "activation", ACTIVATIONS)].box
    X = as_float_array(X, "X", ndim=2)
    rng = as_rng(rng)
    width, classes = X.shape[1], int(np.max(y)) + 1
    modules: list[layers.Module] = []
    for _ in range(depth):
        modules += [layers.Linear(width, width, init=init_weights, rng=rng), box()]
    net = layers.Sequential([*modules, layers.Linear(width, classes, init=init_weights, rng=rng)])
    loss = layers.SoftmaxCrossEntropy()
    activations = []
    h = X
    with np.errstate(all="ignore"):
        for module in net.modules:
            h = module.fprop(h)
            if isinstance(module, layers.Activation):
                activations.append(h)
        stds = np.array([np.std(a) for a in activations])
        if not np.all(np.isfinite(h)):  # overflow (far beyond the explorer's ranges): no loss
            return Probe(activations, stds, np.full(depth + 1, np.nan), net)
        loss.fprop(h, y)
        net.bprop(loss.bprop())
        norms = [np.linalg.norm(g) for name, g in net.grads.items() if name.endswith(".W")]
    return Probe(activations, stds, np.array(norms), net)


def describe(probe: Probe) -> str:
    """What the log-scale panel cannot show: exact zeros, values beyond its range, overflow,
    and units that are all identical (the symmetry of a constant initialization)."""
    norms, stds = probe.grad_norms, probe.stds
    notes = []
    zeros = [
        f"{what} in {np.count_nonzero(values == 0)} of {len(values)} layers"
        for what, values in (("‖∇W‖", norms), ("std h", stds))
        if np.any(values == 0)
    ]
    if zeros:
        notes.append("exactly 0: " + ", ".join(zeros))
    values = np.concatenate([norms, stds])
    finite = values[np.isfinite(values)]
    low, high = plots.LAYER_RANGE
    off_scale = np.count_nonzero((finite > 0) & (finite < low)) + np.count_nonzero(finite > high)
    if off_scale:
        notes.append(f"{off_scale} values beyond [{low:.0e}, {high:.0e}] drawn at the edge")
    if finite.size < values.size:
        notes.append("overflow: inf or NaN, drawn at the top")
    width = probe.activations[0].shape[1]
    with np.errstate(invalid="ignore"):  # inf - inf after an overflow: not equal units
        symmetric = all(np.ptp(h, axis=1).max() == 0 for h in probe.activations)
    if width > 1 and symmetric:
        notes.append("the units of each layer are all equal: symmetry is never broken")
    return "\n".join(notes)


class InitExplorer(FigureExplorer):
    """Controls for the initializer, σ (or c), depth, width and activation above two panels:
    the histogram of every hidden layer's activations, and per layer the spread of h^(k) and
    the gradient norm ‖∇_{W^(k)} L‖_F, for one forward and backward pass on a fixed batch of
    :data:`PROBE_EXAMPLES` inputs x ~ N(0, I) with random labels among :data:`PROBE_CLASSES`.

    Attributes for code and tests: ``controls`` (dict of the control widgets, keys "scheme",
    "scale", "depth", "width", "activation"; set ``.value`` to drive the explorer), ``view``
    (:class:`chainrule.plots.InitView`), ``probe`` (the :class:`Probe` shown), ``X`` and ``y``
    (the batch: the first ``width`` columns of X are the inputs) and ``image`` (the PNG widget,
    or None under ipympl).
    """

    layout_controls = ("depth", "activation")

    def __init__(
        self,
        *,
        scheme: str = "glorot",
        scale: float = 1.0,
        depth: int = 10,
        width: int = 100,
        activation: str = "tanh",
        seed: int = 0,
        interactive: bool | None = None,
    ) -> None:
        super().__init__(interactive)
        controls: dict[str, widgets.ValueWidget] = {
            "scheme": self._dropdown("scheme", scheme, SCHEMES, "initializer"),
            "scale": self._log_slider("scale", scale, SCALE_RANGE, "σ or c"),
            "depth": self._int_slider("depth", depth, (1, MAX_DEPTH), "hidden layers L"),
            "width": self._int_slider("width", width, WIDTH_RANGE, "width H", step=10),
            "activation": self._dropdown(
                "activation",
                activation,
                {key: choice.label for key, choice in ACTIVATIONS.items()},
                "activation",
            ),
        }
        self.seed = _check_seed(seed)
        data_seed, self._weight_seed = np.random.SeedSequence(self.seed).spawn(2)
        rng = np.random.default_rng(data_seed)
        self.X = rng.standard_normal((PROBE_EXAMPLES, WIDTH_RANGE[1]))
        self.y = rng.integers(0, PROBE_CLASSES, size=PROBE_EXAMPLES)
        figure, display = self._figure((11.0, 3.8))
        figure.subplots_adjust(left=0.06, right=0.99, bottom=0.15, top=0.91, wspace=0.18)
        self.view = plots.init_view(*figure.subplots(1, 2), MAX_DEPTH)
        self._start(controls, [["scheme", "scale", "activation"], ["depth", "width"]], display)

    def _show_layout(self) -> None:
        choice = ACTIVATIONS[self.controls["activation"].value]
        plots.show_layout(
            self.view, self.controls["depth"].value, choice.value_range, choice.axis_label
        )

    def compute(self) -> Probe:
        """The probe of the current settings (nothing is drawn). The weights are drawn from a
        generator re-seeded from ``seed`` each time: the same settings give the same picture.

        The matrix products are small (256 examples, at most 300 units), so BLAS runs them on
        one thread: with its thread pool they take 2 to 5 times longer, far more on a busy
        machine (``python -m benchmarks widgets``).
        """
        c = self._settings()
        with threadpool_limits(limits=1, user_api="blas"):
            return probe_network(
                initializer(c["scheme"], c["scale"]),
                c["depth"],
                c["activation"],
                self.X[:, : c["width"]],
                self.y,
                np.random.default_rng(self._weight_seed),
            )

    def refresh(self) -> None:
        """Recompute the probe, put it into the artists and redraw."""
        c = self.controls
        c["scale"].disabled = c["scheme"].value not in ("normal", "constant")
        self.probe = self.compute()
        value_range = ACTIVATIONS[c["activation"].value].value_range
        counts = plots.layer_histograms(self.probe.activations, value_range, HISTOGRAM_BINS)
        centers = plots.bin_centers(value_range, HISTOGRAM_BINS)
        plots.show_layers(self.view, centers, counts, self.probe.stds, self.probe.grad_norms)
        self.view.status.set_text(describe(self.probe))
        self.render()


def init_explorer(**settings: object) -> InitExplorer:
    """The initialization explorer widget (display it as a notebook cell's last value).

    Keyword arguments (all optional): scheme (a key of :data:`SCHEMES`: "zeros", "constant",
    "normal", "glorot", "he"), scale (c of "constant", σ of "normal", in [1e-3, 10]), depth
    (hidden layers, 1 to 20), width (units per layer, 10 to 300), activation ("tanh",
    "sigmoid", "relu"), seed (int: fixes the batch and the weights), interactive (None: ipympl
    canvas under ``%matplotlib widget``, else PNG images).
    """
    return InitExplorer(**settings)
