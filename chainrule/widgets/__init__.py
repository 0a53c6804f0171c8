"""The explorers of the notebooks: controls, drawing and timing only.

- :func:`learning_rate_explorer` (notebook 2, :mod:`chainrule.widgets.learning_rate`): GD and
  SGD on a least-squares problem; the numbers come from :mod:`chainrule.least_squares` and
  :mod:`chainrule.runs`.
- :func:`init_explorer` (notebook 6, :mod:`chainrule.widgets.initialization`): activations and
  gradient norms across the layers of a fresh network; the numbers come from
  :mod:`chainrule.probe`.

:mod:`chainrule.widgets.explorer` holds what both share (controls above a figure updated in
place, shown on ipympl's canvas or as PNG images). ipywidgets is imported only in this package,
matplotlib only here and in :mod:`chainrule.plots`.
"""

from chainrule.widgets.initialization import InitExplorer, init_explorer
from chainrule.widgets.learning_rate import LearningRateExplorer, learning_rate_explorer

__all__ = ["InitExplorer", "LearningRateExplorer", "init_explorer", "learning_rate_explorer"]
