"""The level kit: what a level's view is written with.

- :mod:`.color`: one colour type (:class:`Color`, usable by ImGui, implot and the painter
  alike), one colour-blind-safe palette (:data:`PALETTE`) and a colour wheel (:func:`hues`).
- :mod:`.context`: :class:`ViewContext`, all a view may use of the engine, with the challenge
  state (hide what would answer an open challenge) and the transport.
- :mod:`.memo`: :func:`derived` memoises a model's derived data on the parameters it depends
  on; :class:`Cache` keeps a view's GPU resources built from it.
- :mod:`.plots`: the plot strip, manifest-declared plots, and decimated, gap-aware lines.
- :mod:`.widgets`: panel widgets levels share (a progress bar, the controls of a level that trains
  live) and :func:`first_fit`, the longest of several wordings that fits a width.
- Panes, frames with labels and captions on plates, and camera fitting live with the view
  (:mod:`sandbox.view`) and the cameras (:mod:`sandbox.gfx.camera`).
"""

from .color import PALETTE, Color, hues
from .context import ChallengeState, Transport, ViewContext
from .memo import Cache, derived, forget_derived
from .plots import (Plot, bars, decimate, finite, finite_rows, fit_ticks, fitted_y, hline, line, plot_strip, round_ticks,
                    scatter, set_ticks, strip_fit, tick_label, titled, vlines)
from .widgets import first_fit, progress_bar, training_controls

__all__ = ["PALETTE", "Color", "hues", "ChallengeState", "Transport", "ViewContext", "Cache", "derived",
           "forget_derived", "Plot", "bars", "decimate", "finite", "finite_rows", "fitted_y", "hline", "line",
           "plot_strip", "round_ticks", "scatter", "set_ticks", "fit_ticks", "strip_fit", "tick_label", "titled", "vlines",
           "progress_bar", "first_fit", "training_controls"]
