"""Prose with inline math: the Markdown reader, the line breaker, and a README drawn in an ImGui frame."""

import re

import pytest

from sandbox.paths import LEVELS_DIR
from sandbox.ui.prose import (
    Block,
    Box,
    Span,
    break_lines,
    inline,
    line_positions,
    parse,
)

READMES = sorted(LEVELS_DIR.glob("*/README.md"))


# -- reading Markdown ------------------------------------------------------------------------

def test_paragraphs_join_their_lines_and_blocks_keep_their_kinds():
    blocks = parse("# Title\n\nOne line\ncontinued.\n\n## Part\n- first item\n  wraps on\n- second\n\n"
                   "1. numbered\n\n---\n\n```\ncode line\n```\n")
    assert [b.kind for b in blocks] == ["heading", "paragraph", "heading", "item", "item", "item", "rule", "code"]
    assert blocks[0].level == 1 and blocks[2].level == 2
    assert [s.text for s in blocks[1].spans] == ["One", "line", "continued."]
    assert [s.text for s in blocks[3].spans] == ["first", "item", "wraps", "on"]
    assert blocks[5].marker == "1." and blocks[3].marker == "•"
    assert blocks[7].text == "code line"


def test_nested_items_know_their_depth():
    blocks = parse("- outer\n  - inner\n    - innermost\n- outer again")
    assert [(b.level, b.spans[0].text) for b in blocks] == [(0, "outer"), (1, "inner"), (2, "innermost"),
                                                             (0, "outer")]


def test_inline_styles_math_code_and_links():
    spans = inline(r"**The claim.** a *sharp* edge at $2/\eta$, see `kernels.py` and [the paper](http://x.org).")
    assert spans[0] == Span("text", "The", "bold", False) and spans[1] == Span("text", "claim.", "bold", True)
    assert Span("text", "sharp", "em", True) in spans
    math = [s for s in spans if s.kind == "math"]
    assert math == [Span("math", r"2/\eta", "plain", True)]
    # the comma after the formula has no space before it: the line may not break between them
    after = spans[spans.index(math[0]) + 1]
    assert after.text == "," and not after.space
    assert Span("code", "kernels.py", "plain", True) in spans
    assert [s.text for s in spans if s.style == "link"] == ["the", "paper"]
    assert not any("*" in s.text or "$" in s.text or "](" in s.text for s in spans)


def test_a_lone_star_and_an_escaped_dollar_are_text():
    spans = inline(r"2 * 3 costs \$5")
    assert [s.text for s in spans] == ["2", "*", "3", "costs", "$5"]
    assert all(s.kind == "text" and s.style == "plain" for s in spans)


def test_display_formulas_stand_alone_in_or_out_of_a_paragraph():
    blocks = parse("Before\n\n$$a = b$$\n\nthe pairs compose with $$x \\circ y$$ which is associative.\n\n"
                   "$$\nc = d\n$$")
    assert [b.kind for b in blocks] == ["paragraph", "display", "paragraph", "display", "paragraph", "display"]
    assert blocks[1].text == "a = b" and blocks[3].text == r"x \circ y" and blocks[5].text == "c = d"


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.parent.name)
def test_every_formula_of_a_readme_is_read_as_math(readme):
    """Each $…$ of a shipped README becomes one math span, and no dollar is left in the text."""
    source = readme.read_text()
    displays = re.findall(r"\$\$(.+?)\$\$", source, re.DOTALL)
    inline_count = len(re.findall(r"\$[^$]+\$", re.sub(r"\$\$(.+?)\$\$", "", source, flags=re.DOTALL)))
    blocks = parse(source)
    spans = [s for b in blocks for s in b.spans]
    assert sum(s.kind == "math" for s in spans) == inline_count
    assert [b.text for b in blocks if b.kind == "display"] == [d.strip() for d in displays]
    assert not any("$" in s.text for s in spans if s.kind == "text")


# -- breaking lines ------------------------------------------------------------------------

def test_greedy_lines_never_exceed_the_width():
    boxes = [Box(30, 5)] * 10  # 10 words of 30 with spaces of 5
    lines = break_lines(boxes, 100)
    assert lines == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]  # 30+5+30+5+30 = 100 fits exactly
    assert line_positions(boxes, lines[1]) == [0, 35, 70]  # the space before a line's first box is dropped


def test_glued_boxes_move_to_the_next_line_together():
    # "… see x," where the formula x is glued to its comma: the pair goes down as one
    boxes = [Box(40, 5), Box(40, 5), Box(12, 5), Box(4, None)]
    assert break_lines(boxes, 103) == [[0, 1], [2, 3]]  # the formula alone would fit (102), not with its comma
    assert break_lines(boxes, 106) == [[0, 1, 2, 3]]


def test_a_box_wider_than_the_line_gets_a_line_of_its_own():
    boxes = [Box(20, 5), Box(250, 5), Box(20, 5)]
    assert break_lines(boxes, 100) == [[0], [1], [2]]


def test_a_glued_run_wider_than_the_line_is_split_between_its_boxes():
    boxes = [Box(10, 5), Box(60, 5), Box(60, None), Box(5, None)]
    assert break_lines(boxes, 100) == [[0], [1], [2, 3]]


def test_no_boxes_no_lines():
    assert break_lines([], 100) == []


