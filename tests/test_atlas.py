"""The atlas: its layout at every UI scale, progress per challenge, where to start, the keyboard,
and the levels' pictures (rendered by the engine, cached by content)."""

import itertools
import numpy as np
import pytest
from imgui_bundle import imgui

from sandbox import atlas as atlas_module
from sandbox.atlas import (
    by_challenge,
    detail_picture,
    graph_layout,
    graph_size,
    list_row,
    overlapping,
    route_layout,
    shorten,
    split_panes,
    start_levels,
)
from sandbox.challenges import judge
from sandbox.image import load_png
from sandbox.manifest import Challenge
from sandbox.paths import user_data_dir
from sandbox.progress import Progress
from sandbox.registry import Registry
from sandbox.scaffold import new_level
from sandbox.thumbnails import BACKGROUND, Thumbnails, cache_path, content_key

SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
SIZES = ((960, 600), (1280, 720), (1920, 1080))


def font_measure(scale):
    """A stand-in for the UI font at ``scale``: proportional, 17 px, a little wider than Roboto."""
    return lambda text: (len(text) * 9.0 * scale, 17.0 * scale)


def inside(inner, outer, slack=0.5):
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[0] + inner[2] <= outer[0] + outer[2] + slack and inner[1] + inner[3] <= outer[1] + outer[3] + slack)


def titles_and_statuses(registry):
    return {i: (e.manifest.title, f"start here · 0/{len(e.manifest.challenges)} solved")
            for i, e in registry.entries.items()}


# -- pure layout ---------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", SCALES)
def test_cards_fit_their_text_and_nothing_on_the_route_graph_overlaps(scale):
    registry = Registry()
    measure, line = font_measure(scale), 20.0 * scale
    cards = graph_layout(route_layout(registry), titles_and_statuses(registry), measure, line, scale)
    assert set(cards) == set(registry.entries)
    for card in cards.values():
        parts = [card.thumb, card.title, card.status]
        assert overlapping(parts) == []
        assert all(inside(part, card.box) for part in parts)
        assert card.title[2] == pytest.approx(measure(card.title_text)[0])  # the box follows the text
        assert not card.clipped  # every built-in title fits its card
    assert overlapping([c.box for c in cards.values()]) == []
    width, height = graph_size(cards, scale)
    assert all(c.box[0] + c.box[2] < width and c.box[1] + c.box[3] < height for c in cards.values())


def test_a_card_grows_with_the_scale_and_shortens_only_a_title_past_its_widest():
    registry = Registry()
    small = graph_layout(route_layout(registry), titles_and_statuses(registry), font_measure(1.0), 20.0, 1.0)
    big = graph_layout(route_layout(registry), titles_and_statuses(registry), font_measure(2.0), 40.0, 2.0)
    for level_id in small:
        assert big[level_id].box[2] == pytest.approx(2 * small[level_id].box[2])
        assert big[level_id].box[3] == pytest.approx(2 * small[level_id].box[3])
    long = graph_layout({"x": (0, 0)}, {"x": ("A title far too long for any card " * 3, "0/1 solved")},
                        font_measure(1.0), 20.0, 1.0)["x"]
    assert long.clipped and long.title_text.endswith("…") and inside(long.title, long.box)


@pytest.mark.parametrize("scale", SCALES)
def test_a_list_row_never_puts_its_status_on_its_title(scale):
    measure, line = font_measure(scale), 20.0 * scale
    for width in np.linspace(40, 700, 34) * scale:
        for title, status in (("The Matrix Orthogonalizer", "start here · 0/3 solved"), ("Stop Any Time", "0/2 solved"),
                              ("The Associativity Switch", "sandbox")):
            row = list_row(title, status, width, measure, line, scale)
            assert overlapping([row.title, row.status]) == []
            assert all(r[0] >= 0 and r[0] + r[2] <= width + 0.5 for r in (row.title, row.status))
            assert row.height == (line if row.status[1] == 0 else 2 * line)
            assert row.clipped == (row.title_text != title or row.status_text != status)
    wide = list_row("Stop Any Time", "0/2 solved", 600 * scale, measure, line, scale)
    assert wide.status[1] == 0 and wide.status[0] + wide.status[2] == pytest.approx(600 * scale)  # right-aligned
    narrow = list_row("Stop Any Time", "0/2 solved", 150 * scale, measure, line, scale)
    assert narrow.status[1] == line and not narrow.clipped  # on its own line, whole


