"""Surfaces, loops on them and parallel transport along the loops, in numpy.

Every surface is a chart X(u, v) with its derivatives in closed form, an outward (or upward) unit
normal n, and its Gaussian curvature K. Along a loop a transported vector V is stored by its angle φ
to the chart's frame e₁ = X_u/|X_u|, e₂ = n × e₁. Parallel transport keeps V free of any turn within
the surface, which in the frame reads

    dφ/dt = −ω(γ'),   ω(γ') = ⟨de₁/dt, e₂⟩ = ⟨X_uu u' + X_uv v', e₂⟩ / |X_u|,

the connection one-form. Integrating it ("the connection") is exact up to quadrature; the discrete
scheme instead projects V onto each next tangent plane and renormalises (first order in the step).

Signs: angles are counter-clockwise about n; a loop's enclosed region is the one on its left (seen
from the side n points to), so a counter-clockwise loop around a cap of positive curvature turns the
vector counter-clockwise: with the loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

TAU = 2.0 * math.pi
#: Gauss-Legendre nodes and weights on [0, 1] for the integrals along each piece of a loop
_GL_X, _GL_W = np.polynomial.legendre.leggauss(6)
GL_NODES, GL_WEIGHTS = 0.5 * (_GL_X + 1.0), 0.5 * _GL_W


def wrap(angle):
    """An angle (radians) wrapped into (−π, π]."""
    return np.pi - np.mod(np.pi - np.asarray(angle, np.float64), TAU)


class Surface:
    """A surface given by a chart (u, v) ↦ X. Subclasses give the closed forms."""

    name = "surface"
    #: the chart's frame e₁ is singular at these chart points (index +1 each): a loop winding w times
    #: around one adds 2πw to the turn counted in the frame
    frame_poles: tuple = ()

    def point(self, u, v) -> np.ndarray: ...
    def du(self, u, v) -> np.ndarray: ...
    def dv(self, u, v) -> np.ndarray: ...
    def duu(self, u, v) -> np.ndarray: ...
    def duv(self, u, v) -> np.ndarray: ...
    def normal(self, u, v) -> np.ndarray: ...
    def curvature(self, u, v) -> np.ndarray: ...

    def frame(self, u, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(e₁, e₂, n) at chart points: arrays (..., 3)."""
        xu = self.du(u, v)
        e1 = xu / np.linalg.norm(xu, axis=-1, keepdims=True)
        n = self.normal(u, v)
        return e1, np.cross(n, e1), n

    def connection(self, u, v, du, dv) -> np.ndarray:
        """ω(γ') = ⟨de₁/dt, e₂⟩ for a chart velocity (du, dv) at (u, v)."""
        xu = self.du(u, v)
        _, e2, _ = self.frame(u, v)
        d_xu = self.duu(u, v) * np.asarray(du)[..., None] + self.duv(u, v) * np.asarray(dv)[..., None]
        return np.sum(d_xu * e2, axis=-1) / np.linalg.norm(xu, axis=-1)

    def curvature_potential(self, u, v) -> np.ndarray:
        """F with ∮F dv (or ∮F du, see ``potential_along``) = ∬K dA over the region on the loop's
        left: the enclosed curvature through Green's theorem, from K alone (not from the connection)."""
        raise NotImplementedError

    def potential_along(self) -> str:
        """Which chart differential the potential is integrated against: "u" or "v"."""
        return "u"

    def pole_defect(self) -> float:
        """Curvature concentrated at the chart's pole (the cone's apex): added per winding."""
        return 0.0

    def implicit(self, p: np.ndarray) -> np.ndarray:
        """A function of 3-D points that is zero on the surface (for picking with the mouse)."""
        raise NotImplementedError

    def chart(self, p: np.ndarray) -> tuple[float, float]:
        """The chart point of a 3-D point on (or near) the surface."""
        raise NotImplementedError

    def in_chart(self, u: float, v: float) -> bool:
        """Whether (u, v) lies in the part of the chart the level draws and lets you pick."""
        return True

    def grid(self, nu: int, nv: int) -> tuple[np.ndarray, np.ndarray]:
        """The chart grid the level draws (u along axis 1, v along axis 0)."""
        raise NotImplementedError


