"""The selective scan's view. The game: the stream of tokens (marked ones numbered by register,
the future faint), the gates Δ(x_t) on a log scale (drag a bar; dashed: the LTI steps), the share
of every token in one register (selective up, LTI down), and both models' registers. Below, the
scan tree's rounds against the sequential loop. While a prediction is open the verdicts are
hidden: ✓/✗, the scores, what a register keeps, the number of rounds."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.kit import PALETTE, Plot, hues, line, plot_strip, scatter
from sandbox.view import View

from .model import NOISE, stream_scores

# World layout: the stream spans x in [0, WIDTH] whatever its length; rows stack downward.
WIDTH = 100.0
STREAM = (68.0, 72.0)  # y range of the token cells
GATES = (50.0, 62.0)  # y range of the gate bars (log10 Δ from GATE_LOG_RANGE)
SHARES_BASE, SHARES_HEIGHT = 36.0, 8.0  # the share bars: selective up from the base, LTI down
TREE = (-6.0, 14.0)  # y range of the scan tree's rows
LOOP_Y = -12.0  # the sequential loop's chain
REGISTERS_X, REGISTERS_WIDTH = 108.0, 26.0  # the register grids, right of the stream
SHARE_TICKS = (0.1, 0.5, 1.0)  # grid lines of the share bars (square-root scale)
GATE_LOG_RANGE = (-4.0, 1.0)  # log10 Δ at the bottom and the top of the gate strip
SCORED_STREAMS = 12  # the score plot shows the latest streams
TREE_NODES_MAX, TREE_VERTICALS_MAX, TREE_ALL_EDGES_MAX = 128, 256, 8192  # bigger trees: edges, current round

SELECTIVE, LTI = PALETTE.green, PALETTE.orange
GRIDS = (("selective", (54.0, 72.0), SELECTIVE), ("LTI", (27.0, 45.0), LTI))  # each register grid's y range
EDGE, EDGE_NOW, LOOP = PALETTE.muted.alpha(0.35), PALETTE.yellow, PALETTE.white.alpha(0.7)
TREE_NAMES = {"work_efficient": "work-efficient (Brent-Kung)", "step_efficient": "step-efficient (Hillis-Steele)"}
PHASES = {"up": "up-sweep", "down": "down-sweep", "double": "doubling"}


def diverging(values: np.ndarray) -> np.ndarray:
    """Signed values in [-1, 1] to colours: sky below zero, dark at zero, purple above."""
    v = np.clip(np.nan_to_num(values), -1.0, 1.0)[:, None]
    zero, up, down = np.array([0.25, 0.27, 0.3]), np.array(PALETTE.purple[:3]), np.array(PALETTE.sky[:3])
    rgb = zero + np.sqrt(np.abs(v)) * (np.where(v >= 0, up, down) - zero)
    return np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1).astype(np.float32)


def gate_height(delta) -> np.ndarray:
    """Bar top (world y) of a gate Δ on the strip's log scale."""
    return np.interp(np.log10(np.maximum(delta, 1e-12)), GATE_LOG_RANGE, GATES)


def gate_at(y: float) -> float:
    """The Δ whose bar reaches world height ``y`` (inverse of :func:`gate_height`)."""
    return float(10 ** np.interp(y, GATES, GATE_LOG_RANGE))


def share_height(share) -> np.ndarray:
    """Bar length of a share on a square-root scale: the LTI model's small, spread-out shares
    stay visible next to a selective register's single share near 1."""
    return SHARES_HEIGHT * np.sqrt(np.clip(np.nan_to_num(share), 0.0, 1.0))


def token_x(count: int) -> np.ndarray:
    """Centres of ``count`` cells across the stream's width."""
    return (np.arange(count) + 0.5) * WIDTH / max(count, 1)


