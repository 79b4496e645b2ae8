"""The Flow Straightener's view: a pane per round of rectified flow (0: independent pairs, k: after
k reflows) under one camera, with its Euler paths, its velocity field and particles at a time t, its
training pairs and the target; plots of quality against Euler steps, straightness and loss."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.draw import Batch, box_segments, ellipse_segments
from sandbox.kit import PALETTE, Plot, bars, finite, fitted_y, line, plot_strip, progress_bar, round_ticks
from sandbox.view import View, side_by_side

from .model import EXTENT, GRID, MANY_STEPS, QUALITY_BAR, STEP_COUNTS

ROUND_COLORS = (PALETTE.orange, PALETTE.sky, PALETTE.green, PALETTE.purple)  # one per round (≤ 3 reflows), everywhere
NOISE, FRAME, ARROW, EXACT = PALETTE.muted, PALETTE.grid, PALETTE.text, PALETTE.yellow
TITLE_ROOM, READOUT_ROOM = 1.5, 0.9  # world units above each square (title; caption) and below (read-out)
ARROW_TIME = 0.25  # an arrow shows how far a particle moves in this much time (clipped to a cell)
CELL = (EXTENT[1] - EXTENT[0]) / (math.isqrt(len(GRID)) - 1)
ANIMATION_S = 5.0  # seconds for the shown time t to sweep from 0 to 1


def field_arrows(batch: Batch, velocities: np.ndarray, color) -> None:
    """Arrows of a velocity field on the model's grid: each shows how far a particle moves in
    ARROW_TIME, clipped to its cell, brighter when faster."""
    speed = np.linalg.norm(velocities, axis=1, keepdims=True)
    length = np.minimum(speed * ARROW_TIME, 0.9 * CELL)
    batch.arrows(GRID, velocities / np.maximum(speed, 1e-12) * length, color, 0.3 + 0.5 * length[:, 0] / (0.9 * CELL))


def shown(value: float, spec: str) -> str:
    """A measured value, or "hidden" while the open challenge asks for it."""
    return format(value, spec) if np.isfinite(value) else "hidden"


def round_label(k: int, title: bool = False) -> str:
    """The name of round k: short (legends, tables) or a pane's title."""
    if k == 0:
        return "flow 1: independent pairs" if title else "flow 1"
    return f"after reflow {k}" if title else f"reflow {k}"


