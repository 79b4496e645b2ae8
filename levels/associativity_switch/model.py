"""The associativity switch: one product Q K^T V, two places for the parentheses, and SSD.

The simulation has two parts. The *pictures* run at a small N: the causal linear attention of
N random tokens computed both ways (and Mamba-2's SSD both ways), with a token cursor that rolls
along the sequence. The *benchmark* times both forms at N = 128 ... 100 000 a few milliseconds
per step, so the window never freezes while the log-log plot fills in; on a fixed clock (headless
runs) a step's share is a count of the benchmark's slices instead, so every machine reaches the
same sizes in the same steps (only the measured times differ).
"""

from __future__ import annotations

import math

import numpy as np

from sandbox.clock import Budget, current
from sandbox.kit import derived
from sandbox.model import Model

from .kernels import (
    AttentionBenchmark,
    attention_matrix_bytes,
    feature_map,
    linear_attention_recurrent,
    linear_attention_weights,
    recurrent_backend,
    ssd_mask,
    ssd_masked,
    ssd_states,
    state_bytes,
)

# The benchmark's linear form runs its token loop compiled ("compiled": Numba) or in Python.
LOOP_BACKENDS = {"compiled": "numba", "python": "numpy"}
SLICE_MS = 2.0  # the benchmark works in slices of a millisecond or two: a step's share on a fixed clock


def scaled(matrix: np.ndarray, axis=None) -> np.ndarray:
    """``matrix`` divided by its largest magnitude (over ``axis``: each row, or each state on its
    own): [-1, 1] for the signed colour map, [0, 1] for a positive matrix; 0 where that is not finite."""
    peak = np.max(np.abs(matrix), axis=axis, keepdims=True) if matrix.size else np.zeros(1)
    usable = np.isfinite(peak) & (peak > 0)
    return np.where(usable, matrix / np.where(usable, peak, 1.0), 0.0)


def causal(matrix: np.ndarray) -> np.ndarray:
    """NaN above the diagonal: the cells a causal product never computes."""
    return np.where(np.tri(*matrix.shape, dtype=bool), matrix, np.nan)


