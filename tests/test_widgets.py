"""The learning-rate explorer driven from code: every control changes the plotted data, extreme
settings never crash or draw NaN, and the same settings draw the same data.

Assertions are on the artists' data (``Line2D.get_xydata``), never on pixels.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from chainrule import plots  # noqa: E402
from chainrule.least_squares import N_EXAMPLES, PROBLEMS  # noqa: E402
from chainrule.runs import DIVERGENCE_FACTOR  # noqa: E402
from chainrule.widgets import init_explorer  # noqa: E402
from chainrule.widgets.explorer import FigureExplorer  # noqa: E402
from chainrule.widgets.learning_rate import (  # noqa: E402
    DATASETS,
    LR_RANGE,
    MAX_EPOCHS,
    LearningRateExplorer,
    learning_rate_explorer,
)


def line_data(explorer: LearningRateExplorer) -> dict[str, np.ndarray]:
    """The data of every run line, keyed "paths/GD", "by_epoch/SGD", ..."""
    view = explorer.view
    groups = {"paths": view.paths, "by_epoch": view.by_epoch, "by_update": view.by_update}
    return {
        f"{group}/{name}": np.asarray(line.get_xydata(), dtype=float).copy()
        for group, lines in groups.items()
        for name, line in lines.items()
    }


def assert_all_finite(explorer: LearningRateExplorer) -> None:
    for key, xy in line_data(explorer).items():
        assert np.all(np.isfinite(xy)), f"{key} draws a non-finite value"


@pytest.fixture
def explorer() -> LearningRateExplorer:
    return learning_rate_explorer(lr=0.1, batch_size=5, momentum=0.0, epochs=6, seed=3)


@pytest.mark.parametrize(
    ("control", "value"),
    [("lr", 0.02), ("batch_size", 17), ("momentum", 0.8), ("epochs", 9), ("dataset", "quadratic")],
)
def test_each_control_changes_the_plotted_data(explorer, control, value):
    before = line_data(explorer)
    image_before = explorer.image.value
    explorer.controls[control].value = value
    after = line_data(explorer)
    changed = [
        key
        for key in before
        if before[key].shape != after[key].shape or not np.array_equal(before[key], after[key])
    ]
    assert "paths/SGD" in changed and "by_update/SGD" in changed, changed
    assert explorer.image.value != image_before  # the PNG shown in the notebook was re-rendered


def test_epochs_and_batch_size_set_the_number_of_points(explorer):
    explorer.controls["epochs"].value = 7
    explorer.controls["batch_size"].value = 8
    view = explorer.view
    per_epoch = math.ceil(N_EXAMPLES / 8)
    for name in ("GD", "SGD"):
        assert len(view.by_epoch[name].get_xdata()) == 7 + 1  # epoch 0 is the start
    assert len(view.paths["GD"].get_xdata()) == 7 + 1  # GD: one update per epoch
    assert len(view.paths["SGD"].get_xdata()) == 7 * per_epoch + 1
    assert len(view.by_update["SGD"].get_xdata()) == 7 * per_epoch
    assert explorer.runs["SGD"].updates_per_epoch == per_epoch


def test_dataset_replaces_the_contours_and_start(explorer):
    contours = explorer.view.contours
    start = explorer.view.start.get_xydata().copy()
    explorer.controls["dataset"].value = "quadratic"
    assert explorer.view.contours is not contours
    assert contours not in explorer.view.contour_ax.get_children()  # removed, not stacked
    problem = explorer.problems["quadratic"]
    np.testing.assert_array_equal(explorer.view.start.get_xydata()[0], problem.theta0)
    assert not np.array_equal(start, explorer.view.start.get_xydata())
    np.testing.assert_array_equal(explorer.view.paths["GD"].get_xydata()[0], problem.theta0)


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_largest_learning_rate_shows_diverged_and_draws_no_nan(dataset):
    explorer = learning_rate_explorer(dataset=dataset, seed=1)
    explorer.controls["momentum"].value = 0.99
    explorer.controls["epochs"].value = MAX_EPOCHS
    slider = explorer.controls["lr"]
    slider.value = slider.base**slider.max  # FloatLogSlider: min and max are exponents
    assert slider.value == pytest.approx(LR_RANGE[1])
    assert "GD diverged" in explorer.view.status.get_text()
    assert "SGD diverged" in explorer.view.status.get_text()
    for run in explorer.runs.values():
        assert run.diverged_at is not None
        assert np.all(run.losses <= DIVERGENCE_FACTOR * run.losses[0])
    assert_all_finite(explorer)
    explorer.view.figure.canvas.draw()  # a full draw of the diverged state does not raise


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("batch_size", [1, N_EXAMPLES])
def test_extreme_batch_sizes(dataset, batch_size):
    explorer = learning_rate_explorer(dataset=dataset, lr=0.05, seed=2)
    explorer.controls["epochs"].value = MAX_EPOCHS
    explorer.controls["batch_size"].value = batch_size
    sgd = explorer.runs["SGD"]
    assert sgd.updates_per_epoch == math.ceil(N_EXAMPLES / batch_size)
    assert len(sgd.path) == MAX_EPOCHS * sgd.updates_per_epoch + 1
    assert explorer.view.status.get_text() == ""
    assert_all_finite(explorer)
    if batch_size == N_EXAMPLES:  # SGD with one batch of everything is GD
        np.testing.assert_allclose(sgd.path, explorer.runs["GD"].path, rtol=1e-12)


def test_moderate_divergence_is_reported_per_optimizer():
    # At η = 1.8 GD is stable (η < 2/λ_max), while an update on one example multiplies the
    # error along φ by 1 - η(x² + 1), beyond -1 whenever x² > 1/9: single-example SGD blows up.
    explorer = learning_rate_explorer(lr=1.8, batch_size=1, epochs=25, seed=0)
    hessian = explorer.problem.features.T @ explorer.problem.features / N_EXAMPLES
    assert 1.8 < 2 / np.linalg.eigvalsh(hessian).max()
    assert explorer.runs["GD"].diverged_at is None
    assert explorer.runs["SGD"].diverged_at is not None
    assert explorer.view.status.get_text().startswith("SGD diverged")
    assert_all_finite(explorer)


def test_same_settings_draw_the_same_data(explorer):
    first = line_data(explorer)
    twin = learning_rate_explorer(lr=0.1, batch_size=5, momentum=0.0, epochs=6, seed=3)
    explorer.controls["lr"].value = 0.5
    explorer.controls["batch_size"].value = 2
    explorer.controls["lr"].value = 0.1
    explorer.controls["batch_size"].value = 5
    for data in (line_data(twin), line_data(explorer)):
        assert data.keys() == first.keys()
        for key in first:
            np.testing.assert_array_equal(data[key], first[key], err_msg=key)
    other_seed = learning_rate_explorer(lr=0.1, batch_size=5, momentum=0.0, epochs=6, seed=4)
    assert not np.array_equal(line_data(other_seed)["paths/SGD"], first["paths/SGD"])


def test_the_dropdown_offers_every_problem(explorer):
    assert DATASETS.keys() == PROBLEMS.keys() == explorer.problems.keys()
    for key, problem in explorer.problems.items():
        np.testing.assert_array_equal(problem.features, PROBLEMS[key](3).features)  # seed 3


def test_show_run_never_draws_non_finite_rows(explorer):
    path = np.array([[0.0, 1.0], [0.5, 0.5], [np.inf, 2.0], [np.nan, np.nan]])
    losses = np.array([2.0, 1.0, np.inf, np.nan])
    plots.show_run(explorer.view, "SGD", path, losses, updates_per_epoch=1)
    np.testing.assert_array_equal(explorer.view.paths["SGD"].get_xydata(), path[:2])
    np.testing.assert_array_equal(explorer.view.by_update["SGD"].get_xydata(), [[1.0, 1.0]])


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"lr": 100.0}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": N_EXAMPLES + 1}, "batch_size"),
        ({"momentum": 1.0}, "momentum"),
        ({"epochs": 1000}, "epochs"),
        ({"dataset": "mnist"}, "dataset"),
        ({"seed": -1}, "seed"),
        ({"interactive": True}, "interactive"),
    ],
)
def test_bad_settings_name_the_argument(settings, name):
    with pytest.raises(ValueError, match=name if name != "interactive" else "ipympl"):
        learning_rate_explorer(**settings)


def test_the_explorer_is_one_widget_with_the_figure_inside(explorer):
    import ipywidgets

    assert isinstance(explorer, ipywidgets.VBox)
    assert explorer.image in explorer.children
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    width, height = explorer.view.figure.canvas.get_width_height()
    assert (width, height) == (int(11 * 90), int(3.4 * 90))


def test_plot_paths_draws_each_finite_prefix_over_the_contours():
    from matplotlib.figure import Figure

    ax = Figure().subplots()

    def bowl(thetas: np.ndarray) -> np.ndarray:
        return 0.5 * np.sum(np.asarray(thetas) ** 2, axis=-1)

    paths = {"GD": np.array([[2.0, 1.0], [1.0, 0.5], [np.nan, 0.0]]), "other": np.zeros((1, 2))}
    plots.plot_paths(ax, bowl, paths, (-3.0, 3.0, -2.0, 2.0), minimum=(0.0, 0.0))
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["GD"].get_xydata(), paths["GD"][:2])
    assert lines["GD"].get_color() == plots.COLORS["GD"]
    np.testing.assert_array_equal(lines["minimum"].get_xydata(), [[0.0, 0.0]])
    assert ax.get_xlim() == (-3.0, 3.0) and ax.get_ylim() == (-2.0, 2.0)
    levels = plots.contour_levels(1.0, 5.0)
    assert levels[0] == pytest.approx(1.0 + 4e-3) and levels[-1] == pytest.approx(17.0)
    assert np.all(np.diff(levels) > 0)


def test_under_ipympl_the_canvas_is_the_widget_and_redraws_in_place():
    # ipympl is a requirement; it is imported only in the subprocess, as importing it here would
    # switch this process's matplotlib backend for every later test.
    script = """
