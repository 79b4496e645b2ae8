"""The level kit: colours, derived data, caches, array observables, declared plots and goldens,
panes, the challenge state, the one reset path and the transport."""

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from sandbox.kit import PALETTE, Cache, Color, derived, finite, finite_rows
from sandbox.manifest import ManifestError, parse_manifest
from sandbox.runner import Snapshots

from .test_manifest import BASE


def parse(**changes):
    return parse_manifest({**BASE, **changes}, Path("/somewhere/demo"))


# -- colours --------------------------------------------------------------------------------------
def test_a_colour_is_an_imvec4_and_a_sequence():
    from imgui_bundle import imgui

    c = Color.hex("#E69F00")
    assert isinstance(c, imgui.ImVec4)
    assert list(c) == pytest.approx([230 / 255, 159 / 255, 0.0, 1.0])
    assert np.asarray(c, np.float32).shape == (4,)
    assert c.alpha(0.5)[3] == 0.5 and c[3] == 1.0, "alpha() makes a new colour"
    assert Color.of((0.1, 0.2, 0.3)) == Color(0.1, 0.2, 0.3, 1.0)


def test_series_colours_are_distinct_and_cycle():
    series = PALETTE.series
    assert len({tuple(c) for c in series}) == len(series)
    assert PALETTE.pick(len(series)) == PALETTE.pick(0)


def test_hues_are_a_colour_wheel_one_rgba_row_per_fraction():
    from sandbox.kit import hues

    wheel = hues(np.arange(8) / 8)
    assert wheel.shape == (8, 4) and np.all(wheel[:, 3] == 1.0) and len({tuple(c) for c in wheel}) == 8
    np.testing.assert_allclose(hues(1.25), hues(0.25))  # fractions of a turn: a cyclic map
    assert hues(0.0, value=0.5)[0, :3].max() == pytest.approx(0.5)


# -- derived data and caches ----------------------------------------------------------------------
class Counted:
    backend = "numpy"

    def __init__(self):
        self.params = {"a": 1.0, "b": 2.0}
        self.version = 0
        self.calls = 0

    @derived("a", key=lambda self: self.version)
    def grid(self, n=3):
        self.calls += 1
        return np.full(n, self.params["a"])


def test_derived_data_is_computed_once_per_change_of_what_it_depends_on():
    model = Counted()
    first = model.grid()
    assert model.grid() is first and model.calls == 1
    model.params["b"] = 5.0  # not a dependency
    assert model.grid() is first and model.calls == 1
    model.params["a"] = 3.0
    assert model.grid()[0] == 3.0 and model.calls == 2
    model.version += 1
    model.grid()
    assert model.calls == 3
    model.grid(5)  # other arguments: their own entry
    assert model.calls == 4 and model.grid() is not None and model.calls == 4


class Resource:
    released = 0

    def release(self):
        Resource.released += 1


def test_a_cache_releases_what_its_key_no_longer_matches():
    Resource.released = 0
    cache = Cache()
    key = object()
    first = cache.get("r", key, Resource)
    assert cache.get("r", key, Resource) is first and Resource.released == 0
    second = cache.get("r", object(), Resource)
    assert second is not first and Resource.released == 1
    cache.release()
    assert Resource.released == 2


def test_finite_helpers_make_gaps_and_drop_rows():
    assert np.isnan(finite([1.0, np.inf, 2e9], limit=1e6)[1:]).all()
    rows = finite_rows([[0, 0], [np.nan, 1], [1e9, 0], [1, 2]])
    assert rows.tolist() == [[0, 0], [1, 2]]


def test_a_fitted_y_axis_turns_log_once_the_values_span_a_decade_and_keeps_room_either_way():
    from sandbox.kit import fitted_y

    assert fitted_y([0.5, 2.0], [6.0, np.nan]) == {"y_log": True, "y_limits": (0.4, 7.5)}
    assert fitted_y([1.0, 9.0, -50.0, 0.0]) == fitted_y() == fitted_y([np.inf, np.nan]) == {"margin": True}


def test_round_ticks_are_few_and_round_even_for_one_point(monkeypatch):
    from sandbox.kit import plots

    set_up = []
    monkeypatch.setattr(plots.implot, "setup_axis_ticks", lambda axis, values, labels: set_up.append(labels))
    for low, high in ((0.76, 1.0), (0.0, 160.0), (1.0, 1.0)):
        plots.round_ticks(low, high)
    assert set_up == [["0.8", "0.9", "1"], ["0", "50", "100", "150"], ["0.5", "1", "1.5"]]


