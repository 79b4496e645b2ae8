"""Attention's two associativities, Mamba-2's state space duality, and a benchmark that times them.

Causal linear attention with a positive feature map phi (here elu(x) + 1) is one product
``Q K^T V`` with a causal mask, and the parentheses can go two ways:

* the quadratic ("transformer") form ``(phi(Q) phi(K)^T o M) V``: an N x N matrix of weights,
  O(N^2 d) work;
* the recurrent ("RNN") form ``phi(Q) (phi(K)^T V)`` taken causally, token by token:
  ``S_t = S_{t-1} + phi(k_t) v_t^T``, ``z_t = z_{t-1} + phi(k_t)``,
  ``y_t = phi(q_t)^T S_t / phi(q_t)^T z_t``: a d x d state, O(N d^2) work.

Mamba-2's SSD is the same duality with a decay: ``y = (L o C B^T) x`` with
``L_ij = a_i a_{i-1} ... a_{j+1}`` (i >= j, else 0) equals the recurrence
``h_t = a_t h_{t-1} + B_t x_t^T``, ``y_t = C_t^T h_t``. Linear attention is SSD with ``a = 1``,
``B = phi(K)``, ``C = phi(Q)``, ``x = V``, plus the normaliser; both recurrences run on the
affine scan of :mod:`sim.scan`.

Registered kernels: ``causal_linear_attention`` (numpy quadratic form as the oracle; Numba
recurrence; GLSL quadratic form, a row per invocation) and ``ssd`` (numpy masked form; Numba and
GLSL recurrences on the scan kernel).

The benchmark (``python levels/associativity_switch/kernels.py``, and :class:`AttentionBenchmark` inside a level)
times both forms as N grows, in slices of a millisecond or two, so a window can run it a frame
at a time. Its quadratic form is tiled (``TILE_QUERIES`` x ``TILE_WORK / d`` weights at a time,
BLAS products) so its memory stays O(N) while its work is O(N^2); its linear form is the
recurrence itself, token by token (compiled by Numba, or a Python loop).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from sim import backends
from sim.kernel import Kernel, compute_program, groups, register
from sim.scan import affine_scan

HERE = Path(__file__).parent  # this level's folder: the kernels' GLSL files lie beside this file

# ----------------------------------------------------------------------------------------------
# The forms, for small N (the level's pictures and the tests)


def feature_map(x: np.ndarray) -> np.ndarray:
    """phi(x) = elu(x) + 1: positive, so the normaliser phi(q)^T z never vanishes."""
    return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0)))


def causal_mask(n: int) -> np.ndarray:
    """The N x N boolean mask ``M_ij = (j <= i)``: a token sees itself and the past."""
    return np.tri(n, dtype=bool)


def linear_attention_weights(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The N x N row-normalised causal weights ``(phi(q_i).phi(k_j)) / sum_{j'<=i} (...)``.

    This is the matrix the quadratic form materialises: its size is
    :func:`attention_matrix_bytes`.
    """
    weights = feature_map(q) @ feature_map(k).T
    weights *= causal_mask(len(q))
    weights /= weights.sum(axis=1, keepdims=True)
    return weights