def test_shorten_keeps_the_longest_prefix_that_fits():
    measure = font_measure(1.0)
    assert shorten("short", 100, measure) == "short"
    text = shorten("The Matrix Orthogonalizer", 100, measure)
    assert text.endswith("…") and measure(text)[0] <= 100 < measure(text[:-1] + "x…")[0] + 9


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scale", SCALES)
def test_the_panes_share_the_screen_without_overlapping(size, scale):
    area = (8.0, 40.0, size[0] - 16.0, size[1] - 48.0)
    panes = split_panes(area, (900.0 * scale, 380.0 * scale), scale, 8.0)
    regions = [r for r in (panes.levels, panes.graph, panes.details) if r is not None]
    assert overlapping(regions) == []
    assert all(inside(r, area) and r[2] > 0 and r[3] > 0 for r in regions)
    assert (panes.graph is not None) == (area[2] >= atlas_module.WIDE_W * scale)
    w, h = detail_picture(panes.details[2], panes.details[3], scale)
    assert w <= panes.details[2] * 0.42 + 0.5 and h <= panes.details[3] + 0.5


# -- the real atlas at every scale -----------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_the_drawn_atlas_has_no_text_on_text_at_any_scale(make_app, size):
    app = make_app(size=size, progress=Progress(":memory:"))
    app.atlas.thumbnails.work = lambda order, render=True: False  # pictures do not change the layout
    for scale in SCALES:
        app.imgui.set_scale(scale)
        app.run_frames(2)
        rects = app.atlas.text_rects
        assert rects["graph" if size[0] >= atlas_module.WIDE_W * scale else "list"], (size, scale)
        for region, placed in rects.items():
            assert overlapping(placed) == [], (size, scale, region)
        for rect in rects["header"]:
            assert rect[0] + rect[2] <= size[0], (size, scale)  # the hint wraps or shortens, never runs off


@pytest.mark.parametrize("size", SIZES)
def test_search_results_and_the_domain_list_have_no_text_on_text_at_any_scale(make_app, size):
    app = make_app(size=size, progress=Progress(":memory:"))
    app.atlas.thumbnails.work = lambda order, render=True: False
    for scale in SCALES:
        app.imgui.set_scale(scale)
        for query, group in (("softmax(QK^T/sqrt(d))V", "pillar"), ("", "domain"), ("zzqx florbium", "pillar")):
            app.atlas.query, app.atlas.group = query, group
            app.run_frames(2)
            rects = app.atlas.text_rects
            assert rects["list"], (size, scale, query)
            for region, placed in rects.items():
                assert overlapping(placed) == [], (size, scale, query, group, region)
            search = app.marks["search"]
            assert search[0] + search[2] <= size[0] and overlapping([search, *rects["header"]]) == []


def test_enter_in_the_search_opens_the_first_hit_where_it_is(make_app):
    app = make_app(size=(1280, 720), progress=Progress(":memory:"))
    app.atlas.thumbnails.work = lambda order, render=True: False
    app.run_frames(2)
    app.atlas._focus_search = True
    app.run_frames(2)
    for c in "2103.00065":  # an arXiv id: the paper, in the About tab of its level
        app.inject("char", c)
        app.run_frames(1)
    app.run_frames(2)
    assert app.atlas.hits[0].kind == "paper"
    app.inject("key", imgui.Key.enter, True)
    app.run_frames(1)
    app.inject("key", imgui.Key.enter, False)
    app.run_frames(4)
    assert app.host is not None and app.host.entry.id == "eos_canyon" and app.host.tab == "About"


