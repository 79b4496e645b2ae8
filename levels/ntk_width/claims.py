"""The Width Dial's claims, each checked at one point of its range (see [[claims]] in level.toml).

Every check trains the level's own model (its kernels, its linearisation, its kernel regression)
at several widths and measures what the README, the math card and the challenges state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sandbox.testing import make_runner

from .kernels import analytic_ntk, augment, empirical_ntk
from .model import CLOSE, fit_slope

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed

#: The widths the slopes are fitted over: past about 1,000 units the net is in its lazy regime.
WIDE = (1024, 4096, 16384)
#: Steps every width trains, as in the challenges.
STEPS = 400
#: Seeds averaged per width: single seeds scatter (each is n random features).
SEEDS = 3


def _model(**params):
    return make_runner(HERE.name, params, levels_dir=HERE.parent, backend="numba").model


def _sweep(seed: int, names: tuple[str, ...], scaling: str = "ntk", widths=WIDE) -> dict[str, np.ndarray]:
    """The mean over ``SEEDS`` seeds from ``seed`` of each measure in ``names``, per width."""
    model = _model(scaling=scaling)
    table = {name: np.zeros(len(widths)) for name in names}
    for k, width in enumerate(widths):
        for s in range(seed, seed + SEEDS):
            trained = model.trained(width, STEPS, seed=s)
            assert not trained.diverged, f"width {width}, seed {s}: diverged"
            for name in names:
                table[name][k] += getattr(trained, name) / SEEDS
    return table


def _assert_slope(name: str, values, low: float, high: float) -> float:
    slope = fit_slope(WIDE, values)
    assert low <= slope <= high, f"{name}: log-log slope {slope:.3f} over widths {WIDE}, not in [{low}, {high}]"
    return round(slope, 3)


def check_weight_change_shrinks_as_inverse_sqrt_width(seed: int) -> dict:
    """Slope of the relative weight change against width: −1/2 within 0.12; 16× wider moves about ¼."""
    table = _sweep(seed, ("weight_change",))
    values = table["weight_change"]
    slope = _assert_slope("relative weight change", values, -0.62, -0.38)
    ratio = values[0] / values[-1]
    assert 3.2 < ratio < 5.0, f"16× wider moved its weights {ratio:.2f}× less, not about 4×"
    return {"slope": slope, "change per width": [f"{v:.2%}" for v in values], "1024 / 16384": round(ratio, 2)}


def check_flips_shrink_as_inverse_sqrt_width(seed: int) -> dict:
    """Slope of the share of flipped ReLUs against width: −1/2 within 0.15."""
    values = _sweep(seed, ("flipped",))["flipped"]
    slope = _assert_slope("ReLUs flipped", values, -0.65, -0.35)
    return {"slope": slope, "flipped per width": [f"{v:.2%}" for v in values]}


def check_net_follows_its_linearisation(seed: int) -> dict:
    """Slope of the largest |net − linearisation| against width: −1/2 within 0.15; below 0.1 at 16,384."""
    values = _sweep(seed, ("gap_lin",))["gap_lin"]
    slope = _assert_slope("net − linearisation", values, -0.65, -0.35)
    assert values[-1] < 0.1, f"at width 16,384 the net is {values[-1]:.3f} from its linearisation"
    return {"slope": slope, "gap per width": [round(float(v), 4) for v in values]}


def check_empirical_kernel_approaches_analytic(seed: int) -> dict:
    """‖Θ̂₀ − Θ‖/‖Θ‖ at the start (mean of 8 draws) against width: slope −1/2 within 0.12; the drift
    while training (‖Θ̂_t − Θ̂₀‖/‖Θ̂₀‖) falls as 1/√n too, and stays below the start's error at 16,384."""
    z = augment(np.linspace(-1.0, 1.0, 6))
    analytic = analytic_ntk(z, z)
    errors = []
    for width in WIDE:
        draws = []
        for s in range(seed, seed + 8):
            rng = np.random.default_rng(s)
            w, a = rng.normal(size=(width // 2, 2)), rng.normal(size=width // 2)
            # twins share their input weights, so the kernel of n twinned units is that of n/2 free ones
            draws.append(np.linalg.norm(empirical_ntk(z, z, w, a) - analytic) / np.linalg.norm(analytic))
        errors.append(float(np.mean(draws)))
    slope = _assert_slope("empirical − analytic kernel", errors, -0.62, -0.38)
    model = _model()
    for width, error in zip(WIDE, errors):
        start = model.trained(width, 0, seed=seed)
        assert abs(start.kernel_error - error) < 3 * error, "the model's kernel at the start is the one measured here"
    drift = _sweep(seed, ("kernel_drift",))["kernel_drift"]
    drift_slope = _assert_slope("kernel drift", drift, -0.7, -0.3)
    assert drift[-1] < errors[-1], f"at 16,384 the kernel drifted {drift[-1]:.4f}, more than its start's error {errors[-1]:.4f}"
    return {"slope": slope, "error per width": [round(e, 4) for e in errors], "drift slope": drift_slope,
            "drift per width": [round(float(d), 4) for d in drift]}


def check_wide_net_is_kernel_regression(seed: int) -> dict:
    """At 16,384 the largest gap to kernel regression is below ``CLOSE``; at 256 it is above."""
    model = _model()
    wide = model.trained(16384, STEPS, seed=seed).gap_kernel
    narrow = model.trained(256, STEPS, seed=seed).gap_kernel
    assert wide < CLOSE, f"seed {seed}: width 16,384 is {wide:.3f} from kernel regression, not within {CLOSE}"
    assert narrow > CLOSE, f"seed {seed}: width 256 is {narrow:.3f} from kernel regression, within {CLOSE}"
    return {"gap at 16,384": round(wide, 4), "gap at 256": round(narrow, 4)}


def check_mean_field_is_not_lazy(seed: int) -> dict:
    """Mean-field: weight change and flips keep their size over the widths; the gap to kernel regression stays above 0.05."""
    table = _sweep(seed, ("weight_change", "flipped", "gap_kernel"), scaling="mean_field")
    change = _assert_slope("mean-field weight change", table["weight_change"], -0.15, 0.15)
    flips = _assert_slope("mean-field flips", table["flipped"], -0.15, 0.15)
    assert np.all(table["gap_kernel"] > CLOSE), f"mean-field gaps {table['gap_kernel']} come within {CLOSE}"
    assert np.all(table["weight_change"] > 1.0), f"mean-field weight changes {table['weight_change']}: not above 100%"
    assert np.all((table["flipped"] > 0.15) & (table["flipped"] < 0.3)), \
        f"mean-field flips {table['flipped']}: not about a fifth"
    lazy = _sweep(seed, ("weight_change",), widths=(16384,))["weight_change"][0]
    assert table["weight_change"][-1] > 10 * lazy, "mean field moves its weights far more than the NTK net at 16,384"
    return {"weight change slope": change, "flips slope": flips,
            "weight change per width": [f"{v:.1%}" for v in table["weight_change"]],
            "flipped per width": [f"{v:.1%}" for v in table["flipped"]],
            "gap per width": [round(float(g), 3) for g in table["gap_kernel"]]}


def check_linearised_steps_are_exact_kernel_regression(steps: int, lr: float) -> dict:
    """The recursions the model runs equal the closed form of t discrete steps of gradient descent."""
    model = _model(width=2048, lr=lr)
    trained = model.trained(2048, steps, seed=0)
    m = len(trained.data_x)
    y = trained.data_y

    def closed_form(gx, xx, start_data, start_curve):
        decay = np.linalg.matrix_power(np.eye(m) - lr * xx / m, steps)
        moved = np.linalg.solve(xx, (np.eye(m) - decay) @ (y - start_data))
        return start_curve + gx @ moved

    kernel = closed_form(trained.analytic_gx, trained.analytic_xx, np.zeros(m), np.zeros(len(trained.grid_x)))
    start = model.trained(2048, 0, seed=0)
    lin = closed_form(trained.empirical0_gx, trained.empirical0_xx, start.f_data, start.curve())
    kernel_error = float(np.max(np.abs(kernel - trained.kernel_curve)))
    lin_error = float(np.max(np.abs(lin - trained.lin_curve)))
    assert kernel_error < 1e-9 and lin_error < 1e-9, f"recursion against closed form: {kernel_error:.2g}, {lin_error:.2g}"
    return {"kernel vs closed form": kernel_error, "linearisation vs closed form": lin_error}
