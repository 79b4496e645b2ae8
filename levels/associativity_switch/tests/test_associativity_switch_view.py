"""The associativity switch's scene text stays legible: at small windows and large UI scales no label runs
into another."""

from pathlib import Path

import pytest

from sandbox.app import App
from sandbox.progress import Progress
from sandbox.testing import cut_off_text, overlapping_text, record_scene_text

LEVEL = "associativity_switch"


@pytest.mark.parametrize("size, scale, mode", [((960, 600), 1.0, "transformer"), ((1280, 720), 2.0, "rnn"),
                                               ((960, 600), 2.0, "ssd"), ((1280, 720), 1.0, "ssd")])
def test_scene_labels_never_overlap(tmp_path, monkeypatch, size, scale, mode):
    boxes = record_scene_text(monkeypatch)
    app = App(size=size, headless=True, level=LEVEL, ui_scale=scale, params={"mode": mode},
              progress=Progress(Path(tmp_path) / "p.db"))
    try:
        for frames in (25, 30):  # the cursor at different tokens
            app.run_frames(frames)
            boxes.clear()
            app.run_frames(1)
            assert app.host.error is None, app.host.error
            assert len(boxes) >= 6 and overlapping_text(boxes) == [], overlapping_text(boxes)
            assert cut_off_text(boxes) == []
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
