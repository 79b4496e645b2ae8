"""GLSL source handling without GL: single-file multi-stage shaders and ``#include``.

One ``.glsl`` file may hold several stages, each behind ``#if defined VERTEX_SHADER`` /
``FRAGMENT_SHADER`` / ``GEOMETRY_SHADER`` / ``COMPUTE_SHADER``; the stage is chosen by
defining its macro after the ``#version`` line. ``#include "file.glsl"`` is resolved relative
to the including file, then to the shared ``shaders/`` folder; it must be a relative path that
resolves inside the level folder of the shader being loaded (the nearest folder above it with a
``level.toml``, else the shader's own folder), the shared ``shaders/`` folder or a folder the
caller adds to the search: an absolute path or a ``../`` out of them is an error, so a level's
shader cannot pull in files from elsewhere on the machine. Every included chunk is
preceded by a ``#line`` directive with a source-string number, and :class:`Source` remembers
which file each number stands for, so compiler errors can be mapped back to file and line.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..paths import SHADERS_DIR

STAGES = ("VERTEX_SHADER", "GEOMETRY_SHADER", "FRAGMENT_SHADER", "COMPUTE_SHADER")
DEFAULT_VERSION = "#version 430 core"

SOURCE_MAX_BYTES = 1 << 20  # a shader file is text a person wrote; anything bigger is not one
_LEVEL_MANIFEST = "level.toml"

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$')
_VERSION = re.compile(r"^\s*#\s*version\b.*$")


class ShaderSourceError(ValueError):
    """A missing or recursive include, reported with the including file and line."""


@dataclass
class Source:
    """Preprocessed GLSL text plus the files its ``#line`` source numbers refer to."""

    text: str
    files: list[Path] = field(default_factory=list)
    version: str = DEFAULT_VERSION

    @property
    def dependencies(self) -> list[Path]:
        """Every file that went into this source (for hot reload)."""
        return list(self.files)

    def stages(self) -> list[str]:
        """The stage macros this source mentions."""
        return [s for s in STAGES if re.search(rf"\b{s}\b", self.text)]

    def for_stage(self, stage: str, defines: dict[str, object] | None = None) -> str:
        """The complete text to compile for one stage, with ``#version`` first."""
        lines = [self.version, f"#define {stage} 1"]
        lines += [f"#define {k} {v}" for k, v in (defines or {}).items()]
        return "\n".join(lines) + "\n" + self.text

    def locate(self, source_number: int) -> Path | None:
        """The file that ``#line`` source-string number ``source_number`` stands for."""
        return self.files[source_number] if 0 <= source_number < len(self.files) else None


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _home(path: Path) -> Path:
    """The folder a shader's includes are confined to: the nearest folder above it that holds a
    level manifest (the shader's level), else the folder the shader is in."""
    for folder in path.parents:
        if ".." in folder.parts:  # only the folders the path names before any "..": its own level's
            continue
        if (folder / _LEVEL_MANIFEST).is_file():
            return folder
    return path.parent


def _resolve(name: str, including: Path, search: list[Path], roots: list[Path], where: str) -> Path | None:
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        raise ShaderSourceError(f"{where}: include {name!r} is an absolute path; includes are relative to the "
                                "including file or the shared shaders folder")
    escaped = False
    for base in [including.parent, *search]:
        candidate = (base / name).resolve()
        inside = _inside(candidate, roots)
        escaped = escaped or not inside
        if candidate.exists():  # a FIFO or a folder is then refused by _read, with its reason
            if not inside:
                break
            return candidate
    if escaped:
        raise ShaderSourceError(f"{where}: include {name!r} resolves outside the level folder and the shared "
                                "shaders folder; a shader includes only files from them")
    return None


def _read(file: Path) -> str:
    """A shader file's text: a regular file (a FIFO would block), at most SOURCE_MAX_BYTES, UTF-8."""
    try:
        info = os.stat(file)
        if not stat.S_ISREG(info.st_mode):
            raise ShaderSourceError(f"{file}: not a regular file")
        if info.st_size > SOURCE_MAX_BYTES:
            raise ShaderSourceError(f"{file}: {info.st_size} bytes; a shader file is at most {SOURCE_MAX_BYTES}")
        return file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ShaderSourceError(f"{file}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ShaderSourceError(f"{file}: cannot be read: {exc.strerror or exc}") from None


def load_source(path: Path | str, search: list[Path] | None = None) -> Source:
    """Read a shader file, expanding includes; raise :class:`ShaderSourceError` with file:line.

    Includes are confined to the shader's level folder, the shared ``shaders/`` folder and the
    folders in ``search`` (see the module's docstring)."""
    search = [*(Path(p).resolve() for p in search or []), SHADERS_DIR.resolve()]
    source = Source(text="")
    out: list[str] = []
    given = Path(path).absolute()
    roots = [_home(given).resolve(), *search]

    def expand(file: Path, stack: tuple[Path, ...]) -> None:
        number = len(source.files)
        source.files.append(file)
        out.append(f"#line 1 {number}")
        for lineno, line in enumerate(_read(file).splitlines(), start=1):
            if _VERSION.match(line):
                if not stack:
                    source.version = line.strip()
                out.append("")  # keep line numbers aligned
                continue
            m = _INCLUDE.match(line)
            if not m:
                out.append(line)
                continue
            target = _resolve(m.group(1), file, search, roots, f"{file}:{lineno}")
            if target is None:
                raise ShaderSourceError(f"{file}:{lineno}: cannot find include {m.group(1)!r}")
            if target in stack or target == file:
                raise ShaderSourceError(f"{file}:{lineno}: recursive include of {target.name}")
            if len(stack) >= 32:
                raise ShaderSourceError(f"{file}:{lineno}: includes nested more than 32 deep")
            expand(target, (*stack, file))
            out.append(f"#line {lineno + 1} {number}")

    path = given.resolve()
    if not path.is_file():
        raise ShaderSourceError(f"{path}: shader file not found")
    if not _inside(path, roots):
        raise ShaderSourceError(f"{given}: resolves outside its level folder (to {path})")
    expand(path, ())
    source.text = "\n".join(out) + "\n"
    return source


_ERROR_LOCATION = [
    re.compile(r"(?P<src>\d+):(?P<line>\d+)\(\d+\)"),  # Mesa: 0:12(5): error: ...
    re.compile(r"ERROR:\s*(?P<src>\d+):(?P<line>\d+)"),  # NVIDIA/others: ERROR: 0:12: ...
    re.compile(r"(?P<src>\d+)\((?P<line>\d+)\)\s*:"),  # NVIDIA: 0(12) : error ...
]


def map_errors(source: Source, log: str) -> str:
    """Rewrite a compiler log's ``N:LINE`` locations as ``file:LINE``."""
    out = []
    for line in log.splitlines():
        for pattern in _ERROR_LOCATION:
            m = pattern.search(line)
            if m:
                file = source.locate(int(m.group("src")))
                if file is not None:
                    line = f"{file.name}:{m.group('line')}: " + line[m.end():].lstrip(" :")
                break
        out.append(line)
    return "\n".join(out)
