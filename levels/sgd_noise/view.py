"""Gradient Noise: one 2-D picture per lesson.

* batch noise: gradient space. Each example's gradient (grey), the latest mini-batch gradients
  (orange cloud), the full gradient (blue arrow) and the mean of the batches (yellow), with the
  theory's 2σ ellipse; the plot puts the measured noise against |B| beside both laws;
* sharp or flat: the full loss as a heat map, the ridge between its two basins, every run a dot;
* step sizes: the regression's parameters (w, b), the loss's level sets, the runs of the three
  schedules, and their distance to θ* against t;
* Adam: the same plane, Adam's path and SGD's from one start, and Adam's moments.

While a prediction is being chosen the scene shows the question's setting without its run.
"""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui

from sandbox.kit import (
    PALETTE,
    Plot,
    first_fit,
    hline,
    line,
    plot_strip,
    scatter,
    titled,
    vlines,
)
from sandbox.view import View

from .kernels import descend
from .model import (
    BATCHES,
    FLAT_MIN,
    HESSIAN,
    MODES,
    OPTIMUM,
    SADDLE_X,
    SCHEDULES,
    SHARP_MIN,
    SHARPNESS,
    THETA0,
    N,
    batch_variance,
    example_gradients,
    flat_share_sweep,
    full_loss,
    population_variance,
    schedule,
)

CLOUD, FULL, MEAN, EXAMPLE = PALETTE.orange, PALETTE.sky, PALETTE.yellow, PALETTE.muted
SCHEDULE_COLORS = {"constant": PALETTE.orange, "1/t": PALETTE.green, "1/t²": PALETTE.purple}
ADAM, SGD = PALETTE.orange, PALETTE.sky
SWEEP_LRS = (0.01, 0.1, 0.3)
SWEEP_STEPS = 600
SWEEP_RUNS = 128
#: The home view of each plane (x0, x1, y0, y1): the start θ₀ = (−1, 1.5) clear of the captions above it.
HOME = {"sharp or flat": (-2.0, 2.4, -1.4, 1.4), "step sizes": (-1.6, 2.4, -1.3, 2.7), "Adam": (-1.6, 2.4, -1.3, 2.7)}


def ellipse(center, cov, radius: float = 2.0, points: int = 96) -> np.ndarray:
    """The level set ``radius`` standard deviations out of a 2-D covariance, as a closed polyline."""
    vals, vecs = np.linalg.eigh(np.asarray(cov, np.float64))
    t = np.linspace(0.0, 2 * math.pi, points)
    circle = np.stack([np.cos(t), np.sin(t)], 1) * np.sqrt(np.maximum(vals, 0.0)) * radius
    return np.asarray(center) + circle @ vecs.T


def level_sets(levels=(0.05, 0.2, 0.5, 1.0, 2.0)) -> list[np.ndarray]:
    """The regression loss's level sets L − L* = c: ellipses around θ*."""
    inv = np.linalg.inv(HESSIAN)
    return [ellipse(OPTIMUM, 2 * c * inv, 1.0) for c in levels]


def heat(xs, ys) -> np.ndarray:
    """The sharp-or-flat loss on the grid of cells between ``xs`` and ``ys``: (rows, cols, 4) RGBA,
    row 0 at the top (the kit's grid of cells)."""
    cx, cy = 0.5 * (xs[1:] + xs[:-1]), 0.5 * (ys[1:] + ys[:-1])
    X, Y = np.meshgrid(cx, cy[::-1])  # the top row first
    loss = full_loss(np.stack([X, Y], -1))
    v = np.log1p(loss - loss.min())
    v = 1.0 - v / max(v.max(), 1e-12)  # 1 at the bottom of a well
    low, high = np.array(PALETTE.plate, np.float64), np.array(PALETTE.sky, np.float64)
    colors = low + (high - low) * (v[..., None] ** 1.6) * np.array([0.9, 0.9, 0.9, 0.0])
    colors[..., 3] = 1.0
    return colors.astype(np.float32)


