"""The Manifold Untangler's view.

Left pane, the input: the disc and the ring in the plane, coloured by what the net (or k-NN)
says, with the points it gets wrong in red; or, for the linked rings, the rings in space. Right
pane, a layer: the training points and the grid of the plane carried through the first L layers
(a plane for width 2, space for width 3 and more), with the read-out's line or plane after the
last one. The captions put the training-point accuracy beside the continuum accuracy.
"""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.camera import Camera2D, OrbitCamera
from sandbox.kit import PALETTE, first_fit, progress_bar
from sandbox.view import View, side_by_side

from .model import DISC, HALF, MAP_CELLS
from .untangle import predict

CLASS_COLORS = (PALETTE.orange, PALETTE.sky)  # class 0 (disc, ring A), class 1 (ring, ring B)
CLASS_RGBA = np.array([c.rgba for c in CLASS_COLORS], np.float32)
WRONG = PALETTE.purple  # pink: far from both class colours
GRID_LINES = 13  # grid lines each way over the input square
GRID_SAMPLES = 64  # points along each grid line (enough to show it bend)
LINK_STRIDE = 6  # every this many continuum points of the linked rings are drawn
HOME_3D = ((0.0, 0.0, 0.0), 6.5, -0.7, 0.45)
HOME_LINKS = ((0.5, 0.0, 0.0), 7.0, -0.9, 0.45)


def _cube_edges() -> np.ndarray:
    """The 12 edges of the cube [−1, 1]³ as segment end points (24, 3)."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float64)
    pairs = [(a, b) for a in range(8) for b in range(a + 1, 8) if np.sum(corners[a] != corners[b]) == 1]
    return np.array([corners[i] for pair in pairs for i in pair])


CUBE_EDGES = _cube_edges()


def _pct(value: float) -> str:
    return "—" if not np.isfinite(value) else f"{100.0 * value:.1f}%"


def grid_lines() -> np.ndarray:
    """The input square's grid as (lines, samples, 2) polylines, both directions."""
    ticks = np.linspace(-HALF, HALF, GRID_LINES)
    along = np.linspace(-HALF, HALF, GRID_SAMPLES)
    vertical = np.stack([np.broadcast_to(ticks[:, None], (GRID_LINES, GRID_SAMPLES)),
                         np.broadcast_to(along[None, :], (GRID_LINES, GRID_SAMPLES))], -1)
    return np.concatenate([vertical, vertical[..., ::-1]])


def _strip_segments(lines: np.ndarray) -> np.ndarray:
    """Polylines (lines, samples, d) as separate segments (pairs of points), for one draw call."""
    return np.stack([lines[:, :-1], lines[:, 1:]], 2).reshape(-1, lines.shape[-1])


def _readout(net) -> tuple[np.ndarray, float]:
    """The read-out's boundary after the last layer: n·h + c = 0 (class 1 where positive)."""
    out = net.layers[-1]
    return out.W[:, 1] - out.W[:, 0], float(out.b[1] - out.b[0])


