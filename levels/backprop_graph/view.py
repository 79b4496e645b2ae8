"""The Backprop Graph's view.

One pane: the graph, inputs on the left and the loss on the right. Each node is a box with its
name, its formula, its value once the forward pass reaches it, and (orange) its gradient ∂L/∂node
once the backward pass has brought it back, or (green, forward mode) its tangent ∂node/∂xₖ for the
input whose pass is under way. Every edge is labelled with its local derivative. The paths from the
chosen input (click an input, or pick it in the panel) to the loss are drawn under the edges, one
colour each; the panel lists each path's product and their sum beside backprop and finite
differences, and the seed's closed forms checked live.
"""

from __future__ import annotations

import itertools

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.draw import arrows
from sandbox.kit import PALETTE, Plot, bars, plot_strip, set_ticks, titled, first_fit
from sandbox.view import View

from .graphs import (
    GRAPHS,
    LAYERNORM_UPSTREAM,
    cross_entropy_gradient,
    layernorm_gradient_fd,
    layernorm_terms,
    relu_gradient,
    scalar_fd,
    sigmoid,
    softmax_jacobian,
    softmax_jacobian_fd,
)
from .model import FORWARD, REVERSE

VALUE = PALETTE.text
GRAD = PALETTE.orange  # adjoints ∂L/∂node (reverse mode)
TANGENT = PALETTE.green  # tangents ∂node/∂x_k (forward mode)
EDGE = PALETTE.muted
MUTED = PALETTE.muted
PATHS = (PALETTE.sky, PALETTE.purple, PALETTE.vermillion, PALETTE.blue, PALETTE.yellow, PALETTE.white)
CHOSEN = PALETTE.white  # the rim of the input whose paths are shown
BOX = PALETTE.plate
ACTIVE = PALETTE.yellow
PAD = 4.0  # window units around a node's text
ARROW_HEAD = 11.0  # window units
CLICK_EMS = 1.5
TALL_LINES = 12  # a pane this many lines tall has room for a second caption line and the legend
SMALL_GRAPH = 12  # a graph with at most this many edges has every edge labelled  # how close (font sizes) a click must be to an input node's centre to pick it


def fmt(value: float) -> str:
    """A number as the scene shows it: three significant digits, a real minus sign, no −0."""
    if abs(value) < 5e-13:
        value = 0.0
    return f"{value:.3g}".replace("-", "−")


