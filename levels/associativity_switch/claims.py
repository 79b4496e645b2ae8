"""The associativity switch's claims, each checked at one point of its range (see [[claims]] in level.toml).

Every check builds the level's own run (or its benchmark's forms) and measures what the README, the
math card, the panels and the challenges state. No check times anything: how fast a form runs depends
on the machine and on what else it is doing, so the claims about the benchmark are about what it
computes and how it reads the times it measures (given times a machine could measure, as the level's
tests give them). The numbers each check returns are shown beside its claim.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np

from sandbox.testing import make_runner

from .kernels import (
    AttentionBenchmark,
    attention_matrix_bytes,
    describe_crossover,
    feature_map,
    linear_attention_weights,
    loglog_fit,
    run_form,
    state_bytes,
)

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed


def _run(seed: int = 0, **params):
    run = make_runner(HERE.name, params, seed=seed, levels_dir=HERE.parent)
    assert run.error is None, run.error
    return run


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    """The largest difference relative to the largest magnitude."""
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300))


def check_both_parentheses_give_the_same_output(seq_len: int, d: int, seed: int) -> dict:
    """The level's two outputs over the whole sequence, the table's |y_transformer − y_rnn| with the
    cursor on the last token, and both against a plain loop over the tokens (a d×d state S and a
    d-vector z, as the witness writes it)."""
    run = _run(seed, seq_len=seq_len, d=d)
    run.step(seq_len - 1)  # the cursor on token N: the table's difference covers every token
    model = run.model
    fq, fk = feature_map(model.q), feature_map(model.k)
    state, normaliser, looped = np.zeros((d, d)), np.zeros(d), np.empty((seq_len, d))
    for t in range(seq_len):
        state += np.outer(fk[t], model.v[t])
        normaliser += fk[t]
        looped[t] = fq[t] @ state / (fq[t] @ normaliser)
    forms = _gap(model.y_quadratic, model.y_recurrent)
    loop = max(_gap(model.y_quadratic, looped), _gap(model.y_recurrent, looped))
    shown = float(run.latest()["form_difference"])
    measured = {"cursor": int(run.latest()["token"]), "|y_transformer − y_rnn| shown": f"{shown:.1e}",
                "relative gap between the forms": f"{forms:.1e}", "relative gap to a plain loop": f"{loop:.1e}"}
    assert run.latest()["token"] == seq_len, "the cursor is not on the last token"
    assert forms < 1e-12 and shown < 1e-10, f"the two parentheses differ by {forms:.2g} (relative), {shown:.2g} shown"
    assert loop < 1e-12, f"a form is {loop:.2g} (relative) from the plain loop"
    return measured


def check_ssd_masked_equals_recurrence(decay: float, decay_jitter: float, seed: int) -> dict:
    """SSD's masked form (L ∘ C Bᵀ) x and its recurrence h_t = a_t h_t−1 + B_t x_tᵀ, y_t = C_tᵀ h_t,
    as the level computes them, and the table's difference with the cursor on the last token."""
    run = _run(seed, mode="ssd", decay=decay, decay_jitter=decay_jitter)
    run.step(run.params["seq_len"] - 1)
    model = run.model
    gap = _gap(model.y_ssd_masked, model.y_ssd_recurrent)
    shown = float(run.latest()["ssd_difference"])
    measured = {"decays from": round(float(model.decays.min()), 3), "to": round(float(model.decays.max()), 3),
                "relative gap": f"{gap:.1e}", "|y_masked − y_recurrent| shown": f"{shown:.1e}"}
    assert gap < 1e-12 and shown < 1e-10, f"the masked form and the recurrence differ by {gap:.2g} (relative)"
    return measured


def check_unit_decay_is_linear_attention(seq_len: int, seed: int) -> dict:
    """a ≡ 1: the decay mask against the causal triangle, and SSD's output with B = φ(K), C = φ(Q),
    x = V, divided by the normaliser φ(q_t)ᵀz_t, against the transformer form's output."""
    run = _run(seed, seq_len=seq_len, decay=1.0, decay_jitter=0.0)
    model = run.model
    triangle = float(np.max(np.abs(model.mask - np.tri(seq_len))))
    normalised = model.y_ssd_masked / np.einsum("td,td->t", model.fq, model.normalisers)[:, None]
    gap = _gap(normalised, model.y_quadratic)
    measured = {"|L − causal triangle|": f"{triangle:.1e}", "relative gap to linear attention": f"{gap:.1e}"}
    assert triangle == 0.0, f"at a = 1 the mask is {triangle:.2g} from the causal triangle"
    assert gap < 1e-12, f"SSD over the normaliser is {gap:.2g} (relative) from linear attention"
    return measured


