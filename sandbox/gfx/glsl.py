"""GLSL source handling without GL: single-file multi-stage shaders and ``#include``.

One ``.glsl`` file may hold several stages, each behind ``#if defined VERTEX_SHADER`` /
``FRAGMENT_SHADER`` / ``GEOMETRY_SHADER`` / ``COMPUTE_SHADER``; the stage is chosen by
defining its macro after the ``#version`` line. ``#include "file.glsl"`` is resolved relative
to the including file, then to the shared ``shaders/`` folder. Every included chunk is
preceded by a ``#line`` directive with a source-string number, and :class:`Source` remembers
which file each number stands for, so compiler errors can be mapped back to file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import SHADERS_DIR

STAGES = ("VERTEX_SHADER", "GEOMETRY_SHADER", "FRAGMENT_SHADER", "COMPUTE_SHADER")
DEFAULT_VERSION = "#version 430 core"

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


def _resolve(name: str, including: Path, search: list[Path]) -> Path | None:
    for base in [including.parent, *search]:
        candidate = (base / name).resolve()
        if candidate.is_file():
            return candidate
    return None


def load_source(path: Path | str, search: list[Path] | None = None) -> Source:
    """Read a shader file, expanding includes; raise :class:`ShaderSourceError` with file:line."""
    search = [*(search or []), SHADERS_DIR]
    source = Source(text="")
    out: list[str] = []

    def expand(file: Path, stack: tuple[Path, ...]) -> None:
        number = len(source.files)
        source.files.append(file)
        out.append(f"#line 1 {number}")
        for lineno, line in enumerate(file.read_text().splitlines(), start=1):
            if _VERSION.match(line):
                if not stack:
                    source.version = line.strip()
                out.append("")  # keep line numbers aligned
                continue
            m = _INCLUDE.match(line)
            if not m:
                out.append(line)
                continue
            target = _resolve(m.group(1), file, search)
            if target is None:
                raise ShaderSourceError(f"{file}:{lineno}: cannot find include {m.group(1)!r}")
            if target in stack or target == file:
                raise ShaderSourceError(f"{file}:{lineno}: recursive include of {target.name}")
            expand(target, (*stack, file))
            out.append(f"#line {lineno + 1} {number}")

    path = Path(path).resolve()
    if not path.is_file():
        raise ShaderSourceError(f"{path}: shader file not found")
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