class Sphere(Surface):
    """The unit sphere; u = longitude λ, v = colatitude θ. K = 1."""

    name = "sphere"
    frame_poles = ("north pole",)

    def point(self, u, v):
        su, cu, sv, cv = np.sin(u), np.cos(u), np.sin(v), np.cos(v)
        return np.stack([sv * cu, sv * su, cv + 0 * u], -1)

    def du(self, u, v):
        su, cu, sv = np.sin(u), np.cos(u), np.sin(v)
        return np.stack([-sv * su, sv * cu, 0 * (u + v)], -1)

    def dv(self, u, v):
        su, cu, sv, cv = np.sin(u), np.cos(u), np.sin(v), np.cos(v)
        return np.stack([cv * cu, cv * su, -sv + 0 * u], -1)

    def duu(self, u, v):
        su, cu, sv = np.sin(u), np.cos(u), np.sin(v)
        return np.stack([-sv * cu, -sv * su, 0 * (u + v)], -1)

    def duv(self, u, v):
        su, cu, cv = np.sin(u), np.cos(u), np.cos(v)
        return np.stack([-cv * su, cv * cu, 0 * (u + v)], -1)

    def normal(self, u, v):
        return self.point(u, v)

    def curvature(self, u, v):
        return np.ones(np.broadcast(u, v).shape)

    def curvature_potential(self, u, v):
        return 1.0 - np.cos(v) + 0 * u  # ∫₀^θ K sin θ' dθ': the cap from the north pole

    def implicit(self, p):
        return np.linalg.norm(p, axis=-1) - 1.0

    def chart(self, p):
        return float(math.atan2(p[1], p[0])), float(math.acos(np.clip(p[2] / max(np.linalg.norm(p), 1e-12), -1, 1)))

    def grid(self, nu, nv):
        return np.linspace(-math.pi, math.pi, nu), np.linspace(1e-4, math.pi - 1e-4, nv)


@dataclass
class Torus(Surface):
    """The torus of radii R (to the tube's centre) and r (the tube); u around the axis, v around the
    tube (v = 0 the outer equator, v = ±90° the top and bottom circles). K = cos v / (r(R + r cos v))."""

    R: float = 2.0
    r: float = 0.8
    name = "torus"

    def _w(self, v):
        return self.R + self.r * np.cos(v)

    def point(self, u, v):
        w = self._w(v)
        return np.stack([w * np.cos(u), w * np.sin(u), self.r * np.sin(v) + 0 * u], -1)

    def du(self, u, v):
        w = self._w(v)
        return np.stack([-w * np.sin(u), w * np.cos(u), 0 * (u + v)], -1)

    def dv(self, u, v):
        r, sv = self.r, np.sin(v)
        return np.stack([-r * sv * np.cos(u), -r * sv * np.sin(u), r * np.cos(v) + 0 * u], -1)

    def duu(self, u, v):
        w = self._w(v)
        return np.stack([-w * np.cos(u), -w * np.sin(u), 0 * (u + v)], -1)

    def duv(self, u, v):
        r, sv = self.r, np.sin(v)
        return np.stack([r * sv * np.sin(u), -r * sv * np.cos(u), 0 * (u + v)], -1)

    def normal(self, u, v):
        cv = np.cos(v)
        return np.stack([cv * np.cos(u), cv * np.sin(u), np.sin(v) + 0 * u], -1)

    def curvature(self, u, v):
        return np.cos(v) / (self.r * self._w(v)) + 0 * u

    def curvature_potential(self, u, v):
        return np.sin(v) + 0 * u  # ∫₀^v K √(EG) dv' = sin v: measured from the outer equator

    def implicit(self, p):
        return (np.hypot(p[..., 0], p[..., 1]) - self.R) ** 2 + p[..., 2] ** 2 - self.r ** 2

    def chart(self, p):
        u = math.atan2(p[1], p[0])
        return float(u), float(math.atan2(p[2], math.hypot(p[0], p[1]) - self.R))

    def grid(self, nu, nv):
        return np.linspace(-math.pi, math.pi, nu), np.linspace(-math.pi, math.pi, nv)


