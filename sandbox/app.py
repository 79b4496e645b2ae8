"""The one loop: a window (or a headless stand-in), ImGui, the atlas and the level host.

Every frame: poll input, step the simulation in fixed timesteps, draw the scene into its
viewport, draw the panels, render ImGui, maybe save a screenshot, swap. Headless runs the
identical loop on GLFW's Null platform, which is how screenshots, benchmarks and the tests
see exactly what a learner sees.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from pathlib import Path

import numpy as np
from imgui_bundle import imgui

import glfw
from sim import backends

from .atlas import Atlas
from .audio import Sounds
from .clock import Clock, FixedClock, RealClock
from .clock import use as use_clock
from .gfx.camera import FrameInput
from .gfx.context import Window
from .gfx.draw import Painter
from .host import LevelHost
from .paths import user_data_dir
from .progress import Progress
from .registry import Registry
from .ui.imgui_layer import MAX_SCALE, MIN_SCALE, ImGuiLayer
from .ui.latex import Formulas
from .ui.notes_window import NotesWindow
from .ui.widgets import ACCENT, MUTED, error_box
from .view import Frame

log = logging.getLogger(__name__)

HOW_TO_PLAY = (
    ("1 Play", "Try it. Change the settings on the left and watch the scene and the plots."),
    ("2 Predict", "Pick a challenge, make your prediction and say how sure you are, then lock it in. "
                  "The simulation runs and measures the answer; you score for being right and honest."),
    ("3 Why", "The few formulas behind what you saw. Code and About say more."),
    ("Note / Ask", "Leave a note (a reproduction, a repair, a question) on what is in view, or build a question "
                   "about it for your own AI assistant."),
)

# (keys, what they do, whether a kiosk's visitor has them)
CONTROLS = (
    ("Mouse or touch", "press buttons and tabs, drag sliders; in the scene, drag to orbit or pan, wheel to zoom", True),
    ("Tab / Shift+Tab, arrows", "move between controls; ← → move a slider the keyboard is on", True),
    ("Space or Enter", "press the control the keyboard is on; with none, Space pauses and plays", True),
    ("Esc / gamepad B", "let go of a control; again: back to the atlas", True),
    ("N / gamepad Y", "one step (pauses)", True),
    ("R / gamepad Back", "reset the run", True),
    ("+ / -  or  bumpers", "simulation speed", True),
    ("W A S D, Q / E, sticks", "pan and zoom the scene", True),
    ("Ctrl+= / Ctrl+-", "bigger or smaller text and controls", True),
    ("Ctrl+F", "search the levels, claims and formulas (in the atlas); Esc clears it", True),
    ("F1", "show or hide this help", True),
    ("F11", "fullscreen on / off", False),
    ("F12", "save a screenshot (PNG)", False),
    ("Ctrl+R", "reload the level's code, manifest and shaders", False),
)

_KEYS = {"left": imgui.Key.left_arrow, "right": imgui.Key.right_arrow, "up": imgui.Key.up_arrow,
         "down": imgui.Key.down_arrow, "w": imgui.Key.w, "a": imgui.Key.a, "s": imgui.Key.s, "d": imgui.Key.d,
         "q": imgui.Key.q, "e": imgui.Key.e}


_ARROWS = {"left", "right", "up", "down"}
_KEYBOARD_KEYS = range(imgui.Key.tab.value, imgui.Key.gamepad_start.value)  # every key but the pads


SCENE_BACKGROUND = (0.075, 0.085, 0.105, 1.0)


OPERATOR_EXIT = "Ctrl+Shift+Q"  # kiosk mode: hold these ...
OPERATOR_EXIT_S = 3.0  # ... this long to quit (visitors cannot close a kiosk)

MAX_DT = 0.1  # a frame never advances time by more than this (a stall is not a jump)
MAX_FPS = 60.0  # the interactive loop's frame-rate cap, where vsync does not hold it (Xvfb, some drivers)
IDLE_WAKE_S = 0.5  # nothing moves: still draw this often (hot reload, a toast's end, the kiosk timer)
SETTLE_S = 0.6  # after input, keep drawing this long: ImGui's hover, focus and tooltip delays settle
GAMEPAD_POLL_S = 1 / 30  # idle with a gamepad: how often its buttons are looked at (GLFW sends no events)


def _overlap(a, b) -> bool:
    """Whether two (x, y, w, h) rectangles share any area."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _stick(value: float) -> float:
    return 0.0 if abs(value) < 0.15 else value  # dead zone


