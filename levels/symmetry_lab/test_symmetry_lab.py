"""The Symmetry Lab: the challenges' measurements, the run's transformations, the stations' pieces
checked against independent computations, and a view that hides verdicts while a prediction is open.

The level's statements over their ranges (seeds, sizes, dtypes) are its claims (claims.py, run by
the engine's tests); these tests check what the claims build on."""

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

level("symmetry_lab").module("model")  # imports the level's package as the game does
from cf_level_symmetry_lab.model import (
    BEND_CYCLE,
    ERRORS,
    GAUGE_OUTCOMES,
    PERIOD,
    SIZE_OUTCOMES,
    STRIDE_OUTCOMES,
    TURN_OUTCOMES,
    UNCHANGED_OUTCOMES,
)
from cf_level_symmetry_lab.stations import (
    STATIONS,
    TOLERANCE,
    bump_surface,
    conv_circular,
    conv_zero,
    evaluate,
    make_station,
    rotate_image,
    transport_angles,
)

LEVEL = "symmetry_lab"
HERE = Path(__file__).parent
MANIFEST = load_manifest(HERE)


# ---------------------------------------------------------------------------------------------
# challenges


@pytest.mark.parametrize(("challenge", "expected", "wrong"), [
    ("stride_shift", STRIDE_OUTCOMES[2], STRIDE_OUTCOMES[0]),
    ("stride_change", SIZE_OUTCOMES[3], SIZE_OUTCOMES[0]),
    ("relabel_unchanged", UNCHANGED_OUTCOMES[1], UNCHANGED_OUTCOMES[3]),
    ("p4_turn", TURN_OUTCOMES[1], TURN_OUTCOMES[0]),
    ("bend_stays", "geodesic distance and angle defect", "geodesic and straight-line distance"),
    ("gauge_follows", GAUGE_OUTCOMES[0], GAUGE_OUTCOMES[1]),
])
def test_challenges_are_measured_and_judged(challenge, expected, wrong):
    assert measured_outcome(LEVEL, challenge) == expected
    assert run_challenge(LEVEL, challenge, expected).correct
    verdict = run_challenge(LEVEL, challenge, wrong, confidence=0.9)
    assert not verdict.correct and verdict.hint, "a wrong answer gets its hint"


def test_challenge_choices_are_the_model_outcomes_and_runs_apply_g_once():
    outcomes = {"stride_shift": STRIDE_OUTCOMES, "stride_change": SIZE_OUTCOMES,
                "relabel_unchanged": UNCHANGED_OUTCOMES, "p4_turn": TURN_OUTCOMES, "gauge_follows": GAUGE_OUTCOMES}
    for cid, words in outcomes.items():
        assert tuple(MANIFEST.challenges[cid].choices) == words
    for challenge in MANIFEST.challenges.values():
        assert challenge.steps < PERIOD, f"{challenge.id}: g would be applied a second time"


def test_the_stride_measurement_can_say_shifts_and_stays():
    """The same measurement on other runs: an even shift shifts the stride-2 output; g = identity keeps it."""
    run = make_runner(LEVEL, {"station": "Grids", "shift": 2})
    run.step(3)
    assert run.model.measure_stride_shift(run) == STRIDE_OUTCOMES[0]
    assert run.model.measure_stride_change(run) == SIZE_OUTCOMES[0]
    run.model.undo_all()
    run.step(1)
    assert run.model.measure_stride_shift(run) == STRIDE_OUTCOMES[1]


def test_the_unchanged_measurement_sees_every_model_unchanged_at_the_identity():
    run = make_runner(LEVEL, {"station": "Graphs"})
    run.model.undo_all()
    run.step(1)
    assert run.model.measure_relabel_unchanged(run) == UNCHANGED_OUTCOMES[4]


# ---------------------------------------------------------------------------------------------
# the run


def test_g_is_applied_once_at_the_start_then_every_period_and_by_the_button():
    run = make_runner(LEVEL)
    assert run.model.k == 1
    run.step(PERIOD - 1)
    assert run.model.k == 1
    run.step(1)
    assert run.model.k == 2 and run.latest()["applied"] == 2
    run.model.apply()
    assert run.model.k == 3
    still = make_runner(LEVEL, {"auto": False})
    still.step(3 * PERIOD)
    assert still.model.k == 1


