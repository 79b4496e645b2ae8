"""The discretization lab: a continuous SSM sampled with step Delta by Euler, bilinear and ZOH,
and the HiPPO-LegS memory next to a random one."""

from __future__ import annotations

import math

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from .kernels import (
    METHODS,
    continuous_response,
    discretize,
    hippo_legs,
    largest_stable_dt,
    legendre_readout,
    legs_step,
    random_stable_matrix,
    simulate,
    spectral_radius,
    truncated_readout,
)

FINE_STEP_MAX = 0.005  # s: the continuous reference's grid step (exact for piecewise-linear input)
DRAWN_POINTS = 4000  # the continuous curve is decimated to about this many points for drawing
HIPPO_STEP = 0.01  # s between the samples that the two memories take in
HISTORY_POINTS = 200  # points of the reconstructed history the view draws
CHIRP_START_HZ = 0.05
DISPLAY_LIMIT = 1e12  # discrete outputs beyond this are reported as this (an unstable method)
# Δ range over which "can bilinear ever go unstable?" is measured, and stable poles tried.
SWEEP_DTS = np.logspace(-3, 3, 61)
SWEEP_POLES = [complex(re, im) for re in (-5.0, -1.0, -0.1, -0.01) for im in (0.0, 1.0, 10.0)]
POLE_MAPS = {  # the eigenvalue of Abar for an eigenvalue lambda of A (exact for the normal A here)
    "euler": lambda z: 1.0 + z,
    "bilinear": lambda z: (1.0 + 0.5 * z) / (1.0 - 0.5 * z),
    "zoh": np.exp,
}


