"""The Token Flow: tokens as particles on the sphere, moved layer by layer by self-attention.

State: ``x``, the n tokens (rows of R^d, d = 2 on the circle, 3 on the sphere), and ``x0``, where
they started. One step is one layer (see :mod:`flow`): the attention move, the MLP move and the
projection, each switched on or off by its parameter; depth times the step h is time.
"""

from __future__ import annotations

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from . import flow

SAMPLE = 256  # tokens whose positions are recorded every layer (the view draws their trails)
DENSITY_BINS = 180  # angle bins of the density on the circle
CONVERGENCE_TOKENS = 32
RUNAWAY = 1e8  # a token this far out (the projection switched off) counts as diverged


class TokenFlow(Model):
    """Self-attention dynamics of n tokens; ``measure_*`` methods answer the challenges."""

    work_unit = "token pairs"

    def reset(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self.d = 2 if self.params["space"] == "circle" else 3
        rng = np.random.default_rng(self.seed)
        self.x0 = flow.random_sphere(int(self.params["tokens"]), self.d, rng)
        self.x = self.x0.copy()
        self.layers = 0
        self.time = 0.0
        self.diverged = False

    # -- the dynamics ----------------------------------------------------------------------------
    def qkv(self):
        """Q, K, V of every layer (shared weights)."""
        return self._qkv()

    @derived("space", "offset", "repel", key=lambda self: self.seed)
    def _qkv(self):
        return flow.weights(self.d, float(self.params["offset"]), bool(self.params["repel"]), self.seed)

    def moves(self) -> tuple[str, ...]:
        """The moves switched on, in the order a layer applies them."""
        return tuple(m for m in ("attention", "mlp", "projection") if self.params[m])

    def step(self) -> None:
        h = float(self.params["h"])
        self.x = flow.layer(self.x, h, float(self.params["beta"]), self.qkv(), self.moves(), self.backend)
        self.layers += 1
        self.time += h
        if not np.all(np.isfinite(self.x)) or np.abs(self.x).max() > RUNAWAY:
            self.diverged = True

    # -- what is measured --------------------------------------------------------------------------
    def clusters(self) -> tuple[int, float]:
        """(number of clusters, share of the largest) among the first tokens (see flow.count_clusters)."""
        return self._clusters()

    @derived(key=lambda self: (self.seed, self.layers, id(self.x)))
    def _clusters(self):
        return flow.count_clusters(self.x)

    def spread(self) -> float:
        """1 − |mean direction|²: the mean of 1 − ⟨u_i, u_j⟩ over all pairs of directions u = x/|x|;
        0 exactly when every token points the same way."""
        u = flow.project(self.x)
        return float(max(1.0 - np.sum(u.mean(axis=0) ** 2), 0.0))

    def observables(self) -> dict:
        count, largest = self.clusters()
        return {"time": self.time, "layers": self.layers, "clusters": count, "largest": largest,
                "spread": self.spread(), "radius": float(np.linalg.norm(self.x, axis=1).mean()),
                "sample": self.x[:SAMPLE].copy()}

    def state(self) -> dict:
        return {"x": self.x}

    def work_per_step(self) -> float:
        return float(len(self.x)) ** 2 if self.params["attention"] else float(len(self.x))

    # -- what the view draws -------------------------------------------------------------------------
    def density(self) -> np.ndarray:
        """On the circle: the tokens' density over DENSITY_BINS angle bins (integrating to 1 over the
        angle), the continuum the attention integral is evaluated on."""
        return self._density()

    @derived(key=lambda self: (self.seed, self.layers, id(self.x)))
    def _density(self):
        angles = np.arctan2(self.x[:, 1], self.x[:, 0])
        counts, _ = np.histogram(angles, DENSITY_BINS, (-np.pi, np.pi))
        return counts / (len(self.x) * 2 * np.pi / DENSITY_BINS)

    @derived("beta", "space", "offset", "repel", key=lambda self: self.seed)
    def convergence(self) -> dict:
        """Discrete layers against the continuous flow (see flow.convergence), from the first
        CONVERGENCE_TOKENS tokens of this seed at this β and these weights."""
        return flow.convergence(self.x0[:CONVERGENCE_TOKENS], float(self.params["beta"]), self.qkv())

    # -- challenges --------------------------------------------------------------------------------
    def measure_cluster_count(self, run) -> int:
        """The clusters counted after the run's last layer."""
        return int(run.series("clusters")[-1])

    def measure_double_beta(self, run) -> str:
        """When every token first sits in one cluster in this run (at β) against a run from the same
        tokens at β / 2, all else equal: sooner, later, or about the same (within 20%)."""
        steps, largest = np.asarray(run.series_steps()), np.asarray(run.series("largest"))
        h = float(self.params["h"])
        whole = np.nonzero(largest >= 1.0)[0]
        this = float(steps[whole[0]]) * h if len(whole) else None
        horizon = run.steps * h
        half = flow.one_cluster_time(self.x0, h, 0.5 * float(self.params["beta"]), self.qkv(), horizon)
        self.one_cluster_times = {"beta": this, "half_beta": half}
        if this is None and half is None:
            return "about the same"
        if this is None:
            return "later"
        if half is None:
            return "sooner"
        if abs(this - half) <= 0.2 * half:
            return "about the same"
        return "later" if this > half else "sooner"
