"""Pictures of the levels for the atlas: each level's scene, rendered by the engine, cached as PNG.

A thumbnail is the level's own scene (no panels, no overlays) after a few frames of its default
run, drawn headless into an offscreen framebuffer of :data:`SIZE`. It is saved in the user data
folder under ``thumbnails/``, named by the level and a hash of the level folder's files, so an
edited level is drawn again and an unchanged one is only read back.

Making a picture means opening the level (its model, view and shaders), stepping it and
drawing it: on a software renderer that is up to a second of work for the heaviest levels. The
atlas therefore calls :meth:`Thumbnails.work` once a frame and each call does one piece (open,
a few steps within a time budget, or the drawing), so the atlas keeps answering; a level that
fails anywhere on the way gets no picture, and its error is logged, never raised.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .clock import Budget

log = logging.getLogger(__name__)

SIZE = (320, 180)  # pixels: 16:9, enough for a card; the atlas draws it smaller or at this size
FRAMES = 12  # frames (at 60 per second) of the level's default run before the picture is taken
STEP_BUDGET_S = 0.008  # wall time one frame may spend stepping a level for its picture (a real clock)
FORMAT = 1  # bump when what a thumbnail shows changes for every level (the cache key includes it)
SKIPPED_DIRS = {"__pycache__", "goldens", "tests"}  # nothing in these changes what the scene draws
BACKGROUND = (0.075, 0.085, 0.105, 1.0)  # the scene's background in the app


def content_key(folder: Path | str, *extra: object) -> str:
    """A hash of the files of a level folder (their paths relative to it and their bytes) and of
    ``extra`` (the picture's size, the backend...): any edit to the level gives another key.
    Caches, goldens and tests are left out: they do not change what the level draws."""
    folder = Path(folder)
    digest = hashlib.sha256(repr((FORMAT, *extra)).encode())
    for path in sorted(_level_files(folder)):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError as exc:  # unreadable now: a key that changes when it becomes readable
            digest.update(f"unreadable: {exc}".encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _level_files(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and not name.endswith((".pyc", ".pyo")):
                yield Path(root) / name


def cache_path(folder: Path, level_id: str, key: str) -> Path:
    """Where the thumbnail of ``level_id`` with content ``key`` is kept."""
    return Path(folder) / f"{level_id}-{key[:20]}.png"


def render_steps(app, entry, size: tuple[int, int] = SIZE, frames: int = FRAMES) -> Iterator[None]:
    """Render the scene of ``entry``'s level into an offscreen framebuffer, one piece of work per
    ``next()``: open the level, step its default run (``frames`` frames' worth of steps, within
    :data:`STEP_BUDGET_S` of wall time per piece when the app's clock is real), then draw. The
    generator's return value (``StopIteration.value``) is the picture, an (H, W, 3) uint8 array
    with the top row first; any failure raises. Closing the generator early closes the level.

    Call it inside an ImGui frame of ``app`` (as the atlas does): a view may measure text while it
    draws. The app's screen framebuffer and viewport are bound again after the drawing.
    """
    from .host import LevelHost

    host = LevelHost(_OffScreen(app), entry)
    try:
        if host.error or host.runner is None:
            raise RuntimeError(_last_line(host.error or entry.error or "the level did not open"))
        steps = max(1, round(entry.manifest.steps_per_second * frames / 60.0))
        while host.runner.steps < steps and not host.runner.stopped:
            yield
            budget = Budget(STEP_BUDGET_S, steps - host.runner.steps, app.clock)
            while not budget.exhausted and host.runner.step(1):
                budget.spend()
        if host.runner.error:
            raise RuntimeError(_last_line(host.runner.error))
        host.elapsed = frames / 60.0  # what the view's own animations see: the frames that ran
        yield
        return _draw(app, host, size)
    finally:
        # closed with its app still open, or collected later: after the app's window has closed
        # its GL objects went with the context, and releasing them then could free another
        # context's objects of the same names
        if getattr(app.window, "handle", None) is not None:
            host.close()


class _OffScreen:
    """The app as a level drawn for its picture sees it: the same resources, but the frames its
    view asks for while it animates are not asked of the app (the level is not on screen; the
    atlas keeps the frames coming while pictures are due, see ``Atlas.animating``)."""

    def __init__(self, app):
        self._app = app

    def __getattr__(self, name: str):
        return getattr(self._app, name)

    def request_frames(self, count: int = 2) -> None:
        """Nothing: no frame is needed for a picture nobody sees yet."""


def _draw(app, host, size: tuple[int, int]) -> np.ndarray:
    """The host's panes drawn as the app lays them out in a scene of ``size`` pixels."""
    from .gfx.camera import FrameInput
    from .view import Frame

    ctx = app.ctx
    w, h = size
    color = ctx.texture((w, h), 4)
    depth = ctx.depth_texture((w, h))
    fbo = ctx.framebuffer([color], depth)
    try:
        fbo.use()
        fbo.clear(*BACKGROUND, depth=1.0)
        ctx.enable(ctx.BLEND)
        ctx.blend_func = ctx.SRC_ALPHA, ctx.ONE_MINUS_SRC_ALPHA
        panes = host.panes()
        if host.error:
            raise RuntimeError(_last_line(host.error))
        for index, pane in enumerate(panes):
            fx, fy, fw, fh = pane.rect
            rect = (fx * w, fy * h, fw * w, fh * h)
            frame = Frame((max(int(rect[2]), 1), max(int(rect[3]), 1)), pane.camera, FrameInput(), host.elapsed,
                          1.0, rect[:2], pane.name)
            ctx.viewport = (int(rect[0]), int(h - rect[1] - rect[3]), *frame.viewport)
            ctx.enable(ctx.DEPTH_TEST)
            if index and _covers(pane.rect, [p.rect for p in panes[:index]]):  # an inset: clear under it
                ctx.clear(*BACKGROUND, depth=1.0, viewport=ctx.viewport)
            host.scene(frame)
            if host.error:
                raise RuntimeError(_last_line(host.error))
        pixels = np.frombuffer(fbo.read(components=3, alignment=1), np.uint8).reshape(h, w, 3)
        return pixels[::-1].copy()
    finally:
        ctx.disable(ctx.DEPTH_TEST)
        ctx.screen.use()
        ctx.viewport = (0, 0, *app.window.size)
        fbo.release()
        color.release()
        depth.release()


def _covers(rect, others) -> bool:
    """Whether ``rect`` shares area with any of ``others`` (all (x, y, w, h))."""
    return any(rect[0] < o[0] + o[2] and o[0] < rect[0] + rect[2] and rect[1] < o[1] + o[3] and o[1] < rect[1] + rect[3]
               for o in others)


def _last_line(error: str) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else str(error)


@dataclass
class Thumbnail:
    """A level's picture, uploaded: ``texture`` (a moderngl texture, top row first as ImGui
    expects) and ``path``, the cached PNG it came from."""

    texture: object
    path: Path
    key: str

    @property
    def ref(self):
        """The texture as ImGui takes it (``imgui.image``, ``ImDrawList.add_image``)."""
        from imgui_bundle import imgui

        return imgui.ImTextureRef(self.texture.glo)

    def release(self) -> None:
        try:
            self.texture.release()
        except Exception as exc:  # noqa: BLE001  (the context may already be gone at exit)
            log.debug("releasing a thumbnail: %s", exc)


class Thumbnails:
    """The atlas's pictures of the app's levels: loaded from the cache, or rendered a piece at a
    time by :meth:`work`. ``folder`` defaults to ``thumbnails/`` in the user data folder."""

    def __init__(self, app, folder: Path | str | None = None, size: tuple[int, int] = SIZE, frames: int = FRAMES):
        self.app = app
        self._folder = Path(folder) if folder is not None else None
        self.size = size
        self.frames = frames
        self.ready: dict[str, Thumbnail] = {}
        self.failed: dict[str, str] = {}  # level id -> the content key that failed (not retried)
        self.errors: dict[str, str] = {}  # level id -> why its picture could not be made
        self._keys: dict[str, str] = {}
        self._job: tuple[str, str, Iterator[None]] | None = None  # (level id, key, steps)

    @property
    def folder(self) -> Path:
        if self._folder is None:
            from .paths import user_data_dir

            self._folder = user_data_dir() / "thumbnails"
        return self._folder

    def key(self, level_id: str) -> str:
        """The content key of a level's picture (computed once until :meth:`refresh`)."""
        if level_id not in self._keys:
            from . import __version__

            # another release of the engine may draw a level differently: its version is in the key
            entry = self.app.registry.entries[level_id]
            self._keys[level_id] = content_key(entry.folder, self.size, self.frames, self.app.backend, __version__)
        return self._keys[level_id]

    def get(self, level_id: str) -> Thumbnail | None:
        """The level's picture if it is ready and still matches the level's files."""
        thumb = self.ready.get(level_id)
        return thumb if thumb is not None and thumb.key == self._keys.get(level_id) else None

    def status(self, level_id: str) -> str:
        """``ready``, ``failed`` (no picture: the level could not be drawn) or ``pending``."""
        if self.get(level_id) is not None:
            return "ready"
        if level_id in self._keys and self.failed.get(level_id) == self._keys[level_id]:
            return "failed"
        return "pending"

    def pending(self, order: Iterable[str]) -> list[str]:
        """The levels of ``order`` whose picture is neither ready nor failed."""
        return [i for i in order if i in self.app.registry.entries and self.status(i) == "pending"]

    def refresh(self) -> None:
        """Look at the level folders again (the atlas calls this when it comes back): a level
        edited since gets its picture made anew."""
        self._keys.clear()

    def work(self, order: Iterable[str], render: bool = True) -> bool:
        """Bring the pictures of ``order`` (level ids, most wanted first) one piece closer: every
        cached one is loaded; then, if ``render``, one piece of rendering for the first level
        without a picture. Returns True while some level still waits for its picture."""
        waiting = []
        for level_id in order:
            if level_id not in self.app.registry.entries:
                continue
            try:
                key = self.key(level_id)
            except OSError as exc:
                self._fail(level_id, "", f"its files could not be read: {exc}")
                continue
            if self.status(level_id) != "pending":
                continue
            if not self._load(level_id, key):
                waiting.append((level_id, key))
        if self._job is not None and (self._job[0], self._job[1]) not in waiting:
            self.cancel()  # the level changed (or was loaded from the cache) while it was drawn
        if not waiting:
            return False
        if render:
            if self._job is None:
                level_id, key = waiting[0]
                entry = self.app.registry.entries[level_id]
                # the picture is of the files as they are now: code imported earlier in the session
                # (before an edit) is imported again
                entry.unload()
                self._job = (level_id, key, render_steps(self.app, entry, self.size, self.frames))
            self._advance()
        return True

    def _advance(self) -> None:
        level_id, key, steps = self._job
        try:
            next(steps)
            return
        except StopIteration as done:
            self._job = None
            try:
                self._store(level_id, key, done.value)
            except Exception as exc:  # noqa: BLE001  (a full disk: no picture, the atlas goes on)
                self._fail(level_id, key, f"its picture could not be saved: {exc}")
        except Exception as exc:  # noqa: BLE001  (whatever a level's code raises: no picture, never a crash)
            self._job = None
            self._fail(level_id, key, str(exc) or type(exc).__name__)

    def _fail(self, level_id: str, key: str, reason: str) -> None:
        log.warning("no thumbnail for %s: %s", level_id, reason)
        self.failed[level_id] = key
        self.errors[level_id] = reason

    def _load(self, level_id: str, key: str) -> bool:
        """Upload the cached picture, if there is one; a file that cannot be read is removed."""
        path = cache_path(self.folder, level_id, key)
        if not path.is_file():
            return False
        from .image import load_png

        try:
            pixels = load_png(path)
        except Exception as exc:  # noqa: BLE001  (pygame's error for a bad file is its own class)
            log.warning("thumbnail %s could not be read (%s); drawing it again", path, exc)
            path.unlink(missing_ok=True)
            return False
        self._upload(level_id, key, path, pixels)
        return True

    def _store(self, level_id: str, key: str, pixels: np.ndarray) -> None:
        """Save a rendered picture (written aside, then moved in place: never half a file), drop the
        level's older pictures, and upload it."""
        from .image import save_png

        path = cache_path(self.folder, level_id, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}-{os.getpid()}.png")
        save_png(partial, pixels)
        os.replace(partial, path)
        for old in path.parent.glob(f"{level_id}-*.png"):
            if old != path and old.stem[len(level_id) + 1:].isalnum():
                old.unlink(missing_ok=True)
        self._upload(level_id, key, path, pixels)

    def _upload(self, level_id: str, key: str, path: Path, pixels: np.ndarray) -> None:
        ctx = self.app.ctx
        h, w = pixels.shape[:2]
        texture = ctx.texture((w, h), 3, np.ascontiguousarray(pixels[..., :3]).tobytes(), alignment=1)
        texture.build_mipmaps()  # drawn at a quarter of its size on the route graph: no shimmer
        texture.filter = (ctx.LINEAR_MIPMAP_LINEAR, ctx.LINEAR)
        old = self.ready.pop(level_id, None)
        if old is not None:
            old.release()
        self.ready[level_id] = Thumbnail(texture, path, key)

    def cancel(self) -> None:
        """Stop the picture being made (its level is closed); it starts again on the next :meth:`work`."""
        if self._job is not None:
            job, self._job = self._job, None
            try:
                job[2].close()
            except Exception as exc:  # noqa: BLE001  (a level's release that fails must not stop the atlas)
                log.warning("closing the thumbnail of %s: %s", job[0], exc)

    def release(self) -> None:
        """Free every texture and close the level being drawn."""
        self.cancel()
        for thumb in self.ready.values():
            thumb.release()
        self.ready.clear()
