"""The selective scan's view. The game: the stream of tokens (marked ones numbered by register,
the future faint), the gates Δ(x_t) on a log scale (drag a bar; dashed: the LTI steps), the share
of every token in one register (selective up, LTI down), and both models' registers. Below, the
scan tree's rounds against the sequential loop. While a prediction is open the verdicts are
hidden: ✓/✗, the scores, what a register keeps, the number of rounds."""

from __future__ import annotations

import colorsys

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.kit import PALETTE, Plot, line, plot_strip, scatter
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
REGISTER_GRIDS = {"selective": (54.0, 72.0), "LTI": (27.0, 45.0)}  # y ranges of the two grids
SHARE_TICKS = (0.1, 0.5, 1.0)  # grid lines of the share bars (square-root scale)
GATE_LOG_RANGE = (-4.0, 1.0)  # log10 Δ at the bottom and the top of the gate strip
SCORED_STREAMS = 12  # the score plot shows the latest streams
TREE_NODES_MAX, TREE_VERTICALS_MAX, TREE_ALL_EDGES_MAX = 128, 256, 8192  # bigger trees: edges, current round

SELECTIVE, LTI = PALETTE.green, PALETTE.orange
EDGE, EDGE_NOW, LOOP = PALETTE.muted.alpha(0.35), PALETTE.yellow, PALETTE.white.alpha(0.7)
TREE_NAMES = {"work_efficient": "work-efficient (Brent-Kung)", "step_efficient": "step-efficient (Hillis-Steele)"}
PHASES = {"up": "up-sweep", "down": "down-sweep", "double": "doubling"}


def value_colors(vocab: int) -> np.ndarray:
    """A distinct hue per token value (up to 16 of them: more than any palette), ``(vocab, 4)``."""
    return np.array([(*colorsys.hsv_to_rgb(i / vocab, 0.65, 0.95), 1.0) for i in range(vocab)], np.float32)


def diverging(values: np.ndarray) -> np.ndarray:
    """Signed values in [-1, 1] to colours: sky below zero, dark at zero, purple above."""
    v = np.clip(np.nan_to_num(values), -1.0, 1.0)[:, None]
    zero, up, down = np.array([0.25, 0.27, 0.3]), np.array(PALETTE.purple[:3]), np.array(PALETTE.sky[:3])
    rgb = zero + np.sqrt(np.abs(v)) * (np.where(v >= 0, up, down) - zero)
    return np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1).astype(np.float32)


def gate_height(delta) -> np.ndarray:
    """Bar top (world y) of a gate Δ on the strip's log scale."""
    low, high = GATE_LOG_RANGE
    fraction = (np.log10(np.maximum(delta, 1e-12)) - low) / (high - low)
    return GATES[0] + np.clip(fraction, 0.0, 1.0) * (GATES[1] - GATES[0])


