"""Cameras: a 2-D pan/zoom camera and a 3-D orbit camera, driven by mouse, keyboard and gamepad.

Both read one :class:`FrameInput` per frame, gathered by the app from ImGui's io (so injected
input in tests moves them exactly like a person's hands do).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from pyrr import Matrix44


@dataclass
class FrameInput:
    """The input of one frame that reaches the scene (not captured by a panel)."""

    mouse: tuple[float, float] = (0.0, 0.0)  # framebuffer pixels, relative to the scene's top-left
    drag: tuple[float, float] = (0.0, 0.0)  # mouse movement this frame, framebuffer pixels
    left: bool = False
    right: bool = False
    middle: bool = False
    clicked: bool = False  # left button pressed this frame
    wheel: float = 0.0
    shift: bool = False
    ctrl: bool = False
    keys: set[str] = field(default_factory=set)  # held: "left", "right", "up", "down", "w", "a", "s", "d", "q", "e"
    stick_left: tuple[float, float] = (0.0, 0.0)  # gamepad, -1..1
    stick_right: tuple[float, float] = (0.0, 0.0)
    hovered: bool = False  # the mouse is over the scene, not over a panel
    dt: float = 1 / 60


def _axis(keys: set[str], negative: str, positive: str) -> float:
    return (1.0 if positive in keys else 0.0) - (1.0 if negative in keys else 0.0)


class Camera2D:
    """Pan (drag, arrows/WASD, left stick) and zoom (wheel, Q/E, right stick) over the plane.

    ``center`` is the world point at the middle of the viewport and ``half_height`` the world
    distance from the middle to the top edge.
    """

    def __init__(self, center=(0.0, 0.0), half_height: float = 2.0):
        self.home = (tuple(center), half_height)
        self.center = np.array(center, dtype=np.float64)
        self.half_height = half_height
        self._box: tuple[float, float, float, float, float] | None = None  # a fit waiting for a viewport
        self._follow: tuple | None = None  # (box, aspect fitted for) while a fit follows the viewport's shape

    def reset(self) -> None:
        self.center = np.array(self.home[0], dtype=np.float64)
        self.half_height = self.home[1]

    def fit(self, x0: float, x1: float, y0: float, y1: float, margin: float = 0.04, follow: bool = False) -> None:
        """Make the box [x0, x1] × [y0, y1] (plus ``margin`` of its size) the home view and go
        there; the box is fitted to the viewport's aspect the next time the camera is used.
        ``follow``: fit it again whenever the viewport changes shape (a fixed layout stays framed
        when the window or the panels are resized)."""
        self._box = (x0, x1, y0, y1, margin)
        self._follow = (self._box, None) if follow else None

    def _apply_fit(self, viewport: tuple[int, int]) -> None:
        if self._follow is not None:
            aspect = round(viewport[0] / max(viewport[1], 1), 2)
            if aspect != self._follow[1]:
                self._box, self._follow = self._follow[0], (self._follow[0], aspect)
        if self._box is None:
            return
        x0, x1, y0, y1, margin = self._box
        self._box = None
        aspect = viewport[0] / max(viewport[1], 1)
        half = 0.5 * max(y1 - y0, (x1 - x0) / max(aspect, 1e-6)) * (1.0 + 2.0 * margin)
        self.home = ((0.5 * (x0 + x1), 0.5 * (y0 + y1)), max(half, 1e-6))
        self.reset()

    def update(self, inp: FrameInput, viewport: tuple[int, int]) -> None:
        self._apply_fit(viewport)
        w, h = viewport
        per_pixel = 2.0 * self.half_height / max(h, 1)
        if inp.hovered and (inp.right or inp.middle or (inp.left and inp.shift)):
            self.center += np.array([-inp.drag[0], inp.drag[1]]) * per_pixel
        pan = np.array([_axis(inp.keys, "left", "right") + _axis(inp.keys, "a", "d") + inp.stick_left[0],
                        _axis(inp.keys, "down", "up") + _axis(inp.keys, "s", "w") - inp.stick_left[1]])
        self.center += pan * self.half_height * 1.2 * inp.dt
        zoom = (-inp.wheel * 0.12 if inp.hovered else 0.0) + (_axis(inp.keys, "e", "q") + inp.stick_right[1]) * 1.5 * inp.dt
        if zoom:
            anchor = self.screen_to_world(inp.mouse, viewport) if inp.hovered and inp.wheel else self.center.copy()
            factor = math.exp(zoom)
            self.half_height = float(np.clip(self.half_height * factor, 1e-4, 1e5))
            self.center = anchor + (self.center - anchor) * factor

    def matrix(self, viewport: tuple[int, int]) -> np.ndarray:
        """The world-to-clip matrix (float32, column-major for GL)."""
        self._apply_fit(viewport)
        w, h = viewport
        hw = self.half_height * w / max(h, 1)
        x, y = self.center
        proj = Matrix44.orthogonal_projection(x - hw, x + hw, y - self.half_height, y + self.half_height, -10, 10)
        return np.asarray(proj, dtype=np.float32)

    def screen_to_world(self, pixel: tuple[float, float], viewport: tuple[int, int]) -> np.ndarray:
        """The world point under a pixel (origin top-left of the viewport)."""
        w, h = viewport
        per_pixel = 2.0 * self.half_height / max(h, 1)
        return self.center + np.array([(pixel[0] - w / 2) * per_pixel, (h / 2 - pixel[1]) * per_pixel])

    def world_to_screen(self, point, viewport: tuple[int, int]) -> tuple[float, float]:
        w, h = viewport
        per_pixel = 2.0 * self.half_height / max(h, 1)
        d = (np.asarray(point, dtype=np.float64) - self.center) / per_pixel
        return (w / 2 + d[0], h / 2 - d[1])


class OrbitCamera:
    """Orbit around ``target`` (left drag, arrows, left stick), pan (right drag or shift-drag),
    zoom (wheel, Q/E, right stick). z is up."""

    def __init__(self, target=(0.0, 0.0, 0.0), distance: float = 8.0, yaw: float = -0.6, pitch: float = 0.55,
                 fov: float = 45.0):
        self.home = (tuple(target), distance, yaw, pitch)
        self.fov = fov
        self.reset()

    def reset(self) -> None:
        target, self.distance, self.yaw, self.pitch = self.home
        self.target = np.array(target, dtype=np.float64)

    @property
    def eye(self) -> np.ndarray:
        cp = math.cos(self.pitch)
        offset = np.array([cp * math.cos(self.yaw), cp * math.sin(self.yaw), math.sin(self.pitch)])
        return self.target + self.distance * offset

    def update(self, inp: FrameInput, viewport: tuple[int, int]) -> None:
        orbit_x = _axis(inp.keys, "left", "right") + inp.stick_left[0]
        orbit_y = _axis(inp.keys, "down", "up") - inp.stick_left[1]
        if inp.hovered and inp.left and not inp.shift:
            self.yaw -= inp.drag[0] * 0.008
            self.pitch += inp.drag[1] * 0.008
        self.yaw -= orbit_x * 1.5 * inp.dt
        self.pitch += orbit_y * 1.0 * inp.dt
        self.pitch = float(np.clip(self.pitch, -1.5, 1.5))
        if inp.hovered and (inp.right or inp.middle or (inp.left and inp.shift)):
            forward = self.target - self.eye
            forward /= np.linalg.norm(forward)
            right = np.cross(forward, [0.0, 0.0, 1.0])
            right /= max(np.linalg.norm(right), 1e-9)
            up = np.cross(right, forward)
            scale = self.distance * 0.0015
            self.target += (-inp.drag[0] * right + inp.drag[1] * up) * scale
        pan = np.array([_axis(inp.keys, "a", "d"), _axis(inp.keys, "s", "w")])
        if pan.any():
            forward = self.target - self.eye
            forward[2] = 0.0
            forward /= max(np.linalg.norm(forward), 1e-9)
            right = np.array([forward[1], -forward[0], 0.0])
            self.target += (pan[0] * right + pan[1] * forward) * self.distance * 0.6 * inp.dt
        zoom = (-inp.wheel * 0.1 if inp.hovered else 0.0) + (_axis(inp.keys, "e", "q") + inp.stick_right[1]) * 1.2 * inp.dt
        self.distance = float(np.clip(self.distance * math.exp(zoom), 0.05, 1e4))

    def view(self) -> np.ndarray:
        return np.asarray(Matrix44.look_at(self.eye, self.target, [0.0, 0.0, 1.0]), dtype=np.float32)

    def projection(self, viewport: tuple[int, int]) -> np.ndarray:
        w, h = viewport
        return np.asarray(Matrix44.perspective_projection(self.fov, w / max(h, 1), self.distance * 0.01,
                                                          self.distance * 100.0), dtype=np.float32)

    def matrix(self, viewport: tuple[int, int]) -> np.ndarray:
        """The world-to-clip matrix (float32; pyrr's row-vector convention matches GL's column-major)."""
        return (self.view() @ self.projection(viewport)).astype(np.float32)

    def world_to_screen(self, point, viewport: tuple[int, int]) -> tuple[float, float] | None:
        """The pixel (origin top-left of the viewport) where a world point appears; None behind the eye."""
        clip = np.array([*np.asarray(point, np.float64)[:3], 1.0]) @ self.matrix(viewport).astype(np.float64)
        if clip[3] <= 0:
            return None
        w, h = viewport
        return ((clip[0] / clip[3] + 1) * 0.5 * w, (1 - clip[1] / clip[3]) * 0.5 * h)
