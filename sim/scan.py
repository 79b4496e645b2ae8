"""The affine scan h_t = a_t h_{t-1} + b_t: sequentially, as a parallel tree, on every backend.

Every diagonal linear recurrence of the sequence levels (a selective SSM, Mamba-2's SSD, causal
linear attention with a decay) is this scan run on many channels at once. The pairs ``(a, b)``
compose with the associative operator

    (a1, b1) o (a2, b2) = (a1 a2, a2 b1 + b2)     (apply 1, then 2)

and associativity is what lets the N sequential steps be regrouped into a tree of O(log N)
depth. This module has

* :func:`affine_scan`: the registered kernel: a sequential numpy loop (the oracle, in float64),
  a Numba chunked parallel scan (reduce each chunk, carry across chunks, rescan each chunk) and
  a GLSL hierarchical work-efficient scan (``shaders/kernels/scan_affine.glsl``: a Brent-Kung
  tree per work group over shared memory, then the same scan over the block totals, then the
  carries), for any length, not only powers of two;
* :func:`scan_tree_levels`: the tree itself, level by level, for the animation (which pairs
  combine in each parallel round and what every position holds after it);
* ``python -m sim.scan``: elements per second of each backend.

Arrays are ``(N,)`` (one channel) or ``(N, C)`` (C independent channels scanned along axis 0).
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np

from . import backends
from .kernel import Kernel, compute_program, register

# ----------------------------------------------------------------------------------------------
# Inputs


def _as_channels(a, b, h0, dtype) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(a, b)`` as C-contiguous ``(N, C)`` arrays of ``dtype`` with ``h0`` folded into ``b[0]``.

    ``a`` may broadcast against ``b`` (e.g. one decay per step shared by every channel). Folding
    ``h_{-1} = h0`` into ``b_0 = a_0 h0 + b_0`` lets every backend start from zero. Returns the
    arrays and whether the input was one channel (1-D).
    """
    b = np.asarray(b)
    single = b.ndim == 1
    b2 = np.array(b, dtype=dtype, copy=True)
    if single:
        b2 = b2[:, None]
    a_arr = np.asarray(a, dtype=dtype)
    if a_arr.ndim == 1:  # one decay per step, shared by every channel
        a_arr = a_arr[:, None]
    a2 = np.ascontiguousarray(np.broadcast_to(a_arr, b2.shape), dtype=dtype)
    if h0 is not None and len(b2):
        b2[0] += a2[0] * np.asarray(h0, dtype=dtype).reshape(-1)
    return a2, np.ascontiguousarray(b2), single


def _shaped(h: np.ndarray, single: bool) -> np.ndarray:
    return h[:, 0] if single else h


# ----------------------------------------------------------------------------------------------
# numpy: the sequential loop, the oracle


def affine_scan_reference(a, b, h0=None) -> np.ndarray:
    """Sequential oracle: ``h_t = a_t h_{t-1} + b_t`` one step at a time, in float64.

    ``h0`` is the state before the first step (zero if None).
    """
    a2, b2, single = _as_channels(a, b, h0, np.float64)
    h = np.zeros_like(b2)
    state = np.zeros(b2.shape[1])
    for t in range(len(b2)):
        state = a2[t] * state + b2[t]
        h[t] = state
    return _shaped(h, single)


# ----------------------------------------------------------------------------------------------
# Numba: chunked parallel scan

try:
    import numba

    @numba.njit(cache=True, parallel=True)
    def _chunked_scan(a, b, chunks):
        """Scan ``(N, C)`` pairs in ``chunks`` pieces: reduce each in parallel, carry, rescan."""
        n, channels = b.shape
        size = (n + chunks - 1) // chunks
        total_a = np.ones((chunks, channels), dtype=a.dtype)
        total_b = np.zeros((chunks, channels), dtype=b.dtype)
        for k in numba.prange(chunks):  # 1. each chunk's composed pair, from a zero state
            for t in range(k * size, min(n, (k + 1) * size)):
                for c in range(channels):
                    total_a[k, c] *= a[t, c]
                    total_b[k, c] = a[t, c] * total_b[k, c] + b[t, c]
        carry = np.zeros((chunks, channels), dtype=b.dtype)
        for k in range(1, chunks):  # 2. the state entering each chunk: a short sequential scan
            for c in range(channels):
                carry[k, c] = total_a[k - 1, c] * carry[k - 1, c] + total_b[k - 1, c]
        out = np.empty_like(b)
        for k in numba.prange(chunks):  # 3. each chunk again, now from its true entering state
            state = carry[k].copy()
            for t in range(k * size, min(n, (k + 1) * size)):
                for c in range(channels):
                    state[c] = a[t, c] * state[c] + b[t, c]
                    out[t, c] = state[c]
        return out

