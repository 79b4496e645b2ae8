"""Softmax and Surprise's claims, each checked at one point of its range (see [[claims]] in level.toml).

The checks run the level's own simulation (the runner, the model, its kernel's draws) and its own
formulas, and return what they measured; the numbers the README and the challenges state are
asserted here too.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sandbox.testing import make_runner
from sim import backends

from .kernels import draw_counts_for
from .model import (
    PROMPTS,
    VOCABULARY,
    conditional_table,
    entropy,
    expected_histogram_error,
    keep_mask,
    kl,
    log_softmax,
    model_log_q,
    mutual_information,
    plugin_information,
    softmax,
    softmax_jacobian,
)

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed
V = len(VOCABULARY)
GRID = np.geomspace(0.05, 10.0, 120)  # the temperature slider's range
#: The README's numbers for "The cat sat on the" at top-p 0.9: tokens kept at T = 1 and T = 2.
STATED_TOP_P = {1.0: 4, 2.0: 8}
GPT2_VOCABULARY = 50257
#: The README's share of random (logits, T) pairs where the confident/hedging rule fails, at seed 0.
STATED_FAILURES = (0, 0.037)


def _run(steps: int = 0, seed: int = 0, backend: str = "numpy", **params):
    run = make_runner(HERE.name, params, seed=seed, backend=backend, levels_dir=HERE.parent)
    run.step(steps)
    assert run.error is None, run.error
    assert not run.diverged, "the run reported a non-finite value"
    return run


def _chi_square_limit(dof: int, z: float = 3.09) -> float:
    """The chi-square value a fair sample exceeds with probability 0.001 (Wilson-Hilferty)."""
    a = 2.0 / (9.0 * dof)
    return dof * (1.0 - a + z * math.sqrt(a)) ** 3


def check_temperature_shapes_softmax(prompt: str) -> dict:
    """Shift invariance; greedy as T → 0 and uniform as T grows; entropy rising with T at Var(z)/T³."""
    z = np.asarray(PROMPTS[prompt])
    for t in (0.05, 1.0, 10.0):
        assert np.allclose(softmax(z + 7.5, t), softmax(z, t), atol=1e-15), "adding a constant moved softmax"
    cold, hot = softmax(z, 0.05), softmax(z, 10.0)
    entropies = np.array([entropy(softmax(z, t)) for t in GRID])
    # dH/dT against finite differences at a few temperatures
    worst = 0.0
    for t in (0.2, 0.7, 1.0, 3.0):
        p = softmax(z, t)
        formula = float(np.sum(p * z * z) - np.sum(p * z) ** 2) / t**3
        eps = 1e-5 * t
        numeric = (entropy(softmax(z, t + eps)) - entropy(softmax(z, t - eps))) / (2 * eps)
        worst = max(worst, abs(numeric - formula) / max(abs(formula), 1e-12))
    # the sampling lesson's recorded entropy is this one
    run = _run(lesson="sampling", prompt=prompt, strategy="temperature", temperature=2.0)
    measured = {"top token at T = 0.05": round(float(cold.max()), 4), "H at T = 10 / ln 12": round(entropy(hot) / math.log(V), 4),
                "dH/dT: worst relative error": f"{worst:.1e}"}
    assert cold.argmax() == z.argmax() and cold.max() >= 0.98, f"at T = 0.05 the top token has only {cold.max():.3f}"
    assert entropy(hot) >= 0.98 * math.log(V), f"at T = 10 the entropy is {entropy(hot):.3f}, not near ln 12"
    assert np.all(np.diff(entropies) > 0), "the entropy fell somewhere as T rose"
    assert worst < 1e-5, f"dH/dT differs from Var(z)/T³ by {worst:.1e}"
    assert abs(run.series("entropy")[-1] - entropy(softmax(z, 2.0))) < 1e-12
    return measured


def check_softmax_jacobian(prompt: str, temperature: float) -> dict:
    """∂p_i/∂z_j = p_i(δ_ij − p_j)/T against central differences; rows sum to 0."""
    z = np.asarray(PROMPTS[prompt])
    eps = 1e-6
    numeric = np.stack([(softmax(z + eps * e, temperature) - softmax(z - eps * e, temperature)) / (2 * eps)
                        for e in np.eye(V)], axis=1)
    jacobian = softmax_jacobian(z, temperature)
    error = float(np.abs(numeric - jacobian).max())
    rows = float(np.abs(jacobian.sum(axis=1)).max())
    assert error < 1e-8, f"the Jacobian differs from finite differences by {error:.1e}"
    assert rows < 1e-15, f"a row sums to {rows:.1e}, not 0"
    return {"largest entry": round(float(np.abs(jacobian).max()), 4), "vs finite differences": f"{error:.1e}",
            "largest row sum": f"{rows:.1e}"}


def check_draws_rebuild_the_distribution(strategy: str, temperature: float) -> dict:
    """20,000 draws per strategy: a chi-square test against the distribution, cut tokens never drawn."""
    measured = {}
    for prompt in PROMPTS:
        run = _run(9, lesson="sampling", prompt=prompt, strategy=strategy, temperature=temperature, top_k=3,
                   top_p=0.9, draws=2000)
        model = run.model
        pic, counts = model.picture(), model.counts
        n = int(counts.sum())
        assert n == 20000
        assert np.all(counts[~pic.mask] == 0), f"{prompt}: a cut token was drawn"
        if strategy == "greedy":
            assert counts[np.argmax(PROMPTS[prompt])] == n, "greedy drew something other than the top token"
            measured[prompt] = "top token every time"
            continue
        expected = n * pic.drawn
        big = expected >= 5
        # small expected counts are pooled into one cell, as the chi-square test needs
        observed = np.append(counts[big], counts[~big & pic.mask].sum())
        wanted = np.append(expected[big], expected[~big & pic.mask].sum())
        keep = wanted > 0
        statistic = float(np.sum((observed[keep] - wanted[keep]) ** 2 / wanted[keep]))
        dof = int(keep.sum()) - 1
        measured[prompt] = f"χ² {statistic:.1f} on {dof} dof (limit {_chi_square_limit(dof):.1f})"
        assert statistic < _chi_square_limit(dof), f"{prompt}: χ² = {statistic:.1f} on {dof} degrees of freedom"
    return measured


def check_histogram_error_falls_as_one_over_root_n(prompt: str) -> dict:
    """The mean total-variation distance over 24 runs, at 1,000 and 100,000 draws, against Σ√(p(1−p)/2πn)."""
    ratios = {}
    errors = {1000: [], 100000: []}
    for seed in range(24):
        run = _run(99, seed=seed, lesson="sampling", prompt=prompt, strategy="temperature", draws=1000)
        series, samples = run.series("histogram_error"), run.series("samples")
        for n, values in errors.items():
            values.append(float(series[int(np.flatnonzero(samples == n)[0])]))
    p = softmax(np.asarray(PROMPTS[prompt]))
    for n, values in errors.items():
        ratios[n] = float(np.mean(values) / expected_histogram_error(p, n))
    slope = math.log(np.mean(errors[100000]) / np.mean(errors[1000])) / math.log(100)
    measured = {f"mean / expected at n = {n:,}": round(r, 3) for n, r in ratios.items()}
    measured["slope of log distance vs log n"] = round(slope, 3)
    for n, r in ratios.items():
        assert 0.85 < r < 1.15, f"at n = {n:,} the mean distance is {r:.2f} × the expected"
    assert abs(slope + 0.5) < 0.05, f"the distance falls as n^{slope:.2f}, not n^-0.5"
    return measured


def check_top_p_adapts_to_temperature(prompt: str, top_p: float) -> dict:
    """The smallest head that reaches p, growing with T; top-k's count fixed; the stated counts."""
    z = np.asarray(PROMPTS[prompt])
    counts = []
    for t in GRID:
        p = softmax(z, t)
        mask = keep_mask(p, "top-p", top_p=top_p)
        k = int(mask.sum())
        head = np.sort(p)[::-1]
        assert np.isclose(p[mask].sum(), head[:k].sum()), "top-p did not keep the most likely tokens"
        assert head[:k].sum() >= top_p * (1 - 1e-12) and (k == 1 or head[:k - 1].sum() < top_p), \
            f"T = {t:.3g}: {k} tokens is not the smallest head reaching {top_p}"
        assert int(keep_mask(p, "top-k", top_k=3).sum()) == 3
        counts.append(k)
    assert np.all(np.diff(counts) >= 0), "the kept set shrank as T rose"
    measured = {"kept at T = 0.05": counts[0], "kept at T = 10": counts[-1]}
    for t in (1.0, 2.0):
        run = _run(lesson="sampling", prompt=prompt, strategy="top-p", top_p=top_p, temperature=t)
        kept = int(run.series("kept")[-1])
        measured[f"kept at T = {t:g}"] = kept
        assert kept == int(keep_mask(softmax(z, t), "top-p", top_p=top_p).sum())
        if prompt == "The cat sat on the" and top_p == 0.9:
            assert kept == STATED_TOP_P[t], f"T = {t:g}: top-p 0.9 keeps {kept}, stated {STATED_TOP_P[t]}"
    return measured


