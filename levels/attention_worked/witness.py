"""softmax(QKᵀ/√d)V by hand on seed 002's three tokens, the attention matrix's spectrum, and √d."""
import numpy as np

Q = np.array([[1.0, 0.5], [0.3, 0.8], [0.1, 0.9]])  # "The", "cat", "sat"
K = np.array([[0.9, 0.2], [0.4, 0.7], [0.2, 0.8]])
V = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # the seed gives none: these are readable by hand
d = Q.shape[1]

scores = Q @ K.T / np.sqrt(d)
exps = np.exp(scores)
A = exps / exps.sum(axis=1, keepdims=True)
print("QKᵀ/√2 row 0:", scores[0].round(3), " exp:", exps[0].round(3), " sum:", exps[0].sum().round(3))
print("row 0 of A:", A[0].round(3), "(seed 002 prints 0.324 for cat; 1.699 / 5.255 =", round(1.699 / 5.255, 4), ")")
assert list(A[0].round(3)) == [0.386, 0.323, 0.291]
assert np.allclose(A.sum(axis=1), 1.0)  # row-stochastic
O = A @ V  # each output a weighted average of the values
print("outputs o = A V:\n", O.round(3))

# Spectrum: A·1 = 1, every other |λ| < 1; π with πA = π is where attention applied again and again ends.
eigenvalues = np.linalg.eigvals(A)
lambda2 = sorted(np.abs(eigenvalues))[-2]
w, left = np.linalg.eig(A.T)
pi = np.real(left[:, np.argmin(np.abs(w - 1))])
pi /= pi.sum()
print("eigenvalues:", eigenvalues.round(4), " |λ₂| =", round(lambda2, 4), " gap =", round(1 - lambda2, 4))
print("π =", pi.round(4), " πV =", (pi @ V).round(4))
A_t = np.linalg.matrix_power(A, 10)
assert np.abs(A_t - pi).max() < 3 * lambda2 ** 10  # every row of Aᵗ tends to π at the rate |λ₂|ᵗ

# A focused matrix has a small gap: each query along its own key, the keys 120° apart.
Kf = np.array([[1.4, 0.0], [-0.7, 1.2], [-0.7, -1.2]])
Qf = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
Sf = np.exp(Qf @ Kf.T / np.sqrt(2))
Af = Sf / Sf.sum(axis=1, keepdims=True)
gap_f = 1 - sorted(np.abs(np.linalg.eigvals(Af)))[-2]
print("each token to itself:", np.diag(Af).round(3), " gap =", round(gap_f, 3), "(even rows: gap 1)")
assert np.diag(Af).min() > 0.9 and gap_f < 0.2

# Why √d: with N(0, 1) coordinates, q·k has variance d. Rows of 3 random tokens, mean largest weight.
rng = np.random.default_rng(0)
for d in (2, 16, 128, 1024):
    q, k = rng.standard_normal((2000, 3, d)), rng.standard_normal((2000, 3, d))
    s = np.einsum("nid,njd->nij", q, k)
    top = {}
    for name, scale in (("÷√d", np.sqrt(d)), ("undivided", 1.0)):
        z = s / scale
        a = np.exp(z - z.max(-1, keepdims=True))
        top[name] = (a / a.sum(-1, keepdims=True)).max(-1).mean()
    print(f"d = {d:4}: spread of q·k/√d {np.std(s / np.sqrt(d)):.3f}   largest weight ÷√d {top['÷√d']:.3f}"
          f"   undivided {top['undivided']:.3f}")
    assert 0.53 < top["÷√d"] < 0.62  # about as sharp whatever d
assert top["undivided"] > 0.97  # one token takes nearly all
