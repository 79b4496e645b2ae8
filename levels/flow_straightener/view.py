"""The Flow Straightener's view: one panel per round of rectified flow, side by side.

Panel k shows flow k (k = 0 trained on independent pairs, k >= 1 after k reflows): the Euler
paths it takes from noise to samples, its velocity field at a chosen time t with the particles
at that time, its training pairs, and the target's blobs. Before reflow the paths bend and the
pairs cross; after it the paths are nearly straight and the pairs combed. The plots put the
sample quality against the number of Euler steps for every round, the straightness S of every
round, and the training loss.
"""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.gfx.draw import Batch, arrows, ellipse_segments
from sandbox.ui.widgets import GOOD, MUTED
from sandbox.view import View

from .model import MANY_STEPS, QUALITY_BAR, REFLOW_STEPS, STEP_COUNTS
from .rectified_flow import euler_paths, exact_velocity, generate

EXTENT = (-4.0, 4.0, -4.0, 4.0)  # each panel's square: the noise and every target fit in it
PANEL_STEP = 8.6  # distance between the centres of neighbouring panels
FRAME_MARGIN = 0.3  # world units around the panels when the camera frames them
TITLE_ROOM = 0.9  # world units above the panels for their titles (and below for their read-outs)
ROUND_COLORS = [(1.0, 0.6, 0.25), (0.35, 0.8, 1.0), (0.5, 0.9, 0.45), (0.85, 0.6, 1.0)]
NOISE = (0.6, 0.65, 0.75)
FRAME = (0.45, 0.5, 0.58, 0.7)
ARROW = (0.8, 0.85, 0.95)
EXACT = (1.0, 0.85, 0.3)
BLOB = (0.85, 0.95, 1.0)
PROGRESS = imgui.ImVec4(0.2, 0.42, 0.65, 1.0)  # the progress bars: dark enough for white text
SHOWN_PATHS = 96  # paths per panel (of the model's probe noise points)
SHOWN_PAIRS = 96  # training pairs per panel
FIELD_GRID = 13  # velocity arrows per side of a panel
ARROW_TIME = 0.25  # an arrow shows how far a particle moves in this much time (clipped to a cell)
GRID = np.stack([a.ravel() for a in np.meshgrid(np.linspace(EXTENT[0], EXTENT[1], FIELD_GRID),
                                                np.linspace(EXTENT[2], EXTENT[3], FIELD_GRID))], axis=1)
GRID_SPACING = (EXTENT[1] - EXTENT[0]) / (FIELD_GRID - 1)
ANIMATION_S = 5.0  # seconds for the shown time t to sweep from 0 to 1
#: The painter's vertex streams hold 64 KB and cannot grow yet (``_Stream.write`` reads the size
#: of the buffer it has just released), so big batches of segments are drawn in chunks that fit.


def field_arrows(velocities: np.ndarray, rgb) -> tuple[np.ndarray, np.ndarray]:
    """Arrows of a velocity field on :data:`GRID` (segments, one colour per vertex): each shows
    how far a particle moves in ARROW_TIME, clipped to its cell, brighter when faster."""
    velocities = np.where(np.isfinite(velocities), velocities, 0.0)
    speed = np.linalg.norm(velocities, axis=1)
    longest = 0.9 * GRID_SPACING
    length = np.minimum(speed * ARROW_TIME, longest)
    direction = velocities / np.maximum(speed, 1e-12)[:, None]
    alpha = 0.3 + 0.5 * length / longest
    colors = np.concatenate([np.tile(rgb, (len(GRID), 1)), alpha[:, None]], axis=1)
    return arrows(GRID, direction * length[:, None]), np.repeat(colors, 6, axis=0)


def polyline_segments(paths: np.ndarray) -> np.ndarray:
    """Segments of many polylines at once: ``paths`` is (points along, lines, 2)."""
    segments = np.stack([paths[:-1], paths[1:]], axis=2)  # (L-1, lines, 2, 2)
    return segments.transpose(1, 0, 2, 3).reshape(-1, 2)


