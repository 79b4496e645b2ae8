"""Judging and scoring predictions (the outcome itself is always measured by a level)."""

import math

import numpy as np
import pytest

from sandbox.challenges import (
    MIN_CONFIDENCE,
    AnswerError,
    brier_score,
    judge,
    parse_answer,
)
from sandbox.manifest import Challenge

CHOICE = Challenge(id="c", kind="choice", question="?", measure="m", choices=("settles", "bounces"),
                   hints={"settles": "look at 2/eta"})
NUMBER = Challenge(id="n", kind="number", question="?", measure="m", tolerance=0.1, relative=True,
                   hints={"too_low": "higher", "too_high": "lower"})
REGION = Challenge(id="r", kind="region", question="?", measure="m", axis=(0.0, 10.0), tolerance=2.0)


def test_brier_score_rewards_honest_confidence():
    assert brier_score(1.0, True) == 100 and brier_score(1.0, False) == 0
    assert brier_score(0.5, True) == brier_score(0.5, False) == 75
    assert brier_score(0.9, True) == pytest.approx(99) and brier_score(0.9, False) == pytest.approx(19)
    assert brier_score(0.6, True) == pytest.approx(84) and brier_score(0.6, False) == pytest.approx(64)


def test_hints_are_keyed_to_the_mistake():
    assert judge(CHOICE, "settles", "bounces", 0.8).hint == "look at 2/eta"
    assert judge(NUMBER, 5.0, 10.0, 0.8).mistake == "too_low"
    assert judge(NUMBER, 15.0, 10.0, 0.8).hint == "lower"
    assert judge(NUMBER, 10.5, 10.0, 0.8).correct  # within 10 %
    assert judge(REGION, (3.0, 4.0), 3.5, 0.8).correct
    assert judge(REGION, (0.0, 9.0), 3.5, 0.8).mistake == "too_wide"
    assert judge(REGION, (5.0, 6.0), 3.5, 0.8).mistake == "too_high"


@pytest.mark.parametrize("challenge, answer", [(CHOICE, "explodes"), (NUMBER, "ten"), (REGION, "3"),
                                               (REGION, "5,1"), (NUMBER, "nan")])
def test_malformed_predictions_are_refused(challenge, answer):
    with pytest.raises(AnswerError):
        parse_answer(challenge, answer)


def test_choice_answers_are_case_insensitive():
    assert parse_answer(CHOICE, "Bounces") == "bounces"
    assert parse_answer(REGION, "1, 2") == (1.0, 2.0)


def test_the_scoring_rule_at_the_ends_of_the_confidence_range():
    # certain: all or nothing
    assert brier_score(1.0, True) == 100 and brier_score(1.0, False) == 0
    # a coin flip: 75 whatever happens, the price of committing to nothing
    assert brier_score(MIN_CONFIDENCE, True) == brier_score(MIN_CONFIDENCE, False) == 75
    # below a coin flip the rule would pay for being wrong (at 0 a wrong answer would score 100): refused
    for confidence in (0.0, 0.2, 0.4999, -0.1, 1.0001, math.nan, math.inf):
        with pytest.raises(AnswerError):
            brier_score(confidence, False)
    # so no confidence on offer makes a wrong answer score more than a right one at the same confidence
    grid = np.linspace(MIN_CONFIDENCE, 1.0, 51)
    assert all(brier_score(c, False) <= 75 <= brier_score(c, True) for c in grid)


@pytest.mark.parametrize("chance", [0.1, 0.3, 0.5, 0.62, 0.8, 0.95, 1.0])
def test_honest_confidence_scores_best_on_average(chance):
    """The rule is proper on its range: the expected score is highest at the true chance of being
    right, or at a coin flip when the chance is lower."""
    grid = np.linspace(MIN_CONFIDENCE, 1.0, 501)
    expected = [chance * brier_score(c, True) + (1 - chance) * brier_score(c, False) for c in grid]
    assert grid[int(np.argmax(expected))] == pytest.approx(max(chance, MIN_CONFIDENCE), abs=1e-3)


def test_a_confidence_below_a_coin_flip_cannot_be_locked_in():
    from sandbox.challenges import ChallengeRun
    from sandbox.testing import level

    entry = level("discretization_lab")
    attempt = ChallengeRun(entry, entry.manifest.challenges["euler_limit"])
    with pytest.raises(AnswerError, match="coin flip"):
        attempt.lock("0.1", 0.0)
    assert attempt.runner is None, "nothing ran"
    attempt.lock("0.1", MIN_CONFIDENCE)
    assert attempt.finish().score == 75


def test_a_challenge_from_the_sandbox_measures_the_build_the_learner_made(make_app):
    from sandbox.testing import open_challenge

    app = make_app(level="kv_cache", size=(1280, 720))
    app.run_frames(2)
    host = app.host
    defaults = host.challenges.settings(host.manifest.challenges["lever_yours"])
    host.runner.set_param("kv_heads", 1)  # multi-query already: the MQA lever frees nothing
    host.runner.set_param("context", 65536)  # a long context: the window keeps 1/16
    open_challenge(app, "lever_yours")
    challenge = host.manifest.challenges["lever_yours"]
    assert "1 KV heads" in challenge.format_question(host.challenges.settings(challenge))
    assert host.challenges.lock(challenge, "4096-token window")
    while host.challenges.attempt.verdict is None:
        app.run_frames(2)
    verdict = host.challenges.attempt.verdict
    assert verdict.measured == "4096-token window" and verdict.correct
    assert host.challenges.attempt.params["kv_heads"] == 1 and defaults["kv_heads"] == 8


def test_levers_that_tie_are_each_right_and_anything_else_is_wrong():
    from sandbox.challenges import judge
    from sandbox.testing import level

    challenge = level("kv_cache").manifest.challenges["lever_yours"]
    tie = ("halve the batch B", "halve the context T")
    assert judge(challenge, "halve the context T", tie, 0.8).correct
    assert judge(challenge, "halve the batch B", tie, 0.8).correct
    wrong = judge(challenge, "4-bit cache", tie, 0.8)
    assert not wrong.correct and wrong.hint == challenge.hints["4-bit cache"]


def test_a_tied_measurement_comes_back_as_every_lever_that_ties():
    from sandbox.challenges import ChallengeRun
    from sandbox.testing import level

    entry = level("kv_cache")
    run = ChallengeRun(entry, entry.manifest.challenges["lever_yours"],
                       sandbox={**entry.manifest.defaults(), "kv_heads": 1, "cache_dtype": "int4 (0.5 byte)",
                                "context": 4096, "batch": 8})
    verdict = run.lock("halve the batch B") or run.finish()
    assert verdict.measured == ("halve the batch B", "halve the context T") and verdict.correct
