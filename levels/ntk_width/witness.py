"""A wide one-layer ReLU net in the NTK parameterisation trains lazily: its weights move as 1/√width."""
import numpy as np

x = np.linspace(-1, 1, 6)
y = np.sin(3 * x)
Z = np.stack([x, np.ones_like(x)], 1)  # the input and a bias input 1


def analytic_ntk(A, B):  # arc-cosine closed form of one ReLU layer
    na, nb = np.linalg.norm(A, axis=1)[:, None], np.linalg.norm(B, axis=1)[None, :]
    cos = np.clip(A @ B.T / (na * nb), -1, 1)
    phi = np.arccos(cos)
    return na * nb * (np.sin(phi) + (np.pi - phi) * cos) / (2 * np.pi) + (A @ B.T) * (np.pi - phi) / (2 * np.pi)


def train(n, seed, steps=400, lr=1.0):
    rng = np.random.default_rng(seed)
    w_half, a_half = rng.normal(size=(n // 2, 2)), rng.normal(size=n // 2)
    W, a = np.concatenate([w_half, w_half]), np.concatenate([a_half, -a_half])  # twins: f starts at 0
    W0, a0 = W.copy(), a.copy()
    for _ in range(steps):
        P = Z @ W.T
        r = (np.maximum(P, 0) @ a / np.sqrt(n) - y) / len(x)
        grad_a = np.maximum(P, 0).T @ r / np.sqrt(n)
        grad_W = a[:, None] * ((P > 0) * r[:, None]).T @ Z / np.sqrt(n)
        a, W = a - lr * grad_a, W - lr * grad_W
    change = np.sqrt(np.sum((W - W0) ** 2) + np.sum((a - a0) ** 2)) / np.sqrt(np.sum(W0 ** 2) + np.sum(a0 ** 2))
    P = Z @ W.T
    kernel = (np.maximum(P, 0) @ np.maximum(P, 0).T + (Z @ Z.T) * (((P > 0) * a * a) @ (P > 0).T)) / n
    return change, np.linalg.norm(kernel - analytic_ntk(Z, Z)) / np.linalg.norm(analytic_ntk(Z, Z))


widths = [1024, 4096, 16384]
changes = [np.mean([train(n, s)[0] for s in range(3)]) for n in widths]
slope = np.polyfit(np.log(widths), np.log(changes), 1)[0]
print("relative weight change:", [f"{c:.2%}" for c in changes], f"slope {slope:.2f}")
assert -0.62 < slope < -0.38  # 1/sqrt(width)
errors = [train(n, 0, steps=0)[1] for n in widths]
print("kernel error at the start:", [f"{e:.3f}" for e in errors])
assert errors[-1] < 0.05 and errors[-1] < errors[0]
