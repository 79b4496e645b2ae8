"""Which kernel backends this machine has, and which one to use.

``glsl`` needs an OpenGL 4.3 context (compute shaders); ``numba`` needs Numba; ``numpy`` is
always there. The engine picks the first available in that order and says which; a
``--backend`` option overrides, and asking for one that is missing is a clear error.

sim opens no window and compiles no shader file itself: whoever hosts it provides both, with
:func:`set_context_factory` and :func:`set_shader_compiler`. The sandbox does so when it is
imported; without a provider ``glsl`` is unavailable and :func:`glsl_reason` says why.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable

BACKENDS = ("glsl", "numba", "numpy")

_context = None  # the moderngl context GLSL kernels run in (the window's, or a hidden one of ours)
_hidden_window = None  # what the context factory made for us: has ``ctx`` and ``make_current()``
_context_error: str | None = None
_context_factory: Callable[[], Any] | None = None
_shader_compiler: Callable[[Any, Path, dict], Any] | None = None
_shared_shader_dir: Path | None = None

NO_PROVIDER = ("no OpenGL provider: sim makes no GL context of its own; the sandbox gives it one "
               "when it is imported (import sandbox before running GLSL kernels)")


class BackendError(RuntimeError):
    """A backend that was asked for but is not available here, with the reason."""


def use_context(ctx) -> None:
    """Make GLSL kernels run in ``ctx`` (the app calls this with its window's context, and with
    None when that window closes, so that kernels go back to a hidden context of their own)."""
    global _context, _context_error
    _context, _context_error = ctx, None
    glsl_reason.cache_clear()


def set_context_factory(factory: Callable[[], Any] | None) -> None:
    """Say how to make the hidden GL context that kernels use when no window has lent one.

    ``factory()`` returns an object with ``ctx`` (a moderngl context, OpenGL 4.3 core for compute
    shaders) and ``make_current()``; it is called once, the first time a GLSL kernel needs a
    context and :func:`use_context` has given none. sim itself makes no GL context: the sandbox
    installs its headless window here when it is imported (``sandbox.kernels.provide_gl``).
    """
    global _context_factory, _context, _context_error, _hidden_window
    if factory is _context_factory:
        return
    _context_factory = factory
    if _hidden_window is not None and _context is _hidden_window.ctx:
        _context = None  # made by the old factory; the next kernel asks the new one
    _hidden_window, _context_error = None, None
    glsl_reason.cache_clear()


def set_shader_compiler(compiler: Callable[[Any, Path, dict], Any] | None,
                        shared_dir: Path | str | None = None) -> None:
    """Say how to compile a compute shader file, and where the shared kernel shaders live.

    ``compiler(ctx, path, defines)`` returns a moderngl ``ComputeShader`` for the GLSL file
    ``path`` (with its ``#include`` lines resolved and ``#define NAME value`` for each of
    ``defines``); a compile error raises with the message naming file and line.
    ``shared_dir`` is where :func:`sim.kernel.compute_program` finds a shader given by name.
    The sandbox installs its own (``sandbox.gfx.shaders.compile_compute``, ``shaders/kernels``).
    """
    global _shader_compiler, _shared_shader_dir
    _shader_compiler = compiler
    _shared_shader_dir = Path(shared_dir) if shared_dir is not None else None
    glsl_reason.cache_clear()


def compile_compute(ctx, path: Path, defines: dict | None = None):
    """Compile the compute shader file ``path`` with the installed compiler."""
    if _shader_compiler is None:
        raise BackendError(NO_PROVIDER)
    return _shader_compiler(ctx, Path(path), dict(defines or {}))


def shared_shader_dir() -> Path:
    """The folder of the shared kernel shaders (``shaders/kernels`` of the game)."""
    if _shared_shader_dir is None:
        raise BackendError(NO_PROVIDER)
    return _shared_shader_dir


def gl_context():
    """The moderngl context for compute kernels, made current: the app's, else a hidden one.

    The hidden one comes from the factory given to :func:`set_context_factory` (the sandbox's
    headless GLFW window: the same kind of context the app uses headless, so kernels and
    windows can be created in any order in one process).
    """
    global _context, _context_error, _hidden_window
    if _context is None and _context_error is None:
        if _context_factory is None:
            _context_error = NO_PROVIDER
        else:
            try:
                if _hidden_window is None or getattr(_hidden_window, "handle", True) is None:  # none, or closed
                    _hidden_window = _context_factory()
                _context = _hidden_window.ctx
            except Exception as exc:  # no GL driver, or GL below 4.3
                _context_error = f"no OpenGL 4.3 context: {exc}".strip()
    if _context is None:
        raise BackendError(_context_error or "no OpenGL context")
    if _hidden_window is not None and _context is _hidden_window.ctx:
        _hidden_window.make_current()
    return _context


@functools.lru_cache(maxsize=None)
def glsl_reason() -> str | None:
    """None when GLSL compute kernels can run here, else why not."""
    if os.environ.get("CF_NO_GLSL"):
        return "disabled by CF_NO_GLSL"
    if _shader_compiler is None:
        return NO_PROVIDER
    try:
        ctx = gl_context()
    except BackendError as exc:
        return str(exc)
    if ctx.version_code < 430:
        return f"OpenGL {ctx.version_code} has no compute shaders (needs 4.3)"
    return None


@functools.lru_cache(maxsize=None)
def numba_reason() -> str | None:
    """None when Numba kernels can run here, else why not."""
    if os.environ.get("CF_NO_NUMBA"):
        return "disabled by CF_NO_NUMBA"
    try:
        import numba  # noqa: F401
    except Exception as exc:
        return f"Numba is not importable: {exc}"
    return None


def unavailable_reason(backend: str) -> str | None:
    """None if ``backend`` can run here, else a sentence saying why not."""
    if backend not in BACKENDS:
        return f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}"
    return {"glsl": glsl_reason, "numba": numba_reason, "numpy": lambda: None}[backend]()


def available() -> list[str]:
    """The backends that run here, best first."""
    return [b for b in BACKENDS if unavailable_reason(b) is None]


def choose(requested: str | None = None) -> str:
    """The backend to use: ``requested`` if it runs here (else :class:`BackendError`), or the best."""
    if requested:
        reason = unavailable_reason(requested)
        if reason:
            raise BackendError(f"backend {requested!r} is not available: {reason}; available: {', '.join(available())}")
        return requested
    return available()[0]
