"""Claims of the grokking level, as assertions on seeded training runs."""

import math
import runpy
from pathlib import Path

import numpy as np
import pytest

from sandbox.testing import headless_app, level, make_runner, measured_outcome, open_challenge

level("grokking_circle").module("grokking")  # imports the level's package as the game does
from cf_level_grokking_circle.grokking import (  # noqa: E402
    GROKKED_ACCURACY,
    Record,
    circle_projection,
    circularity,
    embedding_spectrum,
)

LEVEL = "grokking_circle"
HERE = Path(__file__).parent
#: The challenges that run the default settings (weight decay 1) share one run.
DEFAULT_RUN_CHALLENGE = "grokks_with_default_decay"


def challenge(challenge_id):
    return level(LEVEL).manifest.challenges[challenge_id]


@pytest.fixture(scope="module")
def default_run():
    """The default recipe, run exactly as its challenges run it (3000 steps, seed 0)."""
    spec = challenge(DEFAULT_RUN_CHALLENGE)
    run = make_runner(LEVEL, spec.set, seed=spec.seed)
    run.step(spec.steps)
    assert run.error is None, run.error
    assert not run.diverged
    return run


def first_above(record, series, value):
    step = record.first_step(series, value)
    assert step is not None, f"{series} never exceeded {value}"
    return step


@pytest.mark.slow
def test_training_accuracy_hits_100_percent_long_before_validation_passes_90(default_run):
    record = default_run.model.record
    memorised = first_above(record, "train_accuracy", 0.999)
    grokked = first_above(record, "val_accuracy", GROKKED_ACCURACY)
    assert memorised <= 300
    assert grokked >= 5 * memorised
    # between the two the network is a pure memoriser: validation accuracy near chance
    index = record.steps.index(memorised)
    assert record.val_accuracy[index] < 0.05
    assert default_run.model.run.step_count == 3000
    assert default_run.latest()["val_accuracy"] > 0.97


@pytest.mark.slow
def test_weight_norm_grows_while_memorising_and_falls_under_weight_decay(default_run):
    norms = default_run.series("weight_norm")
    assert norms.max() > norms[0]
    assert norms[-1] < 0.95 * norms.max()


@pytest.mark.slow
def test_embedding_spectrum_sharpens_to_a_few_frequencies(default_run):
    in_use = default_run.series("effective_frequencies")
    assert in_use[0] > 18  # p = 47: 23 frequencies, nearly uniform at the start
    assert in_use[-1] < 10
    keys = default_run.model.key_frequencies()
    assert 2 <= len(keys) <= 8
    spectrum = default_run.model.spectrum()
    assert spectrum[keys].sum() > 0.7


@pytest.mark.slow
def test_embeddings_snap_from_a_scatter_onto_a_circle_ordered_by_the_key_frequency(default_run):
    model = default_run.model
    first = model.record.embeddings[0].astype(np.float64)
    k = model.strongest_frequency()
    assert circularity(circle_projection(first, k)) < 0.7
    points = model.projection(k)
    assert circularity(points) > 0.93
    # token a sits at angle ±2πka/p (plus a common offset): the circle is ordered by k·a mod p
    angle = np.angle(points[:, 0] + 1j * points[:, 1])
    ideal = 2 * np.pi * k * np.arange(model.p) / model.p
    spread = min(np.abs(np.mean(np.exp(1j * (angle - sign * ideal)))) for sign in (1, -1))
    alignment = max(np.abs(np.mean(np.exp(1j * (angle - sign * ideal)))) for sign in (1, -1))
    assert alignment > 0.95 > spread


@pytest.mark.slow
def test_challenge_default_decay_grokks_within_the_budget(default_run):
    assert default_run.model.measure_grokked(default_run) == "yes"


@pytest.mark.slow
def test_challenge_the_early_spectral_peak_is_a_key_frequency_at_the_end(default_run):
    spec = challenge("early_peak_is_kept")
    assert spec.set == challenge(DEFAULT_RUN_CHALLENGE).set and spec.steps == challenge(DEFAULT_RUN_CHALLENGE).steps
    early_step, early_k = default_run.model.early_peak(default_run)
    assert early_step < first_above(default_run.model.record, "val_accuracy", GROKKED_ACCURACY)
    assert default_run.model.measure_early_peak_kept(default_run) == "yes: the early peak is kept"
    assert early_k in default_run.model.key_frequencies()
    # the measure reads the recorded run: the spectrum recorded last is the model's now
    np.testing.assert_allclose(default_run.array("spectrum"), default_run.model.spectrum())


