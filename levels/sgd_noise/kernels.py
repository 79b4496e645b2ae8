"""The level's kernel: many SGD runs side by side on the two-minimum loss, on three backends.

The loss is an average over a finite dataset of ``N`` examples. Example ``i`` is the same
landscape shifted by ``s_i``: ``ℓ_i(θ) = L0(θ − s_i)``, with

    L0(u) = ½ k |u|² − d_s exp(−|u − c_s|² / 2w_s²) − d_f exp(−|u − c_f|² / 2w_f²),

a narrow well (the sharp minimum) and a wide one (the flat minimum) in a shallow bowl. The full
loss is ``L(θ) = (1/N) Σ ℓ_i(θ)``; a mini-batch gradient averages ``∇ℓ_i`` over ``|B|`` examples,
so its noise grows with the curvature where the run is, as a network's does.

Each run (a "particle") has its own learning rate and batch size. Its batch at step ``t`` is
drawn with counter-based random bits (:mod:`sim.rng`'s PCG hash): draw ``j`` of particle ``p``
reads ``pcg(key_t ^ pcg(p·N + j))`` with ``key_t = stream_key(seed, t)``. Without replacement
the batch is the first ``|B|`` entries of a partial Fisher-Yates shuffle of ``0 .. N − 1``;
with replacement each draw is ``bits mod N``. The integer draws are the same on every backend,
so numpy, Numba and the GPU pick the same batches and agree up to float rounding (float32 on the
GPU).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.kernel import Kernel, compute_program, groups, register
from sim.rng import pcg_hash, stream_key

HERE = Path(__file__).parent
LOCAL_SIZE = 64
MAX_EXAMPLES = 64  # the GPU shuffles a local array of this size

#: The landscape: bowl k, sharp well (centre, width, depth), flat well (centre, width, depth).
BOWL = 0.1
SHARP_C, SHARP_W, SHARP_D = (-1.0, 0.0), 0.2, 1.8
FLAT_C, FLAT_W, FLAT_D = (1.0, 0.0), 0.8, 1.0


def loss0(u: np.ndarray) -> np.ndarray:
    """L0 at the points ``u`` (``(..., 2)``)."""
    u = np.asarray(u, np.float64)
    ds = ((u - SHARP_C) ** 2).sum(-1)
    df = ((u - FLAT_C) ** 2).sum(-1)
    return (0.5 * BOWL * (u ** 2).sum(-1) - SHARP_D * np.exp(-ds / (2 * SHARP_W ** 2))
            - FLAT_D * np.exp(-df / (2 * FLAT_W ** 2)))


def grad0(u: np.ndarray) -> np.ndarray:
    """∇L0 at the points ``u`` (``(..., 2)``)."""
    u = np.asarray(u, np.float64)
    a, b = u - SHARP_C, u - FLAT_C
    es = SHARP_D * np.exp(-(a ** 2).sum(-1, keepdims=True) / (2 * SHARP_W ** 2)) / SHARP_W ** 2
    ef = FLAT_D * np.exp(-(b ** 2).sum(-1, keepdims=True) / (2 * FLAT_W ** 2)) / FLAT_W ** 2
    return BOWL * u + es * a + ef * b


def step_keys(seed: int, first: int, steps: int) -> np.ndarray:
    """The per-step keys of steps ``first .. first + steps − 1`` of the run seeded ``seed``."""
    return np.array([stream_key(seed, first + t) for t in range(int(steps))], dtype=np.uint64)


def descend_reference(positions, lrs, batches, shifts, seed: int, first: int, steps: int, replace: bool):
    """numpy oracle: ``steps`` SGD steps for every particle; returns the new ``(P, 2)`` positions.

    ``lrs`` and ``batches`` are per particle (a batch size is clipped to ``1 .. N``); ``shifts``
    is the dataset ``(N, 2)``; ``first`` is the first step's counter (its batches' key)."""
    theta = np.array(positions, dtype=np.float64).reshape(-1, 2)
    lrs = np.broadcast_to(np.asarray(lrs, np.float64), (len(theta),))
    shifts = np.asarray(shifts, np.float64).reshape(-1, 2)
    n = len(shifts)
    sizes = np.clip(np.broadcast_to(np.asarray(batches, np.int64), (len(theta),)), 1, n)
    rows = np.arange(len(theta))
    base = rows.astype(np.uint64) * np.uint64(n)
    for key in step_keys(seed, first, steps):
        perm = np.tile(np.arange(n), (len(theta), 1))
        total = np.zeros_like(theta)
        for j in range(int(sizes.max())):
            bits = pcg_hash(np.uint64(key) ^ pcg_hash(base + np.uint64(j)))
            active = j < sizes
            if replace:
                pick = (bits % np.uint64(n)).astype(np.int64)
            else:
                r = j + (bits % np.uint64(max(n - j, 1))).astype(np.int64)
                r = np.minimum(r, n - 1)
                pj, pr = perm[rows, j].copy(), perm[rows, r].copy()
                perm[rows, j], perm[rows, r] = pr, pj
                pick = perm[rows, j]
            total += np.where(active[:, None], grad0(theta - shifts[pick]), 0.0)
        theta = theta - lrs[:, None] * total / sizes[:, None]
    return theta


try:
    import numba

    from sim.rng import pcg_hash_jit

    @numba.njit(cache=True, parallel=True)
    def _descend_jit(theta, lrs, sizes, shifts, keys, replace, consts):
        n = shifts.shape[0]
        k, scx, scy, sw, sd, fcx, fcy, fw, fd = consts
        for p in numba.prange(theta.shape[0]):
            x, y = theta[p, 0], theta[p, 1]
            perm = np.empty(n, np.int64)
            size = min(max(sizes[p], 1), n)
            for t in range(keys.shape[0]):
                for q in range(n):
                    perm[q] = q
                gx, gy = 0.0, 0.0
                for j in range(size):
                    bits = pcg_hash_jit(keys[t] ^ pcg_hash_jit(np.uint64(p * n + j)))
                    if replace:
                        pick = np.int64(bits % np.uint64(n))
                    else:
                        r = j + np.int64(bits % np.uint64(n - j))
                        tmp = perm[j]
                        perm[j] = perm[r]
                        perm[r] = tmp
                        pick = perm[j]
                    ux, uy = x - shifts[pick, 0], y - shifts[pick, 1]
                    ax, ay, bx, by = ux - scx, uy - scy, ux - fcx, uy - fcy
                    es = sd * np.exp(-(ax * ax + ay * ay) / (2 * sw * sw)) / (sw * sw)
                    ef = fd * np.exp(-(bx * bx + by * by) / (2 * fw * fw)) / (fw * fw)
                    gx += k * ux + es * ax + ef * bx
                    gy += k * uy + es * ay + ef * by
                x -= lrs[p] * gx / size
                y -= lrs[p] * gy / size
            theta[p, 0], theta[p, 1] = x, y
        return theta

    def descend_numba(positions, lrs, batches, shifts, seed: int, first: int, steps: int, replace: bool):
        """Numba version of :func:`descend_reference` (the same batches)."""
        theta = np.array(positions, dtype=np.float64).reshape(-1, 2)
        lrs = np.ascontiguousarray(np.broadcast_to(np.asarray(lrs, np.float64), (len(theta),)))
        sizes = np.ascontiguousarray(np.broadcast_to(np.asarray(batches, np.int64), (len(theta),)))
        consts = np.array([BOWL, *SHARP_C, SHARP_W, SHARP_D, *FLAT_C, FLAT_W, FLAT_D], np.float64)
        return _descend_jit(theta, lrs, sizes, np.ascontiguousarray(shifts, np.float64).reshape(-1, 2),
                            step_keys(seed, first, steps), bool(replace), consts)

except ImportError:  # Numba is optional: numpy and the GPU remain
    numba = None
    descend_numba = None


def descend_glsl(ctx, positions, lrs, batches, shifts, seed: int, first: int, steps: int, replace: bool):
    """GLSL version: one invocation per particle, all ``steps`` in one dispatch (float32)."""
    theta = np.ascontiguousarray(np.asarray(positions, np.float64).reshape(-1, 2), np.float32)
    count = len(theta)
    shifts = np.asarray(shifts, np.float64).reshape(-1, 2)
    n = len(shifts)
    if n > MAX_EXAMPLES:
        raise ValueError(f"the GPU kernel takes at most {MAX_EXAMPLES} examples, got {n}")
    if count == 0 or int(steps) <= 0:
        return theta.astype(np.float64)
    lrs = np.broadcast_to(np.asarray(lrs, np.float32), (count,))
    sizes = np.clip(np.broadcast_to(np.asarray(batches, np.int64), (count,)), 1, n).astype(np.uint32)
    keys = step_keys(seed, first, steps).astype(np.uint32)
    buffers = [ctx.buffer(theta.tobytes()), ctx.buffer(np.ascontiguousarray(lrs).tobytes()),
               ctx.buffer(np.ascontiguousarray(sizes).tobytes()),
               ctx.buffer(np.ascontiguousarray(shifts, np.float32).tobytes()), ctx.buffer(keys.tobytes())]
    try:
        program = compute_program(ctx, HERE / "descend.glsl", LOCAL_SIZE=LOCAL_SIZE, MAX_N=MAX_EXAMPLES)
        for binding, buffer in enumerate(buffers):
            buffer.bind_to_storage_buffer(binding)
        program["count"].value = count
        program["examples"].value = n
        program["steps"].value = int(steps)
        program["replace_draws"].value = int(bool(replace))
        program["bowl"].value = BOWL
        program["sharp_well"].value = (*SHARP_C, SHARP_W, SHARP_D)
        program["flat_well"].value = (*FLAT_C, FLAT_W, FLAT_D)
        program.run(groups(count, LOCAL_SIZE))
        ctx.memory_barrier(ctx.SHADER_STORAGE_BARRIER_BIT)
        return np.frombuffer(buffers[0].read(), np.float32).reshape(-1, 2).astype(np.float64)
    finally:
        for buffer in buffers:
            buffer.release()


def _example(rng: np.random.Generator) -> tuple:
    """A few particles near both minima, mixed batch sizes and learning rates, a few steps."""
    count = int(rng.integers(5, 40))
    positions = rng.uniform([-2.5, -1.0], [2.5, 1.0], (count, 2))
    lrs = rng.uniform(0.005, 0.05, count)
    batches = rng.integers(1, 33, count)
    shifts = rng.normal(0.0, 0.15, (32, 2))
    return positions, lrs, batches, shifts, int(rng.integers(0, 2**31)), int(rng.integers(0, 100)), 4, \
        bool(rng.integers(0, 2))


descend = register(Kernel("sgd_noise_descend", descend_reference, descend_numba, descend_glsl, _example,
                          rtol=1e-3, atol=1e-4,
                          doc="many mini-batch SGD runs on a sharp-and-flat loss, the same batches on every backend"))
