"""The surfaces as triangle meshes: for drawing (positions, normals, curvature, chart coordinates) and
for discrete Gauss-Bonnet: the angle defects of a closed mesh sum to 2πχ (with a boundary, each
boundary vertex counts π − its angles instead of 2π − its angles)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import geometry as geo


@dataclass
class Mesh:
    """A triangle mesh of a surface: ``vertices``, ``normals`` (N, 3), ``curvature`` (N,) the exact
    K at each vertex, ``chart`` (N, 2) its chart point (for the grid lines drawn), ``triangles``
    (F, 3) indices, counter-clockwise about the normal."""

    vertices: np.ndarray
    normals: np.ndarray
    curvature: np.ndarray
    chart: np.ndarray
    triangles: np.ndarray


def icosphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """The unit icosphere: an icosahedron with each triangle cut in four ``subdivisions`` times."""
    g = (1 + math.sqrt(5)) / 2
    v = [(-1, g, 0), (1, g, 0), (-1, -g, 0), (1, -g, 0), (0, -1, g), (0, 1, g), (0, -1, -g), (0, 1, -g),
         (g, 0, -1), (g, 0, 1), (-g, 0, -1), (-g, 0, 1)]
    f = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2), (10, 7, 6),
         (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10),
         (8, 6, 7), (9, 8, 1)]
    vertices = [np.array(p, np.float64) / np.linalg.norm(p) for p in v]
    faces = list(f)
    for _ in range(subdivisions):
        middle: dict[tuple[int, int], int] = {}

        def mid(a, b, middle=middle):
            key = (min(a, b), max(a, b))
            if key not in middle:
                p = vertices[a] + vertices[b]
                vertices.append(p / np.linalg.norm(p))
                middle[key] = len(vertices) - 1
            return middle[key]
        new = []
        for a, b, c in faces:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new
    return np.array(vertices), np.array(faces, np.int64)


def _grid_triangles(nu: int, nv: int, wrap_u: bool, wrap_v: bool) -> np.ndarray:
    """Triangles of an nv × nu vertex grid (index v·nu + u), wrapping round in u and/or v."""
    cu = nu if wrap_u else nu - 1
    cv = nv if wrap_v else nv - 1
    i, j = np.meshgrid(np.arange(cv), np.arange(cu), indexing="ij")
    a = i * nu + j
    b = i * nu + (j + 1) % nu
    c = ((i + 1) % nv) * nu + j
    d = ((i + 1) % nv) * nu + (j + 1) % nu
    return np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])


def _orient(vertices: np.ndarray, normals: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Triangles flipped where needed to be counter-clockwise about the surface's normal."""
    p = vertices[triangles]
    face = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    flip = np.sum(face * normals[triangles].mean(axis=1), 1) < 0
    out = triangles.copy()
    out[flip] = out[flip][:, [0, 2, 1]]
    return out


def surface_mesh(surface: geo.Surface) -> Mesh:
    """The level's mesh of ``surface``: an icosphere for the sphere (no pole is special), a wrapped
    grid for the torus, a square grid for the saddle and a polar grid round the cone's apex."""
    if isinstance(surface, geo.Sphere):
        vertices, triangles = icosphere(4)
        chart = np.array([surface.chart(p) for p in vertices])
        return Mesh(vertices, vertices.copy(), np.ones(len(vertices)), chart, _orient(vertices, vertices, triangles))
    if isinstance(surface, geo.Torus):
        nu, nv = 96, 48
        u, v = np.meshgrid(np.linspace(-math.pi, math.pi, nu, endpoint=False),
                           np.linspace(-math.pi, math.pi, nv, endpoint=False))
        triangles = _grid_triangles(nu, nv, True, True)
    elif isinstance(surface, geo.Saddle):
        n = 64
        u, v = np.meshgrid(np.linspace(-surface.extent, surface.extent, n), np.linspace(-surface.extent, surface.extent, n))
        # keep the disc of radius ``extent``: the saddle is drawn round, like the loops about its centre
        r = np.hypot(u, v)
        scale = np.where(r > 0, np.maximum(np.abs(u), np.abs(v)) / np.maximum(r, 1e-12), 1.0)
        u, v = u * scale, v * scale  # the square grid pulled onto the disc
        triangles = _grid_triangles(n, n, False, False)
    else:
        nu, nv = 96, 24
        u, v = np.meshgrid(np.linspace(-math.pi, math.pi, nu, endpoint=False), np.linspace(0.0, surface.length, nv + 1)[1:])
        triangles = _grid_triangles(nu, nv, True, False) + 1
        apex_fan = np.stack([np.zeros(nu, np.int64), 1 + np.arange(nu), 1 + (np.arange(nu) + 1) % nu], 1)
        triangles = np.concatenate([apex_fan, triangles])
        u, v = np.concatenate([[0.0], u.ravel()]), np.concatenate([[0.0], v.ravel()])
    u, v = np.ravel(u), np.ravel(v)
    vertices = surface.point(u, v)
    normals = surface.normal(u, v)
    if isinstance(surface, geo.Cone):
        normals[0] = (0.0, 0.0, 1.0)
    curvature = surface.curvature(u, v)
    return Mesh(vertices, normals, curvature, np.stack([u, v], 1), _orient(vertices, normals, triangles))


def angle_defect_sum(mesh: Mesh) -> dict[str, float]:
    """Σ over vertices of 2π − (the angles of the triangles there), boundary vertices π − angles:
    2πχ for any triangulated surface (discrete Gauss-Bonnet). Returns the sum and χ from it, and χ
    counted as V − E + F."""
    tri = mesh.triangles
    p = mesh.vertices[tri]
    angles = np.empty(tri.shape)
    for k in range(3):
        a, b = p[:, (k + 1) % 3] - p[:, k], p[:, (k + 2) % 3] - p[:, k]
        cos = np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        angles[:, k] = np.arccos(np.clip(cos, -1.0, 1.0))
    around = np.bincount(tri.ravel(), angles.ravel(), minlength=len(mesh.vertices))
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    unique, count = np.unique(edges, axis=0, return_counts=True)
    boundary = np.zeros(len(mesh.vertices), bool)
    boundary[unique[count == 1].ravel()] = True
    defects = np.where(boundary, math.pi, geo.TAU) - around
    total = float(defects.sum())
    return {"sum": total, "euler": total / geo.TAU, "counted": float(len(mesh.vertices) - len(unique) + len(tri)),
            "boundary_vertices": float(boundary.sum())}
