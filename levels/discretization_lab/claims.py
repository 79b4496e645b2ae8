"""The discretization lab's claims, each checked at one point of its range (see [[claims]] in level.toml).

Every check builds the level's own run and measures what the README, the math card, the panels and
the challenges state: the poles of each Ā the model builds, its errors against the continuous
response at the sample times, and the histories its two memories read back. Steps beyond the Δ
slider (up to 1000 s, as the bilinear challenge sweeps them) are discretized with the level's own
kernel. The numbers each check returns are shown beside its claim.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numpy.polynomial import legendre

from sandbox.testing import make_runner

from .kernels import METHODS, discretize, spectral_radius
from .model import HIPPO_STEP, SWEEP_DTS, smooth_signal

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed

#: each method's pole for a continuous pole λ, as the math card writes it
STATED_MAPS = {"euler": lambda z: 1.0 + z, "bilinear": lambda z: (1.0 + z / 2.0) / (1.0 - z / 2.0), "zoh": np.exp}


def _run(seed: int = 0, **params):
    run = make_runner(HERE.name, params, seed=seed, levels_dir=HERE.parent)
    assert run.error is None, run.error
    return run


def _poles(sigma: float, omega: float) -> str:
    return f"{sigma:g} ± {omega:g}i"


def check_poles_are_the_three_maps(pole_real: float, pole_imag: float) -> dict:
    """The eigenvalues of each Ā the model builds, at three steps, against the math card's maps of
    the continuous poles σ ± iω; ZOH's radius against e^(σΔ)."""
    run = _run(pole_real=pole_real, pole_imag=pole_imag)
    model, lam = run.model, complex(pole_real, pole_imag)
    worst, zoh_radius = 0.0, 0.0
    for dt in (0.01, 0.3, 1.0):
        run.set_param("dt", dt)
        for method in METHODS:
            for stated in STATED_MAPS[method](dt * np.array([lam, lam.conjugate()])):
                gap = float(np.min(np.abs(model.discrete_poles[method] - stated))) / max(1.0, abs(stated))
                worst = max(worst, gap)
        zoh_radius = max(zoh_radius, abs(model.radius["zoh"] - math.exp(pole_real * dt)))
    measured = {"poles": _poles(pole_real, pole_imag), "largest |pole of Ā − map of λ|": f"{worst:.1e}",
                "largest |ZOH radius − e^(σΔ)|": f"{zoh_radius:.1e}"}
    assert worst < 1e-9, f"a pole of Ā is {worst:.2g} from the stated map of λ"
    assert zoh_radius < 1e-9, f"ZOH's radius is {zoh_radius:.2g} from e^(σΔ)"
    return measured


def check_euler_limit(pole_real: float, pole_imag: float) -> dict:
    """The largest stable Euler step the level shows, against −2σ/|λ|² (no step at all when σ ≥ 0),
    and Ā's radius 3% either side of it."""
    run = _run(pole_real=pole_real, pole_imag=pole_imag)
    model = run.model
    shown = float(run.latest()["euler_limit_dt"])
    stated = max(0.0, -2.0 * pole_real / (pole_real ** 2 + pole_imag ** 2))
    measured = {"poles": _poles(pole_real, pole_imag), "largest stable Δ shown": round(shown, 6),
                "−2σ/|λ|²": round(-2.0 * pole_real / (pole_real ** 2 + pole_imag ** 2), 6)}
    if stated == 0.0:  # the continuous system is unstable: |1 + Δλ| > 1 for every Δ > 0
        radii = [spectral_radius(discretize(model.A, model.B, dt, "euler")[0]) for dt in SWEEP_DTS]
        measured["smallest radius, Δ from 0.001 to 1000"] = round(min(radii), 6)
        assert shown == 0.0 and min(radii) > 1.0, f"σ = {pole_real:g}: Euler is stable at some Δ"
        return measured
    below, above = (spectral_radius(discretize(model.A, model.B, f * stated, "euler")[0]) for f in (0.97, 1.03))
    measured.update({"radius at 0.97×": round(below, 4), "radius at 1.03×": round(above, 4)})
    assert abs(shown - stated) < 1e-6 * stated, f"the level shows {shown:.6g}, the formula says {stated:.6g}"
    assert below < 1.0 < above, f"radius {below:.4g} just below the limit and {above:.4g} just above"
    return measured


