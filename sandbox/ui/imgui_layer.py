"""Dear ImGui on the app's window, through imgui-bundle's bundled C++ backends.

The GLFW backend feeds mouse, keyboard and gamepad into ImGui; the OpenGL 3 backend draws.
Both run on the moderngl context of :class:`sandbox.gfx.context.Window`, windowed or headless.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

from imgui_bundle import imgui, implot

import imgui_bundle

from ..paths import ASSETS_DIR

FONTS = Path(imgui_bundle.__file__).parent / "assets" / "fonts"
BASE_FONT_SIZE = 17.0


class ImGuiLayer:
    """One ImGui + implot context bound to a window. ``scale`` is the UI scale (1 = 100%)."""

    def __init__(self, window, scale: float = 1.0):
        self.window = window
        self.context = imgui.create_context()
        self.plot_context = implot.create_context()
        io = imgui.get_io()
        io.set_ini_filename(None)  # layouts are code, not a file left in the working directory
        # A level's panel that leaves ImGui's stack unbalanced is repaired and logged, never raised:
        # the host then shows the level's own error.
        io.config_error_recovery_enable_assert = False
        io.config_flags |= imgui.ConfigFlags_.nav_enable_keyboard.value | imgui.ConfigFlags_.nav_enable_gamepad.value
        self.font = self._font(io, "Roboto/Roboto-Regular.ttf")
        self.font_bold = self._font(io, "Roboto/Roboto-Bold.ttf")
        self.font_mono = self._font(io, "Inconsolata-Medium.ttf")
        self._style()
        self.scale = 1.0
        self.set_scale(scale)
        address = ctypes.cast(window.handle, ctypes.c_void_p).value
        imgui.backends.glfw_init_for_opengl(address, True)
        imgui.backends.opengl3_init("#version 330")

    @staticmethod
    def _font(io, name: str):
        """A text font with fallbacks merged in for the symbols it lacks: DejaVu Sans (subscripts,
        modifier letters like ᵀ, arrows) and Latin Modern Math (operators), so labels like x₀,
        Kᵀ or ∇L render."""
        font = io.fonts.add_font_from_file_ttf(str(FONTS / name), BASE_FONT_SIZE)
        for fallback in (ASSETS_DIR / "fonts" / "DejaVuSans.ttf", FONTS / "latex" / "latinmodern-math.otf"):
            config = imgui.ImFontConfig()
            config.merge_mode = True
            io.fonts.add_font_from_file_ttf(str(fallback), BASE_FONT_SIZE, config)
        return font

    def _style(self) -> None:
        imgui.style_colors_dark()
        style = imgui.get_style()
        style.window_rounding = 6.0
        style.frame_rounding = 4.0
        style.grab_rounding = 4.0
        style.window_border_size = 0.0
        # opaque, so a clear in this colour can stand in for the big windows' backgrounds (see
        # window_background); every other window draws its own
        style.set_color_(imgui.Col_.window_bg, imgui.ImVec4(0.07, 0.08, 0.10, 1.0))
        style.set_color_(imgui.Col_.title_bg_active, imgui.ImVec4(0.16, 0.24, 0.36, 1.0))
        style.set_color_(imgui.Col_.header, imgui.ImVec4(0.20, 0.30, 0.45, 0.55))

    def window_background(self) -> tuple[float, float, float, float]:
        """The windows' background colour as ImGui writes it, 8 bits a channel: a clear in this
        colour under a window drawn with no background gives the same pixels, far cheaper on a
        software renderer than ImGui's textured quad."""
        c = imgui.get_style().color_(imgui.Col_.window_bg)
        return tuple(int(min(max(v, 0.0), 1.0) * 255.0 + 0.5) / 255.0 for v in (c.x, c.y, c.z)) + (1.0,)

    def set_scale(self, scale: float) -> None:
        """Scale fonts and sizes (clamped to 50%..300%)."""
        scale = min(3.0, max(0.5, scale))
        style = imgui.get_style()
        style.scale_all_sizes(scale / self.scale)
        style.font_scale_main = scale
        self.scale = scale

    def new_frame(self, delta_time: float | None = None) -> None:
        """Start an ImGui frame. ``delta_time`` replaces the backend's wall-clock measure of the
        time since the last frame (a fixed clock: ImGui's timers then advance by frames)."""
        imgui.backends.opengl3_new_frame()
        imgui.backends.glfw_new_frame()
        if delta_time is not None:
            imgui.get_io().delta_time = max(float(delta_time), 1e-6)
        imgui.new_frame()

    def input_events(self) -> int:
        """How many input events ImGui has been given so far (it drops repeats, such as a mouse
        position that did not change): a change means the learner did something."""
        return imgui.get_current_context().input_events_next_event_id

    def render(self) -> None:
        imgui.render()
        imgui.backends.opengl3_render_draw_data(imgui.get_draw_data())

    def shutdown(self) -> None:
        imgui.backends.opengl3_shutdown()
        imgui.backends.glfw_shutdown()
        implot.destroy_context(self.plot_context)
        imgui.destroy_context(self.context)
