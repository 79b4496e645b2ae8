"""The Training Loop's claims, each checked at one point of its range (see [[claims]] in level.toml).

Training to the interesting states takes a second or two here (a few hundred iterations of a
small network), so the checks train live; runs are shared between the claims of one process.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from sim.nn import loss_and_gradient, softmax_cross_entropy

from .grammar import (
    Corpus,
    all_sentences,
    entropy_rate,
    mean_sentence_length,
    sentence_entropy,
    sentence_prefix,
    text_log_prob,
    true_next,
)
from .lm import (
    CONTEXT,
    Loop,
    NGram,
    build_net,
    initial_gap,
    keep_mask,
    sampler,
    windows,
)


@functools.cache
def _corpus() -> Corpus:
    return Corpus()


@functools.cache
def _trained(seed: int, iterations: int) -> Loop:
    loop = Loop(_corpus(), seed=seed)
    for _ in range(iterations):
        loop.iterate()
    return loop


@functools.cache
def _ppl_along(seed: int, marks: tuple[int, ...]) -> dict[int, float]:
    """Held-out perplexity of one training run at each iteration of ``marks``."""
    loop = Loop(_corpus(), seed=seed)
    out = {}
    for _ in range(max(marks)):
        loop.iterate()
        if loop.iteration in marks:
            out[loop.iteration] = math.exp(loop.held_out_nll())
    return out


def _baselines(k: float = 0.1) -> dict[str, float]:
    c = _corpus()
    return {name: math.exp(NGram(c, n, k).held_out_nll(c)) for n, name in ((1, "unigram"), (2, "bigram"), (3, "trigram"))}


def check_initial_perplexity_near_v(seed: int) -> dict:
    c = _corpus()
    loop = Loop(c, seed=seed)
    ppl = math.exp(loop.initial_nll)
    spread, luck = initial_gap(loop.net, c)
    measured = {"V": c.V, "perplexity before training": round(ppl, 3), "spread (nats)": round(spread, 4),
                "luck (nats)": round(luck, 4)}
    assert abs(ppl / c.V - 1.0) < 0.03, measured
    assert 0.0 <= spread < 0.01, measured
    assert abs(luck) < 0.03, measured
    # the split is exact: ln PPL = ln V + spread + luck
    assert abs(math.log(ppl) - (math.log(c.V) + spread + luck)) < 1e-4, measured
    # at Xavier's usual output scale the spread alone would cost far more
    wide = build_net(c.V, np.random.default_rng([seed, 0]), dtype=np.float64)
    wide.layers[-1].W *= 1.0 / 0.1
    spread_wide, _ = initial_gap(wide, c)
    measured["spread at the usual output scale"] = round(spread_wide, 3)
    assert spread_wide > 0.2, measured
    return measured


def check_beats_the_counting_models(seed: int) -> dict:
    b = _baselines()
    along = _ppl_along(seed, (50, 100, 200, 600))
    measured = {"baselines": {k: round(v, 3) for k, v in b.items()},
                "network at": {k: round(v, 3) for k, v in along.items()}, "floor": round(math.exp(entropy_rate()), 3)}
    assert along[50] < b["bigram"], measured
    assert b["trigram"] < along[100] < b["bigram"], measured
    assert along[200] < b["trigram"], measured
    assert math.exp(entropy_rate()) < along[600] < 1.7, measured
    assert all(v < b["unigram"] for v in along.values()), measured
    return measured


def check_floor_is_the_text_entropy() -> dict:
    c = _corpus()
    texts, p = all_sentences()
    # the chain rule: the held-out text's log-probability, character by character, is the sum of
    # its sentences' choices' log-probabilities
    text = c.held_out_text
    by_char = sum(math.log(true_next(sentence_prefix(text, i))[text[i]]) for i in range(len(text)))
    whole = text_log_prob(text)
    measured = {"sentences the grammar makes": len(texts), "H(sentence) nats": round(sentence_entropy(), 4),
                "E[characters]": round(mean_sentence_length(), 3), "entropy rate nats/char": round(entropy_rate(), 4),
                "floor perplexity": round(math.exp(entropy_rate()), 4),
                "grammar on the held-out text": round(math.exp(-whole / len(text)), 4)}
    assert abs(p.sum() - 1.0) < 1e-12, measured
    assert abs(by_char - whole) < 1e-8, measured
    assert abs(math.exp(-whole / len(text)) / math.exp(entropy_rate()) - 1.0) < 0.02, measured
    trained = _trained(0, 600)
    measured["network after 600 iterations"] = round(math.exp(trained.held_out_nll()), 4)
    assert math.exp(trained.held_out_nll()) > math.exp(-whole / len(text)), measured
    return measured


def check_loss_is_cross_entropy_and_backward_is_exact(seed: int) -> dict:
    c = _corpus()
    net = build_net(c.V, np.random.default_rng([seed, 0]), dtype=np.float64)
    rng = np.random.default_rng(seed)
    x, y = windows(c.ids, rng.integers(CONTEXT, c.split, 16))
    logits = net.forward(x)
    loss, _ = softmax_cross_entropy(logits, y)
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    mle = -float(np.mean(np.log(p[np.arange(len(y)), y])))
    _, analytic = loss_and_gradient(net, softmax_cross_entropy, x, y)
    theta = net.parameters_vector()
    numeric = np.empty_like(theta)
    eps = 1e-5
    for i in range(theta.size):  # central differences, one parameter at a time
        for sign in (1.0, -1.0):
            probe = theta.copy()
            probe[i] += sign * eps
            net.set_parameters_vector(probe)
            value, _ = softmax_cross_entropy(net.forward(x), y)
            numeric[i] = value if sign > 0 else (numeric[i] - value) / (2 * eps)
    net.set_parameters_vector(theta)
    error = float(np.linalg.norm(analytic - numeric) / np.linalg.norm(analytic))
    measured = {"loss": round(loss, 6), "mean −log P": round(mle, 6), "parameters": int(theta.size),
                "gradient vs finite differences, relative error": float(f"{error:.2e}")}
    assert abs(loss - mle) < 1e-12, measured
    assert error < 1e-6, measured
    return measured


def check_step_through_equals_run(seed: int) -> dict:
    c = _corpus()
    a, b = Loop(c, seed=seed), Loop(c, seed=seed)
    stages = 0
    for _ in range(20):
        a.iterate()
        for _ in range(6):
            b.advance()
            stages += 1
            b.predict(b.data.x[0]) if b.data.x is not None else None  # looking between stages changes nothing
    diff = max(float(np.abs(p - q).max()) for p, q in zip(a.net.params, b.net.params))
    measured = {"iterations": 20, "stages stepped": stages, "largest parameter difference": diff}
    assert diff == 0.0, measured
    return measured


def check_update_lowers_the_batch_loss(seed: int) -> dict:
    loop = Loop(_corpus(), seed=seed)
    lower = 0
    for _ in range(300):
        loop.iterate()
        lower += loop.data.loss_after < loop.data.loss
    measured = {"iterations": 300, "updates that lowered their batch's loss": lower}
    assert lower >= 0.95 * 300, measured
    return measured


def check_counting_models(k: float) -> dict:
    c = _corpus()
    models = {n: NGram(c, n, k) for n in (1, 2, 3)}
    ppl = {n: math.exp(m.held_out_nll(c)) for n, m in models.items()}
    measured = {"k": k, "unigram": round(ppl[1], 3), "bigram": round(ppl[2], 3), "trigram": round(ppl[3], 3)}
    for m in models.values():
        assert np.allclose(m.prob.sum(axis=-1), 1.0), measured
        assert (m.prob > 0).all(), measured
    assert ppl[1] > ppl[2] > ppl[3] > math.exp(entropy_rate()), measured
    assert ppl[1] < c.V, measured
    return measured


def check_sampling_rules(strategy: str) -> dict:
    loop = _trained(0, 300)
    c = _corpus()
    rng = np.random.default_rng(3)
    x, _ = windows(c.ids, rng.integers(CONTEXT, c.split, 200))
    logits = loop.looking_net().forward(x)
    kept_counts = []
    for z in logits:
        for T in (0.5, 1.0, 2.0):
            q = sampler(z, T, strategy, top_k=3, top_p=0.9)
            p = np.exp((z - z.max()) / T)
            p /= p.sum()
            mask = keep_mask(p, strategy, 3, 0.9)
            assert abs(q.sum() - 1.0) < 1e-9 and (q[~mask] == 0).all()
            assert np.allclose(q[mask], p[mask] / p[mask].sum())
            order = np.sort(p[mask])[::-1]
            if strategy == "top-k":
                assert mask.sum() == 3
            if strategy == "top-p":  # reaches p, and the set without its least likely member does not
                assert order.sum() >= 0.9 * (1 - 1e-12) and (len(order) == 1 or order[:-1].sum() < 0.9)
            if strategy == "temperature":
                assert mask.all()
            kept_counts.append(int(mask.sum()))
    measured = {"strategy": strategy, "positions × temperatures": len(kept_counts),
                "characters kept, mean": round(float(np.mean(kept_counts)), 2)}
    return measured
