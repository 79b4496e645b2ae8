"""The Matrix as a Map's claims, each checked at one point of its range (see [[claims]] in level.toml).

The checks run the level's own model (through the runner, as the app does) and its maps module,
and compare what the level shows with an independent computation: numpy's eigen-solver and SVD,
the shoelace formula, matrix products, competing low-rank matrices.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sandbox.manifest import load_manifest
from sandbox.testing import make_runner

from .maps import (
    HOUSE,
    PRESETS,
    SECOND_MAPS,
    UNIT_SQUARE,
    compose_path,
    ease,
    kept_lines,
    lora_counts,
    lora_factors,
    picture,
    rotation,
    rotation_degrees,
    signed_area,
    straight_path,
    svd_factors,
    svd_path,
    truncate,
    weight_update,
)
from .model import WEIGHT_UPDATE

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed


def challenge_maps() -> list[np.ndarray]:
    """The W of every challenge that sets one, from the manifest."""
    out = []
    for challenge in load_manifest(HERE).challenges.values():
        entries = [challenge.set.get(name) for name in ("w11", "w12", "w21", "w22")]
        if all(e is not None for e in entries):
            out.append(np.array(entries, dtype=np.float64).reshape(2, 2))
    return out


def matrices(name: str) -> list[np.ndarray]:
    """The 2×2 matrices a claim is checked on: ``presets`` (the panel's buttons and the default),
    ``challenges``, ``random`` (entries uniform over the sliders' range), ``rotations`` (scaled, by
    every 15° but 0° and 180°), ``shears`` (λI plus a nilpotent part, both ways), ``symmetric``."""
    rng = np.random.default_rng(sum(map(ord, name)))
    if name == "presets":
        default = load_manifest(HERE).params
        W = np.array([[default[n].default for n in ("w11", "w12")], [default[n].default for n in ("w21", "w22")]])
        return [matrix for matrix, _ in PRESETS.values()] + [W]
    if name == "challenges":
        return challenge_maps()
    if name == "random":
        return list(rng.uniform(-2.0, 2.0, size=(200, 2, 2)))
    if name == "rotations":
        return [scale * rotation_degrees(angle) for angle in range(15, 360, 15) if angle != 180
                for scale in (0.5, 1.0, 1.7)]
    if name == "shears":
        out = []
        for lam in (-1.5, -0.5, 0.0, 1.0, 1.8):
            for push in (-1.2, 0.3, 1.0):
                out += [np.array([[lam, push], [0.0, lam]]), np.array([[lam, 0.0], [push, lam]])]
        return out
    if name == "symmetric":
        out = []
        for _ in range(100):
            a, b, d = rng.uniform(-2.0, 2.0, 3)
            out.append(np.array([[a, b], [b, d]]))
        return out
    raise ValueError(f"unknown family {name!r}")


def _is_scalar(W: np.ndarray) -> bool:
    return float(np.max(np.abs(W - 0.5 * np.trace(W) * np.eye(2)))) < 1e-12


def check_kept_lines_are_eigenvectors(family: str) -> dict:
    """Scan against eigen-solver: the same lines, the same factors, and the counts the level states."""
    counts = {"two lines": 0, "one line": 0, "none": 0, "every direction": 0}
    worst = 0.0
    for W in matrices(family):
        lines, values = kept_lines(W), np.linalg.eigvals(W)
        scale = max(float(np.linalg.norm(W)), 1e-300)
        if _is_scalar(W):
            assert lines is None, f"W = {W.tolist()} is a multiple of I, yet the scan found only {lines}"
            counts["every direction"] += 1
            continue
        assert lines is not None, f"W = {W.tolist()} is not a multiple of I, yet every direction was kept"
        if abs(values[0].imag) > 1e-9 * scale:
            assert lines == [], f"W = {W.tolist()} has complex eigenvalues {values}, yet keeps {lines}"
            counts["none"] += 1
            continue
        real = np.sort(values.real)[::-1]
        vectors = np.linalg.eig(W)[1]
        distinct = abs(real[0] - real[1]) > 1e-6 * scale
        assert len(lines) == (2 if distinct else 1), f"W = {W.tolist()}: λ = {real}, but the scan kept {len(lines)}"
        counts["two lines" if distinct else "one line"] += 1
        for angle, factor in lines:
            v = np.array([math.cos(angle), math.sin(angle)])
            assert np.min(np.abs(real - factor)) < 1e-6 * scale, f"W = {W.tolist()}: factor {factor} is no eigenvalue {real}"
            residual = float(np.linalg.norm(W @ v - factor * v)) / scale
            worst = max(worst, residual)
            assert residual < 1e-8, f"W = {W.tolist()}: W v − λ v = {residual:.2g} on the line at {math.degrees(angle):.3f}°"
            if distinct:  # the solver's eigenvector for this λ lies on the same line
                u = vectors[:, int(np.argmin(np.abs(values.real - factor)))].real
                assert abs(abs(float(u @ v)) / np.linalg.norm(u) - 1) < 1e-8
    if family == "rotations":
        assert counts["none"] == len(matrices(family)), "a rotation kept a line"
    if family == "shears":
        assert counts["one line"] == len(matrices(family)), "a shear kept other than one line"
    return {**counts, "largest |Wv − λv| / ‖W‖": float(f"{worst:.2g}")}


def check_lines_stay_put_on_the_way(family: str) -> dict:
    """Along (1 − e)I + eW every kept line keeps its direction (factor 1 − e + eλ); others turn."""
    checked = 0
    for W in matrices(family):
        lines = kept_lines(W)
        if lines is None:
            continue
        for s in np.linspace(0.05, 1.0, 12):
            M = straight_path(W, s)
            e = ease(s)
            for angle, factor in lines:
                v = np.array([math.cos(angle), math.sin(angle)])
                expected = 1.0 - e + e * factor
                assert np.linalg.norm(M @ v - expected * v) < 1e-9, \
                    f"W = {W.tolist()}, s = {s:.2f}: the line at {math.degrees(angle):.2f}° left itself"
            on_the_way = kept_lines(M)
            if on_the_way is not None:
                assert len(on_the_way) == len(lines), f"W = {W.tolist()}, s = {s:.2f}: {on_the_way} against {lines}"
            checked += 1
    assert checked, "no matrix of this family keeps a line"
    return {"matrices × stages checked": checked}


def check_svd_is_rotate_scale_rotate(family: str) -> dict:
    """The three factors multiply back to W; the path's stages are a turn, a stretch, a turn; the
    unit circle's image is the ellipse with semi-axes σᵢuᵢ."""
    worst_path = worst_ellipse = 0.0
    angles = np.linspace(0.0, 2 * math.pi, 3601)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    for W in matrices(family):
        theta, phi, s1, s2, sign = svd_factors(W)
        scale = max(float(np.linalg.norm(W)), 1e-300)
        worst_path = max(worst_path, float(np.max(np.abs(svd_path(W, 3.0) - W))) / scale)
        turn = svd_path(W, 1.0)
        assert np.allclose(turn, rotation(-theta), atol=1e-12), "stage 1 is not the turn by Vᵀ"
        assert np.allclose(rotation(phi) @ np.diag([s1, sign * s2]) @ rotation(-theta), W, atol=1e-12 * max(scale, 1.0))
        stretched = svd_path(W, 2.0) @ turn.T
        assert np.allclose(stretched, np.diag([s1, sign * s2]), atol=1e-12), "stage 2 is not a stretch of the axes"
        assert s1 >= s2 >= 0 and np.allclose([s1, s2], np.linalg.svd(W, compute_uv=False), rtol=1e-12, atol=1e-12)
        assert sign == (1.0 if np.linalg.det(W) >= 0 else -1.0) or s2 < 1e-12, "the flip is not where det < 0"
        image = circle @ W.T
        lengths = np.linalg.norm(image, axis=1)
        assert lengths.max() <= s1 * (1 + 1e-12) + 1e-15 and lengths.min() >= s2 * (1 - 1e-12) - 1e-15
        assert lengths.max() >= s1 * (1 - 1e-5) and lengths.min() <= s2 + s1 * 1e-3  # samples 0.1° apart
        assert abs(s1 * s2 - abs(np.linalg.det(W))) <= 1e-12 * max(scale * scale, 1.0)
        if s2 > 1e-9 * scale:  # (u₁·y/σ₁)² + (u₂·y/σ₂)² = 1 on the image
            U = np.linalg.svd(W)[0]
            on = (image @ U[:, 0] / s1) ** 2 + (image @ U[:, 1] / s2) ** 2
            worst_ellipse = max(worst_ellipse, float(np.max(np.abs(on - 1.0))))
    assert worst_path < 1e-12 and worst_ellipse < 1e-9
    return {"matrices": len(matrices(family)), "largest |U Σ Vᵀ − W| / ‖W‖": float(f"{worst_path:.2g}"),
            "largest ellipse residual": float(f"{worst_ellipse:.2g}")}


def check_det_is_signed_area(family: str) -> dict:
    """Shoelace on the square's image and on a star-shaped polygon against det W; the sign of the
    area against the orientation of the image of e₁, e₂; a zero det squashes onto a line."""
    rng = np.random.default_rng(7)
    angles = np.sort(rng.uniform(0, 2 * math.pi, 40))
    star = np.stack([np.cos(angles), np.sin(angles)], axis=1) * rng.uniform(0.3, 1.5, (40, 1))
    mirrored = flat = 0
    for W in matrices(family):
        det = float(np.linalg.det(W))
        scale = max(float(np.linalg.norm(W)) ** 2, 1e-300)
        square = signed_area(UNIT_SQUARE @ W.T)
        assert abs(square - det) < 1e-12 * max(scale, 1.0), f"W = {W.tolist()}: area {square} against det {det}"
        assert abs(signed_area(star @ W.T) - det * signed_area(star)) < 1e-10 * max(scale, 1.0)
        turn = W[0, 0] * W[1, 1] - W[1, 0] * W[0, 1]  # W e₁ × W e₂: negative when clockwise
        assert (det < 0) == (turn < 0)
        mirrored += det < -1e-12
        if abs(det) < 1e-12:
            flat += 1
            picture_image = HOUSE.reshape(-1, 2) @ W.T
            assert np.linalg.matrix_rank(picture_image, tol=1e-9 * max(scale, 1.0)) <= 1, "det 0 but not on a line"
    return {"matrices": len(matrices(family)), "mirrored": int(mirrored), "flattened": flat}


def _combination_of(B: np.ndarray, W: np.ndarray) -> bool:
    """Whether B = aI + bW for some a, b (W not a multiple of I): for 2×2 matrices, exactly when they commute."""
    basis = np.stack([np.eye(2).ravel(), W.ravel()], axis=1)
    coefficients = np.linalg.lstsq(basis, B.ravel(), rcond=None)[0]
    return float(np.linalg.norm(basis @ coefficients - B.ravel())) < 1e-9 * max(float(np.linalg.norm(B)), 1.0)


def check_order_matters(second: str) -> dict:
    """The animations end at BW and WB; they differ unless B is a combination of I and W; det agrees."""
    B = SECOND_MAPS[second]
    maps = matrices("presets") + challenge_maps() + matrices("random")[:60]
    same = different = 0
    for W in maps:
        BW, WB = B @ W, W @ B
        assert np.allclose(compose_path(W, B, 2.0), BW, atol=1e-12), "W then B did not end at BW"
        assert np.allclose(compose_path(B, W, 2.0), WB, atol=1e-12), "B then W did not end at WB"
        assert abs(np.linalg.det(BW) - np.linalg.det(WB)) < 1e-12 and \
            abs(np.linalg.det(BW) - np.linalg.det(B) * np.linalg.det(W)) < 1e-12
        commute = float(np.max(np.abs(BW - WB))) < 1e-12
        expected = _is_scalar(W) or _combination_of(B, W)
        assert commute == expected, f"B = {second}, W = {W.tolist()}: commute {commute}, share eigenvectors {expected}"
        if second == "scale by 2":
            assert commute, "a multiple of the identity commutes with everything"
        same += commute
        different += not commute
    if second == "rotate 90°":  # the README's two examples: a squash against a turn, two turns
        assert not np.allclose(B @ np.diag([1.0, 0.5]), np.diag([1.0, 0.5]) @ B)
        assert np.allclose(B @ rotation_degrees(30.0), rotation_degrees(30.0) @ B, atol=1e-15)
    if second == "shear":
        stretch = SECOND_MAPS["stretch x by 2"]
        assert not np.allclose(B @ stretch, stretch @ B), "a shear and a stretch commuted"
    return {"pairs that commute": same, "pairs that do not": different}


def _matrix(name: str, seed: int = 0) -> np.ndarray:
    return weight_update(seed) if name == WEIGHT_UPDATE else picture()


def check_eckart_young(matrix: str, k: int) -> dict:
    """The level's rebuilt matrix against the tail of σ², and competitors of rank k that do no better."""
    run = make_runner(HERE.name, {"mode": "low rank", "matrix": matrix, "k": k}, levels_dir=HERE.parent)
    run.step(k * 5 + 5)
    A = run.model.matrix()
    U, S, Vt = np.linalg.svd(A)
    best = math.sqrt(float(np.sum(S[k:] ** 2)))
    A_k = truncate((U, S, Vt), k)
    assert np.linalg.matrix_rank(A_k) == k
    assert abs(run.series("error_norm")[-1] - best) < 1e-10 * np.linalg.norm(A), "the level's error is not the σ² tail"
    assert abs(np.linalg.norm(A - A_k, 2) - S[k]) < 1e-10 * S[0], "the spectral error is not σ_{k+1}"
    rng = np.random.default_rng(k)
    closest = math.inf
    for _ in range(200):  # project onto random k-dimensional subspaces, of rows or of columns
        Q, _ = np.linalg.qr(rng.normal(size=(A.shape[1], k)))
        closest = min(closest, float(np.linalg.norm(A - A @ Q @ Q.T)), float(np.linalg.norm(A - Q @ Q.T @ A)))
    als = []
    for start in range(3):  # alternating least squares for X Y, from random starts
        Y = np.random.default_rng(100 + start).normal(size=(k, A.shape[1]))
        for _ in range(60):
            X = np.linalg.lstsq(Y.T, A.T, rcond=None)[0].T
            Y = np.linalg.lstsq(X, A, rcond=None)[0]
        als.append(float(np.linalg.norm(A - X @ Y)))
    assert closest >= best * (1 - 1e-12), f"a random subspace got {closest} below {best}"
    assert min(als) >= best * (1 - 1e-9), f"alternating least squares got {min(als)} below {best}"
    return {"‖A − A_k‖_F": round(best, 6), "σ_{k+1}": round(float(S[k]), 6),
            "best random subspace": round(closest, 4), "alternating least squares": round(min(als), 6)}


#: The shares the README and the math card state, (matrix, k) → share, with the tolerance of their rounding.
STATED_SHARES = {("picture", 1): 0.93, (WEIGHT_UPDATE, 2): 0.84, (WEIGHT_UPDATE, 4): 0.97}
STATED_SIGMA_SUM = {(WEIGHT_UPDATE, 2): 0.44}
STATED_MEAN_SHARE = 0.90  # a constant picture of the picture's average brightness


def check_kept_share_is_the_top_sigma_squares(matrix: str, seed: int) -> dict:
    """Every k's kept share, from the level's rebuilt matrix, against the σ² formula; the stated numbers."""
    run = make_runner(HERE.name, {"mode": "low rank", "matrix": matrix, "k": 64}, seed=seed, levels_dir=HERE.parent)
    model = run.model
    S = np.linalg.svd(model.matrix(), compute_uv=False)
    formula = np.cumsum(S ** 2) / np.sum(S ** 2)
    run.step(64 * 5)
    shares = run.series("kept_share")
    ranks = run.series("rank").astype(int)
    assert ranks[-1] == 64 and np.all(np.diff(ranks) >= 0), "the build-up did not reach every rank in order"
    assert np.allclose(shares, formula[ranks - 1], atol=1e-12), "a recorded share is not the top σ² over all σ²"
    measured = {"k = 1": round(float(formula[0]), 4), "k = 2": round(float(formula[1]), 4),
                "k = 4": round(float(formula[3]), 4)}
    for (name, k), stated in STATED_SHARES.items():
        if name == matrix:
            assert abs(formula[k - 1] - stated) < 0.01, f"{name}, k = {k}: {formula[k - 1]:.4f}, stated about {stated}"
    for (name, k), stated in STATED_SIGMA_SUM.items():
        if name == matrix:
            by_sum = float(np.sum(S[:k]) / np.sum(S))
            measured[f"adding σ's, k = {k}"] = round(by_sum, 4)
            assert abs(by_sum - stated) < 0.01, f"adding σ's at k = {k}: {by_sum:.4f}, stated about {stated}"
    if matrix == "picture":
        A = model.matrix()
        mean_share = float(A.mean() ** 2 * A.size / np.sum(A ** 2))
        measured["a flat picture of its mean"] = round(mean_share, 4)
        assert abs(mean_share - STATED_MEAN_SHARE) < 0.005, f"a flat picture keeps {mean_share:.4f}, stated {STATED_MEAN_SHARE}"
    return measured


def check_lora_counts(d: int, r: int) -> dict:
    """2dr against d²; for d = 64 (the level's update), B and A built and multiplied."""
    trained, full = lora_counts(d, r)
    assert trained == 2 * d * r and full == d * d
    if (d, r) == (4096, 8):
        assert (trained, full, full // trained) == (65_536, 16_777_216, 256), "the seed's example"
    measured = {"2dr": trained, "d²": full, "times fewer": round(full / trained, 3)}
    if d == 64:
        A = weight_update(0)
        factors = np.linalg.svd(A)
        B, A_factor = lora_factors(factors, r)
        assert B.shape == (d, r) and A_factor.shape == (r, d) and B.size + A_factor.size == trained
        assert np.allclose(B @ A_factor, truncate(factors, r), atol=1e-12), "BA is not the rank-r copy"
        measured["‖ΔW − BA‖²_F / ‖ΔW‖²_F"] = round(float(np.sum((A - B @ A_factor) ** 2) / np.sum(A ** 2)), 4)
    return measured
