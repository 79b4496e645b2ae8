"""Attention by hand: what the level shows, as assertions on its simulation and its view.

The claims of level.toml are checked over their ranges by claims.py (the engine's tests run every
claim); these tests check the arithmetic against an independent one, the challenges' measurements,
the model's edges, and that the view shows, hides and answers clicks as it says.
"""

import itertools
import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from sandbox.manifest import load_manifest
from sandbox.testing import (
    headless_app,
    level,
    make_runner,
    measured_outcome,
    open_challenge,
    run_challenge,
)

level("attention_worked").module("attention")  # imports the level's package as the game does
from cf_level_attention_worked.attention import (
    MAX_D,
    MAX_DEPTH,
    SEED_KEYS,
    SEED_QUERIES,
    SEED_VALUES,
    random_vectors,
    softmax_rows,
    spectrum,
)
from cf_level_attention_worked.model import GAP_OUTCOMES, RANDOM, ROW_OUTCOMES
from cf_level_attention_worked.table import Block, hit, place

LEVEL = "attention_worked"
HERE = Path(__file__).parent


def by_hand(queries, keys, values, divisor):
    """The head written out in loops, as on paper: an independent check of the model's arithmetic."""
    n = len(queries)
    weights = np.zeros((n, n))
    for i in range(n):
        scores = [sum(queries[i][a] * keys[j][a] for a in range(len(queries[i]))) / divisor for j in range(n)]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        weights[i] = [e / sum(exps) for e in exps]
    return weights, weights @ np.asarray(values)


# ---------------------------------------------------------------------------------------------
# the arithmetic


def test_the_seed_example_is_worked_as_by_hand():
    run = make_runner(LEVEL)
    w = run.model.worked
    weights, outputs = by_hand(SEED_QUERIES.tolist(), SEED_KEYS.tolist(), SEED_VALUES, math.sqrt(2))
    np.testing.assert_allclose(w.weights, weights, atol=1e-15)
    np.testing.assert_allclose(w.outputs, outputs, atol=1e-15)
    np.testing.assert_allclose(w.dots, [[1.0, 0.75, 0.6], [0.43, 0.68, 0.7], [0.27, 0.67, 0.74]], atol=1e-12)
    assert np.all(w.shifts == 0), "small scores are exponentiated as they are, as on paper"
    np.testing.assert_allclose(w.exps[0], np.exp([1 / math.sqrt(2), 0.75 / math.sqrt(2), 0.6 / math.sqrt(2)]))
    assert run.series("self_share")[-1] == pytest.approx(0.38586, abs=1e-5)
    np.testing.assert_allclose(w.outputs[0], [w.weights[0, 0] + w.weights[0, 2], w.weights[0, 1] + w.weights[0, 2]])


@pytest.mark.parametrize("d, scaled, temperature, seed", [(2, True, 1.0, 0), (64, False, 1.0, 1), (1024, False, 0.1, 2),
                                                          (300, True, 10.0, 3)])
def test_random_heads_match_the_loops_and_large_scores_are_shifted_not_overflowed(d, scaled, temperature, seed):
    run = make_runner(LEVEL, {"source": RANDOM, "d": d, "scaled": scaled, "temperature": temperature}, seed=seed)
    w = run.model.worked
    divisor = temperature * (math.sqrt(d) if scaled else 1.0)
    assert w.divisor == pytest.approx(divisor)
    weights, outputs = by_hand(w.queries.tolist(), w.keys.tolist(), w.values, divisor)
    np.testing.assert_allclose(w.weights, weights, atol=1e-12)
    np.testing.assert_allclose(w.outputs, outputs, atol=1e-12)
    assert np.all(np.isfinite(w.exps)) and np.all(w.exps <= np.exp(30.0))
    big = np.abs(w.scores).max(axis=1) > 30
    np.testing.assert_array_equal(w.shifts != 0, big)
    np.testing.assert_allclose(w.weights, softmax_rows(w.scores), atol=1e-15)


def test_random_vectors_are_seeded_and_growing_d_extends_the_same_vectors():
    a, b = random_vectors(5), random_vectors(5)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert a[0].shape == (3, MAX_D) and a[2].shape == (3, 2)
    assert not np.array_equal(random_vectors(6)[0], a[0])
    run = make_runner(LEVEL, {"source": RANDOM, "d": 8}, seed=5)
    run.set_param("d", 32)
    np.testing.assert_array_equal(run.model.worked.queries[:, :8], a[0][:, :8])
    assert run.model.worked.queries.shape == (3, 32)


