"""The Interference Demo: its challenges measured from the best seed, its model's gradient exact,
its measures of shape, and a view that hides the trained model while a prediction is open.

The level's statements across their ranges (dense, antipodal, pentagon, interference, the phase
diagram) are its claims (claims.py, run by the engine's tests)."""

import runpy
from pathlib import Path

import numpy as np
import pytest

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

level("superposition").module("model")  # imports the level's package as the game does
from cf_level_superposition.model import CHUNK, SuperpositionModel
from cf_level_superposition.phase import PHASES, classify, keep_one_loss
from cf_level_superposition.toy import (
    dimensionality,
    loss_and_grads,
    neighbour_angles,
    sample,
)

LEVEL = "superposition"
HERE = Path(__file__).parent


def test_the_gradient_is_exact():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(2, 2, 5))
    b = rng.normal(scale=0.3, size=(2, 5))
    x = rng.random((2, 64, 5)) * (rng.random((2, 64, 5)) < 0.5)
    imp = 0.9 ** np.arange(5)
    _, dW, db = loss_and_grads(W, b, x, imp)
    eps = 1e-6
    for arr, grad in ((W, dW), (b, db)):
        for idx in [(0, 0, 1), (1, 1, 4), (0, 1, 2)] if arr.ndim == 3 else [(0, 0), (1, 3), (0, 4)]:
            plus, minus = arr.copy(), arr.copy()
            plus[idx] += eps
            minus[idx] -= eps
            args = (plus, b, x, imp) if arr is W else (W, plus, x, imp)
            args_m = (minus, b, x, imp) if arr is W else (W, minus, x, imp)
            numeric = (loss_and_grads(*args)[0][idx[0]] - loss_and_grads(*args_m)[0][idx[0]]) / (2 * eps)
            assert grad[idx] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_dimensionality_of_the_shapes():
    angles = 2 * np.pi * np.arange(5) / 5
    assert np.allclose(dimensionality(np.stack([np.cos(angles), np.sin(angles)])), 0.4)
    assert np.allclose(dimensionality(np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])), [0.5, 0.5, 1.0])
    assert np.allclose(dimensionality(np.array([[1.0, 0.0], [0.0, 0.0]])), [1.0, 0.0])
    assert np.allclose(neighbour_angles(np.stack([np.cos(angles), np.sin(angles)])), 72.0)


def test_sampling_has_the_density_and_the_values():
    x = sample(np.random.default_rng(1), 2, 20000, 5, 0.1)
    assert np.mean(x > 0) == pytest.approx(0.1, abs=0.005)
    assert x.max() <= 1.0 and x[x > 0].mean() == pytest.approx(0.5, abs=0.02)


def test_keep_one_loss_and_classification():
    assert keep_one_loss(1.0, 1.0) == pytest.approx(1 / 3 - 1 / 4)  # the variance of U[0, 1]
    assert [PHASES[classify(np.array(w))] for w in ([1.0, 0.0], [0.0, -1.0], [1.0, -1.0], [0.9, 0.8], [0.1, 0.1])] \
        == list(PHASES)


def test_the_model_is_deterministic_and_trains_in_chunks():
    a, b = make_runner(LEVEL, {"budget": 200}), make_runner(LEVEL, {"budget": 200})
    a.step(30)
    b.step(30)
    assert np.array_equal(a.model.toys.W, b.model.toys.W)
    assert a.model.toys.steps == 200 and a.model.finished and a.model.progress == 1.0
    assert 200 // CHUNK <= 30


# ---------------------------------------------------------------------------------------------
# challenges: measured from the best seed, and judged


def test_at_90_percent_all_five_are_kept_72_degrees_apart():
    verdict = run_challenge(LEVEL, "kept_at_90", 2)
    assert verdict.measured == 5 and not verdict.correct and verdict.hint
    verdict = run_challenge(LEVEL, "angle_at_90", 90.0)  # antipodal pairs' angle: wrong here
    assert verdict.measured == pytest.approx(72.0, abs=4.0) and not verdict.correct and verdict.hint


def test_dense_equal_features_are_not_superposed():
    verdict = run_challenge(LEVEL, "dense_equal", "superposition", confidence=0.9)
    assert verdict.measured == "no superposition" and not verdict.correct and verdict.hint


