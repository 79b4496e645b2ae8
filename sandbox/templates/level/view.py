"""The view of the $id level: the parabola, the ball and its recent steps."""

import numpy as np

from sandbox.gfx.camera import Camera2D
from sandbox.view import View


class $View(View):
    camera = "2d"
    math = [(r"x_{t+1} = x_t - \eta\, a\, x_t = (1 - \eta a)\, x_t", "one gradient step"),
            (r"\text{converges} \iff \eta a < 2", "the stability rule")]

    def make_camera(self):
        return Camera2D(center=(0.0, 2.0), half_height=3.0)

    def scene(self, frame) -> None:
        model = self.model
        xs = np.linspace(-3, 3, 200)
        self.painter.lines(frame.mvp, np.stack([xs, model.loss(xs)], 1), (0.5, 0.7, 1.0, 1.0), 2.5, frame.viewport)
        trail = np.asarray(model.trail[-20:])
        trail = trail[np.isfinite(trail) & (np.abs(trail) < 1e3)]
        if len(trail):
            points = np.stack([trail, model.loss(trail)], 1)
            self.painter.lines(frame.mvp, points, (1.0, 0.8, 0.3, 0.6), 1.5, frame.viewport)
            self.painter.points(frame.mvp, points[-1:], (1.0, 0.5, 0.2, 1.0), 16.0)
