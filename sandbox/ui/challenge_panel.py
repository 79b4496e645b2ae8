"""The challenge panel: choose a question, predict, lock in, watch, see predicted vs measured.

Predict first means it: no answer is filled in for the learner, the rule that judges it and the
way it is scored are on screen before lock-in, and (with the views' ``hide_answers``) nothing
shown gives the answer away until the run has decided.
"""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from ..challenges import DEFAULT_CONFIDENCE, AnswerError, ChallengeRun, parse_answer
from ..manifest import Challenge
from .widgets import ACCENT, BAD, GOOD, MUTED, error_box, format_value

PREDICTION = imgui.ImVec4(1.0, 0.8, 0.2, 1.0)  # the learner's prediction, wherever it is drawn


def rule_text(challenge: Challenge) -> str:
    """How a prediction is judged, in words, shown before lock-in."""
    unit = f" {challenge.unit}" if challenge.unit else ""
    if challenge.kind == "choice":
        return "Pick one answer: it is right if it is what the run shows."
    if challenge.kind == "number":
        if challenge.relative:
            return f"Type a number: it is right within ±{100 * challenge.tolerance:.3g}% of what the run measures."
        return f"Type a number: it is right within ±{challenge.tolerance:.4g}{unit} of what the run measures."
    wide = f", and at most {challenge.tolerance:.4g}{unit} wide" if challenge.tolerance > 0 else ""
    return f"Mark a range: it is right if the measured value falls inside it{wide}."


SCORING_TEXT = ("Score: being sure and right earns 100, sure and wrong 0; 50% sure earns 75 either way. "
                "Say honestly how sure you are: that scores best.")


