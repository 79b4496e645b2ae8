"""Gradient descent on L(x) = a x^2 / 2: the model of the $id level."""

import numpy as np

from sandbox.model import Model


class $Class(Model):
    """State: the position ``x``; ``trail`` keeps the recent positions for the view."""

    def reset(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.x = float(rng.uniform(1.0, 2.0))
        self.trail = [self.x]

    def loss(self, x):
        return 0.5 * self.params["curvature"] * x * x

    def step(self) -> None:
        gradient = self.params["curvature"] * self.x
        self.x -= self.params["lr"] * gradient
        self.trail = (self.trail + [self.x])[-50:]
        if not np.isfinite(self.x) or abs(self.x) > 1e12:
            self.diverged = True

    def observables(self) -> dict:
        return {"x": self.x, "loss": self.loss(self.x)}

    def state(self) -> dict:
        return {"x": np.array([self.x])}

    def measure_converges(self, run) -> str:
        """Measured: did |x| shrink over the challenge's run?"""
        xs = np.abs(run.series("x"))
        return "converges" if np.isfinite(xs[-1]) and xs[-1] < xs[0] else "diverges"
