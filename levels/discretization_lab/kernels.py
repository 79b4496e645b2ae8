"""Continuous state space models, their discretizations, and HiPPO-LegS memory.

A continuous SSM ``x'(t) = A x + B u``, ``y = C x`` becomes a recurrence
``x_k = Abar x_{k-1} + Bbar u_k`` once a step Delta is chosen:

* Euler:    ``Abar = I + Delta A``, ``Bbar = Delta B``;
* bilinear: ``Abar = (I - Delta A/2)^-1 (I + Delta A/2)``, ``Bbar = (I - Delta A/2)^-1 Delta B``;
* ZOH:      ``Abar = exp(Delta A)``, ``Bbar = A^-1 (exp(Delta A) - I) B`` (the input held
  constant over each step), computed as one exponential of ``[[A, B], [0, 0]] Delta`` so that a
  singular A is no problem.

The continuous reference response is exact for piecewise-linear input (first-order hold on a
fine grid, again one matrix exponential). HiPPO-LegS (Gu et al. 2020) is the structured A whose
state holds the Legendre coefficients of the whole input history seen so far.

The registered kernel ``lti_recurrence`` runs ``x_k = Abar x_{k-1} + g_k`` for a precomputed
drive ``g_k`` (numpy loop and Numba; the recurrence is sequential in k and small in n, so there
is nothing for a GPU to do).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import legendre

from sim.kernel import Kernel, register

METHODS = ("euler", "bilinear", "zoh")

# ----------------------------------------------------------------------------------------------
# Matrix exponential (numpy has none)

_TAYLOR_TERMS = 18  # with ||X|| <= 1/2 the truncation error is below 0.5^19 / 19! ~ 1e-23


def expm(M: np.ndarray) -> np.ndarray:
    """exp(M) by scaling and squaring: a Taylor series of M / 2^s, squared s times."""
    M = np.asarray(M, dtype=np.float64)
    norm = np.linalg.norm(M, 1)
    squarings = max(0, int(math.ceil(math.log2(norm / 0.5)))) if norm > 0.5 else 0
    X = M / 2.0 ** squarings
    term = np.eye(len(M))
    result = term.copy()
    for k in range(1, _TAYLOR_TERMS + 1):
        term = term @ X / k
        result += term
    for _ in range(squarings):
        result = result @ result
    return result


# ----------------------------------------------------------------------------------------------
# Discretization


def discretize(A: np.ndarray, B: np.ndarray, dt: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    """``(Abar, Bbar)`` of ``x' = A x + B u`` with step ``dt`` by ``method`` (see the module doc).

    ``B`` is ``(n,)`` (one input); ``Bbar`` has the same shape.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    n = len(A)
    identity = np.eye(n)
    if method == "euler":
        return identity + dt * A, dt * B
    if method == "bilinear":
        left = identity - dt / 2.0 * A
        return np.linalg.solve(left, identity + dt / 2.0 * A), np.linalg.solve(left, dt * B)
    if method == "zoh":
        block = np.zeros((n + 1, n + 1))
        block[:n, :n] = A * dt
        block[:n, n] = B * dt
        exponential = expm(block)
        return exponential[:n, :n], exponential[:n, n]
    raise ValueError(f"unknown discretization {method!r}; valid: {', '.join(METHODS)}")


def spectral_radius(M: np.ndarray) -> float:
    """The largest |eigenvalue|: the discrete system is stable iff it is below 1."""
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def largest_stable_dt(A: np.ndarray, method: str, dt_max: float = 1e3, tolerance: float = 1e-9) -> float:
    """The largest Delta <= dt_max whose Abar has spectral radius <= 1, by bisection.

    Measured on the matrices :func:`discretize` builds. Returns 0 when even a tiny step is
    unstable (a continuous pole with Re >= 0), ``dt_max`` when every step is stable. Assumes
    stability is lost once, as Delta grows (true for each method on a fixed A).
    """
    B = np.zeros(len(A))

    def stable(dt: float) -> bool:
        return spectral_radius(discretize(A, B, dt, method)[0]) <= 1.0 + 1e-12

    low, high = 0.0, float(dt_max)
    if stable(high):
        return high
    if not stable(1e-9 * high):
        return 0.0
    while high - low > tolerance * max(1.0, low):
        middle = 0.5 * (low + high)
        if stable(middle):
            low = middle
        else:
            high = middle
    return low


# ----------------------------------------------------------------------------------------------
# The recurrence kernel


