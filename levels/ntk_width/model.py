"""The Width Dial: a one-hidden-layer ReLU network trained full-batch, beside its own linearisation
and kernel regression with the analytic NTK, all three run for the same steps of gradient descent.

The data are a few evenly spaced points of y = sin(ω x) on [−1, 1]. Every unit has a twin with the
same input weights and the opposite output weight, so the network starts at exactly f = 0, as
kernel regression does, and the comparison needs no random initial function.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from .kernels import (
    FORWARD,
    Scaling,
    analytic_ntk,
    augment,
    empirical_ntk,
    forward,
    update,
)

#: Inputs where the three curves are drawn and compared (the gaps are the largest |difference| here).
GRID = 81
#: Inputs per side of the kernel heat maps.
HEAT = 24
#: Steps between refreshes of the net's heat map: a 24 × 24 kernel of 16,384 units costs as much as
#: a training step, and the kernel changes by a fraction of a percent in a few steps.
HEAT_EVERY = 4
#: The widths a sweep trains: 64 to 16,384, a factor of 4 apart.
SWEEP_WIDTHS = (64, 256, 1024, 4096, 16384)
#: A loss above this (or a non-finite one) counts as diverged.
DIVERGED_LOSS = 1e6
#: The challenges' "close to kernel regression" threshold: the largest gap on [−1, 1].
CLOSE = 0.05


def fit_slope(widths, values) -> float:
    """The least-squares slope of log(values) against log(widths)."""
    return float(np.polyfit(np.log(np.asarray(widths, float)), np.log(np.asarray(values, float)), 1)[0])


@functools.lru_cache(maxsize=8)
def _reference_change(model_class, params: tuple, width: int, steps: int, seed: int, backend: str) -> float:
    return model_class(dict(params), backend).trained(width, steps, seed=seed).weight_change


def reference_change(model_class, params: dict, width: int, steps: int, seed: int, backend: str = "numpy") -> float:
    """The relative weight change of a net of ``width`` after ``steps`` steps from ``seed`` under
    ``params`` (memoised: a challenge's panel asks for it every frame)."""
    return _reference_change(model_class, tuple(sorted(params.items())), int(width), int(steps), int(seed), backend)


class NtkWidthModel(Model):
    """State: ``w`` (n × 2 input weights), ``a`` (n output weights) and their starting values
    ``w0``, ``a0``; the data ``data_x``, ``data_y``; on the drawing grid ``grid_x``, the
    linearisation's curve ``lin_curve`` and kernel regression's ``kernel_curve`` (the network's
    own is ``curve()``).

    ``Θ̂₀`` is the empirical tangent kernel at the start (the linearisation's), ``Θ`` the analytic
    one; ``heatmaps()`` gives both, on a grid, with the current empirical kernel.
    """

    work_unit = "unit-steps"

    # ------------------------------------------------------------------------------------------
    # life cycle

    @property
    def width(self) -> int:
        """The network's width: the slider's, rounded down to an even number (units come in twins)."""
        return 2 * max(1, int(self.params["width"]) // 2)

    @property
    def lr(self) -> float:
        return float(self.params["lr"])

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        self.diverged = False
        self.steps_done = 0
        rng = np.random.default_rng(seed)
        n = self.width
        self.scaling = Scaling(self.params["scaling"], n)
        m = int(self.params["points"])
        self.data_x = np.linspace(-1.0, 1.0, m)
        self.data_y = self.target(self.data_x)
        self.data_z = augment(self.data_x)
        self.grid_x = np.linspace(-1.0, 1.0, GRID)
        self.grid_z = augment(self.grid_x)
        half_w, half_a = rng.normal(size=(n // 2, 2)), rng.normal(size=n // 2)
        self.w0 = np.concatenate([half_w, half_w])
        self.a0 = np.concatenate([half_a, -half_a])
        self.w, self.a = self.w0.copy(), self.a0.copy()
        self.norm0 = math.sqrt(float(np.sum(self.w0 ** 2) + np.sum(self.a0 ** 2)))
        self.gates0 = self.data_z @ self.w0.T > 0
        # the tangent kernels the two reference dynamics follow, between the grid or the data and the data
        self.empirical0_xx = empirical_ntk(self.data_z, self.data_z, self.w0, self.a0)
        self.empirical0_gx = empirical_ntk(self.grid_z, self.data_z, self.w0, self.a0)
        self.analytic_xx = analytic_ntk(self.data_z, self.data_z)
        self.analytic_gx = analytic_ntk(self.grid_z, self.data_z)
        self.f_data = self._forward(self.data_z)
        self.lin_data, self.lin_curve = self.f_data.copy(), self._forward(self.grid_z)
        self.kernel_data, self.kernel_curve = np.zeros(m), np.zeros(GRID)
        self._measure()

    @property
    def step_backend(self) -> str:
        """The backend of the per-step kernels: the run's, except GLSL, which gives way to Numba.

        A step moves n × 3 weights for a handful of data points: on the GPU the upload and the
        read-back of the layer cost more than its arithmetic (measured: 7 ms a step at width 1,024
        on the software renderer, against 0.1 ms in Numba), and the measures read the weights on
        the CPU every step. The GLSL kernels agree with the oracle and serve where the weights would
        stay on the GPU; here the CPU is faster."""
        if self.backend != "glsl":
            return self.backend
        return "numba" if "numba" in FORWARD.runnable() else "numpy"

    def _forward(self, zs) -> np.ndarray:
        return forward(zs, self.w, self.a, self.scaling.scale, backend=self.step_backend)

    def step(self) -> None:
        if self.diverged:
            return
        self._advance()
        self._measure()

    def _advance(self) -> None:
        """One step of the net, its linearisation and kernel regression (no measuring)."""
        m, eta = len(self.data_x), self.lr
        rate = eta * self.scaling.lr_multiplier()
        with np.errstate(all="ignore"):  # overflow is how divergence shows; it is reported, not raised
            residual = (self.f_data - self.data_y) / m
            self.w, self.a = update(self.data_z, residual, self.w, self.a, self.scaling.scale, rate, rate,
                                    backend=self.step_backend)
            # the same step for the linear model with the network's starting kernel, and for the analytic kernel
            lin_residual = (self.lin_data - self.data_y) / m
            self.lin_curve = self.lin_curve - eta * self.empirical0_gx @ lin_residual
            self.lin_data = self.lin_data - eta * self.empirical0_xx @ lin_residual
            kernel_residual = (self.kernel_data - self.data_y) / m
            self.kernel_curve = self.kernel_curve - eta * self.analytic_gx @ kernel_residual
            self.kernel_data = self.kernel_data - eta * self.analytic_xx @ kernel_residual
            self.f_data = self._forward(self.data_z)
        self.steps_done += 1

    def _measure(self) -> None:
        with np.errstate(all="ignore"):
            self.loss = 0.5 * float(np.mean((self.f_data - self.data_y) ** 2))
            moved = math.sqrt(float(np.sum((self.w - self.w0) ** 2) + np.sum((self.a - self.a0) ** 2)))
            self.weight_change = moved / self.norm0
            self.flipped = float(np.mean((self.data_z @ self.w.T > 0) != self.gates0))
            net = self.curve()
            self.gap_lin = float(np.max(np.abs(net - self.lin_curve)))
            self.gap_kernel = float(np.max(np.abs(net - self.kernel_curve)))
            kernel_now = empirical_ntk(self.data_z, self.data_z, self.w, self.a)
            self.kernel_error = float(np.linalg.norm(kernel_now - self.analytic_xx) / np.linalg.norm(self.analytic_xx))
            self.kernel_drift = float(np.linalg.norm(kernel_now - self.empirical0_xx)
                                      / np.linalg.norm(self.empirical0_xx))
        if not (self.loss < DIVERGED_LOSS) or not math.isfinite(self.gap_kernel):
            self.diverged = True

    def observables(self) -> dict[str, float]:
        return {
            "loss": self.loss,
            "kernel_loss": 0.5 * float(np.mean((self.kernel_data - self.data_y) ** 2)),
            "weight_change": self.weight_change,
            "flipped": self.flipped,
            "gap_lin": self.gap_lin,
            "gap_kernel": self.gap_kernel,
            "kernel_error": self.kernel_error,
            "kernel_drift": self.kernel_drift,
            "width": float(self.width),
        }

    def state(self) -> dict[str, np.ndarray]:
        return {"w": self.w, "a": self.a, "lin_curve": self.lin_curve, "kernel_curve": self.kernel_curve}

    def work_per_step(self) -> float:
        return float(self.width)

    # ------------------------------------------------------------------------------------------
    # what the view draws

    def target(self, xs) -> np.ndarray:
        """The function the data sample: sin(ω x)."""
        return np.sin(float(self.params["frequency"]) * np.asarray(xs, dtype=np.float64))

    @derived(key=lambda self: (self.seed, self.steps_done), backend=True)
    def curve(self) -> np.ndarray:
        """The network's output at ``grid_x`` now (memoised until the next step)."""
        return self._forward(self.grid_z)

    @derived("points", key=lambda self: self.seed)
    def fixed_heatmaps(self, points: int = HEAT) -> dict[str, np.ndarray]:
        """The kernels that do not change while training, on the heat maps' grid: ``analytic`` and
        ``empirical0`` (the net's at the start), with ``xs``, the grid."""
        xs = np.linspace(-1.0, 1.0, points)
        z = augment(xs)
        return {"xs": xs, "analytic": analytic_ntk(z, z), "empirical0": empirical_ntk(z, z, self.w0, self.a0)}

    @derived(key=lambda self: (self.seed, self.steps_done // HEAT_EVERY))
    def heatmaps(self, points: int = HEAT) -> dict[str, np.ndarray]:
        """The tangent kernels on a ``points`` × ``points`` grid of [−1, 1]: ``empirical`` (the
        net's, refreshed every ``HEAT_EVERY`` steps), ``empirical0`` (at the start), ``analytic``
        (infinite width); and ``xs``, the grid."""
        fixed = self.fixed_heatmaps(points)
        z = augment(fixed["xs"])
        return {**fixed, "empirical": empirical_ntk(z, z, self.w, self.a)}

    def stability(self) -> float:
        """η·λ_max(Θ(X, X))/m for the analytic kernel: gradient descent on it is stable below 2."""
        return self.lr * float(np.linalg.eigvalsh(self.analytic_xx)[-1]) / len(self.data_x)

    # ------------------------------------------------------------------------------------------
    # other widths

    def trained(self, width: int, steps: int, seed: int | None = None, scaling: str | None = None) -> NtkWidthModel:
        """A fresh copy of this level's network at another width, trained ``steps`` steps from ``seed``."""
        params = dict(self.params, width=int(width))
        if scaling is not None:
            params["scaling"] = scaling
        other = type(self)(params, self.backend)
        other.reset(self.seed if seed is None else seed)
        for _ in range(int(steps)):  # measured once at the end: the curve each step is most of a step's cost
            other._advance()
        other._measure()
        return other

    @derived("scaling", "lr", "points", "frequency", key=lambda self: self.seed, backend=True)
    def width_sweep(self, steps: int = 300, seeds: int = 1) -> dict[str, Any]:
        """Every width of ``SWEEP_WIDTHS`` trained ``steps`` steps from ``seeds`` seeds: the mean of
        each measure per width (``weight_change``, ``flipped``, ``gap_lin``, ``gap_kernel``,
        ``kernel_error``) and its fitted log-log slope over the widths from 1024 up (``slopes``)."""
        names = ("weight_change", "flipped", "gap_lin", "gap_kernel", "kernel_error")
        table = {name: np.zeros(len(SWEEP_WIDTHS)) for name in names}
        for k, width in enumerate(SWEEP_WIDTHS):
            for seed in range(seeds):
                other = self.trained(width, steps, seed=self.seed + seed)
                for name in names:
                    table[name][k] += getattr(other, name) / seeds
        wide = np.asarray(SWEEP_WIDTHS) >= 1024
        slopes = {name: fit_slope(np.asarray(SWEEP_WIDTHS)[wide], table[name][wide]) for name in names}
        return {"widths": np.asarray(SWEEP_WIDTHS, float), "steps": steps, "slopes": slopes, **table}

    # ------------------------------------------------------------------------------------------
    # challenge measurements

    def measure_weight_change_percent(self, run) -> float:
        """The relative weight change ‖θ − θ₀‖/‖θ₀‖ at the end of the run, in percent."""
        return 100.0 * float(run.series("weight_change")[-1])

    def measure_close_to_kernel(self, run) -> str:
        """yes when the net's curve ends within ``CLOSE`` of kernel regression everywhere on [−1, 1]."""
        if run.diverged:
            return "no"
        return "yes" if float(run.series("gap_kernel")[-1]) < CLOSE else "no"
