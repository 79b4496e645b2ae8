"""The selective scan's view: the copying game above, the parallel scan tree below.

The game: the stream of tokens (each value its own colour, marked tokens bright and numbered by
the register they belong to, the future faint), the gates Δ(x_t) as bars on a log scale (drag
one to set the step for marked or for noise tokens; the LTI model's steps are the dashed lines),
and what one register holds: the share of every token in its state, selective above the axis,
LTI below. On the right, both models' registers with the value each reads as.

The tree: the recurrence h_t = a_t h_{t−1} + b_t over tree_n pairs as the rounds of a parallel
scan, the current round's combines highlighted, against the sequential loop, which has done
one step for each round the tree has done.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.ui.widgets import BAD, GOOD, MUTED
from sandbox.view import View
from sim.scan import tree_depth

from .model import NOISE, token_weights

# World layout: the stream spans x in [0, WIDTH] whatever its length; rows stack downward.
WIDTH = 100.0
STREAM = (68.0, 72.0)  # y range of the token cells
GATES = (50.0, 62.0)  # y range of the gate bars (log10 Δ from GATE_LOG_RANGE)
SHARES_BASE, SHARES_HEIGHT = 36.0, 8.0  # the share bars: selective up from the base, LTI down
TREE = (-6.0, 14.0)  # y range of the scan tree's rows
LOOP_Y = -12.0  # the sequential loop's chain
REGISTERS_X = 108.0  # left edge of the register grids
REGISTERS_WIDTH = 26.0
REGISTER_GRIDS = {"selective": (54.0, 72.0), "LTI": (27.0, 45.0)}  # y ranges of the two grids
SHARE_TICKS = (0.1, 0.5, 1.0)  # grid lines of the share bars (square-root scale)
BOUNDS = (-9.0, -17.0, 146.0, 82.0)  # what the camera frames: every row, the registers and the labels
GATE_LOG_RANGE = (-4.0, 1.0)  # log10 Δ at the bottom and the top of the gate strip
CHUNK_VERTICES = 2048  # the painter's vertex stream holds 64 KB: bigger batches go in chunks
SCORED_STREAMS = 12  # the score plot shows the latest streams
TREE_NODES_MAX = 128  # larger trees are drawn as edges only
TREE_VERTICALS_MAX = 256
TREE_ALL_EDGES_MAX = 8192  # beyond this many combines only the current round is drawn

SELECTIVE = (0.45, 0.85, 0.5, 1.0)
LTI = (1.0, 0.6, 0.3, 1.0)
FRAME = (0.4, 0.44, 0.5, 0.8)
TEXT = (0.88, 0.9, 0.94, 1.0)
TEXT_MUTED = (0.6, 0.64, 0.7, 1.0)
PLAYHEAD = (1.0, 1.0, 1.0, 0.7)
EDGE = (0.55, 0.62, 0.72, 0.35)
EDGE_NOW = (1.0, 0.85, 0.3, 1.0)
TREE_NAMES = {"work_efficient": "work-efficient (Brent-Kung)", "step_efficient": "step-efficient (Hillis-Steele)"}
GOOD_RGBA = (GOOD.x, GOOD.y, GOOD.z, GOOD.w)
BAD_RGBA = (BAD.x, BAD.y, BAD.z, BAD.w)


def value_colors(vocab: int) -> np.ndarray:
    """A distinct hue per token value, ``(vocab, 4)``."""
    return np.array([(*colorsys.hsv_to_rgb(i / vocab, 0.65, 0.95), 1.0) for i in range(vocab)], np.float32)


def diverging(values: np.ndarray) -> np.ndarray:
    """Signed values in [-1, 1] to colours: blue below zero, dark at zero, orange above."""
    v = np.clip(np.nan_to_num(values), -1.0, 1.0)[:, None]
    zero, positive, negative = np.array([0.25, 0.27, 0.3]), np.array([1.0, 0.62, 0.22]), np.array([0.3, 0.65, 1.0])
    rgb = zero + np.sqrt(np.abs(v)) * (np.where(v >= 0, positive, negative) - zero)
    return np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1).astype(np.float32)


def gate_height(delta) -> np.ndarray:
    """Bar top (world y) of a gate Δ on the strip's log scale."""
    low, high = GATE_LOG_RANGE
    fraction = (np.log10(np.maximum(delta, 1e-12)) - low) / (high - low)
    return GATES[0] + np.clip(fraction, 0.0, 1.0) * (GATES[1] - GATES[0])


