"""Stop Any Time: the river valley seen from above with the three clouds of balls and Schedule-Free's
linked trio (z explores, y takes the gradient, x is evaluated); the race's losses against the step
with the planned end T marked, the step sizes, and who is ahead at T/2 and at T."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.camera import Camera2D
from sandbox.kit import PALETTE, Plot, finite, finite_rows, hline, line, plot_strip, scatter, vlines
from sandbox.view import View

from .schedule_free import DIVERGED_LOSS, cosine_lr

#: Schedule-Free's evaluated x, its explorer z and its gradient point y; the other two runs.
X, Z, Y = PALETTE.orange, PALETTE.vermillion, PALETTE.yellow
RUNS = (("schedule_free", "Schedule-Free x", X), ("cosine", "cosine", PALETTE.sky),
        ("constant", "constant step", PALETTE.white))
TRAILS = {"schedule_free": 0, "cosine": 3, "constant": 4}  # rows of the ball0 observable
EXPLORER_TRAIL = 60  # steps of z drawn: its path is a scribble, only the recent part reads


def _loss(run, name: str) -> np.ndarray:
    """A recorded loss, a diverged run's astronomically large values as gaps."""
    return finite(run.series(name), DIVERGED_LOSS)


class ScheduleFreeView(View):
    camera = "2d"
    # the scene answers to the camera alone (pan, zoom); the race is stopped from the panel's buttons
    controls = ()

    def make_camera(self):
        return Camera2D(center=(1.9, 0.0), half_height=2.7)

    def on_reset(self) -> None:
        (x0, x1), (y0, y1) = self.model.view_box()
        self.cam.fit(x0, x1, y0, y1, margin=0.0)

    # -- scene -------------------------------------------------------------------------------------
    def _trio(self) -> np.ndarray | None:
        """Ball 0 of Schedule-Free in the plane: z, y and x, or None if it cannot be drawn (or has
        diverged)."""
        if "schedule_free" not in self.model.race.running:
            return None
        trio = self.model.plane(self.run.array("ball0")[[1, 2, 0]])
        return trio if len(finite_rows(trio)) == 3 else None

    @property
    def _race_hidden(self) -> bool:
        """While a prediction is being chosen the race on screen (the sandbox's) would answer it:
        the scene shows the valley and the start, not where the runs have got to."""
        return self.challenge.choosing

    def _racing(self) -> tuple[tuple[str, str, object], ...]:
        """The runs still racing (a run that diverged stopped alone: nothing of it to draw)."""
        running = self.model.race.running
        return tuple(run for run in RUNS if run[0] in running)

    def scene(self, frame) -> None:
        model, paint, mvp, vp = self.model, self.painter, frame.mvp, frame.viewport
        self.gl.disable(self.gl.DEPTH_TEST)  # seen from above: later strokes go on top
        data = model.loss_map()
        surface = self.cache.get("surface", data, lambda: self.painter.surface(*data))
        centre = frame.camera.center
        surface.draw(mvp, (centre[0], centre[1], 50.0), light_dir=(-0.3, 0.5, 0.8), bands=14.0)
        floor = model.valley_floor()
        if floor is not None:
            paint.lines(mvp, floor, PALETTE.white.alpha(0.35), 1.0, vp)
        cross = 0.04 * frame.camera.half_height * np.array([[-1, -1], [1, 1], [-1, 1], [1, -1]], dtype=np.float64)
        paint.lines(mvp, cross + model.optimum(), PALETTE.white.alpha(0.9), 2.0, vp, strip=False)
        size = 7.0 if model.landscape else 14.0
        if self._race_hidden:  # every run starts at the same point: that much is no answer
            start = model.plane(model.problem.start)
            paint.points(mvp, start, PALETTE.shadow, 2 * size + 3.0)
            paint.points(mvp, start, PALETTE.white, 2 * size)
            return
        racing = self._racing()
        steps, balls = self.run.arrays("ball0")
        trails = model.plane(np.stack(balls))
        for name, _, color in racing[::-1]:
            trail = finite_rows(trails[:, TRAILS[name]])
            paint.lines(mvp, trail, _fading(color, len(trail), 0.1, 0.9), 2.0, vp)
        if "schedule_free" in model.race.running:
            recent = finite_rows(trails[steps > self.run.steps - EXPLORER_TRAIL, 1])
            paint.lines(mvp, recent, _fading(Z, len(recent), 0.0, 0.6), 1.0, vp)
        for name, _, color in racing[::-1]:
            cloud = finite_rows(model.plane(model.race.points[name]))
            paint.points(mvp, cloud, PALETTE.shadow, size + 3.0)
            paint.points(mvp, cloud, color, size)
        trio = self._trio()
        if trio is not None:
            paint.lines(mvp, trio, PALETTE.white.alpha(0.8), 1.5, vp)
            for point, color, dot in zip(trio, (Z, Y, X), (13.0, 10.0, 16.0)):
                paint.points(mvp, point, PALETTE.shadow, dot + 5.0)
                paint.points(mvp, point, color, dot)

    def overlay(self, draw_list, frame) -> None:
        model = self.model
        if self._race_hidden:
            frame.label(draw_list, model.plane(model.problem.start), "start: every run begins here",
                        PALETTE.white, (14.0, -22.0))
            frame.caption(draw_list, [f"the planned horizon T = {model.planned_steps};  × marks the minimum",
                                      ("the race is hidden while you predict: lock in to watch it", PALETTE.muted)])
            return
        placer = _LabelPlacer(frame, draw_list)  # the clouds meet the trio near the minimum: no label covers another
        trio = self._trio()
        if trio is not None:
            texts = ("x: what you ship", "z explores", "y: gradient here")
            left_of_y = -16.0 - imgui.calc_text_size(texts[2]).x  # y sits between z and x: its label goes aside
            for point, text, color, offset in zip(trio[[2, 0, 1]], texts, (X, Z, Y),
                                                  ((12.0, -26.0), (12.0, -8.0), (left_of_y, -8.0))):
                placer.label(point, text, color, offset)
        for name, label, color in RUNS[1:]:
            cloud = finite_rows(model.plane(model.race.points[name]))
            if len(cloud) and name in model.race.running:
                placer.label(np.median(cloud, axis=0), label, color, (12.0, 8.0))
        placer.label(model.plane(model.problem.start), "start", PALETTE.white.alpha(0.8), (8.0, 8.0))
        t, T = self.run.steps, model.planned_steps
        where = (f"→ along the valley floor, ↑ across it; {model.race.balls} balls per method, the trio of one"
                 if model.landscape else
                 "the first two of 32 weights (the strongest features); contours of the loss in this plane")
        lines = [f"step {t} of the planned T = {T}  (t/T = {t / T:.2f});  × marks the minimum", (where, PALETTE.muted)]
        for name, label, color in RUNS:
            stopped = model.race.diverged_at[name]
            if stopped is not None:
                text = f"{label} diverged at step {stopped} (its step is too large): it stopped, the others race on"
                lines.append((text, PALETTE.bad))
        frame.caption(draw_list, lines)

    # -- panel -------------------------------------------------------------------------------------
    def panel(self) -> None:
        model, run = self.model, self.run
        T, t = model.planned_steps, run.steps
        imgui.separator()
        imgui.push_text_wrap_pos(0.0)
        peak, now = model.tuned_lrs["cosine"], float(run.series("lr_cosine")[-1])
        imgui.text(f"cosine step now: {now:.4g} ({now / peak:.0%} of its peak {peak:.3g})")
        free = model.lrs["schedule_free"]
        imgui.text_colored(PALETTE.muted, f"Schedule-Free γ = {free:.3g} ({free / peak:.2g}× the cosine's peak); y "
                                          f"moves by (1 − β)γ = {model.gradient_point_step:.3g} per unit gradient")
        imgui.text_colored(PALETTE.muted, f"constant step γ = {model.lrs['constant']:.3g}; all tuned for T = {T}")
        imgui.pop_text_wrap_pos()
        imgui.separator()
        imgui.text("Loss where each run would stop")
        hide = self.challenge.hide_answers
        marks = {"now": t, f"T/2 ({T // 2})": T // 2, f"T ({T})": T}
        if imgui.begin_table("stops", 4, imgui.TableFlags_.row_bg.value | imgui.TableFlags_.borders_inner_v.value):
            imgui.table_setup_column("run", imgui.TableColumnFlags_.width_fixed.value)  # the names, never cut
            for label in marks:
                imgui.table_setup_column(label)
            imgui.table_headers_row()
            columns = [None if step > t or (hide and label != "now") else
                       {name: float(run.series(f"loss_{name}")[step]) for name, _, _ in RUNS}
                       for label, step in marks.items()]
            for name, label, color in RUNS:
                imgui.table_next_row()
                imgui.table_next_column()
                imgui.text_colored(color, label)
                for column in columns:
                    imgui.table_next_column()
                    _loss_cell(column, name, best=not hide)
            imgui.end_table()
        imgui.text_colored(PALETTE.muted, "hidden until the verdict: who is ahead at T/2 and T" if hide else
                           "green: the lowest; · not reached yet")
        imgui.begin_disabled(self.challenge.locked)
        for k, (label, step) in enumerate((("Run to T/2 and stop", T // 2), ("Run to T and stop", T))):
            if k:
                imgui.same_line()
            if imgui.button(label):
                self.transport.run_until(step)
            if imgui.is_item_hovered():
                imgui.set_tooltip("Pauses the race at that step (restarting it if it is already past).")
        imgui.end_disabled()
        if self.transport.stop_at is not None:
            imgui.text_colored(PALETTE.muted, f"will stop at step {self.transport.stop_at}")

    # -- plots -------------------------------------------------------------------------------------
    def plots(self) -> None:
        """Loss, loss ratio, and the step sizes (landscape) or the loss per weight (regression); who
        is ahead is hidden while a challenge waits for its prediction or runs."""
        T, shown = self.model.planned_steps, not self.challenge.hide_answers
        limits = (0.0, max(1.08 * T, self.run.steps + 1.0))  # the planned end T always in view
        per_weight = shown and not self.model.landscape  # the regression's 32 weights do not fit the scene
        lrs = [v for v in self.model.lrs.values() if v > 0]
        # the strip's width in lines of text (so a larger UI scale counts as narrower; 51 at 1280 wide,
        # 32 at 960, 20 at a UI scale of 2): below 45 the ratio plot goes, below 25 the step sizes too,
        # and the loss keeps room for its legend
        room = imgui.get_content_region_avail().x / max(imgui.get_text_line_height(), 1.0)
        plot_strip(self.context, [
            Plot("loss (faint red: explorer z)", self._loss_plot, y_label="loss", y_log=True, x_limits=limits,
                 weight=2.0, when=lambda: shown),
            Plot("÷ Schedule-Free's loss", self._ratio_plot, y_label="loss ratio", y_log=True, x_limits=limits,
                 legend=False, when=lambda: shown and room >= 45 and "schedule_free" in self.model.race.running),
            Plot("step sizes γ", self._lr_plot, y_label="γ", y_log=True, x_limits=limits, legend=False,
                 y_limits=(0.1 * min(lrs), 3.0 * max(lrs)), when=lambda: not per_weight and (room >= 25 or not shown)),
            Plot("loss per weight, now", self._weights_plot, x_label="weight i (strongest first)",
                 y_label="½λᵢ(wᵢ − wᵢ*)²", y_log=True, legend=False, when=lambda: per_weight),
        ])

    def _marks(self) -> None:
        T = self.model.planned_steps
        vlines([0.5 * T, float(T)], ["T/2", "T"])

    def _loss_plot(self, run) -> None:
        self._marks()
        steps = np.arange(run.steps + 1, dtype=np.float64)
        line("explorer z", steps, _loss(run, "loss_explorer"), Z.alpha(0.45), weight=1.0, legend=False)
        for name, label, color in RUNS:
            line(label, steps, _loss(run, f"loss_{name}"), color)

    def _ratio_plot(self, run) -> None:
        """Each run's loss over Schedule-Free's: above 1 Schedule-Free is ahead."""
        self._marks()
        steps, reference = np.arange(run.steps + 1, dtype=np.float64), _loss(run, "loss_schedule_free")
        with np.errstate(all="ignore"):
            for name, label, color in RUNS[1:]:
                line(label, steps, _loss(run, f"loss_{name}") / reference, color)
        hline(1.0, X)

    def _lr_plot(self, run) -> None:
        model = self.model
        self._marks()
        span = np.array([0.0, max(1.08 * model.planned_steps, run.steps + 1.0)])
        steps = np.arange(int(span[1]) + 1, dtype=np.float64)  # the whole schedule: it is planned, not measured
        cosine = np.array([cosine_lr(model.tuned_lrs["cosine"], int(t), model.planned_steps) for t in steps])
        line("cosine", steps, np.where(cosine > 0, cosine, np.nan), RUNS[1][2])
        for name, label, color in (RUNS[0], RUNS[2]):
            line(label, span, np.full(2, model.lrs[name]), color)

    def _weights_plot(self, run) -> None:
        """Regression: the loss per weight of each run, strongest feature first."""
        losses = self.model.weight_losses()
        for name, label, color in RUNS:
            index = np.arange(1, losses[name].size + 1, dtype=np.float64)
            values = np.maximum(losses[name], 1e-12)
            line(label, index, values, color, weight=1.5)
            scatter(label, index, values, color, size=2.5, legend=False)


class _LabelPlacer:
    """The labels of one overlay, placed so that none covers another: a label that would overlap
    one already placed moves up or down by whole lines, as little as it can."""

    GAP = 6.0

    def __init__(self, frame, draw_list):
        self.frame, self.draw_list, self.boxes = frame, draw_list, []

    def _free(self, x: float, y: float, size) -> bool:
        gap = self.GAP
        return not any(x < b[2] + gap and b[0] < x + size.x + gap and y < b[3] + gap and b[1] < y + size.y + gap
                       for b in self.boxes)

    def label(self, point, text: str, color, offset: tuple[float, float]) -> None:
        at = self.frame.to_overlay(point) if np.all(np.isfinite(point)) else None
        if at is None:
            return
        size = imgui.calc_text_size(text)
        x, y = at.x + offset[0], at.y + offset[1]
        line = size.y + self.GAP
        y = next((y + k * line for k in (0, 1, -1, 2, -2, 3, -3) if self._free(x, y + k * line, size)), y)
        self.boxes.append((x, y, x + size.x, y + size.y))
        self.frame.label(self.draw_list, point, text, color, (x - at.x, y - at.y))


def _fading(color, count: int, start: float, end: float) -> np.ndarray:
    """Per-vertex colours of a trail: faint at its old end, stronger at its new one."""
    return (np.linspace(start, end, count)[:, None] * np.asarray(color, np.float32)).astype(np.float32)


def _loss_cell(column: dict | None, name: str, best: bool) -> None:
    """One cell of the stops table: a loss (green if the lowest and ``best``), "diverged", or · if not there."""
    value = column.get(name) if column else None
    if value is None:
        imgui.text_colored(PALETTE.muted, "·")
    elif not value < DIVERGED_LOSS:  # the race records a diverged run's loss as DIVERGED_LOSS
        imgui.text_colored(PALETTE.bad, "diverged")
    elif best and value <= min(v for v in column.values() if v < DIVERGED_LOSS):
        imgui.text_colored(PALETTE.good, f"{value:.3g}")
    else:
        imgui.text(f"{value:.3g}")
