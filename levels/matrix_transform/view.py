"""The Matrix as a Map's view.

"map" and "SVD": one plane. A faint fixed grid, the grid carried by the matrix the run shows
now, the unit square (shaded by the sign of its area) with a house in it, the unit circle and its
image, the columns W e₁ and W e₂ with handles to drag, and the lines W keeps ("map") or the
singular directions ("SVD"). "two maps": two planes, W then B beside B then W. "low rank": the
matrix and its rank-k copy as pictures. The plot strip shows what W does to each direction, or
the singular values and what keeping k of them keeps.
"""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.gfx.draw import arrows
from sandbox.kit import PALETTE, Plot, finite, hline, line, plot_strip, scatter, vlines, first_fit
from sandbox.view import View, side_by_side

from .maps import ENTRY_RANGE, HOUSE, PRESETS, SIZE, UNIT_SQUARE, compose_path, ellipse
from .model import STAGES, WEIGHT_UPDATE

GRID = PALETTE.blue
COLUMNS = (PALETTE.vermillion, PALETTE.green)  # W e₁ and W e₂
ELLIPSE = PALETTE.orange
LINES = PALETTE.yellow
SIGMAS = (PALETTE.orange, PALETTE.purple)
AREA = {1: PALETTE.sky, -1: PALETTE.purple, 0: PALETTE.muted}  # by the sign of det
HOUSE_COLOR = PALETTE.white
KEPT, DROPPED = PALETTE.orange, PALETTE.muted
MIN_REACH, MAX_REACH = 1.5, 4.6  # the plane shown reaches this far from the origin, at least and at most
MUTED = PALETTE.muted
TALL_LINES = 14  # a pane this many lines tall has room for a second caption line
PLOT_EMS = 13.0  # a plot of the strip needs at least this many font sizes of width to be worth showing
LINE_REACH = 12.0  # the kept lines and singular directions are drawn this far (past any view)
GRID_REACH = 8  # grid lines from -8 to 8: enough to fill the view when the map shrinks the plane
HANDLE_PIXELS = 18.0  # how close (window units) the mouse must be to a handle to pick it up
SNAP = 0.05  # a dragged column's entries snap to multiples of this (exact shears and stretches are easy to hit)
STAGE_WORDS = ("the identity: nothing has moved yet", "1 of 3: turn by Vᵀ", "2 of 3: stretch the axes by σ₁, σ₂",
               "3 of 3: turn by U")
CIRCLE = ellipse(np.eye(2))


