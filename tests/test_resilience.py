"""A level that breaks shows its error; the app keeps running; the fixed level reloads in place."""

import os
import time

import numpy as np
import pytest

from sandbox.registry import Registry
from sandbox.scaffold import new_level


@pytest.fixture
def level_dir(tmp_path):
    folder = new_level("fragile", tmp_path / "levels")
    return folder


def touch_later(path, text):
    path.write_text(text)
    stamp = time.time() + 5
    os.utime(path, (stamp, stamp))


def first_in(path, signature, *lines):
    """Put ``lines`` first in the body of the method with this ``signature`` in ``path``."""
    text = path.read_text()
    assert text.count(signature) == 1, f"{path.name} has no {signature!r}"
    path.write_text(text.replace(signature, signature + "".join(f"\n        {line}" for line in lines)))


def open_app(make_app, level_dir):
    registry = Registry([level_dir.parent], builtin=False, packs=False)
    return make_app(level="fragile", registry=registry, backend="numpy")




def test_an_exception_in_step_is_shown_and_the_fixed_file_reloads(make_app, level_dir, monkeypatch):
    model = level_dir / "model.py"
    first_in(model, "def step(self) -> None:", "self.calls = getattr(self, 'calls', 0) + 1",
             "if self.calls > 5:", "    raise RuntimeError('step exploded')")
    app = open_app(make_app, level_dir)
    app.run_frames(30)
    assert "step exploded" in app.host.runner.error
    app.run_frames(5)  # still drawing frames
    assert app.ctx.error == "GL_NO_ERROR"
    broken = app.host.runner
    touch_later(model, model.read_text().replace("raise RuntimeError('step exploded')", "pass"))
    app.clock.advance(0.6)  # the watcher looks at the files twice a second
    app.run_frames(10)  # it sees the newer model.py and reloads the level in place
    assert app.host.runner is not broken and app.host.entry.id == "fragile"
    assert app.host.runner.error is None and app.host.runner.steps > 0 and app.host.error is None


def test_an_exception_in_the_view_is_shown_and_reload_fixes_it(make_app, level_dir):
    view = level_dir / "view.py"
    original = view.read_text()
    first_in(view, "def scene(self, frame) -> None:", "1 / 0")
    app = open_app(make_app, level_dir)
    app.run_frames(3)
    assert "ZeroDivisionError" in app.host.error
    view.write_text(original)
    app.host.reload()
    app.run_frames(3)
    assert app.host.error is None and app.host.view is not None


def test_a_broken_manifest_is_shown_and_the_atlas_keeps_working(make_app, level_dir):
    manifest = level_dir / "level.toml"
    manifest.write_text(manifest.read_text().replace('pillar = "foundations"', 'pillar = "nowhere"'))
    registry = Registry([level_dir.parent], builtin=True, packs=False)
    assert any("nowhere" in e.error for e in registry.problems)
    app = make_app(registry=registry, backend="numpy")
    app.run_frames(3)
    assert app.host is None and app.frame_count == 3


def test_a_shader_that_does_not_compile_keeps_the_last_good_one(make_app, level_dir):
    shader = level_dir / "glow.glsl"
    shader.write_text("#if defined VERTEX_SHADER\nin vec2 in_pos;\nvoid main(){gl_Position=vec4(in_pos,0,1);}\n#endif\n"
                      "#if defined FRAGMENT_SHADER\nout vec4 f;\nvoid main(){f=vec4(1);}\n#endif\n")
    view = level_dir / "view.py"
    view.write_text(view.read_text().replace("    def scene(self, frame) -> None:",
                                             "    def on_reset(self):\n        self.glow = self.program('glow.glsl')\n\n"
                                             "    def scene(self, frame) -> None:"))
    app = open_app(make_app, level_dir)
    app.run_frames(2)
    good = app.host.view.glow.program
    touch_later(shader, shader.read_text().replace("f=vec4(1);", "f=vec4(1) +;"))
    app.run_frames(2)
    assert app.host.view.glow.program is good
    assert "glow.glsl:7" in app.host.shader_errors()[0]
    assert app.host.error is None


def test_a_diverging_simulation_is_reported_and_reset(make_app, level_dir):
    app = open_app(make_app, level_dir)
    app.host.runner.set_param("lr", 1.5)
    app.host.runner.set_param("curvature", 4.0)
    app.run_frames(120)
    assert app.host.runner.diverged and app.host.error is None
    app.host.reset_active()
    assert not app.host.runner.diverged
    assert all(np.all(np.isfinite(value)) for value in app.host.runner.model.state().values())