def oscillator(pole_real: float, pole_imag: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 2-state system with poles ``pole_real +- i pole_imag`` and unit DC gain.

    ``A = [[s, -w], [w, s]]``, ``B = (1, 0)``; ``C = (-s, w)`` makes ``-C A^-1 B = 1`` so a step
    settles at 1 whatever the poles (for A = 0, the integrator, ``C = (1, 0)``).
    """
    s, w = pole_real, pole_imag
    A = np.array([[s, -w], [w, s]])
    C = np.array([-s, w]) if s * s + w * w > 1e-12 else np.array([1.0, 0.0])
    return A, np.array([1.0, 0.0]), C


def input_signal(kind: str, t: np.ndarray, freq: float, horizon: float, seed: int) -> np.ndarray:
    """The learner's input u(t): chirp (CHIRP_START_HZ up to ``freq`` over the horizon), step,
    square, sine, or noise (random levels held for half a period)."""
    t = np.asarray(t, dtype=np.float64)
    if kind == "chirp":
        rate = (freq - CHIRP_START_HZ) / horizon
        return np.sin(2 * np.pi * (CHIRP_START_HZ * t + 0.5 * rate * t * t))
    if kind == "step":
        return np.ones_like(t)
    if kind == "square":
        return np.where(np.sin(2 * np.pi * freq * t) >= 0, 1.0, -1.0)
    if kind == "sine":
        return np.sin(2 * np.pi * freq * t)
    if kind == "noise":
        hold = 0.5 / freq
        levels = np.random.default_rng(seed).uniform(-1, 1, int(horizon / hold) + 2)
        return levels[np.minimum((t / hold).astype(int), len(levels) - 1)]
    raise ValueError(f"unknown input {kind!r}")


def smooth_signal(t: np.ndarray, horizon: float, seed: int) -> np.ndarray:
    """A slowly varying test history: three sines of 0.5 to 3 periods over the horizon."""
    rng = np.random.default_rng(seed + 7)
    periods = rng.uniform(0.5, 3.0, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    amplitudes = np.array([1.0, 0.6, 0.3])
    return np.sum(amplitudes * np.sin(2 * np.pi * np.outer(t, periods) / horizon + phases), axis=1)


class DiscretizationLab(Model):
    """x' = A x + B u, y = C x against its Euler, bilinear and ZOH discretizations, and HiPPO.

    Public state for the view:

    * ``A``, ``B``, ``C``: the continuous system; ``poles``: its two poles (complex).
    * ``fine_times``, ``y_continuous``, ``u_fine``: the continuous response and input (decimated).
    * ``sample_times``: ``k Delta``; ``u_samples``; ``y_discrete[method]``: each method's outputs
      (``nan`` where an unstable method overflowed); ``discrete[method] = (Abar, Bbar)``;
      ``discrete_poles[method]``: eigenvalues of Abar (draw them against the unit circle);
      ``radius[method]``; ``errors[method]``: RMS error against the continuous response at the
      sample times; ``euler_limit``: the largest stable Euler step for these poles.
    * ``pole_pair``: ``sigma + i omega`` and its conjugate; derived for drawing:
      ``pole_paths(dt_min, dt_max)``, ``euler_disk()``, ``euler_crossing()``.
    * ``time``: the playhead in s. The two memories have taken in the history up to it:
      ``hippo_state``, ``random_state`` (N numbers each, with ``state_noise`` added);
      ``history_times``, ``history_true``, ``history_hippo``, ``history_random``: the history
      and both reconstructions on HISTORY_POINTS points; ``legs_A``, ``random_A``: the matrices.
    """

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        self.time = 0.0
        self._build_responses()
        self._build_memories()

    # -- the continuous system and its discretizations ---------------------------------------

    def _input(self, t: np.ndarray) -> np.ndarray:
        p = self.params
        return input_signal(p["input"], t, p["input_freq"], p["horizon"], self.seed)

    def _build_responses(self) -> None:
        p = self.params
        dt, horizon = p["dt"], p["horizon"]
        self.A, self.B, self.C = oscillator(p["pole_real"], p["pole_imag"])
        self.poles = np.linalg.eigvals(self.A)
        # The fine grid divides Delta so the reference has a value at every sample time.
        substeps = max(1, math.ceil(dt / FINE_STEP_MAX))
        h = dt / substeps
        fine_times = np.arange(int(round(horizon / h)) + 1) * h
        y_fine = continuous_response(self.A, self.B, self.C, self._input(fine_times), h, self.backend)
        self.sample_times = fine_times[::substeps]
        self.u_samples = self._input(self.sample_times)
        y_at_samples = y_fine[::substeps]
        stride = max(1, len(fine_times) // DRAWN_POINTS)
        self.fine_times, self.y_continuous = fine_times[::stride], y_fine[::stride]
        self.u_fine = self._input(self.fine_times)
        self.discrete, self.discrete_poles, self.radius, self.y_discrete, self.errors = {}, {}, {}, {}, {}
        for method in METHODS:
            Abar, Bbar = discretize(self.A, self.B, dt, method)
            self.discrete[method] = (Abar, Bbar)
            self.discrete_poles[method] = np.linalg.eigvals(Abar)
            self.radius[method] = spectral_radius(Abar)
            # x_0 = 0 at t = 0, then x_k = Abar x_{k-1} + Bbar u_k for k >= 1.
            y = np.concatenate([[0.0], simulate(Abar, Bbar, self.C, self.u_samples[1:], self.backend)])
            with np.errstate(over="ignore", invalid="ignore"):
                gap = np.sqrt(np.mean((y - y_at_samples) ** 2))
            self.y_discrete[method] = np.where(np.abs(y) < DISPLAY_LIMIT, y, np.nan)
            self.errors[method] = float(gap) if np.isfinite(gap) and gap < DISPLAY_LIMIT else DISPLAY_LIMIT
        self.euler_limit = largest_stable_dt(self.A, "euler")

    @property
    def continuous_stability(self) -> str:
        """The continuous system's poles σ ± iω: "stable" (σ < 0: every response decays), "marginally
        stable" (σ = 0: a free response keeps its size, ringing forever or holding still) or "unstable"
        (σ > 0: it grows)."""
        sigma = self.params["pole_real"]
        return "stable" if sigma < 0 else "marginally stable" if sigma == 0 else "unstable"

    @property
    def pole_pair(self) -> np.ndarray:
        """The continuous poles ``sigma + i omega`` and ``sigma - i omega``, in that order."""
        sigma, omega = self.params["pole_real"], self.params["pole_imag"]
        return np.array([complex(sigma, omega), complex(sigma, -omega)])

    @derived("pole_real", "pole_imag")
    def pole_paths(self, dt_min: float, dt_max: float, points: int = 240) -> dict[str, np.ndarray]:
        """Each method's two poles for Delta log-spaced over [dt_min, dt_max]: the path they take
        as the step grows (method -> ``(2, points)`` complex; row 0 is the upper pole's)."""
        dts = np.geomspace(dt_min, dt_max, points)
        with np.errstate(all="ignore"):
            return {method: POLE_MAPS[method](dts[None, :] * self.pole_pair[:, None]) for method in METHODS}

    @derived("dt")
    def euler_disk(self, points: int = 720) -> np.ndarray:
        """The edge of Euler's stable region |1 + Delta lambda| = 1 in the lambda-plane: the circle
        of radius 1/Delta centred at -1/Delta (complex points)."""
        return (np.exp(1j * np.linspace(0.0, 2 * math.pi, points)) - 1.0) / self.params["dt"]

    @derived("pole_real", "pole_imag")
    def euler_crossing(self, dt_min: float = 0.0, dt_max: float = math.inf) -> np.ndarray | None:
        """Where Euler's two poles cross the unit circle, 1 + limit * lambda; None when no step is
        stable or the limit is outside [dt_min, dt_max]."""
        limit = self.euler_limit
        return 1.0 + limit * self.pole_pair if 0 < limit and dt_min <= limit <= dt_max else None

    # -- HiPPO-LegS against a random A --------------------------------------------------------

    def _build_memories(self) -> None:
        p = self.params
        n = p["hippo_n"]
        rng = np.random.default_rng(self.seed + 1)
        self.legs_A, self.legs_B = hippo_legs(n)
        self.random_A = random_stable_matrix(n, rng)
        self.random_B = rng.standard_normal(n)
        self._noise_direction = rng.standard_normal(n) / math.sqrt(n)
        self._random_Abar, self._random_Bbar = discretize(self.random_A, self.random_B, HIPPO_STEP, "bilinear")
        samples = int(round(p["horizon"] / HIPPO_STEP))
        self._history = self._memory_input(HIPPO_STEP * np.arange(1, samples + 1))
        # Column m of the random memory's kernel: Abar^m Bbar, the weight of the sample m steps ago.
        self._random_kernel = np.empty((samples, n))
        column = self._random_Bbar.copy()
        for m in range(samples):
            self._random_kernel[m] = column
            column = self._random_Abar @ column
        self._restart_memories()

    def _memory_input(self, t: np.ndarray) -> np.ndarray:
        if self.params["hippo_signal"] == "smooth":
            return smooth_signal(t, self.params["horizon"], self.seed)
        return self._input(t)

    def _restart_memories(self) -> None:
        n = self.params["hippo_n"]
        self.samples_seen = 0
        self._legs_clean = np.zeros(n)
        self._random_clean = np.zeros(n)
        self._random_gram = np.zeros((n, n))  # K K^T of the random memory's kernel so far
        self._read_memories()

    def _take_samples(self, until: float) -> None:
        """Feed both memories every sample up to time ``until``."""
        while self.samples_seen < len(self._history) and (self.samples_seen + 1) * HIPPO_STEP <= until + 1e-12:
            u = self._history[self.samples_seen]
            oldest = self._random_kernel[self.samples_seen]  # the weight the first sample now has
            self._random_gram += np.outer(oldest, oldest)
            self.samples_seen += 1
            self._legs_clean = legs_step(self._legs_clean, u, self.samples_seen, self.legs_A, self.legs_B)
            self._random_clean = self._random_Abar @ self._random_clean + self._random_Bbar * u

    def _noisy(self, state: np.ndarray) -> np.ndarray:
        return state + self.params["state_noise"] * np.linalg.norm(state) * self._noise_direction

    def _read_memories(self) -> None:
        """Reconstruct the history so far from each (noisy) state."""
        k = self.samples_seen
        self.hippo_state = self._noisy(self._legs_clean)
        self.random_state = self._noisy(self._random_clean)
        if k == 0:
            self.history_times = np.zeros(0)
            self.history_true = self.history_hippo = self.history_random = np.zeros(0)
            self.hippo_error = self.random_error = 0.0
            return
        true = self._history[:k]
        fractions = np.arange(1, k + 1) / k
        hippo = legendre_readout(self.hippo_state, fractions)
        kernel = self._random_kernel[:k][::-1].T  # state = kernel @ (u_1 .. u_k)
        random = truncated_readout(kernel, self._random_gram, self.random_state, self.params["state_noise"])
        scale = math.sqrt(float(np.mean(true ** 2))) or 1.0
        self.hippo_error = math.sqrt(float(np.mean((hippo - true) ** 2))) / scale
        self.random_error = math.sqrt(float(np.mean((random - true) ** 2))) / scale
        pick = np.unique(np.linspace(0, k - 1, min(k, HISTORY_POINTS)).astype(int))
        self.history_times = HIPPO_STEP * (pick + 1)
        self.history_true, self.history_hippo, self.history_random = true[pick], hippo[pick], random[pick]

    # -- stepping ----------------------------------------------------------------------------

    def set_param(self, name, value) -> None:
        super().set_param(name, value)
        if name in ("dt", "pole_real", "pole_imag", "input", "input_freq"):
            self._build_responses()
            if name in ("input", "input_freq") and self.params["hippo_signal"] == "input":
                self._build_memories()
        elif name == "state_noise":
            self._read_memories()

    def step(self) -> None:
        self.time += self.params["signal_per_step"]
        if self.time > self.params["horizon"]:
            self.time = 0.0
            self._restart_memories()
            return
        self._take_samples(self.time)
        self._read_memories()

    def _at_playhead(self, times: np.ndarray, values: np.ndarray) -> float:
        index = min(len(times) - 1, int(np.searchsorted(times, self.time, side="right")) - 1)
        value = values[max(0, index)]
        return float(np.clip(value, -DISPLAY_LIMIT, DISPLAY_LIMIT)) if np.isfinite(value) else DISPLAY_LIMIT

    def observables(self) -> dict[str, float]:
        values = {
            "time": self.time,
            "u": self._at_playhead(self.fine_times, self.u_fine),
            "y_continuous": self._at_playhead(self.fine_times, self.y_continuous),
            "euler_limit_dt": self.euler_limit,
            "euler_stable": float(self.radius["euler"] <= 1.0),
            "hippo_error": self.hippo_error,
            "random_error": self.random_error,
            "hippo_state": self.hippo_state,
        }
        for method in METHODS:
            values[f"y_{method}"] = self._at_playhead(self.sample_times, self.y_discrete[method])
            values[f"radius_{method}"] = self.radius[method]
            values[f"error_{method}"] = self.errors[method]
        return values

    def state(self) -> dict[str, np.ndarray]:
        # The discrete outputs may blow up on purpose (an unstable Euler step is a result here),
        # so only the continuous system and the memories are checked for finiteness.
        return {"y_continuous": self.y_continuous, "hippo_state": self.hippo_state,
                "random_state": self.random_state}

    # -- challenges --------------------------------------------------------------------------

    def measure_euler_limit(self, run) -> float:
        """The largest Delta for which Euler's Abar has spectral radius <= 1 (bisection), as the run
        recorded it."""
        return float(run.series("euler_limit_dt")[-1])

    def measure_bilinear_unstable(self, run) -> str:
        """Whether any stable pole, at any Delta from 1e-3 to 1e3, gets a bilinear Abar outside
        the unit circle: the learner's poles and a grid of others."""
        poles = SWEEP_POLES + [complex(self.params["pole_real"], self.params["pole_imag"])]
        for pole in poles:
            if pole.real >= 0:
                continue
            A, B, _ = oscillator(pole.real, pole.imag)
            if any(spectral_radius(discretize(A, B, dt, "bilinear")[0]) >= 1.0 for dt in SWEEP_DTS):
                return "yes"
        return "no"

    def measure_exact_method(self, run) -> str:
        """The method whose samples are closest to the continuous response (RMS), from the errors the
        run recorded."""
        return min(METHODS, key=lambda method: run.series(f"error_{method}")[-1])
