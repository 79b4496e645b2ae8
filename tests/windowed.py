"""Drive the app in a real window on a virtual X display, as a person would: xdotool moves the
pointer, clicks, taps and types; the app runs its ordinary frames in between.

Run by tests/test_window.py under ``xvfb-run`` (one scenario per process)::

    xvfb-run -a -s "-screen 0 1280x800x24" python tests/windowed.py SCENARIO OUT_DIR

A scenario asserts on the app's state and on its screenshots and exits non-zero with the
failed assertion's message. ``soak`` takes its length in seconds from ``CF_SOAK_S``.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sandbox.app import OPERATOR_EXIT_S, App
from sandbox.progress import Progress

import glfw  # after sandbox (imgui-bundle picks the GLFW library)
from imgui_bundle import imgui

SIZE = (1200, 700)


class Person:
    """One person at the app: a pointer, a keyboard and eyes (screenshots)."""

    def __init__(self, app: App, out: Path):
        self.app = app
        self.out = out
        self.window = str(glfw.get_x11_window(app.window.handle))
        self.xdo("windowmove", self.window, "0", "0")
        self.frames(10)

    def xdo(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], check=True, timeout=20)

    def frames(self, n: int = 4) -> None:
        for _ in range(n):
            self.app.frame()

    def until(self, condition, seconds: float = 60.0, what: str = "") -> None:
        """Draw frames until ``condition()`` holds (a person waits and watches)."""
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, f"waited {seconds} s for {what or condition}"
            self.frames(2)

    def centre(self, mark: str) -> tuple[int, int]:
        assert mark in self.app.marks, f"no control {mark!r} on screen; there are {sorted(self.app.marks)}"
        x, y, w, h = self.app.marks[mark]
        return int(x + w / 2), int(y + h / 2)

    def click(self, mark: str) -> None:
        """A mouse: move onto the control, let it hover, press and release."""
        x, y = self.centre(mark)
        self.xdo("mousemove", "--window", self.window, str(x), str(y))
        self.frames(3)
        self.xdo("click", "1")
        self.frames(4)

    def tap(self, mark: str) -> None:
        """A touch screen: the pointer jumps onto the control and presses in one burst."""
        x, y = self.centre(mark)
        self.xdo("mousemove", "--window", self.window, str(x), str(y), "click", "1")
        self.frames(5)

    def key(self, *keys: str, frames: int = 4) -> None:
        for key in keys:
            self.xdo("key", key)
            self.frames(frames)

    def keyboard_to(self, mark: str, key: str = "Tab", presses: int = 80) -> None:
        """Press ``key`` until the keyboard's focus frame is on the control ``mark``."""
        context = imgui.get_current_context()
        for _ in range(presses):
            if self.app.mark_ids.get(mark) == context.nav_id and imgui.get_io().nav_visible:
                return
            self.key(key)
        raise AssertionError(f"{key} x{presses} never reached {mark!r}")

    def look(self, name: str) -> np.ndarray:
        """A screenshot (saved in the output folder), as an (H, W, 3) array."""
        self.app.request_screenshot(self.out / f"{name}.png")
        self.frames(1)
        pixels = self.app.read_pixels()
        assert pixels.std() > 5, f"{name}: the window is blank"
        return pixels


def differs(a: np.ndarray, b: np.ndarray, box) -> bool:
    """Whether the pixels inside ``box`` (x, y, w, h in window coordinates) changed."""
    x, y, w, h = (int(v) for v in box)
    return bool(np.abs(a[y:y + h, x:x + w].astype(int) - b[y:y + h, x:x + w].astype(int)).max() > 40)


