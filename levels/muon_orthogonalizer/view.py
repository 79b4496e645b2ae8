"""The Matrix Orthogonalizer: the image of the unit square under the iterate, snapping square one
Newton-Schulz step at a time, with the matrix's columns as handles to drag. The plots follow the
singular values: of the grid per step, through the scalar map p(σ), as a histogram for the n×n
gradient matrix against its exact polar factor, and the losses of the optimizer race."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.ui.widgets import BAD, GOOD, MUTED
from sandbox.view import View

from .kernels import QUINTIC_BAND, iterate_singular_values

GRID = (0.45, 0.75, 1.0, 0.9)
GRID_EDGE = (0.6, 0.85, 1.0, 1.0)
INPUT = (0.75, 0.75, 0.8, 0.35)
TARGET = (0.45, 0.85, 0.45, 0.8)
ELLIPSE = (1.0, 0.6, 0.2, 0.95)
REFERENCE = (0.5, 0.55, 0.6, 0.45)
INPUT_PLOT = (0.8, 0.82, 0.86, 1.0)  # the histogram of the input, for comparison
#: The colours of the two columns (images of e₁ and e₂), for the handles and the iterate alike.
COLUMNS = ((1.0, 0.42, 0.38, 1.0), (1.0, 0.85, 0.3, 1.0))
#: σ₁ and σ₂ in the plots.
SIGMA_COLORS = ((1.0, 0.6, 0.2, 1.0), (0.75, 0.55, 1.0, 1.0))
MUTED_RGBA = (MUTED.x, MUTED.y, MUTED.z, MUTED.w)
RACE = {"sgd": ("SGD + momentum", (0.65, 0.68, 0.72, 1.0)), "adam": ("Adam", (0.45, 0.75, 1.0, 1.0)),
        "muon": ("Muon", (1.0, 0.6, 0.2, 1.0))}
DIVISIONS = 8  # grid cells per side of the unit square
HANDLE_PIXELS = 16.0  # how close the mouse must be to a handle to pick it up
ENTRY_LIMIT = 2.0  # the manifest's range of every matrix entry
#: Matrices worth trying (m00, m01, m10, m11), with what each shows.
PRESETS = (
    ("Squashed", (1.2, 0.8, 0.15, 0.35), "the default: σ₁/σ₂ ≈ 7"),
    ("Nearly singular", (1.0, 0.9, 0.5, 0.46), "σ₂ almost 0: the cubic needs many ×1.5 steps"),
    ("Reflection", (0.3, 1.1, 0.9, 0.2), "det < 0: the nearest orthogonal matrix is a reflection"),
    ("Large (σ₁ ≈ 2.9)", (2.0, 2.0, 0.0, 0.5), "untick the normalization: the cubic blows up past √5"),
)


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values), values, np.nan)


def _smoothstep(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


def _square_grid(matrix: np.ndarray) -> np.ndarray:
    """Segment pairs of the image of the unit square's grid under ``matrix`` (2×2)."""
    ticks = np.linspace(0.0, 1.0, DIVISIONS + 1)
    ends = []
    for t in ticks:
        ends += [(t, 0.0), (t, 1.0), (0.0, t), (1.0, t)]
    return np.asarray(ends) @ matrix.T


def _outline(matrix: np.ndarray) -> np.ndarray:
    """The image of the unit square's boundary (a closed strip)."""
    return np.array([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], dtype=np.float64) @ matrix.T


def _circle(matrix: np.ndarray | None = None, count: int = 96) -> np.ndarray:
    """The image of the unit circle (an ellipse with semi-axes σ₁, σ₂)."""
    t = np.linspace(0.0, 2.0 * np.pi, count)
    points = np.stack([np.cos(t), np.sin(t)], axis=1)
    return points if matrix is None else points @ matrix.T


