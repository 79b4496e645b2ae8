"""The base class of a level's simulation.

A model is plain numpy: no GL, no UI. The runner calls ``reset(seed)`` once, then ``step()``
once per fixed timestep, then ``observables()`` to record the named quantities the manifest
declares. Challenges call ``measure_<name>(run)`` methods, which compute an outcome from the
simulation that was just run (see :mod:`sandbox.challenges`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Model:
    """Subclass this in a level's ``model.py``.

    ``params`` holds every manifest parameter, already type-checked and in range; ``backend``
    is ``"glsl"``, ``"numba"`` or ``"numpy"``, for models that call :mod:`sim` kernels.
    """

    #: What one unit of work is, for ``continuous-function bench`` (e.g. "particle-steps").
    work_unit = "steps"

    #: Wall-clock seconds one step stands for at 1x speed (1 / the manifest's steps_per_second);
    #: the runner sets it, for models that animate in real time.
    step_seconds = 1.0 / 60.0

    def __init__(self, params: dict[str, Any], backend: str = "numpy"):
        self.params = dict(params)
        self.backend = backend
        self.diverged = False

    def reset(self, seed: int = 0) -> None:
        """Start the simulation afresh, deterministically from ``seed``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one fixed timestep."""
        raise NotImplementedError

    def observables(self) -> dict[str, float]:
        """The current value of every observable the manifest declares."""
        raise NotImplementedError

    def set_param(self, name: str, value: Any) -> None:
        """Change a parameter live (the view's sliders call this); override to react."""
        self.params[name] = value

    def work_per_step(self) -> float:
        """Units of ``work_unit`` done by one ``step()`` (the number of particles, say)."""
        return 1.0

    def state(self) -> dict[str, np.ndarray]:
        """The arrays that make up the state, for the finiteness checks of tests and the runner."""
        return {}

    def release(self) -> None:
        """Free resources that garbage collection does not (GPU buffers); called when the run ends."""