def test_bending_starts_over_flat_and_the_stride_errors_alternate():
    run = make_runner(LEVEL, {"station": "Geodesics"})
    for _ in range(BEND_CYCLE - 1):
        run.model.apply()
    assert run.model.effective_k == 0 and run.model.is_identity()
    grid = make_runner(LEVEL, {"station": "Grids", "shift": 1})
    grid.step(4 * PERIOD)
    stride = grid.series("grid_stride")
    steps = np.arange(len(stride))
    k = 1 + steps // PERIOD
    assert np.all(stride[k % 2 == 0] < 1e-12) and np.all(stride[k % 2 == 1] > 0.1)


@pytest.mark.parametrize("station", STATIONS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_station_runs_at_the_ends_of_its_settings(station, dtype):
    for size in (12, 40):
        params = {"station": station, "dtype": dtype, "size": size, "nodes": 4 if size == 12 else 16,
                  "shift": 6, "angle": "30°", "deform": "rigid turn" if size == 12 else "bend"}
        run = make_runner(LEVEL, params)
        run.step(2 * PERIOD + 1)
        assert run.error is None and not run.diverged, run.error
        latest = run.latest()
        for name in ERRORS[station]:
            assert math.isfinite(latest[name])


def test_verdicts_of_the_default_settings():
    want = {"Grids": ["moves with it", "breaks", "breaks", "stays"],
            "Groups": ["moves with it", "breaks", "stays", "breaks"],
            "Graphs": ["moves with it", "stays", "moves with it", "breaks"],
            "Geodesics": ["stays", "stays", "breaks", "breaks"],
            "Gauges": ["moves with it", "breaks", "breaks", "stays"]}
    for station, verdicts in want.items():
        for dtype in ("float64", "float32"):
            run = make_runner(LEVEL, {"station": station, "dtype": dtype})
            assert run.model.verdicts() == verdicts, (station, dtype)


# ---------------------------------------------------------------------------------------------
# the pieces, against independent computations


def test_fft_correlation_is_the_direct_sum():
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(2, 9, 9)), rng.normal(size=(3, 2, 3, 3))
    direct = np.zeros((3, 9, 9))
    padded = np.zeros((2, 11, 11))
    padded[:, 1:10, 1:10] = x
    for d in range(3):
        for i in range(9):
            for j in range(9):
                direct[d, i, j] = np.sum(w[d] * padded[:, i:i + 3, j:j + 3])
    assert np.allclose(conv_zero(x, w), direct, atol=1e-12)
    wrapped = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="wrap")
    circ = np.array([[[np.sum(w[d] * wrapped[:, i:i + 3, j:j + 3]) for j in range(9)] for i in range(9)]
                     for d in range(3)])
    assert np.allclose(conv_circular(x, w), circ, atol=1e-12)


def test_turning_by_right_angles_is_a_permutation_and_by_45_interpolates():
    rng = np.random.default_rng(4)
    img = rng.normal(size=(11, 11))
    assert np.array_equal(rotate_image(img, 90.0), np.rot90(img))
    assert np.array_equal(rotate_image(rotate_image(img, 90.0), 270.0), img)
    # bilinear at a general angle agrees with np.rot90's sense: 89.999° is nearly 90°
    assert np.allclose(rotate_image(img, 89.999)[2:-2, 2:-2], np.rot90(img)[2:-2, 2:-2], atol=1e-3)
    half = rotate_image(rotate_image(img, 45.0), 45.0)
    assert np.max(np.abs(half - np.rot90(img))[3:-3, 3:-3]) > 1e-2, "two interpolated 45° turns are not exact"


def test_transport_is_a_connection_with_inverse_transport_back():
    P, N, edges = bump_surface(7)
    theta = np.random.default_rng(5).uniform(-np.pi, np.pi, len(P))
    angles = transport_angles(P, N, edges, theta)
    half = len(edges) // 2  # edges hold (i, j) and then (j, i) in the same order
    back = np.angle(np.exp(1j * (angles[:half] + angles[half:])))
    assert np.max(np.abs(back)) < 1e-12, "carrying j → i and back i → j is the identity"
    flat = transport_angles(P * [1, 1, 0], np.tile([0.0, 0.0, 1.0], (len(P), 1)), edges, theta)
    i, j = edges[:, 0], edges[:, 1]
    assert np.allclose(np.angle(np.exp(1j * (flat - (theta[j] - theta[i])))), 0.0, atol=1e-12), \
        "on a plane, transport only undoes the frames' difference"


