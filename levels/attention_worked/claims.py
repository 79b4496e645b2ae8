"""Attention by hand: its claims, each checked at one point of its range (see [[claims]] in level.toml).

Every check builds the level's own run (the runner and the model) and measures what the README, the
math card, the panels and the challenges state; the numbers it returns are shown beside the claim.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sandbox.testing import make_runner

from .attention import SEED_PRINTED_EXPS, SEED_PRINTED_ROW0, SEED_PRINTED_SUM, TOKENS
from .model import RANDOM, SEED_EXAMPLE

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed

#: the README's mean largest weight of a row of three random tokens, by d, without the 1/√d
STATED_UNSCALED_TOP = {2: 0.62, 16: 0.85, 128: 0.95, 512: 0.97, 1024: 0.98}
#: ... and with it: 0.56 at d = 2, about 0.6 beyond
STATED_SCALED_TOP = {2: 0.56, 16: 0.59, 128: 0.60, 512: 0.60, 1024: 0.60}
#: the vectors of the level's buttons and of the focused challenge: each query along its own key
EACH_TO_ITSELF = {"q0x": 2.0, "q0y": 0.0, "q1x": -1.0, "q1y": 1.7, "q2x": -1.0, "q2y": -1.7,
                  "k0x": 1.4, "k0y": 0.0, "k1x": -0.7, "k1y": 1.2, "k2x": -0.7, "k2y": -1.2}
EVEN_ROWS = {f"q{i}{a}": 0.0 for i in range(3) for a in "xy"}
STATED_GAPS = {"even rows": 1.0, "each to itself": 0.14, "the seed's example": 0.89}


def _run(steps: int = 0, seed: int = 0, **params):
    run = make_runner(HERE.name, params, seed=seed, levels_dir=HERE.parent)
    if steps:
        run.step(steps)
    assert run.error is None, run.error
    return run


def _vectors(case: str) -> tuple[dict, int]:
    """The parameters and the seed of a case: "the seed's example" or "random, d = 16, seed 2"."""
    if case == "the seed's example":
        return {"source": SEED_EXAMPLE}, 0
    d, seed = (part.split()[-1] for part in case.removeprefix("random, ").split(", "))
    return {"source": RANDOM, "d": int(d)}, int(seed)


def check_seed_row0() -> dict:
    """Seed 002's row 0, computed step by step against what the seed prints."""
    w = _run().model.worked
    row = w.weights[0]
    measured = {"q₀·k_j": [round(float(v), 4) for v in w.dots[0]], "÷√2": [round(float(v), 4) for v in w.scores[0]],
                "exp": [round(float(v), 4) for v in w.exps[0]], "Σ": round(float(w.sums[0]), 4),
                "row 0": [round(float(v), 4) for v in row]}
    np.testing.assert_allclose(w.dots[0], [1.0, 0.75, 0.6], atol=1e-12)
    np.testing.assert_allclose(w.scores[0], [0.707, 0.530, 0.424], atol=5e-4)
    np.testing.assert_allclose(w.exps[0], SEED_PRINTED_EXPS, atol=1e-3)  # the seed's exps, right to its 3 decimals
    assert round(float(w.sums[0]), 3) == 5.256, f"the exact sum is {w.sums[0]:.4f}"
    assert abs(sum(SEED_PRINTED_EXPS) - SEED_PRINTED_SUM) < 1e-9, "the seed's sum is the sum of its rounded exps"
    assert [round(float(v), 3) for v in row] == [0.386, 0.323, 0.291], f"row 0 = {row}"
    assert SEED_PRINTED_ROW0[1] == 0.324 and round(SEED_PRINTED_EXPS[1] / SEED_PRINTED_SUM, 3) == 0.323, \
        "the seed's own rounded numbers give 0.323 for cat"
    measured["seed prints for cat"] = SEED_PRINTED_ROW0[1]
    measured["its 1.699 / 5.255"] = round(SEED_PRINTED_EXPS[1] / SEED_PRINTED_SUM, 4)
    return measured


