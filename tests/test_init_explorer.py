"""The initialization explorer driven from code: every control changes the plotted data, the
numbers drawn are those of a forward and backward pass through chainrule.layers, extreme
settings never crash or draw NaN, and the same settings draw the same data.

Assertions are on the artists' data (``Line2D.get_xydata``), never on pixels.
"""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from chainrule import functional as F  # noqa: E402
from chainrule import init, layers, plots  # noqa: E402
from chainrule.probe import probe_network  # noqa: E402
from chainrule.widgets.initialization import (  # noqa: E402
    HISTOGRAM_BINS,
    MAX_DEPTH,
    PROBE_EXAMPLES,
    SCALE_RANGE,
    SCHEMES,
    WIDTH_RANGE,
    InitExplorer,
    describe,
    init_explorer,
)


def artist_data(explorer: InitExplorer) -> dict[str, np.ndarray]:
    """The data of every changing line, keyed "ridge 1", ..., "std", "grad"."""
    view = explorer.view
    lines = {f"ridge {k}": line for k, line in enumerate(view.ridges, start=1)}
    lines.update(std=view.std_line, grad=view.grad_line)
    return {key: np.asarray(line.get_xydata(), dtype=float).copy() for key, line in lines.items()}


def assert_all_finite(explorer: InitExplorer) -> None:
    for key, xy in artist_data(explorer).items():
        assert np.all(np.isfinite(xy)), f"{key} draws a non-finite value"


@pytest.fixture
def explorer() -> InitExplorer:
    return init_explorer(scheme="normal", scale=0.5, depth=4, width=30, seed=3)


@pytest.mark.parametrize(
    ("control", "value", "changed"),
    [
        ("scheme", "he", ["ridge 1", "std", "grad"]),
        ("scale", 0.05, ["ridge 1", "std", "grad"]),
        # Deeper: the first 4 layers draw the same weights from the same seed, then 2 more.
        ("depth", 6, ["ridge 5", "ridge 6", "std", "grad"]),
        ("width", 60, ["ridge 1", "std", "grad"]),
        ("activation", "relu", ["ridge 1", "std", "grad"]),
    ],
)
def test_each_control_changes_the_plotted_data(explorer, control, value, changed):
    before = artist_data(explorer)
    image_before = explorer.image.value
    explorer.controls[control].value = value
    after = artist_data(explorer)
    for key in changed:
        assert before[key].shape != after[key].shape or not np.array_equal(
            before[key], after[key]
        ), key
    assert explorer.image.value != image_before  # the PNG shown in the notebook was re-rendered


def test_the_figure_is_updated_in_place(explorer):
    view, figure = explorer.view, explorer.view.figure
    ridges = list(view.ridges)
    for control, value in [("depth", 12), ("activation", "sigmoid"), ("scheme", "zeros")]:
        explorer.controls[control].value = value
        assert explorer.view is view and view.figure is figure
        assert view.ridges == ridges and view.grad_line in view.layer_ax.get_lines()
    assert len(figure.axes) == 2


def test_depth_sets_the_number_of_ridges_and_points(explorer):
    for depth in (1, 7, MAX_DEPTH):
        explorer.controls["depth"].value = depth
        data = artist_data(explorer)
        drawn = [k for k in range(1, MAX_DEPTH + 1) if len(data[f"ridge {k}"])]
        assert drawn == list(range(1, depth + 1))
        np.testing.assert_array_equal(data["std"][:, 0], np.arange(1, depth + 1))
        np.testing.assert_array_equal(data["grad"][:, 0], np.arange(1, depth + 2))
        assert explorer.view.hist_ax.get_ylim() == (0.5, depth + 0.5)


def test_drawn_data_are_the_probe_of_chainrule_layers(explorer):
    explorer.controls["activation"].value = "sigmoid"
    probe = explorer.probe
    X = explorer.X[:, : explorer.controls["width"].value]
    # The activations are those of an independent forward pass with the probed net's weights.
    params = probe.net.params
    h = X
    for k, activation in enumerate(probe.activations):
        h = F.sigmoid(h @ params[f"{2 * k}.W"].T + params[f"{2 * k}.b"])
        np.testing.assert_allclose(activation, h, rtol=1e-12)
    assert np.all(params["0.b"] == 0)  # biases start at 0
    np.testing.assert_allclose(probe.stds, [np.std(a) for a in probe.activations], rtol=1e-12)
    data = artist_data(explorer)
    np.testing.assert_allclose(data["grad"][:, 1], plots.clip_to_layer_range(probe.grad_norms))
    np.testing.assert_allclose(data["std"][:, 1], probe.stds)
    counts = plots.layer_histograms(probe.activations, (0.0, 1.0), HISTOGRAM_BINS)
    centers = plots.bin_centers((0.0, 1.0), HISTOGRAM_BINS)
    for k in range(len(probe.activations)):
        ridge = data[f"ridge {k + 1}"]
        np.testing.assert_allclose(ridge[:, 0], centers)
        heights = (ridge[:, 1] - (k + 1 - plots.RIDGE_HEIGHT / 2)) / plots.RIDGE_HEIGHT
        np.testing.assert_allclose(heights, counts[k] / counts[k].max(), atol=1e-12)
        assert counts[k].sum() == h.size


