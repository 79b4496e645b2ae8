"""The Manifold Untangler's numerics: the data sets, the tanh nets that try to untangle them, the
continuum they are judged on, and the nearest-neighbour classifier they are compared with.

No GL, no UI: the model, the claims, the tests and the witness all call these functions.

A net here is ``depth`` tanh layers of the same ``width`` followed by a linear read-out to two
logits: x → tanh(x W₁ + b₁) → … → tanh(h W_L + b_L) → h W_out + b_out. The read-out is linear,
so the net separates the classes exactly when its last layer has made them linearly separable.
For width 2 every layer maps the plane into the plane; with a non-singular W it is one-to-one
and continuous both ways (a homeomorphism onto its image), and a homeomorphism cannot take a
disc out of the ring around it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.nn import Adam, Dense, Sequential, Tanh, softmax_cross_entropy

#: The disc: radius below DISC_R (class 0). The ring: radius from RING_IN to RING_OUT (class 1).
DISC_R, RING_IN, RING_OUT = 1.0, 1.4, 2.0
#: Linked rings: two circles of this radius, each a tube of TUBE_R around it (class 0 and 1).
LINK_R, TUBE_R = 1.0, 0.25
#: The data sets the level offers.
DATASETS = ("disc in a ring", "linked rings")
#: Training points by default (full batch).
N_TRAIN = 300
#: Adam's step size and the default number of full-batch steps.
LEARNING_RATE = 0.03
STEPS = 1500
#: The continuum: a grid of this many points a side over [-2, 2]², kept where they are in a class.
GRID_2D = 161
#: The continuum of the linked rings: this many points along each circle, times this many in its tube.
LINK_ALONG, LINK_ACROSS = 240, 24


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def disc_and_ring(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points drawn uniformly by area from the disc (label 0) and the ring (label 1)."""
    area_disc = DISC_R**2
    area_ring = RING_OUT**2 - RING_IN**2
    labels = (rng.random(n) < area_ring / (area_disc + area_ring)).astype(np.int64)
    u = rng.random(n)
    r = np.where(labels == 0, DISC_R * np.sqrt(u), np.sqrt(RING_IN**2 + u * (RING_OUT**2 - RING_IN**2)))
    theta = rng.uniform(0.0, 2.0 * math.pi, n)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], 1), labels


def disc_ring_continuum(size: int = GRID_2D) -> tuple[np.ndarray, np.ndarray]:
    """The dense continuum: every point of a ``size``×``size`` grid over [−2, 2]² that lies in the
    disc or the ring, with its label. Accuracy over it is the share of the two sets' area."""
    axis = np.linspace(-RING_OUT, RING_OUT, size)
    xx, yy = np.meshgrid(axis, axis)
    pts = np.stack([xx.ravel(), yy.ravel()], 1)
    r = np.hypot(pts[:, 0], pts[:, 1])
    disc, ring = r <= DISC_R, (r >= RING_IN) & (r <= RING_OUT)
    keep = disc | ring
    return pts[keep], ring[keep].astype(np.int64)


def link_centres(t: np.ndarray, which: int) -> np.ndarray:
    """Points of the two linked circles at angles ``t``: circle 0 in the xy-plane around the
    origin, circle 1 in the xz-plane around (LINK_R, 0, 0), so each passes through the other."""
    c, s = np.cos(t), np.sin(t)
    if which == 0:
        return np.stack([LINK_R * c, LINK_R * s, 0.0 * t], 1)
    return np.stack([LINK_R + LINK_R * c, 0.0 * t, LINK_R * s], 1)


def _tube_frame(t: np.ndarray, which: int) -> tuple[np.ndarray, np.ndarray]:
    """Two unit normals of circle ``which`` at angles ``t`` (the radial and the axis directions)."""
    c, s, z = np.cos(t), np.sin(t), 0.0 * t
    if which == 0:
        return np.stack([c, s, z], 1), np.stack([z, z, z + 1.0], 1)
    return np.stack([c, z, s], 1), np.stack([z, z + 1.0, z], 1)


