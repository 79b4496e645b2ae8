"""The Tangent Bundle Traveler: its claims, each checked at one point of its range (see [[claims]] in
level.toml).

Every check builds the level's own run (the runner and the model) and measures what the README, the
math card, the panels and the challenges state; the numbers it returns are shown beside the claim.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sandbox.testing import make_runner, measured_outcome

from . import geometry as geo
from .model import ERROR_STEPS, LAP_STEPS, sense

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed
TAU = geo.TAU
#: the run's history keeps float32: a turn read from it is good to about 1e-4 of a degree
RECORDED = 1e-3


def _run(steps: int = LAP_STEPS + 1, **params):
    run = make_runner(HERE.name, params, levels_dir=HERE.parent)
    if steps:
        run.step(steps)
    assert run.error is None, run.error
    return run


def check_latitude_turn(colatitude: float) -> dict:
    """The latitude's turn: measured from the run, integrated, and in closed form."""
    run = _run(surface="sphere", loop="circle", colatitude=colatitude)
    model, loop = run.model, run.model.loop()
    theta = math.radians(colatitude)
    expected = TAU * (1 - math.cos(theta))
    lap = model.lap_turn(run)  # the recorded angle to the frame, one lap apart
    unwrapped = lap + 360.0 * loop.windings
    measured = {"2π(1 − cos θ) (°)": round(math.degrees(expected), 4), "measured, unwrapped (°)": round(unwrapped, 4),
                "as seen (°)": model.measure_turn(run), "windings of the frame": loop.windings,
                "closed form − integrated (°)": math.degrees(abs(loop.closed_form - loop.frame_turn))}
    assert loop.windings == 1, "a latitude winds once round the north pole"
    assert abs(unwrapped - math.degrees(expected)) < RECORDED, f"measured {unwrapped:.4f}°"
    assert abs(loop.closed_form - loop.frame_turn) < math.radians(1e-9), "the connection integrated is the closed form"
    assert abs(loop.turn - expected) < 1e-10
    seen = model.measure_turn(run)
    assert abs(seen - math.degrees(float(geo.wrap(expected)))) < RECORDED or abs(abs(seen) - 180.0) < RECORDED
    assert model.measure_sense(run) == "with the loop", "the cap's curvature is positive, the equator's 2π too"
    if colatitude == 90.0:
        assert abs(seen) < RECORDED and abs(math.degrees(loop.turn) - 360.0) < 1e-9, "the equator: 2π, seen as 0"
    if colatitude > 90.0:
        assert loop.turn > math.pi, "south of the equator the cap holds more than half a turn"
    return measured


def _loop_for(surface: str, loop: str):
    return _run(0, surface=surface, loop=loop).model


def check_gauss_bonnet(surface: str, loop: str) -> dict:
    """The unwrapped turn against ∬K dA, integrated from K alone."""
    model = _loop_for(surface, loop)
    shape = model.loop()
    gap = math.degrees(abs(shape.turn - shape.enclosed))
    measured = {"loop": shape.kind, "turn (°)": round(math.degrees(shape.turn), 6),
                "∬K dA (°)": round(math.degrees(shape.enclosed), 6), "gap (°)": gap}
    assert gap < 1e-8, f"Gauss-Bonnet misses by {gap:.2e}°"
    if loop == "geodesic triangle" and surface not in ("sphere", "cone"):
        assert model.notice and shape.kind == "circle", "the fallback to the circle is said"
    return measured


def check_torus_frame_turn(tube_angle: float) -> dict:
    """The parallel's frame-relative turn, closed form and measured; the top circle's 3-D vector."""
    run = _run(surface="torus", loop="circle", tube_angle=tube_angle)
    model, loop = run.model, run.model.loop()
    v = math.radians(tube_angle)
    expected = -TAU * math.sin(v)
    lap = model.lap_turn(run)
    measured = {"−2π sin v (°)": round(math.degrees(expected), 4), "measured in the frame (°)": round(lap, 4),
                "as seen (°)": model.measure_turn(run)}
    assert abs(loop.frame_turn - expected) < 1e-10 and abs(lap - math.degrees(expected)) < RECORDED
    if abs(tube_angle) == 90.0:  # the tangent planes are all horizontal: the arrow never moves in 3-D
        spread = float(np.max(np.linalg.norm(loop.vectors - loop.vectors[0], axis=1)))
        measured["largest change of the 3-D vector"] = spread
        assert spread < 1e-9 and abs(model.measure_turn(run)) < RECORDED
        assert abs(abs(lap) - 360.0) < RECORDED, "a full turn against the frame"
    if tube_angle == 0.0:
        assert abs(lap) < RECORDED, "the outer equator is a geodesic"
    else:  # the band between the parallel and the outer equator holds 2π|sin v| of curvature
        measured["sense"] = model.measure_sense(run)
        assert model.measure_sense(run) == "with the loop"
    return measured


