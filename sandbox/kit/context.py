"""What a view may use: :class:`ViewContext`.

A view never holds the host. It gets this context: the parameters and the run on screen, the
clock, the transport (pause, play, step, reset, speed) as methods, the challenge state (so it
can hide what would give an answer away), and the resources it draws with (GL context,
painter, formulas, fonts, shader programs from its folder). Everything here reads through to
the live host, so a view can keep the context for its whole life.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # the host builds the context; the context never imports the host
    from ..manifest import Manifest
    from ..runner import Runner


class ChallengeState:
    """Where the learner is with the level's challenges, as far as a view should care.

    ``choosing``: a challenge is open and the learner is still making a prediction: nothing on
    screen may give its answer away. ``running``: its simulation is playing on screen (the run is
    the challenge's; controls that would change it are locked). ``revealed``: the verdict is in.
    """

    def __init__(self, host):
        self._host = host

    @property
    def _panel(self):
        return self._host.challenges  # replaced when the level reloads

    @property
    def choosing(self) -> bool:
        panel = self._panel
        return panel.visible and panel.selected is not None and panel.attempt is None

    @property
    def running(self) -> bool:
        attempt = self._panel.attempt
        return attempt is not None and attempt.runner is not None and attempt.verdict is None

    @property
    def revealed(self) -> bool:
        attempt = self._panel.attempt
        return attempt is not None and attempt.verdict is not None

    @property
    def playing(self) -> bool:
        """A challenge's run is on screen (running or revealed)."""
        return self._panel.playing

    @property
    def hide_answers(self) -> bool:
        """True while the view must not show what would answer the open challenge."""
        return self.choosing or self.running

    @property
    def open(self):
        """The challenge the learner has open (a :class:`~sandbox.manifest.Challenge`), or None."""
        panel = self._panel
        if panel.selected is None or not (panel.visible or panel.attempt is not None):
            return None
        return self._host.manifest.challenges.get(panel.selected)

    def hidden(self) -> frozenset[str]:
        """The observables that must not show now: the open challenge's ``hides`` while
        :attr:`hide_answers` holds (the observables table and the declared plots leave them out)."""
        challenge = self.open
        return frozenset(challenge.hides) if challenge is not None and self.hide_answers else frozenset()

    @property
    def locked(self) -> bool:
        """True while the sandbox's own controls must not change the run on screen."""
        return self.playing


class Transport:
    """Pause, play, step, reset and speed of the run on screen."""

    def __init__(self, host):
        self._host = host

    @property
    def paused(self) -> bool:
        return self._host.paused

    def pause(self) -> None:
        self._host.paused = True

    def play(self) -> None:
        self._host.paused = False

    def step(self) -> None:
        """One step, then pause."""
        self._host.single_step()

    def reset(self, seed: int | None = None) -> None:
        """Restart the sandbox run (a challenge run on screen ends first)."""
        self._host.reset_active(seed)

    @property
    def speed(self) -> float:
        return self._host.speed

    @property
    def fastest(self) -> bool:
        return self._host.speed_index == len(self._host.SPEEDS) - 1

    def set_speed(self, speed: float | str) -> None:
        """A speed from the host's ladder (the nearest one), or ``"fastest"`` / ``"normal"``."""
        ladder = self._host.SPEEDS
        if speed == "fastest":
            index = len(ladder) - 1
        else:
            target = 1.0 if speed == "normal" else float(speed)
            index = min(range(len(ladder)), key=lambda i: abs(ladder[i] - target))
        self._host.speed_index = index

    def run_until(self, step: int) -> None:
        """Play the sandbox run and pause it when it reaches ``step`` (from a fresh start if it is
        already past it)."""
        self._host.run_until(step)

    @property
    def stop_at(self) -> int | None:
        """The step the run will pause at (:meth:`run_until`), if any."""
        return self._host.stop_at


class ViewContext:
    """The narrow window through which a view sees the engine (see the module's docstring)."""

    def __init__(self, host):
        self._host = host
        self.transport = Transport(host)
        self.challenge = ChallengeState(host)

    # -- the simulation ------------------------------------------------------------------------
    @property
    def run(self) -> "Runner":
        """The run on screen: the challenge's while one plays, else the sandbox's."""
        return self._host.active_runner

    @property
    def model(self):
        """The model of the run on screen (read it; change it through :meth:`set_param`)."""
        return self._host.active_runner.model

    @property
    def params(self) -> Mapping[str, Any]:
        """The parameters of the run on screen (read-only)."""
        return dict(self._host.active_runner.params)

    def set_param(self, name: str, value: Any) -> bool:
        """Change a parameter of the sandbox run, as its slider would (checked against the
        manifest); ignored while a challenge's run is on screen. True if it restarted the run."""
        if self.challenge.locked:
            return False
        return self._host.runner.set_param(name, value)

    @property
    def manifest(self) -> "Manifest":
        return self._host.manifest

    @property
    def backend(self) -> str:
        return self._host.backend

    # -- time ----------------------------------------------------------------------------------
    @property
    def time(self) -> float:
        """Seconds since the level opened, on the app's clock (animation only, not simulation)."""
        return self._host.elapsed

    def request_frames(self, count: int = 2) -> None:
        """Ask for ``count`` more frames although nothing else moves (an animation of the view)."""
        self._host.request_frames(count)

    # -- resources -----------------------------------------------------------------------------
    @property
    def gl(self):
        """The moderngl context."""
        return self._host.ctx

    @property
    def painter(self):
        return self._host.painter

    @property
    def formulas(self):
        return self._host.formulas

    @property
    def fonts(self):
        """``bold`` and ``mono`` ImGui fonts."""
        return self._host.fonts

    @property
    def folder(self) -> Path:
        return Path(self._host.entry.folder)

    def program(self, filename: str, defines: dict | None = None, compute: bool = False):
        """A hot-reloaded shader program from the level's folder (released with the level)."""
        return self._host.program(self.folder / filename, defines, compute)

    def shared_program(self, filename: str, defines: dict | None = None):
        """A program of the engine's shared ``shaders/`` folder (the kit's own drawing, such as
        the grid of cells), released with the level like the level's own."""
        from ..paths import SHADERS_DIR

        return self._host.program(SHADERS_DIR / filename, defines, False)
