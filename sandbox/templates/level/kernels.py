"""The level's kernel: gradient descent steps for a batch of balls, on three backends.

The numpy function is the oracle; the Numba and GLSL versions must agree with it (the test
suite and ``continuous-function validate`` check that on every backend this machine has).
Kernel names are global: prefix them with the level id.
"""

from pathlib import Path

import numba
import numpy as np

from sim.kernel import Kernel, compute_program, groups, register

HERE = Path(__file__).parent
LOCAL_SIZE = 64


def descend_reference(xs, lr, curvature, steps):
    """``steps`` gradient steps on L = a x² / 2 for every ball: x ← x − η a x."""
    xs = np.array(xs, dtype=np.float64)
    for _ in range(int(steps)):
        xs = xs - lr * curvature * xs
    return xs


@numba.njit(cache=True)
def _descend_jit(xs, lr, curvature, steps):
    for i in range(xs.size):
        for _ in range(steps):
            xs[i] -= lr * curvature * xs[i]
    return xs


def descend_numba(xs, lr, curvature, steps):
    return _descend_jit(np.array(xs, dtype=np.float64), float(lr), float(curvature), int(steps))


def descend_glsl(ctx, xs, lr, curvature, steps):
    """One invocation per ball (float32 on the GPU)."""
    data = np.ascontiguousarray(xs, np.float32)
    buffer = ctx.buffer(data.tobytes() if data.size else b"\0" * 4)
    try:
        program = compute_program(ctx, HERE / "descend.glsl", LOCAL_SIZE=LOCAL_SIZE)
        buffer.bind_to_storage_buffer(0)
        program["n"].value = data.size
        program["factor"].value = float(1.0 - lr * curvature)
        program["steps"].value = int(steps)
        program.run(groups(data.size, LOCAL_SIZE))
        ctx.memory_barrier(ctx.SHADER_STORAGE_BARRIER_BIT)
        return np.frombuffer(buffer.read(size=4 * data.size), np.float32).astype(np.float64)
    finally:
        buffer.release()


def _example(rng):
    return rng.uniform(-2.0, 2.0, 37), float(rng.uniform(0.05, 0.9)), float(rng.uniform(0.5, 2.0)), 5


descend = register(Kernel("${id}_descend", descend_reference, descend_numba, descend_glsl, _example,
                          rtol=1e-4, atol=1e-5, doc="gradient steps for a batch of balls on a parabola"))
