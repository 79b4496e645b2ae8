"""The mathematics of the matrix-as-a-map level, in plain numpy: nothing here draws or steps.

* A 2×2 matrix W acts on the plane: ``straight_path`` moves the plane from the identity to W,
  ``svd_path`` through W = U Σ Vᵀ one factor at a time (rotate, scale, rotate), ``compose_path``
  through one map and then another.
* ``kept_lines`` finds, by scanning every direction of the plane, the lines that W leaves on
  themselves (its real eigenvectors), with the factor each is stretched by, without calling an
  eigen-solver: the level's tests compare the two.
* ``signed_area`` is the shoelace formula: the image of the unit square has area det W, negative
  when the map flips the plane over.
* ``truncate`` keeps a matrix's top k singular values (Eckart-Young: the best rank-k
  approximation, its squared error the sum of the dropped σ²); ``picture`` and ``weight_update``
  are the two 64×64 matrices it is tried on.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

#: The entries of W range over [-ENTRY_RANGE, ENTRY_RANGE] (the manifest's w11 ... w22).
ENTRY_RANGE = 2.0
#: Side of the two low-rank matrices (the picture and the weight update).
SIZE = 64
#: The weight update is exactly this low-rank signal (its singular values) plus small noise.
UPDATE_SIGMAS = (8.0, 5.0, 3.0, 2.0)
UPDATE_NOISE = 0.03
#: The picture's grain: uniform noise of this amplitude, always from the same seed.
GRAIN, GRAIN_SEED = 0.02, 5
#: A direction counts as kept on its line when |x × Wx| / ‖W‖_F falls below this (x a unit vector).
LINE_TOLERANCE = 1e-9
#: Lines whose angles differ by less than this (radians) are one line.
SAME_LINE = 1e-6


def rotation(angle: float) -> np.ndarray:
    """The rotation of the plane by ``angle`` radians, counter-clockwise."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def rotation_degrees(degrees: float) -> np.ndarray:
    return rotation(math.radians(degrees))


#: Maps worth trying, as W (their columns are W e₁ and W e₂), each with what it shows.
PRESETS: dict[str, tuple[np.ndarray, str]] = {
    "identity": (np.eye(2), "nothing moves: every direction stays on its line"),
    "stretch": (np.array([[1.6, 0.0], [0.0, 0.6]]), "the axes stay on their lines, stretched by 1.6 and 0.6"),
    "shear": (np.array([[1.0, 0.8], [0.0, 1.0]]), "slides rows sideways: only the x-axis stays on its line"),
    "rotate 30°": (rotation_degrees(30.0), "every direction turns: no line stays put"),
    "reflect": (np.array([[0.0, 1.0], [1.0, 0.0]]), "flips over the diagonal: det = −1, the picture mirrored"),
    "squash flat": (np.array([[1.0, 0.5], [0.5, 0.25]]), "columns on one line: det = 0, the plane falls onto a line"),
}

#: The second map B of "two maps" mode, by name.
SECOND_MAPS: dict[str, np.ndarray] = {
    "rotate 90°": np.array([[0.0, -1.0], [1.0, 0.0]]),  # exact: cos 90° in floating point is 6e-17
    "shear": np.array([[1.0, 1.0], [0.0, 1.0]]),
    "stretch x by 2": np.array([[2.0, 0.0], [0.0, 1.0]]),
    "flip over y = x": np.array([[0.0, 1.0], [1.0, 0.0]]),
    "scale by 2": 2.0 * np.eye(2),
}

#: The unit square, counter-clockwise from the origin: its image has signed area det W.
UNIT_SQUARE = np.array([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)])


def _house() -> np.ndarray:
    """A house drawn in the unit square as line segments ``(n, 2, 2)``: the door on the left and the
    chimney on the right, so that a mirror image never looks like the original."""
    paths = [
        [(0.2, 0.05), (0.8, 0.05), (0.8, 0.55), (0.2, 0.55), (0.2, 0.05)],  # walls
        [(0.1, 0.55), (0.5, 0.92), (0.9, 0.55), (0.1, 0.55)],  # roof
        [(0.28, 0.05), (0.28, 0.36), (0.42, 0.36), (0.42, 0.05)],  # door, left of the middle
        [(0.55, 0.24), (0.71, 0.24), (0.71, 0.4), (0.55, 0.4), (0.55, 0.24)],  # window
        [(0.64, 0.758), (0.64, 0.87), (0.73, 0.87), (0.73, 0.675)],  # chimney, on the right slope
    ]
    return np.array([(a, b) for path in paths for a, b in itertools.pairwise(path)], dtype=np.float64)


