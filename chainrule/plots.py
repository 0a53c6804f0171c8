"""The pictures of the notebooks and of the explorers in :mod:`chainrule.widgets`.

- Optimization (notebook 2, learning-rate explorer): loss contours with optimization paths, and
  loss curves. A path is an array of parameter vectors θ_0, θ_1, ... of shape (T + 1, 2), row t
  being θ after t updates; a loss curve holds the training loss L(θ_t) of those rows.
- Initialization (notebook 6, initialization explorer): a histogram of every layer's
  activations h^(k), and per layer the spread of h^(k) and the gradient norm ‖∇_{W^(k)} L‖_F.

matplotlib is imported here and in :mod:`chainrule.widgets` only. Nothing here trains or
differentiates anything: the numbers come from the reference module (or the student's code) and
are only drawn. An explorer's figure is laid out once and its artists updated in place;
:func:`blit_figure` redraws only the artists that change.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.contour import QuadContourSet
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

#: Line colours of the two optimizers, the same in every picture.
COLORS = {"GD": "tab:orange", "SGD": "tab:blue"}


def loss_grid(
    loss: Callable[[np.ndarray], np.ndarray],
    extent: tuple[float, float, float, float],
    resolution: int = 80,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The loss on a regular grid of the plane θ = (θ_1, θ_2), for contour plots.

    loss: vectorized over rows, maps thetas (M, 2) to losses (M,); extent: (θ_1 min, θ_1 max,
    θ_2 min, θ_2 max). Returns (T1, T2, Z), each (resolution, resolution), Z = L(T1, T2).
    """
    t1, t2 = np.meshgrid(
        np.linspace(extent[0], extent[1], resolution), np.linspace(extent[2], extent[3], resolution)
    )
    values = np.asarray(loss(np.column_stack([t1.ravel(), t2.ravel()])), dtype=np.float64)
    return t1, t2, values.reshape(t1.shape)


def contour_levels(loss_min: float, loss_start: float, count: int = 12) -> np.ndarray:
    """Contour levels L* + (L(θ_0) - L*) · r with r geometric from 1e-3 to 4.

    Log-spaced above the minimum L*, so the narrow bottom of an ill-conditioned valley shows as
    well as the walls around the starting point θ_0.
    """
    gap = max(loss_start - loss_min, 1e-12)
    return loss_min + gap * np.geomspace(1e-3, 4.0, count)


def draw_contours(
    ax: Axes, grid: tuple[np.ndarray, np.ndarray, np.ndarray], levels: np.ndarray
) -> QuadContourSet:
    """Grey-blue contour lines of the loss grid from :func:`loss_grid` on ``ax``."""
    t1, t2, z = grid
    return ax.contour(t1, t2, z, levels=levels, cmap="Greys_r", linewidths=0.8, alpha=0.7)


def finite_prefix(values: np.ndarray) -> int:
    """Number of leading rows of ``values`` (T, ...) that hold only finite numbers.

    A diverged run is drawn up to its last finite point and never with a NaN or inf.
    """
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    bad = ~np.all(np.isfinite(values), axis=1)
    return int(np.argmax(bad)) if bad.any() else len(values)


def plot_paths(
    ax: Axes,
    loss: Callable[[np.ndarray], np.ndarray],
    paths: Mapping[str, np.ndarray],
    extent: tuple[float, float, float, float],
    *,
    minimum: Sequence[float] | None = None,
) -> None:
    """Contours of ``loss`` over ``extent`` with each path (T + 1, 2) drawn on top.

    The static picture of the notebooks (the explorer keeps its artists and updates them).
    Each path is drawn up to its last finite point; ``minimum`` marks θ* with a star.
    """
    grid = loss_grid(loss, extent)
    finite = grid[2][np.isfinite(grid[2])]
    start = float(loss(np.asarray(next(iter(paths.values())))[:1])[0]) if paths else finite.max()
    draw_contours(ax, grid, contour_levels(float(finite.min()), start))
    for label, path in paths.items():
        path = np.asarray(path, dtype=np.float64)
        path = path[: finite_prefix(path)]
        ax.plot(path[:, 0], path[:, 1], ".-", ms=3, lw=1, label=label, color=COLORS.get(label))
    if minimum is not None:
        ax.plot(*minimum, "k*", ms=10, label="minimum")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.legend(loc="best", fontsize="small")


