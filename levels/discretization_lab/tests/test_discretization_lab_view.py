"""The discretization lab's scene text stays legible: at small windows and large UI scales no label runs
into another."""

from pathlib import Path

import pytest

from sandbox.app import App
from sandbox.progress import Progress
from sandbox.testing import cut_off_text, overlapping_text, record_scene_text

LEVEL = "discretization_lab"


@pytest.mark.parametrize("size, scale, params", [((960, 600), 1.0, {}), ((1280, 720), 2.0, {}),
                                                 ((960, 600), 2.0, {"dt": 0.3, "pole_imag": 6.0})])
def test_scene_labels_never_overlap(tmp_path, monkeypatch, size, scale, params):
    boxes = record_scene_text(monkeypatch)
    app = App(size=size, headless=True, level=LEVEL, ui_scale=scale, params=params,
              progress=Progress(Path(tmp_path) / "p.db"))
    try:
        for frames in (25, 30):
            app.run_frames(frames)
            boxes.clear()
            app.run_frames(1)
            assert app.host.error is None, app.host.error
            assert len(boxes) >= 8 and overlapping_text(boxes) == [], overlapping_text(boxes)
            assert cut_off_text(boxes) == []
    finally:
        app.shutdown()
