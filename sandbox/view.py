"""The base class of a level's view: what it draws in the scene and what its panels show.

The engine hosts the view: it lays out the screen, steps the model at a fixed rate, draws the
common panels (controls, parameters generated from the manifest, observables, challenges, the
math card, the code witness, the learner's README) and calls the view for the rest. A view
reads the simulation through ``self.run`` (which is the challenge's run while one plays) and
never owns the simulation state.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .gfx.camera import Camera2D, FrameInput, OrbitCamera
from .gfx.shaders import HotProgram

if TYPE_CHECKING:
    from .host import LevelHost
    from .runner import Runner


class Frame:
    """What a view needs to draw one frame of its scene."""

    def __init__(self, viewport: tuple[int, int], camera, inp: FrameInput, time: float, pixel_ratio: float = 1.0,
                 origin: tuple[float, float] = (0.0, 0.0)):
        self.viewport = viewport  # scene size in framebuffer pixels (the mouse is in these too)
        self.camera = camera
        self.input = inp
        self.time = time  # seconds since the level opened (for animation only, not simulation)
        #: framebuffer pixels per window unit (2 on a HiDPI screen): ImGui draw lists use window
        #: units, so an overlay divides scene pixels by this
        self.pixel_ratio = pixel_ratio
        self.origin = origin  # the scene's top-left corner in window units (where overlays start)

    @property
    def mvp(self) -> np.ndarray:
        return self.camera.matrix(self.viewport) if self.camera is not None else np.eye(4, dtype=np.float32)

    def to_overlay(self, point):
        """Where a world point appears, in the window units of ImGui draw lists (an ``ImVec2``);
        None when it is behind a 3-D camera."""
        pixel = self.camera.world_to_screen(point, self.viewport) if self.camera is not None else None
        if pixel is None:
            return None
        from imgui_bundle import imgui

        return imgui.ImVec2(self.origin[0] + pixel[0] / self.pixel_ratio, self.origin[1] + pixel[1] / self.pixel_ratio)

    def label(self, draw_list, point, text: str, color, offset: tuple[float, float] = (8.0, -8.0)) -> None:
        """Text beside a world point, nudged to stay inside the scene; left out when the point is
        not finite or far outside the view."""
        from imgui_bundle import imgui

        if not np.all(np.isfinite(point)):
            return
        at = self.to_overlay(point)
        if at is None:
            return
        width, height = self.viewport[0] / self.pixel_ratio, self.viewport[1] / self.pixel_ratio
        x, y = at.x - self.origin[0] + offset[0], at.y - self.origin[1] + offset[1]
        if not (-50 < x < width + 50 and -50 < y < height + 50):
            return
        size = imgui.calc_text_size(text)
        x = min(max(x, 4.0), width - size.x - 4.0)
        y = min(max(y, 4.0), height - size.y - 4.0)
        draw_list.add_text(imgui.ImVec2(self.origin[0] + x, self.origin[1] + y),
                           imgui.get_color_u32(imgui.ImVec4(*color)), text)


class View:
    """Subclass in a level's ``view.py``.

    Class attributes:
      ``camera``: ``"3d"`` (orbit), ``"2d"`` (pan/zoom) or ``None`` (panels only);
      ``math``: LaTeX formulas for the math card, each a string or a (formula, caption) pair.
    """

    camera = "2d"
    math: list = []

    def __init__(self, host: "LevelHost"):
        self.host = host
        self.ctx = host.ctx
        self.painter = host.painter
        self.formulas = host.formulas
        self.cam = self.make_camera()

    # -- what subclasses override ------------------------------------------------------------
    def make_camera(self):
        """The camera for this view (override to set a starting pose)."""
        if self.camera == "3d":
            return OrbitCamera()
        if self.camera == "2d":
            return Camera2D()
        return None

    def scene(self, frame: Frame) -> None:
        """Draw the scene with GL (the viewport, depth test and blending are set)."""

    def overlay(self, draw_list, origin: tuple[float, float], frame: Frame) -> None:
        """Draw 2-D annotations over the scene with an ImGui draw list (``origin`` = scene top-left)."""

    def handle_input(self, frame: Frame) -> bool:
        """React to scene input (dragging an object, say); True consumes it so the camera stays."""
        return False

    def panel(self) -> None:
        """Extra ImGui widgets in the side panel, under the parameters."""

    def plots(self) -> None:
        """The plot strip at the bottom; by default every observable over time."""
        from .ui.widgets import observable_plots

        observable_plots(self.run, self.host.manifest)

    def on_reset(self) -> None:
        """Called after the simulation restarts (new seed, parameter that resets, challenge start)."""

    # -- helpers -----------------------------------------------------------------------------
    @property
    def run(self) -> "Runner":
        """The run being shown: the challenge's while one plays, else the sandbox's."""
        return self.host.active_runner

    @property
    def model(self):
        return self.host.active_runner.model

    def program(self, filename: str, defines: dict | None = None, compute: bool = False) -> HotProgram:
        """A hot-reloaded shader program from the level folder (or the shared shaders/)."""
        path = Path(self.host.entry.folder) / filename
        return self.host.program(path, defines, compute)

    def release(self) -> None:
        """Free GL objects (called when the level closes or reloads)."""
