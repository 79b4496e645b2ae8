"""The Circuit Trace, drawn. The scene: the learner's prompt as a row of words, layer 0's
previous-token head and layer 1's induction head as attention edges above it (live patterns), and
the circuit behind the prediction at the last word lit: the earlier copy, the previous-token edge
into the word after it, the K-composition wire into layer 1's key there, and the copied word on
top. The panel: training, a word keyboard for the prompt, every head's scores. The plots: the loss
on the repeat against the step with the drop and the heads' formation marked (measured), the
scores, the loss by position, and one head's attention pattern. While a prediction is open, what
would answer it stays hidden."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.kit import (training_controls, 
    PALETTE,
    Plot,
    hline,
    line,
    plot_strip,
    set_ticks,
    vlines,
)
from sandbox.view import View

from .circuit import HEAD_THRESHOLD, LN_V, SEQ_LEN, WORDS, make_batch

TOKEN, PREV, IND, KCOMP, QUERY, OUT = (PALETTE.white, PALETTE.green, PALETTE.purple, PALETTE.yellow,
                                       PALETTE.sky, PALETTE.orange)
FIRST, REPEAT = PALETTE.sky, PALETTE.orange
ROWS = (0.0, 1.0, 2.0, 2.9)  # y of the words, layer 0, layer 1, the prediction
EDGE_FLOOR = 0.04  # attention weights below this are not drawn
WORDS_PER_ROW = 4  # the word keyboard


class CircuitView(View):
    controls = (("click a word in the panel's keyboard", "adds it to the prompt; the model predicts the next word"),
                ("Backspace / Clear / A random repeat", "edit the prompt"))

    def __init__(self, context):
        super().__init__(context)
        self.pattern_layer = 1  # the head whose attention pattern the plot shows
        self.pattern_head: int | None = None  # None: the circuit's head of that layer
        self.message = ""
        self.rng = np.random.default_rng(12345)
        self._below = 0.8  # world units the home view leaves under the token row, for the words

    def make_camera(self):
        return Camera2D(center=(5.0, 1.45), half_height=2.3)

    def on_reset(self) -> None:
        self.message = ""
        self._fit()

    def _fit(self) -> None:
        n = len(self.model.prompt)
        self.cam.fit(-0.9, n - 0.1, -self._below, ROWS[-1] + 1.1, follow=True)

    # -- hiding -------------------------------------------------------------------------------------
    def _hidden(self) -> frozenset[str]:
        return self.challenge.hidden()

    def _prediction_hidden(self) -> bool:
        """The ablation question: the prediction under the ablation would answer it."""
        return "rep_loss" in self._hidden()

    def _curves_hidden(self) -> bool:
        """The drop question: the training curves and their milestones would answer it."""
        return "induction_score" in self._hidden()

    # -- scene --------------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        model = self.model
        if model.finished and not self.transport.paused and not self.challenge.playing and not model.loaded:
            self.transport.pause()  # the end of training: the app's step counter stops there too
        self.gl.disable(self.gl.DEPTH_TEST)
        tr = model.trace()
        n = len(tr.tokens)
        xs = np.arange(n, dtype=np.float64)
        last = n - 1
        # the layers as faint rails
        for y in ROWS[1:3]:
            self.lines(frame, [(-0.5, y), (n - 0.5, y)], PALETTE.muted.alpha(0.25), 1.0)
        a0 = tr.patterns[0][tr.prev_head]
        t_idx, s_idx = np.nonzero(np.tril(a0) > EDGE_FLOOR)  # layer 0's head: each position gathers from earlier words
        self._edges(frame, np.stack([s_idx, np.full(len(s_idx), ROWS[0]), t_idx, np.full(len(t_idx), ROWS[1])], 1),
                    a0[t_idx, s_idx], PREV, 0.15, 0.6, 3.0)
        if len(tr.patterns) > 1 and not self._prediction_hidden():  # where layer 1 looks would hint at the verdict
            a1 = tr.patterns[-1][tr.ind_head][last]
            s_idx = np.flatnonzero(a1 > EDGE_FLOOR)  # layer 1's head, from the last word only
            self._edges(frame, np.stack([s_idx, np.full(len(s_idx), ROWS[1]), np.full(len(s_idx), last),
                                         np.full(len(s_idx), ROWS[2])], 1), a1[s_idx], IND, 0.2, 0.7, 4.0)
            self.lines(frame, [(last, ROWS[0]), (last, ROWS[2])], QUERY.alpha(0.6), 2.0)  # the query: the word itself
            if tr.earlier is not None:  # the circuit, lit
                src = tr.source
                self.lines(frame, [(tr.earlier, ROWS[0]), (src, ROWS[1])], PREV, 5.0)
                self.lines(frame, [(src, ROWS[1]), (src, ROWS[1] + 0.45)], KCOMP, 5.0)
                self.lines(frame, [(src, ROWS[1] + 0.45), (last, ROWS[2])], KCOMP, 3.0)
                self.lines(frame, [(src, ROWS[0]), (src, ROWS[1])], OUT.alpha(0.8), 3.0)  # the value: the word itself
                self.dots(frame, [(src, ROWS[1] + 0.45)], KCOMP, 12.0)
        if not self._prediction_hidden():
            self.lines(frame, [(last, ROWS[-2]), (last, ROWS[-1] - 0.12)], OUT, 3.0)
        self.dots(frame, np.stack([xs, np.full(n, ROWS[0])], 1), TOKEN, 10.0)
        self.dots(frame, np.stack([xs, np.full(n, ROWS[1])], 1), PREV.alpha(0.8), 7.0)
        if len(tr.patterns) > 1:
            self.dots(frame, [(last, ROWS[2])], IND, 12.0)

    def _edges(self, frame, segments: np.ndarray, weights: np.ndarray, color, alpha0: float, alpha1: float,
               widen: float) -> None:
        """Attention edges ``(x0, y0, x1, y1)``, more opaque and thicker for larger weights: one draw
        call per thickness class, each vertex with its own colour."""
        if len(segments) == 0:
            return
        widths = np.round(1.0 + widen * weights)
        base = np.array([color.x, color.y, color.z, 1.0], np.float32)
        for width in np.unique(widths):
            pick = widths == width
            rgba = np.repeat(base[None], pick.sum(), axis=0)
            rgba[:, 3] = alpha0 + alpha1 * weights[pick]
            points = segments[pick].reshape(-1, 2)
            self.painter.lines(frame.mvp, points, np.repeat(rgba, 2, axis=0), float(width), frame.viewport, strip=False)

    def overlay(self, draw_list, frame) -> None:
        model = self.model
        tr = model.trace()
        last = len(tr.tokens) - 1
        fit = frame.size[0] - 24.0
        layers = len(tr.patterns)
        lines = [self._headline(tr, fit)]
        if layers > 1:
            key = (f"green: layer 0, head {tr.prev_head} (previous word) · purple: layer 1, head {tr.ind_head} (induction) · "
                   "yellow: K-composition")
            for shorter in (f"green: L0 head {tr.prev_head} · purple: L1 head {tr.ind_head} · yellow: K-comp.",
                            f"L0 H{tr.prev_head} · L1 H{tr.ind_head} · K-comp."):
                if imgui.calc_text_size(key).x > fit:
                    key = shorter
            if imgui.calc_text_size(key).x <= fit:
                lines.append((key, PALETTE.muted))
        else:
            lines.append(("one layer: its keys know only their own word and place", PALETTE.muted))
        frame.caption(draw_list, lines)
        # the words: staggered on as many rows as they need, abbreviated when even that is crowded
        spacing = 1.0 / max(frame.world_per_pixel(), 1e-9)
        texts, rows = self.word_rows([WORDS[t] for t in tr.tokens], spacing)
        line_height = imgui.get_text_line_height() + 2.0
        for i, text in enumerate(texts):
            color = KCOMP if tr.earlier is not None and i in (tr.earlier, last) else \
                OUT if tr.earlier is not None and i == tr.source else TOKEN
            at = frame.to_overlay((float(i), ROWS[0]))
            if at is None:
                continue
            width = imgui.calc_text_size(text).x
            drop = 12.0 + line_height * (i % rows)
            frame.text(draw_list, (at.x - width / 2 - frame.origin[0], at.y + drop - frame.origin[1]), text, color)
        self._reserve_below(12.0 + line_height * rows + 8.0, frame.size[1])
        labels = [((-0.55, ROWS[1]), "layer 0", PREV, 1), ((-0.55, ROWS[2]), "layer 1", IND, 1)] if layers > 1 else \
            [((-0.55, ROWS[1]), "layer 0", PREV, 1)]
        if tr.earlier is not None and layers > 1 and not self._prediction_hidden():
            labels.append(((tr.source, ROWS[1] + 0.45), f"key: 'after {WORDS[tr.tokens[last]]}'", KCOMP, 2))
        if not self._prediction_hidden():  # the prediction first: the most important label
            labels.insert(0, ((float(last), ROWS[-1]), f"→ {WORDS[tr.predicted]}  {tr.probs[tr.predicted]:.0%}", OUT, 3))
        frame.labels(draw_list, labels)

    @staticmethod
    def word_rows(words: list[str], spacing: float) -> tuple[list[str], int]:
        """The texts of the words under the token row and on how many rows they alternate so that
        neighbours on a row do not touch (``spacing``: window units between positions): the
        words themselves on up to two rows, else their first three letters."""
        for texts in (words, [w[:3] for w in words]):
            widest = max(imgui.calc_text_size(t).x for t in texts)
            rows = max(1, math.ceil((widest + 8.0) / max(spacing, 1e-6)))
            if rows <= 2:
                break
        return texts, min(rows, len(words))

    def _reserve_below(self, pixels: float, pane_height: float) -> None:
        """Make the home view leave ``pixels`` under the token row for its words (applied from the
        next frame; only when it changes, so a pan or zoom of the learner's stays otherwise)."""
        height = ROWS[-1] + 1.1  # world units above the token row
        below = height * pixels / max(pane_height * 0.92 - pixels, 1.0)
        below = float(np.clip(below, 0.5, 4.0))
        if abs(below - self._below) > 0.04:
            self._below = below
            self._fit()

    def _headline(self, tr, fit: float) -> str:
        model = self.model
        last_word = WORDS[tr.tokens[-1]]
        ablation = str(self.params["ablation"])
        suffix = "" if ablation == "none" else f" (ablated: {ablation})"
        if self._prediction_hidden():
            return f"the prompt ends with '{last_word}': the prediction shows after the verdict"
        pred = WORDS[tr.predicted]
        if tr.earlier is not None and len(tr.patterns) > 1:
            text = (f"'{last_word}' came before, followed by '{WORDS[tr.tokens[tr.source]]}': layer 1 looks there "
                    f"({tr.patterns[-1][tr.ind_head][-1][tr.source]:.0%}) and predicts '{pred}'{suffix}")
            short = f"looks at '{WORDS[tr.tokens[tr.source]]}', predicts '{pred}'{suffix}"
        else:
            text = f"after '{last_word}' the model predicts '{pred}' ({tr.probs[tr.predicted]:.0%}){suffix}"
            short = f"predicts '{pred}'{suffix}"
        step = f"step {model.run.step_count}: "
        return step + text if imgui.calc_text_size(step + text).x <= fit else short

    # -- panel --------------------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        imgui.push_text_wrap_pos(0.0)
        imgui.separator()
        if model.loaded:
            shown = (1.0, f"trained checkpoint: {model.run.step_count} steps")
        else:
            shown = (model.progress, f"step {model.run.step_count} of {model.budget}")
        with training_controls(self, *shown):
            pass
        for text, color in self.status():
            imgui.text_colored(color, text)
        imgui.separator()
        self._prompt_editor()
        imgui.separator()
        self._scores_table()
        imgui.pop_text_wrap_pos()

    def status(self) -> list[tuple[str, object]]:
        """Where training is: the plateau, the drop, the heads (steps measured from the record)."""
        model = self.model
        if self._curves_hidden():
            return [("The loss and the scores show after the verdict.", PALETTE.accent)]
        rep = model.run.history["rep_loss"]
        marks = model.milestones()
        out = []
        if marks["drop"] is None:
            now = float(np.mean(rep[-20:])) if rep else LN_V
            out.append((f"plateau: loss on the repeat {now:.2f} (chance {LN_V:.2f})" if model.run.step_count
                        else "untrained: press Play or Train from scratch", PALETTE.accent))
        else:
            out.append((f"the drop: loss on the repeat below {LN_V / 2:.2f} at step {marks['drop']}", PALETTE.good))
        formed = [f"{name} at step {step}" for name, step in marks.items() if name != "drop" and step is not None]
        if formed:
            out.append(("formed (score past 50%): " + "; ".join(formed), PALETTE.muted))
        return out

    def _prompt_editor(self) -> None:
        model = self.model
        imgui.text("Your sequence (the model predicts the next word):")
        imgui.text_colored(PALETTE.sky, " ".join(WORDS[t] for t in model.prompt))
        for i, word in enumerate(WORDS):
            if i % WORDS_PER_ROW:
                imgui.same_line()
            if imgui.button(f"{word}##w{i}", imgui.ImVec2(imgui.get_font_size() * 4.6, 0)):
                self.add_word(i)
        if imgui.button("Backspace"):
            self.backspace()
        imgui.same_line()
        if imgui.button("Clear"):
            self.set_prompt([model.prompt[0]])
        imgui.same_line()
        if imgui.button("A random repeat"):
            self.random_repeat()
        if self.message:
            imgui.text_colored(PALETTE.bad, self.message)

    def set_prompt(self, tokens) -> None:
        """Hand the prompt to the model; a bad one leaves a one-line message and the old prompt."""
        try:
            self.model.set_prompt(tokens)
            self.message = ""
            self._fit()
        except ValueError as exc:
            self.message = str(exc)

    def add_word(self, token: int) -> None:
        prompt = list(self.model.prompt)
        if len(prompt) >= SEQ_LEN:
            self.message = f"the model reads at most {SEQ_LEN} words: Backspace or Clear first"
            return
        self.set_prompt(prompt + [token])

    def backspace(self) -> None:
        prompt = list(self.model.prompt)
        if len(prompt) <= 1:
            self.message = "the prompt needs at least one word"
            return
        self.set_prompt(prompt[:-1])

    def random_repeat(self) -> None:
        """A segment of 5 to 8 random words, then its first words again (up to one before the end)."""
        batch = make_batch(self.rng, 1, lengths=(5, 8), fixed_start=0)
        length = int(batch.lengths[0])
        cut = length + int(self.rng.integers(1, length))
        self.set_prompt(batch.tokens[0, :cut])

    def _scores_table(self) -> None:
        ev = self.model.evaluation()
        if self._curves_hidden():
            return
        imgui.text("Every head, on 128 fixed sequences:")
        flags = imgui.TableFlags_.borders_inner_h.value | imgui.TableFlags_.sizing_fixed_fit.value
        if imgui.begin_table("##heads", 4, flags):
            for title in ("head", "previous", "induction", "copying"):
                imgui.table_setup_column(title)
            imgui.table_headers_row()
            for layer in range(ev.prev.shape[0]):
                for h in range(ev.prev.shape[1]):
                    imgui.table_next_row()
                    imgui.table_next_column()
                    imgui.text(f"L{layer} H{h}")
                    for value, color in ((ev.prev[layer, h], PREV), (ev.induction[layer, h], IND),
                                         (ev.copying[layer, h], KCOMP)):
                        imgui.table_next_column()
                        strong = value > HEAD_THRESHOLD
                        imgui.text_colored(color if strong else PALETTE.muted, f"{value:.0%}")
            imgui.end_table()
        imgui.text("Attention plot shows:")
        layers, heads = ev.prev.shape
        for layer in range(layers):
            for h in range(heads):
                if h or layer:
                    imgui.same_line()
                chosen = self.pattern_layer == layer and self.pattern_head == h
                if imgui.radio_button(f"L{layer} H{h}", chosen):
                    self.pattern_layer, self.pattern_head = layer, h

    # -- plots --------------------------------------------------------------------------------------
    def plots(self) -> None:
        n = max(self.model.run.step_count, 1)
        plot_strip(self.context, [
            Plot("loss on the repeat", self._loss_plot, y_label="loss (nats)", x_limits=(0.0, float(max(n, 50))),
                 y_limits=(0.0, 4.2), weight=1.4, min_width=12, priority=4),
            Plot("head scores", self._score_plot, x_limits=(0.0, float(max(n, 50))), y_limits=(-0.02, 1.02),
                 min_width=9, priority=2),
            Plot("loss by position", self._profile_plot, x_label="position", x_limits=(-0.5, SEQ_LEN - 1.5),
                 y_limits=(0.0, 4.2), legend=False, min_width=9, priority=1),
            Plot("attention L{} H{}".format(*self._pattern_head()), self._pattern_plot, x_label="key position",
                 y_label="query", legend=False, min_width=8, priority=3)])

    @staticmethod
    def _smooth(values: np.ndarray, window: int = 10) -> np.ndarray:
        if len(values) < window:
            return values
        kernel = np.ones(window) / window
        return np.convolve(values, kernel, mode="valid")

    def _loss_plot(self, run) -> None:
        model = self.model
        hline(LN_V, PALETTE.muted, "ln V")
        hline(LN_V / 2, PALETTE.muted.alpha(0.5))
        if self._curves_hidden():
            implot.plot_text("after the verdict", 0.5 * implot.get_plot_limits().x.max, 2.0)
            return
        rep, first = model.run.series("rep_loss"), model.run.series("first_loss")
        if len(rep) == 0:
            return
        smooth_rep, smooth_first = self._smooth(rep), self._smooth(first)
        steps = np.arange(len(rep) - len(smooth_rep) + 1, len(rep) + 1, dtype=np.float64)
        line("first copy", steps, smooth_first, FIRST)
        line("repeat", steps, smooth_rep, REPEAT)
        marks = model.milestones()
        xs = [float(v) for v in marks.values() if v is not None]
        names = {"drop": "drop", "previous-token head": "prev", "induction head": "ind"}
        vlines(xs, [names[k] for k, v in marks.items() if v is not None])

    def _score_plot(self, run) -> None:
        hline(HEAD_THRESHOLD, PALETTE.muted.alpha(0.6))
        if self._curves_hidden():
            return
        prev, ind = self.model.run.series("prev_score"), self.model.run.series("induction_score")
        if len(prev) == 0:
            return
        sp, si = self._smooth(prev), self._smooth(ind)
        steps = np.arange(len(prev) - len(sp) + 1, len(prev) + 1, dtype=np.float64)
        line("prev", steps, sp, PREV)
        line("induction", steps, si, IND)

    def _profile_plot(self, run) -> None:
        from .circuit import PROFILE_SEGMENT, PROFILE_START
        hline(LN_V, PALETTE.muted)
        if self._hidden() & {"rep_loss"}:
            return
        profile = self.model.evaluation().profile
        positions = np.arange(len(profile), dtype=np.float64)
        lo, hi = PROFILE_START + PROFILE_SEGMENT, PROFILE_START + 2 * PROFILE_SEGMENT - 2
        rep = (positions >= lo) & (positions <= hi)
        line("loss", positions, profile, PALETTE.white.alpha(0.6), weight=1.5)
        implot.plot_scatter("repeat", positions[rep], profile[rep],
                            implot.Spec(marker=implot.Marker_.circle.value, marker_size=4.0, fill_color=REPEAT,
                                        line_color=REPEAT))
        implot.plot_scatter("other", positions[~rep], profile[~rep],
                            implot.Spec(marker=implot.Marker_.circle.value, marker_size=3.0, fill_color=FIRST,
                                        line_color=FIRST))

    def _pattern_head(self) -> tuple[int, int]:
        """The (layer, head) whose pattern the attention plot shows: the one picked in the panel, or
        the circuit's head of that layer."""
        tr = self.model.trace()
        layer = min(self.pattern_layer, len(tr.patterns) - 1)
        head = tr.ind_head if layer else tr.prev_head
        if self.pattern_head is not None and self.pattern_layer == layer:
            head = self.pattern_head
        return layer, head

    def _pattern_plot(self, run) -> None:
        """The pattern on the prompt: a row per query (the first at the top), a column per key."""
        tr = self.model.trace()
        layer, head = self._pattern_head()
        if layer > 0 and self._prediction_hidden():
            implot.plot_text("after the verdict", 0.5, 0.5)
            return
        a = tr.patterns[layer][head]
        n = a.shape[0]
        rows = list(range(n))
        set_ticks([n - 1 - t for t in rows], [str(t) for t in rows], axis=implot.ImAxis_.y1.value)
        implot.push_colormap(implot.Colormap_.viridis.value)
        implot.plot_heatmap("##attention", np.ascontiguousarray(a), 0.0, 1.0, "",
                            implot.Point(-0.5, -0.5), implot.Point(n - 0.5, n - 0.5))
        implot.pop_colormap()
