"""Newton-Schulz orthogonalization, shown on a 2×2 grid and an n×n gradient matrix, and a Muon race.

Every ``pace`` ticks one Newton-Schulz step is applied to both matrices (with the registered
``newton_schulz`` kernel on the level's backend). Every tick, if the race is on, three copies of
one small network take one full-batch step each: SGD with momentum, Adam, and Muon.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model
from sim import nn

from .kernels import (
    CUBIC,
    MUON_QUINTIC,
    QUINTIC_BAND,
    Muon,
    frobenius_normalize,
    iterate_singular_values,
    newton_schulz,
    polar_factor,
    singular_value_map,
)

COEFFICIENTS = {"quintic": MUON_QUINTIC, "cubic": CUBIC}
#: Muon's promise: 5 quintic steps (the challenges on the quintic look after this many).
MUON_STEPS = 5
#: Beyond this a singular value is on its way to overflow (the iteration diverged).
DIVERGED_SIGMA = 1e6
#: The iteration holds after this many steps (it has long converged or cycled by then).
MAX_ITERATIONS = 200
#: The race: three spiral arms of points, a 2-32-32-3 tanh network, the usual step sizes.
RACE_POINTS_PER_CLASS = 80
RACE_CLASSES = 3
RACE_HIDDEN = 32
RACE_LR = {"sgd": 0.1, "adam": 3e-3, "muon": 0.02}
RACE_MOMENTUM = 0.9
#: The drawn iterate moves from one step to the next over this share of a step's ticks.
TWEEN = 0.5


def spiral_data(rng: np.random.Generator, per_class: int = RACE_POINTS_PER_CLASS,
                classes: int = RACE_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one class per arm: points ``(N, 2)`` and labels ``(N,)``."""
    points, labels = [], []
    t = np.linspace(0.0, 1.0, per_class)
    for c in range(classes):
        radius = 0.2 + 2.0 * t
        angle = 2 * np.pi * c / classes + 6.0 * t + rng.normal(0.0, 0.15, per_class)
        points.append(np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1))
        labels.append(np.full(per_class, c))
    return np.concatenate(points), np.concatenate(labels)


def gradient_like_matrix(n: int, condition: float, rng: np.random.Generator) -> np.ndarray:
    """``U diag(σ) Vᵀ`` with random orthogonal U, V and σ log-spaced from 1 down to 1/condition."""
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    sigma = np.geomspace(1.0, 1.0 / condition, n)
    return (u * sigma) @ v.T


def singular_values(x: np.ndarray) -> np.ndarray | None:
    """Singular values, largest first; None if the matrix is not finite (a diverged iteration)."""
    if not np.all(np.isfinite(x)):
        return None
    return np.linalg.svd(np.asarray(x, dtype=np.float64), compute_uv=False)


