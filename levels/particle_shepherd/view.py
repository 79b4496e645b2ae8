"""The Particle Shepherd's view: clouds of particles condensing from noise into the target.

Each sampler gets a square panel (the reverse SDE and the probability-flow ODE side by side).
A panel shows its cloud as a density image (splatted on the GPU straight from the particle
buffer on the GLSL backend, on the CPU otherwise), the score field as arrows, the target's
components, and a few tracked particles whose paths show the SDE's jitter and the ODE's glide;
the same particle has the same colour in both panels, because both start from the same noise.
The learner paints, drags and erases blobs of the target with the mouse.
"""

from __future__ import annotations

import math
import time

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.gfx.draw import Batch, arrows, ellipse_segments
from sandbox.ui.widgets import ACCENT, MUTED
from sandbox.view import View
from sim.mixture import MAX_COMPONENTS, GaussianMixture

from .kernels import density_splat_numba, density_splat_reference, splat_gl
from .model import EXTENT

TITLES = {"sde": "reverse SDE (stochastic)", "ode": "probability-flow ODE (deterministic)",
          "langevin": "Langevin dynamics at a fixed t"}
SERIES_COLORS = {"sde": (1.0, 0.6, 0.25, 1.0), "ode": (0.35, 0.8, 1.0, 1.0), "langevin": (0.75, 0.6, 1.0, 1.0)}
FRAME = (0.45, 0.5, 0.58, 0.7)
ARROW = (0.55, 0.75, 0.95)
BLOB = (0.85, 0.95, 1.0)
MARKER = (0.4, 1.0, 0.55, 1.0)
PLAY_HEAD = imgui.ImVec4(0.2, 0.42, 0.65, 1.0)  # the progress bar: dark enough for white text
#: Distance between the centres of two side-by-side panels (the panels are 8 wide).
PANEL_STEP = 8.6
FRAME_MARGIN = 0.3  # world units around the panels when the camera frames them
TITLE_ROOM = 0.9  # world units above the panels for their titles
FIELD_GRID = 13  # score arrows per side of a panel
SHOWN_TRACERS = 6  # of the model's tracked particles: enough to see jitter, few enough to see the cloud
TARGET_COUNT = 4.0  # particles per splat pixel where the finished target is typical
#: The density image shows at most this many particles of a cloud: a splat costs ~17 ms per
#: million on the software renderer, and a million already resolves every pixel of it.
SPLAT_LIMIT = 1 << 20
OUTLINE_LIMIT = 64  # targets with more components show their centres as dots, not ellipses
PICK_PIXELS = 12.0  # how close (screen pixels) a click must be to grab a blob or the marker
EDIT_INTERVAL_S = 0.12  # a dragged blob updates the model at most this often (each edit re-measures)
TRAIL_POINTS = 100  # path points drawn per tracer (longer paths are thinned)
FIELD_T_RESOLUTION = 0.004  # the arrows are recomputed when t moves this much (not every step)
LANGEVIN_TRAIL = 40  # Langevin never ends: show only the recent path
MASS_PLOT_LIMIT = 8  # targets with at most this many blobs get the mass-per-blob plot
#: The painter's vertex streams hold 64 KB and cannot grow yet (``_Stream.write`` reads the size
#: of the buffer it has just released), so big batches of segments are drawn in chunks that fit.


def _mixture_key(mixture: GaussianMixture) -> int:
    """A cheap fingerprint of the target, so caches notice painting and dragging."""
    return hash((mixture.weights.tobytes(), mixture.means.tobytes(), mixture.covariances.tobytes()))


def collision_density(mixture: GaussianMixture) -> float:
    """``∫ p(x)² dx``: the mean density a sample of ``p`` sits at (exact for a Gaussian mixture,
    ``Σ_jk w_j w_k N(m_j; m_k, C_j + C_k)``). It sets the colour scale of the density image."""
    c = mixture.covariances[:, None] + mixture.covariances[None, :]
    d = mixture.means[:, None] - mixture.means[None, :]
    det = c[..., 0, 0] * c[..., 1, 1] - c[..., 0, 1] ** 2
    quadratic = (c[..., 1, 1] * d[..., 0] ** 2 - 2 * c[..., 0, 1] * d[..., 0] * d[..., 1]
                 + c[..., 0, 0] * d[..., 1] ** 2) / det
    overlap = np.exp(-0.5 * quadratic) / (2 * math.pi * np.sqrt(det))
    return float(mixture.weights @ overlap @ mixture.weights)


