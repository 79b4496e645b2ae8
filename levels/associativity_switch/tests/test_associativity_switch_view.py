"""The associativity switch's scene text stays legible: at small windows and large UI scales no label runs
into another."""

import itertools
from pathlib import Path

import pytest

from sandbox.app import App
from sandbox.progress import Progress
from sandbox.view import Frame

LEVEL = "associativity_switch"


def overlaps(boxes, slack=1.0):
    """Pairs of (text, x0, y0, x1, y1, pane, ...) boxes in one pane that overlap by more than ``slack``."""
    return [(a[0], b[0]) for a, b in itertools.combinations(boxes, 2) if a[5] == b[5]
            if min(a[3], b[3]) - max(a[1], b[1]) > slack and min(a[4], b[4]) - max(a[2], b[2]) > slack]


def cut_off(boxes):
    """The texts that do not fit their pane (the pane's clip rectangle cuts them)."""
    return [box[0] for box in boxes if box[3] > box[6] + 0.5 or box[4] > box[7] + 0.5]


@pytest.mark.parametrize("size, scale, mode", [((960, 600), 1.0, "transformer"), ((1280, 720), 2.0, "rnn"),
                                               ((960, 600), 2.0, "ssd"), ((1280, 720), 1.0, "ssd")])
def test_scene_labels_never_overlap(tmp_path, monkeypatch, size, scale, mode):
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
    app = App(size=size, headless=True, level=LEVEL, ui_scale=scale, params={"mode": mode},
              progress=Progress(Path(tmp_path) / "p.db"))
    try:
        for frames in (25, 30):  # the cursor at different tokens
            app.run_frames(frames)
            boxes.clear()
            app.run_frames(1)
            assert app.host.error is None, app.host.error
            assert len(boxes) >= 6 and overlaps(boxes) == [], overlaps(boxes)
            assert cut_off(boxes) == []
    finally:
        app.shutdown()


@pytest.mark.parametrize("mode", ["transformer", "rnn", "ssd"])
@pytest.mark.parametrize("em", [0.0, 3.0, 12.0])
def test_the_layout_keeps_a_line_of_room_for_each_row_of_text_at_any_text_size(mode, em):
    from sandbox.testing import level

    lay = level(LEVEL).module("layout").layout(mode, 64, 8, em=em, operator_width=lambda text: 4.0 * em * len(text))
    boxes, (x0, x1, y0, y1) = lay["boxes"], lay["bounds"]
    chain = [boxes[name] for name in "qkv"]
    evaluation = [box for name, box in boxes.items() if name not in "qkv" and name not in ("state", "normaliser")]
    chain_bottom, evaluation_top = min(b.y0 for b in chain), max(b.y1 for b in evaluation)
    assert chain_bottom - evaluation_top >= 2.9 * em  # the chain's sizes under it, the evaluation's titles over it
    assert y1 - max(b.y1 for b in chain) >= 1.5 * em and min(b.y0 for b in evaluation) - y0 >= 2.8 * em
    for text, x, y in lay["operators"]:  # an operator's text fits between its neighbours
        row = chain if y > chain_bottom else evaluation
        left = max((b.x1 for b in row if b.x1 <= x), default=x0)
        right = min((b.x0 for b in row if b.x0 >= x), default=x1)
        assert right - left >= 4.0 * em * len(text), (text, left, right)
