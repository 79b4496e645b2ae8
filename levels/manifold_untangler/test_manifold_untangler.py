"""The Manifold Untangler: what the level shows, as assertions on its simulation and its view.

The claims of level.toml are checked over their ranges by claims.py (the engine's tests run every
claim); these tests check the numerics against independent ones, the challenges' measurements,
the model's edges and bad input, and that the view hides what would answer a challenge.
"""

import numpy as np
import pytest

from sandbox.testing import (
    cut_off_text,
    finished_challenge,
    headless_app,
    level,
    make_runner,
    measured_outcome,
    open_challenge,
    overlapping_text,
    record_scene_text,
    run_challenge,
)
from sim.nn import gradient_check, softmax_cross_entropy

level("manifold_untangler").module("model")  # imports the level's package as the game does
from cf_level_manifold_untangler.model import CHUNK
from cf_level_manifold_untangler.untangle import (
    DISC_R,
    RING_IN,
    RING_OUT,
    TUBE_R,
    continuum,
    dataset,
    hidden_layers,
    knn_predict,
    link_centres,
    make_net,
    stretch,
    train,
)

LEVEL = "manifold_untangler"
DISC = "disc in a ring"


# ---------------------------------------------------------------------------------------------
# the data and the continuum


def test_the_continuum_is_the_two_sets_area_on_a_fine_grid():
    cx, cy = continuum(DISC)
    r = np.hypot(cx[:, 0], cx[:, 1])
    assert np.all((r <= DISC_R) == (cy == 0)) and np.all((r[cy == 1] >= RING_IN) & (r[cy == 1] <= RING_OUT))
    share_disc = np.mean(cy == 0)
    assert share_disc == pytest.approx(DISC_R**2 / (DISC_R**2 + RING_OUT**2 - RING_IN**2), abs=0.01)  # by area
    assert len(cx) > 15000


def test_the_training_points_lie_in_their_sets_and_the_rings_are_linked():
    x, y = dataset(DISC, 2000, np.random.default_rng(0))
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.all(r[y == 0] <= DISC_R) and np.all((r[y == 1] >= RING_IN) & (r[y == 1] <= RING_OUT))
    # linked: circle 1 crosses the plane of circle 0 once inside it and once outside it
    t = np.linspace(0, 2 * np.pi, 4001)
    c1 = link_centres(t, 1)
    crossings = np.where(np.diff(np.sign(c1[:, 2])) != 0)[0]
    radii = sorted(np.hypot(c1[crossings, 0], c1[crossings, 1]))
    assert len(radii) == 2 and radii[0] < 1.0 - TUBE_R and radii[1] > 1.0 + TUBE_R
    lx, ly = dataset("linked rings", 400, np.random.default_rng(1))
    for which in (0, 1):
        centres = link_centres(t, which)
        d = np.min(np.linalg.norm(lx[ly == which][:, None] - centres[None], axis=2), axis=1)
        assert np.all(d <= TUBE_R + 1e-3)


