"""Gradient Noise: its challenges measured from the simulation, its kernel on every backend, its
lessons' runs, and a view that hides each answer while a prediction is open.

The level's statements across their ranges are its claims (claims.py, run by the engine's tests)."""

import math
import runpy
from pathlib import Path

import numpy as np
import pytest

from sandbox.kernels import all_kernels
from sandbox.manifest import load_manifest
from sandbox.registry import Registry
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

LEVEL = "sgd_noise"
HERE = Path(__file__).parent
MANIFEST = load_manifest(HERE)
model_module = level(LEVEL).module("model")
kernels = level(LEVEL).module("kernels")


# ---------------------------------------------------------------------------------------------
# challenges: measured from the run, and judged


def test_quadrupling_the_batch_with_replacement_halves_the_noise():
    measured = measured_outcome(LEVEL, "quadruple_batch")
    assert measured == pytest.approx(2.0, rel=0.03)
    assert run_challenge(LEVEL, "quadruple_batch", 2.0).correct
    verdict = run_challenge(LEVEL, "quadruple_batch", 4.0)
    assert not verdict.correct and verdict.hint, "the variance's factor is the classic mistake"


def test_without_replacement_the_ratio_is_root_seven_not_two():
    measured = measured_outcome(LEVEL, "quadruple_without_replacement")
    assert measured == pytest.approx(math.sqrt(7), rel=0.03)
    assert not run_challenge(LEVEL, "quadruple_without_replacement", 2.0).correct


@pytest.mark.parametrize("challenge", ["adam_tiny_gradient", "adam_huge_gradient"])
def test_adams_first_step_is_one_learning_rate_at_any_scale(challenge):
    assert measured_outcome(LEVEL, challenge) == pytest.approx(1.0, abs=1e-3)
    assert run_challenge(LEVEL, challenge, 1.0).correct
    scale = MANIFEST.challenges[challenge].set["grad_scale"]
    assert not run_challenge(LEVEL, challenge, scale).correct, "SGD's answer (the scale) is wrong for Adam"


def test_small_batches_leave_the_sharp_minimum_in_the_challenge():
    assert measured_outcome(LEVEL, "small_batch_leaves_sharp") == "most end flat"
    verdict = run_challenge(LEVEL, "small_batch_leaves_sharp", "most stay sharp", confidence=0.9)
    assert not verdict.correct and verdict.hint


def test_every_challenge_hides_the_observables_that_answer_it():
    for challenge in MANIFEST.challenges.values():
        assert challenge.hides, challenge.id
        for name in challenge.hides:
            assert name in MANIFEST.observables, (challenge.id, name)


# ---------------------------------------------------------------------------------------------
# the simulation


def test_kernel_agrees_with_its_reference_on_every_backend():
    registry = Registry(extra_dirs=[HERE.parent], builtin=False, packs=False)
    kernel = registry.get(LEVEL).kernels()["sgd_noise_descend"]
    assert kernel in all_kernels(registry).values()
    for backend in kernel.runnable():
        assert kernel.check(backend) is None, backend


@pytest.mark.parametrize("replace", [True, False])
def test_kernel_batches_are_the_examples_drawn(replace):
    """η = 0 moves nothing; numpy and Numba take the same steps (the same batches) to the last
    bit's rounding; |B| = N without replacement is the full gradient exactly."""
    shifts = np.zeros((64, 2))
    start = np.tile(model_module.SHARP_MIN, (6, 1))
    for backend in kernels.descend.runnable():
        if backend == "glsl":
            continue  # float32: checked against the oracle by Kernel.check
        out = kernels.descend(start, 0.0, 64, shifts, 3, 0, 1, replace, backend=backend)
        assert np.array_equal(out, start), "η = 0 leaves every run where it is"
    sizes = np.array([1, 2, 8, 64])
    a = kernels.descend_reference(np.tile(start[:1], (4, 1)), 0.1, sizes, model_module.SHIFTS, 5, 0, 3, replace)
    if kernels.descend_numba is not None:
        b = kernels.descend_numba(np.tile(start[:1], (4, 1)), 0.1, sizes, model_module.SHIFTS, 5, 0, 3, replace)
        assert np.allclose(a, b, rtol=1e-12, atol=1e-12)
    if not replace:  # |B| = N without replacement is the full gradient: deterministic
        full = start[0].copy()
        for _ in range(3):
            full = full - 0.1 * model_module.full_gradient(full)
        assert np.allclose(a[3], full, atol=1e-12)


