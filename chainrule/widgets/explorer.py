"""What the explorers share: controls above a matplotlib figure that is built once and updated
in place, and the way that figure is shown.

With ``%matplotlib widget`` (ipympl) the figure's canvas is itself a widget and is redrawn with
``draw_idle``. With any other backend (the default inline one included) the figure has an Agg
canvas of its own (no pyplot figure, so nothing is displayed twice or left open): every change
blits the changing artists over a stored background (:func:`chainrule.plots.blit_figure`) and
puts the pixels, as a PNG, into an ``ipywidgets.Image``.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chainrule import plots
from chainrule._validate import one_of, positive_int, positive_number


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


#: Style of every control's description: as wide as its text.
_STYLE = {"description_width": "initial"}


class FigureExplorer(widgets.VBox):
    """Controls above a figure that is built once and updated in place (what the explorers
    share).

    A subclass makes its controls with :meth:`_log_slider`, :meth:`_slider` and
    :meth:`_dropdown` (each checks the initial value it is given),
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

    def __init__(self, interactive: bool | None, seed: object) -> None:
        """``interactive``: show the figure on ipympl's canvas (None: if ipympl is the
        backend), else as PNG images; True without ipympl is a ValueError. ``seed`` (an integer
        >= 0, kept as :attr:`seed`) fixes every random number the explorer draws."""
        super().__init__()
        self.seed = _check_seed(seed)
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

    def _slider(
        self,
        name: str,
        value: object,
        value_range: tuple[float, float],
        description: str,
        step: float = 1,
    ) -> widgets.IntSlider | widgets.FloatSlider:
        """A slider over ``value_range`` on a linear scale at ``value``, which must lie in that
        range (ValueError naming ``name``): an IntSlider, whose value must be an integer, when
        the range's ends are integers, else a FloatSlider."""
        low, high = value_range
        if isinstance(low, int) and isinstance(high, int):
            kind, value = widgets.IntSlider, _check_int_range(value, name, low, high)
        else:
            kind, value = widgets.FloatSlider, _check_range(value, name, low, high)
        return kind(value=value, min=low, max=high, step=step, **self._slider_options(description))

    @staticmethod
    def _dropdown(
        name: str, value: object, labels: Mapping[str, str], description: str
    ) -> widgets.Dropdown:
        """A dropdown of the keys of ``labels`` (shown by their labels) set to ``value``, which
        must be one of the keys (ValueError naming ``name``)."""
        return widgets.Dropdown(
            options=[(label, key) for key, label in labels.items()],
            value=one_of(value, name, labels),
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
        self.image.value = plots.png_bytes(plots.blit_figure(self.view))
