"""Every kernel of the game, and the OpenGL that GLSL kernels run on.

Kernels (:class:`sim.kernel.Kernel`) come from two places: the shared ones in :mod:`sim`, and
the ones a level ships in its folder (``kernels.py`` or a ``kernels/`` package, with its GLSL
beside it), found through the level registry like the levels themselves: built-in, from
``--levels-dir`` folders and from installed level packs.

sim makes no GL context and compiles no shader file of its own (it depends on nothing of the
sandbox); :func:`provide_gl`, called when the sandbox is imported, gives it the sandbox's hidden
headless window and shader compiler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from sim import backends

from .paths import SHADERS_DIR

if TYPE_CHECKING:
    from sim.kernel import Kernel

    from .registry import LevelEntry, Registry


def _hidden_window():
    from .gfx.context import Window

    return Window((64, 64), "kernels", headless=True)


def _compile_compute(ctx, path, defines):
    from .gfx.shaders import compile_compute

    return compile_compute(ctx, path, defines)


def provide_gl() -> None:
    """Let sim's GLSL kernels make a hidden headless context and compile shader files with
    ``#include`` and file:line errors (the app's window lends its own context on top)."""
    backends.set_context_factory(_hidden_window)
    backends.set_shader_compiler(_compile_compute, SHADERS_DIR / "kernels")


def all_kernels(registry: Registry) -> dict[str, Kernel]:
    """sim's shared kernels and every level's of ``registry``, by name.

    A level whose kernels cannot be imported raises ``sandbox.registry.LevelLoadError``.
    """
    from sim.kernel import all_kernels as shared

    kernels = shared()
    for entry in registry:
        kernels.update(entry.kernels())
    return kernels


def check_kernels(kernels: Iterable[Kernel], seed: int = 0) -> list[str]:
    """Each kernel on each backend it has that runs here, against its numpy reference.

    Returns the problems (empty when all agree): a mismatch says which kernel, which backend and
    where the values differ; a crash gives the exception; a kernel without an example input or
    with only a reference is reported too.
    """
    problems = []
    for kernel in kernels:
        if kernel.example is None:
            problems.append(f"kernel {kernel.name!r} has no example input (Kernel(example=...))")
            continue
        if kernel.numba is None and kernel.glsl is None:
            problems.append(f"kernel {kernel.name!r} has only a numpy reference: give it numba= or glsl=")
            continue
        for backend in kernel.runnable():
            if backend == "numpy":
                continue
            try:
                mismatch = kernel.check(backend, seed)
            except Exception as exc:
                mismatch = f"kernel {kernel.name!r} on {backend} raised {type(exc).__name__}: {exc}"
            if mismatch:
                problems.append(mismatch)
    return problems


def run_level_script(path: str, argv: list[str] | None = None):
    """Run ``main(argv)`` of the level module file ``path`` as the game imports it.

    For a level's ``kernels.py`` run as a script (``python levels/<id>/kernels.py --bench``): its
    ``if __name__ == "__main__"`` block calls this, so the code runs in the level's package (the
    same module, kernels and Numba cache as in the game) with the sandbox's GL context.
    """
    from pathlib import Path

    from .manifest import load_manifest
    from .registry import LevelEntry

    file = Path(path).resolve()
    entry = LevelEntry(file.parent, "script", load_manifest(file.parent))
    return entry.module(file.stem).main(argv)


def level_kernel_problems(entry: LevelEntry) -> list[str]:
    """:func:`check_kernels` for the kernels of one level (``continuous-function validate``)."""
    try:
        kernels = entry.kernels()
    except Exception as exc:
        return [f"kernels: {exc}"]
    return check_kernels(kernels.values())
