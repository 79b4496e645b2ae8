"""The Tangent Bundle Traveler: the surface in 3-D, coloured by its curvature, with the loop, the
vector carried round it (exactly, and by the discrete scheme) and a comb of the vectors it has passed;
beside it, a dial of the vector's angle to the frame, unwrapped as a spiral. The mouse turns the
starting vector, or draws a loop on the surface."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.camera import Camera2D, OrbitCamera
from sandbox.gfx.draw import Batch
from sandbox.kit import PALETTE, Plot, line, plot_strip, scatter, vlines, first_fit
from sandbox.kit.plots import manifest_plot
from sandbox.view import View, side_by_side

from . import geometry as geo
from .model import sense

EXACT = PALETTE.yellow  # bright on every colour of the curvature map
DISCRETE = PALETTE.sky
ROTATION = PALETTE.purple  # the second scheme, in the error plot
LOOP = PALETTE.green.mix(PALETTE.white, 0.35)
START = PALETTE.white
FRAME = PALETTE.muted
ENCLOSED = PALETTE.green.alpha(0.42)  # the region the turn's curvature is integrated over
COMB = 28  # vectors of the comb along a lap
PICK_PIXELS = 16.0  # how close (window units) a click must be to the arrow's tip to grab it
#: per surface: the orbit camera's home (target, distance, yaw, pitch) and the arrows' length
HOMES = {"sphere": (((0.0, 0.0, 0.15), 3.9, -0.35, 0.5), 0.5),
         "torus": (((0.0, 0.0, 0.0), 8.4, -0.6, 0.75), 0.62),
         "saddle": (((0.0, 0.0, -0.2), 9.5, -1.05, 0.78), 0.6),
         "cone": (((0.0, 0.0, 0.9), 5.6, -0.6, 0.45), 0.5)}
LIFT = 0.012  # lines and arrows sit this far above the surface, so the surface does not hide them


def arrow_segments(base: np.ndarray, vector: np.ndarray, normal: np.ndarray, length: float) -> np.ndarray:
    """A 3-D arrow as segment pairs: the shaft and a head lying in the tangent plane."""
    v = vector / max(np.linalg.norm(vector), 1e-12)
    side = np.cross(normal, v)
    tip = base + length * v
    head = 0.28 * length
    return np.array([base, tip, tip, tip - head * (0.9 * v + 0.45 * side), tip, tip - head * (0.9 * v - 0.45 * side)])


class TangentBundleView(View):
    camera = "3d"
    controls = (("drag the white arrow's tip", "turns the starting vector"),
                ("drag on the surface (loop: drawn)", "draws a loop; the vector rides along with the point"),
                ("drag elsewhere", "orbits the camera; right-drag pans, the wheel zooms"))

    def __init__(self, context):
        super().__init__(context)
        self.dial_cam = Camera2D(center=(0.0, 0.0), half_height=1.25)
        self.dial_cam.fit(-1.2, 1.2, -1.25, 1.2, 0.02, follow=True)
        self._surface_program = self.program("curvature_surface.glsl")
        self.drag: str | None = None  # "vector" or "draw" while the left button is held on the scene
        self.message = ("", -1e9)  # a line about the last gesture, and when it was said

    def make_camera(self):
        return OrbitCamera(*HOMES["sphere"][0])

    def panes(self):
        return side_by_side(("surface", self.cam, 2.4), ("dial", self.dial_cam, 1.0))

    def on_reset(self) -> None:
        self.drag = None
        self._frame_surface()

    def _frame_surface(self) -> None:
        """The camera's home for the surface shown; the camera goes there when the surface changes."""
        home = HOMES[self.shown.params["surface"]][0]
        if self.cam.home != home:
            self.cam.home = home
            self.cam.reset()

    @property
    def shown(self):
        """The model whose loop is drawn: the sandbox's, or, while a prediction is being chosen, a model
        of the open challenge's own setting (its surface and loop, before the journey)."""
        challenge = self.challenge.open
        if not self.challenge.choosing or challenge is None:
            return self.model
        key = (challenge.id, tuple(sorted(challenge.set.items())))
        if getattr(self, "_setup", (None, None))[0] != key:
            params = self.context.manifest.resolve_params(challenge.set)
            setup = type(self.model)(params, self.model.backend)
            setup.reset(0)
            self._setup = (key, setup)
        return self._setup[1]

    @property
    def arrow_length(self) -> float:
        return HOMES[self.shown.params["surface"]][1]

    @property
    def _run_hidden(self) -> bool:
        """While a prediction is being chosen the journey would answer it: the setup only."""
        return self.challenge.choosing

    # -- the surface --------------------------------------------------------------------------------
    def _mesh_vao(self):
        hot = self._surface_program
        mesh = self.shown.mesh()

        def build():
            value = np.clip(mesh.curvature, -1.0, 1.0)
            data = np.concatenate([mesh.vertices, mesh.normals, value[:, None]], 1).astype(np.float32)
            vbo = self.gl.buffer(data.tobytes())
            ibo = self.gl.buffer(mesh.triangles.astype(np.uint32).tobytes())
            vao = self.gl.vertex_array(hot.program, [(vbo, "3f 3f 1f", "in_pos", "in_normal", "in_value")],
                                       index_buffer=ibo, index_element_size=4)
            return _Owned(vao, vbo, ibo)
        return self.cache.get("mesh", (id(mesh), hot.generation), build).vao

    def _draw_surface(self, frame) -> None:
        hot = self._surface_program
        if hot.program is None:
            return
        vao = self._mesh_vao()
        hot["mvp"].write(np.asarray(frame.mvp, np.float32).tobytes())
        hot["light_dir"].value = (0.35, -0.45, 0.85)
        hot["eye"].value = tuple(float(x) for x in frame.camera.eye)
        hot["alpha"].value = 1.0
        self.gl.disable(self.gl.BLEND)  # opaque: blending costs on the software renderer
        vao.render()
        self.gl.enable(self.gl.BLEND)

    def _grid_lines(self) -> np.ndarray:
        """Chart lines (meridians and parallels, or x and y lines), lifted off the surface."""
        return self.cache.get("grid", id(self.shown.surface), lambda: _Plain(self._build_grid())).value

    def _build_grid(self) -> np.ndarray:
        surface = self.shown.surface
        segments = []
        if isinstance(surface, geo.Saddle):
            for c in np.linspace(-2.0, 2.0, 9):
                s = np.linspace(-1, 1, 40) * math.sqrt(max(surface.extent ** 2 - c * c, 0.0))
                for u, v in ((np.full_like(s, c), s), (s, np.full_like(s, c))):
                    segments.append(self._lifted_polyline(surface, u, v))
        else:
            _, vs = surface.grid(2, 2)
            if isinstance(surface, geo.Sphere):
                u_lines, v_lines = np.radians(np.arange(-180, 180, 30)), np.radians(np.arange(30, 180, 30))
            elif isinstance(surface, geo.Torus):
                u_lines, v_lines = np.radians(np.arange(-180, 180, 30)), np.radians(np.arange(-180, 180, 45))
            else:
                u_lines, v_lines = np.radians(np.arange(-180, 180, 30)), np.arange(0.5, surface.length + 0.01, 0.5)
            t = np.linspace(vs[0], vs[-1], 48)  # the software renderer pays per segment
            for u in u_lines:
                segments.append(self._lifted_polyline(surface, np.full_like(t, u), t))
            t = np.linspace(-math.pi, math.pi, 96)
            for v in v_lines:
                segments.append(self._lifted_polyline(surface, t, np.full_like(t, v)))
        return np.concatenate(segments)

    @staticmethod
    def _lifted_polyline(surface, u, v) -> np.ndarray:
        p = surface.point(u, v) + 0.5 * LIFT * surface.normal(u, v)
        return np.stack([p[:-1], p[1:]], 1).reshape(-1, 3)

    # -- the scene ---------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        self._frame_surface()
        if frame.pane == "dial":
            return self._dial_scene(frame)
        model, mvp, vp = self.shown, frame.mvp, frame.viewport
        self._draw_surface(frame)
        loop = model.loop()
        self._shade_enclosed(frame)
        grid, batch, bold = Batch(3), Batch(3), Batch(3)
        grid.segments(self._grid_lines(), PALETTE.white.alpha(0.16))
        lifted = (loop.points + LIFT * loop.normals)[::2]  # 360 segments read as smooth
        batch.polylines(lifted[None], LOOP)
        if loop.corners is not None:
            normals = loop.corners / np.linalg.norm(loop.corners, axis=1, keepdims=True) if loop.kind == "triangle" \
                and isinstance(model.surface, geo.Sphere) else None
            batch.points(loop.corners + LIFT * (normals if normals is not None else 0.0), LOOP, 9.0)
        length = self.arrow_length
        start = loop.points[0] + LIFT * loop.normals[0]
        bold.segments(arrow_segments(start, loop.vectors[0], loop.normals[0], length), START)
        drawing = model.drawing_transport()
        if drawing is not None:  # the point dragged drags the vector along
            batch.polylines((drawing.points + LIFT * drawing.normals)[None], PALETTE.white.alpha(0.8))
            end = drawing.points[-1] + LIFT * drawing.normals[-1]
            bold.segments(arrow_segments(end, drawing.vectors[-1], drawing.normals[-1], length), EXACT)
            batch.points(end[None], EXACT, 11.0)
        elif not self._run_hidden:
            self._journey(batch, bold, loop, length)
        if isinstance(model.surface, geo.Cone):
            batch.points(np.zeros((1, 3)), PALETTE.vermillion, 10.0)
        grid.draw(self.painter, mvp, vp, 1.0)
        batch.draw(self.painter, mvp, vp, 1.8)
        bold.draw(self.painter, mvp, vp, 4.0)

    def _shade_enclosed(self, frame) -> None:
        """The region whose ∬K dA the loop's turn equals, tinted (hidden while it would answer)."""
        if self.challenge.hide_answers or self.shown.drawing is not None:
            return
        mesh, triangles = self.shown.mesh(), self.shown.enclosed_triangles()
        if not len(triangles):
            return
        points = mesh.vertices[triangles.ravel()] + 0.5 * LIFT * mesh.normals[triangles.ravel()]  # under the lines
        self.painter.triangles(frame.mvp, points, ENCLOSED)

    def _journey(self, batch: Batch, bold: Batch, loop: geo.Loop, length: float) -> None:
        """The comb of vectors the traveller has passed this lap, the traveller with both vectors and
        its frame's first axis, and, after a lap, the vector that came home."""
        model = self.shown
        at = model.position()
        m = len(loop.points) - 1
        passed = np.arange(0, int(model.progress * m) + 1, max(m // COMB, 1))
        turned = model.laps * loop.frame_turn
        for k in passed:
            n = loop.normals[k]
            e1 = loop.e1[k] - n * (loop.e1[k] @ n)
            e1 /= np.linalg.norm(e1)
            a = loop.frame_angle[k] + turned
            v = math.cos(a) * e1 + math.sin(a) * np.cross(n, e1)
            batch.segments(arrow_segments(loop.points[k] + LIFT * n, v, n, 0.55 * length), EXACT.alpha(0.75))
        base = at["point"] + LIFT * at["normal"]
        batch.segments(arrow_segments(base, at["e1"], at["normal"], 0.6 * length), FRAME.alpha(0.8))
        bold.segments(arrow_segments(base, at["discrete"], at["normal"], length), DISCRETE)
        bold.segments(arrow_segments(base, at["vector"], at["normal"], length), EXACT)
        batch.points(base[None], EXACT, 12.0)
        if model.laps > 0:  # the vector that came home, at the start, beside the one that left
            home = loop.points[0] + LIFT * loop.normals[0]
            n, e1 = loop.normals[0], loop.e1[0]
            a = loop.frame_angle[0] + model.laps * loop.frame_turn
            v = math.cos(a) * e1 + math.sin(a) * np.cross(n, e1)
            bold.segments(arrow_segments(home, v, n, length), EXACT.alpha(0.6))

    def _dial_scene(self, frame) -> None:
        model, batch, bold = self.shown, Batch(2), Batch(2)
        t = np.linspace(0, geo.TAU, 121)
        circle = np.stack([np.cos(t), np.sin(t)], 1)
        batch.polylines(circle[None], PALETTE.grid)
        batch.segments(np.array([[-1.1, 0.0], [1.1, 0.0], [0.0, -1.1], [0.0, 1.1]]), PALETTE.grid.alpha(0.6))
        loop = model.loop()
        phi0 = float(loop.frame_angle[0])
        bold.segments(np.array([[0.0, 0.0], [math.cos(phi0), math.sin(phi0)]]), START)
        if not self._run_hidden and model.drawing is None:
            phi = float(model.position()["frame_angle"])
            spiral_t = np.linspace(phi0, phi, max(int(abs(phi - phi0) / 0.03), 2))
            total = max(abs(phi - phi0), 1e-9)
            radius = 0.35 + 0.5 * np.abs(spiral_t - phi0) / max(total, geo.TAU)
            batch.polylines(np.stack([radius * np.cos(spiral_t), radius * np.sin(spiral_t)], 1)[None], EXACT.alpha(0.7))
            d = float(model.discrete_frame_angle())
            bold.segments(np.array([[0.0, 0.0], [0.92 * math.cos(d), 0.92 * math.sin(d)]]), DISCRETE)
            bold.segments(np.array([[0.0, 0.0], [math.cos(phi), math.sin(phi)]]), EXACT)
        batch.draw(self.painter, frame.mvp, frame.viewport, 1.5)
        bold.draw(self.painter, frame.mvp, frame.viewport, 3.0)

    # -- text ----------------------------------------------------------------------------------------
    def overlay(self, draw_list, frame) -> None:
        if frame.pane == "dial":
            return self._dial_overlay(draw_list, frame)
        model, loop = self.shown, self.shown.loop()
        room = frame.size[0] - 24
        lines = [(first_fit(self._loop_words(), room), PALETTE.text)]
        notice = model.notice
        said, when = self.message
        if said and self.context.time - when < 5.0:
            notice = said
        if notice:
            lines.append((first_fit((notice, notice.split(";")[0].split(":")[0]), room), PALETTE.purple))
        elif not self.challenge.hide_answers and model.laps == 0 and model.drawing is None:
            lines.append((first_fit(("drag the white arrow's tip to turn the vector", "drag the white arrow"), room),
                          PALETTE.muted))
        if self._run_hidden:
            lines.append((first_fit(("the journey is hidden while you predict: lock in to watch it",
                                    "hidden while you predict"), room), PALETTE.muted))
        frame.caption(draw_list, lines)
        if not self.challenge.hide_answers and model.laps > 0 and model.drawing is None:
            turn, seen = math.degrees(loop.turn), math.degrees(loop.wrapped)
            lines = [(f"came home turned {turn:+.1f}°", EXACT), (sense(loop.turn, loop.orientation), EXACT)]
            if abs(turn - seen) > 0.05:
                lines.append((f"seen as {seen:+.1f}°", EXACT))
            frame.caption(draw_list, lines, corner="bottom-left")
        labels = [(loop.points[0] + LIFT * loop.normals[0], "start", START, 3)]
        if isinstance(model.surface, geo.Cone):
            labels.append((np.zeros(3), "apex: all the curvature", PALETTE.vermillion, 2))
        if not self._run_hidden and model.drawing is None:
            at = model.position()
            labels.append((at["point"] + self.arrow_length * at["vector"], "carried", EXACT, 2))
        frame.labels(draw_list, labels)

    def _loop_words(self) -> tuple[str, ...]:
        """What the loop is, longest wording first."""
        p, loop = self.shown.params, self.shown.loop()
        name = p["surface"]
        if loop.kind == "drawn":
            return f"your loop on the {name}", "your loop"
        if loop.kind == "triangle":
            if name == "sphere":
                return "a geodesic triangle on the sphere", "geodesic triangle"
            return "a geodesic triangle round the apex", "geodesic triangle"
        if name == "sphere":
            return f"the latitude at colatitude θ = {p['colatitude']:g}°", f"latitude θ = {p['colatitude']:g}°"
        if name == "torus":
            return f"the torus's parallel at v = {p['tube_angle']:g}°", f"parallel v = {p['tube_angle']:g}°"
        if name == "saddle":
            return f"the circle of radius ρ = {p['radius']:g} round the saddle point", f"circle ρ = {p['radius']:g}"
        return f"a circle round the cone's apex (α = {p['cone_angle']:g}°)", f"round the apex, α = {p['cone_angle']:g}°"

    def _dial_overlay(self, draw_list, frame) -> None:
        model, loop = self.shown, self.shown.loop()
        lines = [(first_fit(("the vector in the frame, e₁ →", "in the frame, e₁ →", "e₁ →"), frame.size[0] - 24), PALETTE.text)]
        if not self.challenge.hide_answers and model.drawing is None:
            turned = math.degrees(model.position()["frame_angle"] - loop.frame_angle[0])
            lines.append((first_fit((f"{turned:+.1f}° so far", f"{turned:+.0f}°"), frame.size[0] - 24), EXACT))
        frame.caption(draw_list, lines)
        frame.caption(draw_list, [("start", START), ("exact", EXACT),
                                  (first_fit((f"{model.params['steps']} steps", f"{model.params['steps']}"), frame.size[0] - 24), DISCRETE)],
                      corner="bottom-left")

    # -- input --------------------------------------------------------------------------------------
    def handle_input(self, frame) -> bool:
        if frame.pane != "surface":
            return False
        inp, model = frame.input, self.model
        if self.challenge.playing or self.challenge.choosing:
            self.drag = None
            return False
        if not inp.left or inp.shift:
            if self.drag == "draw":
                said = model.finish_drawing()
                if said:
                    self.message = (said, self.context.time)
            self.drag = None
            return False
        if self.drag is None and inp.clicked and inp.hovered:
            if self._near_tip(frame):
                self.drag = "vector"
            elif model.params["loop"] == "drawn":
                hit = self._pick(frame)
                if hit is not None:
                    model.begin_drawing(*hit)
                    self.drag = "draw"
        if self.drag == "vector":
            self._turn_vector(frame)
        elif self.drag == "draw":
            hit = self._pick(frame)
            if hit is not None:
                last = model.drawing[-1] if model.drawing is not None else None
                if last is None or np.hypot(*(np.asarray(hit) - last)) > 0.03:
                    model.extend_drawing(*hit)
        return self.drag is not None

    def _pick(self, frame) -> tuple[float, float] | None:
        """The chart point of the surface under the mouse (the nearest crossing), or None."""
        surface = self.model.surface
        origin, direction = frame.mouse_ray()
        reach = 2.5 * self.cam.distance
        ts = np.linspace(0.0, reach, 1200)
        f = surface.implicit(origin + ts[:, None] * direction)
        crossing = np.nonzero(np.sign(f[:-1]) != np.sign(f[1:]))[0]
        for k in crossing:
            lo, hi = ts[k], ts[k + 1]
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                if np.sign(surface.implicit(origin + mid * direction)) == np.sign(f[k]):
                    lo = mid
                else:
                    hi = mid
            u, v = surface.chart(origin + 0.5 * (lo + hi) * direction)
            if surface.in_chart(u, v):
                return u, v
        return None

    def _near_tip(self, frame) -> bool:
        loop = self.model.loop()
        tip = loop.points[0] + LIFT * loop.normals[0] + self.arrow_length * loop.vectors[0]
        at = frame.camera.world_to_screen(tip, frame.viewport)
        if at is None:
            return False
        gap = np.hypot(at[0] - frame.input.mouse[0], at[1] - frame.input.mouse[1]) / frame.pixel_ratio
        return gap <= PICK_PIXELS

    def _turn_vector(self, frame) -> None:
        """Point the starting vector at the mouse, within the tangent plane at the start."""
        loop = self.model.loop()
        p, n, e1 = loop.points[0], loop.normals[0], loop.e1[0]
        origin, direction = frame.mouse_ray()
        facing = direction @ n
        if abs(facing) < 1e-6:
            return
        hit = origin + ((p - origin) @ n) / facing * direction
        d = hit - p
        angle = math.degrees(math.atan2(float(d @ np.cross(n, e1)), float(d @ e1))) % 360.0
        if abs(angle - float(self.params["vector_angle"])) > 0.2:
            self.context.set_param("vector_angle", round(angle, 1))

    # -- panels ---------------------------------------------------------------------------------------
    def panel(self) -> None:
        model, loop = self.shown, self.shown.loop()
        hide = self.challenge.hide_answers
        imgui.separator()
        imgui.push_text_wrap_pos(0.0)
        if hide:
            imgui.text_colored(PALETTE.muted, "The turn, the enclosed curvature and Gauss-Bonnet show after the verdict.")
        else:
            wrapped, unwrapped = math.degrees(loop.wrapped), math.degrees(loop.turn)
            imgui.text_colored(EXACT, f"turn after a lap: {unwrapped:+.2f}°, {sense(loop.turn, loop.orientation)}")
            imgui.text(f"seen (wrapped): {wrapped:+.2f}°   in the frame: {math.degrees(loop.frame_turn):+.2f}°")
            if loop.windings:
                pole = model.surface.frame_poles[0] if model.surface.frame_poles else "centre"
                imgui.text_colored(PALETTE.muted, f"(the frame turns {loop.windings:+d} × 360° round the {pole})")
            imgui.text_colored(PALETTE.green, f"enclosed ∫K dA: {math.degrees(loop.enclosed):+.2f}°")
            imgui.text_colored(PALETTE.muted, loop.note)
            gap = abs(loop.turn - loop.enclosed)
            imgui.text(f"Gauss-Bonnet: |turn − ∫K dA| = {math.degrees(gap):.1e}°")
            if loop.closed_form is not None:
                imgui.text(f"closed form {math.degrees(loop.closed_form):+.4f}°, integrated: "
                           f"{math.degrees(abs(loop.closed_form - loop.frame_turn)):.0e}° apart")
            if "excess" in loop.extra:
                angles = ", ".join(f"{math.degrees(a):.1f}°" for a in loop.extra["interior_angles"])
                imgui.text(f"angles {angles}: excess {math.degrees(loop.extra['excess']):.2f}°")
            path, curve = model.discrete_path(), model.error_curve()
            error = math.degrees(abs(float(geo.wrap(path["turn"] - loop.turn))))
            imgui.text_colored(DISCRETE, f"projection, {model.params['steps']} steps: {math.degrees(path['turn']):+.2f}°, "
                                         f"error {error:.2g}°, order {curve['order']:.2f}")
            imgui.text_colored(ROTATION, f"smallest rotation between tangent planes: order {curve['rotation_order']:.2f}")
        imgui.separator()
        defects = model.defects()
        imgui.text(f"mesh: Σ angle defects = {math.degrees(defects['sum']):.1f}° = 2π × {defects['euler']:.3f}")
        gauge = model.gauge()
        imgui.text_colored(PALETTE.muted, "gauge bridge: a feature in per-vertex frames, frames turned at random")
        imgui.text(f"transported layer changes {gauge['gauge_error']:.0e}, naive layer {gauge['naive_error']:.2f}")
        imgui.pop_text_wrap_pos()
        if model.params["loop"] == "drawn" and not self.challenge.playing and imgui.button("Clear the drawn loop"):
            model.clear_drawn()

    def plots(self) -> None:
        hide = self.challenge.hide_answers
        angle = dataclasses.replace(manifest_plot(self.context, "angle"), min_width=10, priority=2)
        items = [angle, Plot("error after a lap against steps", self._error_plot, x_label="steps per lap",
                               y_label="error (°)", x_log=True, y_log=True, min_width=12, priority=1)]
        if self.shown.params["surface"] == "sphere" and self.shown.loop().kind == "circle" and not hide:
            items.append(Plot("turn against colatitude", self._latitude_plot, x_label="colatitude θ (°)",
                              y_label="°", min_width=12, priority=0))
        plot_strip(self.context, items)

    def _error_plot(self, run) -> None:
        data = self.shown.error_curve()
        steps, errors = data["steps"], np.degrees(data["errors"])
        keep = errors > 0
        if keep.any():
            line("projection", steps[keep], errors[keep], DISCRETE, marker=4.0)
            reference = errors[keep][-1] * steps[keep][-1] / steps  # through the finest point: the asymptote
            line("1/steps", steps, reference, PALETTE.muted, weight=1.0)
        rotation = np.degrees(data["rotation_errors"])
        kept = rotation > 0
        if kept.any():
            line("rotation", steps[kept], rotation[kept], ROTATION, marker=4.0)
            line("1/steps²", steps, rotation[kept][-1] * (steps[kept][-1] / steps) ** 2, PALETTE.muted.alpha(0.6),
                 weight=1.0)
        vlines([float(self.shown.params["steps"])], ["now"], PALETTE.text)

    def _latitude_plot(self, run) -> None:
        theta = np.linspace(0.0, 180.0, 181)
        unwrapped = 360.0 * (1.0 - np.cos(np.radians(theta)))
        line("unwrapped", theta, unwrapped, PALETTE.green)
        line("as seen", theta, np.degrees(geo.wrap(np.radians(unwrapped))), EXACT)
        loop = self.shown.loop()
        scatter("this loop", [float(self.shown.params["colatitude"])], [math.degrees(loop.turn)], EXACT, size=6.0)



class _Owned:
    """GL objects released together (the cache calls ``release``)."""

    def __init__(self, vao, *buffers):
        self.vao, self.buffers = vao, buffers

    def release(self) -> None:
        for obj in (self.vao, *self.buffers):
            obj.release()


class _Plain:
    """A value kept in the GL cache that holds no GL object."""

    def __init__(self, value):
        self.value = value

    def release(self) -> None:
        pass

