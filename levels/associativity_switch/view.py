"""The associativity switch's view: the chain φ(Q)·φ(K)ᵀ·V with its parentheses, and what each
placement builds, every matrix drawn to scale (one world unit is one cell).

Transformer mode evaluates (φ(Q)φ(K)ᵀ)V through the N×N weights, filled row by row as the
cursor rolls; RNN mode evaluates φ(Q)(φ(K)ᵀV) through a d×d state S_t that takes one token at a
time (drawn inside the outline of the N×N matrix it replaces, and magnified); SSD mode shows
Mamba-2's decay mask L, the masked scores L∘CBᵀ and the recurrent state h_t. The plots show the
two forms' outputs on top of each other, the memory each holds, and the benchmark on log-log
axes with fitted slopes. Clicking φ(Q) or V in the chain moves the parentheses there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.ui.widgets import ACCENT, BAD, GOOD, MUTED
from sandbox.view import View

CHAIN_NAMES = {"attention": ("φ(Q)", "φ(K)ᵀ", "V"), "ssd": ("C", "Bᵀ", "x")}  # SSD: C = φ(Q), B = φ(K), x = V
MODES = {  # mode -> (the chain with its parentheses, what it builds)
    "transformer": ("(φ(Q) φ(K)ᵀ) V", "N×N weights"),
    "rnn": ("φ(Q) (φ(K)ᵀ V)", "d×d state"),
    "ssd": ("(L ∘ C Bᵀ) x", "masked scores and h_t"),
}
PAREN = (0.45, 0.75, 1.0, 1.0)
CURSOR = (1.0, 0.92, 0.35, 1.0)
GHOST = (0.7, 0.74, 0.8, 0.75)
FRAME = (0.4, 0.44, 0.5, 0.9)
QUADRATIC = imgui.ImVec4(1.0, 0.55, 0.3, 1.0)  # the quadratic form in every plot
LINEAR = imgui.ImVec4(0.4, 0.8, 1.0, 1.0)  # the linear (recurrent) form
BUDGET = imgui.ImVec4(0.75, 0.75, 0.8, 0.6)
TEXT = (0.88, 0.9, 0.94, 1.0)
LABEL_MUTED = (0.62, 0.66, 0.72, 1.0)
OPERATOR_SCALE = 1.7  # operators ("·", "=") are drawn this much larger than labels
FIT_MARGIN = 1.2  # the camera frames the layout with this much room for the labels
ANIMATION_RATE = 9.0  # 1/s: how fast the parentheses slide to their new place
ROW_GAP = 3.5  # gaps between the chain and its evaluation: room for two rows of labels
OPERATOR_GAPS_PER_CHAR = 0.55  # an operator of several characters takes this many gaps per character
MIN_ZOOM = 1.5  # RNN mode magnifies the state only when it is this much smaller than half the N×N outline


@dataclass
class Box:
    """A world-space rectangle of ``cols`` × ``rows`` cells (y up, row 0 at the top)."""

    x0: float
    y0: float
    cols: float
    rows: float

    @property
    def x1(self) -> float:
        return self.x0 + self.cols

    @property
    def y1(self) -> float:
        return self.y0 + self.rows

    @property
    def rect(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)

    def row(self, i: int) -> "Box":
        """The box of row ``i`` (0 at the top)."""
        return Box(self.x0, self.y1 - i - 1, self.cols, 1)

    def col(self, j: int) -> "Box":
        return Box(self.x0 + j, self.y0, 1, self.rows)

    def contains(self, point) -> bool:
        return self.x0 <= point[0] <= self.x1 and self.y0 <= point[1] <= self.y1


def layout(mode: str, n: int, d: int) -> dict:
    """Where everything goes, in cells: two rows, the chain above and its evaluation below.

    Each row is a sequence of boxes ``(name, columns, rows)`` and operators (text), vertically
    centred on the row's middle and horizontally on x = 0. Returns the boxes by name (the
    chain's prefixed ``chain:``), the operators as (text, x, y), the parentheses as
    (x_open, x_close, y_middle, height), the magnification of the zoomed state, and the bounds.
    """
    gap = max(3.0, 0.1 * max(n, d))
    zoom = 0.55 * n / d  # the magnified state is about half as tall as the N×N matrix

    def place(items, y_mid):
        widths = [item[1] if isinstance(item, tuple) else gap * max(1.0, OPERATOR_GAPS_PER_CHAR * len(item))
                  for item in items]
        x = -0.5 * (sum(widths) + gap * (len(items) - 1))
        boxes, operators = {}, []
        for item, width in zip(items, widths):
            if item in ("(", ")"):
                boxes[item] = x + 0.5 * width
            elif isinstance(item, str):
                operators.append((item, x + 0.5 * width, y_mid))
            else:
                name, cols, rows = item
                boxes[name] = Box(x, y_mid - 0.5 * rows, cols, rows)
            x += width + gap
        return boxes, operators, x - gap

    q, k, v = CHAIN_NAMES["ssd" if mode == "ssd" else "attention"]
    tall, wide, square = (d, n), (n, d), (n, n)  # (columns, rows) of an N×d, a d×N, an N×N matrix
    slot = max(n, d)  # RNN mode: the N×N outline and the state, which is larger when d > N
    if mode == "transformer":
        chain = ["(", (q, *tall), (k, *wide), ")", "·", (v, *tall)]
        evaluation = [("weights", *square), "·", ("V ", *tall), "=", ("Y", *tall)]
    elif mode == "rnn":
        chain = [(q, *tall), "·", "(", (k, *wide), (v, *tall), ")"]
        evaluation = [("slot", slot, slot), "⇒", ("Y", *tall)]
    else:
        chain = ["L ∘", "(", (q, *tall), (k, *wide), ")", "·", (v, *tall)]
        evaluation = [("L", *square), "∘ CBᵀ =", ("scores", *square), "· x =", ("y", *tall), "",
                      ("zoom", max(1.0, zoom) * d, max(1.0, zoom) * d)]
    chain_height = max(n, d)
    eval_height = max(n, d, zoom * d)
    chain_mid = 0.5 * chain_height
    eval_mid = -ROW_GAP * gap - 0.5 * eval_height
    chain_boxes, chain_ops, chain_width = place(chain, chain_mid)
    boxes, eval_ops, eval_width = place(evaluation, eval_mid)
    parens = (chain_boxes.pop("("), chain_boxes.pop(")"), chain_mid, chain_height + 0.3 * gap)
    boxes.update({f"chain:{name}": box for name, box in chain_boxes.items()})
    if mode == "rnn":  # the state sits where the N×N matrix would start, magnified inside it
        slot_box = boxes.pop("slot")
        boxes["ghost"] = Box(slot_box.x0, slot_box.y1 - n, n, n)
        boxes["state"] = Box(slot_box.x0, slot_box.y1 - d, d, d)
        boxes["normaliser"] = Box(slot_box.x0 + d + 0.25 * gap, slot_box.y1 - d, 1, d)
        if zoom >= MIN_ZOOM:
            margin = 0.08 * slot
            boxes["zoom"] = Box(slot_box.x1 - margin - zoom * d, slot_box.y0 + margin, zoom * d, zoom * d)
    width = max(chain_width, eval_width)
    return {"boxes": boxes, "operators": [op for op in chain_ops + eval_ops if op[0]], "parens": parens,
            "gap": gap, "zoom": max(1.0, zoom),
            "bounds": (-0.5 * width, eval_mid - 0.5 * eval_height - gap, 0.5 * width, chain_height + gap)}


def _same(key_a, key_b) -> bool:
    """Cache keys hold arrays by identity (the cache keeps them alive, so ids cannot be reused)."""
    if key_a is None or key_b is None or len(key_a) != len(key_b):
        return False
    return all(a is b if isinstance(a, np.ndarray) else a == b for a, b in zip(key_a, key_b))


def rows_to_max(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its largest entry: the pattern of every row reads at any length."""
    peak = np.max(np.abs(matrix), axis=1, keepdims=True)
    return matrix / np.where(peak > 0, peak, 1.0)


