"""Newton-Schulz: X ← aX + b(XXᵀ)X + c(XXᵀ)²X drives every singular value toward 1, without an SVD."""
import numpy as np

rng = np.random.default_rng(0)
n = 48
u, _ = np.linalg.qr(rng.standard_normal((n, n)))
v, _ = np.linalg.qr(rng.standard_normal((n, n)))
sigma = np.geomspace(1.0, 1e-2, n)  # a gradient-like spectrum: condition number 100
G = (u * sigma) @ v.T
polar = u @ v.T  # the exact answer, U Vᵀ, for comparison


def newton_schulz(X, a, b, c, steps):
    X = X / np.linalg.norm(X)  # Frobenius norm: every singular value now in [0, 1]
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X


cubic = newton_schulz(G, 1.5, -0.5, 0.0, 20)
print(f"cubic, 20 steps: ‖X − UVᵀ‖_F / √n = {np.linalg.norm(cubic - polar) / np.sqrt(n):.2e}")
assert np.allclose(cubic, polar, atol=1e-6)  # it converges to the polar factor

quintic = newton_schulz(G, 3.4445, -4.7750, 2.0315, 5)  # Muon's coefficients, 5 steps
s = np.linalg.svd(quintic, compute_uv=False)
print(f"quintic, 5 steps: singular values in [{s.min():.3f}, {s.max():.3f}]  (not exactly 1)")
assert 0.68 <= s.min() and s.max() <= 1.21

# Each step maps every singular value through p(σ) = aσ + bσ³ + cσ⁵, singular vectors unchanged:
p = lambda x: 3.4445 * x - 4.7750 * x**3 + 2.0315 * x**5
scalar = sigma / np.linalg.norm(sigma)
for _ in range(5):
    scalar = p(scalar)
assert np.allclose(np.sort(scalar)[::-1], s, atol=1e-9)
print("the matrix iteration is the scalar map on each singular value: confirmed")
