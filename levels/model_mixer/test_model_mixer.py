"""The Model Mixer: its skills, its arithmetic, its weight matching, its stored runs, its challenges
and its view.

The claims of level.toml are checked over their seeds by claims.py (the engine's tests run every
claim); these tests check the pieces the claims stand on, the live run's phases, the challenges'
measurements and what the view hides while a prediction is open.
"""

import itertools
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
)

level("model_mixer").module("model")  # imports the level's package as the game does
from cf_level_model_mixer.mixer import (
    N_SKILLS,
    PHASES,
    EvalSet,
    Evaluator,
    MixerRun,
    inputs,
    labels,
    linear_assignment,
    unpack,
    weight_matching,
)
from cf_level_model_mixer.model import CHECKPOINTS, STEPS_PER_TICK

LEVEL = "model_mixer"
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def stored():
    return MixerRun.load(CHECKPOINTS / "seed0.npz")


# ---------------------------------------------------------------------------------------------
# the skills and the arithmetic


@pytest.mark.parametrize("skill", range(N_SKILLS))
def test_every_skill_splits_the_square_into_four_classes_of_about_a_quarter(skill):
    x = np.random.default_rng(skill).uniform(-1, 1, (40000, 2))
    shares = np.bincount(labels(skill, x), minlength=4) / len(x)
    assert len(shares) == 4 and np.all(np.abs(shares - 0.25) < 0.03), shares


def test_a_skills_point_enters_on_its_own_channels_with_its_flag():
    x = np.array([[0.3, -0.7], [0.1, 0.2]])
    for k in range(N_SKILLS):
        row = inputs(k, x)
        assert np.array_equal(row[:, 2 * k:2 * k + 2], x)
        assert np.count_nonzero(row[0]) == 3 and row[0, 2 * N_SKILLS + k] == 1.0


def test_an_unknown_skill_is_a_clear_error():
    with pytest.raises(ValueError, match="skill 3"):
        labels(3, np.zeros((1, 2)))