def _gaussian_curvature(surface, u, v, h: float = 1e-4) -> float:
    """K from the first and second fundamental forms, the derivatives by central differences of the
    chart: an independent check of the closed form."""
    x = lambda a, b: surface.point(np.float64(a), np.float64(b))
    xu = (x(u + h, v) - x(u - h, v)) / (2 * h)
    xv = (x(u, v + h) - x(u, v - h)) / (2 * h)
    xuu = (x(u + h, v) - 2 * x(u, v) + x(u - h, v)) / h ** 2
    xvv = (x(u, v + h) - 2 * x(u, v) + x(u, v - h)) / h ** 2
    xuv = (x(u + h, v + h) - x(u + h, v - h) - x(u - h, v + h) + x(u - h, v - h)) / (4 * h * h)
    n = np.cross(xu, xv)
    n /= np.linalg.norm(n)
    E, F, G = xu @ xu, xu @ xv, xv @ xv
    L, M, N = xuu @ n, xuv @ n, xvv @ n
    return float((L * N - M * M) / (E * G - F * F))


def check_saddle_turns_against(radius: float) -> dict:
    """The saddle's K, and the circle's turn: against the loop, 2π(1/√(1 + ρ²) − 1)."""
    run = _run(surface="saddle", loop="circle", radius=radius)
    model, loop = run.model, run.model.loop()
    rng = np.random.default_rng(0)
    worst = 0.0
    for x, y in rng.uniform(-2, 2, size=(12, 2)):
        worst = max(worst, abs(_gaussian_curvature(model.surface, x, y) + 1 / (1 + x * x + y * y) ** 2))
    expected = TAU * ((1 + radius * radius) ** -0.5 - 1)
    measured = {"2π(1/√(1 + ρ²) − 1) (°)": round(math.degrees(expected), 4),
                "measured (°)": model.measure_turn(run), "sense": model.measure_sense(run),
                "largest |K − formula|": worst}
    assert worst < 1e-5, "K = −1/(1 + x² + y²)²"
    assert abs(loop.turn - expected) < 1e-10 and abs(model.lap_turn(run) - math.degrees(expected)) < RECORDED
    assert model.measure_sense(run) == "against the loop"
    return measured


