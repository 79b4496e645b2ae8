"""Schedule-Free SGD against a tuned cosine schedule and a constant step, on one noisy problem.

At reset every method's step size is tuned for the planned horizon T (:func:`.schedule_free.tuned_lr`,
on noise of its own, cached); then every tick takes one step of each method on the same noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from .schedule_free import DIVERGED_LOSS, OnlineRegression, Race, RiverValley, cosine_lr, tuned_lr

#: The challenges' names for the three runs.
LABELS = {"schedule_free": "Schedule-Free (x)", "cosine": "cosine", "constant": "constant step"}
#: The rows of the ``ball0`` observable: ball 0 of each run, and Schedule-Free's z and y.
BALL0 = ("x", "z", "y", "cosine", "constant")
#: Balls per step size when tuning (the tuner's answer is cached per problem, T, noise and β).
TUNING_BALLS = 64
#: The part of the landscape in view, in the scene's plane (x = v along the floor, y = u across it).
LANDSCAPE_VIEW = ((-2.6, 6.4), (-2.7, 2.7))
#: Cells of the height map (it reaches 60% beyond the view on every side, for panning).
MAP_CELLS = (220, 140)


class ScheduleFreeModel(Model):
    """A race of Schedule-Free SGD, cosine-scheduled SGD and constant-step SGD.

    For the view:

    * ``problem``: a :class:`.schedule_free.RiverValley` (``loss``, ``grad``,
      ``surface(us, vs)`` for the height map, ``start``) or an ``OnlineRegression``;
    * ``race``: ``race.points[method]`` (each method's evaluated points, ``(balls, 2)`` on the
      landscape; Schedule-Free's are its averages x), ``race.explorer`` (z) and
      ``race.gradient_point`` (y); on the regression these are weight vectors (32,);
    * the ``ball0`` array observable: ball 0 of each run (rows :data:`BALL0`, the first two
      coordinates), recorded by the runner: the trails;
    * ``plane(points)``: points as drawn in the scene's plane; ``view_box()``, ``loss_map()``,
      ``valley_floor()``, ``optimum()`` in that plane; ``weight_losses()`` on the regression;
    * ``lrs``: the step sizes in use (tuned × ``lr_scale``; the cosine's is its peak),
      ``tuned_lrs`` and ``gradient_point_step``; ``planned_steps``.
    """

    work_unit = "ball-steps"

    # -- life cycle -----------------------------------------------------------------------------

    @property
    def landscape(self) -> bool:
        return self.params["problem"] == "landscape"

    @property
    def planned_steps(self) -> int:
        return int(self.params["planned_steps"])

    def reset(self, seed: int = 0) -> None:
        noise = float(self.params["noise"])
        self.problem = RiverValley() if self.landscape else OnlineRegression(label_noise=noise)
        beta = float(self.params["beta"])
        self.tuned_lrs = tuned_lr(self.problem, self.planned_steps, noise, beta, TUNING_BALLS)
        self.race = Race(self.problem, self._scaled_lrs(), self.planned_steps, noise, beta,
                         balls=int(self.params["balls"]), seed=seed)

    def _scaled_lrs(self) -> dict[str, float]:
        scale = float(self.params["lr_scale"])
        return {"schedule_free": self.tuned_lrs["schedule_free"] * scale, "cosine": self.tuned_lrs["cosine"],
                "constant": self.tuned_lrs["constant"] * scale}

    @property
    def lrs(self) -> dict[str, float]:
        return self._scaled_lrs()

    def set_param(self, name: str, value: Any) -> None:
        super().set_param(name, value)
        if name == "lr_scale":
            lrs = self._scaled_lrs()
            self.race.optimizers["schedule_free"].lr = lrs["schedule_free"]
            self.race.optimizers["constant"].lr = lrs["constant"]

    @property
    def gradient_point_step(self) -> float:
        """How far y moves per unit gradient: (1 − β)γ, much less than Schedule-Free's own γ."""
        return (1.0 - float(self.params["beta"])) * self.lrs["schedule_free"]

    def ball0(self) -> np.ndarray:
        """Ball 0 of each run (rows :data:`BALL0`: x, z, y, cosine, constant), first two coordinates."""
        points, race = self.race.points, self.race
        rows = (points["schedule_free"], race.explorer, race.gradient_point, points["cosine"], points["constant"])
        return np.stack([np.asarray(p[0] if self.landscape else p, np.float64)[:2] for p in rows])

    def step(self) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported, not raised
            self.race.step()

    # -- the scene's plane ----------------------------------------------------------------------

    def plane(self, points) -> np.ndarray:
        """Points as drawn, rows of (x, y): the valley lies along x (v across the screen, u up), the
        regression shows its first two weights as they are. Leading axes are kept."""
        p = np.asarray(points, dtype=np.float64)[..., :2]
        return p[..., ::-1] if self.landscape else p

    @derived("problem")
    def view_box(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The rectangle of the plane to show: the valley's, or the regression's around start and optimum."""
        if self.landscape:
            return LANDSCAPE_VIEW
        ends = np.stack([self.plane(self.problem.start), self.plane(self.problem.target)])
        centre, half = ends.mean(axis=0), max(0.9 * np.abs(ends[0] - ends[1]).max(), 0.5)
        return ((centre[0] - 2.0 * half, centre[0] + 2.0 * half), (centre[1] - 1.2 * half, centre[1] + 1.2 * half))

    @derived("problem")
    def loss_map(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The loss over the plane as a height map ``(xs, ys, height, shade)``: log-scaled, the shade in
        [0, 0.8] (short of the colour map's yellow, so the balls stay visible). On the regression it is
        the slice through the optimum's other 30 weights: an ellipse per loss level."""
        (x0, x1), (y0, y1) = self.view_box()
        pad_x, pad_y = 0.6 * (x1 - x0), 0.6 * (y1 - y0)
        xs = np.linspace(x0 - pad_x, x1 + pad_x, MAP_CELLS[0])
        ys = np.linspace(y0 - pad_y, y1 + pad_y, MAP_CELLS[1])
        X, Y = np.meshgrid(xs, ys)
        if self.landscape:
            loss = self.problem.loss(np.stack([Y, X], axis=-1))
        else:
            lam, target = self.problem.spectrum[:2], self.problem.target[:2]
            loss = 0.5 * (lam[0] * (X - target[0]) ** 2 + lam[1] * (Y - target[1]) ** 2)
        shade = np.log1p(loss / max(float(np.percentile(loss, 5)), 1e-3))
        shade = 0.8 * shade / max(float(shade.max()), 1e-9)
        return xs, ys, 0.04 * (x1 - x0) * shade, shade

    @derived("problem")
    def valley_floor(self) -> np.ndarray | None:
        """The valley's floor u = bend·v² in the plane (None on the regression)."""
        if not self.landscape:
            return None
        v = np.linspace(-8.0, 12.0, 200)
        return self.plane(np.stack([self.problem.bend * v * v, v], axis=1))

    def optimum(self) -> np.ndarray:
        """The minimum in the plane: the valley's origin, or the regression's target weights."""
        return np.zeros(2) if self.landscape else self.plane(self.problem.target)

    def weight_losses(self) -> dict[str, np.ndarray]:
        """Regression: each run's loss per weight now, ½λᵢ(wᵢ − wᵢ*)², strongest feature first."""
        problem = self.problem
        with np.errstate(all="ignore"):
            return {name: 0.5 * problem.spectrum * (np.asarray(w, np.float64) - problem.target) ** 2
                    for name, w in self.race.points.items()}

    def work_per_step(self) -> float:
        return 3.0 * self.race.balls

    # -- runner interface -------------------------------------------------------------------------

    def losses(self) -> dict[str, float]:
        """Each method's loss at the point it would ship now."""
        with np.errstate(over="ignore", invalid="ignore"):
            return {method: float(loss) for method, loss in self.race.losses().items()}

    def observables(self) -> dict[str, float]:
        losses = self.losses()
        with np.errstate(over="ignore", invalid="ignore"):
            explorer = float(self.race.explorer_loss())
        return {
            "step": float(self.race.steps),
            "progress": self.race.steps / self.planned_steps,
            "loss_schedule_free": losses["schedule_free"],
            "loss_cosine": losses["cosine"],
            "loss_constant": losses["constant"],
            "loss_explorer": explorer,
            "lr_cosine": cosine_lr(self.tuned_lrs["cosine"], self.race.steps, self.planned_steps),
            "ball0": self.ball0(),
        }

    def state(self) -> dict[str, np.ndarray]:
        """The running racers' points (a racer that diverged has stopped alone: its overflowed
        points would stop the whole race)."""
        points, running = self.race.points, self.race.running
        arrays = {name: points[name] for name in ("cosine", "constant") if name in running}
        if "schedule_free" in running:
            arrays.update(x=points["schedule_free"], z=self.race.explorer)
        return arrays

    # -- challenge measures -------------------------------------------------------------------------

    def measure_leader(self, run) -> str:
        """The run with the lowest recorded loss at the last step (the challenges stop the race at T/2
        or at T); a racer that diverged (recorded as ``DIVERGED_LOSS``) never leads."""
        losses = {name: float(run.series(f"loss_{name}")[-1]) for name in LABELS}
        return LABELS[min(losses, key=lambda name: losses[name] if losses[name] < DIVERGED_LOSS else np.inf)]