def check_bilinear_keeps_stable(pole_real: float, pole_imag: float) -> dict:
    """Bilinear's Ā for 61 steps from 0.001 s to 1000 s: inside the unit circle for every one when
    σ < 0, outside for every one when σ > 0; at Δ|λ| = 1000 the poles sit next to −1; and the
    bilinear challenge's own sweep (its grid of stable poles and these) answers "no"."""
    run = _run(pole_real=pole_real, pole_imag=pole_imag)
    model, lam = run.model, complex(pole_real, pole_imag)
    radii = [spectral_radius(discretize(model.A, model.B, dt, "bilinear")[0]) for dt in SWEEP_DTS]
    far = np.linalg.eigvals(discretize(model.A, model.B, 1000.0 / abs(lam), "bilinear")[0])
    crowd = float(np.max(np.abs(far + 1.0)))
    measured = {"poles": _poles(pole_real, pole_imag), "largest radius": round(max(radii), 6),
                "smallest radius": round(min(radii), 6), "|z + 1| at Δ|λ| = 1000": f"{crowd:.1e}"}
    if pole_real < 0:
        assert max(radii) < 1.0, f"σ = {pole_real:g}: bilinear's radius reaches {max(radii):.6g}"
        answer = model.measure_bilinear_unstable(run)
        measured["the challenge's sweep"] = answer
        assert answer == "no", "the bilinear challenge found a stable pole made unstable"
    else:
        assert min(radii) > 1.0, f"σ = {pole_real:g}: bilinear's radius falls to {min(radii):.6g}"
    assert crowd < 0.01, f"at Δ|λ| = 1000 the poles are {crowd:.2g} from −1"
    return measured


def check_zoh_exact_for_a_step(dt: float, pole_real: float, pole_imag: float) -> dict:
    """The step input: each method's RMS error against the continuous response at the sample times,
    as the level computes it for the exact-for-step challenge."""
    run = _run(input="step", dt=dt, pole_real=pole_real, pole_imag=pole_imag)
    errors = run.model.errors
    measured = {f"{method} RMS error": f"{errors[method]:.1e}" for method in METHODS}
    assert errors["zoh"] < 1e-12, f"ZOH is off by {errors['zoh']:.2g}"
    assert min(errors["euler"], errors["bilinear"]) > 1e-8, "Euler or bilinear is exact too"
    assert run.model.measure_exact_method(run) == "zoh"
    return measured


def check_a_step_settles_at_one(pole_real: float, pole_imag: float) -> dict:
    """The continuous response to a step over the 20 s horizon: its distance from 1 against e^(σt)
    (A is |λ| times a rotation and |C| = |λ|, so y − 1 = C A⁻¹ e^(At) B is at most e^(σt))."""
    run = _run(input="step", pole_real=pole_real, pole_imag=pole_imag)
    model = run.model
    t, y = model.fine_times, model.y_continuous
    excess = float(np.max(np.abs(y - 1.0) - np.exp(pole_real * t)))
    measured = {"poles": _poles(pole_real, pole_imag), "y at 20 s": round(float(y[-1]), 6),
                "e^(σ·20 s)": f"{math.exp(pole_real * t[-1]):.1e}", "largest |y − 1| − e^(σt)": f"{excess:.1e}"}
    assert excess < 1e-9, f"the response is {excess:.2g} further from 1 than e^(σt)"
    return measured