def lti_recurrence_reference(Abar: np.ndarray, drive: np.ndarray, x0=None) -> np.ndarray:
    """States ``x_k = Abar x_{k-1} + drive_k`` for k = 0..T-1, from ``x_{-1} = x0`` (zero).

    Overflow (an unstable discretization) gives inf/nan entries, not warnings.
    """
    drive = np.asarray(drive, dtype=np.float64)
    states = np.empty_like(drive)
    x = np.zeros(drive.shape[1]) if x0 is None else np.asarray(x0, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(len(drive)):
            x = Abar @ x + drive[k]
            states[k] = x
    return states


try:
    import numba

    @numba.njit(cache=True)
    def _lti_numba(Abar, drive, x0):
        steps, n = drive.shape
        states = np.empty_like(drive)
        x = x0.copy()
        nxt = np.empty(n)
        for k in range(steps):
            for i in range(n):
                total = drive[k, i]
                for j in range(n):
                    total += Abar[i, j] * x[j]
                nxt[i] = total
            x[:] = nxt
            states[k] = x
        return states

    def lti_recurrence_numba(Abar, drive, x0=None) -> np.ndarray:
        """Numba version of :func:`lti_recurrence_reference` (float64)."""
        drive = np.ascontiguousarray(drive, dtype=np.float64)
        x0 = np.zeros(drive.shape[1]) if x0 is None else np.asarray(x0, dtype=np.float64)
        return _lti_numba(np.ascontiguousarray(Abar, dtype=np.float64), drive, x0)

except ImportError:  # Numba is optional
    lti_recurrence_numba = None


def _lti_example(rng: np.random.Generator) -> tuple:
    n, steps = 3, 500
    M = rng.standard_normal((n, n))
    Abar = 0.95 * M / spectral_radius(M)  # stable: the states stay bounded
    return Abar, rng.standard_normal((steps, n))


LTI_RECURRENCE = register(Kernel(
    name="lti_recurrence",
    reference=lti_recurrence_reference,
    numba=lti_recurrence_numba,
    example=_lti_example,
    rtol=1e-9,
    atol=1e-9,
    doc="x_k = Abar x_{k-1} + g_k: the discrete SSM of the discretization lab.",
))


def simulate(Abar, Bbar, C, u, backend: str = "numpy") -> np.ndarray:
    """Outputs ``y_k = C x_k`` of ``x_k = Abar x_{k-1} + Bbar u_k`` from ``x_{-1} = 0``."""
    drive = np.outer(np.asarray(u, dtype=np.float64), Bbar)
    return LTI_RECURRENCE(Abar, drive, backend=backend) @ np.asarray(C, dtype=np.float64)


def continuous_response(A, B, C, u_samples: np.ndarray, h: float, backend: str = "numpy") -> np.ndarray:
    """``y(t_j) = C x(t_j)`` at ``t_j = j h`` for the input through the samples, linear in between.

    Exact for piecewise-linear input: over each interval the augmented state ``(x, u, u')``
    obeys a linear ODE with matrix ``[[A, B, 0], [0, 0, 1], [0, 0, 0]]``, so one exponential of
    it times h propagates ``x`` exactly. ``x(0) = 0``.
    """
    A = np.asarray(A, dtype=np.float64)
    n = len(A)
    block = np.zeros((n + 2, n + 2))
    block[:n, :n] = A
    block[:n, n] = B
    block[n, n + 1] = 1.0
    exponential = expm(block * h)
    Phi, gain_value, gain_slope = exponential[:n, :n], exponential[:n, n], exponential[:n, n + 1]
    u = np.asarray(u_samples, dtype=np.float64)
    slopes = np.diff(u) / h
    drive = np.outer(u[:-1], gain_value) + np.outer(slopes, gain_slope)
    states = LTI_RECURRENCE(Phi, drive, backend=backend)
    return np.concatenate([[0.0], states @ np.asarray(C, dtype=np.float64)])


# ----------------------------------------------------------------------------------------------
# HiPPO-LegS


def hippo_legs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The HiPPO-LegS ``(A, B)``: A_nk = -sqrt(2n+1) sqrt(2k+1) (n > k), -(n+1) (n = k), 0 (n < k);
    B_n = sqrt(2n+1)."""
    root = np.sqrt(2.0 * np.arange(n) + 1.0)
    A = -np.tril(np.outer(root, root), -1) - np.diag(np.arange(n) + 1.0)
    return A, root.copy()


def legs_step(c: np.ndarray, u: float, k: int, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """One step of the scaled LegS memory ``c'(t) = (A c + B u) / t``, bilinear, at sample k >= 1.

    With samples at ``t_k = k h`` the factor ``h / t_k`` is ``1 / k``: the memory has no time
    scale of its own, it always spreads over the whole history [0, t_k].
    """
    M = A / k
    left = np.eye(len(c)) - M / 2.0
    return np.linalg.solve(left, c + M @ c / 2.0 + B * (u / k))


def legendre_readout(c: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """The history encoded by LegS coefficients ``c`` at ``fractions`` s/t in [0, 1] of the past:
    ``f(s) = sum_n c_n sqrt(2n+1) P_n(2 s/t - 1)``."""
    basis = legendre.legvander(2.0 * np.asarray(fractions) - 1.0, len(c) - 1)
    return basis @ (c * np.sqrt(2.0 * np.arange(len(c)) + 1.0))


def random_stable_matrix(n: int, rng: np.random.Generator, margin: float = 0.1) -> np.ndarray:
    """A Gaussian n x n matrix (entries N(0, 1/n)) shifted so every eigenvalue has Re <= -margin."""
    G = rng.standard_normal((n, n)) / math.sqrt(n)
    return G - (np.max(np.linalg.eigvals(G).real) + margin) * np.eye(n)


def truncated_readout(K: np.ndarray, gram: np.ndarray, x: np.ndarray, rcond: float) -> np.ndarray:
    """The least-squares preimage of ``x`` under the n x k matrix ``K``, keeping only the
    directions whose singular value is above ``rcond`` times the largest.

    That is the best linear readout when the state is known only to a relative ``rcond``:
    weaker directions are below the noise. ``gram`` is ``K K^T`` (n x n), so the cost is an
    n x n eigendecomposition and two products with K, however long the history k is.
    """
    eigenvalues, vectors = np.linalg.eigh(gram)
    keep = eigenvalues > (rcond ** 2) * max(float(eigenvalues[-1]), 0.0)
    if not np.any(keep):
        return np.zeros(K.shape[1])
    V = vectors[:, keep]
    return K.T @ (V @ ((V.T @ x) / eigenvalues[keep]))
