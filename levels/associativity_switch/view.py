"""The associativity switch's view: the chain φ(Q)·φ(K)ᵀ·V with its parentheses and what each
placement builds (the N×N weights, the d×d state inside the outline of the matrix it replaces, or
SSD's mask, scores and state), every matrix to scale as layout.py places it; clicking φ(Q) or V
moves the parentheses. The plots: both forms' outputs, the memory each holds, the benchmark."""

from __future__ import annotations


import numpy as np
from imgui_bundle import imgui, implot

from sandbox.kit import PALETTE, Plot, finite, fitted_y, hline, line, plot_strip, progress_bar, scatter, vlines
from sandbox.kit.plots import titled
from sandbox.view import EDGE, View

from .kernels import describe_crossover
from .layout import layout, parenthesis

MODES = {"transformer": ("(φ(Q) φ(K)ᵀ) V", "N×N weights"), "rnn": ("φ(Q) (φ(K)ᵀ V)", "d×d state"),
         "ssd": ("(L ∘ C Bᵀ) x", "masked scores and h_t")}  # mode -> (its chain with parentheses, what it builds)
PAREN, CURSOR, FRAME, GHOST = PALETTE.accent, PALETTE.yellow, PALETTE.grid, PALETTE.muted.alpha(0.75)
FORMS = {"quadratic": PALETTE.orange, "linear": PALETTE.sky}  # the quadratic and the linear form, everywhere
OUTPUTS = {"attention": ("quadratic", "recurrent"), "ssd": ("masked", "recurrent")}  # legends: the two forms
MEMORY, BUDGET = PALETTE.purple, PALETTE.muted.alpha(0.6)  # the SSD's memory length 1/(1 − a); the time budget
OPERATOR_SCALE = 1.7  # operators ("·", "=") are drawn this much larger than labels
FRAME_MARGIN = 0.03  # the camera frames the layout with this share of room around it
TEXT_SHARE_MAX = 0.55  # the rows of text take at most this share of the pane's height
TEXT_LINES = 8.0  # lines of text the layout stacks: titles and a hint above, a row between, a caption below
SLIDE_RATE = 9.0  # 1/s: how fast the parentheses slide to their new place
PICTURES = {  # mode -> the model's pictures drawn, each (picture, box, "rows": faint past the cursor, "token": t's)
    "transformer": [("weights", "weights", "rows"), ("v", "values", ""), ("y_quadratic", "Y", "rows")],
    "rnn": [("states", "state", "token"), ("states", "zoom", "token"), ("normalisers", "normaliser", "token"),
            ("y_recurrent", "Y", "rows")],
    "ssd": [("mask", "L", "rows"), ("scores", "scores", "rows"), ("y_ssd", "y", "rows"),
            ("ssd_states", "zoom", "token")],
}
CHAIN = [("fq", "q", ""), ("fkT", "k", ""), ("v", "v", "")]  # the same three factors in every mode
SIGNED = {"v", "y_quadratic", "y_recurrent", "y_ssd", "states", "ssd_states"}  # the diverging map; else viridis


