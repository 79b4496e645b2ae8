"""The associativity switch's stated claims about its benchmark: the crossover it reports and the slopes it
fits. No timing here: the benchmark's seconds are set by hand, as a machine could measure them."""

import pytest

from sandbox.testing import level

LEVEL = "associativity_switch"
kernels = level(LEVEL).module("kernels")
claims = level(LEVEL).module("claims")
SIZES = [128 * 2 ** i for i in range(8)]  # 128 ... 16384, the crossover challenge's sizes


def benchmark(quadratic, linear, sizes=SIZES, done=True):
    bench = kernels.AttentionBenchmark(d=16, n_min=sizes[0], n_max=sizes[-1])
    bench.seconds["quadratic"] = {n: quadratic(n) for n in sizes}
    bench.seconds["linear"] = {n: linear(n) for n in sizes}
    bench.done = done
    return bench


@pytest.mark.parametrize("ratio", [1.01, 1.5, 10.0, 1000.0])
def test_a_quadratic_form_slower_at_every_size_is_not_reported_as_crossing_at_the_smallest(ratio):
    bench = benchmark(lambda n: ratio * 1e-6 * n, lambda n: 1e-6 * n)
    assert bench.crossover() is None  # no size where it changes was measured
    report = bench.crossover_report()
    assert report.where == "below" and report.n == 128
    assert "below N = 128" in kernels.describe_crossover(report)


@pytest.mark.parametrize("expected", [3000.0, 500.0, 150.0])
def test_a_crossover_between_two_timed_sizes_is_interpolated_there(expected):
    measured = claims.check_crossover_is_measured_or_a_bound(crossing=expected)  # the level's claim, here
    assert measured["first report"] == "measured" and f"N ≈ {expected:.0f}" in measured["the panel says"]


def test_a_quadratic_form_faster_at_every_size_puts_the_crossover_beyond_the_largest_once_done():
    bench = benchmark(lambda n: 1e-10 * n * n, lambda n: 1e-5 * n, done=False)
    assert bench.crossover_report() is None  # still timing: it may cross at the next size
    bench.done = True
    report = bench.crossover_report()
    assert report.where == "beyond" and report.n == 16384
    assert "beyond N = 16384" in kernels.describe_crossover(report)
    assert bench.extrapolated_crossover() == pytest.approx(1e5, rel=1e-6)  # where the fitted lines meet


def test_timing_below_the_smallest_size_finds_a_crossover_there():
    bench = benchmark(lambda n: 1e-6 * n * n, lambda n: 1e-5 * n)  # they cross at N = 10
    costs = {"quadratic": lambda n: 1e-6 * n * n, "linear": lambda n: 1e-5 * n}
    bench._time = lambda form, n: costs[form](n)  # stands in for timing the form
    bench.extend_below(floor=8)
    assert sorted(bench.seconds["quadratic"])[:4] == [8, 16, 32, 64]
    report = bench.crossover_report()
    assert report.where == "measured" and report.n == pytest.approx(10.0)


tiled = claims.tiled_seconds  # seconds per size as the tiled quadratic form takes them: an N² part and an N part


@pytest.mark.parametrize("per_token", [5e-7, 1.5e-6, 3e-6])
@pytest.mark.parametrize("largest", [8192, 16384, 32768, 65536])
def test_the_quadratic_slope_is_fitted_over_the_largest_sizes_where_it_nears_two(per_token, largest):
    measured = claims.check_slope_fitted_over_the_largest_sizes(per_token=per_token, largest=largest)
    assert measured["fitted over N"] == f"{largest // 4} … {largest}"


def test_small_n_costs_more_per_weight_than_large_n_in_the_stated_model():
    per_weight = [tiled(n) / (n * (n + 1) / 2) for n in (128, 1024, 65536)]
    assert per_weight[0] > per_weight[1] > per_weight[2]
    assert per_weight[0] == pytest.approx(27e-9, rel=0.1) and per_weight[2] == pytest.approx(3.1e-9, rel=0.02)


def test_the_math_card_and_readme_state_the_slope_as_fitted_over_the_largest_sizes():
    manifest = level(LEVEL).manifest
    caption = next(caption for tex, caption in manifest.math if "slope" in caption)
    assert "p ≈ 2" not in caption and "largest sizes" in caption
    readme = " ".join((level(LEVEL).folder / "README.md").read_text().split())
    assert "near 2 and near 1) are properties of the algorithms and hold on any machine" not in readme
    assert "dearer per weight" in readme