def check_cross_entropy_is_entropy_plus_kl(model: str, temperature: float) -> dict:
    """H(p, q) = H(p) + KL(p‖q) ≥ H(p); the mean surprise of 20,000 tokens within 4 standard errors of it."""
    measured = {}
    for prompt in PROMPTS:
        run = _run(9, lesson="surprise", prompt=prompt, model=model, temperature=temperature, draws=2000)
        z = np.asarray(PROMPTS[prompt])
        log_p, log_q = log_softmax(z), model_log_q(z, temperature, model)
        p = np.exp(log_p)
        h, cross, divergence = entropy(p), run.series("cross_entropy")[-1], kl(p, log_p, log_q)
        assert abs(cross - (h + divergence)) < 1e-12, "H(p, q) is not H(p) + KL(p‖q)"
        assert divergence >= 0 and (divergence > 1e-9) == (not np.allclose(log_p, log_q)), \
            "KL(p‖q) is 0 exactly when q = p, and positive otherwise"
        n = run.series("samples")[-1]
        spread = math.sqrt(max(float(np.sum(p * log_q**2) - np.sum(p * log_q) ** 2), 0.0) / n)
        gap = run.series("mean_surprise")[-1] - cross
        assert abs(gap) <= 4 * spread + 1e-12, f"{prompt}: the mean surprise is {gap:+.4f} from H(p, q) (σ {spread:.4f})"
        measured[prompt] = f"H(p,q) {cross:.3f} = {h:.3f} + {divergence:.3f}; measured {cross + gap:.3f}"
    return measured


