"""Where the associativity switch draws things: the chain φ(Q)·φ(K)ᵀ·V with its parentheses above,
what the chosen parentheses build below, every matrix to scale (one world unit is one cell).
The room for text (between the rows, above and below them, around each operator) grows with the
text's size in world units, which the view measures at the scale the camera shows the layout:
labels keep clear of each other and of the matrices in a small window and at a large UI scale.
Plain geometry, no GL and no ImGui: the view draws what :func:`layout` places."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

CHAIN_NAMES = {"attention": ("φ(Q)", "φ(K)ᵀ", "V"), "ssd": ("C", "Bᵀ", "x")}  # SSD: C = φ(Q), B = φ(K), x = V
ROW_GAP = 3.5  # gaps between the chain and its evaluation: room for two rows of labels
OPERATOR_GAPS_PER_CHAR = 0.55  # an operator of several characters takes this many gaps per character
MIN_ZOOM = 1.5  # RNN mode magnifies the state only when it is this much smaller than half the N×N outline


class Box(NamedTuple):
    """A world-space rectangle (y up) of a matrix's cells, one world unit each, row 0 at the top."""

    x0: float
    x1: float
    y0: float
    y1: float

    def top(self) -> tuple[float, float]:
        return (0.5 * (self.x0 + self.x1), self.y1)

    def bottom(self) -> tuple[float, float]:
        return (0.5 * (self.x0 + self.x1), self.y0)

    def marked(self, kind: str, t: int) -> "Box":
        """What the cursor at token ``t`` marks here: its ``row``, its ``col``, or the columns
        ``read`` so far (1..t)."""
        x0, x1, y0, y1 = self
        return {"row": Box(x0, x1, y1 - t, y1 - t + 1), "col": Box(x0 + t - 1, x0 + t, y0, y1),
                "read": Box(x0, x0 + t, y0, y1)}[kind]

    def contains(self, point) -> bool:
        return self.x0 <= point[0] <= self.x1 and self.y0 <= point[1] <= self.y1

    def dashed(self, dash: float) -> np.ndarray:
        """Segments (pairs of points) of the outline drawn dashed."""
        x0, x1, y0, y1 = self
        corners, segments = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]), []
        for a, b in zip(corners[:-1], corners[1:]):
            length = float(np.linalg.norm(b - a))
            starts = np.arange(0.0, length, 2 * dash) / length
            segments.append(a + (b - a) * np.stack([starts, np.minimum(starts + dash / length, 1.0)], 1)[:, :, None])
        return np.concatenate(segments).reshape(-1, 2)


def cells(x0: float, y0: float, cols: float, rows: float) -> Box:
    """The box of ``cols`` × ``rows`` cells from the corner (x0, y0)."""
    return Box(x0, x0 + cols, y0, y0 + rows)


def parenthesis(x: float, y_mid: float, height: float, opening: bool, bulge: float) -> np.ndarray:
    """A parenthesis as a half-ellipse through (x, y_mid ± height/2), bulging outward."""
    theta = np.linspace(-0.5 * math.pi, 0.5 * math.pi, 33)
    side = -1.0 if opening else 1.0
    return np.stack([x + side * bulge * np.cos(theta), y_mid + 0.5 * height * np.sin(theta)], axis=1)


