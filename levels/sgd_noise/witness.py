"""Mini-batch noise is σ²/|B| (times (N−|B|)/(N−1) without replacement); it shakes SGD out of a sharp
well; step sizes must shrink like 1/t; Adam's first step is η·sign(g) at any scale."""
import numpy as np

rng = np.random.default_rng(0)
N = 64
x = rng.uniform(-1, 1, N)
y = 1.5 * x - 0.5 + rng.normal(0, 0.5, N)
F = np.stack([x, np.ones(N)], 1)
grads = ((F @ [-1.0, 1.5]) - y)[:, None] * F          # every example's gradient at one point
full, sigma2 = grads.mean(0), ((grads - grads.mean(0)) ** 2).sum(1).mean()
for b in (1, 4, 16, 32):
    for replace in (True, False):
        idx = rng.integers(0, N, (20000, b)) if replace else np.argsort(rng.random((20000, N)), 1)[:, :b]
        g = grads[idx].mean(1)
        var = ((g - full) ** 2).sum(1).mean()
        theory = sigma2 / b * (1 if replace else (N - b) / (N - 1))
        print(f"|B| = {b:2d} {'with' if replace else 'without'}: variance {var:.4f}, theory {theory:.4f}")
        assert abs(g.mean(0) - full).max() < 0.05 and abs(var / theory - 1) < 0.05

# two wells: a narrow one at x = -1 and a wide one at x = +1; each example is the landscape shifted
s = rng.normal(0, 0.3, (N, 2))
s -= s.mean(0)
def grad0(u):
    a, c = u - [-1.0, 0.0], u - [1.0, 0.0]
    es = 1.8 * np.exp(-(a * a).sum(-1, keepdims=True) / 0.08) / 0.04
    ef = np.exp(-(c * c).sum(-1, keepdims=True) / 1.28) / 0.64
    return 0.1 * u + es * a + ef * c
for b, lr in ((1, 0.1), (64, 0.1), (1, 0.01)):
    theta = np.array([-0.9, 0.0]) + rng.normal(0, 0.12, (128, 2))
    for _ in range(600):
        idx = np.argsort(rng.random((128, N)), 1)[:, :b]
        theta = theta - lr * grad0(theta[:, None] - s[idx]).mean(1)
    flat = (theta[:, 0] > -0.33).mean()
    print(f"|B| = {b:2d}, eta = {lr}: {flat:.0%} of runs end in the flat well")
    assert (flat > 0.9) if (b, lr) == (1, 0.1) else (flat < 0.05)

# Robbins-Monro: with |B| = 1, a constant step hovers, 1/t converges, 1/t^2 stalls
H = F.T @ F / N
best = np.linalg.solve(H, F.T @ y / N)
ends = {}
for name, eta in (("constant", lambda t: 0.1), ("1/t", lambda t: 0.1 / (1 + t / 50)),
                  ("1/t^2", lambda t: 0.1 / (1 + t / 50) ** 2)):
    theta = np.tile([-1.0, 1.5], (48, 1))
    for t in range(10000):
        i = rng.integers(0, N, 48)
        theta = theta - eta(t) * ((theta * F[i]).sum(1) - y[i])[:, None] * F[i]
    ends[name] = float(np.sqrt(((theta - best) ** 2).sum(1).mean()))
print("distance to the optimum after 10,000 steps:", {k: round(v, 4) for k, v in ends.items()})
assert ends["1/t"] < ends["constant"] / 5 and ends["1/t^2"] > 10 * ends["1/t"]

# Adam's first step: m1/(1-b1) = g, v1/(1-b2) = g^2, so the step is lr * g / (|g| + eps)
for scale in (1e-4, 1.0, 1e4):
    g = scale * full
    m, v = 0.1 * g, 0.001 * g * g
    step = 0.05 * (m / 0.1) / (np.sqrt(v / 0.001) + 1e-8)
    print(f"loss x {scale:g}: Adam's first step / lr = {np.abs(step).max() / 0.05:.6f}")
    assert np.allclose(np.abs(step) / 0.05, 1, atol=1e-3)
