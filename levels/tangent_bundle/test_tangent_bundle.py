"""The Tangent Bundle Traveler: its challenges measured from the simulation, the transport against its
closed forms, drawn loops, and a view that turns the vector and draws loops under the mouse and hides
each answer while a prediction is open.

The level's statements across their ranges are its claims (claims.py, run by the engine's tests)."""

import math
import runpy
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

level("tangent_bundle").module("model")  # imports the level's package as the game does
from cf_level_tangent_bundle import geometry as geo
from cf_level_tangent_bundle.model import LAP_STEPS, sense

LEVEL = "tangent_bundle"
HERE = Path(__file__).parent
MANIFEST = load_manifest(HERE)
TAU = 2 * math.pi


# ---------------------------------------------------------------------------------------------
# challenges


def test_the_latitude_and_equator_turns_are_measured_and_judged():
    assert measured_outcome(LEVEL, "latitude_turn") == pytest.approx(360 * (1 - math.cos(math.pi / 4)), abs=1e-3)
    assert run_challenge(LEVEL, "latitude_turn", 105.0).correct
    verdict = run_challenge(LEVEL, "latitude_turn", 360 * math.cos(math.pi / 4))  # the slip: cos θ, not 1 − cos θ
    assert not verdict.correct and "cap" in verdict.hint
    assert measured_outcome(LEVEL, "equator") == pytest.approx(0.0, abs=1e-3)
    verdict = run_challenge(LEVEL, "equator", 170.0)
    assert not verdict.correct and "whole turn" in verdict.hint


def test_the_saddle_turns_against_the_loop_and_the_torus_top_a_full_turn_in_the_frame():
    assert measured_outcome(LEVEL, "saddle_sense") == "against the loop"
    assert run_challenge(LEVEL, "saddle_sense", "against the loop").correct
    verdict = run_challenge(LEVEL, "saddle_sense", "with the loop", confidence=0.9)
    assert not verdict.correct and "sphere" in verdict.hint
    assert measured_outcome(LEVEL, "torus_top") == pytest.approx(-360.0, abs=1e-3)
    assert not run_challenge(LEVEL, "torus_top", 0.0).correct


def test_every_challenge_runs_past_one_lap_and_hides_what_answers_it():
    for challenge in MANIFEST.challenges.values():
        assert challenge.steps > LAP_STEPS and challenge.title
        assert {"turn", "turn_unwrapped", "enclosed", "frame_angle"} <= set(challenge.hides)


def test_a_run_stopped_before_a_lap_cannot_be_measured():
    run = make_runner(LEVEL)
    run.step(10)
    with pytest.raises(ValueError, match="before one lap"):
        run.model.measure_turn(run)


def test_manifest_names_a_measure_for_every_challenge_and_a_check_for_every_claim():
    model_class = level(LEVEL).model_class()
    for challenge in MANIFEST.challenges.values():
        assert hasattr(model_class, f"measure_{challenge.measure}")
    claims = level(LEVEL).module("claims")
    for claim in MANIFEST.claims.values():
        assert callable(getattr(claims, f"check_{claim.id}", None))
    assert MANIFEST.pillar == "geometry"


def test_witness_runs_and_asserts_the_claims(capsys):
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "2π(1 − cos θ) = 105.442°" in out and "saddle" in out


# ---------------------------------------------------------------------------------------------
# the transport


@pytest.mark.parametrize("colatitude", [5.0, 30.0, 89.0, 90.0, 91.0, 150.0])
def test_a_latitude_turns_by_its_cap_whatever_the_starting_vector(colatitude):
    turns = []
    for angle in (0.0, 30.0, 200.0):
        loop = make_runner(LEVEL, {"colatitude": colatitude, "vector_angle": angle}).model.loop()
        turns.append(loop.turn)
        assert loop.turn == pytest.approx(TAU * (1 - math.cos(math.radians(colatitude))), abs=1e-10)
        assert loop.enclosed == pytest.approx(loop.turn, abs=1e-10)
        assert np.allclose(np.sum(loop.vectors * loop.normals, 1), 0, atol=1e-12), "the vector stays tangent"
        assert np.allclose(np.linalg.norm(loop.vectors, axis=1), 1, atol=1e-12)
    assert max(turns) - min(turns) < 1e-12


def test_the_transported_vector_never_turns_within_the_surface():
    """dV/ds has no tangential part: the exact vectors' finite differences are normal to the surface."""
    for params in ({}, {"surface": "torus"}, {"surface": "saddle", "radius": 1.7}, {"surface": "cone"}):
        loop = make_runner(LEVEL, params).model.loop()
        dv = np.diff(loop.vectors, axis=0)
        mid_normals = loop.normals[:-1] + loop.normals[1:]
        mid_normals /= np.linalg.norm(mid_normals, axis=1, keepdims=True)
        tangential = dv - mid_normals * np.sum(dv * mid_normals, 1, keepdims=True)
        step = np.linalg.norm(np.diff(loop.points, axis=0), axis=1)
        assert np.max(np.linalg.norm(tangential, axis=1) / step) < 1e-3, params