def plane_patch(n: np.ndarray, c: float, reach: float = 1.0, lines: int = 9) -> np.ndarray:
    """Segments of a square mesh on the plane n·h + c = 0 (3-D), clipped to the cube |h| ≤ reach."""
    n = np.asarray(n, np.float64)
    norm = float(np.linalg.norm(n))
    if norm < 1e-12:
        return np.zeros((0, 3))
    unit = n / norm
    p0 = -c / norm * unit
    helper = np.array([1.0, 0.0, 0.0]) if abs(unit[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(unit, helper)
    u /= np.linalg.norm(u)
    v = np.cross(unit, u)
    s = np.linspace(-2.0 * reach, 2.0 * reach, 60)
    out = []
    for t in np.linspace(-2.0 * reach, 2.0 * reach, lines):
        for a, b in ((u, v), (v, u)):
            pts = p0 + s[:, None] * a + t * b
            inside = np.all(np.abs(pts) <= reach, 1)
            seg = inside[:-1] & inside[1:]
            out.append(np.stack([pts[:-1][seg], pts[1:][seg]], 1).reshape(-1, 3))
    return np.concatenate(out) if out else np.zeros((0, 3))


class UntanglerView(View):
    camera = "2d"
    controls = (("drag in a 3-D pane", "turns the space (right-drag pans, the wheel zooms)"),
                ("'show the points after layer' slider, or the ◀ ▶ buttons", "steps the points through the layers"))

    def __init__(self, context):
        super().__init__(context)
        self.orbit_in = OrbitCamera(*HOME_LINKS)
        self.cam_layer = Camera2D()
        self.orbit_layer = OrbitCamera(*HOME_3D)
        self._grid = grid_lines()
        self._preview: tuple | None = None  # (challenge id, its setup's model) while a prediction is open
        self._link_colors: tuple | None = None  # (key, colours, sizes) of the linked rings' points
        self._carried: tuple | None = None  # (key, the grid's segments carried to the layer shown)
        self._framed: dict[str, tuple] = {}  # pane -> (size, font, reach) its camera was fitted for

    # -- what is shown ---------------------------------------------------------------------------
    @property
    def shown(self):
        """The model the scene shows: while the learner predicts, the open challenge's setup (its
        data and its nets before training, answers hidden); else the run on screen."""
        challenge = self.challenge.open
        if not self.challenge.choosing or challenge is None:
            return self.model
        if self._preview is None or self._preview[0] != challenge.id:
            params = self.context.manifest.resolve_params(challenge.set)
            preview = type(self.model)(dict(params), backend=self.model.backend)
            preview.reset(challenge.seed)
            self._preview = (challenge.id, preview)
        return self._preview[1]

    # -- layout ----------------------------------------------------------------------------------
    def _layer_dims(self) -> int:
        model = self.shown
        layer = model.shown_layer
        return model.x.shape[1] if layer == 0 else model.width

    def panes(self):
        model = self.shown
        left = self.cam if model.data == DISC else self.orbit_in
        right = self.cam_layer if self._layer_dims() == 2 else self.orbit_layer
        return side_by_side(("input", left, 1.0), ("layer", right, 1.0))

    def on_reset(self) -> None:
        if self.transport.paused and not self.model.finished and not self.challenge.playing:
            self.transport.play()  # a new run is a new training: start it (the last one paused at its end)
        self.orbit_in.reset()
        self.orbit_layer.reset()
        self._framed.clear()

    def _frame_plane(self, frame, camera, reach: float) -> None:
        """Fit a 2-D pane's camera to the square [−reach, reach]² below room for its caption (three
        lines, measured at the UI scale shown), again whenever the pane's size or the scale changes."""
        font = imgui.get_font_size()
        key = (round(frame.size[0]), round(frame.size[1]), font, reach)
        if self._framed.get(frame.pane) == key:
            return
        self._framed[frame.pane] = key
        width, height = frame.size
        above = 14.0 + 3.0 * (imgui.get_text_line_height() + 6.0)
        below = 10.0 + imgui.get_text_line_height()
        scale = max(2.0 * reach / max(width - 12.0, 0.3 * width),
                    2.0 * reach / max(height - above - below, 0.3 * height))
        camera.fit(-reach, reach, -reach - below * scale, reach + above * scale, 0.0, follow=True)

    def _hiding(self) -> bool:
        return bool(self.challenge.hide_answers)

    # -- the input pane --------------------------------------------------------------------------
    def _map_colors(self) -> np.ndarray:
        model = self.shown
        member = model.membership_map()
        rgba = np.zeros((MAP_CELLS, MAP_CELLS, 4), np.float32)
        if self._hiding():
            for cls in (0, 1):
                rgba[member == cls] = CLASS_COLORS[cls].alpha(0.45).rgba
            return rgba
        labels = model.knn_map() if model.params["map"] == "k-NN" else model.decision_map()
        for cls in (0, 1):
            rgba[(labels == cls) & (member < 0)] = CLASS_COLORS[cls].alpha(0.14).rgba
            rgba[(labels == cls) & (member == cls)] = CLASS_COLORS[cls].alpha(0.5).rgba
        rgba[(member >= 0) & (labels != member)] = WRONG.alpha(0.95).rgba
        return rgba

    def _scene_input(self, frame) -> None:
        model = self.shown
        if model.data == DISC:
            self._frame_plane(frame, self.cam, HALF)
            key = (id(model), model.picture_key, model.params["map"], model.params["k"],
                   self._hiding())
            self.cells(frame, "decision", key, model.map_edges(), self._map_colors)
            colors = CLASS_RGBA[model.y]
            squashed = model.factor > 2.0  # smaller dots leave the thin band's wrong cells in view
            self.dots(frame, model.x, colors, 3.0 if squashed else 5.0, rim=2.0 if squashed else 3.0)
            return
        pts, labels = model.cx[::LINK_STRIDE], model.cy[::LINK_STRIDE]
        key = (id(model), model.picture_key, self._hiding())
        if self._link_colors is None or self._link_colors[0] != key:  # the net is asked again only when re-measured
            colors = CLASS_RGBA[labels].copy()
            colors[:, 3] = 0.8
            sizes = np.full(len(pts), 4.0, np.float32)
            if not self._hiding():
                wrong = predict(model.net, pts) != labels
                colors[wrong] = WRONG.rgba
                sizes[wrong] = 7.0
            self._link_colors = (key, colors, sizes)
        self.painter.points(frame.mvp, pts, self._link_colors[1], self._link_colors[2])

    # -- the layer pane --------------------------------------------------------------------------
    def _scene_layer(self, frame) -> None:
        model = self.shown
        layer = model.shown_layer
        dims = self._layer_dims()
        if dims == 2:  # the input square, or tanh's (−1, 1)²
            self._frame_plane(frame, self.cam_layer, HALF if layer == 0 else 1.1)
        if model.data == DISC:
            key = (id(model), model.picture_key, layer)
            if self._carried is None or self._carried[0] != key:  # the grid moves only when the net is re-measured
                carried = model.carry(self._grid.reshape(-1, 2), layer).reshape(len(self._grid), GRID_SAMPLES, -1)
                self._carried = (key, _strip_segments(carried[..., :3]))
            self.painter.lines(frame.mvp, self._carried[1], PALETTE.grid.alpha(0.55), 1.0, frame.viewport, strip=False)
        points = model.layers()[layer][:, :3]
        colors = CLASS_RGBA[model.y]
        if layer == model.depth and not self._hiding():
            n, c = _readout(model.net)
            if dims == 2:
                self._readout_line(frame, n, c)
            else:
                self.painter.lines(frame.mvp, plane_patch(n[:3], c), PALETTE.white.alpha(0.55), 1.5, frame.viewport,
                                   strip=False)
        if dims == 2:
            self.dots(frame, points, colors, 6.0, rim=3.0)
        else:
            if layer > 0:  # tanh keeps every point inside the cube (−1, 1)³: its edges give the space a frame
                self.painter.lines(frame.mvp, CUBE_EDGES, PALETTE.muted.alpha(0.5), 1.0, frame.viewport, strip=False)
            self.painter.points(frame.mvp, points, colors, 6.0)

    def _readout_line(self, frame, n, c) -> None:
        """The read-out's boundary line n·h + c = 0 across the layer pane."""
        norm = float(np.linalg.norm(n))
        if norm < 1e-12:
            return
        unit = n / norm
        p0 = -c / norm * unit
        along = np.array([-unit[1], unit[0]])
        self.lines(frame, [p0 - 4.0 * along, p0 + 4.0 * along], PALETTE.white, 2.0)

    def scene(self, frame) -> None:
        if self.model.finished and not self.transport.paused and not self.challenge.playing:
            self.transport.pause()  # the end of training: the app's step counter (and the plots) stop there too
        if frame.pane == "input":
            self._scene_input(frame)
        else:
            self._scene_layer(frame)

    # -- text ------------------------------------------------------------------------------------
    def overlay(self, draw_list, frame) -> None:
        model = self.shown
        room = frame.size[0] - 28.0
        if frame.pane == "input":
            if self._hiding():
                lines = [first_fit(["accuracies hidden until the verdict", "accuracies hidden"], room)]
            else:
                lines = [first_fit([f"net: training points {_pct(model.train_accuracy())}",
                                    f"training pts {_pct(model.train_accuracy())}"], room),
                         (first_fit([f"net: continuum {_pct(model.continuum_accuracy())}",
                                     f"continuum {_pct(model.continuum_accuracy())}"], room), PALETTE.sky),
                         (first_fit([f"k-NN (k = {model.params['k']}): continuum {_pct(model.knn_accuracy())}",
                                     f"k-NN {_pct(model.knn_accuracy())}"], room), PALETTE.green)]
            if model.data == DISC and not self._hiding() and model.params["map"] == "k-NN":
                lines.append((first_fit(["plane coloured by k-NN", "k-NN map"], room), PALETTE.muted))
            frame.caption(draw_list, lines)
            if not model.finished and not self.challenge.choosing:  # a preview is the setup, never trained
                frame.caption(draw_list, [(first_fit([f"training… {model.progress:.0%}", f"{model.progress:.0%}"], room),
                                           PALETTE.yellow)], corner="bottom-left")
            return
        layer, dims = model.shown_layer, self._layer_dims()
        where = "the input" if layer == 0 else f"after layer {layer} of {model.depth}"
        shape = {2: "a plane", 3: "space"}.get(dims, f"3 of {dims} coordinates")
        lines = [first_fit([f"{where}: {shape}", where], room)]
        if self.challenge.choosing:
            lines.append((first_fit(["the challenge's net, before training", "before training"], room), PALETTE.muted))
        elif layer == model.depth and not self._hiding():
            lines.append((first_fit([f"white: the read-out's {'line' if dims == 2 else 'plane'}", "white: read-out"],
                                    room), PALETTE.muted))
        elif layer < model.depth:
            lines.append((first_fit(["slide 'layer' on to see the rest", "more layers"], room), PALETTE.muted))
        frame.caption(draw_list, lines)

    def panel(self) -> None:
        model = self.model
        if model.finished:
            which = f"best of {len(model.trainings)} (seed {model.seed + model.best})" if len(model.trainings) > 1 else \
                f"seed {model.seed}"
            progress_bar(1.0, f"trained: {model.training.done} steps, {which}")
        else:
            progress_bar(model.progress, f"net {model.current + 1} of {len(model.trainings)}: step "
                                         f"{model.training.done} of {model.training.steps}")
        layer = model.shown_layer
        if imgui.button("◀ layer") and layer > 0:
            self.context.set_param("layer", layer - 1)
        imgui.same_line()
        if imgui.button("layer ▶") and layer < model.depth:
            self.context.set_param("layer", layer + 1)
        imgui.same_line()
        imgui.text(f"{layer} of {model.depth}")
