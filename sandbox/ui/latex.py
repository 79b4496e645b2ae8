"""LaTeX formulas in the UI, rendered by MicroTeX (imgui-bundle), with a readable text fallback.

MicroTeX needs the en_US.UTF-8 locale to exist on the system. When it is missing we try to
compile it into the user data folder (``localedef``, no root needed) and point ``LOCPATH``
there; if a formula still cannot be rendered, it is shown as readable Unicode text and one
warning is logged. A missing locale never crashes a level.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_SYMBOLS = {
    r"\eta": "η", r"\lambda": "λ", r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\delta": "δ",
    r"\Delta": "Δ", r"\epsilon": "ε", r"\theta": "θ", r"\mu": "μ", r"\sigma": "σ", r"\Sigma": "Σ",
    r"\phi": "φ", r"\varphi": "φ", r"\pi": "π", r"\tau": "τ", r"\omega": "ω", r"\nabla": "∇",
    r"\partial": "∂", r"\sum": "Σ", r"\int": "∫", r"\prod": "Π", r"\infty": "∞", r"\cdot": "·",
    r"\times": "×", r"\leq": "≤", r"\le": "≤", r"\geq": "≥", r"\ge": "≥", r"\neq": "≠", r"\approx": "≈",
    r"\to": "→", r"\rightarrow": "→", r"\leftarrow": "←", r"\in": "∈", r"\circ": "∘", r"\top": "ᵀ",
    r"\max": "max", r"\min": "min", r"\log": "log", r"\exp": "exp", r"\sqrt": "√", r"\|": "‖",
    r"\quad": "  ", r"\qquad": "    ", r"\,": " ", r"\;": " ", r"\!": "", r"\langle": "⟨", r"\rangle": "⟩",
}


def plain_text(tex: str) -> str:
    """A readable Unicode rendering of a LaTeX formula, for when MicroTeX cannot draw it."""
    text = tex
    for _ in range(3):  # nested fractions
        text = re.sub(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)", text)
    text = re.sub(r"\\(?:mathrm|mathbf|mathcal|text|operatorname|boldsymbol|left|right)\b", "", text)
    for name in sorted(_SYMBOLS, key=len, reverse=True):
        text = re.sub(re.escape(name) + r"(?![A-Za-z])", _SYMBOLS[name], text)
    text = text.replace("^{2}", "²").replace("^2", "²").replace("^{-1}", "⁻¹").replace("^T", "ᵀ")
    text = re.sub(r"[{}]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _locale_exists() -> bool:
    import locale

    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        locale.setlocale(locale.LC_CTYPE, "en_US.UTF-8")
        return True
    except locale.Error:
        return False
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)


def ensure_locale() -> str | None:
    """Make en_US.UTF-8 available to MicroTeX; None on success, else why not."""
    if _locale_exists():
        return None
    from ..paths import user_data_dir

    target = user_data_dir() / "locale"
    if not (target / "en_US.UTF-8").is_dir():
        localedef = shutil.which("localedef")
        if not localedef:
            return "the en_US.UTF-8 locale is missing and localedef is not installed"
        try:
            subprocess.run([localedef, "-i", "en_US", "-f", "UTF-8", str(target / "en_US.UTF-8")],
                           check=False, capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"could not compile the en_US.UTF-8 locale: {exc}"
        if not (target / "en_US.UTF-8").is_dir():
            return "the en_US.UTF-8 locale is missing and could not be compiled"
    os.environ["LOCPATH"] = str(target)
    return None


class Formulas:
    """Renders formulas to textures once and draws them in ImGui; falls back to text."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._cache: dict[tuple[str, float, bool], object] = {}
        self.available: bool | None = None
        self.warning: str | None = None

    def _init(self) -> None:
        from imgui_bundle import imgui_microtex

        import imgui_bundle

        reason = ensure_locale()
        fonts = Path(imgui_bundle.__file__).parent / "assets" / "fonts" / "latex"
        try:
            imgui_microtex.init(str(fonts / "latinmodern-math.clm1"), str(fonts / "latinmodern-math.otf"))
            self.available = True
        except Exception as exc:
            self._warn(f"LaTeX is unavailable ({exc}); formulas are shown as text")
            self.available = False
        if reason:
            self._warn(f"LaTeX may fall back to text: {reason}")

    def _warn(self, message: str) -> None:
        if self.warning is None:
            self.warning = message
            log.warning(message)

    def render(self, tex: str, size: float = 22.0, display: bool = True):
        """The texture of a formula, or None if it cannot be rendered (then use :func:`plain_text`)."""
        if self.available is None:
            self._init()
        key = (tex, size, display)
        if key in self._cache:
            return self._cache[key]
        texture = None
        if self.available:
            from imgui_bundle import imgui_microtex

            style = imgui_microtex.TexStyle.display if display else imgui_microtex.TexStyle.text
            try:
                formula = imgui_microtex.render(tex, size, 0xFFFFFFFF, style)
                pixels = np.ascontiguousarray(formula.pixels_as_array())
                if formula.width > 0 and formula.height > 0:
                    texture = self.ctx.texture((formula.width, formula.height), 4, pixels.tobytes())
                    texture.filter = (self.ctx.LINEAR, self.ctx.LINEAR)
            except Exception as exc:  # e.g. the locale facet error
                self._warn(f"LaTeX could not render ({exc}); formulas are shown as text")
        self._cache[key] = texture
        return texture

    def draw(self, tex: str, size: float = 22.0, display: bool = True) -> None:
        """Draw a formula at the ImGui cursor (an image, or readable text if LaTeX is unavailable)."""
        from imgui_bundle import imgui

        texture = self.render(tex, size * imgui.get_style().font_scale_main, display)
        if texture is None:
            imgui.text_wrapped(plain_text(tex))
        else:
            imgui.image(imgui.ImTextureRef(texture.glo), imgui.ImVec2(*texture.size))

    def release(self) -> None:
        for texture in self._cache.values():
            if texture is not None:
                texture.release()
        self._cache.clear()
