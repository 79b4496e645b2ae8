"""The Token Flow's claims, each checked at one point of its range (see [[claims]] in level.toml).

The checks run the level's own layers (flow.py, the same functions the model steps with) on the
numpy backend with 64 tokens: one layer costs 64² pairs, so even 2000 layers take a fraction of
a second.
"""

from __future__ import annotations

import numpy as np

from sim import backends

from . import flow
from .kernels import attention

TOKENS = 64
H = 0.1
D = {"circle": 2, "sphere": 3}


def _tokens(d: int, seed: int, n: int = TOKENS) -> np.ndarray:
    return flow.random_sphere(n, d, np.random.default_rng(seed))


def _flow(x, beta, time, qkv, moves=("attention", "projection")):
    for _ in range(round(time / H)):
        x = flow.layer(x, H, beta, qkv, moves)
    return x


def check_layernorm_is_a_projection(d: int, seed: int) -> dict:
    """LayerNorm's outputs: mean 0, norm √D; nearer to the input than any of 20 000 random points of
    the set; and equal (in hyperplane coordinates) to the radial projection."""
    rng = np.random.default_rng(seed)
    big = d + 1
    y = rng.normal(size=(2000, big)) * rng.uniform(0.1, 10.0, (2000, 1)) + rng.normal(size=(2000, 1))
    out = flow.layer_norm(y)
    mean_gap = float(np.abs(out.mean(axis=1)).max())
    norm_gap = float(np.abs(np.linalg.norm(out, axis=1) - np.sqrt(big)).max())
    assert mean_gap < 1e-12 and norm_gap < 1e-12, (mean_gap, norm_gap)
    # the nearest point of the set {mean 0, |z| = √D}: none of many random points of it is nearer
    candidates = np.sqrt(big) * flow.embed(flow.random_sphere(20000, d, rng))
    nearest_gap = 0.0
    for row, ln in zip(y[:50], out[:50]):
        best = np.linalg.norm(candidates - row, axis=1).min()
        nearest_gap = max(nearest_gap, np.linalg.norm(ln - row) - best)
    assert nearest_gap <= 1e-12, f"a point of the set is {nearest_gap:.3g} nearer than LayerNorm's output"
    # read in the hyperplane's coordinates, LayerNorm is x / |x|, whatever multiple of 1 is added
    x = rng.normal(size=(500, d))
    read_back = flow.unembed(flow.layer_norm(flow.embed(x, rng.normal(size=500) * 3)))
    projection_gap = float(np.abs(read_back - flow.project(x)).max())
    assert projection_gap < 1e-12, projection_gap
    return {"largest |mean|": float(f"{mean_gap:.2g}"), "largest | |LN| − √D |": float(f"{norm_gap:.2g}"),
            "LN against x/|x|": float(f"{projection_gap:.2g}")}


def check_tokens_gather_into_one_cluster(space: str, beta: float, seed: int) -> dict:
    d = D[space]
    x0 = _tokens(d, seed)
    t = flow.one_cluster_time(x0, H, beta, flow.weights(d, 0.0, False, seed), 100.0)
    assert t is not None, f"β = {beta} on the {space}: still more than one cluster at time 100"
    return {"time to one cluster": round(t, 2)}


def check_more_clusters_at_larger_beta(space: str) -> dict:
    d = D[space]
    means = {}
    for beta in (2.0, 8.0, 32.0):
        counts = [flow.count_clusters(_flow(_tokens(d, s), beta, 20.0, flow.weights(d, 0.0, False, s)))[0]
                  for s in range(3)]
        means[beta] = float(np.mean(counts))
    assert means[2.0] < means[8.0] < means[32.0], means
    return {f"mean clusters at β = {b:g}": round(m, 2) for b, m in means.items()}