class BackpropView(View):
    camera = "2d"
    controls = (("click an input node", "shows every path from it to the loss, and their products in the panel"),
                ("N (while paused)", "one step of the forward or backward pass"))

    def __init__(self, context):
        super().__init__(context)
        self.start: int | None = None  # the input whose paths are shown (a node index)
        self.hover_path: int | None = None  # the panel row under the mouse
        self._framed = None
        self._preview = None
        self._boxes: dict[int, tuple[float, float]] = {}  # node -> half size (world) this frame
        self._detail = 0
        self._stretch = 1.0  # world x per column: set by _fit to fill the pane

    # -- what is shown ---------------------------------------------------------------------------
    @property
    def shown(self):
        """The model the scene shows: while a prediction is made, the open challenge's graph with its
        forward pass done and nothing of its backward pass; else the run on screen."""
        challenge = self.challenge.open
        if not self.challenge.choosing or challenge is None:
            return self.model
        if self._preview is None or self._preview[0] != challenge.id:
            params = self.context.manifest.resolve_params(challenge.set)
            preview = type(self.model)(dict(params), backend=self.model.backend)
            preview.reset(challenge.seed)
            preview.t = len(preview.order()) if preview.mode == REVERSE else 0
            self._preview = (challenge.id, preview)
        return self._preview[1]

    @property
    def hiding(self) -> bool:
        return bool(self.challenge.hide_answers)

    def on_reset(self) -> None:
        self._framed = None
        self.start = None

    def _start(self, model) -> int:
        """The input whose paths are shown: the one clicked, else the one with the most paths."""
        graph = model.graph()
        if self.start in graph.inputs:
            return self.start
        return max(graph.inputs, key=lambda i: (len(graph.paths(i)), -i))

    # -- layout ----------------------------------------------------------------------------------
    def _world(self, node) -> np.ndarray:
        """Where a node's centre is drawn: its column stretched by the pane's shape (see _fit)."""
        return np.array([node.at[0] * self._stretch, -node.at[1]], np.float64)

    @staticmethod
    def _tall(frame) -> bool:
        """Whether the pane has room for a second caption line and the colour legend."""
        return frame.size[1] > TALL_LINES * imgui.get_text_line_height()

    def _texts(self, model, i: int, detail: int, now=None) -> list[tuple[str, object]]:
        """The lines of node i's box at a level of detail (0 most): name and formula, value, and
        its gradient or tangent once known (never while a prediction is open). ``now``: the
        model's (graph, snapshot, values), fetched once a frame."""
        graph, snap, values = now or (model.graph(), model.snapshot(), model.values())
        node, out = graph.nodes[i], graph.nodes[graph.output].name
        value = values[i]
        head = node.name if node.is_input or detail else f"{node.name} = {node.formula}"
        shown = fmt(value) if snap.values_known[i] else "?"
        lines = [(head, VALUE), (f"= {shown}" if detail < 2 else shown, VALUE if snap.values_known[i] else MUTED)]
        if detail == 3:  # the smallest: name and value on one line
            lines = [(f"{node.name} {shown}", VALUE if snap.values_known[i] else MUTED)]
        if self.hiding:
            return lines
        if model.mode == REVERSE and snap.adjoint_done[i]:
            g = fmt(snap.adjoint[i])
            lines.append((f"∂{out}/∂{node.name} = {g}" if detail == 0 else g, GRAD))
        elif model.mode == FORWARD and snap.tangent_known[i] and snap.pass_input >= 0:
            x = graph.nodes[graph.inputs[snap.pass_input]].name
            t = fmt(snap.tangent[i])
            lines.append((f"∂{node.name}/∂{x} = {t}" if detail == 0 else t, TANGENT))
        return lines

    def _sizes(self, model, detail: int) -> dict[int, tuple[float, float]]:
        """Each node's box size (window units) at a level of detail."""
        line = imgui.get_text_line_height()
        out = {}
        now = (model.graph(), model.snapshot(), model.values())
        for i in range(len(now[0].nodes)):
            texts = self._texts(model, i, detail, now)
            width = max(imgui.calc_text_size(t).x for t, _ in texts)
            out[i] = (width + 2 * PAD, len(texts) * line + 2 * PAD)
        return out

    def _fit(self, frame, model) -> None:
        """Frame the graph below a caption's room, choosing the most detailed node text that fits
        between the columns and rows at this size and scale."""
        graph = model.graph()
        width, height = frame.size
        line = imgui.get_text_line_height()
        key = (round(width), round(height), line, model.params["graph"], model.mode, id(model))
        if self._framed == key:
            return
        self._framed = key
        at = np.array([(n.at[0], -n.at[1]) for n in graph.nodes], np.float64)  # columns and rows, unstretched
        (x0, y0), (x1, y1) = at.min(0), at.max(0)
        span_x, span_y = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
        tall = self._tall(frame)
        above = (2 if tall else 1) * (line + 6.0) + 14.0  # the caption at the top
        below = line + 20.0 if tall else 6.0  # the colour legend at the bottom
        self._detail = 3
        for detail in (0, 1, 2, 3):
            sizes = self._probe_sizes(model, detail)
            bw, bh = max(s[0] for s in sizes.values()), max(s[1] for s in sizes.values())
            # window units per column and per row when the boxes' centres fill what is left of the
            # pane: columns and rows scale apart (the graph's shape is free), within a factor of 3
            sy = max((height - above - below - bh) / span_y, 1e-3)
            sx = float(np.clip((width - bw - 16.0) / span_x, sy / 3.0, 3.0 * sy))
            self._detail = detail
            # every pair of boxes apart, across or down
            if all(abs(p[0] - q[0]) * sx >= bw + 8.0 or abs(p[1] - q[1]) * sy >= bh + 4.0
                   for k, p in enumerate(at) for q in at[k + 1:]):
                break
        self._stretch = sx / sy
        x0, x1 = x0 * self._stretch, x1 * self._stretch
        pad_x = (bw / 2 + 8.0) / sy
        self.cam.fit(x0 - pad_x, x1 + pad_x, y0 - (bh / 2 + below) / sy, y1 + (bh / 2 + above) / sy, 0.0,
                     follow=True)
        self.context.request_frames(2)

    def _probe_sizes(self, model, detail: int):
        """Box sizes with every line a node can show (so the fit does not change as the passes go)."""
        line = imgui.get_text_line_height()
        graph, out = model.graph(), {}
        name = graph.nodes[graph.output].name
        for i, node in enumerate(graph.nodes):
            head = node.name if node.is_input or detail else f"{node.name} = {node.formula}"
            grad = f"∂{name}/∂{node.name} = −0.000" if detail == 0 else "−0.000"
            texts = (head, "= −0.000" if detail < 2 else "−0.000", grad) if detail < 3 else (f"{node.name} −0.000", grad)
            widths = [imgui.calc_text_size(t).x for t in texts]
            out[i] = (max(widths) + 2 * PAD, len(texts) * line + 2 * PAD)
        return out

    # -- the scene -------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        model = self.shown
        self._fit(frame, model)
        self.gl.disable(self.gl.DEPTH_TEST)
        graph, snap = model.graph(), model.snapshot()
        per_pixel = frame.world_per_pixel()
        sizes = self._sizes(model, self._detail)
        self._boxes = {i: (0.5 * w * per_pixel, 0.5 * h * per_pixel) for i, (w, h) in sizes.items()}
        pts = [self._world(n) for n in graph.nodes]
        # the paths from the chosen input, under the edges, each offset a little so that shared edges show all
        start = self._start(model)
        paths = graph.paths(start)
        for k, path in enumerate(paths):
            if self.hover_path is not None and self.hover_path != k:
                continue
            color = PATHS[k % len(PATHS)]
            shift = (k - 0.5 * (len(paths) - 1)) * 4.0 * per_pixel if len(paths) <= 6 else 0.0
            points = [pts[i] + np.array([0.0, shift]) for i in path]
            self.lines(frame, points, color.alpha(0.45 if self.hover_path is None else 0.8), 7.0, strip=True)
        strokes: dict = {}  # (colour, width) -> arrow segments: one draw call each
        for p, c, _ in graph.edges():
            a, b = self._edge_ends(pts, p, c)
            style = (EDGE.alpha(0.8), 1.5)
            if not self.hiding and (p, c) in snap.carried:
                style = ((GRAD if model.mode == REVERSE else TANGENT).alpha(0.75), 3.0)
            if not self.hiding and (p, c) in snap.lit:
                style = ((GRAD if model.mode == REVERSE else TANGENT).lighter(0.3), 5.0)
            if model.mode == REVERSE and snap.phase == "forward" and snap.active == c and not self.challenge.choosing:
                style = (ACTIVE, 4.0)
            length = max(float(np.linalg.norm(b - a)), 1e-9)
            head = min(ARROW_HEAD * per_pixel, 0.4 * length)  # a head of a fixed size on screen
            strokes.setdefault(style, []).append(arrows(a[None], (b - a)[None], head / length))
        for (color, width), segments in strokes.items():
            self.lines(frame, np.concatenate(segments), color, width)
        boxes = np.array([(x - hw, x + hw, y - hh, y + hh) for (x, y), (hw, hh) in
                          zip(pts, (self._boxes[i] for i in range(len(pts))))])
        self.rects(frame, boxes, [PALETTE.shadow if n.is_input else BOX for n in graph.nodes])
        rims: dict = {}
        for i in range(len(pts)):
            style = (ACTIVE, 3.0) if i == snap.active and not self.challenge.choosing else ((CHOSEN, 2.0) if i == start else (EDGE, 1.5))
            rims.setdefault(style, []).append(boxes[i])
        for (color, width), rows in rims.items():
            self.outline(frame, np.array(rows), color, width)

    def _edge_ends(self, pts, p: int, c: int) -> tuple[np.ndarray, np.ndarray]:
        """From the parent box's edge to the child box's edge, along the line between their centres."""
        a, b = pts[p], pts[c]
        d = b - a
        n = float(np.linalg.norm(d)) or 1.0

        def leave(i, sign):
            hw, hh = self._boxes.get(i, (0.1, 0.1))
            t = min(hw / max(abs(d[0]), 1e-12), hh / max(abs(d[1]), 1e-12))
            return pts[i] + sign * t * d

        start, end = leave(p, 1.0), leave(c, -1.0)
        if float(np.dot(end - start, d)) <= 0:  # boxes touching: a short stub
            start, end = a + 0.4 * d, a + 0.6 * d
        return start, end - 0.0 * d / n

    # -- text over the scene ---------------------------------------------------------------------
    def overlay(self, draw_list, frame) -> None:
        model = self.shown
        frame.caption(draw_list, self._caption(model, frame))
        graph, snap = model.graph(), model.snapshot()
        now = (graph, snap, model.values())
        line = imgui.get_text_line_height()
        for i, node in enumerate(graph.nodes):
            at = frame.to_overlay(self._world(node))
            texts = self._texts(model, i, self._detail, now)
            top = at.y - frame.origin[1] - 0.5 * len(texts) * line
            for k, (words, color) in enumerate(texts):
                w = imgui.calc_text_size(words).x
                frame.text(draw_list, (at.x - frame.origin[0] - 0.5 * w, top + k * line), words, color, plate=False)
        # every edge's local derivative, at its middle: formula and value (numbers only once revealed)
        pts = [self._world(n) for n in graph.nodes]
        local = model.locals()
        for i, (hw, hh) in self._boxes.items():  # edge labels keep off the boxes
            corner_a = frame.to_overlay(self._world(graph.nodes[i]) + np.array([-hw, hh]))
            corner_b = frame.to_overlay(self._world(graph.nodes[i]) + np.array([hw, -hh]))
            frame.taken.append((corner_a.x - frame.origin[0], corner_a.y - frame.origin[1],
                                corner_b.x - frame.origin[0], corner_b.y - frame.origin[1]))
        items = []
        labelled = self._labelled_edges(model, frame)
        for p, c, k in graph.edges():
            if (p, c) not in labelled:
                continue
            a, b = self._edge_ends(pts, p, c)
            words = graph.nodes[c].derivative_words[k]
            value = fmt(local[(p, c)])
            # the number once the forward pass has reached the edge's child (its inputs are known then)
            if not self.hiding and words != value and snap.values_known[c]:
                words = f"{words} = {value}" if self._detail == 0 else value
            lit = not self.hiding and (p, c) in snap.lit
            items.append((0.5 * (a + b), f"×{words}" if words[0].isdigit() or words[0] == "−" else f"× {words}",
                          ACTIVE if lit else MUTED.lighter(0.35), 3.0 if lit else 1.0, None))
        frame.labels(draw_list, items, always=3.0)
        legend = [("orange: ∂L/∂node, flowing back" if model.mode == REVERSE else "green: ∂node/∂x, flowing forward",
                   GRAD if model.mode == REVERSE else TANGENT)]
        if self.hiding:
            legend = [("gradients hidden until you lock in", MUTED)]
        if self._tall(frame):
            frame.caption(draw_list, legend, corner="bottom-left")

    def _labelled_edges(self, model, frame) -> set:
        """The edges whose local derivative is written: all of a small graph's; on a big one
        (LayerNorm's 31) those lit this step, those on the path hovered in the panel, and those
        touching the node under the mouse, so that the labels never crowd the picture."""
        graph, snap = model.graph(), model.snapshot()
        edges = {(p, c) for p, c, _ in graph.edges()}
        if len(edges) <= SMALL_GRAPH:
            return edges
        out = set() if self.hiding else set(snap.lit)
        if self.hover_path is not None:
            paths = graph.paths(self._start(model))
            if self.hover_path < len(paths):
                path = paths[self.hover_path]
                out |= set(itertools.pairwise(path))
        node = self._node_at(frame, model) if frame.input.hovered else None
        if node is not None:
            out |= {(p, c) for p, c in edges if node in (p, c)}
        return out

    def _node_at(self, frame, model) -> int | None:
        """The node whose box is under the mouse, if any."""
        world = frame.mouse_world()
        if world is None:
            return None
        for i, node in enumerate(model.graph().nodes):
            hw, hh = self._boxes.get(i, (0.0, 0.0))
            centre = self._world(node)
            if abs(world[0] - centre[0]) <= hw and abs(world[1] - centre[1]) <= hh:
                return i
        return None

    def _caption(self, model, frame) -> list:
        graph, snap = model.graph(), model.snapshot()
        room = frame.size[0] - 28.0

        def fit(*wordings):
            return first_fit(wordings, room)

        names = [graph.nodes[i].name for i in graph.inputs]
        node = graph.nodes[snap.active] if snap.active >= 0 else None
        if self.challenge.choosing:
            first = fit("the question's graph: predict, then lock in", "predict, then lock in")
        elif snap.phase == "start":
            first = fit("the inputs are set: the forward pass begins", "the forward pass begins")
        elif model.mode == REVERSE and snap.phase == "forward":
            first = fit(f"forward: {node.name} = {node.formula}", f"forward: {node.name}")
        elif model.mode == REVERSE and snap.phase == "backward":
            first = fit(f"backward: {node.name} sends ∂L/∂{node.name} to its inputs", f"backward: from {node.name}")
        elif model.mode == FORWARD and snap.phase.startswith("pass"):
            x = names[snap.pass_input]
            first = fit(f"forward mode, pass {snap.pass_input + 1} of {len(names)}: ∂·/∂{x}",
                        f"pass {snap.pass_input + 1} of {len(names)}")
        else:
            n = len(names)
            first = (fit(f"done: 1 backward pass gave all {n} gradients", f"1 pass, {n} gradients")
                     if model.mode == REVERSE else
                     fit(f"done: {n} forward passes, one per input", f"{n} passes"))
        if self.challenge.choosing:
            x = graph.nodes[self._start(model)].name
            second = fit(f"the coloured bands: every path from {x} to {graph.nodes[graph.output].name}", "")
        else:
            second = fit("press N (paused) to step; click an input to see its paths", "N: one step", "")
        return [first, (second, MUTED)] if self._tall(frame) else [first]

    # -- input ----------------------------------------------------------------------------------
    def handle_input(self, frame) -> bool:
        """A click on an input node shows its paths."""
        inp = frame.input
        if not inp.clicked or not inp.hovered:
            return False
        world = frame.mouse_world()
        if world is None:
            return False
        graph = self.shown.graph()
        em = imgui.get_font_size() * frame.world_per_pixel()
        for i in graph.inputs:
            hw, hh = self._boxes.get(i, (CLICK_EMS * em, CLICK_EMS * em))
            centre = self._world(graph.nodes[i])
            if abs(world[0] - centre[0]) <= max(hw, CLICK_EMS * em) and abs(world[1] - centre[1]) <= max(hh, CLICK_EMS * em):
                self.start = i
                return True
        return False

    # -- the side panel --------------------------------------------------------------------------
    def panel(self) -> None:
        model = self.shown
        graph, _snap = model.graph(), model.snapshot()
        imgui.separator()
        imgui.push_text_wrap_pos(0.0)
        if not self.challenge.locked and not self.challenge.choosing:
            if imgui.button("Step  (N)"):
                self.transport.step()
            imgui.same_line()
            if imgui.button("Play again"):
                self.transport.reset()
                self.transport.play()
        # passes and products: both modes, counted on this graph (not an answer to anything asked)
        values = model.values()
        n, E = len(graph.inputs), len(graph.edges())
        forward_products = sum(graph.forward_mode(values, k)[1] for k in range(n))
        if not self.hiding:  # the counts answer the challenge on forward mode's cost
            imgui.text("To get all the gradients:")
            imgui.text_colored(GRAD, f"reverse mode: 1 backward pass, {E} products")
            imgui.text_colored(TANGENT, f"forward mode: {n} passes, {forward_products} products")
        imgui.separator()
        start = self._start(model)
        names = [graph.nodes[i].name for i in graph.inputs]
        imgui.text("Paths from")
        for i, name in zip(graph.inputs, names):
            imgui.same_line()
            if imgui.radio_button(f"{name}##start", i == start):
                self.start = i
        out = graph.nodes[graph.output].name
        xname = graph.nodes[start].name
        products = model.path_products(start)
        local = model.locals()
        snap = model.snapshot()
        # the products need every value on the path: they appear once the forward pass is over
        valued = not self.hiding and snap.values_known.all()
        self.hover_path = None
        for k, (path, product) in enumerate(products[:16]):
            words = model.path_name(path)
            if valued:
                words += f":  {' × '.join(fmt(local[(a, b)]) for a, b in itertools.pairwise(path))} = {fmt(product)}"
            imgui.text_colored(PATHS[k % len(PATHS)].lighter(0.2), words)
            if imgui.is_item_hovered():
                self.hover_path = k
        if len(products) > 16:
            imgui.text_colored(MUTED, f"and {len(products) - 16} more")
        if self.hiding:
            imgui.text_colored(MUTED, "each path's product, their sum and the checks appear once you lock in")
            imgui.pop_text_wrap_pos()
            return
        if not valued:
            imgui.text_colored(MUTED, "each path's product appears once the forward pass is over")
            imgui.pop_text_wrap_pos()
            return
        total = sum(p for _, p in products)
        k = graph.inputs.index(start)
        paths = "the one path" if len(products) == 1 else f"the {len(products)} paths"
        imgui.text(f"sum over {paths}: ∂{out}/∂{xname} = {fmt(total)}")
        if snap.known[k]:
            imgui.text_colored(GRAD if model.mode == REVERSE else TANGENT,
                               f"{'backprop' if model.mode == REVERSE else 'forward mode'}: {fmt(snap.gradients[k])}"
                               f"   finite differences: {fmt(model.fd()[k])}")
            imgui.separator()
            self._checks(model)
        else:
            way = "the backward pass" if model.mode == REVERSE else f"the forward-mode pass for {xname}"
            imgui.text_colored(MUTED, f"∂{out}/∂{xname} waits for {way}; the checks follow it")
        imgui.pop_text_wrap_pos()

    def _check(self, what: str, formula, measured) -> None:
        """One line: a closed form against finite differences, with the largest gap between them."""
        gap = float(np.max(np.abs(np.asarray(formula, np.float64) - np.asarray(measured, np.float64))))
        good = gap < 1e-8  # finite differences here are good to about 1e-10
        imgui.text_colored(PALETTE.good if good else PALETTE.bad, f"{'✓' if good else '✗'} {what}: gap {gap:.1e}")

    def _checks(self, model) -> None:
        """The seed's closed forms for this graph, each against finite differences."""
        name, p = model.params["graph"], model.params
        imgui.text("Checked against finite differences now:")
        graph = model.graph()
        self._check("backprop, every input", model.reverse()[0][graph.inputs], model.fd())
        if name == GRAPHS[1]:
            z = float(p["w"] * p["x"] + p["bias"])
            if p["activation"] == "ReLU":
                self._check(f"ReLU′({fmt(z)}) = {fmt(relu_gradient(z))}", relu_gradient(z),
                            scalar_fd(lambda t: max(t, 0.0), z))
                if abs(z) < 1e-5:
                    imgui.text_colored(MUTED, "at z = 0 ReLU has no derivative: 0 is a convention")
            else:
                s = sigmoid(z)
                self._check(f"σ′({fmt(z)}) = σ(1 − σ) = {fmt(s * (1 - s))} ≤ ¼", s * (1 - s), scalar_fd(sigmoid, z))
        elif name == GRAPHS[2]:
            z = model.inputs()
            self._check("softmax Jacobian σᵢ(δᵢⱼ − σⱼ)", softmax_jacobian(z), softmax_jacobian_fd(z))
            g = cross_entropy_gradient(z, int(p["label"]))
            self._check(f"ŷ − y = ({', '.join(fmt(v) for v in g)})", g, model.fd())
        elif name == GRAPHS[3]:
            x, gamma, beta, eps = model.inputs()[:3], float(p["gamma"]), float(p["beta"]), float(p["eps"])
            fd = layernorm_gradient_fd(x, gamma, beta, eps, LAYERNORM_UPSTREAM)
            terms = layernorm_terms(x, gamma, eps, LAYERNORM_UPSTREAM)
            self._check("three terms, s² = σ² + ε", sum(terms), fd)
            for label, term in zip(("direct", "through μ", "through σ²"), terms):
                imgui.text_colored(MUTED, f"   {label}: ({', '.join(fmt(v) for v in term)})")
            printed = layernorm_terms(x, gamma, eps, LAYERNORM_UPSTREAM, as_printed=True)
            self._check("the seed's form, σ² in the last term", sum(printed), fd)

    # -- the plot strip --------------------------------------------------------------------------
    def plots(self) -> None:
        model = self.shown
        shown = [Plot("###work", series=("multiplies", "gradients_known"), y_label="count", priority=0.0,
                      min_width=12.0)]
        wordings = [["work done so far", "work done"]]
        if not self.hiding:  # the cost of each mode, and the gradients: both answer a challenge
            shown.append(Plot("###cost", lambda run: self._cost_plot(model), x_label="", y_label="products",
                              legend=False, priority=1.0, min_width=12.0))
            wordings.append(["products for every gradient", "products", "cost"])
            shown.append(Plot("###gradients", lambda run: self._gradient_plot(model), x_label="", y_label="gradient",
                              priority=2.0, min_width=14.0, margin=True))
            wordings.append(["∂L/∂input: autodiff, finite differences", "∂L/∂input"])
        plot_strip(self.context, titled(shown, wordings))

    def _cost_plot(self, model) -> None:
        graph, values = model.graph(), model.values()
        n = len(graph.inputs)
        forward = sum(graph.forward_mode(values, k)[1] for k in range(n))
        set_ticks([0.0, 1.0], ["reverse", "forward"])
        bars("reverse mode", [0.0], [len(graph.edges())], 0.6, GRAD)
        bars("forward mode", [1.0], [forward], 0.6, TANGENT)

    def _gradient_plot(self, model) -> None:
        graph = model.graph()
        n = len(graph.inputs)
        xs = np.arange(n, dtype=np.float64)
        set_ticks(list(xs), [graph.nodes[i].name for i in graph.inputs])
        snap = model.snapshot()  # the autodiff bars grow as the passes deliver them
        bars("autodiff so far", xs - 0.18, np.where(snap.known, snap.gradients, np.nan), 0.34,
             GRAD if model.mode == REVERSE else TANGENT)
        bars("finite differences", xs + 0.18, np.where(snap.known, model.fd(), np.nan), 0.34, PALETTE.sky)
