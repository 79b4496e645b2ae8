"""Hundreds of hostile manifests, made by mutating the shipped levels' (seeded): reading one
gives a manifest or a one-line ManifestError naming the file, and the listing keeps every good
level beside them, each bad one with a one-line reason."""

import re
import shutil

import numpy as np
import pytest

from sandbox.fuzz import MUTATIONS, mutate_manifest
from sandbox.manifest import Manifest, ManifestError, load_manifest
from sandbox.paths import LEVELS_DIR
from sandbox.registry import Registry

SHIPPED = sorted(p.parent.name for p in LEVELS_DIR.glob("*/level.toml"))
PER_KIND = 40  # mutants of each kind, spread over the shipped levels


def make_mutants(directory, seed=11):
    """``{folder: what was done}`` for PER_KIND mutants of every kind, in ``directory``."""
    rng = np.random.default_rng(seed)
    made = {}
    for kind in MUTATIONS:
        for i in range(PER_KIND):
            level = SHIPPED[int(rng.integers(len(SHIPPED)))]
            mutant = f"mutant_{kind}_{i:03d}"
            text = (LEVELS_DIR / level / "level.toml").read_text()
            text = re.sub(r'(?m)^id = ".*"$', f'id = "{mutant}"', text, count=1)
            content, what = mutate_manifest(text, rng, kind)
            folder = directory / mutant
            folder.mkdir()
            (folder / "level.toml").write_bytes(content)
            made[folder] = f"{level}: {what}"
    return made


@pytest.fixture(scope="module")
def levels(tmp_path_factory):
    """The shipped levels' manifests beside the mutants, in one folder."""
    directory = tmp_path_factory.mktemp("hostile") / "levels"
    directory.mkdir()
    for level in SHIPPED:
        (directory / level).mkdir()
        shutil.copy(LEVELS_DIR / level / "level.toml", directory / level / "level.toml")
    return directory, make_mutants(directory)


def test_every_mutant_reads_as_a_manifest_or_a_one_line_error_naming_the_file(levels):
    _, mutants = levels
    outcomes = {"ok": 0, "error": 0}
    for folder, what in mutants.items():
        try:
            manifest = load_manifest(folder)
        except ManifestError as exc:
            message = str(exc)
            assert "\n" not in message and len(message) < 1000, (what, message)
            assert message.startswith(f"{folder / 'level.toml'}: "), (what, message)
            # the checks caught it, not the safety net for the unforeseen
            assert "cannot be read: " not in message and "values nested too deeply" not in message, (what, message)
            outcomes["error"] += 1
        else:
            assert isinstance(manifest, Manifest)
            outcomes["ok"] += 1
    assert outcomes["error"] > 0.8 * len(mutants), outcomes  # most mutations break something


def test_the_listing_keeps_every_good_level_and_gives_each_bad_one_a_reason(levels):
    directory, mutants = levels
    registry = Registry([directory], builtin=False, packs=False)
    assert set(SHIPPED) <= set(registry.entries)
    problems = {e.folder: e.error for e in registry.problems}
    for folder, what in mutants.items():
        folder = folder.resolve()
        if folder.name in registry.entries:
            assert registry.entries[folder.name].folder == folder
        else:
            assert folder in problems, (what, "not listed")
            assert "\n" not in problems[folder] and str(folder) in problems[folder], (what, problems[folder])
    assert len(registry.entries) + len(registry.problems) == len(SHIPPED) + len(mutants)


@pytest.mark.parametrize("kind, fragment", [
    ("non_utf8_comment", "is not UTF-8 text: byte 0x"),
    ("nested", r"(nested too deeply|must be|is an array|an array is not valid)"),
    ("question", r"question (has a bad placeholder|has a placeholder|cannot be filled in)"),
    ("nan_bounds", r"(must be a finite number|must be a number|must be an integer|must be below max|default)"),
    ("unknown_key", "(unknown keys|no such parameter|no such mistake|no parameter|must be a table|must be a non-empty array)"),
])
def test_each_kind_of_damage_is_named(tmp_path, kind, fragment):
    rng = np.random.default_rng(3)
    for i in range(10):
        folder = tmp_path / f"mutant_{i}"
        folder.mkdir()
        text = re.sub(r'(?m)^id = ".*"$', f'id = "mutant_{i}"',
                      (LEVELS_DIR / "eos_canyon" / "level.toml").read_text(), count=1)
        content, what = mutate_manifest(text, rng, kind)
        (folder / "level.toml").write_bytes(content)
        try:
            load_manifest(folder)
        except ManifestError as exc:
            assert re.search(fragment, str(exc)), (what, str(exc))
        else:
            pytest.fail(f"accepted: {what}")
