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
