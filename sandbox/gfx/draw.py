"""Drawing primitives that views share: thick lines, round points, filled triangles and
rectangles, and lit height-field surfaces.

A :class:`Painter` owns the shared shader programs (hot-reloaded from ``shaders/``) and
streaming vertex buffers, so a view draws a trajectory in one call and never manages GL
objects for simple things.
"""

from __future__ import annotations

import numpy as np

from ..paths import SHADERS_DIR
from .shaders import HotProgram


def _rgba(colors, n: int) -> np.ndarray:
    c = np.asarray(colors, dtype=np.float32)
    if c.ndim == 1:
        c = np.broadcast_to(np.concatenate([c, [1.0]])[:4] if c.size == 3 else c, (n, 4))
    elif c.shape[1] == 3:
        c = np.concatenate([c, np.ones((len(c), 1), np.float32)], axis=1)
    return np.ascontiguousarray(c, dtype=np.float32)


def _xyz(points) -> np.ndarray:
    p = np.asarray(points, dtype=np.float32)
    if p.ndim == 1:
        p = p[None, :]
    if p.shape[1] == 2:
        p = np.concatenate([p, np.zeros((len(p), 1), np.float32)], axis=1)
    return np.ascontiguousarray(p, dtype=np.float32)


class _Stream:
    """A vertex buffer that grows as needed and is orphaned on every write."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.buffer = ctx.buffer(reserve=1 << 16, dynamic=True)

    def write(self, data: np.ndarray) -> bool:
        """Upload ``data``; True if the buffer was replaced (VAOs must be rebuilt)."""
        replaced = False
        if data.nbytes > self.buffer.size:
            size = max(data.nbytes, 2 * self.buffer.size)
            self.buffer.release()
            self.buffer = self.ctx.buffer(reserve=size, dynamic=True)
            replaced = True
        else:
            self.buffer.orphan()
        self.buffer.write(data.tobytes())
        return replaced


class Painter:
    """Immediate-style drawing of lines and points, plus :meth:`surface` for static meshes."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.programs = {
            "lines": HotProgram(ctx, SHADERS_DIR / "lines.glsl"),
            "points": HotProgram(ctx, SHADERS_DIR / "points.glsl"),
            "surface": HotProgram(ctx, SHADERS_DIR / "surface.glsl"),
            "flat": HotProgram(ctx, SHADERS_DIR / "flat.glsl"),
        }
        self._streams = {"lines": _Stream(ctx), "points": _Stream(ctx), "flat": _Stream(ctx)}
        self._vaos: dict[str, tuple] = {}

    def errors(self) -> list[str]:
        """Compile errors of the shared shaders (shown by the app; drawing continues with the last good)."""
        return [p.error for p in self.programs.values() if p.error]

    def poll(self) -> None:
        """Hot reload: recompile shared shaders whose files changed."""
        for program in self.programs.values():
            program.poll()

    def _vao(self, kind: str, layout: str, attrs: tuple[str, ...]):
        hot = self.programs[kind]
        stream = self._streams[kind]
        key = (hot.generation, id(stream.buffer))
        cached = self._vaos.get(kind)
        if cached is None or cached[0] != key:
            if cached is not None:
                cached[1].release()
            vao = self.ctx.vertex_array(hot.program, [(stream.buffer, layout, *attrs)])
            self._vaos[kind] = cached = (key, vao)
        return cached[1]

    def lines(self, mvp, points, color=(1, 1, 1, 1), thickness: float = 2.0, viewport=(1280, 720),
              strip: bool = True) -> None:
        """Draw a polyline (``strip``) or separate segments (pairs of points)."""
        hot = self.programs["lines"]
        p = _xyz(points)
        if hot.program is None or len(p) < 2:
            return
        data = np.concatenate([p, _rgba(color, len(p))], axis=1)
        self._streams["lines"].write(data)
        vao = self._vao("lines", "3f 4f", ("in_pos", "in_color"))
        hot["mvp"].write(np.asarray(mvp, np.float32).tobytes())
        hot["viewport"].value = tuple(float(v) for v in viewport)
        hot["thickness"].value = float(thickness)
        vao.render(self.ctx.LINE_STRIP if strip else self.ctx.LINES, vertices=len(p))

    def points(self, mvp, points, color=(1, 1, 1, 1), size=8.0, scale: float = 1.0) -> None:
        """Draw round points; ``size`` in pixels, one value or one per point."""
        hot = self.programs["points"]
        p = _xyz(points)
        if hot.program is None or len(p) == 0:
            return
        sizes = np.broadcast_to(np.asarray(size, np.float32).reshape(-1, 1), (len(p), 1))
        data = np.concatenate([p, _rgba(color, len(p)), sizes], axis=1)
        self._streams["points"].write(data)
        vao = self._vao("points", "3f 4f 1f", ("in_pos", "in_color", "in_size"))
        hot["mvp"].write(np.asarray(mvp, np.float32).tobytes())
        hot["size_scale"].value = float(scale)
        self.ctx.enable(self.ctx.PROGRAM_POINT_SIZE)
        vao.render(self.ctx.POINTS, vertices=len(p))

    def triangles(self, mvp, points, color=(1, 1, 1, 1)) -> None:
        """Filled triangles: every three points are one triangle; one colour or one per point."""
        hot = self.programs["flat"]
        p = _xyz(points)
        if hot.program is None or len(p) < 3:
            return
        p = p[: len(p) - len(p) % 3]
        data = np.concatenate([p, _rgba(color, len(p))[: len(p)]], axis=1)
        self._streams["flat"].write(data)
        vao = self._vao("flat", "3f 4f", ("in_pos", "in_color"))
        hot["mvp"].write(np.asarray(mvp, np.float32).tobytes())
        vao.render(self.ctx.TRIANGLES, vertices=len(p))

    def rects(self, mvp, lows, highs, color=(1, 1, 1, 1)) -> None:
        """Filled axis-aligned rectangles from corners ``lows[i]`` to ``highs[i]`` (heatmap cells,
        bars); one colour, or one per rectangle."""
        lo = np.asarray(lows, np.float32).reshape(-1, 2)
        hi = np.asarray(highs, np.float32).reshape(-1, 2)
        corners = np.stack([lo, np.stack([hi[:, 0], lo[:, 1]], 1), hi,
                            lo, hi, np.stack([lo[:, 0], hi[:, 1]], 1)], axis=1).reshape(-1, 2)
        colors = np.asarray(color, np.float32)
        if colors.ndim == 2:  # one colour per rectangle: repeat it for its six vertices
            colors = np.repeat(_rgba(colors, len(colors)), 6, axis=0)
        self.triangles(mvp, corners, colors)

    def surface(self, xs: np.ndarray, ys: np.ndarray, z: np.ndarray, value: np.ndarray | None = None) -> "Surface":
        """A static height-field mesh over the grid ``xs`` × ``ys`` with heights ``z[iy, ix]``."""
        return Surface(self, xs, ys, z, value)


