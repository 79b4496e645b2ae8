"""The selective scan's view. The game: the stream of tokens (marked ones numbered by register,
the future faint), the gates Δ(x_t) on a log scale (drag a bar; dashed: the LTI steps), the share
of every token in one register (selective up, LTI down), and both models' registers. Below, the
scan tree's rounds against the sequential loop. Rows sit where layout.py puts them, each row of
text given a line's room at the scale it is shown. While a prediction is open the verdicts are
hidden: ✓/✗, the scores, what a register keeps, the number of rounds (and, while the rounds
themselves are asked for, the tree's rounds)."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.kit import PALETTE, Plot, hues, line, plot_strip, scatter, first_fit
from sandbox.kit.plots import set_ticks
from sandbox.view import View

from .layout import REGISTERS_WIDTH, SHARES_HALF, WIDTH, scan_layout
from .model import NOISE, stream_scores

SHARE_TICKS = (0.1, 0.5, 1.0)  # grid lines of the share bars (square-root scale)
GATE_LOG_RANGE = (-4.0, 1.0)  # log10 Δ at the bottom and the top of the gate strip
SCORED_STREAMS = 12  # the score plot shows the latest streams
TREE_NODES_MAX, TREE_VERTICALS_MAX, TREE_ALL_EDGES_MAX = 128, 256, 8192  # bigger trees: edges, current round
ROUNDS_CHALLENGE = "parallel_steps"  # while its prediction is chosen, the tree's rounds are not drawn

SELECTIVE, LTI = PALETTE.green, PALETTE.orange
GRIDS = (("selective", SELECTIVE), ("LTI", LTI))  # the register grids, top to bottom
EDGE, EDGE_NOW, LOOP = PALETTE.muted.alpha(0.35), PALETTE.yellow, PALETTE.white.alpha(0.7)
TREE_NAMES = {"work_efficient": "work-efficient (Brent-Kung)", "step_efficient": "step-efficient (Hillis-Steele)"}
SHORT_TREE_NAMES = {"work_efficient": "Brent-Kung", "step_efficient": "Hillis-Steele"}
PHASES = {"up": "up-sweep", "down": "down-sweep", "double": "doubling"}



def diverging(values: np.ndarray) -> np.ndarray:
    """Signed values in [-1, 1] to colours: sky below zero, dark at zero, purple above."""
    v = np.clip(np.nan_to_num(values), -1.0, 1.0)[:, None]
    zero, up, down = np.array([0.25, 0.27, 0.3]), np.array(PALETTE.purple[:3]), np.array(PALETTE.sky[:3])
    rgb = zero + np.sqrt(np.abs(v)) * (np.where(v >= 0, up, down) - zero)
    return np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1).astype(np.float32)


def gate_height(delta, gates: tuple[float, float]) -> np.ndarray:
    """Bar top (world y) of a gate Δ on the log scale of the strip spanning ``gates``."""
    return np.interp(np.log10(np.maximum(delta, 1e-12)), GATE_LOG_RANGE, gates)


def gate_at(y: float, gates: tuple[float, float]) -> float:
    """The Δ whose bar reaches world height ``y`` (inverse of :func:`gate_height`)."""
    return float(10 ** np.interp(y, gates, GATE_LOG_RANGE))


def share_height(share) -> np.ndarray:
    """Bar length of a share on a square-root scale: the LTI model's small, spread-out shares
    stay visible next to a selective register's single share near 1."""
    return SHARES_HALF * np.sqrt(np.clip(np.nan_to_num(share), 0.0, 1.0))


def token_x(count: int) -> np.ndarray:
    """Centres of ``count`` cells across the stream's width."""
    return (np.arange(count) + 0.5) * WIDTH / max(count, 1)


