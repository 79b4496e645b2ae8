"""The $id level's claims, each checked at one point of its range (see [[claims]] in level.toml)."""

from pathlib import Path

from sandbox.testing import make_runner

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed


def check_stable_below_two(curvature: float, margin: float) -> dict:
    """Run at eta = margin * 2 / a: below 2 / a (margin < 1) the cloud converges, above it diverges."""
    lr = margin * 2.0 / curvature
    run = make_runner(HERE.name, {"lr": lr, "curvature": curvature}, levels_dir=HERE.parent)
    run.step(200)
    spread = float(abs(run.model.xs).max())
    converged = spread < 1e-3
    measured = {"eta * a": round(lr * curvature, 3), "spread after 200 steps": spread}
    assert converged == (margin < 1), f"eta * a = {lr * curvature:.2f}: the cloud {'converged' if converged else 'did not converge'}"
    return measured