class App:
    """The application. ``level`` opens straight into a level; otherwise the atlas shows."""

    def __init__(self, size=(1280, 720), headless: bool = False, level: str | None = None,
                 levels_dirs=(), backend: str | None = None, params: dict | None = None, seed: int = 0,
                 fullscreen: bool = False, ui_scale: float = 1.0, progress: Progress | None = None,
                 registry: Registry | None = None, idle_reset_s: float | None = None, clock: Clock | None = None):
        #: the one source of time (see sandbox.clock): wall time in a window; headless, a fixed
        #: clock advanced by each frame's dt, so headless frames are the same on every machine
        self.clock: Clock = clock if clock is not None else (FixedClock() if headless else RealClock())
        self.window = Window(size, "Continuous Function", headless=headless, fullscreen=fullscreen)
        self.ctx = self.window.ctx
        backends.use_context(self.ctx)  # GLSL kernels share the window's context
        self.backend = backends.choose(backend)
        log.info("simulation backend: %s (available: %s)", self.backend, ", ".join(backends.available()))
        self.registry = registry or Registry(levels_dirs)
        self.progress = progress or Progress()
        self.imgui = ImGuiLayer(self.window, ui_scale)
        self.painter = Painter(self.ctx)
        self.formulas = Formulas(self.ctx)
        self.atlas = Atlas(self)
        self.notes = NotesWindow(self)  # notes on the exact object, and "Ask about this"
        self.clipboard = ""  # the last text the app copied (also on the system clipboard)
        self.sounds = Sounds(muted=headless)
        self.host: LevelHost | None = None
        self.show_help = False
        self.toast: tuple[str, float] | None = None
        self.frame_count = 0
        self.frame_times: deque[float] = deque(maxlen=100_000)  # seconds each frame took (bench)
        self.max_fps = MAX_FPS
        self._frames_wanted = 0  # frames still to draw although nothing animates (request_frames)
        self._settle_until = 0.0
        self._input_events = -1
        self._had_input = False  # this frame brought input (mouse, keys, wheel, characters)
        self._screenshot_request: Path | None = None
        self._pending_events: list[tuple] = []
        self._records_cache: dict[str, dict] = {}
        # what the atlas and panels read every frame, read from the store once per change
        self._visited: set[str] | None = None
        self._notes_cache: dict[str, list] = {}
        self.marks: dict[str, tuple[float, float, float, float]] = {}  # see mark()
        self.mark_ids: dict[str, int] = {}
        #: kiosk mode (``idle_reset_s`` given): after that long untouched everything returns to how
        #: it started for the next visitor; visitors cannot close the app, leave fullscreen, reload
        #: code or write screenshots; an operator exits by holding OPERATOR_EXIT for a few seconds
        self.idle_reset_s = idle_reset_s
        self.kiosk = idle_reset_s is not None
        self._initial = {"fullscreen": self.window.fullscreen, "ui_scale": self.imgui.scale,
                         "muted": self.sounds.muted}
        self._last_input = self.clock.now()
        self._visitor = False  # someone touched the app since the last idle reset
        self._exit_held_since: float | None = None
        self._focus_panel = False  # give the level's panel the keyboard on its next frame
        self._go_to: tuple[str, str | None, str | None] | None = None  # see go_to()
        if self.kiosk:
            self.window.refuse_close_requests()
        if level:
            self.open_level(level, params, seed)

    # -- levels and progress -----------------------------------------------------------------
    def open_level(self, level_id: str, params: dict | None = None, seed: int = 0) -> None:
        entry = self.registry.get(level_id)
        if self.host is not None:
            self.host.close()
        self.host = LevelHost(self, entry, params, seed)
        self._focus_panel = True  # the arrows move between its controls at once
        self.progress.visit(level_id)
        self._visited = None
        self.window.set_title(f"Continuous Function: {entry.manifest.title if entry.manifest else level_id}")

    def go_to(self, level_id: str, tab: str | None = None, challenge: str | None = None) -> None:
        """Open ``level_id`` (or stay in it) on ``tab`` at the end of this frame, with ``challenge``
        opened in the Challenges tab when given: a level's own panel may ask for it without
        closing itself while it draws."""
        self._go_to = (level_id, tab, challenge)

    def _follow_go_to(self) -> None:
        if self._go_to is None:
            return
        (level_id, tab, challenge), self._go_to = self._go_to, None
        if level_id not in self.registry.entries:
            self.notify(f"No level {level_id!r} is installed.")
            return
        if self.host is None or self.host.entry.id != level_id:
            self.open_level(level_id)
        if tab is not None:
            self.host.requested_tab = tab
        manifest = self.host.manifest
        if challenge is not None and manifest is not None and challenge in manifest.challenges:
            self.host.challenges.select(manifest.challenges[challenge])
            self.host.requested_tab = "Challenges"

    def close_level(self) -> None:
        if self.host is not None:
            self.host.close()
            self.host = None
        self.window.set_title("Continuous Function")

    def record(self, level_id: str, verdict) -> None:
        try:
            self.progress.record(level_id, verdict)
        except Exception as exc:  # a full disk must not end the session
            self.notify(f"Could not save progress: {exc}")
        self._records_cache.pop(level_id, None)
        self.sounds.play("right" if verdict.correct else "wrong")

    def progress_records(self, level_id: str) -> dict:
        if level_id not in self._records_cache:
            self._records_cache[level_id] = self.progress.challenges(level_id)
        return self._records_cache[level_id]

    def visited(self) -> set[str]:
        if self._visited is None:
            self._visited = self.progress.visited()
        return self._visited

    def level_notes(self, level_id: str) -> list:
        """The learner's notes on a level, oldest first (read from the store once per change)."""
        if level_id not in self._notes_cache:
            self._notes_cache[level_id] = self.progress.notes(level_id)
        return self._notes_cache[level_id]

    def add_note(self, level_id: str, target: str, kind: str, text: str):
        """Save a note (see :meth:`Progress.add_note`); returns it, or None when empty."""
        self._notes_cache.pop(level_id, None)
        return self.progress.add_note(level_id, target, kind, text)

    def delete_note(self, level_id: str, note_id: int) -> None:
        self._notes_cache.pop(level_id, None)
        self.progress.delete_note(note_id)

    def mark(self, name: str) -> None:
        """Remember where the last ImGui item was drawn, as ``marks[name] = (x, y, w, h)`` in window
        coordinates: how tests and scripted tours find a control to click or tap."""
        lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.marks[name] = (lo.x, lo.y, hi.x - lo.x, hi.y - lo.y)
        self.mark_ids[name] = imgui.get_item_id()  # the keyboard is on it when ImGui's nav id is this

    def notify(self, message: str, seconds: float = 4.0) -> None:
        self.toast = (message, self.clock.now() + seconds)
        self.request_frames(3)  # the toast window sizes itself over its first frames

    # -- input -------------------------------------------------------------------------------
    def inject(self, kind: str, *args) -> None:
        """Queue an input event for the next frame (headless driving and tests).

        Kinds: ``("mouse_pos", x, y)``, ``("tap", x, y)`` (jump, press and release at once), ``("mouse_button", button, down)``, ``("wheel", dy)``,
        ``("key", imgui.Key, down)``, ``("char", "a")``.
        """
        self._pending_events.append((kind, *args))

    def _feed_injected(self) -> None:
        io = imgui.get_io()
        if not self._pending_events:
            return
        kind, *args = self._pending_events.pop(0)  # one event per frame, as ImGui expects
        if kind == "tap":  # a touch screen's burst, through the window's own input callbacks
            self.imgui.on_cursor_pos(None, float(args[0]), float(args[1]))
            self.imgui.on_mouse_button(None, glfw.MOUSE_BUTTON_LEFT, glfw.PRESS, 0)
            self.imgui.on_mouse_button(None, glfw.MOUSE_BUTTON_LEFT, glfw.RELEASE, 0)
        elif kind == "mouse_pos":
            io.add_mouse_pos_event(float(args[0]), float(args[1]))
        elif kind == "mouse_button":
            io.add_mouse_button_event(int(args[0]), bool(args[1]))
        elif kind == "wheel":
            io.add_mouse_wheel_event(0.0, float(args[0]))
        elif kind == "key":
            io.add_key_event(args[0], bool(args[1]))
        elif kind == "char":
            io.add_input_character(ord(args[0]))

    def _gamepad(self) -> tuple[tuple[float, float], tuple[float, float], set[int]]:
        state = glfw.get_gamepad_state(glfw.JOYSTICK_1) if glfw.joystick_is_gamepad(glfw.JOYSTICK_1) else None
        if not state:
            return (0.0, 0.0), (0.0, 0.0), set()
        axes, buttons = state.axes, state.buttons
        pressed = {i for i, b in enumerate(buttons) if b}
        return ((_stick(axes[0]), _stick(axes[1])), (_stick(axes[2]), _stick(axes[3])), pressed)

    def _frame_input(self, scene_rect, dt: float, ratio: float) -> FrameInput:
        """This frame's input for the scene, in framebuffer pixels like the scene's viewport."""
        io = imgui.get_io()
        x0, y0, w, h = scene_rect
        mx, my = io.mouse_pos.x, io.mouse_pos.y
        hovered = (not io.want_capture_mouse) and x0 <= mx < x0 + w and y0 <= my < y0 + h
        keys = set()
        if not io.want_text_input and not io.key_ctrl:
            # the arrows belong to the panels' controls while the keyboard is on one
            names = _KEYS if not io.want_capture_keyboard else _KEYS.keys() - _ARROWS
            keys = {name for name in names if imgui.is_key_down(_KEYS[name])}
        left_stick, right_stick, _ = self._gamepad()
        drag = (io.mouse_delta.x * ratio, io.mouse_delta.y * ratio) if hovered else (0.0, 0.0)
        return FrameInput(mouse=((mx - x0) * ratio, (my - y0) * ratio), drag=drag,
                          left=io.mouse_down[0], right=io.mouse_down[1], middle=io.mouse_down[2],
                          clicked=hovered and imgui.is_mouse_clicked(0), wheel=io.mouse_wheel if hovered else 0.0,
                          shift=io.key_shift, ctrl=io.key_ctrl, keys=keys, stick_left=left_stick,
                          stick_right=right_stick, hovered=hovered, dt=dt)

    def _shortcuts(self) -> None:
        io = imgui.get_io()
        pressed = lambda key: imgui.is_key_pressed(key, False)  # noqa: E731
        _, _, pad = self._gamepad()
        self._pad_prev = getattr(self, "_pad_prev", set())
        pad_pressed = pad - self._pad_prev
        self._pad_prev = pad
        if pressed(imgui.Key.f1):
            self.show_help = not self.show_help
        if self.kiosk:
            self._operator_exit(io)
        else:  # a kiosk's visitors keep it fullscreen and write no files
            if pressed(imgui.Key.f11):
                self.window.toggle_fullscreen()
            if pressed(imgui.Key.f12):
                self.request_screenshot()
        if io.key_ctrl and (pressed(imgui.Key.equal) or pressed(imgui.Key.keypad_add)):
            self.imgui.set_scale(self.imgui.scale + 0.1)
        if io.key_ctrl and (pressed(imgui.Key.minus) or pressed(imgui.Key.keypad_subtract)):
            self.imgui.set_scale(self.imgui.scale - 0.1)
        host = self.host
        if host is None:
            if pressed(imgui.Key.escape) and self.show_help:
                self.show_help = False
            return
        if io.key_ctrl and pressed(imgui.Key.r) and not self.kiosk:
            host.reload()
            self.notify("Level reloaded")
            return
        if (pressed(imgui.Key.escape) or glfw.GAMEPAD_BUTTON_B in pad_pressed) and not io.want_text_input:
            if self.show_help:
                self.show_help = False
            elif not self._keyboard_on_control:  # Esc first lets go of a control (ImGui does that)
                self.close_level()
            return
        if io.want_text_input or io.key_ctrl:
            return
        # Space presses the control the keyboard is on; with none, it pauses and plays
        if (pressed(imgui.Key.space) and not self._keyboard_on_control) or glfw.GAMEPAD_BUTTON_START in pad_pressed:
            host.paused = not host.paused
        if pressed(imgui.Key.n) or glfw.GAMEPAD_BUTTON_Y in pad_pressed:
            host.single_step()
        if pressed(imgui.Key.r) or glfw.GAMEPAD_BUTTON_BACK in pad_pressed:
            host.reset_active()
        if pressed(imgui.Key.equal) or pressed(imgui.Key.keypad_add) or glfw.GAMEPAD_BUTTON_RIGHT_BUMPER in pad_pressed:
            host.change_speed(1)
        if pressed(imgui.Key.minus) or pressed(imgui.Key.keypad_subtract) or glfw.GAMEPAD_BUTTON_LEFT_BUMPER in pad_pressed:
            host.change_speed(-1)

    def _idle_check(self) -> None:
        """Kiosk mode: after ``idle_reset_s`` untouched, the next visitor finds the app as it started."""
        if not self.idle_reset_s:
            return
        io = imgui.get_io()
        left, right, buttons = self._gamepad()
        touched = (self._had_input or any(io.mouse_down) or buttons or any(left) or any(right)
                   or any(imgui.is_key_down(imgui.Key(k)) for k in _KEYBOARD_KEYS))
        now = self.clock.now()
        if touched:
            self._last_input = now
            self._visitor = True
        elif self._visitor and now - self._last_input > self.idle_reset_s:
            self.reset_for_next_visitor()
            self._last_input = now

    def reset_for_next_visitor(self) -> None:
        """Everything a visitor could change, back to how the app started: the atlas, fullscreen or
        windowed, the UI scale, sound, the help window, messages, and the session's progress."""
        self.close_level()
        self.show_help = False
        self.toast = None
        if self.window.fullscreen != self._initial["fullscreen"]:
            self.window.toggle_fullscreen()
        self.imgui.set_scale(self._initial["ui_scale"])
        self.sounds.muted = self._initial["muted"]
        self.progress.reset_session()  # a kiosk's store is the session's; one on disk is kept
        self._records_cache.clear()
        self._visited = None
        self._notes_cache.clear()
        self.atlas.reset()
        self.notes.reset()
        self._visitor = False

    def _operator_exit(self, io) -> None:
        """Kiosk: holding OPERATOR_EXIT's keys for OPERATOR_EXIT_S closes the app."""
        held = io.key_ctrl and io.key_shift and imgui.is_key_down(imgui.Key.q)
        now = self.clock.now()
        if not held:
            self._exit_held_since = None
            return
        if self._exit_held_since is None:
            self._exit_held_since = now
        left = OPERATOR_EXIT_S - (now - self._exit_held_since)
        if left <= 0:
            self.window.request_close()
        else:
            self.notify(f"Operator exit: keep holding {OPERATOR_EXIT} ({left:.0f} s)", 0.5)

    @property
    def _keyboard_on_control(self) -> bool:
        """Whether the keyboard is on a control (ImGui shows its focus frame): Space and Esc are then
        the control's."""
        io = imgui.get_io()
        return io.nav_visible and io.nav_active

    # -- screenshots ---------------------------------------------------------------------------
    def request_screenshot(self, path: Path | str | None = None) -> Path:
        """Save the next frame, UI included, to ``path`` (default: the user's screenshots folder)."""
        if path is None:
            folder = user_data_dir() / "screenshots"
            folder.mkdir(parents=True, exist_ok=True)
            name = self.host.entry.id if self.host else "atlas"
            path = folder / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.png"
        self._screenshot_request = Path(path)
        return self._screenshot_request

    def read_pixels(self) -> np.ndarray:
        """The default framebuffer as an (H, W, 3) uint8 array, top row first."""
        w, h = self.window.size
        data = self.ctx.screen.read(viewport=(0, 0, w, h), components=3, alignment=1)
        return np.frombuffer(data, np.uint8).reshape(h, w, 3)[::-1].copy()

    def _save_screenshot(self, path: Path) -> None:
        from .image import save_png

        save_png(path, self.read_pixels())
        self.notify(f"Screenshot saved: {path}")

    # -- the frame -----------------------------------------------------------------------------
    def layout(self) -> dict[str, tuple[float, float, float, float]]:
        """Rectangles (x, y, w, h in window coordinates) of the side panel, the plots and the scene."""
        w, h = self.window.window_size
        side = min(400.0 * self.imgui.scale, w * 0.45)
        # the strip holds titles, legends and tick labels whose size follows the UI scale: it gets a
        # floor in scaled units, so the data keep some height in a small window or at a large scale
        plots = min(max(h * 0.3, 230.0 * self.imgui.scale), h * 0.45)
        return {"side": (0, 0, side, h), "plots": (side, h - plots, w - side, plots),
                "scene": (side, 0, w - side, h - plots)}

    def frame(self, dt: float | None = None) -> None:
        """Run one frame. ``dt`` forces the time step; None takes it from the clock (the time since
        the last frame with a real clock, the fixed step with a fixed one)."""
        started = time.perf_counter()  # measures the frame (bench); the app's time is self.clock
        tick = self.clock.tick(dt)
        with use_clock(self.clock):
            self._frame(min(tick, MAX_DT), tick)
        self.frame_count += 1
        self.frame_times.append(time.perf_counter() - started)

    def _frame(self, dt: float, tick: float) -> None:
        self.window.poll()
        self._feed_injected()
        self._had_input = self.imgui.input_events() != self._input_events
        if self._had_input:  # input: draw on until ImGui settles
            self._settle_until = self.clock.now() + SETTLE_S
        # a fixed clock also drives ImGui's time (hover delays, key repeat), so headless frames
        # do not depend on how fast the machine drew the last one
        self.imgui.new_frame(tick if self.clock.deterministic else None)
        self._input_events = self.imgui.input_events()  # events the backend queued itself are not input
        self._shortcuts()
        self._idle_check()
        notice = self.progress.take_notice()  # the store fell back to memory, set a file aside ...
        if notice:
            self.notify(notice, 12.0)
        if self.host is not None:
            self.host.watch()
            self.host.update(dt)
        self.painter.poll()

        fb_w, fb_h = self.window.size
        win_w, win_h = self.window.window_size
        ratio = fb_w / max(win_w, 1)
        self.ctx.screen.use()
        self.ctx.viewport = (0, 0, fb_w, fb_h)
        # One clear of the whole window (colour and depth) in the panels' colour: on a software
        # renderer a full clear is the cheap path, and the full-window ImGui windows (the atlas,
        # a level's panels) then draw no background of their own, which cost several times more.
        self.ctx.clear(*self.imgui.window_background(), depth=1.0)
        if self.host is not None:
            self._level_frame(dt, ratio)
        else:
            imgui.set_next_window_bg_alpha(0.0)  # the clear above is its background
            self.atlas.draw((win_w, win_h))
            if self.atlas.chosen:
                chosen, self.atlas.chosen = self.atlas.chosen, None
                self.open_level(chosen)
        self._overlays(win_w, win_h)
        self.imgui.render()
        self._follow_go_to()
        if self._screenshot_request is not None:
            path, self._screenshot_request = self._screenshot_request, None
            self._save_screenshot(path)
        self.window.swap()

    def _level_frame(self, dt: float, ratio: float) -> None:
        host = self.host
        rects = self.layout()
        sx, sy, sw, sh = rects["scene"]
        fb_h = self.window.size[1]
        # the scene's background, every pixel the scene touches: one flat quad (the depth buffer
        # was cleared with the window)
        x0, x1 = math.floor(sx * ratio), math.ceil((sx + sw) * ratio)
        y0, y1 = math.floor(fb_h - (sy + sh) * ratio), math.ceil(fb_h - sy * ratio)
        self.window.fill((x0, y0, x1 - x0, y1 - y0), SCENE_BACKGROUND)
        self.ctx.enable(self.ctx.BLEND)
        self.ctx.blend_func = self.ctx.SRC_ALPHA, self.ctx.ONE_MINUS_SRC_ALPHA
        panes = host.panes()
        frames = []
        inputs = []
        for pane in panes:
            fx, fy, fw, fh = pane.rect
            rect = (sx + fx * sw, sy + fy * sh, fw * sw, fh * sh)
            inputs.append((rect, self._frame_input(rect, dt, ratio)))
        # keys and the gamepad move one pane: the one under the mouse, else the first
        focus = next((i for i, (_, inp) in enumerate(inputs) if inp.hovered), 0)
        for index, (pane, (rect, inp)) in enumerate(zip(panes, inputs)):
            if index != focus:
                inp.keys, inp.stick_left, inp.stick_right = set(), (0.0, 0.0), (0.0, 0.0)
            frame = Frame((max(int(rect[2] * ratio), 1), max(int(rect[3] * ratio), 1)), pane.camera, inp,
                          host.elapsed, ratio, rect[:2], pane.name)
            self.ctx.viewport = (int(rect[0] * ratio), int(fb_h - (rect[1] + rect[3]) * ratio), *frame.viewport)
            self.ctx.enable(self.ctx.DEPTH_TEST)
            # what is drawn later at the same depth wins: a flat (2-D) scene draws in order, the
            # way a painter does, instead of dropping a shape laid over another at depth 0
            self.ctx.depth_func = "<="
            if any(_overlap(pane.rect, other.rect) for other in panes[:index]):  # an inset: clear under it
                self.ctx.clear(*SCENE_BACKGROUND, depth=1.0, viewport=self.ctx.viewport)
            host.scene(frame)
            frames.append(frame)
        self.ctx.disable(self.ctx.DEPTH_TEST)
        self.ctx.viewport = (0, 0, *self.window.size)
        for frame in frames:
            host.overlay(imgui.get_background_draw_list(), frame)
        flags = imgui.WindowFlags_.no_move.value | imgui.WindowFlags_.no_resize.value | imgui.WindowFlags_.no_collapse.value
        x, y, w, h = rects["side"]
        imgui.set_next_window_pos(imgui.ImVec2(x, y))
        imgui.set_next_window_size(imgui.ImVec2(w, h))
        imgui.set_next_window_bg_alpha(0.0)  # the window's clear is the panels' background
        if self._focus_panel:
            imgui.set_next_window_focus()
            self._focus_panel = False
        if imgui.begin("Level", None, flags | imgui.WindowFlags_.no_title_bar.value):
            back = imgui.small_button("< Atlas")
            self.mark("back")
            if back:
                self.close_level()
                imgui.end()
                return
            if imgui.is_item_hovered():
                imgui.set_tooltip("Back to the atlas of levels (Esc). F1: how to play.")
            for mode, label, tip in (("note", "Note", "Leave a note on what is in view: a reproduction, a repair "
                                                      "or a question, kept with your progress."),
                                     ("ask", "Ask", "Ask about this: build a question about what is in view for "
                                                    "your own AI assistant, and copy it.")):
                imgui.same_line()
                if imgui.small_button(f"{label}##header-{mode}"):
                    self.notes.show(host.entry.id, host.object_in_view(), mode)
                self.mark(f"header:{mode}")
                if imgui.is_item_hovered():
                    imgui.set_tooltip(tip)
            imgui.same_line()
            host.side_panel()
        imgui.end()
        x, y, w, h = rects["plots"]
        imgui.set_next_window_pos(imgui.ImVec2(x, y))
        imgui.set_next_window_size(imgui.ImVec2(w, h))
        imgui.set_next_window_bg_alpha(0.0)
        # the plots are for looking at: the keyboard stays with the panel's controls
        plot_flags = (imgui.WindowFlags_.no_title_bar.value | imgui.WindowFlags_.no_focus_on_appearing.value
                      | imgui.WindowFlags_.no_nav.value)
        if imgui.begin("Plots", None, flags | plot_flags):
            host.plot_strip()
        imgui.end()

    def _overlays(self, w: float, h: float) -> None:
        self.notes.draw(w, h)
        if self.show_help:
            self._help(w, h)
        errors = self.painter.errors()
        if self.toast and self.clock.now() > self.toast[1]:
            self.toast = None
        if self.toast or errors:
            imgui.set_next_window_pos(imgui.ImVec2(w - 10, 10), imgui.Cond_.always.value, imgui.ImVec2(1, 0))
            imgui.set_next_window_bg_alpha(0.9)
            imgui.begin("##toast", None, imgui.WindowFlags_.no_decoration.value | imgui.WindowFlags_.always_auto_resize.value
                        | imgui.WindowFlags_.no_focus_on_appearing.value | imgui.WindowFlags_.no_nav.value)
            imgui.push_text_wrap_pos(min(520.0, w * 0.5))
            if self.toast:
                imgui.text(self.toast[0])
            for message in errors:
                error_box("Shader error (drawing with the last good version):", message)
            imgui.pop_text_wrap_pos()
            imgui.end()

    def _help(self, w: float, h: float) -> None:
        """F1: how to play, what this level's scene answers to, the keys, and the settings."""
        imgui.set_next_window_pos(imgui.ImVec2(w / 2, h / 2), imgui.Cond_.always.value, imgui.ImVec2(0.5, 0.5))
        imgui.set_next_window_size_constraints(imgui.ImVec2(min(w * 0.9, 360 * self.imgui.scale), 0),
                                               imgui.ImVec2(min(w * 0.9, 760 * self.imgui.scale), h * 0.9))
        imgui.set_next_window_bg_alpha(0.97)
        opened, self.show_help = imgui.begin("How to play (F1)", True, imgui.WindowFlags_.always_auto_resize.value
                                             | imgui.WindowFlags_.no_collapse.value)
        if opened:
            wrap = min(w * 0.85, 700 * self.imgui.scale)
            imgui.push_text_wrap_pos(imgui.get_cursor_pos_x() + wrap)
            rows = list(HOW_TO_PLAY)
            if self.host is not None and self.host.manifest is not None:
                view_controls = getattr(self.host.view, "controls", ()) or ()
                rows.append((self.host.manifest.title, self.host.manifest.summary))
                rows += [(gesture, effect) for gesture, effect in view_controls]
            _help_table("how", rows, self.imgui.font_bold)
            imgui.separator()
            _help_table("keys", [(k, v) for k, v, visitor in CONTROLS if visitor or not self.kiosk])
            imgui.separator()
            imgui.text_colored(MUTED, f"Simulation backend: {self.backend}  ·  available: {', '.join(backends.available())}")
            imgui.pop_text_wrap_pos()
            if self.sounds.available:
                _, self.sounds.muted = imgui.checkbox("mute sounds", self.sounds.muted)
            imgui.set_next_item_width(200 * self.imgui.scale)
            _, scale = imgui.slider_float("UI scale", self.imgui.scale, MIN_SCALE, MAX_SCALE, "%.1f",
                                          imgui.SliderFlags_.always_clamp.value)
            if abs(scale - self.imgui.scale) > 1e-3:
                self.imgui.set_scale(scale)
        imgui.end()

    # -- running -----------------------------------------------------------------------------
    def run(self) -> None:
        """The interactive loop, until the window closes.

        It draws continuously only while something moves (:meth:`animating`); otherwise it
        sleeps in GLFW until input arrives, waking every ``IDLE_WAKE_S`` (hot reload, the end of
        a toast, the kiosk timer). After input it keeps drawing for ``SETTLE_S`` so ImGui's
        hover, focus and tooltips settle. Frames are capped at ``max_fps`` where vsync does not
        hold them.
        """
        try:
            while not self.window.should_close():
                started = time.perf_counter()
                self.frame()
                self._pace(started)
        finally:
            self.shutdown()

    def request_frames(self, count: int = 2) -> None:
        """Draw at least ``count`` more frames although nothing else moves: a view animating on its
        own asks for frames each frame while it animates (the view context's ``request_frames``)."""
        self._frames_wanted = max(self._frames_wanted, int(count))

    def animating(self) -> bool:
        """True while the next frame would differ without any input: frames were requested, input
        came in the last ``SETTLE_S``, or the level's run or a challenge's run plays
        (``LevelHost.animating``)."""
        if self._frames_wanted > 0 or self.clock.now() < self._settle_until:
            return True
        if self.host is None:
            return self.atlas.animating  # its pictures are being drawn, a piece a frame
        return self.host.animating

    def _pace(self, started: float) -> None:
        """After a frame: cap the frame rate, or sleep until input when nothing animates."""
        if self._frames_wanted > 0:
            self._frames_wanted -= 1
        if self.animating():
            if self.max_fps:
                self._wait(1.0 / self.max_fps - (time.perf_counter() - started))
            return
        with use_clock(self.clock):
            while not self.window.should_close():
                due = self._due()
                timeout = IDLE_WAKE_S if due is None else min(IDLE_WAKE_S, due - self.clock.now() + 0.01)
                if self._wait(timeout) or self.clock.deterministic:
                    return  # input or a window event (or a fixed clock, which a sleep does not move)
                if (due is not None and self.clock.now() >= due) or imgui.get_io().want_text_input:
                    return  # a toast ends, the kiosk timer runs out, a text cursor blinks
                if self.host is not None and self.host.watch():
                    return  # a file of the level changed: draw it reloaded
                # nothing changed: sleep on without drawing

    def _due(self) -> float | None:
        """When, on the clock, a frame is next needed although nothing animates."""
        times = []
        if self.toast:
            times.append(self.toast[1])
        if self.idle_reset_s and self.host is not None:
            times.append(self._last_input + self.idle_reset_s)
        return min(times) if times else None

    def _wait(self, timeout: float) -> bool:
        """Sleep in GLFW for up to ``timeout`` s; True if input (events, or a gamepad's buttons and
        sticks, which GLFW only polls) or another window event ended it. Input also starts
        ``SETTLE_S`` of frames."""
        start = time.perf_counter()
        deadline = start + timeout
        pad = self._gamepad_state() if glfw.joystick_is_gamepad(glfw.JOYSTICK_1) else None
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            self.window.wait(min(left, GAMEPAD_POLL_S) if pad is not None else left)
            if self.imgui.input_events() != self._input_events or (
                    pad is not None and self._gamepad_state() != pad):
                self._settle_until = self.clock.now() + SETTLE_S
                return True
            if pad is None:  # woken before the timeout: an event that is not input (a resize, an expose)
                return time.perf_counter() < deadline - 0.002

    @staticmethod
    def _gamepad_state():
        state = glfw.get_gamepad_state(glfw.JOYSTICK_1)
        if not state:
            return None
        return tuple(state.buttons), tuple(round(_stick(a), 2) for a in state.axes)

    def run_frames(self, n: int, dt: float = 1 / 60) -> None:
        """Run ``n`` frames with a fixed ``dt`` (headless screenshots, benchmarks, tests)."""
        for _ in range(n):
            self.frame(dt)

    def shutdown(self) -> None:
        """Close the level, free GL and ImGui, close the window and the progress store; once
        (a second call does nothing)."""
        if getattr(self, "_shut", False):
            return
        self._shut = True
        self.close_level()
        self.atlas.release()  # the pictures' textures and a level being drawn for one
        self.formulas.release()
        self.imgui.shutdown()
        backends.use_context(None)
        self.window.close()
        self.progress.close()


def _help_table(name: str, rows, bold_font=None) -> None:
    """Two columns: a key or gesture in the accent colour, what it does wrapped beside it."""
    if not imgui.begin_table(name, 2, imgui.TableFlags_.row_bg.value | imgui.TableFlags_.sizing_stretch_prop.value):
        return
    imgui.table_setup_column("key", imgui.TableColumnFlags_.width_fixed.value)
    imgui.table_setup_column("what", imgui.TableColumnFlags_.width_stretch.value)
    for key, action in rows:
        imgui.table_next_row()
        imgui.table_next_column()
        imgui.text_colored(ACCENT, key)
        imgui.table_next_column()
        imgui.text_wrapped(action)
    imgui.end_table()
