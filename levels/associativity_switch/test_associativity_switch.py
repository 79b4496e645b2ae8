"""Claims of the associativity switch, as assertions on the simulation."""

import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from sandbox.testing import headless_app, level, make_runner, measured_outcome, open_challenge
from sim import backends

level("associativity_switch").module("kernels")  # imports the level's package as the game does
from cf_level_associativity_switch.kernels import (  # noqa: E402
    AttentionBenchmark,
    attention_matrix_bytes,
    linear_attention_quadratic,
    linear_attention_recurrent,
    linear_attention_weights,
    run_form,
    ssd_mask,
    ssd_masked,
    ssd_recurrent,
    state_bytes,
)

LEVEL = "associativity_switch"
HERE = Path(__file__).parent


def backend_or_skip(backend):
    reason = backends.unavailable_reason(backend)
    if reason:
        pytest.skip(reason)
    return backend


def tokens(n, d, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal((n, d)).astype(dtype) for _ in range(3))


@pytest.mark.parametrize("backend", backends.BACKENDS)
@pytest.mark.parametrize("n", [1, 64, 257])
def test_both_associativities_give_the_same_causal_output(backend, n):
    q, k, v = tokens(n, 8, dtype=np.float32)
    expected = linear_attention_quadratic(*(m.astype(np.float64) for m in (q, k, v)))
    got = linear_attention_recurrent(q, k, v, backend=backend_or_skip(backend))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", backends.BACKENDS)
@pytest.mark.parametrize("n", [1, 100, 256])
def test_masked_ssd_form_equals_the_recurrence(backend, n):
    rng = np.random.default_rng(n)
    a = rng.uniform(0.6, 1.0, n)
    B, C, x = rng.standard_normal((n, 4)), rng.standard_normal((n, 4)), rng.standard_normal((n, 3))
    got = ssd_recurrent(a, B, C, x, backend=backend_or_skip(backend))
    np.testing.assert_allclose(got, ssd_masked(a, B, C, x), rtol=1e-4, atol=1e-4)


def test_ssd_mask_is_the_product_of_decays_and_unit_decay_is_linear_attention():
    a = np.array([0.9, 0.5, 0.8, 0.7])
    L = ssd_mask(a)
    assert L[3, 0] == pytest.approx(0.5 * 0.8 * 0.7) and L[2, 1] == pytest.approx(0.8)
    assert np.all(np.diag(L) == 1.0) and np.all(np.triu(L, 1) == 0.0)
    np.testing.assert_array_equal(ssd_mask(np.ones(5)), np.tri(5))


def test_model_shows_equal_forms_in_every_mode_and_decay():
    run = make_runner(LEVEL, {"seq_len": 96, "d": 6, "decay": 0.7, "decay_jitter": 1.2})
    run.step(200)
    assert run.series("form_difference").max() < 1e-10
    assert run.series("ssd_difference").max() < 1e-10
    model = run.model
    # Without jitter the mask is Toeplitz: L_ij = a^(i-j).
    run.set_param("decay_jitter", 0.0)
    assert model.mask[10, 4] == pytest.approx(0.7 ** 6)
    np.testing.assert_allclose(model.y_ssd_masked, model.y_ssd_recurrent, atol=1e-10)


def test_attention_matrix_grows_as_n_squared_while_the_state_stays_fixed():
    run = make_runner(LEVEL, {"seq_len": 200, "d": 8})
    run.step(150)
    t = run.series("token")
    np.testing.assert_array_equal(run.series("attention_bytes"), 4 * t ** 2)
    np.testing.assert_array_equal(run.series("attention_entries"), t * (t + 1) / 2)
    assert np.all(run.series("state_bytes") == (8 * 8 + 8) * 4)


def test_memory_formulas_match_the_arrays_the_forms_allocate():
    q, k, _ = tokens(100, 8, dtype=np.float32)
    assert linear_attention_weights(q, k).nbytes == attention_matrix_bytes(100, itemsize=4)
    model = make_runner(LEVEL, {"seq_len": 50, "d": 8}).model
    held = model.states[20].nbytes + model.normalisers[20].nbytes
    assert held == state_bytes(8, itemsize=model.states.itemsize)


