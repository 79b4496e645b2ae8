"""Stop Any Time: the river valley seen from above with the three clouds of balls and Schedule-Free's
linked trio (z explores, y takes the gradient, x is evaluated); the race's losses against the step
with the planned end T marked, the step sizes, and who is ahead at T/2 and at T."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.ui.widgets import GOOD, MUTED
from sandbox.view import View
from sim.schedule_free import DIVERGED_LOSS, cosine_lr

#: Colours and names of the runs (Schedule-Free's evaluated x, its explorer z and gradient point y).
X_COLOR = (1.0, 0.6, 0.15, 1.0)
Z_COLOR = (1.0, 0.35, 0.45, 1.0)
Y_COLOR = (1.0, 0.92, 0.4, 1.0)
COSINE_COLOR = (0.35, 0.85, 1.0, 1.0)
CONSTANT_COLOR = (0.85, 0.85, 0.9, 1.0)
RUNS = (("schedule_free", "Schedule-Free x", X_COLOR), ("cosine", "cosine", COSINE_COLOR),
        ("constant", "constant step", CONSTANT_COLOR))
FLOOR_COLOR = (1.0, 1.0, 1.0, 0.35)
TEXT_COLOR = (0.92, 0.93, 0.95, 1.0)
MUTED_RGBA = (MUTED.x, MUTED.y, MUTED.z, 1.0)
SHADOW = (0.02, 0.02, 0.04, 0.85)
EXPLORER_TRAIL = 60  # positions of z drawn: its path is a scribble, only the recent part reads
SURFACE_CELLS = (220, 140)
#: The part of the landscape in view (world x = v along the floor, world y = u across it).
LANDSCAPE_VIEW = ((-2.6, 6.4), (-2.7, 2.7))


def _finite(values) -> np.ndarray:
    """Values to plot: a diverged run's inf, NaN or astronomically large values become gaps."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values) & (np.abs(values) < DIVERGED_LOSS), values, np.nan)


