"""The discretization lab's view: the continuous poles in the s-plane (drag them), the poles of
each Ā in the z-plane against the unit circle, and the responses and memories in the plots.

The s-plane shows where the continuous system is stable (left of the imaginary axis) and the
disk |1 + Δλ| < 1 inside which Euler is; the z-plane shows each method's poles for the current
Δ and the path they take as Δ grows over the slider's range, with the Δ where Euler's path
leaves the unit circle marked. The plots put the continuous response against the three
discrete ones, the history read back from the HiPPO-LegS state against the random memory's,
and the LegS state itself: Legendre coefficients of the past.
"""

from __future__ import annotations

import math
import time

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.ui.widgets import BAD, GOOD, MUTED
from sandbox.view import View

from .kernels import METHODS
from .model import HIPPO_STEP

NAMES = {"euler": "Euler", "bilinear": "bilinear", "zoh": "ZOH"}
COLORS = {"euler": (1.0, 0.45, 0.35, 1.0), "bilinear": (0.45, 0.85, 0.45, 1.0), "zoh": (0.5, 0.7, 1.0, 1.0)}
POLE_MAPS = {  # the eigenvalue of Ā for an eigenvalue λ of A (exact for the normal A of this level)
    "euler": lambda z: 1.0 + z,
    "bilinear": lambda z: (1.0 + 0.5 * z) / (1.0 - 0.5 * z),
    "zoh": np.exp,
}
POLE_FORMULAS = {
    "euler": r"z = 1 + \Delta\lambda",
    "bilinear": r"z = \frac{1 + \Delta\lambda/2}{1 - \Delta\lambda/2}",
    "zoh": r"z = e^{\Delta\lambda}",
}
CONTINUOUS = (1.0, 0.85, 0.3, 1.0)
AXES = (0.45, 0.5, 0.58, 0.8)
GRID = (0.3, 0.33, 0.38, 0.5)
UNIT_CIRCLE = (0.85, 0.88, 0.92, 0.9)
STABLE_FILL = (0.3, 0.65, 0.4, 0.22)
EULER_DISK = (1.0, 0.45, 0.35, 0.7)
LABEL = (0.85, 0.88, 0.92, 1.0)
LABEL_MUTED = (0.6, 0.64, 0.7, 1.0)
STABLE_TEXT = (0.55, 0.85, 0.6, 1.0)
UNSTABLE_TEXT = (1.0, 0.45, 0.4, 1.0)
LEGS = (0.75, 0.6, 1.0, 1.0)  # the HiPPO-LegS memory
RANDOM = (1.0, 0.5, 0.75, 1.0)  # the random A of the same size
SIGNAL = (0.9, 0.9, 0.95, 0.8)

# World layout: the s-plane on the left (equal axes, so Euler's disk is a disk), the z-plane right.
S_RANGE = (-12.0, 2.0, -11.0, 11.0)  # σ min, σ max, ω min, ω max shown
S_SCALE = 0.3  # world units per 1/s
Z_EXTENT = 1.35  # the z-plane shows |Re z|, |Im z| up to this
Z_SCALE = 2.45  # world units per unit of z
PANEL_GAP = 1.4  # world units between the two planes
S_ORIGIN = np.array([-S_RANGE[0] * S_SCALE, 0.0])  # world point of s = 0
Z_ORIGIN = np.array([(S_RANGE[1] - S_RANGE[0]) * S_SCALE + PANEL_GAP + Z_EXTENT * Z_SCALE, 0.0])
# What the camera frames: both planes, with room for the titles above and the tick labels around.
BOUNDS = (-0.9, -Z_EXTENT * Z_SCALE - 0.7, Z_ORIGIN[0] + Z_EXTENT * Z_SCALE + 0.5, Z_EXTENT * Z_SCALE + 1.3)
LOCUS_POINTS = 240  # Δ values along each method's path
PICK_PIXELS = 16.0  # how close a click must be to grab a pole
DRAG_INTERVAL_S = 0.05  # a dragged pole re-solves the system at most this often
STAIRS_LIMIT = 400  # fewer samples than this get markers
DRAWN_SAMPLES = 2000  # longer sample sequences are thinned to about this many points for the plot


