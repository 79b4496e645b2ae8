"""One source of time for the app: a real clock in a window, a fixed clock headless.

Everything in the engine that depends on time reads the app's clock: the frame's ``dt``,
``LevelHost.elapsed`` (``Frame.time``), how many simulation steps a frame runs, toasts, the
kiosk idle timeout and the hot-reload scan. Two clocks exist:

``RealClock``
    Wall time (``time.perf_counter``). The interactive window uses it: a frame's ``dt`` is the
    time since the last frame, and the host stops stepping a frame's simulation once its time
    budget is spent, so the window stays responsive on a slow machine.
``FixedClock``
    Time that only moves when the app ticks it, by the frame's ``dt`` (1/60 s unless told).
    Headless apps (screenshots, tests, ``run``) use it: the same seed, parameters and input
    give the same frames, pixel for pixel, however loaded the machine is, because all work is
    sliced by counts, never by wall time.

Work that must fit a frame takes a :class:`Budget`::

    budget = Budget(seconds=0.008, units=64)   # the current clock decides which limit holds
    for chunk in chunks:
        work(chunk)
        if budget.spend():                    # True once the budget is used up
            break

With a real clock the loop stops after 8 ms or 64 units, whichever comes first; with a fixed
clock only after 64 units, so the result does not depend on the machine. A level that adapts
its work to measured time (e.g. a slice of particles sized to the time the last slice took)
should adapt only when ``current().deterministic`` is False and keep a fixed size otherwise.

``current()`` is the clock of the frame being run: the app makes its clock current for the
length of each frame, so a model or a view reaches it without a reference to the app (a view
may also read ``host.clock``). Outside any frame (the ``run`` command, tests, benchmarks of a
model alone) the current clock is a fixed clock that never moves: budgets count units only.

Measurements (the frame times ``bench`` reports, a kernel's benchmark) read
``time.perf_counter`` directly: they measure the machine and decide nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from typing import Iterator, Protocol, runtime_checkable

DEFAULT_DT = 1.0 / 60.0


@runtime_checkable
class Clock(Protocol):
    """What the app needs from a clock."""

    #: True when time only moves by ``tick``: the app then never decides anything by wall time
    deterministic: bool

    def now(self) -> float:
        """Seconds on this clock (an arbitrary origin; only differences mean anything)."""
        ...

    def tick(self, dt: float | None = None) -> float:
        """Start a frame; returns its ``dt`` in seconds. ``dt`` forces the step (fixed-step runs)."""
        ...


class RealClock:
    """Wall time. ``tick()`` returns the time since the previous tick."""

    deterministic = False

    def __init__(self):
        self._origin = time.perf_counter()
        self._last = 0.0

    def now(self) -> float:
        return time.perf_counter() - self._origin

    def tick(self, dt: float | None = None) -> float:
        now = self.now()
        measured, self._last = now - self._last, now
        return measured if dt is None else dt


class FixedClock:
    """Time advanced only by ``tick`` (``step`` seconds a frame unless a ``dt`` is given)."""

    deterministic = True

    def __init__(self, step: float = DEFAULT_DT, start: float = 0.0):
        if step <= 0:
            raise ValueError("a fixed clock needs a positive step")
        self.step = step
        self._now = start

    def now(self) -> float:
        return self._now

    def tick(self, dt: float | None = None) -> float:
        dt = self.step if dt is None else dt
        self._now += dt
        return dt

    def advance(self, seconds: float) -> None:
        """Move time forward without a frame (tests of timeouts)."""
        self._now += seconds


_IDLE = FixedClock()  # outside any frame: never ticked
_current: contextvars.ContextVar[Clock] = contextvars.ContextVar("sandbox_clock", default=_IDLE)


def current() -> Clock:
    """The clock of the frame being run (a fixed, unmoving clock outside frames)."""
    return _current.get()


@contextlib.contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Make ``clock`` the current clock inside the ``with`` block."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


class Budget:
    """An allowance of work: at most ``units`` pieces, and with a real clock at most ``seconds``.

    ``spend(n)`` records ``n`` units done and returns True once the allowance is used up (then
    stop). With a fixed clock time does not move inside a frame, so only units count and the
    amount of work done is the same on every machine. ``units=None`` means no count limit (with
    a fixed clock: never exhausted; give a count wherever the work can be large).
    """

    def __init__(self, seconds: float, units: int | None = None, clock: Clock | None = None):
        self.clock = clock if clock is not None else current()
        self.seconds = seconds
        self.units = units
        self.spent = 0
        self._started = self.clock.now()
        self._deadline = self._started + seconds

    @property
    def deterministic(self) -> bool:
        return self.clock.deterministic

    @property
    def elapsed(self) -> float:
        """Seconds since the budget began, on its clock (0 with a fixed clock inside a frame)."""
        return self.clock.now() - self._started

    @property
    def exhausted(self) -> bool:
        if self.units is not None and self.spent >= self.units:
            return True
        return not self.clock.deterministic and self.clock.now() > self._deadline

    def spend(self, units: int = 1) -> bool:
        """Count ``units`` of work done; True once nothing is left."""
        self.spent += units
        return self.exhausted