@pytest.mark.parametrize(
    "settings",
    [
        {"scheme": "zeros", "activation": "tanh"},
        {"scheme": "zeros", "activation": "sigmoid"},
        {"scheme": "constant", "scale": SCALE_RANGE[1], "activation": "relu"},
        {"scheme": "normal", "scale": SCALE_RANGE[1], "activation": "relu"},
        {"scheme": "normal", "scale": SCALE_RANGE[0], "activation": "sigmoid"},
        {"scheme": "he", "activation": "tanh"},
    ],
)
def test_extreme_settings_neither_raise_nor_draw_nan(settings):
    explorer = init_explorer(depth=3, width=20, seed=1)
    for key, value in settings.items():
        explorer.controls[key].value = value
    explorer.controls["depth"].value = MAX_DEPTH
    explorer.controls["width"].value = WIDTH_RANGE[1]
    assert len(explorer.probe.activations) == MAX_DEPTH
    assert explorer.probe.activations[0].shape == (PROBE_EXAMPLES, WIDTH_RANGE[1])
    assert_all_finite(explorer)
    low, high = plots.LAYER_RANGE
    for key in ("std", "grad"):
        assert np.all(
            (artist_data(explorer)[key][:, 1] >= low) & (artist_data(explorer)[key][:, 1] <= high)
        )
    explorer.view.figure.canvas.draw()  # a full draw of the extreme state does not raise


def test_an_overflow_is_reported_not_raised():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 20)), rng.integers(0, 3, size=8)
    probe = probe_network(init.constant(1e20), 20, layers.ReLU, X, y, rng=0)
    assert "overflow" in describe(probe)
    np.testing.assert_array_equal(plots.clip_to_layer_range(probe.grad_norms), plots.LAYER_RANGE[1])


def test_zeros_and_constants_report_exact_zeros_and_symmetry():
    explorer = init_explorer(scheme="zeros", activation="tanh", depth=5, width=20)
    status = explorer.view.status.get_text()
    assert "‖∇W‖ in 6 of 6 layers" in status and "symmetry" in status
    assert np.all(explorer.probe.grad_norms == 0)  # W = 0 with tanh: a stationary point
    explorer.controls["activation"].value = "sigmoid"  # h = 1/2: only the output layer learns
    assert np.count_nonzero(explorer.probe.grad_norms) == 1 and explorer.probe.grad_norms[-1] > 0
    explorer.controls["scheme"].value = "constant"
    assert "symmetry" in explorer.view.status.get_text()
    for h in explorer.probe.activations:  # every unit of a layer computes the same value
        np.testing.assert_array_equal(h, np.repeat(h[:, :1], h.shape[1], axis=1))
    explorer.controls["scheme"].value = "glorot"
    assert explorer.view.status.get_text() == ""


def test_vanishing_and_exploding_show_in_the_gradient_norms():
    explorer = init_explorer(scheme="glorot", activation="sigmoid", depth=10, width=100)
    norms = explorer.probe.grad_norms
    assert norms[0] < 1e-4 * norms[-1]  # sigmoid: g' <= 1/4 per layer, the gradient vanishes
    explorer.controls["scheme"].value = "he"
    explorer.controls["activation"].value = "relu"
    norms = explorer.probe.grad_norms
    assert 0.1 < norms[0] / norms[-2] < 10  # He with ReLU keeps the scale
    explorer.controls["scheme"].value = "normal"
    explorer.controls["scale"].value = 1.0
    stds = explorer.probe.stds
    assert stds[-1] > 1e6 * stds[0]  # σ = 1 with 100 ReLU inputs: h grows ~7x per layer


def test_the_dropdown_offers_every_initializer_by_name(explorer):
    assert tuple(SCHEMES) == init.SCHEMES
    assert [label for label, _ in explorer.controls["scheme"].options] == list(SCHEMES.values())


