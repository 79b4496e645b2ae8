"""The five stations' models and transformations, in small dense numpy.

Each station has an input x, a transformation g (applied k times: g^k), and four models f. For
each model the level measures the relative equivariance error

    ‖f(g·x) − g·f(x)‖ / ‖f(x)‖

where g acts on the output as the model's output type says: an image shifts or turns, node
features are permuted, vector coefficients turn with their frames, and an invariant output
(a pooled vector, a readout, a distance) is left alone (g·f(x) = f(x)). Everything is computed in
the chosen dtype; the error itself in float64.

Stations:
  Grids      shift an image by s pixels (circular): circular / zero-padded / stride-2 convolution,
             and global average pooling.
  Groups     turn an image by an angle about its centre: a p4 group convolution network, a plain
             CNN, and the p4 network pooled to one vector.
  Graphs     relabel the nodes (a permutation P): message passing, a sum readout, self-attention
             without and with positional encodings.
  Geodesics  bend a sheet without stretching it (or turn it rigidly): geodesic distances, angle
             defects, straight-line distances and vertex coordinates.
  Gauges     turn every vertex's tangent frame by its own angle: a gauge-equivariant layer, one
             that skips the transport, one with an unconstrained weight, and the output's lengths.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

STATIONS = ("Grids", "Groups", "Graphs", "Geodesics", "Gauges")
#: Errors below this (per dtype) are rounding: the model is called exact there. Deep enough
#: networks in float32 reach a few 1e-7; the bounds leave room and stay far below any real break.
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
#: An error above this is a break, not rounding, at either dtype.
BREAK = 1e-3
CHANNELS = 6  # hidden channels of the convolution networks
KERNEL = 3


def rng_for(seed: int, station: str) -> np.random.Generator:
    """One generator per (seed, station): each station's weights and input depend only on these."""
    return np.random.default_rng([int(seed), STATIONS.index(station)])


def relative_error(out: np.ndarray, expected: np.ndarray, reference: np.ndarray) -> float:
    """‖out − expected‖ / ‖reference‖ in float64 (0 for a zero reference and equal outputs)."""
    out, expected, reference = (np.asarray(a, np.float64) for a in (out, expected, reference))
    den = float(np.linalg.norm(reference))
    num = float(np.linalg.norm(out - expected))
    return num / den if den > 0 else (0.0 if num == 0 else math.inf)


@dataclass
class Model:
    """One model of a station: its name, how g acts on its output, and the function itself."""
    name: str
    short: str
    kind: str  # "equivariant" (g acts on the output) or "invariant" (g leaves the output alone)
    f: Callable[[object], np.ndarray]
    why: str = ""


@dataclass
class Station:
    """A station: its input, the transformation (input and output actions) and its models."""
    name: str
    action: str  # the button's words
    x: object
    models: list[Model]
    act_input: Callable[[object, int], object]  # g^k · x
    act_output: Callable[[Model, np.ndarray, int], np.ndarray | None]  # g^k · f(x), None: see best_match
    best_match: Callable[[Model, np.ndarray, np.ndarray], float] | None = None
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# images and convolutions


