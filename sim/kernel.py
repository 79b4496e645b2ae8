"""A kernel: one computation with a numpy oracle, a Numba version and a GLSL compute version.

Declare one with :func:`register`; call it with ``kernel(*args, backend=...)``. Every
registered kernel carries an ``example`` input generator and a tolerance, and the test suite
runs every kernel on every available backend against its numpy reference.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import backends

KERNEL_SHADERS = "kernels"  # folder under shaders/ that holds compute kernels


@dataclass(frozen=True)
class Kernel:
    """A computation with interchangeable backends that must agree within a tolerance."""

    name: str
    reference: Callable[..., Any]
    numba: Callable[..., Any] | None = None
    glsl: Callable[..., Any] | None = None  # called with the moderngl context first
    example: Callable[[np.random.Generator], tuple] | None = None
    rtol: float = 1e-5
    atol: float = 1e-6
    doc: str = ""

    def implementations(self) -> list[str]:
        """The backends this kernel has code for."""
        return [b for b, f in (("glsl", self.glsl), ("numba", self.numba), ("numpy", self.reference)) if f]

    def runnable(self) -> list[str]:
        """The backends that have code and run on this machine."""
        return [b for b in self.implementations() if backends.unavailable_reason(b) is None]

    def __call__(self, *args, backend: str = "numpy", **kwargs):
        if backend == "glsl" and self.glsl is not None:
            return self.glsl(backends.gl_context(), *args, **kwargs)
        if backend in ("glsl", "numba") and self.numba is not None and backends.numba_reason() is None:
            return self.numba(*args, **kwargs)
        return self.reference(*args, **kwargs)


KERNELS: dict[str, Kernel] = {}


def register(kernel: Kernel) -> Kernel:
    """Add a kernel to the registry that the cross-backend test walks."""
    KERNELS[kernel.name] = kernel
    return kernel


def all_kernels() -> dict[str, Kernel]:
    """Import every module of :mod:`sim` (kernels register themselves) and return the registry."""
    import sim

    for info in pkgutil.iter_modules(sim.__path__):
        importlib.import_module(f"sim.{info.name}")
    return dict(KERNELS)


_programs: dict[tuple, Any] = {}


def compute_program(ctx, name: str, **defines):
    """The compiled compute shader ``shaders/kernels/<name>.glsl`` (cached per context and defines).

    Compile errors raise ``sandbox.gfx.shaders.ShaderError`` naming the file and line.
    """
    from sandbox.gfx.shaders import compile_compute
    from sandbox.paths import SHADERS_DIR

    path = Path(SHADERS_DIR) / KERNEL_SHADERS / f"{name}.glsl"
    key = (id(ctx), name, tuple(sorted(defines.items())))
    program = _programs.get(key)
    if program is None:
        program = _programs[key] = compile_compute(ctx, path, defines)
    return program


def groups(n: int, local_size: int) -> int:
    """Work groups needed to cover ``n`` invocations with ``local_size`` per group."""
    return max(1, (n + local_size - 1) // local_size)
