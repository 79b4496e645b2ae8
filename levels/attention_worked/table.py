"""Where the worked table puts its numbers: plain geometry, no GL and no ImGui.

The table is a grid: a label column, one column per token and a Σ column. Its rows come in
blocks (the attention matrix, the worked row, the derivation of the chosen number, the note on
the seed's slip), each with a priority: a pane too small for all of them keeps the most important
blocks whole, never a block cut in half. The view measures the text, this module places it, and
clicks are found back in the boxes it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: one line of the table: ``(key, text)`` cells for the label column, the token columns and the Σ
#: column (None: an empty cell), or one ``(key, wordings)`` span: a text, or several longest first
#: (the longest that fits the pane's width is shown)
Cells = list


@dataclass
class Block:
    """Rows shown together or not at all. ``priority``: the highest are kept first; ``gap``: room
    above the block, in lines."""

    name: str
    rows: list  # each: a list of cells [label, col 0, col 1, col 2, Σ] or a single (key, text) span
    priority: float
    gap: float = 0.0


@dataclass(frozen=True)
class Placed:
    """A cell of text where it is drawn: ``box`` = (x0, y0, x1, y1) in pane units from the top-left,
    ``align`` 0 left, 1 right (numbers), ``block`` the block it belongs to."""

    key: tuple
    text: str
    box: tuple[float, float, float, float]
    align: float
    block: str


def place(blocks: list[Block], width: float, height: float, em: float, measure: Callable[[str], float],
          line: float | None = None, pad: float | None = None) -> tuple[list[Placed], list[str]]:
    """Lay ``blocks`` out top to bottom in a pane ``width`` × ``height``: the most important blocks
    that fit, in their given order. Returns the placed cells and the names of the blocks shown.

    Columns: the label column as wide as its widest label, then three token columns and a Σ column
    as wide as the widest number in them, the whole grid centred. A span starts where the grid does
    and may run to the pane's right edge (further left when it needs to); it shows the longest of
    its wordings that fits (the view shortens one that still does not). A block is left out whole
    when it does not fit the height, or when its grid does not fit the width (the Σ column goes
    first)."""
    line = 1.4 * em if line is None else line
    pad = 0.5 * em if pad is None else pad

    def widths(chosen: list[Block], with_sum: bool) -> list[float]:
        cols = [0.0] * 5
        for block in chosen:
            for row in block.rows:
                if isinstance(row, tuple):
                    continue
                for c, cell in enumerate(row):
                    if cell is not None and (with_sum or c < 4):
                        cols[c] = max(cols[c], measure(cell[1]))
        numbers = max(cols[1:4])
        return [cols[0], numbers, numbers, numbers, cols[4] if with_sum else 0.0]

    def table_width(cols: list[float]) -> float:
        return sum(w + pad for w in cols if w > 0) + pad

    def height_of(chosen: list[Block]) -> float:
        return sum((len(b.rows) + b.gap) * line for b in chosen) + 0.3 * em

    kept: list[Block] = []
    for block in sorted(blocks, key=lambda b: -b.priority):
        trial = [b for b in blocks if b in kept or b is block]
        if height_of(trial) <= height and table_width(widths(trial, False)) <= width:
            kept = trial
    with_sum = table_width(widths(kept, True)) <= width
    cols = widths(kept, with_sum)
    total = table_width(cols)
    left = max(0.0, 0.5 * (width - total))
    starts, x = [], left + pad
    for w in cols:
        starts.append(x)
        x += w + pad if w > 0 else 0.0
    placed: list[Placed] = []
    y = 0.3 * em
    for block in kept:
        y += block.gap * line
        for row in block.rows:
            top, bottom = y, y + line
            if isinstance(row, tuple):
                wordings = [row[1]] if isinstance(row[1], str) else list(row[1])
                text = next((t for t in wordings if measure(t) <= width - 2 * pad), wordings[-1])
                x0 = min(left + pad, max(pad, width - pad - measure(text)))
                placed.append(Placed(row[0], text, (x0, top, width - pad, bottom), 0.0, block.name))
            else:
                for c, cell in enumerate(row):
                    if cell is None or cols[c] <= 0:
                        continue
                    box = (starts[c] - 0.5 * pad, top, starts[c] + cols[c] + 0.5 * pad, bottom)
                    placed.append(Placed(cell[0], cell[1], box, 0.0 if c == 0 else 1.0, block.name))
            y = bottom
    return placed, [b.name for b in kept]


def hit(placed: list[Placed], point: tuple[float, float]) -> Placed | None:
    """The cell under ``point`` (pane units), if any."""
    x, y = point
    for cell in placed:
        x0, y0, x1, y1 = cell.box
        if x0 <= x <= x1 and y0 <= y <= y1:
            return cell
    return None