def glyph_image(size: int, rng: np.random.Generator, dtype=np.float64, disc: bool = True) -> np.ndarray:
    """A picture with sharp edges: a few filled rectangles and discs of random brightness. With
    ``disc``, on a dark ground and cut to the central disc (turning it about the centre keeps it in
    view); without, over a smooth random ground that reaches the edges (a shift wraps it round)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    c = (size - 1) / 2.0
    img = np.zeros((size, size))
    for _ in range(4):
        cx, cy = rng.uniform(0.3, 0.7, 2) * (size - 1)
        r = rng.uniform(0.08, 0.18) * size
        if rng.random() < 0.5:
            img += rng.uniform(0.4, 1.0) * ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r)
        else:
            w, h = rng.uniform(0.6, 1.4, 2) * r
            img += rng.uniform(0.4, 1.0) * ((abs(xx - cx) < w) & (abs(yy - cy) < h))
    if disc:
        img *= (xx - c) ** 2 + (yy - c) ** 2 < (0.45 * size) ** 2
    else:
        for _ in range(3):
            fx, fy = rng.integers(1, 3, 2)
            img += 0.25 * np.cos(2 * math.pi * (fx * xx + fy * yy) / size + rng.uniform(0, 2 * math.pi))
    return img.astype(dtype)


def conv_circular(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Circular cross-correlation of channels x (C, N, N) with w (D, C, k, k), through the FFT:
    out[d, i, j] = Σ_c Σ_ab w[d, c, a, b] x[c, i + a − k//2, j + b − k//2] (indices mod N).
    The FFT's rounding depends on where the picture sits, so an exact symmetry shows as rounding."""
    n, k = x.shape[-1], w.shape[-1]
    pad = np.zeros(w.shape[:2] + (n, n), dtype=x.dtype)
    pad[..., :k, :k] = w[..., ::-1, ::-1]
    pad = np.roll(pad, (-(k // 2), -(k // 2)), axis=(-2, -1))
    X, Wf = np.fft.rfft2(x), np.fft.rfft2(pad)
    out = np.fft.irfft2(np.einsum("dcij,cij->dij", Wf, X), s=(n, n))
    return out.astype(x.dtype)


def conv_zero(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The same correlation with zero padding ("same" size): pad by k//2 and by the rest to keep
    the FFT's wrap-around off the picture, then crop."""
    n, k = x.shape[-1], w.shape[-1]
    p = k // 2
    big = np.zeros(x.shape[:-2] + (n + 2 * p, n + 2 * p), dtype=x.dtype)
    big[..., p:p + n, p:p + n] = x
    return conv_circular(big, w)[..., p:p + n, p:p + n]


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def conv_weights(rng: np.random.Generator, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Two layers: 1 → CHANNELS → 1, with He-like scales so activations stay of order one."""
    w1 = rng.normal(0, 1 / 3, (CHANNELS, 1, KERNEL, KERNEL))
    w2 = rng.normal(0, 1 / math.sqrt(9 * CHANNELS), (1, CHANNELS, KERNEL, KERNEL))
    return w1.astype(dtype), w2.astype(dtype)


def shift(img: np.ndarray, s: int, axis=(-1,)) -> np.ndarray:
    """Circular shift right by s pixels along the last axis (a picture's columns)."""
    return np.roll(img, s, axis=axis)


def grids_station(seed: int, size: int, step: int, dtype: str) -> Station:
    dt = np.dtype(dtype)
    rng = rng_for(seed, "Grids")
    x = glyph_image(size, rng, dt, disc=False)
    w1, w2 = conv_weights(rng, dt)

    def circ(img):
        return conv_circular(relu(conv_circular(img[None], w1)), w2)[0]

    def zero(img):
        return conv_zero(relu(conv_zero(img[None], w1)), w2)[0]

    def stride(img):
        return circ(img)[::2, ::2]

    def pool(img):
        return relu(conv_circular(img[None], w1)).mean(axis=(1, 2))

    models = [
        Model("convolution, circular padding", "circular", "equivariant", circ,
              "every pixel sees the same neighbourhood, wrapped round at the edges"),
        Model("convolution, zero padding", "zero pad", "equivariant", zero,
              "pixels at the edge see zeros that do not move with the picture"),
        Model("convolution, then stride 2", "stride 2", "equivariant", stride,
              "keeps every other pixel: an odd shift lands between the kept ones"),
        Model("global average pooling", "pool", "invariant", pool,
              "averages each channel over the whole picture"),
    ]

    def act_input(img, k):
        return shift(img, step * k)

    def act_output(model, out, k):
        s = step * k
        if model.short == "stride 2":
            return shift(out, s // 2) if s % 2 == 0 else None
        return out if model.kind == "invariant" else shift(out, s)

    def best_match(model, moved, out):
        """For the stride-2 output and an odd shift: the closest any shift of f(x) comes to f(g·x)."""
        return min(relative_error(moved, shift(out, t), out) for t in range(out.shape[-1]))

    return Station("Grids", f"Shift right by {step} px", x, models, act_input, act_output, best_match,
                   {"step": step})


# ---------------------------------------------------------------------------------------------
# groups: p4


def rotate_image(img: np.ndarray, degrees: float) -> np.ndarray:
    """Turn a square picture (..., N, N) by ``degrees`` counter-clockwise (on screen, rows going
    down) about its centre. Multiples of 90° move pixels onto pixels (np.rot90, exact); any other
    angle puts the turned grid's points between pixels, so they are interpolated (bilinear, zero
    outside): that is where 45° stops being exact."""
    turns = degrees / 90.0
    if abs(turns - round(turns)) < 1e-12:
        return np.rot90(img, round(turns) % 4, axes=(-2, -1)).copy()
    n = img.shape[-1]
    c = (n - 1) / 2.0
    t = math.radians(degrees)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    # the output pixel (y, x) takes the input at the point turned back by −t (np.rot90's sense)
    dx, dy = xx - c, yy - c
    sx = c + math.cos(t) * dx - math.sin(t) * dy
    sy = c + math.sin(t) * dx + math.cos(t) * dy
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    fx, fy = sx - x0, sy - y0
    out = np.zeros_like(img, dtype=np.float64)
    for oy, ox, wgt in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
        yi, xi = y0 + oy, x0 + ox
        ok = (yi >= 0) & (yi < n) & (xi >= 0) & (xi < n)
        out += np.where(ok, img[..., np.clip(yi, 0, n - 1), np.clip(xi, 0, n - 1)], 0.0) * wgt
    return out.astype(img.dtype)


def disc_mask(n: int) -> np.ndarray:
    """The pixels inside the inscribed disc (less a rim of 2): a 45° turn keeps them in the picture."""
    c = (n - 1) / 2.0
    yy, xx = np.mgrid[0:n, 0:n]
    return (xx - c) ** 2 + (yy - c) ** 2 <= (c - 2.0) ** 2


def p4_lift(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Lifting convolution: x (C, N, N), w (D, C, k, k) → (D, 4, N, N), orientation r using the
    kernel turned by r·90°. Zero padding: turning the whole picture about its centre turns the
    padding with it, so the padding does not spoil 90° turns."""
    return np.stack([conv_zero(x, np.rot90(w, r, axes=(-2, -1))) for r in range(4)], axis=1)


def p4_group_conv(h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Group convolution on p4: h (C, 4, N, N), w (D, C, 4, k, k) → (D, 4, N, N). For output
    orientation r the kernel is turned by r·90° and its orientation axis shifted by r."""
    outs = []
    for r in range(4):
        wr = np.roll(np.rot90(w, r, axes=(-2, -1)), r, axis=2)
        C = h.shape[0]
        outs.append(conv_zero(h.reshape(C * 4, *h.shape[2:]), wr.reshape(w.shape[0], C * 4, *w.shape[3:])))
    return np.stack(outs, axis=1)


def groups_station(seed: int, size: int, degrees: float, dtype: str) -> Station:
    dt = np.dtype(dtype)
    rng = rng_for(seed, "Groups")
    n = size | 1  # odd: the centre is a pixel
    mask = disc_mask(n)
    x = glyph_image(n, rng, dt)
    w1 = rng.normal(0, 1 / 3, (CHANNELS, 1, KERNEL, KERNEL)).astype(dt)
    wg = rng.normal(0, 1 / math.sqrt(36 * CHANNELS), (1, CHANNELS, 4, KERNEL, KERNEL)).astype(dt)
    w2 = rng.normal(0, 1 / math.sqrt(9 * CHANNELS), (1, CHANNELS, KERNEL, KERNEL)).astype(dt)

    def p4(img):
        h = relu(p4_lift(img[None], w1))
        return p4_group_conv(h, wg)[0].max(axis=0)  # pooled over the four orientations

    def cnn(img):
        return conv_zero(relu(conv_zero(img[None], w1)), w2)[0]

    def p4_pool(img):
        h = relu(p4_lift(img[None], w1))
        return (h * mask).sum(axis=(1, 2, 3)) / mask.sum()

    def cnn_pool(img):
        return (relu(conv_zero(img[None], w1)) * mask).sum(axis=(1, 2)) / mask.sum()

    models = [
        Model("p4 group convolution", "p4 G-CNN", "equivariant", p4,
              "each kernel is used in all four 90° turns; the turns are pooled"),
        Model("plain CNN", "plain CNN", "equivariant", cnn, "one orientation of each kernel"),
        Model("p4, pooled over the disc", "p4 pool", "invariant", p4_pool,
              "p4 features averaged over space and the four turns"),
        Model("plain CNN, pooled over the disc", "CNN pool", "invariant", cnn_pool,
              "plain features averaged over space: the channels still see orientation"),
    ]

    def act_input(img, k):
        return rotate_image(img, degrees * k)

    def act_output(model, out, k):
        return out if model.kind == "invariant" else rotate_image(out, degrees * k)

    def round_trip() -> float:
        """How much turning the picture by the angle and back changes it, inside the disc: 0 for
        multiples of 90°, the interpolation's own loss otherwise."""
        back = rotate_image(rotate_image(x, degrees), -degrees)
        return relative_error(back * mask, x * mask, x * mask)

    return Station("Groups", f"Turn by {degrees:g}°", x, models, act_input, act_output, None,
                   {"degrees": degrees, "mask": mask, "round_trip": round_trip})


# ---------------------------------------------------------------------------------------------
# graphs


def random_graph(n: int, rng: np.random.Generator) -> np.ndarray:
    """A connected undirected graph: a ring plus a few random chords, as an adjacency matrix."""
    A = np.zeros((n, n))
    for i in range(n):
        A[i, (i + 1) % n] = A[(i + 1) % n, i] = 1.0
    for _ in range(n // 2):
        i, j = rng.choice(n, 2, replace=False)
        A[i, j] = A[j, i] = 1.0
    return A


def positional_encoding(n: int, d: int) -> np.ndarray:
    """Sinusoidal encodings of the node indices 0..n−1 (Vaswani et al. 2017)."""
    pos = np.arange(n)[:, None]
    i = np.arange(d)[None, :]
    angle = pos / np.power(100.0, (2 * (i // 2)) / d)
    return np.where(i % 2 == 0, np.sin(angle), np.cos(angle))


def softmax_rows(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def permutation(n: int, seed: int, k: int) -> np.ndarray:
    """g^k: the k-th relabelling, a composition of k random permutations (identity at k = 0);
    the j-th factor is drawn from (seed, j), so g^k is g^(k−1) followed by one more."""
    return np.array(_permutation(int(n), int(seed), int(k)))


@functools.lru_cache(maxsize=256)
def _permutation(n: int, seed: int, k: int) -> tuple[int, ...]:
    if k == 0:
        return tuple(range(n))
    before = np.array(_permutation(n, seed, k - 1))
    return tuple(int(i) for i in before[np.random.default_rng([seed, 99, k - 1]).permutation(n)])


def graphs_station(seed: int, nodes: int, dtype: str) -> Station:
    dt = np.dtype(dtype)
    rng = rng_for(seed, "Graphs")
    d = 8
    A = random_graph(nodes, rng).astype(dt)
    H = rng.normal(size=(nodes, d)).astype(dt)
    W1, W2, W3, W4 = (rng.normal(0, 1 / math.sqrt(d), (d, d)).astype(dt) for _ in range(4))
    Wq, Wk, Wv = (rng.normal(0, 1 / math.sqrt(d), (d, d)).astype(dt) for _ in range(3))
    P_enc = positional_encoding(nodes, d).astype(dt)

    def mp(graph):
        A_, H_ = graph
        h = relu(A_ @ H_ @ W1 + H_ @ W2)
        return relu(A_ @ h @ W3 + h @ W4)

    def readout(graph):
        return mp(graph).sum(axis=0)

    def attention(H_):
        q, kk, v = H_ @ Wq, H_ @ Wk, H_ @ Wv
        return (softmax_rows(q @ kk.T / np.asarray(math.sqrt(d), dt)) @ v).astype(dt)

    models = [
        Model("message passing", "message passing", "equivariant", mp,
              "each node sums its neighbours: H' = σ(A H W₁ + H W₂)"),
        Model("sum readout", "sum readout", "invariant", readout, "the sum over nodes of message passing"),
        Model("self-attention, no positions", "attention", "equivariant", lambda g: attention(g[1]),
              "every node attends to every node by content alone"),
        Model("self-attention + positions", "attention + pos", "equivariant", lambda g: attention(g[1] + P_enc),
              "index i gets encoding i: a new label means a new position"),
    ]

    def act_input(graph, k):
        p = permutation(nodes, seed, k)
        A_, H_ = graph
        return A_[np.ix_(p, p)], H_[p]

    def act_output(model, out, k):
        return out if model.kind == "invariant" else out[permutation(nodes, seed, k)]

    return Station("Graphs", "Relabel the nodes", (A, H), models, act_input, act_output, None,
                   {"nodes": nodes, "seed": seed, "perm_of": lambda k: permutation(nodes, seed, k)})


# ---------------------------------------------------------------------------------------------
# geodesics: bending a sheet without stretching it


def sheet(cols: int, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A flat rectangular sheet of cols × rows vertices, unit spacing, triangulated: (u, v)
    parameters of the vertices (n, 2), triangles (m, 3), edges (e, 2)."""
    u, v = np.meshgrid(np.arange(cols, dtype=np.float64), np.arange(rows, dtype=np.float64), indexing="ij")
    uv = np.stack([u.ravel(), v.ravel()], 1)
    idx = np.arange(cols * rows).reshape(cols, rows)
    tris = []
    for i in range(cols - 1):
        for j in range(rows - 1):
            a, b, c, d = idx[i, j], idx[i + 1, j], idx[i + 1, j + 1], idx[i, j + 1]
            tris += [(a, b, c), (a, c, d)]
    tris = np.array(tris)
    edges = np.unique(np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), axis=1), axis=0)
    return uv, tris, edges


def bend_profile(cols: int, fold: float) -> np.ndarray:
    """The sheet's cross-section after bending: column i at the end of a polyline whose segments
    have length 1 and which turns by ``fold`` radians at every interior column. Each strip between
    two columns stays a flat rectangle, so every triangle keeps its edge lengths exactly."""
    heading = fold * (np.arange(cols - 1) - (cols - 2) / 2.0)
    steps = np.stack([np.cos(heading), np.sin(heading)], 1)
    pts = np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])
    return pts - pts.mean(axis=0)


def embed(uv: np.ndarray, cols: int, fold: float, turn: float) -> np.ndarray:
    """3-D positions of the sheet's vertices: bent by ``fold`` per column, then turned rigidly by
    ``turn`` radians about the vertical (y) axis."""
    prof = bend_profile(cols, fold)
    col = uv[:, 0].astype(int)
    P = np.stack([prof[col, 0], uv[:, 1] - uv[:, 1].mean(), prof[col, 1]], 1)
    c, s = math.cos(turn), math.sin(turn)
    R = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])
    return P @ R.T


def dijkstra(n: int, edges: np.ndarray, lengths: np.ndarray, source: int) -> np.ndarray:
    """Shortest-path distances along the mesh's edges from ``source``: the mesh's own (intrinsic)
    distance, made only of edge lengths."""
    nbrs: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for (a, b), length in zip(edges, lengths):
        nbrs[a].append((b, float(length)))
        nbrs[b].append((a, float(length)))
    dist = np.full(n, np.inf)
    dist[source] = 0.0
    heap = [(0.0, source)]
    while heap:
        d0, a = heapq.heappop(heap)
        if d0 > dist[a]:
            continue
        for b, length in nbrs[a]:
            if d0 + length < dist[b]:
                dist[b] = d0 + length
                heapq.heappush(heap, (dist[b], b))
    return dist


def angle_defects(P: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """2π minus the sum of the triangle angles at each vertex (the discrete Gaussian curvature;
    for boundary vertices this is the turning of the boundary plus π, also intrinsic)."""
    out = np.full(len(P), 2 * math.pi)
    for k in range(3):
        a, b, c = P[tris[:, k]], P[tris[:, (k + 1) % 3]], P[tris[:, (k + 2) % 3]]
        u, v = b - a, c - a
        cos = np.sum(u * v, 1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
        np.subtract.at(out, tris[:, k], np.arccos(np.clip(cos, -1.0, 1.0)))
    return out


def procrustes_residual(moved: np.ndarray, original: np.ndarray) -> float:
    """How far the best rigid motion (turn + shift, Kabsch) of the original points misses the
    moved ones, relative to the original's spread: 0 when the points moved rigidly."""
    A = original - original.mean(0)
    B = moved - moved.mean(0)
    U, _, Vt = np.linalg.svd(A.T @ B)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    R = U @ D @ Vt
    return float(np.linalg.norm(A @ R - B) / np.linalg.norm(A))


def geodesics_station(seed: int, cols: int, deform: str, dtype: str) -> Station:
    dt = np.dtype(dtype)
    rng = rng_for(seed, "Geodesics")
    rows = max(4, cols // 2)
    uv, tris, edges = sheet(cols, rows)
    source = int(rng.integers(len(uv)))
    fold = float(rng.uniform(0.25, 0.35))  # radians per column and per application of g
    turn = float(rng.uniform(0.4, 0.8))

    def shape(k):
        return (fold * k, 0.0) if deform == "bend" else (0.0, turn * k)

    def geodesic(P):
        P = P.astype(dt)
        lengths = np.linalg.norm(P[edges[:, 0]] - P[edges[:, 1]], axis=1)
        return dijkstra(len(P), edges, lengths, source).astype(dt)

    def defects(P):
        return angle_defects(P.astype(dt), tris).astype(dt)

    def euclid(P):
        P = P.astype(dt)
        return np.linalg.norm(P - P[source], axis=1).astype(dt)

    def coords(P):
        return P.astype(dt)

    models = [
        Model("geodesic distance (along the mesh)", "geodesic", "invariant", geodesic,
              "shortest paths made of edge lengths only"),
        Model("angle defect (Gaussian curvature)", "angle defect", "invariant", defects,
              "2π minus the angles round each vertex: Gauss's theorema egregium"),
        Model("straight-line distance in space", "straight-line", "invariant", euclid,
              "cuts through the air: bending brings the ends closer"),
        Model("vertex coordinates (x, y, z)", "coordinates", "equivariant", coords,
              "where each vertex sits in space"),
    ]

    def act_input(P, k):
        f, t = shape(k)
        return embed(uv, cols, f, t).astype(dt)

    def act_output(model, out, k):
        if model.kind == "invariant":
            return out
        f, t = shape(k)
        if f == 0.0:  # a rigid turn acts on coordinates by the same turn
            return embed(uv, cols, 0.0, t).astype(dt)
        return None

    def best_match(model, moved, out):
        """Coordinates of a bent sheet: the closest any rigid motion of the flat coordinates comes."""
        return procrustes_residual(np.asarray(moved, np.float64), np.asarray(out, np.float64))

    x = embed(uv, cols, 0.0, 0.0).astype(dt)
    return Station("Geodesics", "Bend the sheet" if deform == "bend" else "Turn the sheet rigidly", x, models,
                   act_input, act_output, best_match,
                   {"uv": uv, "tris": tris, "edges": edges, "cols": cols, "rows": rows, "source": source,
                    "shape": shape})


# ---------------------------------------------------------------------------------------------
# gauges: per-vertex frames and transport on a curved surface


def rot2(t):
    """2×2 rotation(s) by t (radians); t may be an array: (..., 2, 2)."""
    t = np.asarray(t, np.float64)
    c, s = np.cos(t), np.sin(t)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def bump_surface(side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A side × side grid on the surface z = 0.8 exp(−r²/2) (over [−2, 2]²): points, unit normals,
    and 4-neighbour edges (both directions)."""
    g = np.linspace(-2.0, 2.0, side)
    X, Y = np.meshgrid(g, g, indexing="ij")
    Z = 0.8 * np.exp(-(X ** 2 + Y ** 2) / 2)
    P = np.stack([X.ravel(), Y.ravel(), Z.ravel()], 1)
    zx, zy = (-X * Z).ravel(), (-Y * Z).ravel()
    N = np.stack([-zx, -zy, np.ones_like(zx)], 1)
    N /= np.linalg.norm(N, axis=1, keepdims=True)
    idx = np.arange(side * side).reshape(side, side)
    pairs = [(idx[i, j], idx[i + di, j + dj]) for i in range(side) for j in range(side)
             for di, dj in ((1, 0), (0, 1)) if i + di < side and j + dj < side]
    e = np.array(pairs)
    return P, N, np.concatenate([e, e[:, ::-1]])


def reference_frames(N: np.ndarray) -> np.ndarray:
    """A first tangent axis per vertex: the x-axis projected onto the tangent plane (n, 3)."""
    ex = np.array([1.0, 0.0, 0.0])
    t = ex - (N @ ex)[:, None] * N
    return t / np.linalg.norm(t, axis=1, keepdims=True)


def frame_axes(N: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The frame (e₁, e₂) of each vertex: the reference axis turned by θᵢ about the normal."""
    t0 = reference_frames(N)
    t1 = np.cross(N, t0)
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    return c * t0 + s * t1, -s * t0 + c * t1


def transport_angles(P, N, edges, theta) -> np.ndarray:
    """Discrete Levi-Civita transport from vertex j to vertex i along each edge (i, j) = edges[:, 0],
    edges[:, 1], as an angle in frame coordinates: a vector with coefficients c in j's frame is
    carried to coefficients rot2(angle) c in i's frame. It turns j's tangent plane onto i's by the
    smallest rotation (about nᵢ × nⱼ) and reads the carried e₁ of j in i's frame."""
    i, j = edges[:, 0], edges[:, 1]
    ni, nj = N[i], N[j]
    e1, e2 = frame_axes(N, theta)
    axis = np.cross(nj, ni)
    s = np.linalg.norm(axis, axis=1)
    c = np.sum(ni * nj, 1)
    k = axis / np.where(s > 0, s, 1.0)[:, None]
    v = e1[j]  # Rodrigues: turn nⱼ onto nᵢ, carrying v along
    carried = v * c[:, None] + np.cross(k, v) * s[:, None] + k * (np.sum(k * v, 1) * (1 - c))[:, None]
    return np.arctan2(np.sum(carried * e2[i], 1), np.sum(carried * e1[i], 1))


def gauges_station(seed: int, side: int, dtype: str) -> Station:
    dt = np.dtype(dtype)
    rng = rng_for(seed, "Gauges")
    P, N, edges = bump_surface(side)
    n = len(P)
    theta0 = rng.uniform(-math.pi, math.pi, n)  # the starting frames: one arbitrary choice per vertex
    x = rng.normal(size=(n, 2)).astype(dt)  # a tangent vector per vertex, in its own frame
    a, b, a0, b0 = rng.normal(size=4) * 0.5
    W_eq = (a * np.eye(2) + b * rot2(math.pi / 2)).astype(dt)  # commutes with every rotation
    W_self = (a0 * np.eye(2) + b0 * rot2(math.pi / 2)).astype(dt)
    W_gen = (rng.normal(size=(2, 2)) * 0.5).astype(dt)  # a general 2×2: does not commute
    i, j = edges[:, 0], edges[:, 1]
    deg = np.bincount(i, minlength=n).astype(np.float64)

    turns: list[np.ndarray] = [theta0]  # the frames after 0, 1, 2, ... changes, grown as asked

    def frames(k):
        """The frames after k gauge changes: each application turns every frame by its own angle."""
        while len(turns) <= k:  # the j-th change is drawn from (seed, j): the same whatever was asked before
            turns.append(turns[-1] + np.random.default_rng([int(seed), 77, len(turns)]).uniform(-math.pi, math.pi, n))
        return turns[k]

    def layer(state, transport=True, W=W_eq):
        c, th = state
        T = rot2(transport_angles(P, N, edges, th)).astype(dt) if transport else np.broadcast_to(np.eye(2, dtype=dt), (len(edges), 2, 2))
        msg = np.einsum("eab,eb->ea", T, c[j]) @ W.T
        agg = np.zeros((n, 2), dtype=dt)
        np.add.at(agg, i, msg)
        return (c @ W_self.T + agg / deg[:, None].astype(dt)).astype(dt)

    models = [
        Model("gauge-equivariant layer", "gauge-equivariant", "equivariant", lambda s: layer(s),
              "transports each neighbour into the vertex's frame; W commutes with rotations"),
        Model("no transport (naive)", "no transport", "equivariant", lambda s: layer(s, transport=False),
              "adds neighbours' coefficients as if all frames agreed"),
        Model("transport, general W", "general W", "equivariant", lambda s: layer(s, W=W_gen),
              "transports, but W = any 2×2: it does not commute with rotations"),
        Model("lengths of the output", "lengths", "invariant", lambda s: np.linalg.norm(layer(s), axis=1),
              "the length of a vector does not depend on the frame"),
    ]

    def act_input(state, k):
        c = state[0]
        new = frames(k)
        phi = new - theta0  # each frame turned by φᵢ: the same vector has coefficients rot(−φᵢ) c
        return np.einsum("nab,nb->na", rot2(-phi).astype(dt), c).astype(dt), new

    def act_output(model, out, k):
        if model.kind == "invariant":
            return out
        phi = frames(k) - theta0
        return np.einsum("nab,nb->na", rot2(-phi), np.asarray(out, np.float64))

    return Station("Gauges", "Turn every frame", (x, theta0), models, act_input, act_output, None,
                   {"P": P, "N": N, "edges": edges, "frames": frames, "side": side})


# ---------------------------------------------------------------------------------------------


def make_station(name: str, seed: int, dtype: str, size: int = 24, shift_px: int = 1, degrees: float = 90.0,
                 nodes: int = 8, deform: str = "bend") -> Station:
    """The station ``name`` built from the seed at the given size and dtype."""
    if name == "Grids":
        return grids_station(seed, size, shift_px, dtype)
    if name == "Groups":
        return groups_station(seed, size, degrees, dtype)
    if name == "Graphs":
        return graphs_station(seed, nodes, dtype)
    if name == "Geodesics":
        return geodesics_station(seed, max(6, size // 2), deform, dtype)
    if name == "Gauges":
        return gauges_station(seed, max(5, size // 3), dtype)
    raise ValueError(f"unknown station {name!r}; the stations are {', '.join(STATIONS)}")


@dataclass
class Outcome:
    """One model's result after g^k: its outputs and its errors."""
    model: Model
    out: np.ndarray  # f(x)
    moved: np.ndarray  # f(g·x)
    expected: np.ndarray | None  # g·f(x) (None: g has no action on this output that fits)
    error: float  # ‖f(g·x) − g·f(x)‖ / ‖f(x)‖ (or the best match's)
    unchanged: float  # ‖f(g·x) − f(x)‖ / ‖f(x)‖


def evaluate(station: Station, k: int, outs: list[np.ndarray] | None = None) -> list[Outcome]:
    """Every model's error after g^k (``outs``: the f(x) already computed)."""
    moved_x = station.act_input(station.x, k)
    result = []
    for m, model in enumerate(station.models):
        out = outs[m] if outs is not None else model.f(station.x)
        moved = model.f(moved_x)
        expected = station.act_output(model, out, k)
        if expected is None:
            error = station.best_match(model, moved, out)
        else:
            error = relative_error(moved, expected, out)
        same_shape = np.shape(moved) == np.shape(out)
        unchanged = relative_error(moved, out, out) if same_shape else math.inf
        result.append(Outcome(model, out, moved, expected, error, unchanged))
    return result


def verdict(outcome: Outcome, dtype: str, k_is_identity: bool = False) -> str:
    """"moves with it" (equivariant), "stays" (invariant) or "breaks", judged at the dtype's tolerance."""
    tol = TOLERANCE[dtype]
    if outcome.error <= tol:
        if outcome.model.kind == "invariant" or k_is_identity:
            return "stays"
        return "stays" if outcome.unchanged <= tol else "moves with it"
    return "breaks"
