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