def test_the_landscape_has_a_sharp_and_a_flat_minimum_either_side_of_the_ridge():
    sharp, flat = model_module.SHARPNESS["sharp"], model_module.SHARPNESS["flat"]
    assert sharp > 4 * flat
    assert model_module.SHARP_MIN[0] < model_module.SADDLE_X < model_module.FLAT_MIN[0]
    assert not model_module.in_flat_basin(model_module.SHARP_MIN)[0]
    assert model_module.in_flat_basin(model_module.FLAT_MIN)[0]
    assert np.linalg.norm(model_module.full_gradient(model_module.SHARP_MIN)) < 1e-6
    starts = model_module.start_positions(0, 256)
    assert not model_module.in_flat_basin(starts).any(), "every run starts in the sharp basin"


def test_batch_noise_cloud_is_centred_on_the_full_gradient():
    run = make_runner(LEVEL, {"lesson": "batch noise", "batch": 8, "draws": 256})
    run.step(40)
    cloud = run.array("cloud")
    assert cloud.shape == (512, 2)
    assert np.linalg.norm(cloud.mean(0) - run.model.full) < 4 * run.series("theory_std")[-1] / math.sqrt(512)


def test_step_sizes_run_ten_iterations_a_step_and_adam_survives_sgd_flying_off():
    run = make_runner(LEVEL, {"lesson": "step sizes"})
    run.step(5)
    assert run.series("iteration")[-1] == 50
    run = make_runner(LEVEL, {"lesson": "Adam", "grad_scale": 1e6})
    run.step(50)
    assert run.model.sgd_blown and not run.diverged and run.error is None
    assert run.series("adam_loss")[-1] < run.series("adam_loss")[0]


@pytest.mark.parametrize("lesson", ["batch noise", "sharp or flat", "step sizes", "Adam"])
def test_every_lesson_runs_at_the_ends_of_its_sliders(lesson):
    for batch in (1, 64):
        for lr in (0.002, 0.6):
            run = make_runner(LEVEL, {"lesson": lesson, "batch": batch, "lr": lr, "runs": 16, "draws": 4})
            run.step(3)
            assert run.error is None and not run.diverged, (lesson, batch, lr)


def test_witness_runs_and_asserts_the_claims(capsys):
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "100% of runs end in the flat well" in out and "first step / lr = 1.000000" in out


# ---------------------------------------------------------------------------------------------
# the view


def test_while_a_prediction_is_chosen_the_run_and_its_numbers_are_hidden(tmp_path, monkeypatch):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path) as app:
        app.run_frames(20)
        view = app.host.view
        assert any("noise std: measured" in b[0] for b in boxes)
        for challenge, banned in (("quadruple_batch", "noise std: measured"),
                                  ("adam_tiny_gradient", "first step ÷ η"),
                                  ("small_batch_leaves_sharp", "in the flat basin now")):
            open_challenge(app, challenge)
            boxes.clear()
            app.run_frames(2)
            assert view.challenge.choosing and view.hidden_run
            texts = [b[0] for b in boxes]
            assert not [t for t in texts if banned in t], (challenge, texts)
            assert any("predict first" in t for t in texts)
            assert view.lesson == MANIFEST.challenges[challenge].set["lesson"]
        open_challenge(app, None)


@pytest.mark.parametrize("lesson", ["batch noise", "sharp or flat", "step sizes", "Adam"])
@pytest.mark.parametrize("size", [(960, 600), (1280, 720)])
def test_scene_text_neither_overlaps_nor_is_cut_off(tmp_path, monkeypatch, lesson, size):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, params={"lesson": lesson}, size=size) as app:
        app.run_frames(12)
        boxes.clear()
        app.run_frames(1)
        assert boxes
        assert not overlapping_text(boxes), overlapping_text(boxes)
        assert not cut_off_text(boxes), cut_off_text(boxes)
