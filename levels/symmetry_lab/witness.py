"""The 5 Gs in a few lines: which models follow a transformation of their input exactly."""
import numpy as np

rng = np.random.default_rng(0)


def err(a, b, ref):
    return np.linalg.norm(a - b) / np.linalg.norm(ref)


def conv(x, w):  # circular cross-correlation through the FFT (its rounding depends on the shift)
    k = np.zeros_like(x)
    k[:3, :3] = w[::-1, ::-1]
    k = np.roll(k, (-1, -1), (0, 1))
    return np.fft.irfft2(np.fft.rfft2(x) * np.fft.rfft2(k), s=x.shape)


x, w = rng.normal(size=(24, 24)), rng.normal(size=(3, 3))
f = lambda img: np.maximum(conv(img, w), 0)
e1 = err(f(np.roll(x, 1, 1)), np.roll(f(x), 1, 1), f(x))
print(f"grids: circular conv, shift 1: {e1:.1e}")
assert e1 < 1e-12
stride = lambda img: f(img)[::2, ::2]
even = err(stride(np.roll(x, 2, 1)), np.roll(stride(x), 1, 1), stride(x))
odd = min(err(stride(np.roll(x, 1, 1)), np.roll(stride(x), t, 1), stride(x)) for t in range(12))
print(f"grids: stride 2, shift 2: {even:.1e}; shift 1, nearest output shift: {odd:.2f}")
assert even < 1e-12 and odd > 0.1

# groups: a p4 lifting layer (the kernel in four 90° turns, pooled) turns with the picture
p4 = lambda img: np.max([np.maximum(conv(img, np.rot90(w, r)), 0) for r in range(4)], axis=0)
e_p4 = err(p4(np.rot90(x)), np.rot90(p4(x)), p4(x))
e_cnn = err(f(np.rot90(x)), np.rot90(f(x)), f(x))
print(f"groups: 90° turn, p4 {e_p4:.1e}, plain {e_cnn:.2f}")
assert e_p4 < 1e-12 and e_cnn > 0.1

# graphs: message passing is permutation-equivariant, a sum readout invariant, positions break attention
n, d = 8, 4
A = (rng.random((n, n)) < 0.4).astype(float)
A = np.triu(A, 1) + np.triu(A, 1).T
H, W1, W2 = rng.normal(size=(n, d)), rng.normal(size=(d, d)), rng.normal(size=(d, d))
mp = lambda A, H: np.maximum(A @ H @ W1 + H @ W2, 0)
P = rng.permutation(n)
e_mp = err(mp(A[np.ix_(P, P)], H[P]), mp(A, H)[P], mp(A, H))
e_sum = err(mp(A[np.ix_(P, P)], H[P]).sum(0), mp(A, H).sum(0), mp(A, H).sum(0))


def attention(H):
    s = (H @ W1) @ (H @ W2).T / np.sqrt(d)
    a = np.exp(s - s.max(1, keepdims=True))
    return (a / a.sum(1, keepdims=True)) @ H


E = np.sin(np.arange(n)[:, None] / 10 ** (np.arange(d)[None] / d))
e_att = err(attention(H[P]), attention(H)[P], attention(H))
e_pos = err(attention(H[P] + E), attention(H + E)[P], attention(H + E))
print(f"graphs: message passing {e_mp:.1e}, sum readout {e_sum:.1e}, attention {e_att:.1e}, with positions {e_pos:.2f}")
assert max(e_mp, e_sum, e_att) < 1e-12 and e_pos > 0.01

# geodesics: folding a strip keeps its edge lengths (so distances along it), not distances through space
turn = 0.3 * np.arange(10)
profile = np.concatenate([[[0, 0]], np.cumsum(np.stack([np.cos(turn), np.sin(turn)], 1), 0)])
flat = np.stack([np.arange(11.0), np.zeros(11)], 1)
along = lambda p: np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))
print(f"geodesics: along {err(along(profile), along(flat), along(flat)):.1e}, "
      f"end to end {np.linalg.norm(profile[-1] - profile[0]):.2f} instead of 10")
assert err(along(profile), along(flat), along(flat)) < 1e-12 and np.linalg.norm(profile[-1] - profile[0]) < 9.5


# gauges: coefficients in frames turned by phi_i; a rotation-commuting weight with transport follows
def R(t):
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


c_i, c_j, alpha = rng.normal(size=2), rng.normal(size=2), 0.4  # alpha: transport from j's frame to i's
Weq, Wgen = 0.7 * np.eye(2) + 0.3 * R(np.pi / 2), rng.normal(size=(2, 2))
layer = lambda W, ci, cj, a: W @ ci + W @ R(a) @ cj
phi_i, phi_j = 1.1, -0.6
for W, name in ((Weq, "rotation-commuting W"), (Wgen, "general W")):
    moved = layer(W, R(-phi_i) @ c_i, R(-phi_j) @ c_j, alpha - phi_i + phi_j)
    e = err(moved, R(-phi_i) @ layer(W, c_i, c_j, alpha), layer(W, c_i, c_j, alpha))
    print(f"gauges: {name}: {e:.1e}")
    assert (e < 1e-12) == (W is Weq)
