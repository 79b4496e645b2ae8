"""The flow straightener's claims, asserted on seeded training runs."""

import runpy
from pathlib import Path

import numpy as np
import pytest

from sandbox.challenges import ChallengeRun
from sandbox.testing import level, make_runner, measured_outcome
from sim import nn
from sim.mixture import preset

level("flow_straightener").module("rectified_flow")  # imports the level's package as the game does
from cf_level_flow_straightener.rectified_flow import (  # noqa: E402
    VelocityField,
    euler_paths,
    exact_velocity,
    straightness,
)

LEVEL = "flow_straightener"


@pytest.fixture(scope="module")
def two_reflows():
    """The second-reflow challenge's run, to the end: three rounds evaluated (the other claims
    read its rounds: the same seed gives the same first and second rounds as shorter runs)."""
    entry = level(LEVEL)
    attempt = ChallengeRun(entry, entry.manifest.challenges["second_reflow"])
    attempt.lock("much less than the first")
    verdict = attempt.finish()
    assert attempt.runner.model.done, "the challenge's steps must cover the whole schedule"
    return attempt.runner, verdict


def test_the_velocity_networks_backward_pass_matches_finite_differences():
    field = VelocityField(np.random.default_rng(0), width=8, dtype=np.float64)
    rng = np.random.default_rng(1)
    inputs = field.inputs(rng.standard_normal((16, 2)), rng.random(16))
    error = nn.gradient_check(field.net, nn.mse_loss, inputs, rng.standard_normal((16, 2)))
    assert error < 1e-6


def test_the_first_flow_learns_the_exact_conditional_velocity_and_its_bend_is_not_a_training_artefact(two_reflows):
    run, _ = two_reflows
    model = run.model
    first = model.flow.fields[0]
    rng = np.random.default_rng(3)
    errors = []
    for t in (0.25, 0.5, 0.75):  # where the paths go: points of the interpolation at time t
        x = t * model.target.sample(4000, rng) + (1 - t) * rng.standard_normal((4000, 2))
        exact, learned = exact_velocity(model.target, x, t), first(x, t)
        errors.append(np.sqrt(((exact - learned) ** 2).sum(1).mean() / (exact**2).sum(1).mean()))
    assert max(errors) < 0.4 and np.mean(errors) < 0.25, errors
    path, velocities = euler_paths(lambda x, t: exact_velocity(model.target, x, t), model.probe_noise, 50)
    exact_bend = straightness(path, velocities)
    assert exact_bend > 0.5  # the exact field of independent pairs bends its paths too ...
    assert abs(model.evaluations[0]["straightness"] - exact_bend) < 0.2 * exact_bend  # ... as much as the net's


def test_reflow_reduces_the_straightness_measure(two_reflows):
    s = [e["straightness"] for e in two_reflows[0].model.evaluations]
    assert s[1] < 0.05 * s[0]
    assert s[2] < s[1]


def test_after_reflow_one_step_quality_is_close_to_many_step_quality_and_before_it_is_not(two_reflows):
    before, after = (e["quality"] for e in two_reflows[0].model.evaluations[:2])
    gap_before, gap_after = before[1] - before[50], after[1] - after[50]
    assert gap_after < 0.1 * gap_before
    floor = two_reflows[0].model.floor
    assert before[1] > 4 * floor  # one step of the first flow lands near the mean of the data
    assert after[1] < 1.5 * floor


def test_the_first_flow_needs_several_steps_and_the_reflowed_flow_one(two_reflows):
    assert measured_outcome(LEVEL, "steps_before_reflow") == "5 to 10"
    model = two_reflows[0].model
    assert model.evaluations[0]["steps_to_quality"] in (5, 10)
    assert model.evaluations[1]["steps_to_quality"] == 1  # what steps_after_reflow measures


def test_a_second_reflow_helps_much_less_than_the_first(two_reflows):
    run, verdict = two_reflows
    assert verdict.measured == "much less than the first" and verdict.correct


def test_the_loss_of_reflow_pairs_falls_far_below_the_irreducible_loss_of_independent_pairs():
    run = make_runner(LEVEL, {"reflows": 1, "train_iterations": 600, "iterations_per_step": 50})
    losses = {}
    while not run.model.done:
        run.step(1)
        if run.model.phase == "training":
            losses[run.model.round] = run.model.loss
    assert losses[1] < 0.05 * losses[0]  # crossing lines disagree; the flow's own pairs do not


def test_progress_runs_from_zero_to_one_and_every_observable_stays_finite():
    run = make_runner(LEVEL, {"reflows": 1, "train_iterations": 200, "iterations_per_step": 50, "pairs": 512})
    run.step(400)
    progress = run.series("progress")
    assert progress[0] == 0.0 and progress[-1] == 1.0 and np.all(np.diff(progress) >= -1e-12)
    assert not run.diverged and run.model.done
    for name in run.manifest.observables:
        assert np.all(np.isfinite(run.series(name))), name


def test_the_view_helpers_have_the_shapes_a_view_draws():
    run = make_runner(LEVEL, {"train_iterations": 200})
    model = run.model
    assert model.paths(steps=4).shape == (5, 256, 2)
    points, velocities = model.velocity_grid(0.3, n=10)
    assert points.shape == velocities.shape == (100, 2)
    assert np.all(np.isfinite(model.velocity_grid(0.0, n=5, exact=True)[1]))
    x0, x1 = model.training_pairs(32)
    assert x0.shape == x1.shape == (32, 2)


def test_the_witness_runs():
    runpy.run_path(str(Path(__file__).with_name("witness.py")), run_name="__main__")


def test_every_target_preset_exists():
    for name in level(LEVEL).manifest.params["target"].choices:
        assert preset(name).n_components >= 2