def test_the_spectrum_of_a_circulant_matrix_is_known_in_closed_form():
    """A = a I + b (J − I) has the eigenvalues 1 and a − b (twice): a check of spectrum() itself."""
    for a in (0.9, 0.5, 1 / 3, 0.1):
        b = (1 - a) / 2
        matrix = a * np.eye(3) + b * (np.ones((3, 3)) - np.eye(3))
        s = spectrum(matrix)
        assert s.eigenvalues[0] == pytest.approx(1.0)
        assert s.second == pytest.approx(abs(a - b), abs=1e-9)
        np.testing.assert_allclose(s.stationary, 1 / 3)
    s = spectrum(np.eye(3)[[0, 2, 0]])  # rows one-hot: 0 → 0, 1 → 2, 2 → 0
    assert s.unique and s.second == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(s.stationary, [1, 0, 0], atol=1e-12)
    assert not spectrum(np.eye(3)).unique  # the identity keeps every distribution


def test_attention_is_applied_once_more_every_step_up_to_the_cap():
    run = make_runner(LEVEL)
    assert run.model.depth == 1 and run.series("depth")[-1] == 1
    run.step(10)
    model = run.model
    assert model.depth == 11
    np.testing.assert_allclose(model.powers[10], np.linalg.matrix_power(model.worked.weights, 11), atol=1e-15)
    np.testing.assert_allclose(run.array("outputs"), np.linalg.matrix_power(model.worked.weights, 11) @ SEED_VALUES)
    run.step(100)
    assert model.depth == MAX_DEPTH and run.series("depth")[-1] == MAX_DEPTH
    assert run.series("distance").min() >= 1e-16 and run.series("rate").min() >= 1e-16
    run.reset()
    assert run.model.depth == 1


def test_dragged_vectors_change_every_number_and_the_seed_note_goes():
    run = make_runner(LEVEL)
    assert run.model.is_seed_example()
    run.set_param("k1x", 1.0)
    model = run.model
    assert not model.is_seed_example()
    assert model.worked.dots[0, 1] == pytest.approx(1.0 * 1.0 + 0.5 * 0.7)
    weights, _ = by_hand(model.matrix("q").tolist(), model.matrix("k").tolist(), SEED_VALUES, math.sqrt(2))
    np.testing.assert_allclose(model.worked.weights, weights, atol=1e-15)
    run.set_param("k1x", 0.4)
    assert model.is_seed_example()
    run.set_param("temperature", 2.0)
    assert not model.is_seed_example(), "the printed numbers are for τ = 1"


def test_the_sharpness_sweep_is_flat_with_the_division_and_climbs_without_it():
    model = make_runner(LEVEL).model
    sweep = model.sharpness_sweep()
    assert model.sharpness_sweep() is sweep, "computed once per seed and temperature"
    assert sweep["dims"][0] == 2 and sweep["dims"][-1] == MAX_D
    assert np.all((sweep["top_scaled"] > 0.52) & (sweep["top_scaled"] < 0.63))
    assert np.all(np.diff(sweep["top_unscaled"]) > -0.01) and sweep["top_unscaled"][-1] > 0.97
    np.testing.assert_allclose(sweep["spread_scaled"], 1.0, atol=0.1)
    np.testing.assert_allclose(sweep["spread_unscaled"] / np.sqrt(sweep["dims"]), 1.0, atol=0.1)


@pytest.mark.parametrize("corner", list(itertools.product([2, 1024], [True, False], [0.1, 10.0])))
def test_every_corner_of_the_parameters_runs_finite(corner):
    d, scaled, temperature = corner
    for source in ("the seed's example", RANDOM):
        params = {"source": source, "d": d, "scaled": scaled, "temperature": temperature}
        if source != RANDOM:
            params.update({f"{m}{i}{a}": (2.0 if (i + len(a)) % 2 else -2.0) for m in "qkv" for i in range(3) for a in "xy"})
        run = make_runner(LEVEL, params)
        run.step(MAX_DEPTH + 2)
        assert run.error is None and not run.diverged
        latest = run.latest()
        assert all(np.all(np.isfinite(v)) for v in latest.values())


# ---------------------------------------------------------------------------------------------
# challenges


def test_self_share_measures_the_first_weight_and_the_seeds_printed_cat_is_not_it():
    assert measured_outcome(LEVEL, "self_share") == pytest.approx(0.38586, abs=1e-5)
    assert run_challenge(LEVEL, "self_share", 0.386).correct
    assert not run_challenge(LEVEL, "self_share", 1 / 3 - 0.02).correct
    verdict = run_challenge(LEVEL, "self_share", 0.6)
    assert not verdict.correct and "close to even" in verdict.hint


