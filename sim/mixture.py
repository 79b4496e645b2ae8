"""Gaussian mixtures in the plane: exact densities and scores, samples, presets, distances.

A Gaussian mixture is the one target for which diffusion needs no training: noising it by
``x_t = alpha x_0 + sigma eps`` keeps it a mixture, with means ``alpha mu_k`` and covariances
``alpha^2 Sigma_k + sigma^2 I``, so the score of every noised density is known in closed form:

    grad log p(x) = sum_k r_k(x) * (-C_k^{-1} (x - m_k)),   r_k = softmax_k(log w_k
                    - 1/2 log det C_k - 1/2 (x - m_k)^T C_k^{-1} (x - m_k))

Kernels receive the mixture as a *component table*: one row of 8 floats per component,
``(m_x, m_y, P_xx, P_xy, P_yy, log w - 1/2 log det C, 0, 0)`` with ``P = C^{-1}``, built once
per noise level on the CPU in float64 (two vec4 per component for the GPU's std430 layout).
The softmax is evaluated as a running log-sum-exp, so hundreds of components with wildly
different logits neither overflow nor underflow.
"""

from __future__ import annotations

import math

import numpy as np

from .kernel import Kernel, compute_program, register
from .rng import dispatch_size

TABLE_WIDTH = 8  # floats per component row of the table (two vec4)
#: The GPU kernels keep the table in one 16 KB uniform block (the size GL guarantees).
MAX_COMPONENTS = 512
LOCAL_SIZE = 256

#: The presets the particle level offers, in menu order.
PRESETS = ("blobs", "pair", "rings", "spiral", "letters", "picture")


