"""The window and its OpenGL 4.3 core context, on a display or headless.

Headless uses GLFW's Null platform with an EGL context, so the app runs exactly the same loop
with or without a display: the default framebuffer is readable, input can be injected, and
nothing else differs. imgui-bundle must be imported before glfw: it points pyGLFW at the
libglfw it ships (3.5, which has the Null platform).
"""

from __future__ import annotations

import os
import time

import imgui_bundle  # noqa: F401  (must precede glfw, see the module docstring)
import glfw
import moderngl


class DisplayError(RuntimeError):
    """No display to open a window on (the message says what to use instead)."""


_initialised: str | None = None  # "window" or "headless"


def _init(headless: bool) -> None:
    global _initialised
    mode = "headless" if headless else "window"
    if _initialised == mode:
        return
    if _initialised is not None:
        glfw.terminate()
        _initialised = None
    glfw.ERROR_REPORTING = "ignore"
    if headless:
        glfw.init_hint(glfw.PLATFORM, glfw.PLATFORM_NULL)
    elif hasattr(glfw, "PLATFORM_ANY"):
        glfw.init_hint(glfw.PLATFORM, glfw.PLATFORM_ANY)
    if not glfw.init():
        code, message = glfw.get_error()
        reason = message.decode() if isinstance(message, bytes) else str(message or "")
        if not headless and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            reason = "no display (DISPLAY is not set)"
        raise DisplayError(reason or f"glfw could not initialise (error {code})")
    _initialised = mode


def display_reason() -> str | None:
    """None if a window can be opened here, else why not (without opening one)."""
    try:
        _init(headless=False)
    except DisplayError as exc:
        return str(exc)
    return None


def software_renderer(ctx) -> bool:
    """Whether ``ctx`` draws on the CPU (Mesa's llvmpipe or softpipe, SwiftShader, Apple's or
    Microsoft's software renderers)."""
    name = ctx.info.get("GL_RENDERER", "").lower()
    return any(word in name for word in ("llvmpipe", "softpipe", "swiftshader", "software"))


def _keep_open(handle) -> None:
    glfw.set_window_should_close(handle, False)


