"""Shader files: includes, errors mapped to file and line, hot reload that keeps the last good program."""

import os
import time

import pytest

from sandbox.gfx.glsl import ShaderSourceError, load_source
from sandbox.gfx.shaders import HotProgram, ShaderError, compile_program

PROGRAM = """
#include "helpers.glsl"
#if defined VERTEX_SHADER
in vec2 in_pos;
void main() { gl_Position = vec4(in_pos, 0.0, 1.0); }
#endif
#if defined FRAGMENT_SHADER
out vec4 frag;
void main() { frag = vec4(shade(0.5)); }
#endif
"""


def write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


def test_includes_are_expanded_relative_to_the_including_file(tmp_path):
    write(tmp_path, "helpers.glsl", "float shade(float x) { return x * x; }\n")
    source = load_source(write(tmp_path, "main.glsl", PROGRAM))
    assert "float shade" in source.text
    assert [p.name for p in source.files] == ["main.glsl", "helpers.glsl"]
    assert source.stages() == ["VERTEX_SHADER", "FRAGMENT_SHADER"]


def test_a_missing_or_recursive_include_names_the_file_and_line(tmp_path):
    with pytest.raises(ShaderSourceError, match=r"main.glsl:2: cannot find include 'helpers.glsl'"):
        load_source(write(tmp_path, "main.glsl", PROGRAM))
    write(tmp_path, "a.glsl", '#include "b.glsl"\n')
    write(tmp_path, "b.glsl", '#include "a.glsl"\n')
    with pytest.raises(ShaderSourceError, match="recursive include"):
        load_source(tmp_path / "a.glsl")


def test_compile_errors_point_at_the_included_file_and_its_line(tmp_path, gl):
    write(tmp_path, "helpers.glsl", "float shade(float x) {\n  return x * undefined_thing;\n}\n")
    with pytest.raises(ShaderError, match=r"helpers.glsl:2"):
        compile_program(gl, write(tmp_path, "main.glsl", PROGRAM))


def test_hot_reload_keeps_the_last_good_program_and_reports_the_error(tmp_path, gl):
    helpers = write(tmp_path, "helpers.glsl", "float shade(float x) { return x; }\n")
    hot = HotProgram(gl, write(tmp_path, "main.glsl", PROGRAM))
    assert hot.error is None and hot.generation == 1
    good = hot.program
    helpers.write_text("float shade(float x) { return x +; }\n")
    os.utime(helpers, (time.time() + 5, time.time() + 5))
    assert hot.poll()
    assert hot.program is good and "helpers.glsl:1" in hot.error
    helpers.write_text("float shade(float x) { return 2.0 * x; }\n")
    os.utime(helpers, (time.time() + 10, time.time() + 10))
    hot.poll()
    assert hot.error is None and hot.generation == 2
