"""The plot strip: plots of declared observables, and the pieces views build their own from.

A level declares plots in its manifest (``[plots.<name>]``: observables against the step) and
the default strip draws them. A view that needs more passes :func:`plot_strip` a list mixing
manifest plot names and :class:`Plot` objects whose ``draw`` callback adds lines with
:func:`line`, :func:`scatter`, :func:`bars`, :func:`vlines` and :func:`hline`. Every line is
decimated (the cost of a frame stays flat however long the run) and non-finite values become
gaps; legends sit above the data unless a plot asks otherwise.

Nothing a plot writes may touch or be cut: the kit chooses each axis's ticks from the measured
widths of their labels at the plot's size and UI scale (:func:`fit_ticks`; a level's own ticks go
through :func:`round_ticks` or :func:`set_ticks`), places the labels of :func:`vlines` whole inside
the plot or leaves them out (:func:`mark_label_boxes`), and a narrow strip leaves out its least
important plots (:func:`strip_fit`, from each plot's ``priority`` and ``min_width``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from imgui_bundle import imgui, implot
from imgui_bundle.implot import internal as implot_internal


from .color import PALETTE, Color
from .widgets import first_fit

FIT = implot.AxisFlags_.auto_fit.value
X1, Y1 = implot.ImAxis_.x1.value, implot.ImAxis_.y1.value
MARK = PALETTE.muted.alpha(0.6)  # reference lines and marks, behind the data


def finite(values, limit: float | None = None) -> np.ndarray:
    """``values`` as float64 with non-finite entries (and, with ``limit``, entries beyond
    ±limit: a diverged run's astronomically large values) replaced by NaN, which plots as a gap."""
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values)
    if limit is not None:
        ok &= np.abs(values) < limit
    return np.where(ok, values, np.nan)


