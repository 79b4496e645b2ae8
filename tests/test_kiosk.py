"""Kiosk mode: a visitor cannot close the app or change it for the next one."""

from imgui_bundle import imgui

from sandbox.app import OPERATOR_EXIT_S
from sandbox.challenges import Verdict


def tap_key(app, key, *mods):
    for mod in mods:
        app.inject("key", mod, True)
    app.inject("key", key, True)
    app.inject("key", key, False)
    for mod in mods:
        app.inject("key", mod, False)
    app.run_frames(3 + 2 * len(mods))


def solved(level, challenge):
    return Verdict(challenge, "x", 0.9, "x", True, 99.0, None, "", "")


def test_an_idle_reset_restores_everything_a_visitor_changed(make_app):
    from sandbox.progress import Progress

    app = make_app(idle_reset_s=20, progress=Progress(":memory:"), ui_scale=1.0)
    app.run_frames(2)
    app.open_level("eos_canyon")
    app.record("eos_canyon", solved("eos_canyon", "settle_or_bounce"))
    assert app.progress_records("eos_canyon")
    for _ in range(5):
        tap_key(app, imgui.Key.equal, imgui.Key.mod_ctrl)
    tap_key(app, imgui.Key.f1)
    app.window.toggle_fullscreen()
    assert app.imgui.scale > 1.3 and app.show_help and app.host is not None and app.window.fullscreen
    app.clock.advance(21)
    app.run_frames(2)
    assert app.host is None and not app.show_help
    assert app.imgui.scale == 1.0 and not app.window.fullscreen
    assert app.progress_records("eos_canyon") == {}, "the next visitor starts with no solved challenges"
    assert app.progress.visited() == set()


def test_visitors_cannot_leave_fullscreen_reload_code_write_files_or_close(make_app, tmp_path):
    from sandbox.paths import user_data_dir

    app = make_app(level="eos_canyon", backend="numpy", idle_reset_s=60)
    app.run_frames(2)
    host = app.host
    tap_key(app, imgui.Key.f11)
    assert not app.window.fullscreen
    tap_key(app, imgui.Key.f12)
    assert not (user_data_dir() / "screenshots").exists()
    tap_key(app, imgui.Key.r, imgui.Key.mod_ctrl)
    assert app.host is host, "Ctrl+R did not reload the level"
    import glfw

    from sandbox.gfx.context import _keep_open

    glfw.set_window_should_close(app.window.handle, True)  # what a close button asks for ...
    _keep_open(app.window.handle)  # ... and what the kiosk's close callback answers
    assert not app.window.should_close()


def test_the_operator_exits_by_holding_the_chord(make_app):
    app = make_app(idle_reset_s=60)
    app.run_frames(2)
    for key in (imgui.Key.mod_ctrl, imgui.Key.mod_shift, imgui.Key.q):
        app.inject("key", key, True)
    app.run_frames(4)
    assert not app.window.should_close()
    app.clock.advance(OPERATOR_EXIT_S / 2)
    app.run_frames(1)
    assert not app.window.should_close() and "Operator exit" in app.toast[0]
    app.clock.advance(OPERATOR_EXIT_S)
    app.run_frames(1)
    assert app.window.should_close()


def test_outside_a_kiosk_the_keys_work(make_app):
    app = make_app(level="eos_canyon", backend="numpy")
    app.run_frames(2)
    host = app.host
    tap_key(app, imgui.Key.r, imgui.Key.mod_ctrl)
    assert app.host.runner is not None and app.toast and "reloaded" in app.toast[0]
    assert host is app.host


def test_a_kiosk_loads_only_the_packs_it_allows():
    from sandbox.cli import UsageError, _packs, build_parser

    parse = build_parser().parse_args
    assert _packs(parse(["list"])) is None, "outside a kiosk every installed pack loads"
    assert _packs(parse(["--kiosk", "60", "list"])) is False, "a kiosk loads no pack unless allowed"
    assert _packs(parse(["--kiosk", "60", "--kiosk-packs", "museum, physics", "list"])) == ["museum", "physics"]
    import pytest

    with pytest.raises(UsageError, match="--kiosk"):
        _packs(parse(["--kiosk-packs", "museum", "list"]))
