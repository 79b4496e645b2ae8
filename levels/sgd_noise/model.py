"""Gradient noise: what a mini-batch gradient is, what its noise does, and what Adam does to it.

Four lessons share two small problems with finite datasets:

* **batch noise**: a linear regression on N = 64 examples, its gradient taken at a fixed point.
  Every step draws mini-batches at every batch size (with and without replacement) and keeps
  their sums: the mean of the draws sits on the full gradient (unbiased), and their variance
  follows σ²/|B|, times (N − |B|)/(N − 1) when a batch never repeats an example;
* **sharp or flat**: many SGD runs side by side (the level's kernel, :mod:`.kernels`) on a 2-D
  loss with a narrow and a wide minimum, every run starting in the narrow one; the share that
  ends in the wide one depends on the batch size and the learning rate;
* **step sizes**: SGD on the regression with three step-size schedules (constant, 1/t, 1/t²),
  many runs each: only the one that meets the Robbins-Monro conditions converges;
* **Adam**: Adam and plain SGD on the regression with its loss multiplied by a scale: Adam's
  first step is η·g/(|g| + ε), η·sign(g) whenever |g| ≫ ε, whatever the scale.
"""

from __future__ import annotations

import math

import numpy as np

from sandbox.model import Model

from .kernels import FLAT_C, SHARP_C, descend, grad0, loss0

N = 64  # examples in each dataset
LESSONS = ("batch noise", "sharp or flat", "step sizes", "Adam")
BATCHES = (1, 2, 4, 8, 16, 32, 64)  # the batch sizes measured side by side
MODES = ("with replacement", "without replacement")
THETA0 = np.array([-1.0, 1.5])  # where the batch-noise lesson takes its gradients, and runs start
SCHEDULES = ("constant", "1/t", "1/t²")
TAU = 50.0  # the decaying schedules' time scale: η_t = η / (1 + t/τ) or η / (1 + t/τ)²
ITERATIONS_PER_STEP = 10  # the step-sizes lesson runs 10 SGD iterations per frame: its plot spans 10⁴
RUNS_PER_SCHEDULE = 48
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # Adam's defaults
SHIFT_STD = 0.3
SGD_BLOWN = 1e12  # an SGD loss past this has flown off: it is stopped there
#: Every scalar observable (each lesson reports its own and 0 for the others).
SCALARS = ("draws_so_far", "noise_std", "quarter_std", "theory_std", "bias", "flat_share", "mean_loss",
           "iteration", "err_constant", "err_inverse", "err_inverse_square", "adam_first", "sgd_first",
           "adam_loss", "sgd_loss")  # the spread of the sharp-or-flat dataset's shifts
START_STD = 0.12  # the runs' spread around the sharp minimum at the start


# ----------------------------------------------------------------------------------------------
# the regression (batch noise, step sizes, Adam)