def _empty_line(ax: Axes, fmt: str = "", **style: object) -> Line2D:
    """A line on ``ax`` with no data yet: an explorer's view fills it in place."""
    return ax.plot([], [], fmt, **style)[0]


def _status_text(ax: Axes, x: float, y: float, **style: object) -> Text:
    """An empty red note at (x, y) in axes coordinates, on a white box so that it reads over
    the lines below it: a view's ``status``."""
    return ax.text(
        x,
        y,
        "",
        transform=ax.transAxes,
        color="tab:red",
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 2},
        **style,
    )


def _fix_label_positions(axes: Sequence[Axes], ylabel_x: float) -> None:
    """Place the axis labels of ``axes`` at fixed positions (y label at ``ylabel_x`` in axes
    coordinates), so that a redraw never moves them to fit the tick labels."""
    for ax in axes:
        ax.xaxis.set_label_coords(0.5, -0.11)
        ax.yaxis.set_label_coords(ylabel_x, 0.5)


class BlitView(Protocol):
    """What :func:`blit_figure` needs of an explorer's view: the figure, the artists that change
    with every setting, and the stored rendering of everything else (None until drawn)."""

    figure: Figure
    background: object

    @property
    def changing_artists(self) -> list[Artist]: ...


@dataclass
class RunsView:
    """A picture of optimization runs (the learning-rate explorer's figure) and every artist
    that is updated in place.

    ``paths[name]``: the path of optimizer ``name`` ("GD" or "SGD") on the contour axes;
    ``by_epoch[name]``: its training loss after each epoch; ``by_update[name]``: its loss after
    each update. ``status`` reads "GD diverged ..." / "SGD diverged ..." when a run blew up, and
    is empty otherwise. ``contours`` is replaced when the dataset changes, and only then.
    ``background`` is the rendered figure without the changing artists (see
    :func:`blit_figure`).
    """

    figure: Figure
    contour_ax: Axes
    epoch_ax: Axes
    update_ax: Axes
    paths: dict[str, Line2D]
    by_epoch: dict[str, Line2D]
    by_update: dict[str, Line2D]
    start: Line2D
    minimum: Line2D
    floors: tuple[Line2D, Line2D]
    status: Text
    contours: QuadContourSet | None = None
    background: object = None

    @property
    def changing_artists(self) -> list[Artist]:
        """The artists that change with every setting: the six run lines and the status."""
        lines = [*self.paths.values(), *self.by_epoch.values(), *self.by_update.values()]
        return [*lines, self.status]


def runs_view(
    figure: Figure, max_epochs: int, max_updates: int, names: Sequence[str] = ("GD", "SGD")
) -> RunsView:
    """Lay out the runs on an empty ``figure``: contours | loss vs epoch | loss vs updates.

    The loss axes span 0..max_epochs epochs and 1..max_updates updates whatever the settings,
    so curves of different settings can be compared by eye and a redraw never moves the axes.
    Everything that would make a redraw re-measure text is fixed here: margins (no constrained
    layout), title and axis-label positions, and no minor ticks.
    """
    figure.subplots_adjust(left=0.06, right=0.99, bottom=0.16, top=0.9, wspace=0.3)
    axes = figure.subplots(1, 3)
    contour_ax, epoch_ax, update_ax = axes
    titles = ("loss contours and paths", "loss after each epoch", "loss after each update")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, fontsize="medium", y=1.0, pad=4)
    _fix_label_positions(axes, -0.13)
    for ax in (epoch_ax, update_ax):
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())
    update_ax.set_xscale("log")
    update_ax.xaxis.set_minor_locator(NullLocator())
    epoch_ax.set_xlim(-0.5, max_epochs + 0.5)
    update_ax.set_xlim(0.8, 1.25 * max_updates)
    epoch_ax.set_xlabel("epoch")
    update_ax.set_xlabel("number of updates")

    def run_lines(ax: Axes, **style: object) -> dict[str, Line2D]:
        """One empty line per optimizer on ``ax``, in its colour."""
        return {
            name: _empty_line(ax, color=COLORS.get(name), label=name, **style) for name in names
        }

    view = RunsView(
        figure=figure,
        contour_ax=contour_ax,
        epoch_ax=epoch_ax,
        update_ax=update_ax,
        paths=run_lines(contour_ax, marker=".", ms=3, lw=1),
        by_epoch=run_lines(epoch_ax, marker=".", ms=4, lw=1.2),
        by_update=run_lines(update_ax, lw=1.2),
        floors=tuple(ax.axhline(np.nan, color="k", ls=":", lw=0.8) for ax in (epoch_ax, update_ax)),
        start=_empty_line(contour_ax, "ko", ms=5, label="start"),
        minimum=_empty_line(contour_ax, "k*", ms=10, label="minimum"),
        status=_status_text(contour_ax, 0.02, 0.97, va="top", weight="bold"),
    )
    view.floors[0].set_label("minimum")
    epoch_ax.legend(loc="upper right", fontsize="small")
    return view