def test_the_scale_slider_is_enabled_only_where_it_is_used(explorer):
    for scheme, enabled in [("zeros", False), ("glorot", False), ("he", False), ("constant", True)]:
        explorer.controls["scheme"].value = scheme
        assert explorer.controls["scale"].disabled is not enabled


def test_same_settings_draw_the_same_data(explorer):
    first = artist_data(explorer)
    twin = init_explorer(scheme="normal", scale=0.5, depth=4, width=30, seed=3)
    for control, value in [("scale", 2.0), ("width", 70), ("depth", 9), ("activation", "relu")]:
        explorer.controls[control].value = value
    for control, value in [("scale", 0.5), ("width", 30), ("depth", 4), ("activation", "tanh")]:
        explorer.controls[control].value = value
    for data in (artist_data(twin), artist_data(explorer)):
        for key in first:
            np.testing.assert_array_equal(data[key], first[key], err_msg=key)
    other_seed = init_explorer(scheme="normal", scale=0.5, depth=4, width=30, seed=4)
    assert not np.array_equal(artist_data(other_seed)["grad"], first["grad"])


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"scheme": "lecun"}, "scheme"),
        ({"scale": 0.0}, "scale"),
        ({"scale": 100.0}, "scale"),
        ({"depth": 0}, "depth"),
        ({"depth": MAX_DEPTH + 1}, "depth"),
        ({"width": 5}, "width"),
        ({"activation": "softplus"}, "activation"),
        ({"seed": -1}, "seed"),
        ({"interactive": True}, "ipympl"),
    ],
)
def test_bad_settings_name_the_argument(settings, name):
    with pytest.raises((ValueError, TypeError), match=name):
        init_explorer(**settings)


def test_the_explorer_is_one_widget_with_the_figure_inside(explorer):
    import ipywidgets

    assert isinstance(explorer, ipywidgets.VBox)
    assert explorer.image in explorer.children
    assert bytes(explorer.image.value).startswith(b"\x89PNG")


def test_layer_histograms_count_values_beyond_the_range_at_the_edges():
    h = np.array([[-5.0, 0.1, 0.6, np.nan], [0.95, 2.0, np.inf, 0.3]])
    counts = plots.layer_histograms([h, h[:1]], (0.0, 1.0), 4)
    # -5 and 0.1 in the first bin, 0.3 in the second, 0.6 in the third, 0.95 and 2 in the last.
    np.testing.assert_array_equal(counts, [[2, 1, 1, 2], [2, 0, 1, 0]])
    np.testing.assert_allclose(plots.bin_centers((0.0, 1.0), 4), [0.125, 0.375, 0.625, 0.875])
    np.testing.assert_array_equal(
        plots.clip_to_layer_range([0.0, 1.0, np.nan, np.inf, 1e30]),
        [plots.LAYER_RANGE[0], 1.0, *[plots.LAYER_RANGE[1]] * 3],
    )


def test_plot_layers_draws_the_static_picture():
    rng = np.random.default_rng(0)
    activations = [np.tanh(rng.standard_normal((50, 8))) for _ in range(3)]
    hist_ax, layer_ax = Figure().subplots(1, 2)
    view = plots.plot_layers(hist_ax, layer_ax, activations, [1.0, 0.0, 2.0, 3.0], (-1.0, 1.0))
    assert len(view.ridges) == 3 and all(len(r.get_xdata()) == 40 for r in view.ridges)
    np.testing.assert_array_equal(view.grad_line.get_ydata(), [1.0, plots.LAYER_RANGE[0], 2, 3])
    assert hist_ax.get_ylim() == (0.5, 3.5) and layer_ax.get_xlim() == (0.5, 4.5)


def test_under_ipympl_the_canvas_is_the_widget_and_redraws_in_place():
    # ipympl is a requirement; it is imported only in the subprocess, as importing it here would
    # switch this process's matplotlib backend for every later test.
    script = """
import numpy as np
from chainrule.widgets import init_explorer
explorer = init_explorer(depth=3, width=20)
canvas = explorer.view.figure.canvas
assert type(canvas).__module__.startswith("ipympl"), type(canvas)
assert explorer.image is None and explorer.children[-1] is canvas
before = explorer.view.grad_line.get_xydata().copy()
explorer.controls["scheme"].value = "he"
assert explorer.view.figure.canvas is canvas  # the same figure, updated in place
assert not np.array_equal(before, explorer.view.grad_line.get_xydata())
"""
    env = {**os.environ, "MPLBACKEND": "module://ipympl.backend_nbagg"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
