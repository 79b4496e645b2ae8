"""The base class of a level's view: what it draws in the scene and what its panels show.

The engine hosts the view: it lays out the screen, steps the model at a fixed rate, draws the
common panels (controls, parameters generated from the manifest, observables, challenges, the
math card, the code witness, the learner's README) and calls the view for the rest. A view
sees the engine only through its :class:`~sandbox.kit.context.ViewContext` (``self.context``):
the run on screen, the parameters, the clock, the transport, the challenge state and the
resources to draw with. It never owns simulation state and never does the model's math.

The scene can be split into panes (a 3-D surface beside a 2-D map, say), each with its own
camera: :meth:`View.panes` returns them, and ``scene``/``overlay``/``handle_input`` are called
once per pane with ``frame.pane`` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .gfx.camera import Camera2D, FrameInput, OrbitCamera
from .gfx.draw import box_segments
from .kit.color import PALETTE, Color
from .kit.context import ViewContext
from .kit.memo import Cache


@dataclass
class Pane:
    """A rectangle of the scene with its own camera. ``rect`` is (x, y, width, height) as
    fractions of the scene, from its top-left corner."""

    name: str
    camera: object = None
    rect: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)


def side_by_side(*panes: tuple[str, object, float]) -> list[Pane]:
    """Panes left to right, each ``(name, camera, weight)``; widths in proportion to weights."""
    total = sum(weight for _, _, weight in panes) or 1.0
    out, x = [], 0.0
    for name, camera, weight in panes:
        out.append(Pane(name, camera, (x, 0.0, weight / total, 1.0)))
        x += weight / total
    return out


#: a plate's padding around its text (window units), as :meth:`Frame.text` draws it, and the
#: least distance from a text to the pane's edge
PLATE_PAD = (4.0, 2.0)
EDGE = 4.0


def _overlap(a, b, gap: float = 0.0) -> float:
    """The area two boxes (x0, y0, x1, y1) share once each is grown by ``gap`` / 2 (0: apart)."""
    w = min(a[2], b[2]) - max(a[0], b[0]) + gap
    h = min(a[3], b[3]) - max(a[1], b[1]) + gap
    return w * h if w > 0 and h > 0 else 0.0


def label_offsets(width: float, height: float, gap: float) -> list[tuple[float, float]]:
    """Where a ``width`` × ``height`` text may go around its anchor, best first, as offsets of its
    top-left corner: right of the anchor (centred, then above, then below), left of it likewise,
    then above and below it, each ``gap`` clear of the anchor."""
    right, left, middle = gap, -gap - width, -0.5 * height
    return [(right, middle), (right, -gap - height), (right, gap), (left, middle), (left, -gap - height),
            (left, gap), (-0.5 * width, -gap - height), (-0.5 * width, gap)]


def place_labels(anchors, sizes, priorities, bounds: tuple[float, float], taken=(), offsets=None, gap: float = 8.0,
                 spacing: float = 2.0, anchor_room: float = 5.0, always: float | None = None) -> list:
    """Where labels go so that none covers another: the pure layout behind :meth:`Frame.labels`.

    Label k has its text ``sizes[k]`` (w, h) big, beside ``anchors[k]`` (x, y), both in pane units
    from the pane's top-left. Labels are placed most important first (highest ``priorities``;
    ties in the given order), each at the first of its candidate offsets (``offsets[k]`` if given
    and not None, then :func:`label_offsets`, ``gap`` clear of the anchor) where the text keeps
    ``EDGE`` inside the pane (``bounds``: width, height), its plate (the text grown by
    ``PLATE_PAD``) keeps ``spacing`` from the plates in ``taken`` (boxes x0, y0, x1, y1) and those
    placed before it, and it covers no other label's anchor (a square ``anchor_room`` from it).
    A label that finds no such place is left out (None), unless its priority is at least
    ``always`` (default: the highest priority given): that one goes where it overlaps least, kept
    inside the pane. Returns each label's text top-left corner, or None.
    """
    count = len(anchors)
    if always is None:
        always = max(priorities, default=0.0)
    px, py = PLATE_PAD
    width, height = bounds
    placed = [tuple(box) for box in taken]
    dots = [(x - anchor_room, y - anchor_room, x + anchor_room, y + anchor_room) for x, y in anchors]
    out: list = [None] * count
    for k in sorted(range(count), key=lambda k: -priorities[k]):
        (ax, ay), (w, h) = anchors[k], sizes[k]
        tries = ([tuple(offsets[k])] if offsets is not None and offsets[k] is not None else []) + label_offsets(w, h, gap)
        others = placed + [dot for j, dot in enumerate(dots) if j != k]
        best, best_cost = None, math.inf
        for dx, dy in tries:
            x, y = ax + dx, ay + dy
            plate = (x - px, y - py, x + w + px, y + h + py)
            inside = EDGE <= x <= width - w - EDGE and EDGE <= y <= height - h - EDGE
            cost = sum(_overlap(plate, other, spacing) for other in others)
            if inside and cost == 0:
                best = (x, y)
                break
            if priorities[k] >= always:  # kept in any case: the least overlap, pulled inside the pane
                x = max(min(x, width - w - EDGE), EDGE)
                y = max(min(y, height - h - EDGE), EDGE)
                plate = (x - px, y - py, x + w + px, y + h + py)
                cost = sum(_overlap(plate, other, spacing) for other in others)
                if cost < best_cost:
                    best_cost, best_kept = cost, (x, y)
        if best is None and best_cost < math.inf:
            best = best_kept
        if best is not None:
            out[k] = best
            placed.append((best[0] - px, best[1] - py, best[0] + w + px, best[1] + h + py))
    return out


class Frame:
    """What a view needs to draw one pane of its scene for one frame."""

    def __init__(self, viewport: tuple[int, int], camera, inp: FrameInput, time: float, pixel_ratio: float = 1.0,
                 origin: tuple[float, float] = (0.0, 0.0), pane: str = "main"):
        self.viewport = viewport  # pane size in framebuffer pixels (the mouse is in these too)
        self.camera = camera
        self.input = inp
        self.time = time  # seconds since the level opened (for animation only, not simulation)
        #: framebuffer pixels per window unit (2 on a HiDPI screen): ImGui draw lists use window
        #: units, so an overlay divides scene pixels by this
        self.pixel_ratio = pixel_ratio
        self.origin = origin  # the pane's top-left corner in window units (where overlays start)
        self.pane = pane
        #: the plates of the text drawn on this pane this frame (x0, y0, x1, y1 from its top-left):
        #: :meth:`labels` keeps clear of them
        self.taken: list[tuple[float, float, float, float]] = []

    @property
    def mvp(self) -> np.ndarray:
        return self.camera.matrix(self.viewport) if self.camera is not None else np.eye(4, dtype=np.float32)

    @property
    def size(self) -> tuple[float, float]:
        """The pane's size in window units."""
        return self.viewport[0] / self.pixel_ratio, self.viewport[1] / self.pixel_ratio

    def mouse_world(self) -> np.ndarray | None:
        """The world point under the mouse (2-D cameras), else None."""
        if not isinstance(self.camera, Camera2D):
            return None
        return self.camera.screen_to_world(self.input.mouse, self.viewport)

    def mouse_ray(self) -> tuple[np.ndarray, np.ndarray]:
        """The world ray under the mouse (3-D picking): its origin on the near plane and its unit
        direction, from the pane's ``mvp``."""
        w, h = self.viewport
        x, y = 2.0 * self.input.mouse[0] / max(w, 1) - 1.0, 1.0 - 2.0 * self.input.mouse[1] / max(h, 1)
        inverse = np.linalg.inv(np.asarray(self.mvp, np.float64))
        near, far = np.array([x, y, -1.0, 1.0]) @ inverse, np.array([x, y, 1.0, 1.0]) @ inverse
        near, far = near[:3] / near[3], far[:3] / far[3]
        direction = far - near
        return near, direction / np.linalg.norm(direction)

    def world_per_pixel(self) -> float:
        """World units per window unit at the current zoom (2-D cameras)."""
        return 2.0 * self.camera.half_height / max(self.viewport[1], 1) * self.pixel_ratio

    def to_overlay(self, point):
        """Where a world point appears, in the window units of ImGui draw lists (an ``ImVec2``);
        None when it is behind a 3-D camera."""
        pixel = self.camera.world_to_screen(point, self.viewport) if self.camera is not None else None
        if pixel is None:
            return None
        from imgui_bundle import imgui

        return imgui.ImVec2(self.origin[0] + pixel[0] / self.pixel_ratio, self.origin[1] + pixel[1] / self.pixel_ratio)

    def label(self, draw_list, point, text: str, color=PALETTE.text, offset: tuple[float, float] = (8.0, -8.0),
              plate: bool = True, align: float = 0.0) -> None:
        """Text beside a world point, on a dark plate, nudged to stay inside the pane; left out when
        the point is not finite or far outside the view. ``align``: where the offset point is along
        the text, 0 its left edge, 0.5 its centre (a title over a box), 1 its right edge (a tick label)."""
        if not np.all(np.isfinite(point)):
            return
        at = self.to_overlay(point)
        if at is None:
            return
        width, height = self.size
        x, y = at.x - self.origin[0] + offset[0], at.y - self.origin[1] + offset[1]
        if align:
            from imgui_bundle import imgui

            x -= align * imgui.calc_text_size(text).x
        if not (-50 < x < width + 50 and -50 < y < height + 50):
            return
        self.text(draw_list, (x, y), text, color, plate)

    def text(self, draw_list, at: tuple[float, float], text: str, color=PALETTE.text, plate: bool = True) -> None:
        """Text at a pane position (window units from the pane's top-left), kept inside the pane;
        text wider or taller than the pane keeps its start in view."""
        from imgui_bundle import imgui

        size = imgui.calc_text_size(text)
        width, height = self.size
        px, py = PLATE_PAD
        x = max(min(at[0], width - size.x - EDGE), EDGE)
        y = max(min(at[1], height - size.y - EDGE), EDGE)
        self.taken.append((x - px, y - py, x + size.x + px, y + size.y + py))
        x, y = x + self.origin[0], y + self.origin[1]
        if plate:
            draw_list.add_rect_filled(imgui.ImVec2(x - px, y - py), imgui.ImVec2(x + size.x + px, y + size.y + py),
                                      PALETTE.plate.u32, 3.0)
        draw_list.add_text(imgui.ImVec2(x, y), Color.of(color).u32, text)

    def labels(self, draw_list, items: Iterable, always: float | None = None) -> list[bool]:
        """Labels beside world points, on plates, placed so that none covers another, the pane's
        edge, a text drawn before on this pane (draw captions first) or another label's point.

        ``items``: ``(anchor, text, colour, priority)``, optionally with a fifth element, the
        offset (window units, of the text's top-left from the point) to try first. The most
        important labels are placed first, each at the first free spot of a few around its
        point (right, left, above, below: :func:`label_offsets`); a label with no free spot is
        left out, except those with a priority of at least ``always`` (default: the highest
        given), which go where they overlap least. Points not finite, behind a 3-D camera or far
        outside the view have no label. Returns, per item, whether its label was drawn."""
        from imgui_bundle import imgui

        items = list(items)
        shown, kept = [False] * len(items), []
        for k, (anchor, text, color, priority, *offset) in enumerate(items):
            at = self.to_overlay(anchor) if np.all(np.isfinite(np.asarray(anchor, np.float64))) else None
            width, height = self.size
            if at is not None and -50 < at.x - self.origin[0] < width + 50 and -50 < at.y - self.origin[1] < height + 50:
                kept.append((k, (at.x - self.origin[0], at.y - self.origin[1]), str(text), color, float(priority),
                             tuple(offset[0]) if offset and offset[0] is not None else None))
        if not kept:
            return shown
        font = imgui.get_font_size()
        places = place_labels([e[1] for e in kept], [tuple(imgui.calc_text_size(e[2])) for e in kept],
                              [e[4] for e in kept], self.size, self.taken, [e[5] for e in kept], gap=0.5 * font,
                              spacing=0.15 * font, anchor_room=0.3 * font, always=always)
        for (k, _, text, color, _, _), place in zip(kept, places):
            if place is not None:
                self.text(draw_list, place, text, color)
                shown[k] = True
        return shown

    def caption(self, draw_list, lines: Iterable, corner: str = "top-left") -> None:
        """Lines of text stacked in a corner of the pane, each on a plate: a line is a string or a
        (text, colour) pair."""
        from imgui_bundle import imgui

        items = [(line, PALETTE.text) if isinstance(line, str) else line for line in lines]
        step = imgui.get_text_line_height() + 6.0
        width, height = self.size
        for k, (text, color) in enumerate(items):
            y = 8.0 + step * k if corner.startswith("top") else height - 8.0 - step * (len(items) - k)
            x = 10.0 if corner.endswith("left") else width - 10.0 - imgui.calc_text_size(text).x
            self.text(draw_list, (x, y), text, color)


