"""The Width Dial's numerics: one hidden ReLU layer, its tangent kernels, and two registered kernels.

The network is f(x) = scale · Σᵢ aᵢ ReLU(wᵢ · z(x)), with the input augmented by a constant bias
coordinate, z(x) = (x, 1). In the NTK parameterisation scale = 1/√n and every weight is trained
at the step η; in the mean-field scaling scale = 1/n and every weight at n·η, so that the
function moves as fast as in the NTK case at the start (see ``Scaling``).

Two kernels carry the wide layer, each on three backends (numpy oracle, Numba, GLSL):

* ``ntk_width_forward``: the network's output on a batch of inputs (a sum over the n units);
* ``ntk_width_update``: one full-batch gradient step of every unit, given the residuals.

The tangent kernels are plain numpy: ``analytic_ntk`` (the arc-cosine closed form of the
infinite-width limit) and ``empirical_ntk`` (the finite network's own, Σ ∇f(x)·∇f(x')).

``python levels/ntk_width/kernels.py`` prints the time of one training step and one curve on
each backend at every width.
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

HERE = Path(__file__).parent  # the kernels' GLSL files lie beside this file


def augment(xs) -> np.ndarray:
    """The network's input z(x) = (x, 1) for each x: ``(N, 2)`` float64 (the 1 is the bias input)."""
    xs = np.asarray(xs, dtype=np.float64).reshape(-1)
    return np.stack([xs, np.ones_like(xs)], axis=1)


@dataclass(frozen=True)
class Scaling:
    """How the output is scaled and how fast each weight learns, for a width ``n``.

    ``ntk``: scale 1/√n, step η for every weight: as n grows each weight moves O(1/√n) and the
    network stays near its linearisation (lazy training). ``mean_field``: scale 1/n, step n·η:
    the tangent kernel at the start is the same, but each unit moves O(1) whatever the width.
    """

    name: str
    width: int

    @property
    def scale(self) -> float:
        return 1.0 / math.sqrt(self.width) if self.name == "ntk" else 1.0 / self.width

    def lr_multiplier(self) -> float:
        """A weight's step is this times η: 1 (NTK) or n (mean field)."""
        return 1.0 if self.name == "ntk" else float(self.width)


# ----------------------------------------------------------------------------------------------
# tangent kernels (plain numpy)


def analytic_ntk(z1, z2) -> np.ndarray:
    """The infinite-width NTK of one ReLU layer with standard normal weights, between rows of
    ``z1`` and ``z2``: Θ = ‖z‖‖z'‖ k₁(φ) + (z·z') k₀(φ), φ the angle between z and z',
    k₀ = (π − φ)/2π, k₁ = (sin φ + (π − φ) cos φ)/2π (the arc-cosine kernels of order 0 and 1)."""
    z1, z2 = np.atleast_2d(z1), np.atleast_2d(z2)
    n1 = np.linalg.norm(z1, axis=1)[:, None]
    n2 = np.linalg.norm(z2, axis=1)[None, :]
    dot = z1 @ z2.T
    if z1.shape[1] == 2:  # the sine from the cross product: exact at φ = 0, where arccos loses half the digits
        sin = np.abs(z1[:, :1] * z2[:, 1] - z1[:, 1:] * z2[:, 0])
    else:
        sin = np.sqrt(np.maximum((n1 * n2) ** 2 - dot ** 2, 0.0))
    phi = np.arctan2(sin, dot)
    cos = np.cos(phi)
    k0 = (np.pi - phi) / (2 * np.pi)
    k1 = (np.sin(phi) + (np.pi - phi) * cos) / (2 * np.pi)
    return n1 * n2 * k1 + dot * k0


def empirical_ntk(z1, z2, w, a) -> np.ndarray:
    """The finite network's tangent kernel Σ_θ (η_θ/η) ∂f(z)/∂θ ∂f(z')/∂θ, the same in both
    scalings: (1/n) Σᵢ [ReLU(wᵢ·z) ReLU(wᵢ·z') + (z·z') aᵢ² 1{wᵢ·z > 0} 1{wᵢ·z' > 0}]."""
    z1, z2 = np.atleast_2d(z1), np.atleast_2d(z2)
    p1, p2 = z1 @ w.T, z2 @ w.T
    relu = np.maximum(p1, 0.0) @ np.maximum(p2, 0.0).T
    gates = ((p1 > 0) * (a * a)) @ (p2 > 0).T.astype(np.float64)
    return (relu + (z1 @ z2.T) * gates) / len(a)


# ----------------------------------------------------------------------------------------------
# Kernel (a): the output on a batch of inputs


def forward_reference(zs, w, a, scale) -> np.ndarray:
    """f(z_k) = scale · Σᵢ aᵢ ReLU(wᵢ · z_k) for every row of ``zs`` (float64)."""
    return float(scale) * (np.maximum(np.asarray(zs, np.float64) @ np.asarray(w, np.float64).T, 0.0)
                           @ np.asarray(a, np.float64))


try:
    import numba
except ImportError:  # Numba is optional
    numba = None

