"""The pictures of the notebooks: loss contours with optimization paths, and loss curves.

matplotlib is imported here and in :mod:`chainrule.widgets` only. A path is an array of
parameter vectors θ_0, θ_1, ... of shape (T + 1, 2), row t being θ after t updates; a loss
curve holds the training loss L(θ_t) of those rows. Nothing here computes an optimization: the
numbers come from :mod:`chainrule.optim` (or the student's code) and are only drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.contour import QuadContourSet
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import NullLocator

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


@dataclass
class ExplorerView:
    """The figure of the learning-rate explorer and every artist it updates in place.

    ``paths[name]``: the path of optimizer ``name`` ("GD" or "SGD") on the contour axes;
    ``by_epoch[name]``: its training loss after each epoch; ``by_update[name]``: its loss after
    each update. ``status`` reads "GD diverged ..." / "SGD diverged ..." when a run blew up, and
    is empty otherwise. ``contours`` is replaced when the dataset changes, and only then.
    ``background`` is the rendered figure without the run artists (see :func:`render_runs`).
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
    def run_artists(self) -> list[Artist]:
        """The artists that change with every setting: the six run lines and the status."""
        lines = [*self.paths.values(), *self.by_epoch.values(), *self.by_update.values()]
        return [*lines, self.status]


def explorer_view(
    figure: Figure, max_epochs: int, max_updates: int, names: Sequence[str] = ("GD", "SGD")
) -> ExplorerView:
    """Lay out the explorer on an empty ``figure``: contours | loss vs epoch | loss vs updates.

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
        ax.xaxis.set_label_coords(0.5, -0.11)
        ax.yaxis.set_label_coords(-0.13, 0.5)
    for ax in (epoch_ax, update_ax):
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())
    update_ax.set_xscale("log")
    update_ax.xaxis.set_minor_locator(NullLocator())
    epoch_ax.set_xlim(-0.5, max_epochs + 0.5)
    update_ax.set_xlim(0.8, 1.25 * max_updates)
    epoch_ax.set_xlabel("epoch")
    update_ax.set_xlabel("number of updates")

    def line(ax: Axes, name: str, **style: object) -> Line2D:
        return ax.plot([], [], color=COLORS.get(name), label=name, **style)[0]

    paths = {name: line(contour_ax, name, marker=".", ms=3, lw=1) for name in names}
    by_epoch = {name: line(epoch_ax, name, marker=".", ms=4, lw=1.2) for name in names}
    by_update = {name: line(update_ax, name, lw=1.2) for name in names}
    floors = tuple(ax.axhline(np.nan, color="k", ls=":", lw=0.8) for ax in (epoch_ax, update_ax))
    floors[0].set_label("minimum")
    start = contour_ax.plot([], [], "ko", ms=5, label="start")[0]
    minimum = contour_ax.plot([], [], "k*", ms=10, label="minimum")[0]
    epoch_ax.legend(loc="upper right", fontsize="small")
    status = contour_ax.text(
        0.02,
        0.97,
        "",
        transform=contour_ax.transAxes,
        va="top",
        color="tab:red",
        weight="bold",
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 2},
    )
    return ExplorerView(
        figure=figure,
        contour_ax=contour_ax,
        epoch_ax=epoch_ax,
        update_ax=update_ax,
        paths=paths,
        by_epoch=by_epoch,
        by_update=by_update,
        start=start,
        minimum=minimum,
        floors=floors,
        status=status,
    )


def show_surface(
    view: ExplorerView,
    grid: tuple[np.ndarray, np.ndarray, np.ndarray],
    theta0: np.ndarray,
    theta_star: np.ndarray,
    loss_min: float,
    loss_start: float,
    labels: tuple[str, str],
) -> None:
    """Replace the contours (a new dataset) and set everything else that depends on it only.

    The loss axes show [L*/2, 10 L(θ_0)]: a run whose loss rises leaves through the top.
    The stored background is dropped: the next :func:`render_runs` draws the figure in full.
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
    view: ExplorerView,
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


def render_runs(view: ExplorerView) -> np.ndarray:
    """Render the figure on its Agg canvas and return the pixels (H, W, 4) uint8 RGBA.

    Blitting: the figure without the run artists is drawn in full once (after a change of
    dataset) and kept as ``view.background``; every later call restores it and draws only
    :attr:`ExplorerView.run_artists` on top, which costs a few milliseconds instead of a
    full draw. The picture is that of ``figure.canvas.draw()`` except that the run artists are
    stacked on top of all the others.
    """
    canvas = view.figure.canvas
    if view.background is None:
        for artist in view.run_artists:
            artist.set_visible(False)
        canvas.draw()
        view.background = canvas.copy_from_bbox(view.figure.bbox)
        for artist in view.run_artists:
            artist.set_visible(True)
    canvas.restore_region(view.background)
    for artist in view.run_artists:
        artist.axes.draw_artist(artist)
    return np.asarray(canvas.buffer_rgba())
