"""Rectified flow in the plane: a velocity field learned between noise and data, and reflow.

Pair noise ``x0 ~ N(0, I)`` with data ``x1`` and join them by the straight line
``x_t = t x1 + (1 - t) x0``, whose velocity is ``x1 - x0``. A network ``v(x, t)`` regressed on
that velocity (mean squared error over random t) learns ``E[x1 - x0 | x_t = x]``; integrating
``dx/dt = v(x, t)`` from t = 0 to 1 then carries noise to data (Liu, Gong & Liu 2022).

With independent pairs, lines through the same point head different ways; the learned field
averages them, so its paths bend (they cannot cross) and few Euler steps cut the corners.
*Reflow* re-pairs each ``x0`` with where the learned ODE takes it, ``(x0, ODE(x0))``, and
trains again: those pairs are joined by the flow itself, lines no longer cross, and the
paths straighten, so one Euler step lands nearly where fifty do.

Everything here is numpy on the shared network kit :mod:`sim.nn`.
"""

from __future__ import annotations

import numpy as np

from sim import nn
from sim.mixture import GaussianMixture


class VelocityField:
    """``v(x, t)``: an MLP from (x, y, t) to a 2-D velocity, trained by Adam on the flow loss.

    ``width`` hidden units in each of two tanh layers: smooth, so the paths are smooth.
    float32 by default: numpy's tanh is ~5x faster in float32 than in float64 here, and
    training live is what the level is about; float64 serves gradient checks.
    """

    def __init__(self, rng: np.random.Generator, width: int = 64, lr: float = 3e-3, dtype=np.float32):
        self.width = width
        self.dtype = dtype
        self.net = nn.Sequential(nn.Dense(3, width, rng, dtype=dtype), nn.Tanh(),
                                 nn.Dense(width, width, rng, dtype=dtype), nn.Tanh(),
                                 nn.Dense(width, 2, rng, dtype=dtype))
        self.optimizer = nn.Adam(self.net.params, lr=lr)
        self.base_lr = lr

    def __call__(self, x: np.ndarray, t) -> np.ndarray:
        """The velocity at points ``x`` (N, 2) and times ``t`` (a scalar or (N,))."""
        return self.net.forward(self.inputs(x, t))

    def inputs(self, x: np.ndarray, t) -> np.ndarray:
        """The network's input rows (x, y, 2t - 1): time centred so tanh units start linear."""
        times = np.broadcast_to(np.asarray(t, dtype=self.dtype), (len(x),))
        return np.column_stack([np.asarray(x, dtype=self.dtype), 2 * times - 1]).astype(self.dtype, copy=False)

    def train_step(self, x0: np.ndarray, x1: np.ndarray, t: np.ndarray) -> float:
        """One Adam step on ``mean |v(x_t, t) - (x1 - x0)|^2`` over the batch; returns the loss."""
        x_t = t[:, None] * x1 + (1.0 - t[:, None]) * x0
        self.net.zero_grad()
        loss, grad = nn.mse_loss(self(x_t, t), (x1 - x0).astype(self.dtype))
        self.net.backward(grad)
        self.optimizer.step(self.net.grads)
        return 2.0 * loss  # mse_loss averages over both coordinates; report |.|^2 per pair

    def copy(self) -> "VelocityField":
        """The same network in new arrays, with a fresh optimizer: the warm start of a reflow."""
        twin = VelocityField(np.random.default_rng(0), self.width, self.base_lr, self.dtype)
        twin.net.set_parameters_vector(self.net.parameters_vector())
        return twin


