"""The particle shepherd's claims, each checked at one point of its range (see [[claims]] in level.toml).

The checks run the level's own samplers on the numpy backend with small clouds (2048 particles,
the size of the sample every distance is measured on) and, where the claim allows, 100 Euler
steps instead of the default 500: the score is exact, so a small cloud lands as well as a big
one, and a full run of both samplers takes about a second. Runs are kept for the process:
several claims read the same one.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from sandbox.testing import make_runner
from sim.mixture import preset, sliced_wasserstein

from .kernels import VPSchedule
from .model import DISTANCE_SAMPLE, ON_TARGET_DISTANCE, ON_TARGET_GAP

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed

SMALL = {"particles": DISTANCE_SAMPLE}
STEPS = 100  # Euler steps of the small runs (the default is 500)
TURN = 0.37  # the marker's time below which the particle at x = −0.5 turns to the nearer, light blob


def _runner(seed: int = 0, **params):
    run = make_runner(HERE.name, {**SMALL, **params}, seed=seed, levels_dir=HERE.parent)
    assert run.error is None, run.error
    return run


@functools.cache
def _finished(preset_name: str, sampler: str = "sde+ode", steps: int = STEPS, seed: int = 0):
    """A run of ``steps`` Euler steps from noise (t = 1) to the target (t = 0)."""
    run = _runner(seed, preset=preset_name, sampler=sampler, steps=steps)
    run.step(steps)
    assert run.model.done, f"the run stopped at t = {run.model.t}"
    return run


def check_the_score_is_exact(target: str, t: float) -> dict:
    """The mixture's score against a central finite difference of the noised mixture's log density
    (the textbook formula, not the component table the samplers read), at 200 points."""
    mixture, schedule = preset(target), VPSchedule()
    x = np.random.default_rng(1).normal(scale=2.0, size=(200, 2))
    alpha, sigma, eps = schedule.alpha(t), schedule.sigma(t), 1e-5
    noised = mixture.noised(alpha, sigma)
    differences = np.stack([(noised.log_density(x + e) - noised.log_density(x - e)) / (2 * eps)
                            for e in (np.array([eps, 0.0]), np.array([0.0, eps]))], axis=1)
    score = mixture.score(x, alpha, sigma)
    gap = float(np.abs(score - differences).max() / (1 + np.abs(differences).max()))
    measured = {"components": mixture.n_components, "α_t": round(alpha, 3), "σ_t": round(sigma, 3),
                "largest gap, relative": float(f"{gap:.2g}")}
    assert gap < 1e-5, f"the score is {gap:.2g} (relative) from the gradient of log p_t at t = {t}"
    return measured


def check_noised_mixture_is_a_mixture(target: str, t: float) -> dict:
    """Noise target samples, α_t x₀ + σ_t ε, and compare them with samples of the mixture of noised
    blobs N(α_t μ_k, α_t² Σ_k + σ_t² I), against two honest samples of the latter (4096 points)."""
    mixture, schedule, rng = preset(target), VPSchedule(), np.random.default_rng(2)
    alpha, sigma, n = schedule.alpha(t), schedule.sigma(t), 4096
    noised_data = alpha * mixture.sample(n, rng) + sigma * rng.standard_normal((n, 2))
    floor = sliced_wasserstein(mixture.sample(n, rng, alpha, sigma), mixture.sample(n, rng, alpha, sigma))
    distance = sliced_wasserstein(noised_data, mixture.sample(n, rng, alpha, sigma))
    measured = {"distance / floor": round(distance / floor, 2)}
    assert distance < 2.5 * floor, f"noised data are {distance / floor:.1f} noise floors from the noised mixture"
    return measured


def check_both_land_on_the_target(target: str) -> dict:
    """The SDE's and the ODE's clouds, from the same noise: distance and likelihood gap at t = 1
    and at t = 0."""
    run = _finished(target)
    model, first = run.model, {name: float(run.series(name)[0]) for name in ("distance", "likelihood_gap")}
    floor = model.floor
    measured = {"start: distance / floor": round(first["distance"] / floor, 1),
                "start: likelihood gap": round(first["likelihood_gap"], 2)}
    for name in ("sde", "ode"):
        measured |= {f"{name}: distance / floor": round(model.distances[name] / floor, 2),
                     f"{name}: likelihood gap": round(model.likelihood_gaps[name], 3)}
    assert first["distance"] > 4 * floor and first["likelihood_gap"] > 2.0, f"the cloud did not start as noise: {measured}"
    for name in ("sde", "ode"):
        assert model.distances[name] < ON_TARGET_DISTANCE * floor, f"the {name} cloud ends off the target: {measured}"
        assert model.likelihood_gaps[name] < ON_TARGET_GAP, f"the {name} cloud ends blurred: {measured}"
    return measured


def check_distance_falls_to_the_floor(target: str) -> dict:
    """The distance of the ODE's cloud as t runs down: from far above the floor at t = 1 to it at 0."""
    run = _finished(target)
    t, distance, floor = run.series("t"), run.series("distance_twin"), run.model.floor
    measured = {"t = 1": round(float(distance[0] / floor), 1),
                "t = 0.5": round(float(distance[np.argmin(np.abs(t - 0.5))] / floor), 1),
                "t = 0": round(float(distance[-1] / floor), 2)}
    assert t[0] == 1.0 and t[-1] == 0.0 and np.all(np.diff(t) <= 0), "t does not run from 1 down to 0"
    assert distance[-1] < 0.2 * distance[0] and distance[-1] < ON_TARGET_DISTANCE * floor, measured
    return {f"distance / floor at {k}": v for k, v in measured.items()}


