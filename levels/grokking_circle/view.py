"""The Circle of Weights: the p token embeddings on one frequency's plane, labelled by their numbers,
snapping from a scatter onto a circle; progress, fast-forward and a scrubber over the recorded
snapshots; accuracy curves and the embedding's spectrum, now and over the run. While a prediction is
open, validation (when the challenge asks about generalising) and a replay's future stay hidden."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.kit import PALETTE, Color, Plot, bars, hline, hues, line, plot_strip, progress_bar
from sandbox.view import View

from .grokking import GROKKED_ACCURACY
from .model import EARLY_VALIDATION, MEMORISED_ACCURACY

TRAIN, VALIDATION, NORM = PALETTE.sky, PALETTE.orange, PALETTE.muted
KEY, OTHER, CHOSEN = PALETTE.yellow, PALETTE.muted.fade(0.8), PALETTE.green
PLAYHEAD = PALETTE.white.alpha(0.6)
MAX_KEY_BUTTONS = 8
RING = np.stack([np.cos(np.linspace(0.0, 2 * np.pi, 181)), np.sin(np.linspace(0.0, 2 * np.pi, 181))], axis=1)


class GrokkingView(View):
    controls = (("drag the white line in the accuracy or spectrogram plot",
                 "shows that snapshot of the run: the replay's playhead, or a look back while training"),)

    def __init__(self, context):
        super().__init__(context)
        self.k: int | None = None  # the frequency whose plane is shown (None: the strongest)
        self.look_back: int | None = None  # live training: a recorded snapshot to show instead of now

    def make_camera(self):
        return Camera2D(center=(0.0, 0.12), half_height=1.95)  # room at the top for the caption

    def on_reset(self) -> None:
        self.look_back = None
        if self.k is not None and self.k > self.model.p // 2:
            self.k = None

    # -- what is shown -----------------------------------------------------------------------------
    def _looking_back(self) -> int | None:
        """The snapshot looked back at while training goes on (None: the live network)."""
        live = self.model.replaying or self.look_back is None or self.look_back >= len(self.model.record) - 1
        return None if live else self.look_back

    def _known(self) -> int | None:
        """The last snapshot the view may show while the open challenge's answer must stay hidden
        (None: all of it). A replay's record knows its future; a question about generalising stops
        the picture at memorisation (the circle and the spectrum would answer it); the question
        about the early peak stops it when validation first passes 5%, the moment it asks about."""
        model, challenge = self.model, self.challenge.open
        if not self.challenge.hide_answers or challenge is None:
            return None
        limits = [model.playhead] if model.replaying else []
        if challenge.measure == "grokked":
            limits.append(model.first_snapshot("train_accuracy", MEMORISED_ACCURACY))
        elif challenge.measure == "early_peak_kept":
            limits.append(model.first_snapshot("val_accuracy", EARLY_VALIDATION))
        limits = [limit for limit in limits if limit is not None]
        return min(limits) if limits else None

    def _snapshot(self) -> int | None:
        """The recorded snapshot on screen, marked in the plots (None: the live network): the
        replay's playhead or a look back, stopped at :meth:`_known`."""
        model, known = self.model, self._known()
        shown = model.playhead if model.replaying else self._looking_back()
        if known is None:
            return shown
        if shown is None:  # live training: frozen once it passes the snapshot the challenge allows
            return known if model.current_step > model.record.steps[known] else None
        return min(shown, known)

    def frozen(self) -> bool:
        """The picture stops before the run on screen, to keep the open challenge's answer."""
        known = self._known()
        return known is not None and self.model.current_step > self.model.record.steps[known]

    def _circle(self):
        return self.model.circle(self._snapshot(), self.k)  # None: the embedding is not finite

    def _show_snapshot(self, index: int) -> None:
        if self.model.replaying:
            self.model.seek(index)
        else:
            self.look_back = index

    # -- scene -------------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        if self.model.finished and not self.transport.paused and not self.challenge.playing:
            self.transport.pause()  # the end of training (or of the replay): the app's step counter stops there too
        self.gl.disable(self.gl.DEPTH_TEST)  # a flat picture: later strokes go on top
        self.lines(frame, RING, PALETTE.muted.alpha(0.5), 1.5, strip=True)
        circle = self._circle()
        if circle is None:
            return
        colors = hues(circle.places)  # a token's colour is its place on the circle
        self.painter.points(frame.mvp, circle.ideal, colors * [1, 1, 1, 0.35], 7.0)
        # the tokens in the order they belong around the circle: a polygon once grokked, a tangle before
        self.lines(frame, circle.loop, PALETTE.white.alpha(0.25), strip=True)
        self.dots(frame, circle.points, colors, 11.0, rim=4.0)

    def overlay(self, draw_list, frame) -> None:
        circle = self._circle()
        if circle is None:
            return
        for token, at, rgba in self.token_labels(circle, frame):
            size = imgui.calc_text_size(str(token))
            frame.label(draw_list, at, str(token), Color(*rgba).lighter(), (-size.x / 2, -size.y / 2), plate=False)
        p, k, model = self.model.p, circle.k, self.model
        when = f"step {circle.step}" if circle.step == model.current_step else f"snapshot of step {circle.step}"
        which = "chosen" if self.k is not None else "the strongest"
        fit = frame.size[0] - 24.0  # the caption's plates inside the pane: the long line, else a short one
        first = f"{when}: the {p} tokens on the plane of frequency k = {k} ({which}, {circle.spectrum[k]:.0%} of the power)"
        second = (f"circularity {circle.circularity:.2f}.  Colour and the faint dots: where token a belongs, "
                  f"at angle 2π·{k}·a/{p}")
        if imgui.calc_text_size(first).x > fit:
            first = f"{when}: frequency k = {k} ({circle.spectrum[k]:.0%})"
        if imgui.calc_text_size(second).x > fit:
            second = f"circularity {circle.circularity:.2f}"
        frame.caption(draw_list, [first, (second, PALETTE.muted)])
        if self.frozen():  # below the circle, where no token is
            note = "The picture waits here until the verdict: what comes next would answer it."
            note = note if imgui.calc_text_size(note).x < fit else "Waits here until the verdict."
            frame.caption(draw_list, [(note, PALETTE.accent)], corner="bottom-left")

    @staticmethod
    def token_labels(circle, frame) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(token, where, colour) of the token numbers that fit: in token order, a number that would
        overlap one already placed is left out (a scatter, a small pane, a large UI scale)."""
        placed, shown = [], []
        height = imgui.get_text_line_height()
        for token, (at, rgba) in enumerate(zip(circle.labels, hues(circle.places))):
            pixel = frame.to_overlay(at)
            if pixel is None:
                continue
            half = 0.5 * imgui.calc_text_size(str(token)).x + 1.0
            box = (pixel.x - half, pixel.y - 0.5 * height, pixel.x + half, pixel.y + 0.5 * height)
            if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                continue
            placed.append(box)
            shown.append((token, at, rgba))
        return shown

    # -- panel -------------------------------------------------------------------------------------
    def panel(self) -> None:
        model, transport = self.model, self.transport
        imgui.push_text_wrap_pos(0.0)
        imgui.separator()
        # the step counter above is this step: one tick is one training step
        progress_bar(model.progress, f"{'replay: ' if model.replaying else ''}step {model.current_step} of "
                                     f"{model.last_step}")
        if imgui.button("Normal speed" if transport.fastest else "Fast-forward"):
            transport.set_speed("normal" if transport.fastest else "fastest")
            transport.play()
        if imgui.is_item_hovered():
            imgui.set_tooltip("Fast-forward runs as many training steps a frame as the machine allows.")
        if model.finished:
            imgui.same_line()
            imgui.text_colored(PALETTE.muted, "finished: scrub the record below")
        for text, color in self.status():
            imgui.text_colored(color, text)
        imgui.separator()
        self._scrubber()
        imgui.separator()
        if self._circle() is not None:
            self._frequency_picker(self._circle())
        imgui.pop_text_wrap_pos()

    def _validation_hidden(self) -> bool:
        """The open challenge asks whether the run generalises: validation accuracy would answer it."""
        return "val_accuracy" in self.challenge.hidden()

    def status(self) -> list[tuple[str, Color]]:
        """Where the run is (memorising, memorised but clueless, grokking, grokked) and its
        milestones; while a prediction is open, only what does not give the verdict away."""
        model, latest, hidden = self.model, self.run.latest(), self._validation_hidden()
        train, val = latest["train_accuracy"], latest["val_accuracy"]
        if not np.isfinite(train) or train < MEMORISED_ACCURACY:
            now = (f"memorising: training accuracy {train:.0%}", PALETTE.accent)
        elif hidden:
            now = (f"memorised: training accuracy {train:.0%}. Validation shows after the verdict.", PALETTE.accent)
        elif val < 1.0 / model.p:
            now = (f"memorised, and worse than guessing on the rest: validation {val:.1%} (chance {1 / model.p:.1%}). "
                   "It answers with sums it was taught for a or for b; neither ever taught it the right one.", PALETTE.bad)
        elif val < 0.1:
            now = (f"memorised, and clueless on the rest: validation {val:.1%} (chance {1 / model.p:.1%})", PALETTE.bad)
        elif val < GROKKED_ACCURACY:
            now = (f"grokking: validation {val:.0%} and rising", PALETTE.accent)
        else:
            now = (f"grokked: validation {val:.0%}", PALETTE.good)
        memorised = model.reached(self.run, "train_accuracy", MEMORISED_ACCURACY)
        grokked = None if hidden else model.reached(self.run, "val_accuracy", GROKKED_ACCURACY)
        parts = [f"100% training accuracy at step {memorised}" if memorised is not None else "",
                 f"90% validation at step {grokked}" if grokked is not None else "",
                 f"{grokked / memorised:.0f}× later" if memorised and grokked is not None else ""]
        milestones = "; ".join(part for part in parts if part)
        return [now] + ([(milestones, PALETTE.muted)] if milestones else [])

    def _scrubber(self) -> None:
        """A slider over the recorded snapshots: the replay's playhead, or a look back at live training."""
        model, last, index = self.model, len(self.model.record) - 1, self._snapshot()
        if last < 1:
            imgui.text_colored(PALETTE.muted, "Snapshots are recorded every 50 steps.")
            return
        current = last if index is None else index
        imgui.set_next_item_width(-1)
        changed, current = imgui.slider_int("##scrub", current, 0, last, f"snapshot of step {model.record.steps[current]}")
        if changed:
            self._show_snapshot(current)
        if model.replaying:
            imgui.text_colored(PALETTE.muted, "Scrub the stored run here or in the plots; Play moves the playhead, "
                                              "− and + set its speed.")
        elif index is None or self.frozen():
            imgui.text_colored(PALETTE.muted, "Drag to look back at a snapshot; training goes on.")
        elif imgui.button("Back to live"):
            self.look_back = None

    def _frequency_picker(self, circle) -> None:
        """Radio buttons for the strongest or a key frequency, and a slider for any k."""
        imgui.text("Circle on frequency")
        if imgui.radio_button("the strongest", self.k is None):
            self.k = None
        for i, key in enumerate(circle.keys[:MAX_KEY_BUTTONS]):
            if i % 4:
                imgui.same_line()
            if imgui.radio_button(f"k = {key}##key", self.k == int(key)):
                self.k = int(key)
        imgui.set_next_item_width(-1)
        changed, chosen = imgui.slider_int("##k", circle.k, 1, len(circle.spectrum) - 1, "any k: %d")
        if changed:
            self.k = int(chosen)
        listed = ", ".join(str(int(v)) for v in circle.keys) if len(circle.keys) else "none yet"
        imgui.text_colored(PALETTE.muted, f"key frequencies (> 2× a uniform share): {listed}. In the spectrum plot "
                                          "the yellow bars are key, the green outline is the circle's k, the thin "
                                          "line step 0.")

    # -- plots -------------------------------------------------------------------------------------
    def plots(self) -> None:
        circle, span, half = self._circle(), float(max(self.model.last_step, 1)), self.model.p // 2
        top = 0.12 if circle is None else max(0.12, 1.25 * float(np.nanmax(circle.spectrum[1:])), 2.4 / half)
        plot_strip(self.context, [
            Plot("accuracy", self._accuracy_plot, y_label="accuracy", x_limits=(0.0, span), y_limits=(-0.02, 1.05),
                 weight=1.4),
            Plot("spectrum", self._spectrum_plot, x_label="frequency k", y_label="share of power",
                 x_limits=(0.3, half + 0.7), y_limits=(0.0, top), legend=False),  # the key threshold stays in view
            Plot("by step", self._spectrogram_plot, y_label="frequency k", x_limits=(0.0, span),
                 y_limits=(0.5, half + 0.5), legend=False)])

    def _drag_playhead(self, plot_id: int) -> None:
        """A draggable vertical line at the snapshot on screen; dragging it scrubs."""
        steps, index = self.model.record.steps, self._snapshot()
        if index is not None and len(steps) > 1:
            changed, x, *_ = implot.drag_line_x(plot_id, float(steps[index]), PLAYHEAD, 1.5)
            if changed:
                self._show_snapshot(int(np.argmin(np.abs(np.asarray(steps) - x))))

    def _accuracy_plot(self, run) -> None:
        steps, series = self.model.curves(run, self._known())
        implot.setup_axis(implot.ImAxis_.y2.value, "‖θ‖",
                          implot.AxisFlags_.auto_fit.value | implot.AxisFlags_.opposite.value)
        hline(1.0 / self.model.p)  # chance
        names = ("training", "validation") if self.roomy() else ("train", "held out")  # the legend above fits
        line(names[0], steps, series["train_accuracy"], TRAIN)
        if self._validation_hidden() and self.roomy():  # (too narrow for it: the legend has no validation)
            implot.plot_text(f"{names[1]}:\nafter the verdict", 0.5 * implot.get_plot_limits().x.max, 0.5)
        elif not self._validation_hidden():
            line(names[1], steps, series["val_accuracy"], VALIDATION)
        implot.set_axes(implot.ImAxis_.x1.value, implot.ImAxis_.y2.value)  # the weight norm on the right axis
        line("‖θ‖", steps, series["weight_norm"], NORM, weight=1.0, legend=False)  # its axis is named ‖θ‖
        implot.set_axes(implot.ImAxis_.x1.value, implot.ImAxis_.y1.value)
        self._drag_playhead(1)
        self.accuracy_width = implot.get_plot_size().x

    def roomy(self) -> bool:
        """Whether the accuracy plot was wide enough last frame for the long names in its legend."""
        return getattr(self, "accuracy_width", math.inf) > 14 * imgui.get_font_size()

    def _spectrum_plot(self, run) -> None:
        circle = self._circle()
        if circle is None:
            return
        k, shares = circle.k, circle.spectrum[1:]
        ks, key = np.arange(1, len(circle.spectrum), dtype=np.float64), shares > 2.0 / len(shares)
        bars("others", ks[~key], shares[~key], 0.7, OTHER)
        bars("key", ks[key], shares[key], 0.7, KEY)
        implot.plot_bars("chosen", np.array([float(k)]), np.array([shares[k - 1]]), 0.7,
                         implot.Spec(fill_color=CHOSEN.alpha(0.0), line_color=CHOSEN, line_weight=2.0))
        implot.plot_stairs("step 0", ks - 0.5, np.asarray(self.model.record.spectra[0], np.float64)[1:],
                           implot.Spec(line_color=PALETTE.white.alpha(0.45)))
        hline(2.0 / len(shares), KEY.alpha(0.5))  # the key threshold
        label = f"k = {k}"  # nudged inward at the ends of the axis, where it would be cut off
        inward = 0.5 * imgui.calc_text_size(label).x * (1 if k <= 2 else -1 if k >= len(shares) - 1 else 0)
        implot.plot_text(label, float(k), float(shares[k - 1]) + 0.06 * implot.get_plot_limits().y.max,
                         imgui.ImVec2(inward, 0.0))

    def _spectrogram_plot(self, run) -> None:
        """Every recorded snapshot's spectrum: frequency against step, brighter for more power."""
        heat, first, last = self.model.spectrogram(self._known())
        implot.push_colormap(implot.Colormap_.viridis.value)
        implot.plot_heatmap("##spectra", heat, 0.0, float(max(np.nanmax(heat), 1e-9)), "",
                            implot.Point(first, 0.5), implot.Point(last, heat.shape[0] + 0.5))
        implot.pop_colormap()
        self._drag_playhead(2)