class Surface:
    """A height-field mesh (positions, normals, a colour value) drawn with ``surface.glsl``."""

    def __init__(self, painter: Painter, xs, ys, z, value=None):
        self.painter = painter
        ctx = painter.ctx
        X, Y = np.meshgrid(np.asarray(xs, np.float64), np.asarray(ys, np.float64))
        Z = np.asarray(z, np.float64)
        dzdy, dzdx = np.gradient(Z, ys, xs)
        normals = np.stack([-dzdx, -dzdy, np.ones_like(Z)], axis=-1)
        normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
        if value is None:
            value = (Z - Z.min()) / max(np.ptp(Z), 1e-12)
        verts = np.concatenate([np.stack([X, Y, Z], -1), normals, np.asarray(value)[..., None]], axis=-1)
        ny, nx = Z.shape
        idx = np.arange(nx * ny, dtype=np.uint32).reshape(ny, nx)
        quads = np.stack([idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, :-1], idx[:-1, 1:], idx[1:, 1:]], -1)
        self.vbo = ctx.buffer(verts.astype(np.float32).tobytes())
        self.ibo = ctx.buffer(quads.astype(np.uint32).tobytes())
        self._vao = None
        self._generation = -1

    def draw(self, mvp, eye, light_dir=(0.4, -0.5, 0.8), bands: float = 12.0, grid_step: float = 0.0,
             alpha: float = 1.0) -> None:
        hot = self.painter.programs["surface"]
        if hot.program is None:
            return
        if self._vao is None or self._generation != hot.generation:
            if self._vao is not None:
                self._vao.release()
            self._vao = self.painter.ctx.vertex_array(
                hot.program, [(self.vbo, "3f 3f 1f", "in_pos", "in_normal", "in_value")], index_buffer=self.ibo,
                index_element_size=4)
            self._generation = hot.generation
        hot["mvp"].write(np.asarray(mvp, np.float32).tobytes())
        hot["light_dir"].value = tuple(float(v) for v in light_dir)
        hot["eye"].value = tuple(float(v) for v in eye)
        hot["bands"].value = float(bands)
        hot["grid_step"].value = float(grid_step)
        hot["alpha"].value = float(alpha)
        ctx = self.painter.ctx
        if alpha >= 1.0:  # opaque: skip blending, a real saving on the software renderer
            ctx.disable(ctx.BLEND)
        self._vao.render()
        ctx.enable(ctx.BLEND)

    def release(self) -> None:
        for obj in (self._vao, self.vbo, self.ibo):
            if obj is not None:
                obj.release()


