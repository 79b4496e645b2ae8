"""Schedule-Free SGD vs a cosine schedule on a noisy river valley: who is ahead at T/2, and at T?"""
import numpy as np

wall, depth, width, bend = 2.0, 1.0, 0.5, 0.06  # L = ½ wall (u − bend v²)² + depth log(1 + v²/width²)


def grad(p):
    u, v = p[:, 0], p[:, 1]
    across = wall * (u - bend * v * v)
    return np.stack([across, -2 * bend * v * across + 2 * depth * v / (width**2 + v * v)], axis=1)


def loss(p):
    u, v = p[:, 0], p[:, 1]
    return np.mean(0.5 * wall * (u - bend * v * v) ** 2 + depth * np.log1p((v / width) ** 2))


T, balls, noise, beta = 400, 256, 0.3, 0.9
lr_sf, peak = 2.0, 0.0631  # the step sizes the level's tuner picks for T = 400
rng = np.random.default_rng(0)
start = np.tile([1.5, 5.0], (balls, 1))
z, x, w = start.copy(), start.copy(), start.copy()  # Schedule-Free's z and x; the cosine run's w
for t in range(T):
    kick = noise * rng.standard_normal((balls, 2))  # the same minibatch noise for both
    y = (1 - beta) * z + beta * x  # Schedule-Free takes its gradient between z and x
    z = z - lr_sf * (grad(y) + kick)  # the explorer: constant steps
    x = x + (z - x) / (t + 2)  # the evaluator: the running mean of z
    w = w - peak * 0.5 * (1 + np.cos(np.pi * t / T)) * (grad(w) + kick)  # SGD, cosine schedule
    if t + 1 == T // 2:
        half = loss(x), loss(w)
        print(f"t = T/2: Schedule-Free x {half[0]:.5f}   cosine {half[1]:.5f}   (explorer z {loss(z):.3f})")
end = loss(x), loss(w)
print(f"t = T:   Schedule-Free x {end[0]:.5f}   cosine {end[1]:.5f}")
assert half[0] < half[1]  # stopped early, Schedule-Free's average is ahead
assert end[1] < end[0]  # at the end it was planned for, the cosine run edges ahead
