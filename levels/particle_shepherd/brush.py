"""The Particle Shepherd's brush: the learner edits the target with the mouse, in any pane.

Left-drag on empty space paints a stroke of blobs; dragging a blob's centre moves it (the model
hears of it every EDIT_INTERVAL_S and on release, because every edit re-measures the clouds);
Ctrl+click erases a blob; dragging the marker moves it (its parameters). The brush also shows
where a click would act. A drag belongs to the pane it started in.
"""

from __future__ import annotations

import numpy as np

from sandbox.gfx.draw import Batch, ellipse_segments
from sandbox.kit import PALETTE

from .model import EXTENT

PICK_PIXELS = 12.0  # how close (window units) a click must be to grab a blob or the marker
EDIT_INTERVAL_S = 0.12  # a dragged blob updates the model at most this often


def inside(point) -> bool:
    x0, x1, y0, y1 = EXTENT
    return point is not None and x0 <= point[0] <= x1 and y0 <= point[1] <= y1


class Brush:
    def __init__(self, context, size: float = 0.25):
        self.context = context
        self.size = size  # a painted blob's standard deviation
        self.drag: dict | None = None  # what the left button is doing: paint, a blob, the marker
        self.hover: dict[str, np.ndarray | None] = {}  # per pane: the target point under the mouse

    def _grab(self, local, frame) -> int | None:
        """The blob whose centre is within reach of a click at ``local``, if any."""
        index, distance = self.context.model.nearest_blob(*local)
        return index if distance <= PICK_PIXELS * frame.world_per_pixel() else None

    def handle(self, frame, marker: np.ndarray | None) -> bool:
        """One pane's input (``marker``: where the draggable marker is in this pane, if it is);
        True while the brush uses the mouse (the camera stays still)."""
        inp, name, world = frame.input, frame.pane, frame.mouse_world()
        self.hover[name] = world if inp.hovered and inside(world) else None
        if self.context.challenge.playing:  # a challenge's target is not for editing
            self.drag = None
            return False
        if self.drag is not None and self.drag["pane"] != name:
            return False
        if not inp.left or inp.shift:  # shift-drag pans the camera
            self._finish()
            return False
        if self.drag is None and inp.clicked and self.hover[name] is not None:
            self._start(frame, world, marker)
        elif self.drag is not None and inside(world):
            self._continue(world)
        return self.drag is not None

    def _start(self, frame, local, marker) -> None:
        model, name = self.context.model, frame.pane
        if marker is not None and np.linalg.norm(local - marker) <= PICK_PIXELS * frame.world_per_pixel():
            self.drag = {"kind": "marker", "pane": name}
            return
        grab = self._grab(local, frame)
        if frame.input.ctrl:  # erase
            if grab is not None:
                model.remove_blob(grab)
        elif grab is not None:
            self.drag = {"kind": "blob", "pane": name, "index": grab, "at": local, "sent": self.context.time}
        elif model.add_blob(*local, std=self.size) >= 0:
            self.drag = {"kind": "paint", "pane": name, "last": local}

    def _continue(self, local) -> None:
        model, drag, context = self.context.model, self.drag, self.context
        if drag["kind"] == "marker":
            context.set_param("marker_x", float(local[0]))
            context.set_param("marker_y", float(local[1]))
        elif drag["kind"] == "blob":
            drag["at"] = local
            if context.time - drag["sent"] >= EDIT_INTERVAL_S:
                model.move_blob(drag["index"], *local)
                drag["sent"] = context.time
        elif np.linalg.norm(local - drag["last"]) >= 1.5 * self.size and model.add_blob(*local, std=self.size) >= 0:
            drag["last"] = local  # a stroke of blobs

    def _finish(self) -> None:
        drag, self.drag = self.drag, None
        model = self.context.model
        if drag and drag["kind"] == "blob" and drag["index"] < model.mixture.n_components \
                and not np.allclose(model.mixture.means[drag["index"]], drag["at"]):
            model.move_blob(drag["index"], *drag["at"])

    def preview(self, batch: Batch, frame) -> None:
        """Where a click would act: the blob it would grab (or is dragging), or the blob it would paint."""
        local, drag, mixture = self.hover.get(frame.pane), self.drag, self.context.model.mixture
        if local is None or self.context.challenge.playing or (drag and drag["kind"] == "marker"):
            return
        if drag and drag["kind"] == "blob":  # the blob follows the mouse before the model hears of it
            index, centre = drag["index"], local
        else:
            index = self._grab(local, frame) if drag is None else None
            centre = mixture.means[index] if index is not None else None
        if index is not None and index < mixture.n_components:
            batch.segments(ellipse_segments(centre[None], mixture.covariances[index:index + 1]), PALETTE.white)
        else:
            batch.segments(ellipse_segments(local[None], (self.size ** 2 * np.eye(2))[None]), PALETTE.text.alpha(0.6))