#: The picture the plane carries: line segments inside the unit square.
HOUSE = _house()


def ease(x: float) -> float:
    """Smooth start and stop of an animation over ``x`` in [0, 1] (clipped)."""
    x = min(max(float(x), 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


# ------------------------------------------------------------------------------------------------
# Paths from the identity to W


def straight_path(W: np.ndarray, s: float) -> np.ndarray:
    """(1 − e) I + e W with e = ease(s): the plane slides straight from the identity to W. W's
    eigenvectors are eigenvectors of every matrix on the way (eigenvalue 1 − e + eλ), so the lines
    that W keeps stay put the whole way."""
    e = ease(s)
    return (1.0 - e) * np.eye(2) + e * np.asarray(W, np.float64)


def svd_factors(W: np.ndarray) -> tuple[float, float, float, float, float]:
    """W = R(φ) · diag(σ₁, ±σ₂) · R(θ)ᵀ: returns (θ, φ, σ₁, σ₂, sign).

    R(θ) = V and R(φ)·diag(1, sign) = U are the singular vectors of W = U Σ Vᵀ, with V made a
    rotation (a reflection, when det W < 0, is put in U as the sign of the second axis, so the
    animation flips that axis through zero) and the angles picked in (−90°, 90°] for V, the
    shorter way round.
    """
    U, S, Vt = np.linalg.svd(np.asarray(W, np.float64))
    V = Vt.T.copy()
    U = U.copy()
    if np.linalg.det(V) < 0:  # flip v₂ and u₂ together: U Σ Vᵀ is unchanged
        V[:, 1] *= -1.0
        U[:, 1] *= -1.0
    sign = 1.0
    if np.linalg.det(U) < 0:  # W flips the plane: keep U a rotation, put the flip into σ₂'s sign
        U[:, 1] *= -1.0
        sign = -1.0
    theta = math.atan2(V[1, 0], V[0, 0])
    phi = math.atan2(U[1, 0], U[0, 0])
    if abs(theta) > math.pi / 2:  # V → −V and U → −U: the same product, a shorter first turn
        theta -= math.copysign(math.pi, theta)
        phi -= math.copysign(math.pi, phi)
    return theta, phi, float(S[0]), float(S[1]), sign


def svd_path(W: np.ndarray, s: float, factors: tuple | None = None) -> np.ndarray:
    """The plane through W = U Σ Vᵀ one factor at a time, ``s`` in [0, 3]: over [0, 1] it turns by
    Vᵀ, over [1, 2] it scales the axes to σ₁ and ±σ₂, over [2, 3] it turns by U. At s = 3 it is W.
    ``factors``: W's :func:`svd_factors`, when already known."""
    theta, phi, s1, s2, sign = factors if factors is not None else svd_factors(W)
    a, b, c = ease(s), ease(s - 1.0), ease(s - 2.0)
    scale = np.diag([1.0 + b * (s1 - 1.0), 1.0 + b * (sign * s2 - 1.0)])
    return rotation(c * phi) @ scale @ rotation(-a * theta)


def compose_path(first: np.ndarray, second: np.ndarray, s: float) -> np.ndarray:
    """``first`` and then ``second``, ``s`` in [0, 2]: the plane slides to ``first`` over [0, 1] and
    on to ``second @ first`` over [1, 2]."""
    first, second = np.asarray(first, np.float64), np.asarray(second, np.float64)
    return straight_path(second, s - 1.0) @ straight_path(first, s)


# ------------------------------------------------------------------------------------------------
# What the map does to directions, lines and areas


def directions(samples: int) -> np.ndarray:
    """Unit vectors at ``samples`` angles spread over half a turn, [0, π): every line through the
    origin once. Returns (angles, vectors (samples, 2))."""
    angles = np.arange(samples) * math.pi / samples
    return angles, np.stack([np.cos(angles), np.sin(angles)], axis=1)


def direction_scan(W: np.ndarray, samples: int = 361) -> dict[str, np.ndarray]:
    """What W does to the unit vector x at each angle θ in [0°, 180°]: ``stretch`` |Wx| and ``turn``,
    the angle from x to Wx in degrees, in (−180, 180] (0 or 180 on a line W keeps; NaN where Wx = 0)."""
    angles = np.linspace(0.0, math.pi, samples)
    x = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    y = x @ np.asarray(W, np.float64).T
    stretch = np.linalg.norm(y, axis=1)
    turn = np.degrees(np.arctan2(x[:, 0] * y[:, 1] - x[:, 1] * y[:, 0], np.sum(x * y, axis=1)))
    scale = max(float(np.linalg.norm(W)), 1e-300)
    turn[stretch < 1e-12 * scale] = np.nan
    return {"degrees": np.degrees(angles), "stretch": stretch, "turn": turn}


def _off_line(W: np.ndarray, angle: float) -> float:
    """|x × Wx| / ‖W‖_F for the unit vector x at ``angle``: zero exactly on a line W keeps."""
    x = np.array([math.cos(angle), math.sin(angle)])
    y = W @ x
    return abs(x[0] * y[1] - x[1] * y[0]) / max(float(np.linalg.norm(W)), 1e-300)


def kept_lines(W: np.ndarray, samples: int = 720) -> list[tuple[float, float]] | None:
    """The lines through the origin that W maps onto themselves, found by scanning directions:
    [(angle in [0, π), factor λ with W x = λ x)], sorted by λ, largest first; None when every
    direction is kept (W is a multiple of the identity).

    The cross product x × Wx is zero exactly where Wx lies on x's line. Its local minima over
    ``samples`` directions are refined by golden-section search, and those that reach
    ``LINE_TOLERANCE`` are kept lines: a line W only touches (a shear's, a double root) is found
    as surely as one it crosses.
    """
    W = np.asarray(W, np.float64)
    scale = float(np.linalg.norm(W))
    angles, x = directions(samples)
    y = x @ W.T
    off = np.abs(x[:, 0] * y[:, 1] - x[:, 1] * y[:, 0]) / max(scale, 1e-300)
    if scale == 0.0 or np.all(off < LINE_TOLERANCE):
        return None
    # the scan is circular: the direction after the last (just under π) is the first again
    minima = np.nonzero((off <= np.roll(off, 1)) & (off <= np.roll(off, -1)))[0]
    step = math.pi / samples
    found: list[float] = []
    for i in minima:
        lo, hi = angles[i] - step, angles[i] + step
        golden = (math.sqrt(5.0) - 1.0) / 2.0
        a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
        fa, fb = _off_line(W, a), _off_line(W, b)
        for _ in range(60):  # 0.618⁶⁰ of a sample's width: below 1e-14 radians
            if fa < fb:
                hi, b, fb = b, a, fa
                a = hi - golden * (hi - lo)
                fa = _off_line(W, a)
            else:
                lo, a, fa = a, b, fb
                b = lo + golden * (hi - lo)
                fb = _off_line(W, b)
        best = a if fa < fb else b
        if min(fa, fb) < LINE_TOLERANCE:
            best %= math.pi
            if all(min(abs(best - f), math.pi - abs(best - f)) > SAME_LINE for f in found):
                found.append(best)
    lines = []
    for angle in found:
        x = np.array([math.cos(angle), math.sin(angle)])
        lines.append((angle, float(x @ W @ x)))  # W x = λ x on the line, so λ = x · W x
    return sorted(lines, key=lambda line: -line[1])


#: Named lines through the origin (angle in degrees) for the challenges' answers.
NAMED_LINES = {0.0: "x-axis", 90.0: "y-axis", 45.0: "diagonal", 135.0: "anti-diagonal"}
#: How far (degrees) a kept line may be from a named one and still be called by its name.
NAME_TOLERANCE = 0.01


def describe_lines(lines: list[tuple[float, float]] | None) -> str:
    """The kept lines in the words of the challenges: "none", "only the x-axis", "the x- and
    y-axes", "the two diagonals", "every direction", or "other lines"."""
    if lines is None:
        return "every direction"
    names = set()
    for angle, _ in lines:
        degrees = math.degrees(angle) % 180.0
        name = next((n for a, n in NAMED_LINES.items()
                     if min(abs(degrees - a), 180.0 - abs(degrees - a)) < NAME_TOLERANCE), "other")
        names.add(name)
    return {frozenset(): "none", frozenset({"x-axis"}): "only the x-axis",
            frozenset({"x-axis", "y-axis"}): "the x- and y-axes",
            frozenset({"diagonal", "anti-diagonal"}): "the two diagonals"}.get(frozenset(names), "other lines")


def signed_area(polygon: np.ndarray) -> float:
    """The shoelace formula: the area of a polygon, positive when its corners run counter-clockwise."""
    p = np.asarray(polygon, np.float64)
    q = np.roll(p, -1, axis=0)
    return 0.5 * float(np.sum(p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]))


def ellipse(W: np.ndarray, points: int = 121) -> np.ndarray:
    """The image of the unit circle under W: ``(points, 2)``, a closed polyline."""
    t = np.linspace(0.0, 2.0 * math.pi, points)
    return np.stack([np.cos(t), np.sin(t)], axis=1) @ np.asarray(W, np.float64).T


# ------------------------------------------------------------------------------------------------
# Low rank


def picture(size: int = SIZE) -> np.ndarray:
    """A grey-level picture, ``size`` × ``size`` in [0, 1], row 0 at the top: a sky that darkens
    upward, a sun, a hill with a curved edge and a house, with a faint grain. Curves and diagonals
    need many singular values; the flat sky needs few."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1.0)
    image = 0.25 + 0.35 * (1.0 - y)
    image = np.where((x - 0.75) ** 2 + (y - 0.22) ** 2 < 0.11 ** 2, 1.0, image)  # the sun
    image = np.where(y > 0.62 + 0.18 * np.sin(3.0 * x + 0.4), 0.45, image)  # the hill
    image = np.where((x > 0.18) & (x < 0.5) & (y > 0.5) & (y < 0.82), 0.85, image)  # the walls
    image = np.where((y <= 0.5) & (y > 0.3) & (np.abs(x - 0.34) < (y - 0.3) * 0.9), 0.15, image)  # the roof
    image = np.where((x > 0.3) & (x < 0.38) & (y > 0.64) & (y < 0.82), 0.1, image)  # the door
    # a faint grain, as any photograph has: without it the flat areas make the picture exactly rank 33
    grain = np.random.default_rng(GRAIN_SEED).uniform(-GRAIN, GRAIN, image.shape)
    return np.clip(image + grain, 0.0, 1.0)


def weight_update(seed: int, size: int = SIZE) -> np.ndarray:
    """A stand-in for a fine-tuning update ΔW, ``size`` × ``size``: a rank-4 matrix with singular
    values ``UPDATE_SIGMAS`` along random orthonormal directions, plus Gaussian noise of standard
    deviation ``UPDATE_NOISE`` in every entry. Low rank by construction (see the README's boundary)."""
    rng = np.random.default_rng(seed)
    left, _ = np.linalg.qr(rng.normal(size=(size, size)))
    right, _ = np.linalg.qr(rng.normal(size=(size, size)))
    rank = len(UPDATE_SIGMAS)
    signal = (left[:, :rank] * np.asarray(UPDATE_SIGMAS)) @ right[:, :rank].T
    return signal + UPDATE_NOISE * rng.normal(size=(size, size))


def truncate(factors: tuple[np.ndarray, np.ndarray, np.ndarray], k: int) -> np.ndarray:
    """A_k = Σᵢ≤k σᵢ uᵢ vᵢᵀ from the SVD ``factors`` (U, σ, Vᵀ) of A: its best rank-k approximation."""
    U, S, Vt = factors
    return (U[:, :k] * S[:k]) @ Vt[:k]


def lora_factors(factors: tuple[np.ndarray, np.ndarray, np.ndarray], r: int) -> tuple[np.ndarray, np.ndarray]:
    """B (d × r) and A (r × d) with B A = the rank-r truncation: B = U_r Σ_r, A = V_rᵀ."""
    U, S, Vt = factors
    return U[:, :r] * S[:r], Vt[:r].copy()


def lora_counts(d: int, r: int) -> tuple[int, int]:
    """The numbers LoRA trains for a d × d layer at rank r, 2dr (B is d × r, A is r × d), and the
    numbers of the full update, d²."""
    return 2 * d * r, d * d
