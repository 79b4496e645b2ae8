"""The claims of the $id level, as assertions on its simulation."""

from pathlib import Path

from sandbox.testing import make_runner, measured_outcome

HERE = Path(__file__).parent


def test_small_steps_converge():
    run = make_runner("$id", {"lr": 0.3}, levels_dir=HERE.parent)
    run.step(60)
    assert abs(run.series("x")[-1]) < 1e-3


def test_large_steps_diverge():
    run = make_runner("$id", {"lr": 1.5, "curvature": 4.0}, levels_dir=HERE.parent)
    run.step(200)
    assert run.diverged


def test_challenge_is_measured_from_the_simulation():
    assert measured_outcome("$id", "converges", levels_dir=HERE.parent) == "diverges"
