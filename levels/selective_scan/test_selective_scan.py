"""Claims of the selective scan level, as assertions on the simulation."""

import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from sandbox.testing import headless_app, make_runner, measured_outcome, open_challenge
from sim import backends
from sim.scan import (
    BLOCK,
    GlslAffineScan,
    affine_scan,
    affine_scan_reference,
    scan_tree_levels,
    tree_rounds,
)

LEVEL = "selective_scan"
HERE = Path(__file__).parent
LENGTHS = [1, 7, 1000, 1024, 4097, 65536, 100000]


def backend_or_skip(backend):
    reason = backends.unavailable_reason(backend)
    if reason:
        pytest.skip(reason)
    return backend


@pytest.fixture(scope="module")
def sequences():
    rng = np.random.default_rng(42)
    out = {}
    for n in LENGTHS:
        a = rng.uniform(0.5, 1.0, (n, 2)).astype(np.float32)
        b = rng.uniform(-1.0, 1.0, (n, 2)).astype(np.float32)
        out[n] = (a, b, affine_scan_reference(a, b))
    return out


@pytest.mark.parametrize("backend", backends.BACKENDS)
@pytest.mark.parametrize("n", LENGTHS)
def test_parallel_scan_equals_the_sequential_loop_on_every_backend(backend, n, sequences):
    a, b, expected = sequences[n]
    got = affine_scan(a, b, backend=backend_or_skip(backend))
    # float32 relative accuracy, with an absolute floor where h passes near zero
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4 * np.abs(expected).max())


@pytest.mark.parametrize("backend", backends.BACKENDS)
def test_scan_starts_from_a_given_state_and_shares_decays_across_channels(backend):
    rng = np.random.default_rng(1)
    a, b, h0 = rng.uniform(0.5, 1, 300), rng.uniform(-1, 1, (300, 4)), rng.uniform(-1, 1, 4)
    expected = affine_scan_reference(np.repeat(a[:, None], 4, axis=1), b, h0)
    got = affine_scan(a, b, h0, backend=backend_or_skip(backend))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_glsl_scan_is_a_hierarchy_of_work_groups_not_one_loop():
    backend_or_skip("glsl")
    scan = GlslAffineScan(backends.gl_context(), 100_000, 1)
    try:
        lengths = [n for n, _, _ in scan.levels]
        assert lengths == [100_000, math.ceil(100_000 / BLOCK)]  # blocks, then the block totals
    finally:
        scan.release()


