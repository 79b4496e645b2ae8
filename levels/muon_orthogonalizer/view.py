"""The Matrix Orthogonalizer: the image of the unit square under the iterate, snapping square one
Newton-Schulz step at a time, with the matrix's columns as handles to drag. The plots follow the
singular values: of the grid per step, through the scalar map p(σ), as a histogram for the n×n
gradient matrix against its exact polar factor, and the losses of the optimizer race."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.kit import PALETTE, Plot, finite, hline, line, plot_strip, scatter, vlines, first_fit
from sandbox.view import View

from .kernels import QUINTIC_BAND

ITERATE, INPUT, TARGET, ELLIPSE = PALETTE.sky, PALETTE.muted.alpha(0.35), PALETTE.green, PALETTE.orange
#: The images of e₁ and e₂ (the matrix's columns), for the handles and the iterate alike; σ₁ and σ₂.
COLUMNS = (PALETTE.vermillion, PALETTE.yellow)
SIGMAS = (PALETTE.orange, PALETTE.purple)
#: what the scene's colours are, for the panel when the scene's pane is too short for them
KEY = (("blue: the iterate X", ITERATE), ("grey: the input A", PALETTE.muted),
       ("green: where it heads", TARGET), ("orange: X (unit circle)", ELLIPSE))
RACE = {"sgd": ("SGD + momentum", PALETTE.muted), "adam": ("Adam", PALETTE.blue), "muon": ("Muon", PALETTE.orange)}
HANDLE_PIXELS = 16.0  # how close the mouse must be to a handle to pick it up
ENTRY_LIMIT = 2.0  # the manifest's range of every matrix entry
#: Matrices worth trying (m00, m01, m10, m11), with what each shows.
PRESETS = (
    ("Squashed", (1.2, 0.8, 0.15, 0.35), "the default: σ₁/σ₂ ≈ 7"),
    ("Nearly singular", (1.0, 0.9, 0.5, 0.46), "σ₂ almost 0: the cubic needs many ×1.5 steps"),
    ("Reflection", (0.3, 1.1, 0.9, 0.2), "det < 0: the nearest orthogonal matrix is a reflection"),
    ("Large (σ₁ ≈ 2.9)", (2.0, 2.0, 0.0, 0.5), "untick the normalization: the cubic blows up past √5"),
)
SQUARE = np.array([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], dtype=np.float64)  # the unit square's boundary
GRID = np.array([end for t in np.linspace(0, 1, 9) for end in ((t, 0), (t, 1), (0, t), (1, t))], float)  # 8×8 cells
CIRCLE = np.stack([np.cos(np.linspace(0, 2 * np.pi, 96)), np.sin(np.linspace(0, 2 * np.pi, 96))], axis=1)


class OrthogonalizerView(View):
    camera = "2d"
    controls = (("drag a dot at the tip of A e₁ or A e₂",
                 "moves that column of the matrix; the iteration starts over from it (locked while a challenge runs)"),)

    _key_in_caption = True  # whether the scene's caption had room for the colours' key (else: the panel)
    _dragging: int | None = None  # the column being dragged (0 or 1): its handle sits at its tip, A eᵢ
    _hovered: int | None = None

    def make_camera(self):
        return Camera2D(center=(0.45, 0.3), half_height=1.4)

    def scene(self, frame) -> None:
        model, paint, mvp, vp = self.model, self.painter, frame.mvp, frame.viewport
        self.gl.disable(self.gl.DEPTH_TEST)  # a flat picture: later strokes go on top
        axes = np.array([[-10, 0], [10, 0], [0, -10], [0, 10]], dtype=np.float64)
        paint.lines(mvp, axes, PALETTE.grid, 1.0, vp, strip=False)
        paint.lines(mvp, CIRCLE, PALETTE.muted.alpha(0.45), 1.0, vp)
        paint.lines(mvp, SQUARE @ model.grid_polar.T, TARGET.alpha(0.8), 2.0, vp)
        paint.lines(mvp, SQUARE @ model.grid_input.T, INPUT, 1.5, vp)
        grid, u, sigma = model.shown_grid()
        if np.all(np.isfinite(sigma)):
            paint.lines(mvp, GRID @ grid.T, ITERATE.alpha(0.9), 1.2, vp, strip=False)
            paint.lines(mvp, SQUARE @ grid.T, ITERATE.lighter(0.3), 2.5, vp)
            paint.lines(mvp, CIRCLE @ grid.T, ELLIPSE, 2.0, vp)
            semi_axes = np.concatenate([-(u * sigma).T, (u * sigma).T], axis=1).reshape(-1, 2)
            paint.lines(mvp, semi_axes, ELLIPSE.alpha(0.5), 1.0, vp, strip=False)
            for column, color in zip(grid.T, COLUMNS):
                paint.lines(mvp, np.array([[0.0, 0.0], column]), color, 3.5, vp)
        for i, (handle, color) in enumerate(zip(model.grid_input.T, COLUMNS)):
            paint.lines(mvp, np.array([[0.0, 0.0], handle]), color.alpha(0.45), 1.5, vp)
            if not self.challenge.locked:
                big = i in (self._hovered, self._dragging)
                paint.points(mvp, handle, PALETTE.shadow, 22.0 if big else 18.0)
                paint.points(mvp, handle, color, 16.0 if big else 12.0)

    def overlay(self, draw_list, frame) -> None:
        model = self.model
        a, b, c = model.coefficients
        room = frame.size[0] - 14.0  # a caption line starts 10 in and keeps 4 from the right edge
        lines = [f"Newton-Schulz iteration {model.iteration}  ({model.params['method']})",
                 (f"p(σ) = {a:.4g}σ {b:+.4g}σ³ {c:+.4g}σ⁵", PALETTE.muted)]
        # the colours' key makes four lines: in a short pane (a large UI scale) they would cover the
        # handles, so the key goes to the panel
        self._key_in_caption = 8.0 + 4 * (imgui.get_text_line_height() + 6.0) <= frame.size[1] / 3.0
        if self._key_in_caption:
            key = (("blue: the iterate X   grey: the input A", "blue: X   grey: A"),
                   ("green: where it heads   orange: image of the unit circle",
                    "green: where it heads   orange: X (unit circle)", "green: UVᵀ   orange: X (circle)"))
            lines += [(first_fit(wordings, room), PALETTE.muted) for wordings in key]
        frame.caption(draw_list, lines)  # first: the labels keep clear of it
        # the handles say what to drag and are always named; UVᵀ where there is room, then the σ
        hint = "" if self.challenge.locked else " (drag)"
        items = [(handle, f"A e{'₁₂'[i]}{hint}", color, 3, (12.0, (4.0, -22.0)[i]))  # apart when the columns meet
                 for i, (handle, color) in enumerate(zip(model.grid_input.T, COLUMNS))]
        items.append((model.grid_polar.sum(axis=1), "UVᵀ (by SVD)", TARGET, 2))
        grid, u, sigma = model.shown_grid()
        if np.all(np.isfinite(sigma)):
            centre = grid @ np.array([0.5, 0.5])
            for i in range(2):
                tip = u[:, i] * sigma[i]
                tip = tip if np.dot(tip, centre) < 0 else -tip  # the end away from the grid: room for a label
                items.append((tip, f"σ{'₁₂'[i]} = {sigma[i]:.3f}", ELLIPSE, 1, (6.0, -6.0)))
        frame.labels(draw_list, items)

    def handle_input(self, frame) -> bool:
        """Drag a handle to edit that column of the matrix (the iteration restarts from it)."""
        inp, mouse = frame.input, np.asarray(frame.input.mouse, dtype=np.float64)
        if self.challenge.locked or not inp.left:
            self._dragging = None
        if self._dragging is None:
            pixels = np.array([frame.camera.world_to_screen(h, frame.viewport) for h in self.model.grid_input.T])
            distance = np.linalg.norm(pixels - mouse, axis=1)
            near = inp.hovered and not self.challenge.locked and distance.min() < HANDLE_PIXELS * frame.pixel_ratio
            self._hovered = int(np.argmin(distance)) if near else None
            if self._hovered is None or not inp.clicked or inp.shift:
                return False
            self._dragging = self._hovered
        world = np.clip(frame.camera.screen_to_world(mouse, frame.viewport), -ENTRY_LIMIT, ENTRY_LIMIT)
        for row in range(2):
            name, value = f"m{row}{self._dragging}", round(float(world[row]), 3)
            if value != self.params[name]:
                self.context.set_param(name, value)
        return True

    def panel(self) -> None:
        model = self.model
        a, b, c = model.coefficients
        if not self._key_in_caption:  # the scene's pane is too short for it
            imgui.separator()
            for k, (text, color) in enumerate(KEY):
                if k % 2:
                    imgui.same_line()
                imgui.text_colored(color, text)
        imgui.separator()
        self.formulas.draw(r"p(\sigma) = a\sigma + b\sigma^3 + c\sigma^5", 20.0)
        imgui.push_text_wrap_pos(0.0)
        imgui.text(f"(a, b, c) = ({a:.4g}, {b:.4g}, {c:.4g})")
        kind, text = model.fixed_point()
        imgui.text_colored({"attracts": PALETTE.good, "repels": PALETTE.bad}.get(kind, PALETTE.muted), text)
        imgui.text_colored(PALETTE.muted, f"p′(0) = a = {a:.4g}: a tiny singular value grows ×{a:.3g} an iteration")
        sigma = model.grid_sigma_history[-1]
        if np.all(np.isfinite(sigma)):
            ratio = sigma[0] / sigma[1] if sigma[1] > 1e-12 else np.inf
            imgui.text(f"grid: σ₁ = {sigma[0]:.4f}, σ₂ = {sigma[1]:.4f} (ratio {ratio:.3g})")
            distance = model.grid_distance()
            imgui.text_colored(PALETTE.good if distance < 1e-3 else PALETTE.muted, f"‖X − UVᵀ‖_F = {distance:.2e}")
        if model.diverged:
            imgui.text_colored(PALETTE.bad, "The iteration blew up: a singular value left p's basin.")
        imgui.pop_text_wrap_pos()
        imgui.separator()
        imgui.text("Try a matrix")
        imgui.begin_disabled(self.challenge.locked)
        for i, (name, entries, tip) in enumerate(PRESETS):
            if i % 2:
                imgui.same_line()
            if imgui.button(name):
                for key, value in zip(("m00", "m01", "m10", "m11"), entries):
                    self.context.set_param(key, value)
            if imgui.is_item_hovered():
                imgui.set_tooltip(tip)
        imgui.end_disabled()
        imgui.text_colored(PALETTE.muted, "or drag the handles at the tips of A e₁ and A e₂.")
        imgui.separator()
        params, latest = self.params, self.run.latest()  # the n×n matrix (hidden while a challenge asks about it)
        imgui.push_text_wrap_pos(0.0)
        imgui.text(f"{params['size']}×{params['size']} gradient matrix, condition {params['condition']:.3g}:")
        if self.challenge.hide_answers:
            imgui.text_colored(PALETTE.muted, "where its singular values are now: hidden until the verdict")
        else:
            imgui.text_colored(PALETTE.muted, f"{latest['in_band']:.0%} of its singular values within "
                                              f"±{params['band']:g} of 1; smallest {latest['matrix_sigma_min']:.2e}")
        losses = {name: latest[f"loss_{name}"] for name in RACE if np.isfinite(latest[f"loss_{name}"])}
        if params["race"] and losses:
            leader = min(losses, key=losses.get)
            imgui.text(f"race: {RACE[leader][0]} leads ({losses[leader]:.3g})")
        imgui.pop_text_wrap_pos()

    def plots(self) -> None:
        model = self.model
        top = float(np.clip(np.nanmax(np.append(finite(model.cobweb()[0]), 1.0)) * 1.15, 1.3, 4.5))
        spectrum, hidden = model.spectrum(), self.challenge.hide_answers
        # left to right: the grid's σ, then the maps; a narrow strip (about 9.5 font sizes a plot keep
        # its ticks and legend apart) keeps the most important: the map, the histogram, the race or
        # the share in the band, then the grid's σ
        plot_strip(self.context, [
            Plot("grid: σ₁, σ₂", self._grid_sigma_plot, x_label="iteration", y_label="σ",
                 x_limits=(-0.3, max(8.0, model.iteration + 0.3)), min_width=9.5, priority=1),
            Plot("σ → p(σ)", lambda run: self._map_plot(top), x_label="σ", y_label="p(σ)", x_limits=(0.0, top),
                 y_limits=(-0.2, top), legend=False, min_width=9.5, priority=5),
            Plot("n×n: σ###histogram", self._histogram_plot, x_label="σ", y_label="count", x_log=True,
                 x_limits=(spectrum["low"], spectrum["high"]), y_limits=(0.0, max(4.0, 0.6 * model.params["size"])),
                 min_width=9.5, priority=4),
            Plot("race: loss", self._race_plot, x_label="step", y_label="loss", y_log=True, min_width=9.5, priority=3,
                 when=lambda: bool(model.params["race"])),
            Plot("n×n in band", self._band_share_plot, x_label="iteration", y_label="share",
                 x_limits=(-0.3, max(8.0, model.iteration + 0.3)), y_limits=(0.0, 1.15), legend=False,
                 min_width=9.5, priority=2, when=lambda: not model.params["race"] and not hidden)])

    def _grid_sigma_plot(self, run) -> None:
        model = self.model
        if model.params["method"] == "quintic":
            _band(QUINTIC_BAND, vertical=False)
        hline(1.0, TARGET)
        history = np.asarray(model.grid_sigma_history, dtype=np.float64)
        steps = np.arange(len(history), dtype=np.float64)
        for i in range(2):
            line(f"σ{'₁₂'[i]}", steps, history[:, i], SIGMAS[i])
            scatter(f"σ{'₁₂'[i]}", steps, history[:, i], SIGMAS[i], size=3.0, legend=False)

    def _map_plot(self, top: float) -> None:
        """The scalar map p with the cobweb of the grid's two singular values."""
        model = self.model
        sigma = np.linspace(0.0, top, 200)
        line("diagonal", sigma, sigma, PALETTE.muted.alpha(0.45), weight=1.0)
        hline(1.0, TARGET)
        line("p(σ)", sigma, model.sigma_map(sigma), ITERATE)
        path = model.cobweb()
        scatter("start", path[0], np.zeros_like(path[0]), ITERATE, legend=False)
        for i in range(path.shape[1]):  # up to the curve, across to the diagonal, and again
            xs = np.repeat(path[:, i], 2)[:-1]
            ys = np.concatenate([[0.0], np.repeat(path[1:, i], 2)])[: len(xs)]
            line(f"cobweb {i}", finite(xs), ys, SIGMAS[i], weight=1.5, legend=False)

    def _histogram_plot(self, run) -> None:
        """The n×n matrix's singular values on a log axis, at step 0 and now (not while a challenge
        asks where they go), against UVᵀ's, all at 1."""
        spectrum = self.model.spectrum()
        _band((1.0 - self.params["band"], 1.0 + self.params["band"]), vertical=True)
        vlines([1.0], ["UVᵀ"], TARGET)
        xs = np.repeat(spectrum["edges"], 2)[1:-1]
        shown = (("step 0", "start", PALETTE.muted, 0.15),) + (() if self.challenge.hide_answers else
                                                              (("now", "now", ELLIPSE, 0.35),))
        for label, key, color, fill in shown:
            ys = np.repeat(spectrum[key].astype(np.float64), 2)
            implot.plot_shaded(label, xs, ys, 0.0, implot.Spec(fill_color=color, fill_alpha=fill))
            line(label, xs, ys, color, weight=1.5)
        if not self.challenge.hide_answers:  # a rug: a single weak direction is one dot, not an invisible bar of 1
            values = spectrum["values"]
            scatter("rug", values, np.full_like(values, 0.5), ELLIPSE, size=2.5, legend=False)

    def _band_share_plot(self, run) -> None:
        """The share of the n×n matrix's singular values within ±band of 1 after each iteration, and
        the first iteration that has them all (what the steps-to-the-band challenge measures)."""
        iterations, share = run.series("iteration"), run.series("in_band")
        ends = np.flatnonzero(np.diff(iterations, append=np.inf) != 0)  # the last step of each iteration
        line("share", iterations[ends], share[ends], ELLIPSE, marker=3.0)
        hline(1.0, TARGET)
        full = self.model.measure_steps_to_band(run)
        if full >= 0:
            vlines([full], [f"{full:.0f}"], TARGET)

    def _race_plot(self, run) -> None:
        steps = run.series_steps().astype(np.float64)
        for name, (label, color) in RACE.items():
            line(label.split()[0], steps, run.series(f"loss_{name}"), color)  # short legend: SGD, Adam, Muon



def _band(limits: tuple[float, float], vertical: bool) -> None:
    """A shaded band across the whole plot: ``limits`` on x (``vertical``) or on y; never fitted."""
    lo, hi = limits
    spec = implot.Spec(fill_color=TARGET, fill_alpha=0.15,
                       flags=implot.ItemFlags_.no_fit.value | implot.ItemFlags_.no_legend.value)
    if vertical:
        implot.plot_shaded("##band", np.array([lo, hi]), np.zeros(2), np.full(2, 1e9), spec)
    else:
        implot.plot_shaded("##band", np.array([-1e9, 1e9]), np.full(2, lo), np.full(2, hi), spec)
