"""Claims of the Newton-Schulz / Muon level, as assertions on the simulation."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from sandbox.testing import cut_off_text, level, make_runner, measured_outcome, overlapping_text, record_scene_text
from sim import backends

level("muon_orthogonalizer").module("kernels")  # imports the level's package as the game does
from cf_level_muon_orthogonalizer.kernels import (  # noqa: E402
    CUBIC,
    MUON_QUINTIC,
    QUINTIC_BAND,
    QUINTIC_REACH,
    Muon,
    iterate_singular_values,
    newton_schulz,
    polar_factor,
)

LEVEL = "muon_orthogonalizer"
HERE = Path(__file__).parent


def gradient_like(rng, rows, cols, condition):
    u, _ = np.linalg.qr(rng.standard_normal((rows, rows)))
    v, _ = np.linalg.qr(rng.standard_normal((cols, cols)))
    k = min(rows, cols)
    return (u[:, :k] * np.geomspace(1.0, 1.0 / condition, k)) @ v[:, :k].T


# ---------------------------------------------------------------------------------------------
# the iteration


@pytest.mark.parametrize("shape", [(2, 2), (16, 16), (12, 30), (30, 12)])
def test_cubic_newton_schulz_converges_to_the_svd_polar_factor(shape):
    rng = np.random.default_rng(1)
    x = gradient_like(rng, *shape, condition=50.0) * 3.0
    exact = polar_factor(x)
    errors = [np.abs(newton_schulz(x, CUBIC, steps) - exact).max() for steps in (5, 10, 20)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-5  # float32 output


def test_quintic_brings_well_conditioned_singular_values_into_its_band_in_5_steps():
    rng = np.random.default_rng(2)
    for rows, cols, condition in [(32, 32, 10.0), (64, 64, 100.0), (20, 50, 300.0), (50, 20, 30.0)]:
        x = gradient_like(rng, rows, cols, condition)
        assert np.linalg.svd(x, compute_uv=False).min() / np.linalg.norm(x) > QUINTIC_REACH
        sigma = np.linalg.svd(newton_schulz(x, MUON_QUINTIC, 5), compute_uv=False)
        assert QUINTIC_BAND[0] <= sigma.min() and sigma.max() <= QUINTIC_BAND[1]
        assert np.abs(sigma - 1).max() > 0.1  # fast, but not exactly orthogonal


def test_quintic_band_holds_for_every_normalized_singular_value_above_its_reach():
    sigma = np.geomspace(QUINTIC_REACH, 1.0, 20001)
    after = iterate_singular_values(sigma, MUON_QUINTIC, 5)[-1]
    assert QUINTIC_BAND[0] <= after.min() and after.max() <= QUINTIC_BAND[1]
    assert iterate_singular_values([0.5 * QUINTIC_REACH], MUON_QUINTIC, 5)[-1, 0] < QUINTIC_BAND[0]


# ---------------------------------------------------------------------------------------------
# the level: what it states (the grid snaps square, the quintic's band, the race) is checked across
# its range by claims.py (every claim runs in the engine's tests/test_claims.py); these are the rest


def test_editing_the_matrix_restarts_the_iteration_and_keeps_the_race():
    run = make_runner(LEVEL, {"pace": 1})
    run.step(8)
    weights = run.model.race_networks["muon"].parameters_vector()
    run.set_param("m01", -0.5)
    assert run.model.iteration == 0
    assert run.model.grid_input[0, 1] == -0.5
    np.testing.assert_array_equal(run.model.race_networks["muon"].parameters_vector(), weights)
    run.step(1)
    assert run.model.iteration == 1
    assert not np.array_equal(run.model.race_networks["muon"].parameters_vector(), weights)


@pytest.mark.parametrize("backend", ["numba", "glsl"])
def test_every_backend_draws_the_same_iteration(backend):
    if backends.unavailable_reason(backend):
        pytest.skip(backends.unavailable_reason(backend))
    params = {"pace": 1, "race": False, "size": 16}
    reference = make_runner(LEVEL, params)
    other = make_runner(LEVEL, params, backend=backend)
    reference.step(6)
    other.step(6)
    np.testing.assert_allclose(other.model.matrix, reference.model.matrix, atol=1e-4)
    np.testing.assert_allclose(other.model.grid, reference.model.grid, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# what the view draws is derived in the model; the measures read the recorded run


def test_the_drawn_iterate_moves_from_the_previous_step_to_the_current_one():
    run = make_runner(LEVEL, {"method": "cubic", "pace": 10, "race": False})
    model = run.model
    run.step(10)  # the first step has just been taken: the drawing starts from step 0's matrix
    shown, u, sigma = model.shown_grid()
    np.testing.assert_allclose(shown, model.grid_previous)
    assert model.shown_grid() is model.shown_grid()  # once per tick, not per frame
    run.step(5)  # half way through the step: the tween is over
    shown, u, sigma = model.shown_grid()
    np.testing.assert_allclose(shown, model.grid)
    np.testing.assert_allclose(sigma, model.grid_sigma_history[-1], atol=1e-9)
    np.testing.assert_allclose(np.abs(u.T @ shown @ shown.T @ u), np.diag(sigma**2), atol=1e-9)


@pytest.mark.parametrize("coefficients, kind", [
    ({"method": "cubic"}, "attracts"),
    ({"method": "quintic"}, "none"),
    ({"method": "custom", "coef_a": 3.0, "coef_b": -2.0, "coef_c": 0.0}, "repels"),  # p(1) = 1, p′(1) = −3
])
def test_whether_sigma_can_settle_on_one_follows_from_p_at_one(coefficients, kind):
    assert make_runner(LEVEL, coefficients).model.fixed_point()[0] == kind


def test_the_cobweb_and_the_spectrum_follow_the_iteration():
    run = make_runner(LEVEL, {"method": "quintic", "pace": 1, "race": False, "size": 24})
    run.step(4)
    model = run.model
    path = model.cobweb()
    np.testing.assert_allclose(path, iterate_singular_values(model.grid_sigma_history[0], MUON_QUINTIC, 4))
    np.testing.assert_allclose(np.abs(path[-1]), model.grid_sigma_history[-1], atol=1e-5)
    spectrum = model.spectrum()
    assert spectrum["start"].sum() == spectrum["now"].sum() == 24
    assert spectrum["low"] < model.matrix_sigma_history[0].min()
    assert spectrum["high"] > model.matrix_sigma_history[-1].max()
    run.set_param("m01", 0.1)  # an edit restarts the iteration, and what is drawn from it
    restarted = model.spectrum()
    assert model.cobweb().shape == (1, 2) and np.array_equal(restarted["now"], restarted["start"])


def test_measures_read_the_recorded_share_in_the_band_and_the_recorded_gains():
    run = make_runner(LEVEL, {"method": "cubic", "pace": 2, "race": False, "size": 32, "condition": 100.0})
    run.step(60)
    model = run.model
    first = next(k for k, sigma in enumerate(model.matrix_sigma_history) if np.all(np.abs(sigma - 1) <= 0.1))
    assert model.measure_steps_to_band(run) == first == 14
    _, gains = run.arrays("gains")
    np.testing.assert_allclose(gains[-1], model.matrix_gain_history[-1])
    np.testing.assert_allclose(gains[0], model.matrix_gain_history[0])


def test_while_a_challenge_asks_about_the_spectrum_the_view_keeps_only_its_start(monkeypatch):
    """The n×n matrix's singular values now, its share in the band and the rug are what the
    challenges ask about: the view draws the input's spectrum only until the verdict, and the share
    in the band per iteration (with the first iteration that has them all) only after it."""
    from types import SimpleNamespace
    from unittest import mock

    run = make_runner(LEVEL, {"method": "quintic", "pace": 1, "race": False})
    run.step(6)
    view_class = level(LEVEL).view_class()
    module = sys.modules[view_class.__module__]
    drawn, strips = [], []
    monkeypatch.setattr(module, "implot", mock.MagicMock())
    monkeypatch.setattr(module, "plot_strip", lambda context, plots: strips.append(plots))
    for name in ("line", "scatter", "hline", "vlines"):
        monkeypatch.setattr(module, name, lambda label, *args, **kwargs: drawn.append(label))
    for hidden in (True, False):
        context = SimpleNamespace(run=run, painter=None, gl=None, formulas=None, transport=None,
                                  challenge=SimpleNamespace(hide_answers=hidden, locked=hidden))
        drawn.clear()
        view = view_class(context)
        view.plots()
        histogram = next(plot for plot in strips[-1] if plot.title.endswith("###histogram"))
        histogram.draw(run)
        share = any(plot.title == "n×n in band" and plot.when() for plot in strips[-1])
        assert ("now" in drawn, "rug" in drawn, share) == (not hidden,) * 3




NEARLY_SINGULAR = {"m00": 1.0, "m01": 0.9, "m10": 0.5, "m11": 0.46}  # the columns, and their handles, side by side


@pytest.mark.parametrize("size, scale, params", [((960, 600), 2.0, {}), ((1280, 720), 1.0, {}),
                                                 ((960, 600), 2.0, NEARLY_SINGULAR)])
def test_scene_text_never_overlaps_nor_leaves_the_pane(tmp_path, monkeypatch, size, scale, params):
    """The caption takes much of a small pane at a large UI scale, and UVᵀ's corner sits by A e₂'s
    handle: every label and caption line keeps clear of the others and whole inside the scene, and
    both handles are always named. The colours' key is in the caption, or in a short pane (where
    it would cover the handles) in the panel."""
    from imgui_bundle import imgui

    from sandbox.app import App
    from sandbox.progress import Progress

    panel = []
    text_colored = imgui.text_colored
    boxes = record_scene_text(monkeypatch)
    monkeypatch.setattr(imgui, "text_colored", lambda color, words: (panel.append(words), text_colored(color, words)))
    app = App(size=size, headless=True, level=LEVEL, ui_scale=scale, params=params,
              progress=Progress(tmp_path / "p.db"))
    try:
        for frames in (10, 50):  # the iteration under way, then settled
            app.run_frames(frames)
            boxes.clear()
            panel.clear()
            app.run_frames(1)
            assert app.host.error is None, app.host.error
            texts = [box[0] for box in boxes]
            assert overlapping_text(boxes) == [], overlapping_text(boxes)
            assert cut_off_text(boxes) == []
            assert {"A e₁ (drag)", "A e₂ (drag)"} <= set(texts), texts
            in_caption = any(words.startswith("blue:") for words in texts)
            assert in_caption == (scale == 1.0) and ("blue: the iterate X" in panel) == (not in_caption)
    finally:
        app.shutdown()


def test_a_narrow_strip_keeps_the_map_then_the_histogram_then_the_race_left_to_right_from_the_grid(monkeypatch):
    """About 9.5 font sizes a plot: 51 wide (1280 pixels at UI scale 1) the strip has four plots, the
    grid's σ first; 32 (960 pixels) three, without it; 20 (UI scale 2) the map and the histogram."""
    from types import SimpleNamespace
    from unittest import mock

    from sandbox.kit.plots import strip_fit

    run = make_runner(LEVEL, {"race": True})
    module = sys.modules[level(LEVEL).view_class().__module__]
    strips = []
    monkeypatch.setattr(module, "plot_strip", lambda context, plots: strips.append(plots))
    context = SimpleNamespace(run=run, painter=None, gl=None, formulas=None, transport=None,
                              challenge=SimpleNamespace(hide_answers=False, locked=False))
    with mock.patch.object(module, "implot", mock.MagicMock()):
        level(LEVEL).view_class()(context).plots()
    plots = [plot for plot in strips[-1] if plot.when is None or plot.when()]
    kept = {width: [plots[k].title for k in strip_fit([p.weight for p in plots], [p.priority for p in plots],
                                                      [p.min_width for p in plots], width)]
            for width in (51, 32, 20)}
    assert kept == {51: ["grid: σ₁, σ₂", "σ → p(σ)", "n×n: σ###histogram", "race: loss"],
                    32: ["σ → p(σ)", "n×n: σ###histogram", "race: loss"],
                    20: ["σ → p(σ)", "n×n: σ###histogram"]}


