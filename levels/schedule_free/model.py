"""Schedule-Free SGD against a tuned cosine schedule and a constant step, on one noisy problem.

At reset every method's step size is tuned for the planned horizon T (:func:`sim.schedule_free.tuned_lr`,
on noise of its own, cached); then every tick takes one step of each method on the same noise.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from sandbox.model import Model
from sim.schedule_free import OnlineRegression, Race, RiverValley, cosine_lr, tuned_lr

#: The challenges' names for the three runs.
LABELS = {"schedule_free": "Schedule-Free (x)", "cosine": "cosine", "constant": "constant step"}
#: Positions of ball 0 kept for the trails the view draws.
TRAIL_LENGTH = 400
#: Balls per step size when tuning (the tuner's answer is cached per problem, T, noise and β).
TUNING_BALLS = 64


class ScheduleFreeModel(Model):
    """A race of Schedule-Free SGD, cosine-scheduled SGD and constant-step SGD.

    For the view:

    * ``problem``: a :class:`sim.schedule_free.RiverValley` (``loss``, ``grad``,
      ``surface(us, vs)`` for the height map, ``start``) or an ``OnlineRegression``;
    * ``race``: ``race.points[method]`` (each method's evaluated points, ``(balls, 2)`` on the
      landscape; Schedule-Free's are its averages x), ``race.explorer`` (z) and
      ``race.gradient_point`` (y); on the regression these are weight vectors (32,);
    * ``trails[name]``: the last positions of ball 0 (the first two coordinates), for
      ``"x"``, ``"z"``, ``"y"``, ``"cosine"`` and ``"constant"``, oldest first;
    * ``lrs``: the step sizes in use (tuned × ``lr_scale``; the cosine's is its peak) and
      ``tuned_lrs``; ``planned_steps``.
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
        self.trails = {name: deque(maxlen=TRAIL_LENGTH) for name in ("x", "z", "y", "cosine", "constant")}
        self._record_trails()

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

    def _record_trails(self) -> None:
        points = self.race.points
        for name, p in (("x", points["schedule_free"]), ("z", self.race.explorer), ("y", self.race.gradient_point),
                        ("cosine", points["cosine"]), ("constant", points["constant"])):
            first = p[0] if self.landscape else p
            self.trails[name].append(np.array(first[:2], dtype=np.float64))

    def step(self) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported, not raised
            self.race.step()
        self._record_trails()

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
        }

    def state(self) -> dict[str, np.ndarray]:
        points = self.race.points
        return {"x": points["schedule_free"], "z": self.race.explorer, "cosine": points["cosine"],
                "constant": points["constant"]}

    # -- challenge measures -------------------------------------------------------------------------

    def measure_leader(self, run) -> str:
        """The run with the lowest loss now (the challenges stop the race at T/2 or at T)."""
        losses = self.losses()
        return LABELS[min(losses, key=losses.get)]
