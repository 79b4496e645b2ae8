"""Softmax and Surprise: one row per token of the vocabulary, in every lesson.

* sampling: each token's probability at temperature T after the strategy's cut (blue) over the
  share of the draws it got (orange); the cut tokens greyed, with the line where top-k or top-p
  cuts;
* surprise: the data p (blue) and the model q (orange) per token, the surprise −log q beside
  them, and the cross-entropy's decomposition below;
* mutual information: a table of P(token | prompt), one column per prompt and one for the
  token without its prompt, each column's entropy under it.

The scene is laid out in the pane's own window units (the camera is fitted to the pane), so the
rows, bars and text keep their sizes at every window size and UI scale; rows that do not fit are
summed into one. While a prediction is being chosen the scene shows the question's setup, not
the sandbox's run, and leaves out every number the challenge hides."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.kit import PALETTE, Color, Plot, hline, line, plot_strip, scatter, vlines, first_fit
from sandbox.view import View

from .model import (
    PROMPTS,
    SHORT,
    VOCABULARY,
    conditional_table,
    entropy,
    expected_histogram_error,
    log_softmax,
    mutual_information,
    picture,
    sampler,
)

PROB, DRAWS, MODEL, SURPRISE = PALETTE.sky, PALETTE.orange, PALETTE.orange, PALETTE.yellow
INFO = PALETTE.purple
CUT = PALETTE.muted
ROW_MIN, ROW_MAX = 1.2, 2.6  # a row's height in font sizes: the least that stays legible, the most that looks calm
WANTED_ROWS = 9  # rows worth dropping a line of text for, before the rest are summed into one
T_RANGE = (0.05, 10.0)  # the plots against T span the slider's range
TEMPERATURES = np.geomspace(*T_RANGE, 90)
#: What the scene shows while a challenge is chosen, where it differs from the challenge's run: the
#: question gives the picture at T = 1 and asks about T = 2 (its cut at T = 1 may show).
GIVEN = {"top_p_hotter": ({"temperature": 1.0}, frozenset())}
HIDDEN_NOTE = "hidden until the reveal"
#: A narrow strip (a small window, a large UI scale) keeps the plot against T and drops the other.
FIRST, SECOND = {"priority": 1.0, "min_width": 13.0}, {"priority": 0.0, "min_width": 13.0}


@dataclass
class Row:
    """One row of the token table: a label, bars (value in probability, colour, thickness share)
    and the text at its right."""

    label: str
    bars: list[tuple[float, Color, float]]
    right: str = ""
    label_color: Color = PALETTE.text
    right_color: Color = PALETTE.text
    ghost: float | None = None  # the probability before the cut, drawn faint
    tick: float | None = None  # a thin mark on the first bar (surprise: the draws' share)
    tokens: tuple[int, ...] = ()


@dataclass
class Shown:
    """What the scene shows this frame: the picture, the draws (None: none to show) and what to hide."""

    pic: object
    params: dict
    frequencies: np.ndarray | None
    samples: int
    hidden: frozenset
    note: str = ""
    estimate: float | None = None
    rows: list = field(default_factory=list)



def count(n: int) -> str:
    return f"{n:,}"


class SoftmaxView(View):
    camera = "2d"
    controls = (("hover a token", "its logit, probability and surprise −log p"),)

    def __init__(self, context):
        super().__init__(context)
        self._framed = None
        self._mouse = None  # pane units, while the mouse is over the scene
        self._rows: list[tuple[float, float, Row]] = []  # (top, bottom, row) as last laid out, for hovering

    # -- what is on screen -----------------------------------------------------------------------
    def shown(self) -> Shown:
        """The picture and draws on screen: the question's setup while a prediction is chosen."""
        challenge = self.challenge
        if challenge.choosing and challenge.open is not None:
            spec = challenge.open
            overrides, hidden = GIVEN.get(spec.id, ({}, frozenset(spec.hides)))
            params = dict(self.context.manifest.resolve_params({**spec.set, **overrides}))
            asked = {k: v for k, v in spec.set.items() if k in overrides}
            note = "the question's setup" + (f", at T = {overrides['temperature']:g} (it asks about T = "
                                              f"{asked.get('temperature', self.params['temperature']):g})"
                                              if "temperature" in overrides else "")
            return Shown(picture(params), params, None, 0, hidden, note)
        model = self.model
        params = dict(self.params)
        estimate = model.information_estimate() if params["lesson"] == "mutual information" else None
        return Shown(model.picture(), params, model.token_frequencies(), model.samples, challenge.hidden(),
                     estimate=estimate)

    # -- layout in pane units --------------------------------------------------------------------
    def _frame_pane(self, frame) -> None:
        """Fit the camera to the pane so that world units are the pane's window units (y up)."""
        key = (round(frame.size[0]), round(frame.size[1]))
        if self._framed != key:
            self._framed = key
            self.cam.fit(0.0, frame.size[0], -frame.size[1], 0.0, 0.0, follow=True)
            self.context.request_frames(2)

    def handle_input(self, frame) -> bool:
        """Hovering a token shows its details; the table stays put (no pan or zoom)."""
        self._frame_pane(frame)
        inp = frame.input
        self._mouse = (inp.mouse[0] / frame.pixel_ratio, inp.mouse[1] / frame.pixel_ratio) if inp.hovered else None
        return True

    def _box(self, frame, x0, x1, y0, y1, color) -> None:
        """A filled rectangle in pane units (y down)."""
        if x1 > x0 and y1 > y0:
            self.rects(frame, (x0, x1, -y1, -y0), color)

    def _hline(self, frame, x0, x1, y, color, thickness=1.0, dash: float = 0.0) -> None:
        if dash > 0:
            xs = np.arange(x0, x1, 2 * dash)
            segments = [[(x, -y), (min(x + dash, x1), -y)] for x in xs]
            self.lines(frame, segments, color, thickness)
        else:
            self.lines(frame, [[(x0, -y), (x1, -y)]], color, thickness)

    def _vline(self, frame, x, y0, y1, color, thickness=1.0) -> None:
        self.lines(frame, [[(x, -y0), (x, -y1)]], color, thickness)

    # -- rows ------------------------------------------------------------------------------------
    def _sampling_rows(self, shown: Shown) -> tuple[list[Row], int | None]:
        """One row per token (most likely first) and the row after which the strategy cuts."""
        pic, freqs, hidden = shown.pic, shown.frequencies, shown.hidden
        show_cut = "kept" not in hidden
        rows = []
        for token in pic.order:
            kept = bool(pic.mask[token])
            value = pic.drawn[token] if show_cut else pic.full[token]
            bars = [(value, PROB if kept or not show_cut else CUT, 0.62)]
            if freqs is not None and show_cut:
                bars.append((freqs[token], DRAWS, 0.3))
            cut = show_cut and not kept
            rows.append(Row(VOCABULARY[token], bars, "cut" if cut else f"{value:.3f}",
                            CUT if cut else PALETTE.text, CUT if cut else PALETTE.text,
                            ghost=pic.full[token] if cut else None, tokens=(int(token),)))
        cut_after = pic.kept if show_cut and shown.params["strategy"] != "temperature" else None
        return rows, cut_after

    def _surprise_rows(self, shown: Shown) -> list[Row]:
        pic, freqs = shown.pic, shown.frequencies
        rows = []
        for token in pic.order:
            surprise = -math.log(pic.q[token])
            rows.append(Row(VOCABULARY[token], [(pic.full[token], PROB, 0.45), (pic.q[token], MODEL, 0.45)],
                            f"{surprise:.2f}", right_color=SURPRISE,
                            tick=None if freqs is None else freqs[token], tokens=(int(token),)))
        return rows

    @staticmethod
    def _summed(rest: list[Row]) -> Row:
        """One row standing for several: their bars summed, their tokens kept for the hover."""
        bars = [(sum(r.bars[k][0] for r in rest), rest[0].bars[k][1], rest[0].bars[k][2])
                for k in range(len(rest[0].bars))]
        cut = all(r.right == "cut" for r in rest)
        total = sum(r.bars[0][0] for r in rest)
        ghosts = [r.ghost for r in rest if r.ghost is not None]
        right = "cut" if cut else ("" if rest[0].right_color == SURPRISE else f"{total:.3f}")
        return Row(f"{len(rest)} more", bars, right, PALETTE.muted, CUT if cut else PALETTE.muted,
                   ghost=sum(ghosts) if cut and ghosts else None,
                   tick=sum(r.tick for r in rest) if rest[0].tick is not None else None,
                   tokens=tuple(t for r in rest for t in r.tokens))

    @classmethod
    def _fold(cls, rows: list[Row], fit: int, cut_after: int | None) -> tuple[list[Row], int | None]:
        """The first rows and one that sums the rest, when not all ``rows`` fit in ``fit``; two
        summed rows, the kept and the cut, when the cut falls among the rest (the line between them)."""
        if len(rows) <= fit:
            return rows, cut_after
        start = max(fit - 1, 1)
        if cut_after is not None and start < cut_after < len(rows):
            start = max(min(fit - 2, cut_after - 1), 1)
            return rows[:start] + [cls._summed(rows[start:cut_after]), cls._summed(rows[cut_after:])], start + 1
        keep = rows[:start]
        if cut_after is not None and cut_after > start:
            cut_after = None  # every row past the first ones is kept: no line to draw
        return keep + [cls._summed(rows[start:])], cut_after

    # -- the scene -------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        self._frame_pane(frame)
        self.gl.disable(self.gl.DEPTH_TEST)
        self._plan = self._layout(frame)
        for draw in self._plan["draw"]:
            draw(frame)

    def overlay(self, draw_list, frame) -> None:
        plan = getattr(self, "_plan", None) or self._layout(frame)
        for at, words, color, *plate in plan["text"]:
            frame.text(draw_list, at, words, color, plate[0] if plate else True)
        self._hover_text(draw_list, frame, plan)

    def _layout(self, frame) -> dict:
        """Everything drawn this frame: GL drawing calls and texts (pane units), computed once.

        The table gets the room the text leaves; when that is too little for most of the tokens
        (a small window, a large UI scale), the least needed lines go first: the second line of
        numbers under the table, the legend, then the axis labels (the columns' entropies)."""
        shown = self.shown()
        em = imgui.get_font_size()
        step = imgui.get_text_line_height() + 6.0
        width, height = frame.size
        plan = {"draw": [], "text": [], "rows": [], "shown": shown}
        head, foot = self._head(shown, width - 1.2 * em), self._foot(shown, width - 1.2 * em)
        table = shown.params["lesson"] == "mutual information"
        droppable = [("foot", i) for i in reversed(range(1, len(foot)))] + [("head", 1), ("axis", 0)]
        wanted = min(len(VOCABULARY), WANTED_ROWS)
        for k in range(len(droppable) + 1):
            dropped = set(droppable[:k])
            heads = [line for i, line in enumerate(head) if ("head", i) not in dropped]
            foots = [line for i, line in enumerate(foot) if ("foot", i) not in dropped]
            axis = ("axis", 0) not in dropped
            rooms = (1.3 * em if axis else 0.0) + (1.3 * em if table else 0.0)
            top = 0.4 * em + step * len(heads) + 0.3 * em
            bottom = height - 0.4 * em - step * len(foots) - 0.3 * em
            fit = (bottom - top - rooms) // (ROW_MIN * em)
            if fit >= len(VOCABULARY) or fit - 1 >= wanted:  # all the rows, or enough beside the summed one
                break
        for k, (words, color) in enumerate(heads):
            plan["text"].append(((0.6 * em, 0.4 * em + step * k), words, color))
        for k, (words, color) in enumerate(foots):
            plan["text"].append(((0.6 * em, height - 0.4 * em - step * (len(foots) - k)), words, color))
        if table:
            self._table_layout(plan, shown, 0.6 * em, width - 0.6 * em, top, bottom, em, axis)
        else:
            self._rows_layout(plan, shown, 0.6 * em, width - 0.6 * em, top, bottom, em, axis)
        self._rows = plan["rows"]
        return plan

    def _head(self, shown: Shown, room: float) -> list[tuple[str, Color]]:
        """The title lines over the table."""
        p, lesson = shown.params, shown.params["lesson"]
        temperature = f"T = {p['temperature']:.2f}"
        if lesson == "sampling":
            how = {"temperature": "all tokens", "greedy": "greedy", "top-k": f"top-k {p['top_k']}",
                   "top-p": f"top-p {p['top_p']:.2f}"}[p["strategy"]]
            title = first_fit([f"next token after \"{p['prompt']}\" · {temperature} · {how}",
                               f"\"{p['prompt']}\" · {temperature} · {how}", f"{temperature} · {how}"], room)
            if shown.frequencies is None or "kept" in shown.hidden:
                legend = first_fit(["blue: probability", "probability"], room)
            else:
                legend = first_fit([f"blue: probability · orange: share of {count(shown.samples)} draws",
                                    f"blue: p · orange: {count(shown.samples)} draws", "blue: p · orange: draws"], room)
        elif lesson == "surprise":
            model = {"temperature": f"the same logits at {temperature}", "uniform": "uniform, 1/12 each",
                     "swapped": "p with its top two swapped"}[p["model"]]
            short = {"temperature": temperature, "uniform": "uniform", "swapped": "top two swapped"}[p["model"]]
            title = first_fit([f"data p: \"{p['prompt']}\" at T = 1 · model q: {model}",
                               f"p: \"{p['prompt']}\" · q: {short}", f"p: data · q: {short}"], room)
            legend = first_fit(["blue: data p · orange: model q · right: surprise −log q (nats)",
                                "blue: p · orange: q · right: −log q", "p · q · −log q"], room)
        else:
            title = first_fit([f"P(next token | prompt) at {temperature}, three prompts equally likely",
                               f"P(token | prompt) at {temperature}", temperature], room)
            legend = first_fit(["each column sums to 1 · orange: share of the drawn pairs",
                                "columns sum to 1 · orange: draws", "orange: draws"], room)
        lines = [(title, PALETTE.text), (legend, PALETTE.muted)]
        if shown.note:
            lines.append((first_fit([shown.note + ": predict, then lock in", shown.note, "the setup"], room),
                          PALETTE.accent))
        return lines

    def _foot(self, shown: Shown, room: float) -> list[tuple[str, Color]]:
        """The numbers under the table, each hidden while it would answer the open challenge."""
        pic, hidden, lesson = shown.pic, shown.hidden, shown.params["lesson"]
        out = []
        if lesson == "sampling":
            if hidden & {"entropy", "perplexity"}:
                out.append((f"entropy and perplexity: {HIDDEN_NOTE}", PALETTE.muted))
            else:
                h, ppl = pic.entropy, math.exp(pic.entropy)
                out.append((first_fit([(f"entropy H = {h:.2f} nats · perplexity e^H = {ppl:.2f}: like a fair "
                                       f"choice among {ppl:.1f} tokens"),
                                       f"H = {h:.2f} nats · perplexity e^H = {ppl:.2f}",
                                       f"H = {h:.2f} · e^H = {ppl:.2f}"], room), PROB))
            if shown.frequencies is not None and "kept" not in hidden:
                model = self.model
                error, expected = model.histogram_error(), float(expected_histogram_error(pic.drawn, max(shown.samples, 1)))
                out.append((first_fit([(f"{count(shown.samples)} draws: the histogram is {error:.3f} from the "
                                       f"theory (expected ≈ {expected:.3f}, shrinking as 1/√n)"),
                                       f"{count(shown.samples)} draws: {error:.3f} from theory (≈ {expected:.3f})",
                                       f"off by {error:.3f}"], room), DRAWS))
        elif lesson == "surprise":
            if hidden & {"kl_pq", "kl_qp", "cross_entropy"}:
                out.append((first_fit([f"H(p) = {pic.entropy:.2f} nats · H(p, q) and both KLs: {HIDDEN_NOTE}",
                                       f"H(p) = {pic.entropy:.2f} · the rest {HIDDEN_NOTE}",
                                       f"H(p) = {pic.entropy:.2f}"], room), PROB))
            else:
                out.append((first_fit([(f"H(p) {pic.entropy:.2f} + KL(p‖q) {pic.kl_pq:.2f} = H(p, q) "
                                       f"{pic.cross_entropy:.2f} nats · KL(q‖p) {pic.kl_qp:.2f}"),
                                       (f"H(p,q) {pic.cross_entropy:.2f} = {pic.entropy:.2f} + {pic.kl_pq:.2f}"
                                        f" · KL(q‖p) {pic.kl_qp:.2f}"),
                                       f"KL(p‖q) {pic.kl_pq:.2f} · KL(q‖p) {pic.kl_qp:.2f}",
                                       f"H(p, q) = {pic.cross_entropy:.2f}"], room), SURPRISE))
            if shown.frequencies is not None:
                if hidden & {"mean_surprise", "measured_perplexity"}:
                    out.append((first_fit([f"measured on {count(shown.samples)} tokens: {HIDDEN_NOTE}",
                                           f"measured: {HIDDEN_NOTE}", "measured: hidden"], room), PALETTE.muted))
                else:
                    surprise = self.model.mean_surprise()
                    out.append((first_fit([(f"{count(shown.samples)} tokens drawn from p: mean −log q = {surprise:.3f}"
                                           f" nats, perplexity {math.exp(surprise):.2f}"),
                                           (f"{count(shown.samples)} tokens: −log q = {surprise:.3f}, "
                                           f"PPL {math.exp(surprise):.2f}"),
                                           f"PPL {math.exp(surprise):.2f}"], room), DRAWS))
        else:
            if hidden & {"information", "entropy", "cross_entropy"}:
                out.append((f"entropies and information: {HIDDEN_NOTE}", PALETTE.muted))
            else:
                h, hc, i = pic.entropy, pic.cross_entropy, pic.information
                out.append((first_fit([f"H(token) {h:.2f} − H(token | prompt) {hc:.2f} = I {i:.3f} nats",
                                       f"I = {h:.2f} − {hc:.2f} = {i:.3f} nats", f"I = {i:.3f}"], room), INFO))
                out.append((first_fit([(f"perplexity {math.exp(h):.1f} without the prompt, {math.exp(hc):.1f} with it"
                                       f" (÷ e^I = {math.exp(i):.2f})"),
                                       f"PPL {math.exp(h):.1f} → {math.exp(hc):.1f} with the prompt",
                                       f"PPL {math.exp(h):.1f} → {math.exp(hc):.1f}"], room), PALETTE.text))
            if shown.estimate is not None and "information" not in hidden:
                bias = (len(PROMPTS) - 1) * (len(VOCABULARY) - 1) / (2 * max(shown.samples, 1))
                out.append((first_fit([(f"from {count(shown.samples)} drawn pairs: Î = {shown.estimate:.3f} "
                                       f"(plug-in; biased up by ≈ {bias:.3f})"),
                                       f"{count(shown.samples)} pairs: Î = {shown.estimate:.3f}",
                                       f"Î = {shown.estimate:.3f}"], room), DRAWS))
        return out

    def _rows_layout(self, plan, shown: Shown, left, right, top, bottom, em, axis: bool = True) -> None:
        """The sampling and surprise lessons: one row per token, bars against a probability axis."""
        lesson = shown.params["lesson"]
        if lesson == "sampling":
            rows, cut_after = self._sampling_rows(shown)
        else:
            rows, cut_after = self._surprise_rows(shown), None
        axis_room = 1.3 * em if axis else 0.2 * em  # the probability axis's labels over the bars
        fit = max(int((bottom - top - axis_room) // (ROW_MIN * em)), 2)
        rows, cut_after = self._fold(rows, fit, cut_after)
        rh = min((bottom - top - axis_room) / len(rows), ROW_MAX * em)
        label_w = max(imgui.calc_text_size(r.label).x for r in rows) + 0.8 * em
        right_w = max([imgui.calc_text_size(r.right).x for r in rows] + [imgui.calc_text_size("−log q").x]) + 0.8 * em
        x0, x1 = left + label_w, right - right_w
        values = [v for r in rows for v, _, _ in r.bars] + [r.ghost or 0.0 for r in rows]
        scale_max = min(1.0, max(0.25, math.ceil(max(values) * 4 - 1e-9) / 4))
        span = max(x1 - x0, 1.0)
        to_x = lambda v: x0 + span * min(v, scale_max) / scale_max
        y_axis = top + axis_room
        texts, draws = plan["text"], plan["draw"]
        ticks = np.arange(0.0, scale_max + 1e-9, 0.25)
        header = imgui.calc_text_size("−log q").x + 0.8 * em
        for value in ticks if axis else ():
            half = 0.5 * imgui.calc_text_size(f"{value:g}").x
            if to_x(value) + half <= right - (header if lesson == "surprise" else 0.0):  # clear of the heading
                texts.append(((to_x(value) - half, top), f"{value:g}", PALETTE.muted))
        y_end = y_axis + rh * len(rows)
        draws.append(lambda frame: [self._vline(frame, to_x(v), y_axis, y_end, PALETTE.grid.alpha(0.35)) for v in ticks])
        if lesson == "surprise" and axis:
            texts.append(((right - imgui.calc_text_size("−log q").x, top), "−log q", SURPRISE))
        for k, row in enumerate(rows):
            y = y_axis + k * rh
            plan["rows"].append((y, y + rh, row))
            texts.append(((left, y + 0.5 * rh - 0.5 * em), row.label, row.label_color))
            texts.append(((right - imgui.calc_text_size(row.right).x, y + 0.5 * rh - 0.5 * em), row.right,
                          row.right_color))
            draws.append(self._row_drawer(row, y, rh, x0, to_x))
        if cut_after is not None and 0 < cut_after < len(rows):
            y = y_axis + cut_after * rh
            draws.append(lambda frame: self._hline(frame, left, right, y, PALETTE.white.alpha(0.8), 1.5, dash=0.4 * em))
            p = shown.params
            kept = shown.pic.kept
            total = float(shown.pic.full[shown.pic.mask].sum())
            rule = {"greedy": "greedy keeps 1", "top-k": f"top-k keeps {kept}",
                    "top-p": f"top-p {p['top_p']:.2f} keeps {kept}"}[p["strategy"]]
            words = first_fit([f"{rule}: together {total:.2f} before renormalising", f"{rule} ({total:.2f})", rule],
                              x1 - x0)
            texts.append(((x1 - imgui.calc_text_size(words).x, y + 0.15 * em), words, PALETTE.white))

    def _row_drawer(self, row: Row, y, rh, x0, to_x):
        def draw(frame):
            if row.ghost is not None:
                self._box(frame, x0, to_x(row.ghost), y + 0.2 * rh, y + 0.8 * rh, CUT.alpha(0.25))
            offset = 0.1 * rh
            for value, color, share in row.bars:
                self._box(frame, x0, max(to_x(value), x0 + 1.0), y + offset, y + offset + share * rh, color)
                offset += share * rh
            if row.tick is not None:
                x = to_x(row.tick)
                self._vline(frame, x, y + 0.05 * rh, y + 0.55 * rh, PALETTE.white, 2.0)
        return draw

    def _table_layout(self, plan, shown: Shown, left, right, top, bottom, em, footer: bool = True) -> None:
        """The mutual information lesson: P(token | prompt) per prompt, and P(token) without it."""
        pic, freqs, hidden = shown.pic, shown.frequencies, shown.hidden
        columns = [SHORT[name] for name in PROMPTS] + ["no prompt"]  # the last: the token alone
        values = np.vstack([pic.table, pic.full[None, :]])  # (columns, tokens)
        shares = None if freqs is None or "information" in hidden else np.vstack([freqs, freqs.sum(0)[None, :] / max(len(PROMPTS), 1)])
        head_room, foot_room = 1.3 * em, 1.3 * em if footer else 0.0
        fit = max(int((bottom - top - head_room - foot_room) // (ROW_MIN * em)), 2)
        order = list(range(len(VOCABULARY)))
        if len(order) > fit:  # the most likely tokens (at T = 1) keep their rows; the rest are summed
            keep = set(np.argsort(-conditional_table(1.0).mean(0), kind="stable")[:fit - 1].tolist())
            groups = [[t] for t in order if t in keep] + [[t for t in order if t not in keep]]
        else:
            groups = [[t] for t in order]
        rh = min((bottom - top - head_room - foot_room) / len(groups), ROW_MAX * em)
        labels = [VOCABULARY[g[0]] if len(g) == 1 else f"{len(g)} more" for g in groups]
        label_w = max(imgui.calc_text_size(t).x for t in labels) + 0.8 * em
        col_w = (right - left - label_w) / len(columns)
        number_fits = imgui.calc_text_size("0.00").x + 0.4 * em <= col_w
        texts, draws = plan["text"], plan["draw"]
        for c, name in enumerate(columns):
            x = left + label_w + c * col_w
            words = first_fit(([name, "none"] if c == len(PROMPTS) else
                               [name, name.split()[0].rstrip("…"), name[:3] + "…", name[:2]]), col_w - 0.3 * em)
            texts.append(((x + 0.5 * (col_w - imgui.calc_text_size(words).x), top), words,
                          PALETTE.text if c < len(PROMPTS) else PROB))
        y0 = top + head_room
        cells, colors = [], []
        for k, group in enumerate(groups):
            y = y0 + k * rh
            plan["rows"].append((y, y + rh, Row(labels[k], [], tokens=tuple(group))))
            texts.append(((left, y + 0.5 * rh - 0.5 * em), labels[k], PALETTE.text if len(group) == 1 else PALETTE.muted))
            for c in range(len(columns)):
                value = float(values[c, group].sum())
                x = left + label_w + c * col_w
                cells.append((x + 1, x + col_w - 1, y + 1, y + rh - 1))
                colors.append((INFO if c < len(PROMPTS) else PROB).alpha(0.12 + 0.88 * math.sqrt(value)))
                if number_fits:
                    words = f"{value:.2f}" if value >= 0.005 else "·"
                    texts.append(((x + 0.5 * (col_w - imgui.calc_text_size(words).x), y + 0.5 * rh - 0.5 * em), words,
                                  PALETTE.text if value >= 0.005 else PALETTE.muted, False))
                if shares is not None:
                    share = float(shares[c, group].sum())
                    draws.append(lambda frame, x=x, y=y, share=share: self._box(
                        frame, x + 2, x + 2 + (col_w - 4) * share, y + rh - 0.22 * rh, y + rh - 2, DRAWS))
        draws.insert(0, lambda frame: [self._box(frame, a, b, c, d, color) for (a, b, c, d), color in zip(cells, colors)])
        y_foot = y0 + len(groups) * rh + 0.2 * em
        if footer and not hidden & {"information", "entropy", "cross_entropy"}:
            for c in range(len(columns)):
                x = left + label_w + c * col_w
                words = first_fit([f"H = {entropy(values[c]):.2f}", f"{entropy(values[c]):.2f}"], col_w - 0.2 * em)
                texts.append(((x + 0.5 * (col_w - imgui.calc_text_size(words).x), y_foot), words,
                              INFO if c < len(PROMPTS) else PROB))

    def _hover_text(self, draw_list, frame, plan) -> None:
        """The hovered token's details, on a plate by the mouse."""
        if self._mouse is None:
            return
        mx, my = self._mouse
        row = next((r for top, bottom, r in plan["rows"] if top <= my < bottom), None)
        if row is None or len(row.tokens) != 1:
            return
        token, shown = row.tokens[0], plan["shown"]
        pic, p = shown.pic, shown.params
        word = VOCABULARY[token]
        if p["lesson"] == "mutual information":
            parts = [f"{word}: P(token | prompt)"] + [f"{SHORT[name].split()[0].rstrip('…')} {pic.table[c, token]:.3f}"
                                                     for c, name in enumerate(PROMPTS)]
            parts.append(f"no prompt {pic.full[token]:.3f}")
        elif p["lesson"] == "surprise":
            parts = [f"{word}: logit {pic.logits[token]:+.2f}", f"p = {pic.full[token]:.3f}", f"q = {pic.q[token]:.3f}",
                     f"surprise −log q = {-math.log(pic.q[token]):.2f} nats"]
        else:
            shown_p = pic.full[token] if "kept" in shown.hidden else pic.drawn[token]
            surprise = f"{-math.log(shown_p):.2f} nats" if shown_p > 0 else "∞ (never drawn)"
            parts = [f"{word}: logit {pic.logits[token]:+.2f}", f"z/T = {pic.logits[token] / p['temperature']:+.2f}",
                     f"p = {shown_p:.3f}", f"surprise −log p = {surprise}"]
        em = imgui.get_font_size()
        room = frame.size[0] - 1.0 * em
        lines = [parts[0]]
        for part in parts[1:]:  # as many parts a line as the pane's width holds
            joined = f"{lines[-1]} · {part}"
            if imgui.calc_text_size(joined).x <= room:
                lines[-1] = joined
            else:
                lines.append(part)
        step = imgui.get_text_line_height() + 6.0
        y = my + 1.2 * em
        if y + step * len(lines) > frame.size[1]:  # near the bottom: above the pointer
            y = my - 0.6 * em - step * len(lines)
        for k, words in enumerate(lines):
            width = imgui.calc_text_size(words).x
            x = min(mx + em, frame.size[0] - width - 0.5 * em)
            frame.text(draw_list, (max(x, 0.3 * em), y + k * step), words, PALETTE.white)

    # -- panel -----------------------------------------------------------------------------------
    def panel(self) -> None:
        p = self.params
        imgui.separator()
        formula = {"sampling": r"p_i = \frac{e^{z_i/T}}{\sum_j e^{z_j/T}}",
                   "surprise": r"H(p, q) = H(p) + D_{\mathrm{KL}}(p \,||\, q)",
                   "mutual information": r"I = H(Y) - H(Y \mid X)"}[p["lesson"]]
        self.formulas.draw(formula, 20.0)
        imgui.push_text_wrap_pos(0.0)
        if p["lesson"] == "surprise" and p["model"] != "temperature":
            imgui.text_colored(PALETTE.muted, "This model does not use the temperature.")
        tips = {"sampling": "Drag T: below 1 the top token takes over (greedy is T → 0), above 1 the tail grows. "
                            "Then switch the strategy and watch which tokens are cut.",
                "surprise": "Text is drawn from the data p and each token costs the model −log q. Move T away "
                            "from 1 in either direction and compare the two KLs.",
                "mutual information": "Drag T down: each prompt settles on its own token and I climbs to ln 3. "
                                      "Drag it up: the prompts blur together and I falls to 0."}
        imgui.text_colored(PALETTE.muted, tips[p["lesson"]])
        imgui.pop_text_wrap_pos()
        imgui.begin_disabled(self.challenge.locked)
        if imgui.button("Draw 10,000 more"):
            self.transport.run_until(self.run.steps + max(1, math.ceil(10000 / p["draws"])))
            self.transport.set_speed("fastest")
        imgui.end_disabled()

    # -- plots -----------------------------------------------------------------------------------
    def plots(self) -> None:
        shown = self.shown()
        lesson, hidden = shown.params["lesson"], shown.hidden
        plots = []
        first = float(max(int(shown.params["draws"]), 1))  # the draws axis: from the first batch to now
        drawn = (first, max(float(shown.samples), 10.0 * first))
        if lesson == "sampling":
            if not hidden & {"entropy", "perplexity"}:
                plots.append(Plot("entropy vs T", lambda run: self._entropy_plot(shown), x_label="T", y_label="nats",
                                  x_log=True, x_limits=T_RANGE, margin=True, **FIRST))
            if shown.frequencies is not None and "kept" not in hidden and shown.pic.kept > 1:  # greedy: nothing to settle
                plots.append(Plot("draws vs theory", self._error_plot, x_label="draws", y_label="distance",
                                  x_log=True, y_log=True, x_limits=drawn, **SECOND))
        elif lesson == "surprise":
            if not hidden & {"kl_pq", "kl_qp", "cross_entropy"}:
                top = max(3.0, 1.2 * max(shown.pic.cross_entropy, shown.pic.kl_qp))
                plots.append(Plot("model at temperature T", lambda run: self._kl_plot(shown), x_label="T of q",
                                  y_label="nats", x_log=True, x_limits=T_RANGE, y_limits=(0.0, top), **FIRST))
            if shown.frequencies is not None and not hidden & {"mean_surprise", "measured_perplexity"}:
                plots.append(Plot("measured cross-entropy", self._surprise_plot, x_label="tokens drawn",
                                  y_label="nats", x_log=True, x_limits=drawn, margin=True, **SECOND))
        else:
            if not hidden & {"information", "entropy", "cross_entropy"}:
                plots.append(Plot("information vs T", lambda run: self._information_plot(shown), x_label="T",
                                  y_label="nats", x_log=True, x_limits=T_RANGE, margin=True, **FIRST))
            if shown.frequencies is not None and "information" not in hidden:
                plots.append(Plot("estimate from pairs", self._estimate_plot, x_label="pairs drawn", y_label="nats",
                                  x_log=True, x_limits=drawn, margin=True, **SECOND))
        plot_strip(self.context, plots)

    def _entropy_plot(self, shown: Shown) -> None:
        p = shown.params
        logits = np.asarray(PROMPTS[p["prompt"]])
        full = [entropy(np.exp(log_softmax(logits, t))) for t in TEMPERATURES]
        line("all tokens", TEMPERATURES, full, PROB)
        # the cut distribution's curve steps once per token it gains: not while that count is a question
        if p["strategy"] != "temperature" and shown.frequencies is not None and "kept" not in shown.hidden:
            cut = [entropy(sampler(logits, t, p["strategy"], p["top_k"], p["top_p"])) for t in TEMPERATURES]
            line(p["strategy"], TEMPERATURES, cut, DRAWS)
        hline(math.log(len(VOCABULARY)), PALETTE.muted.alpha(0.6), "ln 12")
        vlines([p["temperature"]], [f"T = {p['temperature']:.2f}"])

    def _error_plot(self, run) -> None:
        samples, errors = run.series("samples"), run.series("histogram_error")
        ok = (samples > 0) & (errors > 0)
        line("measured", samples[ok], errors[ok], DRAWS)
        ns = np.geomspace(max(samples[ok].min(), 1.0), max(samples.max(), 10.0), 50) if ok.any() else np.array([1.0, 10.0])
        line("expected ∝ 1/√n", ns, expected_histogram_error(self.model.picture().drawn, ns), PALETTE.muted)

    def _kl_plot(self, shown: Shown) -> None:
        p = shown.params
        logits = np.asarray(PROMPTS[p["prompt"]])
        log_p = log_softmax(logits)
        data = np.exp(log_p)
        cross, forward, backward = [], [], []
        for t in TEMPERATURES:
            log_q = log_softmax(logits, t)
            q = np.exp(log_q)
            cross.append(float(-(data * log_q).sum()))
            forward.append(float((data * (log_p - log_q)).sum()))
            backward.append(float((q * (log_q - log_p)).sum()))
        line("H(p,q)", TEMPERATURES, cross, SURPRISE)
        line("KL(p‖q)", TEMPERATURES, forward, PALETTE.vermillion)
        line("KL(q‖p)", TEMPERATURES, backward, PALETTE.green)
        # H(p), the floor of H(p, q), named on its line (a fourth legend entry does not fit a narrow plot)
        hline(shown.pic.entropy, PROB.alpha(0.7))
        implot.push_style_color(implot.Col_.inlay_text.value, PROB)
        implot.plot_text("H(p)", float(TEMPERATURES[6]), shown.pic.entropy, imgui.ImVec2(0.0, -0.6 * imgui.get_font_size()))
        implot.pop_style_color()
        if p["model"] == "temperature":
            vlines([p["temperature"]], [f"T = {p['temperature']:.2f}"])
        else:  # the chosen model is not in the family: its three numbers as points at the right
            right = TEMPERATURES[-1]
            values = [shown.pic.cross_entropy, shown.pic.kl_pq, shown.pic.kl_qp]
            scatter(p["model"], [right] * 3, values, PALETTE.white, 6.0, legend=False)
            implot.plot_text(f"{p['model']} q", float(right), max(values),
                             imgui.ImVec2(-2.2 * imgui.get_font_size(), -0.8 * imgui.get_font_size()))

    def _surprise_plot(self, run) -> None:
        samples, surprise = run.series("samples"), run.series("mean_surprise")
        ok = samples > 0
        line("mean −log q", samples[ok], surprise[ok], DRAWS)
        hline(self.model.picture().cross_entropy, SURPRISE.alpha(0.8), "H(p, q)")
        hline(self.model.picture().entropy, PROB.alpha(0.6), "H(p)")

    def _information_plot(self, shown: Shown) -> None:
        h, hc, info = [], [], []
        for t in TEMPERATURES:
            table = conditional_table(t)
            marginal = table.mean(0)
            h.append(entropy(marginal))
            hc.append(float(np.mean([entropy(row) for row in table])))
            info.append(mutual_information(table / len(table)))
        line("H(token)", TEMPERATURES, h, PROB)
        line("H(token | prompt)", TEMPERATURES, hc, SURPRISE)
        line("I", TEMPERATURES, info, INFO)
        hline(math.log(len(PROMPTS)), PALETTE.muted.alpha(0.6), "ln 3")
        vlines([shown.params["temperature"]], [f"T = {shown.params['temperature']:.2f}"])

    def _estimate_plot(self, run) -> None:
        estimates = self.model.estimates()
        if not len(estimates):
            return
        ns, values = estimates[:, 0], estimates[:, 1]
        line("Î (plug-in)", ns, values, DRAWS)
        truth = self.model.picture().information
        cells = len(PROMPTS) * len(VOCABULARY)
        large = ns >= 5 * cells  # the bias formula is for well-filled cells: a few draws per cell at least
        if large.any():
            bias = (len(PROMPTS) - 1) * (len(VOCABULARY) - 1) / (2 * ns[large])
            line("I + bias ≈ 11/n", ns[large], truth + bias, PALETTE.muted)
        hline(truth, INFO.alpha(0.9), "I")

