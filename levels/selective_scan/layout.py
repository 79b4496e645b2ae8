"""Where the selective scan's view draws things, in world units, with room for its text.

The scene stacks, top to bottom: the stream of tokens, the gate strip, the share bars, the scan
tree and the sequential loop, with the register grids to the right. Between them are rows of
text, and a row's height in world units depends on how large the text is against the pane (the
window's size and the UI scale): :func:`scan_layout` gives every text row the room of one line at
the scale the camera will show it, so labels never run into each other or into the pictures. When
the pane is short for its text (a small window at a large UI scale), the optional rows go first, in
the order of :data:`OPTIONAL`. Plain geometry, no GL and no ImGui.
"""

from __future__ import annotations

from typing import NamedTuple

WIDTH = 100.0  # the stream spans x in [0, WIDTH] whatever its length
REGISTERS_WIDTH = 26.0  # the register grids, right of the stream
STREAM_HEIGHT, GATES_HEIGHT, SHARES_HALF, TREE_HEIGHT, LOOP_DROP = 4.0, 12.0, 8.0, 20.0, 3.0
CONTENT_HEIGHT = STREAM_HEIGHT + GATES_HEIGHT + 2 * SHARES_HALF + TREE_HEIGHT + LOOP_DROP
LINE = 1.3  # a row of text, in font sizes
TEXT_SHARE_MAX = 0.5  # rows of text take at most this share of the pane's height: then optional rows go
#: the optional rows of text, in the order they give way when the pane is short
OPTIONAL = ("tree_title", "loop_label", "stream_title", "gate_title")
#: rows that always stay: the register numbers over the stream, the share bars' title and the LTI
#: caption (their rows also keep the tick labels apart), the tree's round
ALWAYS = ("marks", "shares_title", "lti_caption", "status")


class ScanLayout(NamedTuple):
    """Every row's place (world y ranges, top above bottom) and the text rows that have room."""

    line: float  # world height of one row of text
    shown: frozenset  # the optional rows of text kept (names from OPTIONAL; those of ALWAYS always are)
    rows: dict  # text row name -> the world y of its top
    stream: tuple[float, float]
    gates: tuple[float, float]
    shares_base: float  # the share bars: selective up from here, LTI down, SHARES_HALF each way
    tree: tuple[float, float]
    loop_y: float
    registers_x: float  # the grids' left edge
    grids: tuple[tuple[float, float], tuple[float, float]]  # the selective and the LTI grid's y ranges
    bounds: tuple[float, float, float, float]  # what the camera frames: x0, x1, y0, y1


def scan_layout(pane: tuple[float, float], font: float, left_px: float, right_px: float,
                gap_px: float) -> ScanLayout:
    """The layout for a pane of ``pane`` = (width, height) window units with text ``font`` units
    high. ``left_px`` is kept free left of the stream (the tick labels), ``gap_px`` between the stream
    and the grids (the register numbers), ``right_px`` right of the grids (the ✓ and ✗)."""
    width_px, height_px = max(pane[0], 1.0), max(pane[1], 1.0)
    row_px = LINE * font
    dropped = 0
    while dropped < len(OPTIONAL) and (len(ALWAYS) + len(OPTIONAL) - dropped) * row_px > TEXT_SHARE_MAX * height_px:
        dropped += 1
    shown = frozenset(OPTIONAL[dropped:])
    text_px = (len(ALWAYS) + len(shown)) * row_px
    content_width = WIDTH + REGISTERS_WIDTH
    # World units per window unit: the content fills what the text leaves, in height and in width.
    scale = max(CONTENT_HEIGHT / max(height_px - text_px, 0.2 * height_px),
                content_width / max(width_px - left_px - gap_px - right_px, 0.2 * width_px))
    line = row_px * scale
    rows, y = {}, 0.0

    def row(name: str) -> None:
        nonlocal y
        if name in ALWAYS or name in shown:
            rows[name] = y
            y -= line

    row("stream_title")
    row("marks")
    stream = (y - STREAM_HEIGHT, y)
    y -= STREAM_HEIGHT
    if "gate_title" in shown:
        row("gate_title")
    else:
        y -= 0.2 * line
    gates = (y - GATES_HEIGHT, y)
    y -= GATES_HEIGHT
    row("shares_title")
    shares_base = y - SHARES_HALF
    shares_bottom = y - 2 * SHARES_HALF
    y = shares_bottom
    row("lti_caption")
    row("tree_title")
    row("status")
    tree = (y - TREE_HEIGHT, y)
    loop_y = tree[0] - LOOP_DROP
    y = loop_y
    row("loop_label")
    bottom = y - 0.3 * line
    registers_x = WIDTH + gap_px * scale
    each = 0.5 * (stream[1] - shares_bottom - line)  # the two grids, the LTI one's title between them
    grids = ((stream[1] - each, stream[1]), (shares_bottom, shares_bottom + each))
    bounds = (-left_px * scale, registers_x + REGISTERS_WIDTH + right_px * scale, bottom, 0.2 * line)
    return ScanLayout(line, shown, rows, stream, gates, shares_base, tree, loop_y, registers_x, grids, bounds)
