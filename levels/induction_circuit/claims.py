"""The Circuit Trace's claims, each checked at one point of its range (see [[claims]] in level.toml).

Training a model takes several seconds, too long for every claim and seed; so the claims read the
models stored with the level (``python levels/induction_circuit/circuit.py`` trains them: three
seeds of the default recipe, the one-layer control, the absolute-positions variant), measured
afresh here on the fixed evaluation batches, and one claim trains the default run again live to
show that the stored record is this level's run.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .circuit import (
    HEAD_THRESHOLD,
    LN_V,
    CircuitRun,
    Config,
    checkpoint_name,
    drop_step,
    formation_step,
)

HERE = Path(__file__).resolve().parent
CHECKPOINTS = HERE / "checkpoints"


@functools.cache
def _stored(positions: str = "shortformer", layers: int = 2, seed: int = 0) -> CircuitRun:
    return CircuitRun.load(CHECKPOINTS / checkpoint_name(positions, layers, seed))


def check_learns_the_repeat_only(seed: int) -> dict:
    ev = _stored(seed=seed).evaluate()
    measured = {"repeated half": round(ev.rep_loss, 3), "first copy": round(ev.first_loss, 3), "ln V": round(LN_V, 3)}
    assert ev.rep_loss < LN_V / 3, measured
    assert ev.first_loss > 0.95 * LN_V, measured
    return measured


def check_two_heads_form_the_circuit(seed: int) -> dict:
    ev = _stored(seed=seed).evaluate()
    prev_head, ind_head = int(np.argmax(ev.prev[0])), int(np.argmax(ev.induction[1]))
    measured = {"layer 0 previous-token scores": np.round(ev.prev[0], 2).tolist(),
                "layer 1 induction scores": np.round(ev.induction[1], 2).tolist(),
                "induction head's copying score": round(float(ev.copying[1, ind_head]), 2)}
    assert ev.prev[0, prev_head] > HEAD_THRESHOLD, measured
    assert ev.induction[1, ind_head] > HEAD_THRESHOLD, measured
    assert ev.copying[1, ind_head] >= 0.5, measured
    return measured


def check_layer0_ablation_returns_to_chance(seed: int) -> dict:
    run = _stored(seed=seed)
    full = run.evaluate().rep_loss
    share = {name: (run.evaluate(name).rep_loss - full) / (LN_V - full) for name in ("layer 0", "K-composition", "layer 1")}
    measured = {"trained": round(full, 3), **{f"{k}: gap back": f"{v:.0%}" for k, v in share.items()}}
    assert share["layer 0"] > 0.7, measured
    assert share["K-composition"] > 0.6, measured
    assert share["layer 1"] > 0.95, measured
    return measured


def check_heads_form_at_the_drop(seed: int) -> dict:
    run = _stored(seed=seed)
    rep = run.series("rep_loss")
    drop = drop_step(rep)
    prev, ind = formation_step(run.series("prev_score")), formation_step(run.series("induction_score"))
    plateau = float(np.convolve(rep[:200], np.ones(20) / 20, mode="valid").min())
    measured = {"drop at step": drop, "previous-token head at step": prev, "induction head at step": ind,
                "lowest loss on the repeat, steps 20-200": round(plateau, 2)}
    assert plateau > 0.8 * LN_V, measured
    assert drop is not None and prev is not None and ind is not None, measured
    assert abs(prev - drop) <= 150 and abs(ind - drop) <= 150, measured
    return measured


def check_one_layer_control_stays_at_chance() -> dict:
    ev = _stored(layers=1).evaluate()
    measured = {"repeated half": round(ev.rep_loss, 3), "ln V": round(LN_V, 3), "share of ln V": f"{ev.rep_loss / LN_V:.0%}"}
    assert ev.rep_loss > 0.7 * LN_V, measured
    return measured


def check_absolute_positions_take_another_route() -> dict:
    ev = _stored(positions="absolute").evaluate()
    measured = {"repeated half": round(ev.rep_loss, 3), "layer 0 previous-token scores": np.round(ev.prev[0], 2).tolist(),
                "layer 1 induction scores": np.round(ev.induction[1], 2).tolist()}
    assert ev.rep_loss < LN_V / 2, measured
    assert ev.prev[0].max() < HEAD_THRESHOLD, measured
    return measured


def check_checkpoint_is_this_levels_run() -> dict:
    stored = _stored()
    live = CircuitRun(Config(), seed=0)
    live.train(60)
    gaps = {name: float(np.max(np.abs(live.series(name) - stored.series(name)[:60])))
            for name in ("loss", "rep_loss", "prev_score")}
    measured = {f"largest {k} gap, 60 steps": float(f"{v:.2g}") for k, v in gaps.items()}
    assert all(v < 1e-3 for v in gaps.values()), measured
    return measured


def check_redundant_induction_heads(seed: int) -> dict:
    run = _stored(seed=seed)
    ev = run.evaluate()
    full = ev.rep_loss
    share = (run.evaluate("induction head").rep_loss - full) / (LN_V - full)
    second = float(np.sort(ev.induction[1])[-2])
    measured = {"layer 1 induction scores": np.round(ev.induction[1], 2).tolist(),
                "induction head ablated: gap back": f"{share:.0%}"}
    if second > HEAD_THRESHOLD:
        assert share < 2 / 3, measured
    else:
        assert share > 0.95, measured
    return measured
