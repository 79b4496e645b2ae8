"""Gradient descent on a x^2 / 2 converges iff lr * a < 2."""
import numpy as np

a = 2.0
for lr in (0.3, 0.9, 1.2):
    x = 1.5
    for _ in range(60):
        x -= lr * a * x
    print(f"lr={lr}: lr*a={lr * a:.1f}  |x| after 60 steps = {abs(x):.3g}")
    assert (abs(x) < 1.5) == (lr * a < 2)