def check_sde_jitters_ode_glides(target: str) -> dict:
    """Path length over net displacement of the tracked particles of both clouds."""
    latest = _finished(target).latest()
    sde, ode = latest["tortuosity"], latest["tortuosity_twin"]
    measured = {"SDE tortuosity": round(sde, 1), "ODE tortuosity": round(ode, 2)}
    assert sde > 10 and ode < 1.5, f"tortuosity: SDE {sde:.1f}, ODE {ode:.2f}"
    return measured


def check_same_law_different_points(target: str) -> dict:
    """The landing challenge's measure: both clouds on the target and close to each other as clouds,
    while a particle and its twin (the same starting noise) end far apart."""
    run = _finished(target)
    model = run.model
    apart = sliced_wasserstein(run.array("sample"), run.array("sample_twin")) / model.floor
    paired, spread = model.twins(run)
    measured = {"clouds apart / floor": round(apart, 2), "twins apart": round(paired, 2),
                "target's spread": round(spread, 2)}
    assert model.measure_landing(run) == "the same distribution, different points", measured
    return measured


def check_five_steps_off_target(target: str) -> dict:
    """The probability-flow ODE in 5 and in 50 Euler steps (the five-step challenge's measure)."""
    few, many = _finished(target, "ode", 5), _finished(target, "ode", 50)
    floor = few.model.floor
    measured = {"5 steps: distance / floor": round(few.model.distances["ode"] / floor, 1),
                "5 steps: likelihood gap": round(few.model.likelihood_gaps["ode"], 2),
                "50 steps: distance / floor": round(many.model.distances["ode"] / floor, 2),
                "50 steps: likelihood gap": round(many.model.likelihood_gaps["ode"], 3)}
    assert few.model.measure_few_steps(few) == "visibly off the target", measured
    assert np.all(np.isfinite(few.array("sample"))), "the five-step cloud blew up"
    assert many.model.measure_few_steps(many) == "as close as with many steps", measured
    return measured


def check_which_way_at_the_marker(marker_t: float) -> dict:
    """The probability-flow velocity at x = −0.5 between the light blob (25%, x = −2) and the
    heavy one (75%, x = +2), at the marker's time; and the noised blobs' centres and blur."""
    run = _runner(preset="pair", sampler="ode", marker_x=-0.5, marker_y=0.0, marker_t=marker_t)
    model = run.model
    velocity, direction = model.marker_velocity(), model.measure_marker_direction(run)
    alpha, sigma = model.schedule.alpha(marker_t), model.schedule.sigma(marker_t)
    measured = {"velocity": [round(float(v), 2) for v in velocity], "direction": direction,
                "blobs at": f"±{2 * alpha:.2f}", "blur σ": round(sigma, 2)}
    expected = "right" if marker_t > TURN else "left"  # high noise: the heavy side; low noise: the nearer blob
    assert direction == expected, f"at t = {marker_t} the particle moves {direction}, not {expected}"
    if marker_t == 0.5:  # the challenge's explanation
        assert abs(2 * alpha - 0.56) < 0.01 and abs(sigma - 0.96) < 0.01, measured
    return measured


def check_langevin_needs_annealing(langevin_t: float) -> dict:
    """Langevin dynamics at one noise level on the pair of blobs (25% left, 75% right): the fraction
    of the particles in the heavy blob after 400 steps (300 at high noise), and whether the cloud
    is on the noised target."""
    steps = 400 if langevin_t < 0.1 else 300
    run = _runner(preset="pair", sampler="langevin", langevin_t=langevin_t, particles=4096)
    run.step(steps)
    model = run.model
    heavy = model.measure_heavy_fraction(run)
    on = model.on_target(run, "langevin")
    measured = {"steps": steps, "in the heavy blob": round(heavy, 3), "on the noised target": on}
    if langevin_t < 0.1:  # low noise: split by the starting side, about half and half
        assert 0.4 < heavy < 0.6, f"at t_L = {langevin_t} {heavy:.0%} of the particles are in the heavy blob"
    else:  # high noise: the blobs overlap and the weights come out right
        assert on and abs(heavy - 0.75) < 0.05, f"at t_L = {langevin_t}: {measured}"
    return measured


def check_particles_follow_a_painted_blob() -> dict:
    """Paint a blob at (0, 3) as heavy as the pair together, then run the ODE: about half of the
    particles go to it."""
    run = _runner(preset="pair", sampler="ode", steps=STEPS)
    model = run.model
    index = model.add_blob(0.0, 3.0, std=0.3, weight=1.0)
    run.step(STEPS)
    share = float(np.mean(np.linalg.norm(model.samples["ode"] - [0.0, 3.0], axis=1) < 1.0))
    measured = {"blobs": model.mixture.n_components, "particles at the new blob": round(share, 3)}
    assert index == 2 and model.mixture.n_components == 3, measured
    assert 0.4 < share < 0.6, f"{share:.0%} of the particles went to the painted blob, which holds half the weight"
    return measured