def to_signed(matrix: np.ndarray) -> np.ndarray:
    """Signed values scaled to [-1, 1] by the largest magnitude (for the diverging map)."""
    peak = float(np.max(np.abs(matrix))) if matrix.size else 0.0
    return matrix / peak if peak > 0 and math.isfinite(peak) else np.zeros_like(matrix)


def causal(matrix: np.ndarray) -> np.ndarray:
    """NaN above the diagonal: the cells a causal product never computes."""
    return np.where(np.tri(*matrix.shape, dtype=bool), matrix, np.nan)


class MatrixPainter:
    """Draws matrices as cell grids with ``matrix.glsl``: one texture per named slot, uploaded
    only when the slot's cache key changes."""

    def __init__(self, view: View):
        self.ctx = view.ctx
        self.hot = view.program("matrix.glsl")
        self.corners = self.ctx.buffer(np.array([0, 0, 1, 0, 0, 1, 1, 1], np.float32).tobytes())
        self.slots: dict[str, tuple] = {}  # name -> (texture, key)
        self._vao = None
        self._generation = -1

    def draw(self, mvp, name: str, key: tuple, values, box: Box, signed: bool = False,
             shown: tuple[float, float] = (math.inf, math.inf)) -> None:
        """Draw ``values()`` (computed only when ``key`` changes) on ``box``; columns and rows
        from ``shown`` on are faint."""
        if self.hot.program is None:
            return
        texture, old_key = self.slots.get(name, (None, None))
        if not _same(key, old_key):
            # NaN stays (it marks a cell that does not exist); infinities are clamped to the map's ends.
            data = np.ascontiguousarray(np.nan_to_num(values(), nan=np.nan, posinf=1.0, neginf=-1.0),
                                        dtype=np.float32)
            if data.ndim != 2 or data.size == 0:
                return
            rows, cols = data.shape
            if texture is None or texture.size != (cols, rows):
                if texture is not None:
                    texture.release()
                texture = self.ctx.texture((cols, rows), 1, dtype="f4")
            texture.write(data.tobytes())
            self.slots[name] = (texture, key)
        if self._vao is None or self._generation != self.hot.generation:
            if self._vao is not None:
                self._vao.release()
            self._vao = self.ctx.vertex_array(self.hot.program, [(self.corners, "2f", "in_corner")])
            self._generation = self.hot.generation
        program = self.hot.program
        program["mvp"].write(np.asarray(mvp, np.float32).tobytes())
        program["rect"].value = tuple(float(v) for v in box.rect)
        program["cells"].value = (float(texture.width), float(texture.height))
        program["signed_map"].value = int(signed)
        program["shown"].value = tuple(float(min(s, 1e9)) for s in shown)
        texture.use(0)
        program["values"].value = 0
        self._vao.render(self.ctx.TRIANGLE_STRIP)

    def release(self) -> None:
        for texture, _ in self.slots.values():
            texture.release()
        for obj in (self._vao, self.corners):
            if obj is not None:
                obj.release()
        self.slots.clear()


