"""Stop Any Time: the river valley seen from above with the three clouds of balls and Schedule-Free's
linked trio (z explores, y takes the gradient, x is evaluated); the race's losses against the step
with the planned end T marked, the step sizes, and who is ahead at T/2 and at T."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.kit import PALETTE, Plot, finite, finite_rows, hline, line, plot_strip, scatter, vlines, first_fit
from sandbox.view import View

from .schedule_free import DIVERGED_LOSS, cosine_lr

#: Schedule-Free's evaluated x, its explorer z and its gradient point y; the other two runs.
X, Z, Y = PALETTE.orange, PALETTE.vermillion, PALETTE.yellow
RUNS = (("schedule_free", "Schedule-Free x", X), ("cosine", "cosine", PALETTE.sky),
        ("constant", "constant step", PALETTE.white))
TRAILS = {"schedule_free": 0, "cosine": 3, "constant": 4}  # rows of the ball0 observable
#: the loss plot's legend, by width: the full names, then shorter ones for a narrow plot
LEGENDS = (tuple(label for _, label, _ in RUNS), ("Schedule-Free", "cosine", "constant"), ("free x", "cosine", "const."))
EXPLORER_TRAIL = 60  # steps of z drawn: its path is a scribble, only the recent part reads


def _loss(run, name: str) -> np.ndarray:
    """A recorded loss, a diverged run's astronomically large values as gaps."""
    return finite(run.series(name), DIVERGED_LOSS)


class ScheduleFreeView(View):
    camera = "2d"
    # the scene answers to the camera alone (pan, zoom); the race is stopped from the panel's buttons
    controls = ()
    _loss_width = np.inf  # the loss plot's width last frame (its legend's room)

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
        room = frame.size[0] - 14.0  # a caption line starts 10 in and keeps 4 from the right edge
        T = model.planned_steps
        if self._race_hidden:
            frame.caption(draw_list, [
                first_fit((f"the planned horizon T = {T};  × marks the minimum", f"T = {T};  × the minimum"), room),
                (first_fit(("the race is hidden while you predict: lock in to watch it",
                           "the race is hidden until you lock in", "hidden until you lock in"), room), PALETTE.muted)])
            frame.labels(draw_list, [(model.plane(model.problem.start), "start: every run begins here", PALETTE.white,
                                      3, (14.0, -22.0))])
            return
        t = self.run.steps
        where = ((f"→ along the valley floor, ↑ across it; {model.race.balls} balls per method, the trio of one",
                  "→ along the valley floor, ↑ across it", "→ along the valley, ↑ across")
                 if model.landscape else
                 ("the first two of 32 weights (the strongest features); contours of the loss in this plane",
                  "the first two of 32 weights; contours of the loss", "weights 1 and 2; loss contours"))
        lines = [first_fit((f"step {t} of the planned T = {T}  (t/T = {t / T:.2f});  × marks the minimum",
                           f"step {t} of T = {T}  (t/T = {t / T:.2f});  × the minimum",
                           f"step {t} of T = {T}  (t/T = {t / T:.2f})"), room),
                 (first_fit(where, room), PALETTE.muted)]
        for name, label, color in RUNS:
            stopped = model.race.diverged_at[name]
            if stopped is not None:
                wordings = (f"{label} diverged at step {stopped} (its step is too large): it stopped, the others race on",
                            f"{label} diverged at step {stopped}: it stopped", f"{label} diverged at step {stopped}")
                lines.append((first_fit(wordings, room), PALETTE.bad))
        frame.caption(draw_list, lines)  # first: the labels keep clear of it
        # the clouds meet the trio near the minimum: the trio's labels matter most, the start's least
        items = []
        trio = self._trio()
        if trio is not None:
            texts = ("x: what you ship", "z explores", "y: gradient here")
            left_of_y = -16.0 - imgui.calc_text_size(texts[2]).x  # y sits between z and x: its label goes aside
            # x is always named; z and y, close to it early in the race, where there is room
            items += [(point, text, color, rank, offset) for point, text, color, rank, offset in zip(
                trio[[2, 0, 1]], texts, (X, Z, Y), (3, 2.5, 2.5), ((12.0, -26.0), (12.0, -8.0), (left_of_y, -8.0)))]
        for name, label, color in RUNS[1:]:
            cloud = finite_rows(model.plane(model.race.points[name]))
            if len(cloud) and name in model.race.running:
                items.append((np.median(cloud, axis=0), label, color, 2, (12.0, 8.0)))
        items.append((model.plane(model.problem.start), "start", PALETTE.white.alpha(0.8), 1, (8.0, 8.0)))
        frame.labels(draw_list, items, always=3)  # the clouds' labels too make way once the trio is gone

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
                       {name: float(run.series(f"loss_{name}")[_index(run, step)]) for name, _, _ in RUNS}
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
        # a narrow strip (widths in font sizes: a larger UI scale counts as narrower) lets the ratio go
        # below about 45 font sizes, the step sizes (or the loss per weight) below about 25; the loss
        # keeps room for its legend
        plot_strip(self.context, [
            Plot("loss (faint red: explorer z)", self._loss_plot, y_label="loss", y_log=True, x_limits=limits,
                 weight=2.0, priority=3, when=lambda: shown),
            Plot("÷ Schedule-Free's loss", self._ratio_plot, y_label="loss ratio", y_log=True, x_limits=limits,
                 legend=False, min_width=11.25, priority=1,
                 when=lambda: shown and "schedule_free" in self.model.race.running),
            Plot("step sizes γ", self._lr_plot, y_label="γ", y_log=True, x_limits=limits, legend=False,
                 y_limits=(0.1 * min(lrs), 3.0 * max(lrs)), min_width=8.4, priority=2, when=lambda: not per_weight),
            Plot("loss per weight, now", self._weights_plot, x_label="weight i (strongest first)",
                 y_label="½λᵢ(wᵢ − wᵢ*)²", y_log=True, legend=False, min_width=8.4, priority=2,
                 when=lambda: per_weight),
        ])

    def _marks(self) -> None:
        T = self.model.planned_steps
        vlines([0.5 * T, float(T)], ["T/2", "T"])

    def _loss_plot(self, run) -> None:
        self._marks()
        steps = run.series_steps().astype(np.float64)
        line("explorer z", steps, _loss(run, "loss_explorer"), Z.alpha(0.45), weight=1.0, legend=False)
        # the legend above the plot is one row as wide as the plot (last frame's width): shorter names
        # where the full ones would be cut
        font, width = imgui.get_font_size(), self._loss_width
        names = next((names for names in LEGENDS if sum(imgui.calc_text_size(n).x + 1.6 * font for n in names)
                      + font <= width), LEGENDS[-1])
        for (name, _, color), label in zip(RUNS, names):
            line(label, steps, _loss(run, f"loss_{name}"), color)
        self._loss_width = implot.get_plot_size().x

    def _ratio_plot(self, run) -> None:
        """Each run's loss over Schedule-Free's: above 1 Schedule-Free is ahead."""
        self._marks()
        steps, reference = run.series_steps().astype(np.float64), _loss(run, "loss_schedule_free")
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


def _index(run, step: int) -> int:
    """Where the recorded series hold ``step`` (after a long run the older history is thinned)."""
    steps = run.series_steps()
    return min(int(np.searchsorted(steps, step)), len(steps) - 1)
