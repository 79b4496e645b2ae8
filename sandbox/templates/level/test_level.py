"""The claims of the $id level, as assertions on its simulation."""

from pathlib import Path

import numpy as np
import pytest

from sandbox.kernels import all_kernels
from sandbox.registry import Registry
from sandbox.testing import make_runner, measured_outcome

HERE = Path(__file__).parent


@pytest.mark.parametrize("lr,curvature", [(0.1, 2.0), (0.3, 2.0), (0.45, 4.0), (0.9, 2.0)])
def test_steps_below_the_rule_converge(lr, curvature):
    assert lr * curvature < 2
    run = make_runner("$id", {"lr": lr, "curvature": curvature}, levels_dir=HERE.parent)
    run.step(400)
    assert np.max(np.abs(run.array("cloud"))) < 1e-3


@pytest.mark.parametrize("lr,curvature", [(1.1, 2.0), (0.6, 4.0), (1.5, 1.5)])
def test_steps_past_the_rule_diverge(lr, curvature):
    assert lr * curvature > 2
    run = make_runner("$id", {"lr": lr, "curvature": curvature}, levels_dir=HERE.parent)
    run.step(2000)
    assert run.diverged


def test_the_cloud_is_recorded_with_bounded_memory():
    run = make_runner("$id", {"lr": 0.05}, levels_dir=HERE.parent)
    run.step(2000)
    steps, clouds = run.arrays("cloud")
    assert len(clouds) < 64 and steps[0] == 0 and steps[-1] > 1000
    assert clouds[-1].shape == (24,)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_challenge_is_measured_from_the_simulation(seed):
    assert measured_outcome("$id", "converges", levels_dir=HERE.parent) == "diverges"


def test_kernel_agrees_with_its_reference_on_every_backend():
    entry = Registry(extra_dirs=[HERE.parent], builtin=False, packs=False).get("$id")
    kernel = entry.kernels()["${id}_descend"]
    assert kernel in all_kernels(Registry(extra_dirs=[HERE.parent], builtin=False, packs=False)).values()
    for backend in kernel.runnable():
        assert kernel.check(backend) is None
