"""The README's commands and a non-editable install, with levels, shaders and assets inside."""

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_the_readme_opens_with_the_play_and_the_test_commands():
    play, test = readme_commands()
    assert play.endswith("continuous-function") and "pip install" in play
    assert "pytest" in test and "pip install" in test


def test_ci_runs_the_readme_test_command_verbatim():
    _, test = readme_commands()
    assert test in (ROOT / ".ci" / "run").read_text()


def test_a_wheel_ships_the_levels_shaders_and_assets_and_works_installed(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next(tmp_path.glob("continuous_function-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "sandbox/_data/levels/eos_canyon/level.toml" in names
    assert "sandbox/_data/shaders/lines.glsl" in names
    assert any(n.startswith("sandbox/_data/assets/") for n in names)
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-m", "sandbox", "list", "--json"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    levels = {e["id"]: e for e in json.loads(done.stdout)}
    assert str(target) in levels["eos_canyon"]["folder"] and levels["eos_canyon"]["error"] is None