def test_tiled_quadratic_form_keeps_memory_linear_in_n():
    measured = level(LEVEL).module("claims").check_tiled_form_holds_linear_memory(bench_d=16)  # the level's claim
    assert measured["growth for 4× N"] < 6  # O(N) plus a fixed tile, not O(N^2) = 16x


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_benchmark_forms_compute_the_same_attention(backend):
    q, k, v = tokens(1500, 16, dtype=np.float32)
    expected = linear_attention_quadratic(*(m.astype(np.float64) for m in (q, k, v)))
    for form in ("quadratic", "linear"):
        np.testing.assert_allclose(run_form(form, q, k, v, backend_or_skip(backend)), expected,
                                   rtol=1e-4, atol=1e-5)


def test_benchmark_stops_a_form_over_budget_and_says_why():
    bench = AttentionBenchmark(d=16, n_min=128, n_max=2048, size_budget_s=1e-9).run()
    assert set(bench.seconds["quadratic"]) == {128}
    assert bench.stopped["quadratic"].startswith("stopped before N = 256")
    assert bench.status("quadratic") == bench.stopped["quadratic"]
    assert bench.differences[128] < 1e-5


def test_benchmark_fits_slopes_and_interpolates_the_crossover():
    bench = AttentionBenchmark(d=16, n_min=1000, n_max=8000)
    sizes = [1000, 2000, 4000, 8000]
    bench.seconds["quadratic"] = {n: 1e-9 * n ** 2 for n in sizes}
    bench.seconds["linear"] = {n: 4e-6 * n for n in sizes}
    assert bench.slope("quadratic") == pytest.approx(2.0)
    assert bench.slope("linear") == pytest.approx(1.0)
    assert bench.crossover() == pytest.approx(4000.0)  # 1e-9 N^2 = 4e-6 N
    assert bench.largest_n_within("linear", 0.016) == pytest.approx(4000.0)


class FakeTimer:
    """The benchmark's clock, with stand-ins for both forms: time moves only when a form works,
    ``quadratic_s`` * N^2 seconds for the quadratic form and ``linear_s`` * N for the linear one,
    spread over a few slices as the real forms are.

    The benchmark reads ``time.perf_counter`` and its module's ``FORMS`` (it has no clock to pass
    in), so both are replaced in the module whose ``AttentionBenchmark`` the level's model runs."""

    def __init__(self, monkeypatch, quadratic_s, linear_s, slices=3):
        self.now = 0.0
        self.timed = {"quadratic": [], "linear": []}
        model_module = sys.modules[level(LEVEL).model_class().__module__]
        bench_module = sys.modules[model_module.AttentionBenchmark.__module__]
        monkeypatch.setattr(bench_module, "time", self)
        costs = {"quadratic": lambda n: quadratic_s * n * n, "linear": lambda n: linear_s * n}
        for form, seconds in costs.items():
            monkeypatch.setitem(bench_module.FORMS, form, self._form(form, seconds, slices))

    def perf_counter(self):
        return self.now

    def _form(self, name, seconds, slices):
        def work(q, k, v, out, backend):
            self.timed[name].append(len(q))
            out[:] = 0.0  # both forms agree
            for _ in range(slices):
                self.now += seconds(len(q)) / slices
                yield

        return work


@pytest.mark.parametrize("quadratic_s, linear_s, crossover", [
    (1e-9, 3e-6, 3000.0),  # a N^2 = b N at N = b / a, between the timed sizes 2048 and 4096
    (2e-9, 1e-6, 500.0),  # between 256 and 512
    (1e-10, 1e-5, 1e5),  # b / a = 1e5: faster at every size up to bench_n_max: where the fitted laws meet
    (1e-6, 1e-5, 10.0),  # b / a = 10: slower at every size of the plan: smaller sizes are timed down to it
])
def test_crossover_challenge_measures_where_the_timed_costs_cross(monkeypatch, quadratic_s, linear_s, crossover):
    timer = FakeTimer(monkeypatch, quadratic_s, linear_s)
    assert measured_outcome(LEVEL, "crossover") == pytest.approx(math.log10(crossover), abs=1e-9)
    assert 128 in timer.timed["quadratic"] and 128 in timer.timed["linear"]