def _kl_pair(z, temperature):
    log_p, log_q = log_softmax(z), log_softmax(z, temperature)
    return kl(np.exp(log_p), log_p, log_q), kl(np.exp(log_q), log_q, log_p)


def check_kl_direction_follows_confidence(prompt: str, temperature: float) -> dict:
    """T < 1: KL(p‖q) is the larger; T > 1: KL(q‖p) is, for the level's prompts."""
    run = _run(lesson="surprise", prompt=prompt, model="temperature", temperature=temperature)
    forward, backward = run.series("kl_pq")[-1], run.series("kl_qp")[-1]
    assert np.allclose((forward, backward), _kl_pair(np.asarray(PROMPTS[prompt]), temperature), atol=1e-12)
    larger = "KL(p‖q)" if forward > backward else "KL(q‖p)"
    assert (temperature < 1) == (forward > backward), f"T = {temperature:g}: {larger} is the larger"
    return {"KL(p‖q)": round(forward, 4), "KL(q‖p)": round(backward, 4), "larger": larger}


def check_kl_direction_is_a_tendency(seed: int) -> dict:
    """Over random logits the rule fails in a few percent of (logits, T) pairs: not a theorem."""
    rng = np.random.default_rng(seed)
    temperatures = (0.1, 0.3, 0.5, 0.8, 1.25, 2.0, 4.0, 10.0)
    failures = total = 0
    for _ in range(2000):
        z = rng.normal(size=int(rng.integers(2, 31))) * rng.uniform(0.1, 5.0)
        for t in temperatures:
            forward, backward = _kl_pair(z, t)
            failures += (t < 1) != (forward > backward)
            total += 1
    share = failures / total
    assert 0.01 < share < 0.15, f"the rule failed for {share:.1%} of random pairs"
    if seed == STATED_FAILURES[0]:
        assert abs(share - STATED_FAILURES[1]) < 0.0005, f"{share:.2%} of the pairs, the README says 3.7%"
    return {"pairs": total, "where the rule fails": f"{share:.1%}"}