def check_errors_shrink_with_the_step(input: str, pole_real: float, pole_imag: float) -> dict:
    """Each method's RMS error at Δ and at Δ/2, with Δ a tenth of Euler's limit (at most 0.02 s)."""
    run = _run(input=input, pole_real=pole_real, pole_imag=pole_imag)
    dt = 0.1 * min(run.model.euler_limit, 0.2)
    run.set_param("dt", dt)
    coarse = dict(run.model.errors)
    run.set_param("dt", dt / 2)
    fine = run.model.errors
    ratios = {method: coarse[method] / fine[method] if fine[method] > 0 else math.inf for method in METHODS}
    measured = {"Δ": round(dt, 5), **{f"{method}: error at Δ ÷ at Δ/2": round(ratios[method], 2)
                                     for method in ("euler", "bilinear")},
                "ZOH error at Δ/2": f"{fine['zoh']:.1e}"}
    assert abs(ratios["euler"] / 2.0 - 1.0) < 0.15, f"halving Δ divides Euler's error by {ratios['euler']:.3g}"
    if input == "step":
        assert abs(ratios["bilinear"] / 4.0 - 1.0) < 0.15, f"halving Δ divides bilinear's by {ratios['bilinear']:.3g}"
        assert fine["zoh"] < 1e-12, f"ZOH is off by {fine['zoh']:.2g} on the step"
    else:
        measured["ZOH: error at Δ ÷ at Δ/2"] = round(ratios["zoh"], 2)
        assert fine["zoh"] > 1e-4, f"ZOH is off by only {fine['zoh']:.2g} on the chirp"
        for method in ("bilinear", "zoh"):
            assert abs(ratios[method] / 2.0 - 1.0) < 0.15, f"halving Δ divides {method}'s error by {ratios[method]:.3g}"
    return measured


def check_euler_unstable_at_the_challenge_step() -> dict:
    """The exact-for-step challenge's own settings (step input, poles −1 ± 4i, Δ = 0.3 s, the 20 s
    horizon): the numbers its explanation gives."""
    run = _run(input="step", dt=0.3, pole_real=-1.0, pole_imag=4.0)
    model = run.model
    largest = float(np.nanmax(np.abs(model.y_discrete["euler"])))
    measured = {"Euler's limit": round(model.euler_limit, 4), "|1 + Δλ|": round(model.radius["euler"], 3),
                "Euler RMS error": f"{model.errors['euler']:.1e}", "largest Euler sample": f"{largest:.1e}",
                "bilinear RMS error": round(model.errors["bilinear"], 3), "bilinear radius": round(model.radius["bilinear"], 3)}
    assert round(model.euler_limit, 2) == 0.12 and abs(model.euler_limit - 2 / 17) < 1e-6, "Euler's limit is not 2/17"
    assert round(model.radius["euler"], 2) == 1.39, f"|1 + Δλ| = {model.radius['euler']:.3g}"
    assert 1e8 <= model.errors["euler"] < 1e9, f"Euler's error is {model.errors['euler']:.2g}, not about 10⁸"
    assert round(model.errors["bilinear"], 2) == 0.04 and model.radius["bilinear"] < 1.0, "bilinear is not off by 0.04"
    return measured


def check_marginal_at_sigma_zero(pole_imag: float, dt: float) -> dict:
    """σ = 0: what the level calls the system; ZOH's and bilinear's radius; a free response of ZOH's Ā
    over 1000 steps; Euler's radius √(1 + (Δω)²)."""
    run = _run(pole_real=0.0, pole_imag=pole_imag, dt=dt)
    model = run.model
    free = np.linalg.norm(np.linalg.matrix_power(model.discrete["zoh"][0], 1000) @ np.array([1.0, 0.0]))
    measured = {"the level says": model.continuous_stability, "ZOH radius": round(model.radius["zoh"], 12),
                "bilinear radius": round(model.radius["bilinear"], 12), "|x| after 1000 free steps": round(float(free), 9),
                "Euler radius": round(model.radius["euler"], 6)}
    assert model.continuous_stability == "marginally stable", model.continuous_stability
    assert abs(model.radius["zoh"] - 1.0) < 1e-12 and abs(model.radius["bilinear"] - 1.0) < 1e-12, "a pole left the circle"
    assert abs(free - 1.0) < 1e-9, f"the free response's length went from 1 to {free:.9g}"
    assert abs(model.radius["euler"] - math.hypot(1.0, dt * pole_imag)) < 1e-12
    assert (model.radius["euler"] > 1.0) == (pole_imag > 0), "Euler's pole is on the wrong side of the circle"
    return measured


