"""The Backprop Graph's claims, each checked at one point of its range (see [[claims]] in level.toml).

The checks run the level's model through the runner, as the app does, at random input values drawn
from the sliders' ranges, play its animation to the end, and compare what it computed with
independent computations: central finite differences of the forward function, the graph's paths
listed one by one, the seed's closed forms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sandbox.manifest import load_manifest
from sandbox.testing import make_runner

from .graphs import (
    GRAPHS,
    LAYERNORM_UPSTREAM,
    cross_entropy_gradient,
    layernorm_gradient_fd,
    layernorm_terms,
    relu_gradient,
    scalar_fd,
    sigmoid,
    softmax,
    softmax_jacobian,
    softmax_jacobian_fd,
)
from .model import FORWARD, INPUT_PARAMS, REVERSE

HERE = Path(__file__).resolve().parent
LEVEL = "backprop_graph"
#: Random points drawn per claim check.
DRAWS = 8


def random_params(graph: str, rng: np.random.Generator) -> dict:
    """Input values uniform over their sliders' ranges (a neuron's z kept 1e-3 away from ReLU's kink)."""
    params = load_manifest(HERE).params
    out = {"graph": graph}
    for name in INPUT_PARAMS[graph]:
        out[name] = float(rng.uniform(params[name].min, params[name].max))
    if graph == GRAPHS[1]:
        out["activation"] = str(rng.choice(["ReLU", "sigmoid"]))
        out["target"] = float(rng.uniform(-3.0, 3.0))
        z = out["w"] * out["x"] + out["bias"]
        if abs(z) < 1e-3:
            out["bias"] += 0.01
    if graph == GRAPHS[2]:
        out["label"] = int(rng.integers(1, 4))
    if graph == GRAPHS[3]:
        out["eps"] = float(10 ** rng.uniform(-5, 1))
    return out


def played(params: dict, mode: str = REVERSE, seed: int = 0):
    """A runner with these parameters, its animation played to the end."""
    run = make_runner(LEVEL, {**params, "mode": mode}, seed=seed, levels_dir=HERE.parent)
    run.step(run.model.steps_total() + 1)
    assert run.error is None and not run.diverged, run.error
    return run


