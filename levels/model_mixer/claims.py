"""The Model Mixer's claims, each checked at one point of its range (see [[claims]] in level.toml).

Training a run takes seconds to tens of seconds; so the claims read the runs stored with the level
(``python levels/model_mixer/mixer.py --seed S --checkpoint levels/model_mixer/checkpoints/seedS.npz``
for seeds 0, 1, 2), measured afresh here on fixed held-out points, and one claim trains the
default run's pre-training again live to show that the stored weights are this level's run.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .mixer import N_SKILLS, SKILLS, EvalSet, Evaluator, MixerRun

HERE = Path(__file__).resolve().parent
CHECKPOINTS = HERE / "checkpoints"
DATA = EvalSet(n=1000, seed=2024)


@functools.cache
def _stored(seed: int) -> MixerRun:
    return MixerRun.load(CHECKPOINTS / f"seed{seed}.npz")


@functools.cache
def _evaluator(width: int) -> Evaluator:
    return Evaluator(width)


def accuracy(run: MixerRun, theta: np.ndarray) -> np.ndarray:
    """Each skill's accuracy of ``theta`` on the claims' held-out points."""
    return _evaluator(run.recipe.width).accuracies(theta, DATA)


def check_addition_keeps_most(seed: int) -> dict:
    run = _stored(seed)
    pre = accuracy(run, run.theta_pre)
    merged = accuracy(run, run.merged([1.0, 1.0, 0.0]))
    measured = {}
    for k in (0, 1):
        alone = accuracy(run, run.theta_ft[k])[k]
        measured[SKILLS[k]] = {"pre-trained": round(float(pre[k]), 3), "fine-tuned": round(float(alone), 3),
                               "merged": round(float(merged[k]), 3)}
        assert merged[k] >= alone - 0.08, measured
        assert merged[k] > pre[k], measured
    return measured


def check_negation_forgets_one(seed: int) -> dict:
    run = _stored(seed)
    pre = accuracy(run, run.theta_pre)
    measured = {}
    for k in range(N_SKILLS):
        lams = [0.0] * N_SKILLS
        lams[k] = -1.0
        drop = pre - accuracy(run, run.merged(lams))
        others = np.delete(np.abs(drop), k)
        measured[f"forget {SKILLS[k]}"] = {"drop": round(float(drop[k]), 3), "largest other change": round(float(others.max()), 3)}
        assert drop[k] > 0.25, measured
        assert others.max() <= drop[k] / 3, measured
    return measured


def check_different_starts_fail(seed: int) -> dict:
    run = _stored(seed)

    def pair(theta):
        acc = accuracy(run, theta)
        return float((acc[0] + acc[1]) / 2)

    shared = pair(run.shared_start_average())
    different = pair(run.different_start_average())
    aligned = pair(run.different_start_average(aligned=True))
    measured = {"shared start": round(shared, 3), "different starts": round(different, 3),
                "different starts, units matched": round(aligned, 3)}
    assert different < shared - 0.30, measured
    assert aligned - different >= (shared - different) / 3, measured
    return measured


def check_task_vectors_nearly_orthogonal(seed: int) -> dict:
    cos = _stored(seed).cosines()
    off = cos[np.triu_indices(N_SKILLS, 1)]
    measured = {"pairwise cosines": np.round(off, 4).tolist()}
    assert np.all(np.abs(off) < 0.1), measured
    return measured


def check_checkpoint_is_this_levels_run() -> dict:
    stored = _stored(0)
    live = MixerRun(stored.recipe, seed=0)
    live.train(stored.recipe.pre_steps)
    gap = float(np.max(np.abs(live.theta_pre - stored.theta_pre)))
    measured = {"largest weight difference after pre-training": float(f"{gap:.2g}")}
    assert live.theta_pre is not None and gap < 1e-4, measured
    return measured
