"""The bridge to gauge-equivariant networks: a feature stored in a per-vertex frame, and the
transport that connects neighbouring frames.

On a mesh every vertex i gets a tangent frame, chosen freely (a gauge). A tangent-vector feature is
stored as a complex number f_i: its components in frame i. A neighbour's feature f_j means nothing
in frame i until it is transported: the discrete Levi-Civita transport turns tangent plane j onto
tangent plane i by the smallest rotation, after which frame j sits at an angle ρ_ij to frame i, and
the feature reads e^{iρ_ij} f_j in frame i. A layer that sums transported neighbours,

    out_i = a · f_i + b · Σ_j e^{iρ_ij} f_j,

gives the same geometric vector whatever frames were chosen: change every frame by an angle g_i and
the features become e^{−ig_i} f_i, the transports e^{i(ρ_ij + g_j − g_i)}, and the output e^{−ig_i} out_i
(gauge equivariance). A layer that sums the raw numbers f_j does not. This is the convolution of
gauge-equivariant mesh CNNs (de Haan, Weiler, Cohen & Welling 2021), for one feature type.
"""

from __future__ import annotations

import numpy as np


def min_rotation(a: np.ndarray, b: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate the vectors ``v`` by the smallest rotations taking unit normals ``a`` onto ``b`` (rows)."""
    axis = np.cross(a, b)
    c = np.sum(a * b, -1, keepdims=True)
    # Rodrigues with sin θ·k = axis and cos θ = c; (1 − c)/|axis|² = 1/(1 + c) for the k k·v term
    return v * c + np.cross(axis, v) + axis * np.sum(axis * v, -1, keepdims=True) / (1.0 + c)


def frames(normals: np.ndarray, angles: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """A tangent frame e₁ per vertex: a fixed direction projected into the tangent plane, then turned
    by ``angles`` (the gauge). Returns (N, 3) unit e₁; e₂ = n × e₁."""
    rng = np.random.default_rng(seed)
    reference = rng.normal(size=3)
    e1 = reference - normals * (normals @ reference)[:, None]
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    if angles is not None:
        e2 = np.cross(normals, e1)
        e1 = np.cos(angles)[:, None] * e1 + np.sin(angles)[:, None] * e2
    return e1


def edges_of(triangles: np.ndarray) -> np.ndarray:
    """Directed edges (i, j), both ways, of a triangle mesh."""
    e = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    return np.concatenate([e, e[:, ::-1]])


def connection(normals: np.ndarray, e1: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """ρ_ij per directed edge (i, j): the angle of frame j, carried to vertex i, measured in frame i."""
    i, j = edges[:, 0], edges[:, 1]
    carried = min_rotation(normals[j], normals[i], e1[j])
    e2i = np.cross(normals[i], e1[i])
    return np.arctan2(np.sum(carried * e2i, 1), np.sum(carried * e1[i], 1))


def layer(features: np.ndarray, edges: np.ndarray, rho: np.ndarray | None, a: complex = 0.7, b: complex = 0.3 - 0.2j):
    """out_i = a f_i + b Σ_j t_ij f_j with t_ij = e^{iρ_ij} (transported) or 1 (``rho`` None: naive)."""
    i, j = edges[:, 0], edges[:, 1]
    incoming = features[j] * (np.exp(1j * rho) if rho is not None else 1.0)
    summed = np.zeros(len(features), complex)
    np.add.at(summed, i, incoming)
    return a * features + b * summed


def gauge_check(mesh, seed: int = 0) -> dict[str, float]:
    """Turn every vertex's frame by a random angle and compare: the relative change of the output's
    geometric vectors for the transporting layer (round-off, ~1e-16) and for the naive one (order 1)."""
    rng = np.random.default_rng(seed)
    n = mesh.normals / np.linalg.norm(mesh.normals, axis=1, keepdims=True)
    edges = edges_of(mesh.triangles)
    e1 = frames(n, seed=seed)
    g = rng.uniform(-np.pi, np.pi, len(n))
    e1g = frames(n, g, seed=seed)
    vectors = rng.normal(size=(len(n), 3))
    vectors -= n * np.sum(vectors * n, 1, keepdims=True)  # a tangent vector field

    def coords(e1_):
        e2_ = np.cross(n, e1_)
        return np.sum(vectors * e1_, 1) + 1j * np.sum(vectors * e2_, 1)

    def geometric(out, e1_):
        e2_ = np.cross(n, e1_)
        return out.real[:, None] * e1_ + out.imag[:, None] * e2_

    results = {}
    for name, transported in (("gauge_error", True), ("naive_error", False)):
        outs = []
        for frame in (e1, e1g):
            rho = connection(n, frame, edges) if transported else None
            outs.append(geometric(layer(coords(frame), edges, rho), frame))
        results[name] = float(np.linalg.norm(outs[0] - outs[1]) / np.linalg.norm(outs[0]))
    return results