class GaussianMixture:
    """A mixture of 2-D Gaussians: ``weights`` (K,), ``means`` (K, 2), ``covariances`` (K, 2, 2).

    Weights are normalised on construction. The editing methods (:meth:`add`, :meth:`move`,
    :meth:`remove`) change the mixture in place, which is how a learner paints a target.
    """

    def __init__(self, weights, means, covariances):
        self.weights = np.array(weights, dtype=np.float64).reshape(-1)
        self.means = np.array(means, dtype=np.float64).reshape(-1, 2)
        self.covariances = np.array(covariances, dtype=np.float64).reshape(-1, 2, 2)
        k = len(self.weights)
        if k == 0 or self.means.shape[0] != k or self.covariances.shape[0] != k:
            raise ValueError("a mixture needs at least one component and as many means and covariances as weights")
        if np.any(self.weights <= 0) or not np.all(np.isfinite(self.weights)):
            raise ValueError("mixture weights must be positive and finite")
        eigenvalues = np.linalg.eigvalsh(self.covariances)
        if np.any(eigenvalues <= 0):
            raise ValueError("every covariance must be symmetric positive definite")
        self.weights /= self.weights.sum()

    @property
    def n_components(self) -> int:
        return len(self.weights)

    def copy(self) -> "GaussianMixture":
        return GaussianMixture(self.weights, self.means, self.covariances)

    # -- noising --------------------------------------------------------------------------

    def noised(self, alpha: float, sigma: float) -> "GaussianMixture":
        """The law of ``alpha x + sigma eps`` for ``x`` from this mixture and ``eps ~ N(0, I)``."""
        covariances = alpha**2 * self.covariances + sigma**2 * np.eye(2)
        return GaussianMixture(self.weights, alpha * self.means, covariances)

    def component_table(self, alpha: float = 1.0, sigma: float = 0.0, dtype=np.float32) -> np.ndarray:
        """The kernels' (K, 8) table of the mixture noised to ``(alpha, sigma)``."""
        noisy = self.noised(alpha, sigma)
        precision = np.linalg.inv(noisy.covariances)
        _, log_det = np.linalg.slogdet(noisy.covariances)
        table = np.zeros((self.n_components, TABLE_WIDTH), dtype=np.float64)
        table[:, 0:2] = noisy.means
        table[:, 2] = precision[:, 0, 0]
        table[:, 3] = precision[:, 0, 1]
        table[:, 4] = precision[:, 1, 1]
        table[:, 5] = np.log(noisy.weights) - 0.5 * log_det
        return table.astype(dtype)

    # -- exact quantities ----------------------------------------------------------------

    def log_density(self, x) -> np.ndarray:
        """``log p(x)`` for points ``x`` (N, 2), from the textbook formula (no table involved)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
        inverse = np.linalg.inv(self.covariances)
        _, log_det = np.linalg.slogdet(self.covariances)
        d = x[:, None, :] - self.means[None, :, :]
        quadratic = np.einsum("nki,kij,nkj->nk", d, inverse, d)
        logits = np.log(self.weights) - 0.5 * (quadratic + log_det + 2.0 * math.log(2.0 * math.pi))
        top = logits.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True)))[:, 0]

    def score(self, x, alpha: float = 1.0, sigma: float = 0.0) -> np.ndarray:
        """The exact score of the mixture noised to ``(alpha, sigma)`` at ``x`` (float64)."""
        return mixture_score_reference(x, self.component_table(alpha, sigma, dtype=np.float64))

    def sample(self, n: int, rng: np.random.Generator, alpha: float = 1.0, sigma: float = 0.0) -> np.ndarray:
        """``n`` independent samples of the mixture noised to ``(alpha, sigma)`` (float64)."""
        noisy = self.noised(alpha, sigma)
        which = rng.choice(self.n_components, size=n, p=noisy.weights)
        factors = np.linalg.cholesky(noisy.covariances)
        z = rng.standard_normal((n, 2))
        return noisy.means[which] + np.einsum("nij,nj->ni", factors[which], z)

    # -- editing (painting blobs) ----------------------------------------------------------

    def add(self, mean, std: float = 0.2, weight: float | None = None) -> int:
        """Add an isotropic blob; its weight defaults to the average one. Returns its index,
        or -1 when the mixture already has :data:`MAX_COMPONENTS` components."""
        if self.n_components >= MAX_COMPONENTS:
            return -1
        weight = float(weight) if weight is not None else 1.0 / self.n_components
        scale = 1.0 - weight / (1.0 + weight)  # renormalise so the old weights keep their ratios
        self.weights = np.append(self.weights * scale, weight / (1.0 + weight))
        self.means = np.vstack([self.means, np.asarray(mean, dtype=np.float64).reshape(1, 2)])
        self.covariances = np.concatenate([self.covariances, (std**2 * np.eye(2))[None]], axis=0)
        return self.n_components - 1

    def move(self, index: int, mean) -> None:
        """Drag component ``index`` to ``mean``."""
        self.means[index] = np.asarray(mean, dtype=np.float64).reshape(2)

    def remove(self, index: int) -> bool:
        """Delete component ``index`` unless it is the last one; True if it was removed."""
        if self.n_components <= 1:
            return False
        keep = np.arange(self.n_components) != index
        self.weights, self.means, self.covariances = self.weights[keep], self.means[keep], self.covariances[keep]
        self.weights /= self.weights.sum()
        return True

    def nearest(self, point) -> tuple[int, float]:
        """The component whose mean is nearest to ``point``, and the distance to it."""
        distances = np.linalg.norm(self.means - np.asarray(point, dtype=np.float64).reshape(1, 2), axis=1)
        index = int(np.argmin(distances))
        return index, float(distances[index])


# ----------------------------------------------------------------------------------------
# Presets


def _elongated(direction: np.ndarray, along: float, across: float) -> np.ndarray:
    """Covariances stretched along unit ``direction`` (N, 2) with standard deviations given."""
    u = direction / np.linalg.norm(direction, axis=1, keepdims=True)
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)
    return along**2 * np.einsum("ni,nj->nij", u, u) + across**2 * np.einsum("ni,nj->nij", v, v)


def _along_curve(points: np.ndarray, across: float) -> GaussianMixture:
    """Components evenly spaced along a polyline, stretched along it so they join smoothly."""
    segments = np.diff(points, axis=0)
    lengths = np.linalg.norm(segments, axis=1)
    centres = 0.5 * (points[1:] + points[:-1])
    return GaussianMixture(lengths, centres, _elongated(segments, 0.45 * lengths.mean(), across))


def _ring(radius: float, count: int, across: float) -> GaussianMixture:
    angles = np.linspace(0.0, 2.0 * math.pi, count + 1)
    return _along_curve(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), across)


def combine(*mixtures: GaussianMixture, weights=None) -> GaussianMixture:
    """One mixture holding the components of several, each part weighted by ``weights``."""
    weights = np.ones(len(mixtures)) if weights is None else np.asarray(weights, dtype=np.float64)
    return GaussianMixture(
        np.concatenate([w * m.weights for w, m in zip(weights, mixtures)]),
        np.concatenate([m.means for m in mixtures]),
        np.concatenate([m.covariances for m in mixtures]),
    )


def mixture_from_image(image, extent=(-3.0, 3.0, -3.0, 3.0), max_components: int = 256,
                       threshold: float = 0.05) -> GaussianMixture:
    """A mixture that draws a grey-level ``image`` (H, W; row 0 at the top; bright = mass).

    Each pixel brighter than ``threshold`` (relative to the brightest) becomes an isotropic
    component at its centre, weighted by its brightness, half a pixel wide so that neighbours
    merge into strokes. Images with too many bright pixels are block-averaged 2x2 until at
    most ``max_components`` remain.
    """
    picture = np.asarray(image, dtype=np.float64)
    if picture.ndim != 2 or picture.size == 0 or not np.all(np.isfinite(picture)) or picture.max() <= 0:
        raise ValueError("the image must be a non-empty 2-D array with some positive brightness")
    picture = np.clip(picture / picture.max(), 0.0, 1.0)
    while np.count_nonzero(picture > threshold) > max_components and min(picture.shape) >= 2:
        h, w = (picture.shape[0] // 2) * 2, (picture.shape[1] // 2) * 2
        picture = picture[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        picture /= picture.max()
    rows, cols = np.nonzero(picture > threshold)
    if len(rows) > max_components:  # a 1-pixel-wide image cannot shrink further: keep the brightest
        brightest = np.argsort(picture[rows, cols])[::-1][:max_components]
        rows, cols = rows[brightest], cols[brightest]
    x0, x1, y0, y1 = extent
    height, width = picture.shape
    pixel = min((x1 - x0) / width, (y1 - y0) / height)
    # centre the picture in the extent with square pixels
    left = 0.5 * (x0 + x1) - 0.5 * width * pixel
    top = 0.5 * (y0 + y1) + 0.5 * height * pixel
    means = np.stack([left + (cols + 0.5) * pixel, top - (rows + 0.5) * pixel], axis=1)
    covariances = np.repeat(((0.5 * pixel) ** 2 * np.eye(2))[None], len(rows), axis=0)
    return GaussianMixture(picture[rows, cols], means, covariances)


# A 5x7 bitmap of the word the "letters" preset spells: the score is what the particles follow.
_GLYPHS = {
    "S": [" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "],
    "C": [" ####", "#    ", "#    ", "#    ", "#    ", "#    ", " ####"],
    "O": [" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "],
    "R": ["#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"],
    "E": ["#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"],
}


def text_image(word: str) -> np.ndarray:
    """A 7-row bitmap of ``word`` (letters of :data:`_GLYPHS`), one blank column between letters."""
    columns = []
    for i, letter in enumerate(word):
        glyph = np.array([[ch == "#" for ch in row] for row in _GLYPHS[letter]], dtype=np.float64)
        if i:
            columns.append(np.zeros((7, 1)))
        columns.append(glyph)
    return np.hstack(columns)


def smiley_image(size: int = 48) -> np.ndarray:
    """A procedural picture (a face: outline, eyes, smile) as a ``size`` x ``size`` grey image."""
    y, x = np.mgrid[1.0:-1.0:size * 1j, -1.0:1.0:size * 1j]
    r = np.hypot(x, y)
    outline = np.exp(-(((r - 0.88) / 0.05) ** 2))
    eyes = np.exp(-((np.hypot(np.abs(x) - 0.33, y - 0.3) / 0.1) ** 2))
    smile_r = np.hypot(x, y + 0.05)
    smile = np.exp(-(((smile_r - 0.5) / 0.05) ** 2)) * (y < -0.2)
    return np.maximum.reduce([outline, eyes, smile])


def preset(name: str) -> GaussianMixture:
    """The named target of :data:`PRESETS`."""
    if name == "blobs":
        angles = np.array([0.3, 1.6, 2.9, 4.2, 5.4])
        means = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        directions = np.stack([np.cos(angles + 0.9), np.sin(angles + 0.9)], axis=1)
        covariances = _elongated(directions, np.array([0.5, 0.25, 0.4, 0.2, 0.35])[:, None, None],
                                 np.array([0.15, 0.25, 0.12, 0.2, 0.1])[:, None, None])
        return GaussianMixture([0.3, 0.2, 0.2, 0.15, 0.15], means, covariances)
    if name == "pair":
        return GaussianMixture([0.25, 0.75], [[-2.0, 0.0], [2.0, 0.0]], [0.09 * np.eye(2)] * 2)
    if name == "rings":
        # weights proportional to circumference: the same density of mass along both rings
        return combine(_ring(1.0, 12, 0.08), _ring(2.4, 28, 0.08), weights=[1.0, 2.4])
    if name == "spiral":
        theta = np.linspace(0.0, 3.2 * math.pi, 30)
        radius = 0.3 + 0.24 * theta
        arm = np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
        return combine(_along_curve(arm, 0.09), _along_curve(-arm, 0.09))
    if name == "letters":
        return mixture_from_image(text_image("SCORE"), extent=(-3.3, 3.3, -1.0, 1.0))
    if name == "picture":
        return mixture_from_image(smiley_image(), extent=(-3.0, 3.0, -3.0, 3.0), max_components=256)
    raise ValueError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")


# ----------------------------------------------------------------------------------------
# Distance between point clouds


def sliced_wasserstein(a, b, n_directions: int = 64) -> float:
    """The sliced 2-Wasserstein distance between two equally sized 2-D point clouds.

    Each cloud is projected on ``n_directions`` evenly spaced directions of the half circle;
    in one dimension the optimal transport pairs sorted values, so the distance is
    ``sqrt(mean over directions and ranks of (sorted a - sorted b)^2)``. Deterministic
    directions make the number reproducible; it is 0 only for identical clouds and for two
    independent samples of one law it falls like ``1/sqrt(n)`` (the noise floor).
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    if len(a) != len(b):
        raise ValueError(f"sliced_wasserstein needs clouds of equal size, got {len(a)} and {len(b)}")
    angles = np.arange(n_directions) * (math.pi / n_directions)
    directions = np.stack([np.cos(angles), np.sin(angles)])
    projected_a = np.sort(a @ directions, axis=0)
    projected_b = np.sort(b @ directions, axis=0)
    return float(np.sqrt(np.mean((projected_a - projected_b) ** 2)))


