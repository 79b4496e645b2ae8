"""The Backprop Graph: its challenges measured from the simulation, its animation computing what the
chain rule says one node a step, and a view that shows no gradient while a prediction is open.

The level's statements across their ranges are its claims (claims.py, run by the engine's tests)."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from sandbox.manifest import load_manifest
from sandbox.testing import (
    cut_off_text,
    headless_app,
    level,
    make_runner,
    measured_outcome,
    open_challenge,
    overlapping_text,
    record_scene_text,
    run_challenge,
)

level("backprop_graph").module("model")  # imports the level's package as the game does
from cf_level_backprop_graph.graphs import GRAPHS, classic
from cf_level_backprop_graph.model import FORWARD, INPUT_PARAMS, REVERSE

LEVEL = "backprop_graph"
HERE = Path(__file__).parent
MANIFEST = load_manifest(HERE)


# ---------------------------------------------------------------------------------------------
# challenges


@pytest.mark.parametrize(("challenge", "expected", "wrong", "hint"), [
    ("de_db", 8.0, 3.0, "both paths"),
    ("dl_dw", 1.5, 2.0, "x, not w"),
    ("dead_relu", 0.0, -1.0, "above or below 0"),
    ("forward_products", 11.0, 6.0, "a pass of its own"),
])
def test_number_challenges_are_measured_from_the_backward_pass(challenge, expected, wrong, hint):
    assert measured_outcome(LEVEL, challenge) == pytest.approx(expected, abs=1e-12)
    assert run_challenge(LEVEL, challenge, expected).correct
    verdict = run_challenge(LEVEL, challenge, wrong, confidence=0.9)
    assert not verdict.correct and hint in verdict.hint


@pytest.mark.parametrize(("challenge", "expected", "wrong"), [
    ("bigger_path", "b → c → e", "b → d → e"),
    ("logit_paths", "z₁ → e₁ → ŷ₁ → L", "z₁ → e₁ → S → ŷ₁ → L"),
])
def test_path_challenges_are_measured_from_the_graph(challenge, expected, wrong):
    assert measured_outcome(LEVEL, challenge) == expected
    assert run_challenge(LEVEL, challenge, expected).correct
    verdict = run_challenge(LEVEL, challenge, wrong, confidence=0.9)
    assert not verdict.correct and verdict.hint


def test_the_path_challenges_choices_name_real_paths_and_equal_is_measurable():
    for challenge in ("bigger_path", "logit_paths"):
        spec = MANIFEST.challenges[challenge]
        run = make_runner(LEVEL, spec.set)
        g = run.model.graph()
        names = {run.model.path_name(p) for i in g.inputs for p in g.paths(i)}
        assert set(spec.choices) - {"equal"} <= names
    # a = 1, b = 2: c = d = 3, the two paths of b give the same product
    run = make_runner(LEVEL, {"a": 1.0, "b": 2.0})
    assert run.model.measure_bigger_path_b(run) == "equal"


def test_every_challenge_runs_to_the_end_of_its_animation():
    for challenge in MANIFEST.challenges.values():
        run = make_runner(LEVEL, challenge.set)
        assert challenge.steps >= run.model.steps_total(), challenge.id
        assert set(challenge.hides) <= set(MANIFEST.observables)


# ---------------------------------------------------------------------------------------------
# the animation


@pytest.mark.parametrize("graph", GRAPHS)
def test_reverse_mode_computes_values_forward_then_gradients_backward(graph):
    run = make_runner(LEVEL, {"graph": graph})
    model = run.model
    order, F = model.order(), len(model.order())
    assert model.steps_total() == 2 * F
    for t in range(1, F + 1):  # forward: one more node's value a step, in topological order
        run.step()
        snap = model.snapshot()
        assert snap.active == order[t - 1] and snap.values_known[order[:t]].all()
        assert not snap.values_known[order[t:]].any() and not snap.adjoint_done.any()
    for t in range(1, F + 1):  # backward: from the output, one node a step
        run.step()
        snap = model.snapshot()
        assert snap.adjoint_done[order[::-1][:t]].all() and snap.passes == 1
        assert snap.known.all() == (t == F), "every gradient arrives at the end of the one pass"
    adjoint = model.reverse()[0]
    assert np.allclose(snap.adjoint, adjoint) and np.allclose(run.array("gradients"), model.fd(), atol=1e-6)
    run.step(5)
    assert model.t == 2 * F and run.latest()["multiplies"] == len(model.graph().edges())


@pytest.mark.parametrize("graph", GRAPHS)
def test_forward_mode_gives_one_gradient_per_pass(graph):
    run = make_runner(LEVEL, {"graph": graph, "mode": FORWARD})
    model = run.model
    n, F = len(model.graph().inputs), len(model.order())
    assert model.steps_total() == n * F
    for k in range(n):
        run.step(F)
        snap = model.snapshot()
        assert snap.known.sum() == k + 1 and snap.passes == k + 1
        assert snap.tangent[-1] == pytest.approx(model.reverse()[0][model.graph().inputs[k]], abs=1e-12)
    assert np.allclose(run.array("gradients"), model.reverse()[0][model.graph().inputs], atol=1e-12)


def test_the_classic_example_is_computed_live():
    run = make_runner(LEVEL)
    run.step(10)
    assert list(run.model.values()) == [2.0, 1.0, 3.0, 2.0, 6.0]
    assert list(run.array("gradients")) == [2.0, 5.0]
    assert [p for _, p in run.model.path_products(1)] == [2.0, 3.0]


def test_editing_an_input_after_the_animation_shows_the_new_gradients_at_once():
    run = make_runner(LEVEL)
    run.step(10)
    run.set_param("b", -2.0)
    run.step()
    assert run.model.t == 6, "no restart"
    assert list(run.array("gradients")) == [-1.0, -1.0 + 0.0]  # d = −1, c = 0: ∂e/∂b = d + c
    assert run.latest()["output"] == 0.0


def test_a_dead_relu_stops_every_gradient_before_it_and_a_sigmoid_does_not():
    params = {"graph": "neuron", "x": 2.0, "w": -1.0, "bias": 0.5, "target": 1.0}
    relu = make_runner(LEVEL, params)
    relu.step(20)
    assert list(relu.array("gradients")) == [0.0, 0.0, 0.0] and relu.latest()["output"] == 0.5
    sigmoid = make_runner(LEVEL, {**params, "activation": "sigmoid"})
    sigmoid.step(20)
    assert np.all(np.abs(sigmoid.array("gradients")) > 0.01)


def test_every_parameter_at_its_ends_runs_without_error():
    for graph in GRAPHS:
        for mode in (REVERSE, FORWARD):
            for end in ("min", "max"):
                params = {"graph": graph, "mode": mode}
                for name in INPUT_PARAMS[graph] + (("eps",) if graph == "LayerNorm" else ()):
                    params[name] = getattr(MANIFEST.params[name], end)
                run = make_runner(LEVEL, params)
                run.step(run.model.steps_total() + 2)
                assert run.error is None and not run.diverged, (params, run.error)
                assert np.all(np.isfinite(run.array("gradients")))
    # LayerNorm with three equal inputs: σ² = 0, and ε keeps s = √ε away from zero
    run = make_runner(LEVEL, {"graph": "LayerNorm", "x1": 1.0, "x2": 1.0, "x3": 1.0})
    run.step(40)
    assert run.error is None and not run.diverged


def test_the_graph_lists_paths_and_counts_edges():
    g = classic()
    assert [[g.nodes[i].name for i in p] for p in g.paths(1)] == [["b", "c", "e"], ["b", "d", "e"]]
    assert len(g.edges()) == 5


def test_witness_runs_and_asserts_the_claims(capsys):
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "de/db = 5.0 = paths 2.0 + 3.0" in out and "seed's printed form" in out


# ---------------------------------------------------------------------------------------------
# the view


def test_while_a_prediction_is_made_no_gradient_is_shown(tmp_path, monkeypatch):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path) as app:
        view = app.host.view
        view_module = sys.modules[type(view).__module__]
        real_strip = view_module.plot_strip
        app.run_frames(5)
        for challenge in MANIFEST.challenges:
            open_challenge(app, challenge)
            boxes.clear()
            app.run_frames(2)
            texts = [b[0] for b in boxes]
            assert view.challenge.choosing and view.shown is not view.model
            assert view.shown.params["graph"] == MANIFEST.resolve_params(MANIFEST.challenges[challenge].set)["graph"]
            assert texts, challenge
            leaks = [t for t in texts if "∂" in t and "hidden" not in t or (t.startswith("×") and "=" in t)]
            assert not leaks, (challenge, leaks)
            strips = []
            monkeypatch.setattr(view_module, "plot_strip", lambda context, plots, strips=strips: strips.append(
                [p.title.split("###")[-1] for p in plots]))
            app.run_frames(1)
            assert strips and all("cost" not in s and "gradients" not in s for s in strips), strips
            monkeypatch.setattr(view_module, "plot_strip", real_strip)
            snap = view.shown.snapshot()
            assert snap.values_known.all() or view.shown.mode == FORWARD, "the forward values are the setup"
        open_challenge(app, None)
        app.host.requested_tab = "Play"
        app.run_frames(3)
        assert view.shown is view.model


def test_after_the_backward_pass_the_scene_shows_gradients_and_local_derivatives(tmp_path, monkeypatch):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path) as app:
        app.host.runner.step(10)
        boxes.clear()
        app.run_frames(2)
        texts = [b[0] for b in boxes]
        assert "∂e/∂b = 5" in texts and "∂e/∂a = 2" in texts
        assert "× d = 2" in texts and "× c = 3" in texts


@pytest.mark.parametrize(("size", "scale", "graphs"), [
    ((960, 600), 1.0, GRAPHS), ((1280, 720), 1.0, GRAPHS), ((1920, 1080), 2.0, GRAPHS[3:]),
    ((1280, 720), 2.0, GRAPHS[:3]),  # LayerNorm's eight columns need more than 640 × 360 at scale 1
])
def test_scene_text_never_overlaps_nor_leaves_the_pane(tmp_path, monkeypatch, size, scale, graphs):
    """At every size and UI scale no text runs into another or out of the pane (node boxes drop their
    formulas, then the '=' and the '∂L/∂' prefixes, then put name and value on one line)."""
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, size=size, ui_scale=scale) as app:
        for graph in graphs:
            app.host.runner.set_param("graph", graph)
            app.run_frames(3)
            app.host.runner.step(app.host.runner.model.steps_total())
            app.run_frames(2)
            boxes.clear()
            app.run_frames(1)
            assert app.host.error is None, app.host.error
            assert len(boxes) >= 10
            assert overlapping_text(boxes) == [], (graph, overlapping_text(boxes))
            assert cut_off_text(boxes) == [], graph


def test_clicking_an_input_node_shows_its_paths(tmp_path):
    with headless_app(LEVEL, tmp_path, paused=True) as app:
        app.run_frames(3)
        view, (x0, y0, w, h) = app.host.view, app.layout()["scene"]
        assert view._start(view.model) == 1, "b, the input with the most paths, by default"
        at = view.cam.world_to_screen(view._world(view.model.graph().nodes[0]), (round(w), round(h)))
        app.inject("mouse_pos", x0 + at[0], y0 + at[1])
        app.run_frames(2)
        app.inject("mouse_button", 0, True)
        app.run_frames(2)
        app.inject("mouse_button", 0, False)
        app.run_frames(2)
        assert view.start == 0
