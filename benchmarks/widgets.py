"""Time of one learning-rate explorer update on Agg, over 50 random settings.

For each setting the dataset, batch size, momentum and epochs are set first (not timed); then
the learning-rate slider is moved and three figures are taken:

- ``slider update``: what the notebook user waits for with the default backend: both runs
  recomputed with chainrule.optim, artists updated, runs blitted over the stored background
  and encoded to the PNG the widget shows;
- ``compute``: the two runs (GD and SGD) alone;
- ``compute + full draw``: compute plus a complete ``fig.canvas.draw()``, the redraw that
  ``draw_idle`` does under ``%matplotlib widget``.

Targets: median under 50 ms and 95th percentile under 100 ms. Figures are printed, never
asserted: they depend on the machine.
"""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from chainrule import widgets  # noqa: E402

SETTINGS = 50
TARGETS_MS = {"median": 50.0, "p95": 100.0}


def _timed(action) -> float:
    start = time.perf_counter()
    action()
    return 1e3 * (time.perf_counter() - start)


def run() -> None:
    """Print median and 95th percentile (ms) of each figure over SETTINGS random settings."""
    rng = np.random.default_rng(0)
    explorer = widgets.learning_rate_explorer(seed=0)
    controls = explorer.controls
    figure = explorer.view.figure
    times: dict[str, list[float]] = {"slider update": [], "compute": [], "compute + full draw": []}
    for _ in range(SETTINGS):
        controls["dataset"].value = str(rng.choice(sorted(widgets.DATASETS)))
        controls["batch_size"].value = int(rng.integers(1, widgets.N_EXAMPLES + 1))
        controls["momentum"].value = float(rng.choice([0.0, 0.5, 0.9, 0.99]))
        controls["epochs"].value = int(rng.integers(1, widgets.MAX_EPOCHS + 1))
        lr = float(10 ** rng.uniform(*np.log10(widgets.LR_RANGE)))
        times["slider update"].append(_timed(lambda lr=lr: setattr(controls["lr"], "value", lr)))
        compute = _timed(explorer.compute)
        times["compute"].append(compute)
        times["compute + full draw"].append(compute + _timed(figure.canvas.draw))
    header = f"{'figure (ms)':<22}{'median':>9}{'p95':>9}   target: median < 50, p95 < 100"
    print(f"{SETTINGS} random settings, one update each, Agg backend")
    print(header)
    print("-" * len(header))
    for name, values in times.items():
        median, p95 = np.median(values), np.percentile(values, 95)
        met = median < TARGETS_MS["median"] and p95 < TARGETS_MS["p95"]
        print(f"{name:<22}{median:>9.1f}{p95:>9.1f}   {'met' if met else 'not met'}")