class Window:
    """A GLFW window (or a headless stand-in) with a moderngl context made current."""

    def __init__(self, size: tuple[int, int] = (1280, 720), title: str = "Continuous Function",
                 headless: bool = False, fullscreen: bool = False, vsync: bool = True):
        _init(headless)
        self.headless = headless
        glfw.default_window_hints()
        if headless:
            glfw.window_hint(glfw.CONTEXT_CREATION_API, glfw.EGL_CONTEXT_API)
            glfw.window_hint(glfw.VISIBLE, False)
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 4)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        self._create(size, title, samples=0 if headless else 4)
        if not headless and software_renderer(self.ctx):
            # multisampling on a software rasterizer multiplies the cost of every pixel (a level's
            # frame took 2.5x as long with 4 samples on llvmpipe): such a window gets none, and
            # then shows what a headless screenshot shows
            self.ctx.release()
            glfw.destroy_window(self.handle)
            self._create(size, title, samples=0)
        glfw.swap_interval(1 if vsync and not headless else 0)
        self._fill = None  # (program, vertex array) of fill(), made on first use
        self._windowed_rect = (100, 100, *size)
        if fullscreen:
            self.toggle_fullscreen()

    def _create(self, size: tuple[int, int], title: str, samples: int) -> None:
        glfw.window_hint(glfw.SAMPLES, samples)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        self.handle = glfw.create_window(size[0], size[1], title, None, None)
        if not self.handle:  # e.g. macOS: 4.1 is the most it gives; compute kernels then use Numba
            glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 1)
            self.handle = glfw.create_window(size[0], size[1], title, None, None)
        if not self.handle:
            code, message = glfw.get_error()
            raise DisplayError(f"could not create an OpenGL 4.1+ core window: {message!r}")
        glfw.make_context_current(self.handle)
        # init_context loads GL through the current context whatever made it (GLX or EGL);
        # create_context() would try to detect a GLX context once a first one exists
        moderngl.init_context()
        self.ctx = moderngl.get_context()

    def make_current(self) -> None:
        """Make this window's context the current one (several may exist in one process)."""
        glfw.make_context_current(self.handle)

    @property
    def size(self) -> tuple[int, int]:
        """The framebuffer size in pixels."""
        return glfw.get_framebuffer_size(self.handle)

    @property
    def window_size(self) -> tuple[int, int]:
        """The window size in screen coordinates (mouse positions use these)."""
        return glfw.get_window_size(self.handle)

    def should_close(self) -> bool:
        return bool(glfw.window_should_close(self.handle))

    def request_close(self) -> None:
        """Close the window at the end of this frame (the app's own decision: never refused)."""
        glfw.set_window_should_close(self.handle, True)

    def refuse_close_requests(self, refuse: bool = True) -> None:
        """Ignore the close requests a visitor can make (a close button, Alt+F4): a kiosk runs on.
        :meth:`request_close` still closes."""
        glfw.set_window_close_callback(self.handle, _keep_open if refuse else None)

    @property
    def fullscreen(self) -> bool:
        return bool(glfw.get_window_monitor(self.handle))

    def set_title(self, title: str) -> None:
        glfw.set_window_title(self.handle, title)

    def swap(self) -> None:
        glfw.swap_buffers(self.handle)
        if self.headless:
            self.ctx.finish()  # the Null platform does not throttle; keep GL work from piling up

    @staticmethod
    def poll() -> None:
        glfw.poll_events()

    def wait(self, timeout: float) -> None:
        """Sleep until an event arrives or ``timeout`` seconds pass (just poll if it is not
        positive). Headless there are no events: it only sleeps."""
        if timeout <= 0:
            glfw.poll_events()
        elif self.headless:
            time.sleep(timeout)
        else:
            glfw.wait_events_timeout(timeout)

    def toggle_fullscreen(self) -> None:
        """Switch between a window and fullscreen on the primary monitor."""
        monitor = glfw.get_window_monitor(self.handle)
        if monitor:
            x, y, w, h = self._windowed_rect
            glfw.set_window_monitor(self.handle, None, x, y, w, h, 0)
            return
        primary = glfw.get_primary_monitor()
        if not primary:
            return
        x, y = glfw.get_window_pos(self.handle)
        self._windowed_rect = (x, y, *self.window_size)
        mode = glfw.get_video_mode(primary)
        glfw.set_window_monitor(self.handle, primary, 0, 0, mode.size.width, mode.size.height, mode.refresh_rate)

    def fill(self, rect: tuple[int, int, int, int], color: tuple[float, float, float, float]) -> None:
        """Paint a rectangle of the bound framebuffer (x, y from the bottom, w, h in pixels) one
        colour: one untextured quad, no blending, no depth test (both are left disabled).

        On llvmpipe this costs a fraction of ImGui's textured, blended quads (a window's
        background) and less than a clear limited to the same rectangle (see BENCHMARKS.md)."""
        ctx = self.ctx
        if self._fill is None:
            program = ctx.program(
                vertex_shader="#version 330\nvoid main() {\n"
                              "    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1);\n"
                              "    gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);\n}\n",
                fragment_shader="#version 330\nuniform vec4 color;\nout vec4 out_color;\n"
                                "void main() { out_color = color; }\n")
            self._fill = (program, ctx.vertex_array(program, []))
        program, vao = self._fill
        program["color"].value = tuple(color)
        viewport = ctx.viewport
        ctx.disable(moderngl.BLEND | moderngl.DEPTH_TEST)
        ctx.viewport = tuple(int(v) for v in rect)
        vao.render(moderngl.TRIANGLE_STRIP, vertices=4)
        ctx.viewport = viewport

    def close(self) -> None:
        if self.handle:
            if self._fill is not None:
                for item in reversed(self._fill):
                    item.release()
                self._fill = None
            self.ctx.release()
            glfw.destroy_window(self.handle)
            self.handle = None
