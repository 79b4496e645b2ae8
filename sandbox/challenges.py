"""Prediction challenges: predict, lock in, run, measure, reveal, score.

The learner's prediction is locked (with a confidence) before the simulation runs; the outcome
is then *measured* from that run by the model's ``measure_<name>(run)`` method. No manifest
holds an answer.

Scoring is the Brier rule on the learner's confidence that their prediction is right,
``score = 100 · (1 − (confidence − correct)²)``, with the confidence from 0.5 to 1:

- at 1 (certain): right scores 100, wrong 0;
- at 0.5 (a coin flip, "no idea"): 75 either way, the price of committing to nothing;
- below 0.5 is refused. A confidence under a coin flip says the prediction is more likely wrong
  than right, so it is not the learner's prediction; and the rule would pay for being wrong
  (at 0 a wrong answer scores 100, a right one 0), which turns a challenge into naming anything
  but the answer. The challenge panel's slider has the same range.

On that range the rule is proper: the expected score is highest when the confidence is the true
chance of being right (or 0.5 when that chance is lower), so honest confidence pays best.

Hints are keyed to the mistake: for a choice, the option picked (or ``wrong``); for a number,
``too_low`` / ``too_high``; for a region, ``too_low`` / ``too_high`` (the region sits below or
above the measured value) or ``too_wide``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .manifest import Challenge
from .registry import LevelEntry
from .runner import Runner

DEFAULT_CONFIDENCE = 0.7
MIN_CONFIDENCE = 0.5  # a coin flip (see the module's note on the ends of the range)


class AnswerError(ValueError):
    """A prediction that does not fit the challenge (not a choice, not a number, a bad region)."""


def parse_answer(challenge: Challenge, answer: Any) -> Any:
    """Turn a prediction (text from the command line, or a UI value) into the challenge's type.

    Choices are matched case-insensitively; a region is ``"low,high"`` or a pair.
    """
    if challenge.kind == "choice":
        text = str(answer).strip().lower()
        for option in challenge.choices:
            if option.lower() == text:
                return option
        raise AnswerError(f"{answer!r} is not a choice of {challenge.id!r}; choose one of: {', '.join(challenge.choices)}")
    if challenge.kind == "number":
        try:
            value = float(answer)
        except (TypeError, ValueError):
            raise AnswerError(f"{answer!r} is not a number") from None
        if not math.isfinite(value):
            raise AnswerError("the prediction must be a finite number")
        return value
    parts = answer.split(",") if isinstance(answer, str) else list(answer)
    try:
        lo, hi = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise AnswerError(f"{answer!r} is not a region; give it as LOW,HIGH (e.g. 1.5,2.5)") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise AnswerError(f"region [{lo}, {hi}] must have finite ends with LOW <= HIGH")
    return (lo, hi)


def check_confidence(confidence: Any) -> float:
    """``confidence`` as a float in [MIN_CONFIDENCE, 1]; an :class:`AnswerError` otherwise (NaN too)."""
    try:
        value = float(confidence)
    except (TypeError, ValueError):
        raise AnswerError(f"confidence {confidence!r} is not a number") from None
    if not MIN_CONFIDENCE <= value <= 1.0:
        raise AnswerError(f"confidence {confidence} must be between {MIN_CONFIDENCE:g} (a coin flip) and 1 (certain)")
    return value


def brier_score(confidence: float, correct: bool) -> float:
    """The Brier score, scaled to 0..100, of being ``confidence`` sure and being ``correct``
    (``confidence`` in [MIN_CONFIDENCE, 1], else an :class:`AnswerError`)."""
    confidence = check_confidence(confidence)
    return 100.0 * (1.0 - (confidence - (1.0 if correct else 0.0)) ** 2)


@dataclass
class Verdict:
    """What was predicted, what was measured, and the judgement."""

    challenge: str
    prediction: Any
    confidence: float
    measured: Any
    correct: bool
    score: float
    mistake: str | None  # the hint key, None when correct
    hint: str
    explain: str
    error: float | None = None  # prediction minus measurement, for numbers

    def to_json(self) -> dict[str, Any]:
        return {
            "challenge": self.challenge,
            "prediction": list(self.prediction) if isinstance(self.prediction, tuple) else self.prediction,
            "confidence": self.confidence,
            "measured": self.measured,
            "correct": self.correct,
            "verdict": "correct" if self.correct else "wrong",
            "score": round(self.score, 2),
            "mistake": self.mistake,
            "hint": self.hint,
            "explain": self.explain,
            "error": self.error,
        }


def judge(challenge: Challenge, prediction: Any, measured: Any, confidence: float) -> Verdict:
    """Compare a parsed prediction with a measured outcome."""
    error = None
    if challenge.kind == "choice":  # a tuple measured: a tie, each of its choices is right
        correct = prediction in measured if isinstance(measured, tuple) else prediction == measured
        mistake = None if correct else (prediction if prediction in challenge.hints else "wrong")
    elif challenge.kind == "number":
        error = prediction - measured
        allowed = challenge.tolerance * (abs(measured) if challenge.relative else 1.0)
        correct = abs(error) <= allowed
        mistake = None if correct else ("too_low" if error < 0 else "too_high")
    else:
        lo, hi = prediction
        too_wide = challenge.tolerance > 0 and hi - lo > challenge.tolerance
        correct = lo <= measured <= hi and not too_wide
        mistake = None if correct else ("too_high" if measured < lo else "too_low" if measured > hi else "too_wide")
    hint = "" if mistake is None else challenge.hints.get(mistake, challenge.hints.get("wrong", ""))
    return Verdict(
        challenge=challenge.id,
        prediction=prediction,
        confidence=confidence,
        measured=measured,
        correct=correct,
        score=brier_score(confidence, correct),
        mistake=mistake,
        hint=hint,
        explain=challenge.explain,
        error=error,
    )


@dataclass
class ChallengeRun:
    """One attempt at a challenge: lock a prediction, step the simulation, reveal the verdict.

    The window steps it a few steps a frame so the learner watches the outcome happen; the
    command line and the tests call :meth:`finish`. Both measure the same way.
    """

    entry: LevelEntry
    challenge: Challenge
    backend: str = "numpy"
    prediction: Any = None
    confidence: float = DEFAULT_CONFIDENCE
    runner: Runner | None = None
    verdict: Verdict | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: the sandbox's settings a ``from_sandbox`` challenge starts from (its ``set`` on top);
    #: None: the manifest's defaults
    sandbox: dict[str, Any] | None = None

    def settings(self) -> dict[str, Any]:
        """The parameters the challenge's run is given: its ``set``, over the sandbox's settings
        when it is ``from_sandbox`` and they are known."""
        if self.challenge.from_sandbox and self.sandbox is not None:
            return {**self.sandbox, **self.challenge.set}
        return dict(self.challenge.set)

    def lock(self, answer: Any, confidence: float = DEFAULT_CONFIDENCE) -> None:
        """Fix the prediction and start the simulation the challenge prescribes."""
        confidence = check_confidence(confidence)
        self.prediction = parse_answer(self.challenge, answer)
        self.confidence = confidence
        manifest = self.entry.manifest
        self.runner = Runner(manifest, self.entry.model_class(), self.settings(), seed=self.challenge.seed,
                             backend=self.backend)
        self.params = self.runner.params
        self.verdict = None

    @property
    def progress(self) -> float:
        """Fraction of the prescribed steps taken (1 once the run has stopped)."""
        if self.runner is None:
            return 0.0
        if self.runner.stopped:
            return 1.0
        return min(1.0, self.runner.steps / self.challenge.steps)

    def advance(self, n: int) -> None:
        """Take up to ``n`` more of the prescribed steps; measure and judge after the last."""
        if self.runner is None or self.verdict is not None:
            return
        remaining = self.challenge.steps - self.runner.steps
        self.runner.step(min(n, remaining))
        if self.runner.error is not None:
            raise RuntimeError(f"the simulation failed during challenge {self.challenge.id!r}:\n{self.runner.error}")
        if self.runner.steps >= self.challenge.steps or self.runner.stopped:
            self.verdict = judge(self.challenge, self.prediction, self.measure(), self.confidence)

    def measure(self) -> Any:
        """The outcome, computed from the run by the model's ``measure_<name>`` method."""
        method = getattr(self.runner.model, f"measure_{self.challenge.measure}", None)
        if method is None:
            raise AttributeError(f"{self.entry.id}: the model has no measure_{self.challenge.measure}(run)")
        value = method(self.runner)
        if self.challenge.kind == "choice":
            # one choice, or several that tie (a tuple or list: any of them is right)
            values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
            if not values or any(v not in self.challenge.choices for v in values):
                raise ValueError(f"measure_{self.challenge.measure} returned {value!r}, not one of {self.challenge.choices}")
            return values if len(values) > 1 else values[0]
        return float(value)

    def finish(self) -> Verdict:
        """Run to the end and return the verdict."""
        while self.verdict is None:
            self.advance(self.challenge.steps)
        return self.verdict
