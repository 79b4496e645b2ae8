"""The KV-cache lab: its claims, each checked at one point of its range (see [[claims]] in level.toml).

Every check measures with the level's own code (the runner and the model, or the toy decoder and
the paging simulation) what the README, the math card, the panels and the challenges state; the
numbers it returns are shown beside the claim.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sandbox.testing import make_runner

from .kvmath import (
    CARDS,
    GB,
    GIB,
    PRESET_BY_NAME,
    SPEC_BANDWIDTH,
    Config,
    Counter,
    ToyDecoder,
    best_lever,
    decode_step_bytes,
    lever_savings,
)

HERE = Path(__file__).resolve().parent

#: per token and sequence, 16-bit cache, KiB: what the README and the claim state for each preset
STATED_PER_TOKEN_KIB = {"Llama-2-7B": 512, "Llama-2-70B": 320, "Llama-3-8B": 128, "Llama-3-70B": 320,
                        "Mistral-7B-v0.1": 128, "Falcon-7B": 8, "Qwen2-7B": 56, "Gemma-7B": 448, "Gemma-2B": 18}
#: the lever cases of the claim and the challenges: (preset, batch, context) -> the lever that wins
LEVER_CASES = {"Llama-2-7B, B=8, T=4096": ("Llama-2-7B", 8, 4096, "one KV head (MQA)"),
               "Llama-3-8B, B=1, T=131072": ("Llama-3-8B", 1, 131072, "4096-token window"),
               "Falcon-7B, B=16, T=2048": ("Falcon-7B", 16, 2048, "4-bit cache")}


def _preset_params(name: str, **extra) -> dict:
    p = PRESET_BY_NAME[name]
    window = {0: "none", 4096: "4096 tokens"}[p.window]
    return {"layers": p.layers, "q_heads": p.q_heads, "kv_heads": p.kv_heads, "d_head": p.d_head,
            "params_b": p.params_b, "window": window, **extra}


def _run(steps: int = 0, seed: int = 0, **params):
    run = make_runner(HERE.name, params, seed=seed, levels_dir=HERE.parent)
    if steps:
        run.step(steps)
    assert run.error is None, run.error
    return run


def check_formula_counts_bytes(preset: str) -> dict:
    """A preset's per-token bytes as published, and a toy cache's real bytes against the formula."""
    run = _run(**_preset_params(preset, batch=1, context=4096))
    per_token = run.model.config().per_token()
    assert per_token / 1024 == STATED_PER_TOKEN_KIB[preset], f"{per_token / 1024} KiB per token"
    assert preset in run.model.matching_presets()
    toy = ToyDecoder(seed=1)
    cache: list = []
    length = 37
    toy.forward(np.arange(length) % toy.vocab, Counter(), cache)
    held = sum(k.nbytes + v.nbytes for k, v in cache)
    formula = Config(batch=1, layers=toy.layers, context=length, kv_heads=toy.heads, d_head=toy.d_head, bytes=8).kv_bytes()
    assert held == formula, (held, formula)
    return {"KiB per token (16-bit)": per_token / 1024, "toy cache bytes": held, "formula bytes": formula}


def check_gib_against_gb() -> dict:
    """Llama-3-70B at 128k: exactly 40 GiB, 42.9 GB; an 80 GB card's 80 GiB in GB."""
    run = _run(**_preset_params("Llama-3-70B", batch=1, context=131072))
    kv = run.model.kv_bytes()
    assert kv == 40 * GIB and round(kv / GB, 1) == 42.9
    card = CARDS["80 GB (A100 / H100 80GB)"].gib * GIB
    assert round(card / GB, 1) == 85.9
    assert abs(GIB / GB - 1.0737) < 1e-4
    return {"bytes": kv, "GiB": kv / GIB, "GB": kv / GB, "80 GiB in GB": card / GB}


