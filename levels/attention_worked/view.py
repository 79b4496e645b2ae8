"""Attention by hand, drawn. Left, above: the queries and keys as arrows in the plane (drag any tip),
or, for random vectors with d coordinates, every score on a line per row. Left, below: the values,
the outputs o = Σ w v inside their triangle, and where attention applied again and again takes
them (πV). Right: the worked table: the attention matrix, one row by hand (q·k, ÷√d, exp, ÷Σ, the
output), and the arithmetic behind the number last clicked. Plots: A's eigenvalues against the
unit circle, the rows of Aᵗ closing in on π at the rate |λ₂|ᵗ, and how sharp a row is against d
with and without the 1/√d. While a prediction is open, everything computed after the scores is
hidden."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.kit import PALETTE, Plot, hline, line, plot_strip, scatter, vlines
from sandbox.view import Pane, View

from .attention import MAX_DEPTH, TOKENS
from .model import SEED_MATRICES, VECTOR_PARAMS
from .table import Block, hit, place

TOKEN_COLORS = (PALETTE.orange, PALETTE.sky, PALETTE.green)
SUB = "₀₁₂"
ACCENT, MUTED, HIDDEN = PALETTE.yellow, PALETTE.muted, "?"
PICK_PIXELS = 14.0  # how close (window units) a press must be to a tip to grab it
DRAG_INTERVAL_S = 0.05  # a dragged vector is sent to the model at most this often
VECTOR_LIMIT = 2.0  # the parameters' range: a dragged tip stays inside ±this
TABLE_EMS = 21.0  # the width the worked table wants, in font sizes
LEFT_SHARE = (0.2, 0.42)  # the left column's share of the scene: at least, at most
TITLE_LINES = 2.5  # room above each plane for its two title lines, in font sizes
NUMBER_CELLS = ("dot", "score", "exp", "sum", "weight", "weightsum", "Asum")  # the table's numbers, on plates


@dataclass
class Selection:
    """The number of the table last clicked: its ``stage`` (dot, score, exp, sum, weight, rowsum or
    output), the row ``i`` (the query's token) and the column ``j`` (the key's token)."""

    stage: str = "weight"
    i: int = 0
    j: int = 1


def fmt(x: float, digits: int = 3) -> str:
    """A number of the table: ``digits`` decimals below 10, one fewer for each further digit before the
    point, significant digits past 1000 (a narrow table asks for fewer)."""
    size = abs(x)
    if size >= 1000:
        return f"{x:.{digits + 1}g}"
    places = digits - (2 if size >= 100 else 1 if size >= 10 else 0)
    return f"{x:.{max(places, 0)}f}"


def arrow_segments(tips: np.ndarray, head: float) -> np.ndarray:
    """Segments of arrows from the origin to each tip, with heads ``head`` long (world units) or
    a third of the arrow when it is shorter."""
    segments = []
    for tip in np.asarray(tips, np.float64):
        length = float(np.hypot(*tip))
        segments += [(0.0, 0.0), tuple(tip)]
        if length > 1e-9:
            unit, size = tip / length, min(head, length / 3)
            normal = np.array([-unit[1], unit[0]])
            segments += [tuple(tip), tuple(tip - size * (unit - 0.5 * normal)),
                         tuple(tip), tuple(tip - size * (unit + 0.5 * normal))]
    return np.array(segments, np.float64).reshape(-1, 2)


def rounded_box(points: np.ndarray, floor: tuple[float, float, float, float], pad: float,
                step: float = 0.25) -> tuple[float, float, float, float]:
    """The box (x0, x1, y0, y1) around ``points`` and the ``floor`` box, ``pad`` to spare, on a
    ``step`` grid so that small moves do not refit the camera."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    x0 = min(floor[0], float(points[:, 0].min()) - pad)
    x1 = max(floor[1], float(points[:, 0].max()) + pad)
    y0 = min(floor[2], float(points[:, 1].min()) - pad)
    y1 = max(floor[3], float(points[:, 1].max()) + pad)
    return (math.floor(x0 / step) * step, math.ceil(x1 / step) * step,
            math.floor(y0 / step) * step, math.ceil(y1 / step) * step)


