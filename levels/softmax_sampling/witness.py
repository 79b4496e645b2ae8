"""Softmax with a temperature, top-p, and the information theory that scores it, in numpy."""
import numpy as np

words = ["mat", "floor", "sofa", "bed", "eggs", "toast", "cereal", "blue", "grey", "clear", "a", "the"]
z = np.array([3.0, 2.3, 1.9, 1.6, -1.5, -1.8, -2.2, -1.2, -0.6, -2.0, -0.4, -1.0])  # "The cat sat on the"


def softmax(z, T=1.0):
    e = np.exp((z - z.max()) / T)  # subtracting the largest logit changes nothing, and never overflows
    return e / e.sum()


def H(p):  # entropy in nats: the mean surprise -log p
    p = p[p > 0]
    return -(p * np.log(p)).sum()


def kl(p, q):
    return (p * np.log(p / q)).sum()


def top_p(p, threshold):  # the smallest set of most likely tokens whose total reaches the threshold
    order = np.argsort(-p)
    return order[: np.searchsorted(np.cumsum(p[order]), threshold) + 1]


for T in (0.5, 1.0, 2.0):
    p = softmax(z, T)
    print(f"T = {T}: H = {H(p):.3f} nats, perplexity {np.exp(H(p)):.2f}, top-p 0.9 keeps {len(top_p(p, 0.9))}")
assert len(top_p(softmax(z, 1.0), 0.9)) == 4 and len(top_p(softmax(z, 2.0), 0.9)) == 8

# the Jacobian dp_i/dz_j = p_i (delta_ij - p_j), against finite differences
p, eps = softmax(z), 1e-6
numeric = np.array([(softmax(z + eps * e) - softmax(z - eps * e)) / (2 * eps) for e in np.eye(len(z))]).T
assert np.allclose(numeric, np.diag(p) - np.outer(p, p), atol=1e-8)

# draw text from p; a model q scores it: the mean surprise -log q approaches H(p, q) = H(p) + KL(p||q)
rng = np.random.default_rng(0)
text = rng.choice(len(z), size=200_000, p=p)
for T_model in (0.5, 2.0):
    q = softmax(z, T_model)
    measured, cross = -np.log(q[text]).mean(), -(p * np.log(q)).sum()
    assert abs(cross - (H(p) + kl(p, q))) < 1e-12 and abs(measured - cross) < 0.01
    print(f"model at T = {T_model}: H(p, q) = {cross:.3f} (measured {measured:.3f}), "
          f"KL(p||q) = {kl(p, q):.3f}, KL(q||p) = {kl(q, p):.3f}")
uniform = np.full(len(z), 1 / len(z))
print("a uniform model's perplexity on the text:", np.exp(-np.log(uniform[text]).mean()), "= V =", len(z))
assert np.isclose(np.exp(-np.log(uniform[text]).mean()), len(z))

# mutual information between the prompt (three, equally likely) and the next token
logits = np.array([z,
                   [-2.5, -2.2, -2.8, -2.0, 2.6, 2.4, 2.0, -2.0, -2.4, -1.8, 1.1, 0.3],   # "For breakfast I ate"
                   [-2.8, -2.6, -3.0, -2.7, -2.5, -2.9, -3.0, 2.7, 2.2, 1.6, 0.6, -1.5]])  # "The sky today is"
for T in (0.05, 1.0, 5.0):
    table = np.array([softmax(row, T) for row in logits])  # P(token | prompt)
    info = H(table.mean(0)) - np.mean([H(row) for row in table])  # H(token) - H(token | prompt)
    joint = table / 3
    assert np.isclose(info, kl(joint.ravel(), np.outer(joint.sum(1), joint.sum(0)).ravel()))
    print(f"T = {T}: I(prompt; token) = {info:.4f} nats (ln 3 = {np.log(3):.4f})")
