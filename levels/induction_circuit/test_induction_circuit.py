"""The Circuit Trace: its data, its measures, its stored models, its challenges and its view.

The claims of level.toml are checked over their seeds by claims.py (the engine's tests run every
claim); these tests check the pieces the claims stand on (the data, the scores, the milestones
read from a record), the model's edges, the challenges' measurements and what the view hides.
"""

import math
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

level("induction_circuit").module("circuit")  # imports the level's package as the game does
from cf_level_induction_circuit.circuit import (
    CHECKPOINTS,
    LN_V,
    SEQ_LEN,
    WORDS,
    CircuitRun,
    Config,
    checkpoint_name,
    copying_scores,
    drop_step,
    encode,
    formation_step,
    induction_indices,
    induction_scores,
    make_batch,
    previous_token_scores,
)
from cf_level_induction_circuit.model import DROP_BINS

LEVEL = "induction_circuit"
HERE = Path(__file__).parent


# ---------------------------------------------------------------------------------------------
# the data


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_sequence_repeats_a_segment_of_varying_length_at_a_varying_place(seed):
    batch = make_batch(np.random.default_rng(seed), 200)
    for b in range(200):
        s, n = batch.starts[b], batch.lengths[b]
        np.testing.assert_array_equal(batch.tokens[b, s:s + n], batch.tokens[b, s + n:s + 2 * n])
        assert np.flatnonzero(batch.rep[b]).tolist() == list(range(s + n, s + 2 * n - 1))
        assert np.flatnonzero(batch.first[b]).tolist() == list(range(s, s + n - 1))
    assert set(batch.lengths.tolist()) == set(range(5, 12))  # no fixed offset for a positional head
    assert len(set(batch.starts.tolist())) > 5
    # the prediction at a repeated position is the token after the earlier copy
    b, t, k = induction_indices(batch)
    np.testing.assert_array_equal(batch.tokens[b, t + 1], batch.tokens[b, k])


def test_a_segment_too_long_for_the_sequence_is_refused():
    with pytest.raises(ValueError, match="do not fit"):
        make_batch(np.random.default_rng(0), 2, seq_len=10, fixed_length=6)


def test_words_encode_and_unknown_words_are_named():
    assert WORDS[encode("harry POTTER")[1]] == "Potter"
    with pytest.raises(ValueError, match="muggle"):
        encode("Harry muggle")


# ---------------------------------------------------------------------------------------------
# the scores


def test_scores_of_perfect_heads_are_one_and_of_uniform_heads_small():
    batch = make_batch(np.random.default_rng(3), 16)
    T = SEQ_LEN - 1
    prev = np.zeros((16, 1, T, T))
    prev[:, 0, 0, 0] = 1.0
    prev[:, 0, np.arange(1, T), np.arange(T - 1)] = 1.0
    assert previous_token_scores(prev)[0] == pytest.approx(1.0)
    ind = np.zeros((16, 1, T, T))
    b, t, k = induction_indices(batch)
    ind[b, 0, t, k] = 1.0
    assert induction_scores(ind, batch)[0] == pytest.approx(1.0)
    uniform = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]
    uniform = np.broadcast_to(uniform, (16, 1, T, T))
    assert previous_token_scores(uniform)[0] < 0.2 and induction_scores(uniform, batch)[0] < 0.2


def test_copying_score_is_one_for_an_identity_ov_circuit_and_low_for_a_permutation():
    run = CircuitRun(Config(d_model=32, d_head=32, heads=1), seed=0)
    net = run.net
    e = np.linalg.qr(np.random.default_rng(0).standard_normal((32, 32)))[0][:24]  # orthonormal embeddings
    net.embed.W[:] = e
    net.unembed.W[:] = e.T
    attn = net.blocks[1].attn
    attn.W_V[0] = np.eye(32)
    attn.W_O[0] = np.eye(32)
    assert copying_scores(net, 1)[0] == 1.0
    attn.W_O[0] = e.T @ np.roll(e, 1, axis=0)  # maps each word to the next one
    assert copying_scores(net, 1)[0] == 0.0


