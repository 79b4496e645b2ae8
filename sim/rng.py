"""Counter-based random numbers that every backend reproduces exactly.

A stateful generator cannot be shared between numpy, Numba threads and thousands of GPU
invocations without giving each a different sequence. A counter-based generator can: the
random number for particle ``index`` at step ``counter`` of a run seeded ``seed`` is a pure
function of those three integers. Every backend hashes the same 32-bit integers with the same
PCG hash (O'Neill's permuted congruential output function used as a hash, as in Jarzynski &
Olano, "Hash Functions for GPU Rendering", 2020), so the uniform bits are identical
everywhere; only the float rounding of the Box-Muller transform differs (float32 on the GPU).

Keying:
    key   = stream_key(seed, counter)           (once per step, on the CPU)
    h     = pcg(key ^ pcg(index))               (per particle)
    u1    = ((h >> 8) + 0.5) / 2^24             (never 0, so log(u1) is finite)
    u2    = (pcg(h) >> 8) / 2^24
    z     = sqrt(-2 ln u1) * (cos 2pi u2, sin 2pi u2)

The index is hashed before it is mixed with the key so that two steps never see shifted copies
of one stream. The GLSL twin of this module is ``shaders/kernels/include/hash_rng.glsl``.
"""

from __future__ import annotations

import math

import numpy as np

from .kernel import Kernel, compute_program, groups, register

# Every constant is a uint64 so that the same source runs on numpy arrays and, compiled by
# Numba, on scalars without Numba promoting mixed signed/unsigned arithmetic to float64.
_MASK32 = np.uint64(0xFFFFFFFF)
_PCG_MULTIPLIER = np.uint64(747796405)
_PCG_INCREMENT = np.uint64(2891336453)
_PCG_OUTPUT_MULTIPLIER = np.uint64(277803737)
_U4 = np.uint64(4)
_U8 = np.uint64(8)
_U22 = np.uint64(22)
_U28 = np.uint64(28)
_INV_2_24 = 1.0 / 16777216.0
TWO_PI = 2.0 * math.pi


def pcg_hash(v):
    """The 32-bit PCG hash of ``v`` (uint64 values below 2**32, array or scalar), as uint64.

    Arithmetic is done in 64 bits and masked back to 32, which is exactly the wrap-around
    of GLSL's ``uint``.
    """
    state = (v * _PCG_MULTIPLIER + _PCG_INCREMENT) & _MASK32
    word = (((state >> ((state >> _U28) + _U4)) ^ state) * _PCG_OUTPUT_MULTIPLIER) & _MASK32
    return (word >> _U22) ^ word


def stream_key(seed: int, counter: int) -> int:
    """The 32-bit key of one step (``counter``) of the run seeded ``seed``."""
    seed_hash = pcg_hash(np.array([int(seed) & 0xFFFFFFFF], dtype=np.uint64))
    mixed = pcg_hash(seed_hash ^ np.uint64(int(counter) & 0xFFFFFFFF))
    return int(mixed[0])


def normal_pairs(key: int, indices: np.ndarray) -> np.ndarray:
    """Two independent standard normals per index, float64 array of shape ``(len(indices), 2)``."""
    index_bits = np.asarray(indices, dtype=np.uint64) & _MASK32
    h = pcg_hash(np.uint64(key) ^ pcg_hash(index_bits))
    u1 = ((h >> _U8).astype(np.float64) + 0.5) * _INV_2_24
    u2 = (pcg_hash(h) >> _U8).astype(np.float64) * _INV_2_24
    radius = np.sqrt(-2.0 * np.log(u1))
    angle = TWO_PI * u2
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1)


# ----------------------------------------------------------------------------------------
# Numba: the same hash compiled for scalars; other kernels call normal_pair_jit per index.

