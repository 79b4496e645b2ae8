"""``continuous-function validate DIR``: everything a level must satisfy, checked headless."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .manifest import ManifestError, load_manifest


def validate_level(folder: Path | str, frames: int = 120, backend: str | None = None) -> list[str]:
    """Check a level folder: manifest, imports, shaders, its kernels against their numpy
    references on every available backend, frames of random input, challenges.

    Returns a list of problems (empty when the level is valid); never raises for a bad level.
    """
    folder = Path(folder).resolve()
    problems: list[str] = []
    try:
        manifest = load_manifest(folder)
    except ManifestError as exc:
        return [str(exc)]

    from .model import Model
    from .registry import LevelEntry, Registry
    from .view import View

    registry = Registry([folder.parent], builtin=False, packs=False)
    entry = registry.entries.get(manifest.id) or LevelEntry(folder, "dir", manifest)
    for kind, loader, base in (("model", entry.model_class, Model), ("view", entry.view_class, View)):
        try:
            cls = loader()
            if not (isinstance(cls, type) and issubclass(cls, base)):
                problems.append(f"{folder}: the {kind} {getattr(manifest, kind)!r} is not a subclass of {base.__module__}.{base.__name__}")
        except Exception as exc:
            problems.append(str(exc))
    if problems:
        return problems
    problems += _check_shaders(folder)
    problems += _check_kernels(entry)
    problems += _check_readme(folder)
    problems += _check_frames(entry, registry, frames, backend)
    problems += _check_challenges(entry)
    problems += _check_witness(folder)
    return problems


def _check_shaders(folder: Path) -> list[str]:
    from sim.backends import BackendError, gl_context

    from .gfx.glsl import load_source
    from .gfx.shaders import ShaderError, compile_compute, compile_program

    files = sorted(folder.rglob("*.glsl"))
    if not files:
        return []
    try:
        ctx = gl_context()
    except BackendError as exc:
        return [f"cannot compile shaders: {exc}"]
    problems = []
    for path in files:
        try:
            stages = load_source(path).stages()
            if "VERTEX_SHADER" in stages:
                compile_program(ctx, path).release()
            if "COMPUTE_SHADER" in stages:
                compile_compute(ctx, path).release()
        except (ShaderError, Exception) as exc:
            problems.append(f"shader {path.name}: {exc}")
    return problems


def _check_kernels(entry) -> list[str]:
    """The level's own kernels, on every backend available here, against their numpy references."""
    from .kernels import level_kernel_problems

    return level_kernel_problems(entry)


def _check_readme(folder: Path) -> list[str]:
    readme = folder / "README.md"
    if not readme.is_file() or len(readme.read_text().strip()) < 40:
        return [f"{folder}: README.md for learners is missing or empty (the claim and its boundary)"]
    return []


def _check_frames(entry, registry, frames: int, backend: str | None) -> list[str]:
    from .app import App
    from .fuzz import fuzz_frames
    from .progress import Progress

    try:
        app = App(size=(1024, 640), headless=True, level=entry.id, registry=registry, backend=backend,
                  progress=Progress(":memory:"))
    except Exception as exc:
        return [f"cannot open the level headless: {exc}"]
    try:
        if app.host.error:
            return [f"the level failed to open:\n{app.host.error}"]
        return fuzz_frames(app, frames)
    finally:
        app.shutdown()


def _check_challenges(entry) -> list[str]:
    from .challenges import ChallengeRun

    problems = []
    for challenge in entry.manifest.challenges.values():
        neutral = challenge.choices[0] if challenge.kind == "choice" else ("0,0" if challenge.kind == "region" else 0.0)
        attempt = ChallengeRun(entry, challenge)
        try:
            attempt.lock(neutral, 0.5)
            attempt.finish()
        except Exception as exc:
            problems.append(f"challenge {challenge.id!r} cannot be measured: {exc}")
    return problems


def _check_witness(folder: Path) -> list[str]:
    witness = folder / "witness.py"
    if not witness.is_file():
        return []
    done = subprocess.run([sys.executable, str(witness)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        return [f"witness.py failed:\n{done.stderr[-2000:]}"]
    return []
