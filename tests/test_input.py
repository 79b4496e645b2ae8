"""A person's input, injected into the real loop: clicks, keys, drags."""

import numpy as np
import pytest
from imgui_bundle import imgui

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
    x, y, w, h = app.marks["level:eos_canyon"]  # where the atlas drew the level's card
    click(app, x + w / 2, y + h / 2)
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


class MixerSpy:
    """Wraps pygame's mixer (SDL's dummy audio driver in tests): records whether the audio device was
    opened, the samples of every cue made and each cue played. ``fail`` makes opening the device fail."""

    def __init__(self, monkeypatch, fail=False):
        import pygame

        self.opened, self.cues, self.played = [], [], []
        self.fail = fail
        real_init, real_make_sound = pygame.mixer.init, pygame.sndarray.make_sound
        monkeypatch.delenv("CF_MUTE", raising=False)

        def init(**kwargs):
            self.opened.append(kwargs)
            if self.fail:
                raise pygame.error("No available audio device")
            real_init(**kwargs)

        def make_sound(samples):
            cue = Cue(np.array(samples), real_make_sound(samples))
            self.cues.append(cue)
            return cue

        class Cue:
            def __init__(cue, samples, sound):
                cue.samples, cue.sound = samples, sound

            def play(cue):
                self.played.append(cue)
                return cue.sound.play()

        monkeypatch.setattr(pygame.mixer, "init", init)
        monkeypatch.setattr(pygame.sndarray, "make_sound", make_sound)


def test_sound_cues_are_audible_distinct_and_play_once_each(monkeypatch):
    from sandbox.audio import RATE, Sounds

    mixer = MixerSpy(monkeypatch)
    sounds = Sounds()
    assert mixer.opened == [{"frequency": RATE, "size": -16, "channels": 1}] and sounds.available
    heard = {}
    for name in ("right", "wrong", "diverged"):
        before = len(mixer.played)
        sounds.play(name)
        assert len(mixer.played) == before + 1, name
        heard[name] = mixer.played[-1]
    sounds.play("unknown")  # no such cue: nothing plays
    assert len(mixer.played) == 3 and len({id(c) for c in heard.values()}) == 3
    seconds = {"right": 0.12 + 0.35, "wrong": 0.15 + 0.3, "diverged": 0.5}
    for name, cue in heard.items():
        samples = cue.samples
        assert samples.dtype == np.int16 and samples.ndim == 1, name
        assert abs(len(samples) - RATE * seconds[name]) <= 2, name
        assert cue.sound.get_length() == pytest.approx(seconds[name], abs=1e-3), name  # as the mixer plays it
        assert np.abs(samples).max() > 0.1 * 32767, name  # audible, not silence
        assert abs(int(samples[0])) < 0.01 * 32767, name  # a soft attack, no click
    n = min(len(c.samples) for c in heard.values())
    for a, b in (("right", "wrong"), ("right", "diverged"), ("wrong", "diverged")):
        difference = np.abs(heard[a].samples[:n].astype(float) - heard[b].samples[:n]).mean()
        assert difference > 1000, (a, b)  # distinct cues, not one sound three times
    sounds.muted = True  # the side panel's checkbox
    for name in ("right", "wrong", "diverged"):
        sounds.play(name)
    assert len(mixer.played) == 3


def test_muted_or_deviceless_sounds_never_play(monkeypatch):
    from sandbox.audio import Sounds

    mixer = MixerSpy(monkeypatch)
    muted = Sounds(muted=True)
    assert mixer.opened == [] and not muted.available  # muted from the start: the device is never opened
    muted.play("right")
    monkeypatch.setenv("CF_MUTE", "1")
    env_muted = Sounds()
    assert env_muted.muted
    env_muted.play("wrong")
    assert mixer.played == []
    monkeypatch.delenv("CF_MUTE")
    mixer.fail = True
    mixer.opened.clear()
    mixer.cues.clear()
    deviceless = Sounds()  # the device cannot open: silent, not broken
    assert len(mixer.opened) == 1 and mixer.cues == [] and not deviceless.available
    deviceless.play("right")
    assert mixer.played == []


def test_a_headless_app_never_opens_the_audio_device(make_app, monkeypatch):
    import pygame

    mixer = MixerSpy(monkeypatch)
    pygame.mixer.quit()  # an earlier test in this process may have opened it
    app = make_app(level="eos_canyon", backend="numpy")
    app.run_frames(3)
    assert mixer.opened == [] and mixer.cues == [] and pygame.mixer.get_init() is None
    assert app.sounds.muted and not app.sounds.available
    app.sounds.play("right")
    assert mixer.played == []




def test_a_kiosk_returns_to_the_atlas_when_left_alone(make_app, monkeypatch):
    app = make_app(level="eos_canyon", backend="numpy", idle_reset_s=30)
    app.run_frames(3)
    app.clock.advance(29)
    app.run_frames(2)
    assert app.host is not None  # 29 s alone: not yet
    for x in (200, 220):  # someone moves the mouse (ImGui sees a motion from the second position on)
        app.inject("mouse_pos", x, 200)
        app.run_frames(1)
    app.clock.advance(29)
    app.run_frames(2)
    assert app.host is not None  # 58 s since it opened, 29 s since the last touch
    app.clock.advance(2)
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
