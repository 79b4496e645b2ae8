"""Attention by hand: seed 002's three tokens (or random ones with d coordinates) through
softmax(QKᵀ/(τ√d))V, the attention matrix's spectrum, and attention applied once more every step."""

from __future__ import annotations

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from .attention import (
    MAX_DEPTH,
    SEED_KEYS,
    SEED_QUERIES,
    SEED_VALUES,
    SWEEP_DIMS,
    SWEEP_DRAWS,
    distance_to_stationary,
    powers,
    random_vectors,
    row_sharpness,
    sample_dots,
    score_divisor,
    sharpness_at,
    spectrum,
    work,
)

SEED_EXAMPLE, RANDOM = "the seed's example", "random vectors"
#: the parameter of each coordinate a learner can drag: (matrix, token, axis) -> name
VECTOR_PARAMS = {(m, i, a): f"{m}{i}{'xy'[a]}" for m in "qkv" for i in range(3) for a in range(2)}
SEED_MATRICES = {"q": SEED_QUERIES, "k": SEED_KEYS, "v": SEED_VALUES}
#: draws of three random tokens behind a challenge's "what happens to a row" (the sweep's are fewer)
MEASURE_DRAWS = 2000
#: a row whose largest weight averages above this has one token taking nearly all; below the second, evened out
ONE_TOKEN_TOP, EVEN_TOP = 0.9, 0.4
ROW_OUTCOMES = ("it evens out toward 1/3 each", "it stays about as spread", "one weight takes nearly all")
GAP_OUTCOMES = ("near 0", "about ½", "near 1")


class AttentionWorked(Model):
    """Three tokens' attention, every number kept for the view.

    Public state: ``worked`` (:class:`~.attention.Worked`: dots, scores, exps, sums, weights,
    outputs), ``spectrum`` (:class:`~.attention.Spectrum`), ``d``, ``divisor``; ``depth``, how many
    times attention has been applied (1 after a reset, one more every step up to MAX_DEPTH);
    ``powers[t - 1] = Aᵗ`` and ``trails[t - 1] = Aᵗ V`` for t up to MAX_DEPTH.
    """

    work_unit = "layers"

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        self.random_q, self.random_k, self.random_v = random_vectors(seed)
        self.depth = 1
        self._solve()

    @property
    def example(self) -> bool:
        """The seed's example (d = 2, every coordinate a parameter) rather than random vectors."""
        return self.params["source"] == SEED_EXAMPLE

    def matrix(self, name: str) -> np.ndarray:
        """The queries ``q``, keys ``k`` or values ``v`` in use: one row per token."""
        if self.example:
            return np.array([[self.params[VECTOR_PARAMS[(name, i, a)]] for a in range(2)] for i in range(3)])
        d = self.params["d"]
        return {"q": self.random_q[:, :d], "k": self.random_k[:, :d], "v": self.random_v}[name]

    def is_seed_example(self) -> bool:
        """Whether the vectors are seed 002's exactly, with its scaling (the printed numbers apply)."""
        return (self.example and self.params["scaled"] and self.params["temperature"] == 1.0
                and all(np.array_equal(self.matrix(m), SEED_MATRICES[m]) for m in "qk"))

    def _solve(self) -> None:
        q, k, v = (self.matrix(m) for m in "qkv")
        self.d = q.shape[1]
        self.divisor = score_divisor(self.d, self.params["scaled"], self.params["temperature"])
        self.worked = work(q, k, v, self.divisor)
        self.spectrum = spectrum(self.worked.weights)
        self.powers = powers(self.worked.weights, MAX_DEPTH)
        self.trails = self.powers @ self.worked.values

    def set_param(self, name, value) -> None:
        super().set_param(name, value)
        self._solve()

    def step(self) -> None:
        self.depth = min(self.depth + 1, MAX_DEPTH)

    # -- how sharp a row is as d grows ----------------------------------------------------------

    @derived(key=lambda self: self.seed)
    def sweep_dots(self) -> dict[int, np.ndarray]:
        """Sampled q·k of three random tokens at each dimension of the sweep (a fixed draw per seed)."""
        rng = np.random.default_rng(self.seed + 1)
        return {int(d): sample_dots(rng, int(d), SWEEP_DRAWS) for d in SWEEP_DIMS}

    @derived("temperature", key=lambda self: self.seed)
    def sharpness_sweep(self) -> dict[str, np.ndarray]:
        """The mean largest weight of a row against d, with and without the 1/√d (``dims``,
        ``top_scaled``, ``top_unscaled``, and the standard deviation of the divided scores)."""
        dots = self.sweep_dots()
        out = {"dims": SWEEP_DIMS.astype(np.float64)}
        for scaled, name in ((True, "scaled"), (False, "unscaled")):
            stats = np.array([sharpness_at(dots[int(d)], int(d), scaled, self.params["temperature"])
                              for d in SWEEP_DIMS])
            out[f"top_{name}"], out[f"entropy_{name}"], out[f"spread_{name}"] = stats.T
        return out

    def row_statistics(self, d: int, scaled: bool, draws: int = MEASURE_DRAWS) -> tuple[float, float, float]:
        """Mean largest weight, mean entropy and score spread of rows of three random tokens at
        dimension ``d`` (``draws`` fresh draws from this run's seed)."""
        dots = sample_dots(np.random.default_rng(self.seed + 2), int(d), draws)
        return sharpness_at(dots, int(d), scaled, self.params["temperature"])

    # -- what is recorded ----------------------------------------------------------------------

    def observables(self) -> dict:
        w, s = self.worked, self.spectrum
        top, entropy = row_sharpness(w.weights)
        power = self.powers[self.depth - 1]
        return {
            "self_share": float(w.weights[0, 0]),
            "top_weight": top,
            "entropy": entropy,
            "row_sum_error": float(np.max(np.abs(w.weights.sum(axis=1) - 1.0))),
            "score_spread": float(np.std(w.scores)),
            "divisor": self.divisor,
            "lambda2": s.second,
            "gap": s.gap,
            "depth": float(self.depth),
            "distance": distance_to_stationary(power, s.stationary),
            "rate": max(s.second ** self.depth, 1e-16),
            "attention": w.weights,
            "outputs": self.trails[self.depth - 1],
            "stationary": s.stationary,
        }

    def state(self) -> dict[str, np.ndarray]:
        return {"weights": self.worked.weights, "outputs": self.worked.outputs, "stationary": self.spectrum.stationary}

    # -- challenges ----------------------------------------------------------------------------

    def measure_self_share(self, run) -> float:
        """The weight of "The" on itself, A₀₀, as the run recorded it."""
        return float(run.series("self_share")[-1])

    def measure_row_at_d(self, run) -> str:
        """What rows of three random tokens at the run's d and scaling look like, on average over
        MEASURE_DRAWS draws: one weight near 1, evened out, or about as spread as with √d."""
        top = self.row_statistics(self.params["d"], self.params["scaled"])[0]
        if top > ONE_TOKEN_TOP:
            return ROW_OUTCOMES[2]
        return ROW_OUTCOMES[0] if top < EVEN_TOP else ROW_OUTCOMES[1]

    def measure_gap_size(self, run) -> str:
        """The spectral gap 1 − |λ₂| the run recorded, in thirds: near 0, about ½, near 1."""
        gap = float(run.series("gap")[-1])
        return GAP_OUTCOMES[0] if gap < 1 / 3 else GAP_OUTCOMES[2] if gap > 2 / 3 else GAP_OUTCOMES[1]
