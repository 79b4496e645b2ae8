"""The Edge-of-Stability Canyon: the loss surface in 3-D with the ball and its path; in network
mode, the network's fit to its data. The plots put the sharpness against 2/η."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D, OrbitCamera
from sandbox.ui.widgets import BAD, GOOD, MUTED, decimate
from sandbox.view import View

BALL = (1.0, 0.55, 0.15, 1.0)
PATH = (1.0, 0.85, 0.35, 0.85)
EDGE = (1.0, 0.35, 0.35, 0.95)
FLOOR = (0.55, 0.8, 1.0, 0.7)
NETWORK_X_STRETCH = 2.5  # network mode draws the input axis wider: the data span [-1, 1] × [-3, 3]
HEIGHT_SCALE = 0.9  # world units per unit of log(1 + L − L_min)


class CanyonView(View):
    camera = "3d"
    math = [
        (r"L(x, y) = f(x) + \tfrac{1}{2}\, h(x)\, y^2", "the canyon: walls of curvature h(x) that steepen toward the floor"),
        (r"\theta_{t+1} = \theta_t - \eta\, \nabla L(\theta_t)", "gradient descent"),
        (r"\eta\, \lambda_{\max} < 2", "stable along the sharpest direction iff η times the sharpness is below 2"),
        (r"y_{t+1} = (1 - \eta\, h)\, y_t", "across the canyon: it flips and grows once ηh > 2"),
        (r"\partial_x L = f'(x) + \tfrac{1}{2}\, h'(x)\, y^2", "the bounce pushes the ball back to where h = 2/η"),
        (r"H v \approx \frac{\nabla L(\theta + \epsilon v) - \nabla L(\theta - \epsilon v)}{2\epsilon}",
         "network mode: the sharpness by power iteration on Hessian-vector products"),
    ]

    def __init__(self, host):
        super().__init__(host)
        self.plane_cam = Camera2D(center=(0.0, 0.0), half_height=4.0)
        self.orbit_cam = self.cam
        self._surface = None
        self._surface_key = None
        self._map = None
        self._z0 = 0.0

    def make_camera(self):
        return OrbitCamera(target=(2.0, 0.0, 1.5), distance=14.5, yaw=-2.2, pitch=0.62)

    # -- the canyon in 3-D -----------------------------------------------------------------------
    def height(self, loss):
        """Display height: log(1 + L − L_min), so the plateau and the steep walls both read."""
        with np.errstate(all="ignore"):
            return HEIGHT_SCALE * np.log1p(np.maximum(np.asarray(loss, np.float64) - self._z0, 0.0))

    def _ensure_surface(self) -> None:
        model = self.model
        key = (model.params["depth"], model.params["start_x"], model.params["start_y"], model.backend)
        if key == self._surface_key:
            return
        if self._surface is not None:
            self._surface.release()
        xs, ys, loss, _, _ = model.surface(160, 72)
        self._z0 = float(np.min(loss))
        value = np.clip(np.log1p(loss - self._z0) / max(np.log1p(np.max(loss) - self._z0), 1e-9), 0, 1)
        self._surface = self.painter.surface(xs, ys, self.height(loss), value)
        self._surface_key = key
        x_min, x_max, _, _ = model.bounds()
        self.orbit_cam.home = ((0.5 * (x_min + x_max), 0.0, 1.5), 14.5, -2.2, 0.62)

    def on_reset(self) -> None:
        canyon = self.model.mode == "canyon"
        self.cam = self.orbit_cam if canyon else self.plane_cam
        if not canyon:
            self.plane_cam.center[:] = (0.0, 0.0)

    def scene(self, frame) -> None:
        if self.model.mode == "network":
            self._network_scene(frame)
            return
        self._ensure_surface()
        model = self.model
        self._surface.draw(frame.mvp, frame.camera.eye, bands=14.0, grid_step=1.0)
        x_min, x_max, y_min, y_max = model.bounds()
        centre = np.linspace(x_min, x_max, 200)
        floor = np.stack([centre, np.zeros_like(centre), self.height(model.canyon.fields(centre, 0.0)[0]) + 0.02], 1)
        self.painter.lines(frame.mvp, floor, FLOOR, 1.5, frame.viewport)
        edge = model.edge_x()
        if math.isfinite(edge) and x_min < edge < x_max:
            ys = np.linspace(y_min, y_max, 60)
            loss = model.canyon.fields(np.full_like(ys, edge), ys)[0]
            self.painter.lines(frame.mvp, np.stack([np.full_like(ys, edge), ys, self.height(loss) + 0.03], 1),
                               EDGE, 2.5, frame.viewport)
        path = model.trajectory()
        inside = (np.abs(path[:, 0] - 0.5 * (x_min + x_max)) < (x_max - x_min)) & (np.abs(path[:, 1]) < 2 * y_max)
        path = path[np.all(np.isfinite(path), axis=1) & inside]  # a diverging ball leaves the picture
        if len(path):
            points = np.stack([path[:, 0], path[:, 1], self.height(path[:, 2]) + 0.05], 1)
            recent = points[-160:]
            fade = np.linspace(0.15, 1.0, len(recent))[:, None] * np.array(PATH)
            self.painter.lines(frame.mvp, recent, fade.astype(np.float32), 2.0, frame.viewport)
            self.ctx.disable(self.ctx.DEPTH_TEST)  # the ball stays visible inside the narrow canyon
            self.painter.points(frame.mvp, points[-1:] + [0, 0, 0.08], BALL, 18.0)
            self.ctx.enable(self.ctx.DEPTH_TEST)

    def overlay(self, draw_list, origin, frame) -> None:
        if self.model.mode != "canyon":
            return
        model = self.model
        edge = model.edge_x()
        _, _, _, y_max = model.bounds()
        if math.isfinite(edge):
            loss = float(model.canyon.fields(edge, y_max)[0])
            frame.label(draw_list, (edge, y_max, float(self.height(loss)) + 0.3), "h = 2/η", EDGE, (6.0, -8.0))
        floor = model.canyon.floor_x
        frame.label(draw_list, (floor, 0.0, float(self.height(model.canyon.fields(floor, 0.0)[0])) + 0.4),
                    f"floor: h = {model.params['depth']:g}", FLOOR, (6.0, -8.0))

    # -- network mode: the fit -------------------------------------------------------------------
    def _network_scene(self, frame) -> None:
        model = self.model
        stretch = NETWORK_X_STRETCH
        xs = np.linspace(-1.2, 1.2, 240)
        axes = np.array([[-1.3, 0], [1.3, 0], [0, -3.6], [0, 3.6]]) * [stretch, 1]
        self.painter.lines(frame.mvp, axes, (0.4, 0.45, 0.5, 0.8), 1.0, frame.viewport, strip=False)
        self.painter.lines(frame.mvp, np.stack([xs * stretch, model.target(xs)], 1), (0.5, 0.6, 0.75, 0.6), 1.5,
                           frame.viewport)
        prediction = model.prediction(xs)
        if np.all(np.isfinite(prediction)):
            self.painter.lines(frame.mvp, np.stack([xs * stretch, np.clip(prediction, -50, 50)], 1), PATH, 3.0,
                               frame.viewport)
        data = np.concatenate([model.data_x * stretch, model.data_y], axis=1)
        self.painter.points(frame.mvp, data, (0.55, 0.8, 1.0, 1.0), 10.0)

    # -- panels ----------------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        latest = self.run.latest()
        eta_lambda = latest["eta_sharpness"]
        imgui.separator()
        self.formulas.draw(r"\eta\,\lambda_{\max} < 2", 20.0)
        stable = math.isfinite(eta_lambda) and eta_lambda < 2.0
        imgui.text_colored(GOOD if stable else BAD,
                           f"now: η·λ = {eta_lambda:.3f}  ({'stable' if stable else 'at or past the edge'})")
        if model.mode == "canyon":
            edge, canyon = 2 / model.lr, model.canyon
            if edge < canyon.plateau:
                verdict = f"even the plateau ({canyon.plateau:g}) is sharper: nowhere is stable"
            elif edge < canyon.depth:
                verdict = "the ball can reach the edge"
            else:
                verdict = "the canyon is too shallow to reach 2/η"
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(MUTED, f"2/η = {edge:.4g}; plateau {canyon.plateau:g}, floor {canyon.depth:g}: {verdict}")
            imgui.pop_text_wrap_pos()
            if imgui.button("Stability map: sweep η"):
                self._map = model.stability_map()
            if imgui.is_item_hovered():
                imgui.set_tooltip("Runs gradient descent from this start for 64 learning rates at once "
                                  f"on the {model.backend} backend and plots where each ends.")
        else:
            imgui.text_colored(MUTED, "The curve is the network; dots are its training data.")

    def plots(self) -> None:
        run = self.run
        steps = np.arange(run.steps + 1, dtype=np.float64)
        columns = 3 if self._map is not None and self.model.mode == "canyon" else 2
        if not implot.begin_subplots("##eos", 1, columns, imgui.ImVec2(-1, -1)):
            return
        if implot.begin_plot("sharpness against 2/η"):
            implot.setup_axes("step", "λ", implot.AxisFlags_.auto_fit.value, implot.AxisFlags_.auto_fit.value)
            implot.plot_line("sharpness λ", *decimate(steps, run.series("sharpness")))
            implot.plot_line("2/η", *decimate(steps, run.series("two_over_lr")))
            implot.end_plot()
        if implot.begin_plot("loss"):
            implot.setup_axes("step", "L", implot.AxisFlags_.auto_fit.value, implot.AxisFlags_.auto_fit.value)
            implot.setup_axis_scale(implot.ImAxis_.y1.value, implot.Scale_.log10.value)
            implot.plot_line("loss", *decimate(steps, run.series("loss")))
            implot.end_plot()
        if columns == 3 and implot.begin_plot("stability map"):
            data = self._map
            implot.setup_axes("η", "late λ", implot.AxisFlags_.auto_fit.value, implot.AxisFlags_.auto_fit.value)
            implot.setup_axis_scale(implot.ImAxis_.x1.value, implot.Scale_.log10.value)
            etas = data["etas"]
            implot.plot_line("2/η", etas, 2.0 / etas)
            ok = ~data["diverged"]
            implot.plot_scatter("late sharpness", etas[ok], data["sharpness"][ok])
            if (~ok).any():
                implot.plot_inf_lines("first divergence", np.array([etas[~ok].min()]))
            implot.end_plot()
        implot.end_subplots()
