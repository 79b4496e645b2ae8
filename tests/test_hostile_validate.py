"""``validate`` on level folders that try to hang it, exit it or feed it what is not a file:
always a verdict and a non-zero exit, within its limits, never a hang or a raw traceback."""

import os

import pytest

from sandbox.cli import main
from sandbox.registry import LevelEntry
from sandbox.scaffold import new_level
from sandbox.validate import _check_readme, _check_witness, validate_level

LIMIT_S = 3  # per stage of the level's code here; the default is 60 s


@pytest.fixture
def level(tmp_path):
    return new_level("hostile_level", tmp_path)


def test_a_level_toml_that_is_a_fifo_is_refused_before_opening(level, capsys):
    (level / "level.toml").unlink()
    os.mkfifo(level / "level.toml")
    assert main(["validate", str(level)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL ") and "level.toml: is not a regular file" in out


@pytest.mark.parametrize("body, fragment", [
    ("import time\ntime.sleep(3600)\n", f"import: did not finish within {LIMIT_S} s"),
    ("import sys\nsys.exit(0)\n", "cannot import: SystemExit: 0"),
    ("import os\nos._exit(0)\n", "import: the level's code ended the validation process (exit code 0)"),
])
def test_level_code_that_never_returns_or_exits_gets_a_verdict(level, body, fragment):
    (level / "model.py").write_text(body)
    problems = validate_level(level, frames=5, timeout=LIMIT_S)
    assert problems and fragment in problems[0], problems


def test_a_witness_that_never_returns_or_is_not_text_gets_a_verdict(level):
    (level / "witness.py").write_text("import time\ntime.sleep(3600)\n")
    entry = LevelEntry(level, "dir")
    assert _check_witness(entry, timeout=1) == ["witness.py did not finish within 1 s; stopped"]
    (level / "witness.py").write_bytes(b"import sys\nsys.stderr.buffer.write(b'caf\\xe9')\nsys.exit(3)\n")
    [problem] = _check_witness(entry, timeout=30)
    assert problem.startswith("witness.py failed (exit code 3)") and "caf\ufffd" in problem
    (level / "README.md").write_bytes(b"\xff" * 100)
    assert _check_readme(entry) == []  # read with replacement: long enough, and no crash
    (level / "README.md").unlink()
    os.mkfifo(level / "README.md")
    assert "not a regular file" in _check_readme(entry)[0]
