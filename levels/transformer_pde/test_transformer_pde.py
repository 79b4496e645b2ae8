"""The Token Flow: what the level shows, as assertions on its simulation and its view.

The claims of level.toml are checked over their ranges by claims.py (the engine's tests run every
claim); these tests check the pieces those claims stand on (LayerNorm, the kernel on every
backend, the cluster count), the model's moves and edges, the challenges' measurements, and that
the view hides the answers while the learner predicts.
"""

import math
import runpy
from pathlib import Path

import numpy as np
import pytest

from sandbox.testing import (
    cut_off_text,
    finished_challenge,
    headless_app,
    level,
    make_runner,
    open_challenge,
    overlapping_text,
    record_scene_text,
)
from sim import backends

level("transformer_pde").module("flow")  # imports the level's package as the game does
from cf_level_transformer_pde import flow
from cf_level_transformer_pde.kernels import attention, attention_reference

LEVEL = "transformer_pde"
HERE = Path(__file__).parent


def _uniform(n, d, seed=0):
    return flow.random_sphere(n, d, np.random.default_rng(seed))


# -- LayerNorm is the projection -------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 3, 7])
def test_layer_norm_lands_on_a_sphere_in_the_hyperplane_and_is_x_over_norm_there(d):
    rng = np.random.default_rng(d)
    x = rng.normal(size=(300, d)) * 4
    y = flow.embed(x, rng.normal(size=300) * 10)  # any multiple of (1, ..., 1) added
    ln = flow.layer_norm(y)
    np.testing.assert_allclose(ln.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(ln, axis=1), math.sqrt(d + 1), rtol=1e-12)
    np.testing.assert_allclose(flow.unembed(ln), flow.project(x), atol=1e-12)
    basis = flow.hyperplane_basis(d)
    np.testing.assert_allclose(basis.T @ basis, np.eye(d), atol=1e-12)
    np.testing.assert_allclose(basis.sum(axis=0), 0.0, atol=1e-12)


def test_layer_norm_is_the_nearest_point_of_its_sphere():
    rng = np.random.default_rng(5)
    y = rng.normal(size=(20, 4)) * 3
    ln = flow.layer_norm(y)
    others = math.sqrt(4) * flow.embed(_uniform(50000, 3, 9))
    for row, out in zip(y, ln):
        assert np.linalg.norm(out - row) <= np.linalg.norm(others - row, axis=1).min() + 1e-12
    # and a check that can fail: the radial projection in R^4 is not LayerNorm (it keeps the mean)
    assert not np.allclose(flow.project(y) * 2, ln)


# -- the kernel ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["numpy", "numba", "glsl"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_attention_kernel_agrees_with_its_oracle(backend, seed):
    if backends.unavailable_reason(backend):
        pytest.skip(backends.unavailable_reason(backend))
    assert attention.check(backend, seed) is None


@pytest.mark.parametrize("backend", ["numba", "glsl"])
def test_the_kernel_keeps_large_scores_finite_and_handles_odd_sizes(backend):
    if backends.unavailable_reason(backend):
        pytest.skip(backends.unavailable_reason(backend))
    for n in (1, 2, 127, 129, 700):
        x = _uniform(n, 3, n)
        got = attention(64.0 * 3 * x, x, x, backend=backend)  # scores up to 192: e^192 overflows float32
        want = attention_reference(64.0 * 3 * x, x, x)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5)


def test_at_beta_zero_attention_is_the_mean_and_the_integral_does_not_depend_on_the_count():
    x = _uniform(500, 3)
    np.testing.assert_allclose(attention_reference(0 * x, x, x), np.broadcast_to(x.mean(axis=0), x.shape), atol=1e-12)
    # the empirical measure: every token doubled gives the same integral
    np.testing.assert_allclose(attention_reference(4 * x, np.vstack([x, x]), np.vstack([x, x])),
                               attention_reference(4 * x, x, x), atol=1e-12)


# -- the cluster count ----------------------------------------------------------------------------------

@pytest.mark.parametrize("k, d", [(1, 2), (3, 2), (5, 2), (2, 3), (6, 3)])
def test_tight_groups_far_apart_are_counted_one_by_one(k, d):
    rng = np.random.default_rng(k)
    centres = _uniform(400, d, k)[:k] if d == 3 else None
    if d == 2:
        a = 2 * math.pi * np.arange(k) / k + 0.3
        centres = np.stack([np.cos(a), np.sin(a)], 1)
    if d == 3:  # far apart: farthest-point picks
        pool = _uniform(2000, 3, k)
        centres = [pool[0]]
        for _ in range(k - 1):
            centres.append(pool[np.argmin(np.max(pool @ np.array(centres).T, axis=1))])
        centres = np.array(centres)
    x = flow.project(np.repeat(centres, 20, axis=0) + 0.01 * rng.normal(size=(20 * k, d)))
    count, largest = flow.count_clusters(x)
    assert count == k and largest == pytest.approx(1 / k)


def test_evenly_spread_tokens_are_not_one_cluster_and_strays_are_not_clusters():
    a = 2 * math.pi * np.arange(64) / 64  # 0.098 rad apart: a chain of neighbours, not a cluster
    count, largest = flow.count_clusters(np.stack([np.cos(a), np.sin(a)], 1))
    assert count > 10 and largest < 0.1
    blob = flow.project(np.array([1.0, 0.0]) + 0.01 * np.random.default_rng(0).normal(size=(60, 2)))
    stray = np.array([[-1.0, 0.0], [0.0, 1.0]])
    assert flow.count_clusters(np.vstack([blob, stray])) == (1, pytest.approx(60 / 62))


# -- the model ----------------------------------------------------------------------------------------

