"""Numerical kernels of the levels.

Every kernel has a numpy reference (the oracle), a Numba version and, where GL 4.3 compute
shaders exist, a GLSL version; see :mod:`sim.kernel` and :mod:`sim.backends`.
"""
