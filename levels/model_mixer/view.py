"""The Model Mixer, drawn. The scene: the merged model's answer for each skill as a class map over
the square (one colour per class; cells it gets wrong are dimmed, so forgetting shows as mud),
with each skill's accuracy under its map. The panel: training, presets, the accuracy table (the
pre-trained model, each fine-tuned model, the merge), the cosines of the task vectors, and the
merges of two models from one start and from two. The plots: each skill's accuracy as one λ
sweeps, and the merges side by side. While a prediction is open, what would answer it waits."""

from __future__ import annotations

import time

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.camera import Camera2D
from sandbox.kit import (training_controls, 
    PALETTE,
    Plot,
    bars,
    first_fit,
    hline,
    line,
    plot_strip,
    set_ticks,
    titled,
    vlines,
)
from sandbox.view import View

from .mixer import CHANCE, N_SKILLS, SKILLS

SKILL_COLORS = (PALETTE.orange, PALETTE.sky, PALETTE.green)
#: The four classes' colours in the maps.
CLASS_RGB = np.array([[0.90, 0.62, 0.00], [0.34, 0.71, 0.91], [0.00, 0.62, 0.45], [0.80, 0.47, 0.65]], np.float32)
SETTLE_S = 0.15  # seconds the sliders rest before the sweep plot is measured again
GAP = 0.45  # world units between the maps
PRESETS = (("Pre-trained", (0.0, 0.0, 0.0)), ("Add rings + sectors", (1.0, 1.0, 0.0)),
           ("Add all three", (1.0, 1.0, 1.0)), ("Forget stripes", (0.0, 0.0, -1.0)),
           ("Average (½, ½)", (0.5, 0.5, 0.0)))


def map_left(k: int) -> float:
    """The left edge of skill k's map in world units (each map spans 2)."""
    return k * (2.0 + GAP)


