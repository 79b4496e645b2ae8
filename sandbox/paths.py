"""Where the shipped data lives and where the user's data goes.

In a source checkout ``levels/``, ``shaders/`` and ``assets/`` sit beside ``sandbox/``; in an
installed wheel they are packaged under ``sandbox/_data/``. Everything else asks this module.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_DATA = _PACKAGE / "_data" if (_PACKAGE / "_data").is_dir() else _PACKAGE.parent

LEVELS_DIR = _DATA / "levels"
SHADERS_DIR = _DATA / "shaders"
ASSETS_DIR = _DATA / "assets"


def user_data_dir() -> Path:
    """The folder for saved progress and screenshots (``CF_DATA_DIR`` overrides it)."""
    override = os.environ.get("CF_DATA_DIR")
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("continuous-function", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