def assignments(mixture: GaussianMixture, points: np.ndarray) -> np.ndarray:
    """The most likely component of each point (the blob it belongs to)."""
    table = mixture.component_table(dtype=np.float64)
    d = points[:, None, :] - table[None, :, 0:2]
    quadratic = (table[:, 2] * d[..., 0] ** 2 + 2 * table[:, 3] * d[..., 0] * d[..., 1]
                 + table[:, 4] * d[..., 1] ** 2)
    return np.argmax(table[:, 5] - 0.5 * quadratic, axis=1)


def tracer_colors(count: int) -> np.ndarray:
    """A distinct hue per tracked particle (the same in every panel: the same particle)."""
    hue = np.arange(count) / max(count, 1)
    rgb = 0.55 + 0.45 * np.cos(2 * math.pi * (hue[:, None] + np.array([0.0, 1 / 3, 2 / 3])))
    return np.concatenate([rgb, np.ones((count, 1))], axis=1)


def _label(draw_list, at: imgui.ImVec2, text: str, color) -> None:
    """Text on a dark plate, readable over the bright density."""
    size = imgui.calc_text_size(text)
    draw_list.add_rect_filled(imgui.ImVec2(at.x - 4, at.y - 2), imgui.ImVec2(at.x + size.x + 4, at.y + size.y + 2),
                              imgui.get_color_u32(imgui.ImVec4(0.05, 0.06, 0.08, 0.8)), 3.0)
    draw_list.add_text(at, imgui.get_color_u32(imgui.ImVec4(*color)), text)


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


