"""Short synthesised cues (pygame-ce's mixer): a verdict chime, a divergence thud.

Sound is optional: with no audio device, or muted, every call does nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

RATE = 22050


def _tone(freqs: list[float], seconds: float, decay: float = 6.0, volume: float = 0.25) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    wave = sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)
    envelope = np.exp(-decay * t) * np.minimum(1.0, t * 200)  # a soft attack, no click
    return (wave * envelope * volume * 32767).astype(np.int16)


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send what C libraries write to the process's stderr to /dev/null for the block's duration.

    Without a sound card, SDL's ALSA probe prints a handful of error lines on every launch that say
    nothing a learner can act on; the Python exception (if any) still reaches the caller."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced (tests, an embedding app)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


class Sounds:
    """The app's cues; ``muted`` silences them."""

    def __init__(self, muted: bool = False):
        self.muted = muted or bool(os.environ.get("CF_MUTE"))
        self._cues: dict[str, object] = {}
        if muted:  # headless runs never open the audio device
            return
        try:
            os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
            import pygame

            with _native_stderr_silenced():  # ALSA writes its "no card" errors straight to fd 2
                pygame.mixer.init(frequency=RATE, size=-16, channels=1)
            make = pygame.sndarray.make_sound
            self._cues = {
                "right": make(np.concatenate([_tone([660], 0.12), _tone([880, 1320], 0.35)])),
                "wrong": make(np.concatenate([_tone([392], 0.15), _tone([330], 0.3)])),
                "diverged": make(_tone([110, 55], 0.5, decay=4.0, volume=0.35)),
            }
        except Exception:  # no audio device: the app is silent, not broken
            self._cues = {}

    @property
    def available(self) -> bool:
        return bool(self._cues)

    def play(self, cue: str) -> None:
        sound = self._cues.get(cue)
        if sound is not None and not self.muted:
            sound.play()
