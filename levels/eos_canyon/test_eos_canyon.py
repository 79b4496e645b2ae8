"""Claims of the edge-of-stability level, as assertions on the simulation."""

import itertools
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from sandbox.manifest import load_manifest
from sandbox.testing import headless_app, level, make_runner, measured_outcome, open_challenge, run_challenge
from sim import backends, nn

level("eos_canyon").module("kernels")  # imports the level's package as the game does
from cf_level_eos_canyon.kernels import Canyon, canyon_fields  # noqa: E402

LEVEL = "eos_canyon"
HERE = Path(__file__).parent
STEPS = 1500


def late_mean(run, name="sharpness"):
    series = run.series(name)
    return float(np.mean(series[-len(series) // 3:]))


def canyon_run(steps=STEPS, **params):
    run = make_runner(LEVEL, params)
    run.step(steps)
    assert run.error is None, run.error
    return run


# ---------------------------------------------------------------------------------------------
# the canyon's formulas


def test_canyon_gradient_and_sharpness_are_exact():
    canyon = Canyon()
    c = canyon.coefficients()
    rng = np.random.default_rng(0)
    for x, y in zip(rng.uniform(-4, 8, 20), rng.uniform(-2, 2, 20)):
        _, dx, dy, sharpness = canyon_fields(x, y, c)
        eps = 1e-6
        assert dx == pytest.approx((canyon_fields(x + eps, y, c)[0] - canyon_fields(x - eps, y, c)[0]) / (2 * eps),
                                   rel=1e-6, abs=1e-6)
        assert dy == pytest.approx((canyon_fields(x, y + eps, c)[0] - canyon_fields(x, y - eps, c)[0]) / (2 * eps),
                                   rel=1e-6, abs=1e-6)
        hessian = canyon.hessian(x, y)
        numeric = np.array([
            [(canyon_fields(x + eps, y, c)[1] - canyon_fields(x - eps, y, c)[1]) / (2 * eps),
             (canyon_fields(x, y + eps, c)[1] - canyon_fields(x, y - eps, c)[1]) / (2 * eps)],
            [(canyon_fields(x + eps, y, c)[2] - canyon_fields(x - eps, y, c)[2]) / (2 * eps), hessian[1, 1]],
        ])
        np.testing.assert_allclose(hessian, numeric, rtol=1e-5, atol=1e-5)
        assert sharpness == pytest.approx(np.linalg.eigvalsh(hessian)[-1], rel=1e-12)


def test_walls_steepen_as_the_canyon_deepens_down_to_the_floor():
    canyon = Canyon(depth=80.0)
    xs = np.linspace(-4, canyon.floor_x, 200)
    loss, _, _, _ = canyon.fields(xs, 0.0)
    assert np.all(np.diff(loss) < 0), "the floor descends all the way to its minimum"
    assert np.all(np.diff(canyon.wall_curvature(xs)) > 0), "and the walls steepen on the way"
    assert canyon.wall_curvature(-6.0) == pytest.approx(canyon.plateau, rel=0.01)
    assert canyon.wall_curvature(canyon.floor_x) == pytest.approx(80.0)
    assert canyon.fields(canyon.floor_x, 0.0)[0] == pytest.approx(0.0, abs=1e-9)
    assert canyon.fields(canyon.floor_x, 0.0)[1] == pytest.approx(0.0, abs=1e-9)


def test_surface_grid_has_its_minimum_on_the_floor():
    run = make_runner(LEVEL)
    xs, ys, loss, _, _ = run.model.surface(nx=121, ny=41)
    j, i = np.unravel_index(np.argmin(loss), loss.shape)
    assert ys[j] == pytest.approx(0.0, abs=0.06)
    assert xs[i] == pytest.approx(run.model.canyon.floor_x, abs=0.15)
    assert loss.min() >= -1e-9


# ---------------------------------------------------------------------------------------------
# the claims: what the level states is checked across its range by claims.py (every claim runs in
# the engine's tests/test_claims.py and behind the About tab's Check button); these are the rest


@pytest.mark.parametrize("lr", [0.12, 0.2, 0.3])
def test_large_lr_is_reported_as_diverged_never_raised(lr):
    run = canyon_run(lr=lr)
    assert run.diverged and run.error is None
    assert run.series("diverged")[-1] == 1.0
    assert run.steps < STEPS and run.step(10) == 0, "a diverged run waits for a reset"
    run.reset()
    assert not run.diverged and run.step(5) == 5, "and a reset starts afresh"


def test_diverging_network_is_reported_as_diverged_never_raised():
    run = make_runner(LEVEL, {"mode": "network", "lr": 0.3})
    run.step(600)
    assert run.diverged and run.error is None


@pytest.mark.parametrize("start", [(-2.0, 1.0), (-4.0, 2.0), (2.5, -1.5)])
def test_stability_map_shows_settle_bounce_and_diverge_regimes(start):
    """Each η of the map is classified from its run: below 2/h_max the ball settles on the floor,
    and the map's runs are long enough for that to be reached (at 1500 steps η = 0.005 was still
    creeping, at a sharpness of 63 against the floor's 80); between 2/h_max and 2/h₀ it bounces at
    2/η; above 2/h₀ it diverges. Every point is where its label says."""
    run = make_runner(LEVEL, {"depth": 80.0, "start_x": start[0], "start_y": start[1]}, backend="numba")
    sweep = run.model.stability_map(points=40)
    etas, sharpness, amplitude = sweep["etas"], sweep["sharpness"], sweep["amplitude"]
    settling = etas < 0.9 * 2 / 80.0
    bouncing = (etas > 0.03) & (etas < 0.07)
    assert np.all(sweep["settled"][settling]) and not np.any(sweep["descending"])
    np.testing.assert_allclose(sharpness[settling], 80.0, rtol=0.01)  # flat at the floor's curvature
    assert np.all(amplitude[settling] == pytest.approx(1e-6))
    assert np.all(sweep["bouncing"][bouncing]) and np.all(amplitude[bouncing] > 0.05)
    np.testing.assert_allclose(sharpness[bouncing], 2 / etas[bouncing], rtol=0.1)
    assert np.all(sweep["diverged"] == (etas > 0.101)), "diverged exactly above 2/plateau"
    regimes = np.stack([sweep[name] for name in ("settled", "descending", "bouncing", "diverged")])
    assert np.all(regimes.sum(axis=0) == 1), "each η in exactly one regime"
    assert run.model.stability_map(points=40) is sweep, "cached until a parameter changes"


@pytest.mark.parametrize("depth", [50.0, 80.0, 120.0, 200.0])
def test_stability_map_labels_what_each_run_reached(depth):
    """A settled point sits on the floor's curvature; one that has not got there in the map's steps
    (the deepest canyons, the smallest η) is labelled still descending, below it and below 2/η."""
    run = make_runner(LEVEL, {"depth": depth}, backend="numba")
    sweep = run.model.stability_map(points=32)
    sharpness, etas = sweep["sharpness"], sweep["etas"]
    np.testing.assert_allclose(sharpness[sweep["settled"]], depth, rtol=0.02)
    assert np.all(sharpness[sweep["descending"]] < 0.98 * np.minimum(depth, 2 / etas[sweep["descending"]]))
    assert np.all(etas[sweep["settled"] | sweep["descending"]] < 1.3 * 2 / depth)
    np.testing.assert_allclose(sharpness[sweep["bouncing"] & (etas < 0.07)], 2 / etas[sweep["bouncing"] & (etas < 0.07)],
                               rtol=0.1)
    if depth <= 80.0:
        assert not np.any(sweep["descending"])  # README: only canyons deeper than about 85 leave any on the way
    else:
        assert np.any(sweep["descending"])


# ---------------------------------------------------------------------------------------------
# network mode


def test_tracked_network_sharpness_is_the_top_eigenvalue_of_the_exact_hessian():
    run = make_runner(LEVEL, {"mode": "network", "width": 8, "lr": 0.08})
    run.step(300)
    model = run.model
    n = model.net.num_parameters()
    columns = [nn.hessian_vector_product(model.net, nn.mse_loss, model.data_x, model.data_y, e) for e in np.eye(n)]
    hessian = np.array(columns)
    top = np.linalg.eigvalsh(0.5 * (hessian + hessian.T))[-1]
    assert model.sharpness == pytest.approx(top, rel=0.01)


# ---------------------------------------------------------------------------------------------
# challenges


def test_settle_or_bounce_measures_the_bounce_when_the_floor_is_sharper_than_2_over_lr():
    assert measured_outcome(LEVEL, "settle_or_bounce") == "bounces"
    verdict = run_challenge(LEVEL, "settle_or_bounce", "settles", confidence=0.9)
    assert not verdict.correct and "floor" in verdict.hint


def test_shallow_floor_measures_settling():
    assert measured_outcome(LEVEL, "shallow_floor") == "settles"


def test_outcome_of_a_diverging_run_is_diverges():
    run = canyon_run(steps=100, lr=0.2)
    assert run.model.measure_outcome(run) == "diverges"


def test_bounce_sharpness_measures_2_over_lr():
    assert measured_outcome(LEVEL, "bounce_sharpness") == pytest.approx(2 / 0.04, rel=0.02)
    assert run_challenge(LEVEL, "bounce_sharpness", 2 / 0.04).correct


def test_largest_stable_lr_measures_2_over_the_plateau_curvature():
    assert measured_outcome(LEVEL, "largest_stable_lr") == pytest.approx(0.1, rel=0.01)
    assert not run_challenge(LEVEL, "largest_stable_lr", 2 / 80).correct  # the classical guess


def test_network_edge_measures_2_over_lr():
    assert measured_outcome(LEVEL, "network_edge") == pytest.approx(2 / 0.08, rel=0.10)


# ---------------------------------------------------------------------------------------------
# robustness, backends, witness


def test_every_parameter_corner_runs_without_error():
    params = load_manifest(HERE).params
    numeric = ["lr", "depth", "start_x", "start_y", "noise_floor"]
    for values in itertools.product(*[(params[n].min, params[n].max) for n in numeric]):
        run = make_runner(LEVEL, dict(zip(numeric, values)))
        run.step(200)
        assert run.error is None, run.error
        assert run.diverged or np.all(np.isfinite(list(run.latest().values())))
    for width, points in [(4, 8), (64, 96)]:
        run = make_runner(LEVEL, {"mode": "network", "width": width, "n_points": points, "power_iters": 1})
        run.step(20)
        assert run.error is None, run.error


def test_live_changes_of_depth_and_lr_take_effect():
    run = make_runner(LEVEL, {"lr": 0.03, "depth": 80.0})
    run.step(1000)
    run.set_param("depth", 50.0)  # now shallower than 2/η = 66.7: the ball must settle
    assert np.allclose(run.model.trajectory()[-1], [run.model.x, run.model.y, run.model.loss]), "trail reshaped too"
    run.step(1500)
    assert run.model.canyon.depth == 50.0
    assert run.model.sharpness == pytest.approx(50.0, rel=0.05)
    run.set_param("lr", 0.05)  # now 2/η = 40 < 50: it bounces again, at 40
    run.step(1500)
    assert late_mean(run) == pytest.approx(40.0, rel=0.1)


@pytest.mark.parametrize("backend", ["numba", "glsl"])
def test_view_data_agrees_across_backends(backend):
    if backends.unavailable_reason(backend):
        pytest.skip(backends.unavailable_reason(backend))
    reference = make_runner(LEVEL).model
    other = make_runner(LEVEL, backend=backend).model
    np.testing.assert_allclose(other.surface(nx=24, ny=12)[2], reference.surface(nx=24, ny=12)[2], rtol=1e-5, atol=2e-4)
    ref_map, other_map = reference.stability_map(points=16), other.stability_map(points=16)
    np.testing.assert_array_equal(other_map["diverged"], ref_map["diverged"])
    np.testing.assert_allclose(other_map["sharpness"], ref_map["sharpness"], rtol=1e-3)


def test_model_exposes_what_the_view_draws():
    run = make_runner(LEVEL)
    run.step(50)
    model = run.model
    trail = model.trajectory()
    assert trail.shape == (51, 3) and np.allclose(trail[-1], [model.x, model.y, model.loss])
    x_min, x_max, y_min, y_max = model.bounds()
    assert x_min < model.params["start_x"] and x_max > model.canyon.floor_x and y_min < -1 < 1 < y_max
    assert model.canyon.wall_curvature(model.edge_x()) == pytest.approx(2 / model.lr)
    network = make_runner(LEVEL, {"mode": "network"}).model
    assert network.prediction(np.linspace(-1, 1, 5)).shape == (5,)


def test_while_a_prediction_is_chosen_the_level_shows_the_canyon_not_the_run(tmp_path, monkeypatch):
    """The sandbox's ball hovering at 2/η, its sharpness and its bouncing loss would answer every
    canyon challenge: while the learner chooses, the scene has the ball at its start, the edge is
    not drawn, and the strip shows the asked-about canyon's curvature instead of the run's plots."""
    from sandbox.view import Frame

    shown, labels = [], []
    label = Frame.label
    monkeypatch.setattr(Frame, "label", lambda self, draw_list, point, text, *a, **k: (
        labels.append(text), label(self, draw_list, point, text, *a, **k))[1])
    with headless_app(LEVEL, tmp_path) as app:
        view_module = sys.modules[type(app.host.view).__module__]
        monkeypatch.setattr(view_module, "plot_strip", lambda context, plots: shown.append(
            [plot if isinstance(plot, str) else plot.title for plot in plots]))
        app.host.runner.step(300)  # the sandbox's ball is bouncing at the edge by now
        for challenge in ("settle_or_bounce", "bounce_sharpness", "largest_stable_lr"):
            open_challenge(app, challenge)
            labels.clear()
            app.run_frames(1)
            assert app.host.view.challenge.choosing
            assert shown[-1] == ["the canyon asked about: h(x)"]
            assert "h = 2/η" not in labels and "start" in labels
        open_challenge(app, "network_edge")
        app.run_frames(1)
        assert shown[-1] == []
        open_challenge(app, None)
        app.host.requested_tab = "Play"
        app.run_frames(2)
        labels.clear()
        app.run_frames(1)
        assert shown[-1] == ["sharpness", "loss"] and "h = 2/η" in labels


def test_after_the_largest_stable_lr_verdict_the_sweep_that_measured_it_is_shown(tmp_path, monkeypatch):
    shown = []
    with headless_app(LEVEL, tmp_path) as app:
        view_module = sys.modules[type(app.host.view).__module__]
        monkeypatch.setattr(view_module, "plot_strip", lambda context, plots: shown.append(
            [plot if isinstance(plot, str) else plot.title for plot in plots]))
        open_challenge(app, "largest_stable_lr")
        panel = app.host.challenges
        panel.number_text = "0.1"
        panel.lock(app.host.manifest.challenges["largest_stable_lr"])
        for _ in range(2000):
            if panel.attempt.verdict is not None:
                break
            app.run_frames(1)
        app.run_frames(1)
        assert app.host.view.challenge.revealed
        assert shown[-1][0] == "sharpness" and shown[-1][1].startswith("stability map")


def test_manifest_and_level_entry_are_valid():
    manifest = load_manifest(HERE)
    model_class = level(LEVEL).model_class()
    for challenge in manifest.challenges.values():
        assert hasattr(model_class, f"measure_{challenge.measure}")
    lr = manifest.params["lr"]
    model_module = sys.modules[model_class.__module__]
    assert model_module.MAP_LR_RANGE == (lr.min, lr.max), "the stability map spans the slider's range"


def test_witness_runs_and_asserts_the_claim(capsys):
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "2/η =  40.00" in out and out.count("late sharpness") == 3
