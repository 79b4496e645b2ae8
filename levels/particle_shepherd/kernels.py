"""Diffusion as particle physics: a cloud of particles following the exact score of a mixture.

The forward VP process ``dx = -1/2 beta(t) x dt + sqrt(beta(t)) dw`` turns data into noise; at
time t it has blurred the data to ``x_t = alpha_t x_0 + sigma_t eps`` with

    alpha_t = exp(-1/2 int_0^t beta),   sigma_t^2 = 1 - alpha_t^2,   beta(t) linear in t.

Run backwards from t = 1 (pure noise) to t = 0, three samplers move the particles, all of the
form ``x <- a x + b score(x) + c z`` with a counter-based normal ``z`` (see :mod:`sim.rng`):

* the reverse SDE (Euler-Maruyama), ``dx = [f - g^2 score] dt + g dw``:
  ``a = 1 + beta h / 2, b = beta h, c = sqrt(beta h)``;
* the probability-flow ODE (Euler), ``dx = [f - 1/2 g^2 score] dt``:
  ``a = 1 + beta h / 2, b = beta h / 2, c = 0``;
* Langevin dynamics at a fixed t with step ``eps``: ``a = 1, b = eps, c = sqrt(2 eps)``.

So one kernel, ``particle_step``, serves all three. :class:`ParticleSystem` keeps the particles
where its backend computes: a numpy array for numpy and Numba, a GPU array (``state``) for
GLSL, which the model splats into its density image there; nothing is read back per step.

Run ``python levels/particle_shepherd/kernels.py --bench`` for particle-steps per second on every backend.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim import backends
from sim.kernel import Kernel, compute_program, register
from sim.mixture import (component_block_gl, mixture_score_reference, numba_chunks, preset, score_program,
                      score_update_numba)
from sim.gpu import GpuArray
from sim.rng import dispatch_size, fill_normal_pairs_gl, normal_pairs, normal_pairs_for_key, stream_key

HERE = Path(__file__).parent  # this level's folder: the kernels' GLSL files lie beside this file

SPLAT_LOCAL_SIZE = 256
INIT_COUNTER = 0  # the stream that draws the starting noise; step j (from 1) uses counter j


@dataclass(frozen=True)
class VPSchedule:
    """The variance-preserving noise schedule with ``beta(t)`` linear from ``beta_min`` to ``beta_max``."""

    beta_min: float = 0.1
    beta_max: float = 20.0

    def beta(self, t: float) -> float:
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def beta_integral(self, t: float) -> float:
        """``int_0^t beta(s) ds``."""
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t

    def alpha(self, t: float) -> float:
        """How much of the data survives at time t."""
        return math.exp(-0.5 * self.beta_integral(t))

    def sigma(self, t: float) -> float:
        """The standard deviation of the added noise at time t."""
        return math.sqrt(-math.expm1(-self.beta_integral(t)))


def reverse_coefficients(schedule: VPSchedule, t: float, h: float, stochastic: bool) -> tuple[float, float, float]:
    """``(a, b, c)`` of one Euler step from ``t`` down to ``t - h``: the SDE, or the ODE if not ``stochastic``."""
    beta = schedule.beta(t)
    if stochastic:
        return 1.0 + 0.5 * beta * h, beta * h, math.sqrt(beta * h)
    return 1.0 + 0.5 * beta * h, 0.5 * beta * h, 0.0


def langevin_coefficients(step_size: float) -> tuple[float, float, float]:
    """``(a, b, c)`` of one unadjusted Langevin step ``x + eps score + sqrt(2 eps) z``."""
    return 1.0, step_size, math.sqrt(2.0 * step_size)


# ----------------------------------------------------------------------------------------
# The step kernel


def particle_step_reference(x, table, a: float, b: float, c: float, key: int, first_index: int = 0) -> np.ndarray:
    """numpy oracle: ``a x + b score(x) + c z``, ``z`` the normals of ``key`` for particle indices
    ``first_index, first_index + 1, ...`` (the rows of ``x``)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
    out = a * x + b * mixture_score_reference(x, table)
    if c != 0.0:
        out += c * normal_pairs(key, np.arange(first_index, first_index + len(x)))
    return out


