"""Claims of the discretization lab, as assertions on the simulation."""

import math
import runpy
from pathlib import Path

import numpy as np
import pytest

from sandbox.testing import headless_app, level, make_runner, measured_outcome, open_challenge

level("discretization_lab").module("kernels")  # imports the level's package as the game does
from cf_level_discretization_lab.kernels import (  # noqa: E402
    continuous_response,
    discretize,
    expm,
    hippo_legs,
    largest_stable_dt,
    legendre_readout,
    legs_step,
    simulate,
    spectral_radius,
)

LEVEL = "discretization_lab"
HERE = Path(__file__).parent
STABLE_POLES = [complex(re, im) for re in (-4.0, -1.0, -0.2, -0.01) for im in (0.0, 0.5, 3.0, 9.0)]
STEPS = np.logspace(-3, 3, 25)


def oscillator(pole):
    A = np.array([[pole.real, -pole.imag], [pole.imag, pole.real]])
    return A, np.array([1.0, 0.0])


def test_matrix_exponential_matches_the_rotation_closed_form():
    for t in (0.01, 0.7, 5.0):
        A, _ = oscillator(complex(-0.5, 3.0))
        c, s = math.cos(3.0 * t), math.sin(3.0 * t)
        np.testing.assert_allclose(expm(A * t), math.exp(-0.5 * t) * np.array([[c, -s], [s, c]]), atol=1e-13)


@pytest.mark.parametrize("pole", STABLE_POLES + [complex(0.5, 2.0)])
def test_discrete_poles_are_the_closed_form_maps_of_the_continuous_ones(pole):
    A, B = oscillator(pole)
    for dt in (0.01, 0.3, 2.0):
        maps = {"euler": 1 + dt * pole, "bilinear": (1 + dt * pole / 2) / (1 - dt * pole / 2),
                "zoh": np.exp(dt * pole)}
        for method, expected in maps.items():
            poles = np.linalg.eigvals(discretize(A, B, dt, method)[0])
            assert np.min(np.abs(poles - expected)) < 1e-9 * max(1.0, abs(expected)), method


@pytest.mark.parametrize("pole", [complex(-1, 3), complex(-0.1, 5), complex(-2, 0), complex(-4, 9)])
def test_euler_stability_bound_is_where_one_plus_dt_lambda_reaches_the_unit_circle(pole):
    A, _ = oscillator(pole)
    limit = -2 * pole.real / abs(pole) ** 2  # |1 + Δλ| = 1
    assert largest_stable_dt(A, "euler") == pytest.approx(limit, rel=1e-6)
    B = np.zeros(2)
    assert spectral_radius(discretize(A, B, 0.99 * limit, "euler")[0]) < 1
    assert spectral_radius(discretize(A, B, 1.01 * limit, "euler")[0]) > 1


def test_bilinear_keeps_every_stable_pole_inside_the_unit_disk_for_all_steps():
    for pole in STABLE_POLES:
        A, B = oscillator(pole)
        radii = [spectral_radius(discretize(A, B, dt, "bilinear")[0]) for dt in STEPS]
        assert max(radii) < 1.0, pole
    # ... and an unstable pole outside it: bilinear preserves stability exactly.
    A, B = oscillator(complex(0.3, 2.0))
    assert min(spectral_radius(discretize(A, B, dt, "bilinear")[0]) for dt in STEPS) > 1.0


def rk4_piecewise_constant(A, B, levels, dt, substeps=200):
    """An independent integrator: RK4 with a tiny step over each constant piece of the input."""
    x, h, out = np.zeros(len(A)), dt / substeps, []
    for u in levels:
        for _ in range(substeps):
            f = lambda z: A @ z + B * u  # noqa: E731
            k1 = f(x)
            k2 = f(x + h / 2 * k1)
            k3 = f(x + h / 2 * k2)
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + f(x + h * k3))
        out.append(x)
    return np.array(out)


def test_zoh_is_exact_for_piecewise_constant_input_and_the_others_are_not():
    A, B = oscillator(complex(-0.7, 2.5))
    C = np.array([0.3, 1.0])
    dt = 0.4
    levels = np.random.default_rng(3).uniform(-1, 1, 30)  # held over each step
    exact = rk4_piecewise_constant(A, B, levels, dt) @ C
    errors = {method: np.max(np.abs(simulate(*discretize(A, B, dt, method), C, levels) - exact))
              for method in ("euler", "bilinear", "zoh")}
    assert errors["zoh"] < 1e-9
    assert errors["bilinear"] > 1e-3 and errors["euler"] > 1e-2


