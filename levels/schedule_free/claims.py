"""Stop Any Time's claims, each checked at one point of its range (see [[claims]] in level.toml).

Every check runs the level's own race (tuned as the level tunes it, on the noise of the seed) and
returns the numbers it measured. Two claims, about a plain bowl and about the math card's formula,
race the level's own optimizers on a valley of other shape, which no parameter of the level sets.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from sandbox.testing import make_runner

from .model import LABELS
from .schedule_free import DIVERGED_LOSS, LR_GRID, Race, RiverValley, tuned_lr

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed

#: The challenges' planned horizon.
T = 400
#: How many times lower the cosine's loss is than Schedule-Free's at T, as the README states it (T = 400).
STATED_END_LEAD = (1.2, 2.3)


def _race(steps: int, seed: int = 0, **params):
    run = make_runner(HERE.name, params, seed=seed, levels_dir=HERE.parent)
    run.step(steps)
    assert run.error is None and not run.diverged, run.error or "the runner stopped the race"
    return run


@functools.lru_cache(maxsize=16)
def _tuned(seed: int, planned_steps: int = T):
    """The race as the level ships it (every step size as tuned), run to T: the reference of the
    step-size claims."""
    return _race(planned_steps, seed, planned_steps=planned_steps)


def _losses(run, step: int) -> dict[str, float]:
    return {name: float(run.series(f"loss_{name}")[step]) for name in ("schedule_free", "cosine", "constant", "explorer")}


def check_x_is_the_running_mean_of_z(problem: str, beta: float) -> dict:
    """Ball 0 of Schedule-Free as the runner recorded it every step: x is the mean of every z so far
    (the start included) and y = (1 − β)z + βx."""
    run = _race(200, problem=problem, beta=beta)
    rows = np.stack(run.arrays("ball0")[1])
    x, z, y = rows[:, 0], rows[:, 1], rows[:, 2]
    running_mean = np.cumsum(z, axis=0) / np.arange(1, len(z) + 1)[:, None]
    mean_gap = float(np.abs(x - running_mean).max() / max(np.abs(z).max(), 1.0))
    y_gap = float(np.abs(y - ((1 - beta) * z + beta * x)).max())
    measured = {"steps": len(z) - 1, "largest |x − mean z| (relative)": f"{mean_gap:.1e}",
                "largest |y − ((1 − β)z + βx)|": f"{y_gap:.1e}"}
    assert len(z) == 201, f"{len(z)} steps were recorded, not 201"
    assert mean_gap < 1e-9, f"x is {mean_gap:.2g} from the running mean of z"
    assert y_gap < 1e-9, f"y is {y_gap:.2g} from (1 − β)z + βx"
    return measured


def check_schedule_free_leads_at_half(planned_steps: int, seed: int) -> dict:
    """Stop at T/2: the cosine run's loss is over 1.5 times Schedule-Free's (and was behind at every
    stop from T/8), the constant step's over 100 times, the explorer z's over 100 times x's."""
    half = planned_steps // 2
    run = _race(half, seed, planned_steps=planned_steps)
    loss = _losses(run, half)
    sf, cosine = run.series("loss_schedule_free"), run.series("loss_cosine")
    behind = np.flatnonzero(sf[planned_steps // 8:] >= cosine[planned_steps // 8:])
    measured = {"cosine ÷ Schedule-Free at T/2": round(loss["cosine"] / loss["schedule_free"], 2),
                "constant ÷ Schedule-Free": round(loss["constant"] / loss["schedule_free"]),
                "explorer z ÷ x": round(loss["explorer"] / loss["schedule_free"])}
    assert loss["cosine"] > 1.5 * loss["schedule_free"], \
        f"at T/2 the cosine's loss is {loss['cosine'] / loss['schedule_free']:.3g}× Schedule-Free's, not over 1.5×"
    assert behind.size == 0, f"Schedule-Free was not ahead at step {planned_steps // 8 + behind[0]}"
    assert loss["constant"] > 100 * loss["schedule_free"], "the constant step is not far behind at T/2"
    assert loss["explorer"] > 100 * loss["schedule_free"], "the explorer z is not far above x at T/2"
    assert run.model.measure_leader(run) == LABELS["schedule_free"]
    return measured


def check_cosine_leads_at_its_planned_end(planned_steps: int, seed: int) -> dict:
    """Run to 1.5 T: at T the cosine leads by 1.2 to 2.3 times; after T it is frozen and
    Schedule-Free keeps improving."""
    run = _race(planned_steps + planned_steps // 2, seed, planned_steps=planned_steps)
    at_end, last = _losses(run, planned_steps), _losses(run, run.steps)
    lead = at_end["schedule_free"] / at_end["cosine"]
    frozen = run.series("loss_cosine")[planned_steps + 1:]
    measured = {"Schedule-Free ÷ cosine at T": round(lead, 2),
                "Schedule-Free at 1.5T ÷ at T": round(last["schedule_free"] / at_end["schedule_free"], 2),
                "cosine step at T": float(run.series("lr_cosine")[planned_steps])}
    low, high = STATED_END_LEAD
    assert low <= round(lead, 1) <= high, f"at T the cosine leads by {lead:.2f}×, not {low} to {high}×"
    assert run.series("lr_cosine")[planned_steps] == 0 and frozen.max() == frozen.min(), "the cosine run moved after T"
    assert last["schedule_free"] < 0.95 * at_end["schedule_free"], "Schedule-Free did not improve after T"
    return measured


def check_schedule_free_step_sits_near_its_edge(seed: int, scale: float) -> dict:
    """Schedule-Free's tuned step (2.0, about 30 times the cosine's peak) times ``scale``: a tenth is as
    good at T/2, 1.5 times converges, twice diverges within about ten steps and stops alone."""
    tuned = _tuned(seed)
    run = _race(T // 2, seed, planned_steps=T, lr_scale=scale)
    race, lrs = run.model.race, tuned.model.lrs
    stopped = race.diverged_at["schedule_free"]
    measured = {"tuned γ": lrs["schedule_free"], "÷ cosine's peak": round(lrs["schedule_free"] / lrs["cosine"], 1),
                "γ": lrs["schedule_free"] * scale, "diverged at step": stopped if stopped is not None else "no"}
    assert lrs["schedule_free"] == max(LR_GRID), f"the tuner picked γ = {lrs['schedule_free']:.3g}, not the grid's largest"
    assert 25 <= lrs["schedule_free"] / lrs["cosine"] <= 35, "the tuned step is not about 30 times the cosine's peak"
    if scale < 1.5:
        ratio = run.series("loss_schedule_free")[-1] / tuned.series("loss_schedule_free")[T // 2]
        measured["loss at T/2 ÷ tuned's"] = round(float(ratio), 2)
        assert stopped is None and ratio < 1.3, f"×{scale}: at T/2 the loss is {ratio:.2f}× the tuned run's"
    elif scale < 2:
        assert stopped is None, f"×{scale} diverged at step {stopped}"
    else:
        assert stopped is not None and stopped <= 12, f"×{scale}: diverged at step {stopped}, not within about ten"
        others = {name: float(run.series(f"loss_{name}")[-1]) for name in ("cosine", "constant")}
        measured.update({f"{name} at T/2": round(value, 5) for name, value in others.items()})
        assert race.running == ("cosine", "constant") and run.steps == T // 2, "the other runs did not race on"
        assert all(value < 0.1 for value in others.values()), "the other runs did not converge"
        assert run.series("loss_schedule_free")[-1] >= DIVERGED_LOSS and run.model.measure_leader(run) != LABELS["schedule_free"]
    return measured


def check_a_larger_constant_step(seed: int, scale: float) -> dict:
    """The constant step, tuned for the lowest loss at T, times ``scale``: smaller never arrives; larger
    (to 4×, γ = 0.1) converges, ahead of the tuned step at T/2 and behind it at T."""
    tuned = _tuned(seed)
    run = _race(T, seed, planned_steps=T, lr_scale=scale)
    loss, reference = run.series("loss_constant"), tuned.series("loss_constant")
    measured = {"γ": round(run.model.lrs["constant"], 4), "at T/2 ÷ tuned's": round(float(loss[T // 2] / reference[T // 2]), 3),
                "at T ÷ tuned's": round(float(loss[T] / reference[T]), 2), "loss at T": round(float(loss[T]), 4)}
    assert run.model.race.diverged_at["constant"] is None, f"×{scale}: the constant step diverged"
    if scale < 1:
        assert loss[T] > 0.5 * loss[0], f"×{scale}: the constant step arrived (loss {loss[T]:.3g} from {loss[0]:.3g})"
    else:
        assert loss[T // 2] < 0.5 * reference[T // 2], f"×{scale}: not ahead of the tuned step at T/2"
        assert reference[T] < loss[T] < 0.01, f"×{scale}: at T {loss[T]:.3g} against the tuned {reference[T]:.3g}"
    return measured


def check_rattle_costs_loss(gamma_lambda: float) -> dict:
    """Constant-step SGD, 512 balls, across a wall of curvature λ = 2 with gradient noise σ = 0.3 (the
    level's valley with a straight, flat floor, so that only the wall is left): its mean loss, after it
    has settled, against γσ²/(2(2 − γλ))."""
    wall, noise = 2.0, 0.3
    gamma = gamma_lambda / wall
    valley = RiverValley(wall=wall, depth=0.0, bend=0.0, start=(0.0, 0.0))
    race = Race(valley, dict.fromkeys(LABELS, gamma), planned_steps=10**6, noise=noise, balls=512, seed=0)
    settled = []
    for step in range(600):
        race.step()
        if step >= 100:
            settled.append(float(race.losses()["constant"]))
    measured_loss, predicted = float(np.mean(settled)), gamma * noise**2 / (2 * (2 - gamma_lambda))
    measured = {"γλ": gamma_lambda, "mean ½λu²": f"{measured_loss:.3e}", "γσ²/(2(2 − γλ))": f"{predicted:.3e}"}
    assert abs(measured_loss / predicted - 1) < 0.05, f"measured {measured_loss:.3g}, the formula says {predicted:.3g}"
    return measured


def check_on_a_bowl_the_cosine_leads_at_half(seed: int) -> dict:
    """A plain noisy bowl (the valley straightened and widened until it is nearly quadratic), started
    far from its minimum, every method tuned for it as the level tunes: at T/2 the cosine leads."""
    bowl = RiverValley(wall=3.0, depth=15.0, width=10.0, bend=0.0, start=(2.5, 3.0))
    race = Race(bowl, tuned_lr(bowl, T, 1.0), T, noise=1.0, balls=64, seed=seed)
    for _ in range(T // 2):
        race.step()
    losses = race.losses()
    ratio = float(losses["cosine"] / losses["schedule_free"])
    measured = {"cosine ÷ Schedule-Free at T/2": round(ratio, 2)}
    assert ratio < 0.6, f"on the bowl the cosine's loss at T/2 is {ratio:.2f}× Schedule-Free's"
    return measured


def check_regression_learns(planned_steps: int, seed: int) -> dict:
    """The regression race to T: every run below 10% of its starting loss, x at least 5 times below z."""
    run = _race(planned_steps, seed, problem="regression", planned_steps=planned_steps)
    first, last = _losses(run, 0), _losses(run, planned_steps)
    fractions = {name: last[name] / first[name] for name in ("schedule_free", "cosine", "constant")}
    measured = {f"{LABELS[name]}: loss at T ÷ at 0": round(value, 4) for name, value in fractions.items()}
    measured["explorer z ÷ x at T"] = round(last["explorer"] / last["schedule_free"], 1)
    assert max(fractions.values()) < 0.1, f"a run kept {max(fractions.values()):.0%} of its starting loss"
    assert last["explorer"] > 5 * last["schedule_free"], "x is not well below the explorer z"
    return measured
