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


class History:
    """The scalar observables' histories, in bounded memory.

    Every step is kept until ``max_points`` have been recorded; then the history is thinned to
    half: the older part to every ``spacing``-th step (the spacing doubles each time it must), the
    last ``dense`` steps always at every step. So a plot of the whole run keeps its shape at any
    length, the recent past (a trail, the late part a measurement averages) stays step by step,
    and the memory stays under ``(number of series + 1) * max_points * 8`` bytes (twice that for
    the moment it thins: new buffers, so a view handed out earlier keeps its values).
    :meth:`steps` gives the step of each recorded value.
    """

    MAX_POINTS = 1 << 16
    DENSE = 1 << 12

    def __init__(self, names, max_points: int | None = None, dense: int | None = None):
        self.names = list(names)
        self.max_points = max(8, int(max_points or self.MAX_POINTS))
        self.dense = max(1, min(int(dense or self.DENSE), self.max_points // 4))
        self.spacing = 1  # the thinned part's step spacing
        capacity = min(1024, self.max_points)
        self._values = np.empty((len(self.names), capacity), dtype=np.float64)
        self._steps = np.empty(capacity, dtype=np.int64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, step: int, values) -> None:
        """Record one value per series (in :attr:`names` order) at ``step``."""
        if self._n == self._steps.size:
            self._make_room()
        self._values[:, self._n] = values
        self._steps[self._n] = step
        self._n += 1

    def _make_room(self) -> None:
        # new buffers every time, never in place: a view handed out earlier keeps its values
        n = self._n
        if n < self.max_points:  # grow: amortised O(1) appends
            size = min(2 * n, self.max_points)
            values, steps = np.empty((len(self.names), size)), np.empty(size, dtype=np.int64)
            values[:, :n], steps[:n] = self._values[:, :n], self._steps[:n]
            self._values, self._steps = values, steps
            return
        steps = self._steps[:n]
        recent = steps > steps[-1] - self.dense
        spacing = self.spacing
        while True:  # ends: at a spacing past the last step only step 0 and the recent part are left
            keep = recent | (steps % spacing == 0)
            if np.count_nonzero(keep) <= self.max_points // 2:
                break
            spacing *= 2
        self.spacing = spacing
        kept = np.count_nonzero(keep)
        values, new_steps = np.empty_like(self._values), np.empty_like(self._steps)
        np.compress(keep, self._values[:, :n], axis=1, out=values[:, :kept])  # no temporary copy
        np.compress(keep, steps, out=new_steps[:kept])
        self._values, self._steps, self._n = values, new_steps, kept

    def view(self, name_or_index) -> np.ndarray:
        """The recorded values of one series (read-only: the buffer belongs to the run)."""
        i = name_or_index if isinstance(name_or_index, int) else self.names.index(name_or_index)
        out = self._values[i, : self._n]
        out.flags.writeable = False
        return out

    def steps(self) -> np.ndarray:
        """The step of each recorded value (read-only; 0, 1, 2, ... until the history is thinned)."""
        out = self._steps[: self._n]
        out.flags.writeable = False
        return out


class Series:
    """One observable's history, as recorded by a :class:`History` (read through ``view``)."""

    def __init__(self, history: History, index: int):
        self._history = history
        self._index = index

    def __len__(self) -> int:
        return len(self._history)

    def __getitem__(self, index):
        return self.view()[index]

    def view(self) -> np.ndarray:
        """The values so far (read-only: the buffer belongs to the run)."""
        return self._history.view(self._index)


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
                 seed: int = 0, backend: str = "numpy", max_points: int | None = None):
        self.manifest = manifest
        self.max_points = max_points or History.MAX_POINTS  # values kept per scalar history (see History)
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
        scalars = [o.name for o in self.manifest.observables.values() if o.kind == "scalar"]
        self.recorded = History(scalars, self.max_points)
        self.history: dict[str, Series] = {name: Series(self.recorded, i) for i, name in enumerate(scalars)}
        self.snapshots: dict[str, Snapshots] = {o.name: Snapshots(o.every, o.keep)
                                                for o in self.manifest.observables.values() if o.kind == "array"}
        try:
            self.model.diverged = False
            self.model.reset(self.seed)
            self._record()
        except Exception:  # noqa: BLE001 - a failing level is shown with its traceback, not raised
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
            except Exception:  # noqa: BLE001 - a failing level is shown with its traceback, not raised
                self.error = traceback.format_exc()
        return taken

    def _record(self) -> None:
        values = self.model.observables()
        missing = (set(self.history) | set(self.snapshots)) - set(values)
        if missing:
            raise KeyError(f"observables() did not report {', '.join(sorted(missing))}")
        row = [float(values[name]) for name in self.recorded.names]
        self.recorded.append(self.steps, row)
        if not all(map(math.isfinite, row)):
            self.model.diverged = True
        for name, store in self.snapshots.items():
            store.offer(self.steps, values[name])
        if not self.model.diverged:
            for array in self.model.state().values():
                if not np.all(np.isfinite(array)):
                    self.model.diverged = True
                    break

    def series(self, name: str) -> np.ndarray:
        """The history of one observable as a float64 array: one value per step, step 0 first, for
        the first :attr:`max_points` steps; after that the older part is thinned (see
        :class:`History`) and :meth:`series_steps` gives the step of each value."""
        return self.history[name].view()

    def series_steps(self) -> np.ndarray:
        """The step of each value :meth:`series` returns (the same for every scalar observable)."""
        return self.recorded.steps()

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

    def to_json(self, history: str | int | None = "full") -> dict[str, Any]:
        """One JSON-ready object: level, parameters, steps, final observables (array observables
        give their latest value as nested lists) and, unless ``history`` is None or ``"none"``, the
        histories with the step of each value: all that was recorded (``"full"``) or at most
        ``history`` values per series, spread evenly over the run's steps, first and last kept."""

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
        if history is None or history == "none":
            return out
        steps = self.series_steps()
        pick = _spread(steps, None if history == "full" else int(history))
        out["history_steps"] = steps[pick].tolist()
        out["history"] = {k: _clean(vs.view()[pick].tolist()) for k, vs in self.history.items()}
        return out


def _spread(steps: np.ndarray, limit: int | None) -> np.ndarray:
    """Indices of at most ``limit`` of ``steps`` (sorted), evenly spread over the steps they
    cover, the first and the last always among them; every index when ``limit`` is None."""
    n = len(steps)
    if limit is None or limit >= n:
        return np.arange(n)
    if limit < 1:
        raise ValueError(f"a history of {limit} values")
    if limit == 1:
        return np.array([n - 1])
    targets = np.linspace(steps[0], steps[-1], limit)
    return np.unique(np.clip(np.searchsorted(steps, targets), 0, n - 1))


def _clean(value):
    """JSON-ready: non-finite floats as the strings "nan", "inf", "-inf", inside lists too."""
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
