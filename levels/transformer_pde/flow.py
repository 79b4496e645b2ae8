"""The mathematics of the Token Flow, as plain numpy functions the model, the claims and the tests share.

Tokens are points x_i of the unit sphere S^{d-1}. One layer is three moves (operator splitting):

- attention: ``y_i = x_i + h Σ_j softmax_j(β⟨Q x_i, K x_j⟩) V x_j`` (the residual stream);
- MLP: ``y_i ← y_i + h W₂ relu(W₁ y_i + b₁)``, the same small network for every token;
- projection: ``x_i = y_i / |y_i|``, which is LayerNorm without its affine parameters (see
  :func:`layer_norm` and :func:`embed`).

As the step h shrinks, attention followed by the projection converges to the flow
``ẋ_i = P⊥_{x_i}(Σ_j softmax_j(β⟨Qx_i, Kx_j⟩) V x_j)`` of Geshkovski, Letrouit, Polyanskiy and
Rigollet, with an error of order h (:func:`euler_layers`); a Heun layer has order h².
"""

from __future__ import annotations

import numpy as np

from .kernels import attention

CLUSTER_ANGLE = 0.1  # radians: tokens closer than this are linked into one cluster
CLUSTER_SAMPLE = 512  # clusters are counted on at most this many tokens (a random sample: the first ones)
MLP_WIDTH = 16
MLP_SEED = 20240  # the MLP's weights do not change with the run's seed: one network, shared by all layers