def test_after_the_verdict_the_share_plot_marks_the_iteration_the_challenge_measured(monkeypatch):
    """The cubic challenge's run goes on to iteration 30; its decisive moment, the first iteration with
    every singular value in the band, is marked on the share plot (14, as measured)."""
    from types import SimpleNamespace
    from unittest import mock

    spec = level(LEVEL).manifest.challenges["cubic_steps_to_band"]
    run = make_runner(LEVEL, spec.set, seed=spec.seed)
    run.step(spec.steps)
    module = sys.modules[level(LEVEL).view_class().__module__]
    marks, shares = [], []
    monkeypatch.setattr(module, "implot", mock.MagicMock())
    monkeypatch.setattr(module, "hline", lambda *a, **k: None)
    monkeypatch.setattr(module, "vlines", lambda xs, labels=(), *a, **k: marks.append((list(xs), list(labels))))
    monkeypatch.setattr(module, "line", lambda label, xs, ys, *a, **k: shares.append((np.asarray(xs), np.asarray(ys))))
    context = SimpleNamespace(run=run, painter=None, gl=None, formulas=None, transport=None,
                              challenge=SimpleNamespace(hide_answers=False, locked=True))
    level(LEVEL).view_class()(context)._band_share_plot(run)
    assert marks == [([14.0], ["14"])] and run.model.measure_steps_to_band(run) == 14.0
    xs, ys = shares[-1]
    np.testing.assert_array_equal(xs, np.arange(31))  # one point per iteration, 0 to 30
    assert ys[13] < 1.0 and ys[14] == 1.0


