"""Headless frames are deterministic: one level, seed and frame count give one PNG, byte for byte.

Headless apps run on a fixed clock (``sandbox.clock``): a frame's dt, the steps it runs and
ImGui's timers come from frame counts, never from how fast the machine is.
"""

import time

import pytest

from sandbox.app import App
from sandbox.progress import Progress
from sandbox.shots import render_shot

SIZE = (800, 480)


def shot(tmp_path, name, level, frames, **kwargs):
    """A PNG of a fresh headless app (closed before the next: ImGui has one current context)."""
    app = App(level=level, size=SIZE, seed=3, headless=True, progress=Progress(tmp_path / f"{name}.sqlite3"),
              **kwargs)
    try:
        out = tmp_path / f"{name}.png"
        assert render_shot(app, out, frames) is None
        return out.read_bytes()
    finally:
        app.shutdown()


@pytest.mark.parametrize("level, params", [
    ("eos_canyon", {"lr": 0.05}),
    # its clouds are moved in slices sized by measured time above 16384 particles (the level's
    # own wall-clock budget, see BENCHMARKS.md): below that a slice is the whole cloud
    ("particle_shepherd", {"particles": 12000}),
])
def test_two_headless_shots_of_one_seed_are_identical(tmp_path, level, params):
    first = shot(tmp_path, "first", level, 40, params=params)
    second = shot(tmp_path, "second", level, 40, params=params)
    assert first == second


def test_a_slow_machine_draws_the_same_frames(tmp_path, monkeypatch):
    """Wall time that races ahead (every reading a whole second later) changes nothing headless:
    no frame's simulation is cut short by the host's wall-clock budget."""
    quiet = shot(tmp_path, "quiet", "eos_canyon", 40, params={"lr": 0.05}, backend="numpy")
    readings = iter(range(10**9))
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(readings)))
    slow = shot(tmp_path, "slow", "eos_canyon", 40, params={"lr": 0.05}, backend="numpy")
    assert quiet == slow
