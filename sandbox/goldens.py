"""Golden screenshots of every level: one per tab, plus the extra shots its manifest declares.

Each level keeps its goldens in ``<level folder>/goldens/<name>.png``: the Play tab after some
frames and each other tab, at the default parameters, plus ``[goldens.<name>]`` shots (another
mode, a diverged run). They are rendered on the software renderer (llvmpipe), with a fixed
clock, so a shot is the same on every machine that has it; they are compared with a per-pixel
tolerance and an allowed fraction of differing pixels, and a magnified difference image is
written on a mismatch. ``continuous-function goldens --update`` writes them anew.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .image import load_png, save_png
from .manifest import GOLDEN_TABS, Manifest

SIZE = (960, 600)
TOLERANCE = 24  # per-channel difference that counts as a mismatch (anti-aliasing, font hinting)
MAX_MISMATCH = 0.01  # allowed fraction of mismatching pixels
PLAY_FRAMES = 90
TAB_FRAMES = 8  # the other tabs are text: a few frames let ImGui lay them out


@dataclass(frozen=True)
class Shot:
    """One golden screenshot of a level."""

    level: str
    name: str
    tab: str
    frames: int
    params: dict[str, Any] = field(default_factory=dict)

    def path(self, folder: Path) -> Path:
        return Path(folder) / "goldens" / f"{self.name}.png"


def shots(manifest: Manifest) -> list[Shot]:
    """The level's golden shots: each tab, then the manifest's extra ones."""
    out = [Shot(manifest.id, tab, tab, PLAY_FRAMES if tab == "play" else TAB_FRAMES) for tab in GOLDEN_TABS]
    out += [Shot(manifest.id, g.name, g.tab, g.frames, dict(g.set)) for g in manifest.goldens.values()]
    return out


def render(shot: Shot, out: Path, registry=None, progress=None) -> str | None:
    """Render ``shot`` headless to ``out`` (numpy backend, seed 0); returns the level's error."""
    from .app import App
    from .shots import render_shot

    app = App(size=SIZE, headless=True, level=shot.level, params=shot.params, backend="numpy", registry=registry,
              progress=progress)
    try:
        if "llvmpipe" not in app.ctx.info["GL_RENDERER"]:
            raise RendererError(f"goldens are made on the software renderer, not {app.ctx.info['GL_RENDERER']}")
        return render_shot(app, out, shot.frames, tab=shot.tab)
    finally:
        app.shutdown()


class RendererError(RuntimeError):
    """Goldens can only be compared on the renderer they were made on."""


def compare(actual: Path, expected: Path, diff_out: Path | None = None) -> float:
    """The fraction of pixels that differ by more than :data:`TOLERANCE`; writes a magnified
    difference image to ``diff_out`` when it exceeds :data:`MAX_MISMATCH`. Images of different
    sizes differ entirely."""
    a, b = load_png(actual), load_png(expected)
    if a.shape != b.shape:
        return 1.0
    diff = np.abs(a.astype(int) - b.astype(int)).max(axis=2)
    mismatch = float((diff > TOLERANCE).mean())
    if diff_out is not None and mismatch > MAX_MISMATCH:
        save_png(diff_out, np.clip(diff * 8, 0, 255).astype(np.uint8)[..., None].repeat(3, 2))
    return mismatch