def test_a_batch_gathers_boxes_and_fading_arrows():
    from sandbox.gfx.draw import Batch, box_segments

    edges = box_segments(0, 2, 0, 1).reshape(4, 2, 2)
    assert edges[0].tolist() == [[0, 0], [2, 0]] and edges[-1].tolist() == [[0, 1], [0, 0]]
    batch = Batch()
    batch.arrows(np.zeros((3, 2)), np.ones((3, 2)), PALETTE.sky.alpha(0.5), opacity=[1.0, 0.5, 0.0])
    points, colors = batch._segments[0]
    assert points.shape == (18, 2) and colors[::6, 3].tolist() == [0.5, 0.25, 0.0]


# -- array observables ----------------------------------------------------------------------------
def test_snapshots_keep_bounded_memory_and_span_the_run():
    store = Snapshots(every=1, keep=16)
    for step in range(1000):
        store.offer(step, np.full(3, step))
    assert len(store) < 16
    assert store.steps[0] == 0 and store.steps[-1] > 999 - store.every, "the snapshots reach the end"
    assert np.all(np.diff(store.steps) > 0)
    assert store.latest[0] == 999, "the latest value is always there"
    with pytest.raises(ValueError):
        store.latest[0] = 1  # read-only: it belongs to the run


def test_array_observables_and_plots_in_the_manifest():
    m = parse(observables={"loss": {"label": "loss", "color": "sky"},
                           "cloud": {"kind": "array", "every": 5, "keep": 32}},
              plots={"loss": {"title": "loss", "series": ["loss"], "y_log": True, "when": {"mode": "b"}}})
    assert m.observables["cloud"].kind == "array" and m.observables["cloud"].keep == 32
    assert m.plots["loss"].y_log and not m.plots["loss"].applies({"mode": "a"})


@pytest.mark.parametrize("changes, fragment", [
    ({"observables": {"x": {"kind": "tensor"}}}, "valid kinds"),
    ({"observables": {"x": {"kind": "array", "keep": 1}}}, "keep must be at least 2"),
    ({"observables": {"x": {"color": "chartreuse"}}}, "palette colour"),
    ({"plots": {"p": {"series": ["nope"]}}}, "not a scalar observable"),
    ({"plots": {"p": {"series": "loss"}}}, "non-empty list"),
    ({"plots": {"p": {"series": ["loss"], "when": {"speed": 1}}}}, "no parameter"),
    ({"goldens": {"g": {"tab": "secret"}}}, "valid: play"),
    ({"goldens": {"g": {"set": {"lr": 9.0}}}}, "goldens.g.set"),
    ({"goldens": {"math": {}}}, "a tab's own golden"),
])
def test_bad_kit_declarations_are_named(changes, fragment):
    with pytest.raises(ManifestError, match=fragment):
        parse(**changes)


def test_a_run_records_arrays_and_reports_them(tmp_path):
    from sandbox import scaffold
    from sandbox.testing import make_runner

    scaffold.new_level("kit_demo", tmp_path)
    run = make_runner("kit_demo", {"balls": 8}, levels_dir=tmp_path)
    run.step(50)
    steps, clouds = run.arrays("cloud")
    assert steps.tolist() == list(range(0, 51, 5)) and clouds[0].shape == (8,)
    assert np.array_equal(run.array("cloud"), run.model.xs)
    assert len(run.to_json()["arrays"]["cloud"]) == 8
    generation = run.generation
    run.reset()
    assert run.generation == generation + 1 and len(run.arrays("cloud")[1]) == 1


# -- the view's context: challenge state, one reset path, transport, panes ------------------------
@pytest.fixture
def demo_app(make_app, tmp_path):
    from sandbox import scaffold
    from sandbox.registry import Registry

    scaffold.new_level("kit_demo", tmp_path)
    return make_app(level="kit_demo", registry=Registry(extra_dirs=[tmp_path]), backend="numpy")


def test_the_view_hears_each_reset_once(demo_app):
    app = demo_app
    resets = []
    app.host.view.on_reset = lambda: resets.append(app.host.context.run.generation)
    app.run_frames(3)
    app.host.reset()
    app.run_frames(3)
    app.host.runner.set_param("balls", 12)  # a parameter that resets
    app.run_frames(2)
    app.host.runner.set_param("lr", 0.2)  # one that does not
    app.run_frames(2)
    assert len(resets) == 3, resets


def test_choosing_a_prediction_hides_answers_and_a_challenge_locks(demo_app):
    app = demo_app
    host, state = app.host, app.host.context.challenge
    app.run_frames(2)
    assert not state.hide_answers
    host.requested_tab = "Challenges"
    host.challenges.select(host.manifest.challenges["converges"])
    app.run_frames(2)
    assert state.choosing and state.hide_answers and not state.locked
    assert not host.challenges.lock(host.manifest.challenges["converges"]), "no prediction is made for the learner"
    host.challenges.choice = 0
    assert host.challenges.lock(host.manifest.challenges["converges"])
    app.run_frames(1)
    assert state.running and state.locked and state.hide_answers
    assert host.context.run is host.challenges.attempt.runner
    assert host.context.set_param("lr", 0.1) is False, "the challenge's run is not the learner's to change"
    while not state.revealed:
        app.run_frames(5)
    assert not state.hide_answers


