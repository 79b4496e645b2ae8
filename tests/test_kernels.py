"""Every kernel, on every backend this machine has, agrees with its numpy reference."""

import numpy as np
import pytest

from sim.kernel import all_kernels

KERNELS = all_kernels()
CASES = [(name, backend) for name, kernel in sorted(KERNELS.items()) for backend in kernel.implementations()
         if backend != "numpy"]


def _compare(expected, actual, kernel, where=""):
    if isinstance(expected, (tuple, list)):
        assert len(expected) == len(actual)
        for i, (e, a) in enumerate(zip(expected, actual)):
            _compare(e, a, kernel, f"{where}[{i}]")
        return
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                               rtol=kernel.rtol, atol=kernel.atol, err_msg=f"{kernel.name}{where}")


def test_there_are_kernels_and_each_has_an_example():
    assert KERNELS
    for kernel in KERNELS.values():
        assert kernel.example is not None, f"{kernel.name} has no example input"
        assert kernel.numba is not None or kernel.glsl is not None, f"{kernel.name} has only a reference"


@pytest.mark.parametrize("name, backend", CASES, ids=[f"{n}-{b}" for n, b in CASES])
def test_kernel_agrees_with_the_numpy_reference(name, backend):
    kernel = KERNELS[name]
    if backend not in kernel.runnable():
        pytest.skip(f"{backend} is not available here")
    rng = np.random.default_rng(0)
    args = kernel.example(rng)
    expected = kernel.reference(*args)
    actual = kernel(*args, backend=backend)
    _compare(expected, actual, kernel)
