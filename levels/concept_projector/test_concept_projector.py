"""The Concept Projector: its world's grammar, live training, the steering measures, the
challenges measured from the simulation, the joystick, and a view that hides each answer while a
prediction is open. The level's statements over seeds are its claims (claims.py, run by the
engine's tests)."""

import runpy
import sys
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

level("concept_projector").module("model")  # imports the level's package as the game does
from cf_level_concept_projector import lm, world

LEVEL = "concept_projector"
HERE = Path(__file__).parent


def test_stories_follow_the_clues():
    tokens, nouns, tones = world.make_batch(np.random.default_rng(3), 200)
    assert tokens.shape == (200, world.SEQ_LEN)
    for row, pair, tone_pair in zip(tokens, nouns, tones):
        for s in range(2):
            words = [world.WORDS[t] for t in row[s * world.STORY_LEN:(s + 1) * world.STORY_LEN]]
            name, gender, royal, young = world.NOUNS[pair[s]]
            assert words[0] == words[14] == world.PRONOUNS[gender]
            assert words[4] in world.PLACES[royal] and words[7] in world.OBJECTS[young]
            assert words[10] == name
            tone = world.VERBS[tone_pair[s]] + world.ADVERBS[tone_pair[s]]
            assert all(words[k] in tone for k in (11, 12, 15, 16))


def test_the_floor_is_the_grammars_entropy():
    # 23 free binary choices a sequence: the clues' 2 + 4 + 4 (minus the first pronoun), tone and verbs
    assert lm.entropy_floor() == pytest.approx(23 * np.log(2) / 35)
    assert 0.44 < lm.entropy_floor() < 0.47


def test_bad_words_get_one_clear_line():
    with pytest.raises(ValueError, match="not in the vocabulary: dragon"):
        world.encode("the dragon")


def test_a_fresh_model_learns_live_and_the_checkpoint_loads():
    runner = make_runner(LEVEL, {"start": "scratch", "budget": 40})
    model = runner.model
    assert not model.finished and model.progress == 0.0
    for _ in range(40 * lm.PARTS):
        runner.step()
    assert model.finished and model.progress == 1.0
    assert np.mean(model.run.losses[-5:]) < np.mean(model.run.losses[:5]) - 1.0
    stored = make_runner(LEVEL).model
    assert stored.loaded and stored.run.step_count == 1500 and stored.progress == 1.0
    assert (HERE / "checkpoints" / "seed0.npz").stat().st_size < 1_000_000


def test_steering_moves_the_readouts_and_zero_steering_changes_nothing():
    model = make_runner(LEVEL).model
    base = model.readout()["logit_diff"]
    z = lm.steered_logits(model.run.net, world.encode(lm.NAME_PROMPT), {})
    assert base == pytest.approx(z[world.INDEX["queen"]] - z[world.INDEX["king"]], abs=1e-9)
    model.set_param("alpha_gender", 1.5)
    assert model.readout()["logit_diff"] > 0 > base  # queen now
    text = [world.WORDS[t] for t in model.text()]
    assert text[10] == "queen"
    assert text[14] == "he"  # the pronoun is copied from the clue 'he': the direction was read where the person is named
    model.set_param("alpha_gender", 0.0)
    model.set_param("alpha_tone", 4.0)
    model.set_param("layer", "2")
    assert model.observables()["fluency"] < 0.9
    assert not model.run.net.steer  # every readout restores the unsteered network


def test_the_fluency_sweep_fills_a_point_a_tick():
    runner = make_runner(LEVEL)
    model = runner.model
    model.directions()
    assert np.isnan(model.sweep).all()
    runner.step()
    runner.step()
    assert np.isfinite(model.sweep).sum() == 2


@pytest.mark.parametrize(("challenge", "right", "wrong"), [
    ("flip_alpha", None, 3.0),
    ("late_fluency", "loses fluency", "stays fluent"),
])
def test_challenges_are_measured_and_judged(challenge, right, wrong):
    measured = measured_outcome(LEVEL, challenge)
    if challenge == "flip_alpha":
        assert 0.3 < measured < 2.0
        right = measured * 1.1
    else:
        assert measured == right
    assert run_challenge(LEVEL, challenge, right).correct
    assert not run_challenge(LEVEL, challenge, wrong).correct


def test_the_view_hides_the_answers_while_predicting(tmp_path, monkeypatch):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, params={"alpha_gender": 1.5}) as app:
        app.run_frames(5)
        shown = [b[0] for b in boxes]
        assert any(t.startswith("queen ") and t.endswith("%") for t in shown)
        for challenge in ("flip_alpha", "late_fluency"):
            open_challenge(app, challenge)
            assert app.host.view.challenge.hide_answers
            boxes.clear()
            app.run_frames(2)
            shown = [b[0] for b in boxes]
            assert not any(t.endswith("%") for t in shown), shown
            assert any("hidden" in t or "lock in" in t for t in shown)


@pytest.mark.parametrize(("size", "scale"), [((960, 600), 1.0), ((1280, 720), 2.0)])
def test_scene_text_fits(tmp_path, monkeypatch, size, scale):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, size=size, ui_scale=scale, params={"alpha_gender": 1.0}) as app:
        app.run_frames(4)
        boxes.clear()
        app.run_frames(1)
        assert boxes
        assert not overlapping_text(boxes), overlapping_text(boxes)
        assert not cut_off_text(boxes), cut_off_text(boxes)


def test_dragging_the_knob_steers(tmp_path):
    with headless_app(LEVEL, tmp_path) as app:
        app.run_frames(3)
        view, (x0, y0, w, h) = app.host.view, app.layout()["scene"]
        viewport = (round(w * 0.36), round(h))
        start = view.cam.world_to_screen(np.array([0.0, 0.0]), viewport)
        end = view.cam.world_to_screen(np.array([0.5, -0.5]), viewport)
        app.inject("mouse_pos", x0 + start[0], y0 + start[1])
        app.run_frames(2)
        app.inject("mouse_button", 0, True)
        app.run_frames(2)
        for t in np.linspace(0.0, 1.0, 6):
            app.inject("mouse_pos", x0 + start[0] + t * (end[0] - start[0]), y0 + start[1] + t * (end[1] - start[1]))
            app.run_frames(2)
        app.inject("mouse_button", 0, False)
        app.run_frames(3)
        params = app.host.runner.model.params
        assert params["alpha_gender"] == pytest.approx(1.5, abs=0.15)
        assert params["alpha_tone"] == pytest.approx(-2.0, abs=0.2)


def test_witness_runs(capsys):
    sys.modules.pop("__main__witness", None)
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    assert "king becomes queen" in capsys.readouterr().out
