"""Headless screenshots: run the real app loop for some frames and save the last one."""

from __future__ import annotations

from pathlib import Path

TABS = {"play": "Play", "challenges": "Challenges", "math": "Math", "code": "Code", "about": "About"}


def render_shot(app, out: Path | str, frames: int, tab: str = "play", dt: float = 1 / 60) -> str | None:
    """Run ``frames`` frames at a fixed ``dt`` and save the last as a PNG; returns the level's error, if any.

    A headless app runs on a fixed clock (``sandbox.clock``): the same level, parameters, seed,
    size and frame count give the same PNG, byte for byte, on a loaded machine or an idle one."""
    for i in range(frames):
        if app.host is not None and i == 0:
            app.host.requested_tab = TABS[tab]
        if i == frames - 1:
            app.request_screenshot(out)
        app.frame(dt)
    if app.host is None:
        return None
    return app.host.error or (app.host.runner.error if app.host.runner else None)