def test_a_run_is_deterministic_and_stays_on_the_sphere():
    a, b = (make_runner(LEVEL, {"tokens": 200}, seed=4) for _ in range(2))
    a.step(30)
    b.step(30)
    np.testing.assert_array_equal(a.model.x, b.model.x)
    np.testing.assert_allclose(np.linalg.norm(a.model.x, axis=1), 1.0, atol=1e-12)
    assert a.series("time")[-1] == pytest.approx(3.0)


@pytest.mark.parametrize("backend", ["numba", "glsl"])
def test_every_backend_moves_the_tokens_as_numpy_does(backend):
    if backends.unavailable_reason(backend):
        pytest.skip(backends.unavailable_reason(backend))
    params = {"tokens": 300, "beta": 16.0, "offset": 0.4}
    ref, run = make_runner(LEVEL, params, seed=2), make_runner(LEVEL, params, seed=2, backend=backend)
    ref.step(10)
    run.step(10)
    np.testing.assert_allclose(run.model.x, ref.model.x, atol=2e-4)


@pytest.mark.parametrize("space", ["circle", "sphere"])
def test_small_beta_ends_in_one_cluster_and_large_beta_keeps_several(space):
    small = make_runner(LEVEL, {"space": space, "tokens": 64, "beta": 1.0}, seed=1)
    small.step(400)
    assert small.series("clusters")[-1] == 1 and small.series("largest")[-1] == 1.0
    assert small.series("spread")[-1] < 1e-3
    large = make_runner(LEVEL, {"space": space, "tokens": 64, "beta": 32.0}, seed=1)
    large.step(400)
    assert large.series("clusters")[-1] >= 4


def test_projection_off_lets_the_stream_grow_until_it_diverges():
    run = make_runner(LEVEL, {"tokens": 64, "projection": False, "h": 0.5})
    run.step(10)
    assert run.series("radius")[-1] > 10
    run.step(200)
    assert run.diverged


def test_the_mlp_alone_moves_tokens_without_looking_at_the_others():
    run = make_runner(LEVEL, {"tokens": 64, "attention": False, "mlp": True}, seed=3)
    run.step(5)
    alone = make_runner(LEVEL, {"tokens": 64, "attention": False, "mlp": True}, seed=3)
    alone.model.x = alone.model.x[:10].copy()
    alone.step(5)
    np.testing.assert_allclose(alone.model.x, run.model.x[:10], atol=1e-14)
    assert np.abs(run.model.x - run.model.x0).max() > 0.05, "the MLP does move the tokens"


def test_nothing_switched_on_but_the_projection_leaves_the_tokens_where_they_are():
    run = make_runner(LEVEL, {"tokens": 64, "attention": False})
    run.step(20)
    np.testing.assert_allclose(run.model.x, run.model.x0, atol=1e-15)


def test_weights_leave_the_identity_with_the_offset_and_flip_with_repel():
    run = make_runner(LEVEL, {"space": "sphere"})
    q, k, v = run.model.qkv()
    assert np.array_equal(q, np.eye(3)) and np.array_equal(v, np.eye(3))
    run.set_param("offset", 0.5)
    run.set_param("repel", True)
    q, k, v = run.model.qkv()
    assert not np.allclose(q, np.eye(3)) and not np.allclose(q, k)
    assert np.allclose(-v, flow.weights(3, 0.5, False, 0)[2])


def test_the_density_on_the_circle_integrates_to_one_and_spikes_at_clusters():
    run = make_runner(LEVEL, {"space": "circle", "tokens": 4096})
    rho = run.model.density()
    assert np.sum(rho) * 2 * math.pi / len(rho) == pytest.approx(1.0)
    assert rho.max() < 3 / (2 * math.pi), "the uniform start is flat"
    a = np.repeat([0.5, 2.5], 2048) + 1e-3 * np.arange(4096) / 4096
    run.model.x = np.stack([np.cos(a), np.sin(a)], 1)  # two clusters of half the tokens each
    rho = run.model.density()
    assert np.sum(rho) * 2 * math.pi / len(rho) == pytest.approx(1.0)
    assert rho.max() == pytest.approx(0.5 / (2 * math.pi / len(rho)))


# -- the challenges -------------------------------------------------------------------------------------

def test_the_cluster_count_challenge_is_measured_from_the_run():
    attempt = finished_challenge(LEVEL, "cluster_count")
    run = attempt.runner
    assert run.steps == 200 and run.model.params["beta"] == 16.0
    assert attempt.verdict.measured == run.series("clusters")[-1] == flow.count_clusters(run.model.x)[0]
    assert 3 <= attempt.verdict.measured <= 6


def test_doubling_beta_makes_one_cluster_arrive_later():
    attempt = finished_challenge(LEVEL, "double_beta")
    assert attempt.verdict.measured == "later"
    times = attempt.runner.model.one_cluster_times
    assert times["beta"] > 2 * times["half_beta"]


# -- the view ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("space", ["sphere", "circle"])
def test_the_view_hides_the_count_while_choosing_and_labels_do_not_overlap(tmp_path, monkeypatch, space):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, params={"space": space, "tokens": 128, "beta": 16.0}) as app:
        app.run_frames(60)
        boxes.clear()
        app.run_frames(1)
        shown = [b[0] for b in boxes]
        assert any("cluster" in t for t in shown) and any(t.endswith("%") for t in shown), shown
        assert not overlapping_text(boxes) and not cut_off_text(boxes)
        open_challenge(app, "cluster_count")
        assert app.host.view.challenge.hide_answers
        boxes.clear()
        app.run_frames(3)
        shown = [b[0] for b in boxes]
        assert shown and not any("cluster" in t or t.endswith("%") for t in shown), shown


def test_the_witness_runs():
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
