"""The phase diagram of two features in one dimension (Elhage et al. 2022, section 'Phase change').

Every cell of a grid (density of the features against the importance of the second relative to the
first) is trained, several seeds each, as instances of one :class:`.toy.ToyModels` run; the cell
shows what the best seed by loss does with its single dimension: keep feature 1, keep feature 2,
or both, pointing opposite ways (antipodal: superposition). Training the grid takes about half a
minute, so the level ships the result, ``phase.npz``, made by::

    python levels/superposition/phase.py

and a claim retrains some cells and finds the stored verdicts again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

if __name__ == "__main__" and not __package__:  # run as a script: import it in the level's package, as the game does
    from sandbox.kernels import run_level_script

    run_level_script(__file__)
    raise SystemExit(0)

from .toy import KEPT_NORM, ToyModels, expected_loss

HERE = Path(__file__).resolve().parent
STORED = HERE / "phase.npz"
#: The grid: density (1 − S) and the second feature's relative importance, both log-spaced.
DENSITIES = np.logspace(-2, 0, 9)
RATIOS = np.logspace(-1, 1, 9)
SEEDS = 3
STEPS = 4000
LR = 1e-2
#: The solutions a cell can land on, in the order of the stored codes.
PHASES = ("feature 1 only", "feature 2 only", "both, antipodal", "both, same side", "neither")


def classify(w: np.ndarray) -> int:
    """The code (index in PHASES) of a 1×2 embedding W."""
    a, c = float(w[0]), float(w[1])
    one, two = abs(a) > KEPT_NORM, abs(c) > KEPT_NORM
    if one and two:
        return 2 if a * c < 0 else 3
    return 0 if one else 1 if two else 4


def keep_one_loss(density, other_importance):
    """The loss of keeping one feature exactly and the other as a constant bias (its mean, p/2):
    the other's importance times the variance of a feature, p/3 − p²/4."""
    p = np.asarray(density, np.float64)
    return np.asarray(other_importance, np.float64) * (p / 3.0 - p * p / 4.0)


def cell_params(densities, ratios) -> tuple[np.ndarray, np.ndarray]:
    """(density per instance, importance rows (1, r)) for every (density, ratio) pair × SEEDS, in
    the order density-major, then ratio, then seed."""
    d, r = np.meshgrid(densities, ratios, indexing="ij")
    d = np.repeat(d.reshape(-1), SEEDS)
    r = np.repeat(r.reshape(-1), SEEDS)
    return d, np.stack([np.ones_like(r), r], axis=1)


def train_cells(densities, ratios, seed: int = 0, steps: int = STEPS):
    """Train every cell; returns (codes (D, R), best losses (D, R), W of the best seed (D, R, 2), b (D, R, 2))."""
    density, importance = cell_params(densities, ratios)
    toys = ToyModels(2, 1, len(density), density, importance, seed=seed, lr=LR)
    toys.train(steps)
    loss = expected_loss(toys.W, toys.b, importance, density, np.random.default_rng([seed, 99]), batch=16384)
    shape = (len(densities), len(ratios), SEEDS)
    loss = loss.reshape(shape)
    best = np.argmin(loss, axis=2)
    W = toys.W[:, 0, :].reshape(*shape, 2)
    b = toys.b.reshape(*shape, 2)
    pick = np.take_along_axis
    W_best = pick(W, best[..., None, None], axis=2)[:, :, 0]
    b_best = pick(b, best[..., None, None], axis=2)[:, :, 0]
    codes = np.array([[classify(w) for w in row] for row in W_best])
    return codes, pick(loss, best[..., None], axis=2)[..., 0], W_best, b_best


def load() -> dict[str, np.ndarray]:
    """The stored grid: densities, ratios, codes, losses, W, b."""
    with np.load(STORED) as data:
        return {k: data[k] for k in data.files}


def main(argv=None) -> None:
    import time

    start = time.perf_counter()
    codes, loss, W, b = train_cells(DENSITIES, RATIOS)
    np.savez_compressed(STORED, densities=DENSITIES, ratios=RATIOS, codes=codes, losses=loss.astype(np.float32),
                        W=W.astype(np.float32), b=b.astype(np.float32))
    print(f"trained {codes.size} cells × {SEEDS} seeds in {time.perf_counter() - start:.1f} s -> {STORED.name}")
    for i, d in enumerate(DENSITIES):
        print(f"density {d:6.3f}: " + " ".join("12AS."[c] for c in codes[i]))

