"""The KV-cache lab: what the level shows, as assertions on its arithmetic, its simulation and its view.

The claims of level.toml are checked over their ranges by claims.py (the engine's tests run every
claim); these tests check the formula against counts made another way, the levers over random
builds, the toy decoder's own work counts, the paging simulation's invariants, the challenges'
measurements, and that the view hides, answers clicks and keeps its text apart as it says. No test
reads a clock: timings are shown, never asserted.
"""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from sandbox.manifest import load_manifest
from sandbox.testing import (
    cut_off_text,
    headless_app,
    level,
    make_runner,
    measured_outcome,
    open_challenge,
    overlapping_text,
    record_scene_text,
    run_challenge,
)

level("kv_cache").module("kvmath")  # imports the level's package as the game does
from cf_level_kv_cache.kvmath import (
    GIB,
    LEVERS,
    PRESETS,
    Config,
    Counter,
    ToyDecoder,
    best_lever,
    lever_moves,
    lever_savings,
    occupancy,
)

LEVEL = "kv_cache"
HERE = Path(__file__).parent


def random_config(rng) -> Config:
    return Config(batch=int(rng.integers(1, 65)), layers=int(rng.integers(1, 97)), context=int(rng.integers(1, 200_000)),
                  kv_heads=int(rng.integers(1, 65)), d_head=int(rng.choice([64, 80, 128, 256])),
                  bytes=float(rng.choice([4, 2, 1, 0.5])), window=int(rng.choice([0, 1024, 4096])))


# ---------------------------------------------------------------------------------------------
# the formula and the levers


def test_the_formula_counts_every_cached_number_once():
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = random_config(rng)
        kept = min(c.context, c.window) if c.window else c.context
        keys = (c.batch, c.kv_heads, kept, c.d_head)  # one layer's key tensor, by its shape
        assert c.kv_bytes() == 2 * np.prod(keys, dtype=np.int64) * c.layers * c.bytes  # K and V, every layer


def test_a_real_cache_holds_what_the_formula_says():
    for seed, length in ((0, 1), (1, 50), (2, 300)):
        toy = ToyDecoder(seed=seed)
        cache: list = []
        toy.forward(np.arange(length) % toy.vocab, Counter(), cache)
        held = sum(k.nbytes + v.nbytes for k, v in cache)
        assert held == Config(1, toy.layers, length, toy.heads, toy.d_head, 8).kv_bytes()
        assert held == length * toy.cache_bytes_per_token()


def test_presets_are_the_published_head_counts():
    table = {p.name: (p.layers, p.q_heads, p.kv_heads, p.d_head, p.kind) for p in PRESETS}
    assert table["Llama-2-7B"] == (32, 32, 32, 128, "multi-head")
    assert table["Llama-2-70B"][2] == table["Llama-3-70B"][2] == table["Llama-3-8B"][2] == 8
    assert table["Falcon-7B"] == (32, 71, 1, 64, "multi-query")
    assert table["Gemma-2B"][2:4] == (1, 256) and table["Gemma-7B"][2:4] == (16, 256)
    assert table["Qwen2-7B"][:3] == (28, 28, 4)
    assert next(p for p in PRESETS if p.name == "Mistral-7B-v0.1").window == 4096
    readme = (HERE / "README.md").read_text()
    for p in PRESETS:  # the README's table and sources name every preset
        assert f"| {p.name} | {p.layers} | {p.q_heads} | {p.kv_heads} | {p.d_head} |" in readme


