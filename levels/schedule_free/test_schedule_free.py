"""Claims of the Schedule-Free level, as assertions on seeded races."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from sandbox.testing import cut_off_text, headless_app, level, make_runner, measured_outcome, overlapping_text, record_scene_text, open_challenge
from sim import nn

level("schedule_free").module("schedule_free")  # imports the level's package as the game does
from cf_level_schedule_free.schedule_free import (  # noqa: E402
    LR_GRID,
    RiverValley,
    ScheduleFreeSGD,
    cosine_lr,
    tuned_lr,
)

LEVEL = "schedule_free"
HERE = Path(__file__).parent
T = 400


def race_losses(steps, seed=0, **params):
    run = make_runner(LEVEL, {"planned_steps": T, **params}, seed=seed)
    run.step(steps)
    assert run.error is None and not run.diverged
    return run


# ---------------------------------------------------------------------------------------------
# the optimizer, the schedule and the landscape


def test_schedule_free_sgd_follows_its_three_equations():
    rng = np.random.default_rng(0)
    w = rng.standard_normal(5)
    opt = ScheduleFreeSGD([w], lr=0.1, beta=0.8)
    z, x, zs = w.copy(), w.copy(), [w.copy()]
    for t in range(1, 6):
        g = rng.standard_normal(5)
        y = 0.2 * z + 0.8 * x
        np.testing.assert_allclose(w, y)  # the parameters hold y, where the gradient is taken
        opt.step([g])
        z = z - 0.1 * g
        zs.append(z.copy())
        x = (1 - 1 / (t + 1)) * x + z / (t + 1)
        np.testing.assert_allclose(opt.z[0], z)
        np.testing.assert_allclose(opt.x[0], x)
        np.testing.assert_allclose(x, np.mean(zs, axis=0))  # x is the running mean of z
    with opt.evaluating():
        np.testing.assert_allclose(w, x)
    np.testing.assert_allclose(w, 0.2 * z + 0.8 * x)


def test_schedule_free_sgd_trains_a_network_of_the_kit_and_evaluates_at_its_average():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (128, 1))
    target = np.sin(2 * x)
    net = nn.Sequential(nn.Dense(1, 16, rng), nn.Tanh(), nn.Dense(16, 1, rng))
    opt = ScheduleFreeSGD(net.params, lr=0.2, beta=0.9)
    first = nn.mse_loss(net.forward(x), target)[0]
    for _ in range(400):
        net.zero_grad()
        _, grad = nn.mse_loss(net.forward(x), target)
        net.backward(grad)
        opt.step(net.grads)
    with opt.evaluating():
        at_x = nn.mse_loss(net.forward(x), target)[0]
        np.testing.assert_allclose(net.params[0], opt.x[0])
    assert at_x < 0.1 * first


def test_cosine_schedule_starts_at_its_peak_halves_at_half_time_and_ends_at_zero():
    assert cosine_lr(0.5, 0, 100) == pytest.approx(0.5)
    assert cosine_lr(0.5, 50, 100) == pytest.approx(0.25)
    assert cosine_lr(0.5, 100, 100) == pytest.approx(0.0, abs=1e-15)
    assert cosine_lr(0.5, 250, 100) == pytest.approx(0.0, abs=1e-15)


def test_river_valley_gradient_is_the_derivative_of_its_loss():
    valley = RiverValley()
    points = np.random.default_rng(1).uniform(-3, 6, size=(20, 2))
    eps = 1e-6
    numeric = np.stack([(valley.loss(points + eps * e) - valley.loss(points - eps * e)) / (2 * eps)
                        for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(valley.grad(points), numeric, rtol=1e-6, atol=1e-6)
    assert valley.loss(np.zeros(2)) == 0.0 and np.all(valley.grad(np.zeros((1, 2))) == 0.0)


def test_tuning_is_deterministic_and_schedule_free_takes_a_far_larger_step():
    lrs = tuned_lr(RiverValley(), T, 0.3, 0.9, 64)
    assert lrs == tuned_lr(RiverValley(), T, 0.3, 0.9, 64)
    assert all(value in LR_GRID for value in lrs.values())
    assert lrs["schedule_free"] > 10 * lrs["cosine"] > 10 * lrs["constant"]


# ---------------------------------------------------------------------------------------------
# the claims, on the landscape the level ships: what the level states is checked across its range
# by claims.py (every claim runs in the engine's tests/test_claims.py); the challenges' verdicts here


def test_challenge_at_half_schedule_free_leads():
    assert measured_outcome(LEVEL, "ahead_at_half") == "Schedule-Free (x)"


def test_challenge_at_the_planned_end_the_cosine_leads():
    assert measured_outcome(LEVEL, "ahead_at_end") == "cosine"


# ---------------------------------------------------------------------------------------------
# live changes, divergence


def test_step_size_scale_changes_live():
    run = make_runner(LEVEL, {"planned_steps": T})
    run.step(10)
    run.set_param("lr_scale", 0.5)
    assert run.model.race.optimizers["schedule_free"].lr == pytest.approx(0.5 * run.model.tuned_lrs["schedule_free"])
    assert run.model.race.optimizers["cosine"].lr <= run.model.tuned_lrs["cosine"]


def test_at_four_times_the_tuned_steps_only_schedule_free_diverges_and_the_race_goes_on():
    run = make_runner(LEVEL, {"planned_steps": T, "lr_scale": 4.0})
    run.step(T // 2)
    assert not run.diverged and run.error is None and run.steps == T // 2
    assert run.model.race.running == ("cosine", "constant")  # the cosine keeps its tuned peak
    assert run.model.measure_leader(run) == "cosine"


def test_trails_are_recorded_by_the_runner_for_the_first_ball():
    run = race_losses(30)
    steps, balls = run.arrays("ball0")
    assert list(steps) == list(range(31))
    x, z, y, cosine, _ = balls[-1]
    race = run.model.race
    np.testing.assert_allclose(x, race.points["schedule_free"][0])
    np.testing.assert_allclose(z, race.explorer[0])
    np.testing.assert_allclose(y, race.gradient_point[0])
    np.testing.assert_allclose(cosine, race.points["cosine"][0])
    np.testing.assert_allclose(balls[0][0], RiverValley().start)


def test_long_races_keep_bounded_trails_that_span_the_run():
    run = race_losses(1200)
    steps, balls = run.arrays("ball0")
    assert len(balls) <= 512 and steps[0] == 0 and steps[-1] >= 1200 - 4


def test_the_scene_plane_lays_the_valley_along_x_and_its_height_map_is_memoised():
    run = make_runner(LEVEL)
    model = run.model
    np.testing.assert_allclose(model.plane([[1.5, 5.0]]), [[5.0, 1.5]])  # (u, v) drawn as (v, u)
    xs, ys, height, shade = model.loss_map()
    assert height.shape == shade.shape == (len(ys), len(xs))
    assert 0.0 <= shade.min() and shade.max() == pytest.approx(0.8)
    lowest = np.unravel_index(np.argmin(shade), shade.shape)
    assert abs(xs[lowest[1]]) < 0.1 and abs(ys[lowest[0]]) < 0.1  # darkest at the minimum, the origin
    floor = model.valley_floor()
    np.testing.assert_allclose(floor[:, 1], model.problem.bend * floor[:, 0] ** 2)
    run.step(5)
    assert model.loss_map() is model.loss_map()  # computed once, not per frame
    run.set_param("problem", "regression")
    assert model.valley_floor() is None
    (x0, x1), (y0, y1) = model.view_box()
    for point in (model.optimum(), model.plane(model.problem.start)):
        assert x0 < point[0] < x1 and y0 < point[1] < y1
    losses = model.weight_losses()
    assert sum(losses["cosine"]) == pytest.approx(run.series("loss_cosine")[-1])


def test_while_a_challenge_waits_for_a_prediction_the_view_hides_who_is_ahead(tmp_path, monkeypatch):
    from sandbox.app import App
    from sandbox.progress import Progress

    app = App(size=(1280, 720), headless=True, level=LEVEL, progress=Progress(tmp_path / "progress.sqlite3"))
    try:
        shown = []
        view_module = sys.modules[type(app.host.view).__module__]
        monkeypatch.setattr(view_module, "plot_strip", lambda context, plots: shown.append(
            [plot.title for plot in plots if plot.when is None or plot.when()]))
        app.host.requested_tab = "Challenges"
        app.host.challenges.select(app.host.manifest.challenges["ahead_at_half"])
        app.run_frames(3)
        assert app.host.error is None and app.host.context.challenge.choosing
        assert shown[-1] == ["step sizes γ"]  # no loss, no ratio: nothing says who leads
        app.host.requested_tab = "Play"
        app.run_frames(3)
        assert shown[-1][:2] == ["loss (faint red: explorer z)", "÷ Schedule-Free's loss"]
    finally:
        app.shutdown()


def test_while_a_prediction_is_chosen_the_scene_shows_the_start_not_the_race(tmp_path, monkeypatch):
    """The sandbox's race, playing behind an open challenge, would show who leads at T/2: while the
    learner chooses, the scene names only the start; the race is back once the challenge closes."""
    from sandbox.view import Frame

    labels = []
    text = Frame.text  # every label and caption line goes through it
    monkeypatch.setattr(Frame, "text", lambda self, draw_list, at, words, *a, **k: (
        labels.append(words), text(self, draw_list, at, words, *a, **k))[1])
    race = {"x: what you ship", "z explores", "y: gradient here", "cosine", "constant step", "start"}
    with headless_app(LEVEL, tmp_path) as app:
        app.run_frames(60)
        open_challenge(app, "ahead_at_half")
        labels.clear()
        app.run_frames(2)
        assert app.host.view.challenge.choosing
        assert "start: every run begins here" in labels and not race & set(labels)
        open_challenge(app, None)
        app.host.requested_tab = "Play"
        app.run_frames(2)
        labels.clear()
        app.run_frames(1)
        assert {"x: what you ship", "cosine", "constant step"} <= set(labels)


def test_a_diverged_racer_is_named_in_the_scene_and_not_drawn(tmp_path, monkeypatch):
    from sandbox.view import Frame

    captions = []
    caption = Frame.caption
    monkeypatch.setattr(Frame, "caption", lambda self, draw_list, lines, *a, **k: (
        captions.append(lines), caption(self, draw_list, lines, *a, **k))[1])
    with headless_app(LEVEL, tmp_path, params={"lr_scale": 2.0}) as app:
        app.run_frames(40)
        race = app.host.runner.model.race
        assert race.running == ("cosine", "constant") and not app.host.runner.diverged
        texts = [line if isinstance(line, str) else line[0] for line in captions[-1]]
        assert f"Schedule-Free x diverged at step {race.diverged_at['schedule_free']}" in " ".join(texts)




@pytest.mark.parametrize("size, scale, params", [((960, 600), 2.0, {}), ((1280, 720), 1.0, {}),
                                                 ((960, 600), 2.0, {"lr_scale": 2.0})])  # (Schedule-Free diverges)
def test_scene_text_never_overlaps_nor_leaves_the_pane(tmp_path, monkeypatch, size, scale, params):
    """The clouds meet the trio near the minimum and the caption is wide at a large UI scale: every
    label and caption line keeps clear of the others and whole inside the scene; x is always named. Also while a prediction is chosen, and with a diverged run named in the caption."""

    from sandbox.app import App
    from sandbox.progress import Progress

    boxes = record_scene_text(monkeypatch)
    app = App(size=size, headless=True, level=LEVEL, ui_scale=scale, params=params,
              progress=Progress(tmp_path / "p.db"))
    try:
        for phase in ("early", "later", "choosing"):  # the trio close together, then apart
            if phase == "choosing":
                open_challenge(app, "ahead_at_half")
            else:
                app.run_frames(15 if phase == "early" else 45)
            boxes.clear()
            app.run_frames(1)
            assert app.host.error is None, app.host.error
            texts = [box[0] for box in boxes]
            assert len(boxes) >= 3 and overlapping_text(boxes) == [], overlapping_text(boxes)
            assert cut_off_text(boxes) == []
            if phase != "choosing" and not params:
                assert "x: what you ship" in texts
            if phase == "later" and params:  # (at step 10)
                assert any("Schedule-Free x diverged" in words for words in texts), texts
    finally:
        app.shutdown()


def test_a_narrow_strip_lets_the_ratio_go_first_then_the_step_sizes(tmp_path, monkeypatch):
    """51 font sizes wide (1280 pixels at UI scale 1) the strip has the loss, the ratio and the step
    sizes; 32 (960 pixels) the loss and the step sizes; 20 (UI scale 2) the loss alone."""
    from sandbox.kit.plots import strip_fit

    with headless_app(LEVEL, tmp_path) as app:
        strips = []
        view_module = sys.modules[type(app.host.view).__module__]
        monkeypatch.setattr(view_module, "plot_strip", lambda context, plots: strips.append(plots))
        app.run_frames(2)
        plots = [plot for plot in strips[-1] if plot.when is None or plot.when()]
    kept = {width: [plots[k].title.split()[0] for k in strip_fit([p.weight for p in plots],
                                                                 [p.priority for p in plots],
                                                                 [p.min_width for p in plots], width)]
            for width in (51, 32, 20)}
    assert kept == {51: ["loss", "÷", "step"], 32: ["loss", "step"], 20: ["loss"]}


def test_the_witness_runs():
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
