"""The Concept Projector, drawn. Left: the joystick (gender left-right, tone up-down) whose knob
sets α for each concept; drag it, or use the arrow keys or a gamepad's left stick. Right, above:
the words the model can say, placed by the cosines of their readout vectors with the two concept
directions at the last layer, and the steered stream at the prompt's last position among them,
with the three words it predicts next. Right, below: the text the steered model writes, with the
tone words and the people coloured. The plots: logit(queen) − logit(king) against α (and its
tangent at 0), the text's fluency against the tone α at every layer, and the training loss."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.camera import Camera2D
from sandbox.kit import (training_controls, 
    PALETTE,
    Plot,
    first_fit,
    hline,
    line,
    plot_strip,
    progress_bar,
    vlines,
)
from sandbox.view import Pane, View

from . import lm, world
from .model import FLUENT, GENDER_ALPHAS, TONE_ALPHAS, TONE_CURVE_ALPHAS

STICK_SPEED = 0.8  # joystick units a second under the arrow keys or a full stick
SEND_INTERVAL_S = 0.05  # a moving knob is sent to the model at most this often
MAX_GENDER, MAX_TONE = 3.0, 4.0  # α at the joystick's edges (the parameters' ranges)
STICK_SHARE = 0.36  # of the scene's width
TEXT_SHARE = 0.36  # of the right side's height
FEMALE = {n[0] for n in world.NOUNS if n[1] == 1} | {"she"}
MALE = {n[0] for n in world.NOUNS if n[1] == 0} | {"he"}
ANGRY = set(world.VERBS[1] + world.ADVERBS[1])
CALM = set(world.VERBS[0] + world.ADVERBS[0])
LAYER_COLORS = (PALETTE.sky, PALETTE.green, PALETTE.orange)
LABELLED_TONE = ("shouted", "smiled")  # the map names one word of each tone


def word_color(word: str):
    """The colour a word is written in: its person's gender, its tone, or plain."""
    if word in FEMALE:
        return PALETTE.purple
    if word in MALE:
        return PALETTE.blue
    if word in ANGRY:
        return PALETTE.vermillion
    if word in CALM:
        return PALETTE.green
    return PALETTE.text


