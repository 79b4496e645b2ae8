"""The challenge panel: choose a question, predict, lock in, watch, see predicted vs measured."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui, implot

from ..challenges import DEFAULT_CONFIDENCE, AnswerError, ChallengeRun
from ..manifest import Challenge
from .widgets import BAD, GOOD, MUTED, error_box, format_value


class ChallengePanel:
    """Prediction-first challenges for one level; results go to the progress store."""

    def __init__(self, host):
        self.host = host
        self.selected: str | None = None
        self.attempt: ChallengeRun | None = None
        self.choice = 0
        self.number = 0.0
        self.region = (0.0, 1.0)
        self.confidence = DEFAULT_CONFIDENCE
        self.error: str | None = None
        self.recorded = False
        self.visible = False  # the Challenges tab is showing (set by the host every frame)

    @property
    def playing(self) -> bool:
        """A challenge's simulation is running or revealed (the scene shows its run)."""
        return self.attempt is not None and self.attempt.runner is not None

    def discard(self) -> None:
        """Drop the current attempt and free its model's resources."""
        if self.attempt is not None and self.attempt.runner is not None:
            try:
                self.attempt.runner.model.release()
            except Exception:
                pass
        self.attempt = None

    def select(self, challenge: Challenge) -> None:
        self.selected = challenge.id
        self.discard()
        self.error = None
        self.choice = 0
        lo, hi = challenge.axis or (0.0, 1.0)
        self.region = (lo + 0.4 * (hi - lo), lo + 0.6 * (hi - lo))
        self.number = 0.0

    def close(self) -> None:
        self.discard()

    def lock(self, challenge: Challenge) -> None:
        answer = {"choice": lambda: challenge.choices[self.choice], "number": lambda: self.number,
                  "region": lambda: self.region}[challenge.kind]()
        attempt = ChallengeRun(self.host.entry, challenge, backend=self.host.backend)
        try:
            attempt.lock(answer, self.confidence)
        except (AnswerError, Exception) as exc:  # a bad prediction or a level that fails to start
            self.error = str(exc)
            return
        self.error = None
        self.discard()
        self.attempt = attempt
        self.recorded = False

    def advance(self, steps: int) -> None:
        """Step the challenge's run (called by the host each frame)."""
        if self.attempt is None or self.attempt.verdict is not None:
            return
        try:
            self.attempt.advance(steps)
        except Exception as exc:
            self.error = str(exc)
            self.discard()
            return
        if self.attempt.verdict is not None and not self.recorded:
            self.host.record(self.attempt.verdict)
            self.recorded = True

    def draw(self) -> None:
        manifest = self.host.manifest
        if not manifest.challenges:
            imgui.text_colored(MUTED, "This level has no challenges yet.")
            return
        records = self.host.progress_records()
        for challenge in manifest.challenges.values():
            rec = records.get(challenge.id)
            mark = "[solved] " if rec and rec.solved else ("[tried] " if rec else "")
            label = f"{mark}{challenge.id.replace('_', ' ')}##pick"
            if imgui.selectable(label, self.selected == challenge.id)[0] and not self.playing:
                self.select(challenge)
            if rec and imgui.is_item_hovered():
                imgui.set_tooltip(f"{rec.attempts} attempt(s), best score {rec.best_score:.0f}")
        imgui.separator()
        if self.selected is None:
            imgui.text_wrapped("Pick a challenge. You predict first, lock it in, then the simulation decides.")
            return
        challenge = manifest.challenges[self.selected]
        params = manifest.resolve_params(challenge.set)
        imgui.push_text_wrap_pos(0.0)
        imgui.text(challenge.format_question(params))
        imgui.pop_text_wrap_pos()
        if challenge.set:
            imgui.text_colored(MUTED, "with " + ", ".join(f"{k} = {v}" for k, v in challenge.set.items()))
        if self.attempt is None:
            self._predict(challenge)
        else:
            self._watch(challenge)
        if self.error:
            error_box("Problem", self.error)

    def _predict(self, challenge: Challenge) -> None:
        if challenge.kind == "choice":
            for i, option in enumerate(challenge.choices):
                if imgui.radio_button(option, self.choice == i):
                    self.choice = i
        elif challenge.kind == "number":
            _, self.number = imgui.input_double(f"prediction {challenge.unit}", self.number, 0.0, 0.0, "%.4g")
        else:
            lo, hi = self.region
            _, (lo, hi) = imgui.input_float2("region (low, high)", [lo, hi], "%.4g")
            self.region = (min(lo, hi), max(lo, hi))
            self._region_plot(challenge)
        _, pct = imgui.slider_int("confidence", int(round(self.confidence * 100)), 50, 100, "%d%% sure")
        self.confidence = pct / 100.0
        if imgui.button("Lock in prediction"):
            self.lock(challenge)

    def _region_plot(self, challenge: Challenge) -> None:
        lo_axis, hi_axis = challenge.axis
        if implot.begin_plot("##region", imgui.ImVec2(-1, 90), implot.Flags_.no_legend.value):
            implot.setup_axes(challenge.unit or "value", "", 0, implot.AxisFlags_.no_decorations.value)
            implot.setup_axes_limits(lo_axis, hi_axis, 0, 1, imgui.Cond_.always.value)
            lo, hi = self.region
            _, lo, *_ = implot.drag_line_x(1, lo, imgui.ImVec4(1, 0.8, 0.2, 1), 2.0)
            _, hi, *_ = implot.drag_line_x(2, hi, imgui.ImVec4(1, 0.8, 0.2, 1), 2.0)
            self.region = (min(lo, hi), max(lo, hi))
            implot.plot_shaded("region", np.array(self.region), np.array([1.0, 1.0]))
            implot.end_plot()

    def _watch(self, challenge: Challenge) -> None:
        attempt = self.attempt
        prediction = attempt.prediction
        shown = f"[{prediction[0]:.4g}, {prediction[1]:.4g}]" if isinstance(prediction, tuple) else (
            f"{prediction:.4g}" if isinstance(prediction, float) else str(prediction))
        imgui.text(f"Your prediction: {shown} ({attempt.confidence:.0%} sure)")
        verdict = attempt.verdict
        if verdict is None:
            imgui.progress_bar(attempt.progress, imgui.ImVec2(-1, 0), f"running {attempt.runner.steps} / {challenge.steps}")
            return
        measured = verdict.measured if isinstance(verdict.measured, str) else format_value(verdict.measured, challenge.unit)
        imgui.text(f"Measured:        {measured}")
        imgui.text_colored(GOOD if verdict.correct else BAD, f"{'Right' if verdict.correct else 'Not this time'}"
                           f"  score {verdict.score:.0f} / 100")
        if challenge.kind != "choice":
            self._compare_plot(challenge, verdict)
        imgui.push_text_wrap_pos(0.0)
        if verdict.hint:
            imgui.text_colored(imgui.ImVec4(1.0, 0.85, 0.4, 1.0), verdict.hint)
        if verdict.explain:
            imgui.text_wrapped(verdict.explain)
        imgui.pop_text_wrap_pos()
        if imgui.button("Try again"):
            self.close()
        imgui.same_line()
        if imgui.button("Back to the sandbox"):
            self.selected = None
            self.close()

    def _compare_plot(self, challenge: Challenge, verdict) -> None:
        """Predicted against measured: the run's plotted observable with both marked."""
        if not implot.begin_plot("predicted vs measured", imgui.ImVec2(-1, 160)):
            return
        implot.setup_axes("step", challenge.unit, implot.AxisFlags_.auto_fit.value, implot.AxisFlags_.auto_fit.value)
        implot.setup_legend(implot.Location_.south_east.value)
        span = np.array([0.0, float(max(self.attempt.runner.steps, 1))])
        if challenge.plot:
            ys = self.attempt.runner.series(challenge.plot)
            implot.plot_line(challenge.plot, np.arange(len(ys), dtype=np.float64), np.where(np.isfinite(ys), ys, np.nan))
        # horizontal segments over the run (unlike infinite lines, auto-fit keeps them in view)
        if isinstance(verdict.prediction, tuple):
            lo, hi = verdict.prediction
            implot.plot_shaded("your region", span, np.array([lo, lo]), np.array([hi, hi]), implot.Spec(fill_alpha=0.3))
        else:
            implot.plot_line("your prediction", span, np.full(2, float(verdict.prediction)), implot.Spec(line_weight=2.0))
        if np.isfinite(verdict.measured):
            implot.plot_line("measured", span, np.full(2, float(verdict.measured)), implot.Spec(line_weight=2.0))
        implot.end_plot()