@dataclass
class Saddle(Surface):
    """The saddle z = (x² − y²)/2 over the disc of radius ``extent``; u = x, v = y.
    K = −1/(1 + x² + y²)²."""

    extent: float = 2.2
    name = "saddle"

    def point(self, u, v):
        u, v = np.broadcast_arrays(np.asarray(u, np.float64), np.asarray(v, np.float64))
        return np.stack([u, v, 0.5 * (u * u - v * v)], -1)

    def du(self, u, v):
        u, v = np.broadcast_arrays(np.asarray(u, np.float64), np.asarray(v, np.float64))
        return np.stack([np.ones_like(u), np.zeros_like(u), u], -1)

    def dv(self, u, v):
        u, v = np.broadcast_arrays(np.asarray(u, np.float64), np.asarray(v, np.float64))
        return np.stack([np.zeros_like(u), np.ones_like(u), -v], -1)

    def duu(self, u, v):
        u, v = np.broadcast_arrays(np.asarray(u, np.float64), np.asarray(v, np.float64))
        return np.stack([np.zeros_like(u), np.zeros_like(u), np.ones_like(u)], -1)

    def duv(self, u, v):
        u, v = np.broadcast_arrays(np.asarray(u, np.float64), np.asarray(v, np.float64))
        return np.zeros(u.shape + (3,))

    def normal(self, u, v):
        u, v = np.broadcast_arrays(np.asarray(u, np.float64), np.asarray(v, np.float64))
        n = np.stack([-u, v, np.ones_like(u)], -1)
        return n / np.linalg.norm(n, axis=-1, keepdims=True)

    def curvature(self, u, v):
        return -1.0 / (1.0 + np.asarray(u) ** 2 + np.asarray(v) ** 2) ** 2

    def curvature_potential(self, u, v):
        # ∂F/∂x = K √(1 + x² + y²) = −(1 + x² + y²)^(−3/2), so ∮F dy = ∬K dA (Green)
        return -u / ((1.0 + v * v) * np.sqrt(1.0 + u * u + v * v))

    def potential_along(self):
        return "v"

    def implicit(self, p):
        return p[..., 2] - 0.5 * (p[..., 0] ** 2 - p[..., 1] ** 2)

    def chart(self, p):
        return float(p[0]), float(p[1])

    def in_chart(self, u, v):
        return u * u + v * v <= self.extent ** 2

    def grid(self, nu, nv):
        return np.linspace(-self.extent, self.extent, nu), np.linspace(-self.extent, self.extent, nv)


