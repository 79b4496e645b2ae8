"""The Flow Straightener's view: a pane per round of rectified flow (0: independent pairs, k: after
k reflows) under one camera, with its Euler paths, its velocity field and particles at a time t, its
training pairs and the target; plots of quality against Euler steps, straightness and loss."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.draw import Batch, box_segments, ellipse_segments
from sandbox.kit import PALETTE, Plot, bars, finite, fitted_y, hline, line, plot_strip, progress_bar, round_ticks, set_ticks
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


def shown(value: float, spec: str, suffix: str = "") -> str:
    """A measured value, or "hidden" while the open challenge asks for it."""
    return format(value, spec) + suffix if np.isfinite(value) else "hidden"


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
        self.plot_widths: dict[str, float] = {}  # each plot's width last frame, in pixels: how many ticks fit

    def on_reset(self) -> None:
        x0, x1, y0, y1 = EXTENT
        self.cam.fit(x0, x1, y0 - READOUT_ROOM, y1 + TITLE_ROOM, margin=0.03, follow=True)

    def rounds(self) -> int:
        """Panes: one per round of the schedule (the first flow and each reflow)."""
        return int(self.params["reflows"]) + 1

    def panes(self):
        return side_by_side(*((str(k), self.cam, 1.0) for k in range(self.rounds())))

    def asked_round(self) -> int | None:
        """The round the open challenge asks about (its run's last: the reflows it sets), while its
        answer must stay hidden; None when nothing is hidden."""
        challenge = self.challenge.open
        if challenge is None or not self.challenge.hide_answers:
            return None
        return int(challenge.set.get("reflows", self.params["reflows"]))

    def measured(self) -> np.ndarray:
        """One row per evaluated round (S, the distances: ``round_row``), NaN where the open
        challenge asks: its observables, for the round it asks about and later ones (the earlier
        rounds are what a learner predicts from)."""
        rows, hidden, asked = self.run.array("rounds").copy(), self.challenge.hidden(), self.asked_round()
        if asked is None:
            return rows
        if "straightness" in hidden:
            rows[asked:, 0] = np.nan
        if "distance_one_step" in hidden:
            rows[asked:, 1:] = np.nan
        return rows

    def ratios(self) -> np.ndarray:
        """The distances of :meth:`measured` in units of the noise floor, ``(rounds, len(STEP_COUNTS))``."""
        return self.measured()[:, 1:-1] / self.model.floor

    def scene_hidden(self, k: int) -> bool:
        """Round k's paths, field and pairs would answer the open challenge: a reflowed round the
        challenge asks about (the first flow's curved paths are what a learner predicts from)."""
        asked = self.asked_round()
        return asked is not None and k >= max(asked, 1)

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
        if self.scene_hidden(k):
            return under.draw(self.painter, frame.mvp, frame.viewport, 1.2)
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
        if not alive or self.scene_hidden(k):
            note = f"waits for reflow {k}" if not alive else "its paths: after the verdict"
            note = note if imgui.calc_text_size(note).x < frame.size[0] - 8 else "after the verdict" if alive else "waits"
            frame.label(draw_list, (0.0, 0.0), note, PALETTE.muted, (0.0, -0.5 * imgui.get_text_line_height()),
                        plate=True, align=0.5)
            if not alive:
                return
        frame.label(draw_list, (x0, y0), self.readout(k, frame.size[0] - 4.0), PALETTE.text.fade(0.85), (2.0, 4.0),
                    plate=False)
        if k == 0:
            steps = int(self.params["view_steps"])
            lines = (([f"t = {self.t:.2f}: field and particles"] if self.show_field else []) +
                     ([f"paths: {steps} Euler step{'s' if steps > 1 else ''}"] if self.show_paths else []))
            # over the title room only where it fits (large text: the panel's sliders say the same)
            room = frame.to_overlay((x0, y1))
            room = -1.0 if room is None else room.y - frame.origin[1]
            if room > (len(lines) + 1) * (imgui.get_text_line_height() + 6.0) + 4.0:
                frame.caption(draw_list, lines)

    def readout(self, k: int, width: float | None = None) -> str:
        """What is known of round k, under its pane (its measurements only once they answer nothing):
        S and how far one Euler step lands from the target, in noise floors; shorter when the full
        line is wider than ``width`` pixels."""
        model, rows = self.model, self.measured()
        if k < len(rows):
            s, one = shown(rows[k, 0], ".3f"), rows[k, 1] / model.floor
            for text in (f"S = {s}   1 step: {shown(one, '.1f', '× floor')}", f"S {s}  1 step {shown(one, '.1f', '×')}"):
                if width is None or imgui.calc_text_size(text).x < width:
                    return text
            return f"S = {s}"
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
        rows, ratios = self.measured(), self.ratios()
        if imgui.begin_table("rounds", 4, imgui.TableFlags_.row_bg.value | imgui.TableFlags_.borders_inner_h.value):
            for heading in ("", "S", "1 step", f"{MANY_STEPS} steps"):
                imgui.table_setup_column(heading)
            imgui.table_headers_row()
            for k, (row, ratio) in enumerate(zip(rows, ratios)):
                imgui.table_next_row()
                cells = [(ROUND_COLORS[k], round_label(k)), (PALETTE.text, shown(row[0], ".4f"))] + [
                    (PALETTE.good if r <= QUALITY_BAR else PALETTE.text, shown(r, ".2f", "×"))
                    for r in (ratio[0], ratio[STEP_COUNTS.index(MANY_STEPS)])]
                for color, text in cells:
                    imgui.table_next_column()
                    imgui.text_colored(color, text)
            imgui.end_table()
        imgui.text_colored(PALETTE.muted, f"Distance to the target (sliced W₂) in noise floors: 1× is what a perfect "
                                          f"sampler scores ({self.model.floor:.3f}); green: within {QUALITY_BAR:g}×, "
                                          "the bar.")

    # -- plots -----------------------------------------------------------------------------------
    def plots(self) -> None:
        rows, ratios = self.measured(), self.ratios()
        values = rows[:, 0][np.isfinite(rows[:, 0]) & (rows[:, 0] > 0)]
        shown_ratios = ratios[np.isfinite(ratios) & (ratios > 0)]
        top = max(4.0 * QUALITY_BAR, 1.5 * shown_ratios.max()) if len(shown_ratios) else 20.0
        plot_strip(self.context, [
            Plot("quality", self._quality_plot, x_label="Euler steps", y_label="distance / floor",
                 x_log=True, y_log=True, x_limits=(STEP_COUNTS[0] / 1.25, STEP_COUNTS[-1] * 1.25),
                 y_limits=(0.7, top), legend=False),  # its colours are the panes' titles
            Plot("S per round", self._straightness_plot, x_label="reflows", y_label="S", y_log=True, legend=False,
                 x_limits=(-0.6, self.rounds() - 0.4),  # bars on a log axis start at its bottom: limits from the values
                 y_limits=(values.min() / 4, values.max() * 2) if len(values) else (1e-3, 10.0)),
            Plot("flow loss", self._loss_plot, y_label="loss", legend=False,
                 **fitted_y(self.run.series("loss")))])

    def _placeholder(self, x: float, y: float) -> None:
        """Where the measurements will be: none yet, or hidden while the open challenge asks for them."""
        measured = len(self.run.array("rounds"))
        implot.plot_text("shown after the verdict" if measured else "measured after each round", x, y)

    def _quality_plot(self, run) -> None:
        """Distance to the target in noise floors against the number of Euler steps, one curve per
        round; the band from the floor to the bar is what the challenges count as good enough."""
        ratios = self.ratios()
        steps = np.array(STEP_COUNTS, dtype=np.float64)
        ticks = [n for n in STEP_COUNTS if n != 3] if self.roomy("quality") else [1, 10, STEP_COUNTS[-1]]
        set_ticks(ticks)
        # the floor (what a perfect sampler scores) and the bar (the challenges' "good enough") named on the axis
        set_ticks([1.0, QUALITY_BAR, 10.0], ["floor", "bar", "10×"], axis=implot.ImAxis_.y1.value)
        implot.plot_shaded("##good enough", steps[[0, -1]], np.ones(2), np.full(2, QUALITY_BAR),
                           implot.Spec(fill_color=PALETTE.good, fill_alpha=0.3))
        hline(QUALITY_BAR, PALETTE.good.alpha(0.8))
        for k, ratio in enumerate(ratios):
            ratio = np.where(ratio > 0, ratio, np.nan)  # a log axis
            if np.isfinite(ratio).any():
                line(round_label(k), steps, ratio, ROUND_COLORS[k], marker=3.0)
        hidden = [round_label(k) for k, ratio in enumerate(ratios) if np.isnan(ratio).all()]
        if not np.isfinite(ratios).any():
            self._placeholder(math.sqrt(STEP_COUNTS[-1]), 4.0)
        elif hidden and self.roomy("quality"):  # (narrow, the panes say it)
            implot.plot_text(f"{', '.join(hidden)}: after the verdict", math.sqrt(STEP_COUNTS[-1]), 6.0)
        if not self.challenge.hide_answers:  # where the paths drawn above stand (a mark on the axis could read as a hint)
            implot.plot_inf_lines("##shown", np.array([float(self.params["view_steps"])]),
                                  implot.Spec(line_color=PALETTE.white.alpha(0.35)))
        self.plot_widths["quality"] = implot.get_plot_size().x

    def roomy(self, plot: str) -> bool:
        """Whether the plot was wide enough last frame for about six tick labels (a large UI scale,
        a small window: fewer)."""
        return self.plot_widths.get(plot, math.inf) > 14 * imgui.get_font_size()

    def _straightness_plot(self, run) -> None:
        """The straightness S of every evaluated round (log scale: reflow drops it by orders)."""
        rounds = self.rounds()
        set_ticks(range(rounds))
        values = self.measured()[:, 0]
        for k, value in enumerate(values):
            bars(f"S{k}", k, value, 0.6, ROUND_COLORS[k], legend=False)
        if not np.isfinite(values).any():
            self._placeholder(0.5 * (rounds - 1), 0.1)
        for k in np.flatnonzero(np.isnan(values)) if np.isfinite(values).any() else ():  # rounds the challenge asks about
            implot.plot_text("after the\nverdict", float(k), math.sqrt(implot.get_plot_limits().y.min *
                                                                      implot.get_plot_limits().y.max))

    def _loss_plot(self, run) -> None:
        """The flow loss along the run, one colour per round."""
        loss, rounds = finite(run.series("loss")), finite(run.series("round"))
        steps = np.arange(len(loss), dtype=np.float64)
        round_ticks(0.0, float(len(loss)), count=4 if self.roomy("loss") else 2)
        for k in range(self.rounds()):
            mask = (rounds == k) & (loss > 0)
            if mask.any():
                line(round_label(k), steps[mask], loss[mask], ROUND_COLORS[k], weight=1.5)
        self.plot_widths["loss"] = implot.get_plot_size().x
