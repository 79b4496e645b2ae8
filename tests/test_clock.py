"""The one clock: fixed headless, real in a window; budgets; what reads it; the idle loop."""

import time

import pytest
from imgui_bundle import imgui

from sandbox import clock
from sandbox.clock import Budget, Clock, FixedClock, RealClock


def test_a_fixed_clock_moves_only_when_ticked():
    fixed = FixedClock(step=0.25)
    assert fixed.deterministic and isinstance(fixed, Clock)
    assert fixed.now() == 0.0
    assert fixed.tick() == 0.25 and fixed.now() == 0.25
    assert fixed.tick(0.5) == 0.5 and fixed.now() == 0.75
    time.sleep(0.01)
    assert fixed.now() == 0.75
    fixed.advance(10)
    assert fixed.now() == 10.75
    with pytest.raises(ValueError):
        FixedClock(step=0)


def test_a_real_clock_ticks_the_time_since_the_last_tick():
    real = RealClock()
    assert not real.deterministic and isinstance(real, Clock)
    real.tick()
    time.sleep(0.02)
    assert 0.015 < real.tick() < 1.0
    assert real.tick(1 / 60) == 1 / 60  # a forced step, time still measured
    assert real.now() > 0.015


def test_a_budget_counts_units_on_a_fixed_clock_and_seconds_on_a_real_one():
    fixed = Budget(seconds=0.001, units=3, clock=FixedClock())
    time.sleep(0.005)  # wall time is spent, but a fixed clock does not see it
    assert not fixed.exhausted and fixed.elapsed == 0.0
    assert not fixed.spend() and not fixed.spend() and fixed.spend()
    assert fixed.spent == 3 and fixed.deterministic
    unlimited = Budget(seconds=0.001, clock=FixedClock())
    assert not unlimited.spend(10**6)
    real = Budget(seconds=0.001, units=1000, clock=RealClock())
    assert not real.exhausted
    time.sleep(0.005)
    assert real.exhausted and real.spent == 0 and real.elapsed >= 0.001


def test_outside_a_frame_the_current_clock_is_fixed_and_use_sets_it():
    assert clock.current().deterministic
    real = RealClock()
    with clock.use(real) as active:
        assert active is real and clock.current() is real
        assert not Budget(1.0, 5).deterministic  # a budget takes the current clock
    assert clock.current().deterministic


def test_headless_apps_run_on_a_fixed_clock_that_frames_advance(make_app):
    app = make_app(level="eos_canyon", backend="numpy")
    assert isinstance(app.clock, FixedClock) and app.host.clock is app.clock
    seen = []
    update = app.host.update
    app.host.update = lambda dt: (seen.append((dt, clock.current())), update(dt))[-1]
    app.run_frames(3, dt=0.05)
    assert app.clock.now() == pytest.approx(0.15) and app.host.elapsed == pytest.approx(0.15)
    assert seen == [(0.05, app.clock)] * 3  # the frame's clock is the current one inside it
    assert imgui.get_io().delta_time == pytest.approx(0.05)  # ImGui's timers follow the clock
    app.frame()  # no dt: the fixed clock's step
    assert app.clock.now() == pytest.approx(0.15 + 1 / 60)
    assert clock.current() is not app.clock  # only inside frames


def test_an_app_takes_the_clock_it_is_given(make_app):
    real = RealClock()
    app = make_app(clock=real)
    app.run_frames(2)
    assert app.clock is real and app.frame_count == 2


def test_a_fixed_clock_steps_by_counts_however_slow_each_step_is(make_app, monkeypatch):
    """Steps slower than the host's whole wall-clock budget: headless, every step still runs."""
    app = make_app(level="eos_canyon", backend="numpy")
    app.run_frames(2)
    runner = app.host.runner
    step = runner.step

    def slow(n=1):
        time.sleep(0.02)  # more than STEP_BUDGET_S
        return step(n)

    monkeypatch.setattr(runner, "step", slow)
    app.host.change_speed(2)  # 4x: four steps a frame at 60 steps a second
    before = runner.steps
    app.run_frames(3)
    assert runner.steps - before == 12


def test_a_real_clock_stops_a_frames_steps_at_the_wall_clock_budget(make_app, monkeypatch):
    app = make_app(level="eos_canyon", backend="numpy", clock=RealClock())
    app.run_frames(2)
    runner = app.host.runner
    step = runner.step

    def slow(n=1):
        time.sleep(0.02)
        return step(n)

    monkeypatch.setattr(runner, "step", slow)
    app.host.change_speed(2)
    before = runner.steps
    app.run_frames(3)
    assert runner.steps - before == 3  # one step a frame: the budget ran out after it


def test_a_toast_lasts_its_seconds_of_frames(make_app):
    app = make_app()
    app.notify("hello", seconds=0.5)
    app.run_frames(29)
    assert app.toast is not None
    app.run_frames(2)
    assert app.toast is None


def test_the_kiosk_timeout_and_the_file_watcher_read_the_clock(make_app):
    app = make_app(level="eos_canyon", backend="numpy", idle_reset_s=30)
    app.run_frames(2)
    scans = []
    app.host._scan = lambda: scans.append(1) or dict(app.host._stamps)
    app.run_frames(3)
    assert scans == []  # the watcher looks twice a second of the clock's time
    app.clock.advance(0.6)
    app.run_frames(1)
    assert scans == [1]
    app.inject("mouse_pos", 300, 300)  # a visitor
    app.run_frames(2)
    app.clock.advance(31)
    app.run_frames(1)
    assert app.host is None  # then left alone for 30 s of the clock: back to the atlas


def test_an_idle_app_sleeps_until_input_and_a_playing_level_does_not(make_app, monkeypatch):
    from sandbox import app as app_module

    app = make_app()
    app.atlas.thumbnails.work = lambda order, render=True: False  # the pictures are done (their own tests)
    waits = []
    monkeypatch.setattr(app.window, "wait", waits.append)
    app.run_frames(40)  # the first frames settle ImGui (they count as input)
    assert not app.animating()  # the atlas does not move by itself
    app._pace(time.perf_counter())
    assert waits == [pytest.approx(app_module.IDLE_WAKE_S, abs=0.01)]
    app.request_frames(2)
    assert app.animating()
    app._pace(time.perf_counter())
    app._pace(time.perf_counter())
    assert not app.animating()
    app.notify("soon gone", seconds=0.2)
    app._frames_wanted = 0
    app._pace(time.perf_counter())
    assert waits[-1] == pytest.approx(0.21, abs=0.01)  # it wakes when the toast is due to go
    app.open_level("eos_canyon")
    assert app.host.animating and app.animating()  # the run plays
    app.host.paused = True
    assert not app.host.animating


def test_input_during_a_sleep_keeps_frames_coming_while_imgui_settles(make_app, monkeypatch):
    from sandbox import app as app_module

    app = make_app()
    app.atlas.thumbnails.work = lambda order, render=True: False  # the pictures are done (their own tests)
    app.run_frames(40)
    monkeypatch.setattr(app.window, "wait", lambda timeout: imgui.get_io().add_mouse_pos_event(10.0, 20.0))
    assert not app.animating()
    app._pace(time.perf_counter())
    assert app.animating()
    app.clock.advance(app_module.SETTLE_S + 0.01)
    assert not app.animating()