def check_clusters_linger_longer_at_larger_beta(seed: int) -> dict:
    x0, qkv = _tokens(2, seed), flow.weights(2, 0.0, False, seed)
    t1 = flow.one_cluster_time(x0, H, 1.0, qkv, 100.0)
    t2 = flow.one_cluster_time(x0, H, 2.0, qkv, 200.0)
    assert t1 is not None and t2 is not None, (t1, t2)
    assert t2 > 2 * t1, f"β = 2 took {t2:.3g}, β = 1 {t1:.3g}: not over twice as long"
    count = flow.count_clusters(_flow(x0, 4.0, 200.0, qkv))[0]
    assert count >= 2, f"β = 4: only {count} cluster at time 200"
    return {"time to one cluster, β = 1": round(t1, 2), "β = 2": round(t2, 2), "clusters at time 200, β = 4": count}


def check_layers_converge_to_the_flow(space: str, beta: float) -> dict:
    d = D[space]
    c = flow.convergence(_tokens(d, 0, 32), beta, flow.weights(d, 0.0, False, 0))
    assert 0.8 <= c["euler_order"] <= 1.2, c["euler_order"]
    assert 1.8 <= c["heun_order"] <= 2.3, c["heun_order"]
    assert np.all(np.diff(c["euler"]) < 0) and np.all(np.diff(c["heun"]) < 0), "the error does not fall with h"
    return {"Euler order": round(c["euler_order"], 3), "Heun order": round(c["heun_order"], 3),
            "Euler error at h = 0.1": float(f"{c['euler'][0]:.3g}"), "at h = 0.00625": float(f"{c['euler'][-1]:.3g}")}


def check_repulsion_spreads_the_tokens(space: str, beta: float) -> dict:
    d = D[space]
    x = _flow(_tokens(d, 0), beta, 20.0, flow.weights(d, 0.0, True, 0))
    _, largest = flow.count_clusters(x)
    spread = 1.0 - float(np.sum(x.mean(axis=0) ** 2))
    assert largest < 0.1 and spread > 0.9, (largest, spread)
    return {"largest cluster": round(largest, 3), "spread": round(spread, 4)}


def check_clusters_survive_weights_near_identity(space: str, seed: int) -> dict:
    d = D[space]
    x = _flow(_tokens(d, seed), 2.0, 30.0, flow.weights(d, 0.3, False, seed))
    count, largest = flow.count_clusters(x)
    assert largest >= 0.3, f"the largest cluster holds only {largest:.0%}"
    return {"clusters": count, "largest cluster": round(largest, 3)}


def check_the_moves_split(space: str) -> dict:
    d = D[space]
    x = _tokens(d, 3)
    moved = x.copy()
    moved[0] = flow.project(moved[:1] + 0.5)[0]
    mlp_change = np.abs(flow.mlp(moved, d)[1:] - flow.mlp(x, d)[1:]).max()
    qkv = flow.weights(d, 0.0, False, 0)
    attention_change = np.abs(flow.attention_field(moved, 4.0, qkv)[1:] - flow.attention_field(x, 4.0, qkv)[1:]).max()
    projection_change = np.abs(flow.layer(x, H, 4.0, qkv, ("projection",)) - x).max()
    assert mlp_change == 0.0, mlp_change
    assert attention_change > 1e-3, attention_change
    assert projection_change < 1e-15, projection_change
    return {"MLP moves of the others changed by": float(mlp_change),
            "attention moves of the others changed by": float(f"{attention_change:.3g}"),
            "projection alone moved tokens by": float(projection_change)}


def check_without_projection_the_stream_grows(space: str) -> dict:
    d = D[space]
    x = _flow(_tokens(d, 0), 4.0, 5.0, flow.weights(d, 0.0, False, 0), ("attention",))
    radius = float(np.linalg.norm(x, axis=1).mean())
    assert radius > 10.0, radius
    return {"mean |x| after 50 layers": round(radius, 2)}


def check_kernel_backends_agree(seed: int) -> dict:
    measured = {}
    for backend in attention.runnable():
        problem = attention.check(backend, seed)
        assert problem is None, f"{backend}: {problem}"
        measured[backend] = "agrees"
    assert "numpy" in measured and len(measured) >= 2 or backends.unavailable_reason("numba"), measured
    return measured
