"""The Symmetry Lab's view: one station at a time.

Left: a big button that applies g, the input x and the transformed input g·x. Right: one card per
model, with f(g·x) beside g·f(x) (or f(x), for an invariant output), a verdict badge ("moves with
it", "stays", "breaks") and the measured error. The layout is computed in window units, so text
and pictures keep their sizes at any window size and UI scale; the camera frames it exactly.
"""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.draw import arrows
from sandbox.kit import PALETTE, Plot, plot_strip, first_fit
from sandbox.view import View

from .model import ERRORS, SymmetryModel
from .stations import TOLERANCE, relative_error, rot2, shift

POSITIVE, NEGATIVE, DARK = np.array(PALETTE.orange), np.array(PALETTE.blue), np.array([0.08, 0.09, 0.11, 1.0])
BADGE = {"moves with it": PALETTE.sky, "stays": PALETTE.green, "breaks": PALETTE.bad}
BADGE_WORDS = {"moves with it": ("equivariant: moves with it", "moves with it"),
               "stays": ("invariant: stays", "stays"), "breaks": ("breaks", "breaks")}
HIDDEN = PALETTE.muted


def diverging(values: np.ndarray, scale: float) -> np.ndarray:
    """RGBA per value: orange above zero, blue below, as strong as |value| / scale."""
    t = np.clip(np.asarray(values, np.float64).ravel() / max(scale, 1e-300), -1.0, 1.0)[:, None]
    out = DARK + np.maximum(t, 0) * (POSITIVE - DARK) + np.maximum(-t, 0) * (NEGATIVE - DARK)
    out[:, 3] = 1.0
    return out.astype(np.float32)


def grey(values: np.ndarray, low: float, high: float) -> np.ndarray:
    t = np.clip((np.asarray(values, np.float64).ravel() - low) / max(high - low, 1e-300), 0, 1)[:, None]
    out = np.concatenate([0.1 + 0.85 * np.repeat(t, 3, 1), np.ones_like(t)], 1)
    return out.astype(np.float32)


