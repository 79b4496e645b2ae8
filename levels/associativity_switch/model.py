"""The associativity switch: one product Q K^T V, two places for the parentheses, and SSD.

The simulation has two parts. The *pictures* run at a small N: the causal linear attention of
N random tokens computed both ways (and Mamba-2's SSD both ways), with a token cursor that rolls
along the sequence. The *benchmark* times both forms at N = 128 ... 100 000 a few milliseconds
per step, so the window never freezes while the log-log plot fills in.
"""

from __future__ import annotations

import math

import numpy as np

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
    * ``token``: the cursor, 1..N: the view shows the first ``token`` rows of the heatmaps and
      ``states[token - 1]``.
    * ``bench``: the :class:`sim.attention.AttentionBenchmark` (``None`` until switched on);
      its ``seconds``, ``fit(form)``, ``crossover()``, ``status(form)`` and ``sizes`` draw the
      log-log plot.
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
            self.bench.advance(self.params["bench_ms_per_step"] / 1000.0)

    # -- what the learner reads -------------------------------------------------------------

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

        The benchmark is finished if the run's steps did not get far enough to see the
        crossover. If the quadratic form is faster at every size up to ``bench_n_max``, the
        answer is log10(bench_n_max): the crossover lies beyond it.
        """
        if self.bench is None:
            self._start_benchmark()
        while self.bench.crossover() is None and self.bench.advance(0.25):
            pass
        crossover = self.bench.crossover()
        return math.log10(crossover if crossover else self.bench.sizes[-1])

    def measure_memory_matrix_gb(self, run) -> float:
        """GB of the transformer form's N x N float32 weights at N = ``bench_n_max``."""
        return attention_matrix_bytes(self.params["bench_n_max"]) / 1e9

    def measure_memory_state_kb(self, run) -> float:
        """kB of the RNN form's float32 state (S, d x d, and z, d) at d = ``bench_d``."""
        return state_bytes(self.params["bench_d"]) / 1e3
