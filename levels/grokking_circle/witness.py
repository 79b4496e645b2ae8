"""Why the grokked embeddings are circles: on a circle, adding angles is addition mod p."""
import numpy as np

p, keys = 47, (3, 2, 12)  # a modulus and the key frequencies a grokked network might pick
a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
a, b = a.ravel(), b.ravel()


def angles(tokens, k):
    return 2 * np.pi * k * tokens / p


# The embedding a grokked network converges to: per key frequency, token t at (cos, sin) of its angle.
c = np.arange(p)
E = np.concatenate([np.stack([np.cos(angles(c, k)), np.sin(angles(c, k))], 1) for k in keys], axis=1)
# The circuit: rotation a times rotation b is rotation a + b (products of embedding entries),
# read out against each candidate answer c.
logits = 0
for j in range(len(keys)):
    ca, sa, cb, sb = E[a, 2 * j], E[a, 2 * j + 1], E[b, 2 * j], E[b, 2 * j + 1]
    cos_sum, sin_sum = ca * cb - sa * sb, sa * cb + ca * sb
    logits = logits + cos_sum[:, None] * E[None, :, 2 * j] + sin_sum[:, None] * E[None, :, 2 * j + 1]
accuracy = np.mean(np.argmax(logits, axis=1) == (a + b) % p)
print(f"Fourier circuit with k = {keys}: accuracy on all {p * p} sums = {accuracy:.3f}")
assert accuracy == 1.0  # it generalises: nothing was memorised


def spectrum(E):  # share of the (centred) embedding's power at each frequency 0 .. p//2
    power = np.sum(np.abs(np.fft.rfft(E - E.mean(0), axis=0)) ** 2, axis=1)
    return power / power.sum()


circle, scatter = E, np.random.default_rng(0).standard_normal((p, 2 * len(keys)))
for name, embedding in (("circle embedding", circle), ("random embedding", scatter)):
    s = spectrum(embedding)
    top = np.argsort(s)[::-1][:len(keys)]
    print(f"{name}: top frequencies {sorted(top.tolist())} hold {s[top].sum():.0%} of the power")
assert set(np.argsort(spectrum(circle))[::-1][:3].tolist()) == set(keys)
assert np.sort(spectrum(scatter))[::-1][:3].sum() < 0.5  # a scatter spreads over every frequency
