"""LaTeX formulas render with MicroTeX; without the locale they fall back to readable text."""

import pytest

from sandbox.ui.latex import Formulas, _locale_exists, plain_text


def test_plain_text_fallback_is_readable():
    assert plain_text(r"\eta \lambda_{\max} < 2") == "η λ_max < 2"
    assert plain_text(r"\frac{2}{\eta}") == "(2)/(η)"
    assert plain_text(r"\nabla_\theta L") == "∇_θ L"


def test_formulas_render_to_textures(gl):
    if not _locale_exists():
        pytest.skip("the en_US.UTF-8 locale is not installed (CI installs it)")
    formulas = Formulas(gl)
    texture = formulas.render(r"\eta\,\lambda_{\max} < 2 \quad \partial_t p = -\nabla\cdot(p v)", 24)
    assert texture is not None and texture.size[0] > 100 and formulas.warning is None
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