def finite_rows(points, limit: float = 1e4) -> np.ndarray:
    """The rows of an (n, d) array that can be drawn: finite, and not flown off beyond ``limit``
    (where float32 would overflow)."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim == 1:
        points = points[None, :]
    return points[np.all(np.isfinite(points), axis=1) & np.all(np.abs(points) < limit, axis=1)]


def decimate(xs: np.ndarray, ys: np.ndarray, max_points: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` of a long series for plotting (a stride, keeping the last point);
    non-finite values become NaN gaps. Plotting cost then stays flat however long a run goes."""
    xs, ys = np.asarray(xs), np.asarray(ys)
    if len(xs) > max_points:
        index = np.unique(np.append(np.arange(0, len(xs), len(xs) // max_points + 1), len(xs) - 1))
        xs, ys = xs[index], ys[index]
    return np.ascontiguousarray(xs, dtype=np.float64), finite(ys)  # implot wants contiguous arrays


def fitted_y(*series) -> dict:
    """:class:`Plot` options for a y axis that shows ``series``: log once their positive finite
    values span a decade (a log axis labels decades only), with room above and below in log units
    (implot pads in linear units only); else linear with the margin. ``Plot(..., **fitted_y(xs))``."""
    values = np.concatenate([np.ravel(np.asarray(s, np.float64)) for s in series] or [np.zeros(0)])
    values = values[np.isfinite(values) & (values > 0)]
    if not len(values) or values.max() < 10 * values.min():
        return {"margin": True}
    return {"y_log": True, "y_limits": (float(values.min()) / 1.25, float(values.max()) * 1.25)}


def _spec(color=None, weight: float | None = None, legend: bool = True, **extra) -> implot.Spec:
    kwargs = dict(extra)
    if color is not None:
        kwargs["line_color"] = Color.of(color)
    if weight is not None:
        kwargs["line_weight"] = weight
    if not legend:
        kwargs["flags"] = kwargs.get("flags", 0) | implot.ItemFlags_.no_legend.value
    return implot.Spec(**kwargs)


def line(label: str, xs, ys, color=None, weight: float = 2.0, legend: bool = True, marker: float = 0.0) -> None:
    """A decimated line with gaps at non-finite values; ``legend=False`` keeps it out of the legend;
    ``marker``: a dot of that size on every point (a line through a few measurements)."""
    xs, ys = decimate(xs, ys)
    dots = {"marker": implot.Marker_.circle.value, "marker_size": marker} if marker else {}
    implot.plot_line(label if legend else f"##{label}", xs, ys, _spec(color, weight, legend, **dots))


def scatter(label: str, xs, ys, color=None, size: float = 4.0, legend: bool = True) -> None:
    """Markers at finite points."""
    xs, ys = np.ascontiguousarray(xs, np.float64), np.ascontiguousarray(finite(ys))
    spec = _spec(None, None, legend, marker=implot.Marker_.circle.value, marker_size=size)
    if color is not None:
        spec.marker_fill_color = Color.of(color)
        spec.marker_line_color = Color.of(color)
    implot.plot_scatter(label if legend else f"##{label}", xs, ys, spec)


def bars(label: str, xs, heights, width: float = 0.7, color=None, legend: bool = True) -> None:
    """Bars ``width`` wide (in x units) centred on ``xs``, one or many; non-finite heights are gaps."""
    spec = _spec(None, None, legend)
    if color is not None:
        spec.fill_color = Color.of(color)
    xs, heights = np.atleast_1d(np.asarray(xs, np.float64)), np.atleast_1d(finite(heights))
    implot.plot_bars(label if legend else f"##{label}", np.ascontiguousarray(xs), np.ascontiguousarray(heights), width,
                     spec)


# -- ticks whose labels never touch --------------------------------------------------------------
#: around tick labels, in font sizes: the least room between two labels (x: side by side, y:
#: stacked), and the least distance between two ticks (a strip plot with a tick every label
#: width is unreadable even when nothing touches)
TICK_GAP = {False: 0.8, True: 0.3}
TICK_SPACING = {False: 4.5, True: 1.9}
_MAX_TICKS = 200  # a candidate with more ticks than this never fits a screen: it is not measured


def tick_label(value: float) -> str:
    """A tick's label: ``%g`` with short exponents (``1e-5``, ``2e6``: every character counts on a
    narrow axis) and no ``-0``."""
    if value == 0:
        return "0"
    text = f"{value:g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def _decimal(mantissa: int, exponent: int) -> float:
    """``mantissa × 10^exponent`` rounded once (``3 × 0.1`` would be 0.30000000000000004)."""
    return float(mantissa * 10 ** exponent) if exponent >= 0 else mantissa / 10 ** -exponent


def _linear_candidates(low: float, high: float, finest: float = 0.0) -> list[list[float]]:
    """Tick sets 1, 2 or 5 times a power of ten apart, from the finest step not under ``finest``
    (and not so fine that the set would exceed ``_MAX_TICKS``) to one beyond the span."""
    span = high - low
    finest = max(finest, span / _MAX_TICKS)
    out: list[list[float]] = []
    exponent = math.floor(math.log10(finest))
    while True:
        for m in (1, 2, 5):
            step = _decimal(m, exponent)
            if step < finest * (1 - 1e-9):
                continue
            first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
            out.append([_decimal(n * m, exponent) for n in range(first, last + 1)])
            if step > span:
                return out
        exponent += 1


def _log_candidates(low: float, high: float) -> list[list[float]]:
    """Tick sets of a log axis: every digit of each decade, 1-2-5, 1-3, then decades every 1, 2,
    3, 5, 6, 10 ... apart; a span under a decade also gets the linear sets (its decades may not show)."""
    lo, hi = math.log10(low), math.log10(high)
    out: list[list[float]] = []
    if hi - lo < 12:
        for mantissas in ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1, 3)):
            out.append([v for e in range(math.floor(lo), math.ceil(hi) + 1) for m in mantissas
                        if low * (1 - 1e-9) <= (v := _decimal(m, e)) <= high * (1 + 1e-9)])
    for every in (1, 2, 3, 5, 6, 10, 12, 15, 20, 30, 50, 60, 100):
        first, last = math.ceil(lo / every - 1e-9), math.floor(hi / every + 1e-9)
        if last - first <= _MAX_TICKS:
            out.append([_decimal(1, n * every) for n in range(first, last + 1)])
        if last <= first:
            break
    if hi - lo < 1:
        out.extend([v for v in values if v > 0] for values in _linear_candidates(low, high))
    return out


def _labels_fit(places: Sequence[float], sizes: Sequence[float], gap: float, least: float,
                ends: tuple[float, float]) -> bool:
    """Whether labels centred at ``places`` (ascending), ``sizes`` long, keep ``gap`` apart with
    their centres at least ``least`` apart, all within ``ends`` (first, last)."""
    if places[0] - 0.5 * sizes[0] < ends[0] or places[-1] + 0.5 * sizes[-1] > ends[1]:
        return False
    return all(places[i + 1] - places[i] >= max(least, 0.5 * (sizes[i] + sizes[i + 1]) + gap)
               for i in range(len(places) - 1))


def fit_ticks(low: float, high: float, pixels: float, measure: Callable[[str], float], log: bool = False,
              gap: float = 0.0, spacing: float = 0.0, finest: float = 0.0,
              room: tuple[float, float] = (math.inf, math.inf)) -> tuple[list[float], list[str]] | None:
    """The most round ticks from ``low`` to ``high`` on an axis ``pixels`` long whose labels keep
    ``gap`` apart (``measure(label)``: a label's extent along the axis, its width on x, its height
    on y) with ticks at least ``spacing`` apart where that leaves two, and no label reaching more
    than ``room`` (before ``low``, after ``high``) beyond the axis's ends (into the next plot, say).
    Linear axes step by 1, 2 or 5 times a power of ten (not finer than ``finest``); log axes by
    digits, 1-2-5, 1-3 or whole decades. When no two labels fit, the roundest one that does; when
    none does, no ticks. None for an empty range. Returns (values, labels)."""
    if not (math.isfinite(low) and math.isfinite(high) and high > low and pixels > 0):
        return None
    ends = (-room[0], pixels + room[1])
    log = log and low > 0
    most = pixels / max(gap, 1.0) + 2  # more ticks than this cannot keep their labels apart: not measured
    candidates = _log_candidates(low, high) if log else _linear_candidates(low, high, max(finest, (high - low) / most))
    if log:
        lo, span = math.log10(low), math.log10(high) - math.log10(low)

        def where(v):
            return (math.log10(v) - lo) / span * pixels
    else:
        def where(v):
            return (v - low) / (high - low) * pixels
    candidates = [values for values in candidates if len(values) <= most]
    for values in candidates:  # a tick at an end whose label would reach too far goes (the rest may fit)
        while values and not _labels_fit([where(values[0])], [measure(tick_label(values[0]))], 0.0, 0.0, ends):
            values.pop(0)
        while values and not _labels_fit([where(values[-1])], [measure(tick_label(values[-1]))], 0.0, 0.0, ends):
            values.pop()
    candidates.sort(key=len, reverse=True)  # the most ticks that fit; equal counts keep the rounder set first
    for least in (spacing, 0.0):  # the spacing is for looks: two labels that fit beat one
        for values in candidates:
            if len(values) < 2:
                break
            labels = [tick_label(v) for v in values]
            if _labels_fit([where(v) for v in values], [measure(text) for text in labels], gap, least, ends):
                return values, labels
    for values in reversed(candidates):  # one label: the roundest value, from the coarsest set that has one
        fitting = [v for v in values if measure(tick_label(v)) <= pixels]
        if fitting:
            v = min(fitting, key=lambda v: abs(where(v) - 0.5 * pixels))
            return [v], [tick_label(v)]
    return [], []


@dataclass
class _AxisNow:
    """An axis of the plot being drawn, as :func:`draw_plot` found it before the plot's items."""

    pixels: float  # its length on screen last frame (0 on a plot's first frame)
    low: float
    high: float
    vertical: bool
    log: bool
    room: tuple[float, float] = (math.inf, math.inf)  # how far labels may reach beyond low and high
    count: int | None = None  # the ticks the kit set on it; None: implot's own (or the level's)


#: the axes of the plot :func:`draw_plot` is drawing (by ImAxis): what round_ticks fits to
_NOW: dict[int, _AxisNow] = {}
#: ticks fitted lately, by axis range, length, scale and font: a plot with fixed limits is fitted once
_FITTED: dict[tuple, tuple[list[float], list[str]] | None] = {}
#: (plot id, axis) pairs whose ticks a level sets itself (implot.setup_axis_ticks in its draw):
#: the kit leaves them alone, else both sets would be drawn
_CUSTOM: set[tuple[int, int]] = set()


def _axis_state(axis: int):
    """implot's state of an axis of the current plot (ImAxis: x1..x3 are 0..2, y1..y3 are 3..5)."""
    plot = implot_internal.get_current_plot()
    return plot.x_axis(axis) if axis < 3 else plot.y_axis(axis - 3)


def _label_extent(vertical: bool) -> Callable[[str], float]:
    return (lambda text: imgui.calc_text_size(text).y) if vertical else (lambda text: imgui.calc_text_size(text).x)


def _fit_axes(plot: Plot) -> None:
    """Ticks on x1 and y1 whose labels do not touch, measured on this plot at this UI scale (run
    between the plot's setup and its first item, where implot takes ticks). The range is the one
    this frame shows (implot fitted it at the end of the last); the length is last frame's (the
    layout is done only at the first item), so a plot's first frame keeps implot's own ticks."""
    current = implot_internal.get_current_plot()
    rect, frame = current.plot_rect, current.frame_rect
    font = imgui.get_font_size()
    # how far labels may reach beyond the ends of the data area: x labels into the y labels'
    # margin and to the frame's right edge (not into the next plot); y labels to the frame
    x_room = (max(rect.min.x - frame.min.x, 0.0), max(frame.max.x - rect.max.x, 0.0))
    y_room = (max(frame.max.y - rect.max.y, 0.0), max(rect.min.y - frame.min.y, 0.0))
    for axis, state, pixels, log, vertical, room in (
            (X1, current.x_axis(0), rect.get_width(), plot.x_log, False, x_room[::-1] if plot.x_invert else x_room),
            (Y1, current.y_axis(0), rect.get_height(), plot.y_log, True, y_room)):
        now = _NOW[axis] = _AxisNow(float(pixels), float(state.range.min), float(state.range.max), vertical, log,
                                    room)
        if now.pixels < 1 or (current.id_, axis) in _CUSTOM:
            continue
        key = (now.low, now.high, now.pixels, log, vertical, font, room)
        ticks = _FITTED.get(key)
        if ticks is None:
            if len(_FITTED) > 256:
                _FITTED.clear()
            ticks = _FITTED[key] = fit_ticks(now.low, now.high, now.pixels, _label_extent(vertical), log,
                                             TICK_GAP[vertical] * font, TICK_SPACING[vertical] * font, room=room)
        if ticks is not None:
            implot.setup_axis_ticks(axis, *ticks)  # keep_default is False: the ticks replace implot's
            now.count = len(ticks[0])


def _note_custom_ticks() -> None:
    """After the plot's items: which axes got ticks from the level itself (more ticks than the
    kit set, or implot's own turned off while the kit set none); the kit leaves those alone from
    the next frame on, and takes an axis back once the level stops setting its ticks."""
    plot_id = implot_internal.get_current_plot().id_
    for axis, now in _NOW.items():
        state = _axis_state(axis)
        custom = (not state.show_default_ticks) if now.count is None else state.ticker.tick_count() > now.count
        (_CUSTOM.add if custom else _CUSTOM.discard)((plot_id, axis))


def _place_on(now: _AxisNow) -> Callable[[float], float]:
    """Where a value falls on the axis ``now``, in pixels from its low end."""
    if now.log and now.low > 0:
        lo, span = math.log10(now.low), math.log10(now.high) - math.log10(now.low)
        return lambda v: (math.log10(v) - lo) / span * now.pixels if v > 0 else -math.inf
    return lambda v: (v - now.low) / (now.high - now.low) * now.pixels


def _replace_ticks(axis: int, values: Sequence[float], labels: Sequence[str]) -> None:
    """Set an axis's ticks from a level's draw, in place of those the kit set before it."""
    now = _NOW.get(axis)
    if now is not None and now.count is not None:
        _axis_state(axis).ticker.reset()  # the kit's own ticks make way
    implot.setup_axis_ticks(axis, list(values), list(labels))  # keep_default is False: implot's go too
    if now is not None:
        now.count = len(values)


def round_ticks(low: float, high: float, count: int = 4, axis: int = implot.ImAxis_.x1.value) -> None:
    """At most about ``count`` round ticks (1, 2 or 5 times a power of ten apart) from ``low`` to
    ``high`` on ``axis``, set before the plot's first item; in a plot drawn by the strip, fewer
    when their labels would touch at this width and UI scale (they replace the kit's own ticks)."""
    if not high - low > 1e-9:  # one point: implot shows it ± 0.5
        low, high = low - 0.5, high + 0.5
    finest = (high - low) / count
    now = _NOW.get(axis)
    ticks = None
    if now is not None and now.pixels >= 1 and now.high > now.low and not now.log:
        font, per_unit = imgui.get_font_size(), now.pixels / (now.high - now.low)
        room = (now.room[0] + (low - now.low) * per_unit, now.room[1] + (now.high - high) * per_unit)
        ticks = fit_ticks(low, high, (high - low) * per_unit, _label_extent(now.vertical), False,
                          TICK_GAP[now.vertical] * font, TICK_SPACING[now.vertical] * font, finest, room)
    if ticks is None:
        values = _linear_candidates(low, high, finest)[0]
        ticks = values, [tick_label(v) for v in values]
    _replace_ticks(axis, *ticks)


def thin_labels(places: Sequence[float], sizes: Sequence[float], gap: float,
                ends: tuple[float, float] = (-math.inf, math.inf)) -> list[bool]:
    """Which of a set of tick labels to show (centred at ``places``, ascending, ``sizes`` long
    along the axis) so that the shown keep ``gap`` apart and within ``ends``: every label if they
    fit, else every second, third ... (the most that fit, from the first where that works)."""
    count = len(places)
    for every in range(1, count + 1):
        for start in range(every):
            chosen = list(range(start, count, every))
            if _labels_fit([places[k] for k in chosen], [sizes[k] for k in chosen], gap, 0.0, ends):
                return [k in chosen for k in range(count)]
    return [False] * count


def set_ticks(values: Sequence[float], labels: Sequence[str] | None = None,
              axis: int = implot.ImAxis_.x1.value) -> None:
    """A level's own ticks on ``axis`` (``labels``: their labels, default the values), set before
    the plot's first item, in place of ``implot.setup_axis_ticks``: in a plot drawn by the strip,
    every tick stays and the labels that would touch at this width and UI scale are left off
    (every second, third ... shows)."""
    values = [float(v) for v in values]
    labels = [tick_label(v) for v in values] if labels is None else [str(text) for text in labels]
    now = _NOW.get(axis)
    if now is not None and now.pixels >= 1 and now.high > now.low and values:
        where, measure = _place_on(now), _label_extent(now.vertical)
        seen = sorted((where(v), k) for k, v in enumerate(values) if 0.0 <= where(v) <= now.pixels)
        if seen:
            shown = thin_labels([place for place, _ in seen], [measure(labels[k]) for _, k in seen],
                                TICK_GAP[now.vertical] * imgui.get_font_size(), (-now.room[0], now.pixels + now.room[1]))
            for (_, k), show in zip(seen, shown):
                labels[k] = labels[k] if show else ""
    _replace_ticks(axis, values, labels)


def mark_label_boxes(places: Sequence[float], sizes: Sequence[tuple[float, float]], width: float, height: float,
                     pad: float = 4.0) -> list[tuple[float, float, float, float] | None]:
    """Where the labels of vertical marks go in a plot area ``width`` × ``height`` (pixels from its
    top-left): label k, ``sizes[k]`` (w, h) big, belongs to the mark at x = ``places[k]``. It sits
    at the top, left of its mark, else right of it, shifted inward to stay ``pad`` inside the
    area (less above and below in a plot hardly taller than a label), in the first row (at most
    two, as the height allows) where it touches no label placed before it. A label that cannot
    fit whole, or whose mark is out of view, is left out (None): a label is never cut. Returns
    boxes (x0, y0, x1, y1)."""
    boxes: list[tuple[float, float, float, float] | None] = []
    placed: list[tuple[float, float, float, float]] = []
    for x, (w, h) in zip(places, sizes):
        box = None
        if math.isfinite(x) and -0.5 <= x <= width + 0.5 and w + 2 * pad <= width:
            top = min(pad, 0.5 * (height - h))  # a short plot: the label may come closer to the frame
            rows = [top + k * (h + pad) for k in range(2) if top >= 0 and top + k * (h + pad) + h + top <= height]
            for y in rows:
                beside = (x - pad - w, x + pad)  # left of the mark, else right of it, else either moved inward
                for x0 in [x0 for x0 in beside if pad <= x0 <= width - pad - w] + [
                        min(max(x0, pad), width - pad - w) for x0 in beside]:
                    candidate = (x0, y, x0 + w, y + h)
                    if not any(_touch(candidate, other, pad) for other in placed):
                        box = candidate
                        break
                if box is not None:
                    break
        boxes.append(box)
        if box is not None:
            placed.append(box)
    return boxes


def _touch(a, b, gap: float = 0.0) -> bool:
    """Whether boxes (x0, y0, x1, y1) overlap or come within ``gap`` of each other."""
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def vlines(xs: Sequence[float], labels: Sequence[str] = (), color=MARK) -> None:
    """Vertical marks (a planned end, a divergence), labelled at the top of the plot: each label
    whole and inside the plot, beside its mark, or left out where it cannot fit."""
    xs = [float(x) for x in xs]
    implot.plot_inf_lines("##marks", np.asarray(xs, np.float64), _spec(color, 1.0, legend=False))
    if labels:
        top = implot.get_plot_limits().y.max
        corner, size = implot.get_plot_pos(), implot.get_plot_size()
        pixels = [implot.plot_to_pixels(x, top) for x in xs]
        texts = [str(text) for text in labels][: len(xs)]
        sizes = [tuple(imgui.calc_text_size(text)) for text in texts]
        boxes = mark_label_boxes([p.x - corner.x for p in pixels], sizes, size.x, size.y,
                                 0.3 * imgui.get_font_size())
        # the labels sit at the top of the plot: fitted, they would push a fitted axis up every frame
        unfitted = implot.Spec(flags=implot.ItemFlags_.no_fit.value)
        for x, at, text, box in zip(xs, pixels, texts, boxes):
            if box is not None:  # plot_text centres the text on its point plus this offset
                offset = imgui.ImVec2(corner.x + 0.5 * (box[0] + box[2]) - at.x, corner.y + 0.5 * (box[1] + box[3]) - at.y)
                implot.plot_text(text, x, top, offset, unfitted)


def hline(y: float, color=MARK, label: str = "") -> None:
    """A horizontal reference line."""
    spec = _spec(color, 1.0, legend=bool(label), flags=implot.InfLinesFlags_.horizontal.value)
    implot.plot_inf_lines(label or "##hline", np.array([float(y)]), spec)


@dataclass
class Plot:
    """One plot of the strip.

    ``draw(run)`` adds the items (it runs between the plot's setup and its end); or ``series``
    names scalar observables to draw against the step. Axes: labels, log scales, fixed limits
    (``None``: fitted to the data). ``when()`` returning False leaves the plot out this frame.
    A strip too narrow for all its plots leaves out the least important (lowest ``priority``)
    of those with a ``min_width``: each plot shown keeps at least its ``min_width``.
    """

    title: str
    draw: Callable | None = None
    series: Sequence[str] = ()
    x_label: str = "step"
    y_label: str = ""
    x_log: bool = False
    y_log: bool = False
    x_limits: tuple[float, float] | None = None
    y_limits: tuple[float, float] | None = None
    legend: bool | None = None  # None: a legend when there are two or more items
    #: where the legend goes: "above" the data in one row (the strip is short and wide: a legend
    #: beside the data would halve a narrow plot's width), "beside" it, or inside the data at a
    #: corner named like implot.Location_ ("north_east", "south_west": where the curves are not)
    legend_at: str = "above"
    margin: bool = False  # fitted linear axes keep 8% room, so a series at its minimum (a floor) clears the frame
    x_invert: bool = False  # the x axis runs right to left (time from noise to data, say)
    #: one unit is as long on both axes (a plane, a circle, eigenvalues in the complex plane):
    #: the limits grow on one axis to keep the aspect, so fixed limits are the least shown
    equal: bool = False
    weight: float = 1.0  # share of the strip's width
    #: the least width (in font sizes, so a larger UI scale needs more pixels) at which the plot
    #: is worth showing; 0: shown at any width
    min_width: float = 0.0
    priority: float = 0.0  # which plots a narrow strip keeps: the highest first
    when: Callable[[], bool] | None = None
    colors: dict = field(default_factory=dict)

    def __post_init__(self):
        corners = [n for n in dir(implot.Location_) if n in ("center", "north", "south", "east", "west")
                   or n.startswith(("north_", "south_"))]
        if self.legend_at not in ("beside", "above", *corners):
            raise ValueError(f"Plot {self.title!r}: legend_at={self.legend_at!r}; valid: beside, above, "
                             + ", ".join(sorted(corners)))


def manifest_plot(context, name: str) -> Plot:
    """The :class:`Plot` for the manifest's ``[plots.<name>]``."""
    spec = context.manifest.plots[name]
    observables = context.manifest.observables
    colors = {s: getattr(PALETTE, observables[s].color) for s in spec.series if observables[s].color}
    return Plot(spec.title, series=spec.series, y_label=spec.y_label, y_log=spec.y_log,
                when=(lambda: spec.applies(context.run.params)) if spec.when else None, colors=colors)


def default_plots(context) -> list[Plot]:
    """The manifest's plots; without any, one plot per scalar observable."""
    manifest = context.manifest
    if manifest.plots:
        return [manifest_plot(context, name) for name in manifest.plots]
    return [Plot(o.label, series=[o.name], y_label=o.unit) for o in manifest.observables.values()
            if o.kind == "scalar" and o.name != "diverged"]


_RATIOS: dict[tuple, object] = {}


def strip_fit(weights: Sequence[float], priorities: Sequence[float], minimums: Sequence[float],
              width: float) -> list[int]:
    """Which plots a strip ``width`` wide shows (their indices, in the strip's order): plot k takes
    a share of the width in proportion to ``weights[k]`` and needs ``minimums[k]``; the plots are
    taken most important first (highest ``priorities``, ties left to right), each one kept if
    every plot taken so far still gets its minimum. The most important plot is always shown."""
    weights = [max(float(w), 1e-9) for w in weights]
    chosen: list[int] = []
    for k in sorted(range(len(weights)), key=lambda k: -priorities[k]):
        trial = chosen + [k]
        total = sum(weights[j] for j in trial)
        if not chosen or all(width * weights[j] / total >= minimums[j] for j in trial):
            chosen = trial
    return sorted(chosen)


def plot_strip(context, plots: Sequence[Plot | str] | None = None, id: str = "##strip") -> None:
    """Draw ``plots`` (manifest plot names or :class:`Plot` objects; default: the manifest's) side
    by side, filling the strip; when it is too narrow, the least important plots with a
    ``min_width`` make way (:func:`strip_fit`)."""
    items = default_plots(context) if plots is None else [
        manifest_plot(context, p) if isinstance(p, str) else p for p in plots]
    hidden = context.challenge.hidden()  # observables that would answer the open challenge
    items = [p for p in items if (p.when is None or p.when()) and not (p.series and set(p.series) <= hidden)]
    if any(p.min_width for p in items):
        font = imgui.get_font_size()
        keep = strip_fit([p.weight for p in items], [p.priority for p in items],
                         [p.min_width * font for p in items], imgui.get_content_region_avail().x)
        items = [items[k] for k in keep]
    if not items:
        return
    weights = tuple(float(p.weight) for p in items)
    key = (id, weights)
    ratios = _RATIOS.get(key)
    if ratios is None:  # kept between frames: implot stores the divider positions a learner drags in it
        ratios = _RATIOS[key] = implot.SubplotsRowColRatios([1.0], list(weights))
    if implot.begin_subplots(id, 1, len(items), imgui.ImVec2(-1, -1), 0, ratios):
        for plot in items:
            draw_plot(context.run, plot, hidden)
        implot.end_subplots()


def draw_plot(run, plot: Plot, hidden=frozenset()) -> None:
    """One plot (inside a strip or on its own); series named in ``hidden`` are left out."""
    if plot.margin:  # linear axes only: implot pads a log axis in linear units, down to 1e-300
        implot.push_style_var(implot.StyleVar_.fit_padding.value, imgui.ImVec2(0.02, 0.08))
    try:
        _draw_plot(run, plot, hidden)
    finally:
        if plot.margin:
            implot.pop_style_var()


def _draw_plot(run, plot: Plot, hidden) -> None:
    many = len(plot.series) > 1 or plot.draw is not None
    legend = many if plot.legend is None else plot.legend
    flags = (0 if legend else implot.Flags_.no_legend.value) | (implot.Flags_.equal.value if plot.equal else 0)
    if not implot.begin_plot(plot.title, imgui.ImVec2(-1, -1), flags):
        return
    x_flags = (0 if plot.x_limits else FIT) | (implot.AxisFlags_.invert.value if plot.x_invert else 0)
    implot.setup_axes(plot.x_label, plot.y_label, x_flags, 0 if plot.y_limits else FIT)
    if plot.x_log:
        implot.setup_axis_scale(implot.ImAxis_.x1.value, implot.Scale_.log10.value)
    if plot.y_log:
        implot.setup_axis_scale(implot.ImAxis_.y1.value, implot.Scale_.log10.value)
    if plot.x_limits:
        implot.setup_axis_limits(implot.ImAxis_.x1.value, *plot.x_limits, implot.Cond_.always.value)
    if plot.y_limits:
        implot.setup_axis_limits(implot.ImAxis_.y1.value, *plot.y_limits, implot.Cond_.always.value)
    if legend and plot.legend_at not in ("beside", "above"):
        implot.setup_legend(getattr(implot.Location_, plot.legend_at).value)
    elif legend and plot.legend_at == "above":
        implot.setup_legend(implot.Location_.north.value,
                            implot.LegendFlags_.outside.value | implot.LegendFlags_.horizontal.value)
    elif legend:
        implot.setup_legend(implot.Location_.north_east.value, implot.LegendFlags_.outside.value)
    _fit_axes(plot)
    try:
        if plot.series:
            steps = run.series_steps().astype(np.float64)  # one value per step until the history thins
            observables = run.manifest.observables
            for k, name in enumerate(plot.series):
                if name in hidden:
                    continue
                line(observables[name].label, steps, run.series(name), plot.colors.get(name, PALETTE.pick(k)))
        if plot.draw is not None:
            plot.draw(run)
        _note_custom_ticks()
    finally:
        _NOW.clear()
    implot.end_plot()


def titled(plots: list, wordings: list) -> list:
    """The plots, each titled with the longest of its ``wordings`` that fits the width the strip
    will give it (the strip leaves out the least important plots that have no room: the same
    choice, made here first); a title wider than its plot would be cut."""
    shown = [k for k, plot in enumerate(plots) if plot.when is None or plot.when()]
    font, width = imgui.get_font_size(), imgui.get_content_region_avail().x
    keep = [shown[k] for k in strip_fit([plots[k].weight for k in shown], [plots[k].priority for k in shown],
                                        [plots[k].min_width * font for k in shown], width)]
    total = sum(plots[k].weight for k in keep) or 1.0
    out = []
    for k, (plot, options) in enumerate(zip(plots, wordings)):
        room = width * plot.weight / total - 3.0 * font  # less the y axis and the padding
        title = first_fit(options, room) if k in keep else options[-1]
        out.append(replace(plot, title=f"{title}{plot.title}"))  # plot.title holds its "###id"
    return out
