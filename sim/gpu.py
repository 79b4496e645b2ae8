"""GPU-resident arrays: a typed view of one GL buffer, with an owner and a documented lifetime.

A :class:`GpuArray` is state that stays on the GPU between steps (particles, a field): the
GLSL kernels read and write it in place, and a view may bind the same buffer to draw it, so
nothing is copied back each frame.

Lifetime:

* **created** by the model when it builds its state on the GLSL backend (in ``__init__`` or
  ``reset``), on the kernels' context (``sim.backends.gl_context()``, the app window's while it is
  open);
* **owned** by whoever created it: one owner, which alone writes it off;
* **released** by the owner's ``release()``. A model's ``release()`` releases its arrays, and the
  sandbox calls it when the run ends (the level closes or reloads, the app shuts down). A model
  that rebuilds its state (a reset with another size) releases the old array first.

GL memory is not garbage collected: an array that is dropped without ``release()`` stays
allocated until its context goes. Using an array after ``release()`` raises ``RuntimeError``.
Short-lived arrays (inside one kernel call) can use ``with GpuArray(...) as a:``.
"""

from __future__ import annotations

import math

import numpy as np


class GpuArray:
    """``shape`` and ``dtype`` over a moderngl buffer (``buffer``), rows along the first axis.

    The buffer's layout is the C-ordered array's bytes (std430 for ``float``/``vec2``/``vec4``
    rows; a ``vec3`` row needs padding to 4 components).
    """

    def __init__(self, ctx, shape: int | tuple[int, ...], dtype=np.float32, data=None):
        self.ctx = ctx
        self.shape = (int(shape),) if np.isscalar(shape) else tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        if data is not None:
            data = np.ascontiguousarray(data, dtype=self.dtype)
            if data.shape != self.shape:
                raise ValueError(f"data of shape {data.shape} for a GpuArray of shape {self.shape}")
        if data is not None and data.size:
            self._buffer = ctx.buffer(data.tobytes())
        else:  # GL refuses an empty buffer: at least one element's bytes
            self._buffer = ctx.buffer(reserve=max(self.nbytes, self.dtype.itemsize))

    @classmethod
    def from_array(cls, ctx, array) -> GpuArray:
        """A new GPU array holding a copy of ``array``."""
        array = np.ascontiguousarray(array)
        return cls(ctx, array.shape, array.dtype, array)

    # -- what it is ---------------------------------------------------------------------------
    @property
    def buffer(self):
        """The moderngl buffer (to bind as an SSBO or a vertex buffer)."""
        if self._buffer is None:
            raise RuntimeError("this GpuArray was released")
        return self._buffer

    @property
    def released(self) -> bool:
        return self._buffer is None

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def row_bytes(self) -> int:
        return math.prod(self.shape[1:]) * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        state = "released" if self.released else f"{self.nbytes} bytes"
        return f"GpuArray(shape={self.shape}, dtype={self.dtype}, {state})"

    # -- data ---------------------------------------------------------------------------------
    def read(self, rows: int | None = None, start: int = 0) -> np.ndarray:
        """A copy of rows ``start .. start + rows`` (all from ``start`` by default): a readback,
        for observables and tests, not for every frame."""
        rows = len(self) - start if rows is None else min(int(rows), len(self) - start)
        if rows <= 0:
            return np.empty((0, *self.shape[1:]), self.dtype)
        raw = self.buffer.read(size=rows * self.row_bytes, offset=start * self.row_bytes)
        return np.frombuffer(raw, dtype=self.dtype).reshape(rows, *self.shape[1:]).copy()

    def write(self, array, start: int = 0) -> None:
        """Write ``array`` (rows of this array's row shape) from row ``start`` on."""
        array = np.ascontiguousarray(array, dtype=self.dtype).reshape(-1, *self.shape[1:])
        if start < 0 or start + len(array) > len(self):
            raise ValueError(f"rows {start}..{start + len(array)} do not fit in {len(self)}")
        self.buffer.write(array.tobytes(), offset=start * self.row_bytes)

    def clear(self) -> None:
        """Set every byte to zero."""
        self.buffer.clear()

    def bind(self, binding: int) -> None:
        """Bind as the shader storage buffer at ``binding``."""
        self.buffer.bind_to_storage_buffer(binding)

    # -- lifetime -----------------------------------------------------------------------------
    def release(self) -> None:
        """Free the GL buffer (idempotent); the owner calls this."""
        if self._buffer is not None:
            self._buffer.release()
            self._buffer = None

    def __enter__(self) -> GpuArray:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