def test_run_until_pauses_exactly_at_the_step(demo_app):
    app = demo_app
    transport = app.host.context.transport
    transport.run_until(37)
    for _ in range(400):
        app.frame(1 / 60)
        if transport.paused:
            break
    assert transport.paused and app.host.runner.steps == 37
    transport.set_speed("fastest")
    assert transport.fastest
    transport.run_until(10)  # already past: a fresh start
    assert app.host.runner.steps == 0 and not transport.paused


def test_panes_get_their_own_viewports_and_input(demo_app):
    from sandbox.gfx.camera import Camera2D
    from sandbox.view import side_by_side

    app = demo_app
    seen = []
    view = app.host.view
    left, right = Camera2D(), Camera2D()
    view.panes = lambda: side_by_side(("left", left, 2.0), ("right", right, 1.0))
    view.scene = lambda frame: seen.append((frame.pane, frame.viewport, frame.origin, frame.camera))
    app.run_frames(1)
    (name_a, size_a, origin_a, cam_a), (name_b, size_b, origin_b, cam_b) = seen[-2:]
    assert (name_a, name_b) == ("left", "right") and cam_a is left and cam_b is right
    assert size_a[0] == pytest.approx(2 * size_b[0], abs=2) and size_a[1] == size_b[1]
    assert origin_b[0] == pytest.approx(origin_a[0] + size_a[0], abs=1)


def test_a_challenges_hidden_observables_leave_the_table_while_it_is_open(make_app, tmp_path):
    from sandbox import scaffold
    from sandbox.registry import Registry

    folder = scaffold.new_level("kit_hides", tmp_path)
    manifest = (folder / "level.toml").read_text()
    (folder / "level.toml").write_text(manifest.replace('measure = "converges"', 'measure = "converges"\nhides = ["x"]'))
    app = make_app(level="kit_hides", registry=Registry(extra_dirs=[tmp_path]), backend="numpy")
    host, state = app.host, app.host.context.challenge
    assert host.manifest.challenges["converges"].hides == ("x",)
    app.run_frames(2)
    assert state.hidden() == frozenset()
    host.requested_tab = "Challenges"
    host.challenges.select(host.manifest.challenges["converges"])
    app.run_frames(2)
    assert state.open.id == "converges" and state.hidden() == {"x"}
    host.requested_tab = "Play"  # the learner looks at the Play tab again: the prediction is not open
    app.run_frames(2)
    assert state.open is None and state.hidden() == frozenset()


def test_the_math_card_is_data_in_the_manifest():
    m = parse(math=[{"tex": r"\eta\lambda < 2", "caption": "the rule"}, {"tex": "x"}])
    assert m.math == ((r"\eta\lambda < 2", "the rule"), ("x", ""))
    for bad, fragment in (([{"caption": "no tex"}], "non-empty string tex"), ("x", "array of tables"),
                          ([{"tex": "x", "size": 3}], "unknown keys")):
        with pytest.raises(ManifestError, match=fragment):
            parse(math=bad)


def test_a_views_drawing_helpers_take_boxes_and_nested_segments_in_world_units():
    from sandbox.view import Frame, View

    calls = []

    class Painter:
        def lines(self, mvp, points, color, thickness, viewport, strip):
            calls.append(("lines", np.asarray(points).tolist(), strip))

        def rects(self, mvp, lows, highs, color):
            calls.append(("rects", np.asarray(lows).tolist(), np.asarray(highs).tolist()))

        def points(self, mvp, points, color, size):
            calls.append(("points", size))

    view, frame = View.__new__(View), Frame((100, 100), None, None, 0.0)
    view.painter = Painter()
    view.lines(frame, [[[0, 0], [1, 0]], [[0, 1], [1, 1]]], PALETTE.grid)  # (segments, 2, 2): one call
    view.outline(frame, (0, 2, 0, 1), PALETTE.grid)
    view.rects(frame, [(0, 1, 0, 2), (1, 3, 0, 1)], PALETTE.sky)
    view.dots(frame, [[0.0, 0.0]], PALETTE.sky, 10.0)
    view.dots(frame, np.zeros((0, 2)), PALETTE.sky, 10.0)  # nothing to draw: no call
    assert calls[0] == ("lines", [[0, 0], [1, 0], [0, 1], [1, 1]], False)
    assert calls[1] == ("lines", [[0, 0], [2, 0], [2, 0], [2, 1], [2, 1], [0, 1], [0, 1], [0, 0]], False)
    assert calls[2] == ("rects", [[0, 0], [1, 0]], [[1, 2], [3, 1]])
    assert calls[3:] == [("points", 15.0), ("points", 10.0)]  # a dark rim under the dot


