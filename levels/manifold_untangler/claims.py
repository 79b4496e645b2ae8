"""The Manifold Untangler: its claims, each checked at one point of its range (see [[claims]] in
level.toml). Every check trains the level's own nets (the functions the model calls) and measures
on the same continuum the level shows; the numbers it returns are shown beside the claim.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sandbox.testing import make_runner

from .untangle import (
    N_TRAIN,
    accuracy_on,
    continuum,
    dataset,
    knn_predict,
    layer_dets,
    stretch,
    train,
)

HERE = Path(__file__).resolve().parent

#: The bounds the README and the manifest state.
WIDTH_TWO_BELOW = 0.97
WIDTH_THREE_ABOVE = 0.99
KNN_ABOVE = 0.995
KNN_SQUASHED_BELOW = 0.90
LINK_THREE_BELOW = 0.98
LINK_FOUR_ABOVE = 0.99
DISC = "disc in a ring"


def _pct(value: float) -> float:
    return round(100.0 * float(value), 2)


def check_width_two_never_separates(depth: int, seed: int) -> dict:
    """A width-2 net of this depth, from this seed: below the bound on the continuum, some point
    wrong, and every square layer non-singular."""
    cx, cy = continuum(DISC)
    t = train(DISC, 2, depth, seed)
    acc = accuracy_on(t.net, cx, cy)
    dets = layer_dets(t.net)
    assert acc < WIDTH_TWO_BELOW, f"width 2, depth {depth}, seed {seed}: {acc:.4f} on the continuum"
    assert acc < 1.0
    assert dets and min(abs(d) for d in dets) > 1e-6, f"a singular layer: dets {dets}"
    return {"continuum %": _pct(acc), "training %": _pct(accuracy_on(t.net, t.x, t.y)),
            "smallest |det W|": round(min(abs(d) for d in dets), 4)}


def invert_layer(dense, y: np.ndarray) -> np.ndarray:
    """Undo one width-2 layer y = tanh(h W + b): h = (artanh(y) − b) W⁻¹."""
    return np.linalg.solve(dense.W.T, (np.arctanh(y) - dense.b).T).T


def check_tanh_layer_is_invertible(depth: int, seed: int) -> dict:
    """Each trained width-2 layer, undone on the continuum carried to it: back to within 1e-6
    wherever no unit is within 1e-6 of ±1 (closer, float64 cannot tell the points apart)."""
    cx, _ = continuum(DISC)
    t = train(DISC, 2, depth, seed)
    h, worst, kept = cx, 0.0, []
    layers = t.net.layers[:-1]
    for dense, tanh in zip(layers[0::2], layers[1::2]):
        assert abs(np.linalg.det(dense.W)) > 1e-6
        y = tanh.forward(dense.forward(h))
        inside = np.max(np.abs(y), 1) < 1.0 - 1e-6
        back = invert_layer(dense, y[inside])
        worst = max(worst, float(np.max(np.abs(back - h[inside]) / (1.0 + np.abs(h[inside])))))
        kept.append(float(np.mean(inside)))
        h = y
    assert worst < 1e-6, f"round trip error {worst:.3g}"
    assert min(kept) > 0.5, f"most points saturated: {kept}"
    return {"largest relative round-trip error": float(f"{worst:.3g}"),
            "share of points unsaturated, worst layer": round(min(kept), 4)}


def check_width_three_separates(depth: int, seed: int) -> dict:
    cx, cy = continuum(DISC)
    t = train(DISC, 3, depth, seed)
    acc = accuracy_on(t.net, cx, cy)
    assert acc > WIDTH_THREE_ABOVE, f"width 3, depth {depth}, seed {seed}: {acc:.4f} on the continuum"
    return {"continuum %": _pct(acc), "training %": _pct(accuracy_on(t.net, t.x, t.y))}


def check_training_points_flatter(depth: int) -> dict:
    """Four seeds of width 2 at this depth: training accuracy above continuum accuracy for at least 3."""
    cx, cy = continuum(DISC)
    gaps = []
    for seed in range(4):
        t = train(DISC, 2, depth, seed)
        gaps.append(accuracy_on(t.net, t.x, t.y) - accuracy_on(t.net, cx, cy))
    above = sum(g > 0 for g in gaps)
    assert above >= 3, f"training above continuum for only {above} of 4 seeds: gaps {gaps}"
    assert max(gaps) > 0.01, f"the largest gap is only {max(gaps):.4f}"
    return {"gaps (points)": [round(100 * g, 2) for g in gaps], "seeds above": above}


def check_knn_on_the_continuum(k: int, seed: int) -> dict:
    x, y = dataset(DISC, N_TRAIN, np.random.default_rng(1000 + seed))
    cx, cy = continuum(DISC)
    acc = float(np.mean(knn_predict(x, y, cx, k) == cy))
    assert acc > KNN_ABOVE, f"k = {k}, seed {seed}: {acc:.4f}"
    return {"k-NN continuum %": _pct(acc)}


def check_stretch_changes_knn(seed: int) -> dict:
    """The level's own run, squashed 8× with k = 15, against the same run unsquashed."""
    plain = make_runner(HERE.name, {"stretch": 1.0, "k": 15, "steps": 100}, seed=seed, levels_dir=HERE.parent)
    squashed = make_runner(HERE.name, {"stretch": 8.0, "k": 15, "steps": 100}, seed=seed, levels_dir=HERE.parent)
    before, after = plain.model.knn_accuracy(), squashed.model.knn_accuracy()
    assert before > KNN_ABOVE, f"unsquashed: {before:.4f}"
    assert after < KNN_SQUASHED_BELOW, f"squashed 8×: {after:.4f}"
    # the same points and labels, only moved by an invertible map: the topology is unchanged
    np.testing.assert_allclose(stretch(plain.model.x, 8.0), squashed.model.x, atol=1e-12)
    changed = int(np.sum(knn_predict(plain.model.x, plain.model.y, plain.model.cx, 15)
                         != knn_predict(squashed.model.x, squashed.model.y, squashed.model.cx, 15)))
    assert changed > 0
    return {"before %": _pct(before), "squashed %": _pct(after), "continuum points that change label": changed}


def check_stretch_keeps_impossibility(stretch: float, seed: int) -> dict:
    from .untangle import stretch as squash

    cx, cy = continuum(DISC)
    scx = squash(cx, stretch)
    two = train(DISC, 2, 4, seed, factor=stretch)
    three = train(DISC, 3, 4, seed, factor=stretch)
    a2, a3 = accuracy_on(two.net, scx, cy), accuracy_on(three.net, scx, cy)
    assert a2 < WIDTH_TWO_BELOW, f"width 2 squashed {stretch}: {a2:.4f}"
    assert a3 > WIDTH_THREE_ABOVE, f"width 3 squashed {stretch}: {a3:.4f}"
    return {"width 2 continuum %": _pct(a2), "width 3 continuum %": _pct(a3)}


def check_linked_rings_need_four(depth: int) -> dict:
    cx, cy = continuum("linked rings")
    three = [accuracy_on(train("linked rings", 3, depth, s).net, cx, cy) for s in range(3)]
    four = [accuracy_on(train("linked rings", 4, depth, s).net, cx, cy) for s in range(3)]
    assert max(three) < LINK_THREE_BELOW, f"width 3: {three}"
    assert max(four) > LINK_FOUR_ABOVE, f"width 4: {four}"
    return {"width 3 continuum %": [_pct(a) for a in three], "width 4 continuum %": [_pct(a) for a in four]}
