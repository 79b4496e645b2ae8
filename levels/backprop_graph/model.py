"""The Backprop Graph: a computational graph evaluated forward and differentiated, one node a step.

A run is an animation of the computation the level teaches. In reverse mode the values flow
forward one node a step, then the adjoints ∂L/∂node flow backward one node a step (each node, once
its adjoint is complete, sends it back along its in-edges multiplied by each local derivative):
one backward pass gives every input's gradient. In forward mode each input gets its own pass: the
values and the tangents ∂node/∂xₖ flow forward together, one node a step, and a pass gives one
input's gradient. Pause and press N to go one step at a time. The values the learner edits are
read live: once the animation is over, editing an input shows the new values and gradients at once.
All the mathematics is in :mod:`.graphs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from .graphs import GRAPHS, Graph, classic, layernorm, neuron, softmax_ce

REVERSE, FORWARD = "reverse mode (backprop)", "forward mode"
#: The parameters that hold each graph's input values, in the graph's input order.
INPUT_PARAMS = {
    GRAPHS[0]: ("a", "b"),
    GRAPHS[1]: ("x", "w", "bias"),
    GRAPHS[2]: ("z1", "z2", "z3"),
    GRAPHS[3]: ("x1", "x2", "x3", "gamma", "beta"),
}
#: Two path products are "equal" when they differ by less than this.
SAME = 1e-9


@dataclass
class Snapshot:
    """What is known after ``t`` steps of the animation."""

    values_known: np.ndarray  # bool per node
    adjoint: np.ndarray  # reverse mode: ∂L/∂node accumulated so far (0 where nothing has arrived)
    adjoint_done: np.ndarray  # bool per node: its adjoint is complete
    tangent: np.ndarray  # forward mode: ∂node/∂x_k of the pass under way
    tangent_known: np.ndarray  # bool per node (forward mode)
    pass_input: int  # forward mode: which input's pass is under way (-1: none)
    active: int  # the node being computed this step (-1: none)
    lit: frozenset  # edges (parent, child) that carried a derivative this step
    carried: frozenset  # every edge that has carried a derivative so far
    gradients: np.ndarray  # ∂L/∂input known so far (0 where not yet known)
    known: np.ndarray  # bool per input
    passes: int
    multiplies: int
    phase: str  # "forward", "backward", "pass k", "done"
    finished: bool


class BackpropModel(Model):
    """The level's state: the graph (from the parameters) and the animation's step.

    For the view: ``graph()``, ``values()`` (every node's value), ``locals()`` (every edge's local
    derivative), ``snapshot()`` (what the animation has computed so far), ``fd()`` (finite
    differences of L for every input), ``path_products(i)`` and ``steps_total()``.
    """

    work_unit = "animation steps"

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        self.t = 0

    def step(self) -> None:
        if self.t < self.steps_total():
            self.t += 1

    def finish(self) -> None:
        """Jump to the end of the animation (a challenge's setup is shown this way)."""
        self.t = self.steps_total()

    @property
    def mode(self) -> str:
        return self.params["mode"]

    # -- the graph and its numbers ---------------------------------------------------------------
    @derived("graph", "activation", "target", "label", "eps")
    def graph(self) -> Graph:
        name = self.params["graph"]
        if name == GRAPHS[1]:
            return neuron(self.params["activation"], float(self.params["target"]))
        if name == GRAPHS[2]:
            return softmax_ce(int(self.params["label"]))
        if name == GRAPHS[3]:
            return layernorm(float(self.params["eps"]))
        return classic()

    def inputs(self) -> np.ndarray:
        """The inputs' values, from the parameters."""
        return np.array([float(self.params[n]) for n in INPUT_PARAMS[self.params["graph"]]])

    def _key(self):
        return (self.params["graph"], self.params["activation"], self.params["target"], self.params["label"],
                self.params["eps"], tuple(self.inputs()))

    @derived(key=lambda self: self._key())
    def values(self) -> np.ndarray:
        return self.graph().forward(self.inputs())

    @derived(key=lambda self: self._key())
    def locals(self) -> dict[tuple[int, int], float]:
        return self.graph().locals(self.values())

    @derived(key=lambda self: self._key())
    def fd(self) -> np.ndarray:
        """∂L/∂input by central finite differences (independent of the graph's derivatives)."""
        return self.graph().finite_differences(self.inputs())

    @derived(key=lambda self: self._key())
    def reverse(self) -> tuple[np.ndarray, int]:
        """Every node's adjoint from one backward pass, and its number of multiplications."""
        return self.graph().reverse(self.values())

    def path_products(self, node: int) -> list[tuple[list[int], float]]:
        return self.graph().path_products(self.values(), node)

    def path_name(self, path: list[int]) -> str:
        return " → ".join(self.graph().nodes[i].name for i in path)

    def order(self) -> list[int]:
        """The nodes that are computed (not inputs), in topological order."""
        return [i for i, n in enumerate(self.graph().nodes) if not n.is_input]

    def steps_total(self) -> int:
        """Steps until the animation is over: F forward and F backward (reverse mode), or one pass
        of F steps per input (forward mode), F the number of computed nodes."""
        F = len(self.order())
        return 2 * F if self.mode == REVERSE else F * len(self.graph().inputs)

    # -- the animation ---------------------------------------------------------------------------
    @derived(key=lambda self: (self._key(), self.mode, self.t))
    def snapshot(self) -> Snapshot:
        graph, values, local = self.graph(), self.values(), self.locals()
        n, order, t = len(graph.nodes), self.order(), min(self.t, self.steps_total())
        F, inputs = len(order), graph.inputs
        known_values = np.zeros(n, bool)
        known_values[inputs] = True
        adjoint, adjoint_done = np.zeros(n), np.zeros(n, bool)
        tangent, tangent_known = np.zeros(n), np.zeros(n, bool)
        gradients, known = np.zeros(len(inputs)), np.zeros(len(inputs), bool)
        lit, carried = set(), set()
        active, pass_input, passes, multiplies = -1, -1, 0, 0
        if self.mode == REVERSE:
            for i in order[:t]:
                known_values[i] = True
            active = order[t - 1] if 0 < t <= F else -1
            back = max(t - F, 0)
            if back:
                passes = 1
                adjoint[graph.output] = 1.0
                for j, c in enumerate(order[::-1][:back]):
                    adjoint_done[c] = True
                    for p in graph.nodes[c].parents:
                        adjoint[p] += local[(p, c)] * adjoint[c]
                        multiplies += 1
                        carried.add((p, c))
                        if j == back - 1:
                            lit.add((p, c))
                    active = c
                # a node's adjoint is complete once every child has sent its part
                for i in range(n):
                    if all(adjoint_done[c] for c in graph.children(i)) and (graph.children(i) or i == graph.output):
                        adjoint_done[i] = True
                if back == F:
                    gradients[:] = adjoint[inputs]
                    known[:] = True
            phase = "forward" if t <= F else "backward"
            if t == 0:
                phase = "start"
        else:
            k, j = divmod(t, F) if F else (0, 0)
            for done in range(min(k, len(inputs))):  # the finished passes: their gradients
                tan, count = graph.forward_mode(values, done)
                gradients[done], known[done] = tan[graph.output], True
                multiplies += count
            known_values[:] = t >= F
            if k < len(inputs) and (j or k):
                pass_input, passes = k, k + 1
                tangent[inputs[k]], tangent_known[inputs[k]] = 1.0, True
                reached = np.zeros(n, bool)
                reached[inputs[k]] = True
                for step_i, c in enumerate(order[:j]):
                    known_values[c] = True
                    tangent_known[c] = True
                    for p in graph.nodes[c].parents:
                        if reached[p]:
                            tangent[c] += local[(p, c)] * tangent[p]
                            reached[c] = True
                            multiplies += 1
                            carried.add((p, c))
                            if step_i == j - 1:
                                lit.add((p, c))
                active = order[j - 1] if j else -1
                if j == 0:  # a pass just finished and the next has not begun: show the finished one
                    pass_input, passes = k - 1, k
            elif k >= len(inputs):
                passes, pass_input = len(inputs), len(inputs) - 1
            if j == 0 and k and pass_input >= 0:  # the last pass finished: show its tangents
                tangent, _ = graph.forward_mode(values, pass_input)
                tangent_known[:] = True
                known_values[:] = True
            phase = "done" if t >= self.steps_total() else ("start" if t == 0 else f"pass {pass_input + 1}")
        finished = t >= self.steps_total()
        if finished:  # nothing is moving any more: no edge stays lit
            phase, lit, active = "done", set(), -1
        return Snapshot(known_values, adjoint, adjoint_done, tangent, tangent_known, pass_input, active,
                        frozenset(lit), frozenset(carried), gradients, known, passes, multiplies, phase, finished)

    # -- what the runner records -----------------------------------------------------------------
    def observables(self) -> dict[str, Any]:
        snap = self.snapshot()
        fd = self.fd()
        error = float(np.max(np.abs(snap.gradients - fd)[snap.known])) if snap.known.any() else 0.0
        return {
            "output": float(self.values()[-1]),
            "passes": float(snap.passes),
            "multiplies": float(snap.multiplies),
            "gradients_known": float(np.sum(snap.known)),
            "fd_error": error,
            "gradients": snap.gradients.copy(),
            "known": snap.known.astype(np.float64),
        }

    def state(self) -> dict[str, np.ndarray]:
        return {"values": self.values()}

    # -- challenge measurements ------------------------------------------------------------------
    def _gradient(self, run, name: str) -> float:
        """The gradient of the input ``name`` that the run's animation computed by its end."""
        k = [self.graph().nodes[i].name for i in self.graph().inputs].index(name)
        known = run.array("known")
        if not known[k]:
            raise RuntimeError(f"the run ended before ∂L/∂{name} was computed")
        return float(run.array("gradients")[k])

    def measure_de_db(self, run) -> float:
        """∂e/∂b as the backward pass computed it."""
        return self._gradient(run, "b")

    def measure_dl_dw(self, run) -> float:
        """∂L/∂w as the backward pass computed it."""
        return self._gradient(run, "w")

    def measure_products(self, run) -> float:
        """The local-derivative products the run's passes took, counted as they were made."""
        return float(run.series("multiplies")[-1])

    def _bigger_path(self, start: str) -> str:
        graph = self.graph()
        node = [n.name for n in graph.nodes].index(start)
        paths = self.path_products(node)
        sizes = [abs(p) for _, p in paths]
        if len(paths) == 2 and abs(sizes[0] - sizes[1]) < SAME * max(1.0, max(sizes)):
            return "equal"
        return self.path_name(paths[int(np.argmax(sizes))][0])

    def measure_bigger_path_b(self, run) -> str:
        """Which path from b to e has the larger product of local derivatives (in size)."""
        return self._bigger_path("b")

    def measure_bigger_path_logit(self, run) -> str:
        """Which path from the correct class's logit to L has the larger product (in size)."""
        return self._bigger_path(f"z{'₁₂₃'[int(self.params['label']) - 1]}")
