"""Superposition in a toy model: 5 features, 2 dimensions, x' = ReLU(WᵀWx + b), trained by AdamW.

Dense features: the 2 most important kept, at right angles. Sparse: all 5, in a pentagon, each
with dimensionality 2/5, and a negative bias. Several seeds at once; the best by loss is measured.
"""
import numpy as np

n, m, K, B = 5, 2, 6, 512
importance = 0.9 ** np.arange(n)


def train(sparsity, steps=1500, lr=1e-2, wd=1e-2, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(0, np.sqrt(2 / (n + m)), (K, m, n))
    b = np.zeros((K, n))
    state = [np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b)]
    for t in range(1, steps + 1):
        x = rng.random((K, B, n)) * (rng.random((K, B, n)) < 1 - sparsity)
        h = x @ W.transpose(0, 2, 1)
        pre = h @ W + b[:, None]
        d = 2 / B * (np.maximum(pre, 0) - x) * importance * (pre > 0)
        gW = h.transpose(0, 2, 1) @ d + (d @ W.transpose(0, 2, 1)).transpose(0, 2, 1) @ x
        for p, g, mo, v in ((W, gW, state[0], state[1]), (b, d.sum(1), state[2], state[3])):
            p -= lr * wd * p                                    # AdamW: decoupled weight decay
            mo[:] = 0.9 * mo + 0.1 * g
            v[:] = 0.999 * v + 0.001 * g * g
            p -= lr * (mo / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    x = rng.random((K, 8192, n)) * (rng.random((K, 8192, n)) < 1 - sparsity)
    loss = (((np.maximum(x @ W.transpose(0, 2, 1) @ W + b[:, None], 0) - x) ** 2) * importance).sum(2).mean(1)
    best = int(np.argmin(loss))                                 # single seeds can land in local minima
    return W[best], b[best]


def dimensionality(W):
    norms = np.linalg.norm(W, axis=0)
    return norms**2 / ((W.T / norms[:, None] @ W) ** 2).sum(1)


W, b = train(sparsity=0.0)
kept = np.linalg.norm(W, axis=0) > 0.5
print("dense: kept", kept.astype(int), "cos between them", round(float(W[:, 0] @ W[:, 1]), 3))
assert list(kept) == [True, True, False, False, False] and abs(W[:, 0] @ W[:, 1]) < 0.1

W, b = train(sparsity=0.95)
angles = np.sort(np.degrees(np.arctan2(W[1], W[0])))
gaps = np.diff(np.append(angles, angles[0] + 360))
print("sparse: norms", np.linalg.norm(W, axis=0).round(2), "gaps", gaps.round(0), "D", dimensionality(W).round(2),
      "b", b.round(2))
assert np.all(np.linalg.norm(W, axis=0) > 0.5) and np.all(np.abs(gaps - 72) < 10)   # a pentagon
assert np.all(np.abs(dimensionality(W) - 0.4) < 0.05) and np.all(b < 0)            # D = 2/5, negative bias
pentagon = np.stack([np.cos(2 * np.pi * np.arange(5) / 5), np.sin(2 * np.pi * np.arange(5) / 5)])
assert np.allclose(dimensionality(pentagon), 0.4)                                  # exactly 2/5