if numba is not None:

    @numba.njit(cache=True, parallel=True)
    def _forward_nb(zs, w, a, scale, out):
        for k in numba.prange(zs.shape[0]):
            z0, z1 = zs[k, 0], zs[k, 1]
            total = 0.0
            for i in range(w.shape[0]):  # branch-free: the gates of random units defeat prediction
                total += a[i] * max(w[i, 0] * z0 + w[i, 1] * z1, 0.0)
            out[k] = scale * total

    @numba.njit(cache=True, parallel=True)
    def _update_nb(zs, residual, w, a, scale, lr_a, lr_w, w_out, a_out):
        for i in numba.prange(w.shape[0]):
            w0, w1, ai = w[i, 0], w[i, 1], a[i]
            grad_a = 0.0
            grad_w0 = 0.0
            grad_w1 = 0.0
            for j in range(zs.shape[0]):
                p = w0 * zs[j, 0] + w1 * zs[j, 1]
                gate = residual[j] if p > 0.0 else 0.0  # a select, not a branch
                grad_a += gate * p
                grad_w0 += gate * zs[j, 0]
                grad_w1 += gate * zs[j, 1]
            a_out[i] = ai - lr_a * scale * grad_a
            w_out[i, 0] = w0 - lr_w * scale * ai * grad_w0
            w_out[i, 1] = w1 - lr_w * scale * ai * grad_w1


def forward_numba(zs, w, a, scale) -> np.ndarray:
    """Numba, one thread loop per input (float64)."""
    zs = np.ascontiguousarray(zs, np.float64)
    out = np.empty(zs.shape[0])
    _forward_nb(zs, np.ascontiguousarray(w, np.float64), np.ascontiguousarray(a, np.float64), float(scale), out)
    return out


FORWARD_LOCAL_SIZE = 256


def forward_glsl(ctx, zs, w, a, scale) -> np.ndarray:
    """GLSL compute, one work group per input reducing over the units (float32)."""
    zs = np.ascontiguousarray(zs, np.float32)
    w = np.ascontiguousarray(w, np.float32)
    a = np.ascontiguousarray(a, np.float32)
    k = zs.shape[0]
    program = compute_program(ctx, HERE / "forward.glsl", LOCAL_SIZE=FORWARD_LOCAL_SIZE)
    buffers = [ctx.buffer(zs.tobytes()), ctx.buffer(w.tobytes()), ctx.buffer(a.tobytes()),
               ctx.buffer(reserve=max(4, 4 * k))]
    try:
        for binding, buffer in enumerate(buffers):
            buffer.bind_to_storage_buffer(binding)
        program["units"].value = a.size
        program["scale"].value = float(scale)
        program.run(max(1, k))
        ctx.memory_barrier(ctx.SHADER_STORAGE_BARRIER_BIT)
        return np.frombuffer(buffers[3].read(size=4 * k), np.float32).astype(np.float64)
    finally:
        for buffer in buffers:
            buffer.release()


def _forward_example(rng: np.random.Generator) -> tuple:
    n = int(rng.integers(500, 3000))
    return augment(rng.uniform(-1, 1, 37)), rng.normal(size=(n, 2)), rng.normal(size=n), 1 / math.sqrt(n)


# float32 sums of a few thousand O(1/√n) terms: ~1e-6 absolute (measured); 20x margin.
FORWARD = register(Kernel(
    "ntk_width_forward", forward_reference, forward_numba if numba else None, forward_glsl, _forward_example,
    rtol=1e-4, atol=2e-5, doc="One ReLU layer's output scale·Σ aᵢ ReLU(wᵢ·z) on a batch of inputs."))


def forward(zs, w, a, scale, backend: str = "numpy") -> np.ndarray:
    """The network's output at every row of ``zs`` (``(N,)`` float64)."""
    return np.asarray(FORWARD(zs, w, a, scale, backend=backend), dtype=np.float64)


# ----------------------------------------------------------------------------------------------
# Kernel (b): one gradient step of every unit


def update_reference(zs, residual, w, a, scale, lr_a, lr_w) -> tuple[np.ndarray, np.ndarray]:
    """One gradient step on L = Σⱼ rⱼ²·m/2 with ``residual`` rⱼ = (f(zⱼ) − yⱼ)/m: returns (w, a) after it.

    ∂L/∂aᵢ = scale Σⱼ rⱼ ReLU(wᵢ·zⱼ), ∂L/∂wᵢ = scale aᵢ Σⱼ rⱼ 1{wᵢ·zⱼ > 0} zⱼ (with the old aᵢ).
    """
    zs, w, a = (np.asarray(v, np.float64) for v in (zs, w, a))
    r = np.asarray(residual, np.float64)
    p = zs @ w.T  # (m, n)
    grad_a = float(scale) * (r @ np.maximum(p, 0.0))
    grad_w = float(scale) * a[:, None] * (((p > 0) * r[:, None]).T @ zs)
    return w - float(lr_w) * grad_w, a - float(lr_a) * grad_a


