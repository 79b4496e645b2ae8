"""Prose with mathematics in it: a Markdown subset drawn in ImGui, its $…$ formulas rendered by
MicroTeX and set on the text lines.

What it reads: ``#`` headings, paragraphs (hard-wrapped lines are joined), ``-``/``*``/``1.``
list items (nested by indentation), ``**bold**``, ``*emphasis*`` (drawn in a colour: there is
no italic font), ```code``` (in the monospace font when one is given), ``[links](url)`` (shown
as text), ``$inline math$``, ``$$display math$$`` (centred on its own line), fenced code blocks
and ``---`` rules.

How it is drawn: the text is parsed once into blocks of spans (:func:`parse`), measured and
broken into lines once per width and font size (:func:`break_lines` is the line breaker, a pure
function), and each frame draws only the lines in view, straight into the window's draw list.
A formula is rendered at the text's font size, cached by :class:`~sandbox.ui.latex.Formulas`
per (formula, size), and placed with its baseline on the text's baseline. A formula MicroTeX
cannot draw is shown as :func:`~sandbox.ui.latex.plain_text`.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..kit.color import PALETTE
from .latex import plain_text

# A formula's size over the text's. ImGui's font size is Roboto's line height (1.17 em), and
# MicroTeX's is Latin Modern's em: at the same number Latin Modern's small letters come out as
# tall as Roboto's (0.43 x 17 against 0.53 x 17 / 1.17 px) and its capitals and digits a little taller
INLINE_SCALE = 1.0
DISPLAY_SCALE = 1.25  # display formulas stand apart, a step larger
HEADING_SCALES = {1: 1.3, 2: 1.12}  # other levels: the text's size
LINE_PITCH = 1.3  # the distance between text lines, in font sizes: taller formulas push it further
_EMPHASIS = PALETTE.text.mix(PALETTE.yellow, 0.45)  # *emphasis* without an italic font: a warm tint
_DOCUMENTS_KEPT = 16  # parsed texts kept (the About tab shows one; levels switch)


# ---------------------------------------------------------------------------------------------
# Parsing (pure): text -> blocks of spans
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    """One unit of a line: a word, a formula or a piece of code. ``space``: whitespace comes
    before it in the source, so a line may break there (a formula followed by a comma has none
    and the two stay together). ``style``: "plain", "bold", "em", "bold-em" or "link"."""

    kind: str  # "text", "math", "code"
    text: str
    style: str = "plain"
    space: bool = True


@dataclass(frozen=True)
class Block:
    """A heading (``level`` 1-6), a paragraph, a list item (``level`` = nesting depth from 0,
    ``marker`` "•" or "3."), a display formula or a code block (``text``), or a rule."""

    kind: str  # "heading", "paragraph", "item", "display", "code", "rule"
    spans: tuple[Span, ...] = ()
    level: int = 0
    marker: str = ""
    text: str = ""


_INLINE = re.compile(
    r"(?P<escape>\\[$*`\\\[\]_])"
    r"|\$(?P<math>[^$]+?)\$"
    r"|`(?P<code>[^`]+)`"
    r"|\[(?P<label>[^\]]+)\]\((?P<url>[^)\s]*)\)"
    r"|(?P<stars>\*\*|\*)"
    r"|(?P<space>\s+)"
    r"|(?P<word>[^\s$`*\[\\]+|.)",
    re.DOTALL,
)
_ITEM = re.compile(r"(?P<indent>\s*)(?:(?P<bullet>[-*+])|(?P<number>\d{1,3})[.)])\s+(?P<rest>.*)")
_HEADING = re.compile(r"(#{1,6})\s+(.*?)\s*#*\s*")
_RULE = re.compile(r"\s*([-*_])(\s*\1){2,}\s*")
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
# where a formula shown as text may break across lines: after a relation or a comma, as TeX does
_BREAKS = re.compile(r"(?<=[=<>≤≥≈≠≡→←⇔⇒↦∈,;])\s+")


def inline(text: str, style: str = "plain") -> list[Span]:
    """The spans of one paragraph's text: words, formulas and code, with their styles."""
    spans: list[Span] = []
    bold = em = False
    space = False
    tokens = list(_INLINE.finditer(text))
    last = {t.group(): i for i, t in enumerate(tokens) if t.lastgroup == "stars"}  # a star opens only if one follows
    for i, match in enumerate(tokens):
        kind = next(name for name, value in match.groupdict().items() if value is not None)
        value = match.group(kind)
        current = style if style != "plain" else ("bold-em" if bold and em else "bold" if bold else "em" if em else "plain")
        if kind == "space":
            space = True
            continue
        if kind == "stars":
            before = text[match.start() - 1] if match.start() else " "
            after = text[match.end()] if match.end() < len(text) else " "
            is_open = bold if value == "**" else em
            if is_open and not before.isspace():
                bold, em = (False, em) if value == "**" else (bold, False)
                continue
            if not is_open and not after.isspace() and last[value] > i:
                bold, em = (True, em) if value == "**" else (bold, True)
                continue
            kind = "word"  # a lone star: just a character
        if kind == "math":
            spans.append(Span("math", value.strip(), current, space))
        elif kind == "code":
            spans.append(Span("code", value, current, space))
        elif kind == "label":
            link = inline(value, "link")
            if link:
                link[0] = Span(link[0].kind, link[0].text, link[0].style, space)
            spans.extend(link)
        elif kind == "escape":
            _add_word(spans, value[1], current, space)
        else:
            _add_word(spans, value, current, space)
        space = False
    return spans


