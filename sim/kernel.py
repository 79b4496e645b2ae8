"""A kernel: one computation with a numpy oracle, a Numba version and a GLSL compute version.

Declare one with :func:`register`; call it with ``kernel(*args, backend=...)``. Every
registered kernel carries an ``example`` input generator and a tolerance, and the test suite
(and ``continuous-function validate`` for a level folder) runs every kernel on every available
backend against its numpy reference (:meth:`Kernel.check`).

The kernels here in :mod:`sim` are the ones several levels share; a kernel of one level lives in
that level's folder (``kernels.py``, with its GLSL beside it) and registers the same way.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import backends


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

    @property
    def module(self) -> str:
        """The module that defines the reference (``sim.rng``, ``cf_level_<id>.kernels``)."""
        return getattr(self.reference, "__module__", None) or ""

    def check(self, backend: str, seed: int = 0) -> str | None:
        """Run ``backend`` and the numpy reference on the example input drawn from ``seed``:
        None when they agree within the tolerances, else a message saying where they differ.

        Exceptions of either implementation propagate (a crash is not a mismatch).
        """
        if self.example is None:
            return f"kernel {self.name!r} has no example input to check"
        args = self.example(np.random.default_rng(seed))
        expected = self.reference(*args)
        actual = self(*args, backend=backend)
        mismatch = _mismatch(expected, actual, self, "")
        return f"kernel {self.name!r} on {backend}: the result{mismatch}" if mismatch else None

    def __call__(self, *args, backend: str = "numpy", **kwargs):
        if backend == "glsl" and self.glsl is not None:
            return self.glsl(backends.gl_context(), *args, **kwargs)
        if backend in ("glsl", "numba") and self.numba is not None and backends.numba_reason() is None:
            return self.numba(*args, **kwargs)
        return self.reference(*args, **kwargs)


def _mismatch(expected, actual, kernel: Kernel, where: str) -> str | None:
    """None if ``actual`` matches ``expected`` within the kernel's tolerances, else what differs."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(expected) != len(actual):
            return f"{where} returns {type(actual).__name__}, the reference {len(expected)} values"
        for i, (e, a) in enumerate(zip(expected, actual)):
            message = _mismatch(e, a, kernel, f"{where}[{i}]")
            if message:
                return message
        return None
    e, a = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape:
        return f"{where} has shape {a.shape}, the reference {e.shape}"
    bad = ~np.isclose(a, e, rtol=kernel.rtol, atol=kernel.atol, equal_nan=True)
    if not bad.any():
        return None
    error = np.nan_to_num(np.abs(a - e), nan=np.inf)
    worst = np.unravel_index(int(np.argmax(np.where(bad, error, -1.0))), e.shape) if e.ndim else ()
    at = f" at index {tuple(int(i) for i in worst)}" if e.ndim else ""
    return (f"{where} differs from the numpy reference in {int(bad.sum())} of {e.size} values "
            f"(rtol={kernel.rtol:g}, atol={kernel.atol:g}); the worst{at}: {a[worst]!r} instead of {e[worst]!r}")


KERNELS: dict[str, Kernel] = {}


def register(kernel: Kernel) -> Kernel:
    """Add a kernel to the registry that the cross-backend test walks.

    Registering a name again from the same code (a level reloaded after an edit) replaces the
    kernel; a kernel of the same name from other code is an error (names are global: a level's
    kernels are best prefixed with the level id).
    """
    known = KERNELS.get(kernel.name)
    if known is not None and known.module != "__main__" and (  # a script's copy gives way to the module
            (known.module, _qualname(known)) != (kernel.module, _qualname(kernel))):
        raise ValueError(f"kernel name {kernel.name!r} is taken: {known.module} registered it before "
                         f"{kernel.module or 'this module'}; give the kernel another name")
    KERNELS[kernel.name] = kernel
    return kernel


def _qualname(kernel: Kernel) -> str:
    return getattr(kernel.reference, "__qualname__", "")


def all_kernels() -> dict[str, Kernel]:
    """The shared kernels: import every module of :mod:`sim` (kernels register themselves).

    Levels' own kernels are found through the level registry (``sandbox.kernels.all_kernels``).
    """
    import sim

    for info in pkgutil.iter_modules(sim.__path__):
        importlib.import_module(f"sim.{info.name}")
    return {name: k for name, k in KERNELS.items() if k.module == "sim" or k.module.startswith("sim.")}


_programs: dict[tuple, Any] = {}


def compute_program(ctx, shader: str | Path, **defines):
    """The compiled compute shader (cached per context, file and defines).

    ``shader`` is a name of a shared kernel shader (``"rng_normal"``: ``shaders/kernels/rng_normal.glsl``)
    or the absolute path of a shader file, such as one beside the level's ``kernels.py``::

        HERE = Path(__file__).parent
        program = compute_program(ctx, HERE / "my_kernel.glsl", LOCAL_SIZE=256)

    Each ``defines`` item becomes ``#define NAME value``; ``#include "file.glsl"`` resolves next
    to the including file, then in the shared ``shaders/`` folder (``kernels/include/...``).
    A compile error raises with the message naming the file and line. An edited shader file is
    compiled again at its next use (a level's kernels follow their GLSL while the game runs).
    """
    if isinstance(shader, Path):
        if not shader.is_absolute():
            raise ValueError(f"compute_program: {shader} is relative; give Path(__file__).parent / {str(shader)!r}")
        path = shader
    else:
        path = backends.shared_shader_dir() / f"{shader}.glsl"
    key = (id(ctx), str(path), tuple(sorted(defines.items())))
    stamp = _mtime(path)
    cached = _programs.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    program = backends.compile_compute(ctx, path, defines)  # raises, keeping the old one, if it fails
    if cached is not None:
        cached[1].release()
    _programs[key] = (stamp, program)
    return program


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def groups(n: int, local_size: int) -> int:
    """Work groups needed to cover ``n`` invocations with ``local_size`` per group."""
    return max(1, (n + local_size - 1) // local_size)
