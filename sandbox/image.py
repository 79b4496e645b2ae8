"""Reading and writing PNG images (through pygame-ce, which the app also uses for sound and gamepads)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # no SDL window is ever opened
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def save_png(path: Path | str, pixels: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 array to a PNG file (folders are created)."""
    import pygame

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    surface = pygame.surfarray.make_surface(np.ascontiguousarray(pixels[..., :3]).swapaxes(0, 1))
    pygame.image.save(surface, str(path))


def load_png(path: Path | str) -> np.ndarray:
    """Read an image file as an (H, W, 3) uint8 array."""
    import pygame

    surface = pygame.image.load(str(path))
    return pygame.surfarray.array3d(surface).swapaxes(0, 1).copy()
