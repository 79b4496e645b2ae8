"""The plot strip: plots of declared observables, and the pieces views build their own from.

A level declares plots in its manifest (``[plots.<name>]``: observables against the step) and
the default strip draws them. A view that needs more passes :func:`plot_strip` a list mixing
manifest plot names and :class:`Plot` objects whose ``draw`` callback adds lines with
:func:`line`, :func:`scatter`, :func:`bars`, :func:`vlines` and :func:`hline`. Every line is
decimated (the cost of a frame stays flat however long the run) and non-finite values become
gaps; legends sit above the data unless a plot asks otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from imgui_bundle import imgui, implot

from .color import PALETTE, Color

FIT = implot.AxisFlags_.auto_fit.value


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
    dots = dict(marker=implot.Marker_.circle.value, marker_size=marker) if marker else {}
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


def round_ticks(low: float, high: float, count: int = 4, axis: int = implot.ImAxis_.x1.value) -> None:
    """About ``count`` round ticks (1, 2 or 5 times a power of ten apart) from ``low`` to ``high``
    on ``axis``, set before the plot's first item: in a narrow plot implot's own ticks overlap."""
    if not high - low > 1e-9:  # one point: implot shows it ± 0.5
        low, high = low - 0.5, high + 0.5
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = np.round(np.arange(math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9) + 1) * step, 12)
    implot.setup_axis_ticks(axis, [float(v) for v in ticks], [f"{v:g}" for v in ticks])


def vlines(xs: Sequence[float], labels: Sequence[str] = (), color=PALETTE.muted.alpha(0.6)) -> None:
    """Vertical marks (a planned end, a divergence), labelled at the top of the plot."""
    implot.plot_inf_lines("##marks", np.asarray(xs, np.float64), _spec(color, 1.0, legend=False))
    if labels:
        top = implot.get_plot_limits().y.max
        # the labels sit at the top of the plot: fitted, they would push a fitted axis up every frame
        unfitted = implot.Spec(flags=implot.ItemFlags_.no_fit.value)
        for x, text in zip(xs, labels):
            implot.plot_text(text, float(x), top, imgui.ImVec2(-4 - 3.5 * len(text), 9), unfitted)


def hline(y: float, color=PALETTE.muted.alpha(0.6), label: str = "") -> None:
    """A horizontal reference line."""
    spec = _spec(color, 1.0, legend=bool(label), flags=implot.InfLinesFlags_.horizontal.value)
    implot.plot_inf_lines(label or "##hline", np.array([float(y)]), spec)


@dataclass
class Plot:
    """One plot of the strip.

    ``draw(run)`` adds the items (it runs between the plot's setup and its end); or ``series``
    names scalar observables to draw against the step. Axes: labels, log scales, fixed limits
    (``None``: fitted to the data). ``when()`` returning False leaves the plot out this frame.
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
    weight: float = 1.0  # share of the strip's width
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


def plot_strip(context, plots: Sequence[Plot | str] | None = None, id: str = "##strip") -> None:
    """Draw ``plots`` (manifest plot names or :class:`Plot` objects; default: the manifest's) side
    by side, filling the strip."""
    items = default_plots(context) if plots is None else [
        manifest_plot(context, p) if isinstance(p, str) else p for p in plots]
    hidden = context.challenge.hidden()  # observables that would answer the open challenge
    items = [p for p in items if (p.when is None or p.when()) and not (p.series and set(p.series) <= hidden)]
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
    flags = 0 if legend else implot.Flags_.no_legend.value
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
    if plot.series:
        steps = np.arange(run.steps + 1, dtype=np.float64)
        observables = run.manifest.observables
        for k, name in enumerate(plot.series):
            if name in hidden:
                continue
            values = run.series(name)
            line(observables[name].label, steps[: len(values)], values, plot.colors.get(name, PALETTE.pick(k)))
    if plot.draw is not None:
        plot.draw(run)
    implot.end_plot()
