"""The induction circuit built by hand: two attention heads, composed through a key.

Residual stream = three blocks of V coordinates: [this token | previous token | copied token].
Layer 0 (positions in queries and keys only) attends from t to t - 1 and writes that token into
the 'previous' block. Layer 1's query is this token; its key at s is the 'previous' block at s
(K-composition): it attends to the token after an earlier copy and copies it to the output.
"""
import numpy as np

V, T, L, beta, gamma = 24, 24, 10, 12.0, 8.0
rng = np.random.default_rng(0)
seg = rng.permutation(V)[:L]                               # ten different words
tokens = np.concatenate([seg, seg, rng.integers(0, V, T - 2 * L)])


def softmax_causal(scores):
    scores = np.where(np.triu(np.ones_like(scores, bool), 1), -np.inf, scores)
    e = np.exp(scores - scores.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def run(tokens, layer0=True, k_composition=True):
    n = len(tokens)
    x = np.zeros((n, 3 * V))
    x[np.arange(n), tokens] = 1.0                            # embedding: the token block
    pos = np.eye(n)
    a0 = softmax_causal(beta * pos @ np.eye(n, k=-1) @ pos.T)  # query t meets key s when s = t - 1
    a0[0] = 0.0                                              # the first word has no previous one
    if layer0:
        x[:, V:2 * V] += a0 @ x[:, :V]                       # OV: copy the token into the 'previous' block
    keys = x[:, V:2 * V] if k_composition else np.zeros((n, V))  # cut: keys read only the embedding
    a1 = softmax_causal(beta * x[:, :V] @ keys.T)            # QK: this token against the previous token at s
    x[:, 2 * V:] += a1 @ x[:, :V]                            # OV: copy the token at s
    logits = gamma * x[:, 2 * V:]                            # unembedding reads the copied block
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    return -logp[np.arange(n - 1), tokens[1:]], a0, a1


losses, a0, a1 = run(tokens)
repeat, first = slice(L, 2 * L - 1), slice(0, L - 1)       # predictions inside the second / first copy
print(f"ln V = {np.log(V):.2f}; repeated half {losses[repeat].mean():.2f}; first copy {losses[first].mean():.2f}")
assert np.allclose(np.diagonal(a0, -1), 1.0, atol=1e-3)     # a previous-token head
t = np.arange(L, 2 * L - 1)
assert np.all(a1[t, t - L + 1] > 0.9)                       # an induction head: the token after the earlier copy
assert losses[repeat].mean() < 0.2 * np.log(V)              # the repeat is predicted
assert losses[first].mean() > 0.9 * np.log(V)               # the first copy is not

for name, kwargs in (("layer 0 zeroed", {"layer0": False}), ("K-composition cut", {"k_composition": False})):
    ablated = run(tokens, **kwargs)[0][repeat].mean()
    print(f"{name}: repeated half {ablated:.2f}")
    assert ablated > 0.9 * np.log(V)                        # back to chance: layer 1 cannot find the copy
