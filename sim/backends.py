"""Which kernel backends this machine has, and which one to use.

``glsl`` needs an OpenGL 4.3 context (compute shaders); ``numba`` needs Numba; ``numpy`` is
always there. The engine picks the first available in that order and says which; a
``--backend`` option overrides, and asking for one that is missing is a clear error.
"""

from __future__ import annotations

import functools
import os

BACKENDS = ("glsl", "numba", "numpy")

_context = None  # the moderngl context GLSL kernels run in (the window's, or a hidden one of ours)
_hidden_window = None  # the hidden headless window that owns our own context, if we made one
_context_error: str | None = None


class BackendError(RuntimeError):
    """A backend that was asked for but is not available here, with the reason."""


def use_context(ctx) -> None:
    """Make GLSL kernels run in ``ctx`` (the app calls this with its window's context, and with
    None when that window closes, so that kernels go back to a hidden context of their own)."""
    global _context, _context_error
    _context, _context_error = ctx, None
    glsl_reason.cache_clear()


def gl_context():
    """The moderngl context for compute kernels, made current: the app's, else a hidden one.

    The hidden one is a headless GLFW window (Null platform, EGL), the same kind of context the
    app uses headless, so kernels and windows can be created in any order in one process.
    """
    global _context, _context_error, _hidden_window
    if _context is None and _context_error is None:
        try:
            from sandbox.gfx.context import Window

            if _hidden_window is None or _hidden_window.handle is None:
                _hidden_window = Window((64, 64), "kernels", headless=True)
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
