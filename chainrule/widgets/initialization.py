"""The initialization explorer of notebook 6: activations and gradients across the layers.

A network of L hidden layers of H units, its weights drawn by one of the initializers of
:mod:`chainrule.init`, takes one forward and one backward pass on a fixed batch
(:func:`chainrule.probe.probe_network`); the figure shows the histogram of every layer's
activations h^(k), and per layer their spread and the gradient norm ‖∇_{W^(k)} L‖_F.
"""

from __future__ import annotations

from typing import NamedTuple

import ipywidgets as widgets
import numpy as np
from threadpoolctl import threadpool_limits

from chainrule import init, layers, plots
from chainrule.probe import Probe, probe_network
from chainrule.widgets.explorer import FigureExplorer

#: The initializer dropdown: key of :func:`chainrule.init.by_name` -> its label.
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
    (:class:`chainrule.plots.InitView`), ``probe`` (the :class:`chainrule.probe.Probe` shown),
    ``X`` and ``y`` (the batch: the first ``width`` columns of X are the inputs) and ``image``
    (the PNG widget, or None under ipympl).
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
        super().__init__(interactive, seed)
        controls: dict[str, widgets.ValueWidget] = {
            "scheme": self._dropdown("scheme", scheme, SCHEMES, "initializer"),
            "scale": self._log_slider("scale", scale, SCALE_RANGE, "σ or c"),
            "depth": self._slider("depth", depth, (1, MAX_DEPTH), "hidden layers L"),
            "width": self._slider("width", width, WIDTH_RANGE, "width H", step=10),
            "activation": self._dropdown(
                "activation",
                activation,
                {key: choice.label for key, choice in ACTIVATIONS.items()},
                "activation",
            ),
        }
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
                init.by_name(c["scheme"], c["scale"]),
                c["depth"],
                ACTIVATIONS[c["activation"]].box,
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
