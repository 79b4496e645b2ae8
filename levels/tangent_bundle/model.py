"""The Tangent Bundle Traveler: a tangent vector carried round a loop on a curved surface.

A run is the traveller's journey: one step moves it 1/LAP_STEPS of the way round the loop, lap after
lap, carrying the vector by parallel transport (the connection integrated, :mod:`.geometry`) and, beside
it, by the discrete scheme (projection onto each next tangent plane, ``steps`` per lap). Everything the
level shows is computed here or in :mod:`.geometry`, :mod:`.mesh` and :mod:`.gauge`; the view only draws.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from . import geometry as geo
from .gauge import gauge_check
from .mesh import angle_defect_sum, surface_mesh

#: Steps of one lap round the loop (4 s at 60 steps a second).
LAP_STEPS = 240
#: Dense samples of a loop for drawing and animation.
SAMPLES = 720
#: The numbers of steps the discrete scheme's error is measured at (the order is fitted on them).
ERROR_STEPS = (8, 16, 32, 64, 128, 256, 512, 1024, 2048)
#: The fit of the order uses these (the smallest are not yet in the asymptotic regime).
ORDER_STEPS = (64, 128, 256, 512, 1024, 2048)
#: A drawn loop needs this many chart points to be a loop.
MIN_DRAWN = 4
#: Turns smaller than this (radians) have no sense: "no turn".
NO_TURN = 1e-6
SURFACES = ("sphere", "torus", "saddle", "cone")
LOOPS = ("circle", "geodesic triangle", "drawn")
#: The circle's distance from the cone's apex (the turn does not depend on it).
CONE_CIRCLE = 1.4
#: The cone's geodesic triangle: corners at this distance from the apex.
CONE_TRIANGLE = 1.5


def sense(turn: float, orientation: int = 1) -> str:
    """Which way a turn goes, relative to the loop: the way the loop goes round what it encloses
    (``orientation`` +1: counter-clockwise about the normal) is "with the loop"."""
    if abs(turn) < NO_TURN:
        return "no turn"
    return "with the loop" if turn * orientation > 0 else "against the loop"


def cone_triangle(surface: geo.Cone, vector_angle: float, distance: float = CONE_TRIANGLE,
                  samples: int = SAMPLES) -> geo.Loop:
    """A geodesic triangle round the cone's apex: three corners at ``distance`` from it, a third of the
    way round each; each edge is the straight line of the cone rolled out flat."""
    k = math.sin(surface.alpha)  # the rolled-out cone is a sector of angle 2π sin α
    corners_u = np.array([0.0, geo.TAU / 3, 2 * geo.TAU / 3, geo.TAU]) + geo.CIRCLE_START
    per = samples // 3

    def curve(t):
        t = np.asarray(t, np.float64)
        edge = np.clip(np.floor(t).astype(int), 0, 2)
        s = (t - edge)[..., None]
        ua, ub = corners_u[edge], corners_u[edge + 1]
        span = (ub - ua) * k  # the edge's angle at the apex, rolled out: 2π sin α / 3 < π
        a = np.stack([np.ones_like(span), np.zeros_like(span)], -1) * distance  # the edge's start, turned to angle 0
        b = np.stack([np.cos(span), np.sin(span)], -1) * distance
        p = a + s * (b - a)  # straight in the rolled-out plane
        dp = b - a
        r2 = np.sum(p * p, -1)
        u = ua + np.arctan2(p[..., 1], p[..., 0]) / k
        du = (p[..., 0] * dp[..., 1] - p[..., 1] * dp[..., 0]) / r2 / k
        dv = np.sum(p * dp, -1) / np.sqrt(r2)
        return np.stack([u, np.sqrt(r2)], -1), np.stack([du, dv], -1)

    t = np.concatenate([np.linspace(e, e + 1, per + 1)[:-1] for e in range(3)] + [[3.0]])
    closed = 3 * math.pi - 3 * (geo.TAU / 3) * k - math.pi - geo.TAU  # angle excess − 2π: the frame's count
    loop = geo.chart_loop(surface, t, curve, vector_angle, "triangle", closed, "the geodesic triangle round the apex")
    uv = curve(np.array([0.0, 1.0, 2.0]))[0]
    loop.corners = surface.point(uv[:, 0], uv[:, 1])
    loop.extra["interior_angles"] = np.full(3, math.pi - (geo.TAU / 3) * k)
    loop.extra["excess"] = float(loop.extra["interior_angles"].sum() - math.pi)
    return loop


def _inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Whether each 2-D point is inside the closed polygon (even-odd rule)."""
    x, y = points[:, :1], points[:, 1:]
    a, b = polygon[None, :-1], polygon[None, 1:]
    crosses = (a[..., 1] > y) != (b[..., 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = a[..., 0] + (y - a[..., 1]) * (b[..., 0] - a[..., 0]) / (b[..., 1] - a[..., 1])
    return np.sum(crosses & (x < at), axis=1) % 2 == 1


def enclosed_vertices(surface: geo.Surface, loop: geo.Loop, vertices: np.ndarray, chart: np.ndarray) -> np.ndarray:
    """Which mesh vertices lie in the region the loop's ∬K dA is taken over: for a loop round the
    frame's pole, between the pole and the loop; for the torus's parallel, the band to the outer
    equator; for a geodesic triangle on the sphere, its inside; else the inside of the chart polygon."""
    if loop.kind == "triangle" and isinstance(surface, geo.Sphere):
        c = loop.corners
        return np.all(np.stack([vertices @ np.cross(c[k], c[(k + 1) % 3]) > 0 for k in range(3)]), axis=0)
    uv = loop.chart
    if isinstance(surface, geo.Torus) and loop.kind == "circle":
        level = uv[0, 1]
        return (np.minimum(0.0, level) - 1e-9 <= chart[:, 1]) & (chart[:, 1] <= np.maximum(0.0, level) + 1e-9)
    if loop.windings:  # between the pole (v = 0) and the loop: v below the loop's v at that u
        order = np.argsort(np.mod(uv[:, 0], geo.TAU))
        us, vs = np.mod(uv[order, 0], geo.TAU), uv[order, 1]
        curve = np.interp(np.mod(chart[:, 0], geo.TAU), us, vs, period=geo.TAU)
        return chart[:, 1] <= curve
    inside = np.zeros(len(chart), bool)
    shifts = [0.0] if not isinstance(surface, (geo.Torus, geo.Sphere, geo.Cone)) else [-geo.TAU, 0.0, geo.TAU]
    for du in shifts:
        for dv in ([-geo.TAU, 0.0, geo.TAU] if isinstance(surface, geo.Torus) else [0.0]):
            inside |= _inside_polygon(chart + [du, dv], uv)
    return inside


def _order(errors: np.ndarray) -> float:
    """The order fitted over ORDER_STEPS (nan where a scheme is exact to round-off)."""
    picked = errors[[ERROR_STEPS.index(n) for n in ORDER_STEPS]]
    return geo.order_of(ORDER_STEPS, picked) if np.all(picked > 1e-13) else float("nan")


class TangentBundleModel(Model):
    """The traveller, its loop and the two transports.

    For the view: ``surface`` (a :class:`.geometry.Surface`), ``loop()`` (the current
    :class:`.geometry.Loop`), ``position()`` (point, normal, exact vector, discrete vector, frame e₁),
    ``discrete_path()``, ``error_curve()``, ``mesh()``, ``drawn`` (the chart points drawn so far),
    ``notice`` (a line about the choice made, or "").
    """

    work_unit = "traveller steps"

    def __init__(self, params: dict[str, Any], backend: str = "numpy"):
        super().__init__(params, backend)
        self.drawn_paths: dict[str, np.ndarray] = {}  # per surface: the chart points of the loop drawn
        self.drawing: np.ndarray | None = None  # a loop being drawn (open), chart points
        self.drawn_version = 0
        self.t = 0

    # -- life cycle --------------------------------------------------------------------------------
    def reset(self, seed: int = 0) -> None:
        self.t = 0  # the loop is deterministic: the seed has nothing to choose
        self.drawing = None

    def step(self) -> None:
        self.t += 1

    def set_param(self, name: str, value: Any) -> None:
        self.params[name] = value

    @property
    def surface(self) -> geo.Surface:
        return self._surface()

    @derived("surface", "cone_angle")
    def _surface(self) -> geo.Surface:
        return geo.make_surface(self.params["surface"], float(self.params["cone_angle"]))

    @property
    def notice(self) -> str:
        """A line about the chosen loop when it is not what was asked for (or is still to be drawn)."""
        loop, name = self.params["loop"], self.params["surface"]
        if loop == "geodesic triangle" and name not in ("sphere", "cone"):
            return f"geodesic triangles are built on the sphere and the cone; on the {name} the loop is its circle"
        if loop == "drawn" and self.drawn_paths.get(name) is None:
            return "drag on the surface to draw a loop; until then, the circle"
        return ""

    # -- the loop -----------------------------------------------------------------------------------
    def vector_angle(self) -> float:
        return math.radians(float(self.params["vector_angle"]))

    def circle_level(self) -> float:
        """The circle's parameter on the current surface (colatitude, tube angle, radius, distance)."""
        name = self.params["surface"]
        if name == "sphere":
            return math.radians(float(self.params["colatitude"]))
        if name == "torus":
            return math.radians(float(self.params["tube_angle"]))
        if name == "saddle":
            return float(self.params["radius"])
        return CONE_CIRCLE

    def loop(self) -> geo.Loop:
        """The loop the traveller goes round, with the exactly transported vector along it."""
        return self._loop()

    @derived("surface", "loop", "colatitude", "tube_angle", "radius", "cone_angle", "triangle_size", "vector_angle",
             key=lambda self: self.drawn_version)
    def _loop(self) -> geo.Loop:
        surface, kind, angle = self.surface, self.params["loop"], self.vector_angle()
        if kind == "geodesic triangle" and isinstance(surface, geo.Sphere):
            corners = geo.sphere_triangle_corners(math.radians(float(self.params["triangle_size"])))
            return geo.sphere_triangle_loop(corners, angle, SAMPLES)
        if kind == "geodesic triangle" and isinstance(surface, geo.Cone):
            return cone_triangle(surface, angle)
        drawn = self.drawn_paths.get(self.params["surface"])
        if kind == "drawn" and drawn is not None:
            t, curve = geo.polyline(drawn)
            return geo.chart_loop(surface, t, curve, angle, "drawn", None, "the region the drawn loop encloses")
        return geo.circle_loop(surface, self.circle_level(), angle, SAMPLES)

    # -- drawing a loop ----------------------------------------------------------------------------------
    def begin_drawing(self, u: float, v: float) -> None:
        """Start drawing a loop at chart point (u, v)."""
        self.drawing = np.array([[u, v]], np.float64)
        self.drawn_version += 1

    def extend_drawing(self, u: float, v: float) -> None:
        """Add a chart point to the loop being drawn (angles unwrapped so the path stays continuous)."""
        if self.drawing is None:
            return self.begin_drawing(u, v)
        last = self.drawing[-1]
        point = np.array([u, v], np.float64)
        if self.surface.frame_poles or isinstance(self.surface, geo.Torus):
            point[0] = last[0] + float(geo.wrap(point[0] - last[0]))
        if isinstance(self.surface, geo.Torus):
            point[1] = last[1] + float(geo.wrap(point[1] - last[1]))
        self.drawing = np.vstack([self.drawing, point])
        self.drawn_version += 1

    def finish_drawing(self) -> str:
        """Close the loop being drawn back to its start; returns "" or a line saying why it was not kept."""
        path, self.drawing = self.drawing, None
        self.drawn_version += 1
        if path is None or len(path) < MIN_DRAWN:
            return "too short to be a loop: drag further round before letting go"
        closing = path[0].copy()
        if self.surface.frame_poles:  # back to the start, whole windings round the pole kept
            closing[0] = path[-1, 0] + float(geo.wrap(path[0, 0] - path[-1, 0]))
        if isinstance(self.surface, geo.Torus):
            closing = path[-1] + geo.wrap(path[0] - path[-1])
            if np.any(np.abs(closing - path[0]) > 1.0):
                return "this loop goes round the torus: it bounds no disc, so keep the parallels for that"
        path = np.vstack([path, closing])
        if np.ptp(path, axis=0).max() < 0.05:
            return "too small to be a loop: drag further round before letting go"
        self.drawn_paths[self.params["surface"]] = path
        return ""

    def drawing_transport(self) -> geo.Loop | None:
        """The vector carried along the loop being drawn, so far (the point dragged drags the vector)."""
        if self.drawing is None or len(self.drawing) < 2:
            return None
        return self._drawing_transport()

    @derived("surface", "cone_angle", "vector_angle", key=lambda self: self.drawn_version)
    def _drawing_transport(self) -> geo.Loop:
        t, curve = geo.polyline(self.drawing)
        return geo.chart_loop(self.surface, t, curve, self.vector_angle(), "drawing")

    def clear_drawn(self) -> None:
        """Forget the loop drawn on this surface."""
        self.drawn_paths.pop(self.params["surface"], None)
        self.drawing = None
        self.drawn_version += 1

    # -- the journey ---------------------------------------------------------------------------------
    @property
    def laps(self) -> int:
        return self.t // LAP_STEPS

    @property
    def progress(self) -> float:
        return (self.t % LAP_STEPS) / LAP_STEPS

    def position(self) -> dict[str, np.ndarray | float]:
        """The traveller now: ``point``, ``normal``, ``vector`` (exact), ``discrete`` (the discrete
        scheme's), ``e1`` and ``frame_angle`` (the exact vector's angle to e₁ over all laps, radians).
        Kept until the traveller moves or the loop changes: the view asks for it several times a frame."""
        key = (self.t, id(self.loop()), id(self.discrete_path()))
        cached = getattr(self, "_position", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        value = self._position_now()
        self._position = (key, value)
        return value

    def _position_now(self) -> dict[str, np.ndarray | float]:
        loop = self.loop()
        point, normal, _, angle = loop.at(self.progress)
        turned = angle + self.laps * loop.frame_turn
        _, _, e1v, _ = self._frame_at(self.progress)
        e2v = np.cross(normal, e1v)
        exact = math.cos(turned) * e1v + math.sin(turned) * e2v
        d_angle = self.discrete_frame_angle()
        return {"point": point, "normal": normal, "vector": exact, "e1": e1v, "frame_angle": turned,
                "discrete": math.cos(d_angle) * e1v + math.sin(d_angle) * e2v, "discrete_angle": d_angle}

    def _frame_at(self, fraction: float):
        loop = self.loop()
        m = len(loop.points) - 1
        k = min(int(fraction * m), m - 1)
        s = fraction * m - k
        e1 = (1 - s) * loop.e1[k] + s * loop.e1[k + 1]
        n = (1 - s) * loop.normals[k] + s * loop.normals[k + 1]
        n /= np.linalg.norm(n)
        e1 -= n * (e1 @ n)
        return None, n, e1 / max(np.linalg.norm(e1), 1e-12), None

    @derived("surface", "loop", "colatitude", "tube_angle", "radius", "cone_angle", "triangle_size", "vector_angle",
             "steps", key=lambda self: self.drawn_version)
    def discrete_path(self) -> dict[str, np.ndarray]:
        """The discrete scheme round the loop: ``points``, ``vectors`` and ``angles`` (each vector's
        angle to the loop's frame e₁ there, unwrapped), ``turn`` (wrapped, radians)."""
        loop = self.loop()
        steps = int(self.params["steps"])
        turn, points, vectors = geo.discrete_turn(loop, steps)
        x = np.linspace(0.0, len(loop.points) - 1, steps + 1)
        k = np.minimum(x.astype(int), len(loop.points) - 2)
        s = (x - k)[:, None]
        e1 = (1 - s) * loop.e1[k] + s * loop.e1[k + 1]
        n = (1 - s) * loop.normals[k] + s * loop.normals[k + 1]
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        e1 -= n * np.sum(e1 * n, 1, keepdims=True)
        e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
        e2 = np.cross(n, e1)
        angles = np.unwrap(np.arctan2(np.sum(vectors * e2, 1), np.sum(vectors * e1, 1)))
        angles += loop.frame_angle[0] - angles[0]
        return {"points": points, "vectors": vectors, "angles": angles, "turn": turn,
                "frame_turn": float(angles[-1] - angles[0])}

    def discrete_frame_angle(self) -> float:
        """The discrete vector's angle to e₁ where the traveller is (the last step it has taken)."""
        path = self.discrete_path()
        steps = len(path["angles"]) - 1
        k = min(int(self.progress * steps + 1e-9), steps)
        return float(path["angles"][k] + self.laps * path["frame_turn"])

    @derived("surface", "loop", "colatitude", "tube_angle", "radius", "cone_angle", "triangle_size", "vector_angle",
             key=lambda self: self.drawn_version)
    def error_curve(self) -> dict[str, np.ndarray | float]:
        """The two schemes' errors against the number of steps, and their fitted orders: projection
        (``errors``, ``order``) and the smallest rotation between tangent planes (``rotation_errors``,
        ``rotation_order``; a rotation turns every vector alike, so it does not depend on the start)."""
        loop = self.loop()
        errors = geo.discrete_errors(loop, ERROR_STEPS)
        rotation = self._rotation_curve()
        return {"steps": np.array(ERROR_STEPS, np.float64), "errors": errors, "order": _order(errors),
                "rotation_errors": rotation, "rotation_order": _order(rotation)}

    @derived("surface", "loop", "colatitude", "tube_angle", "radius", "cone_angle", "triangle_size",
             key=lambda self: self.drawn_version)
    def _rotation_curve(self) -> np.ndarray:
        return geo.rotation_errors(self.loop(), ERROR_STEPS)

    @derived("surface", "cone_angle")
    def mesh(self):
        """The surface as a triangle mesh (:func:`.mesh.surface_mesh`): for drawing and for the angle defects."""
        return surface_mesh(self.surface)

    @derived("surface", "loop", "colatitude", "tube_angle", "radius", "cone_angle", "triangle_size",
             key=lambda self: self.drawn_version)
    def enclosed_triangles(self) -> np.ndarray:
        """The mesh's triangles inside the region the loop encloses (the one its ∬K dA is over), as
        (T, 3) vertex indices: for shading it."""
        loop, mesh = self.loop(), self.mesh()
        tri = mesh.triangles
        centres = mesh.vertices[tri].mean(axis=1)  # each triangle counts where its centre is
        chart = mesh.chart[tri]
        periodic = [bool(self.surface.frame_poles) or isinstance(self.surface, geo.Torus),
                    isinstance(self.surface, geo.Torus)]
        centre_chart = chart.mean(axis=1)
        for axis in (0, 1):
            if periodic[axis]:  # average angles across the seam
                first = chart[:, :1, axis]
                centre_chart[:, axis] = first[:, 0] + np.mean(geo.wrap(chart[:, :, axis] - first), axis=1)
        return tri[enclosed_vertices(self.surface, loop, centres, centre_chart)]

    @derived("surface", "cone_angle")
    def defects(self) -> dict[str, float]:
        """Σ angle defects of the mesh and the Euler characteristic they give."""
        return angle_defect_sum(self.mesh())

    @derived("surface", "cone_angle")
    def gauge(self) -> dict[str, float]:
        """The gauge bridge, measured on this surface's mesh (:func:`.gauge.gauge_check`)."""
        return gauge_check(self.mesh())

    # -- readouts ---------------------------------------------------------------------------------------
    def observables(self) -> dict[str, float]:
        loop, path = self.loop(), self.discrete_path()
        error = abs(float(geo.wrap(path["turn"] - loop.turn)))
        curve = self.error_curve()
        order, rotation_order = curve["order"], curve["rotation_order"]
        return {
            "progress": self.progress,
            "laps": float(self.laps),
            "frame_angle": math.degrees(self.position()["frame_angle"]),
            "discrete_angle": math.degrees(self.discrete_frame_angle()),
            "turn": math.degrees(loop.wrapped),
            "turn_unwrapped": math.degrees(loop.turn),
            "frame_turn": math.degrees(loop.frame_turn),
            "enclosed": math.degrees(loop.enclosed),
            "gauss_bonnet_gap": math.degrees(abs(loop.turn - loop.enclosed)),
            "discrete_turn": math.degrees(path["turn"]),
            "discrete_error": math.degrees(error),
            "order": order if math.isfinite(order) else 0.0,
            "rotation_order": rotation_order if math.isfinite(rotation_order) else 0.0,
            "euler": self.defects()["euler"],
        }

    def state(self) -> dict[str, np.ndarray]:
        loop = self.loop()
        return {"vectors": loop.vectors, "points": loop.points}

    # -- challenges --------------------------------------------------------------------------------------
    def lap_turn(self, run) -> float:
        """The vector's turn over the run's first lap, read from the recorded frame angle (degrees,
        unwrapped: as counted in the frame)."""
        steps, angles = run.series_steps(), run.series("frame_angle")
        if steps[-1] < LAP_STEPS:
            raise ValueError(f"the run stopped after {int(steps[-1])} steps, before one lap ({LAP_STEPS})")
        start = angles[np.searchsorted(steps, 0)]
        end = angles[np.searchsorted(steps, LAP_STEPS)]
        return float(end - start)

    def measure_turn(self, run) -> float:
        """The vector's turn after one lap as the eye sees it: degrees in (−180, 180]."""
        return round(math.degrees(float(geo.wrap(math.radians(self.lap_turn(run))))), 3)

    def measure_frame_turn(self, run) -> float:
        """The turn after one lap counted in the frame, unwrapped (degrees)."""
        return round(self.lap_turn(run), 3)

    def measure_sense(self, run) -> str:
        """Which way the vector turned over one lap, relative to the loop: the sign of the unwrapped
        turn (a turn of −199° is seen as +161°, but it went against the loop)."""
        loop = self.loop()
        return sense(math.radians(self.lap_turn(run) + 360.0 * loop.windings), loop.orientation)

    def work_per_step(self) -> float:
        return 1.0
