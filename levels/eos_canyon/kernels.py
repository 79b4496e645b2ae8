"""The edge-of-stability canyon: a 2-D loss whose walls steepen as it deepens.

    L(x, y) = f(x) + ½ h(x) y²

``x`` runs along the canyon, ``y`` across it. The wall curvature

    h(x) = h₀ · (1 + e^{s x})^{1/m}            (s = m κ)

is flat (h ≈ h₀) on the plateau behind the start (x ≪ 0) and grows like h₀e^{κx} down the
canyon. The floor's slope −f'(x) = g₀ (σ(−s x) − q), q = (h₀ / h_max)^m, is g₀ on the plateau,
falls like h^{−m} as the walls steepen, and is zero at the floor's minimum x_f, where
h(x_f) = h_max (the canyon's depth, as a sharpness). Closed forms:

    f(x)  = (g₀/s) softplus(−s x) + g₀ q x + const      (f(x_f) = 0)
    h'/h  = κ σ(s x),   h''/h = (κ σ)² + κ s σ(1 − σ),   f'' = g₀ s σ(1 − σ)

Gradient descent with step η is stable across the canyon only while η h < 2. Past that, ``y``
flips sign and grows, and the term ½ h'(x) y² of ∂L/∂x pushes the ball back up the canyon
to where h = 2/η: the sharpness self-stabilises at the edge of stability. The ball then
bounces on a period-2 orbit y = ±y*, x = x*, with ½ h' y*² = −f'. Linearising the step map
of (x, y²) around that orbit gives a stable spiral when f'' + ½h''y*² > 4 (h'/h)(−f'); where h
grows like e^{κx} that reads f'' > 3κ(−f'): the slope must fall faster than h^{−3}. With m = 4
the condition holds all along the canyon, so the ball settles onto the orbit after its first
catapults. Where the floor is shallower than 2/η (h_max < 2/η) the ball simply settles at the
minimum with sharpness h_max. On the plateau nothing is flatter than h₀ to retreat to, so
η > 2/h₀ diverges.

A ball that descends with η h < 2 loses its ``y`` exponentially; real training always keeps
some (round-off, data noise), so every step keeps |y| at least ``noise_floor``. Without it a
ball that reaches the edge would wait, balanced on y ≈ 1e-60, before the bounce starts.

This module has the formulas (written once and compiled twice: for numpy arrays and, by Numba,
for scalars in loops), the :class:`Canyon` constants, and two registered kernels:

* ``canyon_surface``: L and its gradient on a grid (the surface mesh of the view);
* ``canyon_sweep``: gradient descent from one start for many η at once, one invocation per η,
  returning the late sharpness, the late bounce amplitude and whether it diverged (the
  stability map, and the measured "largest stable η").

``python levels/eos_canyon/kernels.py`` prints the throughput of each backend.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim import backends
from sim.kernel import Kernel, compute_program, groups, register

HERE = Path(__file__).parent  # this level's folder: the kernels' GLSL files lie beside this file

#: A loss above this (or a non-finite one) counts as diverged; a bouncing ball stays far below.
DIVERGED_LOSS = 1e10


def _define(jit):
    """The canyon's formulas, once; ``jit`` is the identity (numpy arrays) or ``numba.njit``."""

    @jit
    def softplus(z):
        # log(1 + e^z) without overflow for large z
        return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))

    @jit
    def terms(x, y, c):
        """(loss, ∂L/∂x, ∂L/∂y, and the Hessian [[a, b], [b, h]] as a, b, h) at (x, y)."""
        h0, s, inv_m, g0, q, f_offset = c[0], c[1], c[2], c[3], c[4], c[5]
        z = s * x
        t = np.tanh(0.5 * z)
        sig = 0.5 + 0.5 * t  # σ(s x): how far into the steepening part of the canyon x is
        sig_neg = 0.5 - 0.5 * t  # σ(−s x), computed apart so that it does not cancel to 0
        h = h0 * np.exp(softplus(z) * inv_m)
        dlog_h = s * inv_m * sig  # h'/h = κ σ
        y2 = y * y
        loss = g0 / s * softplus(-z) + g0 * q * x + f_offset + 0.5 * h * y2
        dx = -g0 * (sig_neg - q) + 0.5 * h * dlog_h * y2
        dy = h * y
        a = g0 * s * sig * sig_neg + 0.5 * h * (dlog_h * dlog_h + dlog_h * s * sig_neg) * y2  # f'' + ½h''y²
        b = h * dlog_h * y  # h'y
        return loss, dx, dy, a, b, h

    @jit
    def fields(x, y, c):
        """(loss, ∂L/∂x, ∂L/∂y, sharpness): the sharpness is the Hessian's larger eigenvalue."""
        loss, dx, dy, a, b, h = terms(x, y, c)
        return loss, dx, dy, 0.5 * (a + h) + np.sqrt(0.25 * (a - h) * (a - h) + b * b)

    @jit
    def gd_step(x, y, eta, noise_floor, c):
        """One gradient-descent step; |y| is kept at least ``noise_floor`` (keeping its sign)."""
        _, dx, dy, _ = fields(x, y, c)
        y_new = y - eta * dy
        return x - eta * dx, np.copysign(np.maximum(np.abs(y_new), noise_floor), y_new)

    return terms, fields, gd_step


