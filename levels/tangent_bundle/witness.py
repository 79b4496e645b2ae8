"""Carry a vector round a latitude of the unit sphere by projecting it onto each next tangent plane:
it comes home turned by the enclosed curvature 2π(1 − cos θ), the error shrinking like 1/steps."""
import numpy as np


def transport_round_latitude(theta, steps):
    lam = np.linspace(0.0, 2 * np.pi, steps + 1)
    points = np.stack([np.sin(theta) * np.cos(lam), np.sin(theta) * np.sin(lam), np.full_like(lam, np.cos(theta))], 1)
    east, north = np.array([0.0, 1.0, 0.0]), np.array([-np.cos(theta), 0.0, np.sin(theta)])  # at longitude 0
    start = np.cos(0.5) * east + np.sin(0.5) * north  # any starting direction turns by the same angle
    v = start.copy()
    for n in points[1:]:  # on the unit sphere the normal is the point itself
        v = v - n * (v @ n)  # project onto the next tangent plane ...
        v /= np.linalg.norm(v)  # ... and keep the length
    n0 = points[0]
    return np.arctan2(np.cross(start, v) @ n0, start @ v)  # the turn, counter-clockwise about n


for theta_deg in (30.0, 45.0, 75.0, 90.0, 135.0):  # (at a half turn the first-order errors cancel)
    theta = np.radians(theta_deg)
    exact = 2 * np.pi * (1 - np.cos(theta))  # ∬K dA over the cap north of the latitude
    wrapped = np.angle(np.exp(1j * exact))
    errors = [abs(np.angle(np.exp(1j * (transport_round_latitude(theta, n) - wrapped)))) for n in (250, 500, 1000, 2000)]
    order = -np.polyfit(np.log([250, 500, 1000, 2000]), np.log(errors), 1)[0]
    print(f"θ = {theta_deg:5.1f}°: turn {np.degrees(transport_round_latitude(theta, 2000)):8.3f}°, "
          f"2π(1 − cos θ) = {np.degrees(exact):7.3f}° (wrapped {np.degrees(wrapped):8.3f}°), order {order:.2f}")
    assert errors[-1] < 0.01 and 0.9 < order < 1.1, "first order, converging to the enclosed curvature"

# the saddle z = (x² − y²)/2 turns the other way: ∬K dA over the disc of radius ρ is 2π(1/√(1 + ρ²) − 1)
rho, t = 1.0, np.linspace(0.0, 2 * np.pi, 4001)
x, y = rho * np.cos(t), rho * np.sin(t)
normals = np.stack([-x, y, np.ones_like(x)], 1) / np.sqrt(1 + x * x + y * y)[:, None]
v = np.array([1.0, 0.0, 0.0]) - normals[0] * normals[0, 0]
v0 = v / np.linalg.norm(v)
v = v0.copy()
for n in normals[1:]:
    v = v - n * (v @ n)
    v /= np.linalg.norm(v)
turn = np.arctan2(np.cross(v0, v) @ normals[0], v0 @ v)
print(f"saddle, ρ = 1: turn {np.degrees(turn):.2f}°, 2π(1/√2 − 1) = {np.degrees(2 * np.pi * (2 ** -0.5 - 1)):.2f}°")
assert turn < 0 and abs(turn - 2 * np.pi * (2 ** -0.5 - 1)) < 2e-3
