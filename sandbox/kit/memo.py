"""Derived data computed once per change of what it depends on.

In a model, :func:`derived` memoises a method on the parameters it names (and optionally on a
key of the model's state), so a view can ask for the loss surface every frame and it is
computed when ``depth`` changes, not sixty times a second. In a view, :class:`Cache` holds GPU
resources built from derived data and releases the old one when its key changes.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a parameter value or key (arrays by content)."""
    if hasattr(value, "tobytes") and hasattr(value, "shape"):
        return (value.shape, str(value.dtype), value.tobytes())
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def derived(*params: str, key: Callable[[Any], Any] | None = None, backend: bool = False):
    """Memoise a model method on ``self.params[name]`` for each name in ``params``, on
    ``key(self)`` if given (a version number of edited state, say) and on ``self.backend`` if
    ``backend``; the method's own arguments are part of the key too.

    The cache lives on the instance and keeps the latest result per argument tuple, so memory
    stays bounded::

        @derived("depth", "start_x")
        def surface(self, nx=160, ny=72): ...
    """

    def decorate(method):
        name = method.__name__

        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            depends = (tuple(_freeze(self.params.get(p)) for p in params),
                       _freeze(key(self)) if key is not None else None,
                       self.backend if backend else None)
            call = (_freeze(args), _freeze(kwargs))
            caches = self.__dict__.setdefault("_derived", {})
            entry = caches.get((name, call))
            if entry is None or entry[0] != depends:
                entry = caches[(name, call)] = (depends, method(self, *args, **kwargs))
            return entry[1]

        wrapper.depends_on = tuple(params)
        return wrapper

    return decorate


def forget_derived(model) -> None:
    """Drop every memoised result of ``model`` (after a reset that changes hidden state)."""
    model.__dict__.pop("_derived", None)


class Cache:
    """Named values rebuilt when their key changes; old values with ``release()`` are released.

    ``cache.get("surface", model.surface(), lambda: painter.surface(*model.surface()))``: the key
    may be any object; it is compared by identity first (derived data returns the same object
    until it changes), then by equality.
    """

    def __init__(self):
        self._items: dict[str, tuple[Any, Any]] = {}

    def get(self, name: str, key: Any, build: Callable[[], Any]) -> Any:
        item = self._items.get(name)
        if item is not None and (item[0] is key or _same(item[0], key)):
            return item[1]
        if item is not None:
            _release(item[1])
        value = build()
        self._items[name] = (key, value)
        return value

    def drop(self, names: Iterable[str] | None = None) -> None:
        """Forget (and release) the named values, or all of them."""
        for name in list(self._items if names is None else names):
            item = self._items.pop(name, None)
            if item is not None:
                _release(item[1])

    def release(self) -> None:
        self.drop()


def _same(a, b) -> bool:
    try:
        result = a == b
        return bool(result) if not hasattr(result, "all") else bool(result.all())
    except Exception:
        return False


def _release(value) -> None:
    release = getattr(value, "release", None)
    if callable(release):
        release()