# -- drawing in an ImGui frame ----------------------------------------------------------------

def _frame(app, draw, size=(420, 900)):
    """One ImGui frame with a window of ``size`` at the top left, ``draw`` called inside it."""
    from imgui_bundle import imgui

    app.imgui.new_frame(1 / 60)
    imgui.set_next_window_pos(imgui.ImVec2(0, 0))
    imgui.set_next_window_size(imgui.ImVec2(*size))
    imgui.begin("prose", None, imgui.WindowFlags_.no_decoration.value)
    result = draw()
    imgui.end()
    app.ctx.screen.use()
    app.ctx.clear(0.0, 0.0, 0.0, 1.0)
    app.imgui.render()
    return result


def test_a_readme_draws_its_formulas_as_images_on_the_text_baseline(make_app):
    from sandbox.ui import prose
    from sandbox.ui.latex import _locale_exists

    app = make_app()
    text = (LEVELS_DIR / "eos_canyon" / "README.md").read_text()
    math = sum(s.kind == "math" for b in parse(text) for s in b.spans) + text.count("$$") // 2

    def draw():
        return prose.markdown(text, app.formulas, app.imgui.font_bold, app.imgui.font_mono)

    layout = _frame(app, draw)
    pixels = app.read_pixels()
    assert layout.images + layout.fallbacks == math
    if not _locale_exists():
        pytest.skip("the en_US.UTF-8 locale is not installed (CI installs it): formulas fall back to text")
    assert layout.images == math and layout.fallbacks == 0
    # every formula sits on its line's baseline, and the first one on screen drew its pixels
    ops = [(line, op) for line in layout.lines for op in line.ops if op.kind == "image"]
    assert all(op.y + op.image.baseline == line.baseline for line, op in ops if line.baseline)
    line, op = ops[0]
    x0, y0 = int(op.x) + 8, int(line.top + op.y) + 8  # the window's padding is 8 pixels
    assert pixels[y0:y0 + op.h, x0:x0 + op.w].max() > 128
    # drawn again unchanged, the layout is reused (a frame only draws the lines in view)
    assert _frame(app, draw) is layout


def test_formulas_follow_the_font_size(make_app):
    """At UI scale 2 a formula and its line are twice as tall as at scale 1 (the formula's image
    has a margin of a few pixels that does not scale)."""
    from sandbox.ui import prose
    from sandbox.ui.latex import _locale_exists

    if not _locale_exists():
        pytest.skip("the en_US.UTF-8 locale is not installed (CI installs it)")
    app = make_app()
    text = r"Gradient descent with step size $\eta$ on a quadratic of curvature $\lambda$ is stable."
    sizes = {}
    for scale in (1.0, 2.0):
        app.imgui.set_scale(scale)
        layout = _frame(app, lambda: prose.markdown(text, app.formulas), size=(2000, 400))
        image = next(op for line in layout.lines for op in line.ops if op.kind == "image")
        sizes[scale] = (image.h, layout.lines[0].height)
    assert 1.7 * sizes[1.0][0] <= sizes[2.0][0] <= 2.1 * sizes[1.0][0]
    assert sizes[2.0][1] == pytest.approx(2 * sizes[1.0][1], abs=2)


def test_released_formulas_are_rendered_again(make_app):
    from sandbox.ui import prose

    app = make_app()
    text = r"a formula $x_{k-1}$ in a line"
    first = _frame(app, lambda: prose.markdown(text, app.formulas))
    textures = [op.image.texture for line in first.lines for op in line.ops if op.kind == "image"]
    app.formulas.release()
    second = _frame(app, lambda: prose.markdown(text, app.formulas))
    assert second is not first
    assert textures
    for texture in textures:  # released: moderngl has dropped the GL object
        assert type(texture.mglo).__name__ == "InvalidObject"


def test_without_formulas_math_is_shown_as_text(make_app):
    from sandbox.ui import prose

    app = make_app()
    layout = _frame(app, lambda: prose.markdown(r"where $x_{k-1}$ and $(1 + e^{x})^{1/m}$", None))
    assert layout.images == 0 and layout.fallbacks == 2
    words = " ".join(op.text for line in layout.lines for op in line.ops if op.kind == "text")
    assert "xₖ₋₁" in words and "(1 + eˣ)^(1/m)" in words


def test_a_formula_microtex_cannot_parse_is_shown_as_text(make_app):
    from sandbox.ui import prose

    app = make_app()
    layout = _frame(app, lambda: prose.markdown(r"broken $x^{k$ and unknown $\nosuchcommand y$ here", app.formulas))
    assert layout.images == 0 and layout.fallbacks == 2


def test_blocks_are_frozen_values():
    assert Block("paragraph") == Block("paragraph")


def test_a_formula_shown_as_text_breaks_only_after_a_relation(make_app):
    from sandbox.ui import prose

    app = make_app()
    text = r"so $a + b + c + d + e + f + g = h + i + j + k + l + m + n$ holds"
    layout = _frame(app, lambda: prose.markdown(text, None, width=10))  # as narrow as it goes
    lines = [" ".join(op.text for op in line.ops if op.kind == "text") for line in layout.lines]
    assert "a + b + c + d + e + f + g =" in lines and "h + i + j + k + l + m + n" in lines