# ----------------------------------------------------------------------------------------
# The score kernel


def mixture_score_reference(x, table) -> np.ndarray:
    """numpy oracle: the mixture score at ``x`` (N, 2) for a component ``table`` (K, 8), float64."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
    table = np.asarray(table, dtype=np.float64)
    out = np.empty_like(x)
    chunk = max(1, 2**20 // max(1, len(table)))  # bound the (chunk, K) temporaries to ~8 MB each
    for start in range(0, len(x), chunk):
        xc = x[start:start + chunk]
        dx = xc[:, 0:1] - table[None, :, 0]
        dy = xc[:, 1:2] - table[None, :, 1]
        pdx = table[:, 2] * dx + table[:, 3] * dy
        pdy = table[:, 3] * dx + table[:, 4] * dy
        logits = table[:, 5] - 0.5 * (dx * pdx + dy * pdy)
        logits -= logits.max(axis=1, keepdims=True)
        responsibilities = np.exp(logits)
        responsibilities /= responsibilities.sum(axis=1, keepdims=True)
        out[start:start + chunk, 0] = -(responsibilities * pdx).sum(axis=1)
        out[start:start + chunk, 1] = -(responsibilities * pdy).sum(axis=1)
    return out


# ----------------------------------------------------------------------------------------
# Numba: blocks of points, so that LLVM vectorises across points.
#
# Numba here has no vector math library (SVML), so math.exp is a scalar call that stops
# the vectoriser; the running log-sum-exp only ever needs exp of a non-positive number, and
# float32 precision, which a short polynomial and an exponent written into the float's bits
# give in vector registers. With blocks that made the Numba kernel ~2.5x faster than a scalar
# loop per point calling math.exp.

NUMBA_BLOCK = 32  # points per block: wide enough for AVX2 on float32 with a few registers spare
LOG2_E = 1.4426950408889634

try:
    import numba

    from .rng import normal_pair_jit

    @numba.njit(cache=True, fastmath=True)
    def _score_block(px, py, table, gx, gy, running_max, total, logits, mantissa, exponent_bits, pdxs, pdys):
        """The scores of the points (px, py) into (gx, gy); the other arrays are scratch.

        A running log-sum-exp over the table's rows, the same fold as the GLSL
        ``mixture_score``: each component folds in with one exp, of -|logit - running max|,
        which rescales whichever side is smaller. ``exponent_bits`` is int32 and is read
        back through a float32 view: writing the biased exponent n + 127 into bits 23..30
        makes the float 2^n.
        """
        one = np.float32(1.0)
        power_of_two = exponent_bits.view(np.float32)
        for j in range(px.shape[0]):
            running_max[j] = np.float32(-1e30)
            total[j] = np.float32(0.0)
            gx[j] = np.float32(0.0)
            gy[j] = np.float32(0.0)
        for k in range(table.shape[0]):
            mx, my, pxx, pxy, pyy, log_weight = table[k, 0], table[k, 1], table[k, 2], table[k, 3], table[k, 4], table[k, 5]
            for j in range(px.shape[0]):
                dx = px[j] - mx
                dy = py[j] - my
                pdx = pxx * dx + pxy * dy
                pdy = pxy * dx + pyy * dy
                pdxs[j] = pdx
                pdys[j] = pdy
                logit = log_weight - np.float32(0.5) * (dx * pdx + dy * pdy)
                logits[j] = logit
                # exp(v), v <= 0, as 2^n * 2^f with n = round(v log2 e), |f| <= 1/2: a degree-6
                # Taylor polynomial of 2^f is accurate to ~1e-7 there.
                t = max(-abs(logit - running_max[j]) * np.float32(LOG2_E), np.float32(-125.0))
                n = math.floor(t + np.float32(0.5))
                f = t - n
                mantissa[j] = one + f * (np.float32(0.6931471805599453) + f * (np.float32(0.2402265069591007) + f * (
                    np.float32(0.05550410866482158) + f * (np.float32(0.009618129107628477) + f * (
                        np.float32(0.0013333558146428443) + f * np.float32(0.00015403530393381606))))))
                exponent_bits[j] = (np.int32(n) + np.int32(127)) << np.int32(23)
            for j in range(px.shape[0]):
                pdx = pdxs[j]
                pdy = pdys[j]
                e = mantissa[j] * power_of_two[j]
                is_new_max = logits[j] > running_max[j]
                scale_old = e if is_new_max else one
                scale_new = one if is_new_max else e
                total[j] = total[j] * scale_old + scale_new
                gx[j] = gx[j] * scale_old - scale_new * pdx
                gy[j] = gy[j] * scale_old - scale_new * pdy
                running_max[j] = max(running_max[j], logits[j])
        for j in range(px.shape[0]):
            gx[j] /= total[j]
            gy[j] /= total[j]

    def _score_update(x, table, a, b, c, key, first_index, out, chunks):
        """``out = a x + b score(x) + c z`` (z: the counter-based normals of ``key`` for particle
        indices ``first_index + row``), float32.

        ``out`` may be ``x`` itself: each block reads its points before writing them. The
        points are split into ``chunks`` runs of blocks (a few per thread), each with its
        own scratch arrays, so nothing is allocated per block.
        """
        n = x.shape[0]
        blocks = (n + NUMBA_BLOCK - 1) // NUMBA_BLOCK
        per_chunk = (blocks + chunks - 1) // chunks
        noisy = c != np.float32(0.0)
        for chunk in numba.prange(chunks):
            scratch = np.empty((10, NUMBA_BLOCK), dtype=np.float32)
            exponent_bits = np.empty(NUMBA_BLOCK, dtype=np.int32)
            px, py, gx, gy = scratch[0], scratch[1], scratch[2], scratch[3]
            for block in range(chunk * per_chunk, min(blocks, (chunk + 1) * per_chunk)):
                start = block * NUMBA_BLOCK
                for j in range(NUMBA_BLOCK):
                    i = min(start + j, n - 1)  # the last block repeats its last point as padding
                    px[j] = x[i, 0]
                    py[j] = x[i, 1]
                _score_block(px, py, table, gx, gy, scratch[4], scratch[5], scratch[6], scratch[7], exponent_bits,
                             scratch[8], scratch[9])
                for j in range(min(NUMBA_BLOCK, n - start)):
                    i = start + j
                    nx = a * px[j] + b * gx[j]
                    ny = a * py[j] + b * gy[j]
                    if noisy:
                        zx, zy = normal_pair_jit(key, first_index + i)
                        nx += c * zx
                        ny += c * zy
                    out[i, 0] = nx
                    out[i, 1] = ny

    # One source, compiled twice: threads pay off for big clouds, but waking them costs more
    # than a few thousand points take (and much more on a busy machine).
    _score_update_parallel = numba.njit(cache=True, parallel=True, fastmath=True)(_score_update)
    _score_update_serial = numba.njit(cache=True, fastmath=True)(_score_update)

except ImportError:  # Numba is optional
    numba = None

PARALLEL_FROM = 32768  # points from which the Numba kernels use every thread


def score_update_numba(x, table, a, b, c, key, first_index, out, chunks) -> None:
    """``out = a x + b score(x) + c z`` in Numba (see ``_score_update``); float32 arguments."""
    kernel = _score_update_parallel if len(x) >= PARALLEL_FROM else _score_update_serial
    kernel(x, table, a, b, c, key, first_index, out, chunks)


def numba_chunks() -> int:
    """How many runs of blocks to split the points into: a few per Numba thread, to balance."""
    return 4 * numba.get_num_threads()


def mixture_score_numba(x, table) -> np.ndarray:
    """Numba version of :func:`mixture_score_reference` (float32)."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 2)
    out = np.empty_like(x)
    zero, one = np.float32(0.0), np.float32(1.0)
    score_update_numba(x, np.ascontiguousarray(table, dtype=np.float32), zero, one, zero, np.uint64(0), 0, out,
                       numba_chunks())
    return out