def check_decay_mask(decay: float, decay_jitter: float) -> dict:
    """The mask the level builds against the products a_i a_i−1 ⋯ a_j+1 taken one by one; without
    jitter, against a^(i−j), each row's sum against (1 − a^(i+1))/(1 − a) and the memory length shown;
    with jitter, how far it is from Toeplitz (its diagonals' spread)."""
    run = _run(mode="ssd", decay=decay, decay_jitter=decay_jitter)
    model = run.model
    a, mask, n = model.decays, model.mask, len(model.decays)
    products = np.zeros((n, n))
    for i in range(n):
        products[i, i] = 1.0
        for j in range(i - 1, -1, -1):
            products[i, j] = products[i, j + 1] * a[j + 1]
    gap = float(np.max(np.abs(mask - products)))
    spread = max(float(np.ptp(np.diagonal(mask, -lag))) for lag in range(1, n))  # 0 for a Toeplitz mask
    measured = {"|L − the products|": f"{gap:.1e}", "largest spread along a diagonal": round(spread, 4),
                "memory length shown": round(float(run.latest()["memory_length"]), 3)}
    assert gap < 1e-12, f"the mask is {gap:.2g} from the products of the decays"
    if decay_jitter == 0.0:
        rows, stated = mask.sum(axis=1), (1.0 - decay ** np.arange(1, n + 1)) / (1.0 - decay)
        toeplitz = float(np.max(np.abs(mask - np.tril(decay ** np.subtract.outer(np.arange(n), np.arange(n)).clip(0)))))
        measured["|L − a^(i−j)|"] = f"{toeplitz:.1e}"
        assert toeplitz < 1e-12, f"without jitter the mask is {toeplitz:.2g} from a^(i−j)"
        assert np.max(np.abs(rows - stated)) < 1e-12 and rows.max() < 1.0 / (1.0 - decay), "a row's sum is wrong"
        assert abs(run.latest()["memory_length"] - 1.0 / (1.0 - decay)) < 1e-9, "the memory length shown is not 1/(1 − a)"
    else:
        assert spread > 0.01, f"with jitter {decay_jitter:g} the mask is still Toeplitz"
    return measured


def check_matrix_grows_state_does_not(seq_len: int, d: int) -> dict:
    """The table as the cursor rolls over every token: the N×N matrix's bytes at N = t, the causal
    weights so far, the state's bytes; the arrays the forms hold (float32 as counted); and the two
    memory challenges' answers at their own sizes."""
    run = _run(seq_len=seq_len, d=d)
    run.step(seq_len - 1)
    model, t = run.model, run.series("token")
    q32, k32 = model.q.astype(np.float32), model.k.astype(np.float32)
    weights_held = linear_attention_weights(q32, k32).nbytes
    state_held = (model.states[-1].astype(np.float32).nbytes + model.normalisers[-1].astype(np.float32).nbytes)
    gb, kb = model.measure_memory_matrix_gb(run), model.measure_memory_state_kb(run)
    measured = {"matrix at N": f"{weights_held} B", "4N²": 4 * seq_len ** 2, "state": f"{state_held} B",
                "4(d² + d)": 4 * (d * d + d), "matrix at N = 100 000": f"{gb:g} GB", "state at d = 64": f"{kb:g} kB"}
    assert np.array_equal(run.series("attention_bytes"), 4 * t ** 2), "the matrix's bytes are not 4t²"
    assert np.array_equal(run.series("attention_entries"), t * (t + 1) / 2), "the weights so far are not t(t+1)/2"
    assert np.all(run.series("state_bytes") == 4 * (d * d + d)), "the state's bytes change with t"
    assert weights_held == attention_matrix_bytes(seq_len) == 4 * seq_len ** 2, f"the N×N matrix holds {weights_held} B"
    assert state_held == state_bytes(d) == 4 * (d * d + d), f"S and z hold {state_held} B"
    assert gb == 40.0 and abs(kb - 16.64) < 1e-9, f"the challenges measure {gb} GB and {kb} kB"
    return measured


