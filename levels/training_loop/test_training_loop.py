"""The Training Loop: its corpus, its baselines, its loop, its challenges and its view.

The claims of level.toml are checked over their seeds by claims.py (the engine's tests run every
claim); these tests check the pieces the claims stand on, the model's two modes, the challenges'
measurements, the numbers the challenges' wordings quote, and what the view hides.
"""

import math
import re
import runpy
from pathlib import Path

import numpy as np
import pytest
import tomllib

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

level("training_loop").module("lm")  # imports the level's package as the game does
from cf_level_training_loop.grammar import (
    Corpus,
    entropy_rate,
    sentence_prefix,
    true_next,
)
from cf_level_training_loop.lm import (
    CONTEXT,
    STAGES,
    Loop,
    NGram,
    generate,
    keep_mask,
    sampler,
    windows,
)
from cf_level_training_loop.model import BEATS, STAGE_TICKS, baselines, corpus

LEVEL = "training_loop"
HERE = Path(__file__).parent
MANIFEST = tomllib.loads((HERE / "level.toml").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# the corpus and the grammar


def test_the_corpus_is_fixed_and_split_at_a_sentence():
    a, b = Corpus(), Corpus()
    assert a.text == b.text and a.V == 23
    assert a.train_text.endswith(". ") and a.held_out_text.startswith(("the ", "a "))
    assert a.decode(a.encode(a.held_out_text)) == a.held_out_text
    with pytest.raises(ValueError, match="outside the alphabet"):
        a.encode("the zebra")


def test_the_grammars_own_next_character():
    assert true_next("") == {"t": 0.5, "a": 0.5}
    nouns = true_next("the small ")
    assert nouns == pytest.approx({"c": 0.25, "b": 0.25, "d": 0.125, "f": 0.125, "h": 0.125, "o": 0.125})
    assert true_next("the cat sees a dog.") == {" ": 1.0}
    text = "a dog sees a cat. the fox"
    assert sentence_prefix(text, len(text)) == "the fox"
    assert sentence_prefix(text, text.index(" the")) == "a dog sees a cat."
    with pytest.raises(ValueError, match="no sentence"):
        true_next("the zebra")


# ---------------------------------------------------------------------------------------------
# the counting baselines


def test_a_bigram_by_hand():
    c = corpus()
    model = NGram(c, 2, k=0.5)
    train = c.ids[:c.split]
    a, b = c.lookup["t"], c.lookup["h"]
    pairs = int(np.sum((train[:-1] == a) & (train[1:] == b)))
    firsts = int(np.sum(train[:-1] == a))
    assert model.prob[a, b] == pytest.approx((pairs + 0.5) / (firsts + 0.5 * c.V))
    with pytest.raises(ValueError, match="k > 0"):
        NGram(c, 2, k=0.0)


def test_the_challenge_quotes_the_measured_baselines():
    b = baselines(0.1)
    question = next(ch["question"] for ch in MANIFEST["challenges"] if ch["id"] == "against_bigram")
    quoted = [float(v) for v in re.findall(r"\d+\.\d+", question)]
    assert quoted == [round(b["bigram"], 2), round(b["trigram"], 2)]
    assert b["unigram"] > b["bigram"] > b["trigram"] > b["floor"] == pytest.approx(math.exp(entropy_rate()))


# ---------------------------------------------------------------------------------------------
# the loop


def test_windows_read_the_characters_before():
    c = corpus()
    x, y = windows(c.ids, np.array([CONTEXT, 100]))
    assert c.decode(x[1]) == c.text[100 - CONTEXT:100] and c.decode([y[1]]) == c.text[100]
    with pytest.raises(ValueError, match="characters before it"):
        windows(c.ids, np.array([CONTEXT - 1]))


def test_stages_run_in_order_and_an_iteration_counts_once():
    loop = Loop(corpus(), seed=3)
    done = [loop.advance() for _ in range(len(STAGES))]
    assert done == list(range(len(STAGES))) and loop.iteration == 1 and loop.stage == -1
    assert math.isfinite(loop.data.loss) and loop.data.loss_after < loop.data.loss
    loop.advance()
    loop.iterate()  # finishes the iteration under way
    assert loop.iteration == 2 and loop.stage == -1


def test_held_out_slices_add_up_to_the_whole_measurement():
    loop = Loop(corpus(), seed=1)
    for _ in range(10):
        loop.iterate()
    assert loop.check is not None and loop.check.iteration == 10
    whole = math.exp(loop.held_out_nll())
    loop.finish_checks()
    assert loop.record.eval_iterations == [0, 10]
    assert loop.record.held_out_ppl[-1] == pytest.approx(whole, rel=1e-5)


def test_same_seed_same_run_different_seed_different_run():
    a, b, c = Loop(corpus(), 5), Loop(corpus(), 5), Loop(corpus(), 6)
    for loop in (a, b, c):
        for _ in range(5):
            loop.iterate()
    assert all(np.array_equal(p, q) for p, q in zip(a.net.params, b.net.params))
    assert not np.array_equal(a.net.params[0], c.net.params[0])


# ---------------------------------------------------------------------------------------------
# sampling: the rules of Softmax and Surprise, from sim.sampling (tested in tests/test_sampling.py)


def test_generated_text_uses_only_the_kept_characters():
    c = corpus()
    loop = Loop(c, seed=0)
    for _ in range(150):
        loop.iterate()
    text = generate(loop.looking_net(), c, "the ", 60, np.random.default_rng(1), strategy="top-k", top_k=1)
    again = generate(loop.looking_net(), c, "the ", 60, np.random.default_rng(2), strategy="top-k", top_k=1)
    assert text == again and text.startswith("the ") and len(text) == 64  # top-1 is greedy: no randomness left


# ---------------------------------------------------------------------------------------------
# the model: two modes, one loop


def test_step_through_does_one_stage_every_stage_ticks_and_run_does_iterations():
    run = make_runner(LEVEL, {"mode": "step through"}, seed=0)
    model = run.model
    run.step(1)
    assert model.last_stage == 0 and model.loop.iteration == 0
    run.step(STAGE_TICKS * 5)
    assert model.loop.iteration == 1 and model.last_stage == 5
    run.set_param("mode", "run")  # keeps the training so far
    run.step(10)
    assert model.loop.iteration == 11


def test_training_stops_at_the_budget():
    run = make_runner(LEVEL, {"mode": "run", "iterations": 20}, seed=0)
    run.step(40)
    assert run.model.loop.iteration == 20 and run.model.finished and run.model.progress == 1.0
    assert run.model.loop.record.eval_iterations[-1] == 20


def test_smoothing_refits_the_baselines_without_restarting_training():
    run = make_runner(LEVEL, {"mode": "run"}, seed=0)
    run.step(5)
    before = run.model.baselines()["bigram"]
    run.set_param("smoothing", 1.0)
    assert run.model.loop.iteration == 5 and run.model.baselines()["bigram"] > before


def test_the_sample_is_redrawn_when_the_rule_changes():
    run = make_runner(LEVEL, {"mode": "run"}, seed=0)
    run.step(60)
    first = run.model.sample()
    run.set_param("temperature", 0.2)
    assert run.model.sample() != first and run.model.sample().startswith("the ")


# ---------------------------------------------------------------------------------------------
# the challenges


def test_initial_perplexity_challenge_measures_the_untrained_network():
    value = measured_outcome(LEVEL, "initial_perplexity")
    assert abs(value / 23 - 1) < 0.03 and value == pytest.approx(22.814, abs=0.01)


def test_against_bigram_challenge():
    assert measured_outcome(LEVEL, "against_bigram") == BEATS[1]


# ---------------------------------------------------------------------------------------------
# the view


def test_the_view_hides_what_would_answer_the_open_challenge(tmp_path, monkeypatch):
    with headless_app(LEVEL, tmp_path, params={"mode": "run"}, paused=True) as app:
        app.run_frames(2)
        view = app.host.view
        assert not view._ppl_hidden()
        open_challenge(app, "initial_perplexity")
        assert view._ppl_hidden()
        shown = record_scene_text(monkeypatch)
        app.run_frames(1)
        assert any("after the verdict" in box[0] for box in shown)
        assert not any("22.8" in box[0] or "perplexity 2" in box[0] for box in shown)
        open_challenge(app, "against_bigram")
        assert view._ppl_hidden()
        open_challenge(app, None)
        app.run_frames(1)
        assert not view._ppl_hidden()


def test_next_stage_button_runs_to_the_next_stage(tmp_path):
    with headless_app(LEVEL, tmp_path, paused=True) as app:
        app.run_frames(1)
        view = app.host.view
        for expected in (0, 1, 2):
            view.next_stage()
            app.run_frames(2)
            assert view.model.last_stage == expected and app.host.paused
        app.host.single_step()  # the N key: paused, a single step is the next stage too
        app.run_frames(2)
        assert view.model.last_stage == 3


@pytest.mark.parametrize("size, scale, mode", [((960, 600), 1.0, "run"), ((1280, 720), 2.0, "step through"),
                                               ((1280, 720), 1.0, "step through"), ((960, 600), 2.0, "run")])
def test_scene_text_never_overlaps_nor_leaves_the_pane(tmp_path, monkeypatch, size, scale, mode):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, params={"mode": mode}, size=size, ui_scale=scale) as app:
        for steps in (0, 150):
            app.run_frames(2)
            app.host.runner.step(steps)  # a trained state without drawing every frame on the way
            app.run_frames(1)
            boxes.clear()
            app.run_frames(1)
            assert len(boxes) >= 10
            assert overlapping_text(boxes) == [], overlapping_text(boxes)
            assert cut_off_text(boxes) == []


def test_the_witness_runs():
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
