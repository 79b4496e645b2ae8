"""The runner's scalar histories stay in bounded memory however long a run goes, and what they
keep is right: each value is the one recorded at its step, the whole run stays covered, and the
recent past stays step by step."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from sandbox.runner import History
from sandbox.testing import make_runner


@pytest.mark.parametrize("total", [1, 7, 64, 65, 1000, 54_321])
def test_a_thinned_history_keeps_every_value_at_its_own_step(total):
    history = History(["step", "minus", "square"], max_points=64, dense=8)
    for step in range(total):
        history.append(step, [step, -step, step * step])
    steps = history.steps()
    assert len(history) == len(steps) <= 64
    assert steps[0] == 0 and steps[-1] == total - 1, "the whole run is covered"
    assert np.all(np.diff(steps) > 0)
    np.testing.assert_array_equal(history.view("step"), steps)
    np.testing.assert_array_equal(history.view("minus"), -steps)
    np.testing.assert_array_equal(history.view("square"), steps.astype(float) ** 2)
    recent = steps[-min(8, total):]
    assert np.all(np.diff(recent) == 1), "the last steps are kept step by step"
    older = steps[steps <= total - 1 - 8]
    if len(older) > 1:
        assert np.diff(older).max() <= history.spacing, "the older part evenly covered"
        assert len(history) >= 64 // 4, "thinned to half, not to nothing"


def test_a_view_handed_out_keeps_its_values_when_the_history_is_thinned():
    history = History(["x"], max_points=16, dense=2)
    for step in range(16):
        history.append(step, [float(step)])
    before = history.view("x")
    kept = before.copy()
    for step in range(16, 200):
        history.append(step, [float(step)])
    np.testing.assert_array_equal(before, kept)
    assert not before.flags.writeable


def test_a_long_history_stays_under_its_memory_bound():
    names = [f"s{i}" for i in range(20)]
    history = History(names, max_points=4096, dense=256)
    row = np.arange(len(names), dtype=np.float64)
    tracemalloc.start()
    for step in range(100_000):  # 24 times what it may keep
        history.append(step, row)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    bound = (len(names) + 1) * 4096 * 8  # values and their steps, at most max_points of each
    assert held <= 1.05 * bound, f"{held / 1e6:.2f} MB held, bound {bound / 1e6:.2f} MB"
    # while thinning, the old buffers and the new ones (a view handed out keeps the old values)
    assert peak < 3 * bound, f"peak {peak / 1e6:.2f} MB while thinning, bound {bound / 1e6:.2f} MB"


def test_a_run_past_its_bound_reads_the_same_values_as_an_unbounded_one():
    bounded = make_runner("eos_canyon", backend="numpy")
    bounded.max_points = 128
    bounded.reset()
    full = make_runner("eos_canyon", backend="numpy")
    bounded.step(2000)
    full.step(2000)
    steps = bounded.series_steps()
    assert len(steps) <= 128 and steps[0] == 0 and steps[-1] == bounded.steps == 2000
    for name in bounded.history:
        np.testing.assert_array_equal(bounded.series(name), full.series(name)[steps], err_msg=name)
    assert bounded.latest() == full.latest()
    np.testing.assert_array_equal(full.series_steps(), np.arange(2001))  # under the bound: every step


def test_json_histories_name_the_step_of_each_value():
    run = make_runner("eos_canyon", backend="numpy")
    run.max_points = 64
    run.reset()
    run.step(500)
    out = run.to_json(history="full")
    assert out["history_steps"] == run.series_steps().tolist()
    assert all(len(v) == len(out["history_steps"]) for v in out["history"].values())
    spread = run.to_json(history=10)
    assert len(spread["history_steps"]) <= 10 and spread["history_steps"][-1] == 500
    assert "history" not in run.to_json(history=None)
