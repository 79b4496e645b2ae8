"""The KV-cache lab, drawn. Left: the formula, a cell per symbol (click one to double it, shift-click
to halve it), and under it the memory of the configuration built and of each lever applied to it:
weights and KV cache stacked against the card's line. Right: the serving simulation, the same
requests held in memory preallocated to the longest length (above) and in blocks (below). Plots:
the cache against the context length, the toy decoder's work per token with and without the cache
(and its measured times once timed), and the empty share of each kind of memory over the run.
While a prediction is open, every result is hidden: only the symbols show."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.camera import Camera2D
from sandbox.kit import PALETTE, Plot, hline, line, plot_strip, titled, vlines
from sandbox.view import Pane, View

from .kvmath import (
    CARDS,
    DTYPES,
    GIB,
    LEVERS,
    PRESETS,
    SPEC_BANDWIDTH,
    WINDOWS,
    ToyDecoder,
    best_lever,
    lever_moves,
    lever_savings,
    measure_bandwidth,
    number,
    time_decoding,
    time_prefill,
    units,
)

MUTED, KV, WEIGHTS, CARD, ACCENT = PALETTE.muted, PALETTE.sky, PALETTE.grid, PALETTE.yellow, PALETTE.orange
USED, WASTE, PARTIAL = PALETTE.sky, PALETTE.vermillion, PALETTE.orange
BAR_NAMES = (("your build", "now"), ("B / 2", "B/2"), ("T / 2", "T/2"), ("MQA", "MQA"), ("4-bit", "4b"),
             ("window 4096", "W4k"))
FORMULA_SHARE = (0.08, 0.55)  # the formula strip's share of the scene's height: at least, at most
HIDDEN_NOTE = "Predict first: the memory, the levers and the paging show after the reveal."


@dataclass
class Cell:
    """A symbol of the formula as drawn: ``box`` = (x0, y0, x1, y1) from the pane's top-left."""

    key: str
    symbol: str
    value: str
    box: tuple[float, float, float, float]