class ShepherdView(View):
    camera = "2d"
    math = [
        (r"x_t = \alpha_t\, x_0 + \sigma_t\, \varepsilon",
         "the forward process blurs the data x₀ with noise ε; t = 1 is pure noise"),
        (r"\alpha_t = e^{-\frac{1}{2}\int_0^t \beta(s)\,ds}, \quad \sigma_t^2 = 1 - \alpha_t^2",
         "the variance-preserving schedule, with β(t) = 0.1 + 19.9 t"),
        (r"\nabla \log p_t = -\sum_k r_k\, C_k^{-1} (x - \alpha_t \mu_k)",
         "the score of the noised mixture is exact: r_k(x) are the responsibilities (a softmax over the blobs)"),
        (r"C_k = \alpha_t^2\, \Sigma_k + \sigma_t^2 I", "each blob, noised: shrunk towards 0 and blurred"),
        (r"dx = \left[f - g^2\, \nabla \log p_t\right] dt + g\, d\bar w",
         "the reverse SDE, with f = −½βx and g² = β: fresh noise every step (left panel)"),
        (r"dx = \left[f - \tfrac{1}{2}\, g^2\, \nabla \log p_t\right] dt",
         "the probability-flow ODE: no noise, and the same marginals p_t at every t (right panel)"),
        (r"x \leftarrow x + \epsilon\, \nabla \log p_{t_L} + \sqrt{2\epsilon}\, z",
         "Langevin dynamics at one fixed noise level t_L, with no annealing"),
        (r"x \leftarrow a\, x + b\, \nabla \log p_t + c\, z",
         "every sampler is one Euler step of this form: SDE a = 1 + ½βh, b = βh, c = √(βh); "
         "ODE the same a, b = ½βh, c = 0; Langevin a = 1, b = ε, c = √(2ε)"),
        (r"SW_2^2 = \frac{1}{|\Theta|} \sum_{\theta \in \Theta} W_2^2(\theta^\top P,\ \theta^\top Q)",
         "the distance to the target: 1-D optimal transport along 64 directions, against fresh target "
         "samples; two honest samples of the target sit at the noise floor"),
    ]

    def __init__(self, host):
        super().__init__(host)
        self.show_field = True
        self.show_tracers = True
        self.show_blobs = True
        self.show_marker = True
        self.exposure = 1.0
        self.brush = 0.25  # standard deviation of a painted blob
        self.loop = False
        self._panels = 0  # how many panels the camera is framed for
        self._textures: dict[str, object] = {}  # per system: its density image (premultiplied RGBA)
        self._splat_buffer = None  # the storage buffer of counts per pixel that the resolve colours
        self._counts_size = 0
        self._splatted: dict[str, tuple] = {}  # per system: the particle state its image shows
        self._vao = None
        self._vao_generation = -1
        self._density = self.program("density.glsl")
        self._resolve = self.program("density_resolve.glsl", compute=True)
        self._caches: dict[str, tuple] = {}
        self._drag: dict | None = None  # what the left button is doing: paint, a blob, the marker
        self._hover_world: np.ndarray | None = None
        self._pick_world = 0.1  # PICK_PIXELS in world units at the current zoom (set every frame)
        self._done_since: float | None = None

    def make_camera(self):
        return Camera2D(center=(0.0, 0.0), half_height=5.0)  # framed to the panels on the first frame

    # -- layout ----------------------------------------------------------------------------------
    def offsets(self) -> dict[str, np.ndarray]:
        """Where each system's panel sits: world = target coordinates + offset."""
        names = list(self.model.systems)
        middle = 0.5 * (len(names) - 1)
        return {name: np.array([(i - middle) * PANEL_STEP, 0.0]) for i, name in enumerate(names)}

    def on_reset(self) -> None:
        self._splatted.clear()
        self._drag = None
        self._done_since = None

    def _frame_panels(self, viewport) -> None:
        """Fit the camera to the panels when their number changes (the learner's zoom stays otherwise)."""
        panels = len(self.model.systems)
        if panels == self._panels:
            return
        self._panels = panels
        x0, x1, y0, y1 = EXTENT
        width = (panels - 1) * PANEL_STEP + (x1 - x0) + 2 * FRAME_MARGIN
        height = (y1 - y0) + 2 * FRAME_MARGIN + TITLE_ROOM
        aspect = viewport[0] / max(viewport[1], 1)
        self.cam.home = ((0.0, 0.5 * TITLE_ROOM), 0.5 * max(height, width / aspect))
        self.cam.reset()

    def _cached(self, name: str, key, compute):
        """``compute()`` once per ``key`` (heavy work never runs every frame)."""
        cached = self._caches.get(name)
        if cached is None or cached[0] != key:
            cached = self._caches[name] = (key, compute())
        return cached[1]

    def _to_world(self, frame) -> np.ndarray:
        """The world point under the mouse."""
        return frame.camera.screen_to_world(frame.input.mouse, frame.viewport)

    def _world_per_pixel(self, frame) -> float:
        """World units per window unit at the current zoom."""
        return 2.0 * self.cam.half_height / max(frame.viewport[1], 1) * frame.pixel_ratio

    def _panel_at(self, world: np.ndarray) -> tuple[str, np.ndarray] | None:
        """The panel under a world point and the point in target coordinates, or None."""
        x0, x1, y0, y1 = EXTENT
        for name, offset in self.offsets().items():
            local = world - offset
            if x0 <= local[0] <= x1 and y0 <= local[1] <= y1:
                return name, local
        return None

    # -- the scene -------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        if not self.model.systems:  # the model failed to start: the host shows why
            return
        self.ctx.disable(self.ctx.DEPTH_TEST)  # flat layers, drawn in order
        self._loop_if_done()
        self._frame_panels(frame.viewport)
        mvp, viewport = frame.mvp, frame.viewport
        offsets = self.offsets()
        self._update_density(frame)
        # a software renderer pays per draw call, not per vertex: every layer is one batch
        under, over = Batch(), Batch()
        field = self._field_arrows() if self.show_field else None
        blobs = self._blob_outlines() if self.show_blobs else None
        for name, offset in offsets.items():
            x0, x1, y0, y1 = EXTENT
            corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) + offset
            under.segments(np.stack([corners, np.roll(corners, -1, axis=0)], axis=1).reshape(-1, 2), FRAME)
            if field is not None:
                under.segments(field[0] + offset, field[1])
            if blobs is not None:
                over.segments(blobs[0] + offset, (*BLOB, 0.35))
                over.points(blobs[1] + offset, (*BLOB, 0.6), 3.0)
            if self.show_tracers:
                self._add_tracers(over, name, offset)
        if self.show_marker and "ode" in offsets:
            self._add_marker(over, offsets["ode"])
        self._add_brush(over)
        under.draw(self.painter, mvp, viewport, 1.2)
        for name, offset in offsets.items():
            self._draw_density(mvp, name, offset)
        over.draw(self.painter, mvp, viewport, 1.0)
        if self.show_marker and "ode" in offsets:  # drawn thick, over everything: it is the question
            self._draw_marker_arrow(mvp, viewport, offsets["ode"])

    def _update_density(self, frame) -> None:
        """Re-splat and colour each cloud when its particles moved a whole time step (a sliced
        step shows when it completes, so the image never mixes two noise levels) or when the
        colour scale changed."""
        model = self.model
        size = self._splat_size(frame)
        if size != self._counts_size:
            self._release_density()
            self._counts_size = size
        if self._resolve.program is None:  # a shader error is on screen; keep the last images
            return
        scale = 1.0 / math.log1p(self._reference_count())
        barrier = False
        for name, system in model.systems.items():
            state = (id(model), id(system), model.seed, model.time_step, size, scale)
            if self._splatted.get(name) == state:
                continue
            if self._splat_buffer is None:
                self._splat_buffer = self.ctx.buffer(reserve=size * size * 4)
            shown = self._splatted_count()
            if system.gl_buffer is not None:  # GLSL: the particles never leave the GPU
                if not barrier:
                    self.ctx.memory_barrier()  # the step kernel wrote the particles
                    barrier = True
                self._splat_buffer.clear()
                splat_gl(self.ctx, system.gl_buffer, shown, self._splat_buffer, EXTENT, size, size)
                self.ctx.memory_barrier()  # the splat wrote the counts the resolve reads
            else:
                splat = density_splat_numba if system.backend == "numba" else density_splat_reference
                counts = splat(system.sample(shown), EXTENT, size, size)
                self._splat_buffer.write(counts.astype(np.uint32).tobytes())
            texture = self._textures.get(name)
            if texture is None:
                texture = self._textures[name] = self.ctx.texture((size, size), 4)
                texture.filter = (self.ctx.LINEAR, self.ctx.LINEAR)
            self._splat_buffer.bind_to_storage_buffer(2)
            texture.bind_to_image(0, read=False, write=True)
            self._resolve["size"].value = (size, size)
            self._resolve["inverse_log_reference"].value = scale
            self._resolve.program.run(math.ceil(size / 16), math.ceil(size / 16))
            self.ctx.memory_barrier()  # the resolve wrote the image the density shader samples
            self._splatted[name] = state

    def _splatted_count(self) -> int:
        """How many particles the density image shows: all, up to SPLAT_LIMIT (the first ones:
        particles are independent, so they have the same density as the whole cloud)."""
        return min(next(iter(self.model.systems.values())).count, SPLAT_LIMIT)

    def _splat_size(self, frame) -> int:
        """Splat pixels per side: about TARGET_COUNT particles per pixel where the finished target
        is typical (a lone particle in a fine grid is noise, not density), never finer than the
        screen; in steps of 32, so that zooming and painting rarely reallocate."""
        model = self.model
        count = self._splatted_count()
        target = self._cached("target density", _mixture_key(model.mixture),
                              lambda: collision_density(model.mixture))
        side = EXTENT[1] - EXTENT[0]
        size = side * math.sqrt(count * target / TARGET_COUNT)
        screen = side * frame.viewport[1] / (2.0 * self.cam.half_height)
        return int(np.clip(round(min(size, screen) / 32) * 32, 64, 1024))

    def _release_density(self) -> None:
        for texture in self._textures.values():
            texture.release()
        self._textures.clear()
        self._splatted.clear()
        if self._splat_buffer is not None:
            self._splat_buffer.release()
            self._splat_buffer = None

    def _reference_count(self) -> float:
        """The count per splat pixel that maps to the top colour: a few times the count at a
        typical particle of the noised target, so the map follows the cloud as it sharpens."""
        model = self.model
        key = (_mixture_key(model.mixture), round(model.t, 2))
        density = self._cached("collision", key, lambda: collision_density(model.mixture.noised(model.alpha,
                                                                                               model.sigma)))
        pixel_area = ((EXTENT[1] - EXTENT[0]) / max(self._counts_size, 1)) ** 2
        return max(2.0, 3.0 * self._splatted_count() * density * pixel_area / self.exposure)

    def _draw_density(self, mvp, name: str, offset) -> None:
        hot = self._density
        texture = self._textures.get(name)
        if hot.program is None or texture is None:
            return
        if self._vao is None or self._vao_generation != hot.generation:
            if self._vao is not None:
                self._vao.release()
            self._vao = self.ctx.vertex_array(hot.program, [])  # corners from gl_VertexID
            self._vao_generation = hot.generation
        hot["mvp"].write(np.asarray(mvp, np.float32).tobytes())
        hot["extent"].value = tuple(float(v) for v in EXTENT)
        hot["offset"].value = (float(offset[0]), float(offset[1]))
        texture.use(0)
        self.ctx.blend_func = self.ctx.ONE, self.ctx.ONE_MINUS_SRC_ALPHA  # the colours are premultiplied
        self._vao.render(self.ctx.TRIANGLE_STRIP, vertices=4)
        self.ctx.blend_func = self.ctx.SRC_ALPHA, self.ctx.ONE_MINUS_SRC_ALPHA

    def _field_arrows(self) -> tuple[np.ndarray, np.ndarray]:
        """The score field's arrows at the current t (segments, colours), cached by t and target."""
        model = self.model

        def compute():
            points, scores = model.score_field(FIELD_GRID, EXTENT)
            spacing = (EXTENT[1] - EXTENT[0]) / (FIELD_GRID - 1)
            scores = np.where(np.isfinite(scores), scores, 0.0)
            # |score| x spacing: how much log density changes over one cell; squashed to the cell
            strength = np.linalg.norm(scores, axis=1) * spacing
            length = 0.85 * spacing * strength / (1.0 + strength)
            direction = scores / np.maximum(np.linalg.norm(scores, axis=1, keepdims=True), 1e-12)
            segments = arrows(points, direction * length[:, None])
            alpha = 0.25 + 0.5 * strength / (1.0 + strength)
            colors = np.concatenate([np.tile(ARROW, (len(points), 1)), alpha[:, None]], axis=1)
            return segments, np.repeat(colors, 6, axis=0)

        key = (id(model), _mixture_key(model.mixture), round(model.t / FIELD_T_RESOLUTION))
        return self._cached("field", key, compute)

    def _blob_outlines(self) -> tuple[np.ndarray, np.ndarray]:
        """The target's components: one-sigma ellipses (few components) and their centres."""
        mixture = self.model.mixture

        def compute():
            if mixture.n_components > OUTLINE_LIMIT:
                return np.zeros((0, 2)), mixture.means.copy()
            return ellipse_segments(mixture.means, mixture.covariances), mixture.means.copy()

        return self._cached("blobs", _mixture_key(mixture), compute)

    def _add_tracers(self, batch: "Batch", name: str, offset) -> None:
        """The recent paths of a few tracked particles, fading with age, and where they are now."""
        paths = self.model.tracer_paths(name)[:, :SHOWN_TRACERS]  # (L, tracers, 2)
        if self.model.langevin:
            paths = paths[-LANGEVIN_TRAIL:]
        if len(paths) > TRAIL_POINTS:
            stride = math.ceil(len(paths) / TRAIL_POINTS)
            paths = np.concatenate([paths[:-1:stride], paths[-1:]])
        paths = np.clip(np.where(np.isfinite(paths), paths, 0.0), -50.0, 50.0)
        colors = tracer_colors(paths.shape[1])
        if len(paths) >= 2:
            segments = np.stack([paths[:-1], paths[1:]], axis=2)  # (L-1, tracers, 2, 2)
            segments = segments.transpose(1, 0, 2, 3).reshape(-1, 2) + offset
            seg_colors = np.repeat(colors[:, None, :], len(paths) - 1, axis=1)
            seg_colors[..., 3] = np.linspace(0.1, 0.7, len(paths) - 1)  # older parts of a path fade
            batch.segments(segments, np.repeat(seg_colors.reshape(-1, 4), 2, axis=0))
        batch.points(paths[-1] + offset, colors, 7.0)

    def _marker_velocity(self) -> np.ndarray:
        model = self.model
        key = (id(model), _mixture_key(model.mixture), model.params["marker_x"], model.params["marker_y"],
               model.params["marker_t"])
        return self._cached("marker", key, model.marker_velocity)

    def _marker_point(self, offset) -> np.ndarray:
        return np.array([self.model.params["marker_x"], self.model.params["marker_y"]]) + offset

    def _add_marker(self, batch: "Batch", offset) -> None:
        batch.points(self._marker_point(offset)[None], MARKER, 11.0)

    def _draw_marker_arrow(self, mvp, viewport, offset) -> None:
        velocity = self._marker_velocity()
        speed = float(np.linalg.norm(velocity))
        if np.isfinite(speed) and speed > 1e-9:
            # the direction matters, not the speed (which grows like 1/σ² at low t): a fixed length
            segments = arrows(self._marker_point(offset)[None], velocity[None] / speed, head=0.3)
            self.painter.lines(mvp, segments, MARKER, 2.5, viewport, strip=False)

    def _add_brush(self, batch: "Batch") -> None:
        """Where a click would act: the blob it would grab (or is dragging), or the blob it would paint."""
        if self._hover_world is None or self.host.challenges.playing:
            return
        hit = self._panel_at(self._hover_world)
        if hit is None:
            return
        name, local = hit
        offset = self.offsets()[name]
        mixture = self.model.mixture
        dragging = self._drag["kind"] if self._drag is not None else None
        if dragging == "marker":
            return
        if dragging == "blob":  # the blob follows the mouse before the model hears of it
            index, centre = self._drag["index"], local
        else:
            index = self._grab(local) if dragging is None else None
            centre = mixture.means[index] if index is not None else None
        if index is not None and 0 <= index < mixture.n_components:
            outline = ellipse_segments(centre[None], mixture.covariances[index:index + 1])
            batch.segments(outline + offset, (*BLOB, 1.0))
            return
        circle = ellipse_segments(local[None], (self.brush**2 * np.eye(2))[None]) + offset
        batch.segments(circle, (1.0, 1.0, 1.0, 0.6))

    # -- painting the target -----------------------------------------------------------------
    def _grab(self, local: np.ndarray) -> int | None:
        """The blob whose centre is within reach of a click at ``local``, if any."""
        index, distance = self.model.nearest_blob(float(local[0]), float(local[1]))
        reach = self._pick_world
        return index if distance <= reach else None

    def handle_input(self, frame) -> bool:
        inp = frame.input
        self._pick_world = PICK_PIXELS * self._world_per_pixel(frame)
        self._hover_world = self._to_world(frame) if inp.hovered else None
        if self.host.challenges.playing:  # a challenge's target is not for editing
            self._drag = None
            return False
        if not inp.left or inp.shift:  # shift-drag pans the camera
            self._finish_drag()
            return False
        if self._drag is None:
            if not inp.clicked or self._hover_world is None:
                return False
            self._start_drag(frame)
            return self._drag is not None
        self._continue_drag()
        return True

    def _start_drag(self, frame) -> None:
        model = self.model
        world = self._hover_world
        hit = self._panel_at(world)
        if hit is None:
            return
        name, local = hit
        if self.show_marker and name == "ode":
            marker = np.array([model.params["marker_x"], model.params["marker_y"]])
            if np.linalg.norm(local - marker) <= self._pick_world:
                self._drag = {"kind": "marker"}
                return
        grab = self._grab(local)
        if frame.input.ctrl:  # erase
            if grab is not None:
                model.remove_blob(grab)
            return
        if grab is not None:
            self._drag = {"kind": "blob", "index": grab, "at": local, "sent": time.monotonic()}
            return
        index = model.add_blob(float(local[0]), float(local[1]), std=self.brush)
        if index >= 0:
            self._drag = {"kind": "paint", "last": local}

    def _continue_drag(self) -> None:
        model, drag = self.model, self._drag
        hit = self._panel_at(self._hover_world) if self._hover_world is not None else None
        if hit is None:
            return
        local = hit[1]
        if drag["kind"] == "marker":
            self.run.set_param("marker_x", float(np.clip(local[0], -4.0, 4.0)))
            self.run.set_param("marker_y", float(np.clip(local[1], -4.0, 4.0)))
        elif drag["kind"] == "blob":
            drag["at"] = local
            if time.monotonic() - drag["sent"] >= EDIT_INTERVAL_S:  # an edit re-measures the clouds
                model.move_blob(drag["index"], float(local[0]), float(local[1]))
                drag["sent"] = time.monotonic()
        elif np.linalg.norm(local - drag["last"]) >= 1.5 * self.brush:  # paint a stroke of blobs
            if model.add_blob(float(local[0]), float(local[1]), std=self.brush) >= 0:
                drag["last"] = local

    def _finish_drag(self) -> None:
        drag, self._drag = self._drag, None
        if drag is not None and drag["kind"] == "blob":
            mixture = self.model.mixture
            if 0 <= drag["index"] < mixture.n_components and not np.allclose(mixture.means[drag["index"]], drag["at"]):
                self.model.move_blob(drag["index"], float(drag["at"][0]), float(drag["at"][1]))

    # -- annotations ---------------------------------------------------------------------------
    def overlay(self, draw_list, origin, frame) -> None:
        model = self.model
        if not model.systems:
            return
        for name, offset in self.offsets().items():
            corner = frame.to_overlay(offset + np.array([EXTENT[0], EXTENT[3]]))
            draw_list.add_text(imgui.ImVec2(corner.x + 2, corner.y - 20),
                               imgui.get_color_u32(imgui.ImVec4(*SERIES_COLORS[name])), TITLES[name])
        if self.show_blobs and model.mixture.n_components <= MASS_PLOT_LIMIT:  # names for the mass plot
            for name, offset in self.offsets().items():
                mixture = model.mixture
                for i, (mean, cov) in enumerate(zip(mixture.means, mixture.covariances)):
                    p = frame.to_overlay(offset + mean + np.array([0.0, 2.0 * math.sqrt(cov[1, 1])]))  # above the blob
                    draw_list.add_text(imgui.ImVec2(p.x - 4, p.y - 20), imgui.get_color_u32(imgui.ImVec4(*BLOB, 1.0)),
                                       str(i + 1))
        if self.show_marker and "ode" in model.systems:
            marker = self.offsets()["ode"] + np.array([model.params["marker_x"], model.params["marker_y"]])
            p = frame.to_overlay(marker)
            _label(draw_list, imgui.ImVec2(p.x + 8, p.y + 6), f"ODE at t = {model.params['marker_t']:.2f}", MARKER)
        label = (f"t_L = {model.t:.3f}   σ = {model.sigma:.3f}   (fixed)" if model.langevin
                 else f"t = {model.t:.3f}   σ_t = {model.sigma:.3f}   α_t = {model.alpha:.3f}")
        _label(draw_list, imgui.ImVec2(origin[0] + 10, origin[1] + 8), label, (1.0, 1.0, 1.0, 1.0))

    # -- panels ----------------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        if not model.systems:
            return
        imgui.separator_text("Reverse time")
        imgui.push_style_color(imgui.Col_.plot_histogram, PLAY_HEAD)
        if model.langevin:
            imgui.progress_bar(1.0, imgui.ImVec2(-1, 0), f"held at t_L = {model.t:.3f}, step {model.time_step}")
        else:
            imgui.progress_bar(float(np.clip(1.0 - model.t, 0.0, 1.0)), imgui.ImVec2(-1, 0),
                               f"t = {model.t:.3f}  (1 noise → 0 data)")
        imgui.pop_style_color()
        count = next(iter(model.systems.values())).count
        if model.slice < count:
            frames = math.ceil(count / model.slice)
            imgui.text_colored(MUTED, f"{count:,} particles: a time step takes ~{frames} frames")
        if count > SPLAT_LIMIT:
            imgui.text_colored(MUTED, f"the density shows {SPLAT_LIMIT:,} of them (the same density)")
        imgui.begin_disabled(self.host.challenges.playing)  # a challenge's run is the challenge's
        if imgui.button("Run again from noise"):
            self.host.reset()
        imgui.same_line()
        _, self.loop = imgui.checkbox("loop", self.loop)
        if imgui.is_item_hovered():
            imgui.set_tooltip("When t reaches 0, look for two seconds, then start again from the same noise.")
        imgui.end_disabled()

        imgui.separator_text("Show")
        _, self.show_field = imgui.checkbox("score arrows", self.show_field)
        imgui.same_line()
        _, self.show_tracers = imgui.checkbox("tracked paths", self.show_tracers)
        _, self.show_blobs = imgui.checkbox("target blobs", self.show_blobs)
        if "ode" in model.systems:
            imgui.same_line()
            _, self.show_marker = imgui.checkbox("marker", self.show_marker)
            if imgui.is_item_hovered():
                imgui.set_tooltip("The arrow shows which way the probability-flow ODE moves a particle at the "
                                  "marker, at the marker's time (drag the marker; its time is a parameter).")
        imgui.push_item_width(imgui.get_content_region_avail().x * 0.52)
        _, self.exposure = imgui.slider_float("brightness", self.exposure, 0.1, 10.0, "%.2f",
                                              imgui.SliderFlags_.logarithmic.value)
        imgui.pop_item_width()

        imgui.separator_text("Shape the target")
        imgui.begin_disabled(self.host.challenges.playing)
        imgui.push_item_width(imgui.get_content_region_avail().x * 0.52)
        _, self.brush = imgui.slider_float("blob size σ", self.brush, 0.08, 0.8, "%.2f")
        imgui.pop_item_width()
        imgui.end_disabled()
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(MUTED, "Left-drag on empty space paints blobs; drag a blob's centre to move it; "
                                  "Ctrl+click erases one. Right-drag pans, the wheel zooms.")
        imgui.text_colored(MUTED, f"{model.mixture.n_components} blobs (at most {MAX_COMPONENTS})")
        if model.done:
            imgui.text_colored(ACCENT, "t reached 0: the clouds stay put. Edit the target, then run again.")
        imgui.pop_text_wrap_pos()
        if set(model.systems) == {"sde", "ode"}:
            self._landing_readout()

    def _loop_if_done(self) -> None:
        """With 'loop', a finished run starts again from noise after a short look at the result."""
        model = self.model
        if not (self.loop and model.done and not self.host.challenges.playing and not self.host.paused):
            self._done_since = None
            return
        if self._done_since is None:
            self._done_since = self.host.elapsed
        elif self.host.elapsed - self._done_since > 2.0:
            self.host.reset()

    def _landing_readout(self) -> None:
        """How far apart a particle and its twin (same starting noise) are, against the target's size."""
        model = self.model
        sde, ode = model.samples.get("sde"), model.samples.get("ode")
        if sde is None or ode is None or not (np.all(np.isfinite(sde)) and np.all(np.isfinite(ode))):
            return
        apart = float(np.linalg.norm(sde - ode, axis=1).mean())
        spread = float(np.sqrt(np.trace(np.cov(model.reference.T))))
        imgui.separator_text("Twins")
        imgui.push_text_wrap_pos(0.0)
        imgui.text(f"a particle and its twin: {apart:.2f} apart")
        imgui.text_colored(MUTED, f"the target's spread is {spread:.2f}; the same starting noise, particle by "
                                  "particle (same colour in both panels)")
        imgui.pop_text_wrap_pos()

    # -- plots -----------------------------------------------------------------------------------
    def plots(self) -> None:
        run, model = self.run, self.model
        names = list(model.systems)
        if not names:
            return
        blobs = model.mixture.n_components <= MASS_PLOT_LIMIT
        columns = 4 if blobs else 3
        if not implot.begin_subplots("##shepherd", 1, columns, imgui.ImVec2(-1, -1)):
            return
        if model.langevin:
            xs, x_label, x_flags = np.arange(run.steps + 1, dtype=np.float64), "step", implot.AxisFlags_.auto_fit.value
        else:  # reverse time runs from 1 (noise) to 0 (data), left to right
            xs, x_label = _finite(run.series("t")), "t (noise → data)"
            x_flags = implot.AxisFlags_.auto_fit.value | implot.AxisFlags_.invert.value
        series = {name: suffix for name, suffix in zip(names, ("", "_twin"))}  # the model's observable names
        # legends where the curves are not: they fall to the right, tortuosity splits top and bottom
        self._plot_series("distance to target", "sliced W₂", xs, x_label, x_flags, series, "distance",
                          implot.Location_.south_west, floor=_finite(run.series("distance_floor")), log=True)
        self._plot_series("likelihood gap", "nats / point", xs, x_label, x_flags, series, "likelihood_gap",
                          implot.Location_.south_west)
        self._plot_series("path tortuosity", "length / displacement", xs, x_label, x_flags, series, "tortuosity",
                          implot.Location_.east, log=True)
        if blobs:
            self._mass_plot()
        implot.end_subplots()

    def _plot_series(self, title, y_label, xs, x_label, x_flags, series, observable, legend, floor=None,
                     log=False) -> None:
        """One observable of every cloud (the first system's name, the second's with ``_twin``);
        with ``log``, a log axis once the values span a decade (below that it would label nothing)."""
        curves = {name: _finite(self.run.series(observable + suffix)) for name, suffix in series.items()}
        if floor is not None:
            curves["floor"] = floor
        if log:
            curves = {name: np.where(ys > 0, ys, np.nan) for name, ys in curves.items()}
            values = np.concatenate(list(curves.values()))
            values = values[np.isfinite(values)]
            log = len(values) > 0 and values.max() >= 10 * values.min()
        if not implot.begin_plot(title):
            return
        implot.setup_axes(x_label, y_label, x_flags, implot.AxisFlags_.auto_fit.value)
        if log:
            implot.setup_axis_scale(implot.ImAxis_.y1.value, implot.Scale_.log10.value)
        implot.setup_legend(legend.value)
        for name, ys in curves.items():
            if name == "floor":
                implot.plot_line("noise floor", xs, ys,
                                 implot.Spec(line_color=imgui.ImVec4(0.7, 0.7, 0.7, 1.0), line_weight=1.0))
            else:
                implot.plot_line(name.upper() if name != "langevin" else "Langevin", xs, ys,
                                 implot.Spec(line_color=imgui.ImVec4(*SERIES_COLORS[name]), line_weight=2.0))
        implot.end_plot()

    def _mass_plot(self) -> None:
        """Which fraction of each cloud sits in each blob, against the blob's weight."""
        model = self.model
        law = model.target_law()
        key = (id(model), model.time_step, _mixture_key(model.mixture), model.t)

        def compute():
            fractions = {}
            for name, sample in model.samples.items():
                if np.all(np.isfinite(sample)):
                    counts = np.bincount(assignments(law, sample.astype(np.float64)), minlength=law.n_components)
                    fractions[name] = counts / max(len(sample), 1)
            return fractions

        fractions = self._cached("mass", key, compute)
        # no legend (any corner of a narrow plot hides a bar): the clouds keep the colours the
        # other plots name, the axis label names the grey
        if not implot.begin_plot("mass per blob", flags=implot.Flags_.no_legend.value):
            return
        k = model.mixture.n_components
        implot.setup_axes("blob  (grey: target)", "fraction", implot.AxisFlags_.auto_fit.value, 0)
        implot.setup_axis_ticks(implot.ImAxis_.x1.value, [float(i) for i in range(k)], [str(i + 1) for i in range(k)])
        implot.setup_axis_limits(implot.ImAxis_.y1.value, 0.0, 1.0, implot.Cond_.always.value)
        positions = np.arange(k, dtype=np.float64)
        width = 0.8 / (len(fractions) + 1)
        implot.plot_bars("target", positions - 0.4 + 0.5 * width, law.weights.astype(np.float64), width,
                         implot.Spec(fill_color=imgui.ImVec4(0.7, 0.7, 0.7, 1.0)))
        for i, (name, values) in enumerate(fractions.items()):
            implot.plot_bars(name.upper() if name != "langevin" else "Langevin",
                             positions - 0.4 + (i + 1.5) * width, values.astype(np.float64), width,
                             implot.Spec(fill_color=imgui.ImVec4(*SERIES_COLORS[name])))
        implot.end_plot()

    def release(self) -> None:
        self._release_density()
        if self._vao is not None:
            self._vao.release()
            self._vao = None