def test_float32_is_computed_in_float32():
    station = make_station("Grids", 0, "float32")
    for outcome in evaluate(station, 1):
        assert np.asarray(outcome.moved).dtype == np.float32
    errs = [o.error for o in evaluate(station, 1)]
    assert 1e-9 < errs[0] <= TOLERANCE["float32"]


def test_witness_runs_and_asserts_the_claims(capsys):
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "grids: circular conv" in out and "gauges: general W" in out


# ---------------------------------------------------------------------------------------------
# the view


def test_while_a_prediction_is_chosen_no_verdict_or_error_is_drawn(tmp_path, monkeypatch):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path) as app:
        app.run_frames(5)
        boxes.clear()
        app.run_frames(1)
        texts = [b[0] for b in boxes]
        assert any(t.startswith("error ") for t in texts) and any("moves with it" in t for t in texts)
        assert not overlapping_text(boxes) and not cut_off_text(boxes)
        view = app.host.view
        for challenge in MANIFEST.challenges:
            open_challenge(app, challenge)
            boxes.clear()
            app.run_frames(2)
            assert view.challenge.choosing and view.shown is not view.model
            texts = [b[0] for b in boxes]
            leaks = [t for t in texts if t.startswith("error") or t in ("breaks", "stays", "moves with it")
                     or "equivariant:" in t or "invariant:" in t]
            assert not leaks, (challenge, leaks)
            assert view.shown.station.name == MANIFEST.resolve_params(MANIFEST.challenges[challenge].set)["station"]


def test_clicking_the_big_button_applies_g(tmp_path):
    with headless_app(LEVEL, tmp_path, params={"auto": False}) as app:
        app.run_frames(3)
        view = app.host.view
        x0, y0, _, _ = app.layout()["scene"]
        bx, by, bw, bh = view._button
        before = view.model.k
        app.inject("mouse_pos", x0 + bx + 0.5 * bw, y0 + by + 0.5 * bh)
        app.run_frames(1)
        app.inject("mouse_button", 0, True)
        app.inject("mouse_button", 0, False)
        app.run_frames(3)
        assert view.model.k == before + 1


def test_while_paused_the_button_records_the_new_errors(tmp_path):
    with headless_app(LEVEL, tmp_path, params={"station": "Grids"}, paused=True) as app:
        app.run_frames(3)
        view, runner = app.host.view, app.host.runner
        x0, y0, _, _ = app.layout()["scene"]
        bx, by, bw, bh = view._button
        app.inject("mouse_pos", x0 + bx + 0.5 * bw, y0 + by + 0.5 * bh)
        app.run_frames(1)
        app.inject("mouse_button", 0, True)
        app.inject("mouse_button", 0, False)
        app.run_frames(3)
        assert view.model.k == 2 and runner.latest()["applied"] == 2
        assert runner.latest()["grid_stride"] < 1e-12, "a shift by 2 in all: the stride-2 output shifts with it"


@pytest.mark.parametrize(("size", "scale", "station"), [((960, 600), 1.0, "Grids"), ((1280, 720), 2.0, "Graphs"),
                                                       ((1280, 720), 2.0, "Gauges")])
def test_no_text_overlaps_or_is_cut_at_small_windows_and_large_ui_scales(tmp_path, monkeypatch, size, scale, station):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, size=size, params={"station": station}, ui_scale=scale) as app:
        app.run_frames(4)
        boxes.clear()
        app.run_frames(1)
        assert app.host.error is None, app.host.error
        assert boxes and not overlapping_text(boxes) and not cut_off_text(boxes)
        assert any(t.startswith(("moves with it", "equivariant")) for t, *_ in boxes)


def test_a_prediction_at_ui_scale_2_hides_the_verdicts_on_the_compact_cards(tmp_path, monkeypatch):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, size=(1280, 720), ui_scale=2.0) as app:
        app.run_frames(3)
        open_challenge(app, "relabel_unchanged")
        boxes.clear()
        app.run_frames(1)
        assert app.host.error is None, app.host.error
        texts = [b[0] for b in boxes]
        assert "hidden" in " ".join(texts) and not any(t.startswith(("breaks", "moves", "stays")) for t in texts)
        assert not overlapping_text(boxes) and not cut_off_text(boxes)