canyon_terms, canyon_fields, canyon_gd_step = _define(lambda function: function)

try:
    import numba

    _, _fields_nb, _gd_step_nb = _define(numba.njit(cache=True))
except ImportError:  # Numba is optional
    numba = None


@dataclass(frozen=True)
class Canyon:
    """The constants of one canyon; every derived quantity is computed here, once.

    ``plateau`` is h₀ (the flattest wall curvature, behind the start), ``depth`` is h_max
    (the wall curvature at the floor's minimum), ``drive`` is g₀ (the floor's slope on the
    plateau), ``kappa`` the growth rate of ln h down the canyon and ``power`` the m of the
    slope's fall, −f' ∝ h^{−m}.
    """

    plateau: float = 20.0
    depth: float = 80.0
    drive: float = 20.0
    kappa: float = 0.25
    power: float = 4.0

    def __post_init__(self):
        if not self.depth > self.plateau > 0:
            raise ValueError(f"the floor must be sharper than the plateau: depth {self.depth}, plateau {self.plateau}")

    @property
    def s(self) -> float:
        return self.power * self.kappa

    @property
    def floor_x(self) -> float:
        """x_f, where the floor has its minimum and h = depth."""
        return math.log((self.depth / self.plateau) ** self.power - 1.0) / self.s

    def coefficients(self) -> np.ndarray:
        """The float64 vector every backend evaluates the canyon from.

        In order: h₀, s = mκ, 1/m, g₀, q = (h₀/h_max)^m, and the offset that puts L(x_f, 0) at 0.
        """
        q = (self.plateau / self.depth) ** self.power
        xf = self.floor_x
        softplus_floor = math.log1p(math.exp(-self.s * xf))
        f_offset = -(self.drive / self.s * softplus_floor + self.drive * q * xf)
        return np.array([self.plateau, self.s, 1.0 / self.power, self.drive, q, f_offset], dtype=np.float64)

    def fields(self, x, y):
        """(loss, ∂L/∂x, ∂L/∂y, sharpness) at points (scalars or arrays)."""
        with np.errstate(all="ignore"):
            return canyon_fields(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), self.coefficients())

    def wall_curvature(self, x):
        """h(x), the curvature across the canyon on its centre line."""
        with np.errstate(over="ignore"):
            return canyon_terms(np.asarray(x, dtype=np.float64), 0.0, self.coefficients())[5]

    def x_at_curvature(self, h: float) -> float:
        """Where the centre line's curvature is ``h`` (−inf at or below the plateau's)."""
        ratio = (h / self.plateau) ** self.power - 1.0
        return math.log(ratio) / self.s if ratio > 0 else -math.inf

    def hessian(self, x: float, y: float) -> np.ndarray:
        """The exact 2×2 Hessian at one point (the sharpness is its larger eigenvalue)."""
        with np.errstate(over="ignore"):
            _, _, _, a, b, h = canyon_terms(float(x), float(y), self.coefficients())
        return np.array([[a, b], [b, h]], dtype=np.float64)


# ----------------------------------------------------------------------------------------------
# Kernel (a): L and its gradient on a grid


