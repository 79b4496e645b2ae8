"""The Matrix as a Map: its challenges measured from the simulation, its animations ending where the
maths says, its low-rank copy, and a view that hides each answer while a prediction is open.

The level's statements across their ranges are its claims (claims.py, run by the engine's tests)."""

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

level("matrix_transform").module("model")  # imports the level's package as the game does
from cf_level_matrix_transform.maps import (
    ENTRY_RANGE,
    PRESETS,
    SECOND_MAPS,
    describe_lines,
    kept_lines,
    rotation_degrees,
    signed_area,
    svd_path,
)
from cf_level_matrix_transform.model import (
    LAYER_STEPS,
    STAGES,
    WEIGHT_UPDATE,
    morph_progress,
    steps_to_finish,
)

LEVEL = "matrix_transform"
HERE = Path(__file__).parent
MANIFEST = load_manifest(HERE)


def entries(W):
    return {"w11": W[0][0], "w12": W[0][1], "w21": W[1][0], "w22": W[1][1]}


# ---------------------------------------------------------------------------------------------
# challenges: measured from the run, and judged


@pytest.mark.parametrize(("challenge", "expected", "wrong"), [
    ("which_lines", "the two diagonals", "the x- and y-axes"),
    ("shear_lines", "only the x-axis", "the x- and y-axes"),
    ("order_matters", "different", "the same"),
    ("rotations_commute", "the same", "different"),
])
def test_choice_challenges_are_measured_and_judged(challenge, expected, wrong):
    assert measured_outcome(LEVEL, challenge) == expected
    assert run_challenge(LEVEL, challenge, expected).correct
    verdict = run_challenge(LEVEL, challenge, wrong, confidence=0.9)
    assert not verdict.correct and verdict.hint, "a wrong answer gets its hint"


def test_signed_area_is_minus_two_and_the_unsigned_guess_is_wrong():
    assert measured_outcome(LEVEL, "signed_area") == pytest.approx(-2.0, abs=1e-12)
    assert run_challenge(LEVEL, "signed_area", -2.0).correct
    verdict = run_challenge(LEVEL, "signed_area", 2.0)
    assert not verdict.correct and "clockwise" in verdict.hint


def test_energy_kept_is_the_share_of_the_top_two_sigma_squares_not_of_the_sigmas():
    run = make_runner(LEVEL, MANIFEST.challenges["energy_kept"].set)
    sigma = np.linalg.svd(run.model.matrix(), compute_uv=False)
    measured = measured_outcome(LEVEL, "energy_kept")
    assert measured == pytest.approx(np.sum(sigma[:2] ** 2) / np.sum(sigma ** 2), abs=1e-12)
    assert 0.83 < measured < 0.86
    assert run_challenge(LEVEL, "energy_kept", 0.84).correct
    by_sum = float(np.sum(sigma[:2]) / np.sum(sigma))  # the classic slip: adding σ, not σ²
    verdict = run_challenge(LEVEL, "energy_kept", by_sum)
    assert not verdict.correct and "Square" in verdict.hint


def test_every_challenge_runs_past_the_end_of_its_animation():
    for challenge in MANIFEST.challenges.values():
        params = MANIFEST.resolve_params(challenge.set)
        end = steps_to_finish(params["mode"]) if params["mode"] != "low rank" else LAYER_STEPS * (params["k"] - 1)
        assert challenge.steps > end, f"{challenge.id}: {challenge.steps} steps, its animation ends at {end}"


def test_the_challenges_w_fit_the_sliders_and_their_questions_state_it():
    for challenge in MANIFEST.challenges.values():
        for name in ("w11", "w12", "w21", "w22"):
            if name in challenge.set:
                assert abs(challenge.set[name]) <= ENTRY_RANGE


# ---------------------------------------------------------------------------------------------
# the maps


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_fits_the_sliders_and_says_what_it_keeps(name):
    W, tip = PRESETS[name]
    assert np.all(np.abs(W) <= ENTRY_RANGE)
    run = make_runner(LEVEL, entries(W))
    run.step(steps_to_finish("map"))
    assert np.allclose(run.model.morph(), W)
    lines = kept_lines(W)
    words = {"identity": "every direction", "stretch": "the x- and y-axes", "shear": "only the x-axis",
             "rotate 30°": "none", "reflect": "the two diagonals", "squash flat": "other lines"}[name]
    assert describe_lines(lines) == words
    if name == "squash flat":
        assert abs(np.linalg.det(W)) < 1e-12 and "det = 0" in tip
    if name == "reflect":
        assert np.linalg.det(W) == pytest.approx(-1.0)