def _add_word(spans: list[Span], text: str, style: str, space: bool) -> None:
    """A word, joined to the word before it when nothing separates them (a split by markup)."""
    if not space and spans and spans[-1].kind == "text" and spans[-1].style == style:
        last = spans[-1]
        spans[-1] = Span("text", last.text + text, style, last.space)
    else:
        spans.append(Span("text", text, style, space))


def parse(text: str) -> list[Block]:
    """Markdown text as blocks; a paragraph's hard-wrapped lines are joined."""
    blocks: list[Block] = []
    lines = text.replace("\r\n", "\n").split("\n")
    current: list[str] = []  # the open paragraph's or list item's lines
    item: tuple[int, str] | None = None  # the open list item's (depth, marker)
    indents: list[int] = []  # the open lists' indentations

    def close() -> None:
        nonlocal current, item
        if current:
            body = " ".join(line.strip() for line in current)
            for part, is_display in _split_display(body):
                if is_display:
                    blocks.append(Block("display", text=part))
                elif item is not None:
                    blocks.append(Block("item", tuple(inline(part)), item[0], item[1]))
                    item = None  # text after a display formula continues as a paragraph
                elif part.strip():
                    blocks.append(Block("paragraph", tuple(inline(part))))
        current, item = [], None

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        i += 1
        if not stripped:
            close()
            continue
        if stripped.startswith("```"):
            close()
            code = []
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            i += 1
            blocks.append(Block("code", text="\n".join(code)))
            continue
        if stripped.startswith("$$") and not current:
            # a display formula on lines of its own: read to its closing $$
            body = stripped
            while not (len(body) > 2 and body.endswith("$$")) and i < len(lines):
                body += " " + lines[i].strip()
                i += 1
            current = [body]
            close()
            continue
        heading = _HEADING.fullmatch(stripped)
        if heading:
            close()
            blocks.append(Block("heading", tuple(inline(heading.group(2))), len(heading.group(1))))
            continue
        if _RULE.fullmatch(stripped):
            close()
            blocks.append(Block("rule"))
            continue
        match = _ITEM.fullmatch(line)
        if match:
            close()
            indent = len(match.group("indent").expandtabs(4))
            while indents and indents[-1] > indent:
                indents.pop()
            if not indents or indents[-1] < indent:
                indents.append(indent)
            marker = "•" if match.group("bullet") else match.group("number") + "."
            item = (len(indents) - 1, marker)
            current = [match.group("rest")]
            continue
        if stripped.startswith(">"):
            stripped = stripped.lstrip(">").strip()
        if item is None and not current:
            indents.clear()
        current.append(stripped)
    close()
    return blocks