def linked_rings(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points from the two linked solid tubes, half each (label = which ring)."""
    labels = (np.arange(n) % 2).astype(np.int64)
    t = rng.uniform(0.0, 2.0 * math.pi, n)
    rho = TUBE_R * np.sqrt(rng.random(n))
    phi = rng.uniform(0.0, 2.0 * math.pi, n)
    pts = np.empty((n, 3))
    for which in (0, 1):
        m = labels == which
        n1, n2 = _tube_frame(t[m], which)
        pts[m] = link_centres(t[m], which) + rho[m, None] * (np.cos(phi[m])[:, None] * n1 + np.sin(phi[m])[:, None] * n2)
    return pts, labels


def link_continuum(along: int = LINK_ALONG, across: int = LINK_ACROSS) -> tuple[np.ndarray, np.ndarray]:
    """The linked tubes densely: ``along`` angles around each circle times ``across`` points of a
    disc of radius TUBE_R across it (a sunflower spiral, even by area)."""
    t = np.linspace(0.0, 2.0 * math.pi, along, endpoint=False)
    k = np.arange(across) + 0.5
    rho = TUBE_R * np.sqrt(k / across)
    phi = k * math.pi * (3.0 - math.sqrt(5.0))
    out, labels = [], []
    for which in (0, 1):
        n1, n2 = _tube_frame(t, which)
        centre = link_centres(t, which)
        offsets = (rho * np.cos(phi))[None, :, None] * n1[:, None, :] + (rho * np.sin(phi))[None, :, None] * n2[:, None, :]
        out.append((centre[:, None, :] + offsets).reshape(-1, 3))
        labels.append(np.full(along * across, which, np.int64))
    return np.concatenate(out), np.concatenate(labels)


def dataset(name: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training points of a data set by name (see DATASETS)."""
    if name == "disc in a ring":
        return disc_and_ring(n, rng)
    if name == "linked rings":
        return linked_rings(n, rng)
    raise ValueError(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}")


def continuum(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The dense continuum a data set is judged on."""
    return disc_ring_continuum() if name == "disc in a ring" else link_continuum()


# --------------------------------------------------------------------------------------------
# Stretching: a homeomorphism of the plane that keeps the topology and changes the distances
# --------------------------------------------------------------------------------------------


def stretch(points: np.ndarray, factor: float) -> np.ndarray:
    """Squash the plane's y-direction by ``factor`` (> 1: flatter) and shear it, (x, y) →
    (x + y/2, y/factor): linear and invertible, so a homeomorphism. The disc stays inside the ring
    (topology kept) but points of the disc end up closer to the ring than to each other."""
    if factor <= 0:
        raise ValueError(f"stretch factor must be positive, got {factor}")
    x, y = points[:, 0], points[:, 1]
    return np.stack([x + 0.5 * y, y / factor], 1)


# --------------------------------------------------------------------------------------------
# Nets
# --------------------------------------------------------------------------------------------


def make_net(n_in: int, width: int, depth: int, rng: np.random.Generator) -> Sequential:
    """``depth`` layers tanh(x W + b) of ``width`` units, then a linear read-out to 2 logits."""
    layers = []
    size = n_in
    for _ in range(depth):
        layers += [Dense(size, width, rng, scale=1.5), Tanh()]
        size = width
    layers.append(Dense(size, 2, rng))
    return Sequential(*layers)


def hidden_layers(net: Sequential, x: np.ndarray) -> list[np.ndarray]:
    """The points after each tanh layer (the input first, then one array per layer)."""
    out = [x]
    h = x
    for layer in net.layers[:-1]:
        h = layer.forward(h)
        if isinstance(layer, Tanh):
            out.append(h)
    return out


def predict(net: Sequential, x: np.ndarray) -> np.ndarray:
    """Class 0 or 1 for each point (the larger logit)."""
    return np.argmax(net.forward(x), axis=1)


def logit_gap(net: Sequential, x: np.ndarray) -> np.ndarray:
    """Logit of class 1 minus class 0: the read-out's signed score (its zero set is the boundary)."""
    z = net.forward(x)
    return z[:, 1] - z[:, 0]


def layer_dets(net: Sequential) -> list[float]:
    """det W of every square hidden weight (width 2 after the first layer, or all if n_in = width)."""
    return [float(np.linalg.det(layer.W)) for layer in net.layers[:-1]
            if isinstance(layer, Dense) and layer.W.shape[0] == layer.W.shape[1]]


@dataclass
class Training:
    """A full-batch Adam run that can be advanced a chunk at a time (the app calls
    :meth:`advance` once per frame)."""

    x: np.ndarray
    y: np.ndarray
    width: int
    depth: int
    seed: int
    steps: int = STEPS
    lr: float = LEARNING_RATE
    net: Sequential = field(init=False)
    done: int = field(init=False, default=0)
    losses: list[float] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.net = make_net(self.x.shape[1], self.width, self.depth, rng)
        self.opt = Adam(self.net.params, lr=self.lr)

    @property
    def finished(self) -> bool:
        return self.done >= self.steps

    def advance(self, n: int) -> None:
        """Up to ``n`` more Adam steps on the whole training set."""
        for _ in range(min(n, self.steps - self.done)):
            self.net.zero_grad()
            loss, grad = softmax_cross_entropy(self.net.forward(self.x), self.y)
            self.net.backward(grad)
            self.opt.step(self.net.grads)
            self.losses.append(loss)
            self.done += 1

    def run(self) -> Training:
        """Train to the end; returns itself."""
        self.advance(self.steps - self.done)
        return self


def accuracy_on(net: Sequential, x: np.ndarray, y: np.ndarray) -> float:
    """Share of points the net labels right."""
    return float(np.mean(predict(net, x) == y))


def train(name: str, width: int, depth: int, seed: int, steps: int = STEPS, n: int = N_TRAIN,
          factor: float = 1.0) -> Training:
    """Train a net on a data set (optionally stretched) from ``seed``; data and weights both
    come from the seed."""
    x, y = dataset(name, n, np.random.default_rng(1000 + seed))
    if factor != 1.0:
        x = stretch(x, factor)
    return Training(x, y, width, depth, seed, steps).run()


# --------------------------------------------------------------------------------------------
# Nearest neighbours
# --------------------------------------------------------------------------------------------


def knn_predict(train_x: np.ndarray, train_y: np.ndarray, query: np.ndarray, k: int = 5,
                chunk: int = 4096) -> np.ndarray:
    """The majority label among the ``k`` training points nearest (Euclidean) to each query."""
    if not 1 <= k <= len(train_x):
        raise ValueError(f"k must be between 1 and {len(train_x)}, got {k}")
    out = np.empty(len(query), np.int64)
    sq = np.sum(train_x**2, 1)
    for start in range(0, len(query), chunk):
        q = query[start:start + chunk]
        d2 = np.sum(q**2, 1)[:, None] - 2.0 * q @ train_x.T + sq[None, :]
        nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
        out[start:start + chunk] = (train_y[nearest].mean(1) > 0.5).astype(np.int64)
    return out