class MixerView(View):
    controls = (("λ sliders (parameters)", "set θ = θ_pre + Σ λ τ: the maps and accuracies follow at once"),
                ("preset buttons in the panel", "add both, forget stripes, back to the pre-trained model"),
                ("drag / wheel", "pan and zoom the maps"))

    def __init__(self, context):
        super().__init__(context)
        self._sweep_key = None
        self._sweep_moved = 0.0
        self._sweep_value = None

    def make_camera(self):
        return Camera2D(center=(map_left(1) + 1.0, 0.0), half_height=1.6)

    def on_reset(self) -> None:
        self._fit()

    def _fit(self) -> None:
        self.cam.fit(-0.1, map_left(N_SKILLS - 1) + 2.1, -1.55, 1.45, follow=True)

    # -- hiding -------------------------------------------------------------------------------------
    def _acc_hidden(self) -> bool:
        return "acc_rings" in self.challenge.hidden()

    def _merge_hidden(self) -> bool:
        return "shared_merge" in self.challenge.hidden()

    # -- scene --------------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        model = self.model
        self.gl.disable(self.gl.DEPTH_TEST)
        pred, true = model.class_maps()
        show_truth = self._acc_hidden()
        key = (id(model.run), model.run.step_count // 40, model.finished, model.lambdas, show_truth)
        for k in range(N_SKILLS):
            x0 = map_left(k)

            def colors(k=k):
                if show_truth:  # the merged model's map would show who loses more
                    return self._rgba(true[k], np.ones_like(true[k], bool))
                return self._rgba(pred[k], pred[k] == true[k])

            self.cells(frame, f"map{k}", key, (x0, x0 + 2.0, -1.0, 1.0), colors)
            self.outline(frame, (x0, x0 + 2.0, -1.0, 1.0), SKILL_COLORS[k], 2.0)

    @staticmethod
    def _rgba(classes: np.ndarray, right: np.ndarray) -> np.ndarray:
        rgb = CLASS_RGB[classes]
        rgb = np.where(right[..., None], rgb, 0.25 * rgb + 0.08)  # wrong answers: dark mud
        return np.concatenate([rgb, np.ones(classes.shape + (1,), np.float32)], axis=-1)

    def overlay(self, draw_list, frame) -> None:
        model = self.model
        fit = frame.size[0] - 24.0
        lams = model.lambdas
        if not model.finished:
            head = first_fit([f"training: {model.run.phase} ({model.progress:.0%}); the maps show the network in training",
                              f"training: {model.run.phase} ({model.progress:.0%})"], fit)
        else:
            terms = " ".join(f"{'+' if lam >= 0 else '−'} {abs(lam):.2f} τ_{name}" for lam, name in zip(lams, SKILLS))
            head = first_fit([f"θ = θ_pre {terms}", f"θ = θ_pre {terms.replace('τ_', 'τ').replace('rings', 'R').replace('sectors', 'S').replace('stripes', 'T')}",
                              "θ = θ_pre + Σ λ τ"], fit)
        lines = [head]
        if self._acc_hidden():
            lines.append((first_fit(["the true maps: the merged model's answers show after the verdict",
                                     "the true maps (answers after the verdict)", "the true maps"], fit), PALETTE.accent))
        else:
            lines.append((first_fit(["colour: the class the model answers; dark: answered wrong", "dark: wrong"], fit),
                          PALETTE.muted))
        frame.caption(draw_list, lines)
        acc = model.accuracies()
        labels = []
        for k, name in enumerate(SKILLS):
            text = name if self._acc_hidden() else f"{name} {acc[k]:.0%}"
            labels.append(((map_left(k) + 1.0, -1.0), text, SKILL_COLORS[k], 3, (-0.5 * imgui.calc_text_size(text).x, 10.0)))
        frame.labels(draw_list, labels)

    # -- panel --------------------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.model
        imgui.push_text_wrap_pos(0.0)
        imgui.separator()
        if model.loaded:
            shown = (1.0, f"trained checkpoint (seed {model.seed})")
        else:
            shown = (model.progress, f"{model.run.phase}: step {model.run.step_count} of {model.run.steps_total}")
        with training_controls(self, *shown):
            imgui.text("Set the sliders to:")
            for i, (name, lams) in enumerate(PRESETS):
                if i % 2:
                    imgui.same_line()
                if imgui.button(name):
                    self.apply(lams)
        imgui.separator()
        imgui.pop_text_wrap_pos()
        self._table()  # a table sizes its own columns: wrapping would split the skills' names
        imgui.push_text_wrap_pos(0.0)
        imgui.separator()
        self._merges_text()
        imgui.pop_text_wrap_pos()

    def apply(self, lams) -> None:
        """Set the three λ sliders."""
        for name, lam in zip(SKILLS, lams):
            self.context.set_param(f"lam_{name}", float(lam))

    def _table(self) -> None:
        model = self.model
        if not model.finished:
            imgui.text("The task vectors exist once fine-tuning is done.")
            return
        if self._acc_hidden():
            imgui.text_colored(PALETTE.accent, "The accuracies show after the verdict.")
            return
        ref = model.reference()
        acc = model.accuracies()
        flags = imgui.TableFlags_.borders_inner_h.value | imgui.TableFlags_.sizing_fixed_fit.value
        if imgui.begin_table("##acc", 4, flags):
            for title in ("skill", "pre-trained", "fine-tuned", "merged"):
                imgui.table_setup_column(title)
            imgui.table_headers_row()
            for k, name in enumerate(SKILLS):
                imgui.table_next_row()
                imgui.table_next_column()
                imgui.text_colored(SKILL_COLORS[k], name)
                for value in (ref["pre"][k], ref["fine"][k, k], acc[k]):
                    imgui.table_next_column()
                    imgui.text(f"{value:.0%}")
            imgui.end_table()
        cos = model.cosines()
        pairs = [f"{SKILLS[i][:4]}·{SKILLS[j][:4]} {cos[i, j]:+.3f}" for i in range(N_SKILLS) for j in range(i + 1, N_SKILLS)]
        imgui.push_text_wrap_pos(0.0)
        imgui.text("cos between task vectors: " + ", ".join(pairs))
        imgui.pop_text_wrap_pos()

    def _merges_text(self) -> None:
        model = self.model
        if not model.finished:
            return
        if self._merge_hidden():
            imgui.text_colored(PALETTE.accent, "The merges of two starts show after the verdict.")
            return
        m = model.merges()
        imgui.text("½ rings model + ½ sectors model, mean accuracy on the two:")
        imgui.text_colored(PALETTE.purple, f"  one shared start: {m['shared']:.0%}")
        imgui.text_colored(PALETTE.vermillion, f"  two different starts: {m['different']:.0%}")
        imgui.text_colored(PALETTE.yellow, f"  two starts, units matched first: {m['aligned']:.0%}")

    # -- plots --------------------------------------------------------------------------------------
    def plots(self) -> None:
        plot_strip(self.context, titled([
            Plot("###sweep", self._sweep_plot, x_label="λ", y_label="accuracy",
                 x_limits=(-1.5, 2.0), y_limits=(0.0, 1.02), weight=1.25, min_width=12, priority=3),
            Plot("###merges", self._merge_plot, x_label="", y_limits=(0.0, 1.02), legend=True, legend_at="beside",
                 min_width=11, priority=2)],
            [[f"accuracy as λ {self.params['sweep']} moves", f"λ {self.params['sweep']}"],
             ["½ model A + ½ model B, two ways", "model averages", "averages"]]))

    def _sweep_plot(self, run) -> None:
        hline(CHANCE, PALETTE.muted, "chance")
        model = self.model
        if not model.finished:
            return
        if self._acc_hidden():
            return
        lams, acc = self._settled_sweep()
        for k, name in enumerate(SKILLS):
            line(name, lams, acc[:, k], SKILL_COLORS[k])
        which = SKILLS.index(str(self.params["sweep"]))
        vlines([model.lambdas[which]], ["now"])

    def _settled_sweep(self):
        """The sweep (15 merges measured) once the sliders have rested for a moment; while one is
        dragged the plot keeps the last one, so that dragging stays smooth."""
        key = (id(self.model.run), self.model.lambdas, self.params["sweep"])
        now = time.perf_counter()
        if key != self._sweep_key:
            self._sweep_key, self._sweep_moved = key, now
        if self._sweep_value is None or (self._sweep_value[0] != key and now - self._sweep_moved > SETTLE_S):
            self._sweep_value = (key, self.model.sweep())
        return self._sweep_value[1]

    def _merge_plot(self, run) -> None:
        model = self.model
        names = ["pre", "1 start", "2 starts", "matched"]
        set_ticks(list(range(len(names))), names)
        hline(CHANCE, PALETTE.muted)
        if not model.finished or self._merge_hidden():
            return
        m = model.merges()
        pre = model.reference()["pre"]
        values = [float((pre[0] + pre[1]) / 2), m["shared"], m["different"], m["aligned"]]
        for i, (value, color) in enumerate(zip(values, (PALETTE.muted, PALETTE.purple, PALETTE.vermillion, PALETTE.yellow))):
            bars(names[i], [i], [value], 0.6, color)