try:
    import numba

    @numba.njit(cache=True, parallel=True)
    def _splat_numba(x, x0, y0, sx, sy, width, height, threads, out):
        """Per-thread histograms (no races), summed at the end."""
        partial = np.zeros((threads, height * width), dtype=np.float32)
        per = (x.shape[0] + threads - 1) // threads
        for t in numba.prange(threads):
            for i in range(t * per, min(x.shape[0], (t + 1) * per)):
                px = math.floor((x[i, 0] - x0) * sx)
                py = math.floor((x[i, 1] - y0) * sy)
                if 0 <= px < width and 0 <= py < height:
                    partial[t, py * width + px] += 1.0
        flat = out.reshape(-1)
        for j in numba.prange(height * width):
            total = np.float32(0.0)
            for t in range(threads):
                total += partial[t, j]
            flat[j] = total

except ImportError:  # Numba is optional
    numba = None


def _f32(*values):
    return tuple(np.float32(v) for v in values)


def _step_numba_in_place(x: np.ndarray, table, a, b, c, key, first_index: int = 0) -> None:
    score_update_numba(x, np.ascontiguousarray(table, dtype=np.float32), *_f32(a, b, c), np.uint64(key),
                       first_index, x, numba_chunks())


def particle_step_numba(x, table, a, b, c, key, first_index: int = 0) -> np.ndarray:
    """Numba version of :func:`particle_step_reference` (float32, returns a new array)."""
    out = np.array(x, dtype=np.float32).reshape(-1, 2)
    _step_numba_in_place(out, table, a, b, c, key, first_index)
    return out


def _run_step_gl(ctx, particles, begin: int, end: int, n_components: int, a, b, c, key) -> None:
    """One step of particles ``begin..end-1`` of SSBO ``particles``; the table is bound
    (:func:`component_block_gl`)."""
    program, dispatch = score_program(ctx, HERE / "particle_step.glsl")
    particles.bind_to_storage_buffer(0)
    program["begin"].value = int(begin)
    program["end"].value = int(end)
    program["component_count"].value = int(n_components)
    program["key"].value = int(key)
    program["drift_scale"].value = float(a)
    program["score_scale"].value = float(b)
    program["noise_scale"].value = float(c)
    program.run(*dispatch(end - begin))


def particle_step_glsl(ctx, x, table, a, b, c, key, first_index: int = 0) -> np.ndarray:
    """GLSL version of :func:`particle_step_reference` (float32, read back)."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 2)
    # an array whose row i is particle first_index + i's, so the shader sees true indices
    block = component_block_gl(ctx, table)
    try:
        with GpuArray(ctx, (first_index + len(x), 2)) as particles:
            particles.write(x, start=first_index)
            _run_step_gl(ctx, particles.buffer, first_index, first_index + len(x), len(table), a, b, c, key)
            return particles.read(len(x), start=first_index)
    finally:
        block.release()


def _step_example(rng: np.random.Generator):
    schedule = VPSchedule()
    t = 0.4
    table = preset("rings").component_table(schedule.alpha(t), schedule.sigma(t))
    x = rng.normal(size=(2000, 2)).astype(np.float32)
    a, b, c = reverse_coefficients(schedule, t, 0.01, stochastic=True)
    return x, table, a, b, c, stream_key(int(rng.integers(0, 2**31)), 5), 1000


register(Kernel(
    name="particle_step",
    reference=particle_step_reference,
    numba=particle_step_numba if numba is not None else None,
    glsl=particle_step_glsl,
    example=_step_example,
    # float32 state and float32 Box-Muller; a step moves particles by O(0.1-1).
    rtol=1e-4,
    atol=1e-4,
    doc="One SDE / probability-flow ODE / Langevin step of particles in an exact mixture score.",
))


# ----------------------------------------------------------------------------------------
# Density splat: particles -> counts per pixel, for drawing the cloud as a density texture


def _splat_scales(extent, width: int, height: int):
    x0, x1, y0, y1 = (float(v) for v in extent)
    return x0, y0, width / (x1 - x0), height / (y1 - y0)


def density_splat_reference(x, extent, width: int, height: int) -> np.ndarray:
    """numpy oracle: particle counts per pixel, (height, width) float32, row 0 at ``y0`` (GL order)."""
    x = np.asarray(x, dtype=np.float32).reshape(-1, 2)
    x0, y0, sx, sy = _f32(*_splat_scales(extent, width, height))
    px = np.floor((x[:, 0] - x0) * sx).astype(np.int64)
    py = np.floor((x[:, 1] - y0) * sy).astype(np.int64)
    inside = (px >= 0) & (px < width) & (py >= 0) & (py < height)
    counts = np.bincount(py[inside] * width + px[inside], minlength=width * height)
    return counts.astype(np.float32).reshape(height, width)


def density_splat_numba(x, extent, width: int, height: int) -> np.ndarray:
    """Numba version of :func:`density_splat_reference`."""
    out = np.empty((height, width), dtype=np.float32)
    x0, y0, sx, sy = _f32(*_splat_scales(extent, width, height))
    _splat_numba(np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 2), x0, y0, sx, sy, width, height,
                 numba.get_num_threads(), out)
    return out


def splat_gl(ctx, particles, count: int, counts, extent, width: int, height: int) -> None:
    """Add the particles of SSBO ``particles`` into the uint SSBO ``counts`` (width x height)."""
    program = compute_program(ctx, HERE / "density_splat.glsl", LOCAL_SIZE=SPLAT_LOCAL_SIZE)
    particles.bind_to_storage_buffer(0)
    counts.bind_to_storage_buffer(2)
    x0, y0, sx, sy = _splat_scales(extent, width, height)
    program["count"].value = int(count)
    program["origin"].value = (x0, y0)
    program["pixels_per_unit"].value = (sx, sy)
    program["size"].value = (int(width), int(height))
    program.run(*dispatch_size(count, SPLAT_LOCAL_SIZE))


def density_splat_glsl(ctx, x, extent, width: int, height: int) -> np.ndarray:
    """GLSL version of :func:`density_splat_reference` (atomic adds, read back)."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 2)
    with GpuArray.from_array(ctx, x) as particles, GpuArray(ctx, (height, width), np.uint32) as counts:
        counts.clear()
        splat_gl(ctx, particles.buffer, len(x), counts.buffer, extent, width, height)
        return counts.read().astype(np.float32)


