"""The Particle Shepherd's view: a pane per sampler (the reverse SDE and the probability-flow ODE side
by side, one camera) with its cloud's density image, the score as arrows, the target's blobs and a few
tracked particles, coloured alike in both panes (the same starting noise). Editing: :mod:`.brush`."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.gfx.draw import Batch, arrows, box_segments, ellipse_segments
from sandbox.kit import PALETTE, Plot, bars, fitted_y, line, plot_strip, progress_bar, round_ticks, set_ticks
from sandbox.view import View, side_by_side
from sim.mixture import MAX_COMPONENTS

from .brush import Brush
from .model import DENSITY_LIMIT, EXTENT, MASS_LIMIT

TITLES = {"sde": "reverse SDE (stochastic)", "ode": "probability-flow ODE (deterministic)",
          "langevin": "Langevin dynamics at a fixed t"}
NAMES = {"sde": "SDE", "ode": "ODE", "langevin": "Langevin"}
SERIES = {"sde": PALETTE.orange, "ode": PALETTE.sky, "langevin": PALETTE.purple}
ARROW, BLOB, MARKER = PALETTE.accent, PALETTE.white, PALETTE.green.lighter(0.35)
TRACER_COLORS = np.array([PALETTE.pick(i + 3) for i in range(6)])  # the same particle, the same colour
TITLE_ROOM = 0.9  # world units above the square for a pane's title
FIELD_GRID = 13  # score arrows per side
TRAIL_POINTS, LANGEVIN_TRAIL = 100, 40  # path points drawn per tracer; Langevin never ends: a recent path
OUTLINE_LIMIT = 64  # targets with more components show their centres as dots, not ellipses
LOOK_S = 2.0  # with 'loop', how long a finished run stays on screen before it starts again


class ShepherdView(View):
    controls = (("left-drag on empty space", "paints a stroke of blobs into the target; the particles follow"),
                ("drag a blob's centre", "moves the blob"),
                ("Ctrl+click a blob", "erases it (never the last one)"),
                ("drag the green marker (ODE pane)", "moves the point whose probability-flow velocity the arrow shows"))

    def __init__(self, context):
        super().__init__(context)
        self.show = {"score arrows": True, "tracked paths": True, "target blobs": True, "marker": True}
        self.exposure, self.loop, self.brush = 1.0, False, Brush(context)
        self._density = self.program("density.glsl")
        self._done_since: float | None = None

    def make_camera(self):
        camera = Camera2D()  # one camera for every pane: the clouds are compared point by point
        camera.fit(EXTENT[0], EXTENT[1], EXTENT[2], EXTENT[3] + TITLE_ROOM, 0.04, follow=True)
        return camera

    def panes(self):
        return side_by_side(*((name, self.cam, 1.0) for name in self.model.systems))

    def on_reset(self) -> None:
        self.brush.drag, self._done_since = None, None

    def _marker(self, name: str) -> np.ndarray | None:
        """The marker's point in pane ``name``, if it shows there (the ODE's)."""
        return self.model.marker if name == "ode" and self.show["marker"] else None

    def handle_input(self, frame) -> bool:
        return self.brush.handle(frame, self._marker(frame.pane))

    # -- the scene -------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        model, name, marker = self.model, frame.pane, self._marker(frame.pane)
        self.gl.disable(self.gl.DEPTH_TEST)  # flat layers, drawn in order
        if name == next(iter(model.systems)):
            self._loop_if_done()
        under, over = Batch(), Batch()  # a software renderer pays per draw call: one per layer
        under.segments(box_segments(*EXTENT), PALETTE.grid)
        if self.arrows_shown():
            points, vectors, strength = model.score_arrows(FIELD_GRID)
            under.arrows(points, vectors, ARROW, opacity=0.25 + 0.5 * strength)
        if self.show["target blobs"]:
            if model.mixture.n_components <= OUTLINE_LIMIT:
                over.segments(ellipse_segments(model.mixture.means, model.mixture.covariances), BLOB.alpha(0.35))
            over.points(model.mixture.means, BLOB.alpha(0.6), 3.0)
        if self.show["tracked paths"]:
            self._tracers(over, name)
        if marker is not None:
            over.points(marker[None], MARKER, 11.0)
        self.brush.preview(over, frame)
        under.draw(self.painter, frame.mvp, frame.viewport, 1.2)
        self._draw_density(frame)
        over.draw(self.painter, frame.mvp, frame.viewport, 1.0)
        arrow = self.marker_arrow() if marker is not None else None
        if arrow is not None:  # drawn thick, over everything: it is the question
            self.painter.lines(frame.mvp, arrow, MARKER, 2.5, frame.viewport, strip=False)

    def _draw_density(self, frame) -> None:
        """The model's density image of the pane's cloud, coloured by the shader; the count that
        maps to the top colour follows the cloud as it sharpens (and the brightness slider)."""
        hot, model, name = self._density, self.model, frame.pane
        if hot.program is None:  # a shader error is on screen
            return
        size = model.density_size((EXTENT[3] - EXTENT[2]) / frame.world_per_pixel() * frame.pixel_ratio)
        image = model.density(name, size)
        texture = self.cache.get("density " + name, size, lambda: self.gl.texture((size, size), 1, dtype="u4"))
        self.cache.get("upload " + name, (image, texture), lambda: texture.write(image.texels))  # once per image
        vao = self.cache.get("quad", hot.generation, lambda: self.gl.vertex_array(hot.program, []))
        hot["mvp"].write(frame.mvp.tobytes())
        hot["extent"].value = EXTENT
        hot["inverse_log_reference"].value = 1 / math.log1p(max(2.0, 3 * model.typical_count(size) / self.exposure))
        texture.use(0)
        self.gl.blend_func = self.gl.ONE, self.gl.ONE_MINUS_SRC_ALPHA  # the colours are premultiplied
        vao.render(self.gl.TRIANGLE_STRIP, vertices=4)
        self.gl.blend_func = self.gl.SRC_ALPHA, self.gl.ONE_MINUS_SRC_ALPHA

    def _tracers(self, batch: Batch, name: str) -> None:
        """The recorded paths of a few tracked particles, fading with age, and where they are now."""
        _, snapshots = self.run.arrays("tracers" + self.model.suffix(name))
        start = max(len(snapshots) - LANGEVIN_TRAIL, 0) if self.model.langevin else 0
        index = np.unique(np.linspace(start, len(snapshots) - 1, TRAIL_POINTS).round().astype(int))  # the last too
        paths = np.stack([snapshots[i][:len(TRACER_COLORS)] for i in index])  # (points along, tracer, 2)
        paths = np.clip(np.where(np.isfinite(paths), paths, 0.0), -50.0, 50.0)
        fading = np.repeat(TRACER_COLORS[:, None], max(len(paths) - 1, 1), axis=1)  # (tracer, segment, rgba)
        fading[..., 3] = np.linspace(0.1, 0.7, fading.shape[1])  # older parts of a path fade
        batch.polylines(paths, fading)
        batch.points(paths[-1], PALETTE.shadow, 9.0)
        batch.points(paths[-1], TRACER_COLORS, 7.0)

    def arrows_shown(self) -> bool:
        """The score arrows, unless the open challenge asks which way the flow goes (they would say)."""
        challenge = self.challenge.open
        asks_the_way = challenge is not None and challenge.measure == "marker_direction"
        return self.show["score arrows"] and not (asks_the_way and self.challenge.hide_answers)

    def marker_arrow(self) -> np.ndarray | None:
        """Which way the ODE moves a particle at the marker (a fixed length: the direction matters,
        not the speed, which grows like 1/σ² at low t); None while it would answer a challenge."""
        velocity = self.model.marker_velocity()
        speed = float(np.linalg.norm(velocity))
        if self.challenge.hide_answers or not np.isfinite(speed) or speed <= 1e-9:
            return None
        return arrows(self.model.marker[None], velocity[None] / speed, head=0.3)

    def _loop_if_done(self) -> None:
        """With 'loop', a finished run starts again from noise after a short look at the result."""
        if not (self.loop and self.model.done and not self.challenge.playing and not self.transport.paused):
            self._done_since = None
        elif self._done_since is None:
            self._done_since = self.context.time
        elif self.context.time - self._done_since > LOOK_S:
            self.transport.reset()

    def overlay(self, draw_list, frame) -> None:
        model, name, marker = self.model, frame.pane, self._marker(frame.pane)
        first = name == next(iter(model.systems))
        clock = (f"t_L = {model.t:.3f}   σ = {model.sigma:.3f}   (fixed)" if model.langevin
                 else f"t = {model.t:.3f}   σ_t = {model.sigma:.3f}   α_t = {model.alpha:.3f}")
        # the clock is a caption above the first pane's title where there is room (large text: in the title)
        top = frame.to_overlay((EXTENT[0], EXTENT[3]))
        room = 0.0 if top is None else top.y - frame.origin[1]
        captioned = room > 2 * (imgui.get_text_line_height() + 6.0) + 4.0
        title = TITLES[name] if imgui.calc_text_size(TITLES[name]).x < frame.size[0] - 8 else NAMES[name]  # narrow
        if first and not captioned:
            title = f"{NAMES[name]}   {clock.split('   ')[0]}"
        frame.label(draw_list, (EXTENT[0], EXTENT[3]), title, SERIES[name], (2.0, -4.0 - imgui.get_text_line_height()),
                    plate=False)
        if self.show["target blobs"] and model.mixture.n_components <= MASS_LIMIT:  # names for the mass plot
            for i, (mean, cov) in enumerate(zip(model.mixture.means, model.mixture.covariances)):
                # on a plate: the cloud's brightest particles gather exactly there
                frame.label(draw_list, mean + [0.0, 2.0 * math.sqrt(cov[1, 1])], str(i + 1), BLOB, (-4.0, -20.0))
        if marker is not None:
            frame.label(draw_list, marker, f"ODE at t = {self.params['marker_t']:.2f}", MARKER, (8.0, 6.0))
        if first and captioned:
            frame.caption(draw_list, [clock])

    # -- panels ----------------------------------------------------------------------------------
    def panel(self) -> None:
        model, locked, muted = self.model, self.challenge.playing, PALETTE.muted
        if not model.systems:
            return
        imgui.separator_text("Reverse time")
        progress_bar(1.0 if model.langevin else 1.0 - model.t, f"held at t_L = {model.t:.3f}, step {model.time_step}"
                     if model.langevin else f"t = {model.t:.3f}  (1 noise → 0 data)")
        if model.slice < model.count:
            imgui.text_colored(muted, f"{model.count:,} particles: a time step takes "
                                      f"{-(-model.count // model.slice)} steps")
        if model.count > DENSITY_LIMIT:
            imgui.text_colored(muted, f"the density shows {DENSITY_LIMIT:,} of them (the same density)")
        imgui.begin_disabled(locked)  # a challenge's run is the challenge's
        if imgui.button("Run again from noise"):
            self.transport.reset()
        imgui.same_line()
        _, self.loop = imgui.checkbox("loop", self.loop)
        imgui.set_item_tooltip("When t reaches 0, look for two seconds, then start again from the same noise.")
        imgui.end_disabled()
        imgui.separator_text("Show")
        for i, key in enumerate(k for k in self.show if k != "marker" or "ode" in model.systems):
            if i % 2:
                imgui.same_line()
            _, self.show[key] = imgui.checkbox(key, self.show[key])
            if key == "marker":
                imgui.set_item_tooltip("The arrow shows which way the probability-flow ODE moves a particle at the "
                                       "marker, at the marker's time (drag the marker; its time is a parameter).")
        imgui.push_item_width(imgui.get_content_region_avail().x * 0.52)
        _, self.exposure = imgui.slider_float("brightness", self.exposure, 0.1, 10.0, "%.2f",
                                              imgui.SliderFlags_.logarithmic.value)
        imgui.separator_text("Shape the target")
        imgui.begin_disabled(locked)
        _, self.brush.size = imgui.slider_float("blob size σ", self.brush.size, 0.08, 0.8, "%.2f")
        imgui.end_disabled()
        imgui.pop_item_width()
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(muted, "Left-drag on empty space paints blobs; drag a blob's centre to move it; "
                                  "Ctrl+click erases one. Right-drag pans, the wheel zooms.")
        imgui.text_colored(muted, f"{model.mixture.n_components} blobs (at most {MAX_COMPONENTS})")
        if model.done:
            imgui.text_colored(PALETTE.accent, "t reached 0: the clouds stay put. Edit the target, then run again.")
        twins = None if self.challenge.hide_answers else model.twins(self.run)  # it answers 'same landing'
        if twins is not None:
            imgui.separator_text("Twins")
            imgui.text(f"a particle and its twin: {twins[0]:.2f} apart")
            imgui.text_colored(muted, f"the target's spread is {twins[1]:.2f}; the same starting noise, particle by "
                                      "particle (same colour in both panes)")
        imgui.pop_text_wrap_pos()

    # -- plots -----------------------------------------------------------------------------------
    def plots(self) -> None:
        if not self.model.systems:
            return
        # the legends inside (four plots leave no room beside them), where falling curves are not
        along = dict(x_label="step" if self.model.langevin else "t (noise → data)", x_invert=not self.model.langevin,
                     legend_at="south_west")
        # four plots need room: a narrow strip (a small window, large text) keeps the two the challenges read
        roomy = imgui.get_content_region_avail().x > 36 * imgui.get_font_size()
        plot_strip(self.context, [
            Plot("distance to target", lambda run: self._curves(run, "distance", floor=True), y_label="sliced W₂",
                 legend=roomy, **self._y("distance", "distance_floor"), **along),  # narrow: the panes' titles say
            Plot("likelihood gap", lambda run: self._curves(run, "likelihood_gap"), y_label="nats / point",
                 margin=True, when=lambda: roomy, **along),
            Plot("path tortuosity", lambda run: self._curves(run, "tortuosity"), y_label="length / displacement",
                 when=lambda: roomy, **self._y("tortuosity"), **dict(along, legend_at="east")),  # the SDE's climbs
            Plot("mass per blob", self._mass_plot, x_label="blob  (grey: target)", y_label="fraction",
                 y_limits=(0.0, 1.0), legend=False, when=lambda: self.model.mixture.n_components <= MASS_LIMIT)])

    def _series(self, observable: str) -> dict[str, str]:
        """Per cloud, the name of its ``observable``, unless it answers the open challenge."""
        names = {name: observable + self.model.suffix(name) for name in self.model.systems}
        return {name: series for name, series in names.items() if series not in self.challenge.hidden()}

    def _y(self, observable: str, *more: str) -> dict:
        """A y axis that shows every cloud's ``observable`` (and ``more``), the floor clear of the frame."""
        return fitted_y(*map(self.run.series, [*self._series(observable).values(), *more]))

    def _curves(self, run, observable: str, floor: bool = False) -> None:
        """One observable of every cloud against reverse time (or the step, for Langevin)."""
        xs = run.series_steps().astype(np.float64) if self.model.langevin else run.series("t")
        round_ticks(float(xs.min()), float(xs.max()))
        for name, series in self._series(observable).items():
            line(NAMES[name], xs, run.series(series), SERIES[name])
        if floor:
            line("noise floor", xs, run.series("distance_floor"), PALETTE.muted, weight=1.0)

    def cloud_fractions(self) -> dict[str, np.ndarray]:
        """Which fraction of each cloud sits in each blob, as recorded; none while it answers a challenge."""
        if self.challenge.hide_answers:
            return {}
        fractions = {name: self.run.array("mass" + self.model.suffix(name)) for name in self.model.systems}
        return {name: f for name, f in fractions.items() if len(f) == self.model.mixture.n_components}

    def _mass_plot(self, run) -> None:
        """Each cloud's fraction per blob beside the blob's weight (grey); the other plots name the colours."""
        weights, fractions = self.model.mixture.weights, self.cloud_fractions()
        k, width = len(weights), 0.8 / (len(fractions) + 1)
        set_ticks(range(k), [str(i + 1) for i in range(k)])
        groups = [("target", weights, PALETTE.muted)] + [(NAMES[n], f, SERIES[n]) for n, f in fractions.items()]
        for i, (label, values, color) in enumerate(groups):
            bars(label, np.arange(k) - 0.4 + (i + 0.5) * width, values, width, color)