def test_continuous_reference_is_exact_for_a_step():
    A, B = oscillator(complex(-1.0, 4.0))
    C = np.array([1.0, -2.0])
    h = 0.01
    y = continuous_response(A, B, C, np.ones(501), h)
    t = 5.0
    exact = C @ np.linalg.solve(A, (expm(A * t) - np.eye(2)) @ B)
    assert y[-1] == pytest.approx(exact, abs=1e-12)


def test_model_errors_shrink_as_the_step_shrinks_and_zoh_is_exact_for_the_step_input():
    run = make_runner(LEVEL, {"input": "sine", "input_freq": 0.3})
    coarse = dict(run.model.errors)
    run.set_param("dt", 0.005)
    for method, error in run.model.errors.items():
        assert error < coarse[method] / 5, method
    run = make_runner(LEVEL, {"input": "step", "dt": 0.3})
    assert run.model.errors["zoh"] < 1e-9
    assert min(run.model.errors["euler"], run.model.errors["bilinear"]) > 1e-3


def test_model_reports_euler_going_unstable_without_diverging():
    run = make_runner(LEVEL, {"pole_real": -1.0, "pole_imag": 4.0, "dt": 0.1})
    limit = 2 * 1.0 / 17.0
    assert run.latest()["euler_limit_dt"] == pytest.approx(limit, rel=1e-6)
    assert run.latest()["euler_stable"] == 1.0
    run.set_param("dt", 1.0)  # |1 + Δλ| = |1 - 1 + 4i| = 4
    run.step(60)
    latest = run.latest()
    assert latest["euler_stable"] == 0.0 and latest["radius_euler"] == pytest.approx(4.0)
    assert latest["radius_bilinear"] < 1 and latest["radius_zoh"] == pytest.approx(math.exp(-1.0))
    assert not run.diverged and run.error is None
    assert all(math.isfinite(v) for v in latest.values())


def test_legs_state_holds_the_legendre_coefficients_of_the_history():
    n, steps = 12, 3000
    A, B = hippo_legs(n)
    t = np.arange(1, steps + 1) / steps
    u = np.cos(4 * t) + t ** 2
    c = np.zeros(n)
    for k in range(1, steps + 1):
        c = legs_step(c, u[k - 1], k, A, B)
    # Projection of the history on the orthonormal sqrt(2n+1) P_n(2s/t - 1) over [0, t].
    basis = np.stack([legendre_readout(np.eye(n)[m], t) for m in range(n)], axis=1)
    projection = basis.T @ u / steps
    np.testing.assert_allclose(c[:6], projection[:6], atol=2e-3)


@pytest.mark.parametrize("seed", [0, 1])
def test_hippo_rebuilds_a_smooth_history_and_a_random_a_of_the_same_size_forgets(seed):
    claims = level(LEVEL).module("claims")
    measured = claims.check_legs_remembers_what_a_random_a_loses(hippo_n=24, state_noise=0.001, seed=seed)
    assert measured["random ÷ LegS"] > 10
    run = make_runner(LEVEL, {"hippo_n": 24, "signal_per_step": 0.5}, seed=seed)
    run.step(39)
    model = run.model
    assert len(model.history_hippo) == len(model.history_true) <= 200


def test_challenge_outcomes_are_what_the_closed_forms_say():
    assert measured_outcome(LEVEL, "euler_limit") == pytest.approx(2 * 1.0 / (1 + 9), rel=1e-6)
    assert measured_outcome(LEVEL, "bilinear_unstable") == "no"
    assert measured_outcome(LEVEL, "exact_for_step") == "zoh"


def test_unstable_continuous_poles_and_extreme_steps_stay_finite():
    run = make_runner(LEVEL, {"pole_real": 1.0, "pole_imag": 10.0, "dt": 1.0, "input": "noise",
                              "hippo_n": 64, "hippo_signal": "input", "state_noise": 0.1})
    run.step(30)
    assert run.error is None and not run.diverged


def test_witness_runs():
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")