def test_unscaled_row_measures_one_token_taking_nearly_all_for_every_seed():
    assert measured_outcome(LEVEL, "unscaled_row") == ROW_OUTCOMES[2]
    for seed in (1, 2):
        run = make_runner(LEVEL, {"source": RANDOM, "d": 512, "scaled": False}, seed=seed)
        assert run.model.measure_row_at_d(run) == ROW_OUTCOMES[2]
        run.set_param("scaled", True)  # with the division, as spread as at d = 2
        assert run.model.measure_row_at_d(run) == ROW_OUTCOMES[1]
        run.set_param("d", 2)
        run.set_param("scaled", False)
        assert run.model.measure_row_at_d(run) == ROW_OUTCOMES[1]
        run.set_param("temperature", 10.0)  # a high temperature evens rows out
        assert run.model.measure_row_at_d(run) == ROW_OUTCOMES[0]


def test_focused_gap_measures_near_zero_and_even_rows_near_one():
    assert measured_outcome(LEVEL, "focused_gap") == GAP_OUTCOMES[0]
    verdict = run_challenge(LEVEL, "focused_gap", "near 1")
    assert not verdict.correct and "rows of Aᵗ" in verdict.hint
    run = make_runner(LEVEL, {f"q{i}{a}": 0.0 for i in range(3) for a in "xy"})
    assert run.model.measure_gap_size(run) == GAP_OUTCOMES[2]
    seed_run = make_runner(LEVEL)
    assert seed_run.model.measure_gap_size(seed_run) == GAP_OUTCOMES[2]  # the seed's nearly even rows: 0.89


def test_manifest_is_valid_and_every_challenge_has_its_measure():
    manifest = load_manifest(HERE)
    model_class = level(LEVEL).model_class()
    for challenge in manifest.challenges.values():
        assert hasattr(model_class, f"measure_{challenge.measure}") and challenge.title
    claims_module = level(LEVEL).module("claims")
    for claim in manifest.claims.values():
        assert callable(getattr(claims_module, f"check_{claim.id}", None))
    assert manifest.pillar == "sequence" and manifest.params["d"].max == MAX_D


def test_witness_runs_and_asserts_the_claims(capsys):
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "row 0 of A: [0.386 0.323 0.291]" in out and out.count("largest weight") == 4


# ---------------------------------------------------------------------------------------------
# the table's layout


def test_the_table_keeps_the_most_important_blocks_and_no_two_cells_overlap():
    measure = lambda text: 8.0 * len(text)  # a monospace stand-in for ImGui's text size
    grid = [[(("label",), "q·k")] + [(("dot", j), "0.750") for j in range(3)] + [(("sum",), "5.256")]]
    blocks = [Block("title", [(("title",), ("a long title that is long", "short"))], 1.0),
              Block("grid", grid * 4, 9.0), Block("extra", grid * 3, 2.0)]
    cells, shown = place(blocks, 400.0, 150.0, 16.0, measure)
    assert shown == ["title", "grid"], "the least important block makes way whole"
    boxes = [c.box for c in cells]
    for a, b in itertools.combinations(boxes, 2):
        assert min(a[2], b[2]) - max(a[0], b[0]) <= 1e-9 or min(a[3], b[3]) - max(a[1], b[1]) <= 1e-9
    assert all(0 <= x0 and x1 <= 400 and 0 <= y0 and y1 <= 150 for x0, y0, x1, y1 in boxes)
    assert hit(cells, ((boxes[2][0] + boxes[2][2]) / 2, (boxes[2][1] + boxes[2][3]) / 2)).key == ("dot", 0)
    narrow, shown = place(blocks, 150.0, 400.0, 16.0, measure)
    assert "title" in shown and next(c.text for c in narrow if c.key == ("title",)) == "short"
    assert not any(c.key == ("sum",) for c in narrow), "a narrow table drops its Σ column first"


# ---------------------------------------------------------------------------------------------
# the view


def table_texts(app) -> dict:
    return {cell.key: cell.text for cell in app.host.view._cells}


def test_while_a_prediction_is_open_everything_after_the_scores_is_hidden(tmp_path, monkeypatch):
    shown = []
    with headless_app(LEVEL, tmp_path) as app:
        view_module = sys.modules[type(app.host.view).__module__]
        monkeypatch.setattr(view_module, "plot_strip", lambda context, plots: shown.append([p.title for p in plots]))
        app.run_frames(3)
        texts = table_texts(app)
        assert texts[("A", 0, 0)] == "0.386" and texts[("weight", 1)] == "0.323" and shown
        for challenge in ("self_share", "unscaled_row", "focused_gap"):
            open_challenge(app, challenge)
            shown.clear()
            app.run_frames(2)
            view, texts = app.host.view, table_texts(app)
            assert view.challenge.hide_answers and not shown, "no plots while the learner predicts"
            assert texts[("dot", 0)] == "1.000" and texts[("score", 0)] == "0.707", "the scores stay: it is by hand"
            hidden = [texts[k] for k in texts if k[0] in ("A", "exp", "sum", "weight", "Asum")]
            assert hidden and all(t == "?" for t in hidden)
            assert "?" in texts[("output",)] and ("note",) not in texts
            assert "hidden" in " ".join(" ".join(line) for line in view.derivation())
        open_challenge(app, None)
        app.host.requested_tab = "Play"
        app.run_frames(3)
        assert table_texts(app)[("A", 0, 0)] == "0.386" and shown


