"""Dear ImGui on the app's window, through imgui-bundle's bundled C++ backends.

The GLFW backend feeds mouse, keyboard and gamepad into ImGui; the OpenGL 3 backend draws.
Both run on the moderngl context of :class:`sandbox.gfx.context.Window`, windowed or headless.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

from imgui_bundle import imgui, implot

import glfw
import imgui_bundle

from ..paths import ASSETS_DIR

FONTS = Path(imgui_bundle.__file__).parent / "assets" / "fonts"
BASE_FONT_SIZE = 17.0
MIN_SCALE, MAX_SCALE = 0.5, 3.0  # the UI scale's range (Ctrl+- / Ctrl+=, --ui-scale, F1)


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
        self.font_italic = self._font(io, "Roboto/Roboto-RegularItalic.ttf")  # *emphasis* in prose
        self._style()
        # every scale is applied to this copy of the unscaled style, never to the last scaled one:
        # scaling cumulatively loses a pixel to rounding each time (ImGui truncates sizes) until a
        # padding reaches 0 and ImGui asserts
        self._base_style = _sizes(imgui.get_style())
        self.scale = 1.0
        self.set_scale(scale)
        self._address = ctypes.cast(window.handle, ctypes.c_void_p).value
        imgui.backends.glfw_init_for_opengl(self._address, False)
        self._held_buttons: list[tuple[int, int, int]] = []  # see _mouse_button
        self._pointer_moved = False
        self._install_input(window.handle)
        imgui.backends.opengl3_init("#version 330")

    def _install_input(self, handle) -> None:
        """GLFW's input callbacks, each handing its event to the ImGui backend, so that a mouse
        button can be held back a frame (see :meth:`on_mouse_button`)."""
        backend, address = imgui.backends, self._address
        glfw.set_window_focus_callback(handle, lambda _w, focused: backend.glfw_window_focus_callback(address, focused))
        glfw.set_cursor_enter_callback(handle, lambda _w, entered: backend.glfw_cursor_enter_callback(address, entered))
        glfw.set_cursor_pos_callback(handle, self.on_cursor_pos)
        glfw.set_mouse_button_callback(handle, self.on_mouse_button)
        glfw.set_scroll_callback(handle, lambda _w, dx, dy: backend.glfw_scroll_callback(address, dx, dy))
        glfw.set_key_callback(handle, lambda _w, key, code, action, mods:
                              backend.glfw_key_callback(address, key, code, action, mods))
        glfw.set_char_callback(handle, lambda _w, char: backend.glfw_char_callback(address, char))

    def on_cursor_pos(self, _window, x: float, y: float) -> None:
        self._pointer_moved = True
        imgui.backends.glfw_cursor_pos_callback(self._address, x, y)

    def on_mouse_button(self, _window, button: int, action: int, mods: int) -> None:
        """A button event, held for the next frame when the pointer moved since this one began.

        A touch screen's tap arrives as one burst: the pointer jumps onto a control and presses
        it at once. ImGui gives the jump and the press to the same frame, and controls that may
        overlap others (tabs among them) only count as hovered a frame after the pointer reaches
        them, so the press would miss. Held back one frame, the tap lands as a click does."""
        if self._pointer_moved or self._held_buttons:
            self._held_buttons.append((button, action, mods))
        else:
            imgui.backends.glfw_mouse_button_callback(self._address, button, action, mods)

    def _release_held_buttons(self) -> None:
        """Give ImGui the button events held back this frame (it reads them next frame)."""
        for event in self._held_buttons:
            imgui.backends.glfw_mouse_button_callback(self._address, *event)
        self._held_buttons.clear()
        self._pointer_moved = False

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
        scale = round(min(MAX_SCALE, max(MIN_SCALE, scale)), 2)
        style = imgui.get_style()
        for name, value in self._base_style.items():
            setattr(style, name, imgui.ImVec2(value[0], value[1]) if isinstance(value, tuple) else value)
        style.scale_all_sizes(scale)
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
        self._release_held_buttons()

    def shutdown(self) -> None:
        imgui.backends.opengl3_shutdown()
        imgui.backends.glfw_shutdown()
        implot.destroy_context(self.plot_context)
        imgui.destroy_context(self.context)


def _sizes(style) -> dict[str, float | tuple[float, float]]:
    """The style's sizes (every float and ImVec2 field), copied: what ``scale_all_sizes`` scales."""
    sizes: dict[str, float | tuple[float, float]] = {}
    for name in dir(style):
        if name.startswith("_"):
            continue
        value = getattr(style, name)
        if isinstance(value, float):
            sizes[name] = value
        elif isinstance(value, imgui.ImVec2):
            sizes[name] = (value.x, value.y)
    return sizes