def test_benchmark_in_the_level_fits_the_slopes_of_the_timed_costs(monkeypatch):
    FakeTimer(monkeypatch, 1e-9, 3e-6)
    run = make_runner(LEVEL, {"benchmark": True, "bench_d": 16, "bench_n_max": 16384})
    for _ in range(100):
        if run.model.bench.done:
            break
        run.step(20)
    bench = run.model.bench
    assert bench.done and bench.stopped == {"quadratic": None, "linear": None}
    sizes = [128 * 2 ** i for i in range(8)]  # 128 ... 16384
    assert sorted(bench.seconds["quadratic"]) == sorted(bench.seconds["linear"]) == sizes
    for n in sizes:  # each time is the sum of the form's slices, nothing else
        assert bench.seconds["quadratic"][n] == pytest.approx(1e-9 * n * n, rel=1e-9)
        assert bench.seconds["linear"][n] == pytest.approx(3e-6 * n, rel=1e-9)
    observed = run.model.observables()
    assert observed["bench_slope_quadratic"] == pytest.approx(2.0, abs=1e-6)
    assert observed["bench_slope_linear"] == pytest.approx(1.0, abs=1e-6)
    assert observed["bench_crossover_log10"] == pytest.approx(math.log10(3000.0), abs=1e-9)
    assert observed["bench_n_quadratic"] == observed["bench_n_linear"] == 16384.0
    assert bench.largest_n_within("quadratic", 1e-9 * 1000 ** 2) == pytest.approx(1000.0)


def test_memory_challenges_measure_40_gb_for_the_matrix_and_16_kb_for_the_state():
    assert measured_outcome(LEVEL, "memory_matrix") == pytest.approx(40.0)  # 1e10 * 4 B
    assert measured_outcome(LEVEL, "memory_state") == pytest.approx(16.64)  # (64^2 + 64) * 4 B


def test_extreme_settings_stay_finite():
    run = make_runner(LEVEL, {"seq_len": 256, "d": 32, "decay": 0.5, "decay_jitter": 1.5, "tokens_per_step": 16})
    run.step(40)
    assert run.error is None and not run.diverged


def test_witness_runs():
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")


# -- the level's derived data and the benchmark's share of a step ----------------------------------


def test_pictures_are_scaled_for_their_colour_maps_causal_and_memoised():
    run = make_runner(LEVEL, {"seq_len": 40, "d": 5, "decay": 0.8})
    model = run.model
    pictures = model.pictures()
    assert model.pictures() is pictures  # computed once, not every frame
    for name in ("weights", "scores", "mask"):  # NaN above the diagonal: cells a causal product never computes
        upper = np.triu(np.ones((40, 40), bool), 1)
        assert np.all(np.isnan(pictures[name][upper])) and np.all(np.isfinite(pictures[name][~upper]))
    np.testing.assert_allclose(np.nanmax(pictures["weights"], axis=1), 1.0)  # each row scaled to its largest
    np.testing.assert_allclose(np.nanmax(pictures["scores"], axis=1), 1.0)
    for name in ("v", "y_quadratic", "y_recurrent", "y_ssd"):  # signed, scaled by the largest magnitude
        assert np.max(np.abs(pictures[name])) == pytest.approx(1.0)
    for name in ("states", "ssd_states"):  # one picture per token, each scaled on its own
        np.testing.assert_allclose(np.abs(pictures[name]).max(axis=(1, 2)), 1.0)
    np.testing.assert_allclose(pictures["normalisers"].max(axis=1), 1.0)
    assert pictures["fkT"].shape == (5, 40) and pictures["fq"].max() == pytest.approx(1.0)
    run.set_param("decay", 0.6)  # a live change: the SSD pictures follow
    assert model.pictures() is not pictures
    np.testing.assert_allclose(model.pictures()["mask"][10, 4], 0.6 ** 6, rtol=1e-6)  # float32, as uploaded