def test_a_wrong_connection_breaks_gauss_bonnet():
    """The check can fail: drop the connection's second term and the turn no longer matches ∬K dA."""
    surface = geo.Saddle()
    broken = geo.Saddle()
    broken.duu = lambda u, v: np.zeros(np.broadcast(u, v).shape + (3,))
    good, bad = (geo.circle_loop(s, 1.0, 0.0) for s in (surface, broken))
    assert abs(good.turn - good.enclosed) < 1e-10 and abs(bad.turn - bad.enclosed) > 0.5


def test_the_discrete_scheme_converges_to_the_exact_turn_and_follows_the_steps_live():
    run = make_runner(LEVEL, {"steps": 16})
    coarse = run.latest()["discrete_error"]
    run.set_param("steps", 1024)
    run.step()
    fine = run.latest()["discrete_error"]
    assert fine < coarse / 20 and run.steps == 1, "no restart"
    assert run.latest()["discrete_turn"] == pytest.approx(run.latest()["turn"], abs=0.02)


def test_laps_add_up_in_the_frame():
    run = make_runner(LEVEL, {"surface": "torus", "tube_angle": 30.0})
    run.step(3 * LAP_STEPS)
    angles, frame_turn = run.series("frame_angle"), run.latest()["frame_turn"]
    assert angles[3 * LAP_STEPS] - angles[0] == pytest.approx(3 * frame_turn, abs=1e-3)
    assert run.latest()["laps"] == 3 and frame_turn == pytest.approx(-180.0, abs=1e-9)


def test_sense_reads_the_unwrapped_turn_and_the_loops_own_direction():
    assert sense(math.radians(-199.0)) == "against the loop" and sense(0.3) == "with the loop"
    assert sense(0.0) == "no turn" and sense(-0.3, -1) == "with the loop"
    # drawn loops both ways round, on every surface: the claim sense_follows_the_loop


def test_a_geodesic_triangle_asked_on_the_torus_says_it_uses_the_circle():
    model = make_runner(LEVEL, {"surface": "torus", "loop": "geodesic triangle"}).model
    assert model.loop().kind == "circle" and "sphere and the cone" in model.notice


@pytest.mark.parametrize("params", [{}, {"colatitude": 120.0}, {"loop": "geodesic triangle"},
                                    {"surface": "torus", "tube_angle": 100.0}, {"surface": "saddle", "radius": 1.5},
                                    {"surface": "cone"}])
def test_the_tinted_region_holds_the_curvature_the_turn_equals(params):
    """Σ K·area over the tinted triangles is the loop's ∬K dA, to the mesh's resolution (the cone's
    apex holds its curvature as the apex vertex's angle defect)."""
    model = make_runner(LEVEL, params).model
    mesh, triangles, loop = model.mesh(), model.enclosed_triangles(), model.loop()
    p = mesh.vertices[triangles]
    areas = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1)
    total = float(np.sum(mesh.curvature[triangles].mean(axis=1) * areas))
    if params.get("surface") == "cone":
        assert np.any(triangles == 0), "the apex is inside"
        total += model.surface.pole_defect()
    # the torus's parallel is compared with the band to the outer equator, here on its right: the loop
    # goes clockwise round it (orientation −1)
    expected = loop.orientation * loop.enclosed
    assert (loop.orientation == -1) == (params.get("surface") == "torus")
    assert total == pytest.approx(expected, rel=0.05, abs=0.02), (total, expected)


# ---------------------------------------------------------------------------------------------
# drawn loops


def test_a_drawn_loop_closes_and_obeys_gauss_bonnet():
    run = make_runner(LEVEL, {"surface": "saddle", "loop": "drawn"})
    model = run.model
    assert "drag on the surface" in model.notice and model.loop().kind == "circle"
    t = np.linspace(0, 5.5, 50)
    for x, y in zip(0.3 + 0.6 * np.cos(t), -0.2 + 0.9 * np.sin(t)):
        model.extend_drawing(float(x), float(y))
    assert model.drawing_transport() is not None
    assert model.finish_drawing() == ""
    loop = model.loop()
    assert loop.kind == "drawn" and model.notice == ""
    assert loop.turn < 0 and abs(loop.turn - loop.enclosed) < 1e-10
    run.step(LAP_STEPS + 1)
    assert run.model.measure_sense(run) == "against the loop"
    model.clear_drawn()
    assert model.loop().kind == "circle"


