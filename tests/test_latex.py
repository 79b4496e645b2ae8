"""LaTeX formulas render with MicroTeX; without it they fall back to readable, correct Unicode text."""

import os
import re

import pytest

from sandbox.paths import LEVELS_DIR
from sandbox.ui.latex import (
    Formulas,
    _locale_exists,
    plain_text,
    unknown_commands,
    well_formed,
)


def shipped_formulas() -> list[tuple[str, str]]:
    """(where, tex) for every formula the built-in levels show: the $…$ and $$…$$ of their
    READMEs, read as the About tab reads them, and the [[math]] cards of their manifests."""
    from sandbox.registry import Registry
    from sandbox.ui.prose import parse

    found = []
    for readme in sorted(LEVELS_DIR.glob("*/README.md")):
        where = f"{readme.parent.name}/README.md"
        for block in parse(readme.read_text()):
            if block.kind == "display":
                found.append((where, block.text))
            found += [(where, span.text) for span in block.spans if span.kind == "math"]
    for entry in Registry(packs=False):
        found += [(f"{entry.id}/level.toml", tex) for tex, _ in entry.manifest.math]
    return found


FORMULAS = shipped_formulas()


# -- the text fallback ---------------------------------------------------------------------

@pytest.mark.parametrize(("tex", "text"), [
    # grouping kept: a braced script stays one script, a braced power stays one power
    (r"x_{k-1}", "xₖ₋₁"),
    (r"h_0\,(1 + e^{m\kappa x})^{1/m}", "h₀ (1 + e^(mκx))^(1/m)"),
    (r"e^{-\Delta_t}", "e^(−Δₜ)"),
    (r"p_{t_L}", "p_(t_L)"),
    (r"\sum_{j \le t} v_j", "Σ_(j≤t) vⱼ"),
    (r"E_a + E_b", "E_a + E_b"),  # one index with no Unicode form (b): all written _x, not Eₐ + E_b
    (r"\cos\theta_a \cos\theta_b", "cos θ_a cos θ_b"),
    (r"\lambda_{\max}", "λ_max"),
    (r"n_{\mathrm{eff}} = 1 \Big/ \sum_k s_k^2", "n_eff = 1 / Σₖ sₖ²"),
    (r"\gamma_{\text{peak}}", "γ_peak"),
    (r"C_k^{-1}", "Cₖ⁻¹"),
    (r"\phi(K)^\top V", "ϕ(K)ᵀV"),
    (r"{y^*}^2", "y*²"),
    # fractions: parentheses where the grouping needs them, none where it does not
    (r"\frac{2}{\eta}", "2/η"),
    (r"\tfrac12x + \tfrac{1}{2}\lambda\theta^2", "½x + ½λθ²"),
    (r"(I - \tfrac{\Delta}{2}A)^{-1}", "(I − (Δ/2)A)⁻¹"),
    (r"\frac{\gamma\,\sigma^2}{2\,(2 - \gamma\lambda)}", "(γ σ²)/(2 (2 − γλ))"),
    (r"\frac{dZ_t}{dt}", "dZₜ/dt"),
    (r"\frac{1}{|\Theta|}", "1/|Θ|"),
    (r"\frac{1}{t} (A c + B u)", "(1/t) (A c + B u)"),
    # accents, fonts and symbols
    (r"x_k = \bar A x_{k-1} + \bar B u_k", "xₖ = Ā xₖ₋₁ + bar(B) uₖ"),
    (r"\hat m / (\sqrt{\hat v} + \epsilon)", "m̂ / (√v̂ + ϵ)"),
    (r"\tilde x \odot y \otimes z", "x̃ ⊙ y ⊗ z"),
    (r"\mathbb E[x] \in \mathbb{R}^{p \times d}", "𝔼[x] ∈ ℝ^(p×d)"),
    (r"x_0 \sim \mathcal{N}(0, I)", "x₀ ~ 𝒩(0, I)"),
    (r"v \leftarrow Hv / \lVert Hv\rVert", "v ← Hv / ‖Hv‖"),
    (r"z_1, \dots, z_t \ldots a \cdots b", "z₁, …, zₜ … a ⋯ b"),
    (r"y = \pm y^*", "y = ± y*"),
    (r"\operatorname{polar}(X)", "polar(X)"),
    (r"\mathrm{Re}\,\lambda < 0", "Re λ < 0"),
    (r"N\log_2 N", "N log₂ N"),
    (r"(a + b) \bmod p", "(a + b) mod p"),
    (r"0, k, \dots \pmod p", "0, k, … (mod p)"),
    (r"\sqrt{2n+1}\sqrt[3]{x}", "√(2n+1)³√x"),
    (r"\begin{pmatrix} a & -b \\ b & a \end{pmatrix}", "(a, −b; b, a)"),
    (r"\eta\lambda < 2 \iff \eta h \le 2", "ηλ < 2 ⇔ ηh ≤ 2"),
    (r"a_t = e^{-\Delta_t}, \qquad h = 1", "aₜ = e^(−Δₜ),\u2003\u2003h = 1"),
    (r"\left[f - g^2\right] dt", "[f − g²] dt"),
])
def test_plain_text_keeps_the_meaning(tex, text):
    assert plain_text(tex) == text


