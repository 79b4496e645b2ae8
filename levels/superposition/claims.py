"""The Interference Demo's claims, each checked at one point of its range (see [[claims]] in level.toml).

Each point trains the level's own model (6 seeds, 1,500 AdamW steps, about a second) through the
same code the app runs, and measures the best instance by loss on the evaluation batch.
"""

from __future__ import annotations

import functools

import numpy as np

from .model import SuperpositionModel, stored_phase
from .phase import PHASES, classify, keep_one_loss
from .toy import dimensionality, kept, neighbour_angles

DEFAULTS = {"sparsity": 0.7, "mode": "5 features in 2D", "decay": 0.9, "ratio": 0.3, "probe": 1, "instances": 6,
            "budget": 1500, "lr": 0.01}


@functools.cache
def trained(seed: int = 0, **params) -> SuperpositionModel:
    """The level's model with ``params`` over the defaults, trained to its budget."""
    model = SuperpositionModel({**DEFAULTS, **params})
    model.reset(seed)
    while not model.finished:
        model.step()
    return model


def check_dense_keeps_top_two(sparsity: float, decay: float, seed: int) -> dict:
    model = trained(seed, sparsity=sparsity, decay=decay)
    W = model.W_of()
    cos = float(W[:, 0] @ W[:, 1] / np.linalg.norm(W[:, 0]) / np.linalg.norm(W[:, 1]))
    measured = {"kept": kept(W).astype(int).tolist(), "cos(W1, W2)": round(cos, 3),
                "D": np.round(dimensionality(W), 2).tolist()}
    assert kept(W).tolist() == [True, True, False, False, False], measured
    assert abs(cos) < 0.1, measured
    assert np.allclose(dimensionality(W)[:2], 1.0, atol=0.05), measured
    return measured


def check_middle_antipodal(sparsity: float, seed: int) -> dict:
    model = trained(seed, sparsity=sparsity)
    W = model.W_of()
    keep = kept(W)
    unit = W[:, keep] / np.linalg.norm(W[:, keep], axis=0)
    partner = (unit.T @ unit).min(axis=1)
    gaps = neighbour_angles(W)
    measured = {"kept": keep.astype(int).tolist(), "partner cos": np.round(partner, 3).tolist(),
                "gaps (°)": np.round(gaps, 1).tolist(), "D": np.round(dimensionality(W), 2).tolist()}
    assert keep.sum() == 4 and keep[:2].all(), measured
    assert np.all(partner < -0.95), measured
    assert np.all(np.abs(gaps - 90.0) < 6.0), measured
    assert np.all(np.abs(dimensionality(W)[keep] - 0.5) < 0.08), measured
    return measured


def check_sparse_pentagon(sparsity: float, seed: int) -> dict:
    model = trained(seed, sparsity=sparsity)
    W, b = model.W_of(), model.b_of()
    gaps, dims = neighbour_angles(W), dimensionality(W)
    measured = {"kept": int(kept(W).sum()), "gaps (°)": np.round(gaps, 1).tolist(), "D": np.round(dims, 3).tolist(),
                "b": np.round(b, 3).tolist()}
    assert kept(W).all(), measured
    assert np.all(np.abs(gaps - 72.0) < 10.0), measured
    assert np.all(np.abs(dims - 0.4) < 0.05), measured
    assert np.all(b < -0.1), measured
    return measured


def check_bias_filters_interference(feature: int, seed: int) -> dict:
    model = trained(seed, sparsity=0.95)
    k = feature - 1
    G = model.gram()
    pre, out = model.probe(k)
    ghosts = np.delete(G[:, k], k)
    order = np.argsort(-ghosts)
    near, far = order[:2], order[2:]
    pre_o, out_o = np.delete(pre, k), np.delete(out, k)
    measured = {"ghosts W_i·W_k": np.round(ghosts, 3).tolist(), "after bias and ReLU": np.round(out_o, 3).tolist()}
    assert np.all((ghosts[near] > 0.2) & (ghosts[near] < 0.6)), measured
    assert np.all(ghosts[far] < 0.0), measured
    assert np.all(out_o[near] <= 0.6 * ghosts[near]), measured
    assert np.all(out_o[far] == 0.0) and np.all(pre_o[far] < 0.0), measured
    return measured


