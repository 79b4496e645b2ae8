"""The selective scan's scene text stays legible: at small windows and large UI scales no label runs
into another."""

import itertools
from pathlib import Path

import pytest

from sandbox.app import App
from sandbox.progress import Progress
from sandbox.view import Frame

LEVEL = "selective_scan"


def overlaps(boxes, slack=1.0):
    """Pairs of (text, x0, y0, x1, y1, pane, ...) boxes in one pane that overlap by more than ``slack``."""
    return [(a[0], b[0]) for a, b in itertools.combinations(boxes, 2) if a[5] == b[5]
            if min(a[3], b[3]) - max(a[1], b[1]) > slack and min(a[4], b[4]) - max(a[2], b[2]) > slack]


def cut_off(boxes):
    """The texts that do not fit their pane (the pane's clip rectangle cuts them)."""
    return [box[0] for box in boxes if box[3] > box[6] + 0.5 or box[4] > box[7] + 0.5]


@pytest.mark.parametrize("size, scale", [((960, 600), 1.0), ((1280, 720), 2.0), ((960, 600), 2.0)])
def test_scene_labels_never_overlap(tmp_path, monkeypatch, size, scale):
    from imgui_bundle import imgui

    boxes = []
    text = Frame.text

    def record(self, draw_list, at, words, *args, **kwargs):  # where Frame.text puts it, kept inside the pane
        width, height = self.size
        w, h = imgui.calc_text_size(words)
        x, y = max(min(at[0], width - w - 4.0), 4.0), max(min(at[1], height - h - 4.0), 4.0)
        boxes.append((words, x, y, x + w, y + h, self.pane, width, height))
        return text(self, draw_list, at, words, *args, **kwargs)

    monkeypatch.setattr(Frame, "text", record)
    app = App(size=size, headless=True, level=LEVEL, ui_scale=scale, params={"tokens_per_step": 4},
              progress=Progress(Path(tmp_path) / "p.db"))
    try:
        for frames in (15, 50):  # registers filling in, then every token in (titles counting them), the tree moving on
            app.run_frames(frames)
            boxes.clear()
            app.run_frames(1)
            assert app.host.error is None, app.host.error
            assert len(boxes) >= 8 and overlaps(boxes) == [], overlaps(boxes)
            assert cut_off(boxes) == []
    finally:
        app.shutdown()
