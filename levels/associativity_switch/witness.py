"""Move the parentheses: (φ(Q)φ(K)ᵀ)V with an N×N matrix equals φ(Q)(φ(K)ᵀV) with a d×d state."""
import numpy as np

rng = np.random.default_rng(0)
N, d = 200, 16
Q, K, V = (rng.standard_normal((N, d)) for _ in range(3))
phi = lambda x: np.where(x > 0, x + 1, np.exp(np.minimum(x, 0)))  # elu + 1 > 0
fq, fk = phi(Q), phi(K)

# Transformer form: the causal N x N weights, then one product with V.
W = np.tril(fq @ fk.T)
y_matrix = (W @ V) / W.sum(axis=1, keepdims=True)

# RNN form: a d x d state S and a d-vector z roll along the tokens.
S, z, y_state = np.zeros((d, d)), np.zeros(d), np.zeros((N, d))
for t in range(N):
    S += np.outer(fk[t], V[t])
    z += fk[t]
    y_state[t] = fq[t] @ S / (fq[t] @ z)
assert np.allclose(y_matrix, y_state), "the two associativities disagree"

# Mamba-2 (SSD): a decay a_t per token. Masked form (L ∘ C Bᵀ) x, L_ij = a_{j+1}...a_i.
a = rng.uniform(0.8, 1.0, N)
log_a = np.cumsum(np.log(a))
L = np.tril(np.exp(log_a[:, None] - log_a[None, :]))
y_masked = (L * (fq @ fk.T)) @ V
h, y_scan = np.zeros((d, d)), np.zeros((N, d))
for t in range(N):
    h = a[t] * h + np.outer(fk[t], V[t])  # h_t = a_t h_{t-1} + B_t x_tᵀ
    y_scan[t] = fq[t] @ h  # y_t = C_tᵀ h_t
assert np.allclose(y_masked, y_scan), "the SSD mask and the recurrence disagree"

print(f"both associativities agree to {np.abs(y_matrix - y_state).max():.1e}; "
      f"SSD masked = recurrent to {np.abs(y_masked - y_scan).max():.1e}")
print(f"memory at N = 100000: N x N matrix {100_000**2 * 4 / 1e9:.0f} GB, "
      f"state {(d * d + d) * 4} B for d = {d}")