register(Kernel(
    name="density_splat",
    reference=density_splat_reference,
    numba=density_splat_numba if numba is not None else None,
    glsl=density_splat_glsl,
    example=lambda rng: (rng.normal(size=(5000, 2)).astype(np.float32), (-3.0, 3.0, -2.0, 2.0), 64, 48),
    # a particle exactly on a pixel edge may land on either side of it under float32 rounding
    rtol=0.0,
    atol=1.0,
    doc="Counts of particles per pixel (the cloud's density texture).",
))


# ----------------------------------------------------------------------------------------
# The particle system


class ParticleSystem:
    """``count`` particles in the plane, stored where ``backend`` computes, stepped in place.

    * numpy / numba: ``positions`` is the float32 (count, 2) array itself.
    * glsl: ``state`` is a :class:`sim.gpu.GpuArray` of ``count`` vec2 (std430), bound at
      binding 0 by the step kernel; the model splats its buffer (``gl_buffer``) into the density
      image. ``positions`` and :meth:`sample` read back (only a few thousand particles
      for observables, never all of them every frame). The system owns it: it is made here, on
      the kernels' GL context, and freed by :meth:`release`, which the level's model calls from
      its own ``release()`` (the sandbox calls that when the run ends) or before it makes a new
      system.

    Particle ``i`` starts at the normal pair of index ``i`` under ``stream_key(seed, 0)`` and
    step ``j`` adds the pair of ``stream_key(seed, j)``; so every backend (and a numpy replay
    of a few particles, see :func:`particle_step_reference`) follows the same noise, and a
    step may be done in slices (a frame's worth of particles at a time) without changing it.
    """

    def __init__(self, count: int, backend: str = "numpy", seed: int = 0):
        if count < 1:
            raise ValueError("a particle system needs at least one particle")
        self.count = int(count)
        self.backend = backend if backend in backends.BACKENDS else "numpy"
        if self.backend == "numba" and numba is None:
            self.backend = "numpy"
        self.state: GpuArray | None = None  # the particles on the GPU (GLSL backend)
        self._components = None  # the GL uniform block of the component table
        self._positions: np.ndarray | None = None
        if self.backend == "glsl":
            self.ctx = backends.gl_context()
            self.state = GpuArray(self.ctx, (self.count, 2), np.float32)
        self.reset(seed)

    @property
    def gl_buffer(self):
        """The particles' SSBO (a moderngl buffer) on the GLSL backend, else None."""
        return self.state.buffer if self.state is not None else None

    def reset(self, seed: int = 0) -> None:
        """Scatter the particles as standard normal noise drawn from ``seed``."""
        self.seed = int(seed)
        key = stream_key(self.seed, INIT_COUNTER)
        if self.backend == "glsl":
            fill_normal_pairs_gl(self.ctx, self.state.buffer, key, self.count)
        else:
            self._positions = normal_pairs_for_key(key, self.count, self.backend)

    def step(self, table: np.ndarray, a: float, b: float, c: float, time_step: int,
             begin: int = 0, end: int | None = None) -> None:
        """``x <- a x + b score(x) + c z`` for particles ``begin..end-1`` (all by default).

        ``table`` is the mixture's (K, 8) component table at this noise level; ``z`` is the
        noise of step ``time_step`` (from 1), the same whichever slices a step is done in.
        """
        end = self.count if end is None else min(int(end), self.count)
        if end <= begin:
            return
        key = stream_key(self.seed, time_step)
        table = np.ascontiguousarray(table, dtype=np.float32)
        if self.backend == "glsl":
            self._components = component_block_gl(self.ctx, table, self._components)
            _run_step_gl(self.ctx, self.state.buffer, begin, end, len(table), a, b, c, key)
        elif self.backend == "numba":
            _step_numba_in_place(self._positions[begin:end], table, a, b, c, key, begin)
        else:
            rows = self._positions[begin:end]
            rows[:] = particle_step_reference(rows, table, a, b, c, key, begin)

    def sample(self, n: int) -> np.ndarray:
        """A copy of the first ``n`` particles (a uniformly random subset: particles are i.i.d.)."""
        n = min(int(n), self.count)
        if self.backend == "glsl":
            return self.state.read(n)
        return self._positions[:n].copy()

    @property
    def positions(self) -> np.ndarray:
        """All particles, float32 (count, 2) (a readback on GLSL: for tests and exports)."""
        return self.sample(self.count)

    def splat(self, extent, width: int, height: int) -> np.ndarray:
        """Particle counts per pixel over ``extent`` (CPU backends; on GLSL the model uses :func:`splat_gl`)."""
        if self.backend == "numba":
            return density_splat_numba(self._positions, extent, width, height)
        return density_splat_reference(self.positions, extent, width, height)

    def release(self) -> None:
        """Free the GL buffers (a no-op on CPU backends; idempotent)."""
        for buffer in (self.state, self._components):
            if buffer is not None:
                buffer.release()
        self.state = self._components = None

    def finish(self) -> None:
        """Wait until queued GPU work is done (for timing)."""
        if self.backend == "glsl":
            self.ctx.finish()