def human_bytes(count: float) -> str:
    power = min(int(np.log10(max(abs(count), 1.0))) // 3, 4)
    return f"{count / 1000 ** power:.3g} {('B', 'kB', 'MB', 'GB', 'TB')[power]}"


class SwitchView(View):
    controls = (("click φ(Q) or V in the chain",
                 ("moves the parentheses: (φ(Q)φ(K)ᵀ)V builds the N×N weights, φ(Q)(φ(K)ᵀV) rolls a d×d state "
                  "(not in SSD mode)")),)

    def __init__(self, context):
        super().__init__(context)
        self.matrix_program = self.program("matrix.glsl")
        self.parens = None  # the parentheses' drawn position, sliding toward the layout's
        self._pane = (960.0, 540.0)  # the scene pane's size in window units, as last drawn

    @property
    def token(self) -> int:
        """The cursor, 1..N, as recorded."""
        return int(np.clip(self.run.latest()["token"], 1, self.params["seq_len"]))

    def layout(self, frame=None) -> dict:
        """The layout for the mode, the sizes, the pane and the text size (the last pane drawn when
        ``frame`` is None); a new one is framed by the camera."""
        if frame is not None:
            self._pane = frame.size
        key = (self.params["mode"], self.params["seq_len"], self.params["d"], *map(round, self._pane),
               imgui.get_font_size())
        return self.cache.get("layout", key, lambda: self._framed(self._fitted(key[:3], self._pane)))

    def _fitted(self, key: tuple, pane: tuple[float, float]) -> dict:
        """The layout whose room for text matches the text's size at the scale the camera will show
        it: the scale depends on the bounds, the bounds on the room, so a few rounds settle both."""
        # A line's room in window units: the font, unless the rows of text (about TEXT_LINES of them)
        # would take more than TEXT_SHARE_MAX of the pane and leave the matrices none.
        room = min(imgui.get_font_size(), TEXT_SHARE_MAX * pane[1] / TEXT_LINES)
        scale = 0.0  # world units per window unit
        for _ in range(12):
            lay = layout(*key, em=room * scale,
                         operator_width=lambda text, scale=scale: imgui.calc_text_size(text).x * OPERATOR_SCALE * scale)
            x0, x1, y0, y1 = lay["bounds"]
            fitted = (1.0 + 2 * FRAME_MARGIN) * max((y1 - y0) / max(pane[1], 1.0), (x1 - x0) / max(pane[0], 1.0))
            if abs(fitted - scale) <= 0.005 * fitted:
                break
            scale = fitted
        return lay

    def _framed(self, lay: dict) -> dict:
        self.cam.fit(*lay["bounds"], margin=FRAME_MARGIN, follow=True)
        if self.parens is not None and self.parens[3] != lay["parens"][3]:
            self.parens = None  # new sizes: no slide from the old ones
        self.context.request_frames(2)
        return lay

    # -- the scene -----------------------------------------------------------------------------
    def _matrix(self, frame, name: str, values: np.ndarray, box, index=None, shown_rows: float = np.inf) -> None:
        """Draw the model's picture ``values`` (or ``values[index]``) on ``box``; rows from ``shown_rows`` faint."""
        picture = values if index is None else values[index]
        texture = self.cache.get(name, (values, index),
                                 lambda: self.gl.texture(picture.shape[::-1], 1, picture.tobytes(), dtype="f4"))
        self.quad(frame, self.matrix_program, texture, edges=tuple(map(float, box)), signed_map=int(name in SIGNED),
                  shown=float(min(shown_rows, 1e9)))

    def scene(self, frame) -> None:
        lay, pictures, t = self.layout(frame), self.model.pictures(), self.token
        boxes = lay["boxes"]
        self.gl.disable(self.gl.DEPTH_TEST)  # flat drawing, in painter's order
        for picture, name, how in CHAIN + PICTURES[self.params["mode"]]:
            if name in boxes:
                self._matrix(frame, picture, pictures[picture], boxes[name], t - 1 if how == "token" else None,
                             t if how == "rows" else np.inf)
        if "ghost" in boxes:  # RNN mode: the outline of the N×N matrix the state replaces
            self.lines(frame, boxes["ghost"].dashed(max(1.0, 0.02 * self.params["seq_len"])), GHOST, 1.5)
        self.outline(frame, [box for name, box in boxes.items() if name != "ghost"], FRAME)
        for name, kind in lay["cursor"]:  # the cursor token's rows and columns (and the keys it has read)
            self.outline(frame, boxes[name].marked(kind, t), CURSOR, 1.5 if kind == "read" else 2.0)
        x_open, x_close, y_mid, height = self._slide_parens(lay, frame.input.dt)
        for x, opening in ((x_open, True), (x_close, False)):
            self.lines(frame, parenthesis(x, y_mid, height, opening, 0.35 * lay["gap"]), PAREN, 3.5, strip=True)

    def _slide_parens(self, lay: dict, dt: float) -> tuple:
        target = np.array(lay["parens"], dtype=np.float64)
        self.parens = target if self.parens is None else target + (self.parens - target) * max(0.0, 1 - dt * SLIDE_RATE)
        if np.abs(target - self.parens).max() > 1e-3:
            self.context.request_frames(2)  # keep sliding while the run is paused
        return tuple(self.parens)

    # -- labels --------------------------------------------------------------------------------
    def overlay(self, draw_list, frame) -> None:
        lay, t, latest, p = self.layout(frame), self.token, self.run.latest(), self.params
        size, big, per_px = imgui.get_font_size(), imgui.get_font_size() * OPERATOR_SCALE, 1.0 / frame.world_per_pixel()

        def free(x0, y0, x1, y1) -> bool:  # in pane units, clear of every text drawn on the pane so far
            return all(x1 <= a or b <= x0 or y1 <= c or e <= y0 for a, c, b, e in frame.taken)

        for text, x, y in lay["operators"]:  # drawn larger than the labels
            at, width = frame.to_overlay((x, y)), imgui.calc_text_size(text).x * OPERATOR_SCALE
            draw_list.add_text(imgui.get_font(), big, imgui.ImVec2(at.x - 0.5 * width, at.y - 0.5 * big),
                               PALETTE.text.u32, text)
            x0, y0 = at.x - frame.origin[0] - 0.5 * width, at.y - frame.origin[1] - 0.5 * big
            frame.taken.append((x0, y0, x0 + width, y0 + big))
        weights, state = human_bytes(latest["attention_bytes"]), human_bytes(latest["state_bytes"])
        caption, color = {
            "transformer": ((f"computed so far: t(t+1)/2 = {t * (t + 1) // 2} weights, {weights} at N = t",
                             f"so far: {t * (t + 1) // 2} weights, {weights}", f"{weights} so far"), PALETTE.text),
            "rnn": ((f"S_t and z_t: {p['d'] ** 2 + p['d']} numbers, {state}, at every token",
                     f"S_t, z_t: {state} at every token", f"{state} at every token"), PALETTE.text),
            "ssd": ((f"memory ≈ 1/(1−a) = {latest['memory_length']:.3g} tokens",
                     f"memory ≈ {latest['memory_length']:.3g} tokens"), MEMORY.lighter())}[p["mode"]]
        labels = [(point, wordings, lines, PALETTE.muted if muted else PALETTE.text, width, 0.5)
                  for point, wordings, lines, muted, width in lay["labels"]]
        labels.append((lay["boxes"][lay["caption"]].bottom(), caption, 0.8, color, lay["width"], 0.5))
        if p["mode"] == "rnn":  # beside the small state, inside the outline
            box, ghost = lay["boxes"]["normaliser"], lay["boxes"]["ghost"]
            labels.append(((box.x1 + 6.0 / per_px, lay["boxes"]["state"].y1), ("S_t, z_t to scale", ""), 0.7,
                           PALETTE.text, ghost.x1 - box.x1 - 12.0 / per_px, 0.0))
        pane_w, pane_h = frame.size
        for point, wordings, lines, color, width, align in sorted(labels, key=lambda label: label[3] == PALETTE.muted):
            at = frame.to_overlay(point)  # the muted notes last: they give way to names and readings
            room = max(width * per_px, imgui.calc_text_size(wordings[-1]).x)  # the last wording goes in any case
            for words in wordings:  # the longest wording that has room and runs into nothing drawn, else none
                w, h = imgui.calc_text_size(words)
                x = min(max(at.x - frame.origin[0] - align * w, EDGE), pane_w - w - EDGE)  # kept inside the pane
                y = min(max(at.y - frame.origin[1] + (lines - 0.5) * size, EDGE), pane_h - h - EDGE)
                if words and w <= room and free(x, y, x + w, y + h):
                    frame.text(draw_list, (x, y), words, color, plate=False)  # which takes its place
                    break

    # -- input ---------------------------------------------------------------------------------
    def handle_input(self, frame) -> bool:
        """A click on φ(Q) moves the parentheses to (φ(Q)φ(K)ᵀ)V, a click on V to φ(Q)(φ(K)ᵀV)."""
        inp = frame.input
        if not (inp.clicked and inp.hovered and not inp.shift) or self.challenge.locked or self.params["mode"] == "ssd":
            return False  # a challenge's parameters are fixed; SSD's chain is C·Bᵀ·x
        boxes, point = self.layout(frame)["boxes"], frame.mouse_world()
        for name, mode in (("q", "transformer"), ("v", "rnn")):
            if boxes[name].contains(point):
                self.context.set_param("mode", mode)
                return True
        return False

    # -- panel ---------------------------------------------------------------------------------
    def panel(self) -> None:
        imgui.separator()
        imgui.text_colored(PALETTE.accent, "Parentheses")
        imgui.begin_disabled(self.challenge.locked)
        for mode, (chain, builds) in MODES.items():
            if imgui.radio_button(f"{chain}##{mode}", self.params["mode"] == mode):
                self.context.set_param("mode", mode)
            imgui.same_line(imgui.get_window_width() * 0.55)
            imgui.text_colored(PALETTE.muted, builds)
        imgui.end_disabled()
        t, n, latest = self.token, self.params["seq_len"], self.run.latest()
        per_token, total = self.model.multiply_adds(t)
        now, all_tokens = {
            "transformer": (f"Token {t} reads {t} keys: {per_token} multiply-adds, growing with t.",
                            f"All N = {n}: {n * (n + 1) // 2} weights, ~{total} multiply-adds."),
            "rnn": (f"Token {t} updates and reads the state: {per_token} multiply-adds, the same at every t.",
                    f"All N = {n}: ~{total} multiply-adds."),
            "ssd": (f"Mask row t: a^(t−j) fades over ~{latest['memory_length']:.3g} tokens.",
                    f"Both forms agree to {latest['ssd_difference']:.1e}.")}[self.params["mode"]]
        imgui.push_text_wrap_pos(0.0)
        imgui.text(now)
        imgui.text_colored(PALETTE.muted, all_tokens)
        imgui.separator()
        self._benchmark_panel()
        imgui.pop_text_wrap_pos()

    def _benchmark_panel(self) -> None:
        """The benchmark's switch and where it is; each form's slope is in the plot and the table."""
        bench, p = self.model.bench, self.params
        imgui.text_colored(PALETTE.accent, "Benchmark on this machine")
        imgui.begin_disabled(self.challenge.locked)
        if imgui.button("Stop the benchmark" if bench is not None else "Run the benchmark"):
            self.context.set_param("benchmark", bench is None)
        imgui.end_disabled()
        if bench is None:
            imgui.text_colored(PALETTE.muted, f"Times both forms as N doubles up to {p['bench_n_max']}, with d = "
                               f"{p['bench_d']}, a few milliseconds per step; the log-log plot fills in live.")
            return
        imgui.same_line()
        progress_bar(bench.progress())
        loop = "compiled (Numba)" if self.model.linear_loop_code() == "numba" else "a Python loop"
        imgui.text_colored(PALETTE.muted, f"quadratic: tiled BLAS products, O(N) memory; linear: token by token, "
                           f"{loop}")
        for form, color in FORMS.items():
            imgui.text_colored(PALETTE.bad if bench.stopped[form] else color, f"{form}: {bench.status(form)}")
        report = bench.crossover_report()
        if "bench_crossover_log10" in self.challenge.hidden():  # the crossover challenge is open
            imgui.text_colored(PALETTE.muted, "The crossover shows once your prediction is checked.")
        elif report is not None:
            words = describe_crossover(report)
            imgui.text_colored(PALETTE.good if report.where == "measured" else PALETTE.muted,
                               words[0].upper() + words[1:] + ".")
        if bench.differences:
            agree = max(bench.differences.values())
            imgui.text_colored(PALETTE.muted, f"Both forms agree: max relative difference {agree:.1e}.")

    def _crossover_open_while_choosing(self) -> bool:
        """The crossover challenge waits for a prediction: the sandbox's timed curves would show where
        they cross (its run, once locked in, is the one to watch)."""
        challenge = self.challenge.open
        return self.challenge.choosing and challenge is not None and "bench_crossover_log10" in challenge.hides

    # -- plots ---------------------------------------------------------------------------------
    def plots(self) -> None:
        ssd = self.params["mode"] == "ssd"
        gap = self.run.latest()["ssd_difference" if ssd else "form_difference"]
        idle = self.model.bench is None or not any(self.model.bench.seconds.values())
        plots = [
            Plot("###outputs", self._outputs_plot, x_label="token t", y_label="y", min_width=10, priority=2),
            Plot("###mask", self._mask_row_plot, x_label="token j", y_label="L_tj", y_limits=(-0.02, 1.05),
                 weight=0.85, when=lambda: ssd, min_width=10, priority=1),
            Plot("###memory", self._memory_plot, x_label="t", y_label="bytes", x_log=True, weight=0.85,
                 when=lambda: not ssd, min_width=10, priority=1, **fitted_y(*self.model.memory_curve()[1:])),
            Plot("###benchmark", self._benchmark_plot, x_label="N", y_label="seconds", x_log=True, y_log=True,
                 weight=1.25, x_limits=(100, 1e5) if idle else None, y_limits=(1e-4, 10) if idle else None,
                 priority=3)]
        plot_strip(self.context, titled(plots, [
            [f"y_t[0] both ways (gap {gap:.0e})", "y_t[0] both ways", "y_t[0]"], [f"L_tj at t = {self.token}", "L_tj"],
            ["memory at token t", "memory"],
            ["benchmark: seconds against N, log-log", "benchmark: seconds vs N", "benchmark"]]))

    def _outputs_plot(self, run) -> None:
        t, labels = self.token, OUTPUTS["ssd" if self.params["mode"] == "ssd" else "attention"]
        for label, y, color, weight in zip(labels, self.model.outputs(), FORMS.values(), (5.0, 1.5)):
            line(label, np.arange(1, t + 1), y[:t, 0], color, weight)

    def _memory_plot(self, run) -> None:
        ts, matrix, state = self.model.memory_curve()
        line("N×N: 4t²", ts, matrix, FORMS["quadratic"])
        line("state: 4(d²+d)", ts, state, FORMS["linear"])
        latest = run.latest()
        scatter("now", [self.token] * 2, [latest["attention_bytes"], latest["state_bytes"]], PALETTE.text, 5.0, False)

    def _mask_row_plot(self, run) -> None:
        t, memory = self.token, run.latest()["memory_length"]
        row = self.model.mask[t - 1, :t]
        js = np.arange(1, t + 1, dtype=np.float64)
        implot.plot_shaded("##L", js, finite(row), 0.0, implot.Spec(fill_color=FORMS["linear"], fill_alpha=0.35))
        line("L_tj", js, row, FORMS["linear"])
        if memory < t:
            vlines([t - memory + 1], ["t − 1/(1−a)"], MEMORY)

    def _benchmark_plot(self, run) -> None:
        bench = self.model.bench
        if self._crossover_open_while_choosing():
            implot.plot_text("hidden", 3e3, 3e-2)
            return
        if bench is None or not any(bench.seconds.values()):
            implot.plot_text("off" if bench is None else "timing …", 3e3, 3e-2)
            return
        for form, color in FORMS.items():
            measured = sorted(bench.seconds[form].items())
            if not measured:
                continue
            ns, seconds = (np.array(column, np.float64) for column in zip(*measured))
            fitted = bench.fit(form)
            line(f"{form}: slope {fitted[0]:.2f}" if fitted else form, ns, seconds, color, 1.5)
            scatter(form, ns, seconds, color, 4.0, legend=False)
            if fitted:
                line(f"fit {form}", *self.model.fitted_line(form), color.alpha(0.45), 6.0, False)
            skipped = [n for n in bench.sizes if n > ns[-1]]
            if bench.stopped[form] is not None and skipped:  # the first size it was not run at
                implot.tag_x(float(skipped[0]), color, f"{form} stopped")
        hline(bench.size_budget_s, BUDGET)
        implot.tag_y(bench.size_budget_s, BUDGET, "budget")
        crossover = bench.crossover()
        if crossover is not None and "bench_crossover_log10" not in self.challenge.hidden():
            vlines([crossover], [f"N≈{crossover:.0f}"], PALETTE.good)