def test_unknown_commands_are_named_not_dropped():
    assert unknown_commands(r"\foo{x} + \eta") == {r"\foo"}
    assert plain_text(r"\foo{x}") == "foox"
    assert unknown_commands(r"\eta\,\mathbb E\lVert x \rVert") == set()


def test_malformed_formulas_are_spotted():
    assert well_formed(r"\frac{a}{b} \{x\}")
    assert not well_formed(r"x^{k")
    assert not well_formed(r"x}")
    assert not well_formed(r"\begin{pmatrix} a \end{bmatrix}")
    assert plain_text(r"x^{k") == "xᵏ"  # still readable


def _glyphs():
    """Whether a character has a glyph in one of the fonts the UI merges (Roboto, DejaVu Sans,
    Latin Modern Math), read with FreeType."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame.freetype

    from sandbox.paths import ASSETS_DIR
    from sandbox.ui.imgui_layer import FONTS

    pygame.freetype.init()
    fonts = [pygame.freetype.Font(str(path), 17) for path in (
        FONTS / "Roboto" / "Roboto-Regular.ttf", ASSETS_DIR / "fonts" / "DejaVuSans.ttf",
        FONTS / "latex" / "latinmodern-math.otf")]
    return lambda c: any(font.get_metrics(c)[0] is not None for font in fonts)


def test_every_shipped_formula_reads_correctly_as_text():
    """The fallback of every formula the levels show: no command or brace left, brackets that
    pair up, no script run into what follows it (x_k-1, ^1/m), every character in the fonts."""
    assert len(FORMULAS) > 400
    has_glyph = _glyphs()
    problems = []
    for where, tex in FORMULAS:
        text = plain_text(tex)
        issues = []
        if unknown_commands(tex):
            issues.append(f"unknown {sorted(unknown_commands(tex))}")
        set_braces = len(re.findall(r"\\[{}]|\\[lr]brace\b", tex))  # \{x : ...\} is a set: its braces stay
        if "\\" in text or text.count("{") + text.count("}") > set_braces:
            issues.append("a backslash or brace")
        if not _pairs_up(text) and _pairs_up(re.sub(r"\\[A-Za-z]+", "", tex)):  # [0, 1) is meant
            issues.append("unpaired brackets")
        # a script written _x must not run into an operator: x_k-1 and e^1/m change the meaning
        # (a whole word may: n_out/n_in)
        if re.search(r"[_^](?:[^\W\d_]|\d+)[−+/=*·-]", text) or re.search(r"[_^](\s|$)", text):
            issues.append("a script that runs into what follows")
        missing = sorted({c for c in text if not c.isspace() and not has_glyph(c)})
        if missing:
            issues.append(f"no glyph for {missing}")
        if issues:
            problems.append(f"{where}: {tex!r} -> {text!r}: {', '.join(issues)}")
    assert not problems, "\n".join(problems)


def _pairs_up(text: str) -> bool:
    pairs, stack = {")": "(", "]": "[", "⟩": "⟨", "⌉": "⌈", "⌋": "⌊"}, []
    for c in text:
        if c in "([⟨⌈⌊":
            stack.append(c)
        elif c in pairs and (not stack or stack.pop() != pairs[c]):
            return False
    return not stack and text.count("‖") % 2 == 0


# -- MicroTeX ------------------------------------------------------------------------------

def test_formulas_render_to_textures(gl):
    if not _locale_exists():
        pytest.skip("the en_US.UTF-8 locale is not installed (CI installs it)")
    formulas = Formulas(gl)
    texture = formulas.render(r"\eta\,\lambda_{\max} < 2 \quad \partial_t p = -\nabla\cdot(p v)", 24)
    assert texture is not None and texture.size[0] > 100 and formulas.warning is None
    image = formulas.image(r"x_{k-1}", 20, display=False)
    assert 0 < image.baseline < image.height  # the subscript hangs below the baseline
    formulas.release()
    assert formulas.generation == 1


def test_microtex_draws_every_shipped_formula(gl):
    """No formula of a level falls back to text: MicroTeX reads every one without an error."""
    if not _locale_exists():
        pytest.skip("the en_US.UTF-8 locale is not installed (CI installs it)")
    formulas = Formulas(gl)
    try:
        failed = [f"{where}: {tex!r}" for where, tex in FORMULAS if formulas.image(tex, 17.0, False) is None]
    finally:
        formulas.release()
    assert not failed, "\n".join(failed)


def test_an_unknown_command_or_a_broken_formula_falls_back(gl):
    if not _locale_exists():
        pytest.skip("the en_US.UTF-8 locale is not installed (CI installs it)")
    formulas = Formulas(gl)
    assert formulas.image(r"\nosuchcommand x", 20) is None  # MicroTeX writes its name in red
    assert formulas.image(r"x^{k", 20) is None  # MicroTeX would silently drop the k
    assert formulas.image(r"x^{k}", 20) is not None
    assert formulas.unreadable == {r"\nosuchcommand x", r"x^{k"}
    assert formulas.warning is None  # LaTeX itself works: nothing to warn the learner about
    formulas.release()


def test_a_formula_that_cannot_render_falls_back_with_one_warning(gl, monkeypatch):
    from imgui_bundle import imgui_microtex

    formulas = Formulas(gl)
    formulas.available = True

    def broken(*args, **kwargs):
        raise RuntimeError("locale::facet::_S_create_c_locale name not valid")

    monkeypatch.setattr(imgui_microtex, "render", broken)
    assert formulas.render(r"\partial x", 20) is None
    assert formulas.render(r"\log y", 20) is None
    assert "locale" in formulas.warning


def test_sizes_not_in_use_are_freed(gl):
    """Zooming all day keeps only the most recent sizes' textures."""
    if not _locale_exists():
        pytest.skip("the en_US.UTF-8 locale is not installed (CI installs it)")
    formulas = Formulas(gl)
    formulas.MAX_SIZES = 2
    first = formulas.image(r"x^2", 10.0)
    formulas.image(r"x^2", 11.0)
    assert formulas.generation == 0 and type(first.texture.mglo).__name__ != "InvalidObject"
    formulas.image(r"x^2", 12.0)
    assert formulas.generation == 1 and type(first.texture.mglo).__name__ == "InvalidObject"
    assert formulas.image(r"x^2", 10.0) is not first  # drawn again when asked for
    formulas.release()
