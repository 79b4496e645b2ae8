"""The Edge-of-Stability Canyon: the loss surface in 3-D with the ball and its path, and, once
swept, the stability map beside it; in network mode, the network's fit to its data. The plots
put the sharpness against 2/η."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.camera import Camera2D, OrbitCamera
from sandbox.kit import PALETTE, Plot, finite_rows, hline, line, plot_strip, scatter, vlines
from sandbox.view import Pane, View

from .kernels import Canyon
from .model import MAP_STEPS

BALL = PALETTE.orange
PATH = PALETTE.yellow.alpha(0.85)
EDGE = PALETTE.vermillion
FLOOR = PALETTE.sky.alpha(0.7)
DATA = PALETTE.sky
TRAIL = 160  # recent positions drawn: the bounce reads, the long approach does not clutter
NETWORK_X_STRETCH = 2.5  # network mode draws the input axis wider: the data span [-1, 1] × [-3, 3]
HEIGHT_SCALE = 0.9  # world units per unit of log(1 + L − L_min)
HOME = ((2.0, 0.0, 1.5), 14.5, -2.2, 0.62)


class CanyonView(View):
    camera = "3d"
    # the scene answers to the camera alone (orbit, pan, zoom): the ball is moved by η, not by hand
    controls = ()

    def __init__(self, context):
        super().__init__(context)
        self.plane_cam = Camera2D(center=(0.0, 0.0), half_height=4.0)
        self.show_map = False

    def make_camera(self):
        return OrbitCamera(*HOME)

    def panes(self):
        if self.model.mode == "network":
            return [Pane("fit", self.plane_cam)]
        return [Pane("canyon", self.cam)]

    def on_reset(self) -> None:
        x_min, x_max, _, _ = self.model.bounds()
        self.cam.home = ((0.5 * (x_min + x_max), 0.0, 1.5), *HOME[1:])
        self.plane_cam.center[:] = (0.0, 0.0)

    def height(self, loss) -> np.ndarray:
        """Display height: log(1 + L − L_min), so the plateau and the steep walls both read."""
        z0 = self.model.surface(160, 72)[2].min()
        with np.errstate(all="ignore"):
            return HEIGHT_SCALE * np.log1p(np.maximum(np.asarray(loss, np.float64) - z0, 0.0))

    def _lifted(self, points: np.ndarray, lift: float) -> np.ndarray:
        """(x, y, loss) rows as scene points, ``lift`` above the surface."""
        return np.stack([points[:, 0], points[:, 1], self.height(points[:, 2]) + lift], 1)

    def _mesh(self, grid):
        xs, ys, loss, _, _ = grid
        z = loss - loss.min()
        return self.painter.surface(xs, ys, self.height(loss), np.clip(np.log1p(z) / max(np.log1p(z.max()), 1e-9), 0, 1))

    # -- the scene -------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        if frame.pane == "fit":
            return self._fit_scene(frame)
        model, paint, mvp, vp = self.model, self.painter, frame.mvp, frame.viewport
        grid = model.surface(160, 72)
        self.cache.get("surface", grid, lambda: self._mesh(grid)).draw(mvp, frame.camera.eye, bands=14.0,
                                                                          grid_step=1.0)
        paint.lines(mvp, self._lifted(model.floor_line(), 0.02), FLOOR, 1.5, vp)
        edge = model.edge_line()
        if edge is not None and not self.challenge.hide_answers:
            paint.lines(mvp, self._lifted(edge, 0.03), EDGE, 2.5, vp)
        x_min, x_max, _, y_max = model.bounds()
        xs, ys = self.run.series("x")[-TRAIL:], self.run.series("y")[-TRAIL:]
        if self._run_hidden:  # where the sandbox's ball has got to would answer the question: its start only
            xs, ys = self._start()[:1, 0], self._start()[:1, 1]
        inside = (np.abs(xs - 0.5 * (x_min + x_max)) < x_max - x_min) & (np.abs(ys) < 2 * y_max)
        path = finite_rows(np.stack([xs, ys], 1)[inside])  # a diverging ball leaves the picture
        if len(path):
            points = self._lifted(np.column_stack([path, model.loss_at(path[:, 0], path[:, 1])]), 0.05)
            fade = np.linspace(0.15, 1.0, len(points))[:, None] * np.array(PATH)
            paint.lines(mvp, points, fade.astype(np.float32), 2.0, vp)
            self.gl.disable(self.gl.DEPTH_TEST)  # the ball stays visible inside the narrow canyon
            paint.points(mvp, points[-1:] + [0, 0, 0.08], BALL, 18.0)
            self.gl.enable(self.gl.DEPTH_TEST)

    @property
    def _run_hidden(self) -> bool:
        """While a prediction is being chosen, the sandbox's run (the ball hovering at 2/η, its
        sharpness, its bounce) would answer the question: the level shows the setup, not the run."""
        return self.challenge.choosing

    def _start(self) -> np.ndarray:
        """The ball's start as a (1, 3) row of (x, y, loss)."""
        x, y = float(self.model.params["start_x"]), float(self.model.params["start_y"])
        return np.array([[x, y, float(self.model.loss_at(x, y))]])

    def _hidden_caption(self, draw_list, frame) -> None:
        frame.caption(draw_list, [("the run is hidden while you predict: lock in to watch it", PALETTE.muted)])

    def overlay(self, draw_list, frame) -> None:
        if frame.pane != "canyon":
            if self._run_hidden:
                return self._hidden_caption(draw_list, frame)
            return frame.caption(draw_list, [("the curve is the network; dots are its training data", PALETTE.muted)])
        model = self.model
        if self._run_hidden:
            self._hidden_caption(draw_list, frame)
            frame.label(draw_list, self._lifted(self._start(), 0.3)[0], "start", BALL, (10.0, -10.0))
        edge = model.edge_line()
        if edge is not None and not self.challenge.hide_answers:
            top = edge[-1]
            frame.label(draw_list, (top[0], top[1], float(self.height(top[2])) + 0.3), "h = 2/η", EDGE, (6.0, -8.0))
        floor = model.canyon.floor_x
        frame.label(draw_list, (floor, 0.0, float(self.height(model.loss_at(floor, 0.0))) + 0.4),
                    f"floor: h = {model.params['depth']:g}", FLOOR, (6.0, -8.0))

    def _fit_scene(self, frame) -> None:
        model, paint, mvp, vp = self.model, self.painter, frame.mvp, frame.viewport
        xs = np.linspace(-1.2, 1.2, 240)
        axes = np.array([[-1.3, 0], [1.3, 0], [0, -3.6], [0, 3.6]]) * [NETWORK_X_STRETCH, 1]
        paint.lines(mvp, axes, PALETTE.grid, 1.0, vp, strip=False)
        paint.lines(mvp, np.stack([xs * NETWORK_X_STRETCH, model.target(xs)], 1), PALETTE.muted.alpha(0.6), 1.5, vp)
        fit = finite_rows(np.stack([xs * NETWORK_X_STRETCH, np.clip(model.prediction(xs), -50, 50)], 1))
        if len(fit) == len(xs) and not self._run_hidden:
            paint.lines(mvp, fit, PATH, 3.0, vp)
        paint.points(mvp, np.concatenate([model.data_x * NETWORK_X_STRETCH, model.data_y], axis=1), DATA, 10.0)

    # -- panels ----------------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        imgui.separator()
        self.formulas.draw(r"\eta\,\lambda_{\max} < 2", 20.0)
        eta_lambda = self.run.latest()["eta_sharpness"]
        stable = math.isfinite(eta_lambda) and eta_lambda < 2.0
        if "eta_sharpness" not in self.challenge.hidden():
            imgui.text_colored(PALETTE.good if stable else PALETTE.bad,
                               f"now: η·λ = {eta_lambda:.3f}  ({'stable' if stable else 'at or past the edge'})")
        if model.mode != "canyon":
            return
        if not self.challenge.hide_answers:
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(PALETTE.muted, f"2/η = {2 / model.lr:.4g}; plateau {model.canyon.plateau:g}, "
                                              f"floor {model.canyon.depth:g}: {model.edge_verdict()}")
            imgui.pop_text_wrap_pos()
        imgui.begin_disabled(self.challenge.hide_answers)
        _, self.show_map = imgui.checkbox("Stability map: sweep η", self.show_map)
        imgui.end_disabled()
        if imgui.is_item_hovered():
            imgui.set_tooltip(f"Runs gradient descent from this start for 64 learning rates at once, {MAP_STEPS:,} "
                              f"steps each, on the {model.backend} backend, and plots where each ends: settled on "
                              "the floor, bouncing, still descending, or diverged.")

    def plots(self) -> None:
        challenge = self.challenge
        if self._run_hidden:  # the setup, not the run: the canyon the open challenge asks about
            canyon = self._challenge_canyon()
            plot_strip(self.context, [] if canyon is None else [
                Plot("the canyon asked about: h(x)", lambda run: self._curvature_plot(canyon),
                     x_label="x, along the canyon", y_label="h", margin=True)])
            return
        measured_by_map = challenge.revealed and challenge.open is not None and challenge.open.measure == "largest_stable_lr"
        mapped = self.model.mode == "canyon" and (
            (self.show_map and not challenge.hide_answers) or measured_by_map)  # the sweep that measured the verdict
        top = 1.5 * max(self.model.canyon.depth, 2.0 / self.context.manifest.params["lr"].max)
        stability_map = Plot(f"stability map ({MAP_STEPS:,} steps)", self._map_plot, x_label="η",
                             y_label="late λ", x_log=True, y_limits=(0.0, top), weight=1.6)
        # the map takes the loss plot's place: three plots side by side leave none of them room at 960 wide
        plot_strip(self.context, ["sharpness", stability_map] if mapped else ["sharpness", "loss"])

    def _challenge_canyon(self) -> Canyon | None:
        """The canyon of the open challenge's run (None for a network challenge)."""
        challenge = self.challenge.open
        if challenge is None:
            return None
        params = self.context.manifest.resolve_params(challenge.set)
        return Canyon(depth=float(params["depth"])) if params["mode"] == "canyon" else None

    def _curvature_plot(self, canyon: Canyon) -> None:
        """h(x) from behind the start to past the floor's minimum: the plateau, the narrowing canyon
        and the floor, the numbers a prediction is reasoned from."""
        xs = np.linspace(-4.0, canyon.floor_x + 1.0, 200)
        ahead = xs <= canyon.floor_x
        line("h(x)", xs[ahead], canyon.wall_curvature(xs[ahead]), FLOOR)
        hline(canyon.plateau, PALETTE.muted.alpha(0.6), f"plateau {canyon.plateau:g}")
        hline(canyon.depth, FLOOR.alpha(0.6), f"floor {canyon.depth:g}")

    def _map_plot(self, run) -> None:
        data = self.model.stability_map()
        etas = data["etas"]
        line("2/η", etas, 2.0 / etas, EDGE)
        hline(self.model.canyon.depth, FLOOR.alpha(0.6), "floor")
        for key, label, color in (("settled", "settled", FLOOR), ("bouncing", "bouncing", BALL),
                                  ("descending", "descending", PALETTE.muted)):
            if data[key].any():
                scatter(label, etas[data[key]], data["sharpness"][data[key]], color)
        if data["diverged"].any():
            vlines([etas[data["diverged"]].min()], ["diverges"], PALETTE.bad)
