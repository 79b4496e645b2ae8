"""Compiling shader files into moderngl programs, with hot reload that keeps the last good one.

A :class:`HotProgram` watches every file its source was built from (includes too). When one
changes it recompiles; if that fails it keeps drawing with the last program that compiled and
holds the error, mapped to ``file:line``, for the app to show.
"""

from __future__ import annotations

from pathlib import Path

from .glsl import ShaderSourceError, Source, load_source, map_errors


class ShaderError(RuntimeError):
    """A shader that does not compile or link; the message names file and line."""


def _build(ctx, source: Source, defines: dict | None, stages: list[str]):
    kwargs = {}
    names = {"VERTEX_SHADER": "vertex_shader", "GEOMETRY_SHADER": "geometry_shader",
              "FRAGMENT_SHADER": "fragment_shader", "COMPUTE_SHADER": "compute_shader"}
    for stage in stages:
        kwargs[names[stage]] = source.for_stage(stage, defines)
    try:
        if "compute_shader" in kwargs:
            return ctx.compute_shader(kwargs["compute_shader"])
        return ctx.program(**kwargs)
    except Exception as exc:  # moderngl raises its own Error with the driver's log
        raise ShaderError(map_errors(source, str(exc))) from None


def compile_program(ctx, path: Path | str, defines: dict | None = None):
    """Compile the vertex/geometry/fragment stages of one shader file into a program."""
    source = _load(path)
    stages = [s for s in source.stages() if s != "COMPUTE_SHADER"]
    if "VERTEX_SHADER" not in stages or "FRAGMENT_SHADER" not in stages:
        raise ShaderError(f"{Path(path).name}: needs VERTEX_SHADER and FRAGMENT_SHADER sections")
    return _build(ctx, source, defines, stages)


def compile_compute(ctx, path: Path | str, defines: dict | None = None):
    """Compile the COMPUTE_SHADER stage of one shader file."""
    return _build(ctx, _load(path), defines, ["COMPUTE_SHADER"])


def _load(path) -> Source:
    try:
        return load_source(path)
    except (ShaderSourceError, OSError) as exc:
        raise ShaderError(str(exc)) from None


class HotProgram:
    """A shader program that recompiles when its files change and survives bad edits.

    ``program`` is always the last program that compiled (None only if the first compile
    failed); ``error`` holds the current compile error, or None.
    """

    def __init__(self, ctx, path: Path | str, defines: dict | None = None, compute: bool = False):
        self.ctx = ctx
        self.path = Path(path)
        self.defines = dict(defines or {})
        self.compute = compute
        self.program = None
        self.error: str | None = None
        self._stamps: dict[Path, float] = {}
        self.generation = 0  # bumps on every successful (re)compile; views rebuild VAOs on change
        self.reload()

    def _dependencies(self) -> list[Path]:
        try:
            return load_source(self.path).dependencies
        except (ShaderSourceError, OSError):
            return [self.path]

    def reload(self) -> bool:
        """Compile now; returns True on success (else keeps the old program and sets ``error``)."""
        self._stamps = {p: _mtime(p) for p in self._dependencies()}
        try:
            build = compile_compute if self.compute else compile_program
            program = build(self.ctx, self.path, self.defines)
        except ShaderError as exc:
            self.error = str(exc)
            return False
        if self.program is not None:
            self.program.release()
        self.program, self.error = program, None
        self.generation += 1
        return True

    def poll(self) -> bool:
        """Recompile if any source file changed since the last compile; True if it reloaded."""
        if any(_mtime(p) != t for p, t in self._stamps.items()):
            self.reload()
            return True
        return False

    def __getitem__(self, name):
        return self.program[name]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0
