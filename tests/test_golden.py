"""Golden screenshots on the software renderer, compared with a tolerance.

Set ``CF_UPDATE_GOLDENS=1`` to write new goldens after an intended visual change; on a
mismatch the actual image and a magnified difference are written next to the test's tmp dir.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from sandbox.image import load_png, save_png
from sandbox.shots import render_shot

GOLDENS = Path(__file__).parent / "goldens"
TOLERANCE = 24  # per-channel difference that counts as a mismatch (anti-aliasing, font hinting)
MAX_MISMATCH = 0.02  # allowed fraction of mismatching pixels

SHOTS = {
    "eos_canyon_play": dict(level="eos_canyon", frames=150, tab="play", params={"lr": 0.05}),
    "eos_canyon_diverged": dict(level="eos_canyon", frames=60, tab="play", params={"lr": 0.15}),
    "eos_canyon_network": dict(level="eos_canyon", frames=240, tab="play", params={"mode": "network", "lr": 0.08}),
    "eos_canyon_math": dict(level="eos_canyon", frames=20, tab="math", params={}),
}


@pytest.mark.parametrize("name", sorted(SHOTS))
def test_golden_screenshot(name, make_app, tmp_path):
    spec = SHOTS[name]
    app = make_app(level=spec["level"], size=(960, 600), params=spec["params"], backend="numpy")
    if "llvmpipe" not in app.ctx.info["GL_RENDERER"]:
        pytest.skip("goldens are compared on the software renderer only")
    out = tmp_path / f"{name}.png"
    assert render_shot(app, out, spec["frames"], tab=spec["tab"]) is None
    golden = GOLDENS / f"{name}.png"
    if os.environ.get("CF_UPDATE_GOLDENS") or not golden.exists():
        if not os.environ.get("CF_UPDATE_GOLDENS"):
            pytest.fail(f"no golden {golden.name}; run with CF_UPDATE_GOLDENS=1 to create it")
        golden.write_bytes(out.read_bytes())
        return
    actual, expected = load_png(out), load_png(golden)
    assert actual.shape == expected.shape
    diff = np.abs(actual.astype(int) - expected.astype(int)).max(axis=2)
    mismatch = float((diff > TOLERANCE).mean())
    if mismatch > MAX_MISMATCH:
        save_png(tmp_path / f"{name}-diff.png", np.clip(diff * 8, 0, 255).astype(np.uint8)[..., None].repeat(3, 2))
        pytest.fail(f"{name}: {mismatch:.1%} of pixels differ (allowed {MAX_MISMATCH:.0%}); see {tmp_path}")