def test_one_dimension_holds_both_antipodal_when_sparse():
    assert measured_outcome(LEVEL, "one_dimension") == "both, antipodal"


def test_challenges_are_measured_on_a_finished_training():
    level_entry = level(LEVEL)
    for challenge in level_entry.manifest.challenges.values():
        budget = challenge.set.get("budget", 1500)
        assert challenge.steps * CHUNK >= budget, challenge.id


def test_every_parameter_at_both_ends_runs():
    for params in ({"sparsity": 0.0, "decay": 0.5, "instances": 1, "budget": 200, "lr": 0.05, "probe": 5},
                   {"sparsity": 0.99, "decay": 1.0, "instances": 8, "budget": 200, "lr": 0.001},
                   {"mode": "2 features in 1D", "ratio": 10.0, "sparsity": 0.99, "probe": 5, "budget": 200},
                   {"mode": "2 features in 1D", "ratio": 0.1, "sparsity": 0.0, "budget": 200}):
        run = make_runner(LEVEL, params)
        run.step(25)
        assert run.error is None and not run.diverged, (params, run.error)
        model = run.model
        pre, out = model.probe(min(int(model.params["probe"]), model.shape[0]) - 1)
        assert np.all(out >= 0) and np.allclose(out, np.maximum(pre, 0))


def test_witness_runs_and_asserts_the_claims(capsys):
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "dense: kept [1 1 0 0 0]" in out and "sparse:" in out


# ---------------------------------------------------------------------------------------------
# the view


@pytest.mark.parametrize("size", [(1280, 720), (960, 600)])
def test_the_view_draws_clean_text_and_hides_the_model_while_choosing(tmp_path, monkeypatch, size):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, params={"budget": 300}, size=size) as app:
        app.run_frames(40)
        boxes.clear()
        app.run_frames(1)
        texts = [b[0] for b in boxes]
        assert any(t.startswith("keeps ") for t in texts) and any("D = " in t for t in texts)
        assert not overlapping_text(boxes) and not cut_off_text(boxes), (overlapping_text(boxes), cut_off_text(boxes))
        for challenge in ("kept_at_90", "dense_equal", "one_dimension"):
            open_challenge(app, challenge)
            boxes.clear()
            app.run_frames(1)
            assert app.host.view.challenge.hide_answers
            texts = [b[0] for b in boxes]
            leaks = [t for t in texts if t.startswith("keeps ") or "D = " in t or "ghost" in t]
            assert not leaks, (challenge, leaks)
            if challenge == "one_dimension":
                assert "you" not in texts, "the phase diagram answers it"
        open_challenge(app, None)


def test_clicking_an_arrow_switches_that_feature_on(tmp_path):
    with headless_app(LEVEL, tmp_path, params={"sparsity": 0.95, "budget": 300}) as app:
        app.run_frames(40)
        view = app.host.view
        model = view.model
        x0, y0, w, h = app.layout()["scene"]
        pane_w = w * 1.1 / 3.0  # the features pane's share of the scene
        tip = view.cam.world_to_screen(model.W_of()[:, 3], (round(pane_w), round(h)))
        app.inject("mouse_pos", x0 + tip[0], y0 + tip[1])
        app.run_frames(2)
        app.inject("mouse_button", 0, True)
        app.run_frames(2)
        app.inject("mouse_button", 0, False)
        app.run_frames(2)
        assert app.host.runner.params["probe"] == 4


def test_a_model_without_the_view_reports_the_best_instance():
    model = SuperpositionModel({"sparsity": 0.9, "mode": "5 features in 2D", "decay": 0.9, "ratio": 0.3, "probe": 1,
                                "instances": 3, "budget": 300, "lr": 0.01})
    model.reset(0)
    while not model.finished:
        model.step()
    assert model.best == int(np.argmin(model.eval_loss))
    obs = model.observables()
    assert obs["loss"] == pytest.approx(model.eval_loss.min())


def test_at_ui_scale_two_no_text_touches_or_is_cut_off(tmp_path, monkeypatch):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, params={"budget": 300, "sparsity": 0.95}, size=(1280, 720)) as app:
        app.imgui.set_scale(2.0)
        app.run_frames(40)
        boxes.clear()
        app.run_frames(1)
        assert boxes
        assert not overlapping_text(boxes) and not cut_off_text(boxes), (overlapping_text(boxes), cut_off_text(boxes))
