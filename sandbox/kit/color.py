"""One colour type and one palette for everything a level draws.

:class:`Color` is an ``imgui.ImVec4`` (so ImGui and implot take it as it is) that is also a
sequence of four floats (so the painter, numpy and GLSL uniforms take it as it is): no level
converts colours by hand. :data:`PALETTE` is the Okabe-Ito set, which stays distinguishable
under the common colour-vision deficiencies, with neutrals tuned for the dark scene.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
from imgui_bundle import imgui


class Color(imgui.ImVec4):
    """An RGBA colour with components in [0, 1]."""

    def __init__(self, r: float, g: float, b: float, a: float = 1.0):
        super().__init__(float(r), float(g), float(b), float(a))

    @classmethod
    def hex(cls, code: str, alpha: float = 1.0) -> "Color":
        """``Color.hex("#E69F00")``."""
        code = code.lstrip("#")
        return cls(*(int(code[i:i + 2], 16) / 255.0 for i in (0, 2, 4)), alpha)

    @classmethod
    def of(cls, value) -> "Color":
        """A Color from a Color, an ImVec4 or any 3- or 4-sequence."""
        if isinstance(value, Color):
            return value
        if isinstance(value, imgui.ImVec4):
            return cls(value.x, value.y, value.z, value.w)
        return cls(*value)

    def __iter__(self):
        return iter((self.x, self.y, self.z, self.w))

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index):
        return (self.x, self.y, self.z, self.w)[index]

    def __eq__(self, other) -> bool:
        try:
            return tuple(self) == tuple(other)
        except TypeError:
            return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Color({self.x:.3g}, {self.y:.3g}, {self.z:.3g}, {self.w:.3g})"

    @property
    def rgba(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.z, self.w)

    @property
    def u32(self) -> int:
        """Packed for ImGui draw lists."""
        return imgui.get_color_u32(self)

    def alpha(self, a: float) -> "Color":
        """The same colour with opacity ``a``."""
        return Color(self.x, self.y, self.z, a)

    def fade(self, factor: float) -> "Color":
        """The same colour with its opacity multiplied by ``factor``."""
        return Color(self.x, self.y, self.z, self.w * factor)

    def mix(self, other, t: float) -> "Color":
        """``(1 - t) * self + t * other``, alpha included."""
        o = Color.of(other)
        return Color(*((1 - t) * a + t * b for a, b in zip(self, o)))

    def lighter(self, t: float = 0.45) -> "Color":
        """Towards white by ``t`` (text drawn in a series' hue stays readable on the dark plate)."""
        return self.mix(Color(1, 1, 1, self.w), t)


@dataclass(frozen=True)
class Palette:
    """Named colours. Series colours cycle through :attr:`series` with :meth:`pick`."""

    orange: Color = Color.hex("#E69F00")
    sky: Color = Color.hex("#56B4E9")
    green: Color = Color.hex("#009E73")
    yellow: Color = Color.hex("#F0E442")
    blue: Color = Color.hex("#3C8FD8")  # Okabe-Ito's #0072B2, lifted to read on the dark scene
    vermillion: Color = Color.hex("#D55E00")
    purple: Color = Color.hex("#CC79A7")
    white: Color = Color(0.93, 0.94, 0.96)
    text: Color = Color(0.92, 0.93, 0.95)
    muted: Color = Color(0.65, 0.68, 0.72)
    grid: Color = Color(0.40, 0.45, 0.50, 0.8)
    plate: Color = Color(0.05, 0.06, 0.08, 0.78)  # behind text drawn over the scene
    shadow: Color = Color(0.02, 0.02, 0.04, 0.85)  # a dark rim under points drawn over bright images
    accent: Color = Color(0.45, 0.75, 1.0)
    good: Color = Color(0.45, 0.85, 0.45)
    bad: Color = Color(1.0, 0.45, 0.40)
    error_text: Color = Color(1.0, 0.75, 0.70)

    @property
    def series(self) -> tuple[Color, ...]:
        return (self.orange, self.sky, self.green, self.yellow, self.purple, self.vermillion, self.blue)

    def pick(self, index: int) -> Color:
        """The ``index``-th series colour (cycling)."""
        return self.series[index % len(self.series)]


PALETTE = Palette()


def hues(fractions, saturation: float = 0.65, value: float = 1.0) -> np.ndarray:
    """A colour wheel, one RGBA row per fraction of a turn: distinct colours for more categories
    than any palette has (token values, say), or a cyclic quantity's place on a circle."""
    return np.array([(*colorsys.hsv_to_rgb(float(f) % 1.0, saturation, value), 1.0) for f in np.atleast_1d(fractions)],
                    np.float32)
