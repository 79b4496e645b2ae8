"""The Circle of Weights: the p token embeddings projected on one frequency's plane, labelled by
their numbers, snapping from a scatter onto a circle; a progress bar, fast-forward and a scrub
slider over the recorded snapshots; accuracy curves, the embedding's Fourier spectrum now and over
the whole run."""

from __future__ import annotations

import colorsys

import numpy as np
from imgui_bundle import imgui, implot

from sandbox.gfx.camera import Camera2D
from sandbox.host import SPEEDS
from sandbox.ui.widgets import ACCENT, BAD, GOOD, MUTED
from sandbox.view import View

from .grokking import GROKKED_ACCURACY, circle_projection, circularity, embedding_spectrum, key_frequencies

TRAIN_COLOR = (0.45, 0.75, 1.0, 1.0)
VAL_COLOR = (1.0, 0.6, 0.2, 1.0)
NORM_COLOR = (0.7, 0.7, 0.75, 0.8)
KEY_COLOR = (1.0, 0.6, 0.2, 1.0)
OTHER_COLOR = (0.5, 0.55, 0.62, 1.0)
CHOSEN_COLOR = (0.45, 0.85, 0.45, 1.0)
RING = (0.5, 0.55, 0.6, 0.5)
PLAYHEAD = (1.0, 1.0, 1.0, 0.6)
#: Training accuracy this high counts as memorised (for the status line).
MEMORISED_ACCURACY = 0.999
MAX_KEY_BUTTONS = 8
LABEL_OFFSET = 1.13  # token labels sit just outside their point, radially


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values), values, np.nan)


def _hue(fraction) -> np.ndarray:
    """Colours around the colour wheel, one per fraction in [0, 1)."""
    return np.array([(*colorsys.hsv_to_rgb(float(f) % 1.0, 0.65, 1.0), 1.0) for f in np.atleast_1d(fraction)])


def canonical_circle(embedding: np.ndarray, k: int) -> np.ndarray:
    """The tokens on frequency ``k``'s plane, mirrored and rotated so that token ``a`` sits as near as
    the data allow to angle 2πka/p, and scaled to unit RMS radius.

    The plane's basis (from a QR factorisation) turns and flips from one snapshot to the next; this
    fixes the picture, so that scrubbing shows the tokens moving and not the axes.
    """
    points = circle_projection(embedding, k)
    p = len(points)
    z = points[:, 0] + 1j * points[:, 1]
    ideal = np.exp(2j * np.pi * k * np.arange(p) / p)
    forward, mirrored = np.vdot(ideal, z), np.vdot(np.conj(ideal), z)  # Σ z·conj(ideal), Σ z·ideal
    if abs(mirrored) > abs(forward):
        z, forward = np.conj(z), np.conj(mirrored)
    if abs(forward) > 1e-12:
        z = z * np.conj(forward) / abs(forward)
    rms = np.sqrt(np.mean(np.abs(z) ** 2))
    z = z / rms if rms > 1e-12 else z
    return np.stack([z.real, z.imag], axis=1)