def update_numba(zs, residual, w, a, scale, lr_a, lr_w) -> tuple[np.ndarray, np.ndarray]:
    """Numba, parallel over units (float64)."""
    w = np.ascontiguousarray(w, np.float64)
    a = np.ascontiguousarray(a, np.float64)
    w_out, a_out = np.empty_like(w), np.empty_like(a)
    _update_nb(np.ascontiguousarray(zs, np.float64), np.ascontiguousarray(residual, np.float64), w, a,
               float(scale), float(lr_a), float(lr_w), w_out, a_out)
    return w_out, a_out


UPDATE_LOCAL_SIZE = 64


def update_glsl(ctx, zs, residual, w, a, scale, lr_a, lr_w) -> tuple[np.ndarray, np.ndarray]:
    """GLSL compute, one invocation per unit (float32)."""
    zs = np.ascontiguousarray(zs, np.float32)
    r = np.ascontiguousarray(residual, np.float32)
    w = np.ascontiguousarray(w, np.float32)
    a = np.ascontiguousarray(a, np.float32)
    n = a.size
    program = compute_program(ctx, HERE / "update.glsl", LOCAL_SIZE=UPDATE_LOCAL_SIZE)
    buffers = [ctx.buffer(zs.tobytes()), ctx.buffer(r.tobytes()), ctx.buffer(w.tobytes()), ctx.buffer(a.tobytes())]
    try:
        for binding, buffer in enumerate(buffers):
            buffer.bind_to_storage_buffer(binding)
        program["units"].value = n
        program["points"].value = zs.shape[0]
        program["scale"].value = float(scale)
        program["lr_a"].value = float(lr_a)
        program["lr_w"].value = float(lr_w)
        program.run(groups(n, UPDATE_LOCAL_SIZE))
        ctx.memory_barrier(ctx.SHADER_STORAGE_BARRIER_BIT)
        w_new = np.frombuffer(buffers[2].read(size=8 * n), np.float32).reshape(n, 2).astype(np.float64)
        a_new = np.frombuffer(buffers[3].read(size=4 * n), np.float32).astype(np.float64)
        return w_new, a_new
    finally:
        for buffer in buffers:
            buffer.release()


def _update_example(rng: np.random.Generator) -> tuple:
    n = int(rng.integers(500, 3000))
    m = int(rng.integers(3, 11))
    return (augment(np.linspace(-1, 1, m)), rng.normal(scale=0.1, size=m), rng.normal(size=(n, 2)),
            rng.normal(size=n), 1 / math.sqrt(n), 1.0, 1.0)


# float32 weights of size O(1) moved by O(1e-2): ~1e-7 absolute (measured); a pre-activation
# within float32 round-off of 0 would flip a gate, which random examples do not hit.
UPDATE = register(Kernel(
    "ntk_width_update", update_reference, update_numba if numba else None, update_glsl, _update_example,
    rtol=1e-4, atol=1e-5, doc="One full-batch gradient step of every unit of a wide ReLU layer."))


def update(zs, residual, w, a, scale, lr_a, lr_w, backend: str = "numpy") -> tuple[np.ndarray, np.ndarray]:
    """(w, a) after one gradient step given the residuals (f − y)/m at the inputs ``zs``."""
    w_new, a_new = UPDATE(zs, residual, w, a, scale, lr_a, lr_w, backend=backend)
    return np.asarray(w_new, np.float64), np.asarray(a_new, np.float64)


# ----------------------------------------------------------------------------------------------
# Benchmark


def main(argv=None) -> None:
    """Print the time of one training step (forward on the data, then the update) and of one
    curve (the output at 161 inputs) at every width, on each backend."""
    parser = argparse.ArgumentParser(prog="python levels/ntk_width/kernels.py", description=main.__doc__)
    parser.add_argument("--points", type=int, default=6, help="training points")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    zs = augment(np.linspace(-1, 1, args.points))
    grid = augment(np.linspace(-1, 1, 161))
    y = np.sin(3 * zs[:, 0])
    for backend in backends.available():
        for n in (64, 1024, 4096, 16384):
            w, a = rng.normal(size=(n, 2)), rng.normal(size=n)
            scale = 1 / math.sqrt(n)
            forward(zs, w, a, scale, backend=backend)  # compile / warm up
            update(zs, y, w, a, scale, 1.0, 1.0, backend=backend)
            t0 = time.perf_counter()
            for _ in range(args.repeats):
                r = (forward(zs, w, a, scale, backend=backend) - y) / len(y)
                w, a = update(zs, r, w, a, scale, 1.0, 1.0, backend=backend)
            step = (time.perf_counter() - t0) / args.repeats
            t0 = time.perf_counter()
            for _ in range(args.repeats):
                forward(grid, w, a, scale, backend=backend)
            curve = (time.perf_counter() - t0) / args.repeats
            print(f"{backend:6s} width {n:6d}: step {step * 1e3:7.3f} ms   curve of 161 points {curve * 1e3:7.3f} ms")


if __name__ == "__main__":  # as the game imports it: in the level's package, with its GL context
    from sandbox.kernels import run_level_script

    raise SystemExit(run_level_script(__file__))