def s_to_world(s) -> np.ndarray:
    s = np.asarray(s, dtype=np.complex128)
    return np.stack([S_ORIGIN[0] + S_SCALE * s.real, S_ORIGIN[1] + S_SCALE * s.imag], axis=-1)


def world_to_s(point) -> complex:
    return complex((point[0] - S_ORIGIN[0]) / S_SCALE, (point[1] - S_ORIGIN[1]) / S_SCALE)


def z_to_world(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.complex128)
    return np.stack([Z_ORIGIN[0] + Z_SCALE * z.real, Z_ORIGIN[1] + Z_SCALE * z.imag], axis=-1)


def inside_pieces(points: np.ndarray, box) -> np.ndarray:
    """Segments (pairs of points) of a polyline that lie inside ``box`` = (x0, x1, y0, y1)."""
    x0, x1, y0, y1 = box
    finite = np.all(np.isfinite(points), axis=1)
    inside = finite & (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)
    keep = inside[:-1] & inside[1:]
    return np.stack([points[:-1][keep], points[1:][keep]], axis=1).reshape(-1, 2)


def circle(center, radius: float, count: int = 160) -> np.ndarray:
    angle = np.linspace(0.0, 2 * math.pi, count)
    return np.stack([center[0] + radius * np.cos(angle), center[1] + radius * np.sin(angle)], axis=1)