def test_each_lever_multiplies_by_its_factor_and_the_best_is_the_largest():
    rng = np.random.default_rng(1)
    for _ in range(300):
        c = random_config(rng)
        kv = c.kv_bytes()
        moved = lever_moves(c)
        assert moved[LEVERS[0]].kv_bytes() == kv * (max(1, c.batch // 2) / c.batch)
        assert moved[LEVERS[2]].kv_bytes() == kv / c.kv_heads
        assert moved[LEVERS[3]].kv_bytes() == kv * min(1.0, 0.5 / c.bytes)
        assert moved[LEVERS[4]].cached_tokens == min(c.cached_tokens, 4096)
        savings = lever_savings(c)
        assert all(0 <= s <= kv for s in savings.values())
        assert savings[best_lever(c)] == max(savings.values())


def test_the_model_records_the_formula_in_both_units():
    run = make_runner(LEVEL, {"batch": 1, "context": 131072, "layers": 80, "kv_heads": 8, "d_head": 128})
    kv = run.model.kv_bytes()
    assert kv == 40 * GIB and run.series("kv_gib")[-1] == 40.0
    assert run.series("kv_gb")[-1] == pytest.approx(42.95, abs=0.01)
    windowed = make_runner(LEVEL, {"batch": 1, "context": 131072, "window": "4096 tokens"})
    assert windowed.model.kv_bytes() == 4096 * windowed.model.config().per_token()


# ---------------------------------------------------------------------------------------------
# the toy decoder


@pytest.mark.parametrize("seed", [0, 3])
def test_the_decoder_counts_its_work_and_the_cache_changes_only_the_work(seed):
    toy = ToyDecoder(seed=seed)
    prompt = np.random.default_rng(seed).integers(0, toy.vocab, 5)
    cached, work_c, logits_c = toy.generate(prompt, 20, cached=True)
    plain, work_u, logits_u = toy.generate(prompt, 20, cached=False)
    assert cached == plain and np.max(np.abs(logits_c - logits_u)) < 1e-9
    for step in range(1, 21):
        length = 5 + step
        assert work_c[step].flops == toy.step_flops(length, True)
        assert work_u[step].flops == toy.step_flops(length, False)
    cached_steps = np.array([w.flops for w in work_c[1:]])
    plain_steps = np.array([w.flops for w in work_u[1:]])
    assert len(set(np.diff(cached_steps))) == 1, "linear: the same increase every token"
    assert len(set(np.diff(plain_steps, 2))) == 1 and np.diff(plain_steps, 2)[0] > 0, "quadratic"
    assert work_c[0].flops == work_u[0].flops, "the prefill is the same pass"


def test_a_cached_step_reads_the_weights_and_the_whole_cache():
    toy = ToyDecoder()
    cache: list = []
    toy.forward(np.arange(100) % toy.vocab, Counter(), cache)
    counter = Counter()
    toy.forward([1], counter, cache, start=100)
    assert counter.bytes_read >= toy.weight_bytes + 101 * toy.cache_bytes_per_token()


def test_the_machine_measurements_return_figures_without_asserting_speed(tmp_path):
    from cf_level_kv_cache.kvmath import measure_bandwidth, time_decoding, time_prefill

    assert measure_bandwidth(megabytes=8, repeats=1) > 0
    t = time_decoding(lengths=(16, 32), repeats=1)
    assert t["cached"].shape == t["uncached"].shape == (2,) and np.all(t["cached"] > 0)
    p = time_prefill(length=16)
    assert p["prefill_flops"] > 0 and p["stepwise_flops"] > 0


# ---------------------------------------------------------------------------------------------
# paging


def test_blocks_waste_less_than_a_block_per_request():
    rng = np.random.default_rng(2)
    for _ in range(100):
        max_len, block = int(rng.choice([256, 2048])), int(rng.choice([1, 8, 16, 64]))
        current = rng.integers(1, max_len + 1, 32)
        occ = occupancy(current, max_len, block)
        assert occ["used"] <= occ["paged"] < occ["used"] + 32 * block
        assert occ["paged"] <= occ["prealloc"]
        if block == 1:
            assert occ["paged_waste"] == 0.0


def test_the_serving_simulation_is_deterministic_and_lengths_stay_in_range():
    a = make_runner(LEVEL, {"max_len": 512}, seed=4)
    b = make_runner(LEVEL, {"max_len": 512}, seed=4)
    a.step(300)
    b.step(300)
    assert np.array_equal(a.array("lengths"), b.array("lengths"))
    state = a.model.paging
    assert np.all((state.current >= 1) & (state.current <= state.total) & (state.total <= 512))
    assert a.model.decoded == 300 * 32


# ---------------------------------------------------------------------------------------------
# challenges and the manifest


def test_lever_challenges_measure_three_different_winners():
    expected = {"lever_mha": "one KV head (MQA)", "lever_long": "4096-token window", "lever_mqa": "4-bit cache"}
    for challenge, lever in expected.items():
        assert measured_outcome(LEVEL, challenge) == lever
    verdict = run_challenge(LEVEL, "lever_long", "one KV head (MQA)")
    assert not verdict.correct and "4096" in verdict.hint


def test_number_challenges_measure_the_formula_and_the_simulation():
    assert measured_outcome(LEVEL, "gib_70b") == 40.0
    assert run_challenge(LEVEL, "gib_70b", 42.9).correct is False, "GB is not GiB at 5%"
    waste = measured_outcome(LEVEL, "prealloc_waste")
    assert 0.5 < waste < 0.62
    assert run_challenge(LEVEL, "prealloc_waste", round(waste, 2)).correct


def test_manifest_is_valid_and_every_challenge_and_claim_has_its_check():
    manifest = load_manifest(HERE)
    model_class = level(LEVEL).model_class()
    for challenge in manifest.challenges.values():
        assert hasattr(model_class, f"measure_{challenge.measure}") and challenge.title
    claims = level(LEVEL).module("claims")
    for claim in manifest.claims.values():
        assert callable(getattr(claims, f"check_{claim.id}", None))
    assert manifest.pillar == "serving" and manifest.prerequisites == ("associativity_switch",)


def test_witness_runs_and_asserts_the_claims(capsys):
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "40 GiB = 42.9 GB" in out and "empty: preallocated" in out


# ---------------------------------------------------------------------------------------------
# the view


def test_while_a_prediction_is_open_every_result_is_hidden(tmp_path, monkeypatch):
    shown = []
    with headless_app(LEVEL, tmp_path) as app:
        view_module = sys.modules[type(app.host.view).__module__]
        monkeypatch.setattr(view_module, "plot_strip", lambda context, plots: shown.append(len(plots)))
        app.run_frames(3)
        view = app.host.view
        assert shown and {k: v for k, _, v in view.formula_items()}["result"] == "8 GiB (8.59 GB)"
        for challenge in ("lever_mha", "lever_long", "lever_mqa", "gib_70b", "prealloc_waste"):
            open_challenge(app, challenge)
            shown.clear()
            app.run_frames(2)
            assert view.challenge.hide_answers and not shown, "no plots while the learner predicts"
            items = {k: v for k, _, v in view.formula_items()}
            assert items["result"] == "?" and items["batch"] == str(app.host.view.params["batch"])
        open_challenge(app, None)
        app.host.requested_tab = "Play"
        app.run_frames(3)
        assert shown


def test_clicking_a_symbol_doubles_it_and_shift_click_halves_it(tmp_path):
    with headless_app(LEVEL, tmp_path, paused=True) as app:
        app.run_frames(3)
        view = app.host.view
        sx, sy, _, _ = app.layout()["scene"]

        def click(key):
            cell = next(c for c in view.cells if c.key == key)
            x0, y0, x1, y1 = cell.box
            app.inject("mouse_pos", sx + 0.5 * (x0 + x1), sy + 0.5 * (y0 + y1))
            app.inject("mouse_button", 0, True)
            app.inject("mouse_button", 0, False)
            app.run_frames(4)

        click("batch")
        assert app.host.runner.params["batch"] == 16
        click("cache_dtype")
        assert app.host.runner.params["cache_dtype"] == "fp32 (4 bytes)"
        view.click_cell("kv_heads", halve=True)
        assert app.host.runner.params["kv_heads"] == 4
        view.click_cell("batch", halve=False)
        view.load_preset(next(i for i, p in enumerate(PRESETS) if p.name == "Falcon-7B"))
        app.run_frames(2)
        params = app.host.runner.params
        assert (params["layers"], params["q_heads"], params["kv_heads"], params["d_head"]) == (32, 71, 1, 64)
        assert app.host.runner.model.matching_presets() == ["Falcon-7B"]


def test_predicting_for_your_own_build_hides_the_levers_until_measured(tmp_path, monkeypatch):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, paused=True) as app:
        app.run_frames(3)
        view = app.host.view
        shares = lambda: [b[0] for b in boxes if b[5] == "memory" and b[0].endswith("%")]
        boxes.clear()
        app.run_frames(1)
        assert shares(), "the levers' shares are drawn over their bars"
        view.start_guess()
        boxes.clear()
        app.run_frames(2)
        assert not shares() and [b[0] for b in boxes if b[0] == "?"], "hidden while predicting"
        view.measure_guess()
        assert view.guessing, "no measurement before a pick"
        view.guess = LEVERS.index("4-bit cache")
        view.measure_guess()
        picked, measured, _config = view.verdict
        assert not view.guessing and picked == "4-bit cache"
        assert measured == best_lever(app.host.runner.model.config()) == "one KV head (MQA)"  # Llama-3-8B, T = 8192
        boxes.clear()
        app.run_frames(1)
        assert shares()


@pytest.mark.parametrize("size, scale", [((960, 600), 1.0), ((960, 600), 2.0), ((1280, 720), 2.0), ((1280, 720), 1.0)])
def test_no_text_runs_into_another(tmp_path, monkeypatch, size, scale):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, size=size, ui_scale=scale) as app:
        app.run_frames(8)
        boxes.clear()
        app.run_frames(1)
        assert app.host.error is None, app.host.error
        assert len(boxes) >= 16 if scale == 1.0 else len(boxes) >= 12
        assert overlapping_text(boxes) == [] and cut_off_text(boxes) == []