def test_milestones_are_read_from_a_record_and_never_assumed():
    plateau, after = np.full(300, LN_V), np.full(300, 0.5)
    assert drop_step(np.concatenate([plateau, after])) == 302  # a jump after step 300, found within two steps
    assert drop_step(plateau) is None
    assert formation_step(np.concatenate([np.zeros(100), np.ones(100)])) == 101
    assert formation_step(np.ones(5)) is None  # shorter than the window


# ---------------------------------------------------------------------------------------------
# the stored models


def test_every_stored_model_is_small_and_reloads_exactly(tmp_path):
    total = 0
    for positions, layers, seed in CHECKPOINTS:
        path = HERE / "checkpoints" / checkpoint_name(positions, layers, seed)
        assert path.exists(), path
        total += path.stat().st_size
        run = CircuitRun.load(path)
        assert run.step_count == 1500 and len(run.history["loss"]) == 1500
        assert run.config.layers == layers and run.config.positions == positions
    assert total < 1_000_000
    run = CircuitRun(Config(), seed=5)
    run.train(3)
    run.save(tmp_path / "x.npz")
    again = CircuitRun.load(tmp_path / "x.npz")
    np.testing.assert_allclose(again.net.parameters_vector(), run.net.parameters_vector(), rtol=1e-6, atol=1e-7)
    assert again.history["rep_loss"] == pytest.approx(run.history["rep_loss"], rel=1e-6)


def test_the_checkpoint_completes_harry_potter_with_the_circuit_lit():
    run = make_runner(LEVEL)
    model = run.model
    assert model.loaded and model.finished and model.progress == 1.0
    tr = model.trace()
    assert " ".join(WORDS[t] for t in tr.tokens).endswith("Harry Potter took red cloak hid stone Harry")
    first_harry = list(tr.tokens).index(tr.tokens[-1])
    assert WORDS[tr.predicted] == "Potter" and tr.probs[tr.predicted] > 0.5
    assert tr.source == first_harry + 1 and tr.earlier == first_harry  # layer 1 looks at the word after the earlier copy
    assert tr.patterns[0][tr.prev_head][tr.source, tr.earlier] > 0.5  # which layer 0 wrote there
    model.set_prompt(encode("owl flew Harry Potter took red cloak"))  # the last word never occurred before
    assert model.trace().earlier is None
    with pytest.raises(ValueError):
        model.set_prompt(np.zeros(SEQ_LEN + 1, int))
    with pytest.raises(ValueError):
        model.set_prompt([])
    with pytest.raises(ValueError):
        model.set_prompt([len(WORDS)])


def test_ablating_layer_0_live_breaks_the_prediction_at_once():
    run = make_runner(LEVEL)
    whole = run.latest()["rep_loss"]
    run.set_param("ablation", "layer 0")
    run.step(1)
    assert run.latest()["rep_loss"] > whole + 0.6 * (LN_V - whole)
    assert WORDS[run.model.trace().predicted] != "Potter" or run.model.trace().probs.max() < 0.3
    run.set_param("ablation", "none")
    run.step(1)
    assert run.latest()["rep_loss"] == pytest.approx(whole)


def test_training_from_scratch_is_one_step_per_tick_until_the_budget_and_lr_changes_live():
    run = make_runner(LEVEL, {"start": "scratch", "budget": 200})
    model = run.model
    assert not model.loaded and model.run.step_count == 0
    run.step(7)
    assert model.run.step_count == 7 == len(model.run.history["loss"]) and run.latest()["progress"] == 7 / 200
    run.set_param("lr", 0.001)
    assert model.run.optimizer.lr == 0.001
    assert run.latest()["rep_loss"] > 0.8 * LN_V  # nothing learnt yet: the plateau
    model.run.step_count = 199
    run.step(3)
    assert model.run.step_count == 200 and model.finished