class ChallengePanel:
    """Prediction-first challenges for one level; results go to the progress store."""

    def __init__(self, host):
        self.host = host
        self.selected: str | None = None
        self.attempt: ChallengeRun | None = None
        self.choice: int | None = None  # nothing is chosen for the learner
        self.number_text = ""
        self.region: tuple[float, float] | None = None
        self.confidence = DEFAULT_CONFIDENCE
        self.error: str | None = None
        self.recorded = False
        self.visible = False  # the Challenges tab is showing (set by the host every frame)

    @property
    def playing(self) -> bool:
        """A challenge's simulation is running or revealed (the scene shows its run)."""
        return self.attempt is not None and self.attempt.runner is not None

    @property
    def running(self) -> bool:
        """A challenge's simulation is still running (no verdict yet)."""
        return self.playing and self.attempt.verdict is None

    def discard(self) -> None:
        """Drop the current attempt and free its model's resources."""
        if self.attempt is not None and self.attempt.runner is not None:
            try:
                self.attempt.runner.model.release()
            except Exception:
                pass
        self.attempt = None

    def select(self, challenge: Challenge) -> None:
        """Open ``challenge`` with an empty prediction."""
        self.selected = challenge.id
        self.discard()
        self.error = None
        self.choice = None
        self.number_text = ""
        self.region = None

    def close(self) -> None:
        self.discard()

    def answer(self, challenge: Challenge):
        """The learner's prediction so far, or None while it is incomplete."""
        if challenge.kind == "choice":
            return None if self.choice is None else challenge.choices[self.choice]
        if challenge.kind == "number":
            try:
                return parse_answer(challenge, self.number_text.strip())
            except AnswerError:
                return None
        return self.region

    def lock(self, challenge: Challenge, answer=None) -> bool:
        """Lock ``answer`` (default: what the learner entered) in and start the challenge's run.
        Returns False, with the reason in ``error``, if there is no valid prediction yet."""
        answer = self.answer(challenge) if answer is None else answer
        if answer is None:
            self.error = "Make your prediction first."
            return False
        attempt = ChallengeRun(self.host.entry, challenge, backend=self.host.backend, sandbox=self.sandbox_settings())
        try:
            attempt.lock(answer, self.confidence)
        except Exception as exc:  # a bad prediction or a level that fails to start
            self.error = str(exc)
            return False
        self.error = None
        self.discard()
        self.attempt = attempt
        self.recorded = False
        self.host.paused = False  # the run starts at once, whatever the sandbox was doing
        return True

    def sandbox_settings(self) -> dict | None:
        """The sandbox's current settings (a ``from_sandbox`` challenge starts from them)."""
        runner = self.host.runner
        return dict(runner.params) if runner is not None else None

    def settings(self, challenge: Challenge) -> dict:
        """The parameters the challenge's question and run use."""
        base = self.sandbox_settings() if challenge.from_sandbox else None
        return self.host.manifest.resolve_params({**(base or {}), **challenge.set})

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

    def next_challenge(self) -> Challenge | None:
        """The challenge after the open one: the next unsolved, else simply the next."""
        challenges = list(self.host.manifest.challenges.values())
        ids = [c.id for c in challenges]
        start = ids.index(self.selected) + 1 if self.selected in ids else 0
        ordered = challenges[start:] + challenges[:start]
        records = self.host.progress_records()
        unsolved = [c for c in ordered if c.id != self.selected and not (records.get(c.id) and records[c.id].solved)]
        others = [c for c in ordered if c.id != self.selected]
        return (unsolved or others or [None])[0]

    # -- drawing -----------------------------------------------------------------------------
    def draw(self) -> None:
        manifest = self.host.manifest
        if not manifest.challenges:
            imgui.text_colored(MUTED, "This level has no challenges yet.")
            return
        records = self.host.progress_records()
        for challenge in manifest.challenges.values():
            rec = records.get(challenge.id)
            mark = "solved · " if rec and rec.solved else ("tried · " if rec else "")
            clicked = imgui.selectable(f"{mark}{challenge.title}##pick-{challenge.id}", self.selected == challenge.id)[0]
            self.host.app.mark(f"challenge:{challenge.id}")
            if clicked and not self.running:  # a verdict in: another challenge may be opened
                self.select(challenge)
            if imgui.is_item_hovered():
                tip = challenge.format_question(self.settings(challenge))
                if rec:
                    tip += f"\n\n{rec.attempts} attempt(s), best score {rec.best_score:.0f}"
                imgui.set_tooltip(tip)
        imgui.separator()
        if self.selected is None:
            imgui.text_wrapped("Pick a challenge. You predict first, lock it in, then the simulation decides.")
            return
        challenge = manifest.challenges[self.selected]
        params = self.attempt.params if self.attempt is not None and self.attempt.params else self.settings(challenge)
        imgui.push_text_wrap_pos(0.0)
        imgui.text(challenge.format_question(params))
        if challenge.set:
            settings = ", ".join(f"{manifest.params[k].label if k in manifest.params else k} = {_short(v)}"
                                 for k, v in challenge.set.items())
            imgui.text_colored(MUTED, f"The run: {settings}" + (", the rest as you set them on Play."
                                                               if challenge.from_sandbox else "."))
        elif challenge.from_sandbox:
            imgui.text_colored(MUTED, "The run: your settings on the Play tab.")
        imgui.pop_text_wrap_pos()
        if self.attempt is None:
            self._predict(challenge)
        else:
            self._watch(challenge)
        if self.error:
            error_box("", self.error)

    def _predict(self, challenge: Challenge) -> None:
        imgui.spacing()
        if challenge.kind == "choice":
            for i, option in enumerate(challenge.choices):
                if imgui.radio_button(f"{option}##choice-{i}", self.choice == i):
                    self.choice = i
                self.host.app.mark(f"choice:{i}")
        elif challenge.kind == "number":
            imgui.set_next_item_width(-1)
            hint = f"your prediction{f' ({challenge.unit})' if challenge.unit else ''}"
            _, self.number_text = imgui.input_text_with_hint("##number", hint, self.number_text)
            if self.number_text.strip() and self.answer(challenge) is None:
                imgui.text_colored(BAD, "Type a number, e.g. 12 or 0.05 or 3e-4.")
        else:
            self._region_input(challenge)
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(MUTED, rule_text(challenge))
        imgui.pop_text_wrap_pos()
        imgui.set_next_item_width(-1)
        _, pct = imgui.slider_int("##confidence", int(round(self.confidence * 100)), 50, 100, "%d%% sure",
                                  imgui.SliderFlags_.always_clamp.value)
        self.confidence = pct / 100.0
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(MUTED, SCORING_TEXT)
        imgui.pop_text_wrap_pos()
        ready = self.answer(challenge) is not None
        imgui.begin_disabled(not ready)
        if imgui.button("Lock in my prediction"):
            self.lock(challenge)
        imgui.end_disabled()
        self.host.app.mark("lock-in")
        if not ready:
            imgui.same_line()
            imgui.text_colored(MUTED, "first make a prediction")

    def _region_input(self, challenge: Challenge) -> None:
        """A range on the challenge's axis: click the strip to place one, drag its edges, or type."""
        lo_axis, hi_axis = challenge.axis or (0.0, 1.0)
        if implot.begin_plot("##region", imgui.ImVec2(-1, 70 * self.host.app.imgui.scale),
                             implot.Flags_.no_legend.value | implot.Flags_.no_menus.value):
            implot.setup_axes(challenge.unit or "value", "", 0, implot.AxisFlags_.no_decorations.value)
            implot.setup_axes_limits(lo_axis, hi_axis, 0, 1, imgui.Cond_.always.value)
            if self.region is None:
                if implot.is_plot_hovered() and imgui.is_mouse_clicked(0):
                    at = implot.get_plot_mouse_pos().x
                    half = 0.1 * (hi_axis - lo_axis)
                    self.region = (max(lo_axis, at - half), min(hi_axis, at + half))
            else:
                lo, hi = self.region
                _, lo, *_ = implot.drag_line_x(1, lo, PREDICTION, 2.0)
                _, hi, *_ = implot.drag_line_x(2, hi, PREDICTION, 2.0)
                self.region = (min(lo, hi), max(lo, hi))
                implot.plot_shaded("region", np.array(self.region), np.array([1.0, 1.0]))
            implot.end_plot()
        if self.region is None:
            imgui.text_colored(MUTED, "Click the strip where you expect the value, then drag the edges.")
            return
        lo, hi = self.region
        imgui.set_next_item_width(-1)
        _, (lo, hi) = imgui.input_float2("##region-values", [lo, hi], "%.4g")
        if math.isfinite(lo) and math.isfinite(hi):
            self.region = (min(lo, hi), max(lo, hi))

    def _watch(self, challenge: Challenge) -> None:
        attempt = self.attempt
        imgui.text(f"Your prediction: {_shown(attempt.prediction, challenge.unit)} ({attempt.confidence:.0%} sure)")
        verdict = attempt.verdict
        if verdict is None:
            paused = self.host.paused
            label = f"{'paused' if paused else 'running'}: step {attempt.runner.steps} of {challenge.steps}"
            imgui.progress_bar(attempt.progress, imgui.ImVec2(-1, 0), label)
            if paused and imgui.button("Play (Space)"):
                self.host.paused = False
            return
        if isinstance(verdict.measured, tuple):  # a tie: each is right
            measured = " and ".join(verdict.measured) + " (a tie)"
        else:
            measured = verdict.measured if isinstance(verdict.measured, str) else format_value(verdict.measured, challenge.unit)
        imgui.text(f"Measured: {measured}")
        imgui.text_colored(GOOD if verdict.correct else BAD, f"{'Right' if verdict.correct else 'Not this time'}"
                           f"  ·  score {verdict.score:.0f} / 100")
        if challenge.kind != "choice":
            self._compare(challenge, verdict)
        imgui.push_text_wrap_pos(0.0)
        if verdict.hint:
            imgui.text_colored(PREDICTION, verdict.hint)
        if verdict.explain:
            imgui.text_wrapped(verdict.explain)
        imgui.pop_text_wrap_pos()
        if not verdict.correct and challenge.repair:
            self._repair(challenge.repair)
        following = self.next_challenge()
        if following is not None and imgui.button("Next challenge"):
            self.select(following)
            return
        self.host.app.mark("next-challenge")
        imgui.same_line()
        if imgui.button("Try again"):
            self.select(challenge)
            return
        imgui.same_line()
        if imgui.button("Back to the sandbox"):
            self.selected = None
            self.close()

    def _repair(self, repair: str) -> None:
        """After a wrong answer: the level or claim the hint rests on, one click away."""
        app = self.host.app
        level_id, _, claim_id = repair.partition(":")
        entry = app.registry.entries.get(level_id)
        if entry is None or entry.manifest is None:
            imgui.text_colored(MUTED, f"It rests on the level {level_id}, which is not installed.")
            return
        manifest = entry.manifest
        claim = manifest.claims.get(claim_id)
        here = level_id == self.host.entry.id
        if claim is not None:
            what = f"the claim \"{_clip(claim.statement)}\"" + ("" if here else f" of {manifest.title}")
        else:
            what = manifest.title
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(ACCENT, f"To repair: {what}")
        imgui.pop_text_wrap_pos()
        if imgui.button("Read the claim" if claim is not None else f"Open {manifest.title}"):
            app.go_to(level_id, "About" if claim is not None else None)
        app.mark("repair")

    def _compare(self, challenge: Challenge, verdict) -> None:
        """Predicted against measured on one number line: the measured value, the band that counts
        as right around it (a number) and the learner's prediction or range."""
        measured = float(verdict.measured)
        prediction = verdict.prediction
        marks = [measured, *(prediction if isinstance(prediction, tuple) else (prediction,))]
        band = None
        if challenge.kind == "number" and math.isfinite(measured):
            allowed = challenge.tolerance * (abs(measured) if challenge.relative else 1.0)
            band = (measured - allowed, measured + allowed)
            marks += band
        finite = [m for m in marks if math.isfinite(m)]
        if not finite:
            return
        lo, hi = min(finite), max(finite)
        pad = 0.15 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.1
        height = 4.5 * imgui.get_frame_height_with_spacing()  # the legend row, the strip, the ticks
        if not implot.begin_plot("##compare", imgui.ImVec2(-1, height), implot.Flags_.no_menus.value
                                 | implot.Flags_.no_box_select.value | implot.Flags_.no_mouse_text.value):
            return
        # the legend in a row above the strip: inside, it would cover the marks it names
        implot.setup_legend(implot.Location_.north.value,
                            implot.LegendFlags_.horizontal.value | implot.LegendFlags_.outside.value)
        implot.setup_axes("", "", 0, implot.AxisFlags_.no_decorations.value)
        implot.setup_axes_limits(lo - pad, hi + pad, 0, 1, imgui.Cond_.always.value)
        xs01 = np.array([0.0, 0.75])
        if band is not None:
            implot.plot_shaded("right within", np.array(band), np.zeros(2), np.full(2, 0.75),
                               implot.Spec(fill_alpha=0.25, fill_color=GOOD))
        if isinstance(prediction, tuple):
            implot.plot_shaded("your range", np.array(prediction), np.zeros(2), np.full(2, 0.75),
                               implot.Spec(fill_alpha=0.35, fill_color=PREDICTION))
        else:
            implot.plot_line("your prediction", np.full(2, float(prediction)), xs01,
                             implot.Spec(line_weight=3.0, line_color=PREDICTION))
        if math.isfinite(measured):
            implot.plot_line("measured", np.full(2, measured), xs01, implot.Spec(line_weight=3.0, line_color=GOOD))
        implot.end_plot()


def _clip(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _short(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _shown(prediction, unit: str) -> str:
    if isinstance(prediction, tuple):
        return f"between {prediction[0]:.4g} and {prediction[1]:.4g}{f' {unit}' if unit else ''}"
    if isinstance(prediction, float):
        return format_value(prediction, unit)
    return str(prediction)
