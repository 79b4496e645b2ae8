"""Running a model: fixed timesteps, recorded observables, divergence and errors.

The same runner serves the window, ``continuous-function run`` and the challenges, so what a
learner sees and what a test asserts come from one code path.
"""

from __future__ import annotations

import math
import traceback
from typing import Any

import numpy as np

from .manifest import Manifest
from .model import Model


class Series:
    """One observable's history: a float64 buffer that doubles when full (amortised O(1) appends,
    and reading it is a view, not a copy, however long the run has gone on)."""

    def __init__(self, capacity: int = 1024):
        self._data = np.empty(capacity, dtype=np.float64)
        self._n = 0

    def append(self, value: float) -> None:
        if self._n == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        self._data[self._n] = value
        self._n += 1

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index):
        return self.view()[index]

    def view(self) -> np.ndarray:
        """The values so far (read-only: the buffer belongs to the run)."""
        out = self._data[: self._n]
        out.flags.writeable = False
        return out


class Snapshots:
    """An array observable's history with bounded memory: at most ``keep`` snapshots, taken every
    ``every`` steps at first; when full, every other one is dropped and the spacing doubles, so
    the snapshots always span the whole run (densest where it is shortest)."""

    def __init__(self, every: int = 1, keep: int = 256):
        self.every = every
        self.keep = keep
        self.steps: list[int] = []
        self.values: list[np.ndarray] = []
        self.latest: np.ndarray | None = None  # the last value reported, due or not

    def offer(self, step: int, value) -> None:
        array = np.array(value, copy=True)
        array.flags.writeable = False
        self.latest = array
        if step % self.every:
            return
        self.steps.append(step)
        self.values.append(array)
        if len(self.values) >= self.keep:
            self.steps, self.values = self.steps[::2], self.values[::2]
            self.every *= 2

    def __len__(self) -> int:
        return len(self.values)


class Runner:
    """A model with its parameters, its step count and the history of its observables.

    A model that raises stops the runner with ``error`` set (the traceback, for the UI); a model
    whose observables or state become non-finite stops it with ``diverged`` set. Neither raises:
    the app shows the message and offers a reset.
    """

    def __init__(self, manifest: Manifest, model_cls: type, params: dict[str, Any] | None = None,
                 seed: int = 0, backend: str = "numpy"):
        self.manifest = manifest
        self.params = manifest.resolve_params(params)
        self.seed = seed
        self.backend = backend
        self.model: Model = model_cls(dict(self.params), backend=backend)
        self.model.step_seconds = 1.0 / manifest.steps_per_second
        self.error: str | None = None
        self.reset(seed)

    @property
    def diverged(self) -> bool:
        return bool(self.model.diverged)

    @property
    def stopped(self) -> bool:
        """True when stepping does nothing until a reset (an error or a divergence)."""
        return self.error is not None or self.diverged

    def reset(self, seed: int | None = None) -> None:
        """Restart the model from ``seed`` (the last one if None) and clear the history."""
        if seed is not None:
            self.seed = seed
        self.steps = 0
        self.error = None
        self.generation = getattr(self, "generation", -1) + 1  # views rebuild what they derived
        scalars = [o for o in self.manifest.observables.values() if o.kind == "scalar"]
        self.history: dict[str, Series] = {o.name: Series() for o in scalars}
        self.snapshots: dict[str, Snapshots] = {o.name: Snapshots(o.every, o.keep)
                                                for o in self.manifest.observables.values() if o.kind == "array"}
        try:
            self.model.diverged = False
            self.model.reset(self.seed)
            self._record()
        except Exception:
            self.error = traceback.format_exc()

    def set_param(self, name: str, value: Any) -> bool:
        """Change one parameter (checked against the manifest); returns True if it reset the run."""
        value = self.manifest.params[name].coerce(value)
        self.params[name] = value
        self.model.set_param(name, value)
        if self.manifest.params[name].resets:
            self.reset()
            return True
        return False

    def step(self, n: int = 1) -> int:
        """Advance up to ``n`` steps; returns how many were taken (fewer if the run stopped)."""
        taken = 0
        while taken < n and not self.stopped:
            try:
                self.model.step()
                self.steps += 1
                taken += 1
                self._record()
            except FloatingPointError:
                self.model.diverged = True
            except Exception:
                self.error = traceback.format_exc()
        return taken

    def _record(self) -> None:
        values = self.model.observables()
        missing = (set(self.history) | set(self.snapshots)) - set(values)
        if missing:
            raise KeyError(f"observables() did not report {', '.join(sorted(missing))}")
        for name in self.history:
            value = float(values[name])
            self.history[name].append(value)
            if not math.isfinite(value):
                self.model.diverged = True
        for name, store in self.snapshots.items():
            store.offer(self.steps, values[name])
        if not self.model.diverged:
            for array in self.model.state().values():
                if not np.all(np.isfinite(array)):
                    self.model.diverged = True
                    break

    def series(self, name: str) -> np.ndarray:
        """The history of one observable as a float64 array (one value per step, step 0 first)."""
        return self.history[name].view()

    def array(self, name: str) -> np.ndarray:
        """The latest value of an array observable (read-only)."""
        latest = self.snapshots[name].latest
        if latest is None:
            raise KeyError(f"no value of {name!r} recorded yet")
        return latest

    def arrays(self, name: str) -> tuple[np.ndarray, list[np.ndarray]]:
        """The recorded snapshots of an array observable: (steps, values), oldest first."""
        store = self.snapshots[name]
        return np.asarray(store.steps, dtype=np.int64), list(store.values)

    def latest(self) -> dict[str, float]:
        """The last recorded value of every observable."""
        return {name: float(values[-1]) if len(values) else math.nan for name, values in self.history.items()}

    def to_json(self, with_history: bool = True) -> dict[str, Any]:
        """One JSON-ready object: level, parameters, steps, final observables, histories (array
        observables give their latest value as nested lists)."""

        out: dict[str, Any] = {
            "level": self.manifest.id,
            "params": self.params,
            "seed": self.seed,
            "backend": self.backend,
            "steps": self.steps,
            "diverged": self.diverged,
            "error": self.error,
            "observables": {k: _clean(v) for k, v in self.latest().items()},
        }
        if self.snapshots:
            out["arrays"] = {k: _clean(store.latest.tolist()) if store.latest is not None else None
                             for k, store in self.snapshots.items()}
        if with_history:
            out["history"] = {k: [_clean(float(v)) for v in vs.view()] for k, vs in self.history.items()}
        return out


def _clean(value):
    """JSON-ready: non-finite floats as the strings "nan", "inf", "-inf", inside lists too."""
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