class ScanView(View):
    controls = (("drag a gate bar up or down",
                 "sets Δ for its kind of token: a marked token's bar Δ on every marked token, a noise bar Δ on noise"),)

    def __init__(self, context):
        super().__init__(context)
        self.ranges = {name: (p.min, p.max) for name, p in context.manifest.params.items() if p.type != "choice"}
        self.register = 0  # the register whose shares are drawn (the learner picks it in the panel)
        self._dragging: str | None = None  # "delta_mark" or "delta_noise" while a gate bar is dragged
        self.lay = None  # the layout for the pane and the text size it was made for (see layout.py)
        self._lay_key = None

    def on_reset(self) -> None:
        self.register = min(self.register, self.params["registers"] - 1)

    def _layout(self, frame):
        """The layout for this pane and text size; a new one is framed by the camera."""
        key = (round(frame.size[0]), round(frame.size[1]), imgui.get_font_size())
        if key != self._lay_key:
            width = [imgui.calc_text_size(text).x for text in ("0.0001", "✗", "6")]  # a tick, a mark, a register
            self.lay = scan_layout(frame.size, imgui.get_font_size(), width[0] + 10.0, width[1] + 14.0, width[2] + 14.0)
            self._lay_key = key
            self.cam.fit(*self.lay.bounds, 0.0, follow=True)
            self.context.request_frames(2)
        return self.lay

    def _rows(self, span) -> tuple[float, np.ndarray]:
        """A register grid's channel width and its rows' (bottom, top), register 1 on top."""
        registers, width = self.params["registers"], REGISTERS_WIDTH / self.params["vocab"]
        height = min((span[1] - span[0]) / registers, 3.0 * width)
        tops = span[1] - height * np.arange(registers)
        return width, np.stack([tops - height, tops], 1)

    def _bars(self, frame, xs, y0, y1, colors, width: float) -> None:
        """Bars ``width`` world units wide, centred on ``xs``, from ``y0`` to ``y1``."""
        self.rects(frame, np.stack(np.broadcast_arrays(xs - width / 2, xs + width / 2, y0, y1), 1), colors)

    def _tree_hidden(self) -> bool:
        """The rounds challenge waits for a prediction: its tree would show how many rounds there are."""
        challenge = self.challenge.open
        return self.challenge.choosing and challenge is not None and challenge.id == ROUNDS_CHALLENGE

    def scene(self, frame) -> None:
        self.gl.disable(self.gl.DEPTH_TEST)
        lay = self._layout(frame)
        model, t, length = self.model, int(self.model.position), len(self.model.values)
        xs, cell, marked = token_x(length), WIDTH / length, model.marks != NOISE
        colors = hues(np.arange(self.params["vocab"]) / self.params["vocab"])[model.values]  # a colour per value
        colors[~marked, 3] = 0.4  # noise: the same colours, dimmer
        colors[t:, 3] *= 0.25  # the future has not arrived yet
        self._bars(frame, xs, *lay.stream, colors, 0.9 * cell)
        tick = 0.25 * lay.line  # a white tick over each marked token that has arrived
        self._bars(frame, xs[:t][marked[:t]], lay.stream[1], lay.stream[1] + tick, PALETTE.white.alpha(0.9),
                   0.6 * cell)
        playhead = xs[t - 1] + 0.5 * cell  # through the stream, the gates and the shares
        self.lines(frame, [[playhead, lay.shares_base - SHARES_HALF], [playhead, lay.stream[1] + tick]],
                   PALETTE.white.alpha(0.7), 1.5)
        gates = np.tile(np.array(SELECTIVE, np.float32), (length, 1))
        gates[~marked, :3] *= 0.7
        gates[t:, 3] = 0.3
        self._bars(frame, xs, lay.gates[0], gate_height(model.token_deltas, lay.gates), gates, 0.7 * cell)
        self.outline(frame, (0.0, WIDTH, *lay.gates), PALETTE.grid)
        heights = gate_height(model.lti_gates[0, :self.params["registers"]], lay.gates)  # the LTI steps, dashed
        self.lines(frame, [[[x, h], [x + 1.0, h]] for h in heights for x in np.arange(0.0, WIDTH, 2.0)], LTI, 1.5)
        target = model.marks[:t] == self.register
        base = lay.shares_base
        for shares, side, color in zip(model.shares(self.register), (1.0, -1.0), (SELECTIVE, LTI)):
            colors = np.tile(np.array(color, np.float32), (t, 1))
            colors[~target, 3] = 0.55
            self._bars(frame, xs[:t], base, base + side * share_height(shares), colors, 0.8 * cell)
            self.lines(frame, [[[0.0, base + side * h], [WIDTH, base + side * h]]
                               for h in share_height(np.array(SHARE_TICKS))], PALETTE.grid.alpha(0.3))
        self.lines(frame, [[0.0, base], [WIDTH, base]], PALETTE.grid)
        self._registers(frame, t)
        self._tree(frame)

    def _registers(self, frame, t: int) -> None:
        model, vocab, x0 = self.model, self.params["vocab"], self.lay.registers_x
        for (_, color), span, states, decoded in zip(GRIDS, self.lay.grids, (model.selective_states, model.lti_states),
                                                     (model.decoded_selective, model.decoded_lti)):
            width, rows = self._rows(span)
            colors = np.tile(hues(np.arange(vocab) / vocab), (len(rows), 1))
            colors[:, 3] = 0.12 + 0.88 * np.clip(states[t - 1], 0.0, 1.0).ravel()  # bright: what the channel holds
            self._bars(frame, np.tile(x0 + (np.arange(vocab) + 0.5) * width, len(rows)),
                       np.repeat(rows[:, 0] + 0.1 * width, vocab), np.repeat(rows[:, 1] - 0.1 * width, vocab),
                       colors, 0.9 * width)
            read = x0 + decoded[t - 1] * width
            self.outline(frame, np.stack([read, read + width, *rows.T], 1), PALETTE.white.alpha(0.9), 2.0)
            targets = np.stack([x0 + (model.targets + 0.5) * width, rows[:, 0] + 0.05 * width], 1)
            self.painter.points(frame.mvp, targets, PALETTE.white, 6.0)
            self.outline(frame, (x0, x0 + REGISTERS_WIDTH, rows[-1, 0], span[1]), color, 1.5)

    def _tree(self, frame) -> None:
        model, levels, n = self.model, self.model.tree_levels, len(self.model.tree_b)
        hidden = self._tree_hidden()
        current = 0 if hidden else model.tree_level
        drawn = [] if hidden else levels  # while its rounds are asked for, only the inputs
        top, bottom = self.lay.tree[1], self.lay.tree[0]
        xs, rows = token_x(n), np.linspace(top, bottom, len(levels) + 1)
        crowded = sum(len(level.targets) for level in levels) > TREE_ALL_EDGES_MAX  # then only this round's edges
        if crowded and drawn:  # and one line per round
            self.lines(frame, [[[xs[0], y], [xs[-1], y]] for y in rows], EDGE.alpha(0.25))
        if n <= TREE_VERTICALS_MAX and drawn:  # a pair that is not combined passes straight down
            self.lines(frame, [[[x, top], [x, bottom]] for x in xs], EDGE.alpha(0.18))
        for r, level in enumerate(drawn, start=1):
            if r == current or not crowded:
                ends = np.stack([xs[level.sources], xs[level.targets]], 1)  # each edge's x, from row r − 1 to row r
                color = EDGE_NOW if r == current else EDGE if r < current else EDGE.alpha(0.12)
                self.lines(frame, np.stack([ends, np.broadcast_to(rows[r - 1:r + 1], ends.shape)], 2), color,
                           2.5 if r == current else 1.2)
        if n <= TREE_NODES_MAX:  # each node coloured by its value so far
            scale = max(float(np.max(np.abs(model.tree_sequential))), 1e-12)
            for r in range(current + 1):
                self.painter.points(frame.mvp, np.stack([xs, np.full(n, rows[r])], 1),
                                    diverging(model.tree_after(r) / scale), 7.0 if n <= 32 else 4.0)
        loop_y = self.lay.loop_y
        self.lines(frame, [[xs[0], loop_y], [xs[-1], loop_y]], EDGE.alpha(0.4), 1.5)
        if model.loop_steps and not hidden:
            self.lines(frame, [[xs[0], loop_y], [xs[model.loop_steps], loop_y]], EDGE_NOW, 3.0)

    def overlay(self, draw_list, frame) -> None:
        lay, model, hidden, muted = self._layout(frame), self.model, self.challenge.hide_answers, PALETTE.muted
        em, per_px = imgui.get_font_size(), 1.0 / frame.world_per_pixel()
        length, t, levels, current = len(model.values), int(model.position), model.tree_levels, model.tree_level
        stream_px = WIDTH * per_px  # the width the stream's rows of text have

        def text(point, words, color=PALETTE.text, dx=0.0, dy=0.0, align=0.0):
            if words:
                frame.label(draw_list, point, words, color, (dx, dy), False, align)

        def row(name, x, options, color=PALETTE.text, width=stream_px, align=0.0):
            """A row of text from layout.py, in the longest wording that fits ``width``."""
            if name in lay.rows:
                text((x, lay.rows[name]), first_fit(options, width, otherwise=None), color, dy=0.1 * em, align=align)

        row("stream_title", 0.0, [f"stream: token {t} of {length}, marked tokens numbered by register",
                                  f"stream: token {t} of {length}", f"token {t}"])
        right = -np.inf  # each marked token's register number, where it does not run into the previous one
        for position in np.flatnonzero(model.marks[:t] != NOISE):
            x = float(token_x(length)[position])
            if (x - right) * per_px > 1.2 * em:
                text((x, lay.rows["marks"]), f"{model.marks[position] + 1}", dy=0.1 * em, align=0.5)
                right = x
        note = "dashed: LTI Δ"
        note_px = imgui.calc_text_size(note).x + em
        row("gate_title", 0.0, ["gate Δ(x_t), log scale: drag a bar", "gate Δ(x_t): drag a bar", "gate Δ(x_t)"],
            width=stream_px - note_px)
        row("gate_title", WIDTH, [note], LTI.lighter(), width=note_px, align=1.0)
        gate_px = (lay.gates[1] - lay.gates[0]) * per_px  # both of the strip's ticks, or its top one, or none
        ends = GATE_LOG_RANGE if gate_px >= 1.1 * em else GATE_LOG_RANGE[1:] if gate_px >= 0.5 * em else ()
        ticks = [(gate_height(10.0 ** e, lay.gates), f"{10.0 ** e:g}") for e in ends]
        kept = [1.0]  # the share ticks, from the top, that keep a line apart (from the last one and their mirror)
        for share in sorted(SHARE_TICKS, reverse=True)[1:]:
            h = float(share_height(share)) * per_px
            if float(share_height(kept[-1])) * per_px - h >= 1.1 * em and 2 * h >= 1.1 * em:
                kept.append(share)
        ticks += [(lay.shares_base + side * share_height(s), f"{s:g}") for s in kept for side in (1.0, -1.0)]
        for y, words in ticks:
            text((0.0, float(y)), words, muted, dx=-4, dy=-0.5 * em, align=1.0)
        r = self.register + 1
        row("shares_title", 0.0, [f"what register {r} holds: each token's share, selective bars up",
                                  f"register {r}: each token's share, selective up", f"register {r}: selective up",
                                  "selective up"],
            SELECTIVE.lighter())
        row("lti_caption", 0.0, ["LTI bars down: the same state size (square-root scale)", "LTI bars down",
                                 "LTI down"], LTI.lighter())
        self._register_labels(frame, text, hidden, em)
        n, kind = len(model.tree_b), self.params["tree"]
        row("tree_title", 0.0, [f"parallel scan of h_t = a_t h_t−1 + b_t over N = {n}: {TREE_NAMES[kind]} tree",
                                f"parallel scan, N = {n}: {SHORT_TREE_NAMES[kind]}", f"scan tree, N = {n}"])
        if self._tree_hidden():
            row("status", 0.0, ["the tree's rounds are hidden while you predict how many",
                                "rounds hidden while you predict", "hidden"], muted)
        else:
            done = current == len(levels) and not hidden
            options = ["the inputs (a_t, b_t)", "the inputs"]
            if current:
                level = levels[current - 1]
                head = f"round {current}{'' if hidden else f' of {len(levels)}'}"
                combines = f"{len(level.targets)} combine{'s' if len(level.targets) > 1 else ''} at once"
                options = [f"{head}: {PHASES[level.phase]}, stride {level.stride}, {combines}",
                           f"{head}: {PHASES[level.phase]}, stride {level.stride}", head]
            if done:
                options = [f"{options[0]}; done: |tree − loop| = {self.run.latest()['scan_error']:.1e}", *options]
            row("status", 0.0, options, PALETTE.good if done else EDGE_NOW)
            steps = f"{model.loop_steps} of {n - 1}"
            row("loop_label", 0.0, [f"sequential loop: {steps} steps", f"loop: {steps}"])

    def _register_labels(self, frame, text, hidden: bool, em: float) -> None:
        """Each grid's name, its registers' numbers and, once a register's token has arrived (and no
        prediction is open), whether it copied it."""
        model, t, x0 = self.model, int(self.model.position), self.lay.registers_x
        for (name, color), span, decoded in zip(GRIDS, self.lay.grids, (model.decoded_selective, model.decoded_lti)):
            rows = self._rows(span)[1]
            arrived = [k for k in range(len(rows)) if np.any(model.marks[:t] == k)]  # whose token has come
            right = {k: decoded[t - 1, k] == model.targets[k] for k in arrived}
            each_row = (rows[0, 1] - rows[0, 0]) / frame.world_per_pixel() >= 1.1 * em  # a line of text per row
            count = f"{sum(right.values())}/{len(arrived)}"
            options = [name] if hidden or each_row or not arrived else [f"{name}: {count} copied", f"{name} {count}"]
            room = (x0 + REGISTERS_WIDTH - WIDTH) / frame.world_per_pixel() - 6.0  # right of the stream's numbers
            text((x0 + REGISTERS_WIDTH, span[1]), first_fit(options, room, otherwise=None) or name, color.lighter(), dy=-1.15 * em,
                 align=1.0)
            if not each_row:  # too short for a number and a mark each: the title counts what was copied
                continue
            for k, middle in enumerate(rows.mean(axis=1)):
                text((x0, middle), f"{k + 1}", PALETTE.muted, dx=-6, dy=-0.5 * em, align=1.0)
                if not hidden and k in right:  # copied or not, once its token has arrived
                    text((x0 + REGISTERS_WIDTH, middle), "✓" if right[k] else "✗",
                         PALETTE.good if right[k] else PALETTE.bad, dx=6, dy=-0.5 * em)

    def handle_input(self, frame) -> bool:
        """Drag a gate bar: a marked token's bar sets Δ for marked tokens, a noise bar Δ for noise."""
        inp, point, length = frame.input, frame.mouse_world(), len(self.model.values)
        gates = self._layout(frame).gates
        on_gates = 0.0 <= point[0] <= WIDTH and gates[0] <= point[1] <= gates[1] + 1.0
        if self._dragging is None and inp.clicked and inp.hovered and not inp.shift and on_gates:
            token = int(np.clip(point[0] / WIDTH * length, 0, length - 1))
            self._dragging = "delta_mark" if self.model.marks[token] != NOISE else "delta_noise"
        if self._dragging is None or not inp.left or self.challenge.locked:
            self._dragging = None
            return False
        self.context.set_param(self._dragging, float(np.clip(gate_at(point[1], gates), *self.ranges[self._dragging])))
        return True

    def panel(self) -> None:
        imgui.separator()
        if self.params["registers"] > 1:
            self.register = imgui.slider_int("register drawn", self.register + 1, 1, self.params["registers"])[1] - 1
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(PALETTE.muted, "Register grids: a row per register, a column per token value, bright "
                                          "where the state holds it; outline: what it reads as; dot: the token to "
                                          "copy.")
        imgui.pop_text_wrap_pos()

    def plots(self) -> None:
        model, rounds, shown = self.model, len(self.model.tree_levels), (lambda: not self.challenge.hide_answers)
        streams, selective, lti = (values[-SCORED_STREAMS:] for values in stream_scores(self.run))
        tree = ("h_t: the loop" if self._tree_hidden() else
                f"h_t after round {model.tree_level}{f' of {rounds}' if shown() else ''}")
        plot_strip(self.context, [
            Plot("copied per stream", lambda run: self._scores(streams, selective, lti), x_label="stream",
                 x_limits=(streams[0] - 0.6, streams[0] + max(len(streams), 4) - 0.4), y_limits=(0.0, 1.15),
                 weight=0.85, when=shown, min_width=10, priority=2),
            Plot(f"{tree}###tree", self._tree_values, x_label="t", y_label="h_t", weight=1.2, priority=3),
            Plot("rounds vs N###depth", self._depth, x_label="N", y_label="rounds", x_log=True, y_log=True,
                 when=shown, min_width=12, priority=1)])

    def _scores(self, streams, selective, lti) -> None:
        set_ticks([float(s) for s in streams])
        set_ticks([0.0, 0.5, 1.0], ["0", "50%", "100%"], implot.ImAxis_.y1.value)
        for name, offset, scores, color in (("selective", -0.2, selective, SELECTIVE), ("LTI", 0.2, lti, LTI)):
            mean = self.run.latest()[f"mean_{name.lower()}_accuracy"]
            implot.plot_bars(f"{name} {mean:.0%}", streams + offset, scores, 0.38, implot.Spec(fill_color=color))

    def _tree_values(self, run) -> None:
        model, positions = self.model, np.arange(len(self.model.tree_b), dtype=float)
        line("loop", positions, model.tree_sequential, LOOP, 3.0)
        if self._tree_hidden():
            return
        partial = model.tree_after(model.tree_level)
        line("tree", positions, partial, EDGE_NOW, 1.5)
        if len(positions) <= 256:
            scatter("tree", positions, partial, EDGE_NOW, 2.5, legend=False)

    def _depth(self, run) -> None:
        sizes, depths = self.model.depth_table(self.ranges["tree_n"][1])  # every N: each count holds to the next size
        line("loop", sizes, sizes - 1, LOOP, 1.0)
        for name, kind, color in (("Brent-Kung", "work_efficient", PALETTE.sky),
                                  ("Hillis-Steele", "step_efficient", PALETTE.vermillion)):
            implot.plot_stairs(name, sizes, depths[kind], implot.Spec(line_color=color, line_weight=1.5))
        scatter("now", [len(self.model.tree_b)], [len(self.model.tree_levels)], EDGE_NOW, 5.0, legend=False)