def component_block_gl(ctx, table: np.ndarray, block=None):
    """Write ``table`` into a uniform buffer (made if ``block`` is None) bound at block 1.

    The buffer always has room for :data:`MAX_COMPONENTS`: GL leaves reads undefined when a
    bound buffer is smaller than the declared block.
    """
    table = np.ascontiguousarray(table, dtype=np.float32)
    if len(table) > MAX_COMPONENTS:
        raise ValueError(f"the GPU kernels hold at most {MAX_COMPONENTS} components, got {len(table)}")
    if block is None:
        block = ctx.buffer(reserve=MAX_COMPONENTS * TABLE_WIDTH * 4)
    block.write(table.tobytes())
    block.bind_to_uniform_block(1)
    return block


def points_per_invocation(ctx) -> int:
    """Points each GPU invocation scores: 8 on a software rasteriser (its loop overhead is
    amortised over the 8, ~2x faster on llvmpipe), 1 on a real GPU (more threads in flight)."""
    renderer = str(ctx.info.get("GL_RENDERER", "")).lower()
    return 8 if any(name in renderer for name in ("llvmpipe", "softpipe", "swrast")) else 1


def score_program(ctx, shader):
    """The compiled score-using compute shader and how many invocations ``count`` points need.

    ``shader`` is a shared kernel shader's name or a shader file's path (see ``compute_program``);
    it includes ``kernels/include/gaussian_mixture.glsl``, whose defines this supplies."""
    points = points_per_invocation(ctx)
    local_size = LOCAL_SIZE // points
    program = compute_program(ctx, shader, LOCAL_SIZE=local_size, POINTS_PER_INVOCATION=points,
                              MAX_COMPONENTS=MAX_COMPONENTS)
    return program, lambda count: dispatch_size((count + points - 1) // points, local_size)


def mixture_score_glsl(ctx, x, table) -> np.ndarray:
    """GLSL version of :func:`mixture_score_reference` (float32, read back)."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 2)
    program, dispatch = score_program(ctx, "mixture_score")
    points, scores = ctx.buffer(x.tobytes()), ctx.buffer(reserve=x.nbytes)
    block = component_block_gl(ctx, table)
    try:
        points.bind_to_storage_buffer(0)
        scores.bind_to_storage_buffer(2)
        program["count"].value = len(x)
        program["component_count"].value = len(table)
        program.run(*dispatch(len(x)))
        return np.frombuffer(scores.read(), dtype=np.float32).reshape(-1, 2).copy()
    finally:
        for buffer in (points, scores, block):
            buffer.release()


def _score_example(rng: np.random.Generator):
    mixture = preset("letters")  # 80 components: long enough a fold to show drift, if any
    x = rng.normal(scale=2.0, size=(2000, 2)).astype(np.float32)
    return x, mixture.component_table(alpha=0.8, sigma=0.4)


register(Kernel(
    name="mixture_score",
    reference=mixture_score_reference,
    numba=mixture_score_numba if numba is not None else None,
    glsl=mixture_score_glsl,
    example=_score_example,
    # float32 positions minus float32 means lose ~1e-7 |x| / |x - m| relative; scores are O(10).
    rtol=2e-4,
    atol=2e-4,
    doc="Exact score of a noised 2-D Gaussian mixture (running log-sum-exp over components).",
))
