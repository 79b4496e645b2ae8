"""The Matrix Orthogonalizer's claims, each checked at one point of its range (see [[claims]] in level.toml).

Every check runs the level's own iteration (the registered Newton-Schulz kernel, through the
runner) or its own race, and returns the numbers it measured.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sandbox.testing import make_runner
from sim.nn import Dense

from .kernels import CUBIC, MUON_QUINTIC, QUINTIC_BAND, QUINTIC_REACH, singular_value_map
from .model import MUON_STEPS, RACE_LR

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed

#: The Play tab's matrices (the view's presets): (m00, m01, m10, m11).
MATRICES = {"squashed": (1.2, 0.8, 0.15, 0.35), "nearly singular": (1.0, 0.9, 0.5, 0.46),
            "reflection": (0.3, 1.1, 0.9, 0.2), "large": (2.0, 2.0, 0.0, 0.5)}
#: The iterate and the kernel's float32 output: how close "exactly" gets.
FLOAT32 = 2e-5
#: Iterations the cubic takes to bring the grid within 1e-6 of its polar factor, as the claim states it.
STATED_LANDING = {"squashed": 9, "nearly singular": 17}
#: Where the quintic's 2×2 grid cycles once it has opened up, as the README states it.
STATED_CYCLE = (0.68, 1.14)
#: The README's race, over 12 seeds: Muon's loss at step 250 is this many times below the better of
#: SGD and Adam, and it reaches RACE_TARGET this many steps before either.
STATED_RATIO, STATED_LEAD, RACE_TARGET = (2.3, 4.8), (75, 125), 0.02


def _iterate(steps: int, seed: int = 0, **params):
    """The iteration alone (no race), one Newton-Schulz iteration per tick."""
    run = make_runner(HERE.name, {"pace": 1, "race": False, **params}, seed=seed, levels_dir=HERE.parent)
    run.step(steps)
    assert run.error is None, run.error
    return run


def _matrix(name: str) -> dict:
    return dict(zip(("m00", "m01", "m10", "m11"), MATRICES[name]))


def check_every_singular_value_through_p(method: str, size: int, condition: float) -> dict:
    """Each iteration of the n×n matrix X = U S Vᵀ gives U p(S) Vᵀ (its singular vectors kept, each
    singular value sent through p), and each input direction's singular value follows p's iterates."""
    steps = 12
    run = _iterate(0, method=method, size=size, condition=condition)
    model = run.model
    coefficients = {"cubic": CUBIC, "quintic": MUON_QUINTIC}[method]
    worst = 0.0
    for _ in range(steps):
        u, sigma, vt = np.linalg.svd(model.matrix)
        predicted = (u * singular_value_map(sigma, coefficients)) @ vt
        run.step(1)
        worst = max(worst, float(np.abs(model.matrix - predicted).max()))
    gains = np.array(model.matrix_gain_history)  # u_iᵀ X v_i for the input's singular vectors
    one_step = float(np.abs(gains[1:] - singular_value_map(gains[:-1], coefficients)).max())
    measured = {"largest entry of X′ − U p(S) Vᵀ": f"{worst:.1e}", "largest |σ − p(σ before)|": f"{one_step:.1e}",
                "iterations": model.iteration}
    assert model.iteration == steps, f"{model.iteration} iterations ran, not {steps}"
    assert worst < FLOAT32, f"an iteration is {worst:.2g} away from U p(S) Vᵀ"
    assert one_step < FLOAT32, f"an iteration moved a singular value {one_step:.2g} away from p of its last value"
    return measured


def check_cubic_lands_on_the_polar_factor(matrix: str) -> dict:
    """The cubic from a Play-tab matrix: the grid ends on UVᵀ; near 1 the error squares each iteration,
    far below 1 a singular value grows ×1.5."""
    run = _iterate(40, method="cubic", **_matrix(matrix))
    model = run.model
    sigma = np.array(model.grid_sigma_history)
    error = np.abs(sigma - 1).max(axis=1)
    landed = int(np.argmax(error < 1e-6)) if np.any(error < 1e-6) else -1
    measured = {"σ₂/σ₁ at the start": round(float(sigma[0, 1] / sigma[0, 0]), 4), "iterations to within 1e-6": landed,
                "‖X − UVᵀ‖_F": f"{model.grid_distance():.1e}"}
    assert model.grid_distance() < 1e-6, f"the grid ends {model.grid_distance():.2g} from its polar factor"
    if matrix in STATED_LANDING:
        assert landed == STATED_LANDING[matrix], f"{matrix}: {landed} iterations to 1e-6, stated {STATED_LANDING[matrix]}"
    near = (error[:-1] < 0.1) & (error[:-1] > 1e-3)  # quadratic: p(1 + d) = 1 − 1.5d² − 0.5d³
    assert np.all(error[1:][near] <= 1.6 * error[:-1][near] ** 2 + FLOAT32), "not quadratic near 1"
    small = sigma[:-1] < 0.1
    growth = sigma[1:][small] / sigma[:-1][small]
    if growth.size:
        measured["growth of a small σ"] = f"×{growth.min():.3f} to ×{growth.max():.3f}"
        assert np.all((growth > 1.49) & (growth <= 1.5 + 1e-6)), f"a small σ grew ×{growth.min():.3f} to ×{growth.max():.3f}"
    return measured


def check_cubic_needs_the_normalization(sigma: float, normalize: bool) -> dict:
    """A 2×2 matrix with singular values σ₁ = ``sigma`` and 0.5 (turned 45°), with and without
    dividing by ‖X‖_F first."""
    turn = np.array([[1.0, -1.0], [1.0, 1.0]]) / math.sqrt(2)
    entries = turn @ np.diag([sigma, 0.5])
    params = {f"m{r}{c}": round(float(entries[r, c]), 6) for r in range(2) for c in range(2)}
    run = _iterate(40, method="cubic", normalize=normalize, **params)
    model = run.model
    cobweb = model.cobweb()  # the singular values sent through p, signed: a flip below 0 shows
    if model.diverged:
        outcome = "blew up"
    elif model.grid_distance() < 1e-5:
        outcome = "polar factor"
    else:
        orthogonal = np.allclose(model.grid @ model.grid.T, np.eye(2), atol=1e-5)
        flipped = np.sign(np.linalg.det(model.grid)) != np.sign(np.linalg.det(model.grid_polar))
        outcome = "reflection" if orthogonal and flipped else "elsewhere"
    measured = {"σ₁ at step 0": round(float(model.grid_sigma_history[0][0]), 3), "p(σ₁)": round(float(cobweb[1, 0]), 3),
                "ends": outcome}
    expected = ("polar factor" if normalize or sigma < math.sqrt(3) else
                "blew up" if sigma > math.sqrt(5) else "reflection")
    assert outcome == expected, f"σ₁ = {sigma}, normalized {normalize}: the cubic ends at {outcome}, expected {expected}"
    if not normalize and sigma > math.sqrt(3):
        assert cobweb[1, 0] < 0, f"p({sigma}) = {cobweb[1, 0]:.3f}: no sign flip above √3"
    return measured


def check_quintic_band_in_five(size: int, condition: float) -> dict:
    """Muon's 5 quintic iterations on the n×n matrix: every direction that started at σ ≥ 0.0016
    (normalized) lands in [0.68, 1.21], the weaker ones stay below it, grown at most 3.4445⁵ times."""
    run = _iterate(MUON_STEPS, size=size, condition=condition)
    gains = np.array(run.model.matrix_gain_history)
    start, after = gains[0], gains[MUON_STEPS]
    reach = start >= QUINTIC_REACH
    growth = float(np.max(after / start))
    measured = {"smallest σ₀": f"{start.min():.1e}", "σ₀ ≥ 0.0016": f"{reach.sum()} of {size}",
                "after 5: range of those": f"{after[reach].min():.3f} to {after[reach].max():.3f}" if reach.any() else "none",
                "largest growth": f"×{growth:.0f}"}
    assert np.all((after[reach] >= QUINTIC_BAND[0]) & (after[reach] <= QUINTIC_BAND[1])), \
        f"after {MUON_STEPS} iterations a direction that started above the reach lies at {after[reach].min():.3f}"
    assert np.all(after[~reach] < QUINTIC_BAND[0]), "a direction that started below 0.0016 reached the band"
    assert growth <= MUON_QUINTIC[0] ** MUON_STEPS * (1 + 1e-4), f"a singular value grew ×{growth:.0f} > 3.4445⁵"
    assert np.abs(after - 1).max() > 0.1, "every singular value is within 0.1 of 1: closer than the quintic gets"
    return measured


def check_quintic_never_settles(matrix: str) -> dict:
    """The quintic from a Play-tab matrix for 30 iterations: from the third on the grid's singular
    values stay in [0.68, 1.14], and every iteration leaves one of them at least 0.04 from 1."""
    run = _iterate(30, method="quintic", **_matrix(matrix))
    sigma = np.array(run.model.grid_sigma_history)
    late = sigma[3:]
    nearest = float(np.abs(late - 1).max(axis=1).min())
    measured = {"from iteration 3: σ from": round(float(late.min()), 4), "to": round(float(late.max()), 4),
                "closest an iteration gets to orthogonal (max |σ − 1|)": round(nearest, 3)}
    low, high = STATED_CYCLE
    assert late.min() >= low - 5e-3 and late.max() <= high + 5e-3, \
        f"from iteration 3 the grid's σ span {late.min():.3f} to {late.max():.3f}, not about {low} to {high}"
    assert nearest > 0.04, f"an iteration brought every σ within {nearest:.3f} of 1"
    return measured


def check_muon_update_is_orthogonalized_and_scaled(seed: int, step: int) -> dict:
    """The race's Muon update of each weight matrix at training step ``step``, read along the singular
    directions of the momentum it was made from (D = G + μ·buffer): divided by η and by
    √max(1, n_out/n_in), every direction with normalized σ ≥ 0.0016 lies in the quintic's band and
    every one below half that is short of it."""
    run = make_runner(HERE.name, {"pace": 60}, seed=seed, levels_dir=HERE.parent)
    run.step(step - 1)
    net, optimizer = run.model.race_networks["muon"], run.model.race_optimizers["muon"]
    layers = [layer for layer in net.layers if isinstance(layer, Dense)]
    before = [layer.W.copy() for layer in layers]
    run.step(1)
    measured = {}
    for layer, old in zip(layers, before):
        index = next(i for i, p in enumerate(net.params) if p is layer.W)
        direction = net.grads[index] + optimizer.momentum * optimizer.buffers[index]  # Nesterov, as Muon steps
        u, sigma, vt = np.linalg.svd(direction, full_matrices=False)
        sigma = sigma / np.linalg.norm(direction)  # the kernel's normalization
        scale = math.sqrt(max(1.0, layer.n_out / layer.n_in))  # from the layer's fans, not the optimizer
        moved = np.einsum("ji,jk,ki->i", u, (old - layer.W) / (RACE_LR["muon"] * scale), vt.T)
        strong, weak = sigma >= QUINTIC_REACH, sigma < 0.5 * QUINTIC_REACH
        name = f"{layer.n_in}→{layer.n_out}"
        measured[f"{name} (×{scale:g})"] = (f"{strong.sum()} of {sigma.size} in the band "
                                            f"({moved[strong].min():.2f} to {moved[strong].max():.2f}), {weak.sum()} short")
        assert np.all((moved[strong] >= QUINTIC_BAND[0]) & (moved[strong] <= QUINTIC_BAND[1])), \
            f"{name}: a strong direction moved {moved[strong].min():.3f} to {moved[strong].max():.3f} × η·{scale:g}"
        assert np.all(moved[weak] < QUINTIC_BAND[0]), f"{name}: a weak direction moved {moved[weak].max():.3f} × η·{scale:g}"
        if layer.n_out == 3:  # softmax gradients sum to zero over the classes: rank 2, one direction still
            assert weak.sum() >= 1 and np.all(np.abs(moved[sigma < 1e-9]) < 1e-3), f"{name}: its third direction moved"
    return measured


def check_muon_wins_the_race(seed: int) -> dict:
    """The race as the level ships it, to step 400: the loss ratio at step 250 and who reaches 0.02 when."""
    run = make_runner(HERE.name, {"pace": 60}, seed=seed, levels_dir=HERE.parent)
    run.step(400)
    losses = {name: run.series(f"loss_{name}") for name in ("sgd", "adam", "muon")}
    ratio = min(losses["sgd"][250], losses["adam"][250]) / losses["muon"][250]
    reach = {name: int(np.argmax(loss < RACE_TARGET)) if np.any(loss < RACE_TARGET) else math.inf
             for name, loss in losses.items()}
    lead = min(reach["sgd"], reach["adam"]) - reach["muon"]
    measured = {"loss ratio at 250": round(float(ratio), 2),
                **{f"{name}: step to {RACE_TARGET}": reach[name] for name in reach}, "Muon's lead (steps)": lead}
    assert STATED_RATIO[0] <= ratio <= STATED_RATIO[1], f"at step 250 Muon's loss is {ratio:.2f} times below the others'"
    assert STATED_LEAD[0] <= lead <= STATED_LEAD[1], f"Muon reaches {RACE_TARGET} {lead} steps before the others"
    return measured
