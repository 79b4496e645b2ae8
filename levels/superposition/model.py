"""The Interference Demo: toy models of superposition trained live, several seeds side by side.

Every tick trains all instances for CHUNK AdamW steps (a frame stays well under 16.7 ms) until the
budget is spent. Every few ticks the instances are measured on one fixed evaluation batch, and the
best by that loss is the one the level shows and measures: single seeds fall into local minima.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from sandbox.model import Model

from . import phase as phase_grid
from .toy import (
    ToyModels,
    dimensionality,
    importances,
    kept,
    loss_and_grads,
    neighbour_angles,
    sample,
)

MODES = ("5 features in 2D", "2 features in 1D")
#: AdamW steps per tick: about 6 ms on two cores for six instances at batch 512.
CHUNK = 8
#: The instances are measured on the evaluation batch every this many ticks (and at the end).
EVAL_EVERY = 5
EVAL_BATCH = 4096
BATCH = 512
#: More features than dimensions are "in superposition" when ‖W‖²_F / m passes this: a projection
#: (no superposition) has exactly 1; antipodal pairs about 2, the pentagon about 3.
SUPERPOSED = 1.25


@functools.cache
def stored_phase() -> dict[str, np.ndarray]:
    """The phase diagram shipped with the level (see phase.py), read once."""
    return phase_grid.load()


class SuperpositionModel(Model):
    """K toy models x' = ReLU(WᵀWx + b) with n features in m dimensions (5 in 2, or 2 in 1).

    For the view: ``toys`` (W (K, m, n), b (K, n)), ``eval_loss`` (K,), ``best``, ``history``
    (steps and the evaluation losses), :meth:`W_of`, :meth:`probe`, :meth:`cell`.
    """

    work_unit = "instance-steps"

    @property
    def mode(self) -> str:
        return str(self.params["mode"])

    @property
    def shape(self) -> tuple[int, int]:
        return (5, 2) if self.mode == MODES[0] else (2, 1)

    @property
    def density(self) -> float:
        """1 − S: the probability that a feature is present."""
        return 1.0 - float(self.params["sparsity"])

    @property
    def importance(self) -> np.ndarray:
        n, _ = self.shape
        if n == 2:
            return np.array([1.0, float(self.params["ratio"])])
        return importances(n, float(self.params["decay"]))

    @property
    def relative_importance(self) -> float:
        """The second feature's importance over the first's: where this run sits on the phase diagram."""
        imp = self.importance
        return float(imp[1] / imp[0])

    def reset(self, seed: int = 0) -> None:
        n, m = self.shape
        k = int(self.params["instances"])
        self.seed = seed
        self.toys = ToyModels(n, m, k, self.density, self.importance, seed=seed, lr=float(self.params["lr"]),
                              batch=BATCH)
        self._eval_x = sample(np.random.default_rng([seed, 4242]), k, EVAL_BATCH, n, self.density)
        self.history: dict[str, list] = {"steps": [], "loss": [], "kept": [], "per_dim": []}
        self.ticks = 0
        self.evaluate()

    @property
    def budget(self) -> int:
        return int(self.params["budget"])

    @property
    def finished(self) -> bool:
        return self.toys.steps >= self.budget

    @property
    def progress(self) -> float:
        return min(1.0, self.toys.steps / max(1, self.budget))

    def step(self) -> None:
        """CHUNK training steps of every instance (none once the budget is spent)."""
        if self.finished:
            return
        self.toys.train(min(CHUNK, self.budget - self.toys.steps))
        self.ticks += 1
        if not np.all(np.isfinite(self.toys.W)):
            self.diverged = True
            return
        if self.ticks % EVAL_EVERY == 0 or self.finished:
            self.evaluate()

    def work_per_step(self) -> float:
        return 0.0 if self.finished else float(CHUNK * self.toys.instances)

    def evaluate(self) -> None:
        """Measure every instance on the fixed evaluation batch; the best is the lowest."""
        self.eval_loss = loss_and_grads(self.toys.W, self.toys.b, self._eval_x, self.toys.importance)[0].astype(np.float64)
        self.best = int(np.argmin(self.eval_loss))
        self.history["steps"].append(self.toys.steps)
        self.history["loss"].append(self.eval_loss.copy())
        self.history["kept"].append(self.summary()["kept"])
        self.history["per_dim"].append(self.per_dimension())

    # -- what an instance does ---------------------------------------------------------------------

    def W_of(self, k: int | None = None) -> np.ndarray:
        """W (m, n) of instance k (default: the best), in float64."""
        return self.toys.W[self.best if k is None else k].astype(np.float64)

    def b_of(self, k: int | None = None) -> np.ndarray:
        return self.toys.b[self.best if k is None else k].astype(np.float64)

    def gram(self, k: int | None = None) -> np.ndarray:
        """WᵀW (n, n): the diagonal is each feature's squared length, the rest its interference."""
        W = self.W_of(k)
        return W.T @ W

    def probe(self, feature: int, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Feature ``feature`` (0-based) switched on at 1, the others off: (pre-activation
        WᵀW eₖ + b, output ReLU of it). The entries i ≠ k are the ghosts interference makes."""
        pre = self.gram(k)[:, feature] + self.b_of(k)
        return pre, np.maximum(pre, 0.0)

    def per_dimension(self, k: int | None = None) -> float:
        """‖W‖²_F / m: about 1 without superposition, more when features share dimensions."""
        W = self.W_of(k)
        return float((W**2).sum() / W.shape[0])

    def summary(self, k: int | None = None) -> dict[str, Any]:
        """The measured shape of instance k (default: the best), remembered until the next step."""
        k = self.best if k is None else k
        memo_key = (self.toys.steps, k)
        if getattr(self, "_summary_key", None) != self.toys.steps:
            self._summary_key, self._summaries = self.toys.steps, {}
        if memo_key not in self._summaries:
            self._summaries[memo_key] = self._measure(k)
        return self._summaries[memo_key]

    def _measure(self, k: int) -> dict[str, Any]:
        W = self.W_of(k)
        angles = neighbour_angles(W) if W.shape[0] == 2 else np.zeros(0)
        return {"kept": int(kept(W).sum()), "per_dim": self.per_dimension(k), "dims": dimensionality(W),
                "angle": float(angles.mean()) if len(angles) else float("nan"),
                "phase": phase_grid.PHASES[phase_grid.classify(W[0])] if W.shape == (1, 2) else None}

    def cell(self) -> tuple[int, int]:
        """The phase diagram's cell (density index, ratio index) nearest to this run."""
        grid = stored_phase()
        i = int(np.argmin(np.abs(np.log10(grid["densities"]) - np.log10(max(self.density, 1e-9)))))
        j = int(np.argmin(np.abs(np.log10(grid["ratios"]) - np.log10(self.relative_importance))))
        return i, j

    # -- runner interface --------------------------------------------------------------------------

    def observables(self) -> dict[str, Any]:
        s = self.summary()
        return {"progress": self.progress, "loss": float(self.eval_loss[self.best]), "kept": s["kept"],
                "per_dim": s["per_dim"], "angle": s["angle"] if np.isfinite(s["angle"]) else 0.0,
                "bias_min": float(self.b_of().min()), "dims": s["dims"]}

    def state(self) -> dict[str, np.ndarray]:
        return {"W": self.toys.W, "b": self.toys.b}

    # -- challenge measures ------------------------------------------------------------------------

    def measure_kept(self, run) -> int:
        """How many features the best instance keeps (columns longer than 0.5)."""
        return self.summary()["kept"]

    def measure_angle(self, run) -> float:
        """The mean angle (degrees) between neighbouring kept features of the best instance."""
        return round(self.summary()["angle"], 1)

    def measure_superposition(self, run) -> str:
        """Whether the best instance holds more features than dimensions (‖W‖²_F / m above 1.25)."""
        return "superposition" if self.per_dimension() > SUPERPOSED else "no superposition"

    def measure_phase(self, run) -> str:
        """What the best instance's one dimension holds (2 features in 1D)."""
        return self.summary()["phase"] or "neither"