class SymmetryView(View):
    camera = "2d"
    controls = (("click the big button over the input (or press it in the panel)",
                 "applies g once more: every model's error is measured again"),)

    def __init__(self, context):
        super().__init__(context)
        self._framed = None
        self._preview = None  # (challenge id, model) shown while a prediction is chosen
        self._button = None  # the button's box (x, y, w, h), window units from the pane's top-left
        self._outlines: list = []  # boxes to outline this frame, drawn in one call at the end
        self._nearest = None  # ((model, k, card), the nearest shift of a stride-2 output)

    # -- what is shown -----------------------------------------------------------------------------
    @property
    def shown(self) -> SymmetryModel:
        """The model on screen: the open challenge's setup (g applied once) while the learner
        predicts, else the run's."""
        challenge = self.challenge.open
        if not self.challenge.choosing or challenge is None:
            return self.model
        if self._preview is None or self._preview[0] != challenge.id:
            params = self.context.manifest.resolve_params(challenge.set)
            preview = type(self.model)(dict(params), backend=self.model.backend)
            preview.reset(challenge.seed)  # g applied once, as the challenge's run starts
            self._preview = (challenge.id, preview)
        return self._preview[1]

    def on_reset(self) -> None:
        self._framed = None

    def _hidden(self) -> bool:
        """Whether the outputs and verdicts would answer the open challenge now."""
        return bool(self.challenge.hide_answers)

    def _can_apply(self) -> bool:
        return not self.challenge.locked and not self.challenge.choosing

    # -- layout ------------------------------------------------------------------------------------
    def _layout(self, size):
        """Boxes (x, y, w, h) in window units from the pane's top-left, y down. The input pictures
        and the output pictures are shown only where they can be at least three lines tall: a small
        pane (or a large UI scale) keeps the button, the titles and the verdicts."""
        w, h = size
        line = imgui.get_text_line_height()
        pad = 0.6 * line
        top = 12.0 + 2 * (line + 6.0)
        left_w = max(min(0.3 * w, 0.5 * (h - top)), 8 * line)
        pic_top = top + 2.2 * line + pad + line + 4
        side = min(left_w - 2 * pad, (h - pic_top - 2 * pad - line - 4) / 2.0)
        if side >= 3 * line and self._cards(left_w + pad, w - left_w - 2 * pad, top, h - top - pad, line, pad)[0]:
            button = (pad, top, left_w - 2 * pad, 2.2 * line)
            inputs = [(pad + 0.5 * (left_w - 2 * pad - side), pic_top, side, side),
                      (pad + 0.5 * (left_w - 2 * pad - side), pic_top + side + pad + line + 4, side, side)]
            pictures, cards = self._cards(left_w + pad, w - left_w - 2 * pad, top, h - top - pad, line, pad)
        else:  # no room for the inputs: the button spans the pane, the cards fill what is below
            button = (pad, top, min(w - 2 * pad, 24 * line), 2.2 * line)
            inputs = []
            below = top + button[3] + pad
            pictures, cards = self._cards(pad, w - 2 * pad, below, h - below - pad, line, pad)
        return {"button": button, "inputs": inputs, "cards": cards, "line": line, "pictures": pictures}

    @staticmethod
    def _cards(x0, width, y0, height, line, pad):
        """Four cards in a row or two by two, whichever gives larger pictures; (pictures shown?,
        cards). Without pictures a card holds its title and its verdict."""
        best = None
        for cols, rows in ((4, 1), (2, 2)):
            cw, ch = width / cols, height / rows
            pic = min((cw - 3 * pad) / 2.0, ch - 3 * line - 14 - pad)
            if best is None or pic > best[0]:
                best = (pic, cols, rows, cw, ch)
        pic, cols, rows, cw, ch = best
        pictures = pic >= 3 * line
        cards = []
        if not pictures:  # one line per model: its title, then its verdict and error
            step = min(height / 4.0, line + 14.0)
            for k in range(4):
                cy = y0 + k * step
                cards.append({"box": (x0, cy, width, step), "title": (x0 + pad, cy + 4), "a": None, "b": None,
                              "badge": (x0 + pad + 0.42 * width, cy + 4), "title_width": 0.42 * width - pad,
                              "width": 0.58 * width - 2 * pad})
            return pictures, cards
        for k in range(4):
            cx, cy = x0 + (k % cols) * cw, y0 + (k // cols) * ch
            a = (cx + pad, cy + 2 * line + 6, pic, pic)
            b = (cx + 2 * pad + pic, cy + 2 * line + 6, pic, pic)
            cards.append({"box": (cx, cy, cw, ch), "title": (cx + pad, cy + 2), "a": a, "b": b,
                          "badge": (cx + pad, cy + 2 * line + 10 + pic), "title_width": cw - 2 * pad,
                          "width": cw - 2 * pad})
        return pictures, cards

    def _frame(self, frame):
        key = (round(frame.size[0]), round(frame.size[1]), imgui.get_font_size())
        if self._framed != key:
            self._framed = key
            w, h = frame.size
            self.cam.fit(0.0, w, -h, 0.0, 0.0, follow=True)
            self.context.request_frames(2)
        return self._layout(frame.size)

    @staticmethod
    def _world(box):
        """A layout box as a world rectangle (x0, x1, y0, y1): world units are window units, y up."""
        x, y, w, h = box
        return (x, x + w, -(y + h), -y)

    def _at(self, point):
        return np.array([point[0], -point[1]])

    # -- drawing helpers ---------------------------------------------------------------------------
    def _cells(self, frame, name, key, box, colors, rows, cols):
        """A rows × cols grid of coloured cells filling ``box`` (row 0 at the top): one texture quad,
        the texture rebuilt only when ``key`` changes (``colors``: a function making the RGBA rows)."""
        self.cells(frame, name, (key, rows, cols), self._world(box),
                   lambda: np.asarray(colors(), np.float32).reshape(rows, cols, 4))
        self._outlines.append(self._world(box))

    def _heat(self, frame, name, key, box, values, scale):
        """An output drawn as cells: a picture, a matrix (rows = node labels), or a row vector."""
        v = np.asarray(values, np.float64)
        x, y, w, h = box
        if v.ndim == 1:
            n = len(v)
            cell = min(w / n, h)
            box, rows, cols = (x, y + 0.5 * (h - cell), cell * n, cell), 1, n
        else:
            rows, cols = v.shape
            if rows != cols:
                cell = min(w / cols, h / rows)
                box = (x + 0.5 * (w - cell * cols), y, cell * cols, cell * rows)
        self._cells(frame, name, key, box, lambda: diverging(v, scale), rows, cols)

    # -- the scene ---------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        lay = self._frame(frame)
        self.gl.disable(self.gl.DEPTH_TEST)
        model = self.shown
        # the button
        bx = lay["button"]
        self._button = bx
        color = PALETTE.accent if self._can_apply() else PALETTE.muted
        self.rects(frame, self._world(bx), color.alpha(0.35))
        self.outline(frame, self._world(bx), color, 2.0)
        self._outlines = []
        # the inputs
        for i, (box, k) in enumerate(zip(lay["inputs"], (0, model.effective_k))):
            self._draw_input(frame, f"input {i}", box, model, k)
        hidden = self._hidden()
        key = (id(model), model.k)
        for m, (card, outcome) in enumerate(zip(lay["cards"], model.outcomes)):
            x, y, w, h = card["box"]
            self._outlines.append(self._world((x + 2, y, w - 4, h - 4)))
            if hidden or not lay["pictures"]:
                continue
            self._draw_output(frame, f"output {m} moved", key, card["a"], model, outcome, outcome.moved)
            self._draw_output(frame, f"output {m} reference", key, card["b"], model, outcome,
                              self._reference(model, m, outcome))
        if self._outlines:
            self.outline(frame, np.array(self._outlines), PALETTE.grid.alpha(0.6), 1.0)

    def _reference(self, model, m, outcome):
        """What f(g·x) is compared with: g·f(x), or for outputs g has no action on, the closest
        candidate (the nearest shift of a stride-2 output; the flat coordinates of a bent sheet).
        Searched once per application of g."""
        if outcome.expected is not None:
            return outcome.expected
        if model.station.name != "Grids":
            return outcome.out
        key = (id(model), model.k, m)
        if self._nearest is None or self._nearest[0] != key:
            out = outcome.out
            errs = [relative_error(outcome.moved, shift(out, t), out) for t in range(out.shape[-1])]
            self._nearest = (key, shift(out, int(np.argmin(errs))))
        return self._nearest[1]

    def _draw_input(self, frame, name, box, model, k):
        st = model.station
        x = st.x if k == 0 else model.moved_input()
        if st.name in ("Grids", "Groups"):
            img = np.asarray(x, np.float64)
            lo, hi = float(np.min(st.x)), float(np.max(st.x))
            self._cells(frame, name, (id(model), k), box, lambda: grey(img, lo, hi), *img.shape)
        elif st.name == "Graphs":
            self._draw_graph(frame, box, model, k)
        elif st.name == "Geodesics":
            self._draw_sheet(frame, box, model, [(np.asarray(x, np.float64), PALETTE.white)])
        else:
            self._draw_frames(frame, box, model, k)

    def _graph_points(self, box, n):
        x, y, w, h = box
        angle = np.pi / 2 - 2 * np.pi * np.arange(n) / n
        r = 0.38 * min(w, h)
        cx, cy = x + 0.5 * w, y + 0.5 * h
        return np.stack([cx + r * np.cos(angle), -(cy - r * np.sin(angle))], 1)

    def _draw_graph(self, frame, box, model, k):
        """Nodes sit where they are (by identity); relabelling changes only their numbers."""
        A, H = model.station.x
        n = len(A)
        pts = self._graph_points(box, n)
        i, j = np.nonzero(np.triu(np.asarray(A)))
        self.lines(frame, np.stack([pts[i], pts[j]], 1), PALETTE.grid, 1.5)
        feature = np.asarray(H, np.float64)[:, 0]
        self.dots(frame, pts, diverging(feature, float(np.max(np.abs(feature)))), 0.12 * min(box[2], box[3]) + 6)
        self._outlines.append(self._world(box))

    def _draw_sheet(self, frame, box, model, shapes):
        """The sheet seen from its end: each column of vertices is one point of the profile (x, z)."""
        st = model.station
        cols, rows = st.extra["cols"], st.extra["rows"]
        x, y, w, h = box
        self._outlines.append(self._world(box))
        reach = 0.55 * cols
        for P, color in shapes:
            prof = P.reshape(cols, rows, 3)[:, 0, [0, 2]]
            pts = np.stack([x + 0.5 * w + prof[:, 0] / reach * 0.5 * w,
                            -(y + 0.5 * h - prof[:, 1] / reach * 0.5 * h)], 1)
            self.lines(frame, pts, color, 2.5, strip=True)
            self.dots(frame, pts, color, 5.0, rim=2.0)
            src = st.extra["source"] // rows
            self.dots(frame, pts[src:src + 1], PALETTE.yellow, 10.0)

    def _grid_points(self, box, side):
        x, y, w, h = box
        s = min(w, h)
        g = (np.arange(side) + 0.5) / side * s
        X, Y = np.meshgrid(g, g, indexing="ij")
        return np.stack([x + 0.5 * (w - s) + X.ravel(), -(y + 0.5 * (h - s) + Y.ravel())], 1), s / side

    def _world_vectors(self, model, coeffs, theta):
        """Coefficients in each vertex's frame → directions on screen (the surface seen from above:
        the frame's reference axis is the x-axis tilted into the tangent plane)."""
        return np.einsum("nab,nb->na", rot2(theta), np.asarray(coeffs, np.float64))

    def _draw_frames(self, frame, box, model, k):
        """Every vertex's frame axis e₁ (grey) and its input vector (white): turning the frames
        changes the coefficients, never the vectors."""
        st = model.station
        side = st.extra["side"]
        pts, cell = self._grid_points(box, side)
        theta = st.extra["frames"](k)
        coeffs = st.x[0] if k == 0 else model.moved_input()[0]
        axis = np.stack([np.cos(theta), np.sin(theta)], 1) * 0.4 * cell
        self.lines(frame, arrows(pts, axis, 0.3), PALETTE.muted, 1.2)
        vec = self._world_vectors(model, coeffs, theta)
        vec = vec / max(float(np.max(np.linalg.norm(vec, axis=1))), 1e-12) * 0.9 * cell
        self.lines(frame, arrows(pts, vec, 0.3), PALETTE.white, 1.8)
        self._outlines.append(self._world(box))

    def _draw_output(self, frame, name, key, box, model, outcome, values):
        st = model.station
        v = np.asarray(values, np.float64)
        scale = float(np.max(np.abs(np.asarray(outcome.out, np.float64)))) or 1.0
        if st.name == "Geodesics":
            if outcome.model.short == "coordinates":
                return self._draw_sheet(frame, box, model, [(v, PALETTE.white)])
            cols, rows = st.extra["cols"], st.extra["rows"]
            return self._heat(frame, name, key, box, v.reshape(cols, rows).T, scale)
        if st.name == "Gauges" and v.ndim == 2:
            side = st.extra["side"]
            pts, cell = self._grid_points(box, side)
            theta = st.extra["frames"](model.effective_k)
            vec = self._world_vectors(model, v, theta)
            big = max(float(np.max(np.linalg.norm(self._world_vectors(model, outcome.out, st.extra["frames"](0)),
                                                    axis=1))), 1e-12)
            self.lines(frame, arrows(pts, vec / big * 0.9 * cell, 0.3), PALETTE.orange, 1.5)
            self._outlines.append(self._world(box))
            return None
        if st.name == "Gauges":
            side = st.extra["side"]
            return self._heat(frame, name, key, box, v.reshape(side, side).T, scale)
        return self._heat(frame, name, key, box, v, scale)

    # -- text --------------------------------------------------------------------------------------
    def _fit(self, room, *wordings):
        return first_fit(wordings, room)

    def overlay(self, draw_list, frame) -> None:
        lay = self._layout(frame.size)
        model = self.shown
        st = model.station
        room = frame.size[0] - 28.0
        k = model.effective_k
        gk = "g" if k == 1 else "g" + "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(c)] for c in str(k))
        lines = [(self._fit(room, f"{st.name}: {self._station_words(st.name)}", st.name), PALETTE.text)]
        if self.challenge.choosing:
            lines.append((self._fit(room, "the challenge's setup: outputs and verdicts hidden until you lock in",
                                    "outputs hidden until you lock in", "hidden"), HIDDEN))
        else:
            lines.append((self._fit(room, f"‖f(g·x) − g·f(x)‖/‖f(x)‖ measured in {model.params['dtype']}; "
                                          f"rounding is about {1e-16 if model.params['dtype'] == 'float64' else 1e-7:g}",
                                    f"errors in {model.params['dtype']}"), PALETTE.muted))
        frame.caption(draw_list, lines)
        bx = lay["button"]
        action = st.action + ("  (click)" if self._can_apply() else "")
        words = self._fit(bx[2] - 12, action, st.action, st.action.split(" ")[0])
        tw = imgui.calc_text_size(words)
        frame.text(draw_list, (bx[0] + 0.5 * (bx[2] - tw.x), bx[1] + 0.5 * (bx[3] - tw.y)), words,
                   PALETTE.text if self._can_apply() else PALETTE.muted, plate=False)
        line = lay["line"]
        if st.name == "Graphs":
            self._node_labels(draw_list, frame, lay, model)
        for box, name in zip(lay["inputs"], ("x", f"{gk}·x" if k else "g·x: press the button")):
            frame.text(draw_list, (box[0], box[1] - line - 4), self._fit(box[2] + 40, name, name[:8]), PALETTE.text)
        hidden = self._hidden()
        verdicts = model.verdicts()
        for card, outcome, verdict in zip(lay["cards"], model.outcomes, verdicts):
            width = card["width"]
            title = self._fit(card["title_width"], outcome.model.name, outcome.model.short)
            if imgui.calc_text_size(title).x <= card["title_width"] + 4:
                frame.text(draw_list, card["title"], title, PALETTE.text)
            if hidden:
                at = card["badge"] if card["a"] is None else card["a"][:2]
                frame.text(draw_list, at, self._fit(width, "hidden until you lock in", "hidden"), HIDDEN)
                continue
            if not lay["pictures"]:
                self._badge(draw_list, frame, card, model, outcome, verdict, k)
                continue
            a, b = card["a"], card["b"]
            ref = "g·f(x)" if outcome.model.kind == "equivariant" else "f(x)"
            if outcome.expected is None:
                ref = "nearest shift" if st.name == "Grids" else "f(x)"
            frame.text(draw_list, (a[0], a[1] - line - 2), self._fit(a[2] + 6, "f(g·x)", "f(gx)"), PALETTE.text,
                       plate=False)
            short = {"nearest shift": "nearest", "g·f(x)": "gf(x)"}.get(ref, ref)
            frame.text(draw_list, (b[0], b[1] - line - 2), self._fit(b[2] + 6, ref, short), PALETTE.muted,
                       plate=False)
            self._badge(draw_list, frame, card, model, outcome, verdict, k)

    def _badge(self, draw_list, frame, card, model, outcome, verdict, k) -> None:
        """The verdict and the error on one line, in the longest wording that fits the card (the
        error is left out where even its shortest form does not fit)."""
        width = card["width"]
        bx0, by0 = card["badge"]
        if k == 0 or model.is_identity():
            wordings, color = ("g is the identity now", "identity"), PALETTE.muted
        else:
            wordings, color = BADGE_WORDS[verdict], BADGE[verdict]
        err = outcome.error
        gap = imgui.calc_text_size("  ").x
        size = lambda words: imgui.calc_text_size(words).x
        choice = next(((b, e) for b in wordings for e in (f"error {err:.2g}", f"{err:.2g}", f"{err:.0e}")
                       if size(b) + gap + size(e) <= width), (self._fit(width, *wordings), ""))
        frame.text(draw_list, (bx0, by0), choice[0], color)
        if choice[1]:
            frame.text(draw_list, (bx0 + size(choice[0]) + gap, by0), choice[1], PALETTE.muted)

    def _node_labels(self, draw_list, frame, lay, model) -> None:
        """Each node's label: its index before (x) and after (g·x) the relabelling. A node keeps
        its place on screen; only its number changes."""
        n = len(model.station.x[0])
        perm = np.asarray(model.station.extra.get("perm_of")(model.effective_k))
        new_label = np.empty(n, int)
        new_label[perm] = np.arange(n)  # node perm[m] is called m after relabelling
        for box, labels in zip(lay["inputs"], (np.arange(n), new_label)):  # none when the inputs are not shown
            for p, label in zip(self._graph_points(box, n), labels):
                words = str(int(label))
                size = imgui.calc_text_size(words)
                frame.text(draw_list, (p[0] - 0.5 * size.x, -p[1] - 0.5 * size.y), words, PALETTE.text, plate=False)

    @staticmethod
    def _station_words(name: str) -> str:
        return {"Grids": "shift the picture", "Groups": "turn the picture", "Graphs": "relabel the nodes",
                "Geodesics": "bend the sheet without stretching it", "Gauges": "turn every vertex's frame"}[name]

    # -- input --------------------------------------------------------------------------------------
    def handle_input(self, frame) -> bool:
        inp = frame.input
        if not self._can_apply() or self._button is None or not inp.clicked or not inp.hovered:
            return False
        mx, my = (np.asarray(inp.mouse, np.float64) / frame.pixel_ratio)
        x, y, w, h = self._button
        if x <= mx <= x + w and y <= my <= y + h:
            self._apply()
            return True
        return False

    # -- the plot strip -------------------------------------------------------------------------------
    def plots(self) -> None:
        """The four errors against the step on a log axis from 1e-18 (below float64 rounding) to 10;
        an error of exactly 0 (g is the identity) leaves a gap."""
        name = self.model.station.name
        spec = self.context.manifest.plots[name.lower()]
        observables = self.context.manifest.observables
        colors = {s: getattr(PALETTE, observables[s].color) for s in ERRORS[name]}
        line = imgui.get_text_line_height()
        legend = sum(imgui.calc_text_size(observables[s].label).x + 2.5 * line for s in ERRORS[name])
        where = "above" if legend <= 0.9 * imgui.get_content_region_avail().x else "beside"  # a row that fits, else a column
        title = spec.title if where == "above" else "errors"  # beside a legend column the long title is cut
        plot_strip(self.context, [Plot(title, series=ERRORS[name], y_label="relative error", y_log=True,
                                       y_limits=(1e-18, 10.0), colors=colors, legend_at=where)])

    def _apply(self, undo: bool = False) -> None:
        """Apply g once more (or go back to x); while paused, one step records the new errors so the
        table and the plot agree with the cards."""
        if undo:
            self.model.undo_all()
        else:
            self.model.apply()
        if self.transport.paused:
            self.transport.step()

    # -- the side panel -----------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.shown
        st = model.station
        imgui.separator()
        imgui.push_text_wrap_pos(0.0)
        if self._can_apply():
            width = imgui.get_content_region_avail().x
            if imgui.button(st.action, imgui.ImVec2(width, 2.2 * imgui.get_text_line_height())):
                self._apply()
            if imgui.button("Back to x (k = 0)"):
                self._apply(undo=True)
        imgui.text(f"g applied {model.k} time{'s' if model.k != 1 else ''}")
        tol = TOLERANCE[model.params["dtype"]]
        imgui.text_colored(PALETTE.muted, f"exact means an error below {tol:g} ({model.params['dtype']} rounding)")
        for outcome, verdict in zip(model.outcomes, model.verdicts()):
            imgui.text(outcome.model.name)
            if self._hidden():
                imgui.text_colored(HIDDEN, "  verdict hidden until you lock in")
            else:
                imgui.text_colored(BADGE[verdict], f"  {BADGE_WORDS[verdict][0]}, error {outcome.error:.2g}")
            imgui.text_colored(PALETTE.muted, f"  {outcome.model.why}")
        if st.name == "Groups" and not self._hidden():
            degrees = float(str(model.params["angle"]).rstrip("°"))
            if math.remainder(degrees, 90.0) != 0:
                loss = st.extra["round_trip"]()
                imgui.text_colored(PALETTE.yellow, f"{degrees:g}° is not in p4, and a pixel grid turned by it does not "
                                                   "land on pixels: the picture is interpolated, so no network on this "
                                                   f"grid can be exact. Turning the picture by {degrees:g}° and back "
                                                   f"already changes it by {loss:.0%}. Turns that add up to a multiple "
                                                   "of 90° are exact again.")
        imgui.pop_text_wrap_pos()
