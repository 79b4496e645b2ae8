"""A real window on a virtual X display, driven with xdotool as a person drives it (see
tests/windowed.py): a newcomer's first minutes, the kiosk's day, and a soak of random input.

These need ``xvfb-run`` and ``xdotool`` (`.ci/run` installs them); without them they skip.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
TOOLS = ("xvfb-run", "xdotool")
pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in TOOLS),
                                reason="needs xvfb-run and xdotool (apt-get install xvfb xauth xdotool)")


def drive(scenario: str, out: Path, timeout: float = 420, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    environment.pop("SDL_VIDEODRIVER", None)
    environment.update(env)
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, str(HERE / "windowed.py"), scenario, str(out)],
        capture_output=True, text=True, timeout=timeout, env=environment, cwd=HERE.parent)
    assert result.returncode == 0, f"{scenario} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return result.stdout


def test_a_newcomers_first_minutes_in_a_real_window(tmp_path):
    drive("first_minutes", tmp_path)
    for shot in ("atlas", "play", "predict", "verdict", "scale-0.5", "scale-1.1", "keyboard-verdict"):
        assert (tmp_path / f"{shot}.png").stat().st_size > 10_000, shot


def test_the_kiosk_resets_for_the_next_visitor_and_only_the_operator_exits(tmp_path):
    drive("kiosk", tmp_path)
    assert (tmp_path / "kiosk-reset.png").is_file()


def test_seed_004s_first_route_from_a_search_to_a_note_that_outlives_a_restart(tmp_path):
    drive("first_route", tmp_path)
    for shot in ("route-search", "route-lever-verdict", "route-boundary", "route-note", "route-after-restart"):
        assert (tmp_path / f"{shot}.png").stat().st_size > 10_000, shot


def test_a_minute_of_random_input_crashes_nothing(tmp_path):
    out = drive("soak", tmp_path, CF_SOAK_S=os.environ.get("CF_SOAK_S", "60"))
    assert "soak:" in out