def check_levers_are_factors(case: str) -> dict:
    """Each lever's factor, and the winner of the case, from the model's own configuration."""
    preset, batch, context, winner = LEVER_CASES[case]
    run = _run(**_preset_params(preset, batch=batch, context=context))
    config = run.model.config()
    kv = config.kv_bytes()
    kept = {name: 1.0 - freed / kv for name, freed in lever_savings(config).items()}
    expected = {"halve the batch B": (config.batch // 2 or 1) / config.batch if config.batch > 1 else 1.0,
                "halve the context T": 0.5, "one KV head (MQA)": 1.0 / config.kv_heads,
                "4-bit cache": 0.5 / config.bytes, "4096-token window": min(config.context, 4096) / config.context}
    for name, factor in expected.items():
        assert abs(kept[name] - factor) < 1e-12, (name, kept[name], factor)
    assert best_lever(config) == winner == run.model.measure_best_lever(run)
    ranked = sorted(kept.values())
    assert ranked[1] - ranked[0] > 0.05, "the winner is clear"
    return {name: round(1.0 - share, 4) for name, share in kept.items()} | {"winner": winner}


def check_cache_gives_same_tokens(seed: int, prompt: int) -> dict:
    """Greedy generation with and without the cache: the same tokens, the same last logits."""
    toy = ToyDecoder(seed=seed)
    tokens = np.random.default_rng(seed).integers(0, toy.vocab, prompt)
    cached, _, logits_c = toy.generate(tokens, 24, cached=True)
    plain, _, logits_u = toy.generate(tokens, 24, cached=False)
    gap = float(np.max(np.abs(logits_c - logits_u)))
    assert cached == plain and gap < 1e-9, gap
    return {"tokens generated": 24, "largest logit difference": gap}


def check_work_linear_against_quadratic(length: int) -> dict:
    """The decoder's own count of one step at ``length`` tokens, with and without the cache."""
    toy = ToyDecoder()
    tokens = np.arange(length) % toy.vocab
    with_cache, without = Counter(), Counter()
    cache: list = []
    toy.forward(tokens[:-1], Counter(), cache)
    toy.forward(tokens[-1:], with_cache, cache, start=length - 1)
    toy.forward(tokens, without)
    assert with_cache.flops == toy.step_flops(length, True) and without.flops == toy.step_flops(length, False)
    assert without.flops == length * with_cache.flops
    # linear against quadratic: doubling t adds a constant to the cached step, and the uncached step's
    # second difference is constant (a quadratic in t)
    steps = [toy.step_flops(t, True) for t in (length, 2 * length, 3 * length)]
    plain = [toy.step_flops(t, False) for t in (length, 2 * length, 3 * length)]
    assert steps[2] - steps[1] == steps[1] - steps[0] > 0
    assert plain[2] - 2 * plain[1] + plain[0] > 0
    return {"cached FLOPs": with_cache.flops, "uncached FLOPs": without.flops, "ratio": without.flops / with_cache.flops}


def check_decode_reads_everything(batch: int) -> dict:
    """Bytes of one decode step for Llama-3-8B at 8192 tokens, and the time they take at spec bandwidth."""
    run = _run(**_preset_params("Llama-3-8B", batch=batch, context=8192))
    step = run.model.decode_bytes()
    assert step == decode_step_bytes(run.model.config(), 8.03, 2.0)
    assert abs(step - (8.03e9 * 2 + run.model.kv_bytes())) < 1.0, "the weights once and every cache"
    times = {name: step / bandwidth for name, bandwidth in SPEC_BANDWIDTH.items()}
    if batch == 1:
        assert round(step / GB, 1) == 17.1
        assert [round(t * 1e3, 1) for t in times.values()] == [5.1, 3.6]
    return {"GB per step": step / GB, **{f"ms at {name}": t * 1e3 for name, t in times.items()}}


def check_paging_wastes_little(seed: int, max_len: int) -> dict:
    """The level's serving simulation over max_len steps: the empty share of each kind of memory."""
    run = _run(steps=max_len, seed=seed, max_len=max_len, slots=32, block=16)
    prealloc = float(np.mean(run.series("prealloc_waste")))
    paged = run.series("paged_waste")
    assert 0.50 <= prealloc <= 0.62, prealloc
    limit = 0.06 if max_len <= 512 else 0.02
    assert float(np.max(paged)) < limit, float(np.max(paged))
    return {"preallocated: empty (mean)": prealloc, "paged: empty (mean)": float(np.mean(paged)),
            "paged: empty (largest)": float(np.max(paged))}