def test_a_views_quad_sets_its_uniforms_and_draws_four_vertices_once_the_program_compiles():
    from types import SimpleNamespace

    from sandbox.kit import Cache
    from sandbox.view import Frame, View

    rendered, uniforms = [], {}

    class Uniform:
        def __init__(self, name):
            self.name = name

        def write(self, data):
            uniforms[self.name] = len(data)

        value = property(lambda self: uniforms[self.name], lambda self, v: uniforms.__setitem__(self.name, v))

    hot = type("Hot", (), {"program": None, "generation": 0, "__getitem__": lambda self, name: Uniform(name)})()
    gl = SimpleNamespace(TRIANGLE_STRIP="strip", vertex_array=lambda program, buffers: SimpleNamespace(
        render=lambda mode, vertices: rendered.append((program, mode, vertices)), release=lambda: None))
    view, frame = View.__new__(View), Frame((100, 100), None, None, 0.0)
    view.gl, view.cache = gl, Cache()
    view.quad(frame, hot, shown=3.0)  # never compiled: its error is on screen, nothing is drawn
    assert rendered == [] and uniforms == {}
    hot.program, hot.generation = "program", 1
    view.quad(frame, hot, edges=(0.0, 1.0, 0.0, 2.0), shown=3.0)
    assert rendered == [("program", "strip", 4)]
    assert uniforms == {"mvp": 64, "edges": (0.0, 1.0, 0.0, 2.0), "shown": 3.0}  # a 4×4 float32 matrix


def test_a_diverged_runs_json_holds_no_bare_nan(tmp_path):
    import json

    from sandbox import scaffold
    from sandbox.testing import make_runner

    scaffold.new_level("kit_json", tmp_path)
    run = make_runner("kit_json", {"lr": 1.5, "curvature": 4.0, "balls": 4}, levels_dir=tmp_path)
    run.model.xs[1] = np.nan  # a ball lost to overflow
    run.step(1)
    data = json.loads(json.dumps(run.to_json(), allow_nan=False))
    assert data["diverged"] and data["arrays"]["cloud"][1] == "nan"


def test_a_plots_legend_place_is_checked():
    from sandbox.kit import Plot

    assert Plot("p", legend_at="south_west").legend_at == "south_west"
    with pytest.raises(ValueError, match="valid: beside, above"):
        Plot("p", legend_at="upstairs")


# -- layouts that never collide: ticks, marks, scene labels, the strip ---------------------------
def _width_of(font: float):
    """A text measure like the UI font's: digits about 0.55 of the font size wide."""
    return lambda text: 0.55 * font * len(text)


def _assert_ticks_apart(values, labels, low, high, pixels, measure, gap, log=False):
    assert len(values) == len(labels)
    assert all(low - 1e-9 * abs(low) <= v <= high + 1e-9 * abs(high) for v in values)
    to = (lambda v: (math.log10(v) - math.log10(low)) / (math.log10(high) - math.log10(low)) * pixels) if log else (
        lambda v: (v - low) / (high - low) * pixels)
    for a, b, ta, tb in zip(values, values[1:], labels, labels[1:]):
        room = to(b) - to(a) - 0.5 * (measure(ta) + measure(tb))
        assert room >= gap - 1e-6, (ta, tb, room, pixels)
    assert all(measure(text) <= pixels for text in labels)


RANGES = [(0.0, 432.0, False), (0.76, 1.0, False), (-3.5, 12.0, False), (1e-4, 0.37, False), (0.0, 1.5e6, False),
          (1e-3, 10.0, True), (1e-8, 3e2, True), (0.82, 1.4, True), (2.0, 3.0, True), (1e-3, 1.0, True)]


@pytest.mark.parametrize("low, high, log", RANGES)
def test_tick_labels_never_touch_at_any_width_and_ui_scale(low, high, log):
    from sandbox.kit.plots import TICK_GAP, TICK_SPACING, fit_ticks

    for scale in (0.5, 1.0, 1.5, 2.0, 3.0):
        font = 14.0 * scale
        for vertical in (False, True):
            measure = (lambda text, font=font: font) if vertical else _width_of(font)
            gap = TICK_GAP[vertical] * font
            for pixels in (20.0, 46.0, 80.0, 144.0, 300.0, 700.0, 2000.0):
                values, labels = fit_ticks(low, high, pixels, measure, log, gap, TICK_SPACING[vertical] * font)
                _assert_ticks_apart(values, labels, low, high, pixels, measure, gap, log)
                widest = max(len(f"{low:g}"), len(f"{high:g}"))
                if measure("0" * widest) * 2 + gap < pixels / 2:  # room for two labels: there are two
                    assert len(values) >= 2, (low, high, pixels, scale, labels)


