"""Panel widgets that levels' views share."""

from __future__ import annotations

import contextlib
import math

from imgui_bundle import imgui

from .color import PALETTE

PROGRESS = PALETTE.blue.mix(PALETTE.shadow, 0.35)  # a bar dark enough for white text on it


def progress_bar(fraction: float, text: str | None = None) -> None:
    """A progress bar across the panel, ``fraction`` clipped to [0, 1] (NaN: empty); ``text`` over
    it (None: the percentage)."""
    fraction = float(min(max(fraction, 0.0), 1.0)) if math.isfinite(fraction) else 0.0
    imgui.push_style_color(imgui.Col_.plot_histogram, PROGRESS)
    imgui.progress_bar(fraction, imgui.ImVec2(-1, 0), text)
    imgui.pop_style_color()


_LAST = object()


def first_fit(wordings, room: float, otherwise=_LAST):
    """The first of ``wordings`` (longest first) whose text is at most ``room`` window units wide
    in the current font; when none fits, ``otherwise`` (default: the last, shortest wording)."""
    for words in wordings:
        if imgui.calc_text_size(words).x <= room:
            return words
    return wordings[-1] if otherwise is _LAST else otherwise


@contextlib.contextmanager
def training_controls(view, progress: float, text: str, fast_forward: bool = True):
    """The controls of a level that trains a model live and ships a stored one (its parameter
    ``start`` is "checkpoint" or "scratch"): a progress bar with ``text``, "Train from scratch"
    (which plays at once) and Fast-forward / Normal speed. The block inside the ``with`` adds the
    level's own buttons to the same group; all are disabled while a challenge is locked in::

        with training_controls(self, model.progress, f"step {step} of {budget}"):
            imgui.same_line()
            if imgui.button("Centre the stick"): ...
    """
    progress_bar(progress, text)
    transport = view.transport
    imgui.begin_disabled(view.challenge.locked)
    try:
        if imgui.button("Train from scratch"):
            view.context.set_param("start", "scratch")
            transport.play()
        if fast_forward:
            imgui.same_line()
            if imgui.button("Normal speed" if transport.fastest else "Fast-forward"):
                transport.set_speed("normal" if transport.fastest else "fastest")
                transport.play()
        yield
    finally:
        imgui.end_disabled()