def check_counts_cross_near_2d(d: int) -> dict:
    """The panel's multiply-adds, per token (the first, the middle and the last) and for all N tokens,
    both parentheses, at the slider's ends and at every N from 2d − 1 to 2d + 3 that it allows: which
    form does more."""
    run = _run(d=d)
    counts = {}
    for n in sorted({8, 256, *range(2 * d - 1, 2 * d + 4)} & set(range(8, 257))):
        run.set_param("seq_len", n)
        run.set_param("mode", "transformer")
        quadratic = run.model.multiply_adds(n)[1]
        reads = [run.model.multiply_adds(t)[0] for t in (1, n // 2, n)]  # token t's share: it reads t keys
        run.set_param("mode", "rnn")
        counts[n] = (quadratic, run.model.multiply_adds(n)[1])
        updates = {run.model.multiply_adds(t)[0] for t in (1, n // 2, n)}  # the same at every token
        assert reads == [2 * t * d for t in (1, n // 2, n)], f"N = {n}: a token's reads cost {reads}, not 2td"
        assert updates == {2 * d * d + 2 * d}, f"N = {n}: a token's update costs {updates}, not 2d² + 2d"
    more = [n for n, (quadratic, linear) in counts.items() if quadratic > linear]
    measured = {"2d + 1": 2 * d + 1, **{f"N = {n}": f"{q:,} against {lin:,}" for n, (q, lin) in counts.items()}}
    for n, (quadratic, linear) in counts.items():
        assert quadratic == n * (n + 1) * d and linear == 2 * n * (d * d + d), f"N = {n}: the counts are not the stated ones"
    expected = [n for n in counts if n > 2 * d + 1]
    assert more == expected, f"the quadratic count is the larger at N = {more}, not at every N past 2d + 1 = {2 * d + 1}"
    return measured


def check_tiled_form_holds_linear_memory(bench_d: int) -> dict:
    """The benchmark's quadratic form at N = 1024 and 4096: the most memory it holds at once (every
    allocation traced) against the 4N² bytes of the whole N×N matrix."""
    peaks = {}
    for n in (1024, 4096):
        rng = np.random.default_rng(n)
        q, k, v = (rng.standard_normal((n, bench_d)).astype(np.float32) for _ in range(3))
        tracemalloc.start()
        try:
            run_form("quadratic", q, k, v)
            peaks[n] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    growth, share = peaks[4096] / peaks[1024], peaks[4096] / attention_matrix_bytes(4096)
    measured = {"peak at N = 1024": f"{peaks[1024] / 1e6:.1f} MB", "peak at N = 4096": f"{peaks[4096] / 1e6:.1f} MB",
                "growth for 4× N": round(growth, 2), "÷ the 4096² matrix": f"{share:.1%}"}
    assert growth < 6.0, f"4 times the tokens hold {growth:.2g} times the memory: not O(N) (O(N²) is 16)"
    assert share < 0.15, f"the form held {share:.0%} of the whole N×N matrix"
    return measured


def check_benchmark_forms_agree(rnn_loop: str, bench_d: int) -> dict:
    """The level's benchmark run to its end (N = 128 to 2048, the budget per size at its largest, so
    that no size is skipped): the largest difference between the two forms' outputs at every N timed,
    relative to the outputs' size, as the panel reports it."""
    run = _run(benchmark=True, rnn_loop=rnn_loop, bench_d=bench_d, bench_n_max=2048, size_budget_s=30.0)
    bench = run.model.bench
    while not bench.done:
        run.step(10)
    timed = sorted(bench.differences)
    worst = max(bench.differences.values())
    measured = {"loop": run.model.linear_loop_code(), "sizes compared": f"{timed[0]} … {timed[-1]}",
                "largest relative difference": f"{worst:.1e}"}
    assert len(timed) >= 2, f"only N = {timed} were compared"
    assert worst < 1e-5, f"the forms differ by {worst:.2g} (relative) at some N: beyond float32 rounding"
    return measured


#: The times a machine could measure for the crossover claim: the quadratic form a·N², the linear b·N,
#: so that they cross at N = b/a, at each size of the crossover challenge's plan (128 … 16 384).
PLAN = [128 * 2 ** i for i in range(8)]


def _given_times(bench: AttentionBenchmark, sizes, quadratic, linear) -> None:
    bench.seconds["quadratic"] = {n: quadratic(n) for n in sizes}
    bench.seconds["linear"] = {n: linear(n) for n in sizes}


def check_crossover_is_measured_or_a_bound(crossing: float) -> dict:
    """The benchmark's report on times that cross at ``crossing`` (a N² = b N): between two timed sizes
    it is interpolated there; below the smallest it is first a bound, then timed at smaller sizes down
    to N = 8 (as the crossover challenge does) and measured; beyond the largest it is a bound."""
    a = 1e-9
    b = a * crossing
    costs = {"quadratic": lambda n: a * n * n, "linear": lambda n: b * n}
    bench = AttentionBenchmark(d=16, n_min=PLAN[0], n_max=PLAN[-1])
    _given_times(bench, PLAN, costs["quadratic"], costs["linear"])
    bench.done = True
    report = bench.crossover_report()
    said = describe_crossover(report)
    measured = {"first report": report.where, "at N": round(report.n), "the panel says": said}
    if crossing < PLAN[0]:
        assert report.where == "below" and report.n == PLAN[0], f"reported {report}"
        assert bench.crossover() is None and f"below N = {PLAN[0]}" in said, "a bound read as a measurement"
        bench._time = lambda form, n: costs[form](n)  # stands in for timing the form at n
        bench.extend_below(floor=8)
        report = bench.crossover_report()
        measured.update({"after timing smaller N": report.where, "crossover": round(report.n, 1)})
    if crossing > PLAN[-1]:
        assert report.where == "beyond" and report.n == PLAN[-1], f"reported {report}"
        assert bench.crossover() is None and f"beyond N = {PLAN[-1]}" in said, "a bound read as a measurement"
        extrapolated = bench.extrapolated_crossover()
        measured["where the fitted laws meet"] = round(extrapolated)
        assert abs(extrapolated / crossing - 1) < 1e-6, f"the fitted laws meet at {extrapolated:.4g}"
    else:
        assert report.where == "measured" and abs(report.n / crossing - 1) < 1e-9, f"reported {report}"
    return measured


def tiled_seconds(n: int, per_weight: float = 3.1e-9, per_token: float = 1.5e-6) -> float:
    """Seconds the tiled quadratic form could take at N: a part that grows as N² (the N(N + 1)/2
    weights) and a part that grows as N (φ over the inputs, each tile's setup, the masked diagonal
    tiles). On one core here: 27 ns a weight at N = 128, 3.1 ns at N = 65 536."""
    return per_weight * n * (n + 1) / 2 + per_token * n


def check_slope_fitted_over_the_largest_sizes(per_token: float, largest: int) -> dict:
    """The benchmark's fitted slopes on times with an N² part and an N part (the quadratic form) and
    an N part only (the linear one), sizes 128 … ``largest``: the fit over the three largest sizes
    against a fit over every N ≥ 1000."""
    sizes = [n for n in (128 * 2 ** i for i in range(10)) if n <= largest]
    bench = AttentionBenchmark(d=16, n_min=sizes[0], n_max=sizes[-1])
    _given_times(bench, sizes, lambda n: tiled_seconds(n, per_token=per_token), lambda n: 2e-6 * n)
    every = loglog_fit(*zip(*[(n, t) for n, t in sorted(bench.seconds["quadratic"].items()) if n >= 1000]))[0]
    slope, (low, high) = bench.slope("quadratic"), bench.fit_span("quadratic")
    n_part = per_token * low / tiled_seconds(low, per_token=per_token)
    measured = {"fitted over N": f"{low} … {high}", "quadratic slope": round(slope, 3),
                "over every N ≥ 1000": round(every, 3), "N part at the fit's start": f"{n_part:.0%}",
                "linear slope": round(bench.slope("linear"), 3)}
    assert (low, high) == (largest // 4, largest), f"fitted over {low} … {high}, not the three largest sizes"
    assert 1.55 < every < slope < 2.0, f"the tail's slope {slope:.3f} is not nearer 2 than {every:.3f}"
    if n_part <= 0.2:
        assert slope > 1.85, f"with the N part {n_part:.0%} of the time the slope is only {slope:.3f}"
    assert abs(bench.slope("linear") - 1.0) < 1e-9, f"the linear slope is {bench.slope('linear'):.3f}"
    return measured