import numpy as np
from chainrule.widgets import learning_rate_explorer
explorer = learning_rate_explorer()
canvas = explorer.view.figure.canvas
assert type(canvas).__module__.startswith("ipympl"), type(canvas)
assert explorer.image is None and explorer.children[-1] is canvas
before = explorer.view.paths["SGD"].get_xydata().copy()
explorer.controls["lr"].value = 0.5
assert explorer.view.figure.canvas is canvas  # the same figure, updated in place
assert not np.array_equal(before, explorer.view.paths["SGD"].get_xydata())
"""
    env = {**os.environ, "MPLBACKEND": "module://ipympl.backend_nbagg"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def slider_updates(explorer: FigureExplorer) -> list[bool]:
    """``continuous_update`` of every slider of an explorer (its dropdowns have none)."""
    controls = explorer.controls.values()
    return [c.continuous_update for c in controls if hasattr(c, "continuous_update")]


@pytest.mark.parametrize("make", [learning_rate_explorer, init_explorer])
def test_with_png_images_the_sliders_report_only_when_released(make):
    # Each change renders and sends a PNG: a slider reporting while dragged would queue one per
    # position (under ipympl, draw_idle skips the frames it cannot keep up with).
    updates = slider_updates(make())
    assert len(updates) >= 3 and not any(updates), updates


def test_under_ipympl_the_sliders_report_while_dragged():
    script = """
from chainrule import widgets
for make in (widgets.learning_rate_explorer, widgets.init_explorer):
    explorer = make()
    controls = explorer.controls.values()
    updates = [c.continuous_update for c in controls if hasattr(c, "continuous_update")]
    assert explorer.image is None and len(updates) >= 3 and all(updates), updates
"""
    env = {**os.environ, "MPLBACKEND": "module://ipympl.backend_nbagg"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