def positions_at(paths: np.ndarray, t: float) -> np.ndarray:
    """Where the particles of Euler paths (steps + 1, N, 2) are at time t (linear in each step)."""
    steps = len(paths) - 1
    s = float(np.clip(t, 0.0, 1.0)) * steps
    i = min(int(s), steps - 1)
    return paths[i] + (s - i) * (paths[i + 1] - paths[i])


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """About ``count`` round tick values (1, 2 or 5 times a power of ten apart) from 0 to ``top``."""
    raw = max(top, 1.0) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(int(top // step) + 1)]


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values), values, np.nan)


def _clip_points(points: np.ndarray, limit: float = 50.0) -> np.ndarray:
    """Far or non-finite points (an untrained or diverged flow) pinned where drawing stays sane."""
    return np.clip(np.where(np.isfinite(points), points, 0.0), -limit, limit)


def round_title(k: int) -> str:
    return "flow 1: independent pairs" if k == 0 else f"after reflow {k}"


def round_label(k: int) -> str:
    """The short name of round k (legends, tables)."""
    return "flow 1" if k == 0 else f"reflow {k}"


class StraightenerView(View):
    camera = "2d"
    math = [
        (r"x_t = t\, x_1 + (1 - t)\, x_0", "the straight line from noise x₀ ~ N(0, I) to data x₁"),
        (r"\min_\theta\ \mathbb{E}\, \lVert v_\theta(x_t, t) - (x_1 - x_0) \rVert^2",
         "the flow loss: regress the velocity of the lines (random t, random pairs)"),
        (r"v^*(x, t) = \mathbb{E}\left[x_1 - x_0 \mid x_t = x\right]",
         "what it learns: the mean of the lines through x, which bends where lines cross"),
        (r"\frac{dZ_t}{dt} = v(Z_t, t), \qquad Z_0 = x_0",
         "generation: integrate the field from noise (t = 0) to data (t = 1)"),
        (r"Z_{t + h} = Z_t + h\, v(Z_t, t), \qquad h = 1 / n",
         "Euler with n steps; one step jumps straight along v(x₀, 0)"),
        (r"v^*(x, t) = \frac{x + (1 - t)\, \nabla \log p_t(x)}{t}",
         "for a Gaussian-mixture target the first field is exact (Tweedie), shown in yellow"),
        (r"(x_0,\ x_1) \;\to\; (x_0,\ Z_1(x_0))",
         "reflow: pair each noise point with where the flow takes it, and train again"),
        (r"S = \frac{\int_0^1 \mathbb{E}\lVert (Z_1 - Z_0) - v(Z_t, t)\rVert^2 dt}{\mathbb{E}\lVert Z_1 - Z_0\rVert^2}",
         "straightness: 0 exactly when every path is a straight line at constant speed"),
    ]

    def __init__(self, host):
        super().__init__(host)
        self.show_paths = True
        self.show_field = True
        self.show_pairs = False
        self.show_exact = False
        self.animate = False
        self.t_shown = 0.5
        self._panels = 0
        self._caches: dict[str, tuple] = {}

    def make_camera(self):
        return Camera2D(center=(0.0, 0.0), half_height=5.0)  # framed to the panels on the first frame

    # -- layout and caches -----------------------------------------------------------------------
    def rounds(self) -> int:
        """Panels: one per round of the schedule (the first flow and each reflow)."""
        return int(self.model.params["reflows"]) + 1

    def offset(self, k: int) -> np.ndarray:
        return np.array([(k - 0.5 * (self.rounds() - 1)) * PANEL_STEP, 0.0])

    def _frame_panels(self, viewport) -> None:
        """Fit the camera to the panels when their number changes (the learner's zoom stays otherwise)."""
        panels = self.rounds()
        if panels == self._panels:
            return
        self._panels = panels
        x0, x1, y0, y1 = EXTENT
        width = (panels - 1) * PANEL_STEP + (x1 - x0) + 2 * FRAME_MARGIN
        height = (y1 - y0) + 2 * (FRAME_MARGIN + TITLE_ROOM)
        aspect = viewport[0] / max(viewport[1], 1)
        self.cam.home = ((0.0, 0.0), 0.5 * max(height, width / aspect))
        self.cam.reset()

    def _cached(self, name: str, key, compute):
        """``compute()`` once per ``key`` (heavy work never runs every frame)."""
        cached = self._caches.get(name)
        if cached is None or cached[0] != key:
            cached = self._caches[name] = (key, compute())
        return cached[1]

    def _field_version(self, k: int):
        """Changes whenever field k changes: only the newest field trains, the others are frozen."""
        flow = self.model.flow
        return (id(flow), k, flow.iterations if k == flow.rounds else -1)

    def on_reset(self) -> None:
        self._caches.clear()

    # -- what each panel shows ---------------------------------------------------------------
    def _paths(self, k: int) -> np.ndarray:
        """Euler paths of flow k from the model's probe noise, with the shown number of steps."""
        model = self.model
        steps = int(model.params["view_steps"])
        key = (self._field_version(k), steps)
        return self._cached(f"paths{k}", key, lambda: _clip_points(
            euler_paths(model.flow.fields[k], model.probe_noise[:SHOWN_PATHS], steps)[0]))

    def _field(self, k: int, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Arrows of flow k's velocity at time t (segments, one colour per vertex)."""
        field = self.model.flow.fields[k]
        return self._cached(f"field{k}", (self._field_version(k), t),
                            lambda: field_arrows(field(GRID, t), ARROW))

    def _exact_field(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Arrows of the exact first-flow field E[x1 - x0 | x_t] (what flow 1 should learn)."""
        target = self.model.target
        return self._cached("exact", (id(target), t), lambda: field_arrows(exact_velocity(target, GRID, t), EXACT))

    def _pairs(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """A few training pairs of round k: independent noise and data for the first flow; for a
        reflow, noise and where the previous flow carries it (the same construction as the
        model's reflow pairs, on the probe noise)."""
        model = self.model
        if k == 0:
            def compute():
                rng = np.random.default_rng([model.seed, 13])
                return rng.standard_normal((SHOWN_PAIRS, 2)), model.target.sample(SHOWN_PAIRS, rng)

            return self._cached("pairs0", (id(model.flow),), compute)
        x0 = model.probe_noise[-SHOWN_PAIRS:]  # not the noise of the shown paths: fresh points
        return self._cached(f"pairs{k}", self._field_version(k - 1),
                            lambda: (x0, _clip_points(generate(model.flow.fields[k - 1], x0, REFLOW_STEPS))))

    def _target_outline(self) -> np.ndarray:
        target = self.model.target
        return self._cached("target", id(target), lambda: ellipse_segments(target.means, target.covariances))

    # -- the scene -------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        self.ctx.disable(self.ctx.DEPTH_TEST)  # flat layers, drawn in order
        self._frame_panels(frame.viewport)
        if self.animate:
            self.t_shown = (frame.time / ANIMATION_S) % 1.0
        t = round(self.t_shown, 3)  # the caches key on t
        model = self.model
        trained = model.flow.rounds + 1  # panels whose flow exists (the newest may be training)
        under, over = Batch(), Batch()
        outline = self._target_outline()
        x0, x1, y0, y1 = EXTENT
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        for k in range(self.rounds()):
            offset = self.offset(k)
            alive = k < trained
            frame_segments = np.stack([corners, np.roll(corners, -1, axis=0)], axis=1).reshape(-1, 2)
            under.segments(frame_segments + offset, FRAME if alive else (*FRAME[:3], 0.25))
            if not alive:
                continue
            color = ROUND_COLORS[k % len(ROUND_COLORS)]
            under.segments(outline + offset, (*BLOB, 0.3))
            if self.show_pairs:
                start, end = self._pairs(k)
                lines = np.stack([start, end], axis=1).reshape(-1, 2)
                colors = np.tile([(*NOISE, 0.35), (*color, 0.35)], (len(start), 1))
                under.segments(lines + offset, colors)
            if self.show_field:
                segments, colors = self._field(k, t)
                under.segments(segments + offset, colors)
                if self.show_exact and k == 0:
                    segments, colors = self._exact_field(t)
                    under.segments(segments + offset, colors)
            if self.show_paths:
                paths = self._paths(k)
                steps = len(paths) - 1
                # each segment coloured by its time: noise grey to the round's colour at the data
                fade = np.linspace(0.0, 1.0, steps)[None, :, None]
                seg_rgb = (1 - fade) * np.array(NOISE) + fade * np.array(color)
                seg_colors = np.concatenate([np.broadcast_to(seg_rgb, (paths.shape[1], steps, 3)),
                                             np.full((paths.shape[1], steps, 1), 0.55)], axis=2)
                over.segments(polyline_segments(paths) + offset, np.repeat(seg_colors.reshape(-1, 4), 2, axis=0))
                over.points(paths[0] + offset, (*NOISE, 0.8), 3.0)
                over.points(paths[-1] + offset, (*color, 1.0), 4.0)
                if self.show_field:  # the particles at the time the field is shown
                    over.points(positions_at(paths, t) + offset, (1.0, 1.0, 1.0, 0.9), 4.0)
        under.draw(self.painter, frame.mvp, frame.viewport, 1.2)
        over.draw(self.painter, frame.mvp, frame.viewport, 1.4)

    def overlay(self, draw_list, origin, frame) -> None:
        model = self.model
        evaluated = {e["round"]: e for e in model.evaluations}
        trained = model.flow.rounds + 1
        for k in range(self.rounds()):
            offset = self.offset(k)
            top_left = frame.to_overlay(offset + np.array([EXTENT[0], EXTENT[3]]))
            bottom_left = frame.to_overlay(offset + np.array([EXTENT[0], EXTENT[2]]))  # read-outs go under the panel
            color = MUTED if k >= trained else imgui.ImVec4(*ROUND_COLORS[k % len(ROUND_COLORS)], 1.0)
            draw_list.add_text(imgui.ImVec2(top_left.x + 2, top_left.y - 20), imgui.get_color_u32(color),
                               round_title(k))
            if k >= trained:
                centre = frame.to_overlay(offset)
                text = f"waits for reflow {k}"
                size = imgui.calc_text_size(text)
                draw_list.add_text(imgui.ImVec2(centre.x - size.x / 2, centre.y - size.y / 2),
                                   imgui.get_color_u32(MUTED), text)
                continue
            if k in evaluated:
                record = evaluated[k]
                text = f"S = {record['straightness']:.3f}   1 step: {record['quality'][1]:.2f}"
            elif k == model.round and model.phase == "training":
                text = f"training {model.phase_progress:.0%}"
            else:
                text = model.phase
            draw_list.add_text(imgui.ImVec2(bottom_left.x + 2, bottom_left.y + 4),
                               imgui.get_color_u32(imgui.ImVec4(1, 1, 1, 0.85)), text)
        label = f"field and particles at t = {round(self.t_shown, 3):.2f}" if self.show_field else ""
        steps = int(model.params["view_steps"])
        label += f"   paths: {steps} Euler step{'s' if steps > 1 else ''}" if self.show_paths else ""
        if label:
            draw_list.add_text(imgui.ImVec2(origin[0] + 10, origin[1] + 8),
                               imgui.get_color_u32(imgui.ImVec4(1, 1, 1, 1)), label.strip())

    # -- panels ----------------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        imgui.separator_text("Training")
        phase = {"training": "training flow 1" if model.round == 0 else f"training after reflow {model.round}",
                 "evaluating": "measuring quality against steps",
                 "reflowing": f"reflow {model.round + 1}: pairing noise with endpoints"}.get(model.phase, model.phase)
        imgui.push_style_color(imgui.Col_.plot_histogram, PROGRESS)
        imgui.progress_bar(float(np.clip(model.progress, 0.0, 1.0)), imgui.ImVec2(-1, 0),
                           f"{model.progress:.0%}  {phase}")
        if model.phase != "done":
            imgui.progress_bar(float(np.clip(model.phase_progress, 0.0, 1.0)), imgui.ImVec2(-1, 0),
                               f"this phase {model.phase_progress:.0%}")
        imgui.pop_style_color()
        imgui.separator_text("Show")
        # paths and pairs are both lines from noise to data: one at a time stays readable
        if imgui.radio_button("paths", self.show_paths):
            self.show_paths, self.show_pairs = True, False
        imgui.same_line()
        if imgui.radio_button("training pairs", self.show_pairs):
            self.show_paths, self.show_pairs = False, True
        imgui.same_line()
        _, self.show_field = imgui.checkbox("velocity field", self.show_field)
        imgui.begin_disabled(not self.show_field)
        _, self.show_exact = imgui.checkbox("exact field of flow 1 (yellow)", self.show_exact)
        if imgui.is_item_hovered():
            imgui.set_tooltip("E[x₁ − x₀ | x_t = x] for independent pairs, from the target's exact score: "
                              "what the first network should learn.")
        imgui.push_item_width(imgui.get_content_region_avail().x * 0.52)
        changed, t = imgui.slider_float("field time t", self.t_shown, 0.0, 1.0, "%.2f")
        if changed:
            self.t_shown, self.animate = t, False
        imgui.pop_item_width()
        imgui.same_line()
        _, self.animate = imgui.checkbox("sweep", self.animate)
        imgui.end_disabled()
        if model.evaluations:
            self._rounds_table()

    def _rounds_table(self) -> None:
        model = self.model
        imgui.separator_text("Rounds")
        flags = imgui.TableFlags_.row_bg.value | imgui.TableFlags_.borders_inner_h.value
        if imgui.begin_table("rounds", 4, flags):
            for heading in ("", "S", "1 step", f"{MANY_STEPS} steps"):
                imgui.table_setup_column(heading)
            imgui.table_headers_row()
            bar = QUALITY_BAR * model.floor
            for record in model.evaluations:
                k = record["round"]
                imgui.table_next_row()
                imgui.table_next_column()
                imgui.text_colored(imgui.ImVec4(*ROUND_COLORS[k % len(ROUND_COLORS)], 1.0),
                                   round_label(k))
                imgui.table_next_column()
                imgui.text(f"{record['straightness']:.4f}")
                for n in (1, MANY_STEPS):
                    imgui.table_next_column()
                    distance = record["quality"][n]
                    imgui.text_colored(GOOD if distance <= bar else imgui.ImVec4(1, 1, 1, 1), f"{distance:.3f}")
            imgui.end_table()
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(MUTED, f"Distances to the target (sliced W₂); green: within {QUALITY_BAR:g}× the noise "
                                  f"floor {model.floor:.3f}.")
        imgui.pop_text_wrap_pos()

    # -- plots -----------------------------------------------------------------------------------
    def plots(self) -> None:
        if not implot.begin_subplots("##straightener", 1, 3, imgui.ImVec2(-1, -1)):
            return
        self._quality_plot()
        self._straightness_plot()
        self._loss_plot()
        implot.end_subplots()

    def _quality_plot(self) -> None:
        """Distance to the target against the number of Euler steps, one curve per round."""
        model = self.model
        if not implot.begin_plot("quality against Euler steps"):
            return
        fit = implot.AxisFlags_.auto_fit.value
        implot.setup_axes("Euler steps", "distance", fit, fit if model.evaluations else 0)
        if not model.evaluations:  # nothing measured yet: a range where the first curve will be
            implot.setup_axis_limits(implot.ImAxis_.y1.value, 0.5 * model.floor, 3.0, implot.Cond_.always.value)
        implot.setup_axis_scale(implot.ImAxis_.x1.value, implot.Scale_.log10.value)
        implot.setup_axis_scale(implot.ImAxis_.y1.value, implot.Scale_.log10.value)
        implot.setup_axis_ticks(implot.ImAxis_.x1.value, [float(n) for n in STEP_COUNTS], [str(n) for n in STEP_COUNTS])
        implot.setup_legend(implot.Location_.north_east.value)
        steps = np.array(STEP_COUNTS, dtype=np.float64)
        for record in model.evaluations:
            k = record["round"]
            distances = _finite([record["quality"][n] for n in STEP_COUNTS])
            implot.plot_line(round_label(k), steps, np.where(distances > 0, distances, np.nan),
                             implot.Spec(line_color=imgui.ImVec4(*ROUND_COLORS[k % len(ROUND_COLORS)], 1.0),
                                         line_weight=2.0, marker=implot.Marker_.circle.value, marker_size=3.0))
        # the band from the noise floor to the bar: samples in it are as good as the challenges ask
        ends = np.array([steps[0], steps[-1]])
        implot.plot_shaded("good enough", ends, np.full(2, model.floor), np.full(2, QUALITY_BAR * model.floor),
                           implot.Spec(fill_color=imgui.ImVec4(0.45, 0.85, 0.45, 1.0), fill_alpha=0.25))
        shown = np.array([float(model.params["view_steps"])])  # the paths in the scene use this many
        implot.plot_inf_lines("##shown", shown, implot.Spec(line_color=imgui.ImVec4(1, 1, 1, 0.35)))
        if not model.evaluations:
            implot.plot_text("measured after each round", math.sqrt(STEP_COUNTS[-1]), math.sqrt(1.5 * model.floor))
        implot.end_plot()

    def _straightness_plot(self) -> None:
        """The straightness S of every evaluated round (log scale: reflow drops it by orders)."""
        model = self.model
        if not implot.begin_plot("straightness S"):
            return
        values = np.array([e["straightness"] for e in model.evaluations], dtype=np.float64)
        values = values[np.isfinite(values) & (values > 0)]
        implot.setup_axes("reflows", "S", 0, 0)
        implot.setup_axis_scale(implot.ImAxis_.y1.value, implot.Scale_.log10.value)
        # bars on a log axis start at its bottom: the limits come from the values
        low, high = (values.min() / 4, values.max() * 2) if len(values) else (1e-3, 10.0)
        implot.setup_axis_limits(implot.ImAxis_.y1.value, low, high, implot.Cond_.always.value)
        implot.setup_axis_limits(implot.ImAxis_.x1.value, -0.6, self.rounds() - 0.4, implot.Cond_.always.value)
        implot.setup_axis_ticks(implot.ImAxis_.x1.value, [float(k) for k in range(self.rounds())],
                                [str(k) for k in range(self.rounds())])
        for record in model.evaluations:
            k = record["round"]
            value = record["straightness"]
            if np.isfinite(value) and value > 0:
                implot.plot_bars(f"##S{k}", np.array([float(k)]), np.array([value]), 0.6,
                                 implot.Spec(fill_color=imgui.ImVec4(*ROUND_COLORS[k % len(ROUND_COLORS)], 1.0)))
        if not len(values):
            implot.plot_text("measured after each round", 0.5 * (self.rounds() - 1), 0.1)
        implot.end_plot()

    def _loss_plot(self) -> None:
        """The flow loss along the run, with the starts of the reflow rounds marked."""
        run = self.run
        if not implot.begin_plot("flow loss"):
            return
        loss = _finite(run.series("loss"))
        implot.setup_axes("step", "loss", implot.AxisFlags_.auto_fit.value, implot.AxisFlags_.auto_fit.value)
        positive = loss[loss > 0]
        if len(positive) and positive.max() > 10 * positive.min():  # a log axis labels decades only
            implot.setup_axis_scale(implot.ImAxis_.y1.value, implot.Scale_.log10.value)
        implot.setup_legend(implot.Location_.north_east.value)
        rounds = _finite(run.series("round"))
        steps = np.arange(len(loss), dtype=np.float64)
        ticks = nice_ticks(float(len(loss)))  # a narrow plot: implot's own ticks would overlap
        implot.setup_axis_ticks(implot.ImAxis_.x1.value, ticks, [f"{v:g}" for v in ticks])
        for k in range(self.rounds()):
            mask = (rounds == k) & (loss > 0)
            if mask.any():
                implot.plot_line(round_label(k), steps[mask], loss[mask],
                                 implot.Spec(line_color=imgui.ImVec4(*ROUND_COLORS[k % len(ROUND_COLORS)], 1.0),
                                             line_weight=1.5))
        implot.end_plot()
