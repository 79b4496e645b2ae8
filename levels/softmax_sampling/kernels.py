"""The level's kernel: draw many tokens from a categorical distribution and count them.

Every draw is a counter-based random number (:mod:`sim.rng`'s PCG hash): draw ``i`` of step
``counter`` of a run seeded ``seed`` reads the 24 uniform bits ``pcg(key ^ pcg(i)) >> 8`` with
``key = stream_key(seed, counter)``, and picks the first token whose cumulative threshold lies
above them. The thresholds are the cumulative probabilities rounded to whole multiples of
2^-24, computed once on the CPU, so the comparison is integer arithmetic: numpy, Numba and the
GPU draw exactly the same tokens and their counts agree to the last one.

A token of probability zero (cut by top-k or top-p) has a threshold equal to the one before
it and can never be drawn; every probability is resolved to 2^-24 ≈ 6e-8, far below what any
histogram here can see.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.kernel import Kernel, compute_program, register
from sim.rng import dispatch_size, pcg_hash, stream_key

HERE = Path(__file__).parent
LOCAL_SIZE = 256
BITS = 24
ONE = 1 << BITS  # the thresholds' unit: the uniform bits run over 0 .. ONE - 1
CHUNK = 1 << 20  # draws per numpy pass: bounded memory for a million draws or more


def thresholds(probs) -> np.ndarray:
    """The cumulative thresholds of ``probs`` (non-negative, not all zero; normalised here) in
    units of 2^-24, as uint32: token ``j`` is drawn when the uniform bits ``u`` satisfy
    ``thresholds[j - 1] <= u < thresholds[j]``."""
    p = np.asarray(probs, dtype=np.float64).ravel()
    if p.size == 0 or not np.all(np.isfinite(p)) or np.any(p < 0) or not p.sum() > 0:
        raise ValueError("probabilities must be finite, non-negative and not all zero")
    cumulative = np.cumsum(p) / p.sum()
    out = np.minimum(np.rint(cumulative * ONE), ONE).astype(np.uint32)
    last = int(np.flatnonzero(p)[-1])
    out[last:] = ONE  # every draw lands, and never on the zeros after the last token that can be drawn
    return out


def _uniform_bits(key: int, indices: np.ndarray) -> np.ndarray:
    return pcg_hash(np.uint64(key) ^ pcg_hash(indices.astype(np.uint64))) >> np.uint64(8)


def draw_counts_reference(probs, seed: int, counter: int, count: int) -> np.ndarray:
    """numpy oracle: how often each token comes up in draws ``0 .. count - 1`` of step
    ``counter`` of the run seeded ``seed`` (int64, one count per token)."""
    limits = thresholds(probs).astype(np.uint64)
    key = stream_key(seed, counter)
    counts = np.zeros(len(limits), dtype=np.int64)
    for start in range(0, int(count), CHUNK):
        bits = _uniform_bits(key, np.arange(start, min(start + CHUNK, int(count)), dtype=np.uint64))
        counts += np.bincount(np.searchsorted(limits, bits, side="right"), minlength=len(limits))
    return counts


try:
    import numba

    from sim.rng import pcg_hash_jit

    @numba.njit(cache=True, parallel=True)
    def _draw_tokens_jit(limits, key, count):
        tokens = np.empty(count, dtype=np.int64)
        for i in numba.prange(count):
            bits = pcg_hash_jit(np.uint64(key) ^ pcg_hash_jit(np.uint64(i))) >> np.uint64(8)
            lo, hi = 0, len(limits) - 1
            while lo < hi:  # the first threshold above the bits
                mid = (lo + hi) // 2
                if bits < limits[mid]:
                    hi = mid
                else:
                    lo = mid + 1
            tokens[i] = lo
        return tokens

    def draw_counts_numba(probs, seed: int, counter: int, count: int) -> np.ndarray:
        """Numba version of :func:`draw_counts_reference` (the same draws)."""
        limits = thresholds(probs).astype(np.uint64)
        tokens = _draw_tokens_jit(limits, np.uint64(stream_key(seed, counter)), int(count))
        return np.bincount(tokens, minlength=len(limits)).astype(np.int64)

except ImportError:  # Numba is optional: numpy and the GPU remain
    numba = None
    draw_counts_numba = None


def draw_counts_glsl(ctx, probs, seed: int, counter: int, count: int) -> np.ndarray:
    """GLSL version: one invocation per draw, a binary search, an atomic count (the same draws)."""
    limits = thresholds(probs)
    count = int(count)
    limit_buffer = ctx.buffer(limits.tobytes())
    count_buffer = ctx.buffer(np.zeros(len(limits), np.uint32).tobytes())
    try:
        if count > 0:
            program = compute_program(ctx, HERE / "draw.glsl", LOCAL_SIZE=LOCAL_SIZE)
            limit_buffer.bind_to_storage_buffer(0)
            count_buffer.bind_to_storage_buffer(1)
            program["key"].value = int(stream_key(seed, counter))
            program["count"].value = count
            program["outcomes"].value = len(limits)
            program.run(*dispatch_size(count, LOCAL_SIZE))
            ctx.memory_barrier(ctx.SHADER_STORAGE_BARRIER_BIT)
        return np.frombuffer(count_buffer.read(), np.uint32).astype(np.int64)
    finally:
        limit_buffer.release()
        count_buffer.release()


def _example(rng: np.random.Generator) -> tuple:
    """A distribution with some tokens cut to zero, as top-k and top-p leave it."""
    size = int(rng.integers(2, 40))
    probs = rng.dirichlet(np.full(size, 0.5))
    probs[rng.random(size) < 0.3] = 0.0
    if not probs.sum() > 0:
        probs[0] = 1.0
    return probs, int(rng.integers(0, 2**31)), int(rng.integers(0, 1000)), 20000


# Integer thresholds and the same hash everywhere: the counts agree exactly on every backend.
draw_counts = register(Kernel("softmax_sampling_draw", draw_counts_reference, draw_counts_numba, draw_counts_glsl,
                              _example, rtol=0.0, atol=0.0,
                              doc="counts of many draws from a categorical distribution, identical on every backend"))


def draw_counts_for(probs, seed: int, counter: int, count: int, backend: str = "numpy") -> np.ndarray:
    """:data:`draw_counts` on ``backend`` (an empty draw needs no backend)."""
    if int(count) <= 0:
        return np.zeros(np.asarray(probs).size, dtype=np.int64)
    return np.asarray(draw_counts(probs, seed, counter, int(count), backend=backend), dtype=np.int64)
