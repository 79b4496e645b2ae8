"""The Model Mixer in plain numpy: task vectors add, negate, and need a shared start.

The stored run (checkpoints/seed0.npz, made by mixer.py) holds a small ReLU network pre-trained
briefly on three skills (each point of the square gets one of four classes: rings, sectors,
stripes; each skill has its own input channels and output head), the three models fine-tuned
from that start, and a model fine-tuned on sectors from another, independent start.
"""
from pathlib import Path

import numpy as np

ck = np.load(Path(__file__).resolve().parent / "checkpoints" / "seed0.npz")
pre, fine = ck["theta_pre"].astype(float), ck["theta_ft"].astype(float)
stranger = ck["theta_ft2"].astype(float)   # sectors, fine-tuned from another start
W = int(ck["recipe"][0])                     # hidden width
S, C = 3, 4                                  # skills, classes


def labels(skill, x):
    if skill == 0:                                       # four rings of equal area
        return np.searchsorted([0.5642, 0.7979, 0.9772], np.hypot(x[:, 0], x[:, 1]))
    if skill == 1:                                       # twelve sectors, classes going round 3 times
        return np.floor((np.arctan2(x[:, 1], x[:, 0]) % (2 * np.pi)) / (np.pi / 6)).astype(int) % 4
    return np.floor((x[:, 0] - 0.6 * x[:, 1] + 1.6) * 2.5).astype(int) % 4   # stripes


def accuracy(theta, n=1000):
    """Each skill's accuracy: the point enters on the skill's own two inputs, plus its flag."""
    shapes = [(3 * S, W), (W,), (W, W), (W,), (W, C * S), (C * S,)]
    cuts = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
    w1, b1, w2, b2, w3, b3 = (theta[a:b].reshape(s) for a, b, s in zip(cuts[:-1], cuts[1:], shapes))
    x = np.random.default_rng(5).uniform(-1, 1, (n, 2))
    out = []
    for k in range(S):
        inp = np.zeros((n, 3 * S))
        inp[:, 2 * k:2 * k + 2], inp[:, 2 * S + k] = x, 1.0
        h = np.maximum(np.maximum(inp @ w1 + b1, 0) @ w2 + b2, 0)
        out.append(np.mean(np.argmax((h @ w3 + b3)[:, C * k:C * k + C], 1) == labels(k, x)))
    return np.array(out)


tau = fine - pre                                          # task vectors, one row per skill
base = accuracy(pre)
alone = np.array([accuracy(fine[k])[k] for k in range(S)])

both = accuracy(pre + tau[0] + tau[1])                    # addition keeps most of both
assert np.all(both[:2] > alone[:2] - 0.06) and np.all(both[:2] > base[:2]), (both, alone)

forget = accuracy(pre - tau[2])                           # negation forgets stripes alone
drop = base - forget
assert drop[2] > 0.25 and np.all(np.abs(drop[:2]) <= drop[2] / 3), drop

unit = tau / np.linalg.norm(tau, axis=1, keepdims=True)   # nearly orthogonal
assert np.all(np.abs((unit @ unit.T)[np.triu_indices(S, 1)]) < 0.1)

shared = accuracy(0.5 * (fine[0] + fine[1]))[:2].mean()   # one start: the average works
strangers = accuracy(0.5 * (fine[0] + stranger))[:2].mean()  # two starts: it fails
assert strangers < shared - 0.3, (shared, strangers)
print(f"pre-trained {base.round(2)}, fine-tuned {alone.round(2)}, rings+sectors {both.round(2)}, "
      f"stripes negated {forget.round(2)}, averages: shared start {shared:.2f}, two starts {strangers:.2f}")
