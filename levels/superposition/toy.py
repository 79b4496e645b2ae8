"""The toy model of superposition (Elhage et al. 2022), in numpy: x' = ReLU(WᵀWx + b).

n features squeezed into m dimensions; several instances (seeds) trained at once, side by side, by
AdamW on the importance-weighted squared error. Plain numpy: every instance is a few dozen numbers,
so the batched products below are the whole cost (see the README's last section for why there is
no kernel).
"""

from __future__ import annotations

import numpy as np

from sim.nn import Adam

#: A feature counts as kept (represented) when its column of W is at least this long; trained
#: models put kept features near length 1 and dropped ones near 0.
KEPT_NORM = 0.5
#: Training runs in float32: a third of float64's time, and the losses agree to 1e-6.
DTYPE = np.float32


def importances(n: int, decay: float) -> np.ndarray:
    """Importance of feature i: decay**i (feature 0 the most important)."""
    return decay ** np.arange(n, dtype=np.float64)


def sample(rng: np.random.Generator, instances: int, batch: int, n: int, density: float) -> np.ndarray:
    """A batch (instances, batch, n): each feature present with probability ``density`` (one for all,
    or one per instance), its value uniform in [0, 1], absent features exactly 0."""
    u = rng.random((instances, batch, n), dtype=DTYPE)
    density = np.asarray(density, DTYPE).reshape(-1, 1, 1) if np.ndim(density) else DTYPE(density)
    # one draw serves both: u < p decides presence, and given that, u / p is uniform in [0, 1)
    return np.where(u < density, u / np.maximum(density, DTYPE(1e-12)), DTYPE(0.0))

def forward(W: np.ndarray, b: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hidden h = W x, pre-activation WᵀW x + b) for W (K, m, n), b (K, n), x (K, B, n)."""
    h = x @ W.transpose(0, 2, 1)
    pre = h @ W + b[:, None, :]
    return h, pre


def loss_and_grads(W, b, x, importance):
    """Per-instance loss mean_batch Σᵢ Iᵢ (xᵢ − x'ᵢ)², and its exact gradients with respect to W and b.

    ``importance``: (n,) for every instance, or (K, n) one row per instance."""
    h, pre = forward(W, b, x)
    out = np.maximum(pre, 0.0)
    diff = out - x
    weight = np.broadcast_to(np.asarray(importance, W.dtype), b.shape)[:, None, :]  # (K, 1, n)
    loss = (diff * diff * weight).sum(axis=2).mean(axis=1)
    d_pre = (diff * (W.dtype.type(2.0 / x.shape[1]) * weight)) * (pre > 0.0)
    d_b = d_pre.sum(axis=1)
    d_h = d_pre @ W.transpose(0, 2, 1)
    d_W = h.transpose(0, 2, 1) @ d_pre + d_h.transpose(0, 2, 1) @ x  # read-out Wᵀ, then embedding W
    return loss, d_W, d_b


def expected_loss(W, b, importance, density, rng, batch=8192):
    """The loss of each instance on one large fresh batch (a Monte Carlo estimate of the expectation)."""
    x = sample(rng, W.shape[0], batch, W.shape[2], density)
    return loss_and_grads(W, b, x, importance)[0]


def dimensionality(W: np.ndarray) -> np.ndarray:
    """Dᵢ = ‖Wᵢ‖² / Σⱼ (Ŵᵢ·Wⱼ)² for every feature (columns of W, (m, n)); 0 for a dropped feature.

    A feature alone in its own dimension has D = 1; five sharing a plane in a pentagon have 2/5."""
    norms = np.linalg.norm(W, axis=0)
    unit = W / np.maximum(norms, 1e-12)
    overlap = (unit.T @ W) ** 2  # (Ŵᵢ·Wⱼ)²
    dims = norms**2 / np.maximum(overlap.sum(axis=1), 1e-12)
    return np.where(norms > 1e-6, dims, 0.0)


def kept(W: np.ndarray) -> np.ndarray:
    """The features whose column of W (m, n) is longer than KEPT_NORM."""
    return np.linalg.norm(W, axis=0) > KEPT_NORM


def neighbour_angles(W: np.ndarray) -> np.ndarray:
    """The angles (degrees) between neighbouring kept columns of W (2, n) going round the circle;
    empty if fewer than two are kept."""
    cols = W[:, kept(W)]
    if cols.shape[1] < 2:
        return np.zeros(0)
    theta = np.sort(np.arctan2(cols[1], cols[0]))
    gaps = np.diff(np.concatenate([theta, theta[:1] + 2 * np.pi]))
    return np.degrees(gaps)


class ToyModels:
    """K instances of the toy model (n features, m dimensions) trained side by side by AdamW.

    ``W`` (K, m, n) and ``b`` (K, n); instance k starts from its own seed (Xavier-normal W, b = 0).
    """

    def __init__(self, n: int, m: int, instances: int, density: float, importance: np.ndarray, seed: int,
                 lr: float = 1e-2, batch: int = 512, weight_decay: float = 1e-2):
        self.n, self.m, self.instances = n, m, instances
        self.density = density
        self.importance = np.asarray(importance, DTYPE)
        self.batch = batch
        self.rng = np.random.default_rng([seed, 7])
        std = np.sqrt(2.0 / (n + m))
        self.W = np.stack([np.random.default_rng([seed, k]).normal(0.0, std, (m, n))
                           for k in range(instances)]).astype(DTYPE)
        self.b = np.zeros((instances, n), DTYPE)
        self.optimizer = Adam([self.W, self.b], lr=lr, weight_decay=weight_decay)
        self.steps = 0
        self.loss = np.full(instances, np.nan)

    def train(self, steps: int) -> None:
        """``steps`` AdamW steps, each on a fresh batch per instance; ``loss`` keeps the last batch's."""
        for _ in range(steps):
            x = sample(self.rng, self.instances, self.batch, self.n, self.density)
            loss, d_W, d_b = loss_and_grads(self.W, self.b, x, self.importance)
            self.optimizer.step([d_W, d_b])
            self.loss = loss
            self.steps += 1
