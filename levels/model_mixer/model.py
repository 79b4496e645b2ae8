"""The Model Mixer: task vectors of a small network, added, negated and merged live.

With ``start = checkpoint`` the trained weights stored with the level are loaded at once; with
``scratch`` the whole run trains live (:class:`.mixer.MixerRun`, a few training steps per tick
and a progress bar): pre-training, one fine-tuning per skill, then a second lineage from another
random start. Once trained, the sliders λ set θ = θ_pre + Σ λ_k τ_k and every skill's accuracy is
measured on fixed held-out points, each time a slider moves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from .mixer import N_SKILLS, SKILLS, EvalSet, Evaluator, MixerRun, inputs, pick

HERE = Path(__file__).resolve().parent
#: The trained runs stored with the level (``python levels/model_mixer/mixer.py``).
CHECKPOINTS = HERE / "checkpoints"
#: Training steps per tick while the run trains live.
STEPS_PER_TICK = 4
#: The class maps drawn in the scene: a GRID × GRID lattice over the square.
GRID = 40
#: λ values of the sweep plot, and the held-out points a skill it measures on (fewer: 15 merges at once).
SWEEP_LAMBDAS = np.linspace(-1.5, 2.0, 15)
SWEEP_POINTS = 150
#: The two skills the merge comparisons use (one model fine-tuned on each).
PAIR = (0, 1)


def checkpoint_path(seed: int) -> Path:
    return CHECKPOINTS / f"seed{seed}.npz"


class MixerModel(Model):
    """A trained (or training) :class:`MixerRun` and the merge the sliders set.

    For the view: ``run``, ``lambdas``, :meth:`accuracies` (each skill, the merged model),
    :meth:`class_maps` (the merged model's answer on a grid, per skill), :meth:`merges` (the
    shared-start average against two models from different starts, raw and aligned),
    :meth:`sweep` (each skill's accuracy as one λ moves), ``progress``, ``finished``.
    """

    work_unit = "training steps"

    def __init__(self, params: dict[str, Any], backend: str = "numpy"):
        super().__init__(params, backend)
        self.data = EvalSet()
        self.sweep_data = EvalSet(n=SWEEP_POINTS, seed=4321)
        self.run: MixerRun | None = None
        self.loaded = False

    # -- life cycle ---------------------------------------------------------------------------------
    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        path = checkpoint_path(seed)
        self.loaded = self.params["start"] == "checkpoint" and path.exists()
        self.run = MixerRun.load(path) if self.loaded else MixerRun(seed=seed)
        self.evaluator = Evaluator(self.run.recipe.width)

    @property
    def finished(self) -> bool:
        return self.run.finished

    @property
    def progress(self) -> float:
        return self.run.progress

    def step(self) -> None:
        """A few training steps, until the run is trained (then nothing)."""
        if not self.finished:
            self.run.train(STEPS_PER_TICK)

    def work_per_step(self) -> float:
        return 0.0 if self.finished else float(STEPS_PER_TICK)

    @property
    def lambdas(self) -> tuple[float, ...]:
        return tuple(float(self.params[f"lam_{name}"]) for name in SKILLS)

    # -- measurements -------------------------------------------------------------------------------
    def theta(self) -> np.ndarray:
        """The parameters on show: the merge of the sliders once trained, else the network in training."""
        if self.finished:
            return self.run.merged(self.lambdas)
        return self.run.current()

    @derived(key=lambda self: (id(self.run), self.run.step_count // 20, self.finished, self.lambdas))
    def accuracies(self) -> np.ndarray:
        """Each skill's accuracy (fraction right) on the held-out points."""
        return self.evaluator.accuracies(self.theta(), self.data)

    def accuracy_of(self, theta: np.ndarray) -> np.ndarray:
        return self.evaluator.accuracies(theta, self.data)

    @derived(key=lambda self: (id(self.run), self.run.step_count // 40, self.finished, self.lambdas))
    def class_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """(predicted, true) classes on the GRID × GRID lattice, per skill: (skills, GRID, GRID)
        each, row 0 at the top (y = 1)."""
        from .mixer import labels
        ticks = (np.arange(GRID) + 0.5) / GRID * 2 - 1
        xx, yy = np.meshgrid(ticks, ticks[::-1])
        x = np.stack([xx.ravel(), yy.ravel()], axis=1)
        skill = np.repeat(np.arange(N_SKILLS), len(x))
        logits = self.evaluator.logits(self.theta(), np.concatenate([inputs(k, x) for k in range(N_SKILLS)]))
        pred = np.argmax(pick(logits, skill), axis=1).reshape(N_SKILLS, GRID, GRID)
        true = np.stack([labels(k, x).reshape(GRID, GRID) for k in range(N_SKILLS)])
        return pred, true

    @derived(key=lambda self: (id(self.run), self.finished))
    def reference(self) -> dict[str, np.ndarray]:
        """Accuracies of the stored models: the pre-trained start and each fine-tuned model."""
        if not self.finished:
            return {}
        run = self.run
        return {"pre": self.accuracy_of(run.theta_pre),
                "fine": np.stack([self.accuracy_of(t) for t in run.theta_ft])}

    @derived(key=lambda self: (id(self.run), self.finished))
    def merges(self) -> dict[str, float]:
        """Mean accuracy on the pair's two skills of: the shared-start average (½θ_A + ½θ_B, both
        fine-tuned from one pre-trained model), the average of two models from different starts,
        and that average after weight matching of the second one's hidden units."""
        if not self.finished:
            return {}
        run, a, b = self.run, PAIR[0], PAIR[1]

        def pair_mean(theta):
            acc = self.accuracy_of(theta)
            return float((acc[a] + acc[b]) / 2)

        return {"shared": pair_mean(run.shared_start_average()),
                "different": pair_mean(run.different_start_average()),
                "aligned": pair_mean(run.different_start_average(aligned=True)),
                "first alone": pair_mean(run.theta_ft[a]), "second alone": pair_mean(run.theta_ft2)}

    @derived(key=lambda self: (id(self.run), self.finished))
    def cosines(self) -> np.ndarray:
        """cos(τ_i, τ_j) for every pair of skills (NaN before the run is trained)."""
        if not self.finished:
            return np.full((N_SKILLS, N_SKILLS), np.nan)
        return self.run.cosines()

    @derived(key=lambda self: (id(self.run), self.finished, self.lambdas, self.params["sweep"]))
    def sweep(self) -> tuple[np.ndarray, np.ndarray]:
        """(λ values, accuracies (len, skills)) as the chosen skill's λ moves from −1.5 to 2,
        the other sliders where they are."""
        lams = SWEEP_LAMBDAS
        if not self.finished:
            return lams, np.full((len(lams), N_SKILLS), np.nan)
        which = SKILLS.index(str(self.params["sweep"]))
        rows = []
        for lam in lams:
            ls = list(self.lambdas)
            ls[which] = lam
            rows.append(self.evaluator.accuracies(self.run.merged(ls), self.sweep_data))
        return lams, np.stack(rows)

    # -- runner interface ---------------------------------------------------------------------------
    def observables(self) -> dict[str, Any]:
        acc = self.accuracies()
        cos = self.cosines()
        out = {"progress": self.progress, **{f"acc_{name}": float(acc[k]) for k, name in enumerate(SKILLS)},
               "cos_pair": float(cos[PAIR[0], PAIR[1]]) if self.finished else 0.0}
        merges = self.merges()
        out["shared_merge"] = merges.get("shared", 0.0)
        out["different_merge"] = merges.get("different", 0.0)
        return out

    def state(self) -> dict[str, np.ndarray]:
        return {"theta": self.theta()}

    # -- challenge measures -------------------------------------------------------------------------
    def loss_at_one(self) -> np.ndarray:
        """Per skill of the pair, the accuracy its fine-tuned model has minus the accuracy of
        θ_pre + τ_A + τ_B (on 2000 held-out points a skill, so that a close call is measured well)."""
        data = EvalSet(n=2000, seed=777)
        lams = [0.0] * N_SKILLS
        for k in PAIR:
            lams[k] = 1.0
        merged = self.evaluator.accuracies(self.run.merged(lams), data)
        alone = np.array([self.evaluator.accuracies(self.run.theta_ft[k], data)[k] for k in PAIR])
        return alone - merged[list(PAIR)]

    def measure_loses_more(self, run) -> str:
        """Which skill of the pair loses more accuracy from its own fine-tuned model at λ = 1 each."""
        loss = self.loss_at_one()
        return SKILLS[PAIR[int(np.argmax(loss))]]

    def measure_different_starts(self, run) -> str:
        """Whether the average of two models from different starts scores above or below the
        shared-start merge (mean accuracy on the pair's skills)."""
        merges = self.merges()
        return "above" if merges["different"] > merges["shared"] else "below"