def test_ticks_are_round_and_few_on_a_wide_axis_and_one_on_a_tiny_one():
    from sandbox.kit.plots import fit_ticks

    measure = _width_of(14.0)
    assert fit_ticks(0.0, 432.0, 375.0, measure, gap=14.0, spacing=63.0)[1] == ["0", "100", "200", "300", "400"]
    assert fit_ticks(0.0, 432.0, 144.0, measure, gap=14.0, spacing=63.0)[1] == ["0", "200", "400"]
    # the report that started it: 0.001 and 0.01 ran together on a narrow log axis
    labels = fit_ticks(1e-3, 1.0, 60.0, measure, log=True, gap=14.0, spacing=63.0)[1]
    assert labels == ["0.01", "1"]  # decades two apart: "0.001" and "0.01" would touch
    assert fit_ticks(1e-3, 10.0, 400.0, measure, log=True, gap=14.0, spacing=63.0)[1] == [
        "0.001", "0.01", "0.1", "1", "10"]
    assert fit_ticks(1e-9, 1e3, 250.0, measure, log=True, gap=14.0, spacing=60.0)[1] == ["1e-9", "1e-6", "0.001", "1",
                                                                                          "1000"]
    assert fit_ticks(0.0, 400.0, 30.0, measure, gap=14.0)[1] in (["0"], ["200"], ["400"], ["100"])
    assert fit_ticks(0.0, 1e6, 5.0, measure, gap=14.0) == ([], [])  # no label fits: none, never a cut one
    assert fit_ticks(1.0, 1.0, 100.0, measure) is None  # an empty range: implot's own
    assert fit_ticks(0.3 - 0.1, 0.5, 300.0, measure)[1][:2] == ["0.2", "0.25"]  # 0.30000000000000004 never shows


def test_mark_labels_stay_whole_inside_the_plot_or_are_left_out():
    from sandbox.kit.plots import mark_label_boxes

    # UI scale 2: a plot 46 px tall, labels 34 px tall ("T/2" once lost its top and read "1/2")
    boxes = mark_label_boxes([192.0, 384.0], [(45.0, 34.0), (17.0, 34.0)], 415.0, 46.0, 10.0)
    for box in boxes:
        assert box is not None and 0 <= box[0] and box[2] <= 415.0 and 0 <= box[1] and box[3] <= 46.0
    assert boxes[0][2] <= 192.0 and boxes[1][2] <= 384.0, "each beside its mark, on its left"
    # a mark at the right edge: the label moves inward; at the left edge: to the mark's right
    (right,), (left,) = mark_label_boxes([415.0], [(45.0, 34.0)], 415.0, 46.0), mark_label_boxes([0.0], [(45.0, 34.0)],
                                                                                                  415.0, 46.0)
    assert right[2] <= 415.0 - 4.0 and left[0] >= 4.0
    # marks close together: left of the first, right of the second, the third on a second row
    # when the plot has one, else left out
    tall = mark_label_boxes([100.0, 104.0, 108.0], [(40.0, 16.0)] * 3, 300.0, 120.0)
    assert tall[0][2] <= 100.0 and tall[1][0] >= 104.0 and tall[2][1] >= tall[0][3]
    assert mark_label_boxes([100.0, 104.0, 108.0], [(40.0, 16.0)] * 3, 300.0, 30.0)[2] is None
    assert mark_label_boxes([50.0], [(80.0, 16.0)], 60.0, 100.0) == [None], "wider than the plot: left out, not cut"
    assert mark_label_boxes([-40.0, float("nan")], [(10.0, 16.0)] * 2, 100.0, 100.0) == [None, None]


def _plates(places, sizes):
    from sandbox.view import PLATE_PAD

    px, py = PLATE_PAD
    return [None if p is None else (p[0] - px, p[1] - py, p[0] + w + px, p[1] + h + py)
            for p, (w, h) in zip(places, sizes)]


