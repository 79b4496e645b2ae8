"""The Edge of Stability's claims, each checked at one point of its range (see [[claims]] in level.toml).

Every check builds the level's own runs (the runner, the model, its kernels) and measures what the
README, the math card and the challenges state; the numbers it returns are shown beside the claim.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sandbox.testing import make_runner

from .kernels import largest_stable_lr
from .model import BOUNCE_FACTOR, MAP_STEPS, SETTLED_TOLERANCE, SWEEP_STEPS, late_part

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed

#: The canyon challenges' run length; "late" is its last third, as the challenges measure it.
STEPS = 1500
#: The network challenge's runs are 1200 steps; 900 reach the edge and hover long enough to measure.
NETWORK_STEPS = 900
#: How much the canyon's own curvature adds to 2/η on the period-2 orbit, as the README states it.
STATED_EXCESS = {0.07: 0.07, 0.09: 0.19}
#: The README's late sharpness of the slowest rates after 1500 steps, in the floor-80 canyon.
STATED_CREEP = {0.005: 63.0, 0.01: 71.0}


def _canyon_run(steps: int = STEPS, seed: int = 0, **params):
    run = make_runner(HERE.name, params, seed=seed, levels_dir=HERE.parent)
    run.step(steps)
    assert run.error is None, run.error
    return run


def _late(series: np.ndarray, fraction: float = 1 / 3) -> float:
    return float(np.mean(late_part(series, fraction)))


def check_hovers_at_two_over_eta(lr: float, depth: float) -> dict:
    """Starts stable; late on, the sharpness is within 10% of 2/η, y crosses the canyon every step and
    the ball is where h = 2/η, short of the floor; |y| grows only while η·h(x) > 2."""
    run = _canyon_run(lr=lr, depth=depth)
    model, sharpness, y, x = run.model, run.series("sharpness"), run.series("y"), run.series("x")
    late = _late(sharpness)
    measured = {"start η·λ": round(float(sharpness[0] * lr), 3), "late λ": round(late, 2), "2/η": round(2 / lr, 2),
                "late λ / (2/η)": round(late * lr / 2, 4), "x − edge": round(model.x - model.edge_x(), 3)}
    assert not run.diverged, f"η = {lr}: the run diverged"
    assert sharpness[0] * lr < 2, f"η·λ = {sharpness[0] * lr:.2f} at the start: not stable there"
    assert abs(late * lr / 2 - 1) <= 0.10, f"late sharpness {late:.1f} is not within 10% of 2/η = {2 / lr:.1f}"
    tail, floor = y[-100:], float(run.params["noise_floor"])
    measured["late max |y|"] = round(float(np.max(np.abs(tail))), 3)
    assert np.max(np.abs(tail)) > BOUNCE_FACTOR * floor and np.all(np.sign(tail[1:]) != np.sign(tail[:-1])), \
        f"the ball does not bounce across the canyon every step late on (late max |y| {np.abs(tail).max():.2g})"
    assert abs(model.x - model.edge_x()) < 0.3 and model.x < model.canyon.floor_x, \
        f"the ball hovers at x = {model.x:.2f}, not at the edge x = {model.edge_x():.2f} short of the floor"
    # y ← (1 − ηh(x)) y: across the canyon |y| grows exactly where η·h > 2 (the noise floor aside)
    grows = np.abs(y[1:]) > np.abs(y[:-1]) * (1 + 1e-9)
    lifted = np.abs(y[1:]) <= 1.000001 * floor
    eta_h = lr * model.canyon.wall_curvature(x[:-1])
    wrong = grows & ~lifted & (eta_h <= 2)
    measured["steps |y| grew"] = int(np.sum(grows & ~lifted))
    assert not wrong.any(), f"|y| grew at step {int(np.argmax(wrong))} where η·h = {eta_h[np.argmax(wrong)]:.3f} ≤ 2"
    return measured


def _orbit(canyon, lr: float) -> tuple[float, float, float]:
    """The period-2 orbit: x* where h = 2/η, y* from ½h′(x*)y*² = −f′(x*), and the sharpness there."""
    x_star = canyon.x_at_curvature(2 / lr)
    slope = float(canyon.fields(x_star, 0.0)[1])  # f′(x*): on the centre line ∂L/∂x is the floor's slope
    h_prime = float(canyon.hessian(x_star, 1.0)[0, 1])  # the Hessian's off-diagonal is h′(x)·y
    y_star = math.sqrt(-2 * slope / h_prime)
    return x_star, y_star, float(canyon.fields(x_star, y_star)[3])


def check_bounce_is_the_period_two_orbit(lr: float, depth: float) -> dict:
    """The late run is the orbit the math card derives: x at x*, |y| at y*, the sharpness the Hessian's there."""
    run = _canyon_run(lr=lr, depth=depth)
    x_star, y_star, predicted = _orbit(run.model.canyon, lr)
    late_y = np.abs(late_part(run.series("y"), 1 / 4))
    late_sharpness = _late(run.series("sharpness"))
    excess = late_sharpness * lr / 2 - 1
    measured = {"late |y|": round(float(late_y.mean()), 4), "orbit y*": round(y_star, 4),
                "late λ": round(late_sharpness, 3), "orbit λ": round(predicted, 3), "λ above 2/η": f"{excess:+.1%}"}
    assert abs(run.model.x - x_star) < 1e-3, f"the ball is at x = {run.model.x:.4f}, the orbit at x* = {x_star:.4f}"
    assert np.all(np.abs(late_y / y_star - 1) < 0.01), \
        f"late |y| spans {late_y.min():.4f} to {late_y.max():.4f}, the orbit's y* = {y_star:.4f}"
    assert abs(late_sharpness / predicted - 1) < 0.01, \
        f"late sharpness {late_sharpness:.2f}, the orbit's Hessian says {predicted:.2f}"
    if lr in STATED_EXCESS:
        assert abs(excess - STATED_EXCESS[lr]) < 0.01, f"η = {lr}: {excess:+.1%} above 2/η, stated {STATED_EXCESS[lr]:+.0%}"
    return measured