def test_memory_curve_and_multiply_adds_count_the_matrix_and_the_state():
    run = make_runner(LEVEL, {"seq_len": 200, "d": 8})
    ts, matrix, state = run.model.memory_curve()
    assert ts[0] == 1 and ts[-1] == 200 and np.all(np.diff(ts) > 0)
    np.testing.assert_array_equal(matrix, 4 * ts ** 2)
    assert np.all(state == 4 * (8 * 8 + 8))
    assert run.model.multiply_adds(10) == (2 * 10 * 8, 200 * 201 * 8)  # t keys read; all N(N+1)/2 weights
    run.set_param("mode", "rnn")
    assert run.model.multiply_adds(10) == run.model.multiply_adds(150) == (2 * 64 + 16, 2 * 200 * 72)


def test_a_step_gives_the_benchmark_a_count_of_slices_on_a_fixed_clock_and_wall_time_on_a_real_one():
    from sandbox.clock import RealClock, use

    class Counting:
        done = False

        def __init__(self):
            self.slices, self.budgets = 0, []

        def advance(self, budget):
            self.budgets.append(budget)
            while True:
                self.slices += 1
                if budget.spend():
                    return True

    model = make_runner(LEVEL, {"benchmark": True, "bench_ms_per_step": 10.0}).model
    model.bench = bench = Counting()
    for _ in range(3):  # outside any frame the clock is fixed: 10 ms of slices of about 2 ms each
        model.step()
    assert bench.slices == 15
    model.set_param("bench_ms_per_step", 1.0)
    model.bench = bench = Counting()
    model.step(), model.step()
    assert bench.slices == 2  # at least one slice a step
    with use(RealClock()):
        model.bench = bench = Counting()
        bench.advance = lambda budget: bench.budgets.append(budget)
        model.step()
    assert bench.budgets[-1].units is None and bench.budgets[-1].seconds == pytest.approx(0.001)


def test_benchmark_advances_by_a_budget_of_slices_and_says_when_it_is_done():
    from sandbox.clock import Budget

    bench = AttentionBenchmark(d=16, n_min=128, n_max=256)
    bench._work = slices = iter(range(7))  # seven slices of work
    assert bench.advance(Budget(10.0, units=3)) and next(slices) == 3
    assert not bench.advance(Budget(10.0, units=10)) and bench.done


def test_the_same_steps_reach_the_same_benchmark_sizes_in_every_run():
    def sizes_after(steps):
        run = make_runner(LEVEL, {"benchmark": True, "bench_d": 16, "bench_n_max": 2048, "size_budget_s": 30.0})
        run.step(steps)
        bench = run.model.bench
        return bench.current, {form: sorted(seconds) for form, seconds in bench.seconds.items()}

    assert sizes_after(12) == sizes_after(12)


# -- the layout and the view ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["transformer", "rnn", "ssd"])
@pytest.mark.parametrize("n, d", [(8, 32), (64, 8), (256, 2), (16, 16)])
def test_layout_keeps_every_matrix_to_scale_inside_its_bounds_and_apart(mode, n, d):
    lay = level(LEVEL).module("layout").layout(mode, n, d)
    boxes, (x0, x1, y0, y1) = lay["boxes"], lay["bounds"]
    q, k = boxes["q"], boxes["k"]
    assert (q.x1 - q.x0, q.y1 - q.y0) == (d, n) and (k.x1 - k.x0, k.y1 - k.y0) == (n, d)
    for box in boxes.values():
        assert x0 - 1e-9 <= box.x0 and box.x1 <= x1 + 1e-9 and y0 <= box.y0 and box.y1 <= y1
    apart = [box for name, box in boxes.items() if name not in ("ghost", "state", "normaliser", "zoom")
             or mode == "ssd"]  # RNN mode draws the state inside the outline of the N×N matrix
    for i, a in enumerate(apart):
        for b in apart[i + 1:]:
            assert a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0, (a, b)
    x_open, x_close, _, _ = lay["parens"]
    inside = {"transformer": "qk", "rnn": "kv", "ssd": "qk"}[mode]  # what the parentheses group
    assert all(x_open < boxes[name].x0 and boxes[name].x1 < x_close for name in inside)
    outside = ({"q", "k", "v"} - set(inside)).pop()
    assert boxes[outside].x1 < x_open or boxes[outside].x0 > x_close
    for name, kind in lay["cursor"]:
        marked = boxes[name].marked(kind, n)  # the last token's row or column lies in its box
        assert boxes[name].x0 <= marked.x0 and marked.x1 <= boxes[name].x1 and boxes[name].y0 <= marked.y0
    assert lay["caption"] in boxes and all(len(label) == 5 and label[1] for label in lay["labels"])
    if mode == "rnn":  # the dashed outline of the N×N matrix: dashes on all four sides, none past a corner
        ghost = boxes["ghost"]
        dashes = ghost.dashed(max(1.0, 0.02 * n)).reshape(-1, 2, 2)
        xs, ys = dashes[..., 0], dashes[..., 1]
        assert len(dashes) >= 4 and np.all((ghost.x0 - 1e-9 <= xs) & (xs <= ghost.x1 + 1e-9))
        assert np.all((ghost.y0 - 1e-9 <= ys) & (ys <= ghost.y1 + 1e-9))