def regression_data(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """The regression's dataset: x uniform in [−1, 1], y = 1.5x − 0.5 + noise (fixed: one dataset)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, N)
    return x, 1.5 * x - 0.5 + rng.normal(0.0, 0.5, N)


X, Y = regression_data()
FEATURES = np.stack([X, np.ones(N)], 1)  # the per-example gradient is r_i (x_i, 1)
HESSIAN = FEATURES.T @ FEATURES / N
OPTIMUM = np.linalg.solve(HESSIAN, FEATURES.T @ Y / N)


def example_gradients(theta, scale: float = 1.0) -> np.ndarray:
    """∇ℓ_i(θ) for every example: ``(N, 2)`` (ℓ_i = scale · ½(w x_i + b − y_i)²)."""
    residual = FEATURES @ np.asarray(theta, np.float64) - Y
    return scale * residual[:, None] * FEATURES


def regression_loss(theta, scale: float = 1.0) -> np.ndarray:
    """The full loss L(θ) = (1/N) Σ ℓ_i at ``theta`` (``(..., 2)``)."""
    theta = np.asarray(theta, np.float64)
    residual = theta @ FEATURES.T - Y
    return scale * 0.5 * np.mean(residual ** 2, axis=-1)


def population_variance(gradients) -> float:
    """σ² = (1/N) Σ ‖∇ℓ_i − ∇L‖²: the variance of one example's gradient (trace of its covariance)."""
    g = np.asarray(gradients, np.float64)
    return float(((g - g.mean(0)) ** 2).sum(1).mean())


def batch_variance(sigma2: float, batch, replace: bool, n: int = N):
    """E‖g_B − ∇L‖²: σ²/|B| with replacement, σ²/|B| · (N − |B|)/(N − 1) without."""
    b = np.asarray(batch, np.float64)
    return sigma2 / b if replace else sigma2 / b * (n - b) / (n - 1)


def draw_batches(rng: np.random.Generator, count: int, size: int, replace: bool) -> np.ndarray:
    """``count`` mini-batches of ``size`` example indices: ``(count, size)``."""
    if replace or size == 1:  # one example: the same draw either way, and far cheaper
        return rng.integers(0, N, (count, size))
    return np.argsort(rng.random((count, N)), axis=1)[:, :size]


def schedule(name: str, lr: float, t) -> np.ndarray:
    """η_t of a schedule at iteration ``t`` (from 0)."""
    t = np.asarray(t, np.float64)
    if name == "constant":
        return np.full_like(t, lr)
    if name == "1/t":
        return lr / (1.0 + t / TAU)
    if name == "1/t²":
        return lr / (1.0 + t / TAU) ** 2
    raise ValueError(f"unknown schedule {name!r}; valid: {', '.join(SCHEDULES)}")


def adam_first_step(g, lr: float, eps: float = EPS) -> np.ndarray:
    """Adam's first update −η m̂₁/(√v̂₁ + ε) = −η g/(|g| + ε) (the bias correction makes m̂₁ = g, v̂₁ = g²)."""
    g = np.asarray(g, np.float64)
    return -lr * g / (np.abs(g) + eps)


# ----------------------------------------------------------------------------------------------
# the two-minimum loss (sharp or flat)


def shift_data(seed: int = 11) -> np.ndarray:
    """The sharp-or-flat dataset: N shifts s_i, centred (their mean is exactly 0)."""
    s = np.random.default_rng(seed).normal(0.0, SHIFT_STD, (N, 2))
    return s - s.mean(0)


SHIFTS = shift_data()


def full_loss(points) -> np.ndarray:
    """L(θ) = (1/N) Σ L0(θ − s_i) at ``points`` (``(..., 2)``)."""
    points = np.asarray(points, np.float64)
    return loss0(points[..., None, :] - SHIFTS).mean(-1)


def full_gradient(points) -> np.ndarray:
    """∇L(θ) = (1/N) Σ ∇L0(θ − s_i) at ``points`` (``(..., 2)``)."""
    points = np.asarray(points, np.float64)
    return grad0(points[..., None, :] - SHIFTS).mean(-2)


def _minimum(start) -> np.ndarray:
    theta = np.array(start, np.float64)
    for _ in range(200):  # gradient descent with a step the sharp well tolerates, into the well ...
        theta = theta - 0.05 * full_gradient(theta)
    for _ in range(20):  # ... then Newton's method to the last digit
        theta = theta - np.linalg.solve(hessian(theta), full_gradient(theta))
    return theta


def hessian(theta, h: float = 1e-4) -> np.ndarray:
    """The full loss's Hessian at ``theta`` by central differences of the gradient."""
    theta = np.asarray(theta, np.float64)
    cols = [(full_gradient(theta + e) - full_gradient(theta - e)) / (2 * h) for e in np.eye(2) * h]
    m = np.stack(cols, 1)
    return 0.5 * (m + m.T)


SHARP_MIN = _minimum(SHARP_C)
FLAT_MIN = _minimum(FLAT_C)
SHARPNESS = {"sharp": float(np.linalg.eigvalsh(hessian(SHARP_MIN))[-1]),
             "flat": float(np.linalg.eigvalsh(hessian(FLAT_MIN))[-1])}


def _saddle_x() -> float:
    xs = np.linspace(SHARP_MIN[0], FLAT_MIN[0], 2001)
    return float(xs[np.argmax(full_loss(np.stack([xs, np.zeros_like(xs)], 1)))])


SADDLE_X = _saddle_x()  # the ridge between the basins, on the line through both minima


def in_flat_basin(points) -> np.ndarray:
    """Whether each run is past the ridge, on the flat minimum's side."""
    return np.asarray(points, np.float64).reshape(-1, 2)[:, 0] > SADDLE_X


def start_positions(seed: int, count: int) -> np.ndarray:
    """Every run starts near the sharp minimum (a small spread, drawn from the seed)."""
    rng = np.random.default_rng([int(seed), 2])
    return SHARP_MIN + rng.normal(0.0, START_STD, (int(count), 2))


def flat_share_sweep(batches, lrs, steps: int, runs: int, seed: int, backend: str = "numpy",
                     replace: bool = False) -> np.ndarray:
    """The share of ``runs`` SGD runs that end in the flat basin after ``steps`` steps, for every
    (learning rate, batch size): ``(len(lrs), len(batches))``. All runs go in one kernel call."""
    grid_lr, grid_b = np.meshgrid(np.asarray(lrs, np.float64), np.asarray(batches, np.int64), indexing="ij")
    lr_each = np.repeat(grid_lr.ravel(), runs)
    b_each = np.repeat(grid_b.ravel(), runs)
    start = np.tile(start_positions(seed, runs), (grid_lr.size, 1))
    end = descend(start, lr_each, b_each, SHIFTS, int(seed), 0, int(steps), bool(replace), backend=backend)
    return in_flat_basin(end).reshape(grid_lr.size, runs).mean(1).reshape(grid_lr.shape)


# ----------------------------------------------------------------------------------------------
# the simulation


class SgdNoise(Model):
    """The lesson's state; see the module's docstring. For the view: ``cloud`` (the latest
    mini-batch gradients), ``measured_variance()`` (per mode and batch size), ``positions``
    (sharp or flat), ``runs`` (step sizes: per schedule), ``paths`` (Adam and SGD)."""

    work_unit = "gradient evaluations"

    def reset(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self.counter = 0
        self.lesson = self.params["lesson"]
        self.rng = np.random.default_rng([self.seed, 1])
        lr = float(self.params["lr"])
        if self.lesson == "batch noise":
            self.full = example_gradients(THETA0).mean(0)
            self.sigma2 = population_variance(example_gradients(THETA0))
            b = int(self.params["batch"])
            self.sizes = tuple(sorted(set(BATCHES) | {b, max(b // 4, 1)}))
            # per mode and size: draws, Σ(g − ∇L), Σ‖g − ∇L‖²
            self.sums = {(m, s): [0, np.zeros(2), 0.0] for m in MODES for s in self.sizes}
            self.cloud = np.zeros((0, 2))
            self._draw()
        elif self.lesson == "sharp or flat":
            self.positions = start_positions(self.seed, int(self.params["runs"]))
            self.start = self.positions.copy()
        elif self.lesson == "step sizes":
            self.iteration = 0
            self.runs = {name: np.tile(THETA0, (RUNS_PER_SCHEDULE, 1)) for name in SCHEDULES}
        elif self.lesson == "Adam":
            self.iteration = 0
            self.adam = THETA0.copy()
            self.sgd = THETA0.copy()
            self.m, self.v = np.zeros(2), np.zeros(2)
            self.paths = {"adam": [THETA0.copy()], "sgd": [THETA0.copy()]}
            self.first = {"adam": 0.0, "sgd": 0.0}  # no step yet
            self.sgd_blown = False
            self.moments = (np.zeros(2), np.zeros(2))
        else:
            raise ValueError(f"unknown lesson {self.lesson!r}; valid: {', '.join(LESSONS)}")
        self.lr = lr

    # -- batch noise -----------------------------------------------------------------------------
    def _draw(self) -> None:
        grads = example_gradients(THETA0)
        draws = int(self.params["draws"])
        current = (MODES[1] if not self.params["replacement"] else MODES[0], int(self.params["batch"]))
        for mode in MODES:
            for size in self.sizes:
                batch = draw_batches(self.rng, draws, size, mode == MODES[0])
                g = grads[batch].mean(1) - self.full
                acc = self.sums[(mode, size)]
                acc[0] += draws
                acc[1] += g.sum(0)
                acc[2] += float((g ** 2).sum())
                if (mode, size) == current:
                    self.cloud = np.concatenate([self.cloud, g + self.full])[-512:]

    def measured_variance(self, mode: str, size: int) -> float:
        """E‖g_B − ∇L‖² measured over the draws so far (nan before any)."""
        n, _, sq = self.sums[(mode, size)]
        return sq / n if n else math.nan

    def measured_bias(self, mode: str, size: int) -> np.ndarray:
        """The mean of the draws minus the full gradient."""
        n, total, _ = self.sums[(mode, size)]
        return total / n if n else np.full(2, math.nan)

    @property
    def mode(self) -> str:
        return MODES[0] if self.params["replacement"] else MODES[1]

    # -- step ------------------------------------------------------------------------------------
    def step(self) -> None:
        self.counter += 1
        if self.lesson == "batch noise":
            self._draw()
        elif self.lesson == "sharp or flat":
            self.positions = descend(self.positions, self.lr, int(self.params["batch"]), SHIFTS, self.seed,
                                     self.counter - 1, 1, bool(self.params["replacement"]), backend=self.backend)
        elif self.lesson == "step sizes":
            self._step_sizes()
        else:
            self._adam()

    def _step_sizes(self) -> None:
        b, replace = int(self.params["batch"]), bool(self.params["replacement"])
        for _ in range(ITERATIONS_PER_STEP):
            for name in SCHEDULES:
                theta = self.runs[name]
                batch = draw_batches(self.rng, len(theta), b, replace)
                residual = np.einsum("rbk,rk->rb", FEATURES[batch], theta) - Y[batch]
                g = (residual[..., None] * FEATURES[batch]).mean(1)
                self.runs[name] = theta - schedule(name, self.lr, self.iteration) * g
            self.iteration += 1

    def _adam(self) -> None:
        scale, b = float(self.params["grad_scale"]), int(self.params["batch"])
        batch = draw_batches(self.rng, 1, b, bool(self.params["replacement"]))[0]
        t = self.iteration + 1
        g = example_gradients(self.adam, scale)[batch].mean(0)
        self.m = BETA1 * self.m + (1 - BETA1) * g
        self.v = BETA2 * self.v + (1 - BETA2) * g * g
        m_hat, v_hat = self.m / (1 - BETA1 ** t), self.v / (1 - BETA2 ** t)
        update = -self.lr * m_hat / (np.sqrt(v_hat) + EPS)
        self.adam = self.adam + update
        self.moments = (m_hat, v_hat)
        sgd_update = np.zeros(2)
        if not self.sgd_blown:  # SGD flying off at a huge scale is the lesson: it stops, Adam goes on
            with np.errstate(over="ignore", invalid="ignore"):
                sgd_update = -self.lr * example_gradients(self.sgd, scale)[batch].mean(0)
                moved = self.sgd + sgd_update
            if np.all(np.isfinite(moved)) and float(regression_loss(moved)) < SGD_BLOWN:
                self.sgd = moved
            else:
                self.sgd_blown = True
        if t == 1:
            self.first = {"adam": float(np.abs(update).max() / self.lr), "sgd": float(np.abs(sgd_update).max() / self.lr)}
        self.iteration = t
        for name, theta in (("adam", self.adam), ("sgd", self.sgd)):
            if len(self.paths[name]) < 4000:
                self.paths[name].append(theta.copy())

    # -- readouts --------------------------------------------------------------------------------
    def rms_error(self, name: str) -> float:
        """Root-mean-square distance of a schedule's runs from the optimum θ*."""
        return float(np.sqrt(((self.runs[name] - OPTIMUM) ** 2).sum(1).mean()))

    def observables(self) -> dict:
        # every observable every step (the engine records them all); a lesson's others read 0
        out = dict.fromkeys(SCALARS, 0.0)
        out["cloud"] = self.cloud if self.lesson == "batch noise" else np.zeros((0, 2))
        out["positions"] = self.positions if self.lesson == "sharp or flat" else np.zeros((0, 2))
        if self.lesson == "batch noise":
            b = int(self.params["batch"])
            var = self.measured_variance(self.mode, b)
            quarter = self.measured_variance(self.mode, max(b // 4, 1))
            theory = float(batch_variance(self.sigma2, b, self.mode == MODES[0]))
            out.update(draws_so_far=float(self.sums[(self.mode, b)][0]), noise_std=math.sqrt(var),
                       quarter_std=math.sqrt(quarter), theory_std=math.sqrt(theory),
                       bias=float(np.linalg.norm(self.measured_bias(self.mode, b))))
        elif self.lesson == "sharp or flat":
            out.update(flat_share=float(in_flat_basin(self.positions).mean()),
                       mean_loss=float(full_loss(self.positions).mean()))
        elif self.lesson == "step sizes":
            out.update(iteration=float(self.iteration), err_constant=self.rms_error("constant"),
                       err_inverse=self.rms_error("1/t"), err_inverse_square=self.rms_error("1/t²"))
        else:
            best = float(regression_loss(OPTIMUM))
            out.update(adam_first=self.first["adam"], sgd_first=self.first["sgd"],
                       adam_loss=max(float(regression_loss(self.adam)) - best, 1e-300),
                       sgd_loss=min(max(float(regression_loss(self.sgd)) - best, 1e-300), SGD_BLOWN))
        return out

    def work_per_step(self) -> float:
        if self.lesson == "batch noise":
            return float(self.params["draws"] * sum(self.sizes) * len(MODES))
        if self.lesson == "sharp or flat":
            return float(self.params["runs"] * self.params["batch"])
        if self.lesson == "step sizes":
            return float(ITERATIONS_PER_STEP * len(SCHEDULES) * RUNS_PER_SCHEDULE * self.params["batch"])
        return float(2 * self.params["batch"])

    def state(self) -> dict:
        if self.lesson == "sharp or flat":
            return {"positions": self.positions}
        if self.lesson == "step sizes":
            return {name: theta for name, theta in self.runs.items()}
        if self.lesson == "Adam":
            return {"adam": self.adam}  # SGD may blow up at a huge scale: that is the lesson, not a fault
        return {"cloud": self.cloud}

    # -- challenge measurements, from the recorded run -------------------------------------------
    def measure_std_ratio(self, run) -> float:
        """How many times smaller the measured noise std is at |B| than at |B|/4."""
        return float(run.series("quarter_std")[-1] / run.series("noise_std")[-1])

    def measure_adam_first(self, run) -> float:
        """Adam's first step in units of the learning rate (its largest coordinate)."""
        return float(run.series("adam_first")[-1])

    def measure_most_flat(self, run) -> str:
        """Whether more than half of the runs end in the flat basin."""
        return "most end flat" if run.series("flat_share")[-1] > 0.5 else "most stay sharp"