def outline(box: Box, inset: float = 0.0) -> np.ndarray:
    x0, y0, x1, y1 = box.x0 + inset, box.y0 + inset, box.x1 - inset, box.y1 - inset
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])


def dashed_outline(box: Box, dash: float) -> np.ndarray:
    """Segments (pairs of points) of a dashed rectangle."""
    corners = outline(box)
    segments = []
    for a, b in zip(corners[:-1], corners[1:]):
        length = float(np.linalg.norm(b - a))
        count = max(1, int(length / (2 * dash)))
        for k in range(count):
            t0, t1 = 2 * k * dash / length, min(1.0, (2 * k + 1) * dash / length)
            segments += [a + (b - a) * t0, a + (b - a) * t1]
    return np.array(segments)


def parenthesis(x: float, y_mid: float, height: float, opening: bool, bulge: float) -> np.ndarray:
    """A parenthesis as a half-ellipse through (x, y_mid ± height/2), bulging outward."""
    theta = np.linspace(-0.5 * math.pi, 0.5 * math.pi, 33)
    side = -1.0 if opening else 1.0
    return np.stack([x + side * bulge * np.cos(theta), y_mid + 0.5 * height * np.sin(theta)], axis=1)


def _human_bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(count) < 1000:
            return f"{count:.3g} {unit}"
        count /= 1000.0
    return f"{count:.3g} TB"


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values), values, np.nan)