@pytest.mark.slow
def test_the_milestones_read_from_the_recorded_run_match_the_snapshots(default_run):
    model = default_run.model
    memorised = model.reached(default_run, "train_accuracy", 0.999)
    grokked = model.reached(default_run, "val_accuracy", GROKKED_ACCURACY)
    # every tick is recorded: a milestone is found no later than at the snapshot (every 50 steps) after it
    assert 0 <= first_above(model.record, "train_accuracy", 0.999) - memorised < 50
    assert 0 <= first_above(model.record, "val_accuracy", GROKKED_ACCURACY) - grokked < 50


@pytest.mark.slow
def test_challenge_weak_weight_decay_does_not_grok_within_the_budget():
    assert measured_outcome(LEVEL, "grokks_with_weak_decay") == "no"


def test_too_much_weight_decay_cannot_even_fit_the_training_set():
    run = make_runner(LEVEL, {"weight_decay": 6.0, "budget": 600})
    run.step(600)
    assert run.model.run.step_count == 600
    assert run.series("train_accuracy").max() < 0.6  # the default decay fits 100% by step ~100


def test_stored_run_replays_memorisation_then_grokking():
    run = make_runner(LEVEL, {"source": "replay"})
    record = run.model.record
    assert len(record) > 40 and record.modulus == 47
    assert first_above(record, "train_accuracy", 0.999) * 5 < first_above(record, "val_accuracy", GROKKED_ACCURACY)
    while not run.model.finished and run.steps < 100 * len(record):
        run.step(1)
    run.step(5)  # the playhead stays at the last snapshot
    assert run.model.playhead == len(record) - 1 and run.latest()["val_accuracy"] > 0.97
    assert run.model.current_step == run.model.last_step == record.steps[-1]
    assert run.latest()["circularity"] > 0.93
    run.model.seek(0)  # scrubbing back shows the scatter again
    assert circularity(run.model.projection()) < 0.7
    assert run.model.progress == 0.0


def test_record_round_trips_through_a_file(tmp_path):
    run = make_runner(LEVEL, {"budget": 500})
    run.step(120)
    record = run.model.record
    record.save(tmp_path / "run.npz")
    loaded = Record.load(tmp_path / "run.npz")
    assert loaded.steps == record.steps == [0, 50, 100]
    np.testing.assert_allclose(loaded.val_accuracy, record.val_accuracy, rtol=1e-6)
    np.testing.assert_allclose(loaded.spectra[-1], embedding_spectrum(record.embeddings[-1]), atol=1e-3)


def test_training_stops_at_the_budget_and_weight_decay_changes_live():
    run = make_runner(LEVEL, {"budget": 500, "modulus": "13"})
    run.set_param("weight_decay", 0.0)
    assert run.model.run.optimizer.weight_decay == 0.0
    run.step(520)
    assert run.model.run.step_count == 500
    assert run.model.finished and run.latest()["progress"] == 1.0 and run.model.last_step == 500


def test_the_witness_runs():
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")