def check_backprop_matches_finite_differences(graph: str, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(DRAWS):
        run = played(random_params(graph, rng), seed=seed)
        gradients, fd = run.array("gradients"), run.model.fd()
        assert np.all(run.array("known") == 1.0), "the backward pass gave every input's gradient"
        gap = float(np.max(np.abs(gradients - fd) / np.maximum(1.0, np.abs(fd))))
        assert gap < 1e-6, (run.params, gradients, fd)
        assert run.latest()["fd_error"] == float(np.max(np.abs(gradients - fd)))
        worst = max(worst, gap)
    return {"largest relative gap": worst}


def check_sum_over_paths_is_backprop(graph: str, seed: int) -> dict:
    rng = np.random.default_rng(seed + 100)
    counts = {}
    for _ in range(DRAWS):
        run = played(random_params(graph, rng), seed=seed)
        model = run.model
        g = model.graph()
        adjoint = model.reverse()[0]
        for i in range(len(g.nodes)):
            products = model.path_products(i)
            total = sum(p for _, p in products)
            assert abs(total - adjoint[i]) <= 1e-9 * max(1.0, abs(adjoint[i])), (g.nodes[i].name, total, adjoint[i])
        counts = {g.nodes[i].name: len(g.paths(i)) for i in g.inputs}
        if graph == GRAPHS[0]:
            assert counts == {"a": 1, "b": 2}
        if graph == GRAPHS[2]:
            c = int(run.params["label"]) - 1
            p = softmax(model.inputs())
            for j, i in enumerate(g.inputs):
                got = sorted(prod for _, prod in model.path_products(i))
                want = sorted([-1.0, p[c]]) if j == c else [p[j]]
                assert np.allclose(got, want, atol=1e-12), (j, got, want)
        if graph == GRAPHS[3]:
            assert [counts[n] for n in ("x₁", "x₂", "x₃")] == [16, 16, 16]
    return {"paths from each input": counts}


def check_one_backward_pass_gives_all(graph: str, seed: int) -> dict:
    rng = np.random.default_rng(seed + 200)
    params = random_params(graph, rng)
    reverse, forward = played(params, REVERSE, seed), played(params, FORWARD, seed)
    n, E = len(reverse.model.graph().inputs), len(reverse.model.graph().edges())
    r, f = reverse.latest(), forward.latest()
    assert r["passes"] == 1 and r["gradients_known"] == n and r["multiplies"] == E
    assert f["passes"] == n and f["gradients_known"] == n and f["multiplies"] > E
    # during the backward pass no gradient is known: all n arrive together at its end
    known = reverse.series("gradients_known")
    assert set(np.unique(known)) == {0.0, float(n)}
    # forward mode: one more known per pass
    assert list(np.unique(forward.series("gradients_known"))) == list(range(n + 1))
    assert np.allclose(reverse.array("gradients"), forward.array("gradients"), rtol=1e-12, atol=1e-12)
    return {"inputs": n, "reverse products": int(r["multiplies"]), "forward products": int(f["multiplies"]),
            "forward passes": int(f["passes"])}


def check_softmax_jacobian(label: int, seed: int) -> dict:
    rng = np.random.default_rng(seed + 300)
    worst = 0.0
    for _ in range(DRAWS):
        z = rng.uniform(-4.0, 4.0, 3)
        J = softmax_jacobian(z)
        gap = float(np.max(np.abs(J - softmax_jacobian_fd(z))))
        assert gap < 1e-8, gap
        s = softmax(z)
        assert np.allclose(J, np.diag(s) - np.outer(s, s)) and np.allclose(J.sum(0), 0.0)
        run = played({"graph": GRAPHS[2], "z1": z[0], "z2": z[1], "z3": z[2], "label": label}, seed=seed)
        g = cross_entropy_gradient(z, label)
        assert np.allclose(run.array("gradients"), g, atol=1e-12)
        assert np.allclose(run.model.fd(), g, atol=1e-8)
        worst = max(worst, gap)
    return {"largest Jacobian gap": worst}


def check_relu_and_sigmoid_gradients(activation: str, seed: int) -> dict:
    rng = np.random.default_rng(seed + 400)
    for z in rng.uniform(-5.0, 5.0, 50):
        if abs(z) < 1e-3:
            continue
        if activation == "ReLU":
            assert relu_gradient(z) == (1.0 if z > 0 else 0.0)
            assert abs(relu_gradient(z) - scalar_fd(lambda t: max(t, 0.0), z)) < 1e-8
        else:
            s = sigmoid(z)
            assert abs(s * (1 - s) - scalar_fd(sigmoid, z)) < 1e-9 and s * (1 - s) <= 0.25
    if activation == "sigmoid":
        assert sigmoid(0.0) * (1 - sigmoid(0.0)) == 0.25
    # a neuron whose ReLU is off: zero gradient for w and b, though its loss is not zero
    x, w = rng.uniform(0.5, 3.0), -rng.uniform(0.5, 3.0)
    params = {"graph": GRAPHS[1], "x": x, "w": w, "bias": 0.0, "activation": activation, "target": 1.0}
    run = played(params, seed=seed)
    grads = dict(zip(("x", "w", "b"), run.array("gradients")))
    if activation == "ReLU":
        assert grads["w"] == 0.0 and grads["b"] == 0.0 and run.latest()["output"] == 0.5
    else:
        assert abs(grads["w"]) > 0.0
    return {"∂L/∂w at z < 0": grads["w"]}


def check_layernorm_three_terms(eps: float, seed: int) -> dict:
    rng = np.random.default_rng(seed + 500)
    worst_printed = 0.0
    for _ in range(DRAWS):
        x = rng.uniform(-3.0, 3.0, 3)
        gamma = float(rng.uniform(0.5, 3.0))
        fd = layernorm_gradient_fd(x, gamma, 0.2, eps, LAYERNORM_UPSTREAM)
        terms = layernorm_terms(x, gamma, eps, LAYERNORM_UPSTREAM)
        assert np.allclose(sum(terms), fd, atol=1e-7), (sum(terms), fd)
        run = played({"graph": GRAPHS[3], "x1": x[0], "x2": x[1], "x3": x[2], "gamma": gamma, "beta": 0.2,
                      "eps": eps}, seed=seed)
        assert np.allclose(run.array("gradients")[:3], sum(terms), atol=1e-10)
        printed = sum(layernorm_terms(x, gamma, eps, LAYERNORM_UPSTREAM, as_printed=True))
        # the printed third term is the right one times (σ² + ε)/σ²: off by ε/σ² of that term
        var = float(np.var(x))
        assert np.allclose(printed - sum(terms), terms[2] * eps / var, atol=1e-9)
        worst_printed = max(worst_printed, float(np.max(np.abs(printed - fd))))
    if eps >= 0.1:
        assert worst_printed > 1e-3, "with ε comparable to σ² the printed form is visibly wrong"
    return {"largest gap of the seed's printed form": worst_printed}