def test_clicking_a_number_shows_where_it_came_from_and_dragging_a_tip_moves_it(tmp_path):
    with headless_app(LEVEL, tmp_path, paused=True) as app:
        app.run_frames(3)
        view = app.host.view
        assert view.derivation()[-1][0].startswith("0.750 = q₀·k₁ = 1.00×0.40 + 0.50×0.70")
        sx, sy, sw, sh = app.layout()["scene"]
        origin = (sx + view.left_share * sw, sy)  # the table pane's top-left

        def click(key):
            cell = next(c for c in view._cells if c.key == key)
            x0, y0, x1, y1 = cell.box
            app.inject("mouse_pos", origin[0] + 0.5 * (x0 + x1), origin[1] + 0.5 * (y0 + y1))
            app.inject("mouse_button", 0, True)
            app.inject("mouse_button", 0, False)
            app.run_frames(4)

        click(("A", 2, 0))
        assert (view.selection.stage, view.selection.i, view.selection.j) == ("weight", 2, 0)
        lines = [line[0] for line in view.derivation()]
        assert lines[0].startswith("A₂₀ =") and lines[-1].startswith("0.270 = q₂·k₀ = 0.10×0.90 + 0.90×0.20")
        click(("sum",))
        assert view.selection.stage == "sum" and view.derivation()[0][0] == "Σ = 1.210 + 1.606 + 1.688 = 4.504"
        click(("output",))
        assert view.derivation()[0][0].startswith("o₂ = ")

        fx, fy, fw, fh = view.panes()[0].rect  # the queries and keys
        origin, viewport = (sx + fx * sw, sy + fy * sh), (int(fw * sw), int(fh * sh))
        grab = view.cam.world_to_screen((0.9, 0.2), viewport)  # the tip of k₀
        drop = view.cam.world_to_screen((0.5, -0.3), viewport)
        app.inject("mouse_pos", origin[0] + grab[0], origin[1] + grab[1])
        app.inject("mouse_button", 0, True)
        for k in range(1, 11):
            app.inject("mouse_pos", *(o + g + k / 10 * (d - g) for o, g, d in zip(origin, grab, drop)))
        app.inject("mouse_button", 0, False)
        app.run_frames(16)  # one event a frame: the press, ten moves, the release
        params = app.host.runner.params
        assert params["k0x"] == pytest.approx(0.5, abs=0.06) and params["k0y"] == pytest.approx(-0.3, abs=0.06)
        assert params["q0x"] == 1.0, "only the grabbed tip moved"
        assert app.host.runner.model.worked.dots[0, 0] == pytest.approx(params["k0x"] + 0.5 * params["k0y"])


@pytest.mark.parametrize("size, scale, params", [((960, 600), 1.0, {}), ((1280, 720), 2.0, {}),
                                                 ((960, 600), 1.0, {"source": RANDOM, "d": 512, "scaled": False}),
                                                 ((960, 600), 2.0, {"source": RANDOM, "d": 512, "scaled": False})])
def test_no_text_runs_into_another(tmp_path, monkeypatch, size, scale, params):
    from imgui_bundle import imgui

    from sandbox.app import App
    from sandbox.progress import Progress
    from sandbox.view import Frame

    boxes, text = [], Frame.text

    def record(self, draw_list, at, words, *args, **kwargs):  # where Frame.text puts it, kept inside the pane
        width, height = self.size
        w, h = imgui.calc_text_size(words)
        x, y = max(min(at[0], width - w - 4.0), 4.0), max(min(at[1], height - h - 4.0), 4.0)
        boxes.append((words, x, y, x + w, y + h, self.pane))
        return text(self, draw_list, at, words, *args, **kwargs)

    monkeypatch.setattr(Frame, "text", record)
    app = App(size=size, headless=True, level=LEVEL, ui_scale=scale, params=params,
              progress=Progress(Path(tmp_path) / "p.db"))
    try:
        app.run_frames(12)
        boxes.clear()
        app.run_frames(1)
        assert app.host.error is None, app.host.error
        assert len(boxes) >= 20
        clash = [(a[0], b[0]) for a, b in itertools.combinations(boxes, 2) if a[5] == b[5]
                 and min(a[3], b[3]) - max(a[1], b[1]) > 1.0 and min(a[4], b[4]) - max(a[2], b[2]) > 1.0]
        assert clash == []
        table = {b[0] for b in boxes if b[5] == "table"}
        assert {"q·k", "÷ Σ"} <= table and {"exp", "exp(s−max)"} & table, "the worked row is always on screen"
    finally:
        app.shutdown()
