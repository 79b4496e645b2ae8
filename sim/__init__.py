"""Numerical kernels of the levels.

Every kernel has a numpy reference (the oracle), a Numba version and, where GL 4.3 compute
shaders exist, a GLSL version; see :mod:`sim.kernel` and :mod:`sim.backends`.
"""

import os as _os

# Parallel Numba kernels share two cores with the renderer and the UI: waiting threads should
# sleep, not spin (spinning made kernels several times slower under contention).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# The models' matrices are small: a second BLAS thread gains nothing and, when the other core
# is busy, made training 10x slower. Set before numpy is imported (by the sim package or app).
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