def test_the_circle_is_derived_data_memoised_until_the_shown_embedding_changes():
    run = make_runner(LEVEL, {"source": "replay"})
    model = run.model
    model.seek(len(model.record) - 1)
    circle = model.circle()
    assert model.circle() is circle  # asked every frame, computed once
    p = model.p
    assert circle.points.shape == circle.ideal.shape == circle.labels.shape == (p, 2)
    assert circle.loop.shape == (p + 1, 2) and np.allclose(circle.loop[0], circle.loop[-1])
    assert circle.k == model.strongest_frequency() and circle.k in circle.keys
    assert circle.step == model.record.steps[-1] and circle.circularity > 0.93
    # the canonical orientation: token a near angle 2πka/p, at unit RMS radius
    angle = np.angle(circle.points[:, 0] + 1j * circle.points[:, 1])
    assert abs(np.mean(np.exp(1j * (angle - 2 * np.pi * circle.places)))) > 0.95
    assert np.sqrt(np.mean(np.sum(circle.points ** 2, axis=1))) == pytest.approx(1.0)
    other = next(k for k in range(1, p // 2 + 1) if k not in circle.keys)
    assert model.circle(k=other).k == other and model.circle(k=other).circularity < circle.circularity
    assert model.circle(0).step == 0 and model.circle(0).circularity < 0.7  # a snapshot of the scatter
    model.seek(0)
    assert model.circle() is not circle and model.circle().step == 0


def test_the_spectrogram_and_the_curves_cover_the_record_or_stop_at_a_snapshot():
    run = make_runner(LEVEL, {"source": "replay"})
    model = run.model
    snapshots, half = len(model.record), model.p // 2
    heat, first, last = model.spectrogram()
    assert heat.shape == (half, snapshots) and heat.flags.c_contiguous
    assert model.spectrogram() is model.spectrogram()
    assert first < 0 < model.record.steps[-1] < last
    np.testing.assert_allclose(heat[-1] ** 2, np.asarray(model.record.spectra, np.float64)[:, 1], rtol=1e-6)
    heat, _, last = model.spectrogram(10)
    assert heat.shape == (half, 11) and model.record.steps[10] < last < model.record.steps[11]
    steps, series = model.curves(run, 10)
    assert steps[-1] == model.record.steps[10] and len(series["val_accuracy"]) == 11
    live = make_runner(LEVEL, {"budget": 500, "modulus": "13"})
    live.step(20)
    steps, series = live.model.curves(live)
    assert len(steps) == live.steps + 1 and steps[-1] == live.model.run.step_count  # every tick, not snapshots
    np.testing.assert_array_equal(series["train_accuracy"], live.series("train_accuracy"))


def test_the_view_hides_the_verdict_while_a_prediction_is_open(tmp_path):
    with headless_app(LEVEL, tmp_path, {"source": "replay"}, paused=True) as app:
        app.run_frames(1)  # the Play tab drawn once (its sliders settle their values) before the run is moved
        host, view = app.host, app.host.view
        model = host.runner.model
        model.seek(len(model.record) - 1)
        host.runner.step(1)  # the end of the stored run: grokked
        shown = " ".join(text for text, _ in view.status())
        assert "grokked" in shown and "90% validation at step" in shown
        open_challenge(app, "grokks_with_default_decay")
        assert view.challenge.choosing and view._validation_hidden()
        hidden = " ".join(text for text, _ in view.status())
        assert "grokked" not in hidden and "90% validation" not in hidden
        assert "100% training accuracy at step" in hidden  # memorising is not the question
        model.seek(10)  # part way through the replay (step 500): the picture stops at memorisation
        app.run_frames(1)
        memorised = model.first_snapshot("train_accuracy", 0.999)
        assert view._known() == memorised < 10 and model.spectrogram(view._known())[0].shape[1] == memorised + 1
        assert view.frozen() and view._circle().step == model.record.steps[memorised]
        open_challenge(app, "early_peak_is_kept")  # about the spectrum: validation may show, the future not
        assert view.challenge.hide_answers and not view._validation_hidden() and view._known() == 10
        model.seek(len(model.record) - 1)  # past the moment it asks about: stopped there
        early = model.first_snapshot("val_accuracy", 0.05)
        assert view._known() == early and view._circle().step == model.record.steps[early]
        assert model.record.steps[early] < model.record.first_step("val_accuracy", GROKKED_ACCURACY)
        open_challenge(app, None)
        assert not view.challenge.hide_answers and view._known() is None and not view.frozen()


def test_every_modulus_offered_is_prime():
    """The circle circuit needs gcd(k, p) = 1 for its frequencies: a composite p (49 = 7²) folds the
    tokens of k = 7 onto 7 angles. The level offers primes only."""
    param = level(LEVEL).manifest.params["modulus"]
    values = [int(v) for v in param.choices] if param.type == "choice" else list(range(int(param.min), int(param.max) + 1))
    composite = [p for p in values if any(p % d == 0 for d in range(2, int(p**0.5) + 1))]
    assert values and not composite, composite
    assert int(param.default) == 47


@pytest.mark.parametrize("p, seed", [(47, 0), (47, 1), (47, 2), (23, 0)])
def test_held_out_accuracy_falls_below_chance_because_the_memoriser_answers_with_sums_taught_for_a_or_b(p, seed):
    """Memorised (step 200), the network gets almost no held-out sum right: far below chance, 1/p.
    It answers (a, b) with a sum that a training pair of row a or column b taught it, and each sum
    appears once per row and column, so the right one, at (a, b) itself, is never among those: it
    is pushed down like every untaught sum."""
    run = make_runner(LEVEL, {"modulus": str(p)}, seed=seed)
    run.step(200)
    training = run.model.run
    assert training.metrics["train_accuracy"] > 0.999
    pairs, answers = training.pairs[training.val_index], training.answers[training.val_index]
    logits = training.net.forward(pairs).astype(np.float64)
    assert np.mean(logits.argmax(1) == answers) < 0.2 / p  # chance is 1/p
    rows, columns = np.zeros((p, p), bool), np.zeros((p, p), bool)  # [a, c]: a training pair of row a has sum c
    a, b = training.pairs[training.train_index].T
    rows[a, training.answers[training.train_index]] = True
    columns[b, training.answers[training.train_index]] = True
    taught = rows[pairs[:, 0]] | columns[pairs[:, 1]]  # per held-out pair: the sums row a or column b taught
    assert not taught[np.arange(len(answers)), answers].any()  # the right sum: never taught by its row or column
    predicted = logits.argmax(1)
    assert np.mean(taught[np.arange(len(answers)), predicted]) > 0.97  # the memoriser answers with a taught sum
    rank = logits.argsort(1).argsort(1) / (p - 1)  # 0: the lowest logit, 1: the highest
    right = rank[np.arange(len(answers)), answers].mean()
    untaught = rank[~taught & (np.arange(p)[None] != answers[:, None])].mean()
    assert right < 0.4 and abs(right - untaught) < 0.08 and rank[taught].mean() > 0.55


def test_the_levels_words_say_held_out_accuracy_falls_below_chance():
    """The texts once said held-out accuracy 'stays near chance': it falls to about 0, 20 to 70
    times below 1/p (the test above). No text of the level may say it stays near chance."""
    manifest = level(LEVEL).manifest
    texts = [manifest.summary, (HERE / "README.md").read_text()] + [
        text for c in manifest.challenges.values() for text in (c.explain, c.question, *c.hints.values())] + [
        o.help for o in manifest.observables.values()]
    for text in texts:
        assert "near chance" not in " ".join(text.split()), text
    assert "below chance" in " ".join((HERE / "README.md").read_text().replace("*", "").split())


def test_one_simulation_step_is_one_training_step_so_the_app_has_one_step_counter(tmp_path):
    """The app counts simulation steps; the level counts training steps: they are the same number,
    live and in replay, and the app pauses (its counter stops) on the frame that ends training."""
    live = make_runner(LEVEL, {"budget": 500, "modulus": "13"})
    live.step(37)
    assert live.model.run.step_count == live.model.current_step == live.steps == 37
    replay = make_runner(LEVEL, {"source": "replay"})
    replay.step(37)
    assert replay.model.current_step == replay.steps == 37 and replay.model.circle().step == 0  # snapshot of step 0
    replay.step(30)
    assert replay.model.circle().step == 50 and replay.model.current_step == 67
    with headless_app(LEVEL, tmp_path, {"budget": 500, "modulus": "13"}) as app:
        app.host.speed_index = len(app.host.SPEEDS) - 1  # fastest: 16 × 80 steps a second
        for _ in range(400):
            app.run_frames(1)
            if app.host.paused:
                break
        host = app.host
        # the view pauses on the frame that reaches the budget: the counter stops within that frame's steps
        per_frame = math.ceil(host.SPEEDS[-1] * host.manifest.steps_per_second / 60)
        assert host.paused and host.runner.model.run.step_count == 500 <= host.runner.steps <= 500 + per_frame