@pytest.mark.parametrize("params", [{"layers": "1"}, {"positions": "absolute"}, {"positions": "rotary"}])
def test_the_controls_load_their_stored_models(params):
    run = make_runner(LEVEL, params)
    assert run.model.loaded and run.model.run.config.layers == int(params.get("layers", 2))
    run.step(1)
    assert np.isfinite(run.latest()["rep_loss"])


# ---------------------------------------------------------------------------------------------
# challenges


def test_challenge_zeroing_layer_0_is_measured_back_to_chance():
    assert measured_outcome(LEVEL, "layer0_back_to_chance") == "yes"


def test_challenge_drop_step_bins_are_half_decades_and_the_stored_run_falls_in_one():
    edges = [low for low, _, _ in DROP_BINS] + [DROP_BINS[-1][1]]
    assert edges[:4] == [0, 100, 300, 1000] and math.isinf(edges[-1])
    labels = [label for _, _, label in DROP_BINS]
    assert labels == list(level(LEVEL).manifest.challenges["drop_step"].choices)
    run = make_runner(LEVEL)
    step = drop_step(run.model.run.series("rep_loss"))
    assert 300 <= step < 1000
    assert run.model.measure_drop_step(run) == "between 300 and 1000"


@pytest.mark.slow
def test_challenge_drop_step_trained_live():
    assert measured_outcome(LEVEL, "drop_step") == "between 300 and 1000"


# ---------------------------------------------------------------------------------------------
# the view


def test_the_view_hides_what_would_answer_the_open_challenge(tmp_path, monkeypatch):
    with headless_app(LEVEL, tmp_path, paused=True) as app:
        app.run_frames(2)
        view = app.host.view
        assert not view._prediction_hidden() and "drop" in " ".join(t for t, _ in view.status())
        open_challenge(app, "layer0_back_to_chance")
        assert view._prediction_hidden()
        assert "after the verdict" in view._headline(view.model.trace(), 1e6)
        shown = record_scene_text(monkeypatch)
        app.run_frames(1)
        assert not any("key:" in box[0] or "→" in box[0] for box in shown)  # no lit circuit, no prediction
        app.run_frames(2)
        open_challenge(app, "drop_step")
        assert view._curves_hidden()
        assert [t for t, _ in view.status()] == ["The loss and the scores show after the verdict."]
        app.run_frames(2)
        open_challenge(app, None)
        assert not view._curves_hidden() and not view._prediction_hidden()


def test_the_word_keyboard_edits_the_prompt_and_bad_edits_leave_a_message(tmp_path):
    with headless_app(LEVEL, tmp_path, paused=True) as app:
        app.run_frames(1)
        view = app.host.view
        model = view.model
        n = len(model.prompt)
        view.add_word(WORDS.index("owl"))
        assert len(model.prompt) == n + 1 and WORDS[model.prompt[-1]] == "owl"
        view.backspace()
        assert len(model.prompt) == n
        view.set_prompt([0])
        view.backspace()
        assert view.message and len(model.prompt) == 1
        view.set_prompt(np.zeros(SEQ_LEN, int))
        view.add_word(1)
        assert "at most" in view.message and len(model.prompt) == SEQ_LEN
        view.random_repeat()
        tr = model.trace()
        assert tr.earlier is not None and view.message == ""
        app.run_frames(2)


@pytest.mark.parametrize("size, scale", [((960, 600), 1.0), ((1280, 720), 2.0), ((960, 600), 2.0)])
def test_scene_text_never_overlaps_nor_leaves_the_pane(tmp_path, monkeypatch, size, scale):
    """The caption, the words (staggered when crowded), the prediction and the labels, for the
    default prompt and for the longest one, at a small window and at UI scale 2."""
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, size=size, ui_scale=scale) as app:
        for prompt in (None, list(range(SEQ_LEN - 1)) + [5]):
            if prompt is not None:
                app.host.view.set_prompt(prompt)
            app.run_frames(3)
            boxes.clear()
            app.run_frames(1)
            assert app.host.error is None, app.host.error
            assert len(boxes) >= 10
            assert overlapping_text(boxes) == [], overlapping_text(boxes)
            assert cut_off_text(boxes) == []


def test_the_witness_runs():
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