# ---------------------------------------------------------------------------------------------
# challenges: the measured outcome is what the scalar map says


def test_challenge_cubic_steps_to_band_is_the_scalar_maps_count():
    spec = level(LEVEL).manifest.challenges["cubic_steps_to_band"]
    n, condition, band = spec.set["size"], spec.set["condition"], spec.set["band"]
    sigma = np.geomspace(1.0, 1.0 / condition, n)
    trajectory = iterate_singular_values(sigma / np.linalg.norm(sigma), CUBIC, 40)
    expected = int(np.argmax(np.all(np.abs(trajectory - 1) <= band, axis=1)))
    assert expected == 14
    assert measured_outcome(LEVEL, "cubic_steps_to_band") == expected


def test_challenge_quintic_leaves_the_weakest_directions_short_when_ill_conditioned():
    assert measured_outcome(LEVEL, "quintic_leaves_short_ill_conditioned") == "the smallest ones"


def test_challenge_quintic_leaves_none_short_when_well_conditioned():
    assert measured_outcome(LEVEL, "quintic_leaves_short_well_conditioned") == "none: all land in [0.68, 1.21]"


# ---------------------------------------------------------------------------------------------
# Muon and the race


@pytest.mark.parametrize("fan_in, fan_out", [(2, 32), (32, 32), (32, 3), (8, 40), (40, 8), (5, 5)])
def test_muon_scales_by_fan_out_over_fan_in(fan_in, fan_out):
    """Muon's update for a layer y = x @ W (W stored (fan_in, fan_out), as sim.nn.Dense keeps it) is
    the orthogonalized direction times √max(1, fan_out/fan_in): the rows over the columns of the
    (out, in) matrix Muon is written for. The 2→32 layer gets ×4, the 32→3 layer ×1."""
    rng = np.random.default_rng(fan_in * 100 + fan_out)
    params = [rng.standard_normal((fan_in, fan_out)), rng.standard_normal(fan_out)]
    before = params[0].copy()
    opt = Muon(params, lr=0.1, momentum=0.0, nesterov=False, fallback_lr=0.01)
    grad = gradient_like(rng, fan_in, fan_out, 20.0)
    opt.step([grad, rng.standard_normal(fan_out)])
    update = (before - params[0]) / 0.1
    direction = newton_schulz(grad, MUON_QUINTIC, 5, True).astype(np.float64)
    scale = np.sqrt(max(1.0, fan_out / fan_in))
    np.testing.assert_allclose(update, scale * direction, rtol=1e-5, atol=1e-6)
    sigma = np.linalg.svd(update, compute_uv=False) / scale
    assert QUINTIC_BAND[0] <= sigma.min() and sigma.max() <= QUINTIC_BAND[1]  # orthogonalized


