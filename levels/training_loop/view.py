"""The Training Loop, drawn. Left: the loop's six stages as a column of boxes, the one just done
lit, with a return arrow (repeat). Right: one position close up: the 8 characters the network
reads, the character it must predict, and its P(next) over the 23 characters as bars, with the
grammar's own P as white ticks (and, after an update, the P before it as outlines). Under them, the
text the network writes now with the chosen sampling rule. The plots: held-out perplexity against
the iteration, with V, the counting models and the text's own perplexity as lines; the loss of
each batch. While a prediction is open, what would answer it stays hidden."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.camera import Camera2D
from sandbox.kit import PALETTE, Plot, first_fit, hline, line, plot_strip, progress_bar
from sandbox.view import View

from .lm import BATCH, CONTEXT, STAGES

LIT, DONE, TODO = PALETTE.orange, PALETTE.green, PALETTE.muted
MODEL, TRUTH, BEFORE = PALETTE.sky, PALETTE.white, PALETTE.yellow
#: The scene's world box: the loop column on the left, the close-up on the right.
BOX = (-0.3, 20.3, 0.1, 9.7)
STAGE_X = (0.2, 6.2)
STAGE_H, STAGE_GAP, STAGE_TOP = 1.05, 1.5, 9.4
BARS_X, BARS_Y0, BARS_Y1 = 7.6, 1.0, 6.4
CONTEXT_Y = 8.2
#: Short names of the stages for narrow panes (the long ones are lm.STAGES).
SHORT = ("sample", "forward", "P(next)", "loss", "backward", "update")


def stage_box(k: int) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of stage k's box."""
    y1 = STAGE_TOP - k * STAGE_GAP
    return STAGE_X[0], STAGE_X[1], y1 - STAGE_H, y1


