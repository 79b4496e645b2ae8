"""The Width Dial: what the level shows, as assertions on its simulation and its view.

The claims of level.toml (the 1/√width rates, the wide net as kernel regression, mean field as the
non-lazy contrast) are checked over their ranges by claims.py, which the engine's tests run; these
tests check the maths against independent computations, the challenges' measurements, the
kernels on every backend, the model's edges, and that the view hides what would answer a question.
"""

import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from sandbox.manifest import load_manifest
from sandbox.testing import (
    cut_off_text,
    finished_challenge,
    headless_app,
    level,
    make_runner,
    measured_outcome,
    open_challenge,
    overlapping_text,
    record_scene_text,
)
from sim import backends

level("ntk_width").module("kernels")  # imports the level's package as the game does
from cf_level_ntk_width.kernels import (
    FORWARD,
    UPDATE,
    Scaling,
    analytic_ntk,
    augment,
    empirical_ntk,
    forward_reference,
    update_reference,
)
from cf_level_ntk_width.model import CLOSE, reference_change

LEVEL = "ntk_width"
HERE = Path(__file__).parent


# ---------------------------------------------------------------------------------------------
# the maths, against independent computations


def test_analytic_kernel_is_the_mean_of_random_features():
    """Θ(z, z') = E[ReLU(w·z)ReLU(w·z')] + (z·z') E[1{w·z>0}1{w·z'>0}] by Monte Carlo, w ~ N(0, I)."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(2_000_000, 2))
    z = augment([-1.0, -0.3, 0.4, 1.0])
    p = z @ w.T
    monte_carlo = (np.maximum(p, 0) @ np.maximum(p, 0).T + (z @ z.T) * ((p > 0) @ (p > 0).T.astype(float))) / len(w)
    np.testing.assert_allclose(analytic_ntk(z, z), monte_carlo, rtol=5e-3)
    np.testing.assert_allclose(np.diag(analytic_ntk(z, z)), np.sum(z * z, axis=1), rtol=1e-12)  # φ = 0: ‖z‖²


@pytest.mark.parametrize("scaling", ["ntk", "mean_field"])
def test_empirical_kernel_and_update_are_the_exact_gradients(scaling):
    """Finite differences of the network's output give its tangent kernel (weighted by each weight's
    step) and of the loss give the update the kernels take."""
    rng = np.random.default_rng(1)
    n = 12
    w, a = rng.normal(size=(n, 2)), rng.normal(size=n)
    s = Scaling(scaling, n)
    zs = augment(np.linspace(-1, 1, 5))
    theta = np.concatenate([a, w.ravel()])

    def out(t, z):
        return forward_reference(z, t[n:].reshape(n, 2), t[:n], s.scale)

    eps = 1e-6
    jac = np.stack([(out(theta + eps * e, zs) - out(theta - eps * e, zs)) / (2 * eps) for e in np.eye(3 * n)], 1)
    np.testing.assert_allclose(s.lr_multiplier() * jac @ jac.T, empirical_ntk(zs, zs, w, a), rtol=1e-6, atol=1e-9)
    y = np.sin(3 * zs[:, 0])
    residual = (out(theta, zs) - y) / len(y)
    grad = jac.T @ residual  # ∂/∂θ of Σ m r²/2 with r = (f − y)/m
    lr = 0.3
    w_new, a_new = update_reference(zs, residual, w, a, s.scale, lr, lr)
    np.testing.assert_allclose(a_new, a - lr * grad[:n], atol=1e-8)
    np.testing.assert_allclose(w_new, w - lr * grad[n:].reshape(n, 2), atol=1e-8)


def test_twins_start_the_net_at_zero_and_a_seed_fixes_the_run():
    run = make_runner(LEVEL, {"width": 512}, seed=5)
    model = run.model
    assert np.max(np.abs(model.curve())) < 1e-12 and np.all(model.kernel_curve == 0)
    np.testing.assert_allclose(model.lin_curve, model.curve(), atol=0)
    run.step(30)
    again = make_runner(LEVEL, {"width": 512}, seed=5)
    again.step(30)
    np.testing.assert_array_equal(run.model.a, again.model.a)
    assert make_runner(LEVEL, {"width": 513}).model.width == 512, "units come in twins"


def test_the_numba_run_is_the_numpy_run():
    runs = [make_runner(LEVEL, {"width": 2048}, seed=2, backend=b) for b in ("numpy", "numba")]
    for run in runs:
        run.step(50)
    np.testing.assert_allclose(runs[0].model.curve(), runs[1].model.curve(), atol=1e-10)
    assert runs[0].model.weight_change == pytest.approx(runs[1].model.weight_change, rel=1e-9)


@pytest.mark.parametrize("name", ["ntk_width_forward", "ntk_width_update"])
def test_kernels_agree_with_the_oracle_on_every_backend_here(name):
    kernel = {"ntk_width_forward": FORWARD, "ntk_width_update": UPDATE}[name]
    assert set(kernel.implementations()) == {"numpy", "numba", "glsl"}
    for backend in kernel.runnable():
        for seed in range(3):
            assert kernel.check(backend, seed=seed) is None, f"{name} on {backend}, seed {seed}"


@pytest.mark.parametrize("params", [{"width": 64, "lr": 1.5}, {"width": 64, "lr": 0.05, "points": 3},
                                    {"width": 16384, "lr": 1.5, "points": 10, "frequency": 5.0},
                                    {"width": 64, "scaling": "mean_field", "lr": 1.5, "points": 10}])
def test_every_corner_of_the_parameters_runs_finite_or_reports_divergence(params):
    run = make_runner(LEVEL, params, backend="numba")
    run.step(150)
    assert run.error is None
    values = run.model.observables()
    assert run.diverged or all(math.isfinite(v) for v in values.values())


def test_changing_eta_live_keeps_all_three_on_the_same_steps():
    run = make_runner(LEVEL, {"width": 1024}, backend="numba")
    run.step(20)
    run.set_param("lr", 0.5)
    run.step(20)
    model = run.model
    assert model.steps_done == 40 and model.gap_kernel < 0.2


# ---------------------------------------------------------------------------------------------
# challenges


def test_sixteen_times_wider_moves_about_a_quarter_as_far():
    attempt = finished_challenge(LEVEL, "sixteen_times_wider", backend="numba")
    measured = attempt.verdict.measured
    challenge = load_manifest(HERE).challenges["sixteen_times_wider"]
    entry = level(LEVEL)
    params = entry.manifest.resolve_params(challenge.set)
    narrow = 100 * reference_change(entry.model_class(), params, 1024, challenge.steps, challenge.seed, "numba")
    assert abs(narrow / 4 - measured) <= challenge.tolerance * measured, "the 1/√n answer scores"
    assert abs(narrow / 16 - measured) > challenge.tolerance * measured, "1/n does not"
    assert abs(narrow - measured) > challenge.tolerance * measured, "nor 'as far'"
    wide_run = attempt.runner
    narrow_model = entry.model_class()(params, "numba").trained(1024, challenge.steps, seed=challenge.seed)
    assert wide_run.model.loss <= narrow_model.loss, "the explanation's 'the fit is no worse'"


def test_wide_ntk_net_is_close_and_mean_field_is_not():
    assert measured_outcome(LEVEL, "close_to_kernel", backend="numba") == "yes"
    assert measured_outcome(LEVEL, "mean_field_close", backend="numba") == "no"
    narrow = make_runner(LEVEL, {"width": 1024}, seed=1, backend="numba")
    narrow.step(400)
    assert narrow.model.gap_kernel > CLOSE, "the explanation's 'width 1,024 is not'"


def test_manifest_is_valid_and_every_challenge_and_claim_has_its_code():
    manifest = load_manifest(HERE)
    model_class = level(LEVEL).model_class()
    for challenge in manifest.challenges.values():
        assert hasattr(model_class, f"measure_{challenge.measure}") and challenge.title
    claims_module = level(LEVEL).module("claims")
    for claim in manifest.claims.values():
        assert callable(getattr(claims_module, f"check_{claim.id}", None))


def test_witness_runs_and_asserts_the_claims(capsys):
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    assert "slope -0.5" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# the view


def caption_text(boxes) -> str:
    return " ".join(box[0] for box in boxes)


def test_while_a_prediction_is_open_the_run_and_its_measures_are_hidden(tmp_path, monkeypatch):
    shown = []
    with headless_app(LEVEL, tmp_path) as app:
        view_module = sys.modules[type(app.host.view).__module__]
        monkeypatch.setattr(view_module, "plot_strip", lambda context, plots: shown.append(list(plots)))
        boxes = record_scene_text(monkeypatch)
        app.run_frames(3)
        assert "weights moved" in caption_text(boxes) and shown[-1]
        for challenge in ("sixteen_times_wider", "close_to_kernel", "mean_field_close"):
            open_challenge(app, challenge)
            boxes.clear()
            shown.clear()
            app.run_frames(2)
            view = app.host.view
            assert view.challenge.hide_answers and view.challenge.choosing
            text = caption_text(boxes)
            assert "hidden while you predict" in text
            assert "flipped" not in text and "gap" not in text and "step" not in text
            if challenge == "sixteen_times_wider":  # the narrow net's measurement the question builds on
                assert "measured at width 1,024" in text and "weights moved" in text
            else:
                assert "moved" not in text and "%" not in text
            assert all(plots == [] for plots in shown), "no plots of the sandbox's run while predicting"
        open_challenge(app, None)
        app.host.requested_tab = "Play"
        boxes.clear()
        app.run_frames(3)
        assert "weights moved" in caption_text(boxes)


@pytest.mark.parametrize("size, params", [((960, 600), {}), ((1280, 720), {"width": 16384}),
                                          ((960, 600), {"scaling": "mean_field", "width": 64})])
def test_no_scene_text_runs_into_another_or_off_its_pane(tmp_path, monkeypatch, size, params):
    with headless_app(LEVEL, tmp_path, params=params, size=size) as app:
        boxes = record_scene_text(monkeypatch)
        app.run_frames(30)
        boxes.clear()
        app.run_frames(1)  # one frame's texts
        assert boxes
        assert not overlapping_text(boxes), overlapping_text(boxes)
        assert not cut_off_text(boxes), cut_off_text(boxes)


def test_backends_include_numba_here():
    assert "numba" in backends.available()


@pytest.mark.parametrize("size, scale", [((1280, 720), 2.0), ((960, 600), 1.5)])
def test_no_scene_text_runs_into_another_at_a_large_ui_scale(tmp_path, monkeypatch, size, scale):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, size=size, ui_scale=scale) as app:
        app.run_frames(20)
        boxes.clear()
        app.run_frames(1)
        assert app.host.error is None, app.host.error
        assert boxes
        assert not overlapping_text(boxes), overlapping_text(boxes)
        assert not cut_off_text(boxes), cut_off_text(boxes)
