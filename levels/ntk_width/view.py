"""The Width Dial's view: the trained net beside its linearisation and kernel regression on the
left; the net's tangent kernel against the analytic one as heat maps on the right. The plots put
the weight change and the gaps against the step, and, once swept, against the width."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.camera import Camera2D
from sandbox.kit import PALETTE, Plot, hline, line, plot_strip
from sandbox.kit.plots import manifest_plot
from sandbox.view import View, side_by_side

from .model import CLOSE, reference_change

NET = PALETTE.sky
LIN = PALETTE.green
KERNEL = PALETTE.orange
TARGET = PALETTE.muted.alpha(0.55)
DATA = PALETTE.yellow
CURVE_BOX = (-1.15, 1.15, -1.8, 1.8)  # room above and below the curves for the captions
#: Heat maps: the net's kernel now and the analytic one side by side, their difference below.
MAP_SIZE = 1.0
MAP_GAP = 0.15
KERNEL_BOX = (-0.05, 2 * MAP_SIZE + MAP_GAP + 0.05, -MAP_SIZE - MAP_GAP - 0.1, MAP_SIZE + 0.75)
REFERENCE_WIDTH = 1024  # the narrow net of the "sixteen times wider" challenge
DIFFERENCE_GAIN = 10  # the difference map is drawn 10× stronger than the kernels


def ramp(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """A sequential colour ramp (dark blue → sky → yellow) for values between ``low`` and ``high``."""
    t = np.clip((np.asarray(values, float) - low) / max(high - low, 1e-12), 0.0, 1.0)[..., None]
    stops = np.array([PALETTE.shadow, PALETTE.blue, PALETTE.sky, PALETTE.yellow], dtype=np.float32)[:, :3]
    scaled = t * (len(stops) - 1)
    k = np.minimum(scaled.astype(int), len(stops) - 2)
    frac = scaled - k
    rgb = stops[k[..., 0]] * (1 - frac) + stops[k[..., 0] + 1] * frac
    return np.concatenate([rgb, np.ones_like(frac)], axis=-1)


def diverging(values: np.ndarray, limit: float) -> np.ndarray:
    """Blue below zero, vermillion above, dark at zero; ``limit`` is full colour."""
    t = np.clip(np.asarray(values, float) / max(limit, 1e-12), -1.0, 1.0)[..., None]
    dark = np.array(PALETTE.shadow, np.float32)[:3]
    cold, warm = np.array(PALETTE.blue, np.float32)[:3], np.array(PALETTE.vermillion, np.float32)[:3]
    rgb = dark + np.where(t < 0, -t * (cold - dark), t * (warm - dark))
    return np.concatenate([rgb, np.ones_like(t)], axis=-1)


class NtkWidthView(View):
    camera = "2d"
    # the scene answers to the camera alone (pan, zoom): the width is set by its slider
    controls = ()

    def __init__(self, context):
        super().__init__(context)
        self.kernel_cam = Camera2D(center=(1.0, 0.0), half_height=1.5)
        self.show_sweep = False

    def panes(self):
        return side_by_side(("curves", self.cam, 1.6), ("kernels", self.kernel_cam, 1.0))

    def on_reset(self) -> None:
        self.cam.fit(*CURVE_BOX, follow=True)
        self.kernel_cam.fit(*KERNEL_BOX, follow=True)

    @property
    def _run_hidden(self) -> bool:
        """While a prediction is being chosen, the sandbox's run could answer it: the setup only."""
        return self.challenge.choosing

    # -- the scene -------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        if frame.pane == "kernels":
            return self._kernel_scene(frame)
        model, paint, mvp, vp = self.model, self.painter, frame.mvp, frame.viewport
        axes = np.array([[-1.1, 0.0], [1.1, 0.0], [0.0, -1.35], [0.0, 1.35]])
        paint.lines(mvp, axes, PALETTE.grid, 1.0, vp, strip=False)
        xs = np.linspace(-1.0, 1.0, 200)
        paint.lines(mvp, np.stack([xs, model.target(xs)], 1), TARGET, 1.5, vp)
        if not self._run_hidden:
            grid = model.grid_x
            paint.lines(mvp, np.stack([grid, np.clip(model.kernel_curve, -5, 5)], 1), KERNEL, 5.0, vp)
            paint.lines(mvp, np.stack([grid, np.clip(model.lin_curve, -5, 5)], 1), LIN, 3.0, vp)
            paint.lines(mvp, np.stack([grid, np.clip(model.curve(), -5, 5)], 1), NET, 1.8, vp)
        paint.points(mvp, np.stack([model.data_x, model.data_y], 1), DATA, 12.0)

    def _heat_map(self, frame, name: str, values: np.ndarray, x0: float, y0: float, scale: float, colours) -> None:
        """A heat map as one texture (the kit's cells), row 0 (x = −1) at the top, placed at (x0, y0)
        lower-left; the texture is remade only when the values or the colour scale change."""
        self.cells(frame, name, hash((values.tobytes(), scale)), (x0, x0 + MAP_SIZE, y0, y0 + MAP_SIZE),
                   lambda: colours(values))

    def _kernel_scene(self, frame) -> None:
        maps = self.model.heatmaps()
        analytic = maps["analytic"]
        low, high = 0.0, float(analytic.max())
        shown = [("analytic", MAP_SIZE + MAP_GAP, analytic)]
        if not self._run_hidden:  # the sandbox net's kernel is not the one asked about
            shown.append(("empirical", 0.0, maps["empirical"]))
        for name, x0, values in shown:
            self._heat_map(frame, name, values, x0, 0.0, high, lambda v: ramp(v, low, high))
        if not self._run_hidden:
            difference = maps["empirical"] - analytic
            self._heat_map(frame, "difference", difference, 0.5 * (MAP_SIZE + MAP_GAP), -MAP_SIZE - MAP_GAP,
                           high, lambda v: diverging(v, high / DIFFERENCE_GAIN))

    def overlay(self, draw_list, frame) -> None:
        if frame.pane == "kernels":
            return self._kernel_overlay(draw_list, frame)
        model = self.model
        if self._run_hidden:
            lines = [("hidden while you predict", PALETTE.muted)]
            challenge = self.challenge.open
            if challenge is not None and challenge.id == "sixteen_times_wider":
                lines += [(f"measured at width {REFERENCE_WIDTH:,}:", PALETTE.accent),
                          (f"weights moved {self._reference(challenge):.2%}", PALETTE.accent)]
            frame.caption(draw_list, lines)
            return
        lines = [(f"n = {model.width:,}, step {model.steps_done}", PALETTE.text)]
        if not self.challenge.hide_answers:
            lines.append((f"weights moved {model.weight_change:.2%}", PALETTE.text))
            lines.append((f"ReLUs flipped {model.flipped:.2%}", PALETTE.text))
            # bottom right, where sin(ωx) is positive and the curves are not
            frame.caption(draw_list, [(f"max gap to linearisation {model.gap_lin:.3f}", LIN),
                                      (f"max gap to kernel {model.gap_kernel:.3f}", KERNEL)], corner="bottom-right")
        frame.caption(draw_list, lines)
        end = len(model.grid_x) - 1
        frame.labels(draw_list, [
            ((1.0, float(model.curve()[end])), "net", NET, 3),
            ((1.0, float(model.lin_curve[end])), "linearisation", LIN, 2),
            ((1.0, float(model.kernel_curve[end])), "kernel regression", KERNEL, 2),
            ((float(model.data_x[0]), float(model.data_y[0])), "data", DATA, 1),
        ])

    def _kernel_overlay(self, draw_list, frame) -> None:
        maps = self.model.heatmaps()
        lines = [("kernels Θ(x, x′)", PALETTE.muted)]
        if not self.challenge.hide_answers:
            error = np.linalg.norm(maps["empirical"] - maps["analytic"]) / np.linalg.norm(maps["analytic"])
            lines.append((f"net vs ∞: {error:.1%}", PALETTE.text))
        frame.caption(draw_list, lines)
        items = [((MAP_SIZE + MAP_GAP, MAP_SIZE), "n = ∞", KERNEL, 3, (0.0, -4.0))]
        if not self._run_hidden:
            items.append(((0.0, MAP_SIZE), "net", NET, 3, (0.0, -4.0)))
            items.append(((0.5 * (MAP_SIZE + MAP_GAP), -MAP_GAP), f"difference ×{DIFFERENCE_GAIN}", PALETTE.text, 2,
                          (0.0, -4.0)))
        frame.labels(draw_list, items, always=2)

    # -- panels ----------------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        imgui.separator()
        stability = model.stability()
        imgui.text_colored(PALETTE.good if stability < 2 else PALETTE.bad,
                           f"η·λ_max(Θ)/m = {stability:.2f}  ({'stable' if stability < 2 else 'unstable'} below 2)")
        imgui.begin_disabled(self.challenge.hide_answers)
        _, self.show_sweep = imgui.checkbox("Sweep the widths 64 to 16,384", self.show_sweep)
        imgui.end_disabled()
        if imgui.is_item_hovered():
            imgui.set_tooltip("Trains a fresh net at each width (same seed, same η, 300 steps; about a second) and "
                              "plots the weight change, the flips and the gaps against the width on log-log axes, "
                              "with the 1/√n slope. The slopes in the legend are fitted from 1,024 up.")

    def _reference(self, challenge) -> float:
        """The measurement the question builds on: width 1,024 under the challenge's settings."""
        params = self.context.manifest.resolve_params(challenge.set)
        return reference_change(type(self.model), params, REFERENCE_WIDTH, challenge.steps, challenge.seed,
                                self.model.backend)

    def plots(self) -> None:
        if self._run_hidden:
            plot_strip(self.context, [])
            return
        loss = replace(manifest_plot(self.context, "loss"), min_width=16.0, priority=0.0)
        plots: list = [replace(manifest_plot(self.context, "weights"), priority=1.0),
                       replace(manifest_plot(self.context, "gaps"), priority=2.0), loss]
        if self.show_sweep and not self.challenge.hide_answers:
            plots = ["gaps", Plot("300 steps at each width (log-log)", self._sweep_plot, x_label="width n", y_label="",
                                  x_log=True, y_log=True, weight=1.6)]
        plot_strip(self.context, plots)

    def _sweep_plot(self, run) -> None:
        sweep = self.model.width_sweep()
        widths = sweep["widths"]
        for name, label, color in (("weight_change", "moved", PALETTE.yellow), ("flipped", "flipped", PALETTE.purple),
                                   ("gap_lin", "lin", LIN), ("gap_kernel", "kernel", PALETTE.vermillion)):
            line(f"{label} {sweep['slopes'][name]:+.2f}", widths, sweep[name], color, marker=4.0)
        guide = sweep["weight_change"][2] * np.sqrt(widths[2] / widths)
        line("1/√n", widths, guide, PALETTE.text.alpha(0.5), weight=1.0)
        hline(CLOSE, PALETTE.muted.alpha(0.4), f"{CLOSE}")
