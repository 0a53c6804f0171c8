"""``export``: the grades CSV (nbgrader's exporter) and a histogram of scores per exercise.

Nothing is exported while a submission is not graded (or changed since it was graded): its
gradebook rows may be those of a grading process that was stopped half-way
(:mod:`grader.submissions`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import BinaryIO

import nbformat
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from nbgrader.apps import ExportApp

from grader.cells import grade_id_of
from grader.course import Course, GraderError, run_app
from grader.scores import CellScore, cell_scores
from grader.submissions import require_graded


def export_csv(course: Course, path: Path) -> None:
    """Write nbgrader's grades CSV (one row per student and assignment) to ``path``."""
    config = course.config()
    config.ExportPlugin.to = str(path)
    run_app(ExportApp, config, "nbgrader export")


def grade_ids(course: Course, assignment: str, notebook: str) -> list[str]:
    """The grade ids of a release notebook in cell order (empty if it is not released)."""
    path = course.directory("release") / assignment / f"{notebook}.ipynb"
    if not path.is_file():
        return []
    cells = nbformat.read(path, as_version=4).cells
    return [grade_id_of(cell) or "" for cell in cells]


#: Inches of one panel of the histograms, margins included, and of its margins: room for tick
#: labels and axis label on the left and below, for the two-line title above, a gap on the right.
_PANEL_WIDTH, _PANEL_HEIGHT = 3.2, 2.6
_LEFT, _BELOW, _ABOVE, _RIGHT = 0.75, 0.55, 0.45, 0.1


def _margins(rows: int, columns: int) -> dict[str, float]:
    """The grid of :func:`plot_histograms` as matplotlib's fixed-layout fractions (constrained
    layout measures every label of every panel, seconds for a course's hundred panels)."""
    width, height = _PANEL_WIDTH * columns, _PANEL_HEIGHT * rows
    return {
        "left": _LEFT / width,
        "right": 1 - _RIGHT / width,
        "bottom": _BELOW / height,
        "top": 1 - _ABOVE / height,
        "wspace": (_LEFT + _RIGHT) / (_PANEL_WIDTH - _LEFT - _RIGHT),
        "hspace": (_BELOW + _ABOVE) / (_PANEL_HEIGHT - _BELOW - _ABOVE),
    }


def plot_histograms(course: Course, scores: list[CellScore], path: Path | BinaryIO) -> None:
    """Save a PNG (to a path or a binary file) with, for each graded cell (in notebook order), a
    histogram of the scores."""
    if not scores:
        raise GraderError("no graded submission in the gradebook: nothing to plot")
    by_cell: dict[tuple[str, str, str], list[CellScore]] = {}
    for score in scores:
        by_cell.setdefault((score.assignment, score.notebook, score.cell), []).append(score)
    order = {(a, nb): grade_ids(course, a, nb) for a, nb in {(a, nb) for a, nb, _ in by_cell}}

    def position(key: tuple[str, str, str]) -> tuple[str, str, int, str]:
        ids = order[key[:2]]
        return key[0], key[1], ids.index(key[2]) if key[2] in ids else len(ids), key[2]

    keys = sorted(by_cell, key=position)
    columns = min(4, len(keys))
    rows = math.ceil(len(keys) / columns)
    figure = Figure(figsize=(_PANEL_WIDTH * columns, _PANEL_HEIGHT * rows))
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False, gridspec_kw=_margins(rows, columns))
    axes = axes.ravel()
    for ax, key in zip(axes, keys, strict=False):
        group = by_cell[key]
        top = max(s.max_score for s in group) or 1.0
        ax.hist([s.score for s in group], bins=np.linspace(0.0, top, 11))
        ax.set_title(f"{key[0]}\n{key[2]} ({top:g} pts)", fontsize=9)
        ax.set_xlabel("points")
        ax.set_ylabel("students")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes[len(keys) :]:
        ax.set_visible(False)
    figure.savefig(path, dpi=100)


def export(course: Course, csv_path: Path, plot_path: Path) -> None:
    """Write the grades CSV and the histogram PNG."""
    require_graded(course)
    export_csv(course, csv_path)
    with course.gradebook() as gradebook:
        scores = cell_scores(gradebook)
    plot_histograms(course, scores, plot_path)
