"""The code lab: a level's witness in an editor, run in a child process with time and memory limits.

A witness is a short numpy program whose assertions state the level's claims. The learner can
change a number, press Run and see an assertion fail at its line, then Restore the original.
The program runs in a separate Python process (isolated mode, one BLAS thread, a CPU-time and an
address-space limit, a wall-clock timeout), never in the app, and the app keeps drawing while it
runs. In a kiosk the code is read-only: visitors may run the witness, not their own programs.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from imgui_bundle import imgui
from imgui_bundle import imgui_color_text_edit as text_edit

from ..child import TIME_LIMIT_S, Child
from .widgets import BAD, GOOD, MUTED, code_block


@dataclass
class RunResult:
    """How a run of the program ended: ``status`` is "passed", "failed" or "stopped" (a limit)."""

    status: str
    seconds: float
    output: str
    summary: str
    line: int | None = None  # the program's line where the failure was raised


class ProgramRun:
    """One run of ``source`` as a Python program in a child process; :meth:`poll` until it ends."""

    def __init__(self, source: str, name: str = "witness.py", time_limit: float = TIME_LIMIT_S):
        self._folder = tempfile.TemporaryDirectory(prefix="cf-code-")
        self.path = Path(self._folder.name) / name
        self.path.write_text(source, encoding="utf-8")
        self.child = Child([str(self.path)], self._folder.name, time_limit)
        self.started = self.child.started
        self.result: RunResult | None = None

    def poll(self) -> RunResult | None:
        """The result once the program has ended (or was stopped at the time limit), else None."""
        if self.result is None and self.child.poll():
            self.result = self._judge(self.child)
            self._folder.cleanup()
        return self.result

    def wait(self) -> RunResult:
        """Block until the result (tests and the command line)."""
        self.child.wait()
        return self.poll()

    def cancel(self) -> None:
        self.child.cancel()
        self._folder.cleanup()

    def _judge(self, child: Child) -> RunResult:
        output, seconds = child.output, child.seconds
        if child.timed_out:
            return RunResult("stopped", seconds, output, f"stopped after {child.time_limit:.0f} s (the time limit)")
        if child.code == 0:
            return RunResult("passed", seconds, output, f"every assertion held ({seconds:.1f} s)")
        line = None
        for match in re.finditer(r'File "([^"]+)", line (\d+)', output):
            if Path(match.group(1)).name == self.path.name:
                line = int(match.group(2))
        errors = [ln for ln in output.strip().splitlines() if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b", ln)]
        if child.code < 0 or "MemoryError" in output:
            summary = "stopped: it went past the memory or CPU limit" if not errors else errors[-1]
            return RunResult("stopped", seconds, output, summary, line)
        summary = errors[-1] if errors else f"exited with status {child.code}"
        if line is not None:
            summary = f"line {line}: {summary}"
        return RunResult("failed", seconds, output, summary, line)


class CodeLab:
    """The Code tab of one level: an editor over the witness, Run, Restore and Copy."""

    def __init__(self, original: str, shown_path: Path, read_only: bool = False, mono_font=None):
        self.original = original
        self.shown_path = shown_path
        self.read_only = read_only
        self.mono_font = mono_font
        self.editor = text_edit.TextEditor()
        self.editor.set_language(text_edit.TextEditor.Language.python())
        self.editor.set_palette(text_edit.TextEditor.get_dark_palette())
        self.editor.set_text(original)
        self.editor.set_read_only_enabled(read_only)
        self.editor.set_show_line_numbers_enabled(True)
        self.editor.set_show_whitespaces_enabled(False)
        self.run: ProgramRun | None = None
        self.result: RunResult | None = None

    @property
    def edited(self) -> bool:
        return self.editor.get_text().rstrip("\n") != self.original.rstrip("\n")

    @property
    def running(self) -> bool:
        return self.run is not None and self.result is None

    def start(self) -> None:
        """Run the editor's text (the original witness in a kiosk)."""
        if self.running:
            return
        self.editor.clear_markers()
        self.result = None
        self.run = ProgramRun(self.original if self.read_only else self.editor.get_text())

    def restore(self) -> None:
        self.editor.set_text(self.original)
        self.editor.clear_markers()
        self.result = None

    def release(self) -> None:
        if self.run is not None:
            self.run.cancel()

    def draw(self) -> None:
        if self.run is not None and self.result is None:
            self.result = self.run.poll()
            if self.result is not None and self.result.line:
                red = imgui.get_color_u32(BAD)
                self.editor.add_marker(self.result.line - 1, red, red, self.result.summary, self.result.summary)
                self.editor.scroll_to_line(self.result.line - 1)
        imgui.push_text_wrap_pos(0.0)
        if self.read_only:
            imgui.text_wrapped("The level's mathematics as a short numpy program: its assertions are the level's "
                               "claims. Run it to check them on this machine.")
        else:
            imgui.text_wrapped("The level's mathematics as a short numpy program: its assertions are the level's "
                               "claims. Change a number and Run it: does the claim still hold?")
        imgui.pop_text_wrap_pos()
        imgui.begin_disabled(self.running)
        if imgui.button("Run"):
            self.start()
        imgui.end_disabled()
        if not self.read_only:
            imgui.same_line()
            imgui.begin_disabled(not self.edited)
            if imgui.button("Restore"):
                self.restore()
            imgui.end_disabled()
        imgui.same_line()
        if imgui.button("Copy"):
            imgui.set_clipboard_text(self.editor.get_text())
        if imgui.is_item_hovered():
            imgui.set_tooltip(f"Copy the program; the original is {self.shown_path}")
        imgui.same_line()
        self._status()
        lines = max(self.editor.get_line_count(), 8)
        height = min(lines + 1, 30) * imgui.get_text_line_height_with_spacing()
        if self.mono_font is not None:
            imgui.push_font(self.mono_font, 0.0)
        self.editor.render("##witness", imgui.ImVec2(-1, height), imgui.ChildFlags_.borders.value)
        if self.mono_font is not None:
            imgui.pop_font()
        if self.result is not None and self.result.output.strip():
            imgui.text_colored(MUTED, "Output:")
            code_block(self.result.output, self.mono_font)

    def _status(self) -> None:
        if self.running:
            imgui.text_colored(MUTED, f"running… {time.monotonic() - self.run.started:.0f} s")
        elif self.result is not None:
            color = GOOD if self.result.status == "passed" else BAD
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(color, self.result.summary)
            imgui.pop_text_wrap_pos()
        elif self.edited:
            imgui.text_colored(MUTED, "edited")