def check_kl_agrees_only_in_special_cases(prompt: str) -> dict:
    """Equal for a swap; nearly equal near q = p (both ½ χ²); apart for a uniform q, one bounded, one not."""
    z = np.asarray(PROMPTS[prompt])
    log_p = log_softmax(z)
    p = np.exp(log_p)
    swapped = model_log_q(z, 1.0, "swapped")
    forward, backward = kl(p, log_p, swapped), kl(np.exp(swapped), swapped, log_p)
    assert forward > 0.01 and abs(forward - backward) < 1e-12, "the swapped pair's two KLs differ"
    near = {}
    for t in (0.99, 1.01):
        f, b = _kl_pair(z, t)
        q = softmax(z, t)
        half_chi2 = 0.5 * float(np.sum((p - q) ** 2 / p))
        near[t] = (f, b, half_chi2)
        assert abs(f / b - 1) < 0.05 and abs(f / half_chi2 - 1) < 0.05 and abs(b / half_chi2 - 1) < 0.05, \
            f"T = {t}: KLs {f:.2e}, {b:.2e} against ½χ² {half_chi2:.2e}"
    uniform = np.full(V, -math.log(V))
    worst_gap = 0.0
    for t in GRID:
        log_pt = log_softmax(z, t)
        pt = np.exp(log_pt)
        to_uniform = kl(pt, log_pt, uniform)
        worst_gap = max(worst_gap, abs(to_uniform - (math.log(V) - entropy(pt))))
        assert to_uniform <= math.log(V) + 1e-12
    cold = log_softmax(z, 0.05)
    from_uniform = kl(np.exp(uniform), uniform, cold)
    assert worst_gap < 1e-12, "KL(p‖u) is not ln V − H(p)"
    assert from_uniform > 10 * math.log(V), f"KL(u‖p) at T = 0.05 is only {from_uniform:.1f}"
    data = kl(p, log_p, uniform), kl(np.exp(uniform), uniform, log_p)
    assert abs(data[0] - data[1]) > 0.3, "for the data p, the uniform's two KLs should differ clearly"
    return {"swapped: KL both ways": round(forward, 4), "T = 1.01: KLs / ½χ²": f"{near[1.01][0] / near[1.01][2]:.3f}, "
            f"{near[1.01][1] / near[1.01][2]:.3f}", "uniform: KL(p‖u), KL(u‖p)": f"{data[0]:.3f}, {data[1]:.3f}",
            "KL(u‖p) at T = 0.05": round(from_uniform, 1)}


def check_uniform_model_perplexity_is_the_vocabulary(vocabulary: int, seed: int) -> dict:
    """A uniform model's measured perplexity: 12 on text from every prompt; 50,257 on Zipf-distributed text."""
    measured = {}
    if vocabulary == V:
        for prompt in PROMPTS:
            run = _run(20, seed=seed, lesson="surprise", prompt=prompt, model="uniform", draws=500)
            value = run.series("measured_perplexity")[-1]
            measured[prompt] = round(value, 9)
            assert abs(value - V) < 1e-9, f"{prompt}: a uniform model measured {value}"
        return measured
    ranks = np.arange(1, vocabulary + 1, dtype=np.float64)
    zipf = (1 / ranks) / np.sum(1 / ranks)
    counts = draw_counts_for(zipf, seed, 0, 200_000)
    surprise = float(np.sum(counts * math.log(vocabulary)) / counts.sum())  # every token costs ln V
    distinct = int(np.count_nonzero(counts))
    value = math.exp(surprise)
    own = math.exp(-float(np.sum(counts * np.log(zipf))) / counts.sum())
    assert abs(value - vocabulary) < 1e-6 * vocabulary, f"a uniform model over {vocabulary} measured {value}"
    assert own < value / 10, "the text's own distribution should be far less perplexed"
    return {"measured perplexity": round(value, 3), "distinct tokens in the text": distinct,
            "the Zipf law's own perplexity": round(own, 1)}