def test_the_pole_paths_and_euler_disk_drawn_are_the_discretizations_poles():
    run = make_runner(LEVEL, {"pole_real": -1.0, "pole_imag": 3.0})
    model = run.model
    paths = model.pole_paths(0.001, 1.0, 50)
    assert model.pole_paths(0.001, 1.0, 50) is paths  # memoised: drawn every frame, computed once
    A, B = oscillator(complex(-1.0, 3.0))
    for k in (0, 17, 49):
        dt = np.geomspace(0.001, 1.0, 50)[k]
        for method, branches in paths.items():
            poles = np.linalg.eigvals(discretize(A, B, dt, method)[0])
            for pole in branches[:, k]:
                assert np.min(np.abs(poles - pole)) < 1e-9, method
    assert paths["bilinear"][0, 0].imag > 0  # row 0 is the upper pole's path: the view names it there
    edge = model.euler_disk()
    np.testing.assert_allclose(np.abs(1 + model.params["dt"] * edge), 1.0, atol=1e-12)
    crossing = model.euler_crossing(0.001, 1.0)
    np.testing.assert_allclose(np.abs(crossing), 1.0, atol=1e-6)  # on the unit circle, at Δ = 0.2 s
    assert model.euler_crossing(0.001, 0.1) is None  # the limit is beyond that slider
    run.set_param("pole_imag", 4.0)
    assert model.pole_paths(0.001, 1.0, 50) is not paths  # new poles, new paths


def test_the_legs_state_is_recorded_as_an_array_observable():
    run = make_runner(LEVEL, {"hippo_n": 8})
    run.step(25)
    np.testing.assert_array_equal(run.array("hippo_state"), run.model.hippo_state)
    steps, states = run.arrays("hippo_state")
    assert list(steps) == [0, 10, 20] and all(state.shape == (8,) for state in states)


def test_the_view_hides_the_euler_limit_and_the_pole_paths_while_a_prediction_is_open(tmp_path, monkeypatch):
    from sandbox.view import Frame

    shown = []
    text = Frame.text  # every label of the view ends there
    monkeypatch.setattr(Frame, "text", lambda self, draw_list, at, words, *a, **k: (
        shown.append(words), text(self, draw_list, at, words, *a, **k)))
    with headless_app(LEVEL, tmp_path) as app:
        app.run_frames(2)
        assert any(text.startswith("Euler leaves at Δ = 0.118") for text in shown) and "bilinear" in shown
        open_challenge(app, "euler_limit")
        shown.clear()
        app.run_frames(1)
        assert app.host.view.challenge.choosing and app.host.view.challenge.hide_answers
        assert not any(text.startswith("Euler leaves") for text in shown), shown
        assert "bilinear" not in shown and "ZOH" not in shown  # the paths and their names are gone
        assert any("paths hidden" in text for text in shown), "|".join(shown)
        assert app.host.view.challenge.hidden() == {"euler_limit_dt", "euler_stable", "radius_euler"}


def test_dragging_a_pole_moves_it_and_its_conjugate(tmp_path):
    with headless_app(LEVEL, tmp_path) as app:
        app.run_frames(2)
        view = app.host.view
        sx, sy, sw, sh = app.layout()["scene"]
        fx, fy, fw, fh = view.panes()[0].rect  # the s-plane
        origin, viewport = (sx + fx * sw, sy + fy * sh), (int(fw * sw), int(fh * sh))
        grab = view.cam.world_to_screen((-1.0, -4.0), viewport)  # the lower pole, σ − iω
        drop = view.cam.world_to_screen((-2.0, -6.0), viewport)
        app.inject("mouse_pos", origin[0] + grab[0], origin[1] + grab[1])
        app.inject("mouse_button", 0, True)
        for k in range(1, 11):
            app.inject("mouse_pos", *(o + g + k / 10 * (d - g) for o, g, d in zip(origin, grab, drop)))
        app.inject("mouse_button", 0, False)
        app.run_frames(16)
        params = app.host.runner.params
        assert params["pole_real"] == pytest.approx(-2.0, abs=0.15)
        assert params["pole_imag"] == pytest.approx(6.0, abs=0.15)
        assert app.host.runner.model.euler_limit == pytest.approx(2 * 2.0 / (4 + 36), rel=0.1)
