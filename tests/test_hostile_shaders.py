"""A level's shader includes only files of its own folder or the shared shaders folder."""

import os

import pytest

from sandbox.gfx.glsl import ShaderSourceError, load_source
from sandbox.paths import SHADERS_DIR


@pytest.fixture
def level(tmp_path):
    folder = tmp_path / "levels" / "inc_level"
    (folder / "glsl").mkdir(parents=True)
    (folder / "level.toml").write_text("id = 'inc_level'\n")
    (folder / "common.glsl").write_text("float common_value() { return 1.0; }\n")
    (tmp_path / "levels" / "secret.glsl").write_text("float secret() { return 2.0; }\n")
    return folder


def shader(folder, text, name="main.glsl"):
    path = folder / name
    path.write_text(text + "\nvoid main() {}\n")
    return path


def test_relative_includes_inside_the_level_and_the_shared_folder_are_expanded(level):
    source = load_source(shader(level / "glsl", '#include "../common.glsl"\n#include "colormap.glsl"'))
    assert [p.name for p in source.files] == ["main.glsl", "common.glsl", "colormap.glsl"]
    assert source.files[2] == (SHADERS_DIR / "colormap.glsl").resolve()


@pytest.mark.parametrize("include, fragment", [
    ("/etc/hostname", "is an absolute path"),
    ("C:/Windows/win.ini", "is an absolute path"),
    ("../secret.glsl", "resolves outside the level folder and the shared shaders folder"),
    ("../../../../../../../../etc/hostname", "resolves outside"),
    ("../missing_elsewhere.glsl", "resolves outside"),
    ("link.glsl", "resolves outside"),
])
def test_absolute_and_escaping_includes_are_errors_naming_the_line(level, include, fragment):
    os.symlink(level.parent / "secret.glsl", level / "link.glsl")
    path = shader(level, f'// a comment\n#include "{include}"')
    with pytest.raises(ShaderSourceError, match=fragment) as info:
        load_source(path)
    assert f"{path}:2:" in str(info.value)


def test_a_shader_that_links_out_a_fifo_or_bytes_that_are_not_text_are_errors(level):
    os.symlink(level.parent / "secret.glsl", level / "outside.glsl")
    with pytest.raises(ShaderSourceError, match="resolves outside its level folder"):
        load_source(level / "outside.glsl")
    os.mkfifo(level / "pipe.glsl")
    with pytest.raises(ShaderSourceError, match="not a regular file"):
        load_source(shader(level, '#include "pipe.glsl"'))
    (level / "bytes.glsl").write_bytes(b"// caf\xe9\n")
    with pytest.raises(ShaderSourceError, match="not UTF-8"):
        load_source(level / "bytes.glsl")


def test_a_shader_named_through_another_levels_folder_is_outside(level):
    other = level.parent / "other_level"
    other.mkdir()
    (other / "level.toml").write_text("id = 'other_level'\n")
    (other / "theirs.glsl").write_text("void main() {}\n")
    with pytest.raises(ShaderSourceError, match="resolves outside its level folder"):
        load_source(level / ".." / "other_level" / "theirs.glsl")
    assert load_source(other / "theirs.glsl").files == [(other / "theirs.glsl").resolve()]