def first_minutes(out: Path) -> None:
    """A newcomer: opens a level from the atlas with the mouse, taps every tab, plays a challenge
    to its verdict, zooms the UI out and in, then plays a challenge with the keyboard alone."""
    app = App(size=SIZE, headless=False, progress=Progress(out / "progress.sqlite3"), backend="numpy")
    me = Person(app, out)
    me.look("atlas")
    me.click("level:eos_canyon")
    assert app.host is not None and app.host.entry.id == "eos_canyon", "the click opened the level"
    assert app.host.tab == "Play", "a level opens on Play"
    before = me.look("play")
    for tab in ("Challenges", "Math", "Code", "About", "Play", "Challenges"):
        me.tap(f"tab:{tab}")
        assert app.host.tab == tab, f"a tap on {tab} switched to it"
    after = me.look("predict")
    assert differs(before, after, (0, 90, 380, 300)), "the Predict tab shows something else than Play"

    me.click("challenge:settle_or_bounce")
    assert app.host.challenges.selected == "settle_or_bounce"
    assert app.host.context.challenge.choosing
    me.click("lock-in")
    assert app.host.challenges.attempt is None, "nothing is locked in before a prediction is made"
    me.click("choice:1")
    assert app.host.challenges.choice == 1, f"the click chose the second answer ({app.host.challenges.choice})"
    me.click("lock-in")
    assert app.host.context.challenge.running, "the challenge's run started"
    started = app.frame_count
    me.until(lambda: app.host.context.challenge.revealed, what="the verdict")
    # about three seconds of the clock: at least 30 frames even when each frame is slow (a frame
    # advances the clock by at most 0.1 s)
    assert app.frame_count - started >= 25, f"the run is long enough to watch ({app.frame_count - started} frames)"
    me.look("verdict")
    records = app.progress.challenges("eos_canyon")
    assert "settle_or_bounce" in records, "the attempt is saved"
    me.click("next-challenge")
    assert app.host.challenges.selected not in (None, "settle_or_bounce"), "Next challenge opens another"

    me.xdo("mousemove", "--window", me.window, "700", "250")
    for _ in range(6):
        me.key("ctrl+minus")
    assert app.imgui.scale == 0.5
    me.look("scale-0.5")
    for _ in range(6):
        me.key("ctrl+equal")
    assert app.imgui.scale == 1.1
    me.look("scale-1.1")
    assert app.host is not None and app.host.error is None

    # keyboard alone: back to the atlas, open a level, play a challenge
    me.key("Escape", frames=6)
    if app.host is not None:  # the first Esc let go of the control the keyboard was on
        me.key("Escape", frames=6)
    assert app.host is None, "Esc went back to the atlas"
    me.key("Return", frames=6)
    assert app.host is not None and app.host.entry.id == "eos_canyon", \
        f"the atlas kept the keyboard on the level just left, and Enter opened it, not {app.host and app.host.entry.id}"
    level = app.host.manifest
    challenge = next(c for c in level.challenges.values() if c.kind == "choice")
    me.keyboard_to("tab:Challenges")
    me.key("space")
    assert app.host.tab == "Challenges", "Space pressed the tab the keyboard was on"
    me.keyboard_to(f"challenge:{challenge.id}")
    me.key("space")
    assert app.host.challenges.selected == challenge.id
    me.keyboard_to("choice:0")
    me.key("space")
    me.keyboard_to("lock-in")
    me.key("space")
    assert app.host.context.challenge.running and not app.host.paused, "Space locked it in and did not pause"
    me.until(lambda: app.host.context.challenge.revealed, what="the keyboard's verdict")
    me.look("keyboard-verdict")
    app.shutdown()


def kiosk(out: Path) -> None:
    """An unattended kiosk: a visitor zooms, opens help and a level, tries to leave fullscreen;
    after the idle time the next visitor finds everything as it started."""
    app = App(size=SIZE, headless=False, fullscreen=True, idle_reset_s=3.0, progress=Progress(":memory:"))
    me = Person(app, out)
    assert app.window.fullscreen
    me.click("level:eos_canyon")
    assert app.host is not None
    me.key("F11")
    assert app.window.fullscreen, "F11 does nothing in a kiosk"
    for _ in range(3):
        me.key("ctrl+equal")
    me.key("F1")
    assert app.imgui.scale > 1.2 and app.show_help
    me.look("kiosk-visitor")
    me.xdo("mousemove", "--window", me.window, "5", "5")
    me.frames(2)
    started = time.monotonic()
    me.until(lambda: app.host is None, seconds=10, what="the idle reset")
    assert time.monotonic() - started > 2.0
    assert app.imgui.scale == 1.0 and not app.show_help and app.window.fullscreen
    me.look("kiosk-reset")
    me.xdo("keydown", "ctrl+shift+q")
    me.until(lambda: app.window.should_close(), seconds=OPERATOR_EXIT_S + 5, what="the operator exit")
    me.xdo("keyup", "ctrl+shift+q")
    app.shutdown()


