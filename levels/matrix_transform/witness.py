"""A matrix as a map of the plane, its eigenvectors, SVD and determinant; Eckart-Young and LoRA's count."""
import numpy as np

W = np.array([[1.2, 0.6], [0.3, 1.1]])  # its columns are where e1 and e2 go
x = np.array([0.5, -2.0])
assert np.allclose(W @ x, x[0] * W[:, 0] + x[1] * W[:, 1])  # every point follows the columns

# the lines W keeps: scan every direction for W x parallel to x (cross product zero)
angles = np.linspace(0, np.pi, 200_001)[:-1]
units = np.stack([np.cos(angles), np.sin(angles)], axis=1)
images = units @ W.T
cross = units[:, 0] * images[:, 1] - units[:, 1] * images[:, 0]
kept = angles[np.nonzero(np.sign(cross) != np.sign(np.roll(cross, -1)))[0]]
values, vectors = np.linalg.eig(W)
print("lines kept (degrees):", np.round(np.degrees(kept), 2), " eigenvalues:", np.round(values, 4))
for angle in kept:
    v = np.array([np.cos(angle), np.sin(angle)])
    lam = v @ W @ v
    assert np.linalg.norm(W @ v - lam * v) < 1e-4 and np.min(np.abs(values - lam)) < 1e-4

rotation = np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]])
assert np.all(np.abs(np.linalg.eigvals(rotation).imag) > 0.4)  # a rotation keeps no line

# SVD: rotate, scale, rotate; the unit circle goes to an ellipse with semi-axes s1 u1, s2 u2
U, s, Vt = np.linalg.svd(W)
assert np.allclose(U @ np.diag(s) @ Vt, W)
stretch = np.linalg.norm(images, axis=1)
print("stretch of unit vectors from", stretch.min().round(4), "to", stretch.max().round(4), " sigma:", s.round(4))
assert abs(stretch.max() - s[0]) < 1e-6 and abs(stretch.min() - s[1]) < 1e-6

# det is the signed area of the unit square's image (shoelace), negative when mirrored
square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]]) @ W.T
area = 0.5 * np.sum(square[:, 0] * np.roll(square[:, 1], -1) - np.roll(square[:, 0], -1) * square[:, 1])
print("area of the square's image:", round(area, 4), " det W:", round(np.linalg.det(W), 4))
assert abs(area - np.linalg.det(W)) < 1e-12 and np.linalg.det(np.array([[1, 2], [1.5, 1]])) < 0

# order matters: W then B is BW
B = np.array([[0.0, -1.0], [1.0, 0.0]])  # a quarter turn
assert not np.allclose(B @ W, W @ B) and np.isclose(np.linalg.det(B @ W), np.linalg.det(W @ B))

# Eckart-Young: keeping the top k singular values leaves exactly the dropped sigma^2 as error
rng = np.random.default_rng(0)  # an update that is nearly rank 4: sigma 8, 5, 3, 2 over small noise
left, right = np.linalg.qr(rng.normal(size=(64, 64)))[0], np.linalg.qr(rng.normal(size=(64, 64)))[0]
A = (left[:, :4] * [8.0, 5.0, 3.0, 2.0]) @ right[:, :4].T + 0.03 * rng.normal(size=(64, 64))
U, s, Vt = np.linalg.svd(A)
for k in (1, 2, 4, 8):
    A_k = (U[:, :k] * s[:k]) @ Vt[:k]
    error = np.sum((A - A_k) ** 2)
    print(f"k = {k}: keeps {np.sum(A_k ** 2) / np.sum(A ** 2):.1%}, error {error:.4f} = dropped sigma^2 {np.sum(s[k:] ** 2):.4f}")
    assert np.isclose(error, np.sum(s[k:] ** 2))
    Q, _ = np.linalg.qr(rng.normal(size=(64, k)))
    assert np.sum((A - A @ Q @ Q.T) ** 2) >= error  # a random rank-k projection does worse

d, r = 4096, 8  # LoRA: B is d x r, A is r x d
print(f"LoRA: 2dr = {2 * d * r:,} instead of d^2 = {d * d:,}, {d * d // (2 * d * r)} times fewer")
assert (2 * d * r, d * d) == (65_536, 16_777_216)
