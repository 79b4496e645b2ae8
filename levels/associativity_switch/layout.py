"""Where the associativity switch draws things: the chain φ(Q)·φ(K)ᵀ·V with its parentheses above,
what the chosen parentheses build below, every matrix to scale (one world unit is one cell).

Plain geometry, no GL and no ImGui: the view draws what :func:`layout` places.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CHAIN_NAMES = {"attention": ("φ(Q)", "φ(K)ᵀ", "V"), "ssd": ("C", "Bᵀ", "x")}  # SSD: C = φ(Q), B = φ(K), x = V
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

    def marked(self, kind: str, t: int) -> "Box":
        """What the cursor at token ``t`` marks here: its ``row``, its ``col``, or the columns
        ``read`` so far (1..t)."""
        if kind == "read":
            return Box(self.x0, self.y0, t, self.rows)
        return self.row(t - 1) if kind == "row" else self.col(t - 1)

    def contains(self, point) -> bool:
        return self.x0 <= point[0] <= self.x1 and self.y0 <= point[1] <= self.y1

    def outline(self) -> np.ndarray:
        return np.array([[self.x0, self.y0], [self.x1, self.y0], [self.x1, self.y1], [self.x0, self.y1],
                         [self.x0, self.y0]])

    def dashed(self, dash: float) -> np.ndarray:
        """Segments (pairs of points) of the outline drawn dashed."""
        corners, segments = self.outline(), []
        for a, b in zip(corners[:-1], corners[1:]):
            length = float(np.linalg.norm(b - a))
            for k in range(max(1, int(length / (2 * dash)))):
                t0, t1 = 2 * k * dash / length, min(1.0, (2 * k + 1) * dash / length)
                segments += [a + (b - a) * t0, a + (b - a) * t1]
        return np.array(segments)


def parenthesis(x: float, y_mid: float, height: float, opening: bool, bulge: float) -> np.ndarray:
    """A parenthesis as a half-ellipse through (x, y_mid ± height/2), bulging outward."""
    theta = np.linspace(-0.5 * math.pi, 0.5 * math.pi, 33)
    side = -1.0 if opening else 1.0
    return np.stack([x + side * bulge * np.cos(theta), y_mid + 0.5 * height * np.sin(theta)], axis=1)


def layout(mode: str, n: int, d: int) -> dict:
    """Where everything goes, in cells: two rows, the chain above and its evaluation below.

    Each row is a sequence of boxes ``(name, columns, rows)`` and operators (text), vertically
    centred on the row's middle and horizontally on x = 0. Returns the boxes by name (the
    chain's ``q``, ``k``, ``v``), what the cursor token marks as (box name, ``"row"``, ``"col"``
    or ``"read"``: see :meth:`Box.marked`), the operators as (text, x, y), the parentheses as
    (x_open, x_close, y_middle, height), the magnification of the zoomed state, the bounds, the
    fixed labels as (world point, text, text lines down from it (negative: up), muted) and the
    box under which the mode's live caption goes.
    """
    gap = max(3.0, 0.1 * max(n, d))
    zoom = 0.55 * n / d  # the magnified state is about half as tall as the N×N matrix

    def place(items, y_mid):
        widths = [item[1] if isinstance(item, tuple) else gap * max(1.0, OPERATOR_GAPS_PER_CHAR * len(item))
                  for item in items]
        total = sum(widths) + gap * (len(items) - 1)
        x = -0.5 * total
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
        return boxes, operators, total

    tall, wide, square = (d, n), (n, d), (n, n)  # (columns, rows) of an N×d, a d×N, an N×N matrix
    slot = max(n, d)  # RNN mode: the N×N outline and the state, which is larger when d > N
    if mode == "transformer":
        chain = ["(", ("q", *tall), ("k", *wide), ")", "·", ("v", *tall)]
        evaluation = [("weights", *square), "·", ("values", *tall), "=", ("Y", *tall)]
        cursor = [("q", "row"), ("k", "read"), ("weights", "row"), ("Y", "row")]
    elif mode == "rnn":
        chain = [("q", *tall), "·", "(", ("k", *wide), ("v", *tall), ")"]
        evaluation = [("slot", slot, slot), "⇒", ("Y", *tall)]
        cursor = [("q", "row"), ("k", "col"), ("v", "row"), ("Y", "row")]
    else:
        chain = ["L ∘", "(", ("q", *tall), ("k", *wide), ")", "·", ("v", *tall)]
        evaluation = [("L", *square), "∘ CBᵀ =", ("scores", *square), "· x =", ("y", *tall), "",
                      ("zoom", max(1.0, zoom) * d, max(1.0, zoom) * d)]
        cursor = [("q", "row"), ("L", "row"), ("scores", "row"), ("y", "row")]
    chain_height = max(n, d)
    eval_height = max(n, d, zoom * d)
    chain_mid = 0.5 * chain_height
    eval_mid = -ROW_GAP * gap - 0.5 * eval_height
    chain_boxes, chain_ops, chain_width = place(chain, chain_mid)
    boxes, eval_ops, eval_width = place(evaluation, eval_mid)
    parens = (chain_boxes.pop("("), chain_boxes.pop(")"), chain_mid, chain_height + 0.3 * gap)
    boxes.update(chain_boxes)
    if mode == "rnn":  # the state sits where the N×N matrix would start, magnified inside it
        slot_box = boxes.pop("slot")
        boxes["ghost"] = Box(slot_box.x0, slot_box.y1 - n, n, n)
        boxes["state"] = Box(slot_box.x0, slot_box.y1 - d, d, d)
        boxes["normaliser"] = Box(slot_box.x0 + d + 0.25 * gap, slot_box.y1 - d, 1, d)
        if zoom >= MIN_ZOOM:
            margin = 0.08 * slot
            boxes["zoom"] = Box(slot_box.x1 - margin - zoom * d, slot_box.y0 + margin, zoom * d, zoom * d)
    labels = []

    def above(name, text, muted=False):
        labels.append(((0.5 * (boxes[name].x0 + boxes[name].x1), boxes[name].y1), text, -0.8, muted))

    def below(name, text, lines=0.8):
        labels.append(((0.5 * (boxes[name].x0 + boxes[name].x1), boxes[name].y0), text, lines, True))

    names = CHAIN_NAMES["ssd" if mode == "ssd" else "attention"]
    for name, text, (rows, cols) in zip("qkv", names, ((n, d), (d, n), (n, d))):
        above(name, text)
        below(name, f"{rows}×{cols}")
    if mode == "transformer":
        caption = "weights"
        above("weights", f"φ(Q)φ(K)ᵀ, causal: {n}×{n} weights")
        below("weights", "each row scaled to its largest weight", 2.0)
        above("values", "V")
    elif mode == "rnn":  # captions under the lower of the N×N outline and the state (larger when d > N)
        caption = "state" if boxes["state"].y0 < boxes["ghost"].y0 else "ghost"
        below(caption, f"dashed: the {n}×{n} matrix they replace", 2.0)
        if "zoom" in boxes:
            above("zoom", f"S_t magnified ×{zoom:.3g}", muted=True)
    else:
        caption = "L"
        above("L", f"decay mask L ({n}×{n})")
        above("scores", "L ∘ CBᵀ")
        below("scores", "rows scaled to their max")
        above("zoom", f"h_t ({d}×{d}) ×{max(1.0, zoom):.3g}")
        below("zoom", "the recurrence's state")
    above("y" if mode == "ssd" else "Y", "y" if mode == "ssd" else "Y")
    if mode != "ssd":
        labels.append(((0.5 * (parens[0] + parens[1]), chain_mid + 0.5 * parens[3]),
                       "click φ(Q) or V to move the parentheses", -1.6, True))
    width = max(chain_width, eval_width)
    return {"boxes": boxes, "operators": [op for op in chain_ops + eval_ops if op[0]], "parens": parens,
            "gap": gap, "labels": labels, "caption": caption, "cursor": cursor,
            "bounds": (-0.5 * width, eval_mid - 0.5 * eval_height - gap, 0.5 * width, chain_height + gap)}