@pytest.mark.parametrize("mode", ["map", "SVD", "two maps"])
def test_each_animation_starts_at_the_identity_and_ends_at_the_map(mode):
    W = np.array([[1.2, -0.7], [0.4, -0.9]])  # det < 0: the SVD path flips an axis on the way
    run = make_runner(LEVEL, {"mode": mode, "second": "shear", **entries(W)})
    assert np.allclose(run.model.morph(), np.eye(2)) and np.allclose(run.model.morph_other(), np.eye(2))
    progress = [morph_progress(mode, t) for t in range(steps_to_finish(mode) + 30)]
    assert np.all(np.diff(progress) >= 0) and progress[-1] == STAGES[mode]
    run.step(steps_to_finish(mode))
    B = SECOND_MAPS["shear"]
    expected = B @ W if mode == "two maps" else W
    assert np.allclose(run.model.morph(), expected, atol=1e-12)
    if mode == "two maps":
        assert np.allclose(run.model.morph_other(), W @ B, atol=1e-12)
        assert signed_area(run.array("square")) == pytest.approx(np.linalg.det(B @ W))


def test_the_svd_path_pauses_between_its_stages_and_names_them():
    run = make_runner(LEVEL, {"mode": "SVD"})
    stages = []
    for _ in range(steps_to_finish("SVD") + 5):
        stages.append(run.model.stage())
        run.step()
    assert stages[0] == 0 and stages[-1] == 3 and sorted(set(stages)) == [0, 1, 2, 3]
    W = run.model.W
    assert np.allclose(svd_path(W, 2.0) @ svd_path(W, 1.0).T, np.diag(np.linalg.svd(W, compute_uv=False)))


def test_editing_w_after_the_animation_moves_the_plane_at_once():
    run = make_runner(LEVEL)
    run.step(steps_to_finish("map"))
    run.set_param("w12", -1.5)
    assert run.model.morph()[0, 1] == -1.5 and run.steps == steps_to_finish("map"), "no restart"
    run.step()
    assert run.latest()["det"] == pytest.approx(1.2 * 1.1 - (-1.5) * 0.3)


def test_a_rotation_keeps_no_line_and_the_level_records_it():
    run = make_runner(LEVEL, entries(rotation_degrees(60.0)))
    assert run.latest()["keeps_a_line"] == 0.0 and run.model.lines() == []
    assert np.all(np.abs(run.model.eigenvalues().imag) > 0.8)
    run = make_runner(LEVEL)
    assert run.latest()["keeps_a_line"] == 1.0 and len(run.model.lines()) == 2


# ---------------------------------------------------------------------------------------------
# low rank


@pytest.mark.parametrize("matrix", ["picture", WEIGHT_UPDATE])
def test_the_copy_grows_one_layer_at_a_time_to_k_and_follows_k_live(matrix):
    run = make_runner(LEVEL, {"mode": "low rank", "matrix": matrix, "k": 6})
    run.step(LAYER_STEPS * 8)
    ranks = run.series("rank")
    assert ranks[0] == 1 and ranks[-1] == 6 and set(np.diff(ranks)) <= {0.0, 1.0}
    assert np.sum(np.diff(ranks) == 1) == 5
    shares = run.series("kept_share")
    assert np.all(np.diff(shares) >= -1e-15), "each layer adds its σ² to what is kept"
    run.set_param("k", 20)
    assert run.model.shown_rank == 20
    run.step()
    sigma = np.linalg.svd(run.model.matrix(), compute_uv=False)
    assert run.latest()["error_norm"] == pytest.approx(math.sqrt(np.sum(sigma[20:] ** 2)), rel=1e-9)


def test_the_weight_update_depends_on_the_seed_and_the_picture_does_not():
    a, b = (make_runner(LEVEL, {"mode": "low rank", "matrix": WEIGHT_UPDATE}, seed=s).model.matrix() for s in (0, 1))
    assert not np.allclose(a, b)
    p, q = (make_runner(LEVEL, {"mode": "low rank"}, seed=s).model.matrix() for s in (0, 1))
    assert np.array_equal(p, q) and p.shape == (64, 64) and 0.0 <= p.min() and p.max() <= 1.0


def test_lora_counts_follow_the_sliders():
    run = make_runner(LEVEL, {"mode": "low rank", "lora_d": 4096, "lora_r": 8, "k": 4})
    counts = run.model.lora()
    assert counts == {"trained": 65_536, "full": 16_777_216, "here": 512, "here_full": 4096}


# ---------------------------------------------------------------------------------------------
# robustness