class ScheduleFreeView(View):
    camera = "2d"
    math = [
        (r"y_t = (1-\beta)\,z_t + \beta\,x_t",
         "the gradient is taken at y, between the explorer and the average; β = 0 is SGD with Polyak averaging, "
         "β → 1 primal averaging"),
        (r"z_{t+1} = z_t - \gamma\,\nabla f(y_t)", "the explorer z: plain SGD steps of a constant size γ"),
        (r"x_{t+1} = (1 - c_{t+1})\,x_t + c_{t+1}\,z_{t+1}",
         "with c = 1/(t + 1): the evaluator x is the uniform running mean of z₁ … z_t, good whenever you stop"),
        (r"\gamma_t = \gamma_{\mathrm{peak}}\,\tfrac12\big(1 + \cos(\pi t / T)\big)",
         "the cosine schedule, tuned for the planned horizon T; γₜ = 0 for t ≥ T"),
        (r"L(u, v) = \tfrac12 w\,(u - b v^2)^2 + d\,\log\!\big(1 + \tfrac{v^2}{r^2}\big)",
         "the river valley: w = 2, b = 0.06, d = 1, r = 0.5; steep across (u), gentle along the floor (v); "
         "every gradient carries noise σξ, ξ ~ N(0, I)"),
        (r"\mathbb{E}\big[\tfrac12 \lambda u^2\big] = \frac{\gamma\,\sigma^2}{2\,(2 - \gamma\lambda)}",
         "why the rattle costs loss: SGD's spread across a wall of curvature λ grows with the step; "
         "the cosine removes it by shrinking γ, Schedule-Free by averaging"),
        (r"L(w) = \tfrac12 \sum_i \lambda_i\,(w_i - w^*_i)^2",
         "the regression problem: 32 weights, minibatches of 4, features with a power-law spectrum λᵢ = i^(−1.5)"),
    ]

    def __init__(self, host):
        super().__init__(host)
        self._surface = None
        self._surface_key = None
        self._stop_at: int | None = None
        # column widths of the plot strip: the loss gets the most (kept: the learner may drag the dividers)
        self._ratios = implot.SubplotsRowColRatios([1.0], [2.0, 1.0, 1.0])

    def make_camera(self):
        (x0, x1), (y0, y1) = LANDSCAPE_VIEW
        return Camera2D(center=(0.5 * (x0 + x1), 0.5 * (y0 + y1)), half_height=0.5 * (y1 - y0))

    # -- coordinates -------------------------------------------------------------------------------
    @property
    def _landscape(self) -> bool:
        return self.model.landscape

    def _world(self, points) -> np.ndarray:
        """Drawing coordinates: the valley lies along x (v across the screen, u up), the regression's
        first two weights as they are."""
        p = np.asarray(points, dtype=np.float64)
        p = p.reshape(-1, p.shape[-1])[:, :2]
        return p[:, ::-1] if self._landscape else p

    def _bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The world rectangle to show: the valley's, or the regression slice around start and optimum."""
        if self._landscape:
            return LANDSCAPE_VIEW
        problem = self.model.problem
        ends = np.stack([np.asarray(problem.start[:2]), problem.target[:2]])
        centre, half = ends.mean(axis=0), max(0.9 * np.abs(ends[0] - ends[1]).max(), 0.5)
        return (centre[0] - 2.0 * half, centre[0] + 2.0 * half), (centre[1] - 1.2 * half, centre[1] + 1.2 * half)

    def on_reset(self) -> None:
        (x0, x1), (y0, y1) = self._bounds()
        self.cam.home = ((0.5 * (x0 + x1), 0.5 * (y0 + y1)), 0.5 * (y1 - y0))
        self.cam.reset()
        self._stop_at = None

    # -- scene -------------------------------------------------------------------------------------
    def _ensure_surface(self) -> None:
        """The loss as a shaded height map seen from above (log scale, contour bands), cached per problem."""
        model = self.model
        key = model.params["problem"]
        if key == self._surface_key:
            return
        if self._surface is not None:
            self._surface.release()
        (x0, x1), (y0, y1) = self._bounds()
        pad_x, pad_y = 0.6 * (x1 - x0), 0.6 * (y1 - y0)  # a margin for panning
        xs = np.linspace(x0 - pad_x, x1 + pad_x, SURFACE_CELLS[0])
        ys = np.linspace(y0 - pad_y, y1 + pad_y, SURFACE_CELLS[1])
        X, Y = np.meshgrid(xs, ys)
        if self._landscape:
            loss = model.problem.loss(np.stack([Y, X], axis=-1))
        else:  # the slice through the optimum's other 30 weights: an ellipse per loss level
            problem = model.problem
            lam, target = problem.spectrum[:2], problem.target[:2]
            loss = 0.5 * (lam[0] * (X - target[0]) ** 2 + lam[1] * (Y - target[1]) ** 2)
        shade = np.log1p(loss / max(float(np.percentile(loss, 5)), 1e-3))
        value = 0.8 * shade / max(float(shade.max()), 1e-9)  # short of viridis's yellow: the balls stay visible
        self._surface = self.painter.surface(xs, ys, 0.04 * (x1 - x0) * value, value)
        self._surface_key = key

    def scene(self, frame) -> None:
        self._check_stop()
        model, paint, mvp, vp = self.model, self.painter, frame.mvp, frame.viewport
        self.ctx.disable(self.ctx.DEPTH_TEST)  # seen from above: later strokes go on top
        self._ensure_surface()
        centre = frame.camera.center
        self._surface.draw(mvp, (centre[0], centre[1], 50.0), light_dir=(-0.3, 0.5, 0.8), bands=14.0)
        if self._landscape:
            v = np.linspace(-8.0, 12.0, 200)
            floor = self._world(np.stack([model.problem.bend * v * v, v], axis=1))
            paint.lines(mvp, floor, FLOOR_COLOR, 1.0, vp)
        race = model.race
        points = race.points
        for name, _, color in RUNS[::-1]:
            trail = self._finite_rows(self._world(np.array(model.trails["x" if name == "schedule_free" else name])))
            fade = np.linspace(0.1, 0.9, len(trail))[:, None] * np.array(color)
            paint.lines(mvp, trail, fade.astype(np.float32), 2.0, vp)
        z_trail = self._finite_rows(self._world(np.array(model.trails["z"])[-EXPLORER_TRAIL:]))
        fade = np.linspace(0.0, 0.6, len(z_trail))[:, None] * np.array(Z_COLOR)
        paint.lines(mvp, z_trail, fade.astype(np.float32), 1.0, vp)
        for name, _, color in RUNS[::-1]:
            cloud = self._finite_rows(self._world(points[name]))
            size = 7.0 if self._landscape else 14.0
            paint.points(mvp, cloud, SHADOW, size + 3.0)
            paint.points(mvp, cloud, color, size)
        cross = 0.04 * frame.camera.half_height * np.array([[-1, -1], [1, 1], [-1, 1], [1, -1]], dtype=np.float64)
        paint.lines(mvp, cross + self._optimum(), (1.0, 1.0, 1.0, 0.9), 2.0, vp, strip=False)
        trio = self._trio()
        if trio is not None:
            paint.lines(mvp, trio, (1.0, 1.0, 1.0, 0.8), 1.5, vp)
            for point, color, size in zip(trio, (Z_COLOR, Y_COLOR, X_COLOR), (13.0, 10.0, 16.0)):
                paint.points(mvp, point, SHADOW, size + 5.0)
                paint.points(mvp, point, color, size)

    def _trio(self) -> np.ndarray | None:
        """Ball 0 of Schedule-Free: z, y and x (world coordinates), or None if it cannot be drawn."""
        race = self.model.race
        trio = [race.explorer, race.gradient_point, race.points["schedule_free"]]
        trio = self._world(np.stack([p[0] for p in trio] if self._landscape else trio))
        return trio if len(self._finite_rows(trio)) == 3 else None

    def _optimum(self) -> np.ndarray:
        """The minimum in world coordinates: the valley's origin, or the regression's target weights."""
        return np.zeros(2) if self._landscape else self._world(self.model.problem.target)[0]

    @staticmethod
    def _finite_rows(points: np.ndarray) -> np.ndarray:
        """The rows that can be drawn: finite and not flown off to where float32 overflows."""
        return points[np.all(np.isfinite(points), axis=1) & np.all(np.abs(points) < 1e4, axis=1)]

    def overlay(self, draw_list, origin, frame) -> None:
        model = self.model

        def put(world, text, color, dx=10.0, dy=-8.0):
            """A label beside a world point, kept inside the scene."""
            frame.label(draw_list, world, text, color, (dx, dy))

        trio = self._trio()
        if trio is not None:
            texts = ("z explores", "y: gradient here", "x: what you ship")
            left_of_y = -16.0 - imgui.calc_text_size(texts[1]).x  # y sits between z and x: its label goes aside
            for point, text, color, dx, dy in zip(trio, texts, (Z_COLOR, Y_COLOR, X_COLOR), (12.0, left_of_y, 12.0),
                                                  (-8.0, -8.0, -26.0)):
                put(point, text, color, dx, dy)
        for (name, label, color), dy in zip(RUNS[1:], (8.0, 26.0)):  # apart, for when the clouds meet
            cloud = self._finite_rows(self._world(model.race.points[name]))
            if len(cloud):
                put(np.median(cloud, axis=0), label, color, 12.0, dy)
        put(self._world(np.asarray(model.problem.start))[0], "start", (1, 1, 1, 0.8), 8.0, -22.0)
        t, T = model.race.steps, model.planned_steps
        head = [(f"step {t} of the planned T = {T}  (t/T = {t / T:.2f});  + marks the minimum", TEXT_COLOR)]
        if self._landscape:
            head.append((f"→ along the valley floor, ↑ across it; {model.race.balls} balls per method, "
                         "the trio of one", MUTED_RGBA))
        else:
            head.append(("the first two of 32 weights (the strongest features); contours of the loss in this plane",
                         MUTED_RGBA))
        for k, (text, color) in enumerate(head):
            top = origin[1] + 6 + 18 * k
            draw_list.add_rect_filled(imgui.ImVec2(origin[0] + 6, top),
                                      imgui.ImVec2(origin[0] + 14 + imgui.calc_text_size(text).x, top + 18),
                                      imgui.get_color_u32(imgui.ImVec4(0.05, 0.05, 0.08, 0.7)))
            draw_list.add_text(imgui.ImVec2(origin[0] + 10, top + 1), imgui.get_color_u32(imgui.ImVec4(*color)), text)

    # -- stop at T/2 or T --------------------------------------------------------------------------
    def _check_stop(self) -> None:
        """Pause the sandbox run once it reaches the step the learner asked to stop at."""
        if self._stop_at is None or self.host.challenges.playing:
            return
        if self.host.runner.steps >= self._stop_at:
            self.host.paused = True
            self._stop_at = None

    def _stop_button(self, label: str, step: int) -> None:
        """Run on (from a fresh start if already past ``step``) and pause exactly at ``step``."""
        if imgui.button(label):
            if self.host.runner.steps >= step:
                self.host.reset()
            self._stop_at = step
            self.host.paused = False
        if imgui.is_item_hovered():
            imgui.set_tooltip("Pauses the race at that step (restarting it if it is already past).")

    # -- panel -------------------------------------------------------------------------------------
    def panel(self) -> None:
        model, run = self.model, self.run
        T = model.planned_steps
        t = model.race.steps
        imgui.separator()
        imgui.push_text_wrap_pos(0.0)
        peak = model.tuned_lrs["cosine"]
        now = cosine_lr(peak, t, T)
        imgui.text(f"cosine step now: {now:.4g} ({now / peak:.0%} of its peak {peak:.3g})")
        lrs = model.lrs
        beta = float(model.params["beta"])
        free = lrs["schedule_free"]
        imgui.text_colored(MUTED, f"Schedule-Free γ = {free:.3g} ({free / peak:.2g}× the cosine's peak); "
                                  f"y moves by (1 − β)γ = {(1 - beta) * free:.3g} per unit gradient")
        imgui.text_colored(MUTED, f"constant step γ = {lrs['constant']:.3g}; all tuned for T = {T}")
        imgui.pop_text_wrap_pos()

        imgui.separator()
        imgui.text("Loss where each run would stop")
        marks = {"now": t, "T/2": T // 2, "T": T}
        columns = {label: self._losses_at(run, step) for label, step in marks.items()}
        flags = imgui.TableFlags_.row_bg.value | imgui.TableFlags_.borders_inner_v.value
        if imgui.begin_table("stops", 4, flags):
            imgui.table_setup_column("run")
            for label, step in marks.items():
                imgui.table_setup_column(f"{label} ({step})" if label != "now" else "now")
            imgui.table_headers_row()
            for name, label, color in RUNS:
                imgui.table_next_row()
                imgui.table_next_column()
                imgui.text_colored(imgui.ImVec4(*color), label)
                for column in columns.values():
                    imgui.table_next_column()
                    value = column.get(name) if column else None
                    if value is None:
                        imgui.text_colored(MUTED, "·")
                        continue
                    finite = [v for v in column.values() if math.isfinite(v)]
                    text = f"{value:.3g}" if math.isfinite(value) else "diverged"
                    if math.isfinite(value) and value <= min(finite):
                        imgui.text_colored(GOOD, text)
                    else:
                        imgui.text(text)
            imgui.end_table()
        imgui.text_colored(MUTED, "green: the lowest; · not reached yet")
        imgui.begin_disabled(self.host.challenges.playing)
        self._stop_button("Run to T/2 and stop", T // 2)
        imgui.same_line()
        self._stop_button("Run to T and stop", T)
        imgui.end_disabled()
        if self._stop_at is not None:
            imgui.text_colored(MUTED, f"will stop at step {self._stop_at}")

    @staticmethod
    def _losses_at(run, step: int) -> dict[str, float] | None:
        """Each run's loss at ``step`` from the recorded history (None if the run has not got there)."""
        if step > run.steps:
            return None
        return {name: float(run.series(f"loss_{name}")[step]) for name, _, _ in RUNS}

    # -- plots -------------------------------------------------------------------------------------
    def plots(self) -> None:
        if not implot.begin_subplots("##schedule_free", 1, 3, imgui.ImVec2(-1, -1), 0, self._ratios):
            return
        self._loss_plot()
        self._ratio_plot()
        # the regression's 32 weights do not fit in the scene's plane: their losses take the last column
        self._lr_plot() if self._landscape else self._weights_plot()
        implot.end_subplots()

    def _setup_time_axis(self, y_label: str, y_fit: bool = True) -> np.ndarray:
        """A step axis that always shows the planned end T, so the learner sees where the schedule aims;
        a log y axis, fitted to the data if ``y_fit``; returns the steps of the history."""
        run, T = self.run, self.model.planned_steps
        implot.setup_axes("step", y_label, 0, implot.AxisFlags_.auto_fit.value if y_fit else 0)
        implot.setup_axis_limits(implot.ImAxis_.x1.value, 0.0, max(1.08 * T, run.steps + 1.0),
                                 implot.Cond_.always.value)
        implot.setup_axis_scale(implot.ImAxis_.y1.value, implot.Scale_.log10.value)
        return np.arange(run.steps + 1, dtype=np.float64)

    def _marks(self) -> None:
        """T/2 and the planned end T, as labelled vertical lines (call after the axes are set up)."""
        T = self.model.planned_steps
        spec = implot.Spec(line_color=(0.8, 0.8, 0.85, 0.5), flags=implot.ItemFlags_.no_legend.value)
        implot.plot_inf_lines("##marks", np.array([0.5 * T, float(T)]), spec)
        top = implot.get_plot_limits().y.max
        for x, text in ((0.5 * T, "T/2"), (float(T), "T")):
            implot.plot_text(text, x, top, imgui.ImVec2(-12, 9))

    def _loss_plot(self) -> None:
        run = self.run
        if not implot.begin_plot("loss (faint red: explorer z)"):
            return
        steps = self._setup_time_axis("loss")
        implot.setup_legend(implot.Location_.north_east.value)
        self._marks()
        implot.plot_line("##explorer", steps, _finite(run.series("loss_explorer")),
                         implot.Spec(line_color=Z_COLOR[:3] + (0.45,), line_weight=1.0,
                                     flags=implot.ItemFlags_.no_legend.value))
        for name, label, color in RUNS:
            implot.plot_line(label, steps, _finite(run.series(f"loss_{name}")),
                             implot.Spec(line_color=color, line_weight=2.0))
        implot.end_plot()

    def _ratio_plot(self) -> None:
        """Each run's loss over Schedule-Free's: above 1 Schedule-Free is ahead."""
        run = self.run
        if not implot.begin_plot("÷ Schedule-Free's loss", flags=implot.Flags_.no_legend.value):
            return
        steps = self._setup_time_axis("loss ratio")
        self._marks()
        reference = _finite(run.series("loss_schedule_free"))
        with np.errstate(all="ignore"):
            for name, label, color in RUNS[1:]:
                implot.plot_line(label, steps, _finite(_finite(run.series(f"loss_{name}")) / reference),
                                 implot.Spec(line_color=color, line_weight=2.0))
        implot.plot_inf_lines("##even", np.array([1.0]), implot.Spec(line_color=X_COLOR, flags=(
            implot.InfLinesFlags_.horizontal.value | implot.ItemFlags_.no_legend.value)))
        implot.end_plot()

    def _lr_plot(self) -> None:
        model, run = self.model, self.run
        if not implot.begin_plot("step sizes γ", flags=implot.Flags_.no_legend.value):
            return
        steps = self._setup_time_axis("γ", y_fit=False)
        lrs = [v for v in model.lrs.values() if v > 0]
        implot.setup_axis_limits(implot.ImAxis_.y1.value, 0.1 * min(lrs), 3.0 * max(lrs), implot.Cond_.always.value)
        self._marks()
        cosine = run.series("lr_cosine")
        implot.plot_line("cosine", steps, _finite(np.where(cosine > 0, cosine, np.nan)),
                         implot.Spec(line_color=COSINE_COLOR, line_weight=2.0))
        span = np.array([0.0, max(1.08 * model.planned_steps, run.steps + 1.0)])
        for name, label, color in (("schedule_free", "Schedule-Free", X_COLOR),
                                   ("constant", "constant", CONSTANT_COLOR)):
            implot.plot_line(label, span, np.full(2, model.lrs[name]), implot.Spec(line_color=color, line_weight=2.0))
        implot.end_plot()

    def _weights_plot(self) -> None:
        """Regression: the excess loss per weight, ½λᵢ(wᵢ − wᵢ*)², for each run, strongest feature first."""
        model = self.model
        if not implot.begin_plot("loss per weight, now", flags=implot.Flags_.no_legend.value):
            return
        problem = model.problem
        index = np.arange(1, problem.dim + 1, dtype=np.float64)
        implot.setup_axes("weight i (strongest first)", "½λᵢ(wᵢ − wᵢ*)²", implot.AxisFlags_.auto_fit.value,
                          implot.AxisFlags_.auto_fit.value)
        implot.setup_axis_scale(implot.ImAxis_.y1.value, implot.Scale_.log10.value)
        with np.errstate(all="ignore"):
            for name, label, color in RUNS:
                w = np.asarray(model.race.points[name], dtype=np.float64)
                excess = np.maximum(0.5 * problem.spectrum * (w - problem.target) ** 2, 1e-12)
                spec = implot.Spec(line_color=color, line_weight=1.5, marker=implot.Marker_.circle.value,
                                   marker_size=2.5)
                implot.plot_line(label, index, _finite(excess), spec)
        implot.end_plot()

    def release(self) -> None:
        if self._surface is not None:
            self._surface.release()
            self._surface = None