class GrokkingView(View):
    camera = "2d"
    math = [
        (r"(a, b) \mapsto (a + b) \bmod p",
         "the task: all p² pairs; a random fraction f trains, the rest is held out"),
        (r"h = \mathrm{ReLU}\big([E_a, E_b]\,W_1 + b_1\big)",
         "the network: embeddings E (p × 32), one hidden layer of 128"),
        (r"\mathrm{logits} = h\,W_2 + b_2", "one score per answer; full-batch cross-entropy on the training pairs"),
        (r"\theta \leftarrow \theta - \eta\lambda\,\theta - \eta\,\hat m / (\sqrt{\hat v} + \epsilon)",
         "AdamW: decoupled weight decay λ shrinks every weight every step (η = 6·10⁻³, β = (0.9, 0.98))"),
        (r"s_k \propto \sum_j \Big|\sum_a (E_{aj} - \bar E_j)\, e^{-2\pi i k a / p}\Big|^2",
         "the spectrum: the embedding's share of power at frequency k = 1 … ⌊p/2⌋; a key frequency holds more "
         "than twice a uniform share"),
        (r"n_{\mathrm{eff}} = 1 \Big/ \sum_k s_k^2",
         "frequencies in use: about p/2 when spread, a handful after grokking"),
        (r"F_k = \sum_a E_a\, e^{-2\pi i k a / p}",
         "the circle: each E_a projected on the plane of Re F_k and Im F_k; circularity = 1 − std(r)/mean(r)"),
        (r"\theta_a = 2\pi k a / p",
         "after grokking, token a sits at this angle: adding numbers is adding angles"),
        (r"\cos(\theta_a + \theta_b) = \cos\theta_a \cos\theta_b - \sin\theta_a \sin\theta_b",
         "a product of embedding entries, which the hidden layer can form"),
        (r"\cos(\theta_a + \theta_b - \theta_c)\ \text{is largest at}\ c = (a + b) \bmod p",
         "so the readout picks the right sum, on every pair, seen or not"),
    ]

    def __init__(self, host):
        super().__init__(host)
        self._k: int | None = None  # the frequency whose plane is shown (None: the strongest)
        self._look_back: int | None = None  # live training: a recorded snapshot to show instead of now
        self._heatmap_key = None
        self._heatmap = None
        self._circle_key = None
        self._circle_cache = None
        # column widths of the plot strip: the curves get the most (kept: the learner may drag the dividers)
        self._ratios = implot.SubplotsRowColRatios([1.0], [1.4, 1.0, 1.0])

    def make_camera(self):
        return Camera2D(center=(0.0, 0.12), half_height=1.95)  # room at the top for the caption

    def on_reset(self) -> None:
        self._look_back = None
        if self._k is not None and self._k > self.model.p // 2:
            self._k = None

    # -- what is shown -----------------------------------------------------------------------------
    def _snapshot_index(self) -> int | None:
        """The recorded snapshot on screen (None: the live network)."""
        model = self.model
        if model.replaying:
            return model.playhead
        if self._look_back is not None and self._look_back < len(model.record) - 1:
            return self._look_back
        return None

    def _shown(self) -> tuple[np.ndarray, int]:
        """(embedding, training step) of what is on screen."""
        model = self.model
        index = self._snapshot_index()
        if index is None:
            return np.asarray(model.embedding, dtype=np.float64), int(model.run.step_count)
        return np.asarray(model.record.embeddings[index], dtype=np.float64), int(model.record.steps[index])

    def _frequency(self, spectrum: np.ndarray) -> int:
        if self._k is not None and 1 <= self._k < len(spectrum):
            return self._k
        return int(np.argmax(spectrum[1:]) + 1)

    def _circle(self):
        """(points (p, 2), k, spectrum) of what is on screen, or None if the embedding is not finite.

        Cached per shown state: the scene, the overlay, the panel and the plots all ask each frame.
        """
        model = self.model
        index = self._snapshot_index()
        key = (id(model.record), index, None if index is not None else model.run.step_count, self._k)
        if key != self._circle_key:
            embedding, _ = self._shown()
            if np.all(np.isfinite(embedding)):
                spectrum = embedding_spectrum(embedding)
                k = self._frequency(spectrum)
                self._circle_cache = (canonical_circle(embedding, k), k, spectrum)
            else:
                self._circle_cache = None
            self._circle_key = key
        return self._circle_cache

    # -- scene -------------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        paint, mvp, vp = self.painter, frame.mvp, frame.viewport
        self.ctx.disable(self.ctx.DEPTH_TEST)  # a flat picture: later strokes go on top
        angles = np.linspace(0.0, 2.0 * np.pi, 181)
        paint.lines(mvp, np.stack([np.cos(angles), np.sin(angles)], axis=1), RING, 1.5, vp)
        shown = self._circle()
        if shown is None:
            return
        points, k, _ = shown
        place = self._places(k)
        ideal = np.stack([np.cos(2 * np.pi * place), np.sin(2 * np.pi * place)], axis=1)
        paint.points(mvp, ideal, _hue(place) * [1, 1, 1, 0.35], 7.0)
        # the tokens in the order they belong around the circle: a polygon once grokked, a tangle before
        order = np.argsort(place)
        loop = np.concatenate([points[order], points[order[:1]]])
        paint.lines(mvp, np.clip(loop, -50, 50), (1.0, 1.0, 1.0, 0.25), 1.0, vp)
        paint.points(mvp, np.clip(points, -50, 50), (0.03, 0.03, 0.05, 0.9), 15.0)
        paint.points(mvp, np.clip(points, -50, 50), _hue(place), 11.0)

    def _places(self, k: int) -> np.ndarray:
        """Where each token belongs on frequency ``k``'s circle, as a fraction of a turn (angle 2πka/p)."""
        p = self.model.p
        return (k * np.arange(p)) % p / p

    def overlay(self, draw_list, origin, frame) -> None:
        model = self.model
        shown = self._circle()
        if shown is None:
            return
        ratio = frame.pixel_ratio
        width, height = frame.viewport[0] / ratio, frame.viewport[1] / ratio
        points, k, spectrum = shown
        for token, (point, color) in enumerate(zip(points, _hue(self._places(k)))):
            radius = np.linalg.norm(point)
            direction = point / radius if radius > 1e-9 else np.array([1.0, 0.0])
            label_at = point + direction * (LABEL_OFFSET - 1.0) * max(radius, 0.6)
            if not np.all(np.isfinite(label_at)):
                continue
            x, y = frame.camera.world_to_screen(label_at, frame.viewport)
            text = str(token)
            size = imgui.calc_text_size(text)
            x, y = x / ratio - size.x / 2, y / ratio - size.y / 2
            if 0 <= x <= width - size.x and 0 <= y <= height - size.y:
                light = imgui.ImVec4(*(0.55 + 0.45 * color[:3]), 1.0)  # the point's hue, lighter for reading
                draw_list.add_text(imgui.ImVec2(origin[0] + x, origin[1] + y), imgui.get_color_u32(light), text)
        _, step = self._shown()
        chosen = "chosen" if self._k is not None else "the strongest"
        head = [(f"step {step}: the {model.p} tokens on the plane of frequency k = {k} ({chosen}, "
                 f"{spectrum[k]:.0%} of the power)", (0.92, 0.93, 0.95, 1.0)),
                (f"circularity {circularity(points):.2f}.  Colour and the faint dots: where token a belongs, "
                 f"at angle 2π·{k}·a/{model.p}", (MUTED.x, MUTED.y, MUTED.z, 1.0))]
        for i, (text, color) in enumerate(head):
            top = origin[1] + 6 + 18 * i
            draw_list.add_rect_filled(imgui.ImVec2(origin[0] + 6, top),
                                      imgui.ImVec2(origin[0] + 14 + imgui.calc_text_size(text).x, top + 18),
                                      imgui.get_color_u32(imgui.ImVec4(0.075, 0.085, 0.105, 0.85)))
            draw_list.add_text(imgui.ImVec2(origin[0] + 10, top + 1), imgui.get_color_u32(imgui.ImVec4(*color)), text)

    # -- panel -------------------------------------------------------------------------------------
    def panel(self) -> None:
        imgui.separator()
        self._progress()
        self._status()
        imgui.separator()
        self._scrubber()
        imgui.separator()
        shown = self._circle()
        if shown is not None:
            self._frequency_picker(shown[1], shown[2])

    def _progress(self) -> None:
        model = self.model
        if model.replaying:
            overlay = f"replay: step {model.record.steps[model.playhead]} of {model.record.steps[-1]}"
        else:
            overlay = f"step {model.run.step_count} of {int(model.params['budget'])}"
        imgui.progress_bar(float(np.clip(model.progress, 0.0, 1.0)), imgui.ImVec2(-1, 0), overlay)
        fast = self.host.speed_index == len(SPEEDS) - 1
        if imgui.button("Normal speed" if fast else "Fast-forward"):
            self.host.speed_index = SPEEDS.index(1.0) if fast else len(SPEEDS) - 1
            self.host.paused = False
        if imgui.is_item_hovered():
            imgui.set_tooltip("Fast-forward runs as many training steps a frame as the machine allows.")
        if model.finished:
            imgui.same_line()
            imgui.text_colored(MUTED, "finished: scrub the record below")

    def _status(self) -> None:
        """Where the run is: memorising, memorised but clueless, grokking, grokked; and its milestones."""
        record, latest = self.model.record, self.run.latest()
        train, val = latest["train_accuracy"], latest["val_accuracy"]
        chance = 1.0 / self.model.p
        if not np.isfinite(train) or train < MEMORISED_ACCURACY:
            text, color = f"memorising: training accuracy {train:.0%}", ACCENT
        elif val < 0.1:
            text, color = f"memorised, but clueless on the rest: validation {val:.1%} (chance {chance:.1%})", BAD
        elif val < GROKKED_ACCURACY:
            text, color = f"grokking: validation {val:.0%} and rising", ACCENT
        else:
            text, color = f"grokked: validation {val:.0%}", GOOD
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(color, text)
        now = latest["step"]  # the run's own step (a look back at a snapshot does not move it)

        def reached(series: str, above: float) -> int | None:
            """The first step past ``above``, if the run has got there (a replay's record knows its future)."""
            step = record.first_step(series, above)
            return step if step is not None and step <= now else None

        memorised = reached("train_accuracy", MEMORISED_ACCURACY)
        grokked = reached("val_accuracy", GROKKED_ACCURACY)
        parts = [f"100% training accuracy at step {memorised}" if memorised is not None else None,
                 f"90% validation at step {grokked}" if grokked is not None else None]
        if memorised is not None and grokked is not None and memorised > 0:
            parts.append(f"{grokked / memorised:.0f}× later")
        milestones = "; ".join(p for p in parts if p)
        if milestones:
            imgui.text_colored(MUTED, milestones)
        imgui.pop_text_wrap_pos()

    def _scrubber(self) -> None:
        """A slider over the recorded snapshots: the replay's playhead, or a look back at live training."""
        model = self.model
        record = model.record
        last = len(record) - 1
        if last < 1:
            imgui.text_colored(MUTED, "Snapshots are recorded every 50 steps.")
            return
        index = self._snapshot_index()
        current = last if index is None else index
        imgui.push_item_width(-1)
        changed, current = imgui.slider_int("##scrub", current, 0, last, f"snapshot at step {record.steps[current]}")
        imgui.pop_item_width()
        if changed:
            self._show_snapshot(current)
        imgui.push_text_wrap_pos(0.0)
        if model.replaying:
            imgui.text_colored(MUTED, "Scrub the stored run here or in the plots; Play moves the playhead, "
                                      "− and + set its speed.")
        elif index is None:
            imgui.text_colored(MUTED, "Drag to look back at a snapshot; training goes on.")
        elif imgui.button("Back to live"):
            self._look_back = None
        imgui.pop_text_wrap_pos()

    def _show_snapshot(self, index: int) -> None:
        model = self.model
        if model.replaying:
            model.seek(index)
        else:
            self._look_back = index

    def _frequency_picker(self, k: int, spectrum: np.ndarray) -> None:
        """Radio buttons for the strongest or a key frequency, and a slider for any k."""
        keys = key_frequencies(spectrum)
        imgui.text("Circle on frequency")
        if imgui.radio_button("the strongest", self._k is None):
            self._k = None
        for i, key in enumerate(keys[:MAX_KEY_BUTTONS]):
            if i % 4:
                imgui.same_line()
            if imgui.radio_button(f"k = {key}##key", self._k == int(key)):
                self._k = int(key)
        half = len(spectrum) - 1
        imgui.push_item_width(-1)
        changed, chosen = imgui.slider_int("##k", k, 1, half, "any k: %d")
        imgui.pop_item_width()
        if changed:
            self._k = int(chosen)
        imgui.push_text_wrap_pos(0.0)
        listed = ", ".join(str(int(v)) for v in keys) if len(keys) else "none yet"
        imgui.text_colored(MUTED, f"key frequencies (> 2× a uniform share): {listed}. In the spectrum plot the "
                                  "orange bars are key, the green outline is the circle's k, the thin line step 0.")
        imgui.pop_text_wrap_pos()

    # -- plots -------------------------------------------------------------------------------------
    def plots(self) -> None:
        if not implot.begin_subplots("##grokking", 1, 3, imgui.ImVec2(-1, -1), 0, self._ratios):
            return
        self._accuracy_plot()
        self._spectrum_plot()
        self._spectrogram_plot()
        implot.end_subplots()

    def _curves(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The record's steps and series, with the live values appended while training runs ahead of it."""
        model = self.model
        record = model.record
        steps = np.asarray(record.steps, dtype=np.float64)
        series = {name: np.asarray(getattr(record, name), dtype=np.float64)
                  for name in ("train_accuracy", "val_accuracy", "weight_norm")}
        if not model.replaying and model.run.step_count > (record.steps[-1] if record.steps else -1):
            latest = self.run.latest()
            steps = np.append(steps, model.run.step_count)
            series = {name: np.append(values, latest[name]) for name, values in series.items()}
        return steps, series

    def _playhead(self) -> float | None:
        """The step on screen when it is a snapshot (drawn and draggable in the plots), else None."""
        index = self._snapshot_index()
        return None if index is None else float(self.model.record.steps[index])

    def _drag_playhead(self, plot_id: int) -> None:
        """A draggable vertical line at the shown snapshot; dragging it scrubs."""
        model = self.model
        record = model.record
        at = self._playhead()
        if at is None or len(record) < 2:
            return
        changed, x, *_ = implot.drag_line_x(plot_id, at, imgui.ImVec4(*PLAYHEAD), 1.5)
        if changed:
            self._show_snapshot(int(np.argmin(np.abs(np.asarray(record.steps) - x))))

    def _x_span(self) -> float:
        model = self.model
        return float(model.record.steps[-1] if model.replaying else max(int(model.params["budget"]), 1))

    def _accuracy_plot(self) -> None:
        model = self.model
        if not implot.begin_plot("accuracy"):
            return
        steps, series = self._curves()
        implot.setup_axes("step", "accuracy", 0, 0)
        implot.setup_axes_limits(0.0, self._x_span(), -0.02, 1.05, implot.Cond_.always.value)
        implot.setup_axis(implot.ImAxis_.y2.value, "‖θ‖",
                          implot.AxisFlags_.auto_fit.value | implot.AxisFlags_.opposite.value)
        implot.setup_legend(implot.Location_.north.value,
                            implot.LegendFlags_.outside.value | implot.LegendFlags_.horizontal.value)
        chance = implot.InfLinesFlags_.horizontal.value | implot.ItemFlags_.no_legend.value
        implot.plot_inf_lines("##chance", np.array([1.0 / model.p]),
                              implot.Spec(line_color=(0.5, 0.5, 0.55, 0.6), flags=chance))
        for name, label, color in (("train_accuracy", "training", TRAIN_COLOR),
                                   ("val_accuracy", "validation", VAL_COLOR)):
            implot.plot_line(label, steps, _finite(series[name]), implot.Spec(line_color=color, line_weight=2.0))
        implot.set_axes(implot.ImAxis_.x1.value, implot.ImAxis_.y2.value)  # the weight norm on the right axis
        implot.plot_line("‖θ‖", steps, _finite(series["weight_norm"]), implot.Spec(line_color=NORM_COLOR))
        implot.set_axes(implot.ImAxis_.x1.value, implot.ImAxis_.y1.value)
        self._drag_playhead(1)
        implot.end_plot()

    def _spectrum_plot(self) -> None:
        shown = self._circle()
        if not implot.begin_plot("spectrum now", flags=implot.Flags_.no_legend.value):
            return
        if shown is None:
            implot.end_plot()
            return
        _, k, spectrum = shown
        shares = np.asarray(spectrum[1:], dtype=np.float64)
        ks = np.arange(1, len(spectrum), dtype=np.float64)
        first = np.asarray(self.model.record.spectra[0], dtype=np.float64)[1:]
        implot.setup_axes("frequency k", "share of power", 0, 0)
        top = max(0.12, 1.25 * float(np.nanmax(shares)), 2.4 / len(shares))  # the key threshold stays in view
        implot.setup_axes_limits(0.3, len(spectrum) - 0.3, 0.0, top, implot.Cond_.always.value)
        key = shares > 2.0 / len(shares)
        for mask, color, label in ((~key, OTHER_COLOR, "others"), (key, KEY_COLOR, "key")):
            implot.plot_bars(label, ks[mask], shares[mask], 0.7, implot.Spec(fill_color=color, line_color=color))
        implot.plot_bars("chosen", np.array([float(k)]), np.array([shares[k - 1]]), 0.7,
                         implot.Spec(fill_color=(0, 0, 0, 0), line_color=CHOSEN_COLOR, line_weight=2.0))
        implot.plot_stairs("step 0", ks - 0.5, first, implot.Spec(line_color=(1, 1, 1, 0.45)))
        implot.plot_inf_lines("key threshold", np.array([2.0 / len(shares)]), implot.Spec(
            line_color=(1.0, 0.6, 0.2, 0.5), flags=implot.InfLinesFlags_.horizontal.value))
        implot.plot_text(f"k = {k}", float(k), float(shares[k - 1]) + 0.06 * top)
        implot.end_plot()

    def _spectrogram_plot(self) -> None:
        """Every recorded snapshot's spectrum: frequency against step, brighter for more power."""
        model = self.model
        record = model.record
        if not implot.begin_plot("spectrum by step", flags=implot.Flags_.no_legend.value):
            return
        key = (id(record), len(record))
        if key != self._heatmap_key:
            spectra = np.asarray(record.spectra, dtype=np.float64)[:, 1:]  # (snapshots, K)
            # implot draws row 0 at the top: highest frequency first, k = 1 at the bottom; sqrt for contrast
            self._heatmap = np.ascontiguousarray(np.sqrt(spectra.T[::-1]))
            self._heatmap_key = key
        heat = self._heatmap
        half = heat.shape[0]
        last = float(record.steps[-1]) if len(record) > 1 else 1.0
        width = last / max(len(record) - 1, 1)
        implot.setup_axes("step", "frequency k", 0, 0)
        implot.setup_axes_limits(0.0, self._x_span(), 0.5, half + 0.5, implot.Cond_.always.value)
        implot.push_colormap(implot.Colormap_.viridis.value)
        implot.plot_heatmap("##spectra", heat, 0.0, float(max(np.nanmax(heat), 1e-9)), "",
                            implot.Point(-0.5 * width, 0.5), implot.Point(last + 0.5 * width, half + 0.5))
        implot.pop_colormap()
        self._drag_playhead(2)
        implot.end_plot()