def layer_norm(y: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """LayerNorm without affine parameters, row by row: (y − mean) / std, std the population one.

    Every output row has mean 0 and norm √D (D the row's length): the rows land on a sphere of
    radius √D inside the hyperplane orthogonal to (1, …, 1), a sphere of dimension D − 2."""
    y = np.asarray(y, dtype=np.float64)
    centred = y - y.mean(axis=-1, keepdims=True)
    return centred / np.sqrt((centred ** 2).mean(axis=-1, keepdims=True) + eps)


def hyperplane_basis(d: int) -> np.ndarray:
    """An orthonormal basis (d + 1, d) of the hyperplane of R^{d+1} orthogonal to (1, …, 1)."""
    ones = np.ones((d + 1, 1)) / np.sqrt(d + 1)
    q, _ = np.linalg.qr(np.hstack([ones, np.eye(d + 1)[:, :d]]))
    return q[:, 1:d + 1]


def embed(x: np.ndarray, offset: np.ndarray | float = 0.0) -> np.ndarray:
    """Tokens of R^d as residual-stream vectors of R^{d+1}: coordinates in the hyperplane 1⊥ plus any
    multiple of (1, …, 1) (which LayerNorm removes)."""
    x = np.asarray(x, dtype=np.float64)
    basis = hyperplane_basis(x.shape[-1])
    return x @ basis.T + np.reshape(offset, (-1, 1))


def unembed(y: np.ndarray) -> np.ndarray:
    """The hyperplane coordinates of residual-stream vectors of R^{d+1}, scaled by 1/√(d+1): LayerNorm's
    output read back as a point of the unit sphere S^{d−1}."""
    y = np.asarray(y, dtype=np.float64)
    return y @ hyperplane_basis(y.shape[-1] - 1) / np.sqrt(y.shape[-1])


def project(y: np.ndarray) -> np.ndarray:
    """The projection move: every token pushed radially onto the unit sphere."""
    return y / np.linalg.norm(y, axis=1, keepdims=True)


def random_sphere(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """n tokens uniform on the unit sphere S^{d−1}."""
    return project(rng.normal(size=(n, d)))


def weights(d: int, offset: float, repel: bool, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Q, K, V: the identity plus ``offset`` times fixed Gaussian matrices (drawn from ``seed``), and
    V negated when ``repel``. The same matrices serve every layer (shared weights)."""
    rng = np.random.default_rng([seed, 7919])
    q, k, v = (np.eye(d) + offset * rng.normal(size=(d, d)) / np.sqrt(d) for _ in range(3))
    return q, k, (-v if repel else v)


def mlp_weights(d: int):
    """The MLP's weights (W₁, b₁, W₂), fixed: one network shared by every layer and every token."""
    rng = np.random.default_rng([MLP_SEED, d])
    w1 = rng.normal(size=(MLP_WIDTH, d)) * 1.5
    b1 = rng.normal(size=MLP_WIDTH) * 0.5
    w2 = rng.normal(size=(d, MLP_WIDTH)) / np.sqrt(MLP_WIDTH)
    return w1, b1, w2


def mlp(y: np.ndarray, d: int) -> np.ndarray:
    """The MLP's output for every token alone: W₂ relu(W₁ y + b₁)."""
    w1, b1, w2 = mlp_weights(d)
    return np.maximum(y @ w1.T + b1, 0.0) @ w2.T


def attention_field(x: np.ndarray, beta: float, qkv, backend: str = "numpy") -> np.ndarray:
    """Σ_j softmax_j(β⟨Q x_i, K x_j⟩) V x_j for every token (the kernel does the O(n²) part)."""
    q, k, v = qkv
    return attention(beta * x @ q.T, x @ k.T, x @ v.T, backend=backend)


def tangent(x: np.ndarray, field: np.ndarray) -> np.ndarray:
    """P⊥_x: the part of the field tangent to the sphere at each token."""
    return field - np.sum(field * x, axis=1, keepdims=True) * x


def layer(x: np.ndarray, h: float, beta: float, qkv, moves=("attention", "projection"),
          backend: str = "numpy") -> np.ndarray:
    """One layer: the moves switched on, in order (attention, MLP, projection), with step h."""
    y = x
    if "attention" in moves:
        y = y + h * attention_field(x, beta, qkv, backend)
    if "mlp" in moves:
        y = y + h * mlp(y, x.shape[1])
    if "projection" in moves:
        y = project(y)
    return y


def heun_layer(x: np.ndarray, h: float, beta: float, qkv, backend: str = "numpy") -> np.ndarray:
    """A second-order layer (Heun's method on the projected flow, then the projection)."""
    k1 = tangent(x, attention_field(x, beta, qkv, backend))
    y = project(x + h * k1)
    k2 = tangent(y, attention_field(y, beta, qkv, backend))
    return project(x + 0.5 * h * (k1 + k2))


def euler_layers(x: np.ndarray, h: float, time: float, beta: float, qkv, heun: bool = False) -> np.ndarray:
    """``time / h`` layers (attention then projection, or Heun layers) from tokens ``x``."""
    steps = round(time / h)
    for _ in range(steps):
        x = heun_layer(x, h, beta, qkv) if heun else layer(x, h, beta, qkv)
    return x


def convergence(x0: np.ndarray, beta: float, qkv, time: float = 2.0,
                steps=(0.1, 0.05, 0.025, 0.0125, 0.00625)) -> dict:
    """How far discrete layers of step h end from the continuous flow at ``time``: the largest
    distance of a token from where a fine Heun integration (h = 1/1024) puts it, for Euler layers and
    Heun layers, and the order each error falls at (the slope of log error against log h)."""
    reference = euler_layers(x0, 1.0 / 1024, time, beta, qkv, heun=True)
    hs = np.asarray(steps, dtype=np.float64)
    euler = np.array([np.abs(euler_layers(x0, h, time, beta, qkv) - reference).max() for h in hs])
    heun = np.array([np.abs(euler_layers(x0, h, time, beta, qkv, heun=True) - reference).max() for h in hs])
    return {"h": hs, "euler": euler, "heun": heun,
            "euler_order": float(np.polyfit(np.log(hs), np.log(euler), 1)[0]),
            "heun_order": float(np.polyfit(np.log(hs), np.log(heun), 1)[0])}


def clusters(x: np.ndarray, angle: float = CLUSTER_ANGLE, min_size: int | None = None) -> list[np.ndarray]:
    """The clusters of tokens, biggest first, as index arrays: the token with the most neighbours
    less than ``angle`` away, with those neighbours, is a cluster; the same again among the tokens
    left, until no token has ``min_size`` (default :func:`min_cluster_size`) left around it.

    A cluster is so at most 2 × ``angle`` wide: evenly spread tokens are many small groups, not one
    chain, whatever their number."""
    u = project(np.asarray(x, dtype=np.float64))
    need = min_cluster_size(len(u)) if min_size is None else int(min_size)
    linked = u @ u.T > np.cos(angle)
    free = np.ones(len(u), bool)
    neighbours = linked.sum(axis=1)  # free neighbours of every token, kept up to date as clusters leave
    out = []
    while free.any():
        counts = np.where(free, neighbours, -1)
        leader = int(np.argmax(counts))  # the lowest index among ties: deterministic
        if counts[leader] < need:
            break
        members = np.nonzero(linked[leader] & free)[0]
        out.append(members)
        free[members] = False
        neighbours -= linked[:, members].sum(axis=1)
    return out


def min_cluster_size(n: int) -> int:
    """The fewest tokens that count as a cluster: 2, or 1% of the tokens counted, whichever is more."""
    return max(2, int(np.ceil(0.01 * n)))


def count_clusters(x: np.ndarray, angle: float = CLUSTER_ANGLE) -> tuple[int, float]:
    """The number of clusters (see :func:`clusters`) among the first :data:`CLUSTER_SAMPLE` tokens, and
    the share of those tokens in the largest."""
    x = np.asarray(x)[:CLUSTER_SAMPLE]
    if len(x) == 0:
        return 0, 0.0
    found = clusters(x, angle)
    return len(found), (max(len(c) for c in found) / len(x) if found else 0.0)


def one_cluster_time(x0: np.ndarray, h: float, beta: float, qkv, max_time: float) -> float | None:
    """The first time (layers × h) at which every token sits in a single cluster, or None before
    ``max_time``."""
    x = x0
    for step in range(1, round(max_time / h) + 1):
        x = layer(x, h, beta, qkv)
        if count_clusters(x)[1] == 1.0:
            return step * h
    return None
