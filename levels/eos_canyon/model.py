"""The edge of stability: gradient descent in a canyon that sharpens as it deepens, and in a real net.

Canyon mode runs gradient descent on the 2-D loss of the level's :mod:`kernels`; network mode trains a
small tanh MLP full-batch with MSE and tracks its sharpness (the top Hessian eigenvalue) by
power iteration on Hessian-vector products, warm-started every step.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model
from sim import nn

from .kernels import DIVERGED_LOSS, Canyon, canyon_fields, canyon_gd_step, canyon_surface, canyon_sweep
from .kernels import largest_stable_lr as sweep_largest_stable_lr

#: GD steps of the "largest stable η" search (the challenge asks about 1500-step runs).
SWEEP_STEPS = 1500
#: GD steps each rate of the stability map runs: small steps creep down the canyon, and at 1500 the
#: ball at η = 0.005 is still far from the floor (sharpness 63 against 80); by 12000 it is within
#: 0.5% of it for every canyon up to a depth of 80 (deeper ones are labelled still descending).
MAP_STEPS = 12000
#: A map point has settled on the floor when its late sharpness is within this of the floor's curvature.
SETTLED_TOLERANCE = 0.02
#: The η range the stability map spans: the manifest's range of ``lr``.
MAP_LR_RANGE = (0.005, 0.3)
#: A canyon run bounces when its late |y| exceeds the noise floor this many times over.
BOUNCE_FACTOR = 100.0
#: A network run is at the edge of stability when η·sharpness averages above this late on.
NETWORK_EDGE = 1.9


def late_part(series: np.ndarray, fraction: float = 1 / 3) -> np.ndarray:
    """The last ``fraction`` of a recorded series (at least one value)."""
    return series[-max(1, int(len(series) * fraction)):]


class EosModel(Model):
    """Gradient descent at the edge of stability, in the canyon or in a small network.

    For the view (canyon mode):

    * ``canyon``: the :class:`.kernels.Canyon` (``fields``, ``wall_curvature``,
      ``x_at_curvature``, ``floor_x``); ``x``, ``y``: the ball;
    * ``trajectory()``: the last positions, an ``(N, 3)`` array of (x, y, loss);
    * ``bounds()``: the (x_min, x_max, y_min, y_max) worth drawing;
    * ``surface(nx, ny)``: (xs, ys, L, ∂L/∂x, ∂L/∂y) on a grid over ``bounds()``;
    * ``edge_x()``: where the centre line's curvature is 2/η (where the ball hovers);
    * ``stability_map()``: late sharpness, bounce amplitude and divergence against η.

    Network mode: ``net`` (a :class:`sim.nn.Sequential`), ``data_x``, ``data_y`` (the training
    set, ``(N, 1)`` each), ``target(xs)`` (the function the data samples), ``prediction(xs)``
    (the network on any inputs) and ``eigenvector`` (the current top Hessian eigenvector,
    flattened like ``net.parameters_vector()``).
    """

    TRAIL_LENGTH = 600

    def __init__(self, params: dict[str, Any], backend: str = "numpy"):
        super().__init__(params, backend)
        self._build_canyon()

    # ------------------------------------------------------------------------------------------
    # life cycle

    def _build_canyon(self) -> None:
        self.canyon = Canyon(depth=float(self.params["depth"]))
        self.coefficients = self.canyon.coefficients()

    @property
    def mode(self) -> str:
        return self.params["mode"]

    @property
    def lr(self) -> float:
        return float(self.params["lr"])

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        self.diverged = False
        self._build_canyon()
        self._trail: deque[tuple[float, float, float]] = deque(maxlen=self.TRAIL_LENGTH)
        if self.mode == "canyon":
            self.x = float(self.params["start_x"])
            self.y = float(self.params["start_y"])
            self._evaluate_canyon()
        else:
            self._build_network(seed)

    def set_param(self, name: str, value: Any) -> None:
        super().set_param(name, value)
        if name == "depth":
            self._build_canyon()
            if self.mode == "canyon":
                # the ball and its trail stay where they are, on the reshaped surface
                trail = self.trajectory()
                if len(trail):
                    with np.errstate(all="ignore"):
                        trail[:, 2] = canyon_fields(trail[:, 0], trail[:, 1], self.coefficients)[0]
                    self._trail = deque(map(tuple, trail), maxlen=self.TRAIL_LENGTH)
                self._evaluate_canyon(record=False)

    def step(self) -> None:
        if self.diverged:
            return
        with np.errstate(all="ignore"):  # overflow is how divergence shows; it is reported, not raised
            if self.mode == "canyon":
                self.x, self.y = (float(v) for v in canyon_gd_step(
                    self.x, self.y, self.lr, float(self.params["noise_floor"]), self.coefficients))
                self._evaluate_canyon()
            else:
                self._step_network()

    def observables(self) -> dict[str, float]:
        return {
            "loss": self.loss,
            "sharpness": self.sharpness,
            "two_over_lr": 2.0 / self.lr,
            "eta_sharpness": self.lr * self.sharpness,
            "x": self.x,
            "y": self.y,
            "diverged": 1.0 if self.diverged else 0.0,
        }

    def state(self) -> dict[str, np.ndarray]:
        if self.mode == "canyon":
            return {"ball": np.array([self.x, self.y])}
        return {"parameters": self.net.parameters_vector()}

    def _check_divergence(self) -> None:
        if not abs(self.loss) < DIVERGED_LOSS or not math.isfinite(self.sharpness):
            self.diverged = True

    # ------------------------------------------------------------------------------------------
    # canyon mode

    def _evaluate_canyon(self, record: bool = True) -> None:
        with np.errstate(all="ignore"):
            loss, _, _, sharpness = canyon_fields(self.x, self.y, self.coefficients)
        self.loss, self.sharpness = float(loss), float(sharpness)
        if record:
            self._trail.append((self.x, self.y, self.loss))
        self._check_divergence()

    def trajectory(self) -> np.ndarray:
        """The last positions of the ball, oldest first: ``(N, 3)`` of (x, y, loss)."""
        return np.array(self._trail, dtype=np.float64).reshape(-1, 3)

    def bounds(self) -> tuple[float, float, float, float]:
        """The part of the plane worth drawing: behind the start to past the floor's minimum."""
        x_min = min(float(self.params["start_x"]), -2.0) - 2.0
        x_max = max(self.canyon.floor_x, float(self.params["start_x"]), 0.0) + 2.5
        half_width = max(2.0, abs(float(self.params["start_y"])) * 1.2)
        return x_min, x_max, -half_width, half_width

    @derived("depth", "start_x", "start_y", backend=True)
    def surface(self, nx: int = 96, ny: int = 48, bounds=None):
        """(xs, ys, L, ∂L/∂x, ∂L/∂y) on an ``nx`` × ``ny`` grid (rows are y) over ``bounds``."""
        x_min, x_max, y_min, y_max = bounds or self.bounds()
        xs = np.linspace(x_min, x_max, nx)
        ys = np.linspace(y_min, y_max, ny)
        loss, dx, dy = canyon_surface(xs, ys, self.coefficients, backend=self.backend)
        return xs, ys, np.asarray(loss), np.asarray(dx), np.asarray(dy)

    def edge_x(self) -> float:
        """Where h(x) = 2/η on the centre line: where a bouncing ball hovers (−inf: nowhere)."""
        return self.canyon.x_at_curvature(2.0 / self.lr)

    def loss_at(self, x, y) -> np.ndarray:
        """The canyon's loss at points (arrays broadcast)."""
        with np.errstate(all="ignore"):
            return np.asarray(self.canyon.fields(np.asarray(x, np.float64), np.asarray(y, np.float64))[0])

    @derived("depth", "start_x", "start_y")
    def floor_line(self, points: int = 200) -> np.ndarray:
        """The canyon's centre line over ``bounds()``: ``(points, 3)`` of (x, 0, loss)."""
        x_min, x_max, _, _ = self.bounds()
        xs = np.linspace(x_min, x_max, points)
        return np.stack([xs, np.zeros_like(xs), self.loss_at(xs, 0.0)], 1)

    @derived("depth", "lr", "start_x", "start_y")
    def edge_line(self, points: int = 60) -> np.ndarray | None:
        """The cross-section where h = 2/η: ``(points, 3)`` of (x, y, loss), or None when the edge
        is outside the drawn part of the canyon."""
        edge = self.edge_x()
        x_min, x_max, y_min, y_max = self.bounds()
        if not (math.isfinite(edge) and x_min < edge < x_max):
            return None
        ys = np.linspace(y_min, y_max, points)
        return np.stack([np.full_like(ys, edge), ys, self.loss_at(edge, ys)], 1)

    def edge_verdict(self) -> str:
        """Whether the ball can reach the edge 2/η at all, in words."""
        edge, canyon = 2 / self.lr, self.canyon
        if edge < canyon.plateau:
            return f"even the plateau ({canyon.plateau:g}) is sharper: nowhere is stable"
        if edge < canyon.depth:
            return "the ball can reach the edge"
        return "the canyon is too shallow to reach 2/η"

    @derived("depth", "start_x", "start_y", "noise_floor", backend=True)
    def stability_map(self, points: int = 64, lr_range: tuple[float, float] = MAP_LR_RANGE) -> dict[str, np.ndarray]:
        """GD from this start for ``points`` log-spaced η, ``MAP_STEPS`` steps each.

        Returns ``etas``, ``sharpness`` (late mean; inf if diverged), ``amplitude`` (late max
        |y|), ``steps``, and where each run got to, one bool array each (every η in exactly one):
        ``diverged``; ``bouncing`` (its late |y| stays well above the noise floor, as the
        challenges measure a bounce); ``settled`` (not bouncing, its late sharpness within
        ``SETTLED_TOLERANCE`` of the floor's curvature: it reached the floor); ``descending``
        (neither: still on its way down when the run ended). Cached until the canyon, the start
        or the floor changes.
        """
        etas = np.geomspace(lr_range[0], lr_range[1], points)
        noise_floor = float(self.params["noise_floor"])
        sharpness, amplitude, diverged = (np.asarray(a) for a in canyon_sweep(
            etas, self.coefficients, float(self.params["start_x"]), float(self.params["start_y"]), MAP_STEPS,
            noise_floor, backend=self.backend))
        diverged = diverged > 0.5
        bouncing = ~diverged & (amplitude > BOUNCE_FACTOR * noise_floor)
        with np.errstate(invalid="ignore"):
            on_floor = np.abs(sharpness / self.canyon.depth - 1.0) <= SETTLED_TOLERANCE
        settled = ~diverged & ~bouncing & on_floor
        return {"etas": etas, "sharpness": sharpness, "amplitude": amplitude, "steps": MAP_STEPS,
                "diverged": diverged, "bouncing": bouncing, "settled": settled,
                "descending": ~diverged & ~bouncing & ~settled}

    # ------------------------------------------------------------------------------------------
    # network mode

    def _build_network(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        width = int(self.params["width"])
        self.data_x = np.linspace(-1.0, 1.0, int(self.params["n_points"]))[:, None]
        self.data_y = self.target(self.data_x)
        self.net = nn.Sequential(nn.Dense(1, width, rng), nn.Tanh(), nn.Dense(width, width, rng), nn.Tanh(),
                                 nn.Dense(width, 1, rng))
        self.initial_parameters = self.net.parameters_vector()
        self.optimizer = nn.SGD(self.net.params, self.lr)
        self.eigenvector = None
        self._power_rng = np.random.default_rng(seed + 1)
        self._evaluate_network(iters=30)  # a cold start needs more iterations than a warm one

    def _evaluate_network(self, iters: int) -> None:
        """Loss and gradient at the current weights (the gradient stays in ``net.grads``), and
        the sharpness by power iteration warm-started from the last eigenvector."""
        loss, gradient = nn.loss_and_gradient(self.net, nn.mse_loss, self.data_x, self.data_y)
        self.loss = float(loss)
        # the ball's coordinates, for a network: how far the weights travelled, and the slope
        # along the sharpest direction (it flips sign every step at the edge of stability)
        self.x = float(np.linalg.norm(self.net.parameters_vector() - self.initial_parameters))
        if not abs(self.loss) < DIVERGED_LOSS:
            self.sharpness = self.y = math.nan
            self.diverged = True
            return
        self.sharpness, self.eigenvector = nn.top_hessian_eigenvalue(
            self.net, nn.mse_loss, self.data_x, self.data_y, iters=iters, rng=self._power_rng, v0=self.eigenvector)
        self.y = float(self.eigenvector @ gradient)
        self._check_divergence()

    def _step_network(self) -> None:
        self.optimizer.lr = self.lr
        self.optimizer.step(self.net.grads)
        self._evaluate_network(iters=int(self.params["power_iters"]))

    @staticmethod
    def target(xs: np.ndarray) -> np.ndarray:
        """The function network mode fits, 3 sin(3x): smooth, but big enough that the net must
        grow its weights to fit it, and that growth is what sharpens the loss."""
        return 3.0 * np.sin(3.0 * np.asarray(xs, dtype=np.float64))

    def prediction(self, xs: np.ndarray) -> np.ndarray:
        """The network's output at inputs ``xs`` (shape ``(N,)`` or ``(N, 1)``), as ``(N,)``."""
        with np.errstate(all="ignore"):
            return self.net.forward(np.asarray(xs, dtype=np.float64).reshape(-1, 1))[:, 0]

    # ------------------------------------------------------------------------------------------
    # challenge measurements

    def measure_outcome(self, run) -> str:
        """settles, bounces or diverges, from the run just made.

        Canyon: bounces when the late |y| stays well above the noise floor (the ball keeps
        crossing the canyon). Network: bounces when η·sharpness averages near 2 late on.
        """
        if run.diverged:
            return "diverges"
        if self.mode == "canyon":
            amplitude = np.max(np.abs(late_part(run.series("y"), 1 / 4)))
            return "bounces" if amplitude > BOUNCE_FACTOR * float(self.params["noise_floor"]) else "settles"
        edge = np.mean(late_part(run.series("eta_sharpness")))
        return "bounces" if edge > NETWORK_EDGE else "settles"

    def measure_late_sharpness(self, run) -> float:
        """The mean sharpness over the last third of the run (inf if it diverged)."""
        if run.diverged:
            return math.inf
        return float(np.mean(late_part(run.series("sharpness"))))

    def measure_largest_stable_lr(self, run) -> float:
        """The largest η (over the manifest's range) that runs ``SWEEP_STEPS`` steps without diverging."""
        lr = run.manifest.params["lr"]
        return sweep_largest_stable_lr(self.coefficients, float(self.params["start_x"]), float(self.params["start_y"]),
                                       SWEEP_STEPS, float(self.params["noise_floor"]), (lr.min, lr.max),
                                       backend=self.backend)

