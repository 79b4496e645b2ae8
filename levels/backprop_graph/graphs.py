"""Scalar computational graphs, differentiated three ways: reverse mode (backpropagation), forward
mode (one pass per input) and the sum over paths, each checked against finite differences.

A graph is a list of nodes in topological order. Every node that is not an input holds a function
of its parents' values and the local derivatives ∂node/∂parent, one per edge. Nothing here draws
or knows about the engine: the model animates these computations and the view draws them.

The four graphs of the level: the classic e = (a + b)(b + 1); a neuron (w·x + b, then ReLU or a
sigmoid, then a squared error); softmax with cross-entropy over three logits; LayerNorm over three
numbers with a weighted sum as the loss. The seed's closed forms for the softmax Jacobian, the
cross-entropy gradient, ReLU's gradient and LayerNorm's three-term gradient are here too, so that
they can be set against the graph and against finite differences.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

GRAPHS = ("e = (a + b)(b + 1)", "neuron", "softmax + cross-entropy", "LayerNorm")
#: The upstream gradient ∂L/∂y the LayerNorm graph's loss L = Σ cᵢ yᵢ sends back (fixed).
LAYERNORM_UPSTREAM = (1.0, -2.0, 0.5)
#: Central differences step: small enough for the truncation error (~h²), large enough for rounding.
FD_STEP = 1e-5


@dataclass
class Node:
    """One node: its name, the formula shown, its parents, its function and local derivatives."""

    name: str
    formula: str  # what it computes, in words the scene shows ("a + b"); "" for an input
    parents: tuple[int, ...] = ()
    fn: Callable[[Sequence[float]], float] | None = None  # parents' values -> value
    local: Callable[[Sequence[float], float], Sequence[float]] | None = None  # (parents' values, value) -> ∂/∂parent
    at: tuple[float, float] = (0.0, 0.0)  # where it is drawn (columns left to right, rows top down)
    derivative_words: tuple[str, ...] = ()  # each edge's local derivative as a formula ("d", "1")

    @property
    def is_input(self) -> bool:
        return self.fn is None


@dataclass
class Graph:
    """Nodes in topological order; the last is the output (a scalar loss)."""

    title: str
    nodes: list[Node]
    inputs: list[int] = field(default_factory=list)
    _paths: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.inputs = [i for i, n in enumerate(self.nodes) if n.is_input]
        for i, node in enumerate(self.nodes):
            assert all(p < i for p in node.parents), f"{node.name}: parents must come first"

    @property
    def output(self) -> int:
        return len(self.nodes) - 1

    def edges(self) -> list[tuple[int, int, int]]:
        """(parent, child, which parent of the child) for every edge, in the children's order."""
        return [(p, c, k) for c, node in enumerate(self.nodes) for k, p in enumerate(node.parents)]

    def children(self, i: int) -> list[int]:
        return [c for c, node in enumerate(self.nodes) if i in node.parents]

    # -- values and local derivatives ------------------------------------------------------------
    def forward(self, inputs: Sequence[float]) -> np.ndarray:
        """Every node's value, given the inputs' values (in the order of ``self.inputs``)."""
        values = np.zeros(len(self.nodes))
        values[self.inputs] = inputs
        for i, node in enumerate(self.nodes):
            if not node.is_input:
                values[i] = node.fn([values[p] for p in node.parents])
        return values

    def locals(self, values: np.ndarray) -> dict[tuple[int, int], float]:
        """The local derivative ∂child/∂parent on every edge, at these values (an edge used twice by
        one child, as in x·x, would add up: none of the level's graphs has one)."""
        out: dict[tuple[int, int], float] = {}
        for c, node in enumerate(self.nodes):
            if node.is_input:
                continue
            for p, d in zip(node.parents, node.local([values[p] for p in node.parents], values[c])):
                out[(p, c)] = out.get((p, c), 0.0) + float(d)
        return out

    # -- the three ways to the gradient ----------------------------------------------------------
    def reverse(self, values: np.ndarray) -> tuple[np.ndarray, int]:
        """Backpropagation: every node's adjoint ∂L/∂node in one backward pass, and the number of
        multiplications (one per edge) it took."""
        local = self.locals(values)
        adjoint = np.zeros(len(self.nodes))
        adjoint[self.output] = 1.0
        count = 0
        for c in range(len(self.nodes) - 1, -1, -1):
            for p in self.nodes[c].parents:
                adjoint[p] += local[(p, c)] * adjoint[c]
                count += 1
        return adjoint, count

    def forward_mode(self, values: np.ndarray, k: int) -> tuple[np.ndarray, int]:
        """Forward mode for the k-th input: every node's tangent ∂node/∂x_k in one forward pass, and
        the multiplications it took (one per edge whose parent the input reaches)."""
        local = self.locals(values)
        tangent = np.zeros(len(self.nodes))
        tangent[self.inputs[k]] = 1.0
        reached = np.zeros(len(self.nodes), bool)
        reached[self.inputs[k]] = True
        count = 0
        for c, node in enumerate(self.nodes):
            for p in node.parents:
                if reached[p]:
                    tangent[c] += local[(p, c)] * tangent[p]
                    reached[c] = True
                    count += 1
        return tangent, count

    def paths(self, start: int) -> list[list[int]]:
        """Every directed path from node ``start`` to the output, as node lists (listed once per
        node: the graph never changes)."""
        if start not in self._paths:
            self._paths[start] = ([[start]] if start == self.output else
                                  [[start] + rest for c in self.children(start) for rest in self.paths(c)])
        return self._paths[start]

    def path_products(self, values: np.ndarray, start: int) -> list[tuple[list[int], float]]:
        """Each path from ``start`` to the output with the product of the local derivatives on it:
        their sum is ∂L/∂start (the chain rule summed over paths)."""
        local = self.locals(values)
        return [(path, math.prod(local[(a, b)] for a, b in itertools.pairwise(path))) for path in self.paths(start)]

    def finite_differences(self, inputs: Sequence[float], h: float = FD_STEP) -> np.ndarray:
        """∂L/∂x for every input by central differences (L(x + h) − L(x − h)) / 2h."""
        inputs = np.asarray(inputs, np.float64)
        out = np.zeros(len(inputs))
        for k in range(len(inputs)):
            up, down = inputs.copy(), inputs.copy()
            up[k] += h
            down[k] -= h
            out[k] = (self.forward(up)[-1] - self.forward(down)[-1]) / (2.0 * h)
        return out