def _rms(a: np.ndarray, b: np.ndarray, scale: float) -> float:
    return math.sqrt(float(np.mean((a - b) ** 2))) / scale


def check_legs_remembers_what_a_random_a_loses(hippo_n: int, state_noise: float, seed: int) -> dict:
    """Both memories fed the smooth signal to t = 19.5 s of the 20 s horizon, then read back: the
    whole history's RMS error relative to the signal's RMS, and the older half's."""
    run = _run(seed, hippo_n=hippo_n, state_noise=state_noise, signal_per_step=0.5)
    run.step(39)
    model, latest = run.model, run.latest()
    legs, random = float(latest["hippo_error"]), float(latest["random_error"])
    true, times = model.history_true, model.history_times
    older = times <= times[-1] / 2
    scale = math.sqrt(float(np.mean(true ** 2)))
    legs_older = _rms(model.history_hippo[older], true[older], scale)
    measured = {"LegS error": round(legs, 4), "random A error": round(random, 3),
                "random ÷ LegS": round(random / legs), "LegS error, older half": round(legs_older, 4)}
    assert legs < 0.03 and legs_older < 0.06, f"LegS reads the history back {legs:.3g} off ({legs_older:.3g} older)"
    assert random > 10 * legs, f"the random memory's error is only {random / legs:.3g} times LegS's"
    return measured


def check_legs_state_is_legendre(hippo_n: int, seed: int) -> dict:
    """The LegS state (with the least state noise the slider allows) against the Legendre coefficients
    (1/t)∫₀ᵗ u(s) √(2n+1) P_n(2s/t − 1) ds of the history fed in, each sample held over its 10 ms, at
    t = 5 s and t = 19.5 s: the largest difference relative to the coefficients' length, within 2% and
    0.6%."""
    run = _run(seed, hippo_n=hippo_n, state_noise=1e-6, signal_per_step=0.5)
    gaps = {}
    for steps in (10, 39):
        run.step(steps - run.steps)
        model = run.model
        k = model.samples_seen
        u = smooth_signal(HIPPO_STEP * np.arange(1, k + 1), run.params["horizon"], seed)
        middles = (np.arange(1, k + 1) - 0.5) / k
        basis = legendre.legvander(2.0 * middles - 1.0, hippo_n - 1) * np.sqrt(2.0 * np.arange(hippo_n) + 1.0)
        coefficients = basis.T @ u / k
        gaps[k * HIPPO_STEP] = float(np.max(np.abs(model.hippo_state - coefficients)) / np.linalg.norm(coefficients))
    (early, gap_early), (late, gap_late) = sorted(gaps.items())
    measured = {f"at t = {early:g} s": f"{gap_early:.1e}", f"at t = {late:g} s": f"{gap_late:.1e}"}
    assert gap_early < 0.02, f"at t = {early:g} s a coefficient is {gap_early:.2g} (relative) from the projection"
    assert gap_late < 0.006, f"at t = {late:g} s a coefficient is {gap_late:.2g} (relative) from the projection"
    return measured


def check_legs_holds_a_few_oscillations(hippo_n: int, oscillations_per_number: float) -> dict:
    """LegS fed the input u(t), a sine of N/4 or N/2 oscillations over the 20 s horizon, to its end,
    then read back: the whole history's RMS error relative to the signal's."""
    oscillations = oscillations_per_number * hippo_n
    run = _run(hippo_n=hippo_n, hippo_signal="input", input="sine", input_freq=oscillations / 20.0, signal_per_step=0.5)
    run.step(40)
    error = float(run.latest()["hippo_error"])
    measured = {"oscillations": oscillations, "LegS error": round(error, 3)}
    if oscillations_per_number <= 0.25:
        assert error < 0.05, f"N = {hippo_n}: a sine of {oscillations:g} oscillations is read back {error:.2g} off"
    else:
        assert error > 0.5, f"N = {hippo_n}: a sine of {oscillations:g} oscillations is read back only {error:.2g} off"
    return measured
