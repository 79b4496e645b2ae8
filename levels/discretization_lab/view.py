"""The discretization lab's view. Left pane: the continuous poles in the s-plane (drag them), the
stable half-plane and Euler's stable disk |1 + Δλ| < 1. Right pane: each Ā's poles against the
unit circle, and their paths as Δ grows with the Δ where Euler's leave it (hidden while a
prediction is open). Plots: the continuous response against the three discrete ones, the history
read back from the HiPPO-LegS state against a random memory's, and the LegS state itself."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.kit import PALETTE, Plot, decimate, finite, finite_rows, line, plot_strip, round_ticks, vlines
from sandbox.kit.plots import titled
from sandbox.view import EDGE, PLATE_PAD, View, side_by_side

from .model import HIPPO_STEP, METHODS

NAMES = {"euler": "Euler", "bilinear": "bilinear", "zoh": "ZOH"}
COLORS = {"euler": PALETTE.vermillion, "bilinear": PALETTE.green, "zoh": PALETTE.sky}
CONTINUOUS, LEGS, RANDOM, SIGNAL = PALETTE.yellow, PALETTE.purple, PALETTE.orange, PALETTE.white.alpha(0.8)
POLE_FORMULAS = {"euler": r"z = 1 + \Delta\lambda", "bilinear": r"z = \frac{1 + \Delta\lambda/2}{1 - \Delta\lambda/2}",
                 "zoh": r"z = e^{\Delta\lambda}"}
S_BOX = (-12.0, 2.0, -11.0, 11.0)  # the s-plane shown: σ from, to; ω from, to (1/s)
Z_EXTENT = 1.35  # the z-plane shows |Re z|, |Im z| up to this
Z_BOX = (-Z_EXTENT, Z_EXTENT, -Z_EXTENT, Z_EXTENT)
S_GRID = ((-10, -5), (-10, -5, 5, 10))  # the s-plane's grid lines (and labels) every 5/s: σ, ω
LOCUS_POINTS = 240  # Δ values along each method's path
PICK_PIXELS = 16.0  # how close a click must be to grab a pole
DRAG_INTERVAL_S = 0.05  # a dragged pole re-solves the system at most this often
STAIRS_LIMIT = 400  # fewer samples than this get markers


def xy(z) -> np.ndarray:
    """Complex numbers as plane points."""
    return np.stack([np.real(z), np.imag(z)], axis=-1).astype(np.float64)


def inside(points: np.ndarray, box) -> np.ndarray:
    """Which plane points lie inside ``box`` = (x0, x1, y0, y1)."""
    return np.all((points >= (box[0], box[2])) & (points <= (box[1], box[3])), axis=1)


def inside_pieces(z: np.ndarray, box) -> np.ndarray:
    """Segments (pairs of points) of a complex polyline that lie inside ``box``."""
    points, keep = xy(z), inside(xy(z), box)
    return np.stack([points[:-1], points[1:]], axis=1)[keep[:-1] & keep[1:]]


def continuous_note(stability: str, omega: float) -> str:
    """What the panel says of the continuous system itself when it is not stable ("" when it is)."""
    if stability == "unstable":
        return "The continuous system itself is unstable (σ > 0): it grows, and no Δ saves Euler."
    if stability == "marginally stable":
        ring = "rings forever at ω" if omega > 0 else "holds its state (an integrator)"
        euler = ("Euler's poles 1 + iΔω lie outside the unit circle for every Δ > 0, so Euler grows"
                 if omega > 0 else "Euler's pole stays at 1")
        return (f"σ = 0: the continuous system is marginally stable: it neither decays nor grows, it {ring}. "
                f"{euler}; bilinear and ZOH keep the poles on the circle.")
    return ""


def span(values) -> tuple[float, float]:
    """Axis limits around the finite ``values``, with a tenth of their range to spare."""
    low, high = np.nanmin(finite(values), initial=np.inf), np.nanmax(finite(values), initial=-np.inf)
    low, high = (low, high) if low <= high else (-1.0, 1.0)
    return low - 0.1 * max(high - low, 1e-6), high + 0.1 * max(high - low, 1e-6)


class DiscretizationView(View):
    controls = (("drag a pole in the s-plane (left)",
                 "moves it and its conjugate: each Ā's poles, the responses and Euler's limit follow"),)

    def __init__(self, context):
        super().__init__(context)
        self.z_cam = Camera2D()  # each plane in its own units (self.cam: the s-plane's), axes equal
        self._framed = {}  # pane -> (its size, the font) its camera was last framed for
        self.ranges = {name: (p.min, p.max) for name, p in context.manifest.params.items() if p.type == "float"}
        self._dragging = 0  # +1: the pole σ + iω, -1: its conjugate, 0: none
        self._pending: tuple[float, float] | None = None  # a dragged pole not yet sent to the model
        self._sent_at = -math.inf

    def panes(self):
        return side_by_side(("s", self.cam, 1.0), ("z", self.z_cam, 1.45))

    def _poles(self) -> np.ndarray:
        """The continuous poles λ, λ̄ (the one being dragged, before the model has it)."""
        sigma, omega = self._pending or (self.params["pole_real"], self.params["pole_imag"])
        return np.array([complex(sigma, omega), complex(sigma, -omega)])

    def _frame_pane(self, frame) -> None:
        """Frame a pane's plane with room around it for its text (titles above, tick labels beside and
        below, a status line under the z-plane), that room measured in lines at the scale shown: the
        labels keep clear of the plane in a small window and at a large UI scale."""
        font = imgui.get_font_size()
        key = (round(frame.size[0]), round(frame.size[1]), font)
        if self._framed.get(frame.pane) == key:
            return
        self._framed[frame.pane] = key
        width = imgui.calc_text_size("+10i").x + 0.6 * font
        # (box, room left, right, below, above in window units): the s-plane's ω labels sit left of it, its σ
        # labels and axis name below; the z-plane's status line below; two title lines above both.
        box, left, right, below, above = ((S_BOX, width, 0.4 * font, 2.8 * font, 3.0 * font) if frame.pane == "s"
                                          else (Z_BOX, 0.5 * font, 0.5 * font, 1.7 * font, 3.0 * font))
        x0, x1, y0, y1 = box
        pane_w, pane_h = frame.size
        scale = max((x1 - x0) / max(pane_w - left - right, 0.3 * pane_w),
                    (y1 - y0) / max(pane_h - below - above, 0.3 * pane_h))  # world units per window unit
        camera = self.cam if frame.pane == "s" else self.z_cam
        camera.fit(x0 - left * scale, x1 + right * scale, y0 - below * scale, y1 + above * scale, 0.0, follow=True)
        self.context.request_frames(2)

    def scene(self, frame) -> None:
        self._frame_pane(frame)
        self.gl.disable(self.gl.DEPTH_TEST)
        box = S_BOX if frame.pane == "s" else Z_BOX
        x0, x1, y0, y1 = box
        if frame.pane == "s":  # the stable half-plane and the grid
            self.rects(frame, (x0, 0.0, y0, y1), PALETTE.green.alpha(0.2))
            self.lines(frame, [[(s, y0), (s, y1)] for s in S_GRID[0]] + [[(x0, w), (x1, w)] for w in S_GRID[1]],
                       PALETTE.grid.alpha(0.35))
        self.lines(frame, [[x0, 0], [x1, 0], [0, y0], [0, y1]], PALETTE.grid, 1.5)
        self.outline(frame, box, PALETTE.grid)
        if frame.pane == "s":
            self.lines(frame, inside_pieces(self.model.euler_disk(), box), COLORS["euler"].alpha(0.8), 2.0)
            return self.dots(frame, xy(self._poles()), CONTINUOUS, 16.0)
        self.lines(frame, xy(np.exp(1j * np.linspace(0.0, 2 * math.pi, 160))), PALETTE.text.alpha(0.9), 2.0, strip=True)
        highlighted, hidden = self.params["method"], self.challenge.hide_answers
        for method in sorted(METHODS, key=lambda m: m == highlighted):  # the highlighted one on top
            big = method == highlighted
            if not hidden:
                for branch in self.model.pole_paths(*self.ranges["dt"], LOCUS_POINTS)[method]:
                    self.lines(frame, inside_pieces(branch, box), COLORS[method].alpha(1.0 if big else 0.45), 1.5)
            poles = finite_rows(xy(self.model.discrete_poles[method]), limit=Z_EXTENT)
            self.dots(frame, poles, COLORS[method], 14.0 if big else 9.0)
        crossing = None if hidden else self.model.euler_crossing(*self.ranges["dt"])
        if crossing is not None:
            self.painter.points(frame.mvp, xy(crossing), PALETTE.white, 8.0)

    def overlay(self, draw_list, frame) -> None:
        model, hidden, muted, em = self.model, self.challenge.hide_answers, PALETTE.muted, imgui.get_font_size()

        def text(point, wordings, color=PALETTE.text, dx=0.0, dy=0.0, align=0.0, plate=False):
            """The first of ``wordings`` (a string, or several longest first) that fits the pane and runs into
            no text drawn on it before (``frame.taken``); none when none does."""
            at = frame.to_overlay(point)
            if at is None or not np.all(np.isfinite(point)):
                return
            width, height = frame.size
            for words in ([wordings] if isinstance(wordings, str) else wordings):
                w, h = imgui.calc_text_size(words)
                x = at.x - frame.origin[0] + dx - align * w
                y = at.y - frame.origin[1] + dy
                if w + 8.0 > width or not (-0.5 * w < x < width - 0.5 * w and 0.0 <= y < height):
                    continue
                x, y = min(max(x, EDGE), width - w - EDGE), min(max(y, EDGE), height - h - EDGE)
                pad = PLATE_PAD if plate else (1.0, 1.0)
                box = (x - pad[0], y - pad[1], x + w + pad[0], y + h + pad[1])
                if all(box[2] <= a or c <= box[0] or box[3] <= b or d <= box[1] for a, b, c, d in frame.taken):
                    frame.text(draw_list, (x, y), words, color, plate)  # which takes its place
                    return

        x0, x1, y0, y1 = S_BOX if frame.pane == "s" else Z_BOX
        low, high = self.ranges["dt"]
        dt = f"Δ = {self.params['dt']:.3g} s"
        paths = (["paths hidden while you predict", "paths hidden"] if hidden else
                 [f"paths for Δ from {low:g} to {high:g} s", f"paths: Δ {low:g} to {high:g} s"])
        titles = (((["continuous poles λ = σ ± iω", "continuous poles λ", "poles λ"]), ["drag them"])
                  if frame.pane == "s" else
                  (["poles of Ā against the unit circle", "poles of Ā", "Ā"],
                   [f"dots at {dt}; {paths[0]}", f"dots at {dt}; {paths[1]}", f"dots at {dt}", dt]))
        for wordings, color, dy in zip(titles, (PALETTE.text, muted), (-2.8 * em, -1.35 * em)):
            text((0.5 * (x0 + x1), y1), wordings, color, dy=dy, align=0.5)
        if frame.pane == "s":
            for omega in S_GRID[1]:
                text((x0, omega), f"{omega:+d}i", muted, dx=-4.0, dy=-0.5 * em, align=1.0)
            for sigma in (*S_GRID[0], 0):
                text((sigma, y0), f"{sigma}", muted, dy=2, align=0.5)
            text((x0, y0), ["σ (1/s)", "σ"], muted, dy=6 + 1.2 * em)
            text((x0, y1), ["stable: Re λ < 0", "stable"], PALETTE.good, dx=4, dy=4)
            disk = xy(model.euler_disk())  # named where farthest from the poles and clear of the frame
            room = disk[inside(disk, (x0, x1, 0.7 * y0, 0.7 * y1))]
            if len(room):
                point = room[np.argmax(np.min(np.linalg.norm(room[:, None] - xy(self._poles())[None], axis=2), 1))]
                left = point[0] < np.mean(disk[:, 0])  # the name reaches toward the disk's centre
                text(point, ["Euler stable inside", "Euler stable"], COLORS["euler"], dx=6.0 if left else -6.0,
                     dy=-0.5 * em, align=0.0 if left else 1.0, plate=True)
            return
        radius = model.radius["euler"]
        word, sign = ("UNSTABLE", ">") if radius > 1.0 else ("stable", "≤")
        status = [f"Euler {word}: |1 + Δλ| = {radius:.4g} {sign} 1", f"Euler {word}: {radius:.3g} {sign} 1",
                  f"Euler {word}"]
        text((0.0, y0), status, PALETTE.bad if radius > 1.0 else PALETTE.good, dy=0.4 * em, align=0.5)
        crossing = None if hidden else model.euler_crossing(low, high)
        if crossing is not None:  # named at the lower crossing: the paths are named along the upper branch
            limit = f"Δ = {model.euler_limit:.3g} s"
            text(xy(crossing[1]), [f"Euler leaves at {limit}", limit],
                 dx=-10, dy=0.1 * em, align=1.0, plate=True)
        for point, words, dy in (((1.0, 0.0), "1", 2), ((-1.0, 0.0), "−1", 2), ((0.0, 1.0), "i", -em)):
            text(point, words, muted, dx=4, dy=dy)
        for method, branch in ({} if hidden else model.pole_paths(low, high, LOCUS_POINTS)).items():
            visible = xy(branch[0])[inside(xy(branch[0]), Z_BOX)]
            if len(visible):  # each path named at its last visible point
                text(visible[-1], NAMES[method], COLORS[method], dx=6, dy=-0.5 * em)

    def handle_input(self, frame) -> bool:
        """Drag either continuous pole in the s-plane; its conjugate follows (the system is real)."""
        self._frame_pane(frame)  # before the camera takes this frame's input
        inp = frame.input
        if frame.pane != "s" or self.challenge.locked:
            return False
        if not self._dragging:  # a click near a pole grabs it
            if inp.clicked and inp.hovered and not inp.shift:
                away = [np.hypot(*np.subtract(frame.camera.world_to_screen(pole, frame.viewport), inp.mouse))
                        for pole in xy(self._poles())]
                self._dragging = (1, -1)[int(np.argmin(away))] if min(away) <= PICK_PIXELS else 0
            return bool(self._dragging)
        if inp.left:
            s = frame.mouse_world()
            self._pending = (float(np.clip(s[0], *self.ranges["pole_real"])),
                             float(np.clip(self._dragging * s[1], *self.ranges["pole_imag"])))
        else:  # released: the model gets the final position
            self._dragging = 0
        self._send(force=not inp.left)
        return bool(self._dragging)

    def _send(self, force: bool = False) -> None:
        """The dragged pole to the model, at most every DRAG_INTERVAL_S (each re-solves the system)."""
        if self._pending is not None and (force or self.context.time - self._sent_at >= DRAG_INTERVAL_S):
            self.context.set_param("pole_real", self._pending[0])
            self.context.set_param("pole_imag", self._pending[1])
            self._sent_at, self._pending = self.context.time, (None if force else self._pending)

    def panel(self) -> None:
        model, method, (low, high) = self.model, self.params["method"], self.ranges["dt"]
        imgui.separator()
        imgui.text_colored(COLORS[method], f"{NAMES[method]} maps each pole λ to")
        self.formulas.draw(POLE_FORMULAS[method], 20.0)
        note = continuous_note(model.continuous_stability, self.params["pole_imag"])
        if note:
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(PALETTE.bad if model.continuous_stability == "unstable" else PALETTE.muted, note)
            imgui.pop_text_wrap_pos()
        imgui.begin_disabled(self.challenge.locked or self.challenge.hide_answers or not low < model.euler_limit < high)
        for words, factor in (("Δ just below Euler's limit", 0.97), ("just above", 1.03)):
            if imgui.button(words):
                self.context.set_param("dt", float(np.clip(model.euler_limit * factor, low, high)))
            imgui.same_line()
        imgui.new_line()
        imgui.end_disabled()
        imgui.separator()
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(PALETTE.muted, f"Two memories of N = {self.params['hippo_n']} numbers, HiPPO-LegS and a "
                                          f"random A, take a sample every {HIPPO_STEP * 1000:g} ms "
                                          f"({model.samples_seen} so far) and read the history back.")
        imgui.pop_text_wrap_pos()

    def plots(self) -> None:
        model, p = self.model, self.params
        verdict = {"unstable": "the system itself grows", "marginally stable": "σ = 0, marginally stable"}.get(
            model.continuous_stability, "")
        if model.radius["euler"] > 1.0 and model.continuous_stability != "unstable":
            verdict += ", Euler blows up" if verdict else "Euler blows up"
        limits, horizon = span(np.concatenate([model.y_continuous, model.u_fine])), (0.0, p["horizon"])
        dt, errors = f"Δ = {p['dt']:.3g} s", f"LegS {model.hippo_error:.2f}, random {model.random_error:.2f}"
        tail = f": {verdict}" if verdict else ""
        plots = [
            Plot("###response", lambda run: self._response(limits), x_label="t (s)", y_label="y", x_limits=horizon,
                 y_limits=limits, weight=1.5, priority=3),
            Plot("###memory", self._memory, x_label="s (s)", y_label="u(s)", x_limits=horizon,
                 y_limits=span(model.history_true), weight=1.3, min_width=10, priority=2),
            Plot("###coefficients", self._coefficients, x_label="n", y_label="c_n", legend=False, weight=0.6,
                 min_width=8, priority=1)]
        plot_strip(self.context, titled(plots, [
            [f"response to the {p['input']}, {dt}{tail}", f"{p['input']}, {dt}{tail}", verdict or f"{p['input']}, {dt}",
             "response"],
            [f"history read back: {errors}", errors, "history read back", "history"], ["LegS state c_n", "c_n"]]))

    def _time_ticks(self) -> None:
        """A few round ticks on the time axis: in a narrow plot implot's own run into each other."""
        round_ticks(0.0, self.params["horizon"], 4 if imgui.get_content_region_avail().x > 12 * imgui.get_font_size()
                    else 2)

    def _response(self, limits) -> None:
        self._time_ticks()
        model, highlighted = self.model, self.params["method"]
        line("u", model.fine_times, model.u_fine, PALETTE.muted.alpha(0.45), 1.0)
        line("y(t)", model.fine_times, model.y_continuous, CONTINUOUS, 2.5)
        few = len(model.sample_times) <= STAIRS_LIMIT
        middle, reach = 0.5 * (limits[0] + limits[1]), 2.0 * (limits[1] - limits[0])
        for method in sorted(METHODS, key=lambda m: m == highlighted):
            big = method == highlighted
            times, ys = decimate(model.sample_times, model.y_discrete[method])
            ys[np.abs(ys - middle) > reach] = np.nan  # an unstable method leaves a gap, not a wall of stairs
            marker = implot.Marker_.circle.value if few and big else implot.Marker_.none.value
            implot.plot_stairs(NAMES[method], times, ys, implot.Spec(
                line_color=COLORS[method].alpha(1.0 if big else 0.55), line_weight=2.0 if big else 1.0,
                marker=marker, marker_size=2.5))
        vlines([model.time])

    def _memory(self, run) -> None:
        self._time_ticks()
        model = self.model
        for label, values, color, weight in (("signal", model.history_true, SIGNAL, 3.0),
                                             ("LegS", model.history_hippo, LEGS, 1.8),
                                             ("random A", model.history_random, RANDOM, 1.8)):
            line(label, model.history_times, values, color, weight)
        vlines([model.time])

    def _coefficients(self, run) -> None:
        state = finite(run.array("hippo_state"))
        implot.plot_bars("c_n", np.arange(len(state), dtype=np.float64), state, 0.7, implot.Spec(fill_color=LEGS))