class TrainingLoopView(View):
    controls = (("Next stage (panel), or N / Step while paused", "step-through mode: do the loop's next stage now"),
                ("Run the loop (panel)", "switch to run mode: a whole iteration per tick"))

    def __init__(self, context):
        super().__init__(context)
        self._fitted = None
        self._boxed = True

    def make_camera(self):
        return Camera2D(center=(10.0, 4.6), half_height=6.0)

    def on_reset(self) -> None:
        self.cam.fit(*BOX)
        self._fitted = None
        self._boxed = True

    def _fit(self, frame) -> None:
        """Fit the drawing between the caption's two lines at the top and the text line at the
        bottom, whatever the pane's size and the UI scale (again when either changes)."""
        line = imgui.get_text_line_height() + 6.0
        key = (tuple(round(v) for v in frame.size), round(line, 1))
        if getattr(self, "_fitted", None) == key:
            return
        self._fitted = key
        width, height = frame.size
        top, bottom = 2.0 * line + 14.0, line + 14.0
        x0, x1, y0, y1 = BOX
        s = min(width / (x1 - x0), max(height - top - bottom, 20.0) / (y1 - y0)) / 1.05
        self.cam.fit(x0, x1, y0 - bottom / s, y1 + top / s, margin=0.0)

    # -- hiding -------------------------------------------------------------------------------
    def _hidden(self) -> frozenset[str]:
        return self.challenge.hidden()

    def _ppl_hidden(self) -> bool:
        return "held_out_ppl" in self._hidden()

    # -- scene ----------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        model = self.model
        if model.finished and not self.transport.paused and not self.challenge.playing and model.loop.stage == -1:
            self.transport.pause()  # the end of training
        if model.stepping and self.transport.paused:
            model.hurry()  # paused, a single step (the Step button, the N key) is the next stage
        self.gl.disable(self.gl.DEPTH_TEST)
        # every shape of one colour goes in one call: draw calls are what a software renderer pays for
        lit = model.last_stage
        mid = model.loop.stage  # −1 between iterations
        boxes = np.array([stage_box(k) for k in range(len(STAGES))])
        fills = []
        for k in range(len(STAGES)):
            if k == lit:
                fills.append(LIT.alpha(0.85))
            elif mid >= 0 and k < mid or (lit == len(STAGES) - 1 and mid == -1 and not model.stepping):
                fills.append(DONE.alpha(0.25))
            else:
                fills.append(PALETTE.plate.alpha(0.9))
        self.rects(frame, boxes, fills)
        others = [k for k in range(len(STAGES)) if k != lit]
        self.outline(frame, boxes[others], TODO, 1.2)
        if lit >= 0:
            self.outline(frame, boxes[lit], LIT, 2.5)
        x = 0.5 * (STAGE_X[0] + STAGE_X[1])
        arrows = [((x, box[2]), (x, box[2] - (STAGE_GAP - STAGE_H))) for box in boxes[:-1]]
        top, bottom = boxes[0], boxes[-1]
        y_top, y_bottom = 0.5 * (top[2] + top[3]), 0.5 * (bottom[2] + bottom[3])
        back = [((STAGE_X[0], y_bottom), (STAGE_X[0] - 0.25, y_bottom)), ((STAGE_X[0] - 0.25, y_bottom),
                (STAGE_X[0] - 0.25, y_top)), ((STAGE_X[0] - 0.25, y_top), (STAGE_X[0], y_top))]  # repeat
        if lit == len(STAGES) - 1:
            self.lines(frame, back, LIT, 2.0)
        else:
            arrows += back
        self.lines(frame, arrows, TODO, 2.0)
        self._close_up(frame)

    def _close_up(self, frame) -> None:
        spot = self.model.spotlight()
        V = len(spot.probs)
        width = (20.0 - BARS_X) / V
        # the context: 8 boxes, then the box of the character to predict (when they hold a character)
        tx = BARS_X + CONTEXT * 1.1 + 0.9
        if self._boxed:
            cells = np.array([(BARS_X + i * 1.1, BARS_X + i * 1.1 + 0.95, CONTEXT_Y, CONTEXT_Y + 1.0)
                              for i in range(CONTEXT)])
            self.outline(frame, cells, PALETTE.sky, 1.5)
            self.outline(frame, (tx, tx + 0.95, CONTEXT_Y, CONTEXT_Y + 1.0), LIT, 2.5)
            self.lines(frame, [(tx - 0.8, CONTEXT_Y + 0.5), (tx - 0.1, CONTEXT_Y + 0.5)], LIT, 2.0)
        # the bars: P(next) over the V characters, on a scale whose lines are P = 0.5 and 1
        height = BARS_Y1 - BARS_Y0
        self.lines(frame, [((BARS_X - 0.1, BARS_Y0 + height * level), (20.0, BARS_Y0 + height * level))
                           for level in (0.0, 0.5, 1.0)], TODO.alpha(0.5), 1.0)
        xs = BARS_X + (np.arange(V) + 0.5) * width
        if self._bars_shown():
            target = self._target_index(spot)
            bars = np.stack([xs - 0.36 * width, xs + 0.36 * width, np.full(V, BARS_Y0), BARS_Y0 + height * spot.probs], 1)
            self.rects(frame, bars, [(LIT if i == target else MODEL).alpha(0.9) for i in range(V)])
            if spot.before is not None:
                old = np.stack([xs - 0.36 * width, xs + 0.36 * width, np.full(V, BARS_Y0), BARS_Y0 + height * spot.before], 1)
                self.outline(frame, old, BEFORE, 1.5)
        ticks = [((x - 0.45 * width, BARS_Y0 + height * p), (x + 0.45 * width, BARS_Y0 + height * p))
                 for x, p in zip(xs, spot.truth) if p > 0]
        if ticks:
            self.lines(frame, ticks, TRUTH, 3.0)

    def _bars_shown(self) -> bool:
        """In step-through mode the bars appear at the stage that computes them (P(next))."""
        model = self.model
        if not model.stepping or model.loop.data.positions is None:
            return True
        return model.last_stage >= 2 or model.loop.data.probs is None and model.last_stage == -1

    def _target_index(self, spot) -> int:
        return -1 if spot.target is None else self.model.corpus.lookup[spot.target]

    def overlay(self, draw_list, frame) -> None:
        model = self.model
        spot = model.spotlight()
        self._fit(frame)
        fit = frame.size[0] - 24.0
        frame.caption(draw_list, self._caption(spot, fit))
        em = imgui.get_font_size()
        # stage names inside their boxes
        box_px = abs(frame.to_overlay((STAGE_X[1], 0.0)).x - frame.to_overlay((STAGE_X[0], 0.0)).x)
        pitch = abs(frame.to_overlay((0.0, STAGE_GAP)).y - frame.to_overlay((0.0, 0.0)).y)
        crowded = pitch < imgui.get_text_line_height() + 4.0  # then only the lit stage is named
        for k, name in enumerate(STAGES):
            if crowded and k != max(model.last_stage, 0):
                continue
            x0, x1, y0, y1 = stage_box(k)
            text = first_fit([f"{k + 1}  {name}", f"{k + 1} {SHORT[k]}", f"{k + 1}"], box_px - 0.6 * em)
            at = frame.to_overlay((0.5 * (x0 + x1), 0.5 * (y0 + y1)))
            size = imgui.calc_text_size(text)
            color = PALETTE.shadow if k == model.last_stage else PALETTE.text
            frame.text(draw_list, (at.x - frame.origin[0] - size.x / 2, at.y - frame.origin[1] - size.y / 2), text,
                       color, plate=False)
        # the context's characters, and the one to predict: in their boxes, or as one line when the
        # boxes are too small for the font (a small pane at a large UI scale)
        tx = BARS_X + CONTEXT * 1.1 + 0.9 + 0.475
        target = "?" if spot.target is None or not self._bars_shown() and model.last_stage < 2 else \
            ("␣" if spot.target == " " else spot.target)
        context = spot.context.replace(" ", "␣")
        cell = abs(frame.to_overlay((0.95, 0.0)).x - frame.to_overlay((0.0, 0.0)).x)
        self._boxed = imgui.calc_text_size("m").x + 4.0 <= cell  # read by the next frame's scene
        if self._boxed:
            for i, ch in enumerate(context):
                self._char(draw_list, frame, (BARS_X + i * 1.1 + 0.475, CONTEXT_Y + 0.5), ch, PALETTE.sky, plate=False)
            self._char(draw_list, frame, (tx, CONTEXT_Y + 0.5), target, LIT, plate=False)
        else:
            self._char(draw_list, frame, (0.5 * (BARS_X + tx), CONTEXT_Y + 0.5), f"{context} → {target}", PALETTE.sky)
        # the characters under their bars: each where it does not touch one already written, the
        # character to predict first, then those the grammar or the network gives weight, then the rest
        V = len(spot.probs)
        width = (20.0 - BARS_X) / V
        target = self._target_index(spot)
        weight = np.maximum(spot.truth, spot.probs)
        order = sorted(range(V), key=lambda i: (i != target, bool(weight[i] < 0.1), -float(weight[i]), i))
        placed: list[tuple[float, float]] = []
        for i in order:
            ch = model.corpus.chars[i]
            text = "␣" if ch == " " else ch
            at = frame.to_overlay((BARS_X + (i + 0.5) * width, BARS_Y0 - 0.35))
            half = 0.5 * imgui.calc_text_size(text).x + 1.5
            if any(at.x - half < right and left < at.x + half for left, right in placed):
                continue
            placed.append((at.x - half, at.x + half))
            matters = i == target or weight[i] >= 0.1
            self._char(draw_list, frame, (BARS_X + (i + 0.5) * width, BARS_Y0 - 0.35), text,
                       LIT if i == target else PALETTE.text if matters else PALETTE.muted, plate=False)
        # the text the network writes
        line_text = self._sample_line(fit)
        frame.text(draw_list, (12.0, frame.size[1] - imgui.get_text_line_height() - 10.0), line_text, PALETTE.text)
        at = frame.to_overlay((BARS_X, 0.5 * (BARS_Y1 + CONTEXT_Y)))
        line = imgui.get_text_line_height()
        context_bottom = max(frame.to_overlay((BARS_X, CONTEXT_Y)).y,
                             frame.to_overlay((BARS_X, CONTEXT_Y + 0.5)).y + 0.5 * line + 4.0)
        if at.y - 10.0 >= context_bottom + 2.0:  # room under the context's row
            title = first_fit(["bars: P(next | 8 characters)", "P(next)"], 0.45 * frame.size[0])
            frame.text(draw_list, (at.x - frame.origin[0], at.y - frame.origin[1] - 10.0), title, MODEL)
        # the key, right-aligned under the P = 1 line at the end of the bars
        corner = frame.to_overlay((20.0, BARS_Y1))
        step = imgui.get_text_line_height() + 8.0
        room = corner.x - frame.to_overlay((BARS_X, BARS_Y1)).x
        keys = [(["white: the grammar's P", "white: grammar", "white: true P"], TRUTH)]
        if spot.before is not None:
            keys.append((["yellow: before the update", "yellow: before", "yellow: old"], BEFORE))
        for k, (wordings, color) in enumerate(keys):
            text = first_fit(wordings, room, otherwise=None)
            if text is None:
                continue
            size = imgui.calc_text_size(text)
            frame.text(draw_list, (corner.x - frame.origin[0] - size.x, corner.y - frame.origin[1] + 6.0 + k * step),
                       text, color)
        frame.labels(draw_list, self._labels(spot), always=3)

    def _sample_line(self, fit: float) -> str:
        """'it writes (rule): ' and as much of the sample as fits."""
        sample = self.model.sample()
        prefix = first_fit([f"it writes ({self._rule()}): ", "it writes: "], fit * 0.5)
        text = prefix + sample
        while len(text) > len(prefix) + 8 and imgui.calc_text_size(text + "…").x > fit:
            text = text[:-1]
        return text if text == prefix + sample else text + "…"

    def _char(self, draw_list, frame, point, text, color, plate: bool = True) -> None:
        at = frame.to_overlay(point)
        size = imgui.calc_text_size(text)
        frame.text(draw_list, (at.x - frame.origin[0] - size.x / 2, at.y - frame.origin[1] - size.y / 2), text, color,
                   plate=plate)

    def _rule(self) -> str:
        p = self.params
        if p["strategy"] == "top-k":
            return f"T = {p['temperature']:.2g}, top-k {p['top_k']}"
        if p["strategy"] == "top-p":
            return f"T = {p['temperature']:.2g}, top-p {p['top_p']:.2g}"
        return f"T = {p['temperature']:.2g}"

    def _labels(self, spot) -> list:
        out = []

        for level in (0.5, 1.0):  # the scale, at the right end of its line
            out.append(((20.0, BARS_Y0 + (BARS_Y1 - BARS_Y0) * level), f"P = {level:g}", PALETTE.muted, 0))
        return out

    def _caption(self, spot, fit: float) -> list:
        model, loop = self.model, self.model.loop
        d = loop.data
        current = loop.iteration + (1 if loop.stage >= 0 else 0)  # the iteration under way, stage by stage
        head = f"iteration {current} of {model.budget}"
        if model.stepping:
            words = self._stage_words(d, spot)
            first = first_fit([f"{head} · {words[0]}"] + words, fit)
        elif self._ppl_hidden():
            first = first_fit([f"{head} · the perplexity shows after the verdict", f"iteration {loop.iteration}"], fit)
        else:
            ppl, at = model.held_out_ppl, loop.record.eval_iterations[-1]
            first = first_fit([f"{head} · held-out perplexity {ppl:.2f} (at iteration {at}; V = {model.corpus.V})",
                               f"{head} · held-out perplexity {ppl:.2f} (at {at})",
                               f"{head} · perplexity {ppl:.2f}", f"it. {loop.iteration} · perplexity {ppl:.2f}"], fit)
        if model.stepping and d.positions is not None:
            where = ["close up: the batch's first window", "the batch's first window", "first window"]
        else:
            where = ["close up: a sentence starting 'the small ': which noun comes next?",
                     "close up: 'the small ', then which noun?", "'the small ': which noun?"]
        return [(first, LIT), (first_fit(where, fit), PALETTE.muted)]

    def _stage_words(self, d, spot) -> list[str]:
        """What the stage just done did, in numbers: wordings from the longest to the shortest."""
        stage = self.model.last_stage
        hidden = self._ppl_hidden()
        target = "␣" if spot.target == " " else spot.target
        if stage == -1:
            return ["press Next stage: the loop starts by sampling a batch", "press Next stage", "Next stage"]
        if stage == 0:
            return [f"1 sampled {BATCH} windows of {CONTEXT} characters from the training text",
                    f"1 sampled {BATCH} windows of {CONTEXT} characters", f"1 {BATCH} windows"]
        if stage == 1:
            return [f"2 forward: {CONTEXT} embeddings → {128} tanh units → {len(spot.probs)} logits per window",
                    f"2 forward: {CONTEXT} characters → {len(spot.probs)} logits", "2 forward"]
        if stage == 2:
            p = spot.probs[self._target_index(spot)]
            return [f"3 softmax: P('{target}' | context) = {p:.3f}", f"3 P('{target}') = {p:.3f}"]
        if stage == 3:
            if hidden:
                return ["4 the loss: shown after the verdict", "4 loss: hidden"]
            p = spot.probs[self._target_index(spot)]
            return [f"4 loss = mean −log P = {d.loss:.3f} nats (here −log {p:.3f} = {-math.log(max(p, 1e-300)):.2f})",
                    f"4 loss = mean −log P = {d.loss:.3f} nats", f"4 loss {d.loss:.3f}"]
        if stage == 4:
            return [f"5 backward: ‖∂L/∂θ‖ = {d.grad_norm:.3f}, largest in the {d.largest_grad}",
                    f"5 backward: ‖∂L/∂θ‖ = {d.grad_norm:.3f}", f"5 ‖g‖ = {d.grad_norm:.3f}"]
        if hidden:
            return ["6 Adam moved every parameter", "6 Adam update"]
        return [f"6 Adam: θ moved by {d.update_norm:.3f}; the batch's loss {d.loss:.3f} → {d.loss_after:.3f}",
                f"6 Adam: the batch's loss {d.loss:.3f} → {d.loss_after:.3f}", f"6 loss → {d.loss_after:.3f}"]

    # -- panel ----------------------------------------------------------------------------------
    def panel(self) -> None:
        model, transport = self.model, self.transport
        imgui.push_text_wrap_pos(0.0)
        imgui.separator()
        progress_bar(model.progress, f"iteration {model.loop.iteration} of {model.budget}")
        locked = self.challenge.locked
        if locked:
            imgui.begin_disabled()
        wide = imgui.ImVec2(-1, imgui.get_frame_height() * 1.6)
        if model.stepping:
            if imgui.button("Next stage  ▸", wide):
                self.next_stage()
            if imgui.button("Run the loop", imgui.ImVec2(-1, 0)):
                self.context.set_param("mode", "run")
                transport.play()
        else:
            if imgui.button("Run the loop  ▶" if transport.paused else "Pause", wide):
                transport.play() if transport.paused else transport.pause()
            if imgui.button("Step through one stage at a time", imgui.ImVec2(-1, 0)):
                self.context.set_param("mode", "step through")
                transport.pause()
        if locked:
            imgui.end_disabled()
        imgui.separator()
        imgui.pop_text_wrap_pos()
        self._table()

    def next_stage(self) -> None:
        """Step-through mode: do the next stage now (one step of the run) and pause there."""
        self.transport.pause()
        self.model.hurry()
        self.transport.step()

    def _table(self) -> None:
        model = self.model
        b = model.baselines()
        hidden = self._ppl_hidden()
        imgui.text("Perplexity on the held-out text (lower is better):")
        rows = [("uniform: 1/V each", float(model.corpus.V), PALETTE.muted),
                ("before training", math.exp(model.loop.initial_nll) if "initial_ppl" not in self._hidden() else None,
                 PALETTE.text),
                ("unigram (counting)", b["unigram"], PALETTE.muted), ("bigram (counting)", b["bigram"], PALETTE.vermillion),
                ("trigram (counting)", b["trigram"], PALETTE.yellow),
                (f"the network (iteration {model.loop.record.eval_iterations[-1]})", None if hidden else model.held_out_ppl,
                 MODEL),
                ("the text's own (floor)", b["floor"], PALETTE.green)]
        flags = imgui.TableFlags_.borders_inner_h.value | imgui.TableFlags_.sizing_fixed_fit.value
        if imgui.begin_table("##ppl", 2, flags):
            for name, value, color in rows:
                imgui.table_next_row()
                imgui.table_next_column()
                imgui.text_colored(color, name)
                imgui.table_next_column()
                imgui.text_colored(color, "hidden" if value is None else f"{value:.2f}")
            imgui.end_table()

    # -- plots ----------------------------------------------------------------------------------
    def plots(self) -> None:
        n = float(max(self.model.budget, 10))
        plot_strip(self.context, [
            Plot("held-out perplexity", self._ppl_plot, x_label="iteration", y_log=True, x_limits=(0.0, n),
                 y_limits=(1.2, 30.0), weight=1.6, min_width=14, priority=3, legend_at="beside"),
            Plot("loss on each batch", self._loss_plot, x_label="iteration", y_label="nats", x_limits=(0.0, n),
                 y_limits=(0.0, 3.4), legend=False, min_width=9, priority=1)])

    def _ppl_plot(self, run) -> None:
        model = self.model
        b = model.baselines()
        hline(model.corpus.V, PALETTE.muted, "V")
        hline(b["bigram"], PALETTE.vermillion, "bigram")
        hline(b["trigram"], PALETTE.yellow, "trigram")
        hline(b["floor"], PALETTE.green, "floor")
        if self._ppl_hidden():
            return
        r = model.loop.record
        line("network", np.asarray(r.eval_iterations, np.float64), np.asarray(r.held_out_ppl), MODEL, marker=2.5)

    def _loss_plot(self, run) -> None:
        model = self.model
        hline(math.log(model.baselines()["floor"]), PALETTE.green)
        if self._ppl_hidden():
            return
        r = model.loop.record
        if r.train_loss:
            line("batch loss", np.asarray(r.iterations, np.float64), np.asarray(r.train_loss), PALETTE.orange, weight=1.2)