def show_surface(
    view: RunsView,
    grid: tuple[np.ndarray, np.ndarray, np.ndarray],
    theta0: np.ndarray,
    theta_star: np.ndarray,
    loss_min: float,
    loss_start: float,
    labels: tuple[str, str],
) -> None:
    """Replace the contours (a new dataset) and set everything else that depends on it only.

    The loss axes show [L*/2, 10 L(θ_0)]: a run whose loss rises leaves through the top.
    The stored background is dropped: the next :func:`blit_figure` draws the figure in full.
    """
    if view.contours is not None:
        view.contours.remove()
    view.contours = draw_contours(view.contour_ax, grid, contour_levels(loss_min, loss_start))
    t1, t2, _ = grid
    view.contour_ax.set_xlim(t1.min(), t1.max())
    view.contour_ax.set_ylim(t2.min(), t2.max())
    view.contour_ax.set_xlabel(labels[0])
    view.contour_ax.set_ylabel(labels[1])
    view.start.set_data([theta0[0]], [theta0[1]])
    view.minimum.set_data([theta_star[0]], [theta_star[1]])
    for floor in view.floors:
        floor.set_ydata([loss_min, loss_min])
    for ax in (view.epoch_ax, view.update_ax):
        ax.set_ylim(0.5 * loss_min, 10.0 * loss_start)
    view.background = None


