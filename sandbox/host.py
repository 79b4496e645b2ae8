"""The level host: one open level, its run, its view, its panels, and everything that can fail.

The host is the boundary between the engine and a level's code. Whatever the level does
wrong (its manifest does not parse, its module does not import, ``step`` raises, ``scene``
raises, a shader does not compile) is caught here and shown with a Reload button; the rest of
the app keeps running. Saving any file of the level reloads it.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from imgui_bundle import imgui

from .challenges import Verdict
from .clock import Budget, current as current_clock
from .gfx.shaders import HotProgram
from .kit.context import ViewContext
from .registry import LevelEntry, LevelFileError
from .runner import Runner
from .ui.challenge_panel import ChallengePanel
from .ui import prose
from .ui.claims_panel import ClaimsPanel
from .ui.code_lab import CodeLab
from .ui.widgets import BAD, MUTED, error_box, observables_table, params_panel
from .view import Frame, Pane, View

# The first three tabs are the way through a level: try it, predict, read why
TAB_LABELS = {"Play": "1 Play", "Challenges": "2 Predict", "Math": "3 Why", "Code": "Code", "About": "About"}
TAB_HELP = {"Play": "Try it: change the settings and watch what happens.",
            "Challenges": "Predict first: lock in an answer and how sure you are; the simulation decides.",
            "Math": "Why it happens: the few formulas behind the level.",
            "Code": "The level's mathematics as a short numpy program you can run.",
            "About": "What the level shows, what it does not, and where it comes from."}
# what level code may raise that must stay the level's error: everything but Ctrl+C (a level that
# calls sys.exit ends its level, not the app)
LEVEL_FAILURES = (Exception, SystemExit, GeneratorExit)
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
STEP_BUDGET_S = 0.012  # wall time allowed for a frame's simulation with a real clock (the UI stays responsive)
MAX_STEPS_PER_FRAME = 256  # with any clock: a frame never runs more steps than this (a challenge: 4x)
WATCH_S = 3.0  # how long a challenge's run takes on screen at 1x speed (when the machine keeps up)
SCAN_INTERVAL_S = 0.5  # the hot-reload watcher looks at the level's files this often
WATCHED_SUFFIXES = {".py", ".toml", ".glsl", ".md"}


class Fonts:
    """The fonts a view may push: ``bold`` and ``mono``."""

    def __init__(self, imgui_layer):
        self.bold = getattr(imgui_layer, "font_bold", None)
        self.mono = getattr(imgui_layer, "font_mono", None)


class LevelHost:
    """Hosts one level inside the app (or headless for screenshots and tests)."""

    SPEEDS = SPEEDS

    def __init__(self, app, entry: LevelEntry, params: dict | None = None, seed: int = 0):
        self.app = app
        self.ctx = app.ctx
        self.painter = app.painter
        self.formulas = app.formulas
        self.backend = app.backend
        self.entry = entry
        self.seed = seed
        self.initial_params = dict(params or {})
        self.runner: Runner | None = None
        self.view: View | None = None
        self.error: str | None = None  # load or view error (a step error lives on the runner)
        self.paused = False
        self.speed_index = SPEEDS.index(1.0)
        self.accumulator = 0.0
        self.elapsed = 0.0
        self.challenges = ChallengePanel(self)
        self.context = ViewContext(self)
        self.fonts = Fonts(app.imgui)
        self.stop_at: int | None = None  # the sandbox run pauses when it reaches this step
        self._shown: tuple | None = None  # (run, generation) the view last saw: a change is a reset
        # a level opens on Play (ImGui would keep the tab the previous level had open)
        self.requested_tab: str | None = "Play"  # e.g. "Math": selected on the next frame
        self.tab = "Play"  # the tab on show
        self._announced_divergence = False
        self._programs: list[HotProgram] = []
        self.code_lab: CodeLab | None = None  # the Code tab, made when first shown
        self.claims: ClaimsPanel | None = None  # the About tab's claims, made when first shown
        self._stamps = self._scan()
        self.clock = getattr(app, "clock", None) or current_clock()  # the app's one source of time
        self._last_scan = self.clock.now()
        self.open()

    # -- life cycle --------------------------------------------------------------------------
    @property
    def manifest(self):
        return self.entry.manifest

    @property
    def active_runner(self) -> Runner:
        if self.challenges.playing:
            return self.challenges.attempt.runner
        return self.runner

    def open(self) -> None:
        """Load the level's code, build its run and view; on failure keep the error for display."""
        self.error = None
        try:
            if self.entry.manifest is None:
                raise RuntimeError(self.entry.error)
            model_cls = self.entry.model_class()
            params = {k: v for k, v in self.initial_params.items() if k in self.manifest.params}
            self.runner = Runner(self.manifest, model_cls, params, seed=self.seed, backend=self.backend)
            view_cls = self.entry.view_class()
            self.view = view_cls(self.context)
            self._shown = None
        except LEVEL_FAILURES:
            self.error = traceback.format_exc()
            self.view = None

    def reload(self) -> None:
        """Re-read the manifest, re-import the code, keep the parameters that still exist."""
        if self.runner is not None:
            self.initial_params = dict(self.runner.params)
        self.close()
        self.entry.unload()
        self.entry.reload_manifest()
        self.challenges = ChallengePanel(self)
        self.open()
        self._stamps = self._scan()

    def close(self) -> None:
        if self.view is not None:
            try:
                self.view.release()
            except LEVEL_FAILURES:
                pass
        self.challenges.discard()
        if self.code_lab is not None:
            self.code_lab.release()
            self.code_lab = None
        if self.claims is not None:
            self.claims.release()
            self.claims = None
        if self.runner is not None:
            _release(self.runner.model)
            self.runner = None
        for program in self._programs:
            if program.program is not None:
                program.program.release()
        self._programs.clear()
        self.view = None

    def program(self, path: Path, defines: dict | None, compute: bool) -> HotProgram:
        """A hot-reloaded program owned by this level (released when it closes)."""
        program = HotProgram(self.ctx, path, defines, compute)
        self._programs.append(program)
        return program

    def shader_errors(self) -> list[str]:
        return [p.error for p in self._programs if p.error]

    def _scan(self) -> dict[Path, float]:
        folder = Path(self.entry.folder)
        stamps = {}
        for path in folder.rglob("*"):
            if path.suffix in WATCHED_SUFFIXES and "__pycache__" not in path.parts:
                try:
                    stamps[path] = path.stat().st_mtime
                except OSError:
                    pass
        return stamps

    def watch(self) -> bool:
        """Hot reload: shaders recompile in place; a changed .py/.toml reloads the level. The
        files are looked at every ``SCAN_INTERVAL_S`` of the clock. True if anything reloaded."""
        reloaded = False
        for program in self._programs:
            reloaded = program.poll() or reloaded
        now = self.clock.now()
        if now - self._last_scan < SCAN_INTERVAL_S:
            return reloaded
        self._last_scan = now
        stamps = self._scan()
        changed = {p for p in stamps.keys() | self._stamps.keys() if stamps.get(p) != self._stamps.get(p)}
        self._stamps = stamps
        if any(p.suffix in (".py", ".toml") for p in changed):
            self.reload()
            return True
        return reloaded

    # -- simulation --------------------------------------------------------------------------
    @property
    def speed(self) -> float:
        return SPEEDS[self.speed_index]

    def change_speed(self, delta: int) -> None:
        self.speed_index = min(len(SPEEDS) - 1, max(0, self.speed_index + delta))

    def reset(self, seed: int | None = None) -> None:
        if self.runner is None:
            return
        self.runner.reset(seed)
        self.accumulator = 0.0

    def run_until(self, step: int) -> None:
        """Play the sandbox run and pause at ``step`` (restarting it if it is already past)."""
        if self.runner is None:
            return
        if self.runner.steps >= step:
            self.reset()
        self.stop_at = step
        self.paused = False

    def _check_stop(self) -> None:
        if self.stop_at is not None and self.runner is not None and self.runner.steps >= self.stop_at:
            self.paused = True
            self.stop_at = None

    def request_frames(self, count: int = 2) -> None:
        """A view animates: keep drawing although nothing else moves."""
        request = getattr(self.app, "request_frames", None)
        if request is not None:
            request(count)

    def single_step(self) -> None:
        self.paused = True
        if self.challenges.playing:
            self.challenges.advance(1)
        elif self.runner is not None:
            self.runner.step(1)

    @property
    def animating(self) -> bool:
        """True while the level's picture changes by itself: the sandbox run plays (and can still
        step), or a challenge's run is playing out. The app draws continuously only then (or
        when a view asks for frames) and otherwise sleeps until input."""
        if self.error or self.runner is None:
            return False
        if self.challenges.playing:
            attempt = self.challenges.attempt
            return attempt is not None and attempt.runner is not None and attempt.verdict is None
        return not self.paused and not self.runner.stopped

    def update(self, dt: float) -> None:
        """Advance the simulation by ``dt`` seconds of the app's clock, in fixed steps.

        The steps a frame runs are bounded by counts: the accumulator holds at most a quarter
        second of steps and a frame runs at most ``MAX_STEPS_PER_FRAME``. With a real clock a
        frame also stops stepping after ``STEP_BUDGET_S`` of wall time; with a fixed clock it
        never looks at wall time, so a headless frame does the same work on every machine.
        """
        self.elapsed += dt
        if self.runner is None or self.error:
            return
        try:
            self._advance(dt)
        except LEVEL_FAILURES:  # a model's step that raises past the runner (sys.exit, say)
            self.error = traceback.format_exc()
            self.view = None

    def _advance(self, dt: float) -> None:
        self._check_stop()
        if self.paused:
            self.accumulator = 0.0
            return
        rate = self.manifest.steps_per_second * self.speed
        if self.challenges.playing:
            # a challenge's run lasts about WATCH_S whatever its length: long enough to watch the
            # outcome happen, short enough not to wait (the speed buttons still apply)
            rate = max(self.challenges.attempt.challenge.steps / WATCH_S, 1.0) * self.speed
        self.accumulator = min(self.accumulator + dt * rate, max(rate * 0.25, 1.0))  # never chase more than 1/4 s
        steps = int(self.accumulator)
        if self.stop_at is not None and not self.challenges.playing:
            steps = min(steps, self.stop_at - self.runner.steps)  # pause exactly at the step asked for
        if steps <= 0:
            return
        self.accumulator -= steps
        if self.challenges.playing:
            budget = Budget(STEP_BUDGET_S, 4 * min(steps, MAX_STEPS_PER_FRAME), self.clock)
            while not budget.exhausted:
                self.challenges.advance(1)
                budget.spend()
            return
        budget = Budget(STEP_BUDGET_S, min(steps, MAX_STEPS_PER_FRAME), self.clock)
        while not budget.exhausted:
            if not self.runner.step(1):
                break
            budget.spend()
        if self.runner.diverged and not self._announced_divergence:
            self.app.sounds.play("diverged")
        self._announced_divergence = self.runner.diverged

    def _sync_view(self) -> None:
        """The one reset path: when the run on screen changes (a reset, a parameter that resets,
        a challenge run starting or ending), the view hears it once, before it next draws."""
        runner = self.active_runner
        shown = (id(runner), runner.generation) if runner is not None else None
        if shown != self._shown and self.view is not None:
            self._shown = shown
            self._guard(self.view.on_reset)

    def record(self, verdict: Verdict) -> None:
        self.app.record(self.entry.id, verdict)

    def progress_records(self) -> dict:
        return self.app.progress_records(self.entry.id)  # {challenge id: ChallengeRecord}

    # -- drawing -----------------------------------------------------------------------------
    def _guard(self, fn, *args):
        """Call into the view; an exception becomes the level's error, not the app's."""
        try:
            return fn(*args)
        except LEVEL_FAILURES:
            self.error = traceback.format_exc()
            self.view = None
            return None

    def panes(self) -> list[Pane]:
        """The view's panes (none when the level failed)."""
        if self.view is None or self.runner is None:
            return []
        self._sync_view()
        panes = self._guard(self.view.panes) if self.view is not None else None
        return list(panes or [])

    def scene(self, frame: Frame) -> None:
        """One pane: its input (to the view first, then its camera), then its drawing."""
        if self.view is None:
            return
        cam = frame.camera
        if cam is not None and not self._guard(self.view.handle_input, frame):
            cam.update(frame.input, frame.viewport)
        if self.view is not None:
            self._guard(self.view.scene, frame)

    def overlay(self, draw_list, frame: Frame) -> None:
        """The view's 2-D annotations, clipped to the pane so they never spill onto the panels."""
        if self.view is None:
            return
        x, y = frame.origin
        w, h = frame.size
        draw_list.push_clip_rect(imgui.ImVec2(x, y), imgui.ImVec2(x + w, y + h), True)
        try:
            self._guard(self.view.overlay, draw_list, frame)
        finally:
            draw_list.pop_clip_rect()

    def _guarded_ui(self, fn) -> None:
        """Run an ImGui-drawing view callback; on error restore ImGui's stack."""
        state = imgui.internal.ErrorRecoveryState()
        imgui.internal.error_recovery_store_state(state)
        try:
            fn()
        except LEVEL_FAILURES:
            imgui.internal.error_recovery_try_to_recover_window_state(state)
            self.error = traceback.format_exc()
            self.view = None

    def side_panel(self) -> None:
        """Controls, parameters, observables, and the tabs (challenges, math, code, about)."""
        manifest = self.manifest
        imgui.push_font(self.fonts.bold, 0.0)
        title = manifest.title if manifest is not None else self.entry.id
        words = max((imgui.calc_text_size(w).x for w in title.split()), default=0.0)
        if words > imgui.get_content_region_avail().x:  # beside the buttons a word would break: below them
            imgui.new_line()
        imgui.text_wrapped(title)
        imgui.pop_font()
        if imgui.is_item_hovered():
            imgui.set_tooltip(f"{self.entry.id} · {self.backend} backend · {self.entry.folder}")
        if self.error or self.runner is None:
            self._error_panel()
            return
        run = self.active_runner
        self._controls(run)
        if run.diverged:
            imgui.text_colored(BAD, "Diverged: the simulation blew up to inf/NaN.")
            if imgui.button("Reset the run (R)"):
                self.reset_active()
        if run.error:
            error_box("The simulation stopped with an error:", _last_line(run.error))
            if imgui.button("Reload the level (Ctrl+R)"):
                self.reload()
                return
            if imgui.collapsing_header("Details"):
                error_box("", run.error)
        self.challenges.visible = False
        if imgui.begin_tab_bar("level-tabs"):
            for name, draw in (("Play", self._play_tab), ("Challenges", self.challenges.draw),
                               ("Math", self._math_card), ("Code", self._witness), ("About", self._readme)):
                flags = imgui.TabItemFlags_.set_selected.value if self.requested_tab == name else 0
                selected = imgui.begin_tab_item(f"{TAB_LABELS[name]}###{name}", None, flags)[0]
                if imgui.is_item_hovered():
                    imgui.set_tooltip(TAB_HELP[name])
                self.app.mark(f"tab:{name}")
                if selected:
                    self.tab = name
                    self.challenges.visible = name == "Challenges"
                    self._guarded_ui(draw)  # nothing a tab raises leaves the frame
                    imgui.end_tab_item()
            self.requested_tab = None
            imgui.end_tab_bar()
        for message in self.shader_errors():
            error_box("Shader error (drawing with the last good version):", message)

    def object_in_view(self) -> str:
        """The object a note or a question is about by default (see sandbox.notes): the open
        challenge, the claim last pointed at in the About tab (else its first), the first
        formula of the Math tab, else the level."""
        manifest = self.manifest
        if manifest is None:
            return ""
        if self.tab == "Challenges" and self.challenges.selected in manifest.challenges:
            return f"challenge:{self.challenges.selected}"
        if self.tab == "About" and manifest.claims:
            chosen = self.claims.pointed if self.claims is not None else None
            return f"claim:{chosen if chosen in manifest.claims else next(iter(manifest.claims))}"
        if self.tab == "Math" and manifest.math:
            return "formula:0"
        return ""

    def _play_tab(self) -> None:
        # a challenge's run shows its own settings, locked; the sandbox's come back when it ends
        params_panel(self.manifest, self.active_runner, locked=self.challenges.playing, on_error=self.app.notify)
        imgui.separator()
        observables_table(self.manifest, self.active_runner, self.context.challenge.hidden())
        if self.view is not None:
            self._guarded_ui(self.view.panel)

    def _readme(self) -> None:
        if self.claims is None:
            self.claims = ClaimsPanel(self.entry, lambda target, mode: self.app.notes.show(self.entry.id, target, mode))
        self.claims.draw()
        text = self._level_text("README.md")
        if text is not None:
            fonts = self.app.imgui
            prose.markdown(text, self.formulas, fonts.font_bold, fonts.font_mono, fonts.font_italic)

    def _level_text(self, name: str) -> str | None:
        """A text file of the level (only inside its folder); a problem with it is shown, not raised."""
        if self.entry.level_file(name) is None and not (Path(self.entry.folder) / name).exists():
            return None
        try:
            return self.entry.read_text(name)
        except LevelFileError as exc:
            error_box(f"{name} cannot be shown:", str(exc))
            return None

    def reset_active(self, seed: int | None = None) -> None:
        """Reset what is on screen: a challenge run ends and the sandbox run restarts."""
        if self.challenges.playing:
            self.challenges.close()
        self.stop_at = None
        self.reset(seed)

    def _controls(self, run: Runner) -> None:
        """The transport: run / pause, one step, reset, speed, and the step counter, flowing onto
        a second line where the panel is narrow or the text large."""
        style = imgui.get_style()
        first = True

        def place(width: float) -> None:
            nonlocal first
            if not first:
                imgui.same_line()
                if imgui.get_content_region_avail().x < width:
                    imgui.new_line()
            first = False

        def button(label: str, tip: str) -> bool:
            place(imgui.calc_text_size(label).x + 2 * style.frame_padding.x)
            pressed = imgui.button(label)
            if imgui.is_item_hovered():
                imgui.set_tooltip(tip)
            return pressed

        if button("Run" if self.paused else "Pause", "Space"):
            self.paused = not self.paused
        if button("Step", "N: one step, then paused"):
            self.single_step()
        if button("Reset", "R: start the run again"):
            self.reset_active()
        if button("-", "-: slower"):
            self.change_speed(-1)
        speed = f"{self.speed:g}x"
        place(imgui.calc_text_size(speed).x)
        imgui.text(speed)
        if button("+", "+: faster"):
            self.change_speed(1)
        counter = f"step {run.steps}" + (" of the challenge's run" if self.challenges.playing else "")
        place(imgui.calc_text_size(counter).x + style.item_spacing.x)
        imgui.text_colored(MUTED, counter)

    def _math_card(self) -> None:
        for tex, caption in self.manifest.math:
            self.formulas.draw(tex, 22.0, True)
            if caption:
                imgui.push_style_color(imgui.Col_.text, MUTED)
                imgui.text_wrapped(caption)
                imgui.pop_style_color()
            imgui.spacing()
        if self.formulas.warning:
            imgui.text_colored(MUTED, self.formulas.warning)

    def _witness(self) -> None:
        if self.code_lab is None:
            text = self._level_text("witness.py")
            if text is None:
                imgui.text_colored(MUTED, "This level has no code witness.")
                return
            self.code_lab = CodeLab(text, Path(self.entry.folder) / "witness.py",
                                    read_only=getattr(self.app, "kiosk", False), mono_font=self.app.imgui.font_mono)
        self.code_lab.draw()

    def _error_panel(self) -> None:
        error = (self.error or self.entry.error or "unknown error").strip()
        error_box("This level failed:", _last_line(error))
        imgui.text_wrapped("Fix the file and save it (the level reloads by itself), or press Reload.")
        if imgui.button("Reload (Ctrl+R)"):
            self.reload()
            return
        if "\n" in error and imgui.collapsing_header("Details"):
            error_box("", error)

    def plot_strip(self) -> None:
        if self.view is not None and self.runner is not None:
            self._guarded_ui(self.view.plots)


def _release(model) -> None:
    """Let a model free its GPU buffers; a failure here must not hide the level's real error."""
    try:
        model.release()
    except Exception:
        pass


def _last_line(error: str) -> str:
    """The exception line of a traceback (what went wrong), for the headline."""
    lines = [line for line in error.strip().splitlines() if line.strip() and not line.startswith(" ")]
    return lines[-1] if lines else error