def canyon_surface_reference(xs, ys, coeffs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(L, ∂L/∂x, ∂L/∂y), each ``(len(ys), len(xs))``, on the grid of ``xs`` × ``ys`` (float64)."""
    grid_x, grid_y = np.meshgrid(np.asarray(xs, np.float64), np.asarray(ys, np.float64))
    with np.errstate(all="ignore"):
        loss, dx, dy, _ = canyon_fields(grid_x, grid_y, np.asarray(coeffs, np.float64))
    return loss, dx, dy


if numba is not None:

    @numba.njit(cache=True, parallel=True)
    def _surface_nb(xs, ys, c, out):
        for j in numba.prange(ys.size):
            for i in range(xs.size):
                loss, dx, dy, _ = _fields_nb(xs[i], ys[j], c)
                out[0, j, i] = loss
                out[1, j, i] = dx
                out[2, j, i] = dy


def canyon_surface_numba(xs, ys, coeffs):
    """Numba, parallel over grid rows (float64)."""
    xs = np.ascontiguousarray(xs, np.float64)
    ys = np.ascontiguousarray(ys, np.float64)
    out = np.empty((3, ys.size, xs.size))
    _surface_nb(xs, ys, np.asarray(coeffs, np.float64), out)
    return out[0], out[1], out[2]


SURFACE_LOCAL_SIZE = 64


def _set_canyon_uniform(program, coeffs) -> None:
    program["canyon"].value = tuple(float(v) for v in coeffs)


def canyon_surface_glsl(ctx, xs, ys, coeffs):
    """GLSL compute, one invocation per grid point (float32)."""
    xs = np.ascontiguousarray(xs, np.float32)
    ys = np.ascontiguousarray(ys, np.float32)
    n = xs.size * ys.size
    program = compute_program(ctx, HERE / "canyon_surface.glsl", LOCAL_SIZE=SURFACE_LOCAL_SIZE)
    buffers = [ctx.buffer(xs.tobytes()), ctx.buffer(ys.tobytes()), ctx.buffer(reserve=max(4, 12 * n))]
    try:
        for binding, buffer in enumerate(buffers):
            buffer.bind_to_storage_buffer(binding)
        _set_canyon_uniform(program, coeffs)
        program["nx"].value = xs.size
        program["ny"].value = ys.size
        program.run(groups(n, SURFACE_LOCAL_SIZE))
        ctx.memory_barrier(ctx.SHADER_STORAGE_BARRIER_BIT)
        out = np.frombuffer(buffers[2].read(size=12 * n), dtype=np.float32).reshape(3, ys.size, xs.size)
        return out[0].copy(), out[1].copy(), out[2].copy()
    finally:
        for buffer in buffers:
            buffer.release()


def _surface_example(rng: np.random.Generator) -> tuple:
    canyon = Canyon(depth=float(rng.uniform(40.0, 120.0)))
    xs = np.linspace(-4.0, canyon.floor_x + 2.0, 33)
    ys = np.linspace(-2.0, 2.0, 17)
    return xs, ys, canyon.coefficients()


# float32 evaluation: ~5e-5 absolute where O(100) terms cancel near the floor (L ~ 0),
# ~1e-6 relative elsewhere (measured over many example grids; 4x margin).
CANYON_SURFACE = register(Kernel(
    "canyon_surface", canyon_surface_reference, canyon_surface_numba if numba else None, canyon_surface_glsl, _surface_example,
    rtol=1e-5, atol=2e-4,
    doc="L(x, y) = f(x) + ½h(x)y² and its gradient on a grid, for the canyon's surface mesh."))


def canyon_surface(xs, ys, coeffs, backend: str = "numpy"):
    """(L, ∂L/∂x, ∂L/∂y) on the grid ``xs`` × ``ys`` (arrays ``(len(ys), len(xs))``)."""
    return CANYON_SURFACE(xs, ys, coeffs, backend=backend)


# ----------------------------------------------------------------------------------------------
# Kernel (b): gradient descent for many learning rates at once


def late_window(steps: int) -> int:
    """How many of the last steps a sweep averages over: the last quarter, at least one."""
    return max(1, steps // 4)


def canyon_sweep_reference(etas, coeffs, x0, y0, steps, noise_floor):
    """Run GD from (x0, y0) for ``steps`` steps at every η in ``etas`` (vectorised over η).

    Returns three float64 arrays, one entry per η: the mean sharpness over the last quarter of
    the run, the largest |y| over it (the bounce amplitude; ``noise_floor`` when settled), and
    1.0 where the run diverged (then both others are +inf).
    """
    etas = np.asarray(etas, np.float64)
    c = np.asarray(coeffs, np.float64)
    x = np.full(etas.shape, float(x0))
    y = np.full(etas.shape, float(y0))
    late = late_window(steps)
    sharp_sum = np.zeros(etas.shape)
    amplitude = np.zeros(etas.shape)
    diverged = np.zeros(etas.shape, dtype=bool)
    with np.errstate(all="ignore"):
        for t in range(steps):
            x_new, y_new = canyon_gd_step(x, y, etas, noise_floor, c)
            x = np.where(diverged, x, x_new)  # a diverged run stays where it blew up
            y = np.where(diverged, y, y_new)
            loss, _, _, sharpness = canyon_fields(x, y, c)
            diverged |= ~(np.abs(loss) < DIVERGED_LOSS)
            if t >= steps - late:
                sharp_sum += sharpness
                amplitude = np.maximum(amplitude, np.abs(y))
    mean_sharpness = np.where(diverged, np.inf, sharp_sum / late)
    return mean_sharpness, np.where(diverged, np.inf, amplitude), diverged.astype(np.float64)


if numba is not None:

    @numba.njit(cache=True, parallel=True)
    def _sweep_nb(etas, c, x0, y0, steps, noise_floor, late, out):
        for k in numba.prange(etas.size):
            x, y = x0, y0
            sharp_sum = 0.0
            amplitude = 0.0
            diverged = False
            for t in range(steps):
                x, y = _gd_step_nb(x, y, etas[k], noise_floor, c)
                loss, _, _, sharpness = _fields_nb(x, y, c)
                if not abs(loss) < DIVERGED_LOSS:
                    diverged = True
                    break
                if t >= steps - late:
                    sharp_sum += sharpness
                    amplitude = max(amplitude, abs(y))
            if diverged:
                out[0, k] = np.inf
                out[1, k] = np.inf
                out[2, k] = 1.0
            else:
                out[0, k] = sharp_sum / late
                out[1, k] = amplitude
                out[2, k] = 0.0


def canyon_sweep_numba(etas, coeffs, x0, y0, steps, noise_floor):
    """Numba, one thread-loop per η (float64)."""
    etas = np.ascontiguousarray(etas, np.float64)
    out = np.empty((3, etas.size))
    _sweep_nb(etas, np.asarray(coeffs, np.float64), float(x0), float(y0), int(steps), float(noise_floor),
              late_window(int(steps)), out)
    return out[0], out[1], out[2]


# Few invocations per group: llvmpipe runs one work group per thread, and a sweep has only
# tens to hundreds of rates, each a long serial loop.
SWEEP_LOCAL_SIZE = 8


def canyon_sweep_glsl(ctx, etas, coeffs, x0, y0, steps, noise_floor):
    """GLSL compute, one invocation per η (float32)."""
    etas = np.ascontiguousarray(etas, np.float32)
    n = etas.size
    program = compute_program(ctx, HERE / "canyon_sweep.glsl", LOCAL_SIZE=SWEEP_LOCAL_SIZE)
    buffers = [ctx.buffer(etas.tobytes()), ctx.buffer(reserve=max(4, 12 * n))]
    try:
        for binding, buffer in enumerate(buffers):
            buffer.bind_to_storage_buffer(binding)
        _set_canyon_uniform(program, coeffs)
        program["count"].value = n
        program["steps"].value = int(steps)
        program["late"].value = late_window(int(steps))
        program["start"].value = (float(x0), float(y0))
        program["noise_floor"].value = float(noise_floor)
        program["diverged_loss"].value = DIVERGED_LOSS
        program.run(groups(n, SWEEP_LOCAL_SIZE))
        ctx.memory_barrier(ctx.SHADER_STORAGE_BARRIER_BIT)
        out = np.frombuffer(buffers[1].read(size=12 * n), dtype=np.float32).reshape(3, n).astype(np.float64)
        return out[0], out[1], out[2]
    finally:
        for buffer in buffers:
            buffer.release()


def _sweep_example(rng: np.random.Generator) -> tuple:
    # Rates well inside each regime (settles below 2/depth, bounces, diverges above 2/plateau),
    # and enough steps for the bounce to reach its period-2 orbit: there float32 and float64
    # agree although their catapult transients take different paths.
    canyon = Canyon(depth=80.0)
    etas = np.array([0.015, 0.02, 0.035, 0.045, 0.05, 0.06, 0.07, 0.13, 0.2]) * rng.uniform(0.98, 1.02)
    return etas, canyon.coefficients(), -2.0, 1.0, 2500, 1e-6


# On the attracting orbit, and on the slow creep toward the floor, float32 and float64
# agree to ~2e-5 relative (measured); amplitudes at the noise floor are exact.
CANYON_SWEEP = register(Kernel(
    "canyon_sweep", canyon_sweep_reference, canyon_sweep_numba if numba else None, canyon_sweep_glsl, _sweep_example,
    rtol=1e-4, atol=1e-6,
    doc="Gradient descent on the canyon for many η at once: late sharpness, bounce amplitude, diverged."))


def canyon_sweep(etas, coeffs, x0, y0, steps, noise_floor, backend: str = "numpy"):
    """(late mean sharpness, late bounce amplitude, diverged as 0/1) for each η in ``etas``."""
    return CANYON_SWEEP(etas, coeffs, x0, y0, steps, noise_floor, backend=backend)


def largest_stable_lr(coeffs, x0, y0, steps, noise_floor, lr_range=(0.005, 0.3), backend: str = "numpy",
                      points: int = 48, refinements: int = 2) -> float:
    """The largest η below the first one that diverges within ``steps`` steps.

    A log-spaced sweep of ``points`` rates over ``lr_range`` brackets the first divergence;
    each refinement sweeps the bracket again, linearly, shrinking it ``points``-fold.
    Returns ``lr_range[1]`` if nothing in the range diverges, ``lr_range[0]`` if everything does.
    """
    etas = np.geomspace(lr_range[0], lr_range[1], points)
    diverged = canyon_sweep(etas, coeffs, x0, y0, steps, noise_floor, backend=backend)[2] > 0.5
    if not diverged.any():
        return float(lr_range[1])
    first = int(np.argmax(diverged))
    if first == 0:
        return float(lr_range[0])
    low, high = etas[first - 1], etas[first]
    for _ in range(refinements):
        # The bracket's ends are a stable and a diverging rate, so the first divergence is inside.
        etas = np.linspace(low, high, points)
        diverged = canyon_sweep(etas, coeffs, x0, y0, steps, noise_floor, backend=backend)[2] > 0.5
        first = int(np.argmax(diverged)) if diverged.any() else points - 1
        low, high = etas[max(first - 1, 0)], etas[first]
    return float(low)


# ----------------------------------------------------------------------------------------------
# Benchmark


def main(argv=None) -> None:
    """Print η-sweep throughput (GD steps per second) and surface throughput on each backend."""
    parser = argparse.ArgumentParser(prog="python levels/eos_canyon/kernels.py", description=main.__doc__)
    parser.add_argument("--rates", type=int, default=256, help="learning rates swept at once")
    parser.add_argument("--steps", type=int, default=2000, help="GD steps per rate")
    parser.add_argument("--grid", type=int, default=256, help="surface grid points per side")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    canyon = Canyon()
    coeffs = canyon.coefficients()
    etas = np.geomspace(0.005, 0.3, args.rates)
    xs = np.linspace(-4, canyon.floor_x + 2, args.grid)
    ys = np.linspace(-2, 2, args.grid)
    for backend in backends.available():
        canyon_sweep(etas[:8], coeffs, -2.0, 1.0, 10, 1e-6, backend=backend)  # compile / warm up
        canyon_surface(xs[:4], ys[:4], coeffs, backend=backend)
        sweep_times, surface_times = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            canyon_sweep(etas, coeffs, -2.0, 1.0, args.steps, 1e-6, backend=backend)
            sweep_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            canyon_surface(xs, ys, coeffs, backend=backend)
            surface_times.append(time.perf_counter() - t0)
        sweep = min(sweep_times)
        surface = min(surface_times)
        print(f"{backend:6s} sweep {args.rates} rates x {args.steps} steps: {sweep * 1e3:8.1f} ms "
              f"({args.rates * args.steps / sweep / 1e6:6.2f} M GD steps/s)   "
              f"surface {args.grid}x{args.grid}: {surface * 1e3:7.2f} ms")


if __name__ == "__main__":  # as the game imports it: in the level's package, with its GL context
    from sandbox.kernels import run_level_script

    raise SystemExit(run_level_script(__file__))