def test_bad_drawings_are_refused_with_a_line():
    model = make_runner(LEVEL, {"surface": "torus", "loop": "drawn"}).model
    model.begin_drawing(0.0, 0.0)
    assert "too short" in model.finish_drawing()
    for u in np.linspace(0, TAU - 0.1, 80):  # round the torus's hole: bounds no disc
        model.extend_drawing(float(geo.wrap(u)), 0.3)
    assert "bounds no disc" in model.finish_drawing()
    assert model.loop().kind == "circle"


# ---------------------------------------------------------------------------------------------
# the view


def _pane_origin(app, view, name):
    sx, sy, sw, sh = app.layout()["scene"]
    pane = next(p for p in view.panes() if p.name == name)
    fx, fy, fw, fh = pane.rect
    return (sx + fx * sw, sy + fy * sh), (int(fw * sw), int(fh * sh))


def _drag(app, origin, points):
    app.inject("mouse_pos", origin[0] + points[0][0], origin[1] + points[0][1])
    app.inject("mouse_button", 0, True)
    for p in points[1:]:
        app.inject("mouse_pos", origin[0] + p[0], origin[1] + p[1])
    app.inject("mouse_button", 0, False)
    app.run_frames(len(points) + 4)  # one event a frame


def test_dragging_the_tip_turns_the_vector_and_dragging_the_surface_draws_a_loop(tmp_path):
    with headless_app(LEVEL, tmp_path, paused=True) as app:
        app.run_frames(3)
        view = app.host.view
        origin, viewport = _pane_origin(app, view, "surface")
        loop = view.model.loop()
        tip = loop.points[0] + view.arrow_length * loop.vectors[0]
        grab = view.cam.world_to_screen(tip, viewport)
        centre = view.cam.world_to_screen(loop.points[0], viewport)
        drop = (2 * centre[0] - grab[0], 2 * centre[1] - grab[1])  # through the base, to the other side
        before = float(app.host.runner.params["vector_angle"])
        _drag(app, origin, [grab] + [(grab[0] + k / 8 * (drop[0] - grab[0]), grab[1] + k / 8 * (drop[1] - grab[1]))
                                     for k in range(1, 9)])
        after = float(app.host.runner.params["vector_angle"])
        assert abs(float(geo.wrap(math.radians(after - before)))) > math.radians(120), (before, after)

        app.host.set_param("loop", "drawn") if hasattr(app.host, "set_param") else view.context.set_param("loop", "drawn")
        app.run_frames(3)
        middle = view.cam.world_to_screen((0.0, 0.0, 0.0), viewport)
        circle = [(middle[0] + 0.25 * viewport[1] * math.cos(a) - 0.1 * viewport[1], middle[1] + 0.25 * viewport[1] * math.sin(a))
                  for a in np.linspace(0, 1.9 * math.pi, 14)]
        _drag(app, origin, circle)
        model = app.host.runner.model
        assert model.drawn_paths.get("sphere") is not None, view.message
        drawn = model.loop()
        assert drawn.kind == "drawn" and abs(drawn.turn - drawn.enclosed) < 1e-9 and abs(drawn.turn) > 0.05


def test_while_a_prediction_is_open_the_journey_and_the_numbers_are_hidden(tmp_path, monkeypatch):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, paused=True) as app:
        app.host.runner.step(LAP_STEPS + 20)
        app.run_frames(2)
        words = " ".join(b[0] for b in boxes[-20:])
        assert "came home turned" in words
        for challenge in MANIFEST.challenges:
            open_challenge(app, challenge)
            boxes.clear()
            app.run_frames(3)
            view = app.host.view
            assert view.challenge.hide_answers and view._run_hidden
            words = " ".join(b[0] for b in boxes)
            assert "hidden while you predict" in words
            assert "came home" not in words and "so far" not in words and "carried" not in words


@pytest.mark.parametrize("size, scale, params", [((960, 600), 1.0, {}), ((1280, 720), 2.0, {}),
                                                 ((960, 600), 2.0, {"surface": "cone"}),
                                                 ((960, 600), 1.0, {"surface": "saddle", "loop": "drawn"})])
def test_no_text_runs_into_another_or_off_its_pane(tmp_path, monkeypatch, size, scale, params):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, size=size, params=params, ui_scale=scale) as app:
        app.host.paused = True
        app.host.runner.step(LAP_STEPS + 10)  # a lap done: every caption is up
        app.run_frames(3)
        boxes.clear()
        app.run_frames(1)
        assert app.host.error is None, app.host.error
        assert len(boxes) >= 5
        assert overlapping_text(boxes) == [] and cut_off_text(boxes) == []
