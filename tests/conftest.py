"""Shared fixtures: an isolated user data folder, a headless app, GL error checks."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# the models' matrices are small: BLAS threads only fight the test workers for the two cores
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _user_data(tmp_path, monkeypatch):
    """Every test gets its own progress database and screenshots folder."""
    monkeypatch.setenv("CF_DATA_DIR", str(tmp_path / "userdata"))


@pytest.fixture
def gl():
    """The kernels' GL context; fails the test if GL reports an error before or after it."""
    from sim import backends

    reason = backends.unavailable_reason("glsl")
    if reason:
        pytest.skip(f"no OpenGL 4.3: {reason}")
    ctx = backends.gl_context()
    assert ctx.error == "GL_NO_ERROR"
    yield ctx
    assert backends.gl_context().error == "GL_NO_ERROR"


@pytest.fixture(scope="session")
def thumbnail_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("thumbnails")


@pytest.fixture
def make_app(tmp_path, thumbnail_folder):
    """Build headless apps (closed at the end of the test)."""
    from sandbox.app import App
    from sandbox.progress import Progress
    from sandbox.thumbnails import Thumbnails

    apps = []

    def make(**kwargs):
        kwargs.setdefault("size", (1024, 640))
        kwargs.setdefault("headless", True)
        kwargs.setdefault("progress", Progress(tmp_path / "progress.sqlite3"))
        shipped = "registry" not in kwargs
        app = App(**kwargs)
        if shipped:  # the atlas's pictures of the shipped levels: drawn once per test session
            app.atlas.thumbnails = Thumbnails(app, folder=thumbnail_folder)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.shutdown()