def test_scene_labels_are_placed_without_overlap_and_the_least_important_make_way():
    from sandbox.view import EDGE, label_offsets, place_labels

    rng = np.random.default_rng(3)
    for trial in range(40):
        n = int(rng.integers(2, 14))
        bounds = (float(rng.uniform(200, 900)), float(rng.uniform(150, 600)))
        anchors = [tuple(map(float, rng.uniform(0, 1, 2) * bounds)) for _ in range(n)]
        sizes = [(float(rng.uniform(20, 160)), 17.0) for _ in range(n)]
        priorities = [float(p) for p in rng.integers(0, 3, n)]
        taken = [(0.0, 0.0, 150.0, 40.0)]  # a caption drawn before
        places = place_labels(anchors, sizes, priorities, bounds, taken, always=99.0)
        plates = _plates(places, sizes)
        shown = [k for k in range(n) if plates[k] is not None]
        for a in shown:
            x, y = places[a]
            assert EDGE <= x and x + sizes[a][0] <= bounds[0] - EDGE and EDGE <= y and y + sizes[a][1] <= bounds[1] - EDGE
            for other in [plates[b] for b in shown if b != a] + taken:
                assert not (plates[a][0] < other[2] and other[0] < plates[a][2] and plates[a][1] < other[3]
                            and other[1] < plates[a][3]), (trial, a, plates[a], other)
        order = sorted(range(n), key=lambda k: -priorities[k])
        for k in set(range(n)) - set(shown):  # left out: every spot was outside or taken by a more important one
            earlier = taken + [plates[j] for j in order[: order.index(k)] if plates[j] is not None] + [
                (x - 5.0, y - 5.0, x + 5.0, y + 5.0) for j, (x, y) in enumerate(anchors) if j != k]
            (ax, ay), (w, h) = anchors[k], sizes[k]
            for dx, dy in label_offsets(w, h, 8.0):
                x, y = ax + dx, ay + dy
                plate = (x - 4.0, y - 2.0, x + w + 4.0, y + h + 2.0)
                inside = EDGE <= x <= bounds[0] - w - EDGE and EDGE <= y <= bounds[1] - h - EDGE
                assert not inside or any(plate[0] < o[2] + 2 and o[0] < plate[2] + 2 and plate[1] < o[3] + 2
                                         and o[1] < plate[3] + 2 for o in earlier), (trial, k)
    # crowded: three labels on one point in a small pane; the most important keeps its place
    places = place_labels([(50.0, 30.0)] * 3, [(90.0, 17.0)] * 3, [0.0, 2.0, 1.0], (120.0, 60.0))
    assert places[1] is not None and places[0] is None


def test_a_scene_label_takes_its_offset_when_free_and_the_top_priority_is_always_shown():
    from sandbox.view import place_labels

    places = place_labels([(100.0, 100.0)], [(40.0, 17.0)], [0.0], (400.0, 300.0), offsets=[(12.0, -26.0)])
    assert places == [(112.0, 74.0)]
    # nowhere free (the pane is covered): the top priority still shows, kept inside; the rest do not
    cover = [(0.0, 0.0, 400.0, 300.0)]
    places = place_labels([(100.0, 100.0), (200.0, 100.0)], [(40.0, 17.0)] * 2, [1.0, 0.0], (400.0, 300.0), cover)
    assert places[0] is not None and places[1] is None
    places = place_labels([(398.0, 2.0)], [(40.0, 17.0)], [0.0], (400.0, 300.0), cover)
    assert 4.0 <= places[0][0] <= 400.0 - 44.0 and places[0][1] >= 4.0


def test_frame_labels_draw_plates_that_do_not_overlap(demo_app):
    from sandbox.gfx.camera import Camera2D
    from sandbox.view import Frame

    demo_app.run_frames(1)  # an ImGui context with the UI font
    plates = []

    class Recorder:  # a draw list that keeps the plates
        def add_rect_filled(self, a, b, color, rounding):
            plates.append((a.x, a.y, b.x, b.y))

        def add_text(self, at, color, text):
            pass

    camera = Camera2D()
    camera.fit(-1, 1, -1, 1)
    frame = Frame((400, 300), camera, None, 0.0, 1.0, (10.0, 20.0))
    frame.caption(Recorder(), ["a caption over the top-left corner"])
    points = [(0.0, 0.0), (0.02, 0.01), (-0.01, 0.02), (0.5, 0.5), (float("nan"), 0.0)]
    shown = frame.labels(Recorder(), [(p, f"label {k}", PALETTE.text, 3 - k) for k, p in enumerate(points)])
    assert shown[0] and shown[3] and not shown[4] and len(plates) == 1 + sum(shown)
    for i, a in enumerate(plates):
        assert 10.0 <= a[0] and a[2] <= 410.0 and 20.0 <= a[1] and a[3] <= 320.0
        for b in plates[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)


def test_a_narrow_strip_keeps_its_most_important_plots_in_their_order():
    from sandbox.kit.plots import strip_fit

    weights, priorities, minimums = [2.0, 1.0, 1.0, 1.0], [3.0, 0.0, 2.0, 1.0], [200.0, 150.0, 150.0, 150.0]
    assert strip_fit(weights, priorities, minimums, 2000.0) == [0, 1, 2, 3]
    assert strip_fit(weights, priorities, minimums, 700.0) == [0, 2, 3]
    assert strip_fit(weights, priorities, minimums, 500.0) == [0, 2]
    assert strip_fit(weights, priorities, minimums, 100.0) == [0], "the most important plot shows at any width"
    for width in np.linspace(100, 2000, 40):  # every plot shown gets its minimum
        keep = strip_fit(weights, priorities, minimums, width)
        total = sum(weights[k] for k in keep)
        assert len(keep) == 1 or all(width * weights[k] / total >= minimums[k] for k in keep)
    assert strip_fit([1.0, 1.0], [0.0, 0.0], [0.0, 0.0], 10.0) == [0, 1], "no minimum: always shown"