class SgdNoiseView(View):
    camera = "2d"
    controls = ()  # the scene answers to the camera alone: the sliders drive the runs

    def __init__(self, context):
        super().__init__(context)
        self._sweep = None  # (key, shares) of the last sweep of |B| and η

    # -- which lesson is on screen ---------------------------------------------------------------
    @property
    def lesson(self) -> str:
        """The lesson drawn: the open challenge's while a prediction is chosen, else the run's."""
        if self.challenge.choosing and self.challenge.open is not None:
            return self.context.manifest.resolve_params(self.challenge.open.set)["lesson"]
        return self.run.model.params["lesson"]

    @property
    def hidden_run(self) -> bool:
        """While a prediction is chosen, the run would answer it: the scene shows the setting only."""
        return self.challenge.choosing

    def on_reset(self) -> None:
        self._fit()

    def _fit(self) -> None:
        lesson = self.lesson
        if lesson == "batch noise":
            g = example_gradients(THETA0)
            lo, hi = np.percentile(g, 2, axis=0), np.percentile(g, 98, axis=0)
            lo, hi = np.minimum(lo, 0.0), np.maximum(hi, 0.0)
            pad = 0.1 * (hi - lo)
            self.cam.fit(lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])
        else:
            self.cam.fit(*HOME[lesson])
        self._fitted = lesson

    # -- the scene -------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        if getattr(self, "_fitted", None) != self.lesson:
            self._fit()
        self.gl.disable(self.gl.DEPTH_TEST)
        {"batch noise": self._noise_scene, "sharp or flat": self._basin_scene, "step sizes": self._schedule_scene,
         "Adam": self._adam_scene}[self.lesson](frame)

    def _axes(self, frame, box) -> None:
        x0, x1, y0, y1 = box
        self.lines(frame, [[(x0, 0.0), (x1, 0.0)], [(0.0, y0), (0.0, y1)]], PALETTE.grid, 1.0)

    def _noise_scene(self, frame) -> None:
        g = example_gradients(THETA0)
        self._axes(frame, (g[:, 0].min() - 5, g[:, 0].max() + 5, g[:, 1].min() - 5, g[:, 1].max() + 5))
        self.dots(frame, g, EXAMPLE.alpha(0.8), 6.0, rim=2.0)
        full = g.mean(0)
        if not self.hidden_run:
            model = self.run.model
            self.painter.points(frame.mvp, model.cloud, CLOUD.alpha(0.55), 5.0)
            cov = np.cov(g.T, bias=True) * float(batch_variance(1.0, model.params["batch"], model.mode == MODES[0]))
            self.lines(frame, ellipse(full, cov), FULL.alpha(0.9), 2.0, strip=True)
            mean = full + model.measured_bias(model.mode, int(model.params["batch"]))
            self.dots(frame, mean[None], MEAN, 10.0)
        self.lines(frame, [[(0.0, 0.0), tuple(full)]], FULL, 3.0)
        self.dots(frame, full[None], FULL, 14.0)

    def _basin_scene(self, frame) -> None:
        xs, ys = np.linspace(-2.6, 3.0, 113), np.linspace(-1.8, 1.8, 73)
        self.cells(frame, "loss", 0, (xs[0], xs[-1], ys[0], ys[-1]), lambda: heat(xs, ys))  # made once
        self.lines(frame, [[(SADDLE_X, -1.8), (SADDLE_X, 1.8)]], PALETTE.white.alpha(0.5), 1.5)
        if not self.hidden_run:
            self.dots(frame, self.run.model.positions, CLOUD, 6.0, rim=2.0)
        self.dots(frame, np.array([SHARP_MIN, FLAT_MIN]), PALETTE.white, 8.0)

    def _schedule_scene(self, frame) -> None:
        for curve in level_sets():
            self.lines(frame, curve, PALETTE.grid, 1.0, strip=True)
        if not self.hidden_run:
            for name, theta in self.run.model.runs.items():
                self.dots(frame, theta, SCHEDULE_COLORS[name], 6.0, rim=2.0)
        self.dots(frame, np.array([THETA0, OPTIMUM]), PALETTE.white, 9.0)

    def _adam_scene(self, frame) -> None:
        for curve in level_sets():
            self.lines(frame, curve, PALETTE.grid, 1.0, strip=True)
        if not self.hidden_run:
            model = self.run.model
            for name, color in (("sgd", SGD), ("adam", ADAM)):
                path = np.array(model.paths[name])
                path = path[np.all(np.abs(path) < 1e3, axis=1)]
                if len(path) > 1:
                    self.lines(frame, path, color.alpha(0.85), 2.5, strip=True)
                if len(path):
                    self.dots(frame, path[-1:], color, 11.0)
        self.dots(frame, np.array([THETA0, OPTIMUM]), PALETTE.white, 9.0)

    # -- text over the scene ---------------------------------------------------------------------
    def overlay(self, draw_list, frame) -> None:
        lesson = self.lesson
        lines = self._caption(lesson, self.challenge.hidden())
        if self.hidden_run:
            lines.append((["predict first: the run starts when you lock in", "predict, then lock in"], PALETTE.accent))
        room = frame.size[0] - 24.0  # each line: the longest wording that fits the pane
        frame.caption(draw_list, [(first_fit(options, room), color) for options, color in lines])
        frame.labels(draw_list, self._labels(lesson))

    def _caption(self, lesson: str, hidden) -> list:
        """The caption's lines, each as (wordings longest first, colour)."""
        model, p = self.run.model, self.run.model.params
        if self.hidden_run:
            p = self.context.manifest.resolve_params(self.challenge.open.set)
        if lesson == "batch noise":
            b = int(p["batch"])
            mode = "with replacement" if p["replacement"] else "without replacement"
            out = [([f"each orange dot: one mini-batch gradient, |B| = {b} of N = {N}, {mode}",
                     f"orange: mini-batch gradients, |B| = {b}, {mode}", f"|B| = {b}, {mode}", f"|B| = {b}"], PALETTE.text)]
            if not self.hidden_run and not hidden & {"noise_std", "theory_std"}:
                latest = self.run.latest()
                sigma = math.sqrt(population_variance(example_gradients(THETA0)))
                measured, theory = f"{latest['noise_std']:.3f}", f"{latest['theory_std']:.3f}"
                out.append(([f"noise std: measured {measured}, theory {theory}  (σ = {sigma:.3f})",
                             f"noise std: measured {measured}, theory {theory}", f"std {measured} (theory {theory})"],
                            CLOUD))
            return out
        if lesson == "sharp or flat":
            out = [([f"{p['runs']} runs from the sharp minimum · |B| = {p['batch']} · η = {p['lr']:.3g}",
                     f"{p['runs']} runs · |B| = {p['batch']} · η = {p['lr']:.3g}", f"|B| = {p['batch']} · η = {p['lr']:.3g}"],
                    PALETTE.text)]
            if not self.hidden_run and "flat_share" not in hidden:
                share = f"{100 * self.run.latest()['flat_share']:.0f}%"
                out.append(([f"in the flat basin now: {share}", f"flat: {share}"], PALETTE.green))
            return out
        if lesson == "step sizes":
            out = [([f"48 runs per schedule · |B| = {p['batch']} · η₀ = {p['lr']:.3g}",
                     f"|B| = {p['batch']} · η₀ = {p['lr']:.3g}"], PALETTE.text)]
            if not self.hidden_run:
                t = model.iteration
                rates = [f"{float(schedule(name, p['lr'], t)):.2g}" for name in SCHEDULES]
                out.append((["  ·  ".join(f"{name}: η_t = {r}" for name, r in zip(SCHEDULES, rates)) + f"   (t = {t:,})",
                             "  ·  ".join(f"{name}: η_t = {r}" for name, r in zip(SCHEDULES, rates)),
                             "η_t: " + " · ".join(rates)], PALETTE.muted))
            return out
        out = [([f"Adam (orange) and SGD (blue), η = {p['lr']:.3g}, loss × {p['grad_scale']:.3g}",
                 f"Adam (orange), SGD (blue), loss × {p['grad_scale']:.3g}", f"loss × {p['grad_scale']:.3g}"],
                PALETTE.text)]
        if not self.hidden_run and model.iteration > 0:
            m_hat, v_hat = model.moments
            m, v = f"({m_hat[0]:.3g}, {m_hat[1]:.3g})", f"({math.sqrt(v_hat[0]):.3g}, {math.sqrt(v_hat[1]):.3g})"
            out.append(([f"corrected moments: m = {m}   √v = {v}", f"m = {m}   √v = {v}", f"m = {m}"], PALETTE.muted))
            if not hidden & {"adam_first", "sgd_first"}:
                adam, sgd = f"{model.first['adam']:.4f}", f"{model.first['sgd']:.3g}"
                out.append(([f"first step ÷ η:  Adam {adam}   SGD {sgd}", f"first step ÷ η: Adam {adam}, SGD {sgd}",
                             f"Adam {adam}, SGD {sgd}"], ADAM))
            if model.sgd_blown:
                out.append((["SGD flew off (its loss passed 10¹²) and stopped", "SGD flew off"], PALETTE.bad))
        return out

    def _labels(self, lesson: str) -> list:
        if lesson == "batch noise":
            g = example_gradients(THETA0)
            far = g[np.argmax(((g - g.mean(0)) ** 2).sum(1))]
            items = [(g.mean(0), "full gradient ∇L", FULL, 3), (far, "one example's ∇ℓᵢ", EXAMPLE, 1),
                     ((0.0, 0.0), "0", PALETTE.muted, 0)]
            return items
        if lesson == "sharp or flat":
            return [(SHARP_MIN, f"sharp minimum, λ ≈ {SHARPNESS['sharp']:.1f}", PALETTE.text, 3),
                    (FLAT_MIN, f"flat minimum, λ ≈ {SHARPNESS['flat']:.1f}", PALETTE.text, 3),
                    ((SADDLE_X, -1.2), "ridge", PALETTE.muted, 1)]
        return [(THETA0, "start", PALETTE.text, 3), (OPTIMUM, "θ* (least loss)", PALETTE.text, 3)]

    # -- panel -----------------------------------------------------------------------------------
    def panel(self) -> None:
        imgui.separator()
        lesson = self.run.model.params["lesson"]
        tex, words = {
            "batch noise": (r"\mathbb{E}\|g_B-\nabla L\|^2=\frac{\sigma^2}{|B|}\cdot\frac{N-|B|}{N-1}",
                            "Move |B|: the cloud shrinks like 1/√|B|, and to a point at |B| = N without replacement."),
            "sharp or flat": (r"\theta \leftarrow \theta - \eta\, g_B",
                              ("Small |B| with a large η shakes runs out of the sharp well; a small η or a large |B| "
                              "does not. A tendency, not a law.")),
            "step sizes": (r"\sum_t \eta_t=\infty,\quad \sum_t \eta_t^2<\infty",
                           "Constant: hovers at a noise floor. 1/t: converges. 1/t²: stalls before arriving."),
            "Adam": (r"\Delta\theta_1=-\eta\,\frac{g_1}{|g_1|+\epsilon}",
                     "Move the loss scale: SGD's step follows it, Adam's first step stays η."),
        }[lesson]
        self.formulas.draw(tex, 20.0)
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(PALETTE.muted, words)
        imgui.pop_text_wrap_pos()
        if lesson == "sharp or flat":
            imgui.begin_disabled(self.challenge.hide_answers)
            if imgui.button("Sweep |B| and η"):
                self._run_sweep()
            imgui.end_disabled()
            if imgui.is_item_hovered():
                imgui.set_tooltip(f"{SWEEP_RUNS} runs for each of {len(BATCHES)} batch sizes and {len(SWEEP_LRS)} "
                                  f"learning rates, {SWEEP_STEPS} steps each, in one kernel call "
                                  f"({self._sweep_backend()}); plots the share ending flat.")

    def _sweep_backend(self) -> str:
        """The model's backend, but Numba over numpy where it can: the sweep is 10⁸ gradient evaluations."""
        backend = self.run.model.backend
        return "numba" if backend == "numpy" and "numba" in descend.runnable() else backend

    def _run_sweep(self) -> None:
        model = self.run.model
        shares = flat_share_sweep(BATCHES, SWEEP_LRS, SWEEP_STEPS, SWEEP_RUNS, model.seed, self._sweep_backend())
        self._sweep = shares

    # -- plots -----------------------------------------------------------------------------------
    def plots(self) -> None:
        lesson = self.lesson
        if self.hidden_run:
            plot_strip(self.context, [])
            return
        if lesson == "batch noise":
            # the laws against |B| say more than the std against the step: the strip keeps them alone
            plots = ["noise"] if self.challenge.hide_answers else titled(
                [Plot("###noise_vs_batch", self._noise_plot, x_label="|B|", y_label="std", x_log=True, y_log=True)],
                [["noise std against |B|: lines the laws, dots measured", "noise std against |B|", "std vs |B|"]])
        elif lesson == "sharp or flat":
            plots = ["flat"]
            if self._sweep is not None and not self.challenge.hide_answers:
                plots.append(Plot(f"share flat after {SWEEP_STEPS} steps", self._sweep_plot, x_label="|B|",
                                  y_label="share", x_log=True, y_limits=(-0.05, 1.05)))
        elif lesson == "step sizes":
            plots = [Plot("RMS distance to θ*", self._schedule_plot, x_label="iteration t", x_log=True, y_log=True,
                          weight=1.4)]
        else:
            plots = ["adam"]
        plot_strip(self.context, plots)

    def _noise_plot(self, run) -> None:
        model = run.model
        sigma2 = model.sigma2
        bs = np.geomspace(1, N - 1, 80)
        # lines: the two laws; dots (same colours): what the draws measured
        line("with replacement", bs, np.sqrt(batch_variance(sigma2, bs, True)), FULL)
        line("without", bs, np.sqrt(batch_variance(sigma2, bs, False)), PALETTE.green)
        for mode, color in ((MODES[0], FULL), (MODES[1], PALETTE.green)):
            sizes = [b for b in model.sizes if b < N]
            scatter(f"measured {mode}", np.array(sizes, float),
                    [math.sqrt(model.measured_variance(mode, b)) for b in sizes], color, size=5.0, legend=False)
        vlines([float(model.params["batch"])], [f"|B| = {model.params['batch']}"], CLOUD)

    def _sweep_plot(self, run) -> None:
        for lr, shares, color in zip(SWEEP_LRS, self._sweep, (PALETTE.muted, PALETTE.orange, PALETTE.vermillion)):
            line(f"η = {lr:g}", np.array(BATCHES, float), shares, color, marker=4.0)
        hline(0.5, PALETTE.grid)

    def _schedule_plot(self, run) -> None:
        t = run.series("iteration")
        keep = t > 0
        for name, key in zip(SCHEDULES, ("err_constant", "err_inverse", "err_inverse_square")):
            line(name, t[keep], run.series(key)[keep], SCHEDULE_COLORS[name])