def share_height(share) -> np.ndarray:
    """Bar length of a share on a square-root scale: the LTI model's small, spread-out shares
    stay visible next to a selective register's single share near 1."""
    return SHARES_HEIGHT * np.sqrt(np.clip(np.nan_to_num(share), 0.0, 1.0))


def gate_at(y: float) -> float:
    """The Δ whose bar reaches world height ``y`` (inverse of :func:`gate_height`)."""
    low, high = GATE_LOG_RANGE
    fraction = (y - GATES[0]) / (GATES[1] - GATES[0])
    return float(10 ** (low + np.clip(fraction, 0.0, 1.0) * (high - low)))


def _finite(values) -> np.ndarray:
    """A contiguous float64 copy with NaN for inf (implot wants 1-D contiguous arrays)."""
    values = np.asarray(values, dtype=np.float64)
    return np.ascontiguousarray(np.where(np.isfinite(values), values, np.nan))


class ScanView(View):
    camera = "2d"
    math = [
        (r"h_t = a_t\, h_{t-1} + (1 - a_t)\, e(x_t)",
         "each register channel: zero-order hold of h' = −h + e(x), with e(x) one-hot over the vocabulary"),
        (r"a_t = e^{-\Delta_t}", "large Δ_t: take the token, forget the state; small Δ_t: keep the state"),
        (r"\Delta_t = \Delta(x_t)", "selective: the step reads the token (Mamba: softplus of a projection)"),
        (r"\Delta_t = \Delta", "LTI: one step for every token, whatever it is"),
        (r"(1 - a_s)\, a_{s+1}\, a_{s+2} \cdots a_t", "the share of token s in the state at time t"),
        (r"e^{-M\Delta}", "what a marked token keeps after M noise tokens of step Δ"),
        (r"(a_1, b_1) \circ (a_2, b_2) = (a_1 a_2,\ a_2 b_1 + b_2)",
         "composing two steps of h_t = a_t h_t−1 + b_t: associative, so any grouping gives the same h"),
        (r"2 \lceil \log_2 N \rceil - 1 \ \mathrm{rounds}, \quad < 2N \ \mathrm{combines}",
         "the work-efficient (Brent-Kung) tree: up-sweep then down-sweep"),
        (r"\lceil \log_2 N \rceil \ \mathrm{rounds}, \quad \approx N \log_2 N \ \mathrm{combines}",
         "the step-efficient (Hillis-Steele) tree; the sequential loop takes N − 1 steps"),
    ]

    def __init__(self, host):
        super().__init__(host)
        self._register = 0  # the register whose shares are drawn (the learner picks it in the panel)
        self._dragging: str | None = None  # "delta_mark" or "delta_noise" while a gate bar is dragged
        self._depth_table = None
        self._aspect = None  # the scene's shape the camera was framed for

    def make_camera(self):
        return Camera2D()

    @property
    def register(self) -> int:
        """The register whose shares are drawn, within the current number of registers."""
        return int(np.clip(self._register, 0, self.model.params["registers"] - 1))

    def _fit_camera(self, viewport) -> None:
        """Frame the game, the tree and their labels; again whenever the scene changes shape."""
        aspect = round(viewport[0] / max(viewport[1], 1), 2)
        if aspect == self._aspect:
            return
        x0, y0, x1, y1 = BOUNDS
        self.cam.home = ((0.5 * (x0 + x1), 0.5 * (y0 + y1)), max(0.5 * (y1 - y0), 0.5 * (x1 - x0) / aspect))
        self.cam.reset()
        self._aspect = aspect

    # -- drawing helpers -----------------------------------------------------------------------
    def _segments(self, frame, points, colors, thickness: float) -> None:
        """Separate segments (pairs of points), in chunks the painter's stream can hold."""
        colors = np.asarray(colors, dtype=np.float32)
        per_vertex = colors.ndim == 2
        for start in range(0, len(points), CHUNK_VERTICES):
            chunk = colors[start:start + CHUNK_VERTICES] if per_vertex else colors
            self.painter.lines(frame.mvp, points[start:start + CHUNK_VERTICES], chunk, thickness, frame.viewport,
                               strip=False)

    def _bars(self, frame, xs, y0, y1, colors, width_world: float) -> None:
        """Vertical bars (thick segments) centred on ``xs`` from ``y0`` to ``y1``."""
        xs = np.asarray(xs, np.float64)
        if len(xs) == 0:
            return
        y0 = np.broadcast_to(np.asarray(y0, np.float64), xs.shape)
        y1 = np.broadcast_to(np.asarray(y1, np.float64), xs.shape)
        points = np.stack([np.stack([xs, y0], 1), np.stack([xs, y1], 1)], 1).reshape(-1, 2)
        colors = np.asarray(colors, np.float32)
        if colors.ndim == 2:
            colors = np.repeat(colors, 2, axis=0)
        pixels = width_world * frame.viewport[1] / (2.0 * frame.camera.half_height)
        self._segments(frame, points, colors, max(1.0, pixels - 1.0))

    def _rect(self, frame, x0, y0, x1, y1, color, thickness: float = 1.0) -> None:
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])
        self.painter.lines(frame.mvp, corners, color, thickness, frame.viewport)

    def _token_x(self, count: int) -> np.ndarray:
        """Centres of ``count`` cells across the stream's width."""
        return (np.arange(count) + 0.5) * WIDTH / max(count, 1)

    # -- the scene -----------------------------------------------------------------------------
    def scene(self, frame) -> None:
        self._fit_camera(frame.viewport)
        self.ctx.disable(self.ctx.DEPTH_TEST)
        self._stream(frame)
        self._gates(frame)
        self._shares(frame)
        self._registers(frame)
        self._tree(frame)

    def _stream(self, frame) -> None:
        model = self.model
        length, t = len(model.values), int(model.position)
        xs = self._token_x(length)
        colors = value_colors(model.params["vocab"])[model.values].copy()
        marked = model.marks != NOISE
        colors[~marked, 3] = 0.4  # noise: the same colours, dimmer
        colors[t:, 3] *= 0.25  # the future has not arrived yet
        self._bars(frame, xs, STREAM[0], STREAM[1], colors, WIDTH / length)
        ticks = xs[:t][marked[:t]]  # the marks that have arrived
        if len(ticks):  # marked tokens get a white tick above them
            self._bars(frame, ticks, STREAM[1] + 0.4, STREAM[1] + 1.4, (1, 1, 1, 0.9), 0.6 * WIDTH / length)
        playhead = xs[t - 1] + 0.5 * WIDTH / length  # through the stream, the gates and the shares
        line = np.array([[playhead, SHARES_BASE - SHARES_HEIGHT - 1.0], [playhead, STREAM[1] + 2.0]])
        self.painter.lines(frame.mvp, line, PLAYHEAD, 1.5, frame.viewport)

    def _gates(self, frame) -> None:
        model = self.model
        length, t = len(model.values), int(model.position)
        xs = self._token_x(length)
        registers = model.params["registers"]
        # Each token's bar: its step for the register it is marked for, else the noise step.
        own = np.where(model.marks != NOISE, model.marks, 0)
        deltas = model.gates[np.arange(length), own]
        colors = np.tile(np.array(SELECTIVE, np.float32), (length, 1))
        colors[model.marks == NOISE, :3] *= 0.7
        colors[t:, 3] = 0.3
        self._bars(frame, xs, GATES[0], gate_height(deltas), colors, 0.7 * WIDTH / length)
        self._rect(frame, 0.0, GATES[0], WIDTH, GATES[1], FRAME)
        # The LTI steps: one dashed line per register, the same at every token.
        starts = np.arange(0.0, WIDTH, 2.0)
        dash = [p for delta in model.lti_gates[0, :registers] for x in starts
                for p in ([x, float(gate_height(delta))], [x + 1.0, float(gate_height(delta))])]
        self._segments(frame, np.array(dash), LTI, 1.5)

    def _shares(self, frame) -> None:
        model = self.model
        length, t = len(model.values), int(model.position)
        xs = self._token_x(length)[:t]
        r = self.register
        selective = model.weights_in_register(r, t - 1)
        lti = token_weights(np.exp(-model.lti_gates[:, r]), t - 1)
        target = model.marks[:t] == r
        sel_colors = np.tile(np.array(SELECTIVE, np.float32), (t, 1))
        lti_colors = np.tile(np.array(LTI, np.float32), (t, 1))
        sel_colors[~target, 3] = lti_colors[~target, 3] = 0.55
        width = 0.8 * WIDTH / length
        self._bars(frame, xs, SHARES_BASE, SHARES_BASE + share_height(selective), sel_colors, width)
        self._bars(frame, xs, SHARES_BASE, SHARES_BASE - share_height(lti), lti_colors, width)
        self.painter.lines(frame.mvp, np.array([[0.0, SHARES_BASE], [WIDTH, SHARES_BASE]]), FRAME, 1.0, frame.viewport)
        grid = [[[0.0, SHARES_BASE + side * h], [WIDTH, SHARES_BASE + side * h]]
                for side in (1.0, -1.0) for h in share_height(np.array(SHARE_TICKS))]
        self._segments(frame, np.array(grid).reshape(-1, 2), (*FRAME[:3], 0.3), 1.0)

    def _register_cell(self, r: int, v: int, grid: str) -> tuple[float, float, float, float]:
        """World rectangle of register r's channel v in one of the grids."""
        registers, vocab = self.model.params["registers"], self.model.params["vocab"]
        y0, y1 = REGISTER_GRIDS[grid]
        cell_w = REGISTERS_WIDTH / vocab
        cell_h = min((y1 - y0) / registers, 3.0 * cell_w)
        top = y1 - r * cell_h
        return (REGISTERS_X + v * cell_w, top - cell_h, REGISTERS_X + (v + 1) * cell_w, top)

    def _registers(self, frame) -> None:
        model = self.model
        t = int(model.position)
        registers, vocab = model.params["registers"], model.params["vocab"]
        palette = value_colors(vocab)
        for grid, states, decoded in (("selective", model.selective_states, model.decoded_selective),
                                      ("LTI", model.lti_states, model.decoded_lti)):
            state = states[t - 1]
            for r in range(registers):
                x0, y0, x1, y1 = self._register_cell(r, 0, grid)
                cell_w = x1 - x0
                xs = x0 + (np.arange(vocab) + 0.5) * cell_w
                colors = palette.copy()
                colors[:, 3] = 0.12 + 0.88 * np.clip(state[r], 0.0, 1.0)
                self._bars(frame, xs, y0 + 0.3, y1 - 0.3, colors, 0.9 * cell_w)
                best = int(decoded[t - 1, r])
                bx0, by0, bx1, by1 = self._register_cell(r, best, grid)
                self._rect(frame, bx0, by0, bx1, by1, (1, 1, 1, 0.9), 2.0)
                target = int(model.targets[r])
                tx0, ty0, tx1, _ = self._register_cell(r, target, grid)
                self.painter.points(frame.mvp, np.array([[0.5 * (tx0 + tx1), ty0 - 0.2]]), (1, 1, 1, 1), 6.0)
            _, bottom, _, _ = self._register_cell(registers - 1, 0, grid)
            self._rect(frame, REGISTERS_X, bottom, REGISTERS_X + REGISTERS_WIDTH, REGISTER_GRIDS[grid][1],
                       SELECTIVE if grid == "selective" else LTI, 1.5)

    def _tree_rows(self) -> np.ndarray:
        depth = len(self.model.tree_levels)
        return np.linspace(TREE[1], TREE[0], depth + 1)

    def _tree(self, frame) -> None:
        model = self.model
        n = len(model.tree_b)
        levels = model.tree_levels
        current = int(np.clip(model.tree_level, 0, len(levels)))
        xs = self._token_x(n)
        rows = self._tree_rows()
        crowded = sum(len(level.targets) for level in levels) > TREE_ALL_EDGES_MAX  # then only this round's edges
        if crowded:
            guides = np.array([[[xs[0], y], [xs[-1], y]] for y in rows]).reshape(-1, 2)  # one line per round
            self._segments(frame, guides, (*EDGE[:3], 0.25), 1.0)
        if n <= TREE_VERTICALS_MAX:  # a pair that is not combined passes straight down
            verticals = np.stack([np.stack([xs, np.full(n, TREE[1])], 1), np.stack([xs, np.full(n, TREE[0])], 1)],
                                 1).reshape(-1, 2)
            self._segments(frame, verticals, (*EDGE[:3], 0.18), 1.0)
        for r, level in enumerate(levels, start=1):
            if r != current and crowded:
                continue
            starts = np.stack([xs[level.sources], np.full(len(level.sources), rows[r - 1])], 1)
            ends = np.stack([xs[level.targets], np.full(len(level.targets), rows[r])], 1)
            points = np.stack([starts, ends], 1).reshape(-1, 2)
            if r == current:
                self._segments(frame, points, EDGE_NOW, 2.5)
            else:
                self._segments(frame, points, EDGE if r < current else (*EDGE[:3], 0.12), 1.2)
        if n <= TREE_NODES_MAX:
            scale = max(float(np.max(np.abs(model.tree_sequential))), 1e-12)
            for r in range(current + 1):
                values = model.tree_b if r == 0 else levels[r - 1].b
                nodes = np.stack([xs, np.full(n, rows[r])], 1)
                self.painter.points(frame.mvp, nodes, diverging(values / scale), 7.0 if n <= 32 else 4.0)
        # The sequential loop: one combine per tick, the same clock as the tree's rounds.
        done = min(current, n - 1)
        self.painter.lines(frame.mvp, np.array([[xs[0], LOOP_Y], [xs[-1], LOOP_Y]]), (*EDGE[:3], 0.4), 1.5,
                           frame.viewport)
        if done:
            self.painter.lines(frame.mvp, np.array([[xs[0], LOOP_Y], [xs[done], LOOP_Y]]), EDGE_NOW, 3.0,
                               frame.viewport)

    # -- labels --------------------------------------------------------------------------------
    def overlay(self, draw_list, origin, frame) -> None:
        """Labels over the scene (the host clips them to it)."""
        model = self.model
        line = imgui.get_font_size()
        length, t = len(model.values), int(model.position)
        xs = self._token_x(length)

        def text(point, words, color=TEXT, dx=0.0, dy=0.0, right=False):
            at = frame.to_overlay(point)
            shift = imgui.calc_text_size(words).x if right else 0.0
            draw_list.add_text(imgui.ImVec2(at.x + dx - shift, at.y + dy), imgui.get_color_u32(imgui.ImVec4(*color)),
                               words)

        text((0.0, STREAM[1] + 1.5), f"stream: token {t} of {length}; marked tokens numbered by their register",
             dy=-1.9 * line)
        for position in np.flatnonzero(model.marks != NOISE):
            if position < t:
                text((xs[position], STREAM[1] + 1.4), f"{model.marks[position] + 1}", dx=-4, dy=-1.05 * line)
        text((0.0, GATES[1]), "gate Δ(x_t), log scale: drag a bar", dy=-1.2 * line)
        text((WIDTH, GATES[1]), "dashed: LTI Δ", LTI, dy=-1.2 * line, right=True)
        for exponent in GATE_LOG_RANGE:
            text((0.0, float(gate_height(10.0 ** exponent))), f"{10.0 ** exponent:g}", TEXT_MUTED, dx=-4,
                 dy=-0.5 * line, right=True)
        r = self.register
        text((0.0, SHARES_BASE + SHARES_HEIGHT), f"what register {r + 1} holds: each token's share, selective",
             SELECTIVE, dy=-1.2 * line)
        text((0.0, SHARES_BASE - SHARES_HEIGHT), "LTI, the same state size (square-root scale)", LTI, dy=0.1 * line)
        for share in SHARE_TICKS:
            for side in (1.0, -1.0):
                text((0.0, SHARES_BASE + side * float(share_height(share))), f"{share:g}", TEXT_MUTED, dx=-4,
                     dy=-0.5 * line, right=True)
        self._register_labels(text, line, t)
        self._tree_labels(text, line)

    def _register_labels(self, text, line: float, t: int) -> None:
        model = self.model
        registers = model.params["registers"]
        for grid, decoded, color in (("selective", model.decoded_selective, SELECTIVE),
                                     ("LTI", model.decoded_lti, LTI)):
            _, _, _, top = self._register_cell(0, 0, grid)
            text((REGISTERS_X, top), f"{grid}: K×V state", color, dy=-1.2 * line)
            for r in range(registers):
                x0, y0, _, y1 = self._register_cell(r, 0, grid)
                text((x0, 0.5 * (y0 + y1)), f"{r + 1}", TEXT_MUTED, dx=-6, dy=-0.5 * line, right=True)
                arrived = np.any(model.marks[:t] == r)
                if not arrived:
                    continue
                right = int(decoded[t - 1, r]) == int(model.targets[r])
                text((REGISTERS_X + REGISTERS_WIDTH, 0.5 * (y0 + y1)), "✓" if right else "✗",
                     GOOD_RGBA if right else BAD_RGBA, dx=6, dy=-0.5 * line)
        _, bottom, _, _ = self._register_cell(registers - 1, 0, "LTI")
        text((REGISTERS_X, bottom), "outline: what it reads as", TEXT_MUTED, dy=0.3 * line)
        text((REGISTERS_X, bottom), "dot: the token to copy", TEXT_MUTED, dy=1.3 * line)

    def _tree_labels(self, text, line: float) -> None:
        model = self.model
        n = len(model.tree_b)
        levels = model.tree_levels
        current = int(np.clip(model.tree_level, 0, len(levels)))
        kind = TREE_NAMES[model.params["tree"]]
        text((0.0, TREE[1]), f"parallel scan of h_t = a_t h_t−1 + b_t over N = {n}: {kind} tree", dy=-2.4 * line)
        if current == 0:
            state = "the inputs (a_t, b_t)"
        else:
            level = levels[current - 1]
            phase = {"up": "up-sweep", "down": "down-sweep", "double": "doubling"}[level.phase]
            state = (f"round {current} of {len(levels)}: {phase}, stride {level.stride}, "
                     f"{len(level.targets)} combine{'s' if len(level.targets) > 1 else ''} at once")
            if current == len(levels):
                state += f"; done: |tree − loop| = {self.run.latest()['scan_error']:.1e}"
        text((0.0, TREE[1]), state, GOOD_RGBA if current == len(levels) else EDGE_NOW, dy=-1.3 * line)
        done = min(current, n - 1)
        text((0.0, LOOP_Y), f"sequential loop: {done} of {n - 1} steps", TEXT, dy=0.4 * line)

    # -- input ---------------------------------------------------------------------------------
    def handle_input(self, frame) -> bool:
        """Drag a gate bar: a marked token's bar sets Δ for marked tokens, a noise bar Δ for noise."""
        inp = frame.input
        point = frame.camera.screen_to_world(inp.mouse, frame.viewport)
        if self._dragging is None:
            if not (inp.clicked and inp.hovered and not inp.shift) or self.host.challenges.playing:
                return False
            if not (0.0 <= point[0] <= WIDTH and GATES[0] <= point[1] <= GATES[1] + 1.0):
                return False
            token = int(np.clip(point[0] / WIDTH * len(self.model.values), 0, len(self.model.values) - 1))
            self._dragging = "delta_mark" if self.model.marks[token] != NOISE else "delta_noise"
        if not inp.left or self.host.challenges.playing:
            self._dragging = None
            return False
        param = self.host.manifest.params[self._dragging]
        self.run.set_param(self._dragging, float(np.clip(gate_at(point[1]), param.min, param.max)))
        return True

    # -- panel ---------------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        registers = model.params["registers"]
        imgui.separator()
        if registers > 1:
            _, shown = imgui.slider_int("register drawn", self.register + 1, 1, registers)
            self._register = shown - 1
        r = self.register
        t = int(model.position)
        burst = model.params["burst"]
        mark, noise = model.params["delta_mark"], model.params["delta_noise"]
        imgui.push_text_wrap_pos(0.0)
        imgui.text(f"A marked token takes {1 - math.exp(-mark):.0%} of its register; each noise token "
                   f"{1 - math.exp(-noise):.2%}.")
        imgui.text(f"After the burst of {burst} noise tokens the last marked token keeps "
                   f"e^(−{burst}·{noise:.3g}) = {math.exp(-burst * noise):.0%} of its share.")
        arrived = np.flatnonzero(model.marks[:t] == r)
        if len(arrived):
            share = float(model.weights_in_register(r, t - 1)[arrived[0]])
            imgui.text_colored(MUTED, f"Register {r + 1} now: {share:.0%} is its marked token (value "
                                      f"{model.targets[r]}), it reads as {model.decoded_selective[t - 1, r]}.")
        else:
            imgui.text_colored(MUTED, f"Register {r + 1}'s marked token has not arrived yet.")
        sel, lti = model.scores[model.round]
        imgui.text_colored(GOOD if sel == 1 else BAD, f"This stream: selective copies {sel:.0%} of the tokens, "
                                                      f"LTI {lti:.0%}.")
        imgui.pop_text_wrap_pos()

    # -- plots ---------------------------------------------------------------------------------
    def plots(self) -> None:
        ratios = implot.SubplotsRowColRatios([1.0], [0.85, 1.2, 1.0])
        if not implot.begin_subplots("##scan", 1, 3, imgui.ImVec2(-1, -1), row_col_ratios=ratios):
            return
        self._scores_plot()
        self._tree_values_plot()
        self._depth_plot()
        implot.end_subplots()

    def _scores_plot(self) -> None:
        every = np.asarray(self.model.scores, dtype=np.float64).reshape(-1, 2)
        scores = every[-SCORED_STREAMS:]
        first = len(every) - len(scores) + 1
        means = every.mean(axis=0)
        if not implot.begin_plot("tokens copied, per stream###scores"):
            return
        implot.setup_axes("stream", "", 0, 0)
        implot.setup_axis_limits(implot.ImAxis_.x1.value, first - 0.6, first + max(len(scores), 4) - 0.4,
                                 implot.Cond_.always.value)
        implot.setup_axis_limits(implot.ImAxis_.y1.value, 0.0, 2.0, implot.Cond_.always.value)
        streams = np.arange(first, first + len(scores), dtype=np.float64)
        implot.setup_axis_ticks(implot.ImAxis_.x1.value, [float(s) for s in streams[:: max(1, len(streams) // 6)]])
        implot.setup_axis_ticks(implot.ImAxis_.y1.value, [0.0, 0.5, 1.0], ["0", "50%", "100%"])
        implot.setup_legend(implot.Location_.north_east.value)
        implot.plot_bars(f"selective {means[0]:.0%}", streams - 0.2, _finite(scores[:, 0]), 0.38,
                         implot.Spec(fill_color=imgui.ImVec4(*SELECTIVE)))
        implot.plot_bars(f"LTI {means[1]:.0%}", streams + 0.2, _finite(scores[:, 1]), 0.38,
                         implot.Spec(fill_color=imgui.ImVec4(*LTI)))
        implot.end_plot()

    def _tree_values_plot(self) -> None:
        model = self.model
        levels = model.tree_levels
        current = int(np.clip(model.tree_level, 0, len(levels)))
        partial = model.tree_b if current == 0 else levels[current - 1].b
        if not implot.begin_plot(f"h_t: tree after round {current} of {len(levels)} vs the loop###tree"):
            return
        fit = implot.AxisFlags_.auto_fit.value
        implot.setup_axes("t", "h_t", fit, fit)
        implot.setup_legend(implot.Location_.north_west.value, implot.LegendFlags_.horizontal.value)
        positions = np.arange(len(partial), dtype=np.float64)
        implot.plot_line("loop", positions, _finite(model.tree_sequential),
                         implot.Spec(line_color=imgui.ImVec4(0.9, 0.9, 0.95, 0.7), line_weight=3.0))
        marker = implot.Marker_.circle.value if len(partial) <= 256 else implot.Marker_.none.value
        implot.plot_line("tree", positions, _finite(partial),
                         implot.Spec(line_color=imgui.ImVec4(*EDGE_NOW), line_weight=1.5, marker=marker,
                                     marker_size=2.5))
        implot.end_plot()

    def _depth_plot(self) -> None:
        model = self.model
        n, depth = len(model.tree_b), len(model.tree_levels)
        if self._depth_table is None:  # both trees' rounds for N = 2, 4, ... up to the slider's end
            top = int(math.log2(self.host.manifest.params["tree_n"].max))
            sizes = 2 ** np.arange(1, top + 1)
            self._depth_table = (sizes.astype(np.float64),
                                 {kind: np.array([tree_depth(int(s), kind) for s in sizes], np.float64)
                                  for kind in TREE_NAMES})
        sizes, depths = self._depth_table
        if not implot.begin_plot(f"rounds vs N (N = {n}: {depth})###depth"):
            return
        fit = implot.AxisFlags_.auto_fit.value
        implot.setup_axes("N", "rounds", fit, fit)
        implot.setup_axis_scale(implot.ImAxis_.x1.value, implot.Scale_.log10.value)
        implot.setup_axis_scale(implot.ImAxis_.y1.value, implot.Scale_.log10.value)
        implot.setup_legend(implot.Location_.north_west.value)
        implot.plot_line("loop", sizes, sizes - 1, implot.Spec(line_color=imgui.ImVec4(0.9, 0.9, 0.95, 0.7)))
        implot.plot_line("Brent-Kung", sizes, depths["work_efficient"],
                         implot.Spec(line_color=imgui.ImVec4(*SELECTIVE)))
        implot.plot_line("Hillis-Steele", sizes, depths["step_efficient"], implot.Spec(line_color=imgui.ImVec4(*LTI)))
        implot.plot_scatter("##now", np.array([n], np.float64), np.array([depth], np.float64),
                            implot.Spec(marker=implot.Marker_.circle.value, marker_size=5,
                                        line_color=imgui.ImVec4(*EDGE_NOW), marker_fill_color=imgui.ImVec4(*EDGE_NOW)))
        implot.end_plot()