class SwitchView(View):
    camera = "2d"
    math = [
        (r"y_t = \frac{\sum_{j \le t} \phi(q_t)^\top \phi(k_j)\, v_j}{\sum_{j \le t} \phi(q_t)^\top \phi(k_j)}",
         "causal linear attention, with the positive feature map φ(x) = elu(x) + 1"),
        (r"Y = \mathrm{rownorm}\big((\phi(Q)\,\phi(K)^\top) \circ M\big)\, V",
         "transformer parentheses: N×N weights under the causal mask M, O(N²d) work, N² numbers"),
        (r"S_t = S_{t-1} + \phi(k_t)\, v_t^\top", "RNN parentheses: φ(K)ᵀV taken one token at a time, a d×d state"),
        (r"z_t = z_{t-1} + \phi(k_t)", "and the normaliser, a d-vector"),
        (r"y_t = \frac{\phi(q_t)^\top S_t}{\phi(q_t)^\top z_t}",
         "each output reads the state: O(d²) per token, O(Nd²) in all, whatever t is"),
        (r"h_t = a_t\, h_{t-1} + B_t\, x_t^\top, \quad y_t = C_t^\top h_t",
         "Mamba-2's recurrence: the same state with a decay a_t per token"),
        (r"y = (L \circ C B^\top)\, x", "its dual, masked form, with C = φ(Q), B = φ(K), x = V"),
        (r"L_{ij} = a_i\, a_{i-1} \cdots a_{j+1} \quad (i \ge j)",
         "the decay mask: 1 on the diagonal, fading into the past, 0 above the diagonal"),
        (r"4N^2 \ \mathrm{bytes} \quad \mathrm{vs} \quad 4(d^2 + d) \ \mathrm{bytes}",
         "float32 memory of the N×N matrix against the state: 40 GB against 16.6 kB at N = 10⁵, d = 64"),
        (r"t(N) \approx c\, N^{p}, \quad p = \frac{\Delta \log t}{\Delta \log N}",
         "the benchmark's fitted slope on log-log axes: p ≈ 2 for the quadratic form, p ≈ 1 for the recurrence"),
    ]

    def __init__(self, host):
        super().__init__(host)
        self.matrices = MatrixPainter(self)
        self._layout = None
        self._layout_key = None
        self._parens = None  # the parentheses' drawn position, sliding toward the layout's

    def make_camera(self):
        return Camera2D(center=(0.0, 0.0), half_height=100.0)

    def release(self) -> None:
        self.matrices.release()

    # -- layout and camera ---------------------------------------------------------------------
    def _ensure_layout(self, viewport) -> dict:
        """The layout for the current mode and sizes; a new one (or a new window shape) re-frames
        the camera around it."""
        p = self.model.params
        aspect = round(viewport[0] / max(viewport[1], 1), 2)
        key = (p["mode"], p["seq_len"], p["d"], aspect)
        if key != self._layout_key:
            self._layout = layout(*key[:3])
            x0, y0, x1, y1 = self._layout["bounds"]
            half_height = FIT_MARGIN * max(0.5 * (y1 - y0), 0.5 * (x1 - x0) / aspect)
            self.cam.home = ((0.5 * (x0 + x1), 0.5 * (y0 + y1)), half_height)
            self.cam.reset()
            if self._layout_key is None or self._layout_key[1:3] != key[1:3]:
                self._parens = None  # new sizes: no slide from the old ones
            self._layout_key = key
        return self._layout

    def _slide_parens(self, dt: float) -> tuple:
        target = np.array(self._layout["parens"], dtype=np.float64)
        if self._parens is None:
            self._parens = target
        else:
            self._parens = self._parens + (target - self._parens) * min(1.0, dt * ANIMATION_RATE)
        return tuple(self._parens)

    # -- the scene -----------------------------------------------------------------------------
    def scene(self, frame) -> None:
        model = self.model
        lay = self._ensure_layout(frame.viewport)
        boxes = lay["boxes"]
        mvp, viewport = frame.mvp, frame.viewport
        self.ctx.disable(self.ctx.DEPTH_TEST)  # flat drawing, in painter's order
        t = int(np.clip(model.token, 1, len(model.q)))
        mode = model.params["mode"]
        draw = self.matrices.draw
        # The chain: the same three factors in every mode (SSD names them C, Bᵀ and x).
        q_name, k_name, v_name = CHAIN_NAMES["ssd" if mode == "ssd" else "attention"]
        draw(mvp, "fq", (model.fq,), lambda: model.fq / max(float(model.fq.max()), 1e-12), boxes[f"chain:{q_name}"])
        draw(mvp, "fkT", (model.fk,), lambda: (model.fk / max(float(model.fk.max()), 1e-12)).T,
             boxes[f"chain:{k_name}"])
        draw(mvp, "v", (model.v,), lambda: to_signed(model.v), boxes[f"chain:{v_name}"], signed=True)
        cursor = []  # boxes to outline at the cursor
        if mode == "transformer":
            draw(mvp, "weights", (model.weights,), lambda: causal(rows_to_max(model.weights)), boxes["weights"],
                 shown=(math.inf, t))
            draw(mvp, "v", (model.v,), lambda: to_signed(model.v), boxes["V "], signed=True)
            draw(mvp, "y", (model.y_quadratic,), lambda: to_signed(model.y_quadratic), boxes["Y"], signed=True,
                 shown=(math.inf, t))
            cursor += [boxes[f"chain:{q_name}"].row(t - 1), boxes["weights"].row(t - 1), boxes["Y"].row(t - 1)]
            self._columns_so_far(frame, boxes[f"chain:{k_name}"], t)
        elif mode == "rnn":
            draw(mvp, "state", (model.states, t), lambda: to_signed(model.states[t - 1]), boxes["state"], signed=True)
            if "zoom" in boxes:
                draw(mvp, "zoom", (model.states, t), lambda: to_signed(model.states[t - 1]), boxes["zoom"],
                     signed=True)
            draw(mvp, "z", (model.normalisers, t), lambda: model.normalisers[t - 1][:, None] /
                 max(float(model.normalisers[t - 1].max()), 1e-12), boxes["normaliser"])
            draw(mvp, "y", (model.y_recurrent,), lambda: to_signed(model.y_recurrent), boxes["Y"], signed=True,
                 shown=(math.inf, t))
            self.painter.lines(mvp, dashed_outline(boxes["ghost"], max(1.0, 0.02 * boxes["ghost"].cols)), GHOST,
                               1.5, viewport, strip=False)
            cursor += [boxes[f"chain:{q_name}"].row(t - 1), boxes[f"chain:{k_name}"].col(t - 1),
                       boxes[f"chain:{v_name}"].row(t - 1), boxes["Y"].row(t - 1)]
        else:
            draw(mvp, "mask", (model.mask,), lambda: causal(model.mask), boxes["L"], shown=(math.inf, t))
            draw(mvp, "scores", (model.ssd_scores,), lambda: causal(rows_to_max(model.ssd_scores)),
                 boxes["scores"], shown=(math.inf, t))
            draw(mvp, "y", (model.y_ssd_masked,), lambda: to_signed(model.y_ssd_masked), boxes["y"], signed=True,
                 shown=(math.inf, t))
            draw(mvp, "zoom", (model.ssd_states, t), lambda: to_signed(model.ssd_states[t - 1]), boxes["zoom"],
                 signed=True)
            cursor += [boxes[f"chain:{q_name}"].row(t - 1), boxes["L"].row(t - 1), boxes["scores"].row(t - 1),
                       boxes["y"].row(t - 1)]
        for box in boxes.values():
            if box is not boxes.get("ghost"):
                self.painter.lines(mvp, outline(box), FRAME, 1.0, viewport)
        for box in cursor:
            self.painter.lines(mvp, outline(box), CURSOR, 2.0, viewport)
        x_open, x_close, y_mid, height = self._slide_parens(frame.input.dt)
        bulge = 0.35 * lay["gap"]
        for x, opening in ((x_open, True), (x_close, False)):
            self.painter.lines(mvp, parenthesis(x, y_mid, height, opening, bulge), PAREN, 3.5, viewport)

    def _columns_so_far(self, frame, box: Box, t: int) -> None:
        """Transformer mode: bracket the keys the cursor's query has read (columns 0..t-1)."""
        read = Box(box.x0, box.y0, t, box.rows)
        self.painter.lines(frame.mvp, outline(read), CURSOR, 1.5, frame.viewport)

    # -- labels --------------------------------------------------------------------------------
    def _text(self, draw_list, at: imgui.ImVec2, text: str, color=TEXT, scale: float = 1.0,
              centre: bool = True) -> None:
        size = imgui.get_font_size() * scale
        width = imgui.calc_text_size(text).x * scale
        pos = imgui.ImVec2(at.x - 0.5 * width, at.y - 0.5 * size) if centre else at
        draw_list.add_text(imgui.get_font(), size, pos, imgui.get_color_u32(imgui.ImVec4(*color)), text)

    def overlay(self, draw_list, origin, frame) -> None:
        """Labels over the scene (the host clips them to it)."""
        if self._layout is None:
            return
        model = self.model
        n, d, mode = model.params["seq_len"], model.params["d"], model.params["mode"]
        t = int(np.clip(model.token, 1, n))
        boxes = self._layout["boxes"]
        line = imgui.get_font_size()

        def above(box, text, color=TEXT):
            at = frame.to_overlay((0.5 * (box.x0 + box.x1), box.y1))
            self._text(draw_list, imgui.ImVec2(at.x, at.y - 0.8 * line), text, color)

        def below(box, text, color=LABEL_MUTED, lines_down: float = 0.8):
            at = frame.to_overlay((0.5 * (box.x0 + box.x1), box.y0))
            self._text(draw_list, imgui.ImVec2(at.x, at.y + lines_down * line), text, color)

        for name, shape in zip(CHAIN_NAMES["ssd" if mode == "ssd" else "attention"], ((n, d), (d, n), (n, d))):
            box = boxes[f"chain:{name}"]
            above(box, name)
            below(box, f"{shape[0]}×{shape[1]}")
        for text, x, y in self._layout["operators"]:
            self._text(draw_list, frame.to_overlay((x, y)), text, TEXT, OPERATOR_SCALE)
        if mode == "transformer":
            above(boxes["weights"], f"φ(Q)φ(K)ᵀ, causal: {n}×{n} weights")
            below(boxes["weights"], f"computed so far: t(t+1)/2 = {t * (t + 1) // 2} weights, "
                                    f"{_human_bytes(4 * t * t)} at N = t", TEXT)
            below(boxes["weights"], "each row scaled to its largest weight", LABEL_MUTED, 2.0)
            above(boxes["V "], "V")
            above(boxes["Y"], "Y")
        elif mode == "rnn":
            # Captions go under the lower of the N×N outline and the state (the state is larger when d > N).
            state, ghost = boxes["state"], boxes["ghost"]
            lowest = state if state.y0 < ghost.y0 else ghost
            below(lowest, f"S_t and z_t: {d * d + d} numbers, {_human_bytes(4 * (d * d + d))}, at every token", TEXT)
            below(lowest, f"dashed: the {n}×{n} matrix they replace", LABEL_MUTED, 2.0)
            if 3 * d < n:  # room beside the small state for its name
                at = frame.to_overlay((boxes["normaliser"].x1, state.y1))
                self._text(draw_list, imgui.ImVec2(at.x + 6, at.y + 3), "S_t, z_t to scale", TEXT, centre=False)
            above(boxes["Y"], "Y")
            if "zoom" in boxes:
                above(boxes["zoom"], f"S_t magnified ×{self._layout['zoom']:.3g}", LABEL_MUTED)
        else:
            above(boxes["L"], f"decay mask L ({n}×{n})")
            below(boxes["L"], f"memory ≈ 1/(1−a) = {1.0 / max(1e-12, 1.0 - float(np.mean(model.decays))):.3g} "
                              "tokens", TEXT)
            above(boxes["scores"], "L ∘ CBᵀ")
            below(boxes["scores"], "rows scaled to their max")
            above(boxes["y"], "y")
            above(boxes["zoom"], f"h_t ({d}×{d}) ×{self._layout['zoom']:.3g}")
            below(boxes["zoom"], "the recurrence's state")
        if mode != "ssd":
            x_open, x_close, y_mid, height = self._parens if self._parens is not None else self._layout["parens"]
            at = frame.to_overlay((0.5 * (x_open + x_close), y_mid + 0.5 * height))
            self._text(draw_list, imgui.ImVec2(at.x, at.y - 1.6 * line), "click φ(Q) or V to move the parentheses",
                       LABEL_MUTED)

    # -- input ---------------------------------------------------------------------------------
    def handle_input(self, frame) -> bool:
        """A click on φ(Q) moves the parentheses to (φ(Q)φ(K)ᵀ)V, a click on V to φ(Q)(φ(K)ᵀV)."""
        inp = frame.input
        if not (inp.clicked and inp.hovered and not inp.shift) or self._layout is None:
            return False
        if self.host.challenges.playing:
            return False  # a challenge's parameters are fixed
        point = frame.camera.screen_to_world(inp.mouse, frame.viewport)
        boxes = self._layout["boxes"]
        for name, mode in (("φ(Q)", "transformer"), ("V", "rnn")):
            box = boxes.get(f"chain:{name}")
            if box is not None and box.contains(point):
                self.run.set_param("mode", mode)
                return True
        return False

    # -- panel ---------------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        run = self.run
        locked = self.host.challenges.playing
        imgui.separator()
        imgui.text_colored(ACCENT, "Parentheses")
        imgui.begin_disabled(locked)
        for mode, (chain, builds) in MODES.items():
            if imgui.radio_button(f"{chain}##{mode}", model.params["mode"] == mode):
                run.set_param("mode", mode)
            imgui.same_line(imgui.get_window_width() * 0.55)
            imgui.text_colored(MUTED, builds)
        imgui.end_disabled()
        self._cost_readout()
        imgui.separator()
        self._benchmark_panel()

    def _cost_readout(self) -> None:
        model = self.model
        t, d, n = int(model.token), model.params["d"], model.params["seq_len"]
        mode = model.params["mode"]
        imgui.push_text_wrap_pos(0.0)
        if mode == "transformer":
            imgui.text(f"Token {t} reads {t} keys: {2 * t * d} multiply-adds, growing with t.")
            imgui.text_colored(MUTED, f"All N = {n}: {n * (n + 1) // 2} weights, ~{n * (n + 1) * d} multiply-adds.")
        elif mode == "rnn":
            imgui.text(f"Token {t} updates and reads the state: {2 * d * d + 2 * d} multiply-adds, the same at "
                       "every t.")
            imgui.text_colored(MUTED, f"All N = {n}: ~{2 * n * (d * d + d)} multiply-adds.")
        else:
            memory = 1.0 / max(1e-12, 1.0 - float(np.mean(model.decays)))
            imgui.text(f"Mask row t: a^(t−j) fades over ~{memory:.3g} tokens. Both forms agree to "
                       f"{self.run.latest()['ssd_difference']:.1e}.")
        imgui.pop_text_wrap_pos()

    def _benchmark_panel(self) -> None:
        model = self.model
        run = self.run
        bench = model.bench
        imgui.text_colored(ACCENT, "Benchmark on this machine")
        imgui.begin_disabled(self.host.challenges.playing)
        if imgui.button("Stop the benchmark" if bench is not None else "Run the benchmark"):
            run.set_param("benchmark", bench is None)
        imgui.end_disabled()
        if bench is None:
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(MUTED, f"Times both forms as N doubles up to {model.params['bench_n_max']}, with "
                                      f"d = {model.params['bench_d']}, a few milliseconds per step; the log-log "
                                      "plot fills in live.")
            imgui.pop_text_wrap_pos()
            return
        imgui.same_line()
        imgui.progress_bar(float(np.clip(bench.progress(), 0, 1)), imgui.ImVec2(-1, 0))
        loop = "compiled (Numba)" if model.linear_loop_code() == "numba" else "a Python loop"
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(MUTED, f"quadratic: tiled BLAS products, O(N) memory; linear: token by token, {loop}")
        for form, color in (("quadratic", QUADRATIC), ("linear", LINEAR)):
            slope = bench.slope(form)
            imgui.text_colored(color, f"{form}: " + (f"slope {slope:.2f}" if slope is not None else "slope …")
                               + f", largest N {bench.largest_n(form)}")
            stopped = bench.stopped[form] is not None
            imgui.text_colored(BAD if stopped else MUTED, "  " + bench.status(form))
        crossover = bench.crossover()
        if crossover is not None:
            imgui.text_colored(GOOD, f"The quadratic form is slower beyond N ≈ {crossover:.0f}.")
        elif bench.done:
            imgui.text_colored(MUTED, "The quadratic form stayed faster at every N timed.")
        if bench.differences:
            imgui.text_colored(MUTED, f"Both forms agree: max relative difference "
                                      f"{max(bench.differences.values()):.1e}.")
        imgui.pop_text_wrap_pos()

    # -- plots ---------------------------------------------------------------------------------
    def plots(self) -> None:
        if not implot.begin_subplots("##switch", 1, 3, imgui.ImVec2(-1, -1),
                                     row_col_ratios=implot.SubplotsRowColRatios([1.0], [1.0, 0.85, 1.25])):
            return
        self._outputs_plot()
        if self.model.params["mode"] == "ssd":
            self._mask_row_plot()
        else:
            self._memory_plot()
        self._benchmark_plot()
        implot.end_subplots()

    def _outputs_plot(self) -> None:
        model = self.model
        t = int(np.clip(model.token, 1, len(model.q)))
        ssd = model.params["mode"] == "ssd"
        if ssd:
            first, second = model.y_ssd_masked, model.y_ssd_recurrent
            names, gap = ("masked (L∘CBᵀ)x", "recurrence h_t"), self.run.latest()["ssd_difference"]
        else:
            first, second = model.y_quadratic, model.y_recurrent
            names, gap = ("(φ(Q)φ(K)ᵀ)V", "φ(Q)(φ(K)ᵀV)"), self.run.latest()["form_difference"]
        if implot.begin_plot(f"y_t[0] both ways (gap {gap:.0e})###outputs"):
            fit = implot.AxisFlags_.auto_fit.value
            implot.setup_axes("token t", "y", fit, fit)
            implot.setup_legend(implot.Location_.north_east.value)
            tokens = np.arange(1, t + 1, dtype=np.float64)
            implot.plot_line(names[0], tokens, _finite(first[:t, 0]),
                             implot.Spec(line_color=QUADRATIC, line_weight=5.0))
            implot.plot_line(names[1], tokens, _finite(second[:t, 0]), implot.Spec(line_color=LINEAR, line_weight=1.5))
            implot.end_plot()

    def _memory_plot(self) -> None:
        model = self.model
        n, d = model.params["seq_len"], model.params["d"]
        t = int(np.clip(model.token, 1, n))
        if implot.begin_plot("memory at token t"):
            implot.setup_axes("t", "bytes", implot.AxisFlags_.auto_fit.value, implot.AxisFlags_.auto_fit.value)
            implot.setup_axis_scale(implot.ImAxis_.x1.value, implot.Scale_.log10.value)
            implot.setup_axis_scale(implot.ImAxis_.y1.value, implot.Scale_.log10.value)
            implot.setup_legend(implot.Location_.north_west.value)
            ts = np.unique(np.geomspace(1, n, 64).round()).astype(np.float64)
            matrix = 4.0 * ts * ts
            state = np.full_like(ts, 4.0 * (d * d + d))
            implot.plot_line("N×N: 4t²", ts, matrix, implot.Spec(line_color=QUADRATIC, line_weight=2.0))
            implot.plot_line("state: 4(d²+d)", ts, state, implot.Spec(line_color=LINEAR, line_weight=2.0))
            marker = implot.Spec(marker=implot.Marker_.circle.value, marker_size=5, line_color=imgui.ImVec4(*TEXT))
            implot.plot_scatter("##now", np.array([t, t], np.float64), np.array([4.0 * t * t, 4.0 * (d * d + d)]),
                                marker)
            implot.end_plot()

    def _mask_row_plot(self) -> None:
        model = self.model
        t = int(np.clip(model.token, 1, len(model.q)))
        if implot.begin_plot(f"L_tj at t = {t}###mask"):
            implot.setup_axes("token j", "L_tj", implot.AxisFlags_.auto_fit.value, 0)
            implot.setup_axis_limits(implot.ImAxis_.y1.value, -0.02, 1.05, implot.Cond_.always.value)
            js = np.arange(1, t + 1, dtype=np.float64)
            implot.plot_shaded("L_tj", js, _finite(model.mask[t - 1, :t]), 0.0,
                               implot.Spec(fill_color=LINEAR, fill_alpha=0.35))
            implot.plot_line("##L", js, _finite(model.mask[t - 1, :t]), implot.Spec(line_color=LINEAR, line_weight=2.0))
            memory = 1.0 / max(1e-12, 1.0 - float(np.mean(model.decays)))
            if memory < t:
                implot.plot_inf_lines("t − 1/(1−a)", np.array([t - memory + 1]), implot.Spec(line_color=QUADRATIC))
            implot.end_plot()

    def _benchmark_plot(self) -> None:
        bench = self.model.bench
        if not implot.begin_plot("benchmark: seconds against N, log-log"):
            return
        implot.setup_axes("N", "seconds", implot.AxisFlags_.auto_fit.value, implot.AxisFlags_.auto_fit.value)
        implot.setup_axis_scale(implot.ImAxis_.x1.value, implot.Scale_.log10.value)
        implot.setup_axis_scale(implot.ImAxis_.y1.value, implot.Scale_.log10.value)
        implot.setup_legend(implot.Location_.north_west.value)
        if bench is None:
            implot.plot_text("switch on the benchmark in the panel", 0.5, 0.5)
            implot.end_plot()
            return
        for form, color in (("quadratic", QUADRATIC), ("linear", LINEAR)):
            measured = sorted(bench.seconds[form].items())
            if not measured:
                continue
            ns = np.array([m[0] for m in measured], np.float64)
            seconds = np.array([m[1] for m in measured], np.float64)
            fitted = bench.fit(form)
            label = f"{form}: slope {fitted[0]:.2f}" if fitted else f"{form}"
            implot.plot_line(label, ns, seconds, implot.Spec(line_color=color, line_weight=1.5,
                                                             marker=implot.Marker_.circle.value, marker_size=4))
            if fitted:
                span = np.array([bench.fit_min, ns[-1]], np.float64)
                implot.plot_line(f"##fit {form}", span, 10 ** (fitted[1] + fitted[0] * np.log10(span)),
                                 implot.Spec(line_color=imgui.ImVec4(color.x, color.y, color.z, 0.45), line_weight=6.0))
            if bench.stopped[form] is not None:  # the first size it was not run at, tagged on the N axis
                skipped = [n for n in bench.sizes if n > ns[-1]]
                if skipped:
                    implot.tag_x(float(skipped[0]), color, f"{form} stopped")
        quiet = implot.ItemFlags_.no_legend.value  # these lines are labelled by tags on their axes
        implot.plot_inf_lines("##budget", np.array([bench.size_budget_s]),
                              implot.Spec(line_color=BUDGET, flags=quiet | implot.InfLinesFlags_.horizontal.value))
        implot.tag_y(bench.size_budget_s, BUDGET, "budget")
        crossover = bench.crossover()
        if crossover is not None:
            implot.plot_inf_lines("##crossover", np.array([crossover]), implot.Spec(line_color=GOOD, flags=quiet))
            implot.tag_x(crossover, GOOD, f"N≈{crossover:.0f}")
        implot.end_plot()