class ConceptView(View):
    controls = (("drag the joystick's knob (left pane)", "sets α: right adds the gender direction (female), up adds tone (angry)"),
                ("arrow keys / gamepad left stick", "move the knob"),
                ("the panel's Layer choice", "where α·v enters the residual stream"))

    def __init__(self, context):
        super().__init__(context)
        self.map_cam, self.text_cam = Camera2D(), Camera2D()
        self._dragging = False
        self._knob: tuple[float, float] | None = None  # the knob before the model has it
        self._sent_at = -math.inf
        self._fitted: dict[str, tuple] = {}

    def panes(self):
        s = STICK_SHARE
        return [Pane("stick", self.cam, (0.0, 0.0, s, 1.0)),
                Pane("map", self.map_cam, (s, 0.0, 1.0 - s, 1.0 - TEXT_SHARE)),
                Pane("text", self.text_cam, (s, 1.0 - TEXT_SHARE, 1.0 - s, TEXT_SHARE))]

    def on_reset(self) -> None:
        self._dragging, self._knob = False, None
        self._fitted.clear()

    # -- what is hidden while a prediction is open ---------------------------------------------------

    def _hiding(self, measure: str | None = None) -> bool:
        """Whether what answers the open challenge (measured by ``measure``; None: any of them)
        must be hidden now. The steered text, the next word and the steered point answer both."""
        challenge = self.challenge.open
        return self.challenge.hide_answers and challenge is not None and measure in (None, challenge.measure)

    # -- the joystick --------------------------------------------------------------------------------

    def _preview(self) -> dict | None:
        """While a prediction is being made: the parameters of the challenge's run (the knob and
        the layer show the question's setting, not the sandbox's)."""
        challenge = self.challenge.open
        if not self.challenge.choosing or challenge is None:
            return None
        return self.context.manifest.resolve_params(challenge.set)

    def knob(self) -> tuple[float, float]:
        """The knob in joystick units (−1..1 each way)."""
        if self._knob is not None:
            return self._knob
        params = self._preview() or self.params
        return (float(params["alpha_gender"]) / MAX_GENDER, float(params["alpha_tone"]) / MAX_TONE)

    def _move(self, x: float, y: float) -> None:
        x, y = float(np.clip(x, -1.0, 1.0)), float(np.clip(y, -1.0, 1.0))
        self._knob = (x, y)
        self._send()

    def _send(self, force: bool = False) -> None:
        if self._knob is None or not (force or self.context.time - self._sent_at >= SEND_INTERVAL_S):
            return
        x, y = self._knob
        self.context.set_param("alpha_gender", round(x * MAX_GENDER / 0.05) * 0.05)
        self.context.set_param("alpha_tone", round(y * MAX_TONE / 0.05) * 0.05)
        self._sent_at, self._knob = self.context.time, None

    def _fit(self, frame) -> None:
        key = (round(frame.size[0]), round(frame.size[1]), imgui.get_font_size(), self.model._dirs_at, id(self.model.run))
        if self._fitted.get(frame.pane) == key:
            return
        self._fitted[frame.pane] = key
        lines = 3.2 * imgui.get_text_line_height() / max(frame.size[1], 1.0)
        if frame.pane == "stick":
            # a little room around the square, more above it for the caption
            frame.camera.fit(-1.3, 1.3, -1.3, 1.3 + 2.6 * lines, 0.02, follow=True)
        elif frame.pane == "map":  # the words' box, with room for their labels and the caption
            points = self.model.word_points()[self._map_words()]
            x0, y0 = np.minimum(points.min(axis=0), -0.2) - 0.08
            x1, y1 = np.maximum(points.max(axis=0), 0.2) + 0.08
            pad = 0.35 * (x1 - x0)
            frame.camera.fit(x0 - pad, x1 + pad, y0 - 0.1 * (y1 - y0), y1 + (2.5 * lines + 0.1) * (y1 - y0), 0.02,
                             follow=True)
        else:
            frame.camera.fit(0.0, 1.0, 0.0, 1.0, 0.0, follow=True)

    def handle_input(self, frame) -> bool:
        """The knob follows a drag in the joystick pane; the arrow keys and the left stick move it
        from any pane. The panes themselves stay put."""
        self._fit(frame)
        inp = frame.input
        locked = self.challenge.locked
        dx = (("right" in inp.keys) - ("left" in inp.keys)) + inp.stick_left[0]
        dy = (("up" in inp.keys) - ("down" in inp.keys)) - inp.stick_left[1]
        if (dx or dy) and not locked:
            x, y = self.knob()
            self._move(x + dx * STICK_SPEED * inp.dt, y + dy * STICK_SPEED * inp.dt)
        if frame.pane == "stick" and not locked:
            if inp.left and inp.hovered and (inp.clicked or self._dragging):
                self._dragging = True
                point = frame.mouse_world()
                if point is not None and np.all(np.isfinite(point)):
                    self._move(float(point[0]), float(point[1]))
            elif self._dragging:
                self._dragging = False
                self._send(force=True)
        elif self._knob is not None and not (dx or dy):
            self._send(force=True)
        return True

    # -- the scene -----------------------------------------------------------------------------------

    def scene(self, frame) -> None:
        self._fit(frame)
        if frame.pane == "stick":
            self._stick_scene(frame)
        elif frame.pane == "map":
            self._map_scene(frame)

    def _stick_scene(self, frame) -> None:
        square = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=np.float64)
        self.lines(frame, square, PALETTE.grid, 1.5, strip=True)
        self.lines(frame, np.array([[-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.float64), PALETTE.grid.alpha(0.5), 1.0)
        ring = np.stack([np.cos(np.linspace(0, 2 * np.pi, 65)), np.sin(np.linspace(0, 2 * np.pi, 65))], axis=1)
        self.lines(frame, 0.5 * ring, PALETTE.grid.alpha(0.35), 1.0, strip=True)
        x, y = self.knob()
        self.lines(frame, np.array([[0.0, 0.0], [x, y]]), PALETTE.yellow, 3.0)
        self.dots(frame, np.array([[x, y]]), PALETTE.yellow, 22.0)

    def _map_scene(self, frame) -> None:
        model = self.model
        points = model.word_points()
        self.lines(frame, np.array([[-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.float64), PALETTE.grid.alpha(0.5), 1.0)
        shown = self._map_words()
        colors = {}
        for i in shown:
            colors.setdefault(str(word_color(world.WORDS[i])), (word_color(world.WORDS[i]), []))[1].append(points[i])
        for color, pts in colors.values():
            self.dots(frame, np.array(pts), color, 9.0)
        if self._hiding():
            return
        here = model.steered_point()
        probs = model.readout()["probs"]
        for i in np.argsort(probs)[::-1][:3]:
            self.lines(frame, np.array([here, points[i]]), PALETTE.yellow.alpha(0.25 + 0.7 * float(probs[i])), 2.0)
        self.dots(frame, here[None], PALETTE.yellow, 16.0)

    @staticmethod
    def _map_words() -> list[int]:
        """The words the map shows: the people, the pronouns and the tone words."""
        names = [n[0] for n in world.NOUNS] + list(world.PRONOUNS) + list(world.VERBS[0] + world.VERBS[1]) \
            + list(world.ADVERBS[0] + world.ADVERBS[1])
        return [world.INDEX[w] for w in names]

    # -- text over the scene -------------------------------------------------------------------------

    def overlay(self, draw_list, frame) -> None:
        if frame.pane == "stick":
            self._stick_overlay(draw_list, frame)
        elif frame.pane == "map":
            self._map_overlay(draw_list, frame)
        else:
            self._text_overlay(draw_list, frame)

    def _stick_overlay(self, draw_list, frame) -> None:
        room = frame.size[0] - 24.0
        preview = self._preview()
        params = preview or self.params
        ag, at, layer = float(params["alpha_gender"]), float(params["alpha_tone"]), params["layer"]
        frame.caption(draw_list, [
            (first_fit([f"the question's run: layer {layer}", f"question: layer {layer}", f"layer {layer}"], room)
             if preview else first_fit([f"steer at layer {layer}: α·v", f"layer {layer}"], room), PALETTE.text),
            (first_fit([f"α gender {ag:+.2f}   α tone {at:+.2f}", f"{ag:+.1f}, {at:+.1f}"], room), PALETTE.yellow)])
        # the four direction words inside the square, at its edges
        line_h = imgui.get_text_line_height()
        frame.labels(draw_list, [((1.0, 0.0), "female →", PALETTE.purple, 3,
                                  (-imgui.calc_text_size("female →").x - 6, 4)),
                                 ((-1.0, 0.0), "← male", PALETTE.blue, 3, (6, 4)),
                                 ((0.0, 1.0), "angry ↑", PALETTE.vermillion, 3, (6, 6)),
                                 ((0.0, -1.0), "calm ↓", PALETTE.green, 3, (6, -line_h - 8))])
        if not self.challenge.locked and abs(ag) < 1e-9 and abs(at) < 1e-9 and not self._dragging:
            frame.labels(draw_list, [((0.0, 0.0), "drag me", PALETTE.yellow, 2)])

    def _map_overlay(self, draw_list, frame) -> None:
        model = self.model
        room = frame.size[0] - 24.0
        frame.caption(draw_list, [
            (first_fit(["the words, by their cosines with the two directions (last layer)",
                        "words by cosine with gender (→) and tone (↑)", "words: gender →, tone ↑"], room), PALETTE.text),
            (first_fit(["hidden until you lock in", "hidden"], room) if self._hiding() else
             first_fit(["yellow: the steered stream after '... a book . the', and its next words",
                        "yellow: the steered stream", "yellow: steered"], room), PALETTE.yellow)])
        points = model.word_points()
        items = []
        probs = None if self._hiding() else model.readout()["probs"]
        top = set() if probs is None else set(np.argsort(probs)[::-1][:3].tolist())
        # the people and the three predicted words by name; of the tone words one of each tone,
        # the rest are dots of their colour (labels cost time and room)
        named = {world.INDEX[n[0]] for n in world.NOUNS} | {world.INDEX[w] for w in LABELLED_TONE} | top
        for i in self._map_words():
            if i not in named:
                continue
            word = world.WORDS[i]
            text = f"{word} {probs[i]:.0%}" if i in top else word
            items.append((points[i], text, word_color(word), 3 if i in top else (2 if word in ("king", "queen") else 1)))
        frame.labels(draw_list, items)

    def _text_overlay(self, draw_list, frame) -> None:
        """The steered model's story, word by word, wrapped to the pane."""
        if self._hiding():
            frame.caption(draw_list, [(first_fit(["the steered text shows once you have locked in", "text hidden"],
                                                 frame.size[0] - 24.0), PALETTE.muted)])
            return
        tokens = self.model.text()
        prompt_len = len(world.encode(lm.NAME_PROMPT))
        width, height = frame.size
        x0, y = 12.0, 8.0
        title = first_fit(["What the steered model writes (greedy), after the grey prompt:", "The steered model writes:"],
                          width - 24.0)
        frame.text(draw_list, (x0, y), title, PALETTE.muted)
        line_h = imgui.get_text_line_height() + 4.0
        y += line_h + 4.0
        x = x0
        space = imgui.calc_text_size(" ").x
        for k, t in enumerate(tokens):
            word = world.WORDS[int(t)]
            w = imgui.calc_text_size(word).x
            if x + w > width - 12.0 and x > x0:
                x, y = x0, y + line_h
            if y + line_h > height:
                break
            color = PALETTE.muted if k < prompt_len else word_color(word)
            draw_list.add_text(imgui.ImVec2(frame.origin[0] + x, frame.origin[1] + y), color.u32, word)
            x += w + space

    # -- panel ---------------------------------------------------------------------------------------

    def panel(self) -> None:
        model = self.model
        imgui.push_text_wrap_pos(0.0)
        imgui.separator()
        if model.loaded:
            shown = (1.0, f"stored model: {model.run.step_count} steps")
        else:
            shown = (model.progress, f"step {model.run.step_count} of {model.budget}")
        with training_controls(self, *shown, fast_forward=False):
            imgui.same_line()
            if imgui.button("Centre the stick (α = 0)"):
                self._knob = (0.0, 0.0)
                self._send(force=True)
        sweep = model.sweep
        if not model.finished:
            imgui.text_colored(PALETTE.muted, "The fluency sweep starts when training ends.")
        elif np.isnan(sweep).any():
            done = int(np.isfinite(sweep).sum())
            progress_bar(done / sweep.size, f"fluency sweep: {done} of {sweep.size} texts")
        imgui.separator()
        if not self._hiding():
            r = model.readout()
            word = world.WORDS[int(np.argmax(r["probs"]))]
            imgui.text("Next word after the prompt:")
            imgui.same_line()
            imgui.text_colored(word_color(word), f"{word} ({r['probs'].max():.0%})")
            imgui.text(f"logit(queen) − logit(king) = {r['logit_diff']:+.2f}")
        imgui.separator()
        imgui.text(f"Analogies on the nouns' mean stream, layer {model.layer}:")
        for a, b, c, want, found in model.analogies():
            imgui.text(f"{a} − {b} + {c} →")
            imgui.same_line()
            imgui.text_colored(PALETTE.good if found == want else PALETTE.bad,
                               found if found == want else f"{found} (not {want})")
        imgui.pop_text_wrap_pos()

    # -- plots ---------------------------------------------------------------------------------------

    def plots(self) -> None:
        plot_strip(self.context, [
            Plot("logit differences against α", self._logit_plot, x_label="α",
                 x_limits=(float(GENDER_ALPHAS[0]), float(GENDER_ALPHAS[-1])), weight=1.3, min_width=12, priority=3),
            Plot("fluency against α tone", self._fluency_plot, x_label="α tone",
                 x_limits=(0.0, float(TONE_ALPHAS[-1])), y_limits=(0.0, 1.05), min_width=11, priority=2),
            Plot("training loss", self._loss_plot, y_label="nats", min_width=9, priority=1, legend=False)])

    def _logit_plot(self, run) -> None:
        hline(0.0, PALETTE.muted)
        if self._hiding("flip_alpha"):
            return
        model = self.model
        curve = model.gender_curve()
        line("queen−king", GENDER_ALPHAS, curve, PALETTE.purple)
        zero = int(np.argmin(np.abs(GENDER_ALPHAS)))
        slope = (curve[zero + 1] - curve[zero - 1]) / (GENDER_ALPHAS[zero + 1] - GENDER_ALPHAS[zero - 1])
        line("tangent", GENDER_ALPHAS, curve[zero] + slope * GENDER_ALPHAS, PALETTE.muted, weight=1.0)
        line("angry−calm", TONE_CURVE_ALPHAS, model.tone_curve(), PALETTE.vermillion)
        vlines([float(self.params["alpha_gender"])], ["α gender"])

    def _fluency_plot(self, run) -> None:
        hline(FLUENT, PALETTE.muted)
        if self._hiding("late_fluency"):
            return
        sweep = self.model.sweep
        for layer in range(sweep.shape[0]):
            ok = np.isfinite(sweep[layer])
            if ok.any():
                line(f"L{layer}", TONE_ALPHAS[ok], sweep[layer][ok], LAYER_COLORS[layer % 3], marker=4.0)

    def _loss_plot(self, run) -> None:
        losses = np.asarray(self.model.run.losses, dtype=np.float64)
        hline(lm.entropy_floor(), PALETTE.muted, "floor")
        if len(losses):
            line("loss", np.arange(1, len(losses) + 1, dtype=np.float64), losses, PALETTE.muted)