class View:
    """Subclass in a level's ``view.py``.

    Class attributes:
      ``camera``: ``"3d"`` (orbit), ``"2d"`` (pan/zoom) or ``None`` (panels only), for the one
      pane a view has unless it overrides :meth:`panes`. The math card is data: ``[[math]]`` in
      the level's manifest.
      ``controls``: what the mouse and keys do in this level's scene beyond the camera, as
      (gesture, effect) pairs, e.g. ``("drag a pole", "moves it; the discrete poles follow")``;
      the F1 help lists them under the level's name.

    Shortcuts: ``self.run``, ``self.model``, ``self.params``, ``self.painter``, ``self.gl``,
    ``self.formulas``, ``self.challenge``, ``self.transport``; ``self.cache`` holds GPU
    resources built from derived data (released with the view). 2-D drawing in a pane's world
    units: :meth:`lines`, :meth:`rects`, :meth:`outline`, :meth:`dots`.
    """

    camera = "2d"
    controls: tuple[tuple[str, str], ...] = ()

    def __init__(self, context: ViewContext):
        self.context = context
        self.painter = context.painter
        self.gl = context.gl
        self.formulas = context.formulas
        self.challenge = context.challenge
        self.transport = context.transport
        self.cache = Cache()
        self._cells_program = None  # cells.glsl, compiled when a grid is first drawn
        self.cam = self.make_camera()

    # -- what subclasses override ------------------------------------------------------------
    def make_camera(self):
        """The camera of the main pane (override to set a starting pose)."""
        if self.camera == "3d":
            return OrbitCamera()
        if self.camera == "2d":
            return Camera2D()
        return None

    def panes(self) -> list[Pane]:
        """The panes of the scene, each with its camera; by default one pane with ``self.cam``."""
        return [Pane("main", self.cam)]

    def scene(self, frame: Frame) -> None:
        """Draw one pane of the scene with GL (the viewport, depth test and blending are set)."""

    def overlay(self, draw_list, frame: Frame) -> None:
        """Draw 2-D annotations over one pane with an ImGui draw list (clipped to the pane)."""

    def handle_input(self, frame: Frame) -> bool:
        """React to input in the pane under the mouse (dragging an object, say); True consumes it
        so the pane's camera stays still."""
        return False

    def panel(self) -> None:
        """Extra ImGui widgets in the side panel, under the parameters."""

    def plots(self) -> None:
        """The plot strip at the bottom: by default the manifest's ``[plots]``."""
        from .kit.plots import plot_strip

        plot_strip(self.context)

    def on_reset(self) -> None:
        """Called once whenever the run on screen restarts (a new seed, a parameter that resets,
        a challenge run starting or ending): drop what was derived from the old run."""

    # -- helpers -----------------------------------------------------------------------------
    @property
    def run(self):
        """The run being shown: the challenge's while one plays, else the sandbox's."""
        return self.context.run

    @property
    def model(self):
        return self.context.run.model

    @property
    def params(self):
        return self.context.run.params

    def program(self, filename: str, defines: dict | None = None, compute: bool = False):
        """A hot-reloaded shader program from the level folder (its ``#include`` may name the shared
        shaders/ too)."""
        return self.context.program(filename, defines, compute)

    def quad(self, frame: Frame, hot, texture=None, **uniforms) -> None:
        """One quad drawn by ``hot``, a program from :meth:`program` whose vertex shader makes the
        corners from ``gl_VertexID`` (four vertices of a triangle strip, no vertex buffer): the pane's
        ``mvp``, ``texture`` on unit 0 and ``uniforms`` by name; nothing while it has never compiled."""
        if hot.program is None:
            return
        vao = self.cache.get(f"quad {id(hot)}", hot.generation, lambda: self.gl.vertex_array(hot.program, []))
        hot["mvp"].write(np.asarray(frame.mvp, np.float32).tobytes())
        for name, value in uniforms.items():
            hot[name].value = value
        if texture is not None:
            texture.use(0)
        vao.render(self.gl.TRIANGLE_STRIP, vertices=4)

    def cells(self, frame: Frame, name: str, key, edges, colors) -> None:
        """A grid of coloured cells (a picture, a matrix, a heat map) filling the world rectangle
        ``edges`` = (x0, x1, y0, y1), row 0 at the top: one texture quad drawn by the shared
        ``cells.glsl``, however many cells. ``colors()`` makes the (rows, cols, 4) RGBA array; it
        runs, and the texture is rebuilt, only when ``key`` changes (``name`` tells grids apart)."""
        def build():
            rgba = np.ascontiguousarray(np.asarray(colors(), np.float32))
            if rgba.ndim != 3 or rgba.shape[2] != 4:
                raise ValueError(f"cells {name!r}: colours must be (rows, cols, 4) RGBA, got shape {rgba.shape}")
            return self.gl.texture((rgba.shape[1], rgba.shape[0]), 4, rgba.tobytes(), dtype="f4")

        if self._cells_program is None:
            self._cells_program = self.context.shared_program("cells.glsl")
        texture = self.cache.get(f"cells {name}", key, build)
        self.quad(frame, self._cells_program, texture, edges=tuple(float(e) for e in edges))

    def lines(self, frame: Frame, points, color, thickness: float = 1.0, strip: bool = False) -> None:
        """Line segments, each a pair of points (``strip``: one polyline through all of them), in
        the pane's world units; ``points`` may be nested, (segments, 2, 2) say."""
        points = np.asarray(points, np.float64)
        self.painter.lines(frame.mvp, points.reshape(-1, points.shape[-1]), color, thickness, frame.viewport,
                           strip=strip)

    def rects(self, frame: Frame, boxes, color) -> None:
        """Filled rectangles ``(x0, x1, y0, y1)``: one, or one per row of an array (bars, cells); one
        colour, or one per rectangle."""
        x0, x1, y0, y1 = np.atleast_2d(np.asarray(boxes, np.float64)).T
        self.painter.rects(frame.mvp, np.stack([x0, y0], 1), np.stack([x1, y1], 1), color)

    def outline(self, frame: Frame, boxes, color, thickness: float = 1.0) -> None:
        """The edges of rectangles ``(x0, x1, y0, y1)``: one, or one per row of an array."""
        self.lines(frame, box_segments(*np.atleast_2d(np.asarray(boxes, np.float64)).T), color, thickness)

    def dots(self, frame: Frame, points, color, size: float, rim: float = 5.0) -> None:
        """Round points on a dark rim ``rim`` pixels wider: they stand out on lines of their own colour."""
        if len(points):
            self.painter.points(frame.mvp, points, PALETTE.shadow, size + rim)
            self.painter.points(frame.mvp, points, color, size)

    def release(self) -> None:
        """Free GL objects (called when the level closes or reloads); call super() when overriding."""
        self.cache.release()