def check_dense_no_superposition(seed: int) -> dict:
    model = trained(seed, sparsity=0.0, decay=1.0)
    per_dim = [model.per_dimension(k) for k in range(model.toys.instances)]
    total_d = float(dimensionality(model.W_of()).sum())
    measured = {"‖W‖²_F / m per seed": np.round(per_dim, 3).tolist(), "Σ D (best)": round(total_d, 3),
                "kept per seed": [int(kept(model.W_of(k)).sum()) for k in range(model.toys.instances)]}
    assert np.all(np.abs(np.array(per_dim) - 1.0) < 0.05), measured
    assert abs(total_d - 2.0) < 0.1, measured
    return measured


def check_local_minima(sparsity: float, seed: int) -> dict:
    model = trained(seed, sparsity=sparsity)
    counts = np.array([kept(model.W_of(k)).sum() for k in range(model.toys.instances)])
    best = model.best
    losses = model.eval_loss
    others = counts != counts[best]
    measured = {"kept per seed": counts.tolist(), "loss per seed": np.round(losses, 4).tolist(), "best": best + 1}
    assert np.all(losses[others] >= 1.02 * losses[best]), measured
    if seed == 0:  # the existence half of the claim: seed 0's six instances include one stuck lower
        assert np.any(counts < counts[best]), measured
    return measured


def check_phase_diagram(part: str) -> dict:
    grid = stored_phase()
    codes, d, r = grid["codes"], grid["densities"], grid["ratios"]
    if part == "dense row":
        row = codes[-1]
        expected = [0 if x < 0.99 else 1 if x > 1.01 else row[j] for j, x in enumerate(r)]
        measured = {"density 1": [PHASES[c] for c in row]}
        assert d[-1] == 1.0 and row.tolist() == expected, measured
        return measured
    if part == "sparse rows":
        sparse = codes[d <= 0.18]
        share = float(np.mean(sparse == 2))
        measured = {"cells": int(sparse.size), "antipodal share": round(share, 3)}
        assert share >= 0.9, measured
        return measured
    dd, rr = np.meshgrid(d, r, indexing="ij")
    other = np.where(codes == 0, rr, 1.0)  # keeping 1 loses feature 2 (importance r); keeping 2 loses feature 1
    one = ((codes == 0) | (codes == 1)) & (dd >= 0.3)  # sparser, a cell may keep a little of the other too
    expected = keep_one_loss(dd, other)
    ratio = grid["losses"][one] / expected[one]
    measured = {"cells kept to one": int(one.sum()), "loss / keep-one loss": [round(float(ratio.min()), 3),
                                                                               round(float(ratio.max()), 3)]}
    assert one.sum() >= 5 and np.all(np.abs(ratio - 1.0) < 0.05), measured
    return measured


CELLS = {"dense, 0.32": (0.0, 0.316, "feature 1 only"), "dense, 3.2": (0.0, 3.16, "feature 2 only"),
         "sparse, 0.32": (0.9, 0.316, "both, antipodal")}


def check_phase_retrained(cell: str) -> dict:
    sparsity, ratio, phase = CELLS[cell]
    model = trained(0, mode="2 features in 1D", sparsity=sparsity, ratio=ratio)
    stored = stored_phase()
    i, j = model.cell()
    measured = {"live": PHASES[classify(model.W_of()[0])], "stored": PHASES[int(stored["codes"][i, j])],
                "W": np.round(model.W_of()[0], 3).tolist()}
    assert measured["live"] == measured["stored"] == phase, measured
    return measured
