"""The Token Flow's view: the tokens on the sphere (or the circle, seen from above, with their density
drawn as a ring around it), the trails of the first tokens, and the plots: clusters and spread
against depth, and, once measured, how discrete layers converge to the continuous flow."""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui

from sandbox.gfx.camera import OrbitCamera
from sandbox.kit import PALETTE, Plot, line, plot_strip, titled
from sandbox.kit.color import hues
from sandbox.view import View

from . import flow

MUTED = PALETTE.muted
GRID = PALETTE.grid.alpha(0.45)
DENSITY = PALETTE.sky
TRAIL = 24  # layers of trail drawn behind the first tokens
LABELLED = 0.05  # clusters holding at least this share of the tokens get a label
TRAILED = 48  # how many of the first tokens get a trail
SPHERE_HOME = ((0.0, 0.0, 0.0), 3.6, -0.6, 0.45)
CIRCLE_HOME = ((0.0, 0.0, 0.0), 4.0, -math.pi / 2, 1.5)  # from above: the circle lies in the plane z = 0


def _sphere_grid(rings: int = 6, meridians: int = 8, sides: int = 72) -> np.ndarray:
    """Segments (pairs of points) of latitude and longitude lines on the unit sphere."""
    t = np.linspace(0.0, 2 * math.pi, sides + 1)
    segments = []
    for k in range(1, rings):
        lat = -math.pi / 2 + math.pi * k / rings
        ring = np.stack([math.cos(lat) * np.cos(t), math.cos(lat) * np.sin(t), np.full_like(t, math.sin(lat))], 1)
        segments.append(np.stack([ring[:-1], ring[1:]], 1).reshape(-1, 3))
    s = np.linspace(-math.pi / 2, math.pi / 2, sides // 2 + 1)
    for k in range(meridians):
        lon = math.pi * 2 * k / meridians
        arc = np.stack([np.cos(s) * math.cos(lon), np.cos(s) * math.sin(lon), np.sin(s)], 1)
        segments.append(np.stack([arc[:-1], arc[1:]], 1).reshape(-1, 3))
    return np.concatenate(segments)


SPHERE_GRID = _sphere_grid(sides=48)


def _circle(radius: float = 1.0, sides: int = 180) -> np.ndarray:
    t = np.linspace(0.0, 2 * math.pi, sides + 1)
    return np.stack([radius * np.cos(t), radius * np.sin(t)], 1)


def token_colors(x0: np.ndarray) -> np.ndarray:
    """A colour per token from where it started (its longitude on the colour wheel, lighter to the
    north on the sphere), so a cluster shows which tokens it gathered."""
    turn = (np.arctan2(x0[:, 1], x0[:, 0]) / (2 * math.pi)) % 1.0
    colors = hues(turn, saturation=0.7)
    if x0.shape[1] == 3:
        colors[:, :3] = colors[:, :3] * (0.75 + 0.25 * x0[:, 2:3]) + 0.15 * (1 + x0[:, 2:3]) / 2
    return np.clip(colors, 0.0, 1.0)


CIRCLE = _circle()


class TokenFlowView(View):
    camera = "3d"
    controls = ()  # the tokens move by the flow alone; the scene answers to the orbit camera

    def __init__(self, context):
        super().__init__(context)
        self.order = None  # the latest convergence measurement (flow.convergence), made on request
        self.order_key = None

    def make_camera(self):
        return OrbitCamera(*SPHERE_HOME)

    def on_reset(self) -> None:
        self.cam.home = CIRCLE_HOME if self.model.d == 2 else SPHERE_HOME
        self.cam.reset()

    # -- the scene ---------------------------------------------------------------------------------
    def scene(self, frame) -> None:
        model, paint, mvp, vp = self.model, self.painter, frame.mvp, frame.viewport
        if model.d == 3:
            paint.lines(mvp, SPHERE_GRID, GRID, 1.0, vp, strip=False)
        else:
            paint.lines(mvp, CIRCLE, GRID, 1.5, vp)
            paint.lines(mvp, self.density_ring(), DENSITY, 2.0, vp)
        colors = self.cache_colors()
        size = float(np.clip(14.0 / math.sqrt(max(len(model.x), 1) / 64.0), 2.0, 11.0))
        trail = self.trails()
        if trail is not None:
            paint.lines(mvp, trail, PALETTE.white.alpha(0.35), 1.0, vp, strip=False)
        paint.points(mvp, model.x, colors, size)
        big = [c for c in self.cluster_centres() if c[1] >= LABELLED]
        if model.params["projection"] and big:
            # a collapsed cluster is many tokens on one spot: a halo sized by its share shows how many
            halos = np.array([0.5 + 0.5 * colors[members].mean(axis=0) for _, _, members in big])  # lighter than its tokens
            halos[:, 3] = 0.45
            paint.points(mvp, np.array([self._lift(c) / 1.08 for c, _, _ in big]), halos,
                         np.array([10.0 + 40.0 * math.sqrt(share) for _, share, _ in big]))

    def cache_colors(self) -> np.ndarray:
        model = self.model
        key = (id(model.x0), len(model.x0))
        if getattr(self, "_colors_key", None) != key:
            self._colors, self._colors_key = token_colors(model.x0), key
        return self._colors

    def density_ring(self) -> np.ndarray:
        """The density of the tokens on the circle drawn outside it: radius 1.12 + 0.1 log(1 + 2πρ),
        so the uniform start (ρ = 1/2π) is a thin ring and a cluster a tall spike."""
        rho = self.model.density()
        angles = np.linspace(-math.pi, math.pi, len(rho), endpoint=False) + math.pi / len(rho)
        radius = 1.12 + 0.1 * np.log1p(2 * math.pi * rho)
        ring = np.stack([radius * np.cos(angles), radius * np.sin(angles)], 1)
        return np.vstack([ring, ring[:1]])

    def trails(self) -> np.ndarray | None:
        """Segments following the first tokens over the last TRAIL layers."""
        _steps, snaps = self.run.arrays("sample")
        if len(snaps) < 2:
            return None
        recent = [s[:TRAILED] for s in snaps[-TRAIL:] if len(s) >= 1]
        count = min(len(s) for s in recent)
        path = np.stack([s[:count] for s in recent], 0)  # (layers, tokens, d)
        if not np.all(np.isfinite(path)) or np.abs(path).max() > 50:
            return None
        return np.stack([path[:-1], path[1:]], 2).reshape(-1, path.shape[-1])

    def overlay(self, draw_list, frame) -> None:
        model = self.model
        moves = " + ".join(model.moves()) or "no move"
        lines = [f"layer {model.layers}, time {model.time:.3g}, β = {model.params['beta']:.3g}", moves]
        if not self.challenge.hide_answers:
            count, largest = model.clusters()
            lines.append(f"{count} cluster{'s' if count != 1 else ''}, the largest {largest:.0%}")
        if not model.params["projection"]:
            lines.append(f"projection off: mean |x| = {np.linalg.norm(model.x, axis=1).mean():.3g}")
        frame.caption(draw_list, lines)
        if self.challenge.hide_answers or not model.params["projection"]:
            return
        labels = []
        big = [(c, share) for c, share, _ in self.cluster_centres() if share >= LABELLED]
        for rank, (center, share) in enumerate(big[:4]):
            labels.append((self._lift(center), f"{share:.0%}", PALETTE.text, 3 - min(rank, 2)))
        frame.labels(draw_list, labels)

    def _lift(self, point) -> np.ndarray:
        p = np.zeros(3)
        p[:len(point)] = 1.08 * np.asarray(point) / max(np.linalg.norm(point), 1e-12)
        return p

    def cluster_centres(self) -> list[tuple[np.ndarray, float, np.ndarray]]:
        """The clusters' mean directions, their shares of the counted tokens and their members,
        biggest first."""
        model = self.model
        key = (model.seed, model.layers, id(model.x))
        if getattr(self, "_centres_key", None) != key:
            x = model.x[:flow.CLUSTER_SAMPLE]
            self._centres = [(x[members].mean(axis=0), len(members) / len(x), members) for members in flow.clusters(x)]
            self._centres_key = key
        return self._centres

    # -- the panel ---------------------------------------------------------------------------------
    def panel(self) -> None:
        imgui.separator()
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(MUTED, "One layer = the moves switched on above: attention, MLP, projection. "
                                  "Switch one off and play.")
        if imgui.button("Run 100 layers and stop"):
            self.transport.run_until(self.run.steps + 100)
        imgui.same_line()
        if imgui.button("Measure the order"):
            self.order = self.model.convergence()
        if imgui.is_item_hovered():
            imgui.set_tooltip("Integrate 32 of these tokens to time 2 with layers of step h = 0.1 down to 0.00625 "
                              "and compare with a fine integration: how fast does the error fall with h?")
        if self.order is not None:
            o = self.order
            imgui.text_colored(PALETTE.orange, f"Euler layers: error ∝ h^{o['euler_order']:.2f}")
            imgui.text_colored(PALETTE.green, f"Heun layers:  error ∝ h^{o['heun_order']:.2f}")
        d = self.model.d
        y = np.array([0.3, -1.2, 2.0, 0.7][:d + 1])
        ln = flow.layer_norm(y)
        imgui.text_colored(MUTED, f"LayerNorm of a vector of R^{d + 1}: mean {abs(ln.mean()):.0e}, "
                                  f"norm {np.linalg.norm(ln):.4f} = √{d + 1}: a point of a sphere of dimension {d - 1}.")
        imgui.pop_text_wrap_pos()

    # -- the plots ---------------------------------------------------------------------------------
    def plots(self) -> None:
        # the count sits on its least value for most of a run: a margin keeps that line clear of the frame
        items = [Plot("###clusters", series=["clusters"], x_label="layer", margin=True, colors={"clusters": PALETTE.orange},
                      priority=2.0),
                 Plot("###spread", series=["spread"], x_label="layer", y_log=True, colors={"spread": PALETTE.green},
                      min_width=9.0, priority=1.0)]
        wordings = [["clusters against depth", "clusters"], ["spread 1 − |mean|²", "spread"]]
        if self.order is not None:
            items.append(Plot("###order", self._order_plot, x_label="h", y_label="error", x_log=True, y_log=True,
                              min_width=12.0, priority=3.0))
            wordings.append(["error at time 2 against h", "error against h", "order"])
        plot_strip(self.context, titled(items, wordings))

    def _order_plot(self, run) -> None:
        o = self.order
        line("Euler", o["h"], o["euler"], PALETTE.orange, 2.5, marker=3.0)
        line("Heun", o["h"], o["heun"], PALETTE.green, 2.5, marker=3.0)
        line("slopes 1 and 2", o["h"], o["euler"][0] * o["h"] / o["h"][0], MUTED, 1.0, legend=False)
        line("slopes 1 and 2", o["h"], o["heun"][0] * (o["h"] / o["h"][0]) ** 2, MUTED, 1.0, legend=False)