class StraightenerView(View):
    camera = "2d"

    def __init__(self, context):
        super().__init__(context)
        self.show_paths, self.show_field, self.show_pairs, self.show_exact = True, True, False, False
        self.animate = False
        self.t = 0.5  # the time of the field and the particles (in hundredths: the model memoises per t)

    def on_reset(self) -> None:
        x0, x1, y0, y1 = EXTENT
        self.cam.fit(x0, x1, y0 - READOUT_ROOM, y1 + TITLE_ROOM, margin=0.03, follow=True)

    def rounds(self) -> int:
        """Panes: one per round of the schedule (the first flow and each reflow)."""
        return int(self.params["reflows"]) + 1

    def panes(self):
        return side_by_side(*((str(k), self.cam, 1.0) for k in range(self.rounds())))

    def measured(self) -> np.ndarray:
        """One row per evaluated round (S, the distances: ``round_row``), NaN where a challenge asks."""
        rows, hidden = self.run.array("rounds").copy(), self.challenge.hidden()
        if "straightness" in hidden:
            rows[:, 0] = np.nan
        if "distance_one_step" in hidden:
            rows[:, 1:-1] = np.nan
        return rows

    # -- the scene -------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        model, k = self.model, int(frame.pane)
        self.gl.disable(self.gl.DEPTH_TEST)  # flat layers, drawn in order
        if self.animate:
            self.t = round((self.context.time / ANIMATION_S) % 1.0, 2)
            self.context.request_frames()
        under, over = Batch(), Batch()
        under.segments(box_segments(*EXTENT), FRAME if k <= model.round else FRAME.fade(0.35))
        if k > model.round:  # this round's flow does not exist yet
            return under.draw(self.painter, frame.mvp, frame.viewport, 1.2)
        color = ROUND_COLORS[k]
        under.segments(ellipse_segments(model.target.means, model.target.covariances), PALETTE.white.alpha(0.3))
        if self.show_pairs:
            x0, x1 = model.round_pairs(k)
            under.segments(np.stack([x0, x1], axis=1), np.tile([NOISE.alpha(0.35), color.alpha(0.35)], (len(x0), 1)))
        if self.show_field:
            field_arrows(under, model.velocity_grid(k, self.t), ARROW)
            if self.show_exact and k == 0:
                field_arrows(under, model.velocity_grid(0, self.t, exact=True), EXACT)
        if self.show_paths:
            paths = model.paths(k)
            # each segment coloured by its time: noise grey to the round's colour at the data
            over.polylines(paths, [NOISE.mix(color, f).alpha(0.55) for f in np.linspace(0, 1, len(paths) - 1)])
            over.points(paths[0], NOISE.alpha(0.8), 3.0)
            over.points(paths[-1], color, 4.0)
            if self.show_field:  # the particles at the time the field is shown
                over.points(model.particles(k, self.t), PALETTE.white.alpha(0.9), 4.0)
        under.draw(self.painter, frame.mvp, frame.viewport, 1.2)
        over.draw(self.painter, frame.mvp, frame.viewport, 1.4)

    def overlay(self, draw_list, frame) -> None:
        model, k = self.model, int(frame.pane)
        x0, _, y0, y1 = EXTENT
        alive = k <= model.round
        color = ROUND_COLORS[k] if alive else PALETTE.muted
        title = round_label(k, title=True)
        title = title if imgui.calc_text_size(title).x < frame.size[0] - 8 else round_label(k)  # a narrow pane
        frame.label(draw_list, (x0, y1), title, color, (2.0, -4.0 - imgui.get_text_line_height()), plate=False)
        if not alive:
            return frame.label(draw_list, (0.0, 0.0), f"waits for reflow {k}", PALETTE.muted,
                               (0.0, -0.5 * imgui.get_text_line_height()), plate=False, align=0.5)
        frame.label(draw_list, (x0, y0), self.readout(k), PALETTE.text.fade(0.85), (2.0, 4.0), plate=False)
        if k == 0:
            steps = int(self.params["view_steps"])
            frame.caption(draw_list, ([f"t = {self.t:.2f}: field and particles"] if self.show_field else []) +
                          ([f"paths: {steps} Euler step{'s' if steps > 1 else ''}"] if self.show_paths else []))

    def readout(self, k: int) -> str:
        """What is known of round k, under its pane (its measurements only once they answer nothing)."""
        model, rows = self.model, self.measured()
        if k < len(rows):
            return f"S = {shown(rows[k, 0], '.3f')}   1 step: {shown(rows[k, 1], '.2f')}"
        return f"training {model.phase_progress:.0%}" if k == model.round and model.phase == "training" else model.phase

    # -- panels ----------------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        imgui.push_text_wrap_pos(0.0)
        imgui.separator_text("Training")
        phase = {"training": f"training {round_label(model.round)}", "evaluating": "measuring quality against steps",
                 "reflowing": f"reflow {model.round + 1}: pairing noise with endpoints"}.get(model.phase, model.phase)
        progress_bar(model.progress, f"{model.progress:.0%}  {phase}")
        if model.phase != "done":
            progress_bar(model.phase_progress, f"this phase {model.phase_progress:.0%}")
        imgui.separator_text("Show")
        # paths and pairs are both lines from noise to data: one at a time stays readable
        if imgui.radio_button("paths", self.show_paths):
            self.show_paths, self.show_pairs = True, False
        imgui.same_line()
        if imgui.radio_button("training pairs", self.show_pairs):
            self.show_paths, self.show_pairs = False, True
        imgui.same_line()
        _, self.show_field = imgui.checkbox("velocity field", self.show_field)
        imgui.begin_disabled(not self.show_field)
        _, self.show_exact = imgui.checkbox("exact field of flow 1 (yellow)", self.show_exact)
        if imgui.is_item_hovered():
            imgui.set_tooltip("E[x₁ − x₀ | x_t = x] for independent pairs, from the target's exact score: "
                              "what the first network should learn.")
        imgui.set_next_item_width(imgui.get_content_region_avail().x * 0.52)
        changed, t = imgui.slider_float("field time t", self.t, 0.0, 1.0, "%.2f")
        if changed:
            self.t, self.animate = round(t, 2), False
        imgui.same_line()
        _, self.animate = imgui.checkbox("sweep", self.animate)
        imgui.end_disabled()
        if len(self.run.array("rounds")):
            self._rounds_table()
        imgui.pop_text_wrap_pos()

    def _rounds_table(self) -> None:
        imgui.separator_text("Rounds")
        rows, floor = self.measured(), self.model.floor
        if imgui.begin_table("rounds", 4, imgui.TableFlags_.row_bg.value | imgui.TableFlags_.borders_inner_h.value):
            for heading in ("", "S", "1 step", f"{MANY_STEPS} steps"):
                imgui.table_setup_column(heading)
            imgui.table_headers_row()
            for k, row in enumerate(rows):
                imgui.table_next_row()
                cells = [(ROUND_COLORS[k], round_label(k)), (PALETTE.text, shown(row[0], ".4f"))] + [
                    (PALETTE.good if d <= QUALITY_BAR * floor else PALETTE.text, shown(d, ".3f"))
                    for d in (row[1], row[1 + STEP_COUNTS.index(MANY_STEPS)])]
                for color, text in cells:
                    imgui.table_next_column()
                    imgui.text_colored(color, text)
            imgui.end_table()
        imgui.text_colored(PALETTE.muted, f"Distances to the target (sliced W₂); green: within {QUALITY_BAR:g}× the "
                                          f"noise floor {floor:.3f}.")

    # -- plots -----------------------------------------------------------------------------------
    def plots(self) -> None:
        rows, floor = self.measured(), self.model.floor
        values = rows[:, 0][np.isfinite(rows[:, 0]) & (rows[:, 0] > 0)]
        distances = np.isfinite(rows[:, 1:-1]).any()
        plot_strip(self.context, [
            Plot("quality against Euler steps", self._quality_plot, x_label="Euler steps", y_label="distance",
                 x_log=True, y_log=True, x_limits=(STEP_COUNTS[0] / 1.25, STEP_COUNTS[-1] * 1.25),
                 y_limits=None if distances else (0.5 * floor, 3.0), legend_at="north_east"),
            Plot("straightness S", self._straightness_plot, x_label="reflows", y_label="S", y_log=True, legend=False,
                 x_limits=(-0.6, self.rounds() - 0.4),  # bars on a log axis start at its bottom: limits from the values
                 y_limits=(values.min() / 4, values.max() * 2) if len(values) else (1e-3, 10.0)),
            Plot("flow loss", self._loss_plot, y_label="loss", legend_at="north_east",
                 **fitted_y(self.run.series("loss")))])

    def _placeholder(self, x: float, y: float) -> None:
        """Where the measurements will be: none yet, or hidden while the open challenge asks for them."""
        measured = len(self.run.array("rounds"))
        implot.plot_text("shown after the verdict" if measured else "measured after each round", x, y)

    def _quality_plot(self, run) -> None:
        """Distance to the target against the number of Euler steps, one curve per round."""
        rows, floor = self.measured(), self.model.floor
        steps = np.array(STEP_COUNTS, dtype=np.float64)
        implot.setup_axis_ticks(implot.ImAxis_.x1.value, list(steps), [str(n) for n in STEP_COUNTS])
        for k, row in enumerate(rows):
            distances = np.where(row[1:-1] > 0, row[1:-1], np.nan)  # a log axis
            if np.isfinite(distances).any():
                line(round_label(k), steps, distances, ROUND_COLORS[k], marker=3.0)
        # the band from the noise floor to the bar: samples in it are as good as the challenges ask
        implot.plot_shaded("good enough", steps[[0, -1]], np.full(2, floor), np.full(2, QUALITY_BAR * floor),
                           implot.Spec(fill_color=PALETTE.good, fill_alpha=0.25))
        implot.plot_inf_lines("##shown", np.array([float(self.params["view_steps"])]),  # the paths use this many
                              implot.Spec(line_color=PALETTE.white.alpha(0.35)))
        if not np.isfinite(rows[:, 1]).any():
            self._placeholder(math.sqrt(STEP_COUNTS[-1]), math.sqrt(1.5 * floor))

    def _straightness_plot(self, run) -> None:
        """The straightness S of every evaluated round (log scale: reflow drops it by orders)."""
        rounds = self.rounds()
        implot.setup_axis_ticks(implot.ImAxis_.x1.value, list(map(float, range(rounds))), list(map(str, range(rounds))))
        values = self.measured()[:, 0]
        for k, value in enumerate(values):
            bars(f"S{k}", k, value, 0.6, ROUND_COLORS[k], legend=False)
        if not np.isfinite(values).any():
            self._placeholder(0.5 * (rounds - 1), 0.1)

    def _loss_plot(self, run) -> None:
        """The flow loss along the run, one colour per round."""
        loss, rounds = finite(run.series("loss")), finite(run.series("round"))
        steps = np.arange(len(loss), dtype=np.float64)
        round_ticks(0.0, float(len(loss)))
        for k in range(self.rounds()):
            mask = (rounds == k) & (loss > 0)
            if mask.any():
                line(round_label(k), steps[mask], loss[mask], ROUND_COLORS[k], weight=1.5)