def _corner_angles(loop) -> np.ndarray:
    """The triangle's interior angles, from the edges' tangents at its corners (the loop's samples)."""
    points, m = loop.points, len(loop.points) - 1
    angles = []
    for k in range(3):
        i = k * (m // 3)
        outgoing = points[i + 1] - points[i]
        incoming = points[i - 1 if i else m - 1] - points[i]
        n = loop.normals[i]
        outgoing -= n * (outgoing @ n)
        incoming -= n * (incoming @ n)
        angles.append(math.acos(np.clip(outgoing @ incoming / np.linalg.norm(outgoing) / np.linalg.norm(incoming), -1, 1)))
    return np.array(angles)


def check_triangle_excess(size: float, cone_angle: float) -> dict:
    """Sphere: the angle excess, ∬K dA and the turn agree (the octant: 90°). Cone: the same round the apex."""
    sphere = _run(0, surface="sphere", loop="geodesic triangle", triangle_size=size).model.loop()
    angles = _corner_angles(sphere)
    excess = angles.sum() - math.pi
    measured = {"sphere angles (°)": [round(math.degrees(a), 3) for a in angles],
                "sphere excess (°)": round(math.degrees(excess), 4), "sphere ∬K dA (°)": round(math.degrees(sphere.enclosed), 4),
                "sphere turn (°)": round(math.degrees(sphere.turn), 4)}
    assert abs(excess - sphere.enclosed) < 2e-3, "angles from sampled tangents: to a few thousandths of a radian"
    assert abs(sphere.extra["excess"] - sphere.enclosed) < 1e-10 and abs(sphere.turn - sphere.enclosed) < 1e-10
    if size == 54.7356:
        assert abs(math.degrees(sphere.turn) - 90.0) < 1e-3, "the octant: three right angles, 90° of excess"
    cone = _run(0, surface="cone", loop="geodesic triangle", cone_angle=cone_angle).model.loop()
    cone_angles = _corner_angles(cone)
    defect = TAU * (1 - math.sin(math.radians(cone_angle)))
    measured.update({"cone angles (°)": [round(math.degrees(a), 3) for a in cone_angles],
                     "cone turn (°)": round(math.degrees(cone.turn), 4), "2π(1 − sin α) (°)": round(math.degrees(defect), 4)})
    assert abs(cone_angles.sum() - math.pi - defect) < 2e-3 and abs(cone.turn - defect) < 1e-9
    assert abs(cone.enclosed - defect) < 1e-9
    return measured


def check_cone_apex(cone_angle: float) -> dict:
    """Circles at three distances from the apex turn by its defect; loops beside the apex do not turn."""
    from . import model as level_model

    defect = TAU * (1 - math.sin(math.radians(cone_angle)))
    measured = {"2π(1 − sin α) (°)": round(math.degrees(defect), 4)}
    original = level_model.CONE_CIRCLE
    try:
        for distance in (0.5, 1.4, 2.0):
            level_model.CONE_CIRCLE = distance
            loop = _run(0, surface="cone", cone_angle=cone_angle).model.loop()
            measured[f"circle at {distance} (°)"] = round(math.degrees(loop.turn), 6)
            assert abs(loop.turn - defect) < 1e-10
    finally:
        level_model.CONE_CIRCLE = original
    run = _run(0, surface="cone", loop="drawn", cone_angle=cone_angle)
    model = run.model
    t = np.linspace(0, TAU, 40)
    for u, v in zip(0.3 * np.cos(t), 1.4 + 0.3 * np.sin(t)):  # beside the apex
        model.extend_drawing(float(u), float(v))
    assert model.finish_drawing() == ""
    beside = model.loop()
    for u, v in zip(np.linspace(0.0, TAU - 0.2, 60) % TAU, 1.2 + 0.2 * np.sin(np.linspace(0, 3, 60))):  # round it, by hand
        model.extend_drawing(float(u), float(v))
    assert model.finish_drawing() == ""
    around = model.loop()
    measured.update({"loop beside the apex (°)": math.degrees(beside.turn), "loop drawn round it (°)": math.degrees(around.turn)})
    assert abs(beside.turn) < 1e-9 and abs(beside.enclosed) < 1e-12, "no curvature inside: no turn"
    assert around.windings == 1 and abs(around.turn - defect) < 1e-9
    return measured


def check_cone_matches_sphere(cone_angle: float) -> dict:
    """The cone's circle and the sphere's latitude at colatitude 90° − α: same normal tilt, same turn."""
    cone = _run(0, surface="cone", cone_angle=cone_angle).model.loop()
    sphere = _run(0, surface="sphere", colatitude=90.0 - cone_angle).model.loop()
    tilt = lambda loop: np.degrees(np.arccos(np.clip(loop.normals[:, 2], -1, 1)))
    measured = {"cone normals from the axis (°)": round(float(tilt(cone).mean()), 6),
                "sphere normals from the axis (°)": round(float(tilt(sphere).mean()), 6),
                "cone turn (°)": round(math.degrees(cone.turn), 6), "sphere turn (°)": round(math.degrees(sphere.turn), 6)}
    assert np.allclose(tilt(cone), 90.0 - cone_angle, atol=1e-9) and np.allclose(tilt(sphere), 90.0 - cone_angle, atol=1e-9)
    assert abs(cone.turn - sphere.turn) < 1e-10
    assert abs(cone.turn - TAU * (1 - math.sin(math.radians(cone_angle)))) < 1e-10
    return measured


def check_sense_follows_the_loop(surface: str) -> dict:
    """A small chart circle drawn both ways: the turns are opposite, the sense follows K's sign."""
    name, centre = {"sphere": ("sphere", (0.2, 1.2)), "saddle": ("saddle", (0.3, 0.2)),
                    "torus_outside": ("torus", (0.5, 0.3)), "torus_inside": ("torus", (0.5, 2.8))}[surface]
    t = np.linspace(0, TAU, 41)
    polygon = np.stack([centre[0] + 0.3 * np.cos(t), centre[1] + 0.3 * np.sin(t)], 1)
    measured, turns = {}, []
    for label, points in (("one way", polygon), ("the other", polygon[::-1])):
        model = _run(0, surface=name, loop="drawn").model
        for u, v in points:
            model.extend_drawing(float(u), float(v))
        assert model.finish_drawing() == ""
        loop = model.loop()
        turns.append(loop.turn)
        words = sense(loop.turn, loop.orientation)
        measured[f"{label}: turn (°)"] = round(math.degrees(loop.turn), 6)
        measured[f"{label}: sense"] = words
        expected = "with the loop" if model.surface.curvature(*centre) > 0 else "against the loop"
        assert words == expected, f"{label}: {words}"
    assert abs(turns[0] + turns[1]) < 1e-12 and abs(turns[0]) > 1e-3
    return measured


def check_discrete_first_order(surface: str) -> dict:
    """The discrete scheme's error against the number of steps: slope 1 on a log-log plot."""
    model = _run(0, surface=surface).model
    curve = model.error_curve()
    measured = {"steps": [int(n) for n in curve["steps"]], "error (°)": [float(f"{math.degrees(e):.3g}") for e in curve["errors"]],
                "fitted order": round(curve["order"], 3)}
    assert 0.85 <= curve["order"] <= 1.2, f"order {curve['order']:.2f}"
    tail = curve["errors"][3:]
    assert np.all(np.diff(tail) < 0), "the error shrinks with every doubling from 64 steps"
    return measured


def check_projection_special_cases(case: str) -> dict:
    """Projection at half a turn (second order) and on the torus's top circle (exact)."""
    params = {"60° latitude": {"surface": "sphere", "colatitude": 60.0},
              "torus parallel at 150°": {"surface": "torus", "tube_angle": 150.0},
              "torus top circle": {"surface": "torus", "tube_angle": 90.0}}[case]
    model = _run(0, **params).model
    curve, loop = model.error_curve(), model.loop()
    measured = {"turn as seen (°)": round(math.degrees(loop.wrapped), 6),
                "error (°)": [float(f"{math.degrees(e):.3g}") for e in curve["errors"]]}
    if case == "torus top circle":
        assert float(np.max(curve["errors"])) < 1e-12, "the tangent planes never tilt: exact"
    else:
        order = geo.order_of(ERROR_STEPS[3:], curve["errors"][3:])
        measured["fitted order"] = round(order, 3)
        assert abs(abs(math.degrees(loop.wrapped)) - 180.0) < 1e-9 and 1.8 <= order <= 2.2, f"order {order:.2f}"
    return measured


def check_rotation_second_order(surface: str) -> dict:
    """The minimal-rotation scheme: slope 2, the same for every starting vector."""
    curves = [_run(0, surface=surface, vector_angle=angle).model.error_curve() for angle in (0.0, 30.0, 250.0)]
    curve = curves[0]
    measured = {"steps": [int(n) for n in curve["steps"]],
                "error (°)": [float(f"{math.degrees(e):.3g}") for e in curve["rotation_errors"]],
                "fitted order": round(curve["rotation_order"], 3), "projection's order": round(curve["order"], 3)}
    assert 1.9 <= curve["rotation_order"] <= 2.1, f"order {curve['rotation_order']:.2f}"
    spread = max(float(np.max(np.abs(c["rotation_errors"] - curve["rotation_errors"]))) for c in curves)
    measured["largest change with the start (°)"] = math.degrees(spread)
    assert spread < 1e-9, "a rotation turns every vector alike"
    assert np.all(curve["rotation_errors"][3:] < curve["errors"][3:]), "below the projection's error from 64 steps"
    return measured


def check_mesh_defects(surface: str) -> dict:
    """Σ angle defects = 2πχ on the level's meshes."""
    model = _run(0, surface=surface).model
    defects = model.defects()
    chi = {"sphere": 2, "torus": 0, "saddle": 1, "cone": 1}[surface]
    measured = {"Σ defects (°)": round(math.degrees(defects["sum"]), 6), "χ from the defects": round(defects["euler"], 9),
                "V − E + F": defects["counted"], "boundary vertices": defects["boundary_vertices"]}
    assert abs(defects["euler"] - chi) < 1e-9 and defects["counted"] == chi
    return measured


def check_gauge_equivariant(surface: str, seed: int) -> dict:
    """The transporting layer is gauge-equivariant; the naive one is not."""
    from .gauge import gauge_check

    model = _run(0, surface=surface).model
    result = gauge_check(model.mesh(), seed=seed)
    assert result["gauge_error"] < 1e-12, result
    assert result["naive_error"] > 0.1, result
    return result


def check_challenges_measured() -> dict:
    """Each challenge's answer, measured from its run."""
    got = {c: measured_outcome(HERE.name, c, levels_dir=HERE.parent)
           for c in ("latitude_turn", "equator", "saddle_sense", "torus_top")}
    assert abs(got["latitude_turn"] - math.degrees(TAU * (1 - math.cos(math.pi / 4)))) < RECORDED
    assert abs(got["equator"]) < RECORDED
    assert got["saddle_sense"] == "against the loop"
    assert abs(got["torus_top"] + 360.0) < RECORDED
    return got