def check_perplexity_counts_effective_choices(prompt: str) -> dict:
    """1 for greedy, k for k equal choices, between them otherwise; measured on draws, it converges to e^H."""
    greedy = _run(lesson="sampling", prompt=prompt, strategy="greedy")
    assert greedy.series("perplexity")[-1] == 1.0
    for k in (1, 2, 5, 12):
        assert abs(math.exp(entropy(np.full(k, 1 / k))) - k) < 1e-12
    run = _run(9, lesson="sampling", prompt=prompt, strategy="temperature", draws=2000)
    exact, measured = run.series("perplexity")[-1], run.series("measured_perplexity")[-1]
    assert 1 < exact < V
    assert abs(measured / exact - 1) < 0.02, f"measured perplexity {measured:.3f} against e^H = {exact:.3f}"
    return {"e^H at T = 1": round(exact, 3), "measured on 20,000 draws": round(measured, 3)}


def check_prompt_information(temperature: float) -> dict:
    """I = H(token) − H(token | prompt) = KL(joint ‖ product), in [0, ln 3]; ln 3 as T → 0, falling with T."""
    run = _run(lesson="mutual information", temperature=temperature)
    table = conditional_table(temperature)
    joint = table / len(table)
    info = run.series("information")[-1]
    h, hc = run.series("entropy")[-1], run.series("cross_entropy")[-1]
    as_kl = kl(joint.ravel(), np.log(joint).ravel(), np.log(np.outer(joint.sum(1), joint.sum(0))).ravel())
    assert abs(info - (h - hc)) < 1e-12 and abs(info - as_kl) < 1e-12 and abs(info - mutual_information(joint)) < 1e-12
    assert -1e-12 <= info <= math.log(len(PROMPTS)) + 1e-12
    ratio = run.series("perplexity")[-1] / math.exp(hc)
    assert abs(ratio - math.exp(info)) < 1e-9, "knowing the prompt does not divide the perplexity by e^I"
    curve = [mutual_information(conditional_table(t) / len(PROMPTS)) for t in GRID]
    assert np.all(np.diff(curve) <= 1e-12), "I rose somewhere as T rose"
    if temperature <= 0.05:
        assert abs(info - math.log(3)) < 1e-3, f"at T = {temperature} I = {info:.4f}, not ln 3"
    if temperature >= 10:
        assert info < 0.03, f"at T = {temperature} I = {info:.4f}, not near 0"
    return {"I (nats)": round(info, 4), "H(token)": round(h, 4), "H(token | prompt)": round(hc, 4),
            "perplexity ÷": round(ratio, 3)}


def check_plugin_estimate_is_biased_up(temperature: float) -> dict:
    """Mean of Î − I over 200 runs of 300 pairs against 11/N; one run of 100,000 pairs within 0.01 of I."""
    n = 300
    gaps = []
    for seed in range(200):
        run = _run(seed=seed, lesson="mutual information", temperature=temperature, draws=n)
        gaps.append(run.model.information_estimate() - run.series("information")[-1])
    bias = (len(PROMPTS) - 1) * (V - 1) / (2 * n)
    mean = float(np.mean(gaps))
    long = _run(99, seed=7, lesson="mutual information", temperature=temperature, draws=1000)
    far = abs(long.model.information_estimate() - long.series("information")[-1])
    assert abs(mean / bias - 1) < 0.3, f"the mean bias is {mean:.4f}, 11/N = {bias:.4f}"
    assert far < 0.01, f"after 100,000 pairs Î is {far:.4f} from I"
    assert abs(plugin_information(np.zeros((3, V)))) == 0.0
    return {"mean Î − I at N = 300": round(mean, 4), "11/N": round(bias, 4), "|Î − I| at N = 100,000": round(far, 4)}


def check_same_draws_on_every_backend(lesson: str) -> dict:
    """The counts after 30 steps of 3,000 draws agree to the last draw on every backend here."""
    compared = [b for b in backends.BACKENDS if backends.unavailable_reason(b) is None]
    runs = {b: _run(30, seed=11, backend=b, lesson=lesson, temperature=1.5, draws=3000) for b in compared}
    reference = runs["numpy"].model.counts
    for backend, run in runs.items():
        assert np.array_equal(run.model.counts, reference), f"{backend} drew differently from numpy"
    assert len(compared) >= 2, "only numpy runs here: nothing to compare"
    return {"backends": ", ".join(compared), "draws each": int(reference.sum())}
