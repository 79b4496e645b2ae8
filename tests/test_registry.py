"""Discovery of levels: shipped, extra folders, installed packs; lazy imports; clear errors."""

import re
import sys

from sandbox.registry import Registry
from sandbox.scaffold import new_level


def test_the_shipped_levels_are_found_without_errors():
    registry = Registry()
    assert "eos_canyon" in registry.entries
    assert not [e for e in registry.problems if e.source == "builtin"], [e.error for e in registry.problems]


def test_manifests_are_read_but_code_is_not_imported(tmp_path):
    new_level("lazy_level", tmp_path)
    registry = Registry([tmp_path], builtin=False, packs=False)
    entry = registry.get("lazy_level")
    assert "cf_level_lazy_level.model" not in sys.modules
    entry.model_class()
    assert "cf_level_lazy_level.model" in sys.modules
    entry.unload()
    assert "cf_level_lazy_level.model" not in sys.modules


def test_a_broken_manifest_is_listed_with_its_error_and_the_rest_still_load(tmp_path):
    new_level("fine_level", tmp_path)
    new_level("broken_level", tmp_path)
    manifest = tmp_path / "broken_level" / "level.toml"
    text = manifest.read_text()
    assert re.search(r"(?m)^title = ", text.split("\n[")[0])  # the first title is the level's, above any table
    manifest.write_text(re.sub(r"(?m)^title = .*$", "title = 3", text, count=1))  # only the level's title is wrong
    registry = Registry([tmp_path], builtin=False, packs=False)
    assert "fine_level" in registry.entries and "broken_level" not in registry.entries
    broken = [e for e in registry.problems if e.folder.name == "broken_level"]
    assert len(broken) == 1 and len(registry.problems) == 1
    assert str(manifest) in broken[0].error and "title must be a string, got 3" in broken[0].error


def test_a_duplicate_id_is_reported_not_silently_replaced(tmp_path):
    new_level("eos_canyon", tmp_path)  # clashes with the shipped level
    registry = Registry([tmp_path], packs=False)
    assert registry.get("eos_canyon").source == "builtin"
    assert any("duplicate level id" in e.error for e in registry.problems)


def test_installed_level_packs_are_found_through_entry_points(tmp_path, monkeypatch):
    pack = tmp_path / "site" / "my_pack"
    pack.mkdir(parents=True)
    (pack / "__init__.py").write_text("")
    new_level("pack_level", pack)
    dist = tmp_path / "site" / "my_pack-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-pack\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[continuous_function.levels]\nmine = my_pack\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry = Registry(builtin=False)
    entry = registry.get("pack_level")
    assert entry.source == "pack:mine"
    assert "my_pack" not in sys.modules  # located, not imported


def test_unknown_level_names_the_valid_ids():
    registry = Registry()
    try:
        registry.get("no_such_level")
    except KeyError as exc:
        assert "eos_canyon" in exc.args[0]
    else:
        raise AssertionError("expected KeyError")


def test_a_fixed_manifest_is_picked_up_by_retry(tmp_path):
    folder = new_level("mended", tmp_path)
    manifest = folder / "level.toml"
    good = manifest.read_text()
    manifest.write_text(good.replace('pillar = "foundations"', 'pillar = "nowhere"'))
    registry = Registry([tmp_path], builtin=False, packs=False)
    broken = registry.problems[0]
    assert not registry.retry(broken) and "nowhere" in broken.error
    manifest.write_text(good)
    assert registry.retry(broken)
    assert registry.get("mended").manifest.title == "Mended" and not registry.problems
