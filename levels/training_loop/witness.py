"""The training loop of a tiny character language model, in numpy: batch, forward, P, loss,
backward, Adam, repeat; held-out perplexity against a bigram model fitted by counting."""
import numpy as np

rng = np.random.default_rng(0)
nouns, verbs = ["cat", "dog", "bird", "fox"], ["sees", "likes", "finds"]
sentence = lambda: f"the {rng.choice(nouns)} {rng.choice(verbs)} a {rng.choice(nouns)}. "
text = "".join(sentence() for _ in range(600))
chars = sorted(set(text))
V, K, E, H, B = len(chars), 6, 8, 64, 64
ids = np.array([chars.index(c) for c in text])
split = len(text) * 9 // 10


def windows(pos):  # the K characters before each position, and the character there
    return ids[pos[:, None] - K + np.arange(K)], ids[pos]


def forward(params, x):
    emb, W1, b1, W2, b2 = params
    e = emb[x].reshape(len(x), -1)
    h = np.tanh(e @ W1 + b1)
    return e, h, h @ W2 + b2


def nll(params, pos):  # mean -log P(true next | context): the cross-entropy
    x, y = windows(pos)
    z = forward(params, x)[2]
    z = z - z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean()


params = [rng.normal(size=(V, E)), rng.normal(size=(K * E, H)) * np.sqrt(2 / (K * E + H)), np.zeros(H),
          rng.normal(size=(H, V)) * 0.1 * np.sqrt(2 / (H + V)), np.zeros(V)]
m = [np.zeros_like(p) for p in params]
v = [np.zeros_like(p) for p in params]
held_out = np.arange(split, len(ids))
ppl0 = np.exp(nll(params, held_out))
assert abs(ppl0 / V - 1) < 0.05, ppl0  # untrained: close to V, not exactly

for t in range(1, 401):
    pos = rng.integers(K, split, B)  # 1. sample a batch
    x, y = windows(pos)
    e, h, z = forward(params, x)  # 2. forward pass
    q = np.exp(z - z.max(1, keepdims=True))
    q /= q.sum(1, keepdims=True)  # 3. P(x_i | x_<i)
    loss = -np.log(q[np.arange(B), y]).mean()  # 4. the loss
    gz = q.copy()
    gz[np.arange(B), y] -= 1
    gz /= B  # 5. backward: dL/dz = (q - onehot) / B, then the chain rule
    gh = gz @ params[3].T * (1 - h * h)
    ge = (gh @ params[1].T).reshape(B, K, E)
    g_emb = np.zeros_like(params[0])
    np.add.at(g_emb, x, ge)
    grads = [g_emb, e.T @ gh, gh.sum(0), h.T @ gz, gz.sum(0)]
    for p, g, mi, vi in zip(params, grads, m, v):  # 6. Adam
        mi[:] = 0.9 * mi + 0.1 * g
        vi[:] = 0.999 * vi + 0.001 * g * g
        p -= 3e-3 * (mi / (1 - 0.9 ** t)) / (np.sqrt(vi / (1 - 0.999 ** t)) + 1e-8)

ppl = np.exp(nll(params, held_out))
counts = np.zeros((V, V))
np.add.at(counts, (ids[:split - 1], ids[1:split]), 1)
bigram = (counts + 0.1) / (counts.sum(1, keepdims=True) + 0.1 * V)  # add-k smoothing
ppl_bigram = np.exp(-np.log(bigram[ids[held_out - 1], ids[held_out]]).mean())
print(f"V = {V}: perplexity {ppl0:.2f} before training, {ppl:.2f} after 400 iterations; bigram {ppl_bigram:.2f}")
assert ppl < ppl_bigram < ppl0
