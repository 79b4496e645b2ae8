"""Selection: gates Δ(x) decide what the state keeps. Parallel scan: the same states in log2 N rounds."""
import numpy as np

rng = np.random.default_rng(0)
L, V, burst = 64, 8, 30
values = rng.integers(0, V, L)
marked = L - burst - 1  # one token to remember, then a burst of noise
e = np.eye(V)[values]  # one-hot embeddings

def run(delta):  # h_t = a_t h_(t-1) + (1 - a_t) e(x_t) with a_t = exp(-Δ_t): ZOH of h' = -h + e(x)
    a, h, states = np.exp(-delta), np.zeros(V), []
    for t in range(L):
        h = a[t] * h + (1 - a[t]) * e[t]
        states.append(h)
    return np.array(states)

selective = np.where(np.arange(L) == marked, 4.0, 0.003)  # Δ(x): large on the mark, tiny on noise
for name, delta in [("selective", selective), ("LTI Δ=0.1", np.full(L, 0.1)), ("LTI Δ=4", np.full(L, 4.0))]:
    h = run(delta)[-1]
    print(f"{name:>10}: reads {h.argmax()} (should be {values[marked]}), "
          f"share of the marked value {h[values[marked]]:.2f}")

# The pairs (a, b) compose associatively: (a1, b1) ∘ (a2, b2) = (a1 a2, a2 b1 + b2).
a = np.exp(-selective)
b = (1 - a)[:, None] * e
A, B, stride, rounds = a.copy(), b.copy(), 1, 0
while stride < L:  # Hillis-Steele: every position combines with the one `stride` back, at once
    A_prev, B_prev = A[:-stride].copy(), B[:-stride].copy()
    B[stride:] = A[stride:, None] * B_prev + B[stride:]
    A[stride:] = A_prev * A[stride:]
    stride, rounds = 2 * stride, rounds + 1
assert np.allclose(B, run(selective)), "the tree and the loop disagree"
print(f"parallel scan: {rounds} rounds for {L} tokens (the loop takes {L}); same states")