# -- progress and where to start -----------------------------------------------------------------
def solve(store, level, challenge_id, right=True):
    challenge = Challenge(id=challenge_id, kind="number", question="?", measure="m", tolerance=1.0)
    store.record(level, judge(challenge, 10.0 if right else 0.0, 10.0, 0.8))


def test_the_card_shows_each_challenge_by_title_with_its_progress(make_app, tmp_path):
    store = Progress(tmp_path / "progress.sqlite3")
    solve(store, "eos_canyon", "settle_or_bounce")
    solve(store, "eos_canyon", "shallow_floor", right=False)
    solve(store, "eos_canyon", "shallow_floor", right=False)
    app = make_app(progress=store)
    app.atlas.thumbnails.work = lambda order, render=True: False
    app.run_frames(2)
    lines = dict(app.atlas.challenge_lines("eos_canyon"))
    assert lines["Settle, bounce or diverge? — solved"] is True
    assert any(text.startswith("A shallower canyon — tried 2×") and not solved for text, solved in lines.items())
    assert lines["Where does the sharpness hover? — not tried"] is False
    assert app.atlas.status("eos_canyon", set()) == ("1/5 solved", atlas_module.MUTED)
    # a level with something solved is no longer marked as a place to start; the other roots are
    starts = start_levels(app.registry, app.atlas.solved)
    assert "eos_canyon" not in starts and {"matrix_transform", "particle_shepherd"} <= starts
    assert all(not app.registry.entries[i].manifest.prerequisites for i in starts)
    app.atlas.hovered = "eos_canyon"
    app.run_frames(1)  # the card draws with these records


def test_records_keyed_either_way_read_by_challenge_id():
    assert by_challenge({("lvl", "a"): 1, "b": 2}) == {"a": 1, "b": 2}


def test_the_card_says_what_the_level_asks_and_what_it_builds_on(make_app):
    app = make_app()
    app.atlas.thumbnails.work = lambda order, render=True: False
    manifest = app.registry.entries["grokking_circle"].manifest
    question = atlas_module.first_question(manifest)
    assert question and "{" not in question
    assert app.atlas.status("associativity_switch", {"associativity_switch"})[0].startswith("start here")


# -- the keyboard ----------------------------------------------------------------------------------
def press(app, key):
    app.inject("key", key, True)
    app.inject("key", key, False)
    app.run_frames(3)


def test_arrows_and_enter_work_as_soon_as_the_atlas_shows(make_app):
    app = make_app()
    app.atlas.thumbnails.work = lambda order, render=True: False
    app.run_frames(2)
    first = app.atlas.hovered
    assert first in app.atlas.starts() == {"attention_worked"}  # the focus starts on the Start Here route
    press(app, imgui.Key.down_arrow)  # no Ctrl+Tab first
    below = app.atlas.hovered
    column, row = route_layout(app.registry)[first]
    assert route_layout(app.registry)[below] == (column, row + 1)  # the card under the first
    press(app, imgui.Key.enter)
    assert app.host is not None and app.host.entry.id == below
    app.close_level()
    app.run_frames(2)
    assert app.atlas.hovered == below  # back on the card it left from
    press(app, imgui.Key.enter)
    assert app.host is not None and app.host.entry.id == below
    app.close_level()
    app.atlas.reset()  # a kiosk's next visitor starts where a newcomer starts
    app.run_frames(2)
    assert app.atlas.hovered == first


def test_the_card_shown_is_the_level_moved_to_last_by_mouse_or_keys(make_app):
    app = make_app()
    app.atlas.thumbnails.work = lambda order, render=True: False
    app.run_frames(2)
    first = app.atlas.hovered
    x, y, w, h = app.marks["level:grokking_circle"]
    app.inject("mouse_pos", x + w / 2, y + h / 2)
    app.run_frames(3)
    assert app.atlas.hovered == "grokking_circle"  # the mouse, although the focus stayed on the first
    press(app, imgui.Key.down_arrow)  # the mouse rests on its card; the arrows move on from the focus
    column, row = route_layout(app.registry)[first]
    assert route_layout(app.registry)[app.atlas.hovered] == (column, row + 1)