def check_settles_where_the_floor_is_flatter(lr: float, floor_over_edge: float) -> dict:
    """A floor of curvature ``floor_over_edge`` × 2/η: η·h < 2 everywhere, so the ball settles on the floor."""
    depth = floor_over_edge * 2 / lr
    run = _canyon_run(lr=lr, depth=depth)
    sharpness = run.series("sharpness")
    y_end, floor = abs(run.model.y), float(run.params["noise_floor"])
    measured = {"floor h_max": round(depth, 1), "2/η": round(2 / lr, 1), "final λ": round(float(sharpness[-1]), 2),
                "late max η·λ": round(float(np.max(sharpness[-STEPS // 2:]) * lr), 3), "final |y|": y_end}
    assert not run.diverged, f"η = {lr}, floor {depth:.1f}: diverged"
    assert abs(sharpness[-1] / depth - 1) < 0.02, f"final sharpness {sharpness[-1]:.2f}, not the floor's {depth:.1f}"
    assert np.all(sharpness[-STEPS // 2:] * lr < 2), "the sharpness passed 2/η late in the run"
    assert y_end <= 1.000001 * floor, f"|y| = {y_end:.2g}: still bouncing, not settled (noise floor {floor:g})"
    return measured


def check_diverges_above_two_over_the_plateau(depth: float, start_x: float) -> dict:
    """The largest η that runs the challenge's 1500 steps without diverging, found by sweeping η."""
    run = make_runner(HERE.name, {"depth": depth, "start_x": start_x}, levels_dir=HERE.parent)
    model, lr = run.model, run.manifest.params["lr"]
    found = largest_stable_lr(model.coefficients, start_x, float(run.params["start_y"]), SWEEP_STEPS,
                              float(run.params["noise_floor"]), (lr.min, lr.max), points=12)
    plateau = model.canyon.plateau
    measured = {"largest stable η": round(found, 4), "2/plateau": round(2 / plateau, 4), "2/floor": round(2 / depth, 4)}
    assert abs(found * plateau / 2 - 1) < 0.02, \
        f"the largest stable η is {found:.4f}, not 2/plateau = {2 / plateau:.4f} (2/floor = {2 / depth:.4f})"
    return measured


def check_small_steps_need_the_long_map(depth: float) -> dict:
    """η = 0.005 (the map's smallest): after 1500 steps still below the floor; after the map's steps
    on it (settled) in a canyon up to 80 deep, still descending in a deeper one. At depth 80 also
    η = 0.01 after 1500 steps."""
    lr, floor = 0.005, float(depth)
    run = _canyon_run(MAP_STEPS, lr=lr, depth=depth)
    sharpness, y = run.series("sharpness"), run.series("y")
    early = _late(sharpness[:STEPS + 1], 1 / 4)  # the map's measure, had it run 1500 steps
    late = _late(sharpness, 1 / 4)
    bouncing = float(np.max(np.abs(late_part(y, 1 / 4)))) > BOUNCE_FACTOR * float(run.params["noise_floor"])
    settled = not bouncing and abs(late / floor - 1) <= SETTLED_TOLERANCE
    measured = {f"λ after {STEPS}": round(early, 1), f"λ after {MAP_STEPS:,}": round(late, 2), "floor": floor,
                "map says": "settled" if settled else ("bouncing" if bouncing else "descending")}
    assert early < 0.95 * floor, f"after {STEPS} steps λ = {early:.1f} is already near the floor {floor:g}"
    if depth <= 80:
        assert settled, f"after {MAP_STEPS} steps λ = {late:.2f} is not within {SETTLED_TOLERANCE:.0%} of the floor {floor:g}"
        creep = {lr: early, 0.01: _late(_canyon_run(lr=0.01, depth=depth).series("sharpness"), 1 / 4)}
        measured[f"η = 0.01: λ after {STEPS}"] = round(creep[0.01], 1)
        for rate, stated in STATED_CREEP.items():
            assert abs(creep[rate] - stated) < 1.0, f"η = {rate}: λ = {creep[rate]:.1f} after {STEPS} steps, stated {stated:g}"
    else:
        assert not settled and not bouncing and late < floor, \
            f"depth {depth:g}: after {MAP_STEPS} steps λ = {late:.2f}, expected still descending below the floor"
    return measured


def check_lower_noise_floor_overshoots_deeper(lr: float, noise_floor: float) -> dict:
    """The peak sharpness before the first bounce, at this noise floor and at one 1000 times higher."""
    runs = {floor: _canyon_run(600, lr=lr, noise_floor=floor) for floor in (noise_floor * 1000, noise_floor)}
    peaks = {floor: float(np.max(run.series("sharpness"))) for floor, run in runs.items()}
    high, low = peaks[noise_floor * 1000], peaks[noise_floor]
    measured = {"peak η·λ": round(low * lr, 3), "with a 1000× floor": round(high * lr, 3)}
    assert low > high * 1.005, f"peak η·λ {low * lr:.3f} at floor {noise_floor:g} vs {high * lr:.3f} at 1000× it"
    return measured


def check_network_hovers_at_two_over_eta(lr: float, seed: int) -> dict:
    """Network mode: far below 2/η at first, rising to it, hovering there while the loss falls bumpily."""
    run = _canyon_run(NETWORK_STEPS, seed=seed, mode="network", lr=lr)
    sharpness, loss = run.series("sharpness"), run.series("loss")
    reach = int(np.argmax(sharpness > 0.9 * 2 / lr)) if np.any(sharpness > 0.9 * 2 / lr) else -1
    late = _late(sharpness)
    measured = {"start λ": round(float(sharpness[0]), 2), "2/η": round(2 / lr, 2), "reaches 0.9·2/η at step": reach,
                "late λ / (2/η)": round(late * lr / 2, 3), "final / first loss": round(float(loss[-1] / loss[0]), 4)}
    assert not run.diverged, f"η = {lr}: the network diverged"
    assert sharpness[0] * lr / 2 < 0.7, f"the sharpness starts at {sharpness[0]:.1f}, already near 2/η = {2 / lr:.1f}"
    assert 20 < reach < 2 * NETWORK_STEPS // 3, (f"the sharpness reaches 0.9·2/η at step {reach}" if reach >= 0 else
                                                 f"the sharpness never reaches 0.9·2/η = {1.8 / lr:.1f} in {NETWORK_STEPS} steps")
    assert abs(late * lr / 2 - 1) <= 0.10, f"late sharpness {late:.2f} not within 10% of 2/η = {2 / lr:.2f}"
    assert loss[-1] < 0.05 * loss[0] and np.any(np.diff(loss[reach:]) > 0), \
        "the loss did not keep falling non-monotonically after the edge"
    return measured


def check_follows_eta_live(lr: float, depth: float) -> dict:
    """Hover at η, halve η while it runs (the ball descends to the sharper edge 4/η), then restore
    it (the ball is thrown back up the canyon to where h = 2/η)."""
    run = _canyon_run(800, lr=lr, depth=depth)
    phases = []
    for rate, steps in ((lr / 2, 2000), (lr, 800)):
        x_before = run.model.x
        run.set_param("lr", rate)
        run.step(steps)
        assert run.error is None and not run.diverged, f"the run stopped after η was set to {rate:g}"
        late = _late(run.series("sharpness")[-steps:])
        phases.append((rate, x_before, run.model.x, late))
    measured = {}
    for (rate, x_before, x_after, late), word in zip(phases, ("halved", "restored")):
        measured[f"{word}: x"] = f"{x_before:.2f} → {x_after:.2f}"
        measured[f"{word}: λ / (2/η)"] = round(late * rate / 2, 3)
        assert abs(late * rate / 2 - 1) <= 0.10, f"η {word} to {rate:g}: late sharpness {late:.1f}, 2/η = {2 / rate:.1f}"
    assert phases[0][2] > phases[0][1] + 0.5, "halving η did not send the ball further down the canyon"
    assert phases[1][2] < phases[1][1] - 0.5, "restoring η did not throw the ball back up the canyon"
    return measured
