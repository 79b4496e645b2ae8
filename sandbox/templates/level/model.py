"""Gradient descent on L(x) = a x^2 / 2 for a cloud of balls: the model of the $id level."""

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from .kernels import descend


class $Class(Model):
    """State: ``xs``, every ball's position (ball 0 is the one the plots follow). Each step runs
    the level's kernel on the backend the engine chose."""

    work_unit = "ball-steps"

    def reset(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.xs = np.sort(rng.uniform(-2.0, 2.0, int(self.params["balls"])))

    def loss(self, x):
        return 0.5 * self.params["curvature"] * np.asarray(x) ** 2

    @derived("curvature")
    def parabola(self, points: int = 200) -> np.ndarray:
        """The curve to draw: ``(points, 2)`` of (x, L(x)) over [-3, 3]."""
        x = np.linspace(-3.0, 3.0, points)
        return np.stack([x, self.loss(x)], 1)

    def factor(self) -> float:
        """What one step multiplies every position by: 1 − η a."""
        return 1.0 - self.params["lr"] * self.params["curvature"]

    def step(self) -> None:
        self.xs = descend(self.xs, self.params["lr"], self.params["curvature"], 1, backend=self.backend)
        if not np.all(np.abs(self.xs) < 1e12):
            self.diverged = True

    def observables(self) -> dict:
        return {"x": float(self.xs[0]), "loss": float(np.mean(self.loss(self.xs))), "cloud": self.xs}

    def work_per_step(self) -> float:
        return float(len(self.xs))

    def state(self) -> dict:
        return {"xs": self.xs}

    def measure_converges(self, run) -> str:
        """Measured from the recorded run: did the cloud's spread shrink?"""
        first, last = np.max(np.abs(run.arrays("cloud")[1][0])), np.max(np.abs(run.array("cloud")))
        return "converges" if np.isfinite(last) and last < first else "diverges"