def test_the_merge_is_the_pre_trained_model_plus_the_chosen_task_vectors(stored):
    np.testing.assert_array_equal(stored.merged([0, 0, 0]), stored.theta_pre)
    for k in range(N_SKILLS):
        lams = [0.0] * N_SKILLS
        lams[k] = 1.0
        np.testing.assert_allclose(stored.merged(lams), stored.theta_ft[k])
    cos = stored.cosines()
    np.testing.assert_allclose(cos, cos.T)
    np.testing.assert_allclose(np.diag(cos), 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_assignment_is_the_best_of_every_permutation(seed):
    score = np.random.default_rng(seed).normal(size=(6, 6))
    best = max(itertools.permutations(range(6)), key=lambda p: sum(score[i, p[i]] for i in range(6)))
    found = linear_assignment(score)
    assert sorted(found) == list(range(6))
    assert sum(score[i, found[i]] for i in range(6)) == pytest.approx(sum(score[i, best[i]] for i in range(6)))


def test_weight_matching_undoes_a_shuffle_of_the_hidden_units_and_keeps_the_function(stored):
    width = stored.recipe.width
    rng = np.random.default_rng(3)
    p0, p1 = rng.permutation(width), rng.permutation(width)
    w1, b1, w2, b2, w3, b3 = unpack(stored.theta_ft[1], width)
    shuffled = np.concatenate([a.ravel() for a in (w1[:, p0], b1[p0], w2[p0][:, p1], b2[p1], w3[p1], b3)])
    evaluator, data = Evaluator(width), EvalSet(n=200)
    x = data.inputs
    np.testing.assert_allclose(evaluator.logits(shuffled, x), evaluator.logits(stored.theta_ft[1], x), atol=1e-4)
    matched = weight_matching(stored.theta_ft[1], shuffled, width)
    np.testing.assert_allclose(matched, stored.theta_ft[1])


def test_matching_the_second_start_changes_its_weights_but_not_what_it_computes(stored):
    width = stored.recipe.width
    matched = weight_matching(stored.theta_ft[0], stored.theta_ft2, width)
    evaluator, x = Evaluator(width), EvalSet(n=200).inputs
    assert np.abs(matched - stored.theta_ft2).max() > 0.1
    np.testing.assert_allclose(evaluator.logits(matched, x), evaluator.logits(stored.theta_ft2, x), atol=1e-4)


# ---------------------------------------------------------------------------------------------
# the live run


def test_the_live_run_goes_through_its_phases_and_pre_trains_as_the_stored_run(stored):
    run = MixerRun(stored.recipe, seed=0)
    assert run.phase == PHASES[0] and run.progress == 0.0
    run.train(stored.recipe.pre_steps)
    assert run.phase == PHASES[1] and run.step_count == stored.recipe.pre_steps
    np.testing.assert_allclose(run.theta_pre, stored.theta_pre, atol=1e-4)
    assert 0.0 < run.progress < 0.1 and not run.finished


def test_a_scratch_run_trains_a_few_steps_a_tick_and_shows_the_network_in_training():
    runner = make_runner(LEVEL, {"start": "scratch"})
    model = runner.model
    assert not model.loaded and not model.finished
    runner.step(5)
    assert model.run.step_count == 5 * STEPS_PER_TICK
    acc = model.accuracies()
    assert acc.shape == (N_SKILLS,) and np.all((acc >= 0) & (acc <= 1))
    assert np.isnan(model.cosines()).all() and model.merges() == {}


def test_the_checkpoint_loads_finished_and_a_missing_one_trains_live():
    runner = make_runner(LEVEL)
    assert runner.model.loaded and runner.model.finished and runner.model.progress == 1.0
    missing = make_runner(LEVEL, seed=99)
    assert not missing.model.loaded and not missing.model.finished


def test_the_sliders_move_the_accuracies_at_once():
    runner = make_runner(LEVEL)
    model = runner.model
    before = model.accuracies().copy()
    runner.set_param("lam_stripes", -1.0)
    after = model.accuracies()
    drop = before - after
    assert drop[2] > 0.25 and np.all(np.abs(drop[:2]) < drop[2] / 3), drop


def test_the_sweep_passes_through_the_sliders_setting():
    runner = make_runner(LEVEL, {"sweep": "sectors", "lam_sectors": 0.5})
    lams, acc = runner.model.sweep()
    i = int(np.argmin(np.abs(lams - 0.5)))
    assert lams[i] == pytest.approx(0.5)
    model = runner.model
    np.testing.assert_allclose(acc[i], model.evaluator.accuracies(model.run.merged(model.lambdas), model.sweep_data))


# ---------------------------------------------------------------------------------------------
# the challenges


def test_the_different_starts_average_is_measured_below_the_shared_start():
    assert measured_outcome(LEVEL, "different_starts") == "below"


def test_who_loses_more_is_the_skill_with_the_larger_measured_loss():
    runner = make_runner(LEVEL)
    loss = runner.model.loss_at_one()
    assert np.all(loss > -0.02) and np.all(loss < 0.1), loss  # both lose a few points, neither gains much
    assert measured_outcome(LEVEL, "loses_more") == ("rings", "sectors")[int(np.argmax(loss))]


def test_witness_runs_and_asserts_the_claims(capsys):
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    assert "two starts" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# the view


def test_while_choosing_who_loses_more_the_maps_show_the_truth_and_no_accuracy(tmp_path, monkeypatch):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path) as app:
        app.run_frames(3)
        assert any(box[0].startswith("rings ") and box[0].endswith("%") for box in boxes)
        open_challenge(app, "loses_more")
        view = app.host.view
        assert view.challenge.hide_answers
        boxes.clear()
        app.run_frames(2)
        texts = [box[0] for box in boxes]
        assert not [t for t in texts if "%" in t], texts
        assert any("after the verdict" in t for t in texts)
        open_challenge(app, "different_starts")
        assert view._merge_hidden() and not view._acc_hidden()


@pytest.mark.parametrize("size,scale", [((960, 600), 1.0), ((1280, 720), 2.0)])
def test_scene_text_neither_overlaps_nor_is_cut_off(tmp_path, monkeypatch, size, scale):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, size=size, ui_scale=scale) as app:
        app.run_frames(4)
        boxes.clear()
        app.run_frames(1)
        assert boxes
        assert not overlapping_text(boxes), overlapping_text(boxes)
        assert not cut_off_text(boxes), cut_off_text(boxes)