def test_the_strip_fits_ticks_and_leaves_a_levels_own_ticks_alone(demo_app, monkeypatch):
    from imgui_bundle import imgui, implot

    from sandbox.kit import Plot, plot_strip, plots, round_ticks, vlines

    app = demo_app
    real, set_up, dropped, before = implot.setup_axis_ticks, [], [], set(plots._CUSTOM)

    def recording(axis, values, labels=None, keep_default=False):
        now = plots._NOW.get(axis)
        if now is not None and now.pixels >= 1:
            set_up.append((axis, list(values), list(labels or []), now, imgui.get_font_size()))
        return real(axis, values, labels, keep_default)

    monkeypatch.setattr(implot, "setup_axis_ticks", recording)

    def own_ticks(run):
        implot.setup_axis_ticks(implot.ImAxis_.x1.value, [0.0, 1.0], ["start", "end"])
        plots.line("a", [0.0, 1.0], [1e-3, 10.0])

    def rounded(run):
        round_ticks(0.0, 1000.0)
        vlines([500.0, 1000.0], ["T/2", "T"])
        plots.line("b", [0.0, 1000.0], [0.5, 0.7])

    app.host.view.plots = lambda: plot_strip(app.host.context, [
        Plot("own", own_ticks, y_log=True), Plot("rounded", rounded),
        Plot("dropped", lambda run: dropped.append(run), min_width=1e4)])
    for scale in (1.0, 2.0):
        app.imgui.set_scale(scale)
        app.run_frames(4)
    assert not dropped, "a plot that cannot have its minimum width is left out"
    kit = [entry for entry in set_up if entry[2] != ["start", "end"]]
    assert {entry[0] for entry in kit} == {implot.ImAxis_.x1.value, implot.ImAxis_.y1.value}
    for axis, values, labels, now, font in kit:
        vertical = axis == implot.ImAxis_.y1.value
        if now.log:
            lo, span = math.log10(now.low), math.log10(now.high) - math.log10(now.low)
            places = [(math.log10(v) - lo) / span * now.pixels for v in values]
        else:
            places = [(v - now.low) / (now.high - now.low) * now.pixels for v in values]
        sizes = [font if vertical else imgui.calc_text_size(text).x for text in labels]
        for k in range(len(values) - 1):
            assert places[k + 1] - places[k] - 0.5 * (sizes[k] + sizes[k + 1]) >= plots.TICK_GAP[vertical] * font - 0.5
    own = [entry for entry in set_up if entry[2] == ["start", "end"]]
    assert len(own) >= 6, "the level's own ticks, every frame"
    assert len(plots._CUSTOM - before) == 1, "and the kit leaves that axis alone: both sets would be drawn"


def test_tick_labels_stay_within_the_room_at_the_axis_ends():
    from sandbox.kit.plots import fit_ticks, thin_labels

    measure = _width_of(14.0)
    # an axis from 1 to 60 ending 5 px before the next plot: "60" would reach into it, 10 ... 50 stay
    values, labels = fit_ticks(1.0, 60.0, 218.0, measure, gap=11.0, spacing=63.0, room=(52.0, 5.0))
    assert labels and "60" not in labels and values[-1] <= 50.0
    assert all(-52.0 <= (v - 1.0) / 59.0 * 218.0 - 0.5 * measure(t) and (v - 1.0) / 59.0 * 218.0 + 0.5 * measure(t)
               <= 223.0 for v, t in zip(values, labels))
    assert thin_labels([0.0, 20.0, 40.0, 60.0, 80.0], [30.0] * 5, 5.0) == [True, False, True, False, True]
    assert thin_labels([0.0, 20.0, 40.0], [10.0] * 3, 5.0) == [True] * 3
    assert thin_labels([0.0, 20.0, 40.0], [10.0] * 3, 5.0, (0.0, 100.0)) == [False, True, False], "0 reaches out"
    assert thin_labels([0.0], [300.0], 5.0, (-10.0, 100.0)) == [False]


def test_a_levels_own_ticks_keep_every_tick_and_only_the_labels_that_fit(demo_app, monkeypatch):
    from imgui_bundle import imgui, implot

    from sandbox.kit import Plot, plot_strip, plots

    app = demo_app
    real, set_up = implot.setup_axis_ticks, []

    def recording(axis, values, labels=None, keep_default=False):
        now = plots._NOW.get(axis)
        if now is not None and now.pixels >= 1 and axis == implot.ImAxis_.x1.value:
            set_up.append((list(values), list(labels or []), now))
        return real(axis, values, labels, keep_default)

    monkeypatch.setattr(implot, "setup_axis_ticks", recording)
    ticks = [float(k) for k in range(21)]

    def dense(run):
        plots.set_ticks(ticks, [f"n={k}" for k in range(21)])
        plots.line("a", [0.0, 20.0], [0.0, 1.0])

    app.host.view.plots = lambda: plot_strip(app.host.context, [Plot("dense", dense, x_limits=(0.0, 20.0))])
    app.imgui.set_scale(2.0)
    app.run_frames(3)
    values, labels, now = set_up[-1]
    assert values == ticks and 2 <= sum(map(bool, labels)) < 21, labels
    shown = [(v / 20.0 * now.pixels, imgui.calc_text_size(t).x) for v, t in zip(values, labels) if t]
    for (a, wa), (b, wb) in itertools.pairwise(shown):
        assert b - a - 0.5 * (wa + wb) >= plots.TICK_GAP[False] * imgui.get_font_size() - 0.5


