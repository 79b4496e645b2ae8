"""Golden screenshots of every level and tab on the software renderer, compared with a tolerance.

``continuous-function goldens --update`` (or ``CF_UPDATE_GOLDENS=1`` here) writes them anew after
an intended visual change; on a mismatch the actual image and a magnified difference are
written to the test's tmp folder.
"""

import os

import pytest

from sandbox import goldens
from sandbox.registry import Registry

ENTRIES = [e for e in Registry(packs=False).all_entries() if e.manifest is not None]
SHOTS = [(entry, shot) for entry in ENTRIES for shot in goldens.shots(entry.manifest)]


def test_every_level_has_a_golden_for_every_shot():
    missing = [f"{entry.id}/{shot.name}" for entry, shot in SHOTS if not shot.path(entry.folder).is_file()]
    assert not missing, f"no golden for {', '.join(missing)}: run `continuous-function goldens --update LEVEL`"


def test_every_tab_is_a_shot():
    for entry in ENTRIES:
        assert {s.tab for s in goldens.shots(entry.manifest)} >= set(goldens.GOLDEN_TABS)


@pytest.mark.parametrize("entry,shot", SHOTS, ids=[f"{e.id}-{s.name}" for e, s in SHOTS])
def test_golden_screenshot(entry, shot, tmp_path):
    from sandbox.progress import Progress

    golden = shot.path(entry.folder)
    out = tmp_path / f"{shot.name}.png"
    try:
        error = goldens.render(shot, out, progress=Progress(tmp_path / "progress.sqlite3"))
    except goldens.RendererError as exc:
        pytest.skip(str(exc))
    assert error is None, error
    if os.environ.get("CF_UPDATE_GOLDENS"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(out.read_bytes())
        return
    if not golden.is_file():
        pytest.skip(f"no golden {golden}: see test_every_level_has_a_golden_for_every_shot")
    mismatch = goldens.compare(out, golden, tmp_path / f"{shot.name}-diff.png")
    assert mismatch <= goldens.MAX_MISMATCH, (
        f"{entry.id}/{shot.name}: {mismatch:.1%} of pixels differ (allowed {goldens.MAX_MISMATCH:.0%}); see {tmp_path}")


def test_a_changed_image_is_caught(tmp_path):
    """The comparison itself can fail: a shifted block of pixels is reported with a diff image."""
    import numpy as np

    from sandbox.image import save_png

    image = np.zeros((60, 80, 3), np.uint8)
    image[10:30, 10:30] = 200
    save_png(tmp_path / "a.png", image)
    shifted = np.roll(image, 6, axis=1)
    save_png(tmp_path / "b.png", shifted)
    assert goldens.compare(tmp_path / "a.png", tmp_path / "a.png") == 0.0
    assert goldens.compare(tmp_path / "b.png", tmp_path / "a.png", tmp_path / "diff.png") > goldens.MAX_MISMATCH
    assert (tmp_path / "diff.png").is_file()