def linear_attention_quadratic(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Causal linear attention as ``(phi(Q) phi(K)^T o M) V``, normalised: the oracle."""
    return linear_attention_weights(q, k) @ v


def ssd_states(a: np.ndarray, B: np.ndarray, x: np.ndarray, backend: str = "numpy") -> np.ndarray:
    """States ``h_t = a_t h_{t-1} + B_t x_t^T`` of shape ``(N, n, p)`` (``x`` may be ``(N,)``).

    One affine scan over the n * p entries of the state, all sharing the decay ``a_t``.
    """
    x2 = x.reshape(len(x), -1)
    n, p = B.shape[1], x2.shape[1]
    inputs = (B[:, :, None] * x2[:, None, :]).reshape(len(x2), n * p)
    return affine_scan(a, inputs, backend=backend).reshape(len(x2), n, p)


def ssd_recurrent(a, B, C, x, backend: str = "numpy") -> np.ndarray:
    """SSD as a recurrence: ``y_t = C_t^T h_t`` with ``h_t = a_t h_{t-1} + B_t x_t^T``."""
    y = np.einsum("tn,tnp->tp", C, ssd_states(a, B, x, backend))
    return y.reshape(x.shape)


def ssd_mask(a: np.ndarray) -> np.ndarray:
    """The causal decay mask ``L_ij = a_{j+1} ... a_i`` for i >= j, else 0 (``a > 0``).

    Products of many decays are taken as differences of cumulative logs, which cannot
    underflow halfway the way a running product can.
    """
    log_a = np.log(np.maximum(np.asarray(a, dtype=np.float64), np.finfo(np.float64).tiny))
    cumulative = np.cumsum(log_a)
    exponent = cumulative[:, None] - cumulative[None, :]
    return np.where(causal_mask(len(log_a)), np.exp(np.minimum(exponent, 0.0)), 0.0)


def ssd_masked(a, B, C, x) -> np.ndarray:
    """SSD as masked attention: ``y = (L o C B^T) x``, the oracle of the ``ssd`` kernel."""
    return (ssd_mask(a) * (C @ B.T)) @ x


def linear_attention_recurrent(q, k, v, backend: str = "numpy") -> np.ndarray:
    """Causal linear attention as the recurrence: SSD with a = 1, plus the normaliser z_t."""
    fq, fk = feature_map(q), feature_map(k)
    ones = np.ones(len(q))
    numerator = ssd_recurrent(ones, fk, fq, v, backend)
    denominator = ssd_recurrent(ones, fk, fq, ones, backend)
    return numerator / denominator[:, None]


def attention_matrix_bytes(n: int, itemsize: int = 4) -> int:
    """Bytes of the quadratic form's N x N weights (float32 by default)."""
    return int(n) * int(n) * int(itemsize)


def state_bytes(d: int, dv: int | None = None, itemsize: int = 4) -> int:
    """Bytes of the recurrent form's state: S (d x dv) and the normaliser z (d)."""
    dv = d if dv is None else dv
    return (int(d) * int(dv) + int(d)) * int(itemsize)


# ----------------------------------------------------------------------------------------------
# Registered kernels

LOCAL_SIZE = 64


def _attention_glsl(ctx, q, k, v) -> np.ndarray:
    """The quadratic form on the GPU, one query row per invocation (float32)."""
    n, d = q.shape
    dv = v.shape[1]
    program = compute_program(ctx, HERE / "linear_attention_rows.glsl", LOCAL_SIZE=LOCAL_SIZE, D=d, DV=dv)
    arrays = [np.ascontiguousarray(m, dtype=np.float32) for m in (q, k, v)]
    buffers = [ctx.buffer(m.tobytes()) for m in arrays] + [ctx.buffer(reserve=max(4, 4 * n * dv))]
    try:
        for binding, buffer in enumerate(buffers):
            buffer.bind_to_storage_buffer(binding)
        program["n"].value = n
        program.run(groups(n, LOCAL_SIZE))
        return np.frombuffer(buffers[3].read(), dtype=np.float32).reshape(n, dv).copy()
    finally:
        for buffer in buffers:
            buffer.release()


def _attention_example(rng: np.random.Generator) -> tuple:
    n, d, dv = 300, 8, 6
    return tuple(rng.standard_normal((n, width)).astype(np.float32) for width in (d, d, dv))


CAUSAL_LINEAR_ATTENTION = register(Kernel(
    name="causal_linear_attention",
    reference=lambda q, k, v: linear_attention_quadratic(
        np.asarray(q, np.float64), np.asarray(k, np.float64), np.asarray(v, np.float64)),
    numba=lambda q, k, v: linear_attention_recurrent(q, k, v, backend="numba"),
    glsl=_attention_glsl,
    example=_attention_example,
    # Outputs are convex combinations of |v| < 5; float32 sums of ~300 positive weights.
    rtol=1e-4,
    atol=2e-5,
    doc="Causal linear attention: quadratic form (numpy, GLSL) against the recurrence (Numba).",
))


def _ssd_example(rng: np.random.Generator) -> tuple:
    n, state, channels = 257, 4, 3
    a = rng.uniform(0.7, 1.0, size=n).astype(np.float32)
    B = rng.standard_normal((n, state)).astype(np.float32)
    C = rng.standard_normal((n, state)).astype(np.float32)
    x = rng.standard_normal((n, channels)).astype(np.float32)
    return a, B, C, x


SSD = register(Kernel(
    name="ssd",
    reference=lambda a, B, C, x: ssd_masked(*(np.asarray(m, np.float64) for m in (a, B, C, x))),
    numba=lambda a, B, C, x: ssd_recurrent(a, B, C, x, backend="numba"),
    glsl=lambda ctx, a, B, C, x: ssd_recurrent(a, B, C, x, backend="glsl"),
    example=_ssd_example,
    # Decays >= 0.7 keep |h| below ~20; float32 einsum of 4 terms.
    rtol=1e-4,
    atol=1e-4,
    doc="Mamba-2 SSD: masked form (L o C B^T) x against the recurrence on the affine scan.",
))


# ----------------------------------------------------------------------------------------------
# The benchmark forms: generators that do a few milliseconds of work between yields

# Work per slice is held near a millisecond or two whatever d is, so a frame budget holds.
TILE_QUERIES = 256  # query rows per tile of the quadratic form
TILE_WORK = 1 << 16  # key columns x d per off-diagonal tile: 1024 keys at d = 64 (a 1 MiB tile)
SLICE_ELEMENTS = 1 << 18  # matrix entries mapped through phi (or drawn at random) per slice
RECURRENT_WORK = {"numpy": 1 << 20, "numba": 1 << 22}  # state multiply-adds (tokens x d x dv) per slice
PYTHON_TOKENS_MAX = 256  # a Python loop pays microseconds per token whatever d is

Slices = Iterator[None]


def _rows_per_slice(width: int) -> int:
    return max(16, SLICE_ELEMENTS // max(1, width))


def _features(x: np.ndarray, out: np.ndarray) -> Slices:
    rows = _rows_per_slice(x.shape[1])
    for start in range(0, len(x), rows):
        out[start:start + rows] = feature_map(x[start:start + rows])
        yield


def quadratic_form_slices(q: np.ndarray, k: np.ndarray, v: np.ndarray, out: np.ndarray,
                          backend: str = "numpy") -> Slices:
    """Fill ``out`` with causal linear attention by the quadratic form, one tile per slice.

    Every weight ``phi(q_i).phi(k_j)`` with j <= i is computed (N(N+1)/2 of them) with BLAS
    matrix products, but only one tile of weights exists at a time: memory O(N), work
    O(N^2 d). The keys before a block of queries come in unmasked tiles; the square tile on the
    diagonal is masked. (``backend`` is accepted for symmetry: BLAS is this form's best code.)
    """
    fq, fk = np.empty_like(q), np.empty_like(k)
    yield from _features(q, fq)
    yield from _features(k, fk)
    n = len(q)
    diagonal_mask = np.tri(TILE_QUERIES, dtype=out.dtype)
    tile_keys = min(4096, max(64, TILE_WORK // q.shape[1]))
    for q0 in range(0, n, TILE_QUERIES):
        q1 = min(n, q0 + TILE_QUERIES)
        numerator = np.zeros((q1 - q0, v.shape[1]), dtype=out.dtype)
        denominator = np.zeros(q1 - q0, dtype=out.dtype)
        for k0 in range(0, q0, tile_keys):
            k1 = min(q0, k0 + tile_keys)
            weights = fq[q0:q1] @ fk[k0:k1].T
            numerator += weights @ v[k0:k1]
            denominator += weights.sum(axis=1)
            yield
        weights = (fq[q0:q1] @ fk[q0:q1].T) * diagonal_mask[:q1 - q0, :q1 - q0]
        numerator += weights @ v[q0:q1]
        denominator += weights.sum(axis=1)
        out[q0:q1] = numerator / denominator[:, None]
        yield


def _recurrent_tokens_numpy(fq, fk, v, state, normaliser, out, start, stop):
    for t in range(start, stop):
        state += fk[t, :, None] * v[t]
        normaliser += fk[t]
        out[t] = (fq[t] @ state) / (fq[t] @ normaliser)


try:
    import numba

    @numba.njit(cache=True)
    def _recurrent_tokens_numba(fq, fk, v, state, normaliser, out, start, stop):
        d, dv = state.shape
        for t in range(start, stop):
            for i in range(d):
                normaliser[i] += fk[t, i]
                for j in range(dv):
                    state[i, j] += fk[t, i] * v[t, j]
            denominator = fq[t, 0] * normaliser[0]
            for i in range(1, d):
                denominator += fq[t, i] * normaliser[i]
            for j in range(dv):
                out[t, j] = 0.0
            for i in range(d):
                for j in range(dv):
                    out[t, j] += fq[t, i] * state[i, j]
            for j in range(dv):
                out[t, j] /= denominator

except ImportError:  # Numba is optional
    _recurrent_tokens_numba = None


def recurrent_backend(backend: str) -> str:
    """The code the recurrent form runs for a level backend: compiled Numba where it exists."""
    return "numba" if backend in ("numba", "glsl") and _recurrent_tokens_numba is not None \
        and backends.numba_reason() is None else "numpy"


def recurrent_form_slices(q: np.ndarray, k: np.ndarray, v: np.ndarray, out: np.ndarray,
                          backend: str = "numpy") -> Slices:
    """Fill ``out`` with causal linear attention by the recurrence, token by token.

    ``S += phi(k_t) v_t^T``, ``z += phi(k_t)``, ``y_t = phi(q_t)^T S / phi(q_t)^T z``: a
    constant d x dv of work and memory per token, O(N d dv) in all. The token loop is compiled
    by Numba on the ``numba`` and ``glsl`` backends and plain Python on ``numpy`` (a larger
    constant per token, the same slope).
    """
    fq, fk = np.empty_like(q), np.empty_like(k)
    yield from _features(q, fq)
    yield from _features(k, fk)
    code = recurrent_backend(backend)
    step = _recurrent_tokens_numba if code == "numba" else _recurrent_tokens_numpy
    state = np.zeros((q.shape[1], v.shape[1]), dtype=out.dtype)
    normaliser = np.zeros(q.shape[1], dtype=out.dtype)
    tokens = max(1, RECURRENT_WORK[code] // (q.shape[1] * v.shape[1]))
    if code == "numpy":
        tokens = min(tokens, PYTHON_TOKENS_MAX)
    for start in range(0, len(q), tokens):
        step(fq, fk, v, state, normaliser, out, start, min(len(q), start + tokens))
        yield


FORMS: dict[str, Callable[..., Slices]] = {"quadratic": quadratic_form_slices, "linear": recurrent_form_slices}


def run_form(form: str, q: np.ndarray, k: np.ndarray, v: np.ndarray, backend: str = "numpy") -> np.ndarray:
    """Run one benchmark form to the end and return its output."""
    out = np.empty((len(q), v.shape[1]), dtype=q.dtype)
    for _ in FORMS[form](q, k, v, out, backend):
        pass
    return out


def benchmark_sizes(n_min: int, n_max: int) -> list[int]:
    """Sequence lengths n_min, 2 n_min, 4 n_min, ... below n_max, then n_max."""
    sizes = []
    n = int(n_min)
    while n < n_max:
        sizes.append(n)
        n *= 2
    return sizes + [int(n_max)]


class Crossover(NamedTuple):
    """Where the quadratic form becomes the slower one, as far as the timed sizes tell.

    ``where`` is "measured" (``n`` interpolated between two timed sizes), "below" (slower at every
    size timed: the crossover is below ``n``, the smallest) or "beyond" (faster at every size timed:
    it is beyond ``n``, the largest)."""

    n: float
    where: str


def describe_crossover(report: Crossover | None) -> str:
    """The crossover in words, a bound said as a bound."""
    if report is None:
        return "no crossover yet: the quadratic form has been the faster at every size timed so far"
    if report.where == "below":
        return f"the quadratic form is slower at every N timed: the crossover is below N = {report.n:.0f}"
    if report.where == "beyond":
        return f"the quadratic form stayed faster at every N timed: the crossover is beyond N = {report.n:.0f}"
    return f"the quadratic form is slower beyond N ≈ {report.n:.0f}"


def loglog_fit(ns, seconds) -> tuple[float, float]:
    """Least-squares line through ``(log10 N, log10 t)``: ``(slope, intercept)``."""
    x, y = np.log10(np.asarray(ns, float)), np.log10(np.asarray(seconds, float))
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


class AttentionBenchmark:
    """Times both forms of causal linear attention for N = n_min, 2 n_min, ..., n_max.

    Work happens only inside :meth:`advance`, in slices of a few milliseconds (a tile, a
    chunk, a batch of random rows), so a level can give it a time budget every frame and the
    window never freezes; ``python levels/associativity_switch/kernels.py`` runs the same object to the end. Only
    the form slices are timed (generating inputs and checking outputs are not). A form stops
    before a size whose predicted time (from its last two measurements) exceeds
    ``size_budget_s``; :attr:`stopped` says where and why.

    Results: :attr:`seconds` (form -> {N: seconds, best of ``repeats``}), :attr:`differences`
    ({N: max |y_quadratic - y_linear| / max |y_linear|}, the two forms must agree), and
    :meth:`fit`, :meth:`crossover`, :meth:`crossover_report`, :meth:`largest_n_within`.

    The slopes are fitted over the ``TAIL_SIZES`` largest sizes timed: the quadratic form's time
    has a part that grows only as N (phi over the inputs, each tile's setup, the masked diagonal
    tiles, BLAS below its peak on small products), which makes a small N dearer per weight and
    flattens a fit that includes it; at the largest sizes the N^2 part dominates.
    """

    TAIL_SIZES = 3  # the slope is fitted over this many of the largest sizes timed (each >= fit_min)

    def __init__(self, d: int = 64, n_min: int = 128, n_max: int = 100_000, size_budget_s: float = 2.0,
                 repeats: int = 1, fit_min: int = 1000, backend: str = "numpy", seed: int = 0):
        self.d = int(d)
        self.backend = backend
        self.sizes = benchmark_sizes(n_min, n_max)
        self.size_budget_s = float(size_budget_s)
        self.repeats = max(1, int(repeats))
        self.fit_min = int(fit_min)
        self.seconds: dict[str, dict[int, float]] = {form: {} for form in FORMS}
        self.stopped: dict[str, str | None] = {form: None for form in FORMS}
        self.differences: dict[int, float] = {}
        self.current: tuple[str, int] | None = None  # the (form, N) being timed now
        self.done = False
        self._rng = np.random.default_rng(seed)
        # Inputs for the largest N, filled a slice at a time; every size uses a prefix.
        shape = (self.sizes[-1], self.d)
        self._q, self._k, self._v = (np.empty(shape, np.float32) for _ in range(3))
        self._filled = 0
        self._work = self._plan()

    # -- running --------------------------------------------------------------------------

    def advance(self, budget) -> bool:
        """Work for ``budget`` (at least one slice); True while unfinished.

        ``budget`` is seconds of wall time, or an allowance whose ``spend()`` counts one slice and
        says when it is used up (a level's ``sandbox.clock.Budget``: on a fixed clock it counts
        slices only, so every machine does the same work in the same steps).
        """
        spend = getattr(budget, "spend", None)
        deadline = time.perf_counter() + budget if spend is None else None
        while not self.done:
            try:
                next(self._work)
            except StopIteration:
                self.done = True
                self.current = None
            if spend() if spend is not None else time.perf_counter() >= deadline:
                break
        return not self.done

    def run(self) -> AttentionBenchmark:
        """Run to the end (the command line)."""
        while self.advance(1.0):
            pass
        return self

    def _fill_inputs(self, n: int) -> Slices:
        rows = _rows_per_slice(3 * self.d)
        while self._filled < n:
            end = min(self._filled + rows, self.sizes[-1])
            for matrix in (self._q, self._k, self._v):
                matrix[self._filled:end] = self._rng.standard_normal((end - self._filled, self.d), np.float32)
            self._filled = end
            yield

    def _plan(self) -> Slices:
        warm_up(self.backend)
        yield
        for n in self.sizes:
            yield from self._fill_inputs(n)
            q, k, v = self._q[:n], self._k[:n], self._v[:n]
            outputs = {}
            for form, slices in FORMS.items():
                if self.stopped[form] is not None:
                    continue
                reason = self._over_budget(form, n)
                if reason:
                    self.stopped[form] = reason
                    continue
                self.current = (form, n)
                best = math.inf
                for _ in range(self.repeats):
                    out = np.empty((n, self.d), np.float32)
                    elapsed = yield from self._timed_slices(slices(q, k, v, out, self.backend))
                    best = min(best, elapsed)
                self.seconds[form][n] = best
                outputs[form] = out
                yield
            if len(outputs) == len(FORMS):
                scale = float(np.max(np.abs(outputs["linear"]))) or 1.0
                self.differences[n] = float(np.max(np.abs(outputs["quadratic"] - outputs["linear"]))) / scale

    @staticmethod
    def _timed_slices(work: Slices):
        """Run a form's slices, yielding between them; return the seconds spent inside them only."""
        elapsed = 0.0
        while True:
            start = time.perf_counter()
            finished = next(work, StopIteration) is StopIteration
            elapsed += time.perf_counter() - start
            if finished:
                return elapsed
            yield

    def _time(self, form: str, n: int) -> float:
        """Seconds of one form at length ``n`` (a prefix of the inputs), best of ``repeats``, run to the end."""
        q, k, v = self._q[:n], self._k[:n], self._v[:n]
        best = math.inf
        for _ in range(self.repeats):
            out = np.empty((n, self.d), np.float32)
            work = self._timed_slices(FORMS[form](q, k, v, out, self.backend))
            while True:
                try:
                    next(work)
                except StopIteration as stop:
                    best = min(best, stop.value)
                    break
        return best

    def extend_below(self, floor: int = 8) -> None:
        """Time both forms at half the smallest size, a quarter, ... down to ``floor``, until the
        quadratic form is the faster one: when it is slower at every size of the plan, this finds
        where it stops being so, instead of naming the smallest size as the crossover."""
        n = min(self.seconds["quadratic"], default=self.sizes[0]) // 2
        while n >= floor:
            for form in FORMS:
                self.seconds[form][n] = self._time(form, n)
            if self.seconds["quadratic"][n] < self.seconds["linear"][n]:
                return
            n //= 2

    def _over_budget(self, form: str, n: int) -> str | None:
        """Why ``form`` should not run at ``n`` (its predicted time is over budget), or None."""
        measured = sorted(self.seconds[form].items())
        if not measured:
            return None
        n1, t1 = measured[-1]
        # Local slope of the last two sizes (1 if only one): a measured, not an assumed, growth.
        slope = 1.0
        if len(measured) >= 2:
            n0, t0 = measured[-2]
            slope = min(3.0, max(1.0, math.log(max(t1, 1e-9) / max(t0, 1e-9)) / math.log(n1 / n0)))
        predicted = t1 * (n / n1) ** slope
        if predicted <= self.size_budget_s:
            return None
        return (f"stopped before N = {n}: predicted {predicted:.1f} s (measured {t1:.2f} s at N = {n1}, "
                f"growing as N^{slope:.2f}) is over the {self.size_budget_s:g} s budget per size")

    # -- results --------------------------------------------------------------------------

    def progress(self) -> float:
        """Fraction of the (form, N) measurements done or skipped."""
        total = len(FORMS) * len(self.sizes)
        finished = sum(len(s) for s in self.seconds.values())
        skipped = sum(len([n for n in self.sizes if n not in self.seconds[form]]) for form in FORMS
                      if self.stopped[form] is not None)
        return 1.0 if self.done else min(1.0, (finished + skipped) / total)

    def largest_n(self, form: str) -> int:
        """The largest N the form finished (0 if none yet)."""
        return max(self.seconds[form], default=0)

    def _tail(self, form: str) -> list[tuple[int, float]]:
        """The (N, seconds) the slope is fitted over: the TAIL_SIZES largest sizes timed, N >= fit_min."""
        return [(n, t) for n, t in sorted(self.seconds[form].items()) if n >= self.fit_min][-self.TAIL_SIZES:]

    def fit(self, form: str) -> tuple[float, float] | None:
        """``(slope, intercept)`` of log10 t against log10 N over the largest sizes timed
        (:meth:`fit_span`), or None before two sizes >= fit_min are timed."""
        points = self._tail(form)
        if len(points) < 2:
            return None
        return loglog_fit(*zip(*points))

    def fit_span(self, form: str) -> tuple[int, int] | None:
        """The smallest and the largest N the slope is fitted over (None before there are two)."""
        points = self._tail(form)
        return (points[0][0], points[-1][0]) if len(points) >= 2 else None

    def slope(self, form: str) -> float | None:
        """The fitted exponent of t ~ N^slope at the largest sizes (None until two sizes >= fit_min)."""
        fitted = self.fit(form)
        return None if fitted is None else fitted[0]

    def crossover(self) -> float | None:
        """The N beyond which the quadratic form stays slower than the linear one, when two timed
        sizes bracket it (log-log interpolation around the last change from "quadratic faster" to
        "quadratic slower"); None otherwise (see :meth:`crossover_report` for the bounds)."""
        report = self.crossover_report()
        return report.n if report is not None and report.where == "measured" else None

    def crossover_report(self) -> Crossover | None:
        """Where the crossover is, as far as the timed sizes tell: measured between two sizes, below
        the smallest (the quadratic form slower at every size), or beyond the largest (faster at
        every size, once no larger size will be timed); None while that may still change."""
        common = [n for n in sorted(self.seconds["quadratic"]) if n in self.seconds["linear"]]
        if not common:
            return None
        ratio = [self.seconds["quadratic"][n] / self.seconds["linear"][n] for n in common]
        if ratio[-1] < 1.0:
            final = self.done or any(self.stopped.values())
            return Crossover(float(common[-1]), "beyond") if final else None
        last_fast = max((i for i, r in enumerate(ratio) if r < 1.0), default=None)
        if last_fast is None:
            return Crossover(float(common[0]), "below")
        n0, n1 = common[last_fast], common[last_fast + 1]
        r0, r1 = math.log(ratio[last_fast]), math.log(ratio[last_fast + 1])
        fraction = -r0 / (r1 - r0)
        return Crossover(float(10 ** (math.log10(n0) + fraction * (math.log10(n1) - math.log10(n0)))), "measured")

    def extrapolated_crossover(self) -> float | None:
        """Where the two fitted power laws meet (None unless the quadratic one is the steeper)."""
        quadratic, linear = self.fit("quadratic"), self.fit("linear")
        if quadratic is None or linear is None or quadratic[0] <= linear[0]:
            return None
        return float(10 ** ((linear[1] - quadratic[1]) / (quadratic[0] - linear[0])))

    def largest_n_within(self, form: str, seconds: float) -> float | None:
        """The N the form finishes in ``seconds``, interpolated log-log between timed sizes."""
        measured = sorted(self.seconds[form].items())
        inside = [i for i, (_, t) in enumerate(measured) if t <= seconds]
        if not inside:
            return None
        i = inside[-1]
        if i + 1 >= len(measured):
            return float(measured[i][0])
        (n0, t0), (n1, t1) = measured[i], measured[i + 1]
        fraction = math.log(seconds / t0) / math.log(t1 / t0)
        return float(n0 * (n1 / n0) ** fraction)

    def status(self, form: str) -> str:
        """One line on where the form is: running, finished, or stopped and why."""
        if self.stopped[form]:
            return self.stopped[form]
        if self.current and self.current[0] == form:
            return f"timing N = {self.current[1]}"
        if self.done:
            return f"finished every size up to N = {self.largest_n(form)}"
        return f"done up to N = {self.largest_n(form)}" if self.seconds[form] else "waiting"


# ----------------------------------------------------------------------------------------------
# Command line: python levels/associativity_switch/kernels.py


def warm_up(backend: str = "numpy") -> None:
    """Compile (or load from cache) the forms' Numba code, so that no timing includes it."""
    tiny = np.ones((2, 2), np.float32)
    for form in FORMS:
        run_form(form, tiny, tiny, tiny, backend)


def time_form(form: str, q, k, v, repeats: int = 3, backend: str = "numpy") -> float:
    """Best-of-``repeats`` seconds of one form at the inputs' length, run to the end."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run_form(form, q, k, v, backend)
        best = min(best, time.perf_counter() - start)
    return best


def largest_n_in_frame(form: str, frame_s: float, d: int, estimate: float, backend: str = "numpy",
                       repeats: int = 5, seed: int = 1) -> tuple[int, float]:
    """The largest N (to ~3%) the form finishes within ``frame_s``, measured near ``estimate``.

    Bisection on log N between estimate / 2 and 2 estimate (the estimate interpolated from a
    benchmark table), each length timed best of ``repeats``. Returns N and its time.
    """
    rng = np.random.default_rng(seed)
    high = int(2 * estimate) + 1
    q, k, v = (rng.standard_normal((high, d), np.float32) for _ in range(3))

    def seconds(n: int) -> float:
        return time_form(form, q[:n], k[:n], v[:n], repeats=repeats, backend=backend)

    low = max(16, int(estimate / 2))
    while high / low > 1.03:
        middle = int(math.sqrt(low * high))
        if seconds(middle) <= frame_s:
            low = middle
        else:
            high = middle
    return low, seconds(low)


def main(argv=None) -> int:
    """Time the quadratic and linear forms of causal linear attention as N grows; fit the slopes."""
    parser = argparse.ArgumentParser(prog="python levels/associativity_switch/kernels.py", description=main.__doc__)
    parser.add_argument("--d", type=int, default=64, help="head dimension (default 64)")
    parser.add_argument("--n-min", type=int, default=128)
    parser.add_argument("--n-max", type=int, default=100_000)
    parser.add_argument("--budget", type=float, default=5.0, help="seconds allowed per form and size (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per size (default 3)")
    parser.add_argument("--frame-ms", type=float, default=1000 / 60, help="frame budget for the last table")
    parser.add_argument("--backend", choices=backends.BACKENDS, default=None,
                        help="numba (or glsl) compiles the recurrent form's token loop; numpy runs it in Python "
                             "(default: the best available)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 unless the slopes are near 2 (quadratic) and 1 (linear)")
    args = parser.parse_args(argv)

    backend = backends.choose(args.backend)
    bench = AttentionBenchmark(d=args.d, n_min=args.n_min, n_max=args.n_max, size_budget_s=args.budget,
                               repeats=args.repeats, backend=backend)
    print(f"causal linear attention, one head, d = {args.d}, float32; quadratic form: tiled BLAS products; "
          f"linear form: token-by-token recurrence in {recurrent_backend(backend)}; best of {args.repeats}; "
          f"budget {args.budget:g} s per form and size")
    print(f"{'N':>8} {'quadratic ms':>13} {'linear ms':>11} {'ratio':>7} {'max |diff|':>11} "
          f"{'N x N matrix':>13} {'state':>9}")
    bench.run()
    for n in bench.sizes:
        tq, tl = bench.seconds["quadratic"].get(n), bench.seconds["linear"].get(n)
        cells = [f"{1e3 * tq:13.2f}" if tq else f"{'-':>13}", f"{1e3 * tl:11.2f}" if tl else f"{'-':>11}",
                 f"{tq / tl:7.2f}" if tq and tl else f"{'-':>7}",
                 f"{bench.differences[n]:11.1e}" if n in bench.differences else f"{'-':>11}"]
        print(f"{n:>8} {' '.join(cells)} {_human_bytes(attention_matrix_bytes(n)):>13} "
              f"{_human_bytes(state_bytes(args.d)):>9}")
    ok = True
    for form, expected in (("quadratic", 2.0), ("linear", 1.0)):
        slope, span = bench.slope(form), bench.fit_span(form)
        near = slope is not None and abs(slope - expected) <= 0.35
        ok &= near
        shown = "n/a" if slope is None else f"{slope:.2f} over N = {span[0]} ... {span[1]}"
        print(f"{form:>9}: fitted slope {shown} (the largest sizes; expected ~{expected:g}), "
              f"last doubling {_last_slope(bench.seconds[form])}; {bench.status(form)}")
    report = bench.crossover_report()
    if report is not None and report.where == "below":
        bench.extend_below()
        report = bench.crossover_report()
    print(f"crossover: {describe_crossover(report)}")
    frame = args.frame_ms / 1e3
    print(f"largest N finished within one frame ({args.frame_ms:.1f} ms), both forms measured the same way:")
    for form in FORMS:
        estimate = bench.largest_n_within(form, frame)
        if estimate is None:
            print(f"{form:>9}: none, even N = {bench.sizes[0]} takes longer")
            continue
        n, seconds = largest_n_in_frame(form, frame, args.d, estimate, backend)
        print(f"{form:>9}: N = {n} ({1e3 * seconds:.1f} ms, best of 5; the table interpolates {estimate:.0f})")
    if args.check and not ok:
        print("CHECK FAILED: a fitted slope is not near its expected value")
        return 1
    return 0


def _last_slope(seconds: dict[int, float]) -> str:
    """The local exponent between the two largest sizes timed, as text."""
    if len(seconds) < 2:
        return "n/a"
    (n0, t0), (n1, t1) = sorted(seconds.items())[-2:]
    return f"{math.log(t1 / t0) / math.log(n1 / n0):.2f}"


def _human_bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.3g} {unit}"
        count /= 1000.0
    return f"{count:.3g} TB"


if __name__ == "__main__":  # as the game imports it: in the level's package, with its GL context
    from sandbox.kernels import run_level_script

    raise SystemExit(run_level_script(__file__))