# ----------------------------------------------------------------------------------------
# Benchmark: python levels/particle_shepherd/kernels.py --bench


def bench_throughput(counts=(1_000_000,), presets=("pair", "rings", "picture"), backend_list=None,
                     repeats: int = 5, budget_s: float = 2.0) -> list[dict]:
    """Median particle-steps per second of each backend, for each particle count and preset.

    The backends take turns, one timed batch of steps each per round, so that a busy moment
    of a shared machine slows them all alike: the ratios are fair even when the totals drift.
    """
    rows = []
    schedule = VPSchedule()
    a, b, c = reverse_coefficients(schedule, 0.5, 1.0 / 500, stochastic=True)
    for name in presets:
        table = preset(name).component_table(schedule.alpha(0.5), schedule.sigma(0.5))
        for count in counts:
            systems = {backend: ParticleSystem(count, backend) for backend in backend_list or backends.available()}
            steps, times = {}, {backend: [] for backend in systems}
            for backend, system in systems.items():  # compile, warm up, and size a batch to the budget
                start = time.perf_counter()
                system.step(table, a, b, c, 1)
                system.finish()
                steps[backend] = max(1, int(budget_s / repeats / max(time.perf_counter() - start, 1e-6)))
            for _ in range(repeats):
                for backend, system in systems.items():
                    start = time.perf_counter()
                    for j in range(steps[backend]):
                        system.step(table, a, b, c, j + 2)
                    system.finish()
                    times[backend].append((time.perf_counter() - start) / steps[backend])
            for backend, system in systems.items():
                system.release()
                seconds = statistics.median(times[backend])
                rows.append({"backend": backend, "particles": count, "preset": name, "components": len(table),
                             "ms_per_step": 1e3 * seconds, "particle_steps_per_s": count / seconds})
    return rows