def test_every_parameter_at_both_ends_runs_in_every_mode():
    for values in itertools.product((-ENTRY_RANGE, ENTRY_RANGE), repeat=4):  # "two maps" computes every map
        run = make_runner(LEVEL, {"mode": "two maps", **dict(zip(("w11", "w12", "w21", "w22"), values))})
        run.step(5)
        assert run.error is None and not run.diverged, run.error
    for mode in MANIFEST.params["mode"].choices:
        run = make_runner(LEVEL, {"mode": mode, "w11": -ENTRY_RANGE, "w22": ENTRY_RANGE})
        run.step(steps_to_finish(mode) if mode != "low rank" else 50)
        assert run.error is None and not run.diverged, run.error
    for k, d, r in ((1, 16, 1), (64, 16384, 256)):
        run = make_runner(LEVEL, {"mode": "low rank", "k": k, "lora_d": d, "lora_r": r, "matrix": WEIGHT_UPDATE})
        run.step(LAYER_STEPS * k + 1)
        assert run.error is None and run.latest()["rank"] == k
    zero = make_runner(LEVEL, {"w11": 0.0, "w12": 0.0, "w21": 0.0, "w22": 0.0})
    zero.step(60)
    assert zero.error is None and not zero.diverged and zero.model.lines() is None


def test_witness_runs_and_asserts_the_claims(capsys):
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "eigenvalues: [1.5772 0.7228]" in out and "256 times fewer" in out


# ---------------------------------------------------------------------------------------------
# the view


def test_while_a_prediction_is_chosen_the_view_shows_the_setup_not_the_answer(tmp_path, monkeypatch):
    """Each challenge's own map is shown while the learner chooses, without what answers it: no
    kept lines or turn plot, no area, each of the two maps alone, no share of ‖A‖²_F kept."""
    from sandbox.view import Frame

    texts, strips = [], []
    text = Frame.text
    monkeypatch.setattr(Frame, "text", lambda self, draw_list, at, words, *a, **k: (
        texts.append(words), text(self, draw_list, at, words, *a, **k))[1])
    with headless_app(LEVEL, tmp_path) as app:
        view_module = sys.modules[type(app.host.view).__module__]
        real_strip = view_module.plot_strip
        monkeypatch.setattr(view_module, "plot_strip", lambda context, plots: (
            strips.append([p if isinstance(p, str) else p.title for p in plots]), real_strip(context, plots))[1])
        app.run_frames(60)
        texts.clear()
        app.run_frames(1)
        assert any(t.startswith("λ = ") for t in texts) and any("area" in t for t in texts)
        assert strips[-1] == ["stretch |Wx| of each unit x", "turn from x to Wx"]
        view = app.host.view
        for challenge, banned, strip in (  # strip: the plots drawn (none: a note says they are hidden)
                ("which_lines", ("λ = ", "no line stays put"), []),
                ("signed_area", ("area", "det W"), None),
                ("order_matters", ("BW e", "WB e"), []),
                ("energy_kept", ("keeps ",), [["σᵢ: the top k kept"]])):
            open_challenge(app, challenge)
            texts.clear()
            strips.clear()
            app.run_frames(1)
            assert view.challenge.choosing and view.shown is not view.model
            shown = MANIFEST.resolve_params(MANIFEST.challenges[challenge].set)
            assert view.shown.mode == shown["mode"]
            leaks = [t for t in texts if any(t.startswith(b) or b in t for b in banned)]
            assert not leaks, f"{challenge}: {leaks}"
            if strip is not None:
                assert strips == strip, (challenge, strips)
            if challenge == "order_matters":
                assert "W alone" in texts and any(t.startswith("B alone") for t in texts)
        open_challenge(app, None)
        app.host.requested_tab = "Play"
        app.run_frames(3)
        assert view.shown is view.model


def test_dragging_the_tip_of_w_e2_sets_the_second_column(tmp_path):
    with headless_app(LEVEL, tmp_path) as app:
        app.run_frames(steps_to_finish("map") + 10)
        view, (x0, y0, w, h) = app.host.view, app.layout()["scene"]
        viewport = (round(w), round(h))  # one pane fills the scene; headless, a window unit is a pixel
        tip = view.cam.world_to_screen(view.model.W[:, 1], viewport)
        target = view.cam.world_to_screen(np.array([-1.0, 1.5]), viewport)
        app.inject("mouse_pos", x0 + tip[0], y0 + tip[1])
        app.run_frames(2)
        app.inject("mouse_button", 0, True)
        app.run_frames(2)
        for t in np.linspace(0.0, 1.0, 8):
            app.inject("mouse_pos", x0 + tip[0] + t * (target[0] - tip[0]), y0 + tip[1] + t * (target[1] - tip[1]))
            app.run_frames(2)
        app.inject("mouse_button", 0, False)
        app.run_frames(3)
        params = app.host.runner.params
        assert (params["w12"], params["w22"]) == (pytest.approx(-1.0), pytest.approx(1.5))
        assert (params["w11"], params["w21"]) == (1.2, 0.3), "the other column stays"