def test_muon_layout_out_in_scales_rows_over_columns():
    """Weights stored (out, in), as PyTorch's Linear keeps them: the same rule, read the other way."""
    rng = np.random.default_rng(4)
    for fan_in, fan_out in [(2, 32), (32, 3)]:
        params = [rng.standard_normal((fan_out, fan_in))]
        before = params[0].copy()
        opt = Muon(params, lr=1.0, momentum=0.0, nesterov=False, layout="out_in")
        grad = gradient_like(rng, fan_out, fan_in, 10.0)
        opt.step([grad])
        direction = newton_schulz(grad, MUON_QUINTIC, 5, True).astype(np.float64)
        np.testing.assert_allclose(before - params[0], np.sqrt(max(1.0, fan_out / fan_in)) * direction,
                                   rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="layout"):
        Muon([rng.standard_normal((3, 3))], layout="rows")


def test_muon_biases_take_adams_first_step():
    rng = np.random.default_rng(3)
    params = [rng.standard_normal((8, 32)), rng.standard_normal(8)]
    before = [p.copy() for p in params]
    opt = Muon(params, lr=0.1, momentum=0.0, nesterov=False, fallback_lr=0.01)
    opt.step([gradient_like(rng, 8, 32, 20.0), rng.standard_normal(8)])
    np.testing.assert_allclose(np.abs(before[1] - params[1]), 0.01, rtol=1e-3)  # Adam's first step: lr·sign


def test_the_witness_runs():
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
