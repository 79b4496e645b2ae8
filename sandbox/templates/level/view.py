"""The view of the $id level: the parabola, the cloud of balls and ball 0's recent steps."""

import numpy as np
from imgui_bundle import imgui

from sandbox.kit import PALETTE, finite_rows
from sandbox.view import View

CURVE = PALETTE.sky
BALL = PALETTE.orange
CLOUD = PALETTE.yellow.alpha(0.8)
TRAIL = 20  # ball 0's recent positions


class $View(View):
    camera = "2d"

    def on_reset(self) -> None:
        self.cam.fit(-3.0, 3.0, -0.3, 5.0)

    def scene(self, frame) -> None:
        model, paint, mvp, vp = self.model, self.painter, frame.mvp, frame.viewport
        paint.lines(mvp, model.parabola(), CURVE, 2.5, vp)
        cloud = np.asarray(self.run.array("cloud"))
        balls = finite_rows(np.stack([cloud, model.loss(cloud)], 1))
        paint.points(mvp, balls, CLOUD, 9.0)
        trail = self.run.series("x")[-TRAIL:]
        path = finite_rows(np.stack([trail, model.loss(trail)], 1))
        if len(path):
            paint.lines(mvp, path, BALL.alpha(0.6), 1.5, vp)
            paint.points(mvp, path[-1:], BALL, 16.0)

    def overlay(self, draw_list, frame) -> None:
        x = self.run.series("x")[-1]
        frame.label(draw_list, (x, float(self.model.loss(x))), "ball 0", BALL)
        if not self.challenge.hide_answers:  # the factor answers "does it converge?"
            frame.caption(draw_list, [f"each step multiplies x by 1 − ηa = {self.model.factor():.3g}"])

    def panel(self) -> None:
        imgui.separator()
        if self.challenge.hide_answers:
            imgui.text_colored(PALETTE.muted, "Predict first: the step factor shows after the reveal.")
            return
        factor = self.model.factor()
        stable = abs(factor) < 1
        imgui.text_colored(PALETTE.good if stable else PALETTE.bad,
                           f"|1 − ηa| = {abs(factor):.3g}: {'shrinks' if stable else 'grows'} every step")
        if imgui.button("Run 30 steps and stop"):
            self.transport.run_until(self.run.steps + 30)
