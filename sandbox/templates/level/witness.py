"""Gradient descent on a x^2 / 2 converges iff lr * a < 2."""
import numpy as np

a = 2.0
for lr in (0.3, 0.9, 1.2):
    xs = 1.5 * (1 - lr * a) ** np.arange(61)  # x_t in closed form
    x = 1.5
    for _ in range(60):
        x -= lr * a * x  # the same, step by step
    assert np.isclose(x, xs[-1])
    print(f"lr={lr}: lr*a={lr * a:.1f}  |x| after 60 steps = {abs(x):.3g}")
    assert (abs(x) < 1.5) == (lr * a < 2)
