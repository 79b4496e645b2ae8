"""Gradient descent in the canyon L = f(x) + ½h(x)y² hovers where its sharpness is 2/η."""
import numpy as np

h0, depth, g0, kappa, m = 20.0, 80.0, 20.0, 0.25, 4.0  # plateau curvature, floor curvature, slope
s, q = m * kappa, (h0 / depth) ** m  # q puts the floor's minimum where h = depth
sig = lambda z: 1.0 / (1.0 + np.exp(-z))


def gradient_and_hessian(x, y):
    h = h0 * (1.0 + np.exp(s * x)) ** (1.0 / m)  # wall curvature: h0 on the plateau, then ~e^(κx)
    dh = h * kappa * sig(s * x)
    d2h = h * ((kappa * sig(s * x)) ** 2 + kappa * s * sig(s * x) * sig(-s * x))
    df = -g0 * (sig(-s * x) - q)  # the floor's slope falls like h^-4, zero at the minimum
    d2f = g0 * s * sig(s * x) * sig(-s * x)
    gradient = np.array([df + 0.5 * dh * y * y, h * y])
    return gradient, np.array([[d2f + 0.5 * d2h * y * y, dh * y], [dh * y, h]])


for eta in (0.03, 0.05, 0.02):
    p = np.array([-2.0, 1.0])  # start on the plateau, up the wall
    sharpness = []
    for step in range(1500):
        p = p - eta * gradient_and_hessian(*p)[0]
        p[1] = np.copysign(max(abs(p[1]), 1e-6), p[1])  # the noise real training never loses
        sharpness.append(np.linalg.eigvalsh(gradient_and_hessian(*p)[1])[-1])
    late = np.mean(sharpness[-500:])
    edge = min(2.0 / eta, depth)  # bounce at 2/η if the canyon gets that sharp, else settle
    print(f"η = {eta}: late sharpness {late:6.2f}   2/η = {2 / eta:6.2f}   floor = {depth}")
    assert abs(late - edge) < 0.1 * edge