def gate_at(y: float) -> float:
    """The Δ whose bar reaches world height ``y`` (inverse of :func:`gate_height`)."""
    low, high = GATE_LOG_RANGE
    return float(10 ** (low + np.clip((y - GATES[0]) / (GATES[1] - GATES[0]), 0.0, 1.0) * (high - low)))


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
        self._register = 0  # the register whose shares are drawn (the learner picks it in the panel)
        self._dragging: str | None = None  # "delta_mark" or "delta_noise" while a gate bar is dragged

    @property
    def register(self) -> int:
        return int(np.clip(self._register, 0, self.params["registers"] - 1))

    def _tree_state(self):
        """(N, the tree's rounds, the round shown: 0 for the inputs)."""
        levels = self.model.tree_levels
        return len(self.model.tree_b), levels, int(np.clip(self.model.tree_level, 0, len(levels)))

    def _bars(self, frame, xs, y0, y1, colors, width: float) -> None:
        """Bars ``width`` world units wide, centred on ``xs``, from ``y0`` to ``y1``."""
        xs = np.asarray(xs, np.float64)
        if len(xs):
            y0, y1 = (np.broadcast_to(np.asarray(y, np.float64), xs.shape) for y in (y0, y1))
            self.painter.rects(frame.mvp, np.stack([xs - width / 2, y0], 1), np.stack([xs + width / 2, y1], 1), colors)

    def _lines(self, frame, points, color, thickness: float = 1.0, strip: bool = False) -> None:
        self.painter.lines(frame.mvp, np.reshape(points, (-1, 2)), color, thickness, frame.viewport, strip=strip)

    def _rect(self, frame, x0, y0, x1, y1, color, thickness: float = 1.0) -> None:
        self._lines(frame, [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], color, thickness, strip=True)

    def scene(self, frame) -> None:
        self.gl.disable(self.gl.DEPTH_TEST)
        model, t = self.model, int(self.model.position)
        length = len(model.values)
        xs, cell, marked = token_x(length), WIDTH / length, model.marks != NOISE
        colors = value_colors(self.params["vocab"])[model.values]
        colors[~marked, 3] = 0.4  # noise: the same colours, dimmer
        colors[t:, 3] *= 0.25  # the future has not arrived yet
        self._bars(frame, xs, STREAM[0], STREAM[1], colors, 0.9 * cell)
        self._bars(frame, xs[:t][marked[:t]], STREAM[1] + 0.4, STREAM[1] + 1.4, PALETTE.white.alpha(0.9), 0.6 * cell)
        playhead = xs[t - 1] + 0.5 * cell  # through the stream, the gates and the shares
        self._lines(frame, [[playhead, SHARES_BASE - SHARES_HEIGHT - 1.0], [playhead, STREAM[1] + 2.0]],
                    PALETTE.white.alpha(0.7), 1.5)
        gates = np.tile(np.array(SELECTIVE, np.float32), (length, 1))
        gates[~marked, :3] *= 0.7
        gates[t:, 3] = 0.3
        self._bars(frame, xs, GATES[0], gate_height(model.token_deltas), gates, 0.7 * cell)
        self._rect(frame, 0.0, GATES[0], WIDTH, GATES[1], PALETTE.grid)
        heights = gate_height(model.lti_gates[0, :self.params["registers"]])  # the LTI steps: one dashed line each
        self._lines(frame, [[[x, h], [x + 1.0, h]] for h in heights for x in np.arange(0.0, WIDTH, 2.0)], LTI, 1.5)
        target = model.marks[:t] == self.register
        for shares, side, color in zip(model.shares(self.register), (1.0, -1.0), (SELECTIVE, LTI)):
            colors = np.tile(np.array(color, np.float32), (t, 1))
            colors[~target, 3] = 0.55
            self._bars(frame, xs[:t], SHARES_BASE, SHARES_BASE + side * share_height(shares), colors, 0.8 * cell)
        ticks = [[[0.0, SHARES_BASE + side * h], [WIDTH, SHARES_BASE + side * h]]
                 for side in (1.0, -1.0) for h in share_height(np.array(SHARE_TICKS))]
        self._lines(frame, ticks, PALETTE.grid.alpha(0.3))
        self._lines(frame, [[0.0, SHARES_BASE], [WIDTH, SHARES_BASE]], PALETTE.grid)
        self._registers(frame, t)
        self._tree(frame)

    def _cell(self, r: int, v: int, grid: str) -> tuple[float, float, float, float]:
        """World rectangle (x0, y0, x1, y1) of register r's channel v in one of the grids."""
        registers, vocab = self.params["registers"], self.params["vocab"]
        y0, y1 = REGISTER_GRIDS[grid]
        width = REGISTERS_WIDTH / vocab
        height = min((y1 - y0) / registers, 3.0 * width)
        return (REGISTERS_X + v * width, y1 - (r + 1) * height, REGISTERS_X + (v + 1) * width, y1 - r * height)

    def _registers(self, frame, t: int) -> None:
        model, registers, vocab = self.model, self.params["registers"], self.params["vocab"]
        for grid, states, decoded, color in (("selective", model.selective_states, model.decoded_selective, SELECTIVE),
                                             ("LTI", model.lti_states, model.decoded_lti, LTI)):
            for r in range(registers):
                x0, y0, x1, y1 = self._cell(r, 0, grid)
                colors = value_colors(vocab)
                colors[:, 3] = 0.12 + 0.88 * np.clip(states[t - 1, r], 0.0, 1.0)  # bright: what the channel holds
                self._bars(frame, x0 + (np.arange(vocab) + 0.5) * (x1 - x0), y0 + 0.3, y1 - 0.3, colors, 0.9 * (x1 - x0))
                self._rect(frame, *self._cell(r, int(decoded[t - 1, r]), grid), PALETTE.white.alpha(0.9), 2.0)
                tx0, ty0, tx1, _ = self._cell(r, int(model.targets[r]), grid)
                self.painter.points(frame.mvp, [[0.5 * (tx0 + tx1), ty0 - 0.2]], PALETTE.white, 6.0)
            self._rect(frame, REGISTERS_X, self._cell(registers - 1, 0, grid)[1], REGISTERS_X + REGISTERS_WIDTH,
                       REGISTER_GRIDS[grid][1], color, 1.5)

    def _tree(self, frame) -> None:
        model = self.model
        n, levels, current = self._tree_state()
        xs, rows = token_x(n), np.linspace(TREE[1], TREE[0], len(levels) + 1)
        crowded = sum(len(level.targets) for level in levels) > TREE_ALL_EDGES_MAX  # then only this round's edges
        if crowded:  # one line per round instead
            self._lines(frame, [[[xs[0], y], [xs[-1], y]] for y in rows], EDGE.alpha(0.25))
        if n <= TREE_VERTICALS_MAX:  # a pair that is not combined passes straight down
            self._lines(frame, [[[x, TREE[1]], [x, TREE[0]]] for x in xs], EDGE.alpha(0.18))
        for r, level in enumerate(levels, start=1):
            if r == current or not crowded:
                starts = np.stack([xs[level.sources], np.full(len(level.sources), rows[r - 1])], 1)
                ends = np.stack([xs[level.targets], np.full(len(level.targets), rows[r])], 1)
                color = EDGE_NOW if r == current else EDGE if r < current else EDGE.alpha(0.12)
                self._lines(frame, np.stack([starts, ends], 1), color, 2.5 if r == current else 1.2)
        if n <= TREE_NODES_MAX:  # each node coloured by its value so far
            scale = max(float(np.max(np.abs(model.tree_sequential))), 1e-12)
            for r in range(current + 1):
                values = model.tree_b if r == 0 else levels[r - 1].b
                self.painter.points(frame.mvp, np.stack([xs, np.full(n, rows[r])], 1), diverging(values / scale),
                                    7.0 if n <= 32 else 4.0)
        self._lines(frame, [[xs[0], LOOP_Y], [xs[-1], LOOP_Y]], EDGE.alpha(0.4), 1.5)  # one combine per tick, the
        if min(current, n - 1):  # same clock as the tree's rounds
            self._lines(frame, [[xs[0], LOOP_Y], [xs[min(current, n - 1)], LOOP_Y]], EDGE_NOW, 3.0)

    def overlay(self, draw_list, frame) -> None:
        model, hidden, muted, em = self.model, self.challenge.hide_answers, PALETTE.muted, imgui.get_font_size()
        length, t, r = len(model.values), int(model.position), self.register
        xs, registers = token_x(length), self.params["registers"]

        def text(point, words, color=PALETTE.text, dx=0.0, dy=0.0, align=0.0):
            frame.label(draw_list, point, words, color, (dx, dy), False, align)

        text((0.0, STREAM[1] + 1.5), f"stream: token {t} of {length}; marked tokens numbered by their register",
             dy=-1.9 * em)
        for position in np.flatnonzero(model.marks[:t] != NOISE):
            text((xs[position], STREAM[1] + 1.4), f"{model.marks[position] + 1}", dx=-4, dy=-1.05 * em)
        text((0.0, GATES[1]), "gate Δ(x_t), log scale: drag a bar", dy=-1.2 * em)
        text((WIDTH, GATES[1]), "dashed: LTI Δ", LTI.lighter(), dy=-1.2 * em, align=1.0)
        ticks = [(gate_height(10.0 ** e), f"{10.0 ** e:g}") for e in GATE_LOG_RANGE] + [
            (SHARES_BASE + side * share_height(s), f"{s:g}") for s in SHARE_TICKS for side in (1.0, -1.0)]
        for y, words in ticks:
            text((0.0, float(y)), words, muted, dx=-4, dy=-0.5 * em, align=1.0)
        text((0.0, SHARES_BASE + SHARES_HEIGHT), f"what register {r + 1} holds: each token's share, selective",
             SELECTIVE.lighter(), dy=-1.2 * em)
        text((0.0, SHARES_BASE - SHARES_HEIGHT), "LTI, the same state size (square-root scale)", LTI.lighter(),
             dy=0.1 * em)
        for grid, decoded, color in (("selective", model.decoded_selective, SELECTIVE), ("LTI", model.decoded_lti, LTI)):
            text((REGISTERS_X, self._cell(0, 0, grid)[3]), f"{grid}: K×V state", color.lighter(), dy=-1.2 * em)
            for k in range(registers):
                x0, y0, _, y1 = self._cell(k, 0, grid)
                text((x0, 0.5 * (y0 + y1)), f"{k + 1}", muted, dx=-6, dy=-0.5 * em, align=1.0)
                if not hidden and np.any(model.marks[:t] == k):  # copied or not, once its token has arrived
                    right = int(decoded[t - 1, k]) == int(model.targets[k])
                    text((REGISTERS_X + REGISTERS_WIDTH, 0.5 * (y0 + y1)), "✓" if right else "✗",
                         PALETTE.good if right else PALETTE.bad, dx=6, dy=-0.5 * em)
        bottom = (REGISTERS_X, self._cell(registers - 1, 0, "LTI")[1])
        text(bottom, "outline: what it reads as", muted, dy=0.3 * em)
        text(bottom, "dot: the token to copy", muted, dy=1.3 * em)
        n, levels, current = self._tree_state()
        text((0.0, TREE[1]), f"parallel scan of h_t = a_t h_t−1 + b_t over N = {n}: {TREE_NAMES[self.params['tree']]} "
                             "tree", dy=-2.4 * em)
        state, done = "the inputs (a_t, b_t)", current == len(levels) and not hidden
        if current:
            level = levels[current - 1]
            state = (f"round {current}{'' if hidden else f' of {len(levels)}'}: {PHASES[level.phase]}, stride "
                     f"{level.stride}, {len(level.targets)} combine{'s' if len(level.targets) > 1 else ''} at once")
        if done:
            state += f"; done: |tree − loop| = {self.run.latest()['scan_error']:.1e}"
        text((0.0, TREE[1]), state, PALETTE.good if done else EDGE_NOW, dy=-1.3 * em)
        text((0.0, LOOP_Y), f"sequential loop: {min(current, n - 1)} of {n - 1} steps", dy=0.4 * em)

    def handle_input(self, frame) -> bool:
        """Drag a gate bar: a marked token's bar sets Δ for marked tokens, a noise bar Δ for noise."""
        inp, point = frame.input, frame.mouse_world()
        if self._dragging is None:
            on_gates = 0.0 <= point[0] <= WIDTH and GATES[0] <= point[1] <= GATES[1] + 1.0
            if not (inp.clicked and inp.hovered and not inp.shift and on_gates) or self.challenge.locked:
                return False
            token = int(np.clip(point[0] / WIDTH * len(self.model.values), 0, len(self.model.values) - 1))
            self._dragging = "delta_mark" if self.model.marks[token] != NOISE else "delta_noise"
        if not inp.left or self.challenge.locked:
            self._dragging = None
            return False
        self.context.set_param(self._dragging, float(np.clip(gate_at(point[1]), *self.ranges[self._dragging])))
        return True

    def panel(self) -> None:
        model, p, r, t = self.model, self.params, self.register, int(self.model.position)
        imgui.separator()
        if p["registers"] > 1:
            self._register = imgui.slider_int("register drawn", r + 1, 1, p["registers"])[1] - 1
            r = self.register
        imgui.push_text_wrap_pos(0.0)
        if self.challenge.hide_answers:
            imgui.text_colored(PALETTE.muted, "What the registers take and keep shows once you have predicted.")
        else:
            imgui.text(f"A marked token takes {model.taken(p['delta_mark']):.0%} of its register; each noise token "
                       f"{model.taken(p['delta_noise']):.2%}.")
            imgui.text(f"After the burst of {p['burst']} noise tokens the last marked token keeps "
                       f"e^(−{p['burst']}·{p['delta_noise']:.3g}) = {model.kept_after_burst:.0%} of its share.")
            arrived = np.flatnonzero(model.marks[:t] == r)
            imgui.text_colored(PALETTE.muted, (
                f"Register {r + 1} now: {model.shares(r)[0][arrived[0]]:.0%} is its marked token (value "
                f"{model.targets[r]}), it reads as {model.decoded_selective[t - 1, r]}.") if len(arrived) else
                f"Register {r + 1}'s marked token has not arrived yet.")
            selective, lti = model.score
            imgui.text_colored(PALETTE.good if selective == 1 else PALETTE.bad,
                               f"This stream: selective copies {selective:.0%} of the tokens, LTI {lti:.0%}.")
        imgui.pop_text_wrap_pos()

    def plots(self) -> None:
        n, levels, current = self._tree_state()
        shown = lambda: not self.challenge.hide_answers  # noqa: E731
        streams, selective, lti = (values[-SCORED_STREAMS:] for values in stream_scores(self.run))
        plot_strip(self.context, [
            Plot("tokens copied, per stream", lambda run: self._scores(streams, selective, lti), x_label="stream",
                 x_limits=(streams[0] - 0.6, streams[0] + max(len(streams), 4) - 0.4), y_limits=(0.0, 1.15),
                 legend_above=True, weight=0.85, when=shown),
            Plot(f"h_t: tree after round {current}{f' of {len(levels)}' if shown() else ''} vs the loop###tree",
                 self._tree_values, x_label="t", y_label="h_t", legend_above=True, weight=1.2),
            Plot(f"rounds vs N (N = {n}: {len(levels)})###depth", self._depth, x_label="N", y_label="rounds",
                 x_log=True, y_log=True, legend_above=True, when=shown)])

    def _scores(self, streams, selective, lti) -> None:
        latest = self.run.latest()
        implot.setup_axis_ticks(implot.ImAxis_.x1.value, [float(s) for s in streams[:: max(1, len(streams) // 6)]])
        implot.setup_axis_ticks(implot.ImAxis_.y1.value, [0.0, 0.5, 1.0], ["0", "50%", "100%"])
        implot.plot_bars(f"selective {latest['mean_selective_accuracy']:.0%}", streams - 0.2, selective, 0.38,
                         implot.Spec(fill_color=SELECTIVE))
        implot.plot_bars(f"LTI {latest['mean_lti_accuracy']:.0%}", streams + 0.2, lti, 0.38,
                         implot.Spec(fill_color=LTI))

    def _tree_values(self, run) -> None:
        n, levels, current = self._tree_state()
        partial, positions = self.model.tree_b if current == 0 else levels[current - 1].b, np.arange(n, dtype=float)
        line("loop", positions, self.model.tree_sequential, LOOP, 3.0)
        line("tree", positions, partial, EDGE_NOW, 1.5)
        if n <= 256:
            scatter("tree", positions, partial, EDGE_NOW, 2.5, legend=False)

    def _depth(self, run) -> None:
        n, levels, _ = self._tree_state()
        sizes, depths = self.model.depth_table(self.ranges["tree_n"][1])
        line("loop", sizes, sizes - 1, LOOP, 1.0)
        line("Brent-Kung", sizes, depths["work_efficient"], PALETTE.sky, 1.5)
        line("Hillis-Steele", sizes, depths["step_efficient"], PALETTE.vermillion, 1.5)
        scatter("now", [n], [len(levels)], EDGE_NOW, 5.0, legend=False)
