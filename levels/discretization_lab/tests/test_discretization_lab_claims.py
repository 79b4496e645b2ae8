"""The discretization lab's stated claims, checked at the settings they are stated for and around them."""

import math
import re

import pytest

from sandbox.testing import finished_challenge, level, make_runner

LEVEL = "discretization_lab"




def numbers_after(text: str, words: str) -> float:
    """The first number written after ``words`` in ``text``."""
    match = re.search(re.escape(words) + r"[^0-9]*([0-9]+(?:\.[0-9]+)?)", text)
    assert match, f"{words!r} not followed by a number in: {text}"
    return float(match.group(1))


def test_the_exact_for_step_explanation_says_what_its_own_run_shows():
    attempt = finished_challenge(LEVEL, "exact_for_step")
    model, explain = attempt.runner.model, attempt.challenge.explain
    assert attempt.verdict.measured == "zoh" and model.errors["zoh"] < 1e-12
    # At the challenge's own step, Euler is unstable: its error is not O(Δ), it grows without bound.
    assert model.radius["euler"] > 1.0 and model.errors["euler"] > 1e6
    assert "Euler is not even stable" in explain
    assert not re.search(r"[Ee]uler[^.]*off by O\(Δ\)", explain)
    assert numbers_after(explain, "it needs Δ <") == pytest.approx(model.euler_limit, abs=0.005)
    assert numbers_after(explain, "|1 + Δλ| ≈") == pytest.approx(model.radius["euler"], abs=0.005)
    bilinear = numbers_after(explain, "Bilinear stays stable at every Δ and is off by")
    assert bilinear == pytest.approx(model.errors["bilinear"], abs=0.005)
    assert "grow to about 10⁸" in explain and 1e8 <= model.errors["euler"] < 1e9


@pytest.mark.parametrize("pole", [(-1.0, 4.0), (-1.0, 3.0), (-2.0, 1.0), (-0.5, 0.0)])
def test_below_eulers_limit_its_step_error_shrinks_as_delta_and_bilinears_as_delta_squared(pole):
    """What the explanation says of each method where Euler is stable: halving Δ halves Euler's error and
    quarters bilinear's (at small Δ), and ZOH stays exact (the level's claim, at these poles)."""
    measured = level(LEVEL).module("claims").check_errors_shrink_with_the_step("step", *pole)
    assert measured["euler: error at Δ ÷ at Δ/2"] == pytest.approx(2.0, rel=0.15)


@pytest.mark.parametrize("omega", [0.0, 0.5, 4.0, 10.0])
def test_sigma_zero_is_marginally_stable_not_unstable(omega):
    # The level's claim: on the circle for bilinear and ZOH, outside it for Euler unless ω = 0.
    measured = level(LEVEL).module("claims").check_marginal_at_sigma_zero(pole_imag=omega, dt=0.1)
    assert measured["the level says"] == "marginally stable"
    run = make_runner(LEVEL, {"pole_real": 0.0, "pole_imag": omega, "dt": 0.1})
    model = run.model
    for sigma, words in ((-0.5, "stable"), (0.5, "unstable")):
        run.set_param("pole_real", sigma)
        assert model.continuous_stability == words


def test_what_the_view_says_of_the_continuous_system_matches_its_stability():
    view = level(LEVEL).module("view")
    assert "marginally stable" in view.continuous_note("marginally stable", 4.0)
    assert "unstable" not in view.continuous_note("marginally stable", 4.0).replace("Euler", "")
    assert "unstable" in view.continuous_note("unstable", 4.0)
    assert view.continuous_note("stable", 4.0) == ""
    assert math.isfinite(make_runner(LEVEL, {"pole_real": 0.0, "pole_imag": 0.0}).model.euler_limit)