# -- pictures --------------------------------------------------------------------------------------
@pytest.fixture
def two_levels(tmp_path):
    root = tmp_path / "levels"
    new_level("alpha", root)
    new_level("beta", root)
    return root


def run_until_pictures(app, limit=40):
    for _ in range(limit):
        app.run_frames(1)
        if not app.atlas.animating:
            return
    raise AssertionError("the pictures were not made")


def test_pictures_are_rendered_a_level_at_a_time_and_cached_in_the_user_data_folder(make_app, two_levels, tmp_path,
                                                                                      monkeypatch):
    from sandbox import host as host_module

    view = two_levels / "alpha" / "view.py"  # a view that animates asks for frames as it draws
    view.write_text(view.read_text().replace("    def scene(self, frame) -> None:\n",
                                             "    def scene(self, frame) -> None:\n        self.context.request_frames(5)\n"))
    app = make_app(registry=Registry([two_levels], builtin=False, packs=False), backend="numpy")
    opened = []
    original = host_module.LevelHost.__init__

    def counting(self, *args, **kwargs):
        opened.append(app.frame_count)
        original(self, *args, **kwargs)

    monkeypatch.setattr(host_module.LevelHost, "__init__", counting)
    app.run_frames(1)
    assert app.atlas.animating  # pictures are due: the app keeps drawing
    run_until_pictures(app)
    assert len(opened) == 2 and opened[0] < opened[1]  # one level at a time, each in a frame of its own
    assert app._frames_wanted == 0  # a level drawn for its picture is not on screen: it asks no frames
    folder = user_data_dir() / "thumbnails"
    assert tmp_path in folder.parents  # the test's own data folder, never the learner's
    background = np.round(np.array(BACKGROUND[:3]) * 255)
    for level_id in ("alpha", "beta"):
        thumb = app.atlas.thumbnails.get(level_id)
        assert thumb is not None and thumb.path.parent == folder
        pixels = load_png(thumb.path)
        assert pixels.shape == (180, 320, 3)
        assert (np.abs(pixels - background).max(axis=2) > 40).mean() > 0.01  # the scene is drawn
    app.run_frames(2)  # drawn on the cards and the card
    assert app.ctx.error == "GL_NO_ERROR"


def test_a_cached_picture_is_read_back_and_an_edited_level_is_drawn_again(make_app, two_levels, monkeypatch):
    from sandbox import thumbnails as thumbnails_module

    app = make_app(registry=Registry([two_levels], builtin=False, packs=False), backend="numpy")
    run_until_pictures(app)
    old = app.atlas.thumbnails.get("alpha").path
    old_pixels = load_png(old)

    def no_render(*args, **kwargs):
        raise AssertionError("rendered although cached")

    # another session: the pictures come from the files, nothing is rendered
    monkeypatch.setattr(thumbnails_module, "render_steps", no_render)
    fresh = Thumbnails(app)
    assert not fresh.work(["alpha", "beta"])  # nothing left to make
    assert fresh.get("alpha").path == old
    fresh.release()
    monkeypatch.undo()

    # the level is edited: another key, a picture drawn anew, the old file gone
    view = two_levels / "alpha" / "view.py"
    view.write_text(view.read_text().replace("paint.points(mvp, balls, CLOUD, 9.0)",
                                             "paint.points(mvp, balls, CLOUD, 30.0)"))
    app.atlas.thumbnails.refresh()
    run_until_pictures(app)
    new = app.atlas.thumbnails.get("alpha").path
    assert new != old and new.is_file() and not old.exists()
    assert not np.array_equal(load_png(new), old_pixels)  # bigger dots


def test_the_key_follows_the_files_that_draw_and_not_the_goldens(tmp_path):
    folder = new_level("gamma", tmp_path)
    key = content_key(folder, (320, 180))
    assert content_key(folder, (320, 180)) == key
    assert content_key(folder, (160, 90)) != key  # another size is another picture
    (folder / "goldens").mkdir(exist_ok=True)
    (folder / "goldens" / "play.png").write_bytes(b"png")
    (folder / "__pycache__").mkdir(exist_ok=True)
    (folder / "__pycache__" / "view.cpython-311.pyc").write_bytes(b"pyc")
    assert content_key(folder, (320, 180)) == key
    (folder / "level.toml").write_text((folder / "level.toml").read_text() + "\n# edited\n")
    assert content_key(folder, (320, 180)) != key
    assert cache_path(tmp_path, "gamma", key).name.startswith("gamma-")