@dataclass
class Cone(Surface):
    """A cone of half-angle α around the z-axis, apex at the origin; u around the axis, v the distance
    from the apex along the surface. Flat (K = 0) everywhere but the apex, which holds the angle
    defect 2π(1 − sin α)."""

    alpha: float = math.radians(40.0)
    length: float = 2.2
    name = "cone"
    frame_poles = ("apex",)

    def point(self, u, v):
        sa, ca = math.sin(self.alpha), math.cos(self.alpha)
        return np.stack([v * sa * np.cos(u), v * sa * np.sin(u), v * ca + 0 * u], -1)

    def du(self, u, v):
        sa = math.sin(self.alpha)
        return np.stack([-v * sa * np.sin(u), v * sa * np.cos(u), 0 * (u + v)], -1)

    def dv(self, u, v):
        sa, ca = math.sin(self.alpha), math.cos(self.alpha)
        return np.stack([sa * np.cos(u) + 0 * v, sa * np.sin(u) + 0 * v, ca + 0 * (u + v)], -1)

    def duu(self, u, v):
        sa = math.sin(self.alpha)
        return np.stack([-v * sa * np.cos(u), -v * sa * np.sin(u), 0 * (u + v)], -1)

    def duv(self, u, v):
        sa = math.sin(self.alpha)
        return np.stack([-sa * np.sin(u) + 0 * v, sa * np.cos(u) + 0 * v, 0 * (u + v)], -1)

    def normal(self, u, v):
        sa, ca = math.sin(self.alpha), math.cos(self.alpha)
        # the side facing into the cup: a loop counter-clockwise about it has the apex on its left
        return np.stack([-ca * np.cos(u) + 0 * v, -ca * np.sin(u) + 0 * v, sa + 0 * (u + v)], -1)

    def curvature(self, u, v):
        return np.zeros(np.broadcast(u, v).shape)

    def curvature_potential(self, u, v):
        return np.zeros(np.broadcast(u, v).shape)

    def pole_defect(self):
        return TAU * (1.0 - math.sin(self.alpha))

    def implicit(self, p):
        return np.hypot(p[..., 0], p[..., 1]) * math.cos(self.alpha) - p[..., 2] * math.sin(self.alpha)

    def chart(self, p):
        return float(math.atan2(p[1], p[0])), float(np.linalg.norm(p))

    def in_chart(self, u, v):
        return 0.05 < v <= self.length

    def grid(self, nu, nv):
        return np.linspace(-math.pi, math.pi, nu), np.linspace(0.0, self.length, nv)


def make_surface(name: str, alpha_degrees: float = 40.0) -> Surface:
    """The level's surface by name."""
    if name == "sphere":
        return Sphere()
    if name == "torus":
        return Torus()
    if name == "saddle":
        return Saddle()
    if name == "cone":
        return Cone(alpha=math.radians(alpha_degrees))
    raise ValueError(f"unknown surface {name!r}; the surfaces are sphere, torus, saddle and cone")


# ------------------------------------------------------------------------------------------------
# loops