except ImportError:  # Numba is optional
    numba = None
    _chunked_scan = None

# Chunks per thread: a few, so uneven progress of the threads evens out.
_CHUNKS_PER_THREAD = 4


def affine_scan_numba(a, b, h0=None) -> np.ndarray:
    """Numba chunked parallel scan (float32)."""
    a2, b2, single = _as_channels(a, b, h0, np.float32)
    n = len(b2)
    if n == 0:
        return _shaped(b2.copy(), single)
    chunks = max(1, min(n, numba.get_num_threads() * _CHUNKS_PER_THREAD))
    return _shaped(_chunked_scan(a2, b2, chunks), single)


# ----------------------------------------------------------------------------------------------
# GLSL: hierarchical work-efficient scan

LOCAL_SIZE = 64  # invocations per work group (few: barriers are what costs)
ITEMS = 16  # pairs each invocation scans serially
BLOCK = LOCAL_SIZE * ITEMS  # pairs scanned by one work group
MAX_GROUPS = 65535  # GL's guaranteed work-group count per dimension


class GlslAffineScan:
    """The GLSL scan with its buffers kept on the GPU, for repeated scans of one shape.

    ``upload(a, b)`` copies inputs, ``dispatch()`` runs the passes, ``download()`` reads the
    states back; ``__call__`` does all three. The benchmark times ``dispatch`` alone too.
    """

    def __init__(self, ctx, length: int, channels: int):
        if channels > MAX_GROUPS:
            raise ValueError(f"at most {MAX_GROUPS} channels per scan, got {channels}")
        self.ctx = ctx
        self.length = int(length)
        self.channels = int(channels)
        self.scan_blocks = compute_program(ctx, "scan_affine", LOCAL_SIZE=LOCAL_SIZE, ITEMS=ITEMS, APPLY_CARRY=0)
        self.apply_carry = compute_program(ctx, "scan_affine", LOCAL_SIZE=LOCAL_SIZE, ITEMS=ITEMS, APPLY_CARRY=1)
        # One (a, b) buffer pair per level of the hierarchy: the data, its block totals, theirs...
        self.levels: list[tuple[int, object, object]] = []
        n = self.length
        while True:
            size = max(4, 4 * n * self.channels)
            self.levels.append((n, ctx.buffer(reserve=size), ctx.buffer(reserve=size)))
            if n <= BLOCK:
                break
            n = -(-n // BLOCK)
        if -(-self.length // BLOCK) > MAX_GROUPS:
            raise ValueError(f"length {length} needs more than {MAX_GROUPS} work groups")
        # The last level scans in one block; its block totals go to a scratch pair.
        self.scratch = (ctx.buffer(reserve=4 * self.channels), ctx.buffer(reserve=4 * self.channels))

    def upload(self, a2: np.ndarray, b2: np.ndarray) -> None:
        """Copy ``(N, C)`` float32 inputs to the GPU (channel-major)."""
        _, buf_a, buf_b = self.levels[0]
        buf_a.write(np.ascontiguousarray(a2.T, dtype=np.float32).tobytes())
        buf_b.write(np.ascontiguousarray(b2.T, dtype=np.float32).tobytes())

    def dispatch(self) -> None:
        """Run the scan passes on the uploaded data (results stay on the GPU)."""
        self._scan_level(0)

    def _scan_level(self, depth: int) -> None:
        n, buf_a, buf_b = self.levels[depth]
        nblocks = -(-n // BLOCK)
        totals = self.levels[depth + 1][1:] if depth + 1 < len(self.levels) else self.scratch
        for binding, buffer in enumerate((buf_a, buf_b, *totals)):
            buffer.bind_to_storage_buffer(binding)
        self.scan_blocks["n"].value = n
        self.scan_blocks["nblocks"].value = nblocks
        self.scan_blocks.run(nblocks, self.channels)
        self.ctx.memory_barrier(self.ctx.SHADER_STORAGE_BARRIER_BIT)
        if nblocks > 1:
            self._scan_level(depth + 1)  # now totals[1] holds the state at each block's end
            for binding, buffer in enumerate((buf_a, buf_b, *totals)):
                buffer.bind_to_storage_buffer(binding)
            self.apply_carry["n"].value = n
            self.apply_carry["nblocks"].value = nblocks
            self.apply_carry.run(nblocks - 1, self.channels)
            self.ctx.memory_barrier(self.ctx.SHADER_STORAGE_BARRIER_BIT)

    def download(self) -> np.ndarray:
        """The states, ``(N, C)`` float32."""
        _, _, buf_b = self.levels[0]
        data = np.frombuffer(buf_b.read(size=4 * self.length * self.channels), dtype=np.float32)
        return data.reshape(self.channels, self.length).T.copy()

    def __call__(self, a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
        self.upload(a2, b2)
        self.dispatch()
        return self.download()

    def release(self) -> None:
        """Free the GPU buffers."""
        for _, buf_a, buf_b in self.levels:
            buf_a.release()
            buf_b.release()
        for buffer in self.scratch:
            buffer.release()
        self.levels = []


def affine_scan_glsl(ctx, a, b, h0=None) -> np.ndarray:
    """GLSL hierarchical work-efficient scan (float32)."""
    a2, b2, single = _as_channels(a, b, h0, np.float32)
    if len(b2) == 0:
        return _shaped(b2.copy(), single)
    scan = GlslAffineScan(ctx, len(b2), b2.shape[1])
    try:
        return _shaped(scan(a2, b2), single)
    finally:
        scan.release()


def _example(rng: np.random.Generator) -> tuple:
    # Not a power of two, longer than one block, a few channels; decays below 1 keep |h| <= 10.
    n, channels = 1000 + int(rng.integers(0, 200)), 3
    a = rng.uniform(0.5, 0.9, size=(n, channels)).astype(np.float32)
    b = rng.uniform(-1.0, 1.0, size=(n, channels)).astype(np.float32)
    return a, b, rng.uniform(-1.0, 1.0, size=channels).astype(np.float32)


AFFINE_SCAN = register(Kernel(
    name="affine_scan",
    reference=affine_scan_reference,
    numba=affine_scan_numba if numba is not None else None,
    glsl=affine_scan_glsl,
    example=_example,
    # float32 with |h| <= 10: each step rounds at ~1e-6 relative and decays < 0.9 damp old errors.
    rtol=1e-4,
    atol=1e-5,
    doc="h_t = a_t h_{t-1} + b_t along axis 0, per channel: sequential, chunked parallel, GPU tree.",
))


def affine_scan(a, b, h0=None, backend: str = "numpy") -> np.ndarray:
    """States of ``h_t = a_t h_{t-1} + b_t`` for arrays ``(N,)`` or ``(N, C)`` on ``backend``.

    ``a`` may be ``(N,)`` with ``b`` ``(N, C)``: one decay per step for every channel.
    """
    return AFFINE_SCAN(a, b, h0, backend=backend)


# ----------------------------------------------------------------------------------------------
# The tree, level by level, for the animation


@dataclass(frozen=True)
class TreeLevel:
    """One parallel round of a scan tree.

    In this round, for every k, position ``targets[k]`` becomes ``pair[sources[k]] o
    pair[targets[k]]`` (all at once: sources are read before any target is written). ``a`` and
    ``b`` are every position's pair after the round; ``phase`` is ``"up"``/``"down"`` for the
    work-efficient tree and ``"double"`` for the step-efficient one; ``stride`` is the distance
    from source to target.
    """

    phase: str
    stride: int
    sources: np.ndarray
    targets: np.ndarray
    a: np.ndarray
    b: np.ndarray


TREE_KINDS = ("work_efficient", "step_efficient")


def tree_rounds(n: int, kind: str = "work_efficient") -> list[tuple[str, int, np.ndarray, np.ndarray]]:
    """The combine pattern of a scan tree over ``n`` positions: ``(phase, stride, sources, targets)``.

    ``work_efficient`` is the Brent-Kung tree of the GLSL kernel: an up-sweep builds the
    totals of aligned blocks of 2, 4, 8... positions, a down-sweep fills the positions between
    them; fewer than 2n combines in about 2 log2 n rounds. ``step_efficient`` is Hillis-Steele:
    every position combines with the one ``stride`` back, stride doubling; ceil(log2 n) rounds
    but about n log2 n combines. Rounds with no combine are left out, so any n works.
    """
    if kind not in TREE_KINDS:
        raise ValueError(f"unknown tree {kind!r}; valid: {', '.join(TREE_KINDS)}")
    rounds = []
    if kind == "step_efficient":
        stride = 1
        while stride < n:
            targets = np.arange(stride, n)
            rounds.append(("double", stride, targets - stride, targets))
            stride *= 2
        return rounds
    stride = 1
    while 2 * stride <= n:
        targets = np.arange(2 * stride - 1, n, 2 * stride)
        rounds.append(("up", stride, targets - stride, targets))
        stride *= 2
    stride //= 2
    while stride >= 1:
        sources = np.arange(2 * stride - 1, n - stride, 2 * stride)
        if len(sources):
            rounds.append(("down", stride, sources, sources + stride))
        stride //= 2
    return rounds


def scan_tree_levels(a, b, kind: str = "work_efficient") -> list[TreeLevel]:
    """Run the scan tree on one channel in numpy and return every round's partial results.

    After the last round, ``b`` holds the states ``h_t`` (from a zero initial state) and ``a``
    the products ``a_0 ... a_t``: the same as the sequential loop. The number of levels is the
    parallel depth; the total length of ``targets`` is the work.
    """
    pair_a = np.asarray(a, dtype=np.float64).copy()
    pair_b = np.asarray(b, dtype=np.float64).copy()
    levels = []
    for phase, stride, sources, targets in tree_rounds(len(pair_b), kind):
        src_a, src_b = pair_a[sources], pair_b[sources]  # read all sources before writing
        pair_b[targets] = pair_a[targets] * src_b + pair_b[targets]
        pair_a[targets] = src_a * pair_a[targets]
        levels.append(TreeLevel(phase, stride, sources, targets, pair_a.copy(), pair_b.copy()))
    return levels


def tree_depth(n: int, kind: str = "work_efficient") -> int:
    """Parallel rounds of the scan tree over ``n`` positions (the sequential loop takes n)."""
    return len(tree_rounds(n, kind))


def tree_work(n: int, kind: str = "work_efficient") -> int:
    """Combines done by the scan tree over ``n`` positions (the sequential loop does n - 1)."""
    return int(sum(len(targets) for *_, targets in tree_rounds(n, kind)))


# ----------------------------------------------------------------------------------------------
# Benchmark: python -m sim.scan


def _best_time(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def benchmark(lengths=(100_000, 1_000_000, 4_000_000), channels: int = 1, repeats: int = 5,
              reference_limit: int = 100_000) -> list[dict]:
    """Elements (pairs) scanned per second on each backend here; one row per backend and length.

    The GLSL rows give the dispatch alone (data resident on the GPU) and the round trip with
    upload and readback. The sequential numpy loop is timed only up to ``reference_limit``.
    """
    rng = np.random.default_rng(0)
    rows = []
    for n in lengths:
        a = rng.uniform(0.9, 1.0, size=(n, channels)).astype(np.float32)
        b = rng.uniform(-1.0, 1.0, size=(n, channels)).astype(np.float32)
        elements = n * channels
        if n <= reference_limit:
            seconds = _best_time(lambda: affine_scan_reference(a, b), 1)
            rows.append({"backend": "numpy (sequential loop)", "n": n, "seconds": seconds})
        if backends.numba_reason() is None:
            affine_scan_numba(a[:10], b[:10])  # compile outside the timing
            seconds = _best_time(lambda: affine_scan_numba(a, b), repeats)
            rows.append({"backend": f"numba ({numba.get_num_threads()} threads, chunked)", "n": n,
                         "seconds": seconds})
        if backends.glsl_reason() is None:
            ctx = backends.gl_context()
            scan = GlslAffineScan(ctx, n, channels)
            try:
                scan(a, b)  # compile and warm up

                def resident():
                    scan.dispatch()
                    ctx.finish()

                rows.append({"backend": "glsl (dispatch only)", "n": n, "seconds": _best_time(resident, repeats)})
                rows.append({"backend": "glsl (upload+scan+readback)", "n": n,
                             "seconds": _best_time(lambda: scan(a, b), repeats)})
            finally:
                scan.release()
        for row in rows:
            if row["n"] == n:
                row["elements_per_second"] = elements / row["seconds"]
    return rows


def main(argv=None) -> None:
    """Print the scan's throughput on every backend of this machine."""
    parser = argparse.ArgumentParser(prog="python -m sim.scan", description=main.__doc__)
    parser.add_argument("--lengths", type=int, nargs="+", default=[100_000, 1_000_000, 4_000_000])
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"affine scan h_t = a_t h_(t-1) + b_t, float32, {args.channels} channel(s); best of {args.repeats}")
    print(f"{'backend':<34} {'N':>10} {'ms':>10} {'M elements/s':>14}")
    for row in benchmark(args.lengths, args.channels, args.repeats):
        print(f"{row['backend']:<34} {row['n']:>10} {1e3 * row['seconds']:>10.2f} "
              f"{row['elements_per_second'] / 1e6:>14.1f}")


if __name__ == "__main__":
    main()