def test_the_squash_is_invertible_and_keeps_the_disc_inside_the_ring():
    x, _ = dataset(DISC, 500, np.random.default_rng(2))
    s = stretch(x, 8.0)
    back = np.stack([s[:, 0] - 0.5 * 8.0 * s[:, 1], 8.0 * s[:, 1]], 1)
    np.testing.assert_allclose(back, x, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# the nets and k-NN


def test_the_kits_gradient_is_exact_for_the_levels_nets():
    rng = np.random.default_rng(3)
    x, y = dataset(DISC, 40, rng)
    for width, depth in ((2, 3), (3, 2)):
        net = make_net(2, width, depth, rng)
        assert gradient_check(net, softmax_cross_entropy, x, y) < 1e-6


def test_hidden_layers_follow_the_formula():
    rng = np.random.default_rng(4)
    net = make_net(2, 2, 3, rng)
    x = rng.normal(size=(10, 2))
    h = x
    for k, layer in enumerate(hidden_layers(net, x)[1:]):
        dense = net.layers[2 * k]
        h = np.tanh(h @ dense.W + dense.b)
        np.testing.assert_allclose(layer, h, atol=1e-14)


def test_knn_matches_a_brute_force_vote():
    rng = np.random.default_rng(5)
    x, y = dataset(DISC, 60, rng)
    q = rng.uniform(-2, 2, (50, 2))
    for k in (1, 3, 7):
        d = np.linalg.norm(q[:, None] - x[None], axis=2)
        votes = y[np.argsort(d, axis=1)[:, :k]].mean(1)
        np.testing.assert_array_equal(knn_predict(x, y, q, k, chunk=16), (votes > 0.5).astype(int))


def test_bad_input_gets_a_clear_message():
    x, y = dataset(DISC, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="k must be between 1 and 10"):
        knn_predict(x, y, x, 11)
    with pytest.raises(ValueError, match="stretch factor must be positive"):
        stretch(x, 0.0)
    with pytest.raises(ValueError, match="unknown data set"):
        dataset("a torus", 10, np.random.default_rng(0))


def test_a_singular_width_two_layer_does_not_help():
    """A rank-1 first layer folds the plane onto a line: the ring's shadow covers the disc's, so
    whatever follows labels part of the continuum wrong."""
    cx, cy = continuum(DISC)
    t = train(DISC, 2, 3, 0, steps=300)
    first = t.net.layers[0]
    first.W[:, 1] = 2.0 * first.W[:, 0]  # singular
    assert abs(np.linalg.det(first.W)) < 1e-12
    line = cx @ first.W[:, 0]
    disc, ring = line[cy == 0], line[cy == 1]
    assert ring.min() < disc.min() and ring.max() > disc.max()


# ---------------------------------------------------------------------------------------------
# the model


def test_training_advances_a_chunk_a_tick_and_keeps_the_best_of_several_seeds():
    run = make_runner(LEVEL, {"nets": 2, "steps": 120, "depth": 2})
    model = run.model
    run.step(1)
    assert model.trainings[0].done == CHUNK and model.trainings[1].done == 0
    model.finish()
    assert model.finished and model.progress == 1.0
    scores = [model._score(k) for k in range(2)]
    assert model.best == int(np.argmax(scores))
    assert model.best_continuum_accuracy() == max(scores) == model.continuum_accuracy()


def test_the_model_is_deterministic_and_matches_a_direct_training():
    a = make_runner(LEVEL, {"steps": 200}, seed=3).model
    b = make_runner(LEVEL, {"steps": 200}, seed=3).model
    a.finish()
    b.finish()
    np.testing.assert_array_equal(a.net.parameters_vector(), b.net.parameters_vector())
    direct = train(DISC, 2, 3, 3, steps=200)
    np.testing.assert_allclose(a.net.parameters_vector(), direct.net.parameters_vector(), atol=1e-12)


def test_observables_are_finite_from_the_first_step():
    run = make_runner(LEVEL)
    run.step(2)
    for name in ("loss", "train_acc", "continuum_acc", "best_acc", "knn_acc", "smallest_det", "progress"):
        assert np.isfinite(run.series(name)[-1]), name
    assert not run.model.diverged


def test_the_decision_map_marks_no_wrong_cells_for_a_separating_net():
    model = make_runner(LEVEL, {"width": 3}).model
    model.finish()
    assert model.continuum_accuracy() == 1.0
    member, labels = model.membership_map(), model.decision_map()
    assert np.sum((member >= 0) & (labels != member)) == 0
    squashed = make_runner(LEVEL, {"stretch": 8.0, "k": 15, "steps": 100}).model
    member = squashed.membership_map()
    assert np.sum((member >= 0) & (squashed.knn_map() != member)) > 0  # k-NN gets the squashed edges wrong


# ---------------------------------------------------------------------------------------------
# the challenges


def test_six_layers_of_width_two_stay_below_full():
    attempt = finished_challenge(LEVEL, "six_layers")  # predicted "yes, 100%"
    assert attempt.verdict.measured == "no, below 100%"
    assert not attempt.verdict.correct and attempt.verdict.hint
    model = attempt.runner.model
    assert len(model.trainings) == 4 and model.finished, "all four seeds trained before the verdict"
    assert model.best_continuum_accuracy() < 0.97


def test_one_more_neuron_reaches_about_all_of_the_continuum():
    attempt = finished_challenge(LEVEL, "one_more_neuron")  # predicted 0
    assert attempt.verdict.measured > 99.0 and not attempt.verdict.correct
    assert attempt.runner.model.finished


def test_squashed_neighbours_lose_the_edges():
    measured = measured_outcome(LEVEL, "squashed_neighbours")
    assert 80.0 < measured < 90.0
    assert not run_challenge(LEVEL, "squashed_neighbours", 100.0).correct


# ---------------------------------------------------------------------------------------------
# the view


def test_the_view_hides_accuracies_while_a_prediction_is_open(tmp_path, monkeypatch):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, params={"steps": 100}) as app:
        app.run_frames(20)
        assert any("continuum" in b[0] for b in boxes)
        open_challenge(app, "six_layers")
        boxes.clear()
        app.run_frames(1)
        view = app.host.view
        assert view.challenge.hide_answers
        assert view.shown is not view.model and (view.shown.width, view.shown.depth) == (2, 6), "the setup asked about"
        assert view.shown.trainings[0].done == 0, "shown before training: nothing to give away"
        texts = [b[0] for b in boxes]
        assert texts and not any("%" in t for t in texts), texts
        assert any("hidden" in t for t in texts)
        assert not overlapping_text(boxes) and not cut_off_text(boxes)
        open_challenge(app, None)
        app.run_frames(2)
        assert view.shown is view.model


@pytest.mark.parametrize("params, scale", [({}, 2.0), ({"data": "linked rings", "width": 3, "depth": 2}, 1.0)])
def test_the_scene_text_fits_and_does_not_overlap(tmp_path, monkeypatch, params, scale):
    boxes = record_scene_text(monkeypatch)
    with headless_app(LEVEL, tmp_path, params={**params, "steps": 100}, size=(960, 600), ui_scale=scale) as app:
        app.run_frames(15)
        boxes.clear()
        app.run_frames(1)
        assert boxes
        assert not overlapping_text(boxes), overlapping_text(boxes)
        assert not cut_off_text(boxes), cut_off_text(boxes)