@pytest.mark.parametrize("kind", ["work_efficient", "step_efficient"])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 16, 100, 1000])
def test_scan_tree_reaches_the_sequential_result(kind, n):
    rng = np.random.default_rng(n)
    a, b = rng.uniform(0.5, 1, n), rng.uniform(-1, 1, n)
    levels = scan_tree_levels(a, b, kind)
    final_b = levels[-1].b if levels else b
    np.testing.assert_allclose(final_b, affine_scan_reference(a, b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [2, 16, 1024, 4096])
def test_tree_depths_are_logarithmic_and_work_efficient_tree_does_linear_work(n):
    log_n = int(math.log2(n))
    efficient = tree_rounds(n, "work_efficient")
    assert len(efficient) == 2 * log_n - 1
    assert sum(len(t) for *_, t in efficient) < 2 * n
    doubling = tree_rounds(n, "step_efficient")
    assert len(doubling) == log_n
    assert sum(len(t) for *_, t in doubling) == n * log_n - (n - 1)


def test_work_efficient_rounds_never_read_what_they_write():
    for n in (7, 64, 1000):
        for _, _, sources, targets in tree_rounds(n, "work_efficient"):
            assert not set(sources) & set(targets)  # so one round can run in parallel in place


def claims_module():
    from sandbox.testing import level

    return level(LEVEL).module("claims")


def test_selective_gates_copy_every_marked_token_and_an_lti_model_cannot():
    measured = claims_module().check_selective_copies_and_lti_cannot(registers=3, seed=0)  # the defaults
    assert measured["selective: copied"] == "100%"


def test_large_delta_takes_the_input_and_small_delta_keeps_the_state():
    params = {"registers": 1, "stream_len": 64, "burst": 30, "delta_mark": 2.0, "delta_noise": 0.01}
    run = make_runner(LEVEL, params)
    run.step(63)
    weights = run.series("marked_weight")
    marked = 64 - 30 - 1  # index of the marked token; record i is the state after token i
    assert weights[marked - 1] == 0.0
    assert weights[marked] == pytest.approx(1 - math.exp(-2.0))  # taken in: share 1 - e^-Δ
    assert weights[-1] == pytest.approx((1 - math.exp(-2.0)) * math.exp(-0.01 * 30))  # kept: e^-Δ·burst


@pytest.mark.parametrize("delta_noise", [0.003, 0.1, 3.0])
def test_what_the_state_holds_after_a_burst_depends_on_delta_times_burst(delta_noise):
    claims = claims_module()
    measured = claims.check_what_survives_a_burst(delta_noise=delta_noise, burst=30)
    assert measured["register holds"] == claims.OUTCOMES[delta_noise]


def test_challenge_outcomes_are_what_the_algebra_says():
    assert measured_outcome(LEVEL, "after_burst") == "a blur of the burst"  # e^-3 < 0.5, 1 - e^-0.1 < 0.5
    assert measured_outcome(LEVEL, "parallel_steps") == 2 * 10 - 1  # up 10 rounds, down 9


@pytest.mark.parametrize("backend", ["numba", "glsl"])
def test_the_game_plays_the_same_on_every_backend(backend):
    reference = make_runner(LEVEL, {"tree_n": 100}).model
    other = make_runner(LEVEL, {"tree_n": 100}, backend=backend_or_skip(backend)).model
    np.testing.assert_allclose(other.selective_states, reference.selective_states, atol=1e-5)
    np.testing.assert_array_equal(other.decoded_selective[-1], reference.decoded_selective[-1])
    assert make_runner(LEVEL, {"tree_n": 100}, backend=backend).latest()["scan_error"] < 1e-5


def test_tree_animation_cycles_through_every_round():
    run = make_runner(LEVEL, {"tree_n": 8, "tree_steps_per_level": 1})
    run.step(12)
    assert set(run.series("tree_level")) == set(range(6))  # inputs + 5 rounds
    assert run.latest()["tree_depth"] == 5 and run.latest()["scan_error"] < 1e-12


def test_extreme_settings_stay_finite():
    run = make_runner(LEVEL, {"stream_len": 16, "registers": 6, "burst": 128, "vocab": 2, "delta_mark": 10.0,
                              "delta_noise": 0.0001, "lti_delta": 10.0, "tree_n": 4096, "tokens_per_step": 8})
    run.step(20)
    assert run.error is None and not run.diverged


def test_witness_runs():
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")


def model_module():
    from sandbox.testing import level

    return level(LEVEL).module("model")


def test_each_streams_score_is_read_back_from_the_recorded_run():
    run = make_runner(LEVEL, {"stream_len": 16, "registers": 3, "burst": 4})
    scores = [run.model.score]
    for _ in range(3):
        run.step(16)
        scores.append(run.model.score)
    streams, selective, lti = model_module().stream_scores(run)
    assert list(streams) == [1, 2, 3, 4]
    np.testing.assert_array_equal(np.stack([selective, lti], 1), np.array(scores))
    means = np.mean(scores, axis=0)
    assert run.latest()["mean_selective_accuracy"] == pytest.approx(means[0])
    assert run.latest()["mean_lti_accuracy"] == pytest.approx(means[1])
    run.set_param("lti_delta", 10.0)  # changes this stream's score, not the ones already played
    assert model_module().stream_scores(run)[2][:3].tolist() == [s[1] for s in scores[:3]]


def test_the_shares_and_gates_drawn_are_the_models():
    run = make_runner(LEVEL, {"registers": 2, "delta_mark": 2.0, "delta_noise": 0.01, "lti_delta": 0.1})
    run.step(40)
    model = run.model
    t = model.position - 1
    selective, lti = model.shares(1)
    np.testing.assert_allclose(selective, model.weights_in_register(1, t))
    # The LTI state is linear in the one-hot inputs: its channel for each value is the sum of the shares of the
    # tokens with that value.
    held = np.array([lti[model.values[: t + 1] == v].sum() for v in range(model.params["vocab"])])
    np.testing.assert_allclose(held, model.lti_states[t, 1], atol=1e-12)
    deltas = model.token_deltas
    assert np.all(deltas[model.marks >= 0] == 2.0) and np.all(deltas[model.marks < 0] == 0.01)
    assert model.taken(2.0) == pytest.approx(1 - math.exp(-2.0))
    assert model.kept_after_burst == pytest.approx(math.exp(-model.params["burst"] * 0.01))
    latest = run.latest()  # the table shows what a token takes and keeps
    assert latest["marked_take"] == model.taken(2.0) and latest["kept_after_burst"] == model.kept_after_burst
    assert latest["marked_weight"] == pytest.approx(model.marked_share(0))
    assert model.marked_share(1) is None  # register 2's token is the stream's last marked one: not here yet
    np.testing.assert_allclose(model.tree_after(len(model.tree_levels)), model.tree_sequential, atol=1e-9)
    assert model.tree_after(0) is model.tree_b and model.loop_steps == min(model.tree_level, len(model.tree_b) - 1)
    sizes, depths = model.depth_table(4096)
    assert model.depth_table(4096) is model.depth_table(4096)  # memoised: drawn every frame
    assert sizes[-1] == 4096 and depths["work_efficient"][-1] == len(tree_rounds(4096, "work_efficient"))
    assert depths["step_efficient"][list(sizes).index(1024)] == 10
    run.step(40)
    token = int(np.flatnonzero(model.marks == 1)[0])
    assert model.position - 1 > token and model.marked_share(1) == pytest.approx(model.shares(1)[0][token])


def test_while_a_prediction_is_open_the_view_hides_the_verdicts(tmp_path, monkeypatch):
    from sandbox.view import Frame

    labels, plots = [], []
    label = Frame.label
    monkeypatch.setattr(Frame, "label", lambda self, draw_list, point, text, *a, **k: (
        labels.append(text), label(self, draw_list, point, text, *a, **k)))
    with headless_app(LEVEL, tmp_path, size=(1280, 720)) as app:
        view_module = sys.modules[type(app.host.view).__module__]
        strip = view_module.plot_strip
        monkeypatch.setattr(view_module, "plot_strip", lambda context, items: (
            plots.append([p.title for p in items if p.when is None or p.when()]), strip(context, items)))
        app.run_frames(45)  # every register's token has arrived; the tree is in its fourth round
        assert "✓" in labels and any(" of 7:" in text for text in labels)
        assert plots[-1][0] == "copied per stream" and plots[-1][2].startswith("rounds vs N")
        open_challenge(app, "after_burst")
        labels.clear()
        app.run_frames(1)
        assert app.host.view.challenge.hide_answers
        assert "✓" not in labels and "✗" not in labels
        assert not any(" of 7" in text for text in labels), labels
        assert len(plots[-1]) == 1 and plots[-1][0].startswith("h_t after round")  # no scores, no rounds vs N
        open_challenge(app, "parallel_steps")  # the rounds asked for: the tree shows none of them
        labels.clear()
        app.run_frames(1)
        assert any("rounds are hidden while you predict" in text for text in labels), labels
        assert not any(text.startswith(("round ", "sequential loop")) for text in labels)
        assert plots[-1] == ["h_t: the loop###tree"]
        assert app.host.view.challenge.hidden() == {"tree_depth", "tree_work", "tree_level"}


def test_dragging_a_gate_bar_sets_the_step_of_its_kind_of_token(tmp_path):
    with headless_app(LEVEL, tmp_path) as app:
        app.run_frames(2)
        view, model = app.host.view, app.host.runner.model
        vmod = sys.modules[type(view).__module__]
        sx, sy, sw, sh = app.layout()["scene"]
        viewport = (int(sw), int(sh))
        marked, noise = (int(np.flatnonzero(kind)[0]) for kind in (model.marks != -1, model.marks == -1))
        gates = view.lay.gates
        for token, now, wanted, name in ((marked, 4.0, 0.5, "delta_mark"), (noise, 0.003, 0.01, "delta_noise")):
            x = vmod.token_x(len(model.values))[token]
            grab = view.cam.world_to_screen((x, float(vmod.gate_height(now, gates)) - 0.5), viewport)
            drop = view.cam.world_to_screen((x, float(vmod.gate_height(wanted, gates))), viewport)
            app.inject("mouse_pos", sx + grab[0], sy + grab[1])
            app.inject("mouse_button", 0, True)
            app.inject("mouse_pos", sx + drop[0], sy + drop[1])
            app.inject("mouse_pos", sx + drop[0], sy + drop[1] + 0.01)
            app.inject("mouse_button", 0, False)
            app.run_frames(8)
            assert app.host.runner.params[name] == pytest.approx(wanted, rel=0.35)  # a pixel is a tenth of a decade