class AttentionView(View):
    camera = "2d"
    controls = (("drag the tip of a q, k or v", "moves that vector; every number follows"),
                ("click a number in the table", "shows the arithmetic it came from, back to the dot product"),
                ("click a token's name (or the row's title)", "works that token's row by hand"))

    def __init__(self, context):
        super().__init__(context)
        self.values_cam, self.table_cam = Camera2D(), Camera2D()
        self.selection = Selection()
        self.left_share = LEFT_SHARE[1]
        self._fitted: dict[str, tuple] = {}
        self._drag: tuple[str, int] | None = None  # (matrix, token) whose tip is held
        self._drag_pane = ""  # the plane it is held in
        self._frozen: dict[str, tuple] = {}  # a plane's box while a tip is dragged in it
        self._pending: tuple[str, int, float, float] | None = None
        self._sent_at = -math.inf
        self._cells: list = []  # the table as last drawn (pane units), for clicks
        self._shown: list[str] = []  # the names of its blocks that fit
        self._spectrum_aspect = 1.6

    # -- layout --------------------------------------------------------------------------------

    def panes(self):
        left = self.left_share
        return [Pane("vectors", self.cam, (0.0, 0.0, left, 0.5)),
                Pane("values", self.values_cam, (0.0, 0.5, left, 0.5)),
                Pane("table", self.table_cam, (left, 0.0, 1.0 - left, 1.0))]

    def _adapt_share(self, frame) -> None:
        """Give the table the width it wants (TABLE_EMS font sizes) within LEFT_SHARE: at a large UI
        scale the planes narrow, the numbers stay whole."""
        scene = frame.size[0] / max(1.0 - self.left_share, 1e-6)
        share = float(np.clip(1.0 - TABLE_EMS * imgui.get_font_size() / max(scene, 1.0), *LEFT_SHARE))
        if abs(share - self.left_share) > 0.01:
            self.left_share = share
            self.context.request_frames(2)

    def _plane_box(self, pane: str) -> tuple[float, float, float, float]:
        """The world box a plane shows: every tip (or score) with room, fixed while a tip is held."""
        if self._drag is not None and pane in self._frozen:
            return self._frozen[pane]
        model = self.model
        if pane == "vectors":
            if not model.example:
                box = (-1.75, 1.75, -0.7, 2.7)  # the score lanes, in their own units (see _lane_x)
            else:
                box = rounded_box(np.vstack([model.worked.queries, model.worked.keys, [[0.0, 0.0]]]),
                                  (-0.25, 1.25, -0.25, 1.25), 0.2)
        else:
            w = model.worked
            box = rounded_box(np.vstack([w.values, model.trails.reshape(-1, 2), [[0.0, 0.0]]]),
                              (-0.25, 1.25, -0.25, 1.25), 0.25)
        self._frozen[pane] = box
        return box

    def _fit(self, frame) -> None:
        """Frame a plane's box in its pane, with room above for the title lines."""
        if frame.pane == "table":
            return
        font = imgui.get_font_size()
        box = self._plane_box(frame.pane)
        key = (round(frame.size[0]), round(frame.size[1]), font, box)
        if self._fitted.get(frame.pane) == key:
            return
        self._fitted[frame.pane] = key
        x0, x1, y0, y1 = box
        w, h = frame.size
        side, top = 0.6 * font, self._title_lines(frame) * font
        scale = max((x1 - x0) / max(w - 2 * side, 0.3 * w), (y1 - y0) / max(h - top - side, 0.3 * h))
        frame.camera.fit(x0 - side * scale, x1 + side * scale, y0 - side * scale, y1 + top * scale, 0.0, follow=True)
        self.context.request_frames(2)

    # -- what the selection touches ---------------------------------------------------------------

    def _lineage(self) -> set[tuple]:
        """The table's keys the selected number came from (and itself)."""
        s = self.selection
        i, j = s.i, s.j
        chains = {"dot": [("dot", j)], "score": [("dot", j), ("score", j)],
                  "exp": [("dot", j), ("score", j), ("exp", j)],
                  "sum": [("exp", 0), ("exp", 1), ("exp", 2), ("sum",)],
                  "weight": [("dot", j), ("score", j), ("exp", j), ("sum",), ("weight", j), ("A", i, j)],
                  "rowsum": [("A", i, 0), ("A", i, 1), ("A", i, 2), ("Asum", i)],
                  "output": [("weight", 0), ("weight", 1), ("weight", 2), ("output",)]}
        return set(chains.get(s.stage, []))

    def _keys_used(self) -> list[int]:
        """The keys (tokens j) the selected number depends on."""
        return [self.selection.j] if self.selection.stage in ("dot", "score", "exp", "weight") else [0, 1, 2]

    # -- input ---------------------------------------------------------------------------------

    def handle_input(self, frame) -> bool:
        """Drag a tip in the planes (its vector follows); click a number of the table."""
        self._fit(frame)
        inp = frame.input
        if frame.pane == "table":
            if inp.clicked and inp.hovered:
                cell = hit(self._cells, (inp.mouse[0] / frame.pixel_ratio, inp.mouse[1] / frame.pixel_ratio))
                if cell is not None:
                    self._select(cell.key)
            return inp.hovered  # the table stays put: no panning or zooming it
        if self._drag is None:
            if not (inp.clicked and inp.hovered and not inp.shift) or self.challenge.locked or not self.model.example:
                return False
            grabbed = self._tip_under(frame)
            if grabbed is None:
                return False
            self._drag, self._drag_pane = grabbed, frame.pane
            self._frozen[frame.pane] = self._plane_box(frame.pane)
            return True
        if frame.pane != self._drag_pane:  # the other plane: its camera stays still while a tip is held
            return True
        if inp.left:
            point = frame.mouse_world()
            if point is not None and np.all(np.isfinite(point)):
                x, y = (float(np.clip(c, -VECTOR_LIMIT, VECTOR_LIMIT)) for c in point)
                self._pending = (*self._drag, round(x, 3), round(y, 3))
            self._send()
            return True
        self._send(force=True)
        self._drag = None
        self._frozen.pop(frame.pane, None)
        return True

    def _tip_under(self, frame) -> tuple[str, int] | None:
        """The tip nearest the press, within PICK_PIXELS: queries before keys in the upper plane,
        values in the lower."""
        names = "qk" if frame.pane == "vectors" else "v"
        best, best_distance = None, PICK_PIXELS * frame.pixel_ratio
        for name in names:
            for i, tip in enumerate(self.model.matrix(name)):
                x, y = frame.camera.world_to_screen(tip, frame.viewport)
                distance = math.hypot(x - frame.input.mouse[0], y - frame.input.mouse[1])
                if distance < best_distance:
                    best, best_distance = (name, i), distance
        return best

    def _send(self, force: bool = False) -> None:
        """The dragged tip to the model, at most every DRAG_INTERVAL_S (each solves the head again)."""
        if self._pending is None or not (force or self.context.time - self._sent_at >= DRAG_INTERVAL_S):
            return
        name, i, x, y = self._pending
        self.context.set_param(VECTOR_PARAMS[(name, i, 0)], x)
        self.context.set_param(VECTOR_PARAMS[(name, i, 1)], y)
        self._sent_at, self._pending = self.context.time, None

    def _select(self, key: tuple) -> None:
        s = self.selection
        kind = key[0]
        if kind == "A":
            self.selection = Selection("weight", key[1], key[2])
        elif kind == "Arow":
            self.selection = Selection(s.stage, key[1], s.j)
        elif kind == "Asum":
            self.selection = Selection("rowsum", key[1], s.j)
        elif kind == "wtitle":
            self.selection = Selection(s.stage, (s.i + 1) % 3, s.j)
        elif kind in ("dot", "score", "exp", "weight"):
            self.selection = Selection(kind, s.i, key[1])
        elif kind in ("sum", "output"):
            self.selection = Selection(kind, s.i, s.j)
        elif kind == "header":
            self.selection = Selection(s.stage if s.stage in ("dot", "score", "exp", "weight") else "weight", s.i,
                                       key[1])

    def on_reset(self) -> None:
        self._drag, self._pending = None, None
        self._frozen.clear()
        self._fitted.clear()

    # -- the planes ----------------------------------------------------------------------------

    def scene(self, frame) -> None:
        self._fit(frame)
        self.gl.disable(self.gl.DEPTH_TEST)
        if frame.pane == "vectors":
            self._queries_and_keys(frame) if self.model.example else self._score_lanes(frame)
        elif frame.pane == "values":
            self._values(frame)
        else:
            self._table_scene(frame)

    def _axes(self, frame) -> None:
        x0, x1, y0, y1 = self._plane_box(frame.pane)
        grid = [[(x, y0), (x, y1)] for x in np.arange(math.ceil(x0 * 2) / 2, x1 + 1e-9, 0.5) if abs(x) > 1e-9]
        grid += [[(x0, y), (x1, y)] for y in np.arange(math.ceil(y0 * 2) / 2, y1 + 1e-9, 0.5) if abs(y) > 1e-9]
        if grid:
            self.lines(frame, grid, PALETTE.grid.alpha(0.25))
        self.lines(frame, [[(x0, 0.0), (x1, 0.0)], [(0.0, y0), (0.0, y1)]], PALETTE.grid, 1.5)

    def _head(self, frame) -> float:
        return 0.9 * imgui.get_font_size() * frame.world_per_pixel()

    def _queries_and_keys(self, frame) -> None:
        w, s = self.model.worked, self.selection
        self._axes(frame)
        keys_used = self._keys_used()
        head = self._head(frame)
        for j in range(3):
            strong = j in keys_used
            color = TOKEN_COLORS[j].alpha(0.9 if strong else 0.35)
            self.lines(frame, arrow_segments(w.keys[j:j + 1], 0.8 * head), color, 2.0 if strong else 1.2)
        for i in range(3):
            strong = i == s.i
            color = TOKEN_COLORS[i].alpha(1.0 if strong else 0.35)
            self.lines(frame, arrow_segments(w.queries[i:i + 1], head), color, 4.0 if strong else 2.0)
        q = w.queries[s.i]
        if len(keys_used) == 1 and np.hypot(*q) > 1e-9:  # q·k = |q| × (k's shadow on q's line)
            k = w.keys[keys_used[0]]
            foot = q * (q @ k) / (q @ q)
            self.lines(frame, [[tuple(k), tuple(foot)]], PALETTE.white.alpha(0.6), 1.5)
            self.lines(frame, [[(0.0, 0.0), tuple(foot)]], ACCENT.alpha(0.8), 7.0)
        self.dots(frame, w.keys, [c.lighter(0.3) for c in TOKEN_COLORS], 9.0)
        self.dots(frame, w.queries, list(TOKEN_COLORS), 13.0)

    def _lane_x(self, scores: np.ndarray, reach: float) -> np.ndarray:
        """Scores on the lanes' axis: ±reach maps to ±1.5 world units."""
        return 1.5 * np.asarray(scores) / reach

    def _reach(self) -> float:
        return max(3.0, 1.1 * float(np.max(np.abs(self.model.worked.scores))))

    def _score_lanes(self, frame) -> None:
        """Random vectors: each row's three scores on a line of its own, the band ±1 shaded."""
        w, reach = self.model.worked, self._reach()
        band = self._lane_x(1.0, reach)
        self.rects(frame, (-band, band, -0.5, 2.5), PALETTE.green.alpha(0.15))
        self.lines(frame, [[(-1.5, 2 - i), (1.5, 2 - i)] for i in range(3)], PALETTE.grid.alpha(0.6))
        self.lines(frame, [[(0.0, -0.5), (0.0, 2.5)]], PALETTE.grid, 1.5)
        for i in range(3):
            for j in range(3):
                size = 7.0 + (0.0 if self.challenge.hide_answers else 14.0 * w.weights[i, j])
                self.dots(frame, [(float(self._lane_x(w.scores[i, j], reach)), 2.0 - i)], TOKEN_COLORS[j], size)

    def _values(self, frame) -> None:
        model, w = self.model, self.model.worked
        self._axes(frame)
        triangle = np.vstack([w.values, w.values[:1]])
        self.lines(frame, triangle, PALETTE.white.alpha(0.3), 1.5, strip=True)
        if model.example:
            self.lines(frame, arrow_segments(w.values, 0.8 * self._head(frame)), PALETTE.white.alpha(0.25), 1.2)
        self.dots(frame, w.values, list(TOKEN_COLORS), 12.0)
        if self.challenge.hide_answers:
            return
        depth = model.depth
        if depth > 1:  # one layer's outputs (the table's) stay as rings where the trails start
            self.painter.points(frame.mvp, model.trails[0], list(TOKEN_COLORS), 12.0)
            self.painter.points(frame.mvp, model.trails[0], PALETTE.shadow, 7.0)
        for i in range(3):
            trail = model.trails[:depth, i]
            if depth > 1:
                self.lines(frame, trail, TOKEN_COLORS[i].alpha(0.6), 1.5, strip=True)
        if depth > 1 and model.spectrum.unique:
            self.painter.points(frame.mvp, [model.spectrum.stationary @ w.values], PALETTE.white, 9.0)
        outputs = model.trails[depth - 1]
        self.painter.points(frame.mvp, outputs, PALETTE.shadow, 17.0)
        self.painter.points(frame.mvp, outputs, PALETTE.white, 13.0)
        self.painter.points(frame.mvp, outputs, list(TOKEN_COLORS), 8.0)

    # -- text ----------------------------------------------------------------------------------

    def overlay(self, draw_list, frame) -> None:
        if frame.pane == "table":
            self._adapt_share(frame)
            return self._table(draw_list, frame)
        if frame.pane == "vectors":
            self._vectors_text(draw_list, frame)
        else:
            self._values_text(draw_list, frame)

    @staticmethod
    def _title_lines(frame) -> float:
        """Room above a plane for its title, in font sizes: two lines, or one in a short pane."""
        return TITLE_LINES if frame.size[1] > 9.0 * imgui.get_font_size() else 1.3

    def _title(self, draw_list, frame, lines: list[list[str]]) -> None:
        """Title lines centred at the top of a pane (the second only in a pane tall enough): each the
        longest of its wordings that fits."""
        width = frame.size[0]
        lines = lines if self._title_lines(frame) == TITLE_LINES else lines[:1]
        step = imgui.get_text_line_height() + 2.0
        for k, wordings in enumerate(lines):
            words = next((t for t in wordings if imgui.calc_text_size(t).x + 8.0 <= width), None)
            if words is None:
                continue
            x = 0.5 * (width - imgui.calc_text_size(words).x)
            frame.text(draw_list, (x, 4.0 + step * k), words, PALETTE.text if k == 0 else MUTED, plate=False)

    def _vectors_text(self, draw_list, frame) -> None:
        model, w, s = self.model, self.model.worked, self.selection
        if not model.example:
            return self._lanes_text(draw_list, frame)
        dot = f"q{SUB[s.i]}·k{SUB[s.j]} = {fmt(w.dots[s.i, s.j])}"
        self._title(draw_list, frame, [["queries q and keys k, d = 2", "queries and keys", "q and k"],
                                       ["drag any tip", "drag a tip"] if not self.challenge.locked else [dot]])
        keys_used = self._keys_used()
        items = [(w.queries[i], f"q{SUB[i]}", TOKEN_COLORS[i], 3.0 if i == s.i else 1.0) for i in range(3)]
        items += [(w.keys[j], f"k{SUB[j]}", TOKEN_COLORS[j].lighter(0.3), 2.0 if j in keys_used else 0.5)
                  for j in range(3)]
        frame.labels(draw_list, items, always=3.0)

    def _lanes_text(self, draw_list, frame) -> None:
        model = self.model
        divisor = "τ√d" if model.params["scaled"] else ("τ" if model.params["temperature"] != 1.0 else "1")
        self._title(draw_list, frame, [[f"scores q·k/{divisor}, d = {model.d}", f"scores, d = {model.d}", "scores"],
                                       ["one line per row; band: ±1", "band: ±1"]])
        reach, em = self._reach(), imgui.get_font_size()
        lanes = [frame.to_overlay((-1.5, 2.0 - i)) for i in range(3)]
        room = lanes[1].y - lanes[0].y if all(at is not None for at in lanes) else 0.0
        top = self._title_lines(frame) * em  # the title's lines end here
        for i, at in enumerate(lanes):  # each lane's name just above its left end, where there is room
            y = (at.y - frame.origin[1] - 1.3 * em) if at is not None else -1.0
            if room >= 1.5 * em and y >= top:
                frame.text(draw_list, (at.x - frame.origin[0], y), f"row {TOKENS[i]}", TOKEN_COLORS[i], plate=False)
        left, right = frame.to_overlay((-1.5, -0.5)), frame.to_overlay((1.5, -0.5))
        if left is None or right is None:
            return
        pixels_per_score = (right.x - left.x) / (2 * reach)
        for step in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):  # labels 2.5 em apart at least
            if step * pixels_per_score >= 2.5 * em:
                break
        for t in np.arange(-math.floor(reach / step) * step, reach + 1e-9, step):
            words = f"{t:g}"
            x = left.x - frame.origin[0] + (t + reach) * pixels_per_score - 0.5 * imgui.calc_text_size(words).x
            frame.text(draw_list, (x, left.y - frame.origin[1] + 2.0), words, MUTED, plate=False)

    def _values_text(self, draw_list, frame) -> None:
        model, w = self.model, self.model.worked
        hidden = self.challenge.hide_answers
        depth = model.depth
        second = ([f"after {depth} layers of the same A: Aᵗ V → πV", f"t = {depth}: Aᵗ V → πV", f"t = {depth}"]
                  if depth > 1 and not hidden else ["o = Σ w v: inside the triangle", "o = Σ w v"])
        self._title(draw_list, frame, [["values v and outputs o", "values, outputs", "v and o"], second])
        items = [(w.values[j], f"v{SUB[j]}", TOKEN_COLORS[j], 2.0) for j in range(3)]
        if not hidden:
            items += [(model.trails[depth - 1][i], f"o{SUB[i]}", TOKEN_COLORS[i].lighter(0.4), 3.0 if i == self.selection.i
                       else 1.0) for i in range(3)]
            if depth > 1 and model.spectrum.unique:
                items.append((model.spectrum.stationary @ w.values, "πV", PALETTE.white, 0.5))
        frame.labels(draw_list, items, always=3.0)

    # -- the worked table ------------------------------------------------------------------------

    def _divisor_label(self) -> str:
        model = self.model
        tau, d = model.params["temperature"], model.d
        if model.params["scaled"]:
            return f"÷ √{d}" if tau == 1.0 else f"÷ {tau:g}√{d}"
        return "÷ 1" if tau == 1.0 else f"÷ {tau:g}"

    def _softmax_title(self) -> str:
        model = self.model
        tau, d = model.params["temperature"], model.d
        if model.params["scaled"]:
            under = f"√{d}" if tau == 1.0 else f"{tau:g}√{d}"
        else:
            under = "" if tau == 1.0 else f"{tau:g}"
        return f"A = softmax(QKᵀ/{under})" if under else "A = softmax(QKᵀ)"

    def _blocks(self, derivation: list[tuple[str, ...]], digits: int = 3) -> list[Block]:
        """The table's blocks (see :mod:`.table`), its numbers with ``digits`` decimals."""
        w, s, hidden = self.model.worked, self.selection, self.challenge.hide_answers
        i = s.i

        def shown(value: float, secret: bool = True) -> str:
            return HIDDEN if secret and hidden else fmt(value, digits)

        shifted = w.shifts[i] != 0.0
        header = [[None] + [(("header", j), TOKENS[j]) for j in range(3)] + [(("header_sum",), "Σ")]]
        matrix = [[(("Arow", r), TOKENS[r])] + [(("A", r, j), shown(w.weights[r, j])) for j in range(3)]
                  + [(("Asum", r), shown(w.weights[r].sum()))] for r in range(3)]
        worked = [[(("label", "dot"), "q·k")] + [(("dot", j), fmt(w.dots[i, j], digits)) for j in range(3)] + [None],
                  [(("label", "score"), self._divisor_label())] + [(("score", j), fmt(w.scores[i, j], digits))
                                                                  for j in range(3)]
                  + [None],
                  [(("label", "exp"), "exp(s−max)" if shifted else "exp")] + [(("exp", j), shown(w.exps[i, j]))
                                                                             for j in range(3)]
                  + [(("sum",), shown(w.sums[i]))],
                  [(("label", "weight"), "÷ Σ")] + [(("weight", j), shown(w.weights[i, j])) for j in range(3)]
                  + [(("weightsum",), shown(w.weights[i].sum()))]]
        out = "(?, ?)" if hidden else f"({fmt(w.outputs[i, 0])}, {fmt(w.outputs[i, 1])})"
        blocks = [
            Block("mtitle", [(("mtitle",), (f"{self._softmax_title()}: click any number", self._softmax_title()))], 2.9),
            Block("header", header, 10.0),
            Block("matrix", matrix, 3.0),
            Block("wtitle", [(("wtitle",), (f"row {i}, “{TOKENS[i]}”, by hand (click: next row)",
                                             f"row {i}, “{TOKENS[i]}”, by hand", f"row “{TOKENS[i]}”"))], 4.0, gap=0.35),
            Block("worked", worked, 9.0),
            Block("output", [(("output",), f"o{SUB[i]} = Σ w v = {out}")], 6.0),
            Block("derivation", [(("derivation", k), text) for k, text in enumerate(derivation)], 5.0, gap=0.35),
        ]
        note = self._slip_note()
        if note:
            blocks.append(Block("note", [(("note",), note)], 4.5))
        return blocks

    def _slip_note(self) -> tuple[str, ...]:
        """Seed 002's rounding slip, said where its row is shown with its numbers."""
        if not self.model.is_seed_example() or self.selection.i != 0 or self.challenge.hide_answers:
            return ()
        return ("seed 002 prints 0.324 for cat: 1.699 / 5.255 = 0.3233", "seed 002 prints 0.324 for cat: it is 0.323",
                "seed 002's 0.324 is 0.323")

    def derivation(self) -> list[tuple[str, ...]]:
        """The arithmetic behind the selected number, a line per step back to the dot product it came
        from; each line as wordings, longest first."""
        model, w, s = self.model, self.model.worked, self.selection
        i, j = s.i, s.j
        if self.challenge.hide_answers and s.stage not in ("dot", "score"):
            return [("the weights and all that follows: hidden until the reveal", "hidden until the reveal")]
        q, k = w.queries[i], w.keys[j]
        qk = f"q{SUB[i]}·k{SUB[j]}"
        if model.d == 2:
            dot = (f"{fmt(w.dots[i, j])} = {qk} = {q[0]:.2f}×{k[0]:.2f} + {q[1]:.2f}×{k[1]:.2f}",
                   f"{qk} = {q[0]:.2f}×{k[0]:.2f} + {q[1]:.2f}×{k[1]:.2f}")
        else:
            dot = (f"{fmt(w.dots[i, j])} = {qk}, a sum of {model.d} products", f"{qk}: {model.d} products")
        score = (f"{fmt(w.scores[i, j])} = {qk} / {w.divisor:.4g} = {fmt(w.dots[i, j])} / {w.divisor:.4g}",
                 f"{fmt(w.scores[i, j])} = {fmt(w.dots[i, j])} / {w.divisor:.4g}")
        shift = w.shifts[i]
        power = f"e^{fmt(w.scores[i, j])}" if shift == 0 else f"e^({fmt(w.scores[i, j])} − {fmt(shift)})"
        exp = (f"{fmt(w.exps[i, j])} = {power}",)
        if s.stage == "dot":
            norms = float(np.linalg.norm(q) * np.linalg.norm(k))
            cosine = w.dots[i, j] / norms if norms > 0 else 0.0
            norm_q, norm_k = np.linalg.norm(q), np.linalg.norm(k)
            return [dot, (f"= |q{SUB[i]}| |k{SUB[j]}| cos θ = {norm_q:.3f} × {norm_k:.3f} × {cosine:.3f}",
                          f"= |q| |k| cos θ, cos θ = {cosine:.3f}")]
        if s.stage == "score":
            return [score, dot]
        if s.stage == "exp":
            return [exp, score, dot]
        if s.stage == "sum":
            terms = " + ".join(fmt(e) for e in w.exps[i])
            return [(f"Σ = {terms} = {fmt(w.sums[i])}", f"Σ = {fmt(w.sums[i])}"),
                    ("each weight is its exp over this Σ: the row sums to 1", "so the row sums to 1")]
        if s.stage == "weight":
            return [(f"A{SUB[i]}{SUB[j]} = e^s / Σ = {fmt(w.exps[i, j])} / {fmt(w.sums[i])} = {fmt(w.weights[i, j])}",
                     f"A{SUB[i]}{SUB[j]} = {fmt(w.exps[i, j])} / {fmt(w.sums[i])} = {fmt(w.weights[i, j])}"),
                    exp, score, dot]
        if s.stage == "rowsum":
            terms = " + ".join(fmt(a) for a in w.weights[i])
            error = abs(w.weights[i].sum() - 1.0)
            return [(f"{terms} = {fmt(w.weights[i].sum())}",), (f"exactly 1 up to rounding ({error:.0e})", "1 up to rounding")]
        terms = " + ".join(f"{fmt(a)}·v{SUB[r]}" for r, a in enumerate(w.weights[i]))
        out = f"({fmt(w.outputs[i, 0])}, {fmt(w.outputs[i, 1])})"
        return [(f"o{SUB[i]} = {terms}", f"o{SUB[i]} = Σ A{SUB[i]}ⱼ vⱼ"),
                (f"= {out}: a weighted average, inside the triangle of the v's", f"= {out}, inside the triangle")]

    def _layout_table(self, frame) -> None:
        """Place the table's cells for this pane (kept for the text, the clicks and the next frame)."""
        em = imgui.get_font_size()
        width, height = frame.size
        measure = lambda text: imgui.calc_text_size(text).x
        derivation = self.derivation()
        # the worked row first, with fewer decimals if it must; then as many steps back as fit beside
        # the attention matrix, or with no room for it, beside the rest
        for digits in (3, 2, 1):
            for needed in ({"worked", "matrix", "derivation"}, {"worked", "derivation"}, {"worked"}):
                for lines in range(len(derivation), 0, -1):  # the middle steps go first: the dot product stays
                    kept = derivation[:lines - 1] + derivation[-1:] if lines > 1 else derivation[:1]
                    cells, shown = place(self._blocks(kept, digits), width, height, em, measure)
                    if needed <= set(shown):
                        break
                if needed <= set(shown):
                    break
            if "worked" in shown:
                break
        self._cells, self._shown = cells, shown

    def _table_scene(self, frame) -> None:
        """The table's cells in GL (the atlas's picture shows them too): the attention matrix as heat,
        the selected number filled, the numbers it came from outlined. World units are the pane's
        window units, y pointing up."""
        width, height = frame.size
        frame.camera.fit(0.0, width, -height, 0.0, 0.0)
        self._layout_table(frame)
        lineage, selected = self._lineage(), self._selected_key()
        hidden, weights = self.challenge.hide_answers, self.model.worked.weights
        heat, fills, outlines = [], [], []
        for cell in self._cells:
            x0, y0, x1, y1 = cell.box
            box = (x0, x1, -(y1 - 1.0), -(y0 + 1.0))
            if cell.key[0] == "A" and not hidden:
                heat.append((box, PALETTE.sky.alpha(0.1 + 0.55 * float(weights[cell.key[1], cell.key[2]]))))
            elif cell.key[0] in NUMBER_CELLS:  # a faint plate: the table reads as one, in a picture too
                heat.append((box, PALETTE.grid.alpha(0.18)))
            if cell.key == selected:
                fills.append(box)
            if cell.key in lineage:
                outlines.append(box)
        if heat:
            self.rects(frame, [b for b, _ in heat], [c for _, c in heat])
        if fills:
            self.rects(frame, fills, ACCENT.alpha(0.3))
        if outlines:
            self.outline(frame, outlines, ACCENT, 1.5)

    def _table(self, draw_list, frame) -> None:
        if not self._cells:
            self._layout_table(frame)
        for cell in self._cells:
            self._cell_text(draw_list, frame, cell, frame.size[0])

    def _selected_key(self) -> tuple:
        s = self.selection
        return {"dot": ("dot", s.j), "score": ("score", s.j), "exp": ("exp", s.j), "sum": ("sum",),
                "weight": ("weight", s.j), "rowsum": ("Asum", s.i), "output": ("output",)}.get(s.stage, ())

    def _cell_text(self, draw_list, frame, cell, width: float) -> None:
        kind, text = cell.key[0], cell.text
        x0, y0, x1, y1 = cell.box
        color = PALETTE.text
        if kind in ("header", "Arow"):
            color = TOKEN_COLORS[cell.key[1]]
        elif kind in ("label", "mtitle", "header_sum", "derivation") and not (kind == "derivation" and cell.key[1] == 0):
            color = MUTED
        elif kind == "note":
            color = ACCENT
        elif kind == "wtitle":
            color = TOKEN_COLORS[self.selection.i]
        if kind == "Arow" and cell.key[1] == self.selection.i:
            text = f"▸{text}"
        room = x1 - x0
        size = imgui.calc_text_size(text).x
        if size > room:  # a span longer than the table: cut at a word with an ellipsis
            words = text.split(" ")
            while len(words) > 1 and imgui.calc_text_size(" ".join(words) + " …").x > room:
                words.pop()
            text = " ".join(words) + " …"
            size = imgui.calc_text_size(text).x
        x = x1 - 0.15 * imgui.get_font_size() - size if cell.align else x0
        y = 0.5 * (y0 + y1) - 0.5 * imgui.get_text_line_height()
        frame.text(draw_list, (x, y), text, color, plate=False)

    # -- the side panel ----------------------------------------------------------------------------

    def panel(self) -> None:
        model = self.model
        imgui.separator()
        imgui.push_text_wrap_pos(0.0)
        locked = self.challenge.locked
        if model.example:
            imgui.begin_disabled(locked)
            if imgui.button("Seed 002's vectors"):
                for (name, i, a), param in VECTOR_PARAMS.items():
                    self.context.set_param(param, float(SEED_MATRICES[name][i, a]))
            imgui.same_line()
            if imgui.button("Even rows"):
                for i in range(3):
                    for a in range(2):
                        self.context.set_param(VECTOR_PARAMS[("q", i, a)], 0.0)
            if imgui.is_item_hovered():
                imgui.set_tooltip("Every query zero: every score 0, every weight 1/3.")
            imgui.same_line()
            if imgui.button("Each to itself"):
                for name, tips in (("q", [(2.0, 0.0), (-1.0, 1.7), (-1.0, -1.7)]),
                                   ("k", [(1.4, 0.0), (-0.7, 1.2), (-0.7, -1.2)])):
                    for i, tip in enumerate(tips):
                        for a in range(2):
                            self.context.set_param(VECTOR_PARAMS[(name, i, a)], tip[a])
            if imgui.is_item_hovered():
                imgui.set_tooltip("Each query along its own key, the keys 120° apart: every token attends mostly to itself.")
            imgui.end_disabled()
        if self.challenge.hide_answers:
            imgui.text_colored(MUTED, "Predict first: the weights, the spectrum and the plots show after the reveal.")
        else:
            s = model.spectrum
            pi = ", ".join(f"{p:.3f}" for p in s.stationary)
            if s.unique:
                imgui.text_colored(PALETTE.text, f"π = ({pi}): where attention applied again and again ends (πA = π).")
            else:
                imgui.text_colored(PALETTE.bad, "|λ₂| = 1: no single stationary distribution; the rows of Aᵗ need not "
                                                "converge.")
            imgui.text_colored(MUTED, f"|λ₂| = {s.second:.3f}, gap 1 − |λ₂| = {s.gap:.3f}.")
            if model.is_seed_example():
                imgui.text_colored(ACCENT, "Seed 002 prints row 0 as (0.386, 0.324, 0.291). Its own rounded numbers give "
                                           "1.699 / 5.255 = 0.3233 for cat: the true row is (0.386, 0.323, 0.291).")
        imgui.pop_text_wrap_pos()

    # -- plots -------------------------------------------------------------------------------------

    def plots(self) -> None:
        if self.challenge.hide_answers:
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(MUTED, "The spectrum, the repeated attention and the sharpness against d show after "
                                      "the reveal.")
            imgui.pop_text_wrap_pos()
            return
        model = self.model
        # a narrow strip keeps what the vectors on screen are about: the spectrum for the seed's, d for random ones
        spectrum, collapse, sharpness = (3.0, 2.0, 1.0) if model.example else (2.0, 1.0, 3.0)
        aspect = self._spectrum_aspect  # the unit circle round: the longer side of the plot gets the room
        x_reach, y_reach = 1.2 * max(aspect, 1.0), 1.2 / min(aspect, 1.0)
        plot_strip(self.context, [
            Plot("eigenvalues of A", self._spectrum_plot, x_label="Re λ", y_label="Im λ",
                 x_limits=(-x_reach, x_reach), y_limits=(-y_reach, y_reach),
                 legend=False, min_width=9.0, priority=spectrum, weight=0.9),
            Plot(f"rows of Aᵗ → π, t = {model.depth}###collapse", self._collapse_plot, x_label="t", y_label="L₁ distance",
                 y_log=True, y_limits=(1e-16, 4.0), x_limits=(1.0, float(MAX_DEPTH)), min_width=11.0, priority=collapse),
            Plot("largest weight of a row against d", self._sharpness_plot, x_label="d", x_log=True,
                 y_limits=(0.3, 1.02), min_width=11.0, priority=sharpness, weight=1.2),
        ])

    def _spectrum_plot(self, run) -> None:
        size = implot.get_plot_size()
        if size.y > 1:
            aspect = float(np.clip(size.x / size.y, 0.1, 10.0))
            if abs(aspect - self._spectrum_aspect) > 0.02:
                self._spectrum_aspect = aspect
                self.context.request_frames(2)
        theta = np.linspace(0.0, 2 * math.pi, 121)
        line("|λ| = 1", np.cos(theta), np.sin(theta), PALETTE.muted, 1.5)
        s = self.model.spectrum
        if s.second > 0.15:  # a smaller circle would only blot out the eigenvalues inside it
            line("|λ| = |λ₂|", s.second * np.cos(theta), s.second * np.sin(theta), PALETTE.orange.alpha(0.7), 1.0)
        values = s.eigenvalues
        scatter("λ", values.real, values.imag, PALETTE.yellow, 6.0)
        em = imgui.get_font_size()
        implot.plot_text("1", 1.0, 0.0, imgui.ImVec2(0.6 * em, 0.8 * em))  # below right, λ₂ above: apart
        if s.second > 0.05:
            implot.plot_text("λ₂", float(values[1].real), float(values[1].imag), imgui.ImVec2(-0.6 * em, -0.9 * em))

    def _collapse_plot(self, run) -> None:
        depth, distance, rate = run.series("depth"), run.series("distance"), run.series("rate")
        line("rows of Aᵗ from π", depth, distance, PALETTE.sky, 2.5, marker=3.0)
        line("|λ₂|ᵗ", depth, rate, PALETTE.orange, 1.5)

    def _sharpness_plot(self, run) -> None:
        model = self.model
        sweep = model.sharpness_sweep()
        line("÷√d", sweep["dims"], sweep["top_scaled"], PALETTE.green, 2.5, marker=3.0)
        line("no ÷√d", sweep["dims"], sweep["top_unscaled"], PALETTE.vermillion, 2.5, marker=3.0)
        hline(1.0 / 3.0, label="even: 1/3")
        if not model.example:
            vlines([float(model.d)], [f"d = {model.d}"])
