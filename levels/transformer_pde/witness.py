"""Code witness: tokens on a sphere, moved by self-attention and put back by LayerNorm, cluster."""
import numpy as np


def layer_norm(y):                             # no scale, no shift: mean 0, norm sqrt(D)
    c = y - y.mean(1, keepdims=True)
    return c / np.sqrt((c ** 2).mean(1, keepdims=True))


def layer(x, beta, h):                         # attention (Q = K = V = I), then the projection
    s = beta * x @ x.T
    w = np.exp(s - s.max(1, keepdims=True))
    y = x + h * (w @ x) / w.sum(1, keepdims=True)
    return y / np.linalg.norm(y, axis=1, keepdims=True)


def clusters(x, angle=0.1):                    # leader clustering: the densest token and its neighbours
    linked, free, sizes = x @ x.T > np.cos(angle), np.ones(len(x), bool), []
    while free.any():
        counts = np.where(free, linked[:, free].sum(1), -1)
        lead = counts.argmax()
        if counts[lead] < 2:
            break
        sizes.append(int((linked[lead] & free).sum()))
        free &= ~linked[lead]
    return sizes


# LayerNorm of R^3 lands on a circle: mean 0, norm sqrt(3), and it is x/|x| in the plane's coordinates
y = np.random.default_rng(0).normal(size=(1000, 3)) * 5 + 2
ln = layer_norm(y)
assert np.allclose(ln.mean(1), 0) and np.allclose(np.linalg.norm(ln, axis=1), np.sqrt(3))
basis = np.linalg.qr(np.array([[1, 1, 0], [1, -1, 1], [1, 0, -1]], float))[0][:, 1:]   # columns span 1-perp
plane = y @ basis
assert np.allclose(ln @ basis / np.sqrt(3), plane / np.linalg.norm(plane, axis=1, keepdims=True))

counts = {}
for beta in (1.0, 8.0, 32.0):                  # 64 tokens on the circle, 200 layers of step 0.1
    angle = np.random.default_rng(1).uniform(0, 2 * np.pi, 64)
    x = np.stack([np.cos(angle), np.sin(angle)], 1)
    for _ in range(200):
        x = layer(x, beta, 0.1)
    counts[beta] = len(clusters(x))
print("clusters at time 20:", counts)
assert counts[1.0] == 1                        # small beta: one cluster
assert counts[1.0] < counts[8.0] < counts[32.0]   # sharper attention: more clusters, still apart
