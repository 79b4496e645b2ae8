"""Helpers for the tests of levels (the built-in ones and modders' alike).

    from sandbox.testing import make_runner, run_challenge
    run = make_runner("eos_canyon", {"lr": 0.05})
    run.step(500)
    assert run.series("sharpness")[-100:].mean() < 2 / 0.05
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .challenges import ChallengeRun, Verdict
from .registry import LevelEntry, Registry
from .runner import Runner


@functools.lru_cache(maxsize=None)
def _registry(extra: tuple[str, ...]) -> Registry:
    return Registry(extra_dirs=[Path(p) for p in extra])


def level(level_id: str, levels_dir: str | Path | None = None) -> LevelEntry:
    """The level entry for ``level_id`` (built-in, or found in ``levels_dir``)."""
    return _registry((str(levels_dir),) if levels_dir else ()).get(level_id)


def make_runner(level_id: str, params: dict[str, Any] | None = None, seed: int = 0, backend: str = "numpy",
                levels_dir: str | Path | None = None) -> Runner:
    """A fresh runner of the level's model with ``params`` over the defaults."""
    entry = level(level_id, levels_dir)
    return Runner(entry.manifest, entry.model_class(), params, seed=seed, backend=backend)


def run_challenge(level_id: str, challenge_id: str, answer: Any, confidence: float = 0.7,
                  backend: str = "numpy", levels_dir: str | Path | None = None) -> Verdict:
    """Lock ``answer`` in, run the challenge's simulation and return the verdict."""
    entry = level(level_id, levels_dir)
    attempt = ChallengeRun(entry, entry.manifest.challenges[challenge_id], backend=backend)
    attempt.lock(answer, confidence)
    return attempt.finish()


def measured_outcome(level_id: str, challenge_id: str, backend: str = "numpy",
                     levels_dir: str | Path | None = None) -> Any:
    """What the simulation gives for a challenge (whatever the prediction)."""
    entry = level(level_id, levels_dir)
    challenge = entry.manifest.challenges[challenge_id]
    attempt = ChallengeRun(entry, challenge, backend=backend)
    attempt.lock(challenge.choices[0] if challenge.kind == "choice" else ("0,0" if challenge.kind == "region" else 0.0))
    return attempt.finish().measured
