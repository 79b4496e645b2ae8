"""Judging and scoring predictions (the outcome itself is always measured by a level)."""

import pytest

from sandbox.challenges import AnswerError, brier_score, judge, parse_answer
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
