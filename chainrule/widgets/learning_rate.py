"""The learning-rate explorer of notebook 2: full-batch GD and minibatch SGD side by side.

Sliders set the learning rate η, the batch size of SGD, the momentum β (used by both) and the
number of epochs; a dropdown picks one of the least-squares problems of
:mod:`chainrule.least_squares`. Each change reruns both optimizers (:func:`chainrule.runs.run_sgd`;
GD is the run with one batch of all N examples) and draws their paths over the loss contours,
the loss after each epoch and the loss after each update.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from chainrule import plots
from chainrule.least_squares import N_EXAMPLES, PROBLEMS, LeastSquares
from chainrule.runs import Run, run_sgd
from chainrule.widgets.explorer import FigureExplorer

MAX_EPOCHS = 25
LR_RANGE = (1e-3, 10.0)
MAX_MOMENTUM = 0.99
#: The dataset dropdown: key of :data:`chainrule.least_squares.PROBLEMS` -> its label.
DATASETS = {
    "regression": "linear regression y = w x + b",
    "quadratic": "ill-conditioned quadratic",
}


class LearningRateExplorer(FigureExplorer):
    """Sliders for η, batch size, β, epochs and the dataset above the explorer's figure.

    Attributes for code and tests: ``controls`` (dict of the control widgets, keys "lr",
    "batch_size", "momentum", "epochs", "dataset"; set ``.value`` to drive the explorer),
    ``view`` (:class:`chainrule.plots.RunsView`: the figure and its artists), ``runs``
    (dict "GD"/"SGD" -> :class:`chainrule.runs.Run` of the settings shown), ``problems``
    (dataset key -> :class:`chainrule.least_squares.LeastSquares`) and ``image`` (the PNG
    widget, or None under ipympl).
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
        super().__init__(interactive, seed)
        controls: dict[str, widgets.ValueWidget] = {
            "lr": self._log_slider("lr", lr, LR_RANGE, "learning rate η"),
            "batch_size": self._slider("batch_size", batch_size, (1, N_EXAMPLES), "batch size"),
            "momentum": self._slider(
                "momentum", momentum, (0.0, MAX_MOMENTUM), "momentum β", step=0.01
            ),
            "epochs": self._slider("epochs", epochs, (1, MAX_EPOCHS), "epochs"),
            "dataset": self._dropdown("dataset", dataset, DATASETS, "dataset"),
        }
        self.problems = {key: PROBLEMS[key](self.seed) for key in DATASETS}
        #: The loss on a grid of each problem's extent, for its contours (computed once).
        self.grids = {key: plots.loss_grid(p.loss, p.extent) for key, p in self.problems.items()}
        self.runs: dict[str, Run] = {}
        figure, display = self._figure((11.0, 3.4))
        self.view = plots.runs_view(figure, MAX_EPOCHS, MAX_EPOCHS * N_EXAMPLES)
        self._start(controls, [["lr", "batch_size", "dataset"], ["momentum", "epochs"]], display)

    @property
    def problem(self) -> LeastSquares:
        """The dataset currently selected."""
        return self.problems[self.controls["dataset"].value]

    def _show_layout(self) -> None:
        """The contours, θ_0 and θ* of the selected dataset."""
        p = self.problem
        loss_min, loss_start = float(p.loss(p.minimum)), float(p.loss(p.theta0))
        grid = self.grids[self.controls["dataset"].value]
        plots.show_surface(self.view, grid, p.theta0, p.minimum, loss_min, loss_start, p.labels)

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
