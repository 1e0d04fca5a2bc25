"""A matplotlib backend for runs without drawn figures (``runner.execute(figures=False)``, ``run --no-figures``).

Every figure a chapter builds is drawn to no canvas (:meth:`matplotlib.figure.Figure.draw_without_rendering`: every
artist, every text, tick label and its mathtext) and then closed, but never rasterised or encoded; rasterising and
encoding a PNG is about two thirds of a figure's cost. The layout engine is switched off first: constrained layout
measures every text once more before the draw (~0.4 s of a 0.5 s check of a figure with a few panels), and what it
could fail on it only warns about. A label that would fail to draw (a mathtext typo) still fails the cell. As with
the inline backend, the figures left open at the end of a cell are handled (and closed) then.

The kernel selects it with ``MPLBACKEND=module://landscape.runner.figure_check``; nothing else imports it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib import _pylab_helpers
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

__all__ = ["FigureCanvas", "FigureManager", "show"]

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase

def show(*args, **kwargs) -> None:
    """Draw every open figure to no canvas, without its layout engine, then close them all (the inline backend's
    ``show``).

    Parameters
    ----------
    *args, **kwargs
        Accepted and ignored, as pyplot's ``show(block=...)`` and IPython's ``post_execute`` pass them.
    """
    for manager in _pylab_helpers.Gcf.get_all_fig_managers():
        figure = manager.canvas.figure
        figure.set_layout_engine("none")  # the figure is closed below: nothing needs its layout
        figure.draw_without_rendering()
    plt.close("all")


def _register() -> None:
    """In an IPython kernel, also handle the figures a cell leaves open when it ends."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - plain Python: plt.show() is the only hook
        return
    shell = get_ipython()
    if shell is not None:
        shell.events.register("post_execute", show)


_register()