def layout(mode: str, n: int, d: int, em: float = 0.0, operator_width: Callable[[str], float] | None = None) -> dict:
    """Where everything goes, in cells: two rows, the chain above and its evaluation below.

    Each row is a sequence of boxes ``(name, columns, rows)`` and operators (text), vertically
    centred on the row's middle and horizontally on x = 0. Returns the boxes by name (the
    chain's ``q``, ``k``, ``v``), what the cursor token marks as (box name, ``"row"``, ``"col"``
    or ``"read"``: see :meth:`Box.marked`), the operators as (text, x, y), the parentheses as
    (x_open, x_close, y_middle, height), the bounds, the fixed labels as (world point, wordings
    longest first, text lines down from it (negative: up), muted, the width it may take) and the
    box under which the mode's live caption goes.

    ``em`` is the text's height in world units and ``operator_width(text)`` an operator's drawn
    width (both 0 for the bare geometry): the rows and margins keep that much room for labels.
    """
    gap = max(3.0, 0.1 * max(n, d))
    zoom = 0.55 * n / d  # the magnified state is about half as tall as the N×N matrix
    measure = operator_width or (lambda text: 0.0)

    def place(items, y_mid):
        widths = [item[1] if isinstance(item, tuple) else
                  gap if item in ("", "(", ")") else
                  max(gap * max(1.0, OPERATOR_GAPS_PER_CHAR * len(item)), measure(item) + 0.6 * gap)
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
                boxes[name] = cells(x, y_mid - 0.5 * rows, cols, rows)
            x += width + gap
        return boxes, operators, total

    tall, wide, square = (d, n), (n, d), (n, n)  # (columns, rows) of an N×d, a d×N, an N×N matrix
    slot = max(n, d)  # RNN mode: the N×N outline and the state, which is larger when d > N
    up = -0.8  # a label's text lines from its box's top (negative: above) or, positive, from its bottom
    names = CHAIN_NAMES["ssd" if mode == "ssd" else "attention"]
    notes = [note for name, text, size in zip("qkv", names, (f"{n}×{d}", f"{d}×{n}", f"{n}×{d}"))
             for note in ((name, (text,), up, False), (name, (size,), 0.8, True))]  # (box, wordings, lines, muted)
    if mode == "transformer":
        chain = ["(", ("q", *tall), ("k", *wide), ")", "·", ("v", *tall)]
        evaluation = [("weights", *square), "·", ("values", *tall), "=", ("Y", *tall)]
        cursor = [("q", "row"), ("k", "read"), ("weights", "row"), ("Y", "row")]
        caption = "weights"
        weights = (f"φ(Q)φ(K)ᵀ, causal: {n}×{n} weights", f"φ(Q)φ(K)ᵀ: {n}×{n}", "φ(Q)φ(K)ᵀ")
        notes += [("weights", weights, up, False),
                  ("values", ("V",), up, False), ("Y", ("Y",), up, False),
                  ("weights", ("each row scaled to its largest weight", "rows scaled to their max", ""), 2.0, True)]
    elif mode == "rnn":
        chain = [("q", *tall), "·", "(", ("k", *wide), ("v", *tall), ")"]
        evaluation = [("slot", slot, slot), "⇒", ("Y", *tall)]
        cursor = [("q", "row"), ("k", "col"), ("v", "row"), ("Y", "row")]
        caption = "state" if d > n else "ghost"  # under the lower of the N×N outline and the state
        notes += [(caption, (f"dashed: the {n}×{n} matrix they replace", f"dashed: {n}×{n}", ""), 2.0, True),
                  ("Y", ("Y",), up, False),
                  ("zoom", (f"S_t magnified ×{zoom:.3g}", f"S_t ×{zoom:.3g}", ""), up, True)]
    else:
        chain = ["L ∘", "(", ("q", *tall), ("k", *wide), ")", "·", ("v", *tall)]
        evaluation = [("L", *square), "∘ CBᵀ =", ("scores", *square), "· x =", ("y", *tall), "",
                      ("zoom", max(1.0, zoom) * d, max(1.0, zoom) * d)]
        cursor = [("q", "row"), ("L", "row"), ("scores", "row"), ("y", "row")]
        caption = "L"
        notes += [("L", (f"decay mask L ({n}×{n})", "decay mask L", "L"), up, False),
                  ("scores", ("L ∘ CBᵀ",), up, False), ("y", ("y",), up, False),
                  ("scores", ("rows scaled to their max", ""), 2.0, True),
                  ("zoom", (f"h_t ({d}×{d}) ×{max(1.0, zoom):.3g}", "h_t", ""), up, False),
                  ("zoom", ("the recurrence's state", ""), 0.8, True)]
    chain_height, eval_height = max(n, d), max(n, d, zoom * d)
    # Between the rows: the chain's sizes under it and the evaluation's titles over it, a line each.
    chain_mid, eval_mid = 0.5 * chain_height, -max(ROW_GAP * gap, 2.9 * em + 0.5 * gap) - 0.5 * eval_height
    chain_boxes, chain_ops, chain_width = place(chain, chain_mid)
    boxes, eval_ops, eval_width = place(evaluation, eval_mid)
    parens = (chain_boxes.pop("("), chain_boxes.pop(")"), chain_mid, chain_height + 0.3 * gap)
    boxes.update(chain_boxes)
    if mode == "rnn":  # the state sits where the N×N matrix would start, magnified inside it
        x0, x1, y0, top = boxes.pop("slot")
        boxes["ghost"], boxes["state"] = cells(x0, top - n, n, n), cells(x0, top - d, d, d)
        boxes["normaliser"] = cells(x0 + d + 0.25 * gap, top - d, 1, d)
        if zoom >= MIN_ZOOM:
            margin = 0.08 * slot
            boxes["zoom"] = cells(x1 - margin - zoom * d, y0 + margin, zoom * d, zoom * d)
    width = max(chain_width, eval_width)
    labels = [(boxes[name].top() if lines < 0 else boxes[name].bottom(), text, lines, muted,
               width if lines > 1 else boxes[name].x1 - boxes[name].x0 + gap)  # a title: its box and a gap
              for name, text, lines, muted in notes if name in boxes]
    top = chain_height + max(gap, 1.5 * em)  # the chain's titles
    if mode != "ssd":
        labels.append(((0.5 * (parens[0] + parens[1]), chain_mid + 0.5 * parens[3]),
                       ("click φ(Q) or V to move the parentheses", "click φ(Q) or V", ""), -2.0, True, width))
        top = max(top, chain_mid + 0.5 * parens[3] + 2.7 * em)
    bottom = eval_mid - 0.5 * eval_height - max(gap, 2.8 * em)  # the caption and a note under the evaluation
    return {"boxes": boxes, "operators": [op for op in chain_ops + eval_ops if op[0]], "parens": parens,
            "gap": gap, "labels": labels, "caption": caption, "cursor": cursor, "width": width,
            "bounds": (-0.5 * width, 0.5 * width, bottom, top)}