def show_run(
    view: RunsView,
    name: str,
    path: np.ndarray,
    losses: np.ndarray,
    updates_per_epoch: int,
) -> None:
    """Put one optimizer's run into its three lines.

    path: (T + 1, 2) parameters after 0..T updates; losses: (T + 1,) their training loss;
    updates_per_epoch: ⌈N / batch size⌉, so the end of epoch e is row e · updates_per_epoch.
    Rows from the first non-finite one on are not drawn.
    """
    keep = min(finite_prefix(path), finite_prefix(losses))
    path, losses = path[:keep], losses[:keep]
    view.paths[name].set_data(path[:, 0], path[:, 1])
    epochs = np.arange(0, keep, updates_per_epoch)
    view.by_epoch[name].set_data(epochs // updates_per_epoch, losses[epochs])
    view.by_update[name].set_data(np.arange(1, keep), losses[1:])


def blit_figure(view: BlitView) -> np.ndarray:
    """Render the figure on its Agg canvas and return the pixels (H, W, 4) uint8 RGBA.

    Blitting: the figure without its changing artists is drawn in full once (after a change of
    dataset, depth or activation) and kept as ``view.background``; every later call restores it
    and draws only ``view.changing_artists`` on top, which costs a few milliseconds instead of a
    full draw. The picture is that of ``figure.canvas.draw()`` except that the changing artists
    are stacked on top of all the others.
    """
    canvas = view.figure.canvas
    if view.background is None:
        for artist in view.changing_artists:
            artist.set_visible(False)
        canvas.draw()
        view.background = canvas.copy_from_bbox(view.figure.bbox)
        for artist in view.changing_artists:
            artist.set_visible(True)
    canvas.restore_region(view.background)
    for artist in view.changing_artists:
        artist.axes.draw_artist(artist)
    return np.asarray(canvas.buffer_rgba())


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bytes(pixels: np.ndarray) -> bytes:
    """A PNG file of an opaque RGBA image (H, W, 4) uint8, such as :func:`blit_figure` returns.

    Written directly: 8-bit RGB (the alpha channel of an opaque figure carries nothing), no row
    filter, zlib level 1. On a plot's large flat areas this is about the size Pillow gets with
    its adaptive row filters, in a quarter of the time, which matters for an explorer that sends
    a new PNG after every change of a control.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] != 4 or pixels.dtype != np.uint8:
        raise ValueError(
            f"pixels must be an (H, W, 4) uint8 array, got {pixels.dtype} {pixels.shape}"
        )
    height, width, _ = pixels.shape
    rows = np.zeros((height, 1 + 3 * width), dtype=np.uint8)  # each row: filter type 0, RGB
    rows[:, 1:] = pixels[:, :, :3].reshape(height, 3 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
        + _png_chunk(b"IEND", b"")
    )


#: The per-layer panel of the initialization pictures spans these values; a value outside (a
#: vanished or exploded gradient, an exact 0, an overflow) is drawn on the nearest edge.
LAYER_RANGE = (1e-16, 1e16)
#: Height of the tallest bin of a layer's histogram, in rows of the histogram panel.
RIDGE_HEIGHT = 0.85


def layer_histograms(
    activations: Sequence[np.ndarray], value_range: tuple[float, float], bins: int
) -> np.ndarray:
    """Counts (L, bins) of each layer's activations h^(k) in ``bins`` equal bins of value_range.

    activations: L arrays of any shape (a batch (N, H_k) per layer). Values below or above the
    range are counted in the first or the last bin, so a layer whose activations exploded piles
    up at the right edge; NaN and inf are not counted.
    """
    low, high = value_range
    counts = np.zeros((len(activations), bins))
    for k, h in enumerate(activations):
        values = np.asarray(h, dtype=np.float64).ravel()
        values = np.clip(values[np.isfinite(values)], low, high)
        index = np.minimum(((values - low) * (bins / (high - low))).astype(np.intp), bins - 1)
        counts[k] = np.bincount(index, minlength=bins)
    return counts


def bin_centers(value_range: tuple[float, float], bins: int) -> np.ndarray:
    """Centres (bins,) of the equal bins of :func:`layer_histograms`."""
    edges = np.linspace(value_range[0], value_range[1], bins + 1)
    return 0.5 * (edges[:-1] + edges[1:])


def clip_to_layer_range(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """``values`` clipped into :data:`LAYER_RANGE` for the log-scale panel; NaN and +inf (an
    overflow) go to the top edge, so nothing non-finite is ever drawn."""
    values = np.asarray(values, dtype=np.float64)
    return np.clip(np.where(np.isnan(values), np.inf, values), *LAYER_RANGE)


@dataclass
class InitView:
    """The two panels of an initialization picture and every artist that is updated in place.

    ``ridges[k - 1]``: the histogram of layer k's activations h^(k), a step curve whose baseline
    is row k of ``hist_ax`` (layer 1 at the bottom); the ridges of layers beyond the depth are
    empty. ``std_line``: the standard deviation of h^(k), k = 1..L, and ``grad_line``:
    ‖∇_{W^(k)} L‖_F, k = 1..L+1, both on ``layer_ax`` (log scale, clipped to
    :data:`LAYER_RANGE`). ``status`` is the explorer's note on zeros, clipping and symmetry.
    ``background``: the rendered figure without those artists (see :func:`blit_figure`).
    """

    figure: Figure
    hist_ax: Axes
    layer_ax: Axes
    ridges: list[Line2D]
    baselines: LineCollection
    std_line: Line2D
    grad_line: Line2D
    status: Text
    background: object = None

    @property
    def changing_artists(self) -> list[Artist]:
        """The artists that change with every setting: ridges, the two layer lines, status."""
        return [*self.ridges, self.std_line, self.grad_line, self.status]


def init_view(hist_ax: Axes, layer_ax: Axes, max_depth: int) -> InitView:
    """Put empty artists for up to ``max_depth`` layers on two axes of one figure.

    Limits and labels that depend on the depth or the activation are set by :func:`show_layout`;
    everything else is fixed here (no minor ticks, fixed label positions), so that redrawing the
    changing artists never re-measures text.
    """
    hist_ax.set_title("histogram of the activations $h^{(k)}$", fontsize="medium", pad=4)
    hist_ax.set_ylabel("layer k")
    layer_ax.set_xlabel("layer k")
    layer_ax.set_yscale("log")
    layer_ax.set_ylim(*LAYER_RANGE)
    layer_ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=5))
    layer_ax.yaxis.set_minor_locator(NullLocator())
    layer_ax.grid(alpha=0.3)
    hist_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    hist_ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    layer_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _fix_label_positions((hist_ax, layer_ax), -0.1)
    view = InitView(
        figure=hist_ax.figure,
        hist_ax=hist_ax,
        layer_ax=layer_ax,
        ridges=[
            _empty_line(hist_ax, color="tab:blue", lw=1.2, ds="steps-mid") for _ in range(max_depth)
        ],
        baselines=hist_ax.add_collection(LineCollection([], colors="0.75", linewidths=0.8)),
        std_line=_empty_line(
            layer_ax, "s-", ms=4, lw=1.2, color="tab:green", label="std of $h^{(k)}$"
        ),
        grad_line=_empty_line(
            layer_ax, "o-", ms=4, lw=1.2, color="tab:red", label=r"$\|\nabla_{W^{(k)}} L\|_F$"
        ),
        status=_status_text(layer_ax, 0.98, 0.03, ha="right", va="bottom", fontsize="small"),
    )
    layer_ax.legend(
        loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize="small", frameon=False
    )
    return view


def show_layout(view: InitView, depth: int, value_range: tuple[float, float], label: str) -> None:
    """Set what depends on the depth L and the activation only: the axes' limits, the
    histograms' baselines and x label. The stored background is dropped: the next
    :func:`blit_figure` draws the figure in full."""
    if not 1 <= depth <= len(view.ridges):
        raise ValueError(f"depth must be in [1, {len(view.ridges)}], got {depth}")
    low, high = value_range
    view.hist_ax.set_xlim(low, high)
    view.hist_ax.set_ylim(0.5, depth + 0.5)
    view.hist_ax.set_xlabel(label)
    view.baselines.set_segments(
        [[(low, k - RIDGE_HEIGHT / 2), (high, k - RIDGE_HEIGHT / 2)] for k in range(1, depth + 1)]
    )
    view.layer_ax.set_xlim(0.5, depth + 1.5)
    view.background = None


def show_layers(
    view: InitView,
    centers: np.ndarray,
    counts: np.ndarray,
    stds: Sequence[float] | np.ndarray,
    grad_norms: Sequence[float] | np.ndarray,
) -> None:
    """Put one network's numbers into the artists.

    centers: (bins,) bin centres; counts: (L, bins) from :func:`layer_histograms`, each layer's
    ridge scaled so its tallest bin is :data:`RIDGE_HEIGHT` rows high; stds: (L,) standard
    deviations of h^(k); grad_norms: (L + 1,) norms ‖∇_{W^(k)} L‖_F.
    """
    for k, ridge in enumerate(view.ridges):
        if k < len(counts):
            peak = max(float(counts[k].max()), 1.0)
            ridge.set_data(centers, k + 1 - RIDGE_HEIGHT / 2 + RIDGE_HEIGHT * counts[k] / peak)
        else:
            ridge.set_data([], [])
    view.std_line.set_data(np.arange(1, len(stds) + 1), clip_to_layer_range(stds))
    view.grad_line.set_data(np.arange(1, len(grad_norms) + 1), clip_to_layer_range(grad_norms))


def plot_layers(
    hist_ax: Axes,
    layer_ax: Axes,
    activations: Sequence[np.ndarray],
    grad_norms: Sequence[float] | np.ndarray,
    value_range: tuple[float, float],
    *,
    label: str = "$h$",
    bins: int = 40,
) -> InitView:
    """The static picture of one network (notebook 6): both panels, from its activations
    h^(1), ..., h^(L) (each (N, H_k)) and its gradient norms (L + 1,)."""
    view = init_view(hist_ax, layer_ax, len(activations))
    show_layout(view, len(activations), value_range, label)
    with np.errstate(over="ignore", invalid="ignore"):
        stds = [float(np.std(h)) for h in activations]
    counts = layer_histograms(activations, value_range, bins)
    show_layers(view, bin_centers(value_range, bins), counts, stds, grad_norms)
    return view
