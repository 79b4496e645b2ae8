"""A person's input, injected into the real loop: clicks, keys, drags."""

from imgui_bundle import imgui

from sandbox.atlas import NODE_H, NODE_W, route_layout
from sandbox.paths import user_data_dir


def press(app, key):
    app.inject("key", key, True)
    app.inject("key", key, False)
    app.run_frames(3)


def click(app, x, y):
    app.inject("mouse_pos", x, y)
    app.inject("mouse_button", 0, True)
    app.inject("mouse_button", 0, False)
    app.run_frames(4)


def test_clicking_a_level_on_the_route_graph_opens_it(make_app):
    app = make_app()
    app.run_frames(3)
    column, row = route_layout(app.registry)["eos_canyon"]
    # the graph's first node sits at the top-left of the right-hand child window
    app.inject("mouse_pos", 0, 0)
    app.run_frames(2)
    list_width = min(420.0, 1024 * 0.4)
    x0, y0 = list_width + 30, 50
    click(app, x0 + column * (NODE_W + 70) + NODE_W / 2, y0 + row * (NODE_H + 16) + NODE_H / 2)
    assert app.host is not None and app.host.entry.id == "eos_canyon"
    press(app, imgui.Key.escape)
    assert app.host is None


def test_keys_pause_step_reset_help_and_screenshot(make_app):
    app = make_app(level="eos_canyon", backend="numpy")
    app.run_frames(5)
    press(app, imgui.Key.space)
    assert app.host.paused
    steps = app.host.runner.steps
    press(app, imgui.Key.n)
    assert app.host.runner.steps == steps + 1
    press(app, imgui.Key.r)
    assert app.host.runner.steps == 0
    press(app, imgui.Key.f1)
    assert app.show_help
    press(app, imgui.Key.f12)
    assert list((user_data_dir() / "screenshots").glob("eos_canyon-*.png"))


def test_dragging_in_the_scene_orbits_the_camera(make_app):
    app = make_app(level="eos_canyon", backend="numpy")
    app.run_frames(3)
    x0, y0, w, h = app.layout()["scene"]
    yaw = app.host.view.cam.yaw
    app.inject("mouse_pos", x0 + w / 2, y0 + h / 2)
    app.inject("mouse_button", 0, True)
    for i in range(1, 6):
        app.inject("mouse_pos", x0 + w / 2 + 20 * i, y0 + h / 2)
    app.inject("mouse_button", 0, False)
    app.run_frames(10)
    assert app.host.view.cam.yaw != yaw


def test_sound_cues_play_without_an_audio_device():
    from sandbox.audio import Sounds

    sounds = Sounds()
    for cue in ("right", "wrong", "diverged", "unknown"):
        sounds.play(cue)  # SDL's dummy driver in tests: plays into nothing, never raises


def test_a_kiosk_returns_to_the_atlas_when_left_alone(make_app, monkeypatch):
    import time as clock

    app = make_app(level="eos_canyon", backend="numpy", idle_reset_s=30)
    app.run_frames(3)
    assert app.host is not None
    later = clock.monotonic() + 31
    monkeypatch.setattr("sandbox.app.time.monotonic", lambda: later)
    app.run_frames(2)
    assert app.host is None


def test_overlay_labels_land_where_the_world_point_is_drawn(make_app):
    app = make_app(level="eos_canyon", backend="numpy")
    app.run_frames(2)
    from sandbox.gfx.camera import Camera2D, FrameInput
    from sandbox.view import Frame

    camera = Camera2D(center=(1.0, 2.0), half_height=2.0)
    frame = Frame((800, 400), camera, FrameInput(), 0.0, pixel_ratio=2.0, origin=(100.0, 50.0))
    at = frame.to_overlay((1.0, 2.0))  # the centre of the scene, in window units
    assert (at.x, at.y) == (100.0 + 200.0, 50.0 + 100.0)
    orbit = app.host.view.cam
    assert orbit.world_to_screen(orbit.eye - (orbit.target - orbit.eye), (800, 400)) is None  # behind the eye