def check_rows_sum_to_one(d: int, scaled: bool, temperature: float, seed: int) -> dict:
    """Random vectors at one point: every row sums to 1, every weight in [0, 1]."""
    run = _run(seed=seed, source=RANDOM, d=d, scaled=scaled, temperature=temperature)
    w = run.model.worked.weights
    error = float(np.max(np.abs(w.sum(axis=1) - 1.0)))
    measured = {"largest |row sum − 1|": error, "smallest weight": float(w.min()), "largest weight": float(w.max()),
                "recorded": float(run.series("row_sum_error")[-1])}
    assert error < 1e-14, f"a row sums to 1 ± {error:.1e}"
    assert np.all((w >= 0) & (w <= 1)), "a weight outside [0, 1]"
    return measured


def _inside_triangle(points: np.ndarray, corners: np.ndarray, tolerance: float = 1e-12) -> bool:
    """Whether every point lies in the triangle of ``corners`` (by the signs of three cross products)."""
    a, b, c = corners

    def side(p, q, r):
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    area = side(a, b, c)
    scale = max(abs(area), 1e-300)
    for p in points:
        signs = np.array([side(a, b, p), side(b, c, p), side(c, a, p)]) * math.copysign(1.0, area)
        if np.any(signs < -tolerance * scale):
            return False
    return True


def check_outputs_inside_the_values(case: str) -> dict:
    """Each output, after one layer and after attention applied up to 64 times, inside the values' triangle."""
    params, seed = _vectors(case)
    run = _run(seed=seed, **params)
    model = run.model
    values, trails = model.worked.values, model.trails
    assert _inside_triangle(model.worked.outputs, values), "an output of one layer lies outside the triangle"
    assert _inside_triangle(trails.reshape(-1, 2), values), "an output of repeated attention lies outside the triangle"
    # and it is a weighted average with the attention weights as its weights
    np.testing.assert_allclose(model.worked.outputs, model.worked.weights @ values, atol=1e-12)
    return {"outputs o": np.round(model.worked.outputs, 4).tolist(), "values v": np.round(values, 4).tolist()}


def check_eigenvalue_one(case: str) -> dict:
    """A·1 = 1, every other eigenvalue inside the unit circle, and π positive with πA = π."""
    params, seed = _vectors(case)
    run = _run(seed=seed, **params)
    model = run.model
    a, s = model.worked.weights, model.spectrum
    ones = np.ones(3)
    values = s.eigenvalues
    measured = {"eigenvalues": [f"{v.real:.4f}{v.imag:+.4f}i" for v in values], "|λ₂|": round(s.second, 4),
                "π": np.round(s.stationary, 4).tolist()}
    assert a.min() > 0, "the check is for a strictly positive matrix"
    np.testing.assert_allclose(a @ ones, ones, atol=1e-14)  # the right eigenvector 1 with eigenvalue 1
    assert abs(values[0] - 1.0) < 1e-12, f"the eigenvalue nearest 1 is {values[0]}"
    assert np.all(np.abs(values[1:]) < 1.0 - 1e-9), f"another eigenvalue on or outside the unit circle: {values}"
    assert np.all(s.stationary > 0) and abs(s.stationary.sum() - 1.0) < 1e-12, f"π = {s.stationary}"
    np.testing.assert_allclose(s.stationary @ a, s.stationary, atol=1e-13)
    return measured


def check_repeated_attention_converges(d: int, temperature: float, seed: int) -> dict:
    """Attention applied 64 times: the rows of Aᵗ close in on π at the rate |λ₂| (a fit of the
    recorded distances), and the outputs all tend to πV."""
    run = _run(63, seed=seed, source=RANDOM, d=d, temperature=temperature)
    model = run.model
    t, distance = run.series("depth"), run.series("distance")
    second = model.spectrum.second
    above = distance > 1e-11  # before double precision's rounding takes over
    assert above.sum() >= 3, f"|λ₂| = {second:.2g}: too fast to fit"
    rate = math.exp(np.polyfit(t[above], np.log(distance[above]), 1)[0])
    limit = model.spectrum.stationary @ model.worked.values
    first, spread = (float(np.max(np.abs(model.trails[k] - limit))) for k in (0, -1))
    measured = {"|λ₂|": round(second, 4), "fitted rate": round(rate, 4), "t fitted": int(above.sum()),
                "outputs from πV at t = 64": spread}
    assert abs(rate / second - 1) < 0.06, f"the distance shrinks by {rate:.4f} a layer, |λ₂| = {second:.4f}"
    assert np.all(np.diff(np.log(distance[above])) < 0.5), "the distance grew"
    assert spread <= 3 * first * second ** 63 + 1e-12, \
        f"the outputs are still {spread:.2g} from πV after 64 layers ({first:.2g} after one)"
    return measured


