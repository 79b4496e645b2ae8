"""The Interference Demo, drawn. Three panes: W's columns as arrows (the best instance by loss, or
one picked in the panel), WᵀW as a heat map with b beside it and, under them, one feature switched
on with the ghost activations it makes on the others before and after ReLU; and the phase diagram
of two features in one dimension with this run's cell marked. While a prediction is open, the
trained model stays hidden."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.camera import Camera2D
from sandbox.gfx.draw import arrows, box_segments
from sandbox.kit import PALETTE, Plot, first_fit, line, plot_strip, progress_bar
from sandbox.view import View, side_by_side

from .model import stored_phase
from .toy import KEPT_NORM, dimensionality

PHASE_COLORS = (PALETTE.orange, PALETTE.sky, PALETTE.green, PALETTE.yellow, PALETTE.muted)
POSITIVE, NEGATIVE = np.array(PALETTE.orange.rgba), np.array(PALETTE.blue.rgba)
HEAT_RANGE = 1.2  # |WᵀW| at which the heat map's colour saturates
BAR_SCALE = 1.1  # world units per unit of activation in the switch-on bars
BAR_BASE = -2.1  # the bars' zero line (world y)
TIP_PIXELS = 22.0  # how close a click must be to an arrow's tip to switch that feature on
MUTED = PALETTE.muted


def feature_color(i: int):
    return PALETTE.pick(i)


def heat(values: np.ndarray) -> np.ndarray:
    """A diverging colour map: orange positive, blue negative, dark at 0 (rows, cols, 4)."""
    t = np.clip(np.asarray(values, np.float64) / HEAT_RANGE, -1.0, 1.0)[..., None]
    dark = np.array([0.08, 0.09, 0.11, 1.0])
    rgba = np.where(t >= 0, dark + t * (POSITIVE - dark), dark - t * (NEGATIVE - dark))
    rgba[..., 3] = 1.0
    return rgba


class SuperpositionView(View):
    camera = "2d"
    controls = (("click a feature's arrow (left pane) or its column of WᵀW",
                 "switches that feature on alone: the middle pane shows the ghosts it makes on the others"),
                ("drag / wheel in a pane", "pan / zoom it"))

    def __init__(self, context):
        super().__init__(context)
        self.cam2, self.cam3 = Camera2D(), Camera2D()
        self.instance: int | None = None  # None: the best by loss

    def panes(self):
        return side_by_side(("features", self.cam, 1.1), ("matrix", self.cam2, 1.0), ("phase", self.cam3, 0.9))

    def on_reset(self) -> None:
        n, _ = self.model.shape
        self.instance = None
        self.cam.fit(-1.75, 1.75, -1.75, 1.95, follow=True)
        self.cam2.fit(-0.9, n + 1.6, BAR_BASE - 1.8, n + 1.3, follow=True)
        self.cam3.fit(-1.9, 1.4, -3.1, 0.9, follow=True)

    # -- what is shown ---------------------------------------------------------------------------
    @property
    def shown(self) -> int:
        k = self.model.best if self.instance is None else self.instance
        return min(k, self.model.toys.instances - 1)

    def _hiding_model(self) -> bool:
        return self.challenge.hide_answers

    def _hiding_phase(self) -> bool:
        challenge = self.challenge.open
        return self.challenge.hide_answers and challenge is not None and challenge.measure == "phase"

    def _probe(self) -> int:
        n, _ = self.model.shape
        return min(int(self.params["probe"]), n) - 1

    # -- scene -----------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        model = self.model
        if model.finished and not self.transport.paused and not self.challenge.playing:
            self.transport.pause()  # training is done: the step counter stops with it
        self.gl.disable(self.gl.DEPTH_TEST)
        if frame.pane == "phase":
            self._phase_scene(frame)
        elif not self._hiding_model():
            (self._features_scene if frame.pane == "features" else self._matrix_scene)(frame)

    def _features_scene(self, frame) -> None:
        model = self.model
        W = model.W_of(self.shown)
        n, m = model.shape
        probe = self._probe()
        if m == 2:
            t = np.linspace(0, 2 * np.pi, 121)
            self.lines(frame, np.stack([np.cos(t), np.sin(t)], 1), MUTED.alpha(0.35), 1.0, strip=True)
            self.lines(frame, [(-1.6, 0), (1.6, 0), (0, -1.6), (0, 1.6)], MUTED.alpha(0.2), 1.0)
            tips = W.T
        else:  # one dimension: the arrows lie on the line, lifted apart so both show
            self.lines(frame, [(-1.6, 0), (1.6, 0)], MUTED.alpha(0.5), 1.5)
            self.lines(frame, [(-1, -0.06), (-1, 0.06), (1, -0.06), (1, 0.06)], MUTED.alpha(0.5), 1.5)
            tips = np.stack([W[0], 0.25 * (np.arange(n) + 1)], 1)
        starts = np.zeros_like(tips) if m == 2 else np.stack([np.zeros(n), tips[:, 1]], 1)
        vectors = tips - starts
        length = np.maximum(np.linalg.norm(vectors, axis=1), 1e-3)
        for wide in (False, True):  # one draw call for the other arrows, one for the feature switched on
            pick = [i for i in range(n) if (i == probe) == wide and length[i] > 1e-3]
            if not pick:
                continue
            head = float(np.clip(0.16 / length[pick].max(), 0.05, 0.35))  # about 0.16 world units
            segments = arrows(starts[pick], vectors[pick], head=head)
            rgba = np.repeat(np.array([feature_color(i).rgba for i in pick], np.float32), 6, axis=0)
            self.painter.lines(frame.mvp, segments, rgba, 5.0 if wide else 3.0, frame.viewport, strip=False)
        self.dots(frame, tips, PALETTE.white, 5.0, rim=3.0)

    def _matrix_scene(self, frame) -> None:
        model = self.model
        k = self.shown
        n, _ = model.shape
        G, b = model.gram(k), model.b_of(k)
        probe = self._probe()
        self.cells(frame, "gram", (model.toys.steps, k, n, round(float(G.sum()), 6)), (0.0, n, 0.0, n), lambda: heat(G))
        self.cells(frame, "bias", (model.toys.steps, k, n, round(float(b.sum()), 6)), (n + 0.4, n + 1.4, 0.0, n),
                   lambda: heat(b[:, None]))
        self.outline(frame, [(0.0, n, 0.0, n), (n + 0.4, n + 1.4, 0.0, n)], MUTED.alpha(0.6), 1.0)
        self.outline(frame, [(probe, probe + 1.0, 0.0, n)], PALETTE.white, 2.5)  # the column of the feature switched on
        # the switch-on bars: pre-activation (outline) and output after ReLU (filled)
        pre, out = model.probe(probe, k)
        self.lines(frame, [(-0.2, BAR_BASE), (n + 0.2, BAR_BASE)], MUTED, 1.5)
        x0, x1 = np.arange(n) + 0.18, np.arange(n) + 0.82
        colors = np.array([feature_color(i).rgba for i in range(n)], np.float32)
        filled = out > 1e-6
        if filled.any():
            fill = colors[filled].copy()
            fill[:, 3] = 0.85
            tops = BAR_BASE + BAR_SCALE * np.minimum(out[filled], 1.5)
            self.rects(frame, np.stack([x0[filled], x1[filled], np.full(filled.sum(), BAR_BASE), tops], 1), fill)
        top = BAR_BASE + BAR_SCALE * np.clip(pre, -0.6, 1.5)
        segments = box_segments(x0, x1, np.minimum(BAR_BASE, top), np.maximum(BAR_BASE, top))
        self.painter.lines(frame.mvp, segments, np.repeat(colors, 8, axis=0), 2.0, frame.viewport, strip=False)

    def _phase_scene(self, frame) -> None:
        grid = stored_phase()
        codes = grid["codes"]
        d, r = np.log10(grid["densities"]), np.log10(grid["ratios"])
        hd, hr = (d[1] - d[0]) / 2, (r[1] - r[0]) / 2
        edges = (r[0] - hr, r[-1] + hr, d[0] - hd, d[-1] + hd)
        if self._hiding_phase():
            self.outline(frame, [edges], MUTED, 1.0)
            return

        def colors():
            table = np.array([c.rgba for c in PHASE_COLORS])
            rgba = table[codes[::-1]]  # row 0 at the top: the densest
            rgba[..., :3] *= 0.8
            return rgba

        self.cells(frame, "phase", codes.tobytes(), edges, colors)
        self.outline(frame, [edges], MUTED, 1.0)
        x = float(np.clip(np.log10(self.model.relative_importance), edges[0], edges[1]))
        y = float(np.clip(np.log10(max(self.model.density, 1e-9)), edges[2], edges[3]))
        self.painter.points(frame.mvp, [(x, y)], PALETTE.shadow, 22.0)
        self.painter.points(frame.mvp, [(x, y)], PALETTE.white, 16.0)
        self.painter.points(frame.mvp, [(x, y)], PALETTE.shadow, 8.0)

    # -- overlay ---------------------------------------------------------------------------------
    def overlay(self, draw_list, frame) -> None:
        room = frame.size[0] - 24.0
        model = self.model
        if frame.pane == "phase":
            self._phase_overlay(draw_list, frame, room)
            return
        if self._hiding_model():
            lines = [first_fit(["the trained model shows after your verdict", "hidden until the verdict",
                                "hidden"], room)]
            if frame.pane == "features":
                lines.append((first_fit([f"training: {model.progress:.0%}", f"{model.progress:.0%}"], room), MUTED))
            frame.caption(draw_list, lines)
            return
        if frame.pane == "features":
            self._features_overlay(draw_list, frame, room)
        else:
            self._matrix_overlay(draw_list, frame, room)

    def _features_overlay(self, draw_list, frame, room) -> None:
        model = self.model
        n, m = model.shape
        k = self.shown
        W = model.W_of(k)
        s = model.summary(k)
        which = "best of" if k == model.best else f"seed {k + 1} of"
        dims_word = "dimensions" if m > 1 else "dimension"
        head = first_fit([f"W's columns: {n} features in {m} {dims_word} ({which} {model.toys.instances})",
                          f"W: {n} features in {m}D", "W"], room)
        shape = (f"keeps {s['kept']} · ‖W‖²/m = {s['per_dim']:.2f}" +
                 (f" · {s['angle']:.0f}° apart" if np.isfinite(s["angle"]) and s["kept"] > 1 else ""))
        frame.caption(draw_list, [head, (first_fit([shape, f"keeps {s['kept']}"], room), MUTED)])
        dims = dimensionality(W)
        tips = W.T if m == 2 else np.stack([W[0], 0.25 * (np.arange(n) + 1)], 1)
        labels = []
        for i in range(n):
            kept = np.linalg.norm(W[:, i]) > KEPT_NORM
            text = f"{i + 1}: D = {dims[i]:.2f}" if kept else f"{i + 1}"
            # the feature switched on is always labelled; the others where they find room
            labels.append((tuple(tips[i]), text, feature_color(i), 3 if i == self._probe() else 2 if kept else 1))
        frame.labels(draw_list, labels)

    def _matrix_overlay(self, draw_list, frame, room) -> None:
        model = self.model
        n, _ = model.shape
        probe = self._probe()
        pre, out = model.probe(probe, self.shown)
        others = np.arange(n) != probe
        ghost_pre = float(pre[others].max()) if others.any() else 0.0
        ghost_out = float(out[others].max()) if others.any() else 0.0
        frame.caption(draw_list, [
            first_fit(["WᵀW (orange +, blue −) and b", "WᵀW and b"], room),
            (first_fit([f"feature {probe + 1} on: largest ghost {ghost_pre:+.2f}, after ReLU {ghost_out:.2f}",
                        f"ghost {ghost_pre:+.2f} → {ghost_out:.2f}", f"{ghost_pre:+.2f} → {ghost_out:.2f}"], room),
             MUTED)])
        labels = [((n + 0.9, -0.05), "b", MUTED, 2)]
        # the bars' legend goes under them only where a line of text is shorter than the room left
        # there (a small pane or a large UI scale would put it over the bars)
        if (imgui.get_text_line_height() + 8.0) * frame.world_per_pixel() < 0.6:
            words = first_fit([f"feature {probe + 1} alone: WᵀWx + b (outline), ReLU (filled)",
                               f"feature {probe + 1} alone"], frame.size[0] * 0.95, otherwise=None)
            if words:
                labels.append(((n / 2, BAR_BASE - 1.25), words, MUTED, 2))
        frame.labels(draw_list, labels)

    def _phase_overlay(self, draw_list, frame, room) -> None:
        grid = stored_phase()
        d, r = np.log10(grid["densities"]), np.log10(grid["ratios"])
        frame.caption(draw_list, [first_fit(["2 features in 1 dimension (best of 3 seeds)", "2 in 1D"], room),
                                  (first_fit(["orange: keeps 1 · blue: keeps 2 · green: both, antipodal",
                                              "orange 1 · blue 2 · green both", "green: both"], room), MUTED)])
        if self._hiding_phase():
            return
        hd, hr = (d[1] - d[0]) / 2, (r[1] - r[0]) / 2
        height = imgui.get_text_line_height()
        decade = 1.0 / max(frame.world_per_pixel(), 1e-9)  # window units per decade
        ticks = ((0.0, "1"), (-1.0, "0.1"), (-2.0, "0.01")) if decade > 2.0 * height + 6.0 else ((0.0, "1"), (-1.0, "0.1"))
        for value, text in ticks:  # density ticks, left of the grid
            at = frame.to_overlay((r[0] - hr, value))
            if at is not None:
                width = imgui.calc_text_size(text).x
                frame.text(draw_list, (at.x - frame.origin[0] - width - 10.0, at.y - frame.origin[1] - height / 2),
                           text, MUTED)
        for value, text in ((-1.0, "0.1"), (0.0, "1"), (1.0, "10")):  # importance ticks, under it
            at = frame.to_overlay((value, d[0] - hd))
            if at is not None:
                width = imgui.calc_text_size(text).x
                frame.text(draw_list, (at.x - frame.origin[0] - width / 2, at.y - frame.origin[1] + 6.0), text, MUTED)
        under = frame.to_overlay((0.0, d[0] - hd))
        if under is not None:  # both axes named under the grid, clear of the caption above it
            words = first_fit(["↑ density 1 − S    → importance 2 / 1", "↑ 1 − S   → I₂ / I₁", "↑ 1 − S → I₂/I₁"], room)
            width = imgui.calc_text_size(words).x
            frame.text(draw_list, (under.x - frame.origin[0] - width / 2, under.y - frame.origin[1] + 12.0 + height),
                       words, MUTED)
        x = float(np.log10(self.model.relative_importance))
        y = float(np.log10(max(self.model.density, 1e-9)))
        frame.labels(draw_list, [((x, y), "you", PALETTE.white, 3)])

    # -- input -----------------------------------------------------------------------------------
    def handle_input(self, frame) -> bool:
        inp = frame.input
        if not inp.clicked or not inp.hovered or inp.shift or self._hiding_model() or frame.pane == "phase":
            return False
        model = self.model
        n, m = model.shape
        mouse = np.asarray(inp.mouse, np.float64)
        if frame.pane == "features":
            W = model.W_of(self.shown)
            tips = W.T if m == 2 else np.stack([W[0], 0.25 * (np.arange(n) + 1)], 1)
            pixels = np.array([frame.camera.world_to_screen(t, frame.viewport) for t in tips])
            distance = np.linalg.norm(pixels - mouse, axis=1) / frame.pixel_ratio
            if distance.min() > TIP_PIXELS:
                return False
            feature = int(np.argmin(distance))
        else:
            world = frame.camera.screen_to_world(mouse, frame.viewport)
            if not (0.0 <= world[0] < n and 0.0 <= world[1] <= n):
                return False
            feature = int(world[0])
        self.context.set_param("probe", feature + 1)
        return True

    # -- panel and plots -------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        imgui.push_text_wrap_pos(0.0)
        imgui.separator()
        progress_bar(model.progress, f"step {model.toys.steps} of {model.budget} ({model.toys.instances} seeds)")
        if self._hiding_model():
            imgui.text_colored(MUTED, "The instances show after your verdict.")
            imgui.pop_text_wrap_pos()
            return
        imgui.text("Instances (lowest loss first): click one to draw it")
        order = np.argsort(model.eval_loss)
        for k in order:
            s = model.summary(int(k))
            text = f"seed {k + 1}: loss {model.eval_loss[k]:.4f}, keeps {s['kept']}, ‖W‖²/m {s['per_dim']:.2f}"
            if k == model.best:
                text += "  (best)"
            if imgui.selectable(text, int(k) == self.shown)[0]:
                self.instance = None if k == model.best else int(k)
        imgui.pop_text_wrap_pos()

    def plots(self) -> None:
        plot_strip(self.context, [
            Plot("loss of each instance", self._loss_plot, y_label="loss", y_log=True, weight=1.3, min_width=12,
                 priority=3, legend=False),
            Plot("what the best keeps", self._shape_plot, y_limits=(0.0, 5.6), min_width=10, priority=2,
                 legend_at="south_east")])

    def _loss_plot(self, run) -> None:
        model = self.model
        if len(model.history["steps"]) < 2:
            return
        steps = np.asarray(model.history["steps"], np.float64)
        losses = np.asarray(model.history["loss"])
        for k in range(losses.shape[1]):
            best = k == model.best and not self._hiding_model()
            color = PALETTE.sky if best else MUTED.alpha(0.6)
            line(f"seed {k + 1}", steps, np.maximum(losses[:, k], 1e-6), color, 3.0 if best else 1.5)

    def _shape_plot(self, run) -> None:
        model = self.model
        if self._hiding_model() or len(model.history["steps"]) < 2:
            return
        steps = np.asarray(model.history["steps"], np.float64)
        line("features kept", steps, np.asarray(model.history["kept"], np.float64), PALETTE.orange, 2.5)
        line("‖W‖²/m", steps, np.asarray(model.history["per_dim"], np.float64), PALETTE.green, 2.0)