def test_an_equal_plot_keeps_one_unit_as_long_on_both_axes(demo_app):
    from imgui_bundle import implot

    from sandbox.kit import Plot, plot_strip, plots

    app = demo_app
    seen = {}

    def record(name):
        def draw(run):
            plots.line("circle", np.cos(np.linspace(0, 2 * np.pi, 64)), 3 * np.sin(np.linspace(0, 2 * np.pi, 64)))
            limits, size = implot.get_plot_limits(), implot.get_plot_size()
            seen[name] = ((limits.x.max - limits.x.min) / size.x, (limits.y.max - limits.y.min) / size.y)
        return draw

    app.host.view.plots = lambda: plot_strip(app.host.context, [
        Plot("equal", record("equal"), x_label="", equal=True), Plot("free", record("free"), x_label="")])
    app.run_frames(5)
    units_x, units_y = seen["equal"]
    assert units_x == pytest.approx(units_y, rel=0.02), "a unit is as many pixels across as up"
    free_x, free_y = seen["free"]
    assert abs(free_x / free_y - 1) > 0.1, "without it the axes fit the data each on its own"


def test_a_grid_of_cells_is_one_quad_coloured_cell_by_cell_and_rebuilt_only_when_its_key_changes(demo_app):
    app = demo_app
    view = app.host.view
    builds = []

    def colors():
        builds.append(1)
        return np.array([[[1, 0, 0, 1], [0, 1, 0, 1]]], np.float32)  # one row: red, then green

    view.scene = lambda frame: view.cells(frame, "halves", "v1", (-1e4, 1e4, -1e4, 1e4), colors)
    app.run_frames(4)
    x, y, w, h = app.layout()["scene"]
    pixels = app.read_pixels()
    left, right = pixels[int(y + h / 2), int(x + 5)], pixels[int(y + h / 2), int(x + w - 5)]
    assert left[0] > 200 and left[1] < 60, left
    assert right[1] > 200 and right[0] < 60, right
    assert len(builds) == 1, "the colours are made once while the key stays"
    view.scene = lambda frame: view.cells(frame, "halves", "v2", (-1e4, 1e4, -1e4, 1e4), colors)
    app.run_frames(2)
    assert len(builds) == 2
    with pytest.raises(ValueError, match="RGBA"):
        view.cells(None, "bad", 0, (0, 1, 0, 1), lambda: np.zeros((2, 2)))


def test_the_mouse_ray_passes_through_the_world_point_drawn_under_the_mouse():
    from sandbox.gfx.camera import FrameInput, OrbitCamera
    from sandbox.view import Frame

    camera = OrbitCamera(target=(0.3, -0.2, 0.1), distance=6.0, yaw=0.4, pitch=0.3)
    viewport = (640, 400)
    rng = np.random.default_rng(1)
    for point in rng.normal(size=(10, 3)):
        mvp = np.asarray(camera.matrix(viewport), np.float64)
        clip = np.append(point, 1.0) @ mvp
        ndc = clip[:3] / clip[3]
        mouse = ((ndc[0] + 1) / 2 * viewport[0], (1 - ndc[1]) / 2 * viewport[1])
        frame = Frame(viewport, camera, FrameInput(mouse=mouse), 0.0)
        origin, direction = frame.mouse_ray()
        assert np.linalg.norm(direction) == pytest.approx(1.0)
        off = (point - origin) - ((point - origin) @ direction) * direction  # the point's distance to the ray
        assert np.linalg.norm(off) < 1e-4 * np.linalg.norm(point - origin)


def test_a_batch_gathers_three_dimensional_segments_and_refuses_3d_arrows():
    from sandbox.gfx.draw import Batch

    batch = Batch(3)
    batch.segments(np.zeros((4, 3)), PALETTE.sky)
    batch.polylines(np.zeros((5, 2, 3)), PALETTE.orange)
    assert sum(len(p) for p, _ in batch._segments) == 4 + 2 * 4 * 2
    with pytest.raises(ValueError, match="2-D"):
        batch.arrows(np.zeros((1, 2)), np.ones((1, 2)), PALETTE.sky)
    with pytest.raises(ValueError):
        Batch(4)
