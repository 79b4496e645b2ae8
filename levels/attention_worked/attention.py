"""One attention head on three tokens, worked by hand: QKᵀ, the division by √d, the softmax row by
row and the weighted sum of the values; the attention matrix's spectrum and where attention applied
again and again ends; how sharp a row is as d grows, with and without the 1/√d.

Plain numpy, no GL and no UI: the model, the witness, the claims and the tests all use these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TOKENS = ("The", "cat", "sat")
#: seed 002's worked example (d = 2): the queries and keys of "The", "cat" and "sat"
SEED_QUERIES = np.array([[1.0, 0.5], [0.3, 0.8], [0.1, 0.9]])
SEED_KEYS = np.array([[0.9, 0.2], [0.4, 0.7], [0.2, 0.8]])
#: seed 002 gives no values; these make every output readable by hand: o_i = (w_i0 + w_i2, w_i1 + w_i2)
SEED_VALUES = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
#: row 0 of the attention matrix as seed 002 prints it: its "cat" should read 0.323
SEED_PRINTED_ROW0 = (0.386, 0.324, 0.291)
#: seed 002's rounded intermediate numbers for row 0: exp of the scaled scores, and their sum
SEED_PRINTED_EXPS = (2.028, 1.699, 1.528)
SEED_PRINTED_SUM = 5.255

MAX_D = 1024  # the largest dimension of the random vectors
MAX_DEPTH = 64  # attention applied again and again: at most this many times
#: a row whose scores all lie within ±this is exponentiated as it is, the way one does it by hand;
#: a row with a larger score is shifted by its largest first (exp would overflow past 709)
PLAIN_EXP_LIMIT = 30.0
FLOOR = 1e-16  # distances below double precision's rounding are reported at this floor
#: the dimensions the sharpness sweep samples, and the random draws of three tokens at each
SWEEP_DIMS = np.unique(np.round(np.geomspace(2, MAX_D, 16)).astype(int))
SWEEP_DRAWS = 400


def score_divisor(d: int, scaled: bool, temperature: float = 1.0) -> float:
    """What the scores q·k are divided by: τ√d with the scaling, τ without it."""
    return float(temperature) * (math.sqrt(d) if scaled else 1.0)


@dataclass(frozen=True)
class Worked:
    """Every number of softmax(QKᵀ/divisor)V for three tokens, in the order one computes them.

    ``dots[i, j] = q_i · k_j``; ``scores = dots / divisor``; ``shifts[i]``: what row i's scores are
    lowered by before exp (0 for small scores, as by hand; the row's largest otherwise);
    ``exps[i, j] = exp(scores[i, j] - shifts[i])``; ``sums[i]``: row i's sum of exps;
    ``weights = exps / sums`` (the attention matrix A); ``outputs = A V``.
    """

    queries: np.ndarray
    keys: np.ndarray
    values: np.ndarray
    divisor: float
    dots: np.ndarray
    scores: np.ndarray
    shifts: np.ndarray
    exps: np.ndarray
    sums: np.ndarray
    weights: np.ndarray
    outputs: np.ndarray


def work(queries, keys, values, divisor: float) -> Worked:
    """Attention of every query over every key, step by step (see :class:`Worked`)."""
    queries, keys, values = (np.asarray(a, np.float64) for a in (queries, keys, values))
    dots = queries @ keys.T
    scores = dots / divisor
    shifts = np.where(np.abs(scores).max(axis=1) > PLAIN_EXP_LIMIT, scores.max(axis=1), 0.0)
    exps = np.exp(scores - shifts[:, None])
    sums = exps.sum(axis=1)
    weights = exps / sums[:, None]
    return Worked(queries, keys, values, float(divisor), dots, scores, shifts, exps, sums, weights, weights @ values)


def softmax_rows(scores) -> np.ndarray:
    """Each row of ``scores`` (any leading shape) through the softmax, shifted by its largest."""
    scores = np.asarray(scores, np.float64)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Spectrum:
    """The eigenvalues of a row-stochastic matrix A, and where attention applied again and again ends.

    ``eigenvalues``: all of them, the one nearest 1 first, then by decreasing modulus;
    ``stationary``: π with πA = π and Σπ = 1 (a left eigenvector for the eigenvalue 1);
    ``second``: |λ₂|, the largest modulus among the others; ``gap = 1 − |λ₂|``; ``unique``: π is
    the only stationary distribution (|λ₂| < 1), so every row of Aᵗ tends to it.
    """

    eigenvalues: np.ndarray
    stationary: np.ndarray
    second: float
    gap: float
    unique: bool


def spectrum(weights) -> Spectrum:
    """The spectrum of the attention matrix ``weights`` (rows summing to 1)."""
    a = np.asarray(weights, np.float64)
    values = np.linalg.eigvals(a)
    first = int(np.argmin(np.abs(values - 1.0)))
    others = np.delete(values, first)
    others = others[np.argsort(-np.abs(others), kind="stable")]
    second = float(np.max(np.abs(others))) if len(others) else 0.0
    n = len(a)
    # πA = π with Σπ = 1, as one least-squares system: exact when the eigenvalue 1 is simple
    system = np.vstack([a.T - np.eye(n), np.ones((1, n))])
    pi = np.linalg.lstsq(system, np.concatenate([np.zeros(n), [1.0]]), rcond=None)[0]
    return Spectrum(np.concatenate([[values[first]], others]), pi, second, 1.0 - second, second < 1.0 - 1e-9)


def powers(weights, depth: int) -> np.ndarray:
    """A¹ … A^depth, shape (depth, n, n): attention applied once, twice, ..."""
    a = np.asarray(weights, np.float64)
    out = np.empty((depth, *a.shape))
    out[0] = a
    for t in range(1, depth):
        out[t] = out[t - 1] @ a
    return out


def distance_to_stationary(power, stationary) -> float:
    """How far the rows of Aᵗ still are from π: the largest L₁ distance of a row, floored at FLOOR."""
    return max(float(np.max(np.sum(np.abs(np.asarray(power) - np.asarray(stationary)[None, :]), axis=1))), FLOOR)


def row_sharpness(weights) -> tuple[float, float]:
    """How peaked the rows are: the mean over rows of the largest weight, and of the entropy in nats
    (ln n for a uniform row, 0 for one weight of 1)."""
    w = np.asarray(weights, np.float64)
    top = float(np.mean(np.max(w, axis=-1)))
    logs = np.log(np.where(w > 0, w, 1.0))
    return top, float(np.mean(-np.sum(w * logs, axis=-1)))


def random_vectors(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Queries and keys of three tokens with MAX_D coordinates each, every one drawn from N(0, 1),
    and two-dimensional values. Dimension d uses the first d coordinates, so growing d extends the
    same vectors."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((3, MAX_D)), rng.standard_normal((3, MAX_D)), rng.standard_normal((3, 2))


def sample_dots(rng: np.random.Generator, d: int, draws: int) -> np.ndarray:
    """``draws`` sets of three queries and three keys with d coordinates from N(0, 1): every q_i·k_j,
    shape (draws, 3, 3)."""
    q = rng.standard_normal((draws, 3, d))
    k = rng.standard_normal((draws, 3, d))
    return np.einsum("nid,njd->nij", q, k)


def sharpness_at(dots, d: int, scaled: bool, temperature: float = 1.0) -> tuple[float, float, float]:
    """Rows of sampled dot products ``dots`` (from :func:`sample_dots` at dimension d) turned into
    attention: (mean largest weight, mean entropy, standard deviation of the divided scores)."""
    scores = np.asarray(dots) / score_divisor(d, scaled, temperature)
    top, entropy = row_sharpness(softmax_rows(scores))
    return top, entropy, float(np.std(scores))
