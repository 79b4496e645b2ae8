"""A disc inside a ring: width-2 tanh nets cannot take it out, width 3 can; k-NN needs no net."""
import itertools

import numpy as np


def disc_and_ring(n, rng):  # disc r < 1 (label 0), ring 1.4 < r < 2 (label 1), uniform by area
    y = (rng.random(n) < 2.04 / 3.04).astype(int)
    u = rng.random(n)
    r = np.where(y == 0, np.sqrt(u), np.sqrt(1.96 + 2.04 * u))
    t = rng.uniform(0, 2 * np.pi, n)
    return np.stack([r * np.cos(t), r * np.sin(t)], 1), y


def train(x, y, width, depth, seed, steps=1500, lr=0.03):
    """depth tanh layers of `width`, a linear read-out to 2 logits, full-batch Adam."""
    rng = np.random.default_rng(seed)
    sizes = [2] + [width] * depth + [2]
    P = []
    for a, b in itertools.pairwise(sizes):
        P += [rng.standard_normal((a, b)) * np.sqrt(2 / (a + b)) * (1.5 if b == width else 1.0), np.zeros(b)]
    m, v = [np.zeros_like(p) for p in P], [np.zeros_like(p) for p in P]
    onehot = np.eye(2)[y]
    for step in range(1, steps + 1):
        hs = [x]
        for i in range(0, len(P) - 2, 2):
            hs.append(np.tanh(hs[-1] @ P[i] + P[i + 1]))
        z = hs[-1] @ P[-2] + P[-1]
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / len(x)  # softmax cross-entropy's gradient
        grads = [hs[-1].T @ g, g.sum(0)]
        g = g @ P[-2].T
        for i in range(len(hs) - 1, 0, -1):
            g = g * (1 - hs[i] ** 2)
            grads = [hs[i - 1].T @ g, g.sum(0)] + grads
            g = g @ P[2 * (i - 1)].T
        for k, (pk, gk) in enumerate(zip(P, grads)):
            m[k] = 0.9 * m[k] + 0.1 * gk
            v[k] = 0.999 * v[k] + 0.001 * gk**2
            pk -= lr * (m[k] / (1 - 0.9**step)) / (np.sqrt(v[k] / (1 - 0.999**step)) + 1e-8)

    def predict(q):
        for i in range(0, len(P) - 2, 2):
            q = np.tanh(q @ P[i] + P[i + 1])
        return np.argmax(q @ P[-2] + P[-1], 1)
    return predict, P


x, y = disc_and_ring(300, np.random.default_rng(1000))
g = np.linspace(-2, 2, 161)
grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
r = np.hypot(grid[:, 0], grid[:, 1])
keep = (r <= 1) | ((r >= 1.4) & (r <= 2))
cx, cy = grid[keep], (r[keep] >= 1.4).astype(int)  # the continuum: the whole area of both sets

for width in (2, 3):
    predict, P = train(x, y, width, 3, seed=0)
    on_train, on_continuum = np.mean(predict(x) == y), np.mean(predict(cx) == cy)
    print(f"width {width}: training points {on_train:.1%}, continuum {on_continuum:.1%}")
    if width == 2:
        assert on_continuum < 0.97  # a homeomorphism keeps the ring around the disc
        assert on_train > on_continuum  # the training points flatter it
        assert all(abs(np.linalg.det(W)) > 1e-6 for W in P[2:-2:2])  # each square layer invertible
    else:
        assert on_continuum > 0.99  # a third dimension lifts the disc out


def knn(tx, ty, q, k):
    d2 = ((q[:, None, :] - tx[None, :, :]) ** 2).sum(-1)
    return (ty[np.argpartition(d2, k - 1, 1)[:, :k]].mean(1) > 0.5).astype(int)


def squash(p, s):  # (x, y) -> (x + y/2, y/s): invertible, the disc stays inside the ring
    return np.stack([p[:, 0] + 0.5 * p[:, 1], p[:, 1] / s], 1)


plain = np.mean(knn(x, y, cx, 15) == cy)
squashed = np.mean(knn(squash(x, 8), y, squash(cx, 8), 15) == cy)
print(f"15-NN on the continuum: {plain:.1%}; the plane squashed 8x: {squashed:.1%}")
assert plain > 0.995 and squashed < 0.90  # same topology, other distances, other answers