# ------------------------------------------------------------------------------------------------
# the four graphs


def sigmoid(z: float) -> float:
    """1 / (1 + e^−z), without overflow for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def classic() -> Graph:
    """e = (a + b)(b + 1): b reaches e along two paths, through c = a + b and through d = b + 1."""
    return Graph("e = (a + b)(b + 1)", [
        Node("a", "", at=(0.0, 0.0)),
        Node("b", "", at=(0.0, 2.0)),
        Node("c", "a + b", (0, 1), lambda v: v[0] + v[1], lambda v, y: (1.0, 1.0), (1.0, 0.0), ("1", "1")),
        Node("d", "b + 1", (1,), lambda v: v[0] + 1.0, lambda v, y: (1.0,), (1.0, 2.0), ("1",)),
        Node("e", "c · d", (2, 3), lambda v: v[0] * v[1], lambda v, y: (v[1], v[0]), (2.0, 1.0), ("d", "c")),
    ])


def neuron(activation: str, target: float) -> Graph:
    """z = w·x + b, h = ReLU(z) or σ(z), L = ½(h − y)² with the target y a constant."""
    if activation == "ReLU":
        act = Node("h", "ReLU(z)", (4,), lambda v: max(v[0], 0.0), lambda v, y: (1.0 if v[0] > 0 else 0.0,),
                   (3.0, 1.0), ("1 if z > 0 else 0",))
    else:
        act = Node("h", "σ(z)", (4,), lambda v: sigmoid(v[0]), lambda v, y: (y * (1.0 - y),), (3.0, 1.0),
                   ("σ(1 − σ)",))
    return Graph("neuron", [
        Node("x", "", at=(0.0, 0.0)),
        Node("w", "", at=(0.0, 1.0)),
        Node("b", "", at=(0.0, 2.0)),
        Node("p", "w · x", (1, 0), lambda v: v[0] * v[1], lambda v, y: (v[1], v[0]), (1.0, 0.5), ("x", "w")),
        Node("z", "p + b", (3, 2), lambda v: v[0] + v[1], lambda v, y: (1.0, 1.0), (2.0, 1.0), ("1", "1")),
        act,
        Node("L", f"½(h − {target:g})²", (5,), lambda v: 0.5 * (v[0] - target) ** 2,
             lambda v, y: (v[0] - target,), (4.0, 1.0), ("h − y",)),
    ])


def softmax_ce(label: int) -> Graph:
    """Three logits, their exponentials, the sum S, ŷ_c = e_c / S for the correct class c and
    L = −log ŷ_c. z_c reaches L along two paths (straight through e_c, and through S); every other
    logit along one (through S)."""
    c = label - 1
    sub = "₁₂₃"
    nodes = [Node(f"z{sub[i]}", "", at=(0.0, 1.1 * i)) for i in range(3)]
    nodes += [Node(f"e{sub[i]}", f"exp z{sub[i]}", (i,), lambda v: math.exp(v[0]), lambda v, y: (y,),
                   (1.0, 1.1 * i), (f"e{sub[i]}",)) for i in range(3)]
    nodes.append(Node("S", "e₁ + e₂ + e₃", (3, 4, 5), lambda v: v[0] + v[1] + v[2], lambda v, y: (1.0, 1.0, 1.0),
                      (2.0, 1.1 * c + (0.9 if c < 2 else -0.9)), ("1", "1", "1")))
    nodes.append(Node(f"ŷ{sub[c]}", f"e{sub[c]} / S", (3 + c, 6), lambda v: v[0] / v[1],
                      lambda v, y: (1.0 / v[1], -v[0] / v[1] ** 2), (3.0, 1.1 * c), ("1/S", f"−e{sub[c]}/S²")))
    nodes.append(Node("L", f"−log ŷ{sub[c]}", (7,), lambda v: -math.log(v[0]), lambda v, y: (-1.0 / v[0],),
                      (4.0, 1.1 * c), (f"−1/ŷ{sub[c]}",)))
    return Graph("softmax + cross-entropy", nodes)


def layernorm(eps: float, upstream: Sequence[float] = LAYERNORM_UPSTREAM) -> Graph:
    """y = γ (x − μ)/√(σ² + ε) + β over three numbers, and L = Σ cᵢ yᵢ (c: the gradient arriving
    from the layers above). Every x reaches L through μ, through σ² and straight through."""
    sub = "₁₂₃"
    rows, low = (0.0, 1.2, 2.4), 3.5  # the three lanes, and the row of μ, σ², s, γ and β
    nodes = [Node(f"x{sub[i]}", "", at=(0.0, rows[i])) for i in range(3)]  # 0, 1, 2
    nodes.append(Node("μ", "mean of x", (0, 1, 2), lambda v: sum(v) / 3.0, lambda v, y: (1 / 3, 1 / 3, 1 / 3),
                      (1.0, low), ("⅓", "⅓", "⅓")))  # 3
    nodes += [Node(f"d{sub[i]}", f"x{sub[i]} − μ", (i, 3), lambda v: v[0] - v[1], lambda v, y: (1.0, -1.0),
                   (2.0, rows[i]), ("1", "−1")) for i in range(3)]  # 4, 5, 6
    nodes.append(Node("σ²", "mean of d²", (4, 5, 6), lambda v: sum(t * t for t in v) / 3.0,
                      lambda v, y: tuple(2.0 * t / 3.0 for t in v), (3.0, low), ("⅔d₁", "⅔d₂", "⅔d₃")))  # 7
    nodes.append(Node("s", f"√(σ² + {eps:.3g})", (7,), lambda v: math.sqrt(v[0] + eps),
                      lambda v, y: (0.5 / y,), (4.0, low), ("1/(2s)",)))  # 8
    nodes += [Node(f"x̂{sub[i]}", f"d{sub[i]} / s", (4 + i, 8), lambda v: v[0] / v[1],
                   lambda v, y: (1.0 / v[1], -v[0] / v[1] ** 2), (5.0, rows[i]), ("1/s", f"−d{sub[i]}/s²"))
              for i in range(3)]  # 9, 10, 11
    nodes.append(Node("γ", "", at=(5.5, low)))  # 12
    nodes.append(Node("β", "", at=(6.5, low)))  # 13
    nodes += [Node(f"y{sub[i]}", f"γ x̂{sub[i]} + β", (9 + i, 12, 13), lambda v: v[1] * v[0] + v[2],
                   lambda v, y: (v[1], v[0], 1.0), (6.0, rows[i]), ("γ", f"x̂{sub[i]}", "1")) for i in range(3)]
    c = tuple(float(u) for u in upstream)
    nodes.append(Node("L", "Σ cᵢ yᵢ", (14, 15, 16), lambda v: c[0] * v[0] + c[1] * v[1] + c[2] * v[2],
                      lambda v, y: c, (7.0, rows[1]), tuple(f"{u:g}".replace("-", "−") for u in c)))
    return Graph("LayerNorm", nodes)


# ------------------------------------------------------------------------------------------------
# the seed's closed forms


def softmax(z: Sequence[float]) -> np.ndarray:
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def softmax_jacobian(z: Sequence[float]) -> np.ndarray:
    """∂σᵢ/∂zⱼ = σᵢ(δᵢⱼ − σⱼ)."""
    s = softmax(z)
    return np.diag(s) - np.outer(s, s)


def softmax_jacobian_fd(z: Sequence[float], h: float = FD_STEP) -> np.ndarray:
    """The softmax Jacobian by central differences, column j from nudging zⱼ."""
    z = np.asarray(z, np.float64)
    out = np.zeros((len(z), len(z)))
    for j in range(len(z)):
        up, down = z.copy(), z.copy()
        up[j] += h
        down[j] -= h
        out[:, j] = (softmax(up) - softmax(down)) / (2.0 * h)
    return out


def cross_entropy_gradient(z: Sequence[float], label: int) -> np.ndarray:
    """∂L/∂z = ŷ − y for L = −log softmax(z)_c, with y one-hot at c = label (1-based)."""
    y = np.zeros(len(z))
    y[label - 1] = 1.0
    return softmax(z) - y


def relu_gradient(z: float) -> float:
    """1 for z > 0, 0 for z ≤ 0 (the convention at the kink, where no derivative exists)."""
    return 1.0 if z > 0 else 0.0


def scalar_fd(f: Callable[[float], float], z: float, h: float = FD_STEP) -> float:
    """(f(z + h) − f(z − h)) / 2h."""
    return (f(z + h) - f(z - h)) / (2.0 * h)


def layernorm_forward(x: Sequence[float], gamma: float, beta: float, eps: float) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return gamma * (x - x.mean()) / np.sqrt(x.var() + eps) + beta


def layernorm_terms(x: Sequence[float], gamma: float, eps: float, g: Sequence[float],
                    as_printed: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three terms of ∂L/∂x for y = γ(x − μ)/√(σ² + ε) + β and upstream g = ∂L/∂y:
    (γ/s)·gᵢ (direct), −(γ/s)·mean(g) (through the mean), −(γ/s)·(xᵢ − μ)/(d·s²)·Σ gⱼ(xⱼ − μ)
    (through the variance), with s² = σ² + ε. ``as_printed``: the seed's third term, which divides
    by d·σ² instead of d·(σ² + ε); it is exact only when ε = 0."""
    x, g = np.asarray(x, np.float64), np.asarray(g, np.float64)
    d = len(x)
    centred, var = x - x.mean(), x.var()
    s = math.sqrt(var + eps)
    direct = gamma / s * g
    mean_term = -gamma / s * np.full(d, g.mean())
    divisor = d * (var if as_printed else var + eps)
    var_term = -gamma / s * centred / divisor * float(np.sum(g * centred))
    return direct, mean_term, var_term


def layernorm_gradient_fd(x: Sequence[float], gamma: float, beta: float, eps: float, g: Sequence[float],
                          h: float = FD_STEP) -> np.ndarray:
    """∂(Σ gᵢ yᵢ)/∂x by central differences."""
    x, g = np.asarray(x, np.float64), np.asarray(g, np.float64)
    out = np.zeros(len(x))
    for k in range(len(x)):
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        out[k] = (g @ layernorm_forward(up, gamma, beta, eps) - g @ layernorm_forward(down, gamma, beta, eps)) / (2 * h)
    return out