def _segments(points: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Points (n, 2) mapped by M."""
    return np.asarray(points, np.float64).reshape(-1, 2) @ M.T


def _grid(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The integer grid's lines mapped by M, as segment pairs: (the other lines, the two axes)."""
    ticks = np.arange(-GRID_REACH, GRID_REACH + 1, dtype=np.float64)
    ends = np.full_like(ticks, GRID_REACH)
    vertical = np.stack([np.stack([ticks, -ends], 1), np.stack([ticks, ends], 1)], 1)
    horizontal = vertical[:, :, ::-1]
    lines = np.concatenate([vertical, horizontal])
    axis = np.concatenate([vertical[ticks == 0], horizontal[ticks == 0]])
    others = np.concatenate([ticks != 0, ticks != 0])
    return _segments(lines[others], M), _segments(axis, M)


def _matrix_text(name: str, M: np.ndarray) -> tuple[str, str]:
    """A 2×2 matrix as two lines of aligned text."""
    cells = [[f"{v:+.2f}".replace("+", " ").replace("-", "−") for v in row] for row in M]
    pad = " " * (len(name) + 3)
    return f"{name} = [ {cells[0][0]}  {cells[0][1]} ]", f"{pad}[ {cells[1][0]}  {cells[1][1]} ]"


def _signed(value: float) -> int:
    return 0 if abs(value) < 1e-9 else (1 if value > 0 else -1)


class MatrixView(View):
    camera = "2d"
    controls = (("drag the dot at the tip of W e₁ or W e₂", "moves that column of W: the whole plane follows"),)

    def __init__(self, context):
        super().__init__(context)
        self.cam2 = Camera2D()
        self._framed: dict[str, tuple] = {}  # pane -> (size, font, mode) its camera was fitted for
        self._dragging: int | None = None  # the column being dragged (0 or 1)
        self._hovered: int | None = None
        self._preview = None  # (challenge id, model): the open challenge's setup, shown while choosing
        self._colors: dict = {}  # (matrix, rank, seed) -> per-cell colours of a low-rank picture

    # -- what is shown ---------------------------------------------------------------------------
    @property
    def shown(self):
        """The model the scene shows: the open challenge's setup (at the end of its animation)
        while the learner predicts, else the run on screen."""
        challenge = self.challenge.open
        if not self.challenge.choosing or challenge is None:
            return self.model
        if self._preview is None or self._preview[0] != challenge.id:
            params = self.context.manifest.resolve_params(challenge.set)
            preview = type(self.model)(dict(params), backend=self.model.backend)
            preview.reset(challenge.seed)
            preview.finish()
            self._preview = (challenge.id, preview)
        return self._preview[1]

    def _hiding(self, measure: str) -> bool:
        """Whether what answers the open challenge measured by ``measure`` must be hidden now."""
        challenge = self.challenge.open
        return self.challenge.hide_answers and challenge is not None and challenge.measure == measure

    def panes(self):
        mode = self.shown.mode
        if mode == "two maps":
            return side_by_side(("first", self.cam, 1.0), ("second", self.cam2, 1.0))
        if mode == "low rank":
            return side_by_side(("original", self.cam, 1.0), ("kept", self.cam2, 1.0))
        return side_by_side(("plane", self.cam, 1.0))

    def on_reset(self) -> None:
        self._framed.clear()
        self._dragging = None

    def _caption_lines(self, frame) -> list:
        """The caption of a pane (top-left), as Frame.caption takes it: each line the longest of its
        wordings that fits the pane, the second line only where the pane has room for it."""
        model, mode = self.shown, self.shown.mode
        if mode == "low rank":
            name = "ΔW" if model.params["matrix"] == WEIGHT_UPDATE else "A"
            if frame.pane == "original":
                lines = [[f"{name}: {SIZE}×{SIZE}", name], ([f"all {SIZE} singular values", f"rank {SIZE}"], MUTED)]
            else:
                k, share = model.shown_rank, model.kept_share(model.shown_rank)
                kept = ([f"keeps {share:.1%} of ‖{name}‖²_F", f"{share:.1%} kept"], MUTED)
                lines = [[f"{name}_k: top k = {k} of {SIZE}", f"k = {k}"],
                         (["its share: hidden until you lock in", "share hidden"], MUTED)
                         if self._hiding("kept_share") else kept]
        elif mode == "two maps":
            second = model.params["second"]
            if self._hiding("order"):
                lines = [["W alone"] if frame.pane == "first" else [f"B alone: {second}", "B alone"],
                         (["each map by itself", "by itself"], MUTED)]
            else:
                lines = [["W, then B:  y = B W x", "W, then B"] if frame.pane == "first" else
                         ["B, then W:  y = W B x", "B, then W"], ([f"B = {second}", "B"], MUTED)]
        elif mode == "SVD":
            lines = [[STAGE_WORDS[model.stage()], STAGE_WORDS[model.stage()].split(":")[0]],
                     (["W = U Σ Vᵀ: the circle becomes an ellipse", "W = U Σ Vᵀ"], MUTED)]
        elif self.challenge.choosing:
            lines = [["the map this challenge asks about", "the map asked about"],
                     (["its lines stay hidden until you lock in", "lines hidden"] if self._hiding("kept_lines")
                      else ["y = W x"], MUTED)]
        elif self._handles_active() or not self.challenge.locked:
            lines = [["drag the dots: they are W's columns", "drag the dots", "drag"],
                     (["the plane moves with them"], MUTED)]
        else:
            lines = [["y = W x"], (["the plane moves with W"], MUTED)]
        tall = frame.size[1] >= TALL_LINES * imgui.get_text_line_height()
        room = frame.size[0] - 28.0
        out = []
        for entry in lines[:2] if tall else lines[:1]:
            wordings, color = entry if isinstance(entry, tuple) else (entry, PALETTE.text)
            words = first_fit(wordings, room)
            out.append((words, color))
        return out

    def _frame_pane(self, frame) -> None:
        """Fit the pane's camera to its content, below room for its caption (measured in lines at
        the scale shown), so that captions never cover the plane's middle."""
        font = imgui.get_font_size()
        mode = self.shown.mode
        # refitted for another size, scale, mode or challenge, and on a reset or a preset: never while
        # a column is dragged (the plane would slide away under the pointer)
        key = (round(frame.size[0]), round(frame.size[1]), font, mode, id(self.shown))
        if self._framed.get(frame.pane) == key:
            return
        self._framed[frame.pane] = key
        lines = 2 if frame.size[1] >= TALL_LINES * imgui.get_text_line_height() else 1
        above = 12.0 + lines * (imgui.get_text_line_height() + 6.0)
        width, height = frame.size
        if mode == "low rank":
            x0, x1, y0, y1 = -0.04, 1.04, -0.04, 1.04
        else:
            reach = self._reach() * (1.15 if mode == "two maps" else 1.0)
            x0, x1, y0, y1 = -reach, reach, -reach, reach
        scale = max((x1 - x0) / max(width - 8.0, 0.3 * width), (y1 - y0) / max(height - above - 6.0, 0.3 * height))
        camera = self.cam if frame.pane in ("plane", "first", "original") else self.cam2
        camera.fit(x0, x1, y0 - 6.0 * scale, y1 + above * scale, 0.0, follow=True)
        self.context.request_frames(2)

    def _reach(self) -> float:
        """How far from the origin the view must reach: the columns, the ellipse (and in "two maps"
        the products' columns) with a little room, at least the unit square and circle."""
        model = self.shown
        mats = [model.W] + (list(model.products()) + [model.B] if model.mode == "two maps" else [])
        far = max(max(float(np.max(np.abs(M))), float(np.linalg.norm(M, 2))) for M in mats)
        return float(np.clip(1.15 * far, MIN_REACH, MAX_REACH))

    # -- the scene -------------------------------------------------------------------------------
    def _pane_matrix(self, pane: str) -> np.ndarray:
        model = self.shown
        if model.mode == "two maps":
            if self._hiding("order"):  # each map alone: the products would answer the challenge
                return compose_path(model.W, model.B, 1.0) if pane == "first" else compose_path(model.B, model.W, 1.0)
            return model.morph() if pane == "first" else model.morph_other()
        return model.morph()

    def scene(self, frame) -> None:
        self._frame_pane(frame)
        self.gl.disable(self.gl.DEPTH_TEST)  # a flat picture: later strokes go on top
        if self.shown.mode == "low rank":
            return self._image_scene(frame)
        model, M = self.shown, self._pane_matrix(frame.pane)
        paint, mvp, vp = self.painter, frame.mvp, frame.viewport
        fixed, fixed_axes = _grid(np.eye(2))
        paint.lines(mvp, fixed, PALETTE.grid.alpha(0.25), 1.0, vp, strip=False)
        paint.lines(mvp, fixed_axes, PALETTE.grid.alpha(0.7), 1.0, vp, strip=False)
        moved, moved_axes = _grid(M)
        paint.lines(mvp, moved, GRID.alpha(0.55), 1.2, vp, strip=False)
        paint.lines(mvp, moved_axes, GRID.lighter(0.3), 2.0, vp, strip=False)
        square = UNIT_SQUARE @ M.T
        sign = 0 if self._hiding("signed_area") else _signed(float(np.linalg.det(M)))
        paint.triangles(mvp, square[[0, 1, 2, 0, 2, 3]], AREA[sign].alpha(0.28))
        paint.lines(mvp, np.vstack([square, square[:1]]), AREA[sign].alpha(0.8), 1.5, vp)
        paint.lines(mvp, _segments(HOUSE, M), HOUSE_COLOR, 2.0, vp, strip=False)
        paint.lines(mvp, CIRCLE, PALETTE.muted.alpha(0.5), 1.0, vp)
        paint.lines(mvp, CIRCLE @ M.T, ELLIPSE, 2.5, vp)
        if model.mode == "map" and not self._hiding("kept_lines"):
            self._kept_lines(frame, M)
        if model.mode == "SVD":
            self._singular_vectors(frame, M)
        for column, color in zip(M.T, COLUMNS):
            paint.lines(mvp, arrows(np.zeros((1, 2)), column[None], 0.12 if np.linalg.norm(column) > 1.5 else 0.2),
                        color, 3.5, vp, strip=False)
        if frame.pane == "plane" and self._handles_active():
            for i, (handle, color) in enumerate(zip(model.W.T, COLUMNS)):
                big = i in (self._hovered, self._dragging)
                self.dots(frame, handle[None], color, 16.0 if big else 12.0)

    def _handles_active(self) -> bool:
        """The columns can be dragged in the sandbox's one-plane modes once the animation is over
        (before, the handles would float where the arrows have not yet arrived)."""
        model = self.model
        return (not self.challenge.locked and not self.challenge.choosing and model.mode in ("map", "SVD")
                and model.progress >= STAGES[model.mode])

    def _kept_lines(self, frame, M) -> None:
        """The lines W keeps, drawn across the view, with the arrow M v on each: it stays on its line."""
        lines = self.shown.lines()
        if not lines:
            return
        for angle, _ in lines:
            v = self._away_from_the_house(angle)
            self.lines(frame, [-LINE_REACH * v, LINE_REACH * v], LINES.alpha(0.55), 1.5)
            image = M @ v
            self.lines(frame, arrows(np.zeros((1, 2)), image[None], 0.18), LINES, 3.0)

    @staticmethod
    def _away_from_the_house(angle: float) -> np.ndarray:
        """The unit vector along a line, pointing away from the unit square (where the house is):
        its arrow then never covers the picture."""
        v = np.array([math.cos(angle), math.sin(angle)])
        return -v if v @ UNIT_SQUARE.mean(0) > 0 else v

    def _right_singular_vectors(self) -> list[np.ndarray]:
        """v₁ and v₂ (W vᵢ = σᵢuᵢ), each signed so that σᵢuᵢ points away from the image of the unit
        square: its arrow then never covers the house. (−vᵢ is as much a singular vector as vᵢ.)"""
        model = self.shown
        theta, centre = model.factors()[0], model.W @ UNIT_SQUARE.mean(0)
        out = []
        for i in range(2):
            v = np.array([math.cos(theta + i * math.pi / 2), math.sin(theta + i * math.pi / 2)])
            out.append(-v if (model.W @ v) @ centre > 0 else v)
        return out

    def _singular_vectors(self, frame, M) -> None:
        """v₁, v₂ carried by the map shown: they start on the unit circle and end as σ₁u₁, σ₂u₂."""
        for v, color in zip(self._right_singular_vectors(), SIGMAS):
            tip = M @ v
            direction = tip / max(float(np.linalg.norm(tip)), 1e-12)
            self.lines(frame, [-LINE_REACH * direction, LINE_REACH * direction], color.alpha(0.35), 1.0)
            self.lines(frame, arrows(np.zeros((1, 2)), tip[None], 0.18), color, 3.0)

    def _image_scene(self, frame) -> None:
        model = self.shown
        rank = SIZE if frame.pane == "original" else model.shown_rank
        key = (model.params["matrix"], model.seed, rank)
        colors = self._colors.get(key)
        if colors is None:
            if len(self._colors) > 8:
                self._colors.clear()
            colors = self._colors[key] = self._cell_colors(model, rank)
        cells = np.arange(SIZE, dtype=np.float64) / SIZE
        x0, y0 = np.meshgrid(cells, 1.0 - cells - 1.0 / SIZE)
        boxes = np.stack([x0.ravel(), x0.ravel() + 1.0 / SIZE, y0.ravel(), y0.ravel() + 1.0 / SIZE], 1)
        self.rects(frame, boxes, colors)
        self.outline(frame, (0.0, 1.0, 0.0, 1.0), PALETTE.grid, 1.0)

    @staticmethod
    def _cell_colors(model, rank: int) -> np.ndarray:
        """One RGBA row per cell, rows from the top: grey levels for the picture; for a weight
        update, orange above zero and blue below, as strong as the entry (full at 2.5 times the
        original's root-mean-square entry, the same scale in both panes)."""
        A = model.matrix() if rank >= SIZE else model.approximation(rank)
        if model.params["matrix"] == WEIGHT_UPDATE:
            full = 2.5 * max(float(np.sqrt(np.mean(model.matrix() ** 2))), 1e-12)
            t = np.clip(A / full, -1.0, 1.0).ravel()[:, None]
            dark = np.array([0.08, 0.09, 0.11, 1.0])
            warm, cold = np.array(PALETTE.orange), np.array(PALETTE.blue)
            out = dark + np.maximum(t, 0) * (warm - dark) + np.maximum(-t, 0) * (cold - dark)
        else:
            grey = np.clip(A, 0.0, 1.0).ravel()[:, None]
            out = np.concatenate([np.repeat(grey, 3, 1), np.ones_like(grey)], 1)
        out[:, 3] = 1.0
        return out.astype(np.float32)

    # -- text over the scene ---------------------------------------------------------------------
    def overlay(self, draw_list, frame) -> None:
        frame.caption(draw_list, self._caption_lines(frame))
        model = self.shown
        if model.mode == "low rank":
            return
        M = self._pane_matrix(frame.pane)
        if model.mode != "two maps":
            name = "W" if model.progress >= STAGES[model.mode] else ""  # on the way, the arrows are not yet W e₁, W e₂
        elif self._hiding("order"):
            name = "W" if frame.pane == "first" else "B"
        else:
            name = "BW" if frame.pane == "first" else "WB"
        items = [(column, f"{name} e{'₁₂'[i]}".strip(), color.lighter(0.3), 3.0)
                 for i, (column, color) in enumerate(zip(M.T, COLUMNS))]
        if model.mode == "map" and not self._hiding("kept_lines"):
            lines = model.lines()
            for angle, factor in lines or []:
                items.append((M @ self._away_from_the_house(angle), f"λ = {factor:.3g}", LINES, 2.0))
        if model.mode == "SVD":
            _, _, s1, s2, _ = model.factors()
            stage = model.stage()
            for i, (sigma, color, v) in enumerate(zip((s1, s2), SIGMAS, self._right_singular_vectors())):
                words = f"v{'₁₂'[i]}" if stage <= 1 else f"σ{'₁₂'[i]} = {sigma:.3g}"
                items.append((M @ v, words, color.lighter(0.3), 2.0))
        bottom = []
        room = frame.size[0] - 28.0

        def fit(*wordings):
            return first_fit(wordings, room)

        if not self._hiding("signed_area"):
            det = f"{float(np.linalg.det(M)):.3g}".replace("-", "−")
            bottom.append((fit(f"shaded: the unit square's image, area {det}", f"shaded square: area {det}",
                               f"area {det}"), AREA[_signed(float(np.linalg.det(M)))].lighter(0.4)))
        if model.mode == "map" and not self._hiding("kept_lines") and model.lines() == []:
            values = model.eigenvalues()
            pair = f"{values[0].real:.3g} ± {abs(values[0].imag):.3g}i"
            bottom.append((fit(f"no line stays put: λ = {pair}", "no line stays put"), LINES))
        frame.caption(draw_list, bottom, corner="bottom-left")
        frame.labels(draw_list, items, always=3.0)

    # -- dragging the columns --------------------------------------------------------------------
    def handle_input(self, frame) -> bool:
        """Drag a handle to set that column of W (snapped to multiples of SNAP)."""
        self._frame_pane(frame)
        inp = frame.input
        if frame.pane != "plane" or not self._handles_active():
            self._dragging = self._hovered = None
            return False
        if not inp.left:
            self._dragging = None
        mouse = np.asarray(inp.mouse, np.float64)
        if self._dragging is None:
            pixels = np.array([frame.camera.world_to_screen(h, frame.viewport) for h in self.model.W.T])
            distance = np.linalg.norm(pixels - mouse, axis=1) / frame.pixel_ratio
            near = inp.hovered and distance.min() < HANDLE_PIXELS
            self._hovered = int(np.argmin(distance)) if near else None
            if self._hovered is None or not inp.clicked or inp.shift:
                return False
            self._dragging = self._hovered
        world = frame.camera.screen_to_world(mouse, frame.viewport)
        world = np.clip(np.round(world / SNAP) * SNAP, -ENTRY_RANGE, ENTRY_RANGE)
        for row in range(2):
            name, value = f"w{row + 1}{self._dragging + 1}", round(float(world[row]), 4)
            if value != self.params[name]:
                self.context.set_param(name, value)
        return True

    # -- the side panel --------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.shown
        imgui.separator()
        imgui.push_text_wrap_pos(0.0)
        if model.mode == "low rank":
            self._low_rank_panel(model)
        else:
            self._map_panel(model)
        imgui.pop_text_wrap_pos()

    def _mono(self, *lines: str) -> None:
        font = self.context.fonts.mono
        if font is not None:
            imgui.push_font(font, 0.0)
        for text in lines:
            imgui.text(text)
        if font is not None:
            imgui.pop_font()

    def _map_panel(self, model) -> None:
        self._mono(*_matrix_text("W", model.W))
        det = float(np.linalg.det(model.W))
        if not self._hiding("signed_area"):
            words = "mirrored" if det < -1e-9 else ("flattened onto a line" if abs(det) <= 1e-9 else "not mirrored")
            imgui.text_colored(AREA[_signed(det)].lighter(0.4), f"det W = ad − bc = {det:.3g}: areas × {det:.3g}, {words}")
        if model.mode == "map" and not self._hiding("kept_lines"):
            lines = model.lines()
            if lines is None:
                imgui.text_colored(LINES, "every line stays put: W is a multiple of the identity")
            elif not lines:
                values = model.eigenvalues()
                imgui.text_colored(LINES, f"no line stays put: every direction turns "
                                          f"(λ = {values[0].real:.3g} ± {abs(values[0].imag):.3g}i)")
            else:
                kept = ", ".join(f"{math.degrees(a):.1f}° (λ = {f:.3g})" for a, f in lines)
                imgui.text_colored(LINES, f"lines that stay put: {kept}")
        if model.mode == "SVD":
            theta, phi, s1, s2, sign = model.factors()
            imgui.text_colored(ELLIPSE, f"σ₁ = {s1:.3g}, σ₂ = {s2:.3g}")
            imgui.text_colored(PALETTE.muted, f"Vᵀ turns by {-math.degrees(theta):.1f}°, U turns by "
                                              f"{math.degrees(phi):.1f}°" + (", flipping the second axis" if sign < 0 else ""))
        if model.mode == "two maps":
            BW, WB = model.products()
            self._mono(*_matrix_text("B", model.B))
            if not self._hiding("order"):
                self._mono(*_matrix_text("BW", BW), *_matrix_text("WB", WB))
                same = float(np.max(np.abs(BW - WB))) < 1e-9
                imgui.text_colored(PALETTE.good if same else PALETTE.bad,
                                   "the same map either way" if same else "the order matters here")
        if self.challenge.locked or self.challenge.choosing:
            return
        imgui.separator()
        imgui.text("Try a map")
        self._presets()
        if imgui.button("Play the map again"):
            self.transport.reset()

    def _presets(self) -> None:
        """The presets as buttons, as many to a row as fit."""
        right = imgui.get_cursor_screen_pos().x + imgui.get_content_region_avail().x
        for i, (name, (matrix, tip)) in enumerate(PRESETS.items()):
            width = imgui.calc_text_size(name).x + 2 * imgui.get_style().frame_padding.x
            if i and imgui.get_item_rect_max().x + imgui.get_style().item_spacing.x + width <= right:
                imgui.same_line()
            if imgui.button(name):
                for (row, col), value in np.ndenumerate(matrix):
                    self.context.set_param(f"w{row + 1}{col + 1}", float(value))
                self._framed.clear()  # frame the new map
            if imgui.is_item_hovered():
                imgui.set_tooltip(tip)

    def _low_rank_panel(self, model) -> None:
        sigma = model.svd()[1]
        imgui.text(f"σ₁ … σ₄ = {', '.join(f'{s:.2f}' for s in sigma[:4])}")
        imgui.text_colored(PALETTE.muted, f"the other {SIZE - 4} are between {sigma[-1]:.2g} and {sigma[4]:.2g}")
        k = model.shown_rank
        if not self._hiding("kept_share"):
            imgui.text_colored(KEPT, f"rank {k}: keeps {model.kept_share(k):.1%} of ‖A‖²_F; "
                                     f"error ‖A − A_k‖_F = {model.error_norm(k):.3g}")
            imgui.text_colored(PALETTE.muted, f"= √(σ²_{k + 1} + … + σ²_{SIZE}) = {math.sqrt(float(np.sum(sigma[k:] ** 2))):.3g}")
        imgui.separator()
        counts = model.lora()
        imgui.text("LoRA: ΔW = B A")
        imgui.text_colored(PALETTE.muted, f"d = {model.params['lora_d']:,}, r = {model.params['lora_r']}: "
                                          f"2dr = {counts['trained']:,} numbers instead of d² = {counts['full']:,} "
                                          f"({counts['full'] / counts['trained']:.3g}× fewer)")
        imgui.text_colored(PALETTE.muted, f"here, d = {SIZE} and r = k = {int(model.params['k'])}: "
                                          f"{counts['here']:,} of {counts['here_full']:,}")

    # -- the plot strip --------------------------------------------------------------------------
    def plots(self) -> None:
        model = self.shown
        if model.mode == "low rank":
            sigma = model.svd()[1]
            log = model.params["matrix"] != WEIGHT_UPDATE  # the picture's σ span decades; the update's top four read best on a linear axis
            limits = (sigma[-1] / 2.0, sigma[0] * 2.0) if log else (0.0, sigma[0] * 1.15)
            shown = [Plot("σᵢ: the top k kept", lambda run: self._sigma_plot(model), x_label="i", y_label="σ",
                          y_log=log, x_limits=(0.0, SIZE + 1.0), y_limits=limits, legend=False, priority=3.0,
                          min_width=PLOT_EMS)]
            if not self._hiding("kept_share"):
                shown += [Plot("share of ‖A‖²_F kept", lambda run: self._share_plot(model), x_label="k",
                               y_label="share", x_limits=(0.0, SIZE + 1.0), y_limits=(0.0, 1.08), legend=False,
                               priority=2.0, min_width=PLOT_EMS),
                          Plot("error ‖A − A_k‖_F", lambda run: self._error_plot(model), x_label="k",
                               y_label="error", y_log=True, legend_at="north_east", priority=1.0,
                               min_width=PLOT_EMS)]
            return plot_strip(self.context, shown)
        if model.mode == "two maps":
            if self._hiding("order"):
                return self._hidden_note("The two orders' plots would answer it: lock in your prediction to see them.")
            return plot_strip(self.context, [Plot("stretch |Mx| of each unit x", lambda run: self._two_maps_plot(model),
                                                  x_label="direction of x (°)", y_label="|Mx|", margin=True)])
        if self._hiding("kept_lines"):
            return self._hidden_note("What W does to each direction would answer it: lock in your prediction "
                                     "to see the plots.")
        _, _, s1, s2, _ = model.factors()
        room = 0.12 * max(s1 - s2, 0.2)
        shown = [Plot("stretch |Wx| of each unit x", lambda run: self._stretch_plot(model),
                      x_label="direction of x (°)", y_label="|Wx|", x_limits=(0.0, 180.0),
                      y_limits=(s2 - room, s1 + room), priority=2.0, min_width=PLOT_EMS)]
        if model.mode == "map":
            turn = finite(model.scan()["turn"])
            reach = float(np.clip(1.15 * np.nanmax(np.abs(turn), initial=0.0), 45.0, 190.0))
            shown.append(Plot("turn from x to Wx", lambda run: self._turn_plot(model), x_label="direction of x (°)",
                              y_label="turn (°)", x_limits=(0.0, 180.0), y_limits=(-reach, reach), priority=1.0,
                              min_width=PLOT_EMS))
        plot_strip(self.context, shown)

    @staticmethod
    def _hidden_note(words: str) -> None:
        imgui.spacing()
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(MUTED, words)
        imgui.pop_text_wrap_pos()

    def _stretch_plot(self, model) -> None:
        scan = model.scan()
        _, _, s1, s2, _ = model.factors()
        line("|Wx|", scan["degrees"], scan["stretch"], GRID.lighter(0.2), legend=False)
        hline(s1, SIGMAS[0], f"σ₁ = {s1:.3g}")
        hline(s2, SIGMAS[1], f"σ₂ = {s2:.3g}")
        if s1 - s2 > 1e-9 * max(s1, 1.0):  # equal σ's: every direction is a singular one, no v₁ to mark
            theta = math.degrees(model.factors()[0]) % 180.0
            vlines([theta, (theta + 90.0) % 180.0], ["v₁", "v₂"], PALETTE.muted.alpha(0.6))

    def _turn_plot(self, model) -> None:
        scan = model.scan()
        turn = np.array(scan["turn"])
        turn[1:][np.abs(np.diff(turn)) > 180.0] = np.nan  # the jump from +180° to −180° is no turn
        line("turn", scan["degrees"], finite(turn), LINES.lighter(0.2), legend=False)
        hline(0.0, PALETTE.muted.alpha(0.6), "")
        lines = model.lines()
        if lines:
            vlines([math.degrees(a) for a, _ in lines], [f"λ = {f:.3g}" for _, f in lines], LINES)

    def _two_maps_plot(self, model) -> None:
        BW, WB = model.products()
        for name, M, color in (("W, then B", BW, COLUMNS[0]), ("B, then W", WB, COLUMNS[1])):
            degrees = np.linspace(0.0, 180.0, 181)
            x = np.stack([np.cos(np.radians(degrees)), np.sin(np.radians(degrees))], 1)
            line(name, degrees, np.linalg.norm(x @ M.T, axis=1), color)

    def _sigma_plot(self, model) -> None:
        sigma = model.svd()[1]
        index = np.arange(1, SIZE + 1, dtype=np.float64)
        k = int(model.params["k"])
        floor = np.maximum(sigma, sigma[0] * 1e-6)  # a log axis cannot show an exact zero
        if k < SIZE:
            scatter("dropped", index[k:], floor[k:], DROPPED, size=3.0)
        scatter(f"kept (top {k})", index[:k], floor[:k], KEPT, size=4.5)
        em = imgui.get_font_size()
        for i in range(4):  # the top four's values, to reason from: beside each point, staggered
            implot.plot_text(f"{sigma[i]:.3g}", float(index[i]), float(floor[i]), imgui.ImVec2((1.2 + 1.6 * i) * em, 0.0))

    def _share_plot(self, model) -> None:
        sigma = model.svd()[1]
        share = np.cumsum(sigma ** 2) / np.sum(sigma ** 2)
        ks = np.arange(1, SIZE + 1, dtype=np.float64)
        line("(σ₁² + … + σ_k²) / Σσ²", ks, share, PALETTE.green, legend=False)
        k = model.shown_rank
        scatter("now", [float(k)], [model.kept_share(k)], KEPT, size=6.0, legend=False)
        vlines([float(k)], [f"{model.kept_share(k):.1%}"], KEPT)

    def _error_plot(self, model) -> None:
        sigma = model.svd()[1]
        tail = np.sqrt(np.maximum(np.cumsum((sigma ** 2)[::-1])[::-1], 0.0))  # √(σ²_k + ... + σ²_n) at index k-1
        ks = np.arange(0, SIZE, dtype=np.float64)
        line("√(σ²ₖ₊₁ + …)", ks[1:], tail[1:], PALETTE.green)
        built = np.arange(1, min(model.shown_rank, SIZE - 1) + 1)  # the ranks rebuilt so far, measured
        scatter("measured", built.astype(np.float64), [model.error_norm(int(k)) for k in built], KEPT, size=4.0)

