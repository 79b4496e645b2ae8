"""Helpers for the tests of levels (the built-in ones and modders' alike).

    from sandbox.testing import make_runner, run_challenge
    run = make_runner("eos_canyon", {"lr": 0.05})
    run.step(500)
    assert run.series("sharpness")[-100:].mean() < 2 / 0.05
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Any, Iterator

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


def finished_challenge(level_id: str, challenge_id: str, backend: str = "numpy",
                       levels_dir: str | Path | None = None) -> ChallengeRun:
    """A challenge's run played to its verdict (whatever the prediction): its ``runner`` holds the
    run the answer was measured from, its ``verdict`` the measurement."""
    entry = level(level_id, levels_dir)
    challenge = entry.manifest.challenges[challenge_id]
    attempt = ChallengeRun(entry, challenge, backend=backend)
    attempt.lock(challenge.choices[0] if challenge.kind == "choice" else ("0,0" if challenge.kind == "region" else 0.0))
    attempt.finish()
    return attempt


def measured_outcome(level_id: str, challenge_id: str, backend: str = "numpy",
                     levels_dir: str | Path | None = None) -> Any:
    """What the simulation gives for a challenge (whatever the prediction)."""
    return finished_challenge(level_id, challenge_id, backend, levels_dir).verdict.measured


@contextlib.contextmanager
def headless_app(level_id: str, data_dir: str | Path, params: dict[str, Any] | None = None,
                 size: tuple[int, int] = (1024, 640), paused: bool = False, ui_scale: float = 1.0) -> Iterator:
    """A headless app with ``level_id`` open (its progress kept in ``data_dir``; ``paused``: the run
    does not step by itself), checked for a level error and shut down after::

        with headless_app("eos_canyon", tmp_path) as app:
            open_challenge(app, "settle_or_bounce")
            assert app.host.view.challenge.hide_answers
    """
    from .app import App
    from .progress import Progress

    app = App(size=size, headless=True, level=level_id, params=params, ui_scale=ui_scale,
              progress=Progress(Path(data_dir) / "progress.sqlite3"))
    try:
        if paused:
            app.host.paused = True
        yield app
        assert app.host is not None and app.host.error is None, app.host and app.host.error
    finally:
        app.shutdown()


def open_challenge(app, challenge_id: str | None) -> None:
    """Open a challenge in the Challenges tab as a learner does, before predicting (``choosing``);
    None closes it. Draws the frames the tab needs to show."""
    host = app.host
    if challenge_id is None:
        host.challenges.selected = None
    else:
        host.challenges.select(host.manifest.challenges[challenge_id])
        host.requested_tab = "Challenges"
    app.run_frames(2)  # a tab asked for is selected on the next frame


def record_scene_text(monkeypatch) -> list[tuple]:
    """Record every text a view draws on its panes through ``Frame.text`` (labels, captions):
    a list that fills with ``(text, x0, y0, x1, y1, pane, pane_width, pane_height)`` boxes, where
    the text lands once kept inside its pane. Check them with :func:`overlapping_text` and
    :func:`cut_off_text`::

        boxes = record_scene_text(monkeypatch)
        app.run_frames(3)
        assert not overlapping_text(boxes) and not cut_off_text(boxes)
    """
    from imgui_bundle import imgui

    from .view import Frame

    boxes: list[tuple] = []
    text = Frame.text

    def record(self, draw_list, at, words, *args, **kwargs):
        width, height = self.size
        w, h = imgui.calc_text_size(words)
        x, y = max(min(at[0], width - w - 4.0), 4.0), max(min(at[1], height - h - 4.0), 4.0)
        boxes.append((words, x, y, x + w, y + h, self.pane, width, height))
        return text(self, draw_list, at, words, *args, **kwargs)

    monkeypatch.setattr(Frame, "text", record)
    return boxes


def overlapping_text(boxes, slack: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of recorded texts in one pane that overlap by more than ``slack`` pixels."""
    import itertools

    return [(a[0], b[0]) for a, b in itertools.combinations(boxes, 2) if a[5] == b[5]
            if min(a[3], b[3]) - max(a[1], b[1]) > slack and min(a[4], b[4]) - max(a[2], b[2]) > slack]


def cut_off_text(boxes) -> list[str]:
    """The recorded texts that do not fit their pane (its clip rectangle cuts them)."""
    return [box[0] for box in boxes if box[3] > box[6] + 0.5 or box[4] > box[7] + 0.5]