def soak(out: Path) -> None:
    """Random input for CF_SOAK_S seconds (mouse, drags, wheel, keys, sliders to their ends) over
    every level: no exception may leave a frame, and no level may fail."""
    seconds = float(os.environ.get("CF_SOAK_S", "60"))
    rng = random.Random(int(os.environ.get("CF_SOAK_SEED", "0")))
    app = App(size=SIZE, headless=False, progress=Progress(out / "progress.sqlite3"))  # the engine picks
    me = Person(app, out)
    levels = sorted(app.registry.entries)
    keys = ["space", "n", "r", "plus", "minus", "Tab", "Down", "Up", "Left", "Right", "Return", "F1",
            "ctrl+equal", "ctrl+minus", "w", "a", "s", "d", "q", "e"]
    deadline = time.monotonic() + seconds
    events = 0
    while time.monotonic() < deadline:
        if app.host is None:
            app.open_level(rng.choice(levels))
            me.frames(2)
        roll = rng.random()
        x, y = rng.randrange(SIZE[0]), rng.randrange(SIZE[1])
        if roll < 0.35:
            me.xdo("mousemove", "--window", me.window, str(x), str(y), "click", "1")
        elif roll < 0.5:  # a drag: sliders run to their ends and beyond
            me.xdo("mousemove", "--window", me.window, str(x), str(y), "mousedown", "1")
            me.frames(2)
            to = min(max(rng.choice([0, SIZE[0] - 1, x + 400, x - 400]), 0), SIZE[0] - 1)
            me.xdo("mousemove", "--window", me.window, str(to), str(y), "mouseup", "1")
        elif roll < 0.6:
            me.xdo("mousemove", "--window", me.window, str(x), str(y), "click", rng.choice(["4", "5"]))
        elif roll < 0.95:
            me.xdo("key", rng.choice(keys))
        else:
            me.key("Escape", "Escape")
        me.frames(rng.randint(1, 4))
        events += 1
        if app.host is not None:
            assert app.host.error is None, f"{app.host.entry.id} failed under random input:\n{app.host.error}"
    me.look("soak-end")
    print(f"soak: {events} input events over {seconds:.0f} s, {app.frame_count} frames")
    app.shutdown()


def first_route(out: Path) -> None:
    """Seed 004's first route, end to end: search a claim, follow the Start Here route to the
    efficient-attention level, predict the KV-cache lever, read the claim's boundary, leave a
    note; then the app restarts and the note and the progress are there."""
    store = out / "progress.sqlite3"
    app = App(size=SIZE, headless=False, progress=Progress(store), backend="numpy")
    app.atlas.thumbnails.work = lambda order, render=True: False  # pictures are not this route's business
    me = Person(app, out)
    assert app.atlas.start_route is not None and app.atlas.start_route.id == "attention_to_serving"
    me.click("search")
    typed = "Mem_KV = B * N_layers * T * H_kv"
    me.xdo("type", "--delay", "40", typed)
    me.until(lambda: app.atlas.query == typed, seconds=20, what="the typing to reach the search box")
    assert app.atlas.hits and app.atlas.hits[0].level == "kv_cache", "the equation finds the KV-cache lab"
    claims = [h for h in app.atlas.hits if h.kind == "claim" and h.level == "kv_cache"]
    assert claims, "the search lists the lab's claims"
    me.look("route-search")
    me.key("Escape", frames=6)
    assert app.atlas.query == "" and app.host is None, "Esc empties the search"

    me.click("route:attention_to_serving:associativity_switch")
    assert app.host is not None and app.host.entry.id == "associativity_switch", "the route opened the efficient-attention level"
    me.look("route-efficient-attention")
    me.click("back")
    assert app.host is None, "< Atlas went back"

    me.click("route:attention_to_serving:kv_cache")
    assert app.host is not None and app.host.entry.id == "kv_cache"
    me.tap("tab:Challenges")
    me.click("challenge:lever_mha")
    assert app.host.context.challenge.choosing
    me.click("choice:2")
    me.click("lock-in")
    me.until(lambda: app.host.context.challenge.revealed, what="the lever's verdict")
    me.look("route-lever-verdict")
    assert "lever_mha" in app.progress.challenges("kv_cache"), "the prediction is saved"

    me.tap("tab:About")
    assert app.host.tab == "About"
    claim = app.host.object_in_view()
    assert claim.startswith("claim:"), claim
    statement = app.host.manifest.claims[claim.split(":", 1)[1]]
    assert statement.boundary, "the claim has a boundary to read"
    me.look("route-boundary")
    me.click("header:note")
    assert app.notes.open and app.notes.target == claim, (app.notes.target, claim)
    me.click("notes:text")
    typed = "Repair: the formula leaves out weights and activations"
    me.xdo("type", "--delay", "30", typed)
    me.until(lambda: app.notes.text == typed, seconds=20, what="the typing to reach the note")
    me.click("notes:save")
    notes = app.progress.notes("kv_cache")
    assert [(n.target, n.text) for n in notes] == [(claim, "Repair: the formula leaves out weights and activations")]
    me.look("route-note")
    app.shutdown()

    again = App(size=SIZE, headless=False, progress=Progress(store), backend="numpy")
    again.atlas.thumbnails.work = lambda order, render=True: False
    me = Person(again, out)
    assert [n.text for n in again.progress.notes("kv_cache")] == [notes[0].text], "the note is kept"
    assert "lever_mha" in again.progress.challenges("kv_cache"), "the progress is kept"
    me.click("route:attention_to_serving:kv_cache")
    me.click("header:note")
    assert again.notes.open and again.progress.notes("kv_cache")
    me.look("route-after-restart")
    again.shutdown()


SCENARIOS = {"first_minutes": first_minutes, "kiosk": kiosk, "soak": soak, "first_route": first_route}

if __name__ == "__main__":
    name, folder = sys.argv[1], Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    SCENARIOS[name](folder)