def euler_paths(field: VelocityField, x0: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Integrate ``dx/dt = v(x, t)`` from t = 0 to 1 with ``steps`` Euler steps.

    Returns ``(path, velocities)``: the positions (steps + 1, N, 2) and the velocity used in
    each step (steps, N, 2).
    """
    h = 1.0 / steps
    path = np.empty((steps + 1, *np.shape(x0)))
    velocities = np.empty((steps, *np.shape(x0)))
    path[0] = x0
    for i in range(steps):
        velocities[i] = field(path[i], i * h)
        path[i + 1] = path[i] + h * velocities[i]
    return path, velocities


def generate(field: VelocityField, x0: np.ndarray, steps: int) -> np.ndarray:
    """Where ``steps`` Euler steps of the learned flow take the noise ``x0``."""
    return euler_paths(field, x0, steps)[0][-1]


def bending(path: np.ndarray, velocities: np.ndarray) -> tuple[float, float]:
    """``(E int_0^1 |(Z1 - Z0) - v(Z_t, t)|^2 dt, E |Z1 - Z0|^2)`` over the paths: how far the
    velocity strays from the chord, and the chord's size (their ratio is :func:`straightness`)."""
    chord = path[-1] - path[0]
    deviation = ((velocities - chord[None]) ** 2).sum(axis=-1).mean()  # the mean over steps is the dt integral
    return float(deviation), float((chord**2).sum(axis=-1).mean())


def straightness(path: np.ndarray, velocities: np.ndarray) -> float:
    """How far the flow is from straight: ``E int_0^1 |(Z1 - Z0) - v(Z_t, t)|^2 dt``, relative to
    ``E |Z1 - Z0|^2`` (Liu et al.'s measure, normalised). 0 for straight paths at constant speed."""
    deviation, chord = bending(path, velocities)
    return deviation / max(chord, 1e-12)


class RectifiedFlow:
    """A sequence of flows: the first trained on independent pairs, each next on reflow pairs.

    ``fields[k]`` is the k-th flow (k = 0: 1-rectified). Training is incremental (call
    :meth:`train` with a number of iterations) so an app can show it live.
    """

    def __init__(self, target: GaussianMixture, rng: np.random.Generator, width: int = 64, lr: float = 3e-3,
                 batch: int = 256):
        self.target = target
        self.rng = rng
        self.batch = batch
        self.fields = [VelocityField(rng, width, lr)]
        self.pairs: tuple[np.ndarray, np.ndarray] | None = None  # None: independent pairs
        self.iterations = 0  # of the current field

    @property
    def field(self) -> VelocityField:
        return self.fields[-1]

    @property
    def rounds(self) -> int:
        """How many reflows the current field has had (0 for the first flow)."""
        return len(self.fields) - 1

    def _batch_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        if self.pairs is None:
            return self.rng.standard_normal((self.batch, 2)), self.target.sample(self.batch, self.rng)
        index = self.rng.integers(0, len(self.pairs[0]), size=self.batch)
        return self.pairs[0][index], self.pairs[1][index]

    def train(self, iterations: int, total: int) -> float:
        """``iterations`` Adam steps of the current field; the learning rate follows a cosine
        from its base to 10% over ``total`` iterations. Returns the mean loss of these steps."""
        losses = []
        field = self.field
        for _ in range(iterations):
            progress = min(1.0, self.iterations / max(total, 1))
            field.optimizer.lr = field.base_lr * (0.1 + 0.45 * (1.0 + np.cos(np.pi * progress)))
            x0, x1 = self._batch_pairs()
            losses.append(field.train_step(x0, x1, self.rng.random(self.batch)))
            self.iterations += 1
        return float(np.mean(losses)) if losses else float("nan")

    def reflow(self, n_pairs: int, steps: int = 100) -> None:
        """Pair fresh noise with where the current flow takes it (``steps`` Euler steps) and
        start the next round on those pairs."""
        x0 = self.rng.standard_normal((n_pairs, 2))
        self.start_round(x0, generate(self.field, x0, steps))

    def start_round(self, x0: np.ndarray, x1: np.ndarray) -> None:
        """Train a next field on the pairs ``(x0, x1)``, starting from the current field (a
        warm start: the new pairs are the current flow's own)."""
        self.pairs = (np.asarray(x0, dtype=np.float64), np.asarray(x1, dtype=np.float64))
        self.fields.append(self.field.copy())
        self.iterations = 0


def exact_velocity(target: GaussianMixture, x: np.ndarray, t: float) -> np.ndarray:
    """The velocity the first flow learns, exactly: ``E[x1 - x0 | x_t = x]`` for independent
    pairs of ``x0 ~ N(0, I)`` and ``x1 ~ target``.

    ``x_t = t x1 + (1 - t) x0`` is the target noised to ``(alpha, sigma) = (t, 1 - t)``, a
    mixture with an exact score ``s``; Tweedie's formula gives ``E[x0 | x_t] = -(1 - t) s``,
    and ``x_t = t E[x1 | x_t] + (1 - t) E[x0 | x_t]`` then gives ``v = (x + (1 - t) s) / t``.
    At t = 0 (x_t = x0, independent of x1) it is ``E[x1] - x``.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
    if t < 1e-9:
        return target.weights @ target.means - x
    return (x + (1.0 - t) * target.score(x, alpha=t, sigma=1.0 - t)) / t