# -- 2-D geometry shared by views: build segment lists, then draw them in one call ---------------

def arrows(starts: np.ndarray, vectors: np.ndarray, head: float = 0.35) -> np.ndarray:
    """Line segments (pairs of points) of 2-D arrows: a stem and two head strokes each."""
    ends = starts + vectors
    length = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(length, 1e-12)
    normal = np.stack([-unit[:, 1], unit[:, 0]], axis=1)
    size = head * length
    left = ends - size * (unit - 0.6 * normal)
    right = ends - size * (unit + 0.6 * normal)
    return np.stack([starts, ends, ends, left, ends, right], axis=1).reshape(-1, 2)


def box_segments(x0, x1, y0, y1) -> np.ndarray:
    """Line segments (pairs of points, flattened to (8n, 2)) of the four edges of the rectangles
    [x0, x1] x [y0, y1]: numbers for one rectangle, arrays of n for many."""
    x0, x1, y0, y1 = (np.atleast_1d(np.asarray(v, np.float64)) for v in (x0, x1, y0, y1))
    corners = np.stack([np.stack(corner, 1) for corner in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))], 1)
    return np.stack([corners, np.roll(corners, -1, axis=1)], axis=2).reshape(-1, 2)


def ellipse_segments(means: np.ndarray, covariances: np.ndarray, sides: int = 12) -> np.ndarray:
    """Line segments of each 2-D Gaussian's one-standard-deviation ellipse."""
    angles = np.linspace(0.0, 2 * np.pi, sides + 1)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    factors = np.linalg.cholesky(covariances)
    rings = means[:, None, :] + np.einsum("kij,sj->ksi", factors, circle)  # (K, sides + 1, 2)
    return np.stack([rings[:, :-1], rings[:, 1:]], axis=2).reshape(-1, 2)


class Batch:
    """Line segments and points gathered over a frame, drawn with one call each (a software
    renderer pays per draw call, hardly per vertex). Points have ``dims`` coordinates: 2 for a
    flat scene, 3 for one seen by the orbit camera (arrows are 2-D only)."""

    def __init__(self, dims: int = 2):
        if dims not in (2, 3):
            raise ValueError(f"a batch holds 2-D or 3-D points, not {dims}-D")
        self.dims = dims
        self._segments: list[tuple[np.ndarray, np.ndarray]] = []
        self._points: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def segments(self, points: np.ndarray, color) -> None:
        """Separate segments (pairs of points) in one colour or one colour per point."""
        points = np.asarray(points, dtype=np.float32).reshape(-1, self.dims)
        self._segments.append((points, np.broadcast_to(np.asarray(color, np.float32), (len(points), 4))))

    def polylines(self, paths: np.ndarray, color) -> None:
        """Many polylines of equal length at once: ``paths`` is (points along, lines, dims). ``color``
        broadcasts to (lines, segments, 4): one colour, one per segment index (segments, 4), one
        per line (lines, 1, 4), or one per segment."""
        paths = np.asarray(paths, dtype=np.float32)
        if len(paths) < 2:
            return
        lines, segments = paths.shape[1], len(paths) - 1
        colors = np.broadcast_to(np.asarray(color, np.float32), (lines, segments, 4)).reshape(-1, 4)
        self.segments(np.stack([paths[:-1], paths[1:]], axis=2).transpose(1, 0, 2, 3), np.repeat(colors, 2, axis=0))

    def arrows(self, starts: np.ndarray, vectors: np.ndarray, color, opacity=None, head: float = 0.35) -> None:
        """Arrows (:func:`arrows`) in one colour or one per arrow; ``opacity``, one per arrow,
        multiplies the colour's (a field's arrows fade where it is weak)."""
        if self.dims != 2:
            raise ValueError("arrows are drawn in 2-D batches")
        colors = np.array(np.broadcast_to(np.asarray(color, np.float32), (len(starts), 4)))
        if opacity is not None:
            colors[:, 3] *= np.asarray(opacity, np.float32)
        self.segments(arrows(np.asarray(starts), np.asarray(vectors), head), np.repeat(colors, 6, axis=0))

    def points(self, points: np.ndarray, color, size: float) -> None:
        points = np.asarray(points, dtype=np.float32).reshape(-1, self.dims)
        self._points.append((points, np.broadcast_to(np.asarray(color, np.float32), (len(points), 4)),
                             np.full(len(points), size, np.float32)))

    def draw(self, painter: Painter, mvp, viewport, thickness: float) -> None:
        if self._segments:
            points = np.concatenate([p for p, _ in self._segments])
            colors = np.concatenate([c for _, c in self._segments])
            painter.lines(mvp, points, colors, thickness, viewport, strip=False)
        if self._points:
            points, colors, sizes = (np.concatenate(parts) for parts in zip(*self._points))
            painter.points(mvp, points, colors, sizes)