@dataclass
class Loop:
    """A closed loop on a surface, sampled densely for drawing and animation.

    ``points``, ``normals``, ``vectors`` (the exactly transported unit vector), ``e1``: (M + 1, 3),
    from the start back to it. ``frame_angle``: V's angle to e₁ along the loop (radians, unwrapped,
    starting at the initial angle). Scalars (radians): ``frame_turn`` (Δφ in the chart's frame),
    ``windings`` (around the frame's pole), ``turn`` (the unwrapped turn: frame_turn + 2π·windings),
    ``enclosed`` (∬K dA on the loop's left, from K alone), ``closed_form`` (the turn from a formula,
    or None), ``kind`` and ``note`` (a line saying what the enclosed region is).
    """

    kind: str
    points: np.ndarray
    normals: np.ndarray
    vectors: np.ndarray
    e1: np.ndarray
    frame_angle: np.ndarray
    frame_turn: float
    windings: int
    enclosed: float
    closed_form: float | None = None
    note: str = ""
    chart: np.ndarray | None = None  # (M + 1, 2) chart points, for loops that live in the chart
    corners: np.ndarray | None = None  # a polygon's corner points (3-D)
    extra: dict = field(default_factory=dict)
    #: +1 when the loop goes counter-clockwise about the normal round the region it encloses (all the
    #: level's circles and triangles), −1 when clockwise (a loop drawn the other way)
    orientation: int = 1

    @property
    def turn(self) -> float:
        """The unwrapped turn: the frame's count plus 2π per winding around the frame's pole."""
        return self.frame_turn + TAU * self.windings

    @property
    def wrapped(self) -> float:
        """The turn as the eye sees it in 3-D: wrapped into (−π, π]."""
        return float(wrap(self.turn))

    def at(self, fraction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(point, normal, transported vector, frame angle) at a fraction of the way round."""
        m = len(self.points) - 1
        x = min(max(fraction, 0.0), 1.0) * m
        k = min(int(x), m - 1)
        s = x - k
        p = (1 - s) * self.points[k] + s * self.points[k + 1]
        n = (1 - s) * self.normals[k] + s * self.normals[k + 1]
        n /= np.linalg.norm(n)
        angle = (1 - s) * self.frame_angle[k] + s * self.frame_angle[k + 1]
        e1 = (1 - s) * self.e1[k] + s * self.e1[k + 1]
        e1 -= n * np.dot(e1, n)
        e1 /= max(np.linalg.norm(e1), 1e-12)
        e2 = np.cross(n, e1)
        return p, n, math.cos(angle) * e1 + math.sin(angle) * e2, float(angle)


def _chart_integrals(surface: Surface, t: np.ndarray, curve) -> tuple[np.ndarray, np.ndarray]:
    """Along the chart curve ``curve(t) -> (uv, duv/dt)`` sampled at ``t`` (N + 1): the cumulative ∫−ω
    (the frame angle's change, per sample) and the per-piece ∫F d(u or v) (the enclosed curvature's
    Green integral), each piece by 6-point Gauss-Legendre."""
    dt = np.diff(t)[:, None]
    nodes = t[:-1, None] + dt * GL_NODES[None, :]
    uv, duv = curve(nodes)
    u, v = uv[..., 0], uv[..., 1]
    omega = surface.connection(u, v, duv[..., 0], duv[..., 1])
    dphi = -(omega * GL_WEIGHTS).sum(axis=1) * dt[:, 0]
    axis = 0 if surface.potential_along() == "u" else 1
    green = (surface.curvature_potential(u, v) * duv[..., axis] * GL_WEIGHTS).sum(axis=1) * dt[:, 0]
    return np.concatenate([[0.0], np.cumsum(dphi)]), green


def polyline(uv: np.ndarray):
    """The piecewise-linear chart curve through ``uv`` (N + 1, 2), parametrised by t ∈ [0, N]."""
    uv = np.asarray(uv, np.float64)
    d = np.diff(uv, axis=0)

    def curve(t):
        k = np.clip(np.floor(t).astype(int), 0, len(d) - 1)
        s = (t - k)[..., None]
        return uv[k] + s * d[k], d[k]
    return np.arange(len(uv), dtype=np.float64), curve


def chart_loop(surface: Surface, t: np.ndarray, curve, vector_angle: float, kind: str,
               closed_form: float | None = None, note: str = "") -> Loop:
    """A loop given by a chart curve (``curve(t) -> (uv, duv/dt)``, closed over the samples ``t``),
    transported by integrating the connection along it."""
    phi, green = _chart_integrals(surface, t, curve)
    uv = curve(t)[0]
    uv[-1] = uv[0] + np.round((uv[-1] - uv[0]) / TAU) * TAU * (surface.frame_poles != ())  # closes exactly
    points = surface.point(uv[:, 0], uv[:, 1])
    e1, e2, n = surface.frame(uv[:, 0], uv[:, 1])
    angle = vector_angle + phi
    vectors = np.cos(angle)[:, None] * e1 + np.sin(angle)[:, None] * e2
    windings = 0
    if surface.frame_poles:  # the chart's u is the angle around the pole
        windings = round((uv[-1, 0] - uv[0, 0]) / TAU)
    enclosed = float(green.sum()) + surface.pole_defect() * windings
    loop = Loop(kind, points, n, vectors, e1, angle, float(phi[-1]), windings, enclosed, closed_form, note, chart=uv)
    loop.extra.update(surface=surface, curve=curve, t=t)
    loop.orientation = orientation(surface, uv, windings)
    return loop


def orientation(surface: Surface, uv: np.ndarray, windings: int) -> int:
    """+1 if the chart loop ``uv`` goes counter-clockwise about the normal round what it encloses, else −1.
    A loop winding round the frame's pole goes the way it winds (east round the north pole, or round
    the cone's apex, is counter-clockwise); otherwise the sign of its area in the chart, times the
    chart's own orientation against the normal."""
    if windings:
        return 1 if windings > 0 else -1
    u, v = uv[:, 0], uv[:, 1]
    area = 0.5 * float(np.sum(u[:-1] * v[1:] - u[1:] * v[:-1]))
    if abs(area) < 1e-14:
        return 1
    a, b = uv[0]
    chart = float(np.cross(surface.du(a, b), surface.dv(a, b)) @ surface.normal(a, b))
    return 1 if area * chart > 0 else -1


#: Where the circles start (chart angle u): on the side the level's camera looks at first.
CIRCLE_START = math.radians(-60.0)


def circle_loop(surface: Surface, level: float, vector_angle: float, samples: int = 720) -> Loop:
    """The surface's natural circle: a latitude on the sphere (colatitude ``level``), a parallel on the
    torus (tube angle ``level``), the circle of radius ``level`` about the saddle point, or a circle
    at distance ``level`` round the cone's apex; counter-clockwise about the normal."""
    t = np.linspace(0.0, TAU, samples + 1)
    if isinstance(surface, Saddle):
        def curve(t):
            c, s = np.cos(t + CIRCLE_START), np.sin(t + CIRCLE_START)
            return level * np.stack([c, s], -1), level * np.stack([-s, c], -1)
        closed = TAU * ((1.0 + level * level) ** -0.5 - 1.0)  # Gauss-Bonnet: ∬K dA over the disc
        note = f"the disc of radius {level:.2g} about the saddle point"
    else:
        def curve(t):
            u = t + CIRCLE_START
            return np.stack([u, np.full_like(t, level)], -1), np.stack([np.ones_like(t), np.zeros_like(t)], -1)
        if isinstance(surface, Sphere):
            closed = -TAU * math.cos(level)
            note = "the cap north of the latitude"
        elif isinstance(surface, Torus):
            closed = -TAU * math.sin(level)
            note = "the band between this parallel and the outer equator"
        else:
            closed = -TAU * math.sin(surface.alpha)
            note = "the disc round the apex (flat but for the apex)"
    loop = chart_loop(surface, t, curve, vector_angle, "circle", closed, note)
    if isinstance(surface, Torus):
        # the parallel winds round the torus and bounds no disc: its turn is compared with the outer
        # equator's (a geodesic, which does not turn the vector in the frame): ∬K over the band between
        loop.enclosed = -loop.enclosed
        if level > 0:  # the band lies on the loop's right: the loop goes clockwise round it
            loop.orientation = -1
    return loop


def sphere_triangle_corners(size: float, centre_colatitude: float = math.radians(50.0),
                            centre_longitude: float = 0.0) -> np.ndarray:
    """An equilateral geodesic triangle on the unit sphere: three corners at angular distance ``size``
    from the centre, counter-clockwise about the outward normal. ``size`` = arccos(1/√3) with the
    centre on the diagonal gives the octant."""
    c = Sphere().point(centre_longitude, centre_colatitude)
    east = np.array([-math.sin(centre_longitude), math.cos(centre_longitude), 0.0])
    north = np.cross(c, east)
    corners = []
    for k in range(3):
        a = math.pi / 2 + k * TAU / 3  # the first corner due north of the centre
        direction = math.cos(a) * east + math.sin(a) * north
        corners.append(math.cos(size) * c + math.sin(size) * direction)
    return np.array(corners)


def spherical_triangle_area(a, b, c) -> float:
    """The area (= ∬K dA on the unit sphere) of the geodesic triangle abc (Van Oosterom-Strackee);
    positive when abc is counter-clockwise about the outward normal."""
    a, b, c = (np.asarray(x, np.float64) for x in (a, b, c))
    return 2.0 * math.atan2(float(np.dot(a, np.cross(b, c))), 1.0 + a @ b + b @ c + c @ a)


def sphere_triangle_loop(corners: np.ndarray, vector_angle: float, samples: int = 720) -> Loop:
    """The geodesic triangle through ``corners`` (3, 3), transported in closed form: along a great
    circle a parallel vector keeps its angle to the edge, so only the corners turn it against the
    edge's tangent. The frame is the polar frame about the triangle's centre (one winding)."""
    centre = corners.sum(axis=0)
    centre /= np.linalg.norm(centre)
    per_edge = samples // 3
    points, tangents = [], []
    for k in range(3):
        a, b = corners[k], corners[(k + 1) % 3]
        angle = math.acos(float(np.clip(a @ b, -1, 1)))
        w = b - a * (a @ b)
        w /= np.linalg.norm(w)
        t = np.linspace(0.0, angle, per_edge + 1)[:-1 if k < 2 else None]
        points.append(np.cos(t)[:, None] * a + np.sin(t)[:, None] * w)
        tangents.append(-np.sin(t)[:, None] * a + np.cos(t)[:, None] * w)
    points, tangents = np.concatenate(points), np.concatenate(tangents)
    normals = points.copy()
    # interior angles from the edges' tangents at each corner
    interior = []
    for k in range(3):
        p = corners[k]
        to_next, to_prev = corners[(k + 1) % 3] - p, corners[k - 1] - p
        to_next -= p * (p @ to_next)
        to_prev -= p * (p @ to_prev)
        interior.append(math.acos(float(np.clip(to_next @ to_prev / (np.linalg.norm(to_next) * np.linalg.norm(to_prev)), -1, 1))))
    # the transported vector: its angle to the edge's tangent is fixed along an edge and, at a corner,
    # drops by the exterior angle the edge turns through
    east0 = np.cross([0.0, 0.0, 1.0], points[0])
    if np.linalg.norm(east0) < 1e-9:
        east0 = np.array([0.0, 1.0, 0.0])
    # the first vector at vector_angle to the polar frame's e₁ (see below), expressed against the tangent
    e1 = _polar_e1(points, centre)
    n0 = normals[0]
    start = math.cos(vector_angle) * e1[0] + math.sin(vector_angle) * np.cross(n0, e1[0])
    psi0 = math.atan2(float(np.cross(tangents[0], start) @ n0), float(tangents[0] @ start))
    psi = np.empty(len(points))
    for k in range(3):
        lo = k * per_edge
        hi = (k + 1) * per_edge if k < 2 else len(points)
        psi[lo:hi] = psi0 - sum(math.pi - interior[j] for j in range(1, k + 1))
    psi[-1] = psi0 - sum(math.pi - x for x in interior)  # back at the first corner, turned onto edge 0
    tangents[-1] = tangents[0]
    binormals = np.cross(normals, tangents)
    vectors = np.cos(psi)[:, None] * tangents + np.sin(psi)[:, None] * binormals
    e2 = np.cross(normals, e1)
    frame_angle = np.unwrap(np.arctan2(np.sum(vectors * e2, 1), np.sum(vectors * e1, 1)))
    frame_angle += vector_angle - frame_angle[0]
    excess = sum(interior) - math.pi
    area = spherical_triangle_area(*corners)
    loop = Loop("triangle", points, normals, vectors, e1, frame_angle, float(frame_angle[-1] - frame_angle[0]), 1, area,
                excess - TAU, "the geodesic triangle", corners=corners.copy())
    loop.extra["interior_angles"] = np.array(interior)
    loop.extra["excess"] = excess
    return loop


def _polar_e1(points: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The polar frame about ``centre``: e₁ points "east" round it (singular at the centre)."""
    e1 = np.cross(centre, points)
    return e1 / np.linalg.norm(e1, axis=1, keepdims=True)


# ------------------------------------------------------------------------------------------------
# the discrete scheme


def resample(loop: Loop, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` + 1 points and normals evenly along the loop (by its curve parameter), exactly on the
    surface."""
    if "curve" in loop.extra:
        t = loop.extra["t"]
        c = loop.extra["curve"](np.linspace(t[0], t[-1], steps + 1))[0]
        c[-1] = loop.chart[-1]
        surface = loop.extra["surface"]
        return surface.point(c[:, 0], c[:, 1]), surface.normal(c[:, 0], c[:, 1])
    m = len(loop.points) - 1  # a geodesic polygon on the unit sphere: even in arc length per edge
    x = np.linspace(0.0, m, steps + 1)
    k = np.minimum(x.astype(int), m - 1)
    s = (x - k)[:, None]
    p = (1 - s) * loop.points[k] + s * loop.points[k + 1]
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    return p, p.copy()


def project_transport(points: np.ndarray, normals: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The discrete scheme: project the vector onto each next tangent plane and restore its length.
    Returns the vector at every point (N + 1, 3). (Plain floats: a 3-vector step in numpy costs more
    in calls than in arithmetic.)"""
    x, y, z = (float(c) for c in start)
    out = [(x, y, z)]
    for a, b, c in normals[1:].tolist():
        d = a * x + b * y + c * z
        x, y, z = x - d * a, y - d * b, z - d * c
        r = math.sqrt(x * x + y * y + z * z)
        x, y, z = x / r, y / r, z / r
        out.append((x, y, z))
    return np.array(out)


def rotation_transport(normals: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The second scheme: turn the vector by the smallest rotation that takes each tangent plane onto
    the next (about n_k × n_{k+1}): the discrete Levi-Civita connection of mesh networks. It is exact
    along the geodesic polygon through the samples, so its error is that polygon's: second order.
    Returns the final vector."""
    axis = np.cross(normals[:-1], normals[1:])
    scale = 1.0 / (1.0 + np.sum(normals[:-1] * normals[1:], 1))
    cos = np.sum(normals[:-1] * normals[1:], 1)
    x, y, z = (float(c) for c in start)
    for (a, b, c), k, s in zip(axis.tolist(), cos.tolist(), scale.tolist()):
        dot = (a * x + b * y + c * z) * s  # Rodrigues, with sin θ · axis = n_k × n_{k+1}
        x, y, z = x * k + (b * z - c * y) + a * dot, y * k + (c * x - a * z) + b * dot, z * k + (a * y - b * x) + c * dot
    return np.array([x, y, z])


def rotation_errors(loop: Loop, steps_list) -> np.ndarray:
    """|rotation scheme − exact| turn (radians) for each number of steps."""
    out = []
    for n in steps_list:
        _, normals = resample(loop, int(n))
        v0, n0 = loop.vectors[0], normals[0]
        v1 = rotation_transport(normals, v0)
        out.append(abs(float(wrap(math.atan2(float(np.cross(v0, v1) @ n0), float(v0 @ v1)) - loop.turn))))
    return np.array(out)


def discrete_turn(loop: Loop, steps: int) -> tuple[float, np.ndarray, np.ndarray]:
    """The discrete scheme's turn round the loop in ``steps`` steps (wrapped, radians), with its
    points and vectors."""
    points, normals = resample(loop, steps)
    vectors = project_transport(points, normals, loop.vectors[0])
    v0, v1, n0 = vectors[0], vectors[-1], normals[0]
    return float(math.atan2(float(np.cross(v0, v1) @ n0), float(v0 @ v1))), points, vectors


def discrete_errors(loop: Loop, steps_list) -> np.ndarray:
    """|discrete − exact| turn (radians, wrapped difference) for each number of steps."""
    return np.array([abs(float(wrap(discrete_turn(loop, int(n))[0] - loop.turn))) for n in steps_list])


def order_of(steps_list, errors) -> float:
    """The fitted slope of log(error) against log(1/steps): the scheme's order."""
    x, y = np.log(np.asarray(steps_list, np.float64)), np.log(np.maximum(np.asarray(errors), 1e-300))
    return float(-np.polyfit(x, y, 1)[0])