def test_the_view_hides_the_crossover_while_a_prediction_is_open(tmp_path, monkeypatch):
    def cross_at_4000(bench):  # a N^2 = b N at N = b / a
        sizes = [1000, 2000, 4000, 8000]
        bench.seconds = {"quadratic": {n: 1e-9 * n ** 2 for n in sizes}, "linear": {n: 4e-6 * n for n in sizes}}

    with headless_app(LEVEL, tmp_path, paused=True) as app:
        host = app.host
        view_module = sys.modules[type(host.view).__module__]
        marks, texts = [], []
        monkeypatch.setattr(view_module, "vlines", lambda xs, labels=(), *a, **k: marks.extend(labels))
        text_colored = view_module.imgui.text_colored
        monkeypatch.setattr(view_module.imgui, "text_colored",
                            lambda color, text, *a: (texts.append(text), text_colored(color, text, *a))[1])
        host.runner.set_param("benchmark", True)
        cross_at_4000(host.runner.model.bench)
        app.run_frames(2)
        assert "N≈4000" in marks and any("slower beyond N ≈ 4000" in text for text in texts)
        open_challenge(app, "crossover")
        marks.clear()
        app.run_frames(1)
        assert host.view.challenge.choosing and marks == []  # the sandbox's crossover is not shown
        assert "bench_crossover_log10" in host.view.challenge.hidden()  # nor its readout in the table
        host.challenges.region = (2.0, 3.0)  # the learner's prediction: nothing is filled in for them
        host.challenges.lock(host.manifest.challenges["crossover"])
        cross_at_4000(host.challenges.attempt.runner.model.bench)
        host.requested_tab = "Play"
        app.run_frames(2)
        marks.clear(), texts.clear()
        app.run_frames(1)
        assert host.view.challenge.running and host.view.model is host.challenges.attempt.runner.model
        assert marks == [] and not any("slower beyond" in text for text in texts)
        assert any("shows once your prediction is checked" in text for text in texts)
        host.reset_active()  # the memory challenges give nothing of the crossover away
        open_challenge(app, "memory_matrix")
        cross_at_4000(host.runner.model.bench)
        marks.clear()
        app.run_frames(1)
        assert host.view.challenge.choosing and "N≈4000" in marks


def test_clicking_v_or_phi_q_in_the_chain_moves_the_parentheses(tmp_path):
    with headless_app(LEVEL, tmp_path) as app:
        host = app.host
        app.run_frames(3)

        def click(name):
            sx, sy, sw, sh = app.layout()["scene"]
            x, y = host.view.cam.world_to_screen(np.mean(np.reshape(host.view.layout()["boxes"][name], (2, 2)), 1),
                                                 (sw, sh))
            for event in (("mouse_pos", sx + x, sy + y), ("mouse_button", 0, True), ("mouse_button", 0, False)):
                app.inject(*event)
            app.run_frames(6)

        click("v")
        assert host.runner.params["mode"] == "rnn"
        click("q")
        assert host.runner.params["mode"] == "transformer"