def test_an_exception_inside_a_plot_is_shown_not_fatal(make_app, level_dir):
    view = level_dir / "view.py"
    view.write_text(view.read_text() + '''
    def plots(self):
        from imgui_bundle import implot
        if implot.begin_plot("half-drawn"):
            implot.setup_axes("x", "y")
            raise ValueError("plot went wrong")
''')
    app = open_app(make_app, level_dir)
    app.run_frames(5)
    assert "plot went wrong" in app.host.error
    app.run_frames(5)  # the frames after it still render
    assert app.frame_count == 10


def test_the_painter_streams_more_than_its_first_buffer_holds(make_app):
    app = make_app(level="eos_canyon", backend="numpy")
    app.run_frames(1)
    ctx = app.ctx
    fbo = ctx.simple_framebuffer((64, 64))
    fbo.use()
    fbo.clear(0.0, 0.0, 0.0, 1.0)
    ctx.disable(ctx.DEPTH_TEST | ctx.BLEND)
    mvp = np.eye(4, dtype=np.float32)
    # 20000 vertices each (over half a megabyte: the buffers grow), all outside the view but the last
    # ones: a truncated upload, or drawing from the buffer it replaced, leaves their pixels dark.
    points = np.full((20000, 3), 5.0)
    points[-1] = (0.5, 0.5, 0.0)
    app.painter.points(mvp, points, (1, 0, 0, 1), 6.0)
    segments = np.full((20000, 3), 5.0)
    segments[-2:] = [(-0.5, -0.5, 0.0), (0.5, -0.5, 0.0)]  # the last segment: along row 16, x in 16..48
    app.painter.lines(mvp, segments, (0, 0, 1, 1), 4.0, (64, 64), strip=False)
    pixels = np.frombuffer(fbo.read(components=3), np.uint8).reshape(64, 64, 3)  # row 0 at the bottom
    assert tuple(pixels[48, 48]) == (255, 0, 0)  # the 20000th point
    assert tuple(pixels[16, 32]) == (0, 0, 255)  # the 10000th segment
    assert tuple(pixels[32, 32]) == (0, 0, 0) and (pixels.sum(axis=2) > 0).mean() < 0.1  # and nothing else
    assert ctx.error == "GL_NO_ERROR"
    fbo.release()


def test_filled_rectangles_cover_their_pixels(make_app):
    app = make_app(level="eos_canyon", backend="numpy")
    app.run_frames(1)
    ctx = app.ctx
    fbo = ctx.simple_framebuffer((64, 64))
    fbo.use()
    fbo.clear(0.0, 0.0, 0.0, 1.0)
    ctx.disable(ctx.DEPTH_TEST | ctx.BLEND)
    app.painter.rects(np.eye(4, dtype=np.float32), [[-1, -1], [0, 0]], [[0, 0], [1, 1]],
                      [[1, 0, 0, 1], [0, 0, 1, 1]])
    pixels = np.frombuffer(fbo.read(components=3), np.uint8).reshape(64, 64, 3)  # row 0 at the bottom
    assert tuple(pixels[10, 10]) == (255, 0, 0) and tuple(pixels[50, 50]) == (0, 0, 255)
    assert tuple(pixels[10, 50]) == (0, 0, 0)
    assert ctx.error == "GL_NO_ERROR"
    fbo.release()


@pytest.mark.parametrize(("method", "where"), [("def step(self) -> None:", "model.py"),
                                                ("def scene(self, frame) -> None:", "view.py"),
                                                ("def panel(self) -> None:", "view.py")])
def test_a_level_that_calls_sys_exit_ends_itself_not_the_app(make_app, level_dir, method, where):
    path = level_dir / where
    if method not in path.read_text():  # the template's view may not override panel()
        path.write_text(path.read_text() + f"\n    {method}\n        pass\n")
    first_in(path, method, "import sys", "sys.exit(0)")
    app = open_app(make_app, level_dir)
    app.run_frames(10)
    assert app.host is not None and "SystemExit" in (app.host.error or "")
    app.run_frames(3)  # the app draws on


def test_a_slider_at_either_end_hands_on_a_value_inside_the_range():
    """ImGui works in float32: a slider at 0.3 hands back 0.30000001, which the range check refuses."""
    from sandbox.testing import level, make_runner
    from sandbox.ui.widgets import clamp_to_range

    manifest = level("eos_canyon").manifest
    run = make_runner("eos_canyon")
    for param in (p for p in manifest.params.values() if p.type == "float"):
        for end in (param.min, param.max):
            from_imgui = float(np.float32(end))
            run.set_param(param.name, clamp_to_range(param, from_imgui))  # refused if outside
            assert run.params[param.name] == end
