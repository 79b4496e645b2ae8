"""Gradient Noise's claims, each checked at one point of its range (see [[claims]] in level.toml).

The checks run the level's own simulation (the runner, the model, its kernel) and return what
they measured; the numbers the README and the challenges state are asserted here too.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from sandbox.testing import make_runner

from .kernels import descend
from .model import (
    BATCHES,
    MODES,
    SADDLE_X,
    SHARP_MIN,
    SHARPNESS,
    SHIFTS,
    N,
    batch_variance,
    flat_share_sweep,
    start_positions,
)

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed
SWEEP_STEPS, SWEEP_RUNS = 600, 256


def _run(steps: int = 0, seed: int = 0, **params):
    run = make_runner(HERE.name, params, seed=seed, levels_dir=HERE.parent)
    run.step(steps)
    assert run.error is None, run.error
    assert not run.diverged, "the run reported a non-finite value"
    return run


def _fast_backend() -> str:
    """Numba where it is installed (the sweeps run 10⁸ gradient evaluations), else numpy."""
    return "numba" if "numba" in descend.runnable() else "numpy"


@lru_cache(maxsize=8)
def _noise_run(replacement: bool, seed: int):
    """100 steps of 256 batches at every batch size, both modes: 25,600 batches each."""
    return _run(100, seed, lesson="batch noise", replacement=replacement, draws=256)


def check_minibatch_gradient_is_unbiased(replacement: bool, seed: int) -> dict:
    """The mean of the draws is within 4 standard errors of the full gradient at every |B|."""
    model = _noise_run(replacement, seed).model
    mode = MODES[0] if replacement else MODES[1]
    out = {}
    for b in BATCHES:
        n = model.sums[(mode, b)][0]
        bias = float(np.linalg.norm(model.measured_bias(mode, b)))
        se = math.sqrt(model.measured_variance(mode, b) / n)
        assert n >= 25_600, n
        assert bias <= 4 * se + 1e-12, f"|B| = {b}: the mean is {bias:.3g} from ∇L, {bias / se:.1f} standard errors"
        out[f"|B| = {b}: bias / standard error"] = round(bias / se, 2) if se > 0 else 0.0
    return out


def check_variance_is_sigma_squared_over_batch(replacement: bool, seed: int) -> dict:
    """Measured variance against σ²/|B| (with) or σ²/|B|·(N − |B|)/(N − 1) (without), within 5%."""
    model = _noise_run(replacement, seed).model
    mode = MODES[0] if replacement else MODES[1]
    out = {"σ²": round(model.sigma2, 4)}
    for b in BATCHES:
        measured = model.measured_variance(mode, b)
        theory = float(batch_variance(model.sigma2, b, replacement))
        if b == N and not replacement:
            assert measured < 1e-20, f"the full dataset as a batch should have no noise, measured {measured:.3g}"
            out["|B| = N: variance"] = measured
            continue
        ratio = measured / theory
        assert abs(ratio - 1) < 0.05, f"|B| = {b}: measured/theory = {ratio:.3f}"
        out[f"|B| = {b}: measured/theory"] = round(ratio, 4)
    return out


def check_quadruple_batch_halves_noise(batch: int, replacement: bool) -> dict:
    """The std ratio from |B|/4 to |B|: 2 with replacement, √(4(N − |B|/4)/(N − |B|)) without."""
    run = _run(60, 0, lesson="batch noise", batch=batch, replacement=replacement, draws=256)
    measured = run.model.measure_std_ratio(run)
    expected = 2.0 if replacement else math.sqrt(4 * (N - batch / 4) / (N - batch))
    assert abs(measured / expected - 1) < 0.05, f"ratio {measured:.3f}, expected {expected:.3f}"
    if batch == 32 and not replacement:
        assert abs(expected - math.sqrt(7)) < 1e-12
    return {"measured std ratio": round(measured, 4), "expected": round(expected, 4)}


def _shares(lrs, seed: int) -> np.ndarray:
    return flat_share_sweep(BATCHES, lrs, SWEEP_STEPS, SWEEP_RUNS, seed, _fast_backend())


def check_small_batches_often_find_flat(seed: int) -> dict:
    """η = 0.1: |B| ≤ 2 mostly flat, |B| ≥ 8 none; η = 0.3: |B| ≤ 8 mostly flat, |B| ≥ 32 none;
    the share never rises with |B| (beyond 5 points of sampling noise)."""
    shares = _shares((0.1, 0.3), seed)
    b = np.array(BATCHES)
    for lr, row, few, none in ((0.1, shares[0], 2, 8), (0.3, shares[1], 8, 32)):
        assert np.all(row[b <= few] >= (0.8 if lr == 0.1 else 0.9)), f"η = {lr}: {row}"
        assert np.all(row[b >= none] <= 0.01), f"η = {lr}: {row}"
        assert np.all(np.diff(row) <= 0.05), f"η = {lr}: the share rises with |B|: {row}"
    return {f"η = {lr}": dict(zip([f"|B|={x}" for x in BATCHES], np.round(row, 3).tolist()))
            for lr, row in zip((0.1, 0.3), shares)}


def check_flat_tendency_needs_noise(seed: int) -> dict:
    """η = 0.01: hardly any run leaves at any |B|; η = 0.6 (past 2/λ): the full batch leaves none."""
    small = _shares((0.01,), seed)[0]
    assert np.all(small <= 0.02), f"η = 0.01: {small}"
    edge = 2.0 / SHARPNESS["sharp"]
    large = flat_share_sweep((N,), (0.6,), SWEEP_STEPS, SWEEP_RUNS, seed, _fast_backend())[0, 0]
    assert 0.6 > edge and large == 0.0, f"η = 0.6, full batch: {large:.3f} flat"
    # it does not settle either: every run still jumps at each step, inside the sharp well
    start = start_positions(seed, SWEEP_RUNS)
    end = descend(start, 0.6, N, SHIFTS, seed, 0, SWEEP_STEPS, False, backend=_fast_backend())
    jump = np.abs(descend(end, 0.6, N, SHIFTS, seed, SWEEP_STEPS, 1, False, backend=_fast_backend()) - end).max(1)
    reach = np.linalg.norm(end - SHARP_MIN, axis=1).max()
    assert jump.min() > 0.1 and reach < -SHARP_MIN[0] + SADDLE_X, (jump.min(), reach)
    return {"η = 0.01, most that left at any |B|": float(small.max()), "2/λ (sharp)": round(edge, 3),
            "η = 0.6, |B| = N: share flat": float(large), "η = 0.6: smallest jump per step": round(float(jump.min()), 3),
            "η = 0.6: farthest from the sharp minimum": round(float(reach), 3)}


def check_robbins_monro(lr: float, seed: int) -> dict:
    """Constant hovers, 1/t converges, 1/t² stalls (iteration t = 10 × the step)."""
    run = _run(1000, seed, lesson="step sizes", lr=lr, batch=1, replacement=True)
    at = lambda key, t: float(run.series(key)[t // 10])
    c1, c2, c10 = at("err_constant", 1000), at("err_constant", 2000), at("err_constant", 10000)
    i1, i10 = at("err_inverse", 1000), at("err_inverse", 10000)
    s1, s10 = at("err_inverse_square", 1000), at("err_inverse_square", 10000)
    assert c10 > 0.01 and 1 / 1.5 < c10 / c2 < 1.5, f"constant: {c2:.4f} → {c10:.4f}"
    assert i10 < i1 / 2, f"1/t: {i1:.4f} → {i10:.4f}"
    assert abs(s10 / s1 - 1) < 0.1 and s10 > 3 * i10, f"1/t²: {s1:.4f} → {s10:.4f} (1/t: {i10:.4f})"
    return {"constant, t = 1000 / 2000 / 10000": [round(c1, 4), round(c2, 4), round(c10, 4)],
            "1/t": [round(i1, 4), round(i10, 4)], "1/t²": [round(s1, 4), round(s10, 4)]}


def check_adam_first_step_is_sign(grad_scale: float) -> dict:
    """Adam's first step ÷ η is 1 within 0.1% from scale 10⁻⁴ up; below ε (10⁻¹⁰) under ½."""
    run = _run(1, 0, lesson="Adam", grad_scale=grad_scale)
    reference = _run(1, 0, lesson="Adam", grad_scale=1.0)
    adam, sgd = run.model.first["adam"], run.model.first["sgd"]
    if grad_scale >= 1e-4:
        assert abs(adam - 1) < 1e-3, f"scale {grad_scale:g}: Adam's first step is {adam:.6f} η"
    else:
        assert adam < 0.5, f"scale {grad_scale:g}: Adam's first step is {adam:.6f} η"
    assert math.isclose(sgd, grad_scale * reference.model.first["sgd"], rel_tol=1e-9)
    return {"Adam first step ÷ η": adam, "SGD first step ÷ η": sgd}


def check_adam_is_scale_invariant(grad_scale: float) -> dict:
    """Adam's path at this scale against scale 1, over 200 steps (within 0.1% of η: near θ* the
    gradients shrink toward ε, whose share differs between scales); SGD's paths differ."""
    scaled, plain = _run(200, 0, lesson="Adam", grad_scale=grad_scale), _run(200, 0, lesson="Adam", grad_scale=1.0)
    lr = plain.model.lr
    adam = np.array(scaled.model.paths["adam"]) - np.array(plain.model.paths["adam"])
    gap = float(np.abs(adam).max() / lr)
    sgd_gap = float(np.linalg.norm(scaled.model.sgd - plain.model.sgd))
    assert gap < 1e-3, f"Adam's paths differ by {gap:.3g} η"
    assert sgd_gap > 0.1, f"SGD's paths differ by only {sgd_gap:.3g}"
    return {"Adam: largest difference ÷ η": gap, "SGD: final distance apart": sgd_gap}
