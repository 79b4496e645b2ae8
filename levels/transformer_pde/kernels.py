"""The Token Flow's kernel: the attention integral evaluated on a cloud of tokens, on three backends.

For every token i, ``out_i = Σ_j softmax_j(⟨q_i, k_j⟩) v_j`` with ``q = β Q x``, ``k = K x`` and
``v = V x`` (the model forms them; this is the O(n²) part). With the tokens as the empirical
measure μ = (1/n) Σ_j δ_{x_j}, the sum is the integral ∫ e^{β⟨Qx, Ky⟩} V y dμ(y) / ∫ e^{β⟨Qx, Ky⟩} dμ(y),
so tens of thousands of tokens evaluate the continuum's field on a density.

The numpy function is the oracle (float64, in row blocks so memory stays bounded); the Numba and
GLSL versions must agree with it (float32 on the GPU). Tokens live in 2 or 3 dimensions.
"""

from pathlib import Path

import numba
import numpy as np

from sim.kernel import Kernel, compute_program, groups, register

HERE = Path(__file__).parent
LOCAL_SIZE = 128
BLOCK = 512  # rows of the oracle's score matrix at a time


def attention_reference(q, k, v):
    """Softmax-weighted means: row i is Σ_j softmax_j(q_i · k_j) v_j. ``q``, ``k``, ``v``: (n, d)."""
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    out = np.empty((len(q), v.shape[1]))
    for start in range(0, len(q), BLOCK):
        scores = q[start:start + BLOCK] @ k.T
        scores -= scores.max(axis=1, keepdims=True)  # the largest weight is e⁰ = 1: no overflow
        weights = np.exp(scores)
        out[start:start + BLOCK] = (weights @ v) / weights.sum(axis=1, keepdims=True)
    return out


@numba.njit(cache=True, parallel=True)
def _attention_jit(q, k, v, out):
    n, d = q.shape
    m, e = k.shape[0], v.shape[1]
    for i in numba.prange(n):
        # one pass with a running maximum (as the shader does): a new maximum rescales the sums
        top = -np.inf
        z = 0.0
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        for j in range(m):
            s = 0.0
            for a in range(d):
                s += q[i, a] * k[j, a]
            if s > top:
                c = np.exp(top - s)
                z *= c
                a0 *= c
                a1 *= c
                a2 *= c
                top = s
            w = np.exp(s - top)
            z += w
            a0 += w * v[j, 0]
            if e > 1:
                a1 += w * v[j, 1]
            if e > 2:
                a2 += w * v[j, 2]
        out[i, 0] = a0 / z
        if e > 1:
            out[i, 1] = a1 / z
        if e > 2:
            out[i, 2] = a2 / z
    return out


def attention_numba(q, k, v):
    """The same on the CPU's cores, one token per iteration (values of at most 3 dimensions)."""
    q, k, v = (np.ascontiguousarray(a, dtype=np.float64) for a in (q, k, v))
    return _attention_jit(q, k, v, np.empty((len(q), v.shape[1])))


def _vec4(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float32)
    out = np.zeros((max(len(a), 1), 4), np.float32)
    out[:len(a), :a.shape[1]] = a
    return out


def attention_glsl(ctx, q, k, v):
    """One invocation per token, keys and values tiled through shared memory (float32)."""
    n, d = np.shape(q)
    buffers = [ctx.buffer(_vec4(a).tobytes()) for a in (q, k, v)]
    out = ctx.buffer(reserve=16 * max(n, 1))
    try:
        program = compute_program(ctx, HERE / "attention.glsl", LOCAL_SIZE=LOCAL_SIZE)
        for binding, buffer in enumerate([*buffers, out]):
            buffer.bind_to_storage_buffer(binding)
        program["n"].value = n
        program.run(groups(n, LOCAL_SIZE))
        ctx.memory_barrier(ctx.SHADER_STORAGE_BARRIER_BIT)
        result = np.frombuffer(out.read(size=16 * n), np.float32).reshape(n, 4)[:, :d]
        return result.astype(np.float64)
    finally:
        for buffer in [*buffers, out]:
            buffer.release()


def _example(rng):
    """Tokens on the sphere at a large β with weights away from the identity, a size that is not
    a multiple of the tile (the last tile is partial)."""
    n, d = 301, 3
    x = rng.normal(size=(n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q_mat, k_mat, v_mat = (np.eye(d) + 0.3 * rng.normal(size=(d, d)) for _ in range(3))
    beta = 40.0
    return beta * x @ q_mat.T, x @ k_mat.T, x @ v_mat.T


attention = register(Kernel("transformer_pde_attention", attention_reference, attention_numba, attention_glsl,
                            _example, rtol=2e-4, atol=2e-5,
                            doc="softmax attention of every token over all tokens: the mean-field integral"))


def main() -> None:
    """Benchmark: one evaluation of the field for growing clouds on every backend here."""
    import time

    from sim import backends

    rng = np.random.default_rng(0)
    for n in (1024, 4096, 16384, 65536):
        x = rng.normal(size=(n, 3))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        for backend in backends.available():
            if backend == "numpy" and n > 16384:
                continue
            attention(8.0 * x, x, x, backend=backend)  # compile and warm up
            start = time.perf_counter()
            reps = 3
            for _ in range(reps):
                attention(8.0 * x, x, x, backend=backend)
            seconds = (time.perf_counter() - start) / reps
            print(f"{backend:6s} n = {n:6d}: {seconds * 1e3:9.2f} ms per layer, {n * n / seconds / 1e9:7.2f} G pairs/s")


if __name__ == "__main__":
    from sandbox.kernels import run_level_script

    run_level_script(__file__)