def legend_room(values) -> tuple[float, float]:
    """y limits around the finite ``values``, with room above them for a one-line legend."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    low, high = (float(values.min()), float(values.max())) if len(values) else (-1.0, 1.0)
    span = max(high - low, 1e-6)
    return low - 0.1 * span, high + 0.55 * span


def _finite(values) -> np.ndarray:
    """A contiguous float64 copy with NaN for inf (implot's arrays must be 1-D and contiguous)."""
    values = np.asarray(values, dtype=np.float64)
    return np.ascontiguousarray(np.where(np.isfinite(values), values, np.nan))


def _vec(color) -> imgui.ImVec4:
    return imgui.ImVec4(*color)


class DiscretizationView(View):
    camera = "2d"
    math = [
        (r"x'(t) = A x + B u, \quad y = C x", "the continuous state space model"),
        (r"x_k = \bar A\, x_{k-1} + \bar B\, u_k, \quad y_k = C x_k", "its recurrence, one step Δ at a time"),
        (r"\bar A = I + \Delta A, \quad \bar B = \Delta B", "Euler: each pole λ goes to 1 + Δλ"),
        (r"|1 + \Delta\lambda| < 1 \iff \Delta < \frac{-2\, \mathrm{Re}\, \lambda}{|\lambda|^2}",
         "Euler is stable inside a disk of radius 1/Δ centred at −1/Δ: it shrinks as Δ grows"),
        (r"\bar A = (I - \tfrac{\Delta}{2} A)^{-1} (I + \tfrac{\Delta}{2} A)",
         "bilinear: the left half-plane lands inside the unit disk for every Δ"),
        (r"\bar A = e^{\Delta A}, \quad \bar B = A^{-1} (e^{\Delta A} - I) B",
         "zero-order hold: poles e^(Δλ), exact when u is constant over each step"),
        (r"A = \begin{pmatrix} \sigma & -\omega \\ \omega & \sigma \end{pmatrix}, \quad C = (-\sigma,\ \omega)",
         "the system here: poles σ ± iω, and a step settles at 1"),
        (r"c'(t) = \frac{1}{t} (A c + B u)", "HiPPO-LegS: a memory with no time scale of its own, spanning [0, t]"),
        (r"A_{nk} = -\sqrt{2n+1}\sqrt{2k+1}\ (n > k), \quad A_{nn} = -(n+1), \quad B_n = \sqrt{2n+1}",
         "the LegS matrix (lower triangular)"),
        (r"u(s) \approx \sum_n c_n \sqrt{2n+1}\, P_n\!\left(\tfrac{2s}{t} - 1\right)",
         "the state's coefficients rebuild the whole history with Legendre polynomials"),
    ]

    def __init__(self, host):
        super().__init__(host)
        self._dragging = 0  # +1: the pole σ + iω, -1: its conjugate, 0: none
        self._last_drag_apply = 0.0
        self._pending: tuple[float, float] | None = None  # a dragged pole not yet sent to the model
        self._loci_key = None
        self._loci: dict[str, np.ndarray] = {}
        self._aspect = None  # the scene's shape the camera was framed for

    def make_camera(self):
        return Camera2D()

    def _fit_camera(self, viewport) -> None:
        """Frame both planes and their labels; again whenever the scene changes shape."""
        aspect = round(viewport[0] / max(viewport[1], 1), 2)
        if aspect == self._aspect:
            return
        x0, y0, x1, y1 = BOUNDS
        self.cam.home = ((0.5 * (x0 + x1), 0.5 * (y0 + y1)), max(0.5 * (y1 - y0), 0.5 * (x1 - x0) / aspect))
        self.cam.reset()
        self._aspect = aspect

    # -- geometry ------------------------------------------------------------------------------
    @property
    def s_box(self) -> tuple[float, float, float, float]:
        (x0, y0), (x1, y1) = s_to_world(complex(S_RANGE[0], S_RANGE[2])), s_to_world(complex(S_RANGE[1], S_RANGE[3]))
        return (x0, x1, y0, y1)

    @property
    def z_box(self) -> tuple[float, float, float, float]:
        (x0, y0), (x1, y1) = z_to_world(complex(-Z_EXTENT, -Z_EXTENT)), z_to_world(complex(Z_EXTENT, Z_EXTENT))
        return (x0, x1, y0, y1)

    def _poles(self) -> np.ndarray:
        """The continuous poles λ and λ̄ (the one being dragged, before the model has it)."""
        if self._pending is not None:
            sigma, omega = self._pending
        else:
            sigma, omega = self.model.params["pole_real"], self.model.params["pole_imag"]
        return np.array([complex(sigma, omega), complex(sigma, -omega)])

    def _ensure_loci(self) -> dict[str, np.ndarray]:
        """Each method's poles for Δ across the slider's range: (method -> (2, LOCUS_POINTS) complex)."""
        p = self.model.params
        dt_param = self.host.manifest.params["dt"]
        key = (p["pole_real"], p["pole_imag"], dt_param.min, dt_param.max)
        if key != self._loci_key:
            dts = np.geomspace(dt_param.min, dt_param.max, LOCUS_POINTS)
            poles = np.array([complex(p["pole_real"], p["pole_imag"]), complex(p["pole_real"], -p["pole_imag"])])
            with np.errstate(all="ignore"):
                self._loci = {m: POLE_MAPS[m](dts[None, :] * poles[:, None]) for m in METHODS}
            self._loci_key = key
        return self._loci

    # -- the scene -----------------------------------------------------------------------------
    def scene(self, frame) -> None:
        self._fit_camera(frame.viewport)
        self.ctx.disable(self.ctx.DEPTH_TEST)
        self._s_plane(frame)
        self._z_plane(frame)

    def _s_plane(self, frame) -> None:
        mvp, viewport, painter = frame.mvp, frame.viewport, self.painter
        x0, x1, y0, y1 = self.s_box
        origin = s_to_world(0)
        # The stable half-plane, as a band of thick horizontal strokes (the painter has no fill).
        painter.lines(mvp, np.array([[x0, 0.5 * (y0 + y1)], [origin[0], 0.5 * (y0 + y1)]]), STABLE_FILL,
                      self._pixels(frame, y1 - y0), viewport)
        grid = []
        for sigma in range(-10, 2, 5):
            grid += [s_to_world(complex(sigma, S_RANGE[2])), s_to_world(complex(sigma, S_RANGE[3]))]
        for omega in (-10, -5, 5, 10):
            grid += [s_to_world(complex(S_RANGE[0], omega)), s_to_world(complex(S_RANGE[1], omega))]
        painter.lines(mvp, np.array(grid), GRID, 1.0, viewport, strip=False)
        painter.lines(mvp, np.array([[x0, origin[1]], [x1, origin[1]], [origin[0], y0], [origin[0], y1]]), AXES, 1.5,
                      viewport, strip=False)
        painter.lines(mvp, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]), AXES, 1.0, viewport)
        disk = self._euler_disk()
        if len(disk):
            painter.lines(mvp, disk, EULER_DISK, 2.0, viewport, strip=False)
        poles = s_to_world(self._poles())
        painter.points(mvp, poles, (0.05, 0.05, 0.07, 1.0), 22.0)
        painter.points(mvp, poles, CONTINUOUS, 16.0)

    def _z_plane(self, frame) -> None:
        mvp, viewport, painter = frame.mvp, frame.viewport, self.painter
        x0, x1, y0, y1 = self.z_box
        centre = z_to_world(0)
        painter.lines(mvp, np.array([[x0, centre[1]], [x1, centre[1]], [centre[0], y0], [centre[0], y1]]), AXES, 1.5,
                      viewport, strip=False)
        painter.lines(mvp, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]), AXES, 1.0, viewport)
        painter.lines(mvp, circle(centre, Z_SCALE), UNIT_CIRCLE, 2.0, viewport)
        model = self.model
        highlighted = model.params["method"]
        for method in sorted(METHODS, key=lambda m: m == highlighted):  # the highlighted one on top
            color = COLORS[method]
            faint = (*color[:3], 0.45 if method != highlighted else 0.8)
            for branch in self._ensure_loci()[method]:
                pieces = inside_pieces(z_to_world(branch), self.z_box)
                if len(pieces):
                    painter.lines(mvp, pieces, faint, 1.5, viewport, strip=False)
            poles = np.asarray(model.discrete_poles[method])
            poles = poles[np.isfinite(poles)]
            shown = z_to_world(poles[(np.abs(poles.real) <= Z_EXTENT) & (np.abs(poles.imag) <= Z_EXTENT)])
            if len(shown):
                big = method == highlighted
                painter.points(mvp, shown, (0.05, 0.05, 0.07, 1.0), 19.0 if big else 13.0)
                painter.points(mvp, shown, color, 14.0 if big else 9.0)
        crossing = self._euler_crossing()
        if crossing is not None:
            painter.points(mvp, z_to_world(crossing), (1.0, 1.0, 1.0, 1.0), 8.0)

    def _euler_disk(self) -> np.ndarray:
        """Segments of the edge of Euler's stable disk |1 + Δλ| < 1 (centre −1/Δ, radius 1/Δ) in the s-plane."""
        dt = self.model.params["dt"]
        edge = -1.0 / dt + np.exp(1j * np.linspace(0, 2 * math.pi, 720)) / dt
        return inside_pieces(s_to_world(edge), self.s_box)

    def _euler_crossing(self) -> np.ndarray | None:
        """Where Euler's poles cross the unit circle (at Δ = the Euler limit), if in the slider's range."""
        limit = self.model.euler_limit
        dt_param = self.host.manifest.params["dt"]
        if not (math.isfinite(limit) and dt_param.min <= limit <= dt_param.max):
            return None
        return 1.0 + limit * self._poles()

    def _pixels(self, frame, world: float) -> float:
        """A world length in screen pixels."""
        return world * frame.viewport[1] / (2.0 * frame.camera.half_height)

    # -- labels --------------------------------------------------------------------------------
    def _label(self, draw_list, frame, origin, point, text, color=LABEL, dx=0.0, dy=0.0, centre=False,
               plate=False) -> None:
        """Text at a world point, offset in pixels; ``plate`` puts a dark backing under it (over curves)."""
        at = frame.to_overlay(point)
        size = imgui.calc_text_size(text)
        pos = imgui.ImVec2(at.x + dx - (0.5 * size.x if centre else 0.0), at.y + dy)
        if plate:
            draw_list.add_rect_filled(imgui.ImVec2(pos.x - 3, pos.y - 1),
                                      imgui.ImVec2(pos.x + size.x + 3, pos.y + size.y + 1),
                                      imgui.get_color_u32(imgui.ImVec4(0.06, 0.07, 0.09, 0.8)), 3.0)
        draw_list.add_text(pos, imgui.get_color_u32(_vec(color)), text)

    def overlay(self, draw_list, origin, frame) -> None:
        """Labels over the scene (the host clips them to it)."""
        model = self.model
        line = imgui.get_font_size()
        sx0, sx1, sy0, sy1 = self.s_box
        zx0, zx1, zy0, zy1 = self.z_box

        def label(point, text, color=LABEL, **kw):
            self._label(draw_list, frame, origin, point, text, color, **kw)

        # Titles and axes.
        label((0.5 * (sx0 + sx1), sy1), "continuous poles λ = σ ± iω", dy=-2.6 * line, centre=True)
        label((0.5 * (sx0 + sx1), sy1), "drag them", LABEL_MUTED, dy=-1.4 * line, centre=True)
        dt_param = self.host.manifest.params["dt"]
        label((0.5 * (zx0 + zx1), zy1), "poles of Ā against the unit circle", dy=-2.6 * line, centre=True)
        label((0.5 * (zx0 + zx1), zy1), f"dots at Δ = {model.params['dt']:.3g} s; paths for Δ from "
              f"{dt_param.min:g} to {dt_param.max:g} s", LABEL_MUTED, dy=-1.4 * line, centre=True)
        for sigma in (-10, -5, 0):
            label(s_to_world(complex(sigma, S_RANGE[2])), f"{sigma}", LABEL_MUTED, dy=2, centre=True)
        for omega in (-10, -5, 5, 10):
            label(s_to_world(complex(S_RANGE[0], omega)), f"{omega:+d}i", LABEL_MUTED, dx=-2.4 * line, dy=-0.5 * line)
        label(s_to_world(complex(S_RANGE[0], S_RANGE[2])), "σ (1/s)", LABEL_MUTED, dy=2 + line)
        label(s_to_world(complex(S_RANGE[0], S_RANGE[3])), "stable: Re λ < 0", STABLE_TEXT, dx=4, dy=4)
        for value, text in ((1, "1"), (-1, "−1")):
            label(z_to_world(complex(value, 0)), text, LABEL_MUTED, dx=4, dy=2)
        label(z_to_world(complex(0, 1)), "i", LABEL_MUTED, dx=4, dy=-line)
        # Where Euler is stable, and where it stops being so.
        disk = self._euler_disk()
        if len(disk):  # named where it is farthest from the poles and clear of the frame
            room = (disk[:, 1] > sy0 + 0.15 * (sy1 - sy0)) & (disk[:, 1] < sy1 - 0.15 * (sy1 - sy0))
            if room.any():
                candidates = disk[room]
                distance = np.min(np.linalg.norm(candidates[:, None, :] - s_to_world(self._poles())[None], axis=2), 1)
                point = candidates[np.argmax(distance)]
                text = "Euler stable inside"
                centre_x = s_to_world(-1.0 / model.params["dt"])[0]  # the text goes toward the disk's centre
                dx = 6 if point[0] < centre_x else -imgui.calc_text_size(text).x - 6
                label(point, text, COLORS["euler"], dx=dx, dy=-0.5 * line, plate=True)
        crossing = self._euler_crossing()
        if crossing is not None:  # named at the lower crossing: the paths are named along the upper branch
            text = f"Euler leaves at Δ = {model.euler_limit:.3g} s"
            label(z_to_world(crossing[1]), text, dx=-imgui.calc_text_size(text).x - 10, dy=0.1 * line, plate=True)
        for method, branch in self._ensure_loci().items():  # each path named at its last visible point
            visible = np.flatnonzero((np.abs(branch[0].real) <= Z_EXTENT) & (np.abs(branch[0].imag) <= Z_EXTENT))
            if len(visible):
                label(z_to_world(branch[0][visible[-1]]), NAMES[method], COLORS[method], dx=6, dy=-0.5 * line)
        radius = model.radius["euler"]
        unstable = radius > 1.0
        text = (f"Euler UNSTABLE: |1 + Δλ| = {radius:.4g} > 1" if unstable
                else f"Euler stable: |1 + Δλ| = {radius:.4g} ≤ 1")
        label((0.5 * (zx0 + zx1), zy0), text, UNSTABLE_TEXT if unstable else STABLE_TEXT, dy=0.4 * line, centre=True)

    # -- input ---------------------------------------------------------------------------------
    def handle_input(self, frame) -> bool:
        """Drag either continuous pole; its conjugate follows (the system is real)."""
        inp = frame.input
        if self._dragging == 0:
            if not (inp.clicked and inp.hovered and not inp.shift) or self.host.challenges.playing:
                return False
            mouse = np.array(inp.mouse)
            for sign, pole in zip((1, -1), self._poles()):
                at = np.array(frame.camera.world_to_screen(s_to_world(pole), frame.viewport))
                if np.linalg.norm(at - mouse) <= PICK_PIXELS:
                    self._dragging = sign
                    return True
            return False
        if not inp.left:  # released: the model gets the final position
            self._apply_drag(force=True)
            self._dragging = 0
            return False
        s = world_to_s(frame.camera.screen_to_world(inp.mouse, frame.viewport))
        real, imag = self.host.manifest.params["pole_real"], self.host.manifest.params["pole_imag"]
        self._pending = (float(np.clip(s.real, real.min, real.max)),
                         float(np.clip(self._dragging * s.imag, imag.min, imag.max)))
        self._apply_drag()
        return True

    def _apply_drag(self, force: bool = False) -> None:
        """Send the dragged pole to the model, at most every DRAG_INTERVAL_S (each re-solves the ODE)."""
        now = time.monotonic()
        if self._pending is None or (not force and now - self._last_drag_apply < DRAG_INTERVAL_S):
            return
        if not self.host.challenges.playing:
            self.run.set_param("pole_real", self._pending[0])
            self.run.set_param("pole_imag", self._pending[1])
        self._last_drag_apply = now
        if force:
            self._pending = None

    # -- panel ---------------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        method = model.params["method"]
        imgui.separator()
        imgui.text_colored(_vec(COLORS[method]), f"{NAMES[method]} maps each pole λ to")
        self.formulas.draw(POLE_FORMULAS[method], 20.0)
        limit = model.euler_limit
        dt = model.params["dt"]
        imgui.push_text_wrap_pos(0.0)
        if math.isfinite(limit) and limit > 0:
            stable = model.radius["euler"] <= 1.0
            imgui.text_colored(GOOD if stable else BAD,
                               f"Euler is stable for Δ < {limit:.4g} s; now Δ = {dt:.4g} s: "
                               + ("stable." if stable else "unstable, its response grows every step."))
        else:
            imgui.text_colored(BAD, "The continuous system itself is unstable (σ ≥ 0): no Δ saves Euler.")
        imgui.pop_text_wrap_pos()
        dt_param = self.host.manifest.params["dt"]
        imgui.begin_disabled(self.host.challenges.playing or not (dt_param.min < limit < dt_param.max))
        for text, factor in (("Δ just below the limit", 0.97), ("just above", 1.03)):
            if imgui.button(text):
                self.run.set_param("dt", float(np.clip(limit * factor, dt_param.min, dt_param.max)))
            imgui.same_line()
        imgui.new_line()
        imgui.end_disabled()
        imgui.separator()
        n = model.params["hippo_n"]
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(MUTED, f"Two memories of N = {n} numbers take a sample every {HIPPO_STEP * 1000:g} ms "
                                  f"({model.samples_seen} so far). LegS rebuilds the history with error "
                                  f"{model.hippo_error:.2g}; the random A with {model.random_error:.2g}.")
        imgui.pop_text_wrap_pos()

    # -- plots ---------------------------------------------------------------------------------
    def plots(self) -> None:
        ratios = implot.SubplotsRowColRatios([1.0], [1.5, 1.3, 0.6])
        if not implot.begin_subplots("##lab", 1, 3, imgui.ImVec2(-1, -1), row_col_ratios=ratios):
            return
        self._response_plot()
        self._memory_plot()
        self._coefficients_plot()
        implot.end_subplots()

    def _response_plot(self) -> None:
        model = self.model
        p = model.params
        if p["pole_real"] >= 0:
            verdict = ": the system itself grows"
        elif model.radius["euler"] > 1.0:
            verdict = ": Euler blows up"
        else:
            verdict = ""
        title = f"response to the {p['input']}, Δ = {p['dt']:.3g} s{verdict}"
        if not implot.begin_plot(title + "###response"):
            return
        implot.setup_axes("t (s)", "y", 0, 0)
        implot.setup_axis_limits(implot.ImAxis_.x1.value, 0.0, p["horizon"], implot.Cond_.always.value)
        low, high = legend_room(np.concatenate([model.y_continuous, model.u_fine]))
        implot.setup_axis_limits(implot.ImAxis_.y1.value, low, high, implot.Cond_.always.value)
        implot.setup_legend(implot.Location_.north_west.value, implot.LegendFlags_.horizontal.value)
        times = _finite(model.fine_times)
        implot.plot_line("u", times, _finite(model.u_fine), implot.Spec(line_color=imgui.ImVec4(0.6, 0.62, 0.68, 0.45)))
        implot.plot_line("y(t)", times, _finite(model.y_continuous),
                         implot.Spec(line_color=_vec(CONTINUOUS), line_weight=2.5))
        highlighted = p["method"]
        few = len(model.sample_times) <= STAIRS_LIMIT
        stride = max(1, len(model.sample_times) // DRAWN_SAMPLES)  # a plot is a few hundred pixels wide
        samples = _finite(model.sample_times[::stride])
        span = high - low
        for method in sorted(METHODS, key=lambda m: m == highlighted):
            ys = _finite(model.y_discrete[method][::stride])
            # An unstable method's samples are left out once far off the chart: a gap, not a wall of stairs.
            ys[np.abs(ys - 0.5 * (low + high)) > 2.0 * span] = np.nan
            big = method == highlighted
            color = COLORS[method]
            spec = implot.Spec(line_color=_vec((*color[:3], 1.0 if big else 0.55)), line_weight=2.0 if big else 1.0,
                               marker=implot.Marker_.circle.value if (few and big) else implot.Marker_.none.value,
                               marker_size=2.5)
            implot.plot_stairs(NAMES[method], samples, ys, spec)
        self._playhead(model.time)
        implot.end_plot()

    def _memory_plot(self) -> None:
        model = self.model
        title = f"history read back: LegS {model.hippo_error:.2f}, random {model.random_error:.2f}###memory"
        if not implot.begin_plot(title):
            return
        implot.setup_axes("s (s)", "u(s)", 0, 0)
        implot.setup_axis_limits(implot.ImAxis_.x1.value, 0.0, model.params["horizon"], implot.Cond_.always.value)
        low, high = legend_room(model.history_true)
        implot.setup_axis_limits(implot.ImAxis_.y1.value, low, high, implot.Cond_.always.value)
        implot.setup_legend(implot.Location_.north_west.value, implot.LegendFlags_.horizontal.value)
        if len(model.history_times):
            times = _finite(model.history_times)
            implot.plot_line("signal", times, _finite(model.history_true),
                             implot.Spec(line_color=_vec(SIGNAL), line_weight=3.0))
            implot.plot_line("LegS", times, _finite(model.history_hippo), implot.Spec(line_color=_vec(LEGS),
                                                                                      line_weight=1.8))
            implot.plot_line("random A", times, _finite(model.history_random), implot.Spec(line_color=_vec(RANDOM),
                                                                                           line_weight=1.8))
        self._playhead(model.time)
        implot.end_plot()

    @staticmethod
    def _playhead(t: float) -> None:
        implot.plot_inf_lines("##playhead", np.array([t], np.float64),
                              implot.Spec(line_color=imgui.ImVec4(1, 1, 1, 0.35),
                                          flags=implot.ItemFlags_.no_legend.value))

    def _coefficients_plot(self) -> None:
        state = np.asarray(self.model.hippo_state, dtype=np.float64)
        if not implot.begin_plot("LegS state c_n###coefficients"):
            return
        fit = implot.AxisFlags_.auto_fit.value
        implot.setup_axes("n (Legendre degree)", "c_n", fit, fit)
        implot.plot_bars("c_n", np.arange(len(state), dtype=np.float64), _finite(state), 0.7,
                         implot.Spec(fill_color=_vec(LEGS), flags=implot.ItemFlags_.no_legend.value))
        implot.end_plot()

