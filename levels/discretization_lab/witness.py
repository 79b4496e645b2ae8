"""Three ways to turn x' = Ax + Bu into x_k = Ā x_(k-1) + B̄ u_k, and HiPPO-LegS memory."""
import numpy as np
from numpy.polynomial import legendre

sigma, omega = -1.0, 3.0  # continuous poles σ ± iω
A, B, I = np.array([[sigma, -omega], [omega, sigma]]), np.array([1.0, 0.0]), np.eye(2)

def expm(t):  # exp(tA) for this A: a decaying rotation
    c, s = np.cos(omega * t), np.sin(omega * t)
    return np.exp(sigma * t) * np.array([[c, -s], [s, c]])

def radius(M):
    return np.abs(np.linalg.eigvals(M)).max()

for dt in (0.1, 0.19, 0.21, 1.0, 100.0):
    euler, zoh = I + dt * A, expm(dt)
    bilinear = np.linalg.solve(I - dt / 2 * A, I + dt / 2 * A)
    print(f"Δ={dt:<5} |1+Δλ|={abs(1 + dt * complex(sigma, omega)):7.3f}  radius: euler {radius(euler):7.3f}"
          f"  bilinear {radius(bilinear):.3f}  zoh {radius(zoh):.3f} = e^(σΔ) {np.exp(sigma * dt):.3f}")
print("Euler's largest stable step -2σ/|λ|² =", -2 * sigma / (sigma**2 + omega**2))

# ZOH is exact for a step: k steps against the exact x(t) = A⁻¹(e^(At) - I)B at t = kΔ.
dt, k, x = 0.3, 20, np.zeros(2)
Abar = expm(dt)
Bbar = np.linalg.solve(A, (Abar - I) @ B)
for _ in range(k):
    x = Abar @ x + Bbar
print("ZOH after 20 steps vs exact:", np.abs(x - np.linalg.solve(A, (expm(k * dt) - I) @ B)).max())

# HiPPO-LegS: c' = (A c + B u)/t keeps the Legendre coefficients of u over all of [0, t].
N, steps = 16, 2000
r = np.sqrt(2 * np.arange(N) + 1)
A_legs, B_legs = -np.tril(np.outer(r, r), -1) - np.diag(np.arange(N) + 1.0), r
u = np.sin(np.linspace(0, 9, steps)) + 0.3 * np.cos(np.linspace(0, 23, steps))
c = np.zeros(N)
for j in range(1, steps + 1):  # bilinear step of the scaled ODE: h / t_j = 1 / j
    c = np.linalg.solve(np.eye(N) - A_legs / (2 * j), c + A_legs @ c / (2 * j) + B_legs * u[j - 1] / j)
history = legendre.legvander(2 * np.arange(1, steps + 1) / steps - 1, N - 1) @ (c * r)
print(f"LegS: {N} numbers rebuild {steps} samples, RMS error {np.sqrt(np.mean((history - u)**2)):.4f}")