class ScanView(View):
    def __init__(self, context):
        super().__init__(context)
        self.cam.fit(-9.0, 146.0, -17.0, 82.0, 0.0, follow=True)  # every row, the registers and the labels
        self.ranges = {name: (p.min, p.max) for name, p in context.manifest.params.items() if p.type != "choice"}
        self.register = 0  # the register whose shares are drawn (the learner picks it in the panel)
        self._dragging: str | None = None  # "delta_mark" or "delta_noise" while a gate bar is dragged

    def on_reset(self) -> None:
        self.register = min(self.register, self.params["registers"] - 1)

    def _rows(self, span) -> tuple[float, np.ndarray]:
        """A register grid's channel width and its rows' (bottom, top), register 1 on top."""
        registers, width = self.params["registers"], REGISTERS_WIDTH / self.params["vocab"]
        height = min((span[1] - span[0]) / registers, 3.0 * width)
        tops = span[1] - height * np.arange(registers)
        return width, np.stack([tops - height, tops], 1)

    def _bars(self, frame, xs, y0, y1, colors, width: float) -> None:
        """Bars ``width`` world units wide, centred on ``xs``, from ``y0`` to ``y1``."""
        self.rects(frame, np.stack(np.broadcast_arrays(xs - width / 2, xs + width / 2, y0, y1), 1), colors)

    def scene(self, frame) -> None:
        self.gl.disable(self.gl.DEPTH_TEST)
        model, t, length = self.model, int(self.model.position), len(self.model.values)
        xs, cell, marked = token_x(length), WIDTH / length, model.marks != NOISE
        colors = hues(np.arange(self.params["vocab"]) / self.params["vocab"])[model.values]  # a colour per value
        colors[~marked, 3] = 0.4  # noise: the same colours, dimmer
        colors[t:, 3] *= 0.25  # the future has not arrived yet
        self._bars(frame, xs, *STREAM, colors, 0.9 * cell)
        self._bars(frame, xs[:t][marked[:t]], STREAM[1] + 0.4, STREAM[1] + 1.4, PALETTE.white.alpha(0.9), 0.6 * cell)
        playhead = xs[t - 1] + 0.5 * cell  # through the stream, the gates and the shares
        self.lines(frame, [[playhead, SHARES_BASE - SHARES_HEIGHT - 1.0], [playhead, STREAM[1] + 2.0]],
                   PALETTE.white.alpha(0.7), 1.5)
        gates = np.tile(np.array(SELECTIVE, np.float32), (length, 1))
        gates[~marked, :3] *= 0.7
        gates[t:, 3] = 0.3
        self._bars(frame, xs, GATES[0], gate_height(model.token_deltas), gates, 0.7 * cell)
        self.outline(frame, (0.0, WIDTH, *GATES), PALETTE.grid)
        heights = gate_height(model.lti_gates[0, :self.params["registers"]])  # the LTI steps: one dashed line each
        self.lines(frame, [[[x, h], [x + 1.0, h]] for h in heights for x in np.arange(0.0, WIDTH, 2.0)], LTI, 1.5)
        target = model.marks[:t] == self.register
        for shares, side, color in zip(model.shares(self.register), (1.0, -1.0), (SELECTIVE, LTI)):
            colors = np.tile(np.array(color, np.float32), (t, 1))
            colors[~target, 3] = 0.55
            self._bars(frame, xs[:t], SHARES_BASE, SHARES_BASE + side * share_height(shares), colors, 0.8 * cell)
            self.lines(frame, [[[0.0, SHARES_BASE + side * h], [WIDTH, SHARES_BASE + side * h]]
                               for h in share_height(np.array(SHARE_TICKS))], PALETTE.grid.alpha(0.3))
        self.lines(frame, [[0.0, SHARES_BASE], [WIDTH, SHARES_BASE]], PALETTE.grid)
        self._registers(frame, t)
        self._tree(frame)

    def _registers(self, frame, t: int) -> None:
        model, vocab = self.model, self.params["vocab"]
        for (_, span, color), states, decoded in zip(GRIDS, (model.selective_states, model.lti_states),
                                                     (model.decoded_selective, model.decoded_lti)):
            width, rows = self._rows(span)
            colors = np.tile(hues(np.arange(vocab) / vocab), (len(rows), 1))
            colors[:, 3] = 0.12 + 0.88 * np.clip(states[t - 1], 0.0, 1.0).ravel()  # bright: what the channel holds
            self._bars(frame, np.tile(REGISTERS_X + (np.arange(vocab) + 0.5) * width, len(rows)),
                       np.repeat(rows[:, 0] + 0.3, vocab), np.repeat(rows[:, 1] - 0.3, vocab), colors, 0.9 * width)
            read = REGISTERS_X + decoded[t - 1] * width
            self.outline(frame, np.stack([read, read + width, *rows.T], 1), PALETTE.white.alpha(0.9), 2.0)
            targets = np.stack([REGISTERS_X + (model.targets + 0.5) * width, rows[:, 0] - 0.2], 1)
            self.painter.points(frame.mvp, targets, PALETTE.white, 6.0)
            self.outline(frame, (REGISTERS_X, REGISTERS_X + REGISTERS_WIDTH, rows[-1, 0], span[1]), color, 1.5)

    def _tree(self, frame) -> None:
        model, levels, current, n = self.model, self.model.tree_levels, self.model.tree_level, len(self.model.tree_b)
        xs, rows = token_x(n), np.linspace(TREE[1], TREE[0], len(levels) + 1)
        crowded = sum(len(level.targets) for level in levels) > TREE_ALL_EDGES_MAX  # then only this round's edges
        if crowded:  # and one line per round
            self.lines(frame, [[[xs[0], y], [xs[-1], y]] for y in rows], EDGE.alpha(0.25))
        if n <= TREE_VERTICALS_MAX:  # a pair that is not combined passes straight down
            self.lines(frame, [[[x, TREE[1]], [x, TREE[0]]] for x in xs], EDGE.alpha(0.18))
        for r, level in enumerate(levels, start=1):
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
        self.lines(frame, [[xs[0], LOOP_Y], [xs[-1], LOOP_Y]], EDGE.alpha(0.4), 1.5)
        if model.loop_steps:
            self.lines(frame, [[xs[0], LOOP_Y], [xs[model.loop_steps], LOOP_Y]], EDGE_NOW, 3.0)

    def overlay(self, draw_list, frame) -> None:
        model, hidden, muted, em = self.model, self.challenge.hide_answers, PALETTE.muted, imgui.get_font_size()
        length, t, levels, current = len(model.values), int(model.position), model.tree_levels, model.tree_level

        def text(point, words, color=PALETTE.text, dx=0.0, dy=0.0, align=0.0):
            frame.label(draw_list, point, words, color, (dx, dy), False, align)

        text((0.0, STREAM[1] + 1.5), f"stream: token {t} of {length}; marked tokens numbered by their register",
             dy=-1.9 * em)
        for position in np.flatnonzero(model.marks[:t] != NOISE):
            text((token_x(length)[position], STREAM[1] + 1.4), f"{model.marks[position] + 1}", dx=-4, dy=-1.05 * em)
        text((0.0, GATES[1]), "gate Δ(x_t), log scale: drag a bar", dy=-1.2 * em)
        text((WIDTH, GATES[1]), "dashed: LTI Δ", LTI.lighter(), dy=-1.2 * em, align=1.0)
        ticks = [(gate_height(10.0 ** e), f"{10.0 ** e:g}") for e in GATE_LOG_RANGE] + [
            (SHARES_BASE + side * share_height(s), f"{s:g}") for s in SHARE_TICKS for side in (1.0, -1.0)]
        for y, words in ticks:
            text((0.0, float(y)), words, muted, dx=-4, dy=-0.5 * em, align=1.0)
        text((0.0, SHARES_BASE + SHARES_HEIGHT), f"what register {self.register + 1} holds: each token's share, "
                                                 "selective", SELECTIVE.lighter(), dy=-1.2 * em)
        text((0.0, SHARES_BASE - SHARES_HEIGHT), "LTI, the same state size (square-root scale)", LTI.lighter(),
             dy=0.1 * em)
        for (name, span, color), decoded in zip(GRIDS, (model.decoded_selective, model.decoded_lti)):
            rows = self._rows(span)[1]
            text((REGISTERS_X, span[1]), f"{name}: K×V state", color.lighter(), dy=-1.2 * em)
            for k, middle in enumerate(rows.mean(axis=1)):
                text((REGISTERS_X, middle), f"{k + 1}", muted, dx=-6, dy=-0.5 * em, align=1.0)
                if not hidden and np.any(model.marks[:t] == k):  # copied or not, once its token has arrived
                    right = decoded[t - 1, k] == model.targets[k]
                    text((REGISTERS_X + REGISTERS_WIDTH, middle), "✓" if right else "✗",
                         PALETTE.good if right else PALETTE.bad, dx=6, dy=-0.5 * em)
        text((REGISTERS_X, rows[-1, 0]), "outline: what it reads as", muted, dy=0.3 * em)
        text((REGISTERS_X, rows[-1, 0]), "dot: the token to copy", muted, dy=1.3 * em)
        text((0.0, TREE[1]), f"parallel scan of h_t = a_t h_t−1 + b_t over N = {len(model.tree_b)}: "
                             f"{TREE_NAMES[self.params['tree']]} tree", dy=-2.4 * em)
        state, done = "the inputs (a_t, b_t)", current == len(levels) and not hidden
        if current:
            level = levels[current - 1]
            state = (f"round {current}{'' if hidden else f' of {len(levels)}'}: {PHASES[level.phase]}, stride "
                     f"{level.stride}, {len(level.targets)} combine{'s' if len(level.targets) > 1 else ''} at once")
        if done:
            state += f"; done: |tree − loop| = {self.run.latest()['scan_error']:.1e}"
        text((0.0, TREE[1]), state, PALETTE.good if done else EDGE_NOW, dy=-1.3 * em)
        text((0.0, LOOP_Y), f"sequential loop: {model.loop_steps} of {len(model.tree_b) - 1} steps", dy=0.4 * em)

    def handle_input(self, frame) -> bool:
        """Drag a gate bar: a marked token's bar sets Δ for marked tokens, a noise bar Δ for noise."""
        inp, point, length = frame.input, frame.mouse_world(), len(self.model.values)
        on_gates = 0.0 <= point[0] <= WIDTH and GATES[0] <= point[1] <= GATES[1] + 1.0
        if self._dragging is None and inp.clicked and inp.hovered and not inp.shift and on_gates:
            token = int(np.clip(point[0] / WIDTH * length, 0, length - 1))
            self._dragging = "delta_mark" if self.model.marks[token] != NOISE else "delta_noise"
        if self._dragging is None or not inp.left or self.challenge.locked:
            self._dragging = None
            return False
        self.context.set_param(self._dragging, float(np.clip(gate_at(point[1]), *self.ranges[self._dragging])))
        return True

    def panel(self) -> None:
        if self.params["registers"] > 1:
            imgui.separator()
            self.register = imgui.slider_int("register drawn", self.register + 1, 1, self.params["registers"])[1] - 1

    def plots(self) -> None:
        model, rounds, shown = self.model, len(self.model.tree_levels), (lambda: not self.challenge.hide_answers)
        streams, selective, lti = (values[-SCORED_STREAMS:] for values in stream_scores(self.run))
        plot_strip(self.context, [
            Plot("tokens copied, per stream", lambda run: self._scores(streams, selective, lti), x_label="stream",
                 x_limits=(streams[0] - 0.6, streams[0] + max(len(streams), 4) - 0.4), y_limits=(0.0, 1.15),
                 weight=0.85, when=shown),
            Plot(f"h_t: tree after round {model.tree_level}{f' of {rounds}' if shown() else ''} vs the loop###tree",
                 self._tree_values, x_label="t", y_label="h_t", weight=1.2),
            Plot(f"rounds vs N (N = {len(model.tree_b)}: {rounds})###depth", self._depth, x_label="N",
                 y_label="rounds", x_log=True, y_log=True, when=shown)])

    def _scores(self, streams, selective, lti) -> None:
        implot.setup_axis_ticks(implot.ImAxis_.x1.value, [float(s) for s in streams[:: max(1, len(streams) // 6)]])
        implot.setup_axis_ticks(implot.ImAxis_.y1.value, [0.0, 0.5, 1.0], ["0", "50%", "100%"])
        for name, offset, scores, color in (("selective", -0.2, selective, SELECTIVE), ("LTI", 0.2, lti, LTI)):
            mean = self.run.latest()[f"mean_{name.lower()}_accuracy"]
            implot.plot_bars(f"{name} {mean:.0%}", streams + offset, scores, 0.38, implot.Spec(fill_color=color))

    def _tree_values(self, run) -> None:
        model, positions = self.model, np.arange(len(self.model.tree_b), dtype=float)
        partial = model.tree_after(model.tree_level)
        line("loop", positions, model.tree_sequential, LOOP, 3.0)
        line("tree", positions, partial, EDGE_NOW, 1.5)
        if len(positions) <= 256:
            scatter("tree", positions, partial, EDGE_NOW, 2.5, legend=False)

    def _depth(self, run) -> None:
        sizes, depths = self.model.depth_table(self.ranges["tree_n"][1])
        line("loop", sizes, sizes - 1, LOOP, 1.0)
        line("Brent-Kung", sizes, depths["work_efficient"], PALETTE.sky, 1.5)
        line("Hillis-Steele", sizes, depths["step_efficient"], PALETTE.vermillion, 1.5)
        scatter("now", [len(self.model.tree_b)], [len(self.model.tree_levels)], EDGE_NOW, 5.0, legend=False)