class MuonModel(Model):
    """The Newton-Schulz iteration on two matrices, and optimizers racing on one network.

    For the view:

    * ``grid_input`` (the 2×2 matrix as edited), ``grid`` (after ``iteration`` steps),
      ``grid_previous`` (one step before), ``shown_grid()`` (the iterate as drawn, tweened from
      the one to the other, with its SVD), ``grid_polar`` (the exact polar factor UVᵀ of the
      input: where the grid is heading), ``grid_sigma_history`` (``(steps + 1, 2)``: the
      iteration's own path, restarted by every edit) and ``grid_distance()``;
    * ``matrix_sigma_history``: ``(steps + 1, n)`` singular values of the n×n gradient matrix,
      largest first (row 0 after the normalization), ``matrix_sigma_input`` (before it);
      ``matrix_gain_history``: the same per input direction, in the input's order (so a
      singular value can be followed through the steps; the runner records it as the ``gains``
      array observable); ``matrix_polar`` (UVᵀ); ``spectrum()``: the step-0 and current
      singular values binned on a log axis;
    * ``coefficients`` (a, b, c), ``sigma_map(σ)``, the polynomial every singular value goes
      through, ``fixed_point()`` (does σ settle on 1?) and ``cobweb()`` (the grid's σ through p);
    * the race: ``race_data`` (points, labels), ``race_networks`` (name → ``nn.Sequential``),
      ``race_optimizers`` and ``race_predict(name, points)`` (class probabilities).

    ``version`` counts changes of the iteration (a step or a restart): derived data keys on it.
    """

    work_unit = "ticks"

    def __init__(self, params: dict[str, Any], backend: str = "numpy"):
        super().__init__(params, backend)
        self.iteration = 0
        self.tick = 0
        self.version = 0

    # -- the iteration --------------------------------------------------------------------------

    @property
    def coefficients(self) -> tuple[float, float, float]:
        method = self.params["method"]
        if method == "custom":
            return (float(self.params["coef_a"]), float(self.params["coef_b"]), float(self.params["coef_c"]))
        return COEFFICIENTS[method]

    def sigma_map(self, sigma):
        """What one step does to a singular value σ under the current coefficients."""
        return singular_value_map(sigma, self.coefficients)

    def _grid_input(self) -> np.ndarray:
        p = self.params
        return np.array([[p["m00"], p["m01"]], [p["m10"], p["m11"]]], dtype=np.float64)

    def _start(self, matrix: np.ndarray) -> np.ndarray:
        """Step 0: the input, divided by its Frobenius norm when ``normalize`` is on."""
        return frobenius_normalize(matrix) if self.params["normalize"] else np.array(matrix, dtype=np.float64)

    def restart_iteration(self) -> None:
        """Start both matrices over from their inputs (after an edit of the matrix or the method)."""
        self.version += 1
        self.diverged = False
        self.iteration = 0
        self.tick = 0
        self.grid_input = self._grid_input()
        self.grid_polar = polar_factor(self.grid_input)
        self.grid = self._start(self.grid_input)
        self.grid_previous = self.grid.copy()
        self.grid_sigma_history = [singular_values(self.grid)]
        self.matrix = self._start(self.matrix_input)
        self.matrix_sigma_history = [singular_values(self.matrix)]
        self.matrix_gain_history = [self._gains(self.matrix)]

    def _gains(self, matrix: np.ndarray) -> np.ndarray:
        """``u_iᵀ X v_i`` for the input's singular vectors: the singular value that input direction
        ``i`` has now (the iteration keeps the singular vectors), in the input's order."""
        return np.einsum("ji,jk,ki->i", self.matrix_directions[0], matrix, self.matrix_directions[1])

    def _iterate(self) -> None:
        """One Newton-Schulz step on both matrices (the kernel, on the level's backend)."""
        stepped = [newton_schulz(m, self.coefficients, 1, False, backend=self.backend).astype(np.float64)
                   for m in (self.grid, self.matrix)]
        sigmas = [singular_values(m) for m in stepped]
        if any(s is None or s[0] > DIVERGED_SIGMA for s in sigmas):
            self.diverged = True  # e.g. the cubic without normalization, or wild custom coefficients
            return
        self.grid_previous, (self.grid, self.matrix) = self.grid, stepped
        self.iteration += 1
        self.version += 1
        self.grid_sigma_history.append(sigmas[0])
        self.matrix_sigma_history.append(sigmas[1])
        self.matrix_gain_history.append(self._gains(self.matrix))

    @property
    def animation_phase(self) -> float:
        """How far through showing the current step (0 just after it, 1 when the next one is due)."""
        return (self.tick % int(self.params["pace"])) / int(self.params["pace"])

    @derived(key=lambda self: (self.version, self.tick))
    def shown_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The iterate as drawn, ``(X, U, σ)`` with ``X = U diag(σ) Vᵀ``: over the first
        :data:`TWEEN` of a step it moves (smoothly) from the previous step's matrix to this one's."""
        t = min(self.animation_phase / TWEEN, 1.0) if self.iteration > 0 else 1.0
        s = t * t * (3.0 - 2.0 * t)
        shown = (1.0 - s) * self.grid_previous + s * self.grid
        shown = shown if np.all(np.isfinite(shown)) else self.grid_previous
        if not np.all(np.isfinite(shown)):
            return shown, np.full((2, 2), np.nan), np.full(2, np.nan)
        u, sigma, _ = np.linalg.svd(shown)
        return shown, u, sigma

    def grid_distance(self) -> float:
        """‖X − UVᵀ‖_F for the grid: how far the iterate is from the polar factor."""
        return float(np.linalg.norm(self.grid - self.grid_polar))

    @derived("method", "coef_a", "coef_b", "coef_c")
    def fixed_point(self) -> tuple[str, str]:
        """Whether σ can settle on 1: ``("attracts" | "repels" | "none", why)``. 1 is a fixed point
        when p(1) = 1, and it attracts when |p′(1)| < 1 (σ near 1 is pulled onto it)."""
        a, b, c = self.coefficients
        p_one, slope = a + b + c, a + 3 * b + 5 * c
        if abs(p_one - 1.0) >= 1e-3:
            return "none", f"p(1) = {p_one:.4f}: no fixed point at 1, σ cannot settle on 1"
        kind = "attracts" if abs(slope) < 1 else "repels"
        return kind, f"p(1) = 1 and p′(1) = {slope:.3g}: 1 is a fixed point that {kind}"

    @derived(key=lambda self: self.version)
    def cobweb(self) -> np.ndarray:
        """The grid's two singular values at step 0 sent ``iteration`` times through p (signed, so a
        flip below 0 shows): ``(iteration + 1, 2)``."""
        start = np.asarray(self.grid_sigma_history[0], dtype=np.float64)
        with np.errstate(all="ignore"):
            return iterate_singular_values(start, self.coefficients, self.iteration)

    @derived(key=lambda self: self.version)
    def spectrum(self, bins: int = 40) -> dict[str, np.ndarray | float]:
        """The gradient matrix's singular values at step 0 and now, binned on a log axis that holds
        both: ``edges``, ``start`` and ``now`` (counts), ``values`` (now, clipped to the axis),
        ``low``, ``high``."""
        start = np.asarray(self.matrix_sigma_history[0], dtype=np.float64)
        now = np.asarray(self.matrix_sigma_history[-1], dtype=np.float64)
        now = now[np.isfinite(now)]
        low = float(np.clip(np.min(np.append(start[start > 0], 1.0)) * 0.5, 1e-9, 0.5))
        high = float(np.clip(np.max(np.append(now, 1.0)) * 1.3, 1.5, 1e6))
        edges = np.geomspace(low, high, bins + 1)
        values = np.clip(now, low, high)
        return {"edges": edges, "start": np.histogram(np.clip(start, low, high), bins=edges)[0],
                "now": np.histogram(values, bins=edges)[0], "values": values, "low": low, "high": high}

    # -- the race ----------------------------------------------------------------------------------

    def _build_race(self, rng: np.random.Generator) -> None:
        self.race_data = spiral_data(rng)
        init_seed = int(rng.integers(2**31))
        self.race_networks = {}
        for name in RACE_LR:
            # the same initial weights for every optimizer: only the update rule differs
            layer_rng = np.random.default_rng(init_seed)
            self.race_networks[name] = nn.Sequential(
                nn.Dense(2, RACE_HIDDEN, layer_rng), nn.Tanh(), nn.Dense(RACE_HIDDEN, RACE_HIDDEN, layer_rng),
                nn.Tanh(), nn.Dense(RACE_HIDDEN, RACE_CLASSES, layer_rng))
        nets = self.race_networks
        self.race_optimizers = {
            "sgd": nn.SGD(nets["sgd"].params, lr=RACE_LR["sgd"], momentum=RACE_MOMENTUM),
            "adam": nn.Adam(nets["adam"].params, lr=RACE_LR["adam"]),
            # numpy: matrices of 32 × 32 cost less than a GPU dispatch; biases go to AdamW
            "muon": Muon(nets["muon"].params, lr=RACE_LR["muon"], fallback_lr=RACE_LR["adam"], backend="numpy"),
        }
        self.race_losses = {name: self._race_loss(name)[0] for name in RACE_LR}

    def _race_loss(self, name: str) -> tuple[float, np.ndarray]:
        points, labels = self.race_data
        return nn.softmax_cross_entropy(self.race_networks[name].forward(points), labels)

    def _race_step(self) -> None:
        for name, net in self.race_networks.items():
            net.zero_grad()
            loss, grad = self._race_loss(name)
            net.backward(grad)
            self.race_optimizers[name].step(net.grads)
            self.race_losses[name] = loss

    def race_predict(self, name: str, points: np.ndarray) -> np.ndarray:
        """Class probabilities of network ``name`` at ``points`` (N, 2): its decision regions."""
        logits = self.race_networks[name].forward(np.asarray(points, dtype=np.float64))
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    # -- runner interface ----------------------------------------------------------------------------

    def reset(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.matrix_input = gradient_like_matrix(int(self.params["size"]), float(self.params["condition"]), rng)
        u, self.matrix_sigma_input, vt = np.linalg.svd(self.matrix_input)
        self.matrix_directions = (u, vt.T)
        self.matrix_polar = u @ vt
        self._build_race(rng)
        self.restart_iteration()

    def set_param(self, name: str, value: Any) -> None:
        super().set_param(name, value)
        if name in ("method", "coef_a", "coef_b", "coef_c", "m00", "m01", "m10", "m11", "normalize"):
            self.restart_iteration()

    def step(self) -> None:
        self.tick += 1
        if self.tick % int(self.params["pace"]) == 0 and not self.diverged and self.iteration < MAX_ITERATIONS:
            self._iterate()
        if self.params["race"]:
            self._race_step()

    def observables(self) -> dict[str, float]:
        grid_sigma = self.grid_sigma_history[-1]
        sigma = self.matrix_sigma_history[-1]
        n = sigma.size
        polar_error = np.linalg.norm(self.matrix - self.matrix_polar) / np.sqrt(n)
        return {
            "iteration": float(self.iteration),
            "grid_sigma_max": float(grid_sigma[0]),
            "grid_sigma_min": float(grid_sigma[-1]),
            "matrix_sigma_max": float(sigma[0]),
            "matrix_sigma_min": float(sigma[-1]),
            "in_band": float(np.mean(np.abs(sigma - 1.0) <= float(self.params["band"]))),
            "polar_error": float(polar_error),
            "loss_sgd": float(self.race_losses["sgd"]),
            "loss_adam": float(self.race_losses["adam"]),
            "loss_muon": float(self.race_losses["muon"]),
            "gains": self.matrix_gain_history[-1],
        }

    def state(self) -> dict[str, np.ndarray]:
        arrays = {"grid": self.grid, "matrix": self.matrix}
        for name, net in self.race_networks.items():
            arrays[f"{name}_weights"] = net.parameters_vector()
        return arrays

    # -- challenge measures ---------------------------------------------------------------------------

    def measure_steps_to_band(self, run) -> float:
        """The first Newton-Schulz step after which every singular value of the gradient matrix is
        within the band, from the recorded share in the band (−1 if the run never got there)."""
        inside = np.flatnonzero(run.series("in_band") >= 1.0)
        return float(run.series("iteration")[inside[0]]) if inside.size else -1.0

    def measure_short_of_band(self, run) -> str:
        """After Muon's 5 steps (or as many as the run took): are the directions left below the band
        the smallest or the largest inputs? Read from the recorded ``gains``."""
        ticks, gains = run.arrays("gains")
        iterations = run.series("iteration")[ticks]
        after = gains[int(np.flatnonzero(iterations <= MUON_STEPS)[-1])]
        short = np.flatnonzero(after < QUINTIC_BAND[0])
        if short.size == 0:
            return "none: all land in [0.68, 1.21]"
        smallest_inputs = set(np.argsort(gains[0])[:short.size].tolist())  # step 0: the inputs, normalised
        return "the smallest ones" if set(short.tolist()) <= smallest_inputs else "the largest ones"