class AssociativitySwitch(Model):
    """Causal linear attention as (phi(Q) phi(K)^T) V or phi(Q) (phi(K)^T V), and SSD.

    Public state for the view (N = ``seq_len``, d = ``d``):

    * ``q``, ``k``, ``v``: the tokens, ``(N, d)``; ``fq``, ``fk``: their features phi(q), phi(k).
    * ``weights``: the transformer form's ``(N, N)`` causal attention weights (rows sum to 1).
    * ``y_quadratic``, ``y_recurrent``: the outputs of both associativities, ``(N, d)``.
    * ``states``: the RNN form's state ``S_t`` for every token, ``(N, d, d)``; ``normalisers``:
      ``z_t``, ``(N, d)``.
    * ``decays``: Mamba-2's ``a_t``, ``(N,)``; ``mask``: the SSD decay mask ``L``, ``(N, N)``;
      ``ssd_scores``: ``L o C B^T``; ``ssd_states``: ``h_t``, ``(N, d, d)``; ``y_ssd_masked``,
      ``y_ssd_recurrent``: its two outputs (here ``B = phi(K)``, ``C = phi(Q)``, ``x = V``).
    * ``token``: the cursor, 1..N (recorded as the observable ``token``): the view shows the first
      ``token`` rows of the heatmaps and the state after token ``token``.
    * ``bench``: the :class:`~.kernels.AttentionBenchmark` (``None`` until switched on); its
      ``seconds``, ``fit(form)``, ``fit_span(form)``, ``crossover_report()``, ``status(form)`` and
      ``sizes`` draw the log-log plot.

    Derived for drawing (memoised): :meth:`pictures` (every matrix scaled for its colour map),
    :meth:`memory_curve` and :meth:`multiply_adds`.
    """

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        rng = np.random.default_rng(seed)
        n, d = self.params["seq_len"], self.params["d"]
        self.q, self.k, self.v = (rng.standard_normal((n, d)) for _ in range(3))
        self.fq, self.fk = feature_map(self.q), feature_map(self.k)
        # Per-token log-normal spread of the decay exponent: 0 jitter gives a Toeplitz mask.
        self._decay_noise = rng.standard_normal(n)
        self.weights = linear_attention_weights(self.q, self.k)
        self.y_quadratic = self.weights @ self.v
        self.y_recurrent = linear_attention_recurrent(self.q, self.k, self.v, backend=self.backend)
        ones = np.ones(n)
        self.states = ssd_states(ones, self.fk, self.v, backend=self.backend)
        self.normalisers = ssd_states(ones, self.fk, ones, backend=self.backend)[:, :, 0]
        self._form_gaps = np.max(np.abs(self.y_quadratic - self.y_recurrent), axis=1)
        self.version = getattr(self, "version", 0) + 1  # the pictures are derived from these arrays
        self._update_ssd()
        self.token = 1
        self.bench = None
        if self.params["benchmark"]:
            self._start_benchmark()

    def _update_ssd(self) -> None:
        """Recompute the SSD pictures for the current decay settings."""
        exponent = np.exp(self.params["decay_jitter"] * self._decay_noise)
        self.decays = self.params["decay"] ** exponent
        self.mask = ssd_mask(self.decays)
        self.ssd_scores = self.mask * (self.fq @ self.fk.T)
        self.y_ssd_masked = ssd_masked(self.decays, self.fk, self.fq, self.v)
        self.ssd_states = ssd_states(self.decays, self.fk, self.v, backend=self.backend)
        self.y_ssd_recurrent = np.einsum("tn,tnp->tp", self.fq, self.ssd_states)
        self._ssd_gaps = np.max(np.abs(self.y_ssd_masked - self.y_ssd_recurrent), axis=1)
        self.version = getattr(self, "version", 0) + 1

    def _start_benchmark(self) -> None:
        p = self.params
        self.bench = AttentionBenchmark(d=p["bench_d"], n_max=p["bench_n_max"], size_budget_s=p["size_budget_s"],
                                        backend=LOOP_BACKENDS[p["rnn_loop"]], seed=self.seed)

    def set_param(self, name, value) -> None:
        super().set_param(name, value)
        if name in ("decay", "decay_jitter"):
            self._update_ssd()
        elif name == "benchmark":
            self.bench = None
            if value:
                self._start_benchmark()
        elif name in ("bench_d", "bench_n_max", "size_budget_s", "rnn_loop") and self.bench is not None:
            self._start_benchmark()  # new settings: start the measurements again

    def step(self) -> None:
        n = self.params["seq_len"]
        self.token = (self.token + self.params["tokens_per_step"] - 1) % n + 1
        if self.bench is not None and not self.bench.done:
            self._advance_benchmark()

    def _advance_benchmark(self) -> None:
        """A step's share of the benchmark: ``bench_ms_per_step`` of work with a real clock; with a
        fixed clock (headless) the number of slices that is meant to hold, whatever they take, so
        the same steps reach the same sizes on every machine."""
        ms = self.params["bench_ms_per_step"]
        slices = max(1, math.ceil(ms / SLICE_MS)) if current().deterministic else None
        self.bench.advance(Budget(ms / 1000.0, units=slices))

    # -- what the learner reads -------------------------------------------------------------

    @derived(key=lambda self: self.version)
    def pictures(self) -> dict[str, np.ndarray]:
        """Every matrix as drawn: scaled to [0, 1] (positive) or [-1, 1] (signed) by its largest
        entry, the weights and scores row by row (each row's pattern reads at any length), NaN
        above the causal diagonal; ``states``, ``normalisers`` (a column each) and ``ssd_states``
        hold one picture per token, each scaled on its own."""
        pictures = {"fq": scaled(self.fq), "fkT": scaled(self.fk).T, "v": scaled(self.v),
                    "weights": causal(scaled(self.weights, axis=1)), "y_quadratic": scaled(self.y_quadratic),
                    "y_recurrent": scaled(self.y_recurrent), "states": scaled(self.states, axis=(1, 2)),
                    "normalisers": scaled(self.normalisers, axis=1)[:, :, None], "mask": causal(self.mask),
                    "scores": causal(scaled(self.ssd_scores, axis=1)), "y_ssd": scaled(self.y_ssd_masked),
                    "ssd_states": scaled(self.ssd_states, axis=(1, 2))}
        return {name: picture.astype(np.float32) for name, picture in pictures.items()}  # as uploaded

    @derived("seq_len", "d")
    def memory_curve(self, points: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """float32 bytes held at token t = 1 ... N: ``(t, N×N matrix at N = t, state)``."""
        ts = np.unique(np.geomspace(1, self.params["seq_len"], points).round())
        matrix = np.array([attention_matrix_bytes(int(t)) for t in ts], np.float64)
        return ts, matrix, np.full_like(ts, float(state_bytes(self.params["d"])))

    def multiply_adds(self, t: int) -> tuple[int, int]:
        """Multiply-adds of the chosen parentheses: for token ``t`` (reading t keys, or updating and
        reading the state), and for all N tokens."""
        n, d = self.params["seq_len"], self.params["d"]
        if self.params["mode"] == "rnn":
            return 2 * d * d + 2 * d, 2 * n * (d * d + d)
        return 2 * t * d, n * (n + 1) * d

    def outputs(self) -> tuple[np.ndarray, np.ndarray]:
        """The two forms' outputs for the chosen parentheses, ``(N, d)`` each: the quadratic (or
        masked) form's, then the recurrence's."""
        if self.params["mode"] == "ssd":
            return self.y_ssd_masked, self.y_ssd_recurrent
        return self.y_quadratic, self.y_recurrent

    def fitted_line(self, form: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The benchmark's fitted power law t = c N^p of a form over the sizes it is fitted to (the
        largest timed): (N, seconds) at both ends, or None before two sizes are fitted."""
        fitted = self.bench.fit(form) if self.bench is not None else None
        if fitted is None:
            return None
        ns = np.array(self.bench.fit_span(form), np.float64)
        return ns, 10.0 ** (fitted[1] + fitted[0] * np.log10(ns))

    def linear_loop_code(self) -> str:
        """What the benchmark's linear form runs: ``numba`` or ``numpy`` (a Python loop)."""
        return recurrent_backend(LOOP_BACKENDS[self.params["rnn_loop"]])

    def observables(self) -> dict[str, float]:
        t, d = self.token, self.params["d"]
        bench = self.bench
        slopes = {form: (bench.slope(form) if bench else None) for form in ("quadratic", "linear")}
        crossover = bench.crossover() if bench else None
        return {
            "token": float(t),
            "attention_entries": t * (t + 1) / 2.0,
            "attention_bytes": float(attention_matrix_bytes(t)),
            "state_bytes": float(state_bytes(d)),
            "form_difference": float(self._form_gaps[:t].max()),
            "ssd_difference": float(self._ssd_gaps[:t].max()),
            "memory_length": float(1.0 / max(1e-12, 1.0 - float(np.mean(self.decays)))),
            "bench_progress": bench.progress() if bench else 0.0,
            "bench_n_quadratic": float(bench.largest_n("quadratic")) if bench else 0.0,
            "bench_n_linear": float(bench.largest_n("linear")) if bench else 0.0,
            "bench_slope_quadratic": slopes["quadratic"] or 0.0,
            "bench_slope_linear": slopes["linear"] or 0.0,
            "bench_crossover_log10": math.log10(crossover) if crossover else 0.0,
        }

    def state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "states": self.states, "ssd_states": self.ssd_states,
                "y_quadratic": self.y_quadratic, "y_recurrent": self.y_recurrent}

    # -- challenges --------------------------------------------------------------------------

    def measure_crossover_log10(self, run) -> float:
        """log10 of the N where the quadratic form becomes slower, timed on this machine.

        The benchmark goes on if the run's steps did not get far enough to see the crossover.
        If the quadratic form is slower at every size of the plan, smaller sizes are timed until
        it is not (down to N = 8), so the crossover is measured rather than named as the smallest
        size. If it is faster at every size up to ``bench_n_max``, the crossover is beyond what was
        timed: the answer is where the fitted power laws meet (at least ``bench_n_max``).
        """
        if self.bench is None:
            self._start_benchmark()
        while self.bench.crossover_report() is None and self.bench.advance(0.25):
            pass
        report = self.bench.crossover_report()
        if report is not None and report.where == "below":
            self.bench.extend_below()
            report = self.bench.crossover_report()
        if report is None or report.where == "beyond":
            largest = float(report.n if report is not None else self.bench.sizes[-1])
            return math.log10(max(largest, self.bench.extrapolated_crossover() or largest))
        return math.log10(report.n)

    def measure_memory_matrix_gb(self, run) -> float:
        """GB of the transformer form's N x N float32 weights at N = ``bench_n_max``."""
        return attention_matrix_bytes(self.params["bench_n_max"]) / 1e9

    def measure_memory_state_kb(self, run) -> float:
        """kB of the RNN form's float32 state (S, d x d, and z, d) at d = ``bench_d``."""
        return state_bytes(self.params["bench_d"]) / 1e3