try:
    import numba

    pcg_hash_jit = numba.njit(cache=True)(pcg_hash)

    @numba.njit(cache=True)
    def normal_pair_jit(key, index):
        """Two standard normals for one ``index`` under ``key`` (float32 math, like the GPU)."""
        h = pcg_hash_jit(np.uint64(key) ^ pcg_hash_jit(np.uint64(index) & _MASK32))
        u1 = np.float32((np.float32(h >> _U8) + np.float32(0.5)) * np.float32(_INV_2_24))
        u2 = np.float32(np.float32(pcg_hash_jit(h) >> _U8) * np.float32(_INV_2_24))
        radius = np.float32(math.sqrt(np.float32(-2.0) * math.log(u1)))
        angle = np.float32(TWO_PI) * u2
        return radius * np.float32(math.cos(angle)), radius * np.float32(math.sin(angle))

    @numba.njit(cache=True, parallel=True)
    def _normal_pairs_numba(key, count):
        out = np.empty((count, 2), dtype=np.float32)
        for i in numba.prange(count):
            z0, z1 = normal_pair_jit(key, i)
            out[i, 0] = z0
            out[i, 1] = z1
        return out

except ImportError:  # Numba is optional: the numpy versions remain
    numba = None
    _normal_pairs_numba = None


# ----------------------------------------------------------------------------------------
# The registered kernel: n normal pairs of step ``counter`` of run ``seed``, on any backend.

LOCAL_SIZE = 256


def dispatch_size(count: int, local_size: int = LOCAL_SIZE) -> tuple[int, int]:
    """A 2-D work-group grid covering ``count`` invocations.

    GL only guarantees 65535 groups per dimension, which 1-D dispatches of more than ~16 M
    items at 256 per group would exceed; shaders rebuild the flat index from both axes.
    """
    needed = groups(count, local_size)
    width = min(needed, 65535)
    return width, (needed + width - 1) // width


def normal_pairs_reference(seed: int, counter: int, count: int) -> np.ndarray:
    """numpy oracle: normal pairs for indices ``0..count-1``."""
    return normal_pairs(stream_key(seed, counter), np.arange(count))


def normal_pairs_numba(seed: int, counter: int, count: int) -> np.ndarray:
    """Numba version of :func:`normal_pairs_reference` (float32)."""
    return normal_pairs_for_key(stream_key(seed, counter), count, "numba")


def normal_pairs_for_key(key: int, count: int, backend: str = "numpy") -> np.ndarray:
    """The normal pairs of indices ``0..count-1`` under ``key`` on a CPU backend (float32)."""
    if backend == "numba" and _normal_pairs_numba is not None:
        return _normal_pairs_numba(np.uint64(key), int(count))
    return normal_pairs(key, np.arange(count)).astype(np.float32)


def fill_normal_pairs_gl(ctx, buffer, key: int, count: int) -> None:
    """Write the normal pairs of ``key`` for indices ``0..count-1`` into a GL ``buffer`` (vec2)."""
    program = compute_program(ctx, "rng_normal", LOCAL_SIZE=LOCAL_SIZE)
    buffer.bind_to_storage_buffer(0)
    program["key"].value = int(key)
    program["count"].value = int(count)
    program.run(*dispatch_size(count))


def normal_pairs_glsl(ctx, seed: int, counter: int, count: int) -> np.ndarray:
    """GLSL version of :func:`normal_pairs_reference` (float32, read back)."""
    out = ctx.buffer(reserve=count * 8)
    try:
        fill_normal_pairs_gl(ctx, out, stream_key(seed, counter), count)
        return np.frombuffer(out.read(), dtype=np.float32).reshape(count, 2).copy()
    finally:
        out.release()


register(Kernel(
    name="rng_normal",
    reference=normal_pairs_reference,
    numba=normal_pairs_numba if numba is not None else None,
    glsl=normal_pairs_glsl,
    example=lambda rng: (int(rng.integers(0, 2**31)), int(rng.integers(0, 1000)), 4096),
    # float32 Box-Muller on the GPU: |z| <= 5.9, cos/sin of a float32 angle.
    rtol=1e-5,
    atol=2e-5,
    doc="Counter-based standard normal pairs (PCG hash + Box-Muller), identical bits on every backend.",
))
