"""The chain rule on a graph: backprop, the sum over paths, forward mode and the seed's closed forms."""
import numpy as np

# e = (a + b)(b + 1) at a = 2, b = 1, with its local derivatives
a, b = 2.0, 1.0
c, d = a + b, b + 1.0
e = c * d
de_dc, de_dd, dc_da, dc_db, dd_db = d, c, 1.0, 1.0, 1.0
# reverse mode: one backward pass from e gives both gradients
e_bar = 1.0
c_bar, d_bar = e_bar * de_dc, e_bar * de_dd
a_bar, b_bar = c_bar * dc_da, c_bar * dc_db + d_bar * dd_db
paths_b = [dc_db * de_dc, dd_db * de_dd]  # b -> c -> e and b -> d -> e
print(f"e = {e}, de/da = {a_bar}, de/db = {b_bar} = paths {paths_b[0]} + {paths_b[1]}")
assert (e, a_bar, b_bar) == (6.0, 2.0, 5.0) and sum(paths_b) == b_bar
# forward mode: one pass per input
for seed_a, seed_b, want in ((1.0, 0.0, a_bar), (0.0, 1.0, b_bar)):
    c_dot, d_dot = seed_a + seed_b, seed_b
    assert c_dot * d + c * d_dot == want
# finite differences
f = lambda a, b: (a + b) * (b + 1)
h = 1e-5
assert abs((f(a, b + h) - f(a, b - h)) / (2 * h) - b_bar) < 1e-8

# softmax: Jacobian s_i(delta_ij - s_j), and cross-entropy through it gives y_hat - y
def softmax(z):
    t = np.exp(z - z.max())
    return t / t.sum()

z, label = np.array([2.0, 1.0, 0.1]), 0
s = softmax(z)
J = np.diag(s) - np.outer(s, s)
J_fd = np.stack([(softmax(z + h * np.eye(3)[j]) - softmax(z - h * np.eye(3)[j])) / (2 * h) for j in range(3)], 1)
loss = lambda z: -np.log(softmax(z)[label])
grad_fd = np.array([(loss(z + h * np.eye(3)[j]) - loss(z - h * np.eye(3)[j])) / (2 * h) for j in range(3)])
y = np.eye(3)[label]
print("softmax Jacobian gap", np.abs(J - J_fd).max(), " dL/dz =", np.round(s - y, 4))
assert np.abs(J - J_fd).max() < 1e-9 and np.allclose(grad_fd, s - y, atol=1e-8)
# the correct logit's two paths: straight (-1) and through the sum S (y_hat_c); their sum is y_hat_c - 1
exps, S = np.exp(z), np.exp(z).sum()
straight = exps[label] * (1 / S) * (-1 / s[label])
through_S = exps[label] * 1.0 * (-exps[label] / S**2) * (-1 / s[label])
assert np.isclose(straight, -1.0) and np.isclose(through_S, s[label]) and np.isclose(straight + through_S, s[label] - 1)

# ReLU passes the gradient on (1) or stops it (0); a sigmoid's slope is at most 1/4
relu = lambda t: max(t, 0.0)
for t in (-1.5, 0.7):
    assert abs((relu(t + h) - relu(t - h)) / (2 * h) - (1.0 if t > 0 else 0.0)) < 1e-8

# LayerNorm's three terms, with s^2 = var + eps in the third (the seed prints var there)
def layernorm(x, gamma, eps):
    return gamma * (x - x.mean()) / np.sqrt(x.var() + eps)

x, gamma, g = np.array([1.0, 2.0, 3.5]), 1.5, np.array([1.0, -2.0, 0.5])
for eps in (1e-5, 1.0):
    sd, n, cx = np.sqrt(x.var() + eps), len(x), x - x.mean()
    direct, through_mean = gamma / sd * g, -gamma / sd * g.mean()
    through_var = -gamma / sd * cx / (n * sd**2) * (g @ cx)
    printed_var = -gamma / sd * cx / (n * x.var()) * (g @ cx)
    fd = np.array([(g @ layernorm(x + h * np.eye(3)[k], gamma, eps) - g @ layernorm(x - h * np.eye(3)[k], gamma, eps))
                   / (2 * h) for k in range(3)])
    right = direct + through_mean + through_var
    printed = direct + through_mean + printed_var
    print(f"eps = {eps:g}: three terms vs fd {np.abs(right - fd).max():.1e}, seed's printed form {np.abs(printed - fd).max():.1e}")
    assert np.abs(right - fd).max() < 1e-8
    assert np.allclose(printed - right, through_var * eps / x.var())
