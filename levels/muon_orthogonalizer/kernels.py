"""Newton-Schulz orthogonalization and the Muon optimizer.

For ``X = U S Vᵀ`` the odd matrix polynomial

    X ← a X + b (X Xᵀ) X + c (X Xᵀ)² X  =  U · p(S) · Vᵀ,     p(σ) = a σ + b σ³ + c σ⁵

keeps the singular vectors and maps every singular value through the same scalar polynomial
``p``. Iterating it drives the singular values toward a fixed point of ``p`` and so drives
``X`` toward the polar factor ``U Vᵀ`` (the orthogonal matrix nearest to ``X``) without an SVD:

* the cubic ``(a, b, c) = (1.5, −0.5, 0)`` has ``p(1) = 1`` with ``p'(1) = 0``: quadratic
  convergence to exactly 1 from any ``σ`` in ``(0, √3)``; beyond ``√3`` the value changes sign
  (and may settle at −1: a reflection, not the polar factor) and beyond ``√5`` it diverges; small
  singular values grow only ×1.5 per step;
* Muon's quintic ``(3.4445, −4.7750, 2.0315)`` trades exactness for speed: its slope at 0 is
  3.4445, so weak directions grow fast, but it has no fixed point at 1; after 5 steps every
  singular value that started at ``σ ≥ QUINTIC_REACH`` (after the Frobenius normalization)
  lies in ``QUINTIC_BAND`` and further steps keep it there.

Dividing by the Frobenius norm first puts every singular value in ``[0, 1]`` (since
``σ_max ≤ ‖X‖_F``), inside both basins.

The registered kernel ``newton_schulz`` runs the iteration on a stack of matrices (numpy
reference in float64, Numba in float64, GLSL compute in float32: three passes per step, one
invocation per matrix entry).
:class:`Muon` updates every 2-D parameter with its orthogonalized momentum and hands the
others to AdamW, with the ``opt.step(grads)`` interface of :mod:`sim.nn`.

``python levels/muon_orthogonalizer/kernels.py`` prints the throughput of each backend against a full SVD, and
training steps per second of a small network under SGD, Adam and Muon.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from sim import backends
from sim.kernel import Kernel, compute_program, register
from sim.nn import Adam

HERE = Path(__file__).parent  # this level's folder: the kernels' GLSL files lie beside this file

try:
    import numba
except ImportError:  # Numba is optional: the numpy reference remains
    numba = None

#: The cubic Newton-Schulz iteration X ← 1.5X − 0.5XXᵀX.
CUBIC = (1.5, -0.5, 0.0)
#: The quintic coefficients of Muon (Jordan et al., 2024), tuned for a steep slope at 0.
MUON_QUINTIC = (3.4445, -4.7750, 2.0315)
#: Where 5 quintic steps put every singular value that started at ``σ ≥ QUINTIC_REACH``
#: (measured on a fine grid of σ in [QUINTIC_REACH, 1]: 0.6818 ... 1.2024).
QUINTIC_BAND = (0.68, 1.21)
#: The smallest normalized singular value that 5 quintic steps bring into ``QUINTIC_BAND``.
QUINTIC_REACH = 1.6e-3
#: Added to the Frobenius norm before dividing, so that a zero matrix stays zero.
NORM_EPS = 1e-7


def singular_value_map(sigma, coeffs=MUON_QUINTIC):
    """``p(σ) = aσ + bσ³ + cσ⁵``: what one step does to every singular value (array or scalar)."""
    a, b, c = coeffs
    sigma = np.asarray(sigma, dtype=np.float64)
    s2 = sigma * sigma
    return sigma * (a + s2 * (b + c * s2))


def iterate_singular_values(sigma, coeffs=MUON_QUINTIC, steps: int = 5) -> np.ndarray:
    """The singular values after each of ``steps`` steps: array ``(steps + 1, len(sigma))``."""
    out = [np.asarray(sigma, dtype=np.float64)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            out.append(singular_value_map(out[-1], coeffs))
    return np.stack(out)


def polar_factor(x: np.ndarray) -> np.ndarray:
    """The exact polar factor ``U Vᵀ`` of ``x = U S Vᵀ`` (float64, by SVD; the oracle)."""
    u, _, vt = np.linalg.svd(np.asarray(x, dtype=np.float64), full_matrices=False)
    return u @ vt


def frobenius_normalize(x: np.ndarray) -> np.ndarray:
    """``x / (‖x‖_F + NORM_EPS)`` on the last two axes (every singular value then lies in [0, 1])."""
    x = np.asarray(x, dtype=np.float64)
    norm = np.sqrt(np.sum(x * x, axis=(-2, -1), keepdims=True))
    return x / (norm + NORM_EPS)


def _prepare(stack: np.ndarray, normalize: bool, dtype) -> tuple[np.ndarray, bool]:
    """The stack ``(count, m, n)`` made wide (``m ≤ n``, transposed if tall, so that X Xᵀ is the
    small Gram matrix), divided by its Frobenius norms if ``normalize`` (in float64, for every
    backend alike), as a contiguous array of ``dtype``; and whether it was transposed."""
    stack = np.asarray(stack, dtype=np.float64)
    if stack.ndim != 3:
        raise ValueError(f"expected a stack of matrices (count, rows, cols), got shape {stack.shape}")
    tall = stack.shape[1] > stack.shape[2]
    if tall:
        stack = stack.transpose(0, 2, 1)
    if normalize:
        stack = frobenius_normalize(stack)
    return np.ascontiguousarray(stack, dtype=dtype), tall


def _restore(wide: np.ndarray, tall: bool) -> np.ndarray:
    return np.ascontiguousarray(wide.transpose(0, 2, 1) if tall else wide, dtype=np.float32)


# ----------------------------------------------------------------------------------------------
# The kernel: Newton-Schulz on a stack of matrices


def newton_schulz_reference(stack, coeffs, steps, normalize) -> np.ndarray:
    """``steps`` Newton-Schulz steps on each matrix of ``stack`` (count, m, n); float64 math, float32 out."""
    x, tall = _prepare(stack, normalize, np.float64)
    a, b, c = (float(v) for v in coeffs)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(steps)):
            gram = x @ x.transpose(0, 2, 1)
            x = a * x + (b * gram + c * (gram @ gram)) @ x
    return _restore(x, tall)


if numba is not None:
    # fastmath lets LLVM vectorize the dot products (it reorders their sums: ~1e-16 relative).

    @numba.njit(cache=True, fastmath=True)
    def _gram_row(x, gram, i):
        """Row ``i`` of ``gram = x xᵀ``."""
        m, n = x.shape
        for j in range(m):
            acc = 0.0
            for k in range(n):
                acc += x[i, k] * x[j, k]
            gram[i, j] = acc

    @numba.njit(cache=True, fastmath=True)
    def _poly_row(gram, poly, i, b, c):
        """Row ``i`` of ``poly = b·gram + c·gram²`` (gram is symmetric: (gram²)_ij = Σ gram_ik gram_jk)."""
        m = gram.shape[0]
        for j in range(m):
            acc = 0.0
            for k in range(m):
                acc += gram[i, k] * gram[j, k]
            poly[i, j] = b * gram[i, j] + c * acc

    @numba.njit(cache=True, fastmath=True)
    def _apply_row(x, poly, out, i, a):
        """Row ``i`` of ``out = a·x + poly·x`` (inner loop along contiguous rows of x)."""
        m, n = x.shape
        for j in range(n):
            out[i, j] = a * x[i, j]
        for k in range(m):
            weight = poly[i, k]
            for j in range(n):
                out[i, j] += weight * x[k, j]

    @numba.njit(cache=True)
    def _ns_one(x, a, b, c, steps):
        """``steps`` Newton-Schulz steps on one wide matrix; returns the result (a new array)."""
        m, n = x.shape
        x = x.copy()
        gram = np.empty((m, m))
        poly = np.empty((m, m))
        y = np.empty((m, n))
        for _ in range(steps):
            for i in range(m):
                _gram_row(x, gram, i)
            for i in range(m):
                _poly_row(gram, poly, i, b, c)
            for i in range(m):
                _apply_row(x, poly, y, i, a)
            x, y = y, x
        return x

    @numba.njit(cache=True, parallel=True)
    def _ns_parallel_nb(stack, a, b, c, steps, out):
        for k in numba.prange(stack.shape[0]):
            out[k] = _ns_one(stack[k], a, b, c, steps)

    @numba.njit(cache=True)
    def _ns_serial_nb(stack, a, b, c, steps, out):
        for k in range(stack.shape[0]):
            out[k] = _ns_one(stack[k], a, b, c, steps)


#: Multiply-adds below which the Numba path stays on one thread. Waking the thread pool costs
#: microseconds on an idle machine but a whole scheduler quantum (~8 ms measured) while another
#: process keeps the other core busy, so only work worth well over that goes parallel.
PARALLEL_WORK = 5e7


def newton_schulz_numba(stack, coeffs, steps, normalize) -> np.ndarray:
    """Numba, float64 math: one thread per matrix when the stack is big enough, else serial."""
    x, tall = _prepare(stack, normalize, np.float64)
    out = np.empty_like(x)
    a, b, c = (float(v) for v in coeffs)
    count, m, n = x.shape
    work = 3.0 * steps * count * m * m * n
    parallel = count >= numba.get_num_threads() and work >= PARALLEL_WORK
    (_ns_parallel_nb if parallel else _ns_serial_nb)(x, a, b, c, int(steps), out)
    return _restore(out, tall)


NS_LOCAL_SIZE = 8  # work groups of 8 × 8 invocations, one per image texel
#: GL 4.5 guarantees textures of 16384 texels a side; a bigger stack is run in slices.
MAX_IMAGE_SIDE = 16384
GRAM, POLY, APPLY = 0, 1, 2  # the three passes of one step, as the shader's ``pass_index``


def _atlas_shape(count: int, rows: int, cols: int) -> tuple[int, int]:
    """Tiles per atlas row and atlas rows for ``count`` matrices (tiles_x · cols ≤ MAX_IMAGE_SIDE)."""
    tiles_x = max(1, min(count, MAX_IMAGE_SIDE // cols))
    return tiles_x, -(-count // tiles_x)


def _to_atlas(stack: np.ndarray, tiles_x: int, tiles_y: int) -> np.ndarray:
    """Matrix j of ``stack`` at tile (j % tiles_x, j // tiles_x) of one 2-D image (zero padded)."""
    count, rows, cols = stack.shape
    padded = np.zeros((tiles_x * tiles_y, rows, cols), dtype=np.float32)
    padded[:count] = stack
    return np.ascontiguousarray(
        padded.reshape(tiles_y, tiles_x, rows, cols).transpose(0, 2, 1, 3).reshape(tiles_y * rows, tiles_x * cols))


def _from_atlas(image: np.ndarray, count: int, rows: int, cols: int) -> np.ndarray:
    tiles_y, tiles_x = image.shape[0] // rows, image.shape[1] // cols
    stack = image.reshape(tiles_y, rows, tiles_x, cols).transpose(0, 2, 1, 3).reshape(-1, rows, cols)
    return stack[:count]


def newton_schulz_glsl(ctx, stack, coeffs, steps, normalize) -> np.ndarray:
    """GLSL compute, float32: three dispatches per step (A = XXᵀ, P = bA + cA², X' = aX + PX),
    one invocation per matrix entry, the stack held in r32f images (see the shader's header)."""
    x, tall = _prepare(stack, normalize, np.float32)
    count, m, n = x.shape
    if n > MAX_IMAGE_SIDE:
        raise ValueError(f"matrices with both sides above {MAX_IMAGE_SIDE} do not fit in an image")
    per_slice = max(1, MAX_IMAGE_SIDE // n) * max(1, MAX_IMAGE_SIDE // m)
    if count > per_slice:
        parts = [newton_schulz_glsl(ctx, x[i:i + per_slice], coeffs, steps, False) for i in range(0, count, per_slice)]
        return _restore(np.concatenate(parts), tall)
    tiles_x, tiles_y = _atlas_shape(count, m, n)
    program = compute_program(ctx, HERE / "newton_schulz.glsl", LOCAL_SIZE=NS_LOCAL_SIZE)
    x_size, square_size = (tiles_x * n, tiles_y * m), (tiles_x * m, tiles_y * m)
    current = ctx.texture(x_size, 1, _to_atlas(x, tiles_x, tiles_y).tobytes(), dtype="f4")
    following = ctx.texture(x_size, 1, dtype="f4")
    gram = ctx.texture(square_size, 1, dtype="f4")
    poly = ctx.texture(square_size, 1, dtype="f4")
    try:
        gram.bind_to_image(1, read=True, write=True)
        poly.bind_to_image(2, read=True, write=True)
        program["count"].value = count
        program["tiles_x"].value = tiles_x
        program["rows"].value = m
        program["cols"].value = n
        program["coeffs"].value = tuple(float(v) for v in coeffs)
        for _ in range(int(steps)):
            current.bind_to_image(0, read=True, write=False)
            following.bind_to_image(3, read=False, write=True)
            for pass_index, (width, height) in ((GRAM, square_size), (POLY, square_size), (APPLY, x_size)):
                program["pass_index"].value = pass_index
                program.run(-(-width // NS_LOCAL_SIZE), -(-height // NS_LOCAL_SIZE))
                ctx.memory_barrier()
            current, following = following, current
        image = np.frombuffer(current.read(), dtype=np.float32).reshape(x_size[1], x_size[0])
        return _restore(_from_atlas(image, count, m, n), tall)
    finally:
        for texture in (current, following, gram, poly):
            texture.release()


def _example(rng: np.random.Generator) -> tuple:
    # Wide, tall and square stacks alike; Gaussian matrices are well conditioned after the
    # normalization (σ_min/‖X‖_F ≳ 1e-2), where float32 and float64 agree closely.
    count = int(rng.integers(3, 8))
    rows, cols = (int(v) for v in rng.integers(2, 24, size=2))
    stack = rng.standard_normal((count, rows, cols)) * rng.uniform(0.5, 3.0)
    coeffs = MUON_QUINTIC if rng.random() < 0.5 else CUBIC
    return stack, coeffs, 5, True


# Outputs have entries of order 1/√n ≤ 1. The quintic's slope 3.44 at 0 amplifies float32
# round-off of the weakest directions by up to ~3.44⁵ ≈ 500 over 5 steps: measured worst
# absolute gap 5e-6 over 2000 examples (GLSL); Numba matches float64 to 1e-12.
NEWTON_SCHULZ = register(Kernel(
    "newton_schulz", newton_schulz_reference, newton_schulz_numba if numba else None, newton_schulz_glsl, _example,
    rtol=1e-4, atol=3e-5,
    doc="Newton-Schulz orthogonalization of a stack of matrices (cubic or quintic coefficients)."))


def newton_schulz(x: np.ndarray, coeffs=MUON_QUINTIC, steps: int = 5, normalize: bool = True,
                  backend: str = "numpy") -> np.ndarray:
    """``steps`` Newton-Schulz steps on one matrix ``(m, n)`` or a stack ``(count, m, n)`` (float32 out).

    With ``normalize`` the input is first divided by its Frobenius norm (needed for the cubic's
    ``‖X‖₂ < √3`` and what Muon does); without it, pass matrices that are already scaled.
    """
    x = np.asarray(x)
    single = x.ndim == 2
    out = NEWTON_SCHULZ(x[None] if single else x, tuple(coeffs), int(steps), bool(normalize), backend=backend)
    return out[0] if single else out


# ----------------------------------------------------------------------------------------------
# Muon


class Muon:
    """Muon: SGD momentum whose update, for every 2-D weight matrix, is orthogonalized.

    For a weight matrix ``W`` of a layer with ``fan_in`` inputs and ``fan_out`` outputs, with
    gradient ``G``::

        buf ← μ·buf + G                      (momentum)
        D   = G + μ·buf  (Nesterov)  or  buf
        O   = NewtonSchulz₅(D)               (≈ U Vᵀ of D: every direction gets the same step)
        W   ← W − lr·wd·W − lr·√max(1, fan_out/fan_in)·O

    The scale ``√max(1, fan_out/fan_in)`` keeps the update's RMS per entry comparable across
    shapes; it is Muon's ``√max(1, rows/columns)`` of a weight written ``(out, in)``. ``layout``
    says how the arrays are stored: ``"in_out"`` (the default) is ``(fan_in, fan_out)`` for
    ``y = x @ W``, as :class:`sim.nn.Dense` keeps them; ``"out_in"`` is ``(fan_out, fan_in)`` for
    ``y = W x``, as PyTorch's ``Linear`` does. Every other parameter (biases, vectors) is trained
    by AdamW (``fallback_lr``). Matrices of the same shape are orthogonalized together, one call of
    the batched kernel. ``lr`` and ``fallback.lr`` may be changed between steps.
    """

    LAYOUTS = ("in_out", "out_in")

    def __init__(self, params: list[np.ndarray], lr: float = 0.02, momentum: float = 0.95, nesterov: bool = True,
                 ns_steps: int = 5, coeffs=MUON_QUINTIC, weight_decay: float = 0.0, fallback_lr: float = 3e-3,
                 backend: str = "numpy", layout: str = "in_out"):
        if layout not in self.LAYOUTS:
            raise ValueError(f"unknown weight layout {layout!r}; valid: {', '.join(self.LAYOUTS)}")
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov
        self.ns_steps = ns_steps
        self.coeffs = tuple(coeffs)
        self.weight_decay = weight_decay
        self.backend = backend
        self.layout = layout
        self.matrix_indices = [i for i, p in enumerate(params) if p.ndim == 2]
        self.other_indices = [i for i, p in enumerate(params) if p.ndim != 2]
        self.buffers = {i: np.zeros_like(params[i]) for i in self.matrix_indices}
        self.fallback = Adam([params[i] for i in self.other_indices], lr=fallback_lr, weight_decay=weight_decay)
        #: The last orthogonalized update of each matrix parameter (by index), for inspection.
        self.last_updates: dict[int, np.ndarray] = {}

    def shape_scale(self, shape: tuple[int, int]) -> float:
        """``√max(1, fan_out/fan_in)`` for a weight of this shape, read in this optimizer's layout."""
        fan_in, fan_out = shape if self.layout == "in_out" else shape[::-1]
        return math.sqrt(max(1.0, fan_out / fan_in))

    def step(self, grads: list[np.ndarray]) -> None:
        """Update every parameter in place from its gradient."""
        directions: dict[int, np.ndarray] = {}
        for i in self.matrix_indices:
            buf = self.buffers[i]
            buf *= self.momentum
            buf += grads[i]
            directions[i] = grads[i] + self.momentum * buf if self.nesterov else buf.copy()
        by_shape: dict[tuple, list[int]] = {}
        for i in self.matrix_indices:
            by_shape.setdefault(self.params[i].shape, []).append(i)
        for shape, indices in by_shape.items():
            stack = np.stack([directions[i] for i in indices])
            ortho = newton_schulz(stack, self.coeffs, self.ns_steps, True, backend=self.backend)
            scale = self.shape_scale(shape)
            for i, update in zip(indices, ortho):
                p = self.params[i]
                if self.weight_decay:
                    p -= self.lr * self.weight_decay * p
                p -= (self.lr * scale) * update.astype(p.dtype)
                self.last_updates[i] = update
        if self.other_indices:
            self.fallback.step([grads[i] for i in self.other_indices])


# ----------------------------------------------------------------------------------------------
# Benchmark


def _timed(function, *args, **kwargs) -> float:
    t0 = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - t0


def _bench_training(width: int, steps: int) -> None:
    """Full-batch training steps per second of a 2-width-width-3 tanh network, per optimizer."""
    from sim import nn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((240, 2))
    labels = rng.integers(0, 3, 240)
    makers = {"SGD": lambda p: nn.SGD(p, lr=0.1, momentum=0.9), "Adam": lambda p: nn.Adam(p, lr=3e-3),
              "Muon": lambda p: Muon(p, lr=0.02)}
    line = []
    for name, make in makers.items():
        layer_rng = np.random.default_rng(1)
        net = nn.Sequential(nn.Dense(2, width, layer_rng), nn.Tanh(), nn.Dense(width, width, layer_rng), nn.Tanh(),
                            nn.Dense(width, 3, layer_rng))
        opt = make(net.params)

        def train(n):
            for _ in range(n):
                net.zero_grad()
                _, grad = nn.softmax_cross_entropy(net.forward(x), labels)
                net.backward(grad)
                opt.step(net.grads)

        train(5)
        line.append(f"{name} {steps / _timed(train, steps):7.0f}/s")
    print(f"training steps, 2-{width}-{width}-3 tanh net, 240 points, full batch: " + "   ".join(line))


def main(argv=None) -> None:
    """Print Newton-Schulz throughput (matrices per second) on each backend, SVD for scale, and
    training steps per second of a small network under SGD, Adam and Muon."""
    parser = argparse.ArgumentParser(prog="python levels/muon_orthogonalizer/kernels.py", description=main.__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 32, 128, 512], help="square matrix sizes")
    parser.add_argument("--work", type=float, default=5e7, help="multiply-adds per timed call (sets the batch)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--width", type=int, default=32, help="hidden width of the training benchmark")
    args = parser.parse_args(argv)
    _bench_training(args.width, 300)
    rng = np.random.default_rng(0)
    for size in args.sizes:
        count = max(1, int(args.work / (3 * args.steps * size**3)))
        stack = rng.standard_normal((count, size, size)).astype(np.float32)
        svd = min(_timed(np.linalg.svd, stack.astype(np.float64)) for _ in range(args.repeats))
        line = [f"{count:6d} x {size:4d}²  SVD {count / svd:10.1f}/s"]
        for backend in backends.available():
            newton_schulz(stack[:1], MUON_QUINTIC, 1, True, backend=backend)  # compile / warm up
            best = min(_timed(newton_schulz, stack, MUON_QUINTIC, args.steps, True, backend=backend)
                       for _ in range(args.repeats))
            line.append(f"{backend} {count / best:10.1f}/s")
        print("   ".join(line) + f"   (matrices per second, {args.steps} quintic steps)")


if __name__ == "__main__":  # as the game imports it: in the level's package, with its GL context
    from sandbox.kernels import run_level_script

    raise SystemExit(run_level_script(__file__))
