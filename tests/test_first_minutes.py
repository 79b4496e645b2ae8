"""A newcomer's first minutes, headless: UI scale, taps, the tab a level opens on."""

import pytest
from imgui_bundle import imgui


def press(app, key, ctrl=False):
    if ctrl:
        app.inject("key", imgui.Key.mod_ctrl, True)
    app.inject("key", key, True)
    app.inject("key", key, False)
    if ctrl:
        app.inject("key", imgui.Key.mod_ctrl, False)
    app.run_frames(5 if ctrl else 3)


def test_ui_scale_keys_never_distort_the_style(make_app):
    """Ctrl+- and Ctrl+= scale from the unscaled style: no size is lost to rounding on the way,
    whatever the path (a cumulative rescale once truncated a padding to 0 and ImGui asserted)."""
    app = make_app(level="eos_canyon", backend="numpy")
    app.run_frames(2)
    base = imgui.get_style().window_padding.x, imgui.get_style().window_border_hover_padding
    for _ in range(8):
        press(app, imgui.Key.minus, ctrl=True)
    assert app.imgui.scale == pytest.approx(0.5)
    assert imgui.get_style().window_border_hover_padding > 0
    for _ in range(30):
        press(app, imgui.Key.equal, ctrl=True)
    assert app.imgui.scale == pytest.approx(3.0)
    for _ in range(20):
        press(app, imgui.Key.minus, ctrl=True)
    assert app.imgui.scale == pytest.approx(1.0)
    assert (imgui.get_style().window_padding.x, imgui.get_style().window_border_hover_padding) == base
    assert app.host.error is None


def test_a_tap_switches_every_tab(make_app):
    """A touch screen's tap (the pointer jumps and presses in one burst) selects a tab."""
    app = make_app(level="eos_canyon", backend="numpy")
    app.run_frames(3)
    for name in ("Challenges", "Math", "Code", "About", "Play"):
        x, y, w, h = app.marks[f"tab:{name}"]
        app.inject("tap", x + w / 2, y + h / 2)
        app.run_frames(4)
        assert app.host.tab == name


def test_drawing_the_play_tab_changes_no_parameter(make_app):
    """A slider that nobody touched hands back its value through float32 (0.4 as 0.40000000596):
    that must not count as a change, or a parameter that restarts the run would restart it."""
    app = make_app(level="grokking_circle", backend="numpy")
    app.run_frames(2)
    run = app.host.runner
    before = dict(run.params)
    generation = run.generation
    app.run_frames(4)
    assert run.params == before and run.generation == generation