def check_scaling_keeps_the_spread(d: int, seed: int) -> dict:
    """Rows of three random tokens (2000 draws) at dimension d, with and without the 1/√d."""
    model = _run(seed=seed, source=RANDOM).model
    top_scaled, _, spread_scaled = model.row_statistics(d, True)
    top_unscaled, _, spread_unscaled = model.row_statistics(d, False)
    measured = {"spread ÷√d": round(spread_scaled, 3), "spread undivided / √d": round(spread_unscaled / math.sqrt(d), 3),
                "largest weight ÷√d": round(top_scaled, 3), "largest weight undivided": round(top_unscaled, 3)}
    assert abs(spread_scaled - 1) < 0.05, f"the divided scores spread {spread_scaled:.3f}, not 1"
    assert abs(spread_unscaled / math.sqrt(d) - 1) < 0.05, f"the undivided spread is {spread_unscaled:.2f}, not √d"
    assert abs(top_scaled - STATED_SCALED_TOP[d]) < 0.015, f"÷√d: largest weight {top_scaled:.3f}"
    assert abs(top_unscaled - STATED_UNSCALED_TOP[d]) < 0.015, f"undivided: largest weight {top_unscaled:.3f}"
    return measured


def check_temperature_sharpens(case: str) -> dict:
    """Each row's entropy against τ from 0.1 to 10: rising all the way, from sharp to nearly even."""
    params, seed = _vectors(case)
    run = _run(seed=seed, **params)
    taus = np.geomspace(0.1, 10.0, 13)
    entropies, tops = [], []
    for tau in taus:
        run.set_param("temperature", float(tau))
        w = run.model.worked.weights
        logs = np.log(np.where(w > 0, w, 1.0))
        entropies.append(-np.sum(w * logs, axis=1))
        tops.append(w.max(axis=1))
    entropies, tops = np.array(entropies), np.array(tops)
    measured = {"entropy at τ = 0.1": np.round(entropies[0], 3).tolist(),
                "entropy at τ = 10": np.round(entropies[-1], 3).tolist(), "ln 3": round(math.log(3), 4)}
    assert np.all(np.diff(entropies, axis=0) > 0), "a row's entropy did not rise with τ"
    assert np.all(np.diff(tops, axis=0) < 0), "a row's largest weight did not fall with τ"
    assert np.all(entropies[-1] > 0.97 * math.log(3)), "at τ = 10 a row is not nearly even"
    return measured


def check_gap_is_not_focus(case: str) -> dict:
    """The gap of even rows, of rows that each attend to their own token, and of the seed's example."""
    vectors = {"even rows": EVEN_ROWS, "each to itself": EACH_TO_ITSELF, "the seed's example": {}}[case]
    model = _run(**vectors).model
    w, s = model.worked.weights, model.spectrum
    diagonal = float(np.mean(np.diag(w)))
    measured = {"mean weight on itself": round(diagonal, 3), "largest weight (mean)": round(float(w.max(1).mean()), 3),
                "|λ₂|": round(s.second, 4), "gap": round(s.gap, 3)}
    assert abs(s.gap - STATED_GAPS[case]) < 0.01, f"{case}: gap {s.gap:.3f}, stated {STATED_GAPS[case]}"
    if case == "each to itself":
        assert diagonal > 0.9, f"each token keeps {diagonal:.3f} for itself"
    else:
        assert w.max() < 0.4, "these rows are nearly even"
    measured["tokens"] = ", ".join(TOKENS)
    return measured
