"""Time of one update of each explorer on Agg, over 50 random settings.

Learning-rate explorer: for each setting the dataset, batch size, momentum and epochs are set
first (not timed); then the learning-rate slider is moved and three figures are taken:

- ``slider update``: what the notebook user waits for with the default backend: both runs
  recomputed with chainrule.optim, artists updated, runs blitted over the stored background
  and encoded to the PNG the widget shows;
- ``compute``: the two runs (GD and SGD) alone;
- ``compute + full draw``: compute plus a complete ``fig.canvas.draw()``, the redraw that
  ``draw_idle`` does under ``%matplotlib widget``.

Initialization explorer, at depth 10, width 100 and 256 examples: for each setting the
activation and σ (or c) are set first (not timed), then the initializer is changed:

- ``update``: forward and backward through chainrule.layers, histograms, artists updated,
  blitted and encoded to PNG;
- ``compute``: the forward and backward pass alone;
- ``depth change``: moving the depth slider 10 -> 11, which changes the axes and so draws the
  whole figure once (not a per-frame cost: the other controls blit again afterwards).

Targets: median under 50 ms and 95th percentile under 100 ms. Figures are printed, never
asserted: they depend on the machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from chainrule.least_squares import N_EXAMPLES  # noqa: E402
from chainrule.widgets import initialization, learning_rate  # noqa: E402

SETTINGS = 50
TARGETS_MS = {"median": 50.0, "p95": 100.0}


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return 1e3 * (time.perf_counter() - start)


def _report(title: str, times: dict[str, list[float]]) -> None:
    """Print median and 95th percentile of each figure, and whether they meet the targets."""
    header = f"{'figure (ms)':<22}{'median':>9}{'p95':>9}   target: median < 50, p95 < 100"
    print(title)
    print(header)
    print("-" * len(header))
    for name, values in times.items():
        median, p95 = np.median(values), np.percentile(values, 95)
        met = median < TARGETS_MS["median"] and p95 < TARGETS_MS["p95"]
        print(f"{name:<22}{median:>9.1f}{p95:>9.1f}   {'met' if met else 'not met'}")


def learning_rate_explorer(rng: np.random.Generator) -> None:
    explorer = learning_rate.learning_rate_explorer(seed=0)
    controls = explorer.controls
    figure = explorer.view.figure
    times: dict[str, list[float]] = {"slider update": [], "compute": [], "compute + full draw": []}
    for _ in range(SETTINGS):
        controls["dataset"].value = str(rng.choice(sorted(learning_rate.DATASETS)))
        controls["batch_size"].value = int(rng.integers(1, N_EXAMPLES + 1))
        controls["momentum"].value = float(rng.choice([0.0, 0.5, 0.9, 0.99]))
        controls["epochs"].value = int(rng.integers(1, learning_rate.MAX_EPOCHS + 1))
        lr = float(10 ** rng.uniform(*np.log10(learning_rate.LR_RANGE)))
        times["slider update"].append(_timed(lambda lr=lr: setattr(controls["lr"], "value", lr)))
        compute = _timed(explorer.compute)
        times["compute"].append(compute)
        times["compute + full draw"].append(compute + _timed(figure.canvas.draw))
    _report(f"learning-rate explorer: {SETTINGS} random settings, one update each", times)


def init_explorer(rng: np.random.Generator) -> None:
    explorer = initialization.init_explorer(depth=10, width=100, seed=0)
    controls = explorer.controls
    times: dict[str, list[float]] = {"update": [], "compute": [], "depth change": []}
    for _ in range(SETTINGS):
        controls["activation"].value = str(rng.choice(sorted(initialization.ACTIVATIONS)))
        controls["scale"].value = float(10 ** rng.uniform(*np.log10(initialization.SCALE_RANGE)))
        scheme = str(
            rng.choice([s for s in initialization.SCHEMES if s != controls["scheme"].value])
        )
        times["update"].append(_timed(lambda s=scheme: setattr(controls["scheme"], "value", s)))
        times["compute"].append(_timed(explorer.compute))
        times["depth change"].append(_timed(lambda: setattr(controls["depth"], "value", 11)))
        controls["depth"].value = 10
    title = (
        f"initialization explorer: depth 10, width 100, {initialization.PROBE_EXAMPLES} examples, "
        f"{SETTINGS} random settings"
    )
    _report(title, times)


def run() -> None:
    """Print median and 95th percentile (ms) of each figure of both explorers (Agg backend)."""
    rng = np.random.default_rng(0)
    learning_rate_explorer(rng)
    print()
    init_explorer(rng)
