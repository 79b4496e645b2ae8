"""Level packs and level folders that try to run code, or read files, they should not.

Listing never imports a pack (not even the package above a dotted entry point), a pack whose
code raises or exits cannot silence ``list``, and a level reads and imports only files that
resolve inside its own folder.
"""

import os
import sys

import pytest

from sandbox.cli import main
from sandbox.registry import LevelFileError, LevelLoadError, Registry
from sandbox.scaffold import new_level

HOSTILE_INIT = {
    "raises": "raise RuntimeError('the pack is broken')\n",
    "exits": "import sys\nsys.exit(0)\n",
}


def install_pack(site, package, body, entry, levels_under=""):
    """A pack ``package`` in ``site`` whose ``__init__.py`` is ``body``, announced as
    ``entry`` (``name = module``), with one level in ``package/levels_under``."""
    root = site / package
    root.mkdir(parents=True)
    (root / "__init__.py").write_text(body)
    holder = root / levels_under if levels_under else root
    if levels_under:
        holder.mkdir()
        (holder / "__init__.py").write_text(body)
    new_level(f"{package}_level", holder)
    dist = site / f"{package}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[continuous_function.levels]\n{entry}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in [n for n in sys.modules if n.startswith(("pack_", "cf_level_pack_"))]:
        del sys.modules[name]


@pytest.mark.parametrize("behaviour", sorted(HOSTILE_INIT))
def test_a_pack_is_listed_without_running_its_code_even_through_a_dotted_entry_point(site, behaviour, capsys):
    install_pack(site, "pack_flat", HOSTILE_INIT[behaviour], "flat = pack_flat")
    install_pack(site, "pack_dotted", HOSTILE_INIT[behaviour], "dotted = pack_dotted.levels", levels_under="levels")
    registry = Registry(builtin=False)
    assert registry.get("pack_flat_level").source == "pack:flat"
    assert registry.get("pack_dotted_level").source == "pack:dotted"
    assert "pack_flat" not in sys.modules and "pack_dotted" not in sys.modules
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "pack_dotted_level" in out and "eos_canyon" in out  # the pack silenced nothing


def test_a_pack_that_cannot_be_found_is_one_line_among_the_levels(site, capsys):
    dist = site / "ghost-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ghost\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[continuous_function.levels]\nghost = no_such_module.levels\n"
                                          "odd = not a module\n")
    registry = Registry()
    assert "eos_canyon" in registry.entries
    errors = {e.source: e.error for e in registry.problems}
    assert "not installed" in errors["pack:ghost"] and "cannot be located" in errors["pack:odd"]
    assert all("\n" not in e for e in errors.values())


def test_the_allow_list_loads_only_the_named_packs(site):
    install_pack(site, "pack_one", "", "one = pack_one")
    install_pack(site, "pack_two", "", "two = pack_two")
    assert {"pack_one_level", "pack_two_level"} <= set(Registry(builtin=False).entries)
    assert set(Registry(builtin=False, packs=["two"]).entries) == {"pack_two_level"}
    assert set(Registry(builtin=False, packs=[]).entries) == set()
    assert set(Registry(builtin=False, packs=False).entries) == set()
    missing = Registry(builtin=False, packs=["two", "three"])
    assert [e.error for e in missing.problems] == ["level pack 'three' is allowed but not installed"]


@pytest.mark.parametrize("body", sorted(HOSTILE_INIT.values()))
def test_level_code_that_raises_or_exits_is_a_load_error(tmp_path, body):
    folder = new_level("loud_level", tmp_path)
    (folder / "model.py").write_text(body)
    entry = Registry([tmp_path], builtin=False, packs=False).get("loud_level")
    with pytest.raises(LevelLoadError, match="model.py: cannot import: (RuntimeError|SystemExit)"):
        entry.model_class()
    entry.unload()


def test_a_level_reads_only_regular_files_inside_its_folder(tmp_path):
    folder = new_level("nosy_level", tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("not the level's")
    (folder / "README.md").unlink()
    (folder / "README.md").symlink_to(secret)
    os.mkfifo(folder / "pipe.md")
    (folder / "notes.md").write_bytes(b"caf\xe9 " + b"x" * 2000)
    entry = Registry([tmp_path], builtin=False, packs=False).get("nosy_level")
    assert entry.level_file("witness.py") == (folder / "witness.py").resolve()
    assert entry.level_file("README.md") is None
    assert "resolves outside the level folder" in entry.file_problem("README.md")
    for name, fragment in (("README.md", "outside the level folder"), ("../secret.txt", "outside the level folder"),
                           (str(secret), "outside the level folder"), ("pipe.md", "not a regular file"),
                           ("missing.md", "no such file")):
        with pytest.raises(LevelFileError, match=fragment) as info:
            entry.read_text(name)
        assert "\n" not in str(info.value)
    text = entry.read_text("notes.md", limit=1000)
    assert text.startswith("caf\ufffd x") and "longer than" in text and len(text) < 1100


def test_a_module_that_resolves_outside_the_folder_is_not_imported(tmp_path):
    folder = new_level("borrowed_level", tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "model.py").write_text((folder / "model.py").read_text())
    (outside / "helper.py").write_text("VALUE = 1\n")
    (folder / "model.py").unlink()
    (folder / "model.py").symlink_to(outside / "model.py")
    (folder / "helper.py").symlink_to(outside / "helper.py")
    entry = Registry([tmp_path], builtin=False, packs=False).get("borrowed_level")
    with pytest.raises(LevelLoadError, match="resolves outside the level folder"):
        entry.model_class()
    with pytest.raises(LevelLoadError, match="resolves outside the level folder"):
        entry.module("helper")
    (folder / "view_helper.py").write_text("from .helper import VALUE\n")  # a relative import of it: refused too
    with pytest.raises(LevelLoadError, match="resolves outside the level folder"):
        entry.module("view_helper")
    assert "cf_level_borrowed_level.helper" not in sys.modules
    entry.unload()
