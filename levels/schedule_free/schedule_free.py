"""Schedule-Free SGD (Defazio et al., 2024), and the races of the schedule-free level.

Schedule-Free SGD keeps two sequences and evaluates the gradient at a third point between them:

    y_t     = (1 − β) z_t + β x_t             (where the gradient is taken)
    z_{t+1} = z_t − γ ∇f(y_t)                 (the explorer: plain SGD steps, constant γ)
    x_{t+1} = (1 − c) x_t + c z_{t+1},  c = 1/(t+1)   (the evaluator: the running mean of z)

``x`` is what you evaluate and ship. It averages the noise of the explorer away without a
decaying step size, so it is good whenever you stop; a cosine schedule only anneals its noise
when it reaches the end it was planned for.

This module has :class:`ScheduleFreeSGD` (the ``opt.step(grads)`` interface of :mod:`sim.nn`,
and broadcastable learning rates so that a whole grid of step sizes trains in one array), the
cosine schedule, a 2-D *river valley* landscape with noisy gradients, an online least-squares
problem, and :func:`tuned_lr`, which picks each method's best step size for a planned horizon.

``python levels/schedule_free/schedule_free.py --bench`` prints race steps per second.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import time
from dataclasses import dataclass

import numpy as np

from sim.nn import SGD
from sim.rng import normal_pairs, stream_key

#: The runs of a race: Schedule-Free (evaluated at x), the tuned cosine schedule, a constant step.
METHODS = ("schedule_free", "cosine", "constant")
#: The step sizes the tuner tries (log-spaced; the landscape's walls diverge above ~0.5 for SGD).
LR_GRID = tuple(float(v) for v in np.geomspace(0.01, 2.0, 24))
#: The tuner's noise comes from its own seed, so a run is never tuned on its own noise.
TUNING_SEED = 7919
#: The tuner keeps only step sizes at most this fraction of the smallest one that diverged.
SAFETY_MARGIN = 0.5
#: Step sizes whose final loss is within this fraction of the best count as tied.
TIE = 0.1
#: A mean loss above this counts as diverged.
DIVERGED_LOSS = 1e6


class ScheduleFreeSGD:
    """Schedule-Free SGD on a list of parameter arrays (updated in place).

    The parameter arrays hold ``y``, the point where the caller computes the next gradient;
    ``x`` (the average, for evaluation) and ``z`` (the explorer) are kept here. ``lr`` may be
    a scalar or any array that broadcasts against the parameters (a grid of step sizes).
    ``weight_decay`` adds ``wd·y`` to each gradient.
    """

    def __init__(self, params: list[np.ndarray], lr, beta: float = 0.9, weight_decay: float = 0.0):
        self.params = params
        self.lr = lr
        self.beta = beta
        self.weight_decay = weight_decay
        self.t = 0
        self.z = [p.copy() for p in params]
        self.x = [p.copy() for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        """One step from the gradients at the current ``y`` (the parameter arrays)."""
        self.t += 1
        c = 1.0 / (self.t + 1)  # x becomes the uniform mean of z_1 .. z_{t+1}
        for y, g, z, x in zip(self.params, grads, self.z, self.x):
            if self.weight_decay:
                g = g + self.weight_decay * y
            z -= self.lr * g
            x += c * (z - x)
            y[...] = (1.0 - self.beta) * z + self.beta * x

    @contextlib.contextmanager
    def evaluating(self):
        """Within the block the parameter arrays hold ``x`` (the point to evaluate); then ``y`` again."""
        saved = [p.copy() for p in self.params]
        try:
            for p, x in zip(self.params, self.x):
                p[...] = x
            yield self.params
        finally:
            for p, s in zip(self.params, saved):
                p[...] = s


def cosine_lr(peak, step: int, planned_steps: int):
    """``peak · ½(1 + cos(π t/T))`` for step ``t`` of a run planned for ``T`` steps; 0 after ``T``."""
    progress = min(step, planned_steps) / planned_steps
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


# ----------------------------------------------------------------------------------------------
# Problems: each has loss(points), grad(points) over any leading axes, and noisy gradients.


@dataclass(frozen=True)
class RiverValley:
    """A curved river valley: steep walls across, a gentle floor along, minimum 0 at the origin.

        L(u, v) = ½ wall · (u − bend·v²)² + depth · log(1 + v²/width²)

    ``u`` runs across the valley (curvature ``wall``), ``v`` along its floor, which is
    quadratic near the minimum (curvature ``2·depth/width²``) and flattens far from it (the
    floor's pull falls like 1/v). The defaults are the landscape the level ships.
    Gradients carry isotropic Gaussian noise of standard deviation ``noise`` per coordinate
    (the minibatch noise of a real problem): with a large step the ball rattles between the
    walls, and the loss it reports is mostly that rattle.
    """

    wall: float = 2.0
    depth: float = 1.0
    width: float = 0.5
    bend: float = 0.06
    start: tuple[float, float] = (1.5, 5.0)

    def loss(self, p: np.ndarray) -> np.ndarray:
        """L at points ``p`` (..., 2)."""
        u, v = p[..., 0], p[..., 1]
        across = u - self.bend * v * v
        return 0.5 * self.wall * across * across + self.depth * np.log1p((v / self.width) ** 2)

    def grad(self, p: np.ndarray) -> np.ndarray:
        """∇L at points ``p`` (..., 2)."""
        u, v = p[..., 0], p[..., 1]
        across = self.wall * (u - self.bend * v * v)
        along = -2.0 * self.bend * v * across + 2.0 * self.depth * v / (self.width**2 + v * v)
        return np.stack([across, along], axis=-1)

    def surface(self, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
        """L on the grid ``us`` × ``vs``, shape ``(len(vs), len(us))`` (the view's height map)."""
        grid = np.stack(np.meshgrid(us, vs), axis=-1)
        return self.loss(grid)


@dataclass(frozen=True)
class OnlineRegression:
    """Linear regression trained on a stream of minibatches: a small real problem.

    Inputs ``a ~ N(0, diag(λ))`` with a power-law spectrum ``λ_i = i^{−decay}`` (a few strong
    features, many weak ones, as in real data), targets ``a·w* + ε``. The population loss is
    exact: ``L(w) = ½ Σ λ_i (w_i − w*_i)²`` (excess over the label noise). A minibatch gradient
    is ``aᵀ(a w − y)/B``: unbiased, and noisier where the loss is larger.
    """

    dim: int = 32
    batch: int = 4
    decay: float = 1.5
    label_noise: float = 0.5

    @functools.cached_property
    def spectrum(self) -> np.ndarray:
        return np.arange(1, self.dim + 1, dtype=np.float64) ** -self.decay

    @functools.cached_property
    def target(self) -> np.ndarray:
        return np.random.default_rng(12345).standard_normal(self.dim)

    @property
    def start(self) -> np.ndarray:
        return np.zeros(self.dim)

    def loss(self, w: np.ndarray) -> np.ndarray:
        """The excess population loss at weights ``w`` (..., dim)."""
        return 0.5 * np.sum(self.spectrum * (w - self.target) ** 2, axis=-1)


def landscape_noise(noise: float, seed: int, step: int, balls: int) -> np.ndarray:
    """The gradient noise of step ``step`` for balls ``0..balls-1`` (hash RNG: the same on every run)."""
    return noise * normal_pairs(stream_key(seed, step), np.arange(balls))


def regression_batch(problem: OnlineRegression, seed: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """The minibatch ``(inputs (B, dim), targets (B,))`` of step ``step`` of the run seeded ``seed``."""
    rng = np.random.default_rng([seed, step])
    a = rng.standard_normal((problem.batch, problem.dim)) * np.sqrt(problem.spectrum)
    y = a @ problem.target + problem.label_noise * rng.standard_normal(problem.batch)
    return a, y


def regression_grad(problem: OnlineRegression, w: np.ndarray, batch: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The minibatch gradient of ``½ mean((a·w − y)²)`` at weights ``w`` (..., dim)."""
    a, y = batch
    residual = w @ a.T - y  # (..., B)
    return residual @ a / a.shape[0]


# ----------------------------------------------------------------------------------------------
# A race: the three methods on one problem, each with its own step size


class Race:
    """Schedule-Free, cosine and constant-step SGD on one problem, on the same noise.

    ``problem`` is a :class:`RiverValley` (``balls`` independent balls per method, so that the
    reported loss is an ensemble mean and not one ball's luck) or an :class:`OnlineRegression`
    (one weight vector per method). ``lrs`` maps each method to its step size (the cosine's is
    its peak); any of them may be an array of shape ``(K, 1, 1)`` for the landscape or
    ``(K, 1)`` for the regression, to race K step sizes at once (the tuner does).

    Attributes for drawing: ``points[method]`` (the evaluated points: x for Schedule-Free),
    ``explorer`` (z) and ``gradient_point`` (y) of Schedule-Free.

    A racer whose loss overflows or passes :data:`DIVERGED_LOSS` stops alone, as a real run that
    blew up would, and the others run on: ``diverged_at[method]`` is the step it diverged at (None
    while it runs), it takes no more steps, and :meth:`losses` reports it as ``DIVERGED_LOSS``.
    Only a race of one step size per method does this; the tuner's race of K step sizes at once
    lets each overflow in its own slot and reads the losses at the end.
    """

    def __init__(self, problem, lrs: dict, planned_steps: int, noise: float = 1.0, beta: float = 0.9,
                 balls: int = 64, seed: int = 0, lead_shape: tuple = ()):
        self.problem = problem
        self.planned_steps = int(planned_steps)
        self.noise = noise
        self.seed = seed
        self.steps = 0
        self.balls = balls if isinstance(problem, RiverValley) else 1
        start = np.asarray(problem.start, dtype=np.float64)
        shape = (*lead_shape, self.balls, start.size) if isinstance(problem, RiverValley) else (*lead_shape, start.size)
        self.peak = lrs["cosine"]
        self.stops_diverged = lead_shape == ()
        self.diverged_at: dict[str, int | None] = {m: None for m in METHODS}
        self._params = {m: np.broadcast_to(start, shape).copy() for m in METHODS}
        self.optimizers = {
            "schedule_free": ScheduleFreeSGD([self._params["schedule_free"]], lrs["schedule_free"], beta=beta),
            "cosine": SGD([self._params["cosine"]], lr=cosine_lr(self.peak, 0, self.planned_steps)),
            "constant": SGD([self._params["constant"]], lr=lrs["constant"]),
        }

    @property
    def points(self) -> dict[str, np.ndarray]:
        """The point each method would ship now (Schedule-Free: its average x)."""
        return {"schedule_free": self.optimizers["schedule_free"].x[0], "cosine": self._params["cosine"],
                "constant": self._params["constant"]}

    @property
    def explorer(self) -> np.ndarray:
        return self.optimizers["schedule_free"].z[0]

    @property
    def gradient_point(self) -> np.ndarray:
        return self._params["schedule_free"]

    @property
    def running(self) -> tuple[str, ...]:
        """The methods still racing (not diverged)."""
        return tuple(m for m in METHODS if self.diverged_at[m] is None)

    def _gradients(self, methods: tuple[str, ...]) -> dict[str, np.ndarray]:
        if isinstance(self.problem, RiverValley):
            noise = landscape_noise(self.noise, self.seed, self.steps, self.balls)
            return {m: self.problem.grad(self._params[m]) + noise for m in methods}
        batch = regression_batch(self.problem, self.seed, self.steps)
        return {m: regression_grad(self.problem, self._params[m], batch) for m in methods}

    def step(self) -> None:
        """One step of every running method, all on the same noise (the same minibatch, the same
        kicks); a method whose loss has blown up stops there."""
        self.optimizers["cosine"].lr = cosine_lr(self.peak, self.steps, self.planned_steps)
        running = self.running
        for method, g in self._gradients(running).items():
            self.optimizers[method].step([g])
        self.steps += 1
        if self.stops_diverged:
            for method in running:
                loss = self._mean_loss(self.points[method])
                if not loss < DIVERGED_LOSS:  # NaN too
                    self.diverged_at[method] = self.steps

    def _mean_loss(self, points: np.ndarray) -> np.ndarray:
        loss = self.problem.loss(points)
        return loss.mean(axis=-1) if isinstance(self.problem, RiverValley) else loss

    def losses(self) -> dict[str, np.ndarray]:
        """Each method's loss at the point it would ship (mean over the balls of the landscape);
        ``DIVERGED_LOSS`` for a method that diverged."""
        return {method: DIVERGED_LOSS if self.diverged_at[method] is not None else self._mean_loss(p)
                for method, p in self.points.items()}

    def explorer_loss(self) -> np.ndarray:
        """The mean loss at Schedule-Free's explorer z (``DIVERGED_LOSS`` once Schedule-Free diverged)."""
        if self.diverged_at["schedule_free"] is not None:
            return DIVERGED_LOSS
        return self._mean_loss(self.explorer)


@functools.lru_cache(maxsize=64)
def tuned_lr(problem, planned_steps: int, noise: float, beta: float = 0.9, balls: int = 64,
             grid: tuple[float, ...] = LR_GRID) -> dict[str, float]:
    """Each method's step size with the lowest loss at the planned end (cosine: its peak).

    Every step size of ``grid`` races at once, ``balls`` balls each, on noise from
    ``TUNING_SEED``. A step size that diverges is out, and so is every one above
    ``SAFETY_MARGIN`` times it: what diverges on this noise can diverge on the next.
    """
    lrs = np.asarray(grid, dtype=np.float64)
    lead = (lrs.size,)
    shaped = lrs.reshape(-1, 1, 1) if isinstance(problem, RiverValley) else lrs.reshape(-1, 1)
    race = Race(problem, {m: shaped for m in METHODS}, planned_steps, noise, beta, balls, TUNING_SEED, lead)
    with np.errstate(all="ignore"):
        for _ in range(planned_steps):
            race.step()
        final = race.losses()
    best = {}
    for method in METHODS:
        loss = np.where(np.isfinite(final[method]), final[method], np.inf)
        diverged = lrs[~np.isfinite(loss) | (loss > DIVERGED_LOSS)]
        if diverged.size:
            # A step size just below the first divergence diverges on other noise: keep a margin.
            loss = np.where(lrs <= SAFETY_MARGIN * diverged.min(), loss, np.inf)
        if not np.isfinite(loss).any():
            best[method] = float(lrs[0])
            continue
        # Near its optimum the final loss is flat in the step size and the argmin is decided by
        # the tuner's noise; of the step sizes within TIE of the best, take the largest.
        near_best = np.flatnonzero(loss <= (1.0 + TIE) * loss.min())
        best[method] = float(lrs[near_best.max()])
    return best


# ----------------------------------------------------------------------------------------------
# Benchmark


def main(argv=None) -> None:
    """Print race steps per second (all three methods, one step each) and the tuner's time."""
    parser = argparse.ArgumentParser(prog="python levels/schedule_free/schedule_free.py", description=main.__doc__)
    parser.add_argument("--bench", action="store_true", help="run the benchmark (the default action)")
    parser.add_argument("--balls", type=int, default=64)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args(argv)
    valley = RiverValley()
    for name, problem in (("river valley", valley), ("online regression", OnlineRegression())):
        t0 = time.perf_counter()
        lrs = tuned_lr(problem, 400, 0.3)
        tuning = time.perf_counter() - t0
        race = Race(problem, lrs, args.steps, noise=0.3, balls=args.balls)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            race.step()
            race.losses()
        rate = args.steps / (time.perf_counter() - t0)
        print(f"{name:18s}: {rate:8.0f} race steps/s ({args.balls if problem is valley else 1} per method), "
              f"tuning {len(LR_GRID)} step sizes x 400 steps: {tuning * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
