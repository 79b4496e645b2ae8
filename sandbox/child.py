"""A child Python process with limits, polled from the frame loop.

The app runs code it does not control (a learner's edit of a witness, a level's claim checks)
in a separate process: isolated mode, one BLAS thread, a CPU-time and an address-space limit,
and a wall-clock timeout after which it is killed. The app keeps drawing while it runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

TIME_LIMIT_S = 30.0  # wall clock, and the CPU time a run may use
MEMORY_LIMIT = 2 << 30  # bytes of address space a run may map
OUTPUT_LIMIT = 64 << 10  # characters of output kept


class Child:
    """``python ARGS...`` in ``cwd``; :meth:`poll` until :attr:`done`, then read ``code`` and
    ``output`` (stdout and stderr together, at most ``OUTPUT_LIMIT`` characters). ``timed_out``
    tells whether it was killed at ``time_limit``."""

    def __init__(self, args: list[str], cwd: Path | str, time_limit: float = TIME_LIMIT_S,
                 isolated: bool = True, env: dict[str, str] | None = None):
        self.started = time.monotonic()
        self.time_limit = time_limit
        environment = {k: v for k, v in os.environ.items() if not (isolated and k.startswith("PYTHON"))}
        environment.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        environment.update(env or {})
        limits = _limits(time_limit) if os.name == "posix" else None
        self._process = subprocess.Popen(
            [sys.executable, *(["-I"] if isolated else []), *args], cwd=str(cwd), env=environment,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=limits)  # noqa: PLW1509 - the app starts children from its one thread
        self.code: int | None = None
        self.output = ""
        self.timed_out = False
        self.seconds = 0.0

    @property
    def done(self) -> bool:
        return self.code is not None

    def poll(self) -> bool:
        """Look once (never blocks for long); True when the process has ended or was stopped."""
        if self.done:
            return True
        self.seconds = time.monotonic() - self.started
        if self._process.poll() is None:
            if self.seconds < self.time_limit:
                return False
            self._process.kill()
            self.timed_out = True
        out, _ = self._process.communicate()
        text = out.decode("utf-8", "replace")
        self.output = text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT] + "\n… (output cut)"
        self.code = self._process.returncode
        return True

    def wait(self) -> Child:
        """Block until it ends (tests and the command line)."""
        while not self.poll():
            time.sleep(0.02)
        return self

    def cancel(self) -> None:
        if not self.done and self._process.poll() is None:
            self._process.kill()
        self._process.wait()


def _limits(time_limit: float):
    cpu = int(time_limit) + 1

    def apply() -> None:  # pragma: no cover - runs in the child
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return apply
