"""The code lab runs a witness in a child process: its verdict, the failing line, the limits."""

from pathlib import Path

import pytest

from sandbox.ui.code_lab import CodeLab, ProgramRun

LEVELS = Path(__file__).parent.parent / "levels"


def test_a_shipped_witness_passes_and_a_changed_number_fails_at_its_line():
    source = (LEVELS / "eos_canyon" / "witness.py").read_text()
    assert ProgramRun(source).wait().status == "passed"
    broken = source + "\nassert 2 + 2 == 5, 'arithmetic'\n"
    result = ProgramRun(broken).wait()
    assert result.status == "failed"
    assert result.line == broken.rstrip("\n").count("\n") + 1
    assert "AssertionError: arithmetic" in result.summary and result.summary.startswith(f"line {result.line}")


def test_a_program_that_never_ends_is_stopped_at_the_time_limit():
    result = ProgramRun("while True:\n    pass\n", time_limit=1.0).wait()
    assert result.status == "stopped" and "time limit" in result.summary


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="POSIX limits")
def test_a_program_that_takes_too_much_memory_is_stopped():
    result = ProgramRun("x = bytearray(8 << 30)\n").wait()
    assert result.status == "stopped" and "MemoryError" in result.output


def test_the_code_tab_runs_the_edited_program_and_restores_the_original(make_app):
    app = make_app(level="eos_canyon", backend="numpy")
    app.host.requested_tab = "Code"
    app.run_frames(3)
    lab = app.host.code_lab
    assert isinstance(lab, CodeLab) and not lab.edited
    lab.editor.set_text(lab.original + "\nassert False, 'changed'\n")
    assert lab.edited
    lab.start()
    lab.run.wait()
    app.run_frames(2)
    assert lab.result.status == "failed" and "changed" in lab.result.summary
    lab.restore()
    assert not lab.edited and lab.result is None


def test_a_kiosk_runs_only_the_original(make_app):
    app = make_app(level="eos_canyon", backend="numpy", idle_reset_s=60)
    app.host.requested_tab = "Code"
    app.run_frames(3)
    lab = app.host.code_lab
    assert lab.read_only
    lab.editor.set_text("raise SystemExit(3)\n")  # (the editor refuses typing; even so)
    lab.start()
    assert lab.run.wait().status == "passed"
