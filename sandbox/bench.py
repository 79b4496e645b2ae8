"""``continuous-function bench``: frame times of a level in the real loop, and its model's throughput."""

from __future__ import annotations

import time

import numpy as np


def _percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = np.asarray(samples_s) * 1e3
    return {"median_ms": round(float(np.median(ms)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "mean_ms": round(float(ms.mean()), 3)}


def bench_level(entry, args, params: dict) -> dict:
    """Frame-time median and p99 over ``args.frames`` headless frames at ``args.size``, then the
    model's throughput alone (steps per second, and work units per second)."""
    from .app import App
    from .clock import RealClock
    from .runner import Runner

    if args.frames < 1:
        raise ValueError(f"a benchmark of {args.frames} frames measures nothing; give at least 1")

    # a real clock, as in the window: a frame's simulation stops at the host's wall-time budget
    app = App(size=args.size, headless=True, level=entry.id, levels_dirs=args.levels_dir, backend=args.backend,
              params=params, clock=RealClock())
    backend = app.backend
    try:
        app.run_frames(30)  # warm-up: JIT, shader compiles, first uploads
        app.frame_times.clear()
        app.run_frames(args.frames)
        frames = _percentiles(app.frame_times)
        error = app.host.error if app.host else None
    finally:
        app.shutdown()
    runner = Runner(entry.manifest, entry.model_class(), params, backend=backend)
    runner.step(5)
    samples = []
    deadline = time.perf_counter() + 3.0
    while time.perf_counter() < deadline and len(samples) < 2000 and not runner.stopped:
        t0 = time.perf_counter()
        runner.step(1)
        samples.append(time.perf_counter() - t0)
    step_s = float(np.median(samples)) if samples else float("nan")
    model = runner.model
    result = {
        "level": entry.id,
        "backend": backend,
        "size": f"{args.size[0]}x{args.size[1]}",
        "frames": args.frames,
        "frame_median_ms": frames["median_ms"],
        "frame_p99_ms": frames["p99_ms"],
        "steps_per_second_setting": entry.manifest.steps_per_second,
        "model_step_median_ms": round(step_s * 1e3, 4),
        "model_steps_per_s": round(1.0 / step_s, 1) if step_s > 0 else None,
        "work_unit": model.work_unit,
        "work_per_s": round(model.work_per_step() / step_s, 1) if step_s > 0 else None,
        "error": error,
    }
    extra = getattr(model, "benchmark", None)
    if callable(extra):
        result["model_benchmark"] = extra()
    return result


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux's /proc; None where it cannot be read)."""
    import os

    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _mb(n: int | None) -> float | None:
    return None if n is None else round(n / 1e6, 2)


def memory_level(entry, args, params: dict) -> dict:
    """Memory growth, for a long session and for a kiosk: resident memory after ``args.cycles``
    headless cycles of opening the level, showing each tab, starting one of its challenges,
    reloading it every third time and closing it (after a warm-up that starts each challenge at each
    phase of that cycle: caches, JIT, shaders), then after ``args.steps`` model steps in chunks (histories are bounded, so the
    growth should stop once they fill)."""
    import gc

    from .app import App
    from .progress import Progress
    from .runner import Runner

    tabs = ("Challenges", "Math", "Code", "About", "Play")
    app = App(size=args.size, headless=True, levels_dirs=args.levels_dir, backend=args.backend,
              progress=Progress(":memory:"))
    backend = app.backend

    def cycle(i: int) -> None:
        app.open_level(entry.id, params)
        app.run_frames(3)
        for tab in tabs:
            if app.host is not None:
                app.host.requested_tab = tab
            app.run_frames(3)
        host = app.host
        if host is not None and host.manifest is not None and host.manifest.challenges:
            challenge = list(host.manifest.challenges.values())[i % len(host.manifest.challenges)]
            host.challenges.select(challenge)
            host.challenges.lock(challenge)  # a challenge's own run, as a learner starts one
            app.run_frames(3)
        if i % 3 == 0 and app.host is not None:
            app.host.reload()
            app.run_frames(3)
        app.close_level()
        app.run_frames(2)

    # warm-up: every challenge started once at each phase of the reload cycle (first runs compile
    # kernels and shaders and fill caches; that is not growth)
    warmup = 3 * max(1, len(entry.manifest.challenges))
    try:
        for i in range(warmup):
            cycle(i)
        gc.collect()
        start, marks = resident_bytes(), []
        t0 = time.perf_counter()
        for i in range(args.cycles):
            cycle(i)
            if (i + 1) % max(1, args.cycles // 4) == 0:
                gc.collect()
                marks.append(_mb(resident_bytes()))
        cycles_s = time.perf_counter() - t0
        end = resident_bytes()
    finally:
        app.shutdown()
    runner = Runner(entry.manifest, entry.model_class(), params, backend=backend)
    runner.step(100)
    chunk = max(1, args.steps // 4)
    steps_start, step_marks = resident_bytes(), []
    t0 = time.perf_counter()
    while runner.steps < args.steps + 100 and not runner.stopped:
        runner.step(min(chunk, args.steps + 100 - runner.steps))
        step_marks.append(_mb(resident_bytes()))
    steps_s = time.perf_counter() - t0
    steps_end = resident_bytes()
    per_100 = None if start is None or not args.cycles else (end - start) / args.cycles * 100
    per_million = None if steps_start is None or runner.steps <= 100 else (
        (steps_end - steps_start) / (runner.steps - 100) * 1e6)
    return {
        "level": entry.id,
        "backend": backend,
        "warmup_cycles": warmup,
        "cycles": args.cycles,
        "cycles_s": round(cycles_s, 1),
        "rss_after_warmup_mb": _mb(start),
        "rss_marks_mb": marks,
        "rss_growth_per_100_cycles_mb": _mb(per_100),
        "steps": runner.steps - 100,
        "steps_s": round(steps_s, 1),
        "rss_step_marks_mb": step_marks,
        "rss_growth_per_million_steps_mb": _mb(per_million),
        "history_values_kept": len(runner.series_steps()),
        "history_spacing": runner.recorded.spacing,
        "stopped": runner.stopped,
    }