def test_a_level_that_cannot_be_drawn_gets_no_picture_and_the_atlas_goes_on(make_app, two_levels):
    view = two_levels / "beta" / "view.py"
    view.write_text(view.read_text().replace("    def scene(self, frame) -> None:\n",
                                             "    def scene(self, frame) -> None:\n        raise ValueError('no scene')\n"))
    app = make_app(registry=Registry([two_levels], builtin=False, packs=False), backend="numpy")
    run_until_pictures(app)
    thumbnails = app.atlas.thumbnails
    assert thumbnails.status("alpha") == "ready"
    assert thumbnails.status("beta") == "failed" and "no scene" in thumbnails.errors["beta"]
    assert not list((user_data_dir() / "thumbnails").glob("beta-*"))
    app.atlas.hovered = "beta"
    app.run_frames(3)  # its card shows without a picture
    assert app.host is None and app.ctx.error == "GL_NO_ERROR"


def test_no_picture_is_made_in_a_frame_with_input_and_opening_a_level_stops_the_one_in_progress(
        make_app, two_levels):
    app = make_app(registry=Registry([two_levels], builtin=False, packs=False), backend="numpy")
    thumbnails = app.atlas.thumbnails
    for k in range(6):  # the learner moves the mouse every frame from the first
        app.inject("mouse_pos", 100 + 10 * k, 100)
        app.run_frames(1)
        assert thumbnails._job is None and not thumbnails.ready
    app.run_frames(1)
    assert thumbnails._job is not None  # a quiet frame: the first level opens for its picture
    press(app, imgui.Key.enter)  # the focused card opens
    assert app.host is not None and thumbnails._job is None


def test_pictures_of_another_size_for_a_level_list(make_app, two_levels, tmp_path):
    app = make_app(registry=Registry([two_levels], builtin=False, packs=False), backend="numpy")
    app.atlas.thumbnails.work = lambda order, render=True: False
    app.run_frames(1)
    thumbs = Thumbnails(app, folder=tmp_path / "pictures", size=(160, 90), frames=4)
    pieces = 0
    while thumbs.work(["alpha", "nowhere"]):  # a level that is not there is left out
        pieces += 1
        assert pieces < 20
    assert pieces == 3  # open, step, draw
    assert thumbs.get("alpha").path.parent == tmp_path / "pictures"
    assert load_png(thumbs.get("alpha").path).shape == (90, 160, 3)
    thumbs.release()
    assert thumbs.ready == {}


def test_each_column_of_the_route_graph_sits_by_what_it_builds_on():
    registry = Registry()
    layout = route_layout(registry)
    crossings = 0
    edges = [(layout[p], layout[i]) for i, e in registry.entries.items() for p in e.manifest.prerequisites
             if p in layout]
    for (a0, a1), (b0, b1) in itertools.combinations(edges, 2):
        if a0[0] == b0[0] and a1[0] == b1[0] and (a0[1] - b0[1]) * (a1[1] - b1[1]) < 0:
            crossings += 1
    for column in {c for c, _ in layout.values()}:
        rows = sorted(r for c, r in layout.values() if c == column)
        assert rows == list(range(len(rows))), "each column is filled from the top"
    # the barycentre order: a level never sits above one whose prerequisites all sit higher than its own
    for level_id, (column, row) in layout.items():
        mine = [layout[p][1] for p in registry.entries[level_id].manifest.prerequisites if p in layout]
        for other, (c, r) in layout.items():
            theirs = [layout[p][1] for p in registry.entries[other].manifest.prerequisites if p in layout]
            if c == column and mine and theirs and max(theirs) < min(mine):
                assert r < row, (other, level_id)
    assert crossings <= len(edges), crossings