class OrthogonalizerView(View):
    camera = "2d"
    math = [
        (r"X = U S V^\top \;\Rightarrow\; \mathrm{polar}(X) = U V^\top",
         "the polar factor: the orthogonal matrix nearest to X, every singular value set to 1"),
        (r"X \leftarrow aX + b\,(XX^\top)X + c\,(XX^\top)^2 X",
         "one Newton-Schulz step: matrix products only, no SVD"),
        (r"= U\,p(S)\,V^\top,\quad p(\sigma) = a\sigma + b\sigma^3 + c\sigma^5",
         "the singular vectors stay; every singular value goes through the same scalar polynomial"),
        (r"X \leftarrow X / \lVert X \rVert_F \;\Rightarrow\; \sigma_i \le 1",
         "first divide by the Frobenius norm, which is at least the largest singular value"),
        (r"p(\sigma) = \tfrac{3}{2}\sigma - \tfrac{1}{2}\sigma^3",
         "the cubic: p(1) = 1 and p′(1) = 0, so it lands exactly on 1, quadratically, from any σ in (0, √3); "
         "but p′(0) = 3/2: small singular values grow only ×1.5 a step. Above √3 the sign flips, "
         "above √5 it diverges"),
        (r"(a, b, c) = (3.4445,\, -4.7750,\, 2.0315)",
         "Muon's quintic: p′(0) = 3.4445, so 5 steps multiply a tiny σ by up to 3.4445⁵ ≈ 490; but p(1) ≈ 0.70, "
         "no fixed point at 1: after 5 steps every σ₀ ≥ 0.0016 lies in [0.68, 1.21]"),
        (r"B \leftarrow \mu B + G,\quad O = \mathrm{NS}_5(G + \mu B)",
         "Muon, for a weight matrix W (m × n) with gradient G: orthogonalized Nesterov momentum, μ = 0.95"),
        (r"W \leftarrow W - \eta\,\sqrt{\max(1, m/n)}\;O",
         "every direction of the update moves by the same amount; biases are left to Adam"),
    ]

    def __init__(self, host):
        super().__init__(host)
        self._dragging: int | None = None  # the column being dragged (0 or 1)
        self._hovered: int | None = None

    def make_camera(self):
        return Camera2D(center=(0.45, 0.3), half_height=1.4)

    # -- geometry shared by the scene, the overlay and the input ---------------------------------
    def _shown_grid(self) -> np.ndarray:
        """The iterate as drawn: a quick tween from the previous step to the current one."""
        model = self.model
        s = _smoothstep(model.animation_phase / 0.5) if model.iteration > 0 else 1.0
        shown = (1.0 - s) * model.grid_previous + s * model.grid
        return shown if np.all(np.isfinite(shown)) else model.grid_previous

    def _handles(self) -> np.ndarray:
        """The input's columns A e₁ and A e₂ (rows), where the handles sit."""
        return np.asarray(self.model.grid_input, dtype=np.float64).T

    def _can_edit(self) -> bool:
        return not self.host.challenges.playing

    # -- scene -----------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        model, paint, mvp, vp = self.model, self.painter, frame.mvp, frame.viewport
        self.ctx.disable(self.ctx.DEPTH_TEST)  # a flat picture: later strokes go on top
        axes = np.array([[-10, 0], [10, 0], [0, -10], [0, 10]], dtype=np.float64)
        paint.lines(mvp, axes, (0.3, 0.33, 0.38, 0.8), 1.0, vp, strip=False)
        paint.lines(mvp, _circle(), REFERENCE, 1.0, vp)
        paint.lines(mvp, _outline(np.asarray(model.grid_polar)), TARGET, 2.0, vp)
        paint.lines(mvp, _outline(np.asarray(model.grid_input)), INPUT, 1.5, vp)
        grid = self._shown_grid()
        if np.all(np.isfinite(grid)):
            paint.lines(mvp, _square_grid(grid), GRID, 1.2, vp, strip=False)
            paint.lines(mvp, _outline(grid), GRID_EDGE, 2.5, vp)
            u, sigma, _ = np.linalg.svd(grid)
            paint.lines(mvp, _circle(grid), ELLIPSE, 2.0, vp)
            semi_axes = np.concatenate([-(u * sigma).T, (u * sigma).T], axis=1).reshape(-1, 2)
            paint.lines(mvp, semi_axes, ELLIPSE[:3] + (0.5,), 1.0, vp, strip=False)
            for column, color in zip(grid.T, COLUMNS):
                paint.lines(mvp, np.array([[0.0, 0.0], column]), color, 3.5, vp)
        for i, (handle, color) in enumerate(zip(self._handles(), COLUMNS)):
            paint.lines(mvp, np.array([[0.0, 0.0], handle]), color[:3] + (0.45,), 1.5, vp)
            if self._can_edit():
                big = i in (self._hovered, self._dragging)
                paint.points(mvp, handle, (0.05, 0.05, 0.07, 0.9), 22.0 if big else 18.0)
                paint.points(mvp, handle, color, 16.0 if big else 12.0)

    def overlay(self, draw_list, origin, frame) -> None:
        model = self.model

        def put(world, text, color, dx=8.0, dy=-8.0):
            """A label beside a world point, kept inside the scene."""
            frame.label(draw_list, world, text, color, (dx, dy))

        hint = " (drag)" if self._can_edit() else ""
        for i, (handle, color) in enumerate(zip(self._handles(), COLUMNS)):
            put(handle, f"A e{'₁₂'[i]}{hint}", color, 12.0, (4.0, -22.0)[i])  # apart when the columns nearly meet
        put(np.asarray(model.grid_polar).sum(axis=1), "UVᵀ (by SVD)", TARGET)
        grid = self._shown_grid()
        if np.all(np.isfinite(grid)):
            u, sigma, _ = np.linalg.svd(grid)
            centre = grid @ np.array([0.5, 0.5])
            for i in range(2):
                tip = u[:, i] * sigma[i]
                tip = tip if np.dot(tip, centre) < 0 else -tip  # the end away from the grid: room for a label
                put(tip, f"σ{'₁₂'[i]} = {sigma[i]:.3f}", ELLIPSE, 6.0, -6.0)
        x0, y0 = origin[0] + 12, origin[1] + 10
        a, b, c = model.coefficients
        lines = [(f"Newton-Schulz step {model.iteration}  ({model.params['method']})", (0.92, 0.93, 0.95, 1.0)),
                 (f"p(σ) = {a:.4g}σ {b:+.4g}σ³ {c:+.4g}σ⁵", MUTED_RGBA),
                 ("blue: the iterate X   grey: the input A   green: where it heads   orange: image of the unit circle",
                  MUTED_RGBA)]
        for k, (text, color) in enumerate(lines):
            draw_list.add_text(imgui.ImVec2(x0, y0 + 18 * k), imgui.get_color_u32(imgui.ImVec4(*color)), text)

    def handle_input(self, frame) -> bool:
        inp = frame.input
        if not self._can_edit():
            self._dragging = self._hovered = None
            return False
        ratio = frame.pixel_ratio
        mouse = np.asarray(inp.mouse, dtype=np.float64)
        if self._dragging is None:
            self._hovered = None
            if inp.hovered:
                pixels = np.array([frame.camera.world_to_screen(h, frame.viewport) for h in self._handles()])
                distance = np.linalg.norm(pixels - mouse, axis=1)
                nearest = int(np.argmin(distance))
                if distance[nearest] < HANDLE_PIXELS * ratio:
                    self._hovered = nearest
            if self._hovered is not None and inp.clicked and not inp.shift:
                self._dragging = self._hovered
            else:
                return False
        if not inp.left:
            self._dragging = None
            return False
        world = np.clip(frame.camera.screen_to_world(mouse, frame.viewport), -ENTRY_LIMIT, ENTRY_LIMIT)
        column = self._dragging
        for row in range(2):
            name = f"m{row}{column}"
            value = round(float(world[row]), 3)
            if value != self.host.runner.params[name]:
                self.host.runner.set_param(name, value)
        return True

    # -- panel -----------------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        a, b, c = model.coefficients
        imgui.separator()
        self.formulas.draw(r"p(\sigma) = a\sigma + b\sigma^3 + c\sigma^5", 20.0)
        p_one = a + b + c
        fixed = abs(p_one - 1.0) < 1e-3
        imgui.push_text_wrap_pos(0.0)
        imgui.text(f"(a, b, c) = ({a:.4g}, {b:.4g}, {c:.4g})")
        if fixed:
            slope = a + 3 * b + 5 * c  # p′(1): below 1 in size, σ near 1 is pulled onto it
            pull = "attracts" if abs(slope) < 1 else "repels"
            imgui.text_colored(GOOD if abs(slope) < 1 else BAD,
                               f"p(1) = 1 and p′(1) = {slope:.3g}: 1 is a fixed point that {pull}")
        else:
            imgui.text_colored(MUTED, f"p(1) = {p_one:.4f}: no fixed point at 1, σ cannot settle on 1")
        imgui.text_colored(MUTED, f"p′(0) = a = {a:.4g}: a tiny singular value grows ×{a:.3g} a step")
        grid = np.asarray(model.grid, dtype=np.float64)
        if np.all(np.isfinite(grid)):
            sigma = np.linalg.svd(grid, compute_uv=False)
            ratio = sigma[0] / sigma[1] if sigma[1] > 1e-12 else math.inf
            distance = float(np.linalg.norm(grid - model.grid_polar))
            imgui.text(f"grid: σ₁ = {sigma[0]:.4f}, σ₂ = {sigma[1]:.4f} (ratio {ratio:.3g})")
            imgui.text_colored(GOOD if distance < 1e-3 else MUTED, f"‖X − UVᵀ‖_F = {distance:.2e}")
        if model.diverged:
            imgui.text_colored(BAD, "The iteration blew up: a singular value left p's basin.")
        imgui.pop_text_wrap_pos()

        imgui.separator()
        imgui.text("Try a matrix")
        imgui.begin_disabled(not self._can_edit())
        for i, (name, entries, tip) in enumerate(PRESETS):
            if i % 2:
                imgui.same_line()
            if imgui.button(name):
                for key, value in zip(("m00", "m01", "m10", "m11"), entries):
                    self.host.runner.set_param(key, value)
            if imgui.is_item_hovered():
                imgui.set_tooltip(tip)
        imgui.end_disabled()
        imgui.text_colored(MUTED, "or drag the handles at the tips of A e₁ and A e₂.")

        imgui.separator()
        latest = self.run.latest()
        n = int(model.params["size"])
        imgui.push_text_wrap_pos(0.0)
        imgui.text(f"{n}×{n} gradient matrix, condition {model.params['condition']:.3g}:")
        imgui.text_colored(MUTED, f"{latest['in_band']:.0%} of its singular values within ±{model.params['band']:g} "
                                  f"of 1; smallest {latest['matrix_sigma_min']:.2e}")
        if model.params["race"]:
            losses = {name: latest[f"loss_{name}"] for name in RACE}
            finite = {k: v for k, v in losses.items() if math.isfinite(v)}
            if finite:
                leader = min(finite, key=finite.get)
                imgui.text(f"race: {RACE[leader][0]} leads ({finite[leader]:.3g})")
        imgui.pop_text_wrap_pos()

    # -- plots -----------------------------------------------------------------------------------
    def plots(self) -> None:
        if not implot.begin_subplots("##muon", 1, 4, imgui.ImVec2(-1, -1)):
            return
        self._grid_sigma_plot()
        self._map_plot()
        self._histogram_plot()
        self._race_plot()
        implot.end_subplots()

    def _grid_sigma_plot(self) -> None:
        model = self.model
        if not implot.begin_plot("grid: σ per step"):
            return
        history = np.asarray(model.grid_sigma_history, dtype=np.float64)
        steps = np.arange(len(history), dtype=np.float64)
        implot.setup_axes("Newton-Schulz step", "σ", 0, implot.AxisFlags_.auto_fit.value)
        implot.setup_axis_limits(implot.ImAxis_.x1.value, -0.3, max(8.0, len(history) - 0.7),
                                 implot.Cond_.always.value)
        implot.setup_legend(implot.Location_.south_east.value)
        if model.params["method"] == "quintic":
            _band(QUINTIC_BAND, vertical=False)
        _one(horizontal=True)
        for i in range(2):
            spec = implot.Spec(line_color=SIGMA_COLORS[i], line_weight=2.0, marker=implot.Marker_.circle.value,
                               marker_size=3.0)
            implot.plot_line(f"σ{'₁₂'[i]}", steps, _finite(history[:, i]), spec)
        implot.end_plot()

    def _map_plot(self) -> None:
        """The scalar map with the cobweb of the grid's two singular values."""
        model = self.model
        if not implot.begin_plot("σ → p(σ)"):
            return
        start = np.asarray(model.grid_sigma_history[0], dtype=np.float64)
        top = float(np.clip(np.nanmax(np.append(start[np.isfinite(start)], 1.0)) * 1.15, 1.3, 4.5))
        implot.setup_axes("σ", "p(σ)", 0, 0)
        implot.setup_axes_limits(0.0, top, -0.2, top, implot.Cond_.always.value)
        implot.setup_legend(implot.Location_.south_east.value)
        sigma = np.linspace(0.0, top, 200)
        implot.plot_line("##diagonal", sigma, sigma.copy(), implot.Spec(line_color=REFERENCE))
        _one(horizontal=True)
        implot.plot_line("p(σ)", sigma, _finite(model.sigma_map(sigma)),
                         implot.Spec(line_color=GRID_EDGE, line_weight=2.0))
        starts = implot.Spec(marker=implot.Marker_.circle.value, marker_size=4.0,
                             flags=implot.ItemFlags_.no_legend.value)
        implot.plot_scatter("##start", _finite(start), np.zeros_like(start), starts)
        path = iterate_singular_values(start, model.coefficients, model.iteration)
        for i in range(path.shape[1]):
            values = path[:, i]
            xs = np.repeat(values, 2)[:-1]
            ys = np.concatenate([[0.0], np.repeat(values[1:], 2)])[: len(xs)]
            spec = implot.Spec(line_color=SIGMA_COLORS[i], line_weight=1.5, flags=implot.ItemFlags_.no_legend.value)
            implot.plot_line(f"##cobweb{i}", _finite(xs), _finite(ys), spec)
        implot.end_plot()

    def _histogram_plot(self) -> None:
        """The n×n matrix's singular values on a log axis, now and at the start, against UVᵀ's."""
        model, latest = self.model, self.run.latest()
        band = float(model.params["band"])
        if not implot.begin_plot(f"n×n: {latest['in_band']:.0%} in band###histogram"):
            return
        start = np.asarray(model.matrix_sigma_history[0], dtype=np.float64)
        now = np.asarray(model.matrix_sigma_history[-1], dtype=np.float64)
        low = float(np.clip(np.nanmin(np.append(start[start > 0], 1.0)) * 0.5, 1e-9, 0.5))
        high = float(np.clip(np.nanmax(np.append(now[np.isfinite(now)], 1.0)) * 1.3, 1.5, 1e6))
        edges = np.geomspace(low, high, 41)
        top = max(4.0, 0.6 * len(now))
        implot.setup_axes("σ", "count", 0, 0)
        implot.setup_axis_scale(implot.ImAxis_.x1.value, implot.Scale_.log10.value)
        implot.setup_axes_limits(low, high, 0.0, top, implot.Cond_.always.value)
        implot.setup_legend(implot.Location_.north_west.value)
        _band((1.0 - band, 1.0 + band), vertical=True)
        _one(horizontal=False)
        implot.plot_text("UVᵀ", 1.0, top, imgui.ImVec2(-16, 10))
        for label, values, color, fill in (("step 0", start, INPUT_PLOT, 0.15), ("now", now, ELLIPSE, 0.35)):
            counts, _ = np.histogram(np.clip(values[np.isfinite(values)], low, high), bins=edges)
            xs = np.repeat(edges, 2)[1:-1]
            ys = np.repeat(counts.astype(np.float64), 2)
            if fill:
                implot.plot_shaded(label, xs, ys, 0.0, implot.Spec(fill_color=color, fill_alpha=fill))
            implot.plot_line(label, xs, ys, implot.Spec(line_color=color, line_weight=1.5))
        # a rug of every singular value: a single weak direction is one dot, not an invisible bar of 1
        rug = implot.Spec(marker=implot.Marker_.circle.value, marker_size=2.5, marker_fill_color=ELLIPSE,
                          marker_line_color=ELLIPSE, flags=implot.ItemFlags_.no_legend.value)
        values = np.clip(now[np.isfinite(now)], low, high)
        implot.plot_scatter("##rug", values, np.full_like(values, 0.5), rug)
        implot.end_plot()

    def _race_plot(self) -> None:
        run = self.run
        if not implot.begin_plot("race: loss"):
            return
        if not self.model.params["race"]:
            hidden = implot.AxisFlags_.no_tick_labels.value
            implot.setup_axes("tick", "loss", hidden, hidden)
            implot.setup_axes_limits(0.0, 1.0, 0.0, 1.0, implot.Cond_.always.value)
            implot.plot_text("the race is off", 0.5, 0.5)
            implot.end_plot()
            return
        implot.setup_axes("tick", "loss", implot.AxisFlags_.auto_fit.value, implot.AxisFlags_.auto_fit.value)
        implot.setup_axis_scale(implot.ImAxis_.y1.value, implot.Scale_.log10.value)
        implot.setup_legend(implot.Location_.south_west.value)
        ticks = np.arange(run.steps + 1, dtype=np.float64)
        for name, (label, color) in RACE.items():
            implot.plot_line(label, ticks, _finite(run.series(f"loss_{name}")),
                             implot.Spec(line_color=color, line_weight=2.0))
        implot.end_plot()


def _one(horizontal: bool) -> None:
    """The target every singular value heads for: σ = 1 (the polar factor's), as a line across the plot."""
    flags = (implot.InfLinesFlags_.horizontal.value if horizontal else 0) | implot.ItemFlags_.no_legend.value
    implot.plot_inf_lines("##one", np.array([1.0]), implot.Spec(line_color=TARGET, line_weight=1.5, flags=flags))


def _band(limits: tuple[float, float], vertical: bool) -> None:
    """A shaded band across the whole plot: ``limits`` on x (``vertical``) or on y; never fitted."""
    lo, hi = limits
    flags = implot.ItemFlags_.no_fit.value | implot.ItemFlags_.no_legend.value
    spec = implot.Spec(fill_color=TARGET, fill_alpha=0.15, flags=flags)
    far = np.array([-1e9, 1e9])
    if vertical:
        implot.plot_shaded("##band", np.array([lo, hi]), np.zeros(2), np.full(2, 1e9), spec)
    else:
        implot.plot_shaded("##band", far, np.full(2, lo), np.full(2, hi), spec)