def bench_frame(backend: str = "glsl", preset_name: str = "rings", width: int = 1280, height: int = 720,
                frames: int = 15, budget_ms: float = 1000.0 / 60.0) -> dict:
    """The most particles whose frame (one step + a density splat at ``width`` x ``height``)
    keeps a median under ``budget_ms``, by doubling then bisection; with the medians seen.

    The splat is the GL kernel on every backend: GLSL particles never leave the GPU; CPU
    backends upload their positions each frame first, as a view drawing them would.
    """
    schedule = VPSchedule()
    table = preset(preset_name).component_table(schedule.alpha(0.5), schedule.sigma(0.5))
    a, b, c = reverse_coefficients(schedule, 0.5, 1.0 / 500, stochastic=True)
    extent = (-4.0 * width / height, 4.0 * width / height, -4.0, 4.0)
    ctx = backends.gl_context()
    counts_buffer = ctx.buffer(reserve=width * height * 4)

    def median_frame_ms(count: int) -> float:
        system = ParticleSystem(count, backend)
        drawn = system.gl_buffer if backend == "glsl" else ctx.buffer(reserve=count * 8)
        times = []
        for frame in range(frames + 2):
            start = time.perf_counter()
            system.step(table, a, b, c, frame + 1)
            if backend != "glsl":
                drawn.write(system.positions.tobytes())
            counts_buffer.clear()
            splat_gl(ctx, drawn, count, counts_buffer, extent, width, height)
            ctx.finish()
            if frame >= 2:  # the first frames compile and allocate
                times.append(1e3 * (time.perf_counter() - start))
        if drawn is not system.gl_buffer:
            drawn.release()
        system.release()
        return statistics.median(times)

    seen = {}
    low, high = 0, 1 << 14
    while True:
        seen[high] = median_frame_ms(high)
        if seen[high] > budget_ms or high >= 1 << 26:
            break
        low, high = high, high * 2
    while high - low > max(low // 16, 1 << 12):
        middle = (low + high) // 2
        seen[middle] = median_frame_ms(middle)
        low, high = (middle, high) if seen[middle] <= budget_ms else (low, middle)
    counts_buffer.release()
    return {"backend": backend, "preset": preset_name, "components": len(table), "resolution": f"{width}x{height}",
            "max_particles": low, "frame_ms": dict(sorted(seen.items()))}


def _print_bench(args) -> None:
    import platform

    device = "no GL"
    if backends.glsl_reason() is None:
        device = backends.gl_context().info["GL_RENDERER"]
    print(f"# particle_step: {platform.processor() or platform.machine()}, GL renderer: {device}")
    print(f"{'backend':8} {'particles':>10} {'preset':8} {'K':>4} {'ms/step':>9} {'particle-steps/s':>17}")
    for row in bench_throughput(tuple(args.particles), tuple(args.presets), args.backends, repeats=args.repeats):
        print(f"{row['backend']:8} {row['particles']:>10} {row['preset']:8} {row['components']:>4} "
              f"{row['ms_per_step']:>9.2f} {row['particle_steps_per_s'] / 1e6:>15.1f} M")
    if args.frame:
        for backend in args.backends or backends.available():
            if backend == "numpy":
                continue
            result = bench_frame(backend)
            print(f"# frame budget 16.7 ms at {result['resolution']} ({backend}, {result['preset']}, "
                  f"K={result['components']}): at most {result['max_particles']:,} particles")
            print("#   median frame ms by particle count: " +
                  ", ".join(f"{n:,}: {ms:.1f}" for n, ms in result["frame_ms"].items()))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python levels/particle_shepherd/kernels.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--bench", action="store_true", help="print particle-steps/s per backend (medians)")
    parser.add_argument("--frame", action="store_true", help="also search the most particles per 16.7 ms frame")
    parser.add_argument("--particles", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--presets", nargs="+", default=["pair", "rings", "picture"])
    parser.add_argument("--backends", nargs="+", default=None, choices=backends.BACKENDS)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if not args.bench:
        parser.print_help()
        return
    _print_bench(args)


if __name__ == "__main__":  # as the game imports it: in the level's package, with its GL context
    from sandbox.kernels import run_level_script

    raise SystemExit(run_level_script(__file__))