def flow(items: list[tuple[str, float]], width: float, height_per_row: float, gap: float,
         pad: float) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Place items of the given widths left to right, wrapping to a new row where the pane ends."""
    out, x, y = [], pad, pad
    for key, w in items:
        if x > pad and x + w > width - pad:
            x, y = pad, y + height_per_row
        out.append((key, (x, y, x + w, y + height_per_row - 0.5 * gap)))
        x += w + gap
    return out


class KVCacheView(View):
    camera = "2d"
    controls = (("click a symbol of the formula", "doubles it (bytes: one step more); the memory follows"),
                ("shift-click a symbol", "halves it (bytes: one step fewer)"))

    def __init__(self, context):
        super().__init__(context)
        self.paging_cam, self.formula_cam = Camera2D(), Camera2D()
        self.formula_share = 0.2  # of the scene's height, adapted to the cells (see _adapt_formula)
        self.one_line = False  # the cells as "B = 8" rather than B over 8 (a short scene)
        self.cells: list[Cell] = []
        self.timings: dict | None = None  # the toy decoder's measured times (press the button)
        self.prefill: dict | None = None
        self.bandwidth: float | None = None  # this machine's measured bytes/s
        self.preset_index = 0
        #: a prediction for the learner's own build: while ``guessing`` the levers' results are hidden;
        #: ``verdict`` = (the lever picked, the lever measured, the build it was measured on)
        self.guessing = False
        self.guess: int | None = None
        self.verdict: tuple[str, str, object] | None = None

    def panes(self):
        top = self.formula_share
        return [Pane("formula", self.formula_cam, (0.0, 0.0, 1.0, top)),
                Pane("memory", self.cam, (0.0, top, 0.6, 1.0 - top)),
                Pane("paging", self.paging_cam, (0.6, top, 0.4, 1.0 - top))]

    def _adapt_formula(self, frame) -> None:
        """Give the formula's strip the height its cells need (they wrap on a narrow scene)."""
        needed = self._layout_formula(frame) + 0.4 * imgui.get_font_size()
        scene = frame.size[1] / max(self.formula_share, 1e-6)
        share = float(np.clip(needed / max(scene, 1.0), *FORMULA_SHARE))
        if abs(share - self.formula_share) > 0.005:
            self.formula_share = share
            self.context.request_frames(2)

    # -- geometry: world units are the pane's window units, y up -----------------------------------

    @staticmethod
    def _fit(frame) -> None:
        width, height = frame.size
        frame.camera.fit(0.0, width, -height, 0.0, 0.0)

    def rect_px(self, frame, boxes, color) -> None:
        """Rectangles given as (x0, y0, x1, y1) from the pane's top-left."""
        boxes = np.atleast_2d(np.asarray(boxes, np.float64))
        if len(boxes):
            self.rects(frame, np.stack([boxes[:, 0], boxes[:, 2], -boxes[:, 3], -boxes[:, 1]], 1), color)

    # -- the formula's cells -------------------------------------------------------------------

    def formula_items(self) -> list[tuple[str, str, str]]:
        """(key, symbol, value) of each cell: the seven factors and the result."""
        p, model = self.params, self.model
        config = model.config()
        context = f"{p['context']}" if config.window == 0 or config.context <= config.window else \
            f"{config.cached_tokens} (W)"
        result = "?" if self.challenge.hide_answers else units(config.kv_bytes())
        return [("batch", "B", f"{p['batch']}"), ("layers", "N_layers", f"{p['layers']}"),
                ("context", "T", context), ("kv_heads", "H_kv", f"{p['kv_heads']}"),
                ("d_head", "d_head", f"{p['d_head']}"), ("two", "K, V", "2"),
                ("cache_dtype", "bytes", f"{DTYPES[p['cache_dtype']]:g}"), ("result", "= Mem_KV", result)]

    def _layout_formula(self, frame) -> float:
        """Place the cells, each its symbol over its value, or on one line ("B = 8") when two lines
        would take more than a third of the scene; returns where they end (from the pane's top)."""
        em = imgui.get_font_size()
        line_h = imgui.get_text_line_height()
        items = self.formula_items()
        scene = frame.size[1] / max(self.formula_share, 1e-6)
        width = lambda text: imgui.calc_text_size(text).x
        stacked = [(key, max(width(sym), width(val)) + 0.8 * em) for key, sym, val in items]
        placed = flow(stacked, frame.size[0], 2 * line_h + 0.6 * em, 0.9 * em, 0.5 * em)
        self.one_line = placed[-1][1][3] > scene / 3
        if self.one_line:
            joined = [(key, width(self._joined(sym, val)) + 0.8 * em) for key, sym, val in items]
            placed = flow(joined, frame.size[0], line_h + 0.6 * em, 0.7 * em, 0.3 * em)
        self.cells = [Cell(key, sym, val, box) for (key, sym, val), (_, box) in zip(items, placed)]
        return max(box[3] for _, box in placed) if placed else 0.0

    @staticmethod
    def _joined(symbol: str, value: str) -> str:
        return f"= {value}" if symbol.startswith("=") else f"{symbol} = {value}"

    def click_cell(self, key: str, halve: bool) -> None:
        """Double (or halve) the symbol's parameter within its range; bytes move one format."""
        if self.challenge.locked or key in ("two", "result"):
            return
        p = self.params
        if key == "cache_dtype":
            order = sorted(DTYPES, key=DTYPES.get)  # fewest bytes first
            k = order.index(p[key]) + (-1 if halve else 1)
            if 0 <= k < len(order):
                self.context.set_param(key, order[k])
            return
        spec = self.context.manifest.params[key]
        value = p[key] // 2 if halve else p[key] * 2
        self.context.set_param(key, int(min(max(value, spec.min), spec.max)))

    # -- input ---------------------------------------------------------------------------------

    def handle_input(self, frame) -> bool:
        """Clicks on the formula's symbols; the panes themselves stay put (no pan, no zoom)."""
        inp = frame.input
        if frame.pane == "formula" and inp.clicked and inp.hovered:
            x, y = inp.mouse[0] / frame.pixel_ratio, inp.mouse[1] / frame.pixel_ratio
            for cell in self.cells:
                x0, y0, x1, y1 = cell.box
                if x0 <= x <= x1 and y0 <= y <= y1:
                    self.click_cell(cell.key, inp.shift)
                    break
        return inp.hovered

    # -- drawing -------------------------------------------------------------------------------

    def scene(self, frame) -> None:
        self._fit(frame)
        if frame.pane == "formula":
            self._formula_scene(frame)
        elif frame.pane == "memory":
            self._memory_scene(frame)
        else:
            self._paging_scene(frame)

    def bars(self) -> list[tuple[float, float]]:
        """(weights GiB, KV GiB) of the configuration built and of each lever applied to it."""
        model = self.model
        weights = model.weight_bytes() / GIB
        config = model.config()
        moved = lever_moves(config)
        return [(weights, config.kv_bytes() / GIB)] + [(weights, moved[name].kv_bytes() / GIB) for name in LEVERS]

    def _bar_area(self, frame) -> tuple[float, float, float, float]:
        """(x0, top, x1, bottom) of the bars, below the formula, with room for values and names."""
        em = imgui.get_font_size()
        width, height = frame.size
        top = (self._title_lines(frame) + 1.6) * em  # the hint and the title, then the bars' values
        return 0.6 * em, top, width - 0.6 * em, height - 1.8 * em

    @staticmethod
    def _title_lines(frame) -> float:
        """Room for the hint and the title above the bars (in font sizes), in a pane tall enough."""
        return 2.8 if frame.size[1] > 14.0 * imgui.get_font_size() else 0.3

    def _other_cards(self, frame, scale: float) -> list:
        """The cards other than the chosen one that fall inside the chart, in a pane tall enough
        for their lines to stay clear of the bars' labels."""
        if frame.size[1] < 22.0 * imgui.get_font_size():
            return []
        return [(name, card) for name, card in CARDS.items() if name != self.params["gpu"] and card.gib < scale]

    def _scale(self) -> float:
        card = CARDS[self.params["gpu"]].gib
        return 1.12 * max(card, max(w + k for w, k in self.bars()))

    def _formula_scene(self, frame) -> None:
        self._layout_formula(frame)
        for cell in self.cells:
            color = PALETTE.grid.alpha(0.25) if cell.key not in ("two", "result") else PALETTE.grid.alpha(0.1)
            self.rect_px(frame, [cell.box], color)

    def _memory_scene(self, frame) -> None:
        if self.challenge.hide_answers:
            return
        x0, top, x1, bottom = self._bar_area(frame)
        if bottom - top < 20:
            return
        bars, scale = self.bars(), self._scale()
        slot = (x1 - x0) / len(bars)
        ys = lambda gib: bottom - (bottom - top) * gib / scale
        weights_boxes, kv_boxes = [], []
        for k, (w, kv) in enumerate(bars[:1] if self.guessing else bars):
            left, right = x0 + slot * (k + 0.18), x0 + slot * (k + 0.82)
            weights_boxes.append((left, ys(w), right, bottom))
            kv_boxes.append((left, ys(w + kv), right, ys(w)))
        self.rect_px(frame, weights_boxes, WEIGHTS.alpha(0.8))
        self.rect_px(frame, kv_boxes, [KV] + [KV.alpha(0.6)] * (len(kv_boxes) - 1))
        for name, other in self._other_cards(frame, scale):  # faint, where they fall inside a tall chart
            self.lines(frame, [(x0, -ys(other.gib)), (x1, -ys(other.gib))], CARD.alpha(0.3), 1.0)
        card = CARDS[self.params["gpu"]].gib
        self.lines(frame, [(x0, -ys(card)), (x1, -ys(card))], CARD, 2.0)
        self.lines(frame, [(x0, -bottom), (x1, -bottom)], MUTED, 1.0)

    def _paging_layout(self, frame) -> tuple[float, float, float, float, float]:
        """(x0, x1, top of the first half, top of the second half, row height)."""
        em = imgui.get_font_size()
        width, height = frame.size
        half = 0.5 * height
        lines = 2 if half > 2 * imgui.get_text_line_height() + 4.0 * em else 1
        title = lines * imgui.get_text_line_height() + 0.8 * em
        rows = len(self.model.paging.current)
        row_h = max((half - title - 0.4 * em) / rows, 0.5)
        return 0.6 * em, width - 0.6 * em, title, half + title, row_h

    def _paging_scene(self, frame) -> None:
        if self.challenge.hide_answers:
            return
        model = self.model
        x0, x1, top_a, top_b, row_h = self._paging_layout(frame)
        max_len, block = int(self.params["max_len"]), int(self.params["block"])
        current = model.paging.current.astype(np.float64)
        px = lambda tokens: x0 + (x1 - x0) * np.asarray(tokens) / max_len
        ys = top_a + row_h * np.arange(len(current))
        gap = 0.15 * row_h if row_h > 3 else 0.0
        # rectangles side by side, never overlapping: the scene draws with a depth test
        empty = np.stack([px(current), ys, np.full_like(ys, x1), ys + row_h - gap], 1)
        used = np.stack([np.full_like(ys, x0), ys, px(current), ys + row_h - gap], 1)
        self.rect_px(frame, empty, WASTE.alpha(0.45))
        self.rect_px(frame, used, USED)
        ys = top_b + row_h * np.arange(len(current))
        blocks = np.ceil(current / block) * block
        partial = np.stack([px(current), ys, px(blocks), ys + row_h - gap], 1)
        used = np.stack([np.full_like(ys, x0), ys, px(current), ys + row_h - gap], 1)
        self.rect_px(frame, partial, PARTIAL.alpha(0.9))
        self.rect_px(frame, used, USED)
        self.outline(frame, [(x0, x1, -(top_b + row_h * len(current)), -top_b)], MUTED.alpha(0.5), 1.0)

    # -- text ----------------------------------------------------------------------------------

    def overlay(self, draw_list, frame) -> None:
        if frame.pane == "formula":
            self._adapt_formula(frame)
            self._formula_text(draw_list, frame)
        elif frame.pane == "memory":
            self._memory_text(draw_list, frame)
        else:
            self._paging_text(draw_list, frame)

    def _fits(self, text: str, room: float) -> bool:
        return imgui.calc_text_size(text).x <= room

    def _formula_text(self, draw_list, frame) -> None:
        line_h = imgui.get_text_line_height()
        em = imgui.get_font_size()
        self._layout_formula(frame)
        for cell in self.cells:
            x0, y0, x1, _y1 = cell.box
            if self.one_line:
                text = self._joined(cell.symbol, cell.value)
                w = imgui.calc_text_size(text).x
                frame.text(draw_list, (0.5 * (x0 + x1 - w), y0 + 0.3 * em), text, PALETTE.text, plate=False)
                continue
            for k, (text, color) in enumerate(((cell.symbol, MUTED), (cell.value, PALETTE.text))):
                w = imgui.calc_text_size(text).x
                frame.text(draw_list, (0.5 * (x0 + x1 - w), y0 + 0.3 * em + k * line_h), text, color, plate=False)

    def _memory_text(self, draw_list, frame) -> None:
        line_h = imgui.get_text_line_height()
        em = imgui.get_font_size()
        if self.challenge.hide_answers:
            words = next((t for t in (HIDDEN_NOTE, "Predict first: results after the reveal.", "Predict first.")
                          if self._fits(t, frame.size[0] - 2 * em)), "")
            if words:
                frame.text(draw_list, (0.6 * em, 0.6 * em), words, MUTED, plate=False)
            return
        x0, top, x1, bottom = self._bar_area(frame)
        if bottom - top < 20:
            return
        bars, scale = self.bars(), self._scale()
        slot = (x1 - x0) / len(bars)
        ys = lambda gib: bottom - (bottom - top) * gib / scale
        title = next((t for t in ("memory: weights (grey) + KV cache (blue), then each lever applied",
                                  "weights + KV cache, and each lever", "memory, per lever")
                      if self._fits(t, frame.size[0] - 1.2 * em)), "")
        if self._title_lines(frame) > 1:
            hint = next((t for t in ("click a symbol above: ×2, shift-click: ÷2", "click a symbol: ×2, shift: ÷2",
                                     "click: ×2, shift: ÷2") if self._fits(t, frame.size[0] - 1.2 * em)), "")
            frame.text(draw_list, (0.6 * em, 0.3 * em), hint, ACCENT, plate=False)
            frame.text(draw_list, (0.6 * em, 0.3 * em + line_h + 2.0), title, MUTED, plate=False)
        for k, names in enumerate(BAR_NAMES):
            name = next((n for n in names if self._fits(n, slot - 2)), "")
            if name:
                cx = x0 + slot * (k + 0.5)
                frame.text(draw_list, (cx - 0.5 * imgui.calc_text_size(name).x, bottom + 0.3 * em), name,
                           PALETTE.text if k == 0 else MUTED, plate=False)
        card = CARDS[self.params["gpu"]]
        card_gib = card.gib
        card_text = next((t for t in (f"{card.label} card: {card_gib:.4g} GiB ({card_gib * GIB / 1e9:.3g} GB)",
                                      f"card: {card_gib:.4g} GiB ({card_gib * GIB / 1e9:.3g} GB)",
                                      f"card {card_gib:.4g} GiB") if self._fits(t, x1 - x0 - 0.5 * em)), "")
        items = [((x1, -ys(card_gib)), card_text, CARD, 3.0, (-imgui.calc_text_size(card_text).x, -line_h - 4.0))]
        for _, other in self._other_cards(frame, scale):
            items.append(((x0, -ys(other.gib)), other.label, CARD.alpha(0.6), 0.5, (2.0, -line_h - 4.0)))
        kv0 = bars[0][1]
        for k, (w, kv) in enumerate(bars):
            cx = x0 + slot * (k + 0.5)
            if k == 0:
                text = f"{number(kv)} GiB"
            elif self.guessing:  # predicting: the lever's result stays hidden, level with the build
                text, w, kv = "?", bars[0][0], kv0
            else:
                text = f"−{100 * (1 - kv / kv0):.0f}%" if kv0 > 0 else "−0%"
            items.append(((cx, -ys(w + kv)), text, KV if k == 0 else PALETTE.text, 2.0 if k == 0 else 1.0,
                          (-0.5 * imgui.calc_text_size(text).x, -line_h - 6.0)))
        frame.labels(draw_list, items, always=3.0)

    def _paging_text(self, draw_list, frame) -> None:
        em = imgui.get_font_size()
        line_h = imgui.get_text_line_height()
        width, _height = frame.size
        max_len, block = int(self.params["max_len"]), int(self.params["block"])
        pick = lambda options: next((t for t in options if self._fits(t, width - 1.2 * em)), "")
        if self.challenge.hide_answers:
            return
        occ = self.model.occupancy()
        first = pick([f"preallocated: {max_len} tokens each", f"preallocated ({max_len})", "preallocated"])
        second = pick([f"{100 * occ['prealloc_waste']:.0f}% of it empty (red)", f"{100 * occ['prealloc_waste']:.0f}% empty"])
        third = pick([f"paged: blocks of {block} tokens", f"paged ({block})", "paged"])
        fourth = pick([f"{100 * occ['paged_waste']:.1f}% empty (orange); the rest free",
                       f"{100 * occ['paged_waste']:.1f}% empty"])
        _, _, top_a, top_b, _ = self._paging_layout(frame)
        if top_a < 2 * line_h:  # a short pane: one line per half
            first = pick([f"preallocated: {100 * occ['prealloc_waste']:.0f}% empty",
                          f"prealloc.: {100 * occ['prealloc_waste']:.0f}%"])
            third = pick([f"paged: {100 * occ['paged_waste']:.1f}% empty", f"paged: {100 * occ['paged_waste']:.1f}%"])
            for y, words, color in ((top_a, first, WASTE), (top_b, third, PARTIAL)):
                frame.text(draw_list, (0.6 * em, y - line_h - 0.5 * em), words, color, plate=False)
            return
        for y, (a, b) in ((top_a, (first, second)), (top_b, (third, fourth))):
            base = y - 2 * line_h - 0.5 * em
            frame.text(draw_list, (0.6 * em, base), a, PALETTE.text, plate=False)
            frame.text(draw_list, (0.6 * em, base + line_h), b, WASTE if a is first else PARTIAL, plate=False)

    # -- the side panel ----------------------------------------------------------------------------

    def load_preset(self, index: int) -> None:
        """Set the architecture's symbols to a published configuration."""
        preset = PRESETS[index]
        window = next(name for name, w in WINDOWS.items() if w == preset.window)
        for name, value in (("layers", preset.layers), ("q_heads", preset.q_heads), ("kv_heads", preset.kv_heads),
                            ("d_head", preset.d_head), ("window", window), ("params_b", preset.params_b)):
            self.context.set_param(name, value)

    def measure_machine(self) -> None:
        """Time the toy decoder and this machine's memory bandwidth (a second or two)."""
        self.bandwidth = measure_bandwidth()
        self.timings = time_decoding()
        self.prefill = time_prefill()

    def panel(self) -> None:
        model = self.model
        imgui.separator()
        imgui.push_text_wrap_pos(0.0)
        locked = self.challenge.locked
        imgui.begin_disabled(locked)
        names = [f"{p.name} ({p.kind})" for p in PRESETS]
        matches = model.matching_presets()
        shown = next((i for i, p in enumerate(PRESETS) if p.name in matches), -1)
        if shown >= 0 and PRESETS[self.preset_index].name not in matches:
            self.preset_index = shown
        changed, index = imgui.combo("published config", self.preset_index if shown >= 0 else -1, names)
        if changed:
            self.preset_index = index
            self.load_preset(index)
        imgui.end_disabled()
        match = " / ".join(model.matching_presets())
        imgui.text_colored(MUTED, f"{match}: {model.attention_kind()}" if match else
                           f"A configuration of your own: {model.attention_kind()}")
        if self.challenge.hide_answers:
            imgui.text_colored(MUTED, HIDDEN_NOTE)
            imgui.pop_text_wrap_pos()
            return
        config = model.config()
        kv, weights, card = model.kv_bytes(), model.weight_bytes(), model.card_bytes()
        imgui.text(f"KV cache: {units(kv)}")
        imgui.text_colored(MUTED, f"{config.per_token() / 1024:.4g} KiB per token per sequence; "
                                  f"{config.cached_tokens} tokens kept of {config.context}")
        imgui.text_colored(MUTED, f"weights: {units(weights)}")
        room = card - weights - kv
        if room >= 0:
            imgui.text_colored(PALETTE.good, f"weights + cache fit: {units(room)} to spare on the card")
        else:
            imgui.text_colored(PALETTE.bad, f"does not fit: {units(-room)} over the card")
        imgui.text_colored(MUTED, "Left out: activations, the runtime's workspace, fragmentation.")
        imgui.separator()
        self._guess_panel()
        if self.guessing:
            imgui.separator()
            self._bandwidth_panel()
            imgui.pop_text_wrap_pos()
            return
        imgui.text("Each lever, from your build:")
        savings = model.lever_savings()
        for name in LEVERS:
            share = savings[name] / kv if kv > 0 else 0.0
            imgui.text_colored(PALETTE.text if share > 0 else MUTED, f"  {name}: frees {units(savings[name])} ({100 * share:.1f}%)")
        imgui.separator()
        self._bandwidth_panel()
        imgui.pop_text_wrap_pos()

    def start_guess(self) -> None:
        """Hide the levers' results until the learner has picked one for the build on screen."""
        self.guessing, self.guess, self.verdict = True, None, None

    def measure_guess(self) -> None:
        """Measure the best lever for the build on screen (the formula) and keep it with the pick."""
        if self.guess is None:
            return
        config = self.model.config()
        self.verdict = (LEVERS[self.guess], best_lever(config), config)
        self.guessing = False

    def _guess_panel(self) -> None:
        if self.guessing:
            imgui.text("Which lever frees the most for this build?")
            imgui.text_colored(MUTED, "The levers' results are hidden; change the build as you like.")
            for k, name in enumerate(LEVERS):
                if imgui.radio_button(name, self.guess == k):
                    self.guess = k
            imgui.begin_disabled(self.guess is None)
            if imgui.button("Measure it"):
                self.measure_guess()
            imgui.end_disabled()
            imgui.same_line()
            if imgui.button("Cancel"):
                self.guessing = False
            return
        if imgui.button("Predict the best lever for your build"):
            self.start_guess()
        if imgui.is_item_hovered():
            imgui.set_tooltip("Hides the levers' results until you pick one; then the lab measures it.")
        if self.verdict is not None and self.verdict[2] == self.model.config():
            picked, measured, config = self.verdict
            freed = lever_savings(config)
            share = freed[measured] / config.kv_bytes() if config.kv_bytes() > 0 else 0.0
            right = freed[picked] == freed[measured]
            imgui.text_colored(PALETTE.good if right else PALETTE.bad,
                               f"You picked {picked}. Measured: {measured} frees the most, {units(freed[measured])} "
                               f"({100 * share:.1f}%)" + ("." if right else f"; yours frees {units(freed[picked])}."))

    def _bandwidth_panel(self) -> None:
        model = self.model
        step = model.decode_bytes()
        batch = int(self.params["batch"])
        imgui.text("Decode reads every weight and the whole cache per step:")
        imgui.text_colored(MUTED, f"{units(step)} per step, {batch} token{'s' if batch > 1 else ''} out")
        for name, bandwidth in SPEC_BANDWIDTH.items():
            imgui.text_colored(MUTED, f"  {name}: ≥ {1e3 * step / bandwidth:.3g} ms per step (arithmetic)")
        if imgui.button("Time the toy decoder and this machine"):
            self.measure_machine()
        if imgui.is_item_hovered():
            imgui.set_tooltip("Measures this machine's memory bandwidth and times the toy decoder (a second or two).")
        if self.bandwidth:
            imgui.text_colored(PALETTE.text, f"This machine reads {self.bandwidth / 1e9:.3g} GB/s (measured): "
                                             f"≥ {step / self.bandwidth:.3g} s per step for this build.")
        if self.prefill:
            pf = self.prefill
            imgui.text_colored(PALETTE.text, f"Toy prefill, 256 tokens in one pass: {1e3 * pf['prefill_s']:.3g} ms "
                                             f"({pf['prefill_flops'] / pf['prefill_s'] / 1e9:.3g} GFLOP/s); "
                                             f"one token at a time: {1e3 * pf['stepwise_s']:.3g} ms "
                                             f"({pf['stepwise_flops'] / pf['stepwise_s'] / 1e9:.3g} GFLOP/s).")
        if self.timings is not None and self.bandwidth:
            toy, length = ToyDecoder(), int(self.timings["lengths"][-1])
            read = toy.weight_bytes + toy.cache_bytes_per_token() * length
            imgui.text_colored(MUTED, f"Toy decode at {length} tokens reads {read / 1e6:.3g} MB: ≥ "
                                      f"{1e6 * read / self.bandwidth:.3g} µs at this bandwidth; measured "
                                      f"{1e6 * self.timings['cached'][-1]:.3g} µs. Small products pay overheads, and 2 MB fits "
                                      "in a CPU's caches: the toy shows the arithmetic, not a server's speed.")

    # -- plots -------------------------------------------------------------------------------------

    def plots(self) -> None:
        if self.challenge.hide_answers:
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(MUTED, "The memory curve, the work per token and the paging plots show after the reveal.")
            imgui.pop_text_wrap_pos()
            return
        plots = [Plot("###memory", self._memory_plot, x_label="T (tokens)", y_label="GiB",
                      x_log=True, y_log=True, min_width=12.0, priority=3.0, weight=1.2),
                 Plot("###work", self._work_plot, x_label="tokens so far", x_log=True,
                      y_log=True, min_width=12.0, priority=2.0),
                 Plot("###waste", self._waste_plot, y_limits=(0.0, 1.0), min_width=12.0, priority=2.5)]
        wordings = [("KV cache against context T", "KV cache against T", "KV cache"),
                    ("FLOPs per new token (toy decoder)", "FLOPs per new token", "FLOPs per token"),
                    ("empty share of reserved memory", "empty share", "empty")]
        if self.timings is not None:
            plots.insert(2, Plot("###timing", self._timing_plot, x_label="tokens so far", x_log=True,
                                 y_log=True, min_width=12.0, priority=1.5))
            wordings.insert(2, ("measured seconds per new token (toy)", "measured s per token", "seconds"))
        plots = titled(plots, wordings)
        plot_strip(self.context, plots)

    def _memory_plot(self, run) -> None:
        model = self.model
        curve = model.memory_curve()
        line("KV cache", curve["lengths"], curve["kv"] / GIB, KV, 2.5)
        room = (model.card_bytes() - model.weight_bytes()) / GIB
        if room > 0:
            hline(room, CARD, "card − weights")
        vlines([float(self.params["context"])], [f"T = {self.params['context']}"])

    def _work_plot(self, run) -> None:
        curve = self.model.work_curve()
        line("cache: O(t)", curve["lengths"], curve["cached"], PALETTE.green, 2.5, marker=3.0)
        line("none: O(t²)", curve["lengths"], curve["uncached"], PALETTE.vermillion, 2.5, marker=3.0)

    def _waste_plot(self, run) -> None:
        steps = run.series_steps()
        line("preallocated", steps, run.series("prealloc_waste"), WASTE, 2.0)
        line("paged", steps, run.series("paged_waste"), PALETTE.green, 2.0)

    def _timing_plot(self, run) -> None:
        t = self.timings
        line("cache", t["lengths"], t["cached"], PALETTE.green, 2.5, marker=3.0)
        line("none", t["lengths"], t["uncached"], PALETTE.vermillion, 2.5, marker=3.0)

