"""Claims of the Schedule-Free level, as assertions on seeded races."""

import runpy
from pathlib import Path

import numpy as np
import pytest

from sandbox.testing import make_runner, measured_outcome
from sim import nn
from sim.schedule_free import LR_GRID, Race, RiverValley, ScheduleFreeSGD, cosine_lr, tuned_lr

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
# the claims, on the landscape the level ships


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_schedule_free_x_stopped_at_half_beats_the_cosine_run_stopped_there(seed):
    run = race_losses(T // 2, seed)
    assert run.series("loss_cosine")[-1] > 1.5 * run.series("loss_schedule_free")[-1]
    assert run.series("loss_constant")[-1] > 100 * run.series("loss_schedule_free")[-1]
    # and it was ahead from early on: a good point at every stop from T/8 to T/2
    sf, cosine = run.series("loss_schedule_free"), run.series("loss_cosine")
    assert np.all(sf[T // 8:] < cosine[T // 8:])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_cosine_run_edges_ahead_at_its_planned_end(seed):
    run = race_losses(T, seed)
    sf, cosine = run.series("loss_schedule_free")[-1], run.series("loss_cosine")[-1]
    assert cosine < sf < 3 * cosine  # ahead, but not by much
    assert run.series("lr_cosine")[-1] == pytest.approx(0.0, abs=1e-12)


def test_after_the_planned_end_the_cosine_run_is_frozen_and_schedule_free_keeps_improving():
    run = race_losses(T + T // 2)
    cosine, sf = run.series("loss_cosine"), run.series("loss_schedule_free")
    assert cosine[T + 1:].max() == pytest.approx(cosine[T + 1:].min(), rel=1e-9)
    assert sf[-1] < 0.8 * sf[T]


def test_the_explorer_roams_while_the_average_settles():
    run = race_losses(T // 2)
    assert run.series("loss_explorer")[-1] > 100 * run.series("loss_schedule_free")[-1]


def test_boundary_on_a_plain_noisy_bowl_the_tuned_cosine_leads_at_half():
    bowl = RiverValley(wall=3.0, depth=15.0, width=10.0, bend=0.0, start=(2.5, 3.0))  # ~quadratic
    lrs = tuned_lr(bowl, T, 1.0)
    race = Race(bowl, lrs, T, noise=1.0, balls=64, seed=0)
    for _ in range(T // 2):
        race.step()
    losses = race.losses()
    assert losses["cosine"] < 0.6 * losses["schedule_free"]


def test_challenge_at_half_schedule_free_leads():
    assert measured_outcome(LEVEL, "ahead_at_half") == "Schedule-Free (x)"


def test_challenge_at_the_planned_end_the_cosine_leads():
    assert measured_outcome(LEVEL, "ahead_at_end") == "cosine"


# ---------------------------------------------------------------------------------------------
# the small real problem, live changes, divergence


def test_regression_every_method_learns_and_schedule_free_leads_at_half():
    run = race_losses(T, problem="regression")
    for name in ("schedule_free", "cosine", "constant"):
        loss = run.series(f"loss_{name}")
        assert loss[-1] < 0.05 * loss[0]
    half = T // 2
    assert run.series("loss_schedule_free")[half] < run.series("loss_cosine")[half]
    assert run.series("loss_schedule_free")[-1] < run.series("loss_explorer")[-1]


def test_step_size_scale_changes_live_and_too_large_a_step_diverges_without_an_error():
    run = make_runner(LEVEL, {"planned_steps": T})
    run.step(10)
    run.set_param("lr_scale", 0.5)
    assert run.model.race.optimizers["schedule_free"].lr == pytest.approx(0.5 * run.model.tuned_lrs["schedule_free"])
    assert run.model.race.optimizers["cosine"].lr <= run.model.tuned_lrs["cosine"]
    run.set_param("lr_scale", 4.0)
    run.step(200)
    assert run.diverged and run.error is None


def test_trails_follow_the_first_ball():
    run = race_losses(30)
    trails = run.model.trails
    assert len(trails["x"]) == 31
    np.testing.assert_allclose(trails["x"][-1], run.model.race.points["schedule_free"][0])
    np.testing.assert_allclose(trails["z"][-1], run.model.race.explorer[0])


def test_the_witness_runs():
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