def _split_display(body: str) -> list[tuple[str, bool]]:
    """A paragraph's text cut at its $$display$$ formulas: (text, is_display) parts."""
    parts: list[tuple[str, bool]] = []
    position = 0
    for match in _DISPLAY.finditer(body):
        parts.append((body[position:match.start()], False))
        parts.append((match.group(1).strip(), True))
        position = match.end()
    parts.append((body[position:], False))
    return [(text, display) for text, display in parts if display or text.strip()]


# ---------------------------------------------------------------------------------------------
# Line breaking (pure)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    """A word or a formula for the line breaker: its ``width``, and the width of the space
    before it where a line may break (None: glued to the box before, no break there)."""

    width: float
    space: float | None = 0.0


def break_lines(boxes: Sequence[Box], width: float) -> list[list[int]]:
    """Greedy line breaking: the indices of ``boxes`` on each line, no line wider than ``width``
    unless one unbreakable run of glued boxes is wider by itself (then it is split between its
    boxes, and a single box wider than the line has a line of its own). The space before the
    first box of a line is dropped."""
    runs: list[list[int]] = []
    for i, box in enumerate(boxes):
        if box.space is None and runs:
            runs[-1].append(i)
        else:
            runs.append([i])
    lines: list[list[int]] = [[]]
    x = 0.0
    for run in runs:
        run_width = sum(boxes[i].width for i in run)
        space = boxes[run[0]].space or 0.0
        if lines[-1] and x + space + run_width <= width:
            lines[-1].extend(run)
            x += space + run_width
            continue
        if lines[-1]:
            lines.append([])
        x = 0.0
        for i in run:  # fits on a fresh line, or must be split between its boxes
            if lines[-1] and x + boxes[i].width > width:
                lines.append([])
                x = 0.0
            lines[-1].append(i)
            x += boxes[i].width
    return [line for line in lines if line]


def line_positions(boxes: Sequence[Box], line: Sequence[int]) -> list[float]:
    """The x of each box on a line from :func:`break_lines` (the line's first space dropped)."""
    xs, x = [], 0.0
    for n, i in enumerate(line):
        if n:
            x += boxes[i].space or 0.0
        xs.append(x)
        x += boxes[i].width
    return xs


# ---------------------------------------------------------------------------------------------
# Layout and drawing (ImGui)
# ---------------------------------------------------------------------------------------------

@dataclass
class _Op:
    """One thing to draw, relative to the top left of its line."""

    kind: str  # "text", "image", "bullet", "rule", "code_bg"
    x: float
    y: float
    text: str = ""
    style: str = ""  # its font is looked up when drawn: a layout holds no ImGui object
    size: float = 0.0
    color: int = 0
    image: object = None  # FormulaImage
    w: float = 0.0
    h: float = 0.0


@dataclass
class _Line:
    top: float
    height: float
    ops: list[_Op] = field(default_factory=list)
    baseline: float = 0.0  # from the line's top: where text and formulas sit


@dataclass
class Layout:
    """A laid-out document: lines with their draw operations, ``height`` in all. ``images``
    and ``fallbacks`` count the formulas drawn by MicroTeX and those shown as text."""

    width: float
    height: float = 0.0
    lines: list[_Line] = field(default_factory=list)
    tops: list[float] = field(default_factory=list)
    images: int = 0
    fallbacks: int = 0


@dataclass
class _Style:
    name: str
    font: object
    size: float
    ascent: float
    color: int
    space: float


class _Document:
    def __init__(self, text: str):
        self.blocks = parse(text)
        self.layouts: OrderedDict[tuple, Layout] = OrderedDict()
        self.widths: dict[tuple, float] = {}  # (fonts, style, size, word) -> width


_documents: OrderedDict[str, _Document] = OrderedDict()


def _document(text: str) -> _Document:
    doc = _documents.get(text)
    if doc is None:
        doc = _documents[text] = _Document(text)
        while len(_documents) > _DOCUMENTS_KEPT:
            _documents.popitem(last=False)
    else:
        _documents.move_to_end(text)
    return doc


def markdown(text: str, formulas=None, bold_font=None, mono_font=None, italic_font=None,
             width: float | None = None) -> Layout:
    """Draw Markdown ``text`` with its formulas at the ImGui cursor, ``width`` wide (default:
    the space left in the window), and move the cursor below it. ``formulas``: the app's
    :class:`~sandbox.ui.latex.Formulas` (None: every formula as Unicode text); ``bold_font``
    for headings and **bold**, ``mono_font`` for `code`, ``italic_font`` for *emphasis* (without
    it, emphasis is drawn in a warm tint). Returns the layout (cached: a frame
    that changes neither the text, the width nor the font size only draws)."""
    from imgui_bundle import imgui

    doc = _document(text)
    avail = imgui.get_content_region_avail().x if width is None else width
    avail = max(float(int(avail)), 8.0 * imgui.get_font_size())
    # (the regular font is not in the key: ImGui hands out a new wrapper of it every call)
    key = (avail, imgui.get_font_size(), id(bold_font), id(mono_font), id(italic_font),
           getattr(formulas, "serial", None), getattr(formulas, "generation", 0), imgui.get_color_u32(imgui.Col_.text))
    layout = doc.layouts.get(key)
    if layout is None:
        layout = _layout(doc, avail, formulas, bold_font, mono_font, italic_font)
        doc.layouts[key] = layout
        while len(doc.layouts) > 2:  # the current one, and one to go back to (a scrollbar came and went)
            doc.layouts.popitem(last=False)
    _draw(layout, (imgui.get_font(), bold_font, mono_font, italic_font))
    return layout


def _font_for(style: str, fonts: tuple) -> object:
    """The font of a style, from (regular, bold, mono, italic), the last three optional."""
    regular, bold, mono, italic = fonts
    if style in ("em", "bold-em") and italic is not None:
        return italic
    if style in ("bold", "bold-em", "heading"):
        return bold or regular
    return (mono or regular) if style == "code" else regular


def _layout(doc: _Document, width: float, formulas, bold_font, mono_font, italic_font) -> Layout:
    from imgui_bundle import imgui

    base = imgui.get_font_size()
    fonts = (imgui.get_font(), bold_font, mono_font, italic_font)
    text_color = imgui.get_color_u32(imgui.Col_.text)
    styles: dict[tuple[str, float], _Style] = {}

    def style(name: str, scale: float = 1.0) -> _Style:
        key = (name, scale)
        if key not in styles:
            font = _font_for(name, fonts)
            imgui.push_font(font, imgui.get_style().font_size_base * scale)
            color = {"em": _EMPHASIS, "bold-em": _EMPHASIS, "link": PALETTE.accent,
                     "heading": PALETTE.accent, "code": PALETTE.muted}.get(name)
            if italic_font is not None and name == "em":
                color = None
            styles[key] = _Style(name, font, imgui.get_font_size(), imgui.get_font_baked().ascent,
                                 color.u32 if color else text_color, imgui.calc_text_size(" ").x)
            imgui.pop_font()
        return styles[key]

    font_ids = (id(bold_font), id(mono_font), id(italic_font))  # the regular font is the app's one

    def measure(st: _Style, word: str) -> float:
        key = (font_ids, st.name, st.size, word)
        w = doc.widths.get(key)
        if w is None:
            imgui.push_font(st.font, st.size / max(imgui.get_style().font_scale_main, 1e-6))
            w = doc.widths[key] = imgui.calc_text_size(word).x
            imgui.pop_font()
        return w

    layout = Layout(width)
    y = 0.0
    indent_step = imgui.get_tree_node_to_label_spacing()
    previous = None
    for block in doc.blocks:
        y += _gap(previous, block, base)
        previous = block.kind
        if block.kind == "rule":
            line = _Line(y, base * 0.6, [_Op("rule", 0.0, base * 0.3, w=width, color=imgui.get_color_u32(imgui.Col_.separator))])
            layout.lines.append(line)
            y += line.height
            continue
        if block.kind == "display":
            y = _display(layout, block.text, y, width, base, formulas, style("plain"), text_color)
            continue
        if block.kind == "code":
            st = style("code")
            for text_line in block.text.split("\n"):
                line = _Line(y, st.size * 1.15, [_Op("text", indent_step * 0.5, 0.0, text_line, st.name, st.size, st.color)])
                layout.lines.append(line)
                y += line.height
            continue
        scale = HEADING_SCALES.get(block.level, 1.0) if block.kind == "heading" else 1.0
        x0 = indent_step * (block.level + 1) if block.kind == "item" else 0.0
        items = []  # (box, span, style, image)
        for span in block.spans:
            name = "heading" if block.kind == "heading" else ("code" if span.kind == "code" else span.style)
            st = style(name, scale)
            if span.kind == "math":
                image = formulas.image(span.text, st.size * INLINE_SCALE, False) if formulas is not None else None
                if image is not None:
                    layout.images += 1
                    items.append((Box(image.width, st.space if span.space else None), span, st, image))
                    continue
                layout.fallbacks += 1
                for n, chunk in enumerate(_BREAKS.split(plain_text(span.text))):
                    space = span.space if n == 0 else True
                    items.append((Box(measure(st, chunk), st.space if space else None),
                                  Span("text", chunk, span.style, space), st, None))
                continue
            pad = st.size * 0.2 if span.kind == "code" else 0.0
            items.append((Box(measure(st, span.text) + 2 * pad, st.space if span.space else None), span, st, None))
        boxes = [item[0] for item in items]
        marker = style("plain")
        for n, line_indices in enumerate(break_lines(boxes, width - x0)):
            xs = line_positions(boxes, line_indices)
            # a fixed line box (text with its leading split above and below), which a formula
            # taller than the text widens only by what it needs: the lines keep an even rhythm
            leading = base * scale * (LINE_PITCH - 1.0) / 2
            above = below = 0.0
            for i in line_indices:
                box, span, st, image = items[i]
                if image is not None:
                    above, below = max(above, image.baseline + 1), max(below, image.height - image.baseline + 1)
                else:
                    above, below = max(above, st.ascent + leading), max(below, st.size - st.ascent + leading)
            above = max(above, marker.ascent + leading)
            below = max(below, marker.size - marker.ascent + leading)
            baseline, pitch = math.ceil(above), math.ceil(above) + math.ceil(below)
            line = _Line(y, pitch, baseline=baseline)
            if n == 0 and block.kind == "item" and block.marker == "•":
                radius = max(1.5, marker.size * 0.13)
                line.ops.append(_Op("bullet", x0 - indent_step * 0.55, baseline - marker.size * 0.3,
                                    w=radius, color=marker.color))
            elif n == 0 and block.kind == "item":
                line.ops.append(_Op("text", x0 - indent_step * 0.8, baseline - marker.ascent, block.marker,
                                    marker.name, marker.size, marker.color))
            run = None  # the text op words are being added to: one draw call for a run of one style
            for x, i in zip(xs, line_indices):
                box, span, st, image = items[i]
                x = x0 + x
                if image is not None:
                    line.ops.append(_Op("image", round(x), baseline - image.baseline, image=image,
                                        w=image.width, h=image.height, color=st.color))
                    run = None
                elif span.kind == "code":
                    line.ops.append(_Op("code_bg", x, baseline - st.ascent, w=box.width, h=st.size,
                                        color=imgui.get_color_u32(imgui.Col_.frame_bg)))
                    line.ops.append(_Op("text", x + st.size * 0.2, baseline - st.ascent, span.text, st.name,
                                        st.size, st.color))
                    run = None
                elif run is not None and run.style == st.name and run.size == st.size and run.color == st.color:
                    # widths add up (ImGui does not kern), so the run's words land where measured
                    run.text += (" " if box.space is not None else "") + span.text
                else:
                    run = _Op("text", x, baseline - st.ascent, span.text, st.name, st.size, st.color)
                    line.ops.append(run)
            layout.lines.append(line)
            y += pitch
    layout.height = y
    layout.tops = [line.top for line in layout.lines]
    return layout


def _gap(previous: str | None, block: Block, base: float) -> float:
    """The space between two blocks."""
    if previous is None:
        return 0.0
    if block.kind == "heading":
        return base * 1.0
    if previous == "heading":
        return base * 0.25
    if block.kind == "item" and previous == "item":
        return base * 0.25
    return base * 0.6


def _display(layout: Layout, tex: str, y: float, width: float, base: float, formulas, st: _Style, color: int) -> float:
    """A display formula centred on lines of its own (scaled down if wider than the column);
    as centred text if MicroTeX cannot draw it."""
    image = formulas.image(tex, base * DISPLAY_SCALE, True) if formulas is not None else None
    if image is None:
        layout.fallbacks += 1
        from imgui_bundle import imgui

        text = plain_text(tex)
        imgui.push_font(st.font, st.size / max(imgui.get_style().font_scale_main, 1e-6))
        text_width = imgui.calc_text_size(text).x
        imgui.pop_font()
        line = _Line(y, st.size * LINE_PITCH, [_Op("text", max(0.0, (width - text_width) / 2), 0.0, text,
                                                  st.name, st.size, color)])
        layout.lines.append(line)
        return y + line.height
    layout.images += 1
    scale = min(1.0, width / image.width)
    w, h = image.width * scale, image.height * scale
    line = _Line(y, h, [_Op("image", round((width - w) / 2), 0.0, image=image, w=w, h=h, color=color)])
    layout.lines.append(line)
    return y + h


def _draw(layout: Layout, fonts: tuple) -> None:
    """Draw the lines of a layout that are in view, and reserve its space in the window."""
    from imgui_bundle import imgui

    origin = imgui.get_cursor_screen_pos()
    draw_list = imgui.get_window_draw_list()
    clip_top = draw_list.get_clip_rect_min().y - origin.y
    clip_bottom = draw_list.get_clip_rect_max().y - origin.y
    first = max(0, bisect.bisect_right(layout.tops, clip_top) - 1)
    ox, oy = origin.x, origin.y
    for line in layout.lines[first:]:
        if line.top > clip_bottom:
            break
        top = oy + line.top
        for op in line.ops:
            if op.kind == "text":
                draw_list.add_text(_font_for(op.style, fonts), op.size, imgui.ImVec2(ox + op.x, top + op.y),
                                   op.color, op.text)
            elif op.kind == "image":
                p0 = imgui.ImVec2(round(ox + op.x), round(top + op.y))
                draw_list.add_image(imgui.ImTextureRef(op.image.texture.glo), p0,
                                    imgui.ImVec2(p0.x + op.w, p0.y + op.h), None, None, op.color)
            elif op.kind == "code_bg":
                draw_list.add_rect_filled(imgui.ImVec2(ox + op.x, top + op.y),
                                          imgui.ImVec2(ox + op.x + op.w, top + op.y + op.h), op.color, 3.0)
            elif op.kind == "bullet":
                draw_list.add_circle_filled(imgui.ImVec2(ox + op.x, top + op.y), op.w, op.color)
            elif op.kind == "rule":
                draw_list.add_line(imgui.ImVec2(ox, top + op.y), imgui.ImVec2(ox + op.w, top + op.y), op.color)
    imgui.dummy(imgui.ImVec2(layout.width, max(layout.height, 1.0)))
