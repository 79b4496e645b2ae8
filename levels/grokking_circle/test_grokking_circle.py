"""Claims of the grokking level, as assertions on seeded training runs."""

import runpy
from pathlib import Path

import numpy as np
import pytest

from sandbox.testing import level, make_runner, measured_outcome

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
    early_step, early_k = default_run.model.early_peak()
    assert early_step < first_above(default_run.model.record, "val_accuracy", GROKKED_ACCURACY)
    assert default_run.model.measure_early_peak_kept(default_run) == "yes: the early peak is kept"
    assert early_k in default_run.model.key_frequencies()


@pytest.mark.slow
def test_challenge_weak_weight_decay_does_not_grok_within_the_budget():
    assert measured_outcome(LEVEL, "grokks_with_weak_decay") == "no"


def test_too_much_weight_decay_cannot_even_fit_the_training_set():
    run = make_runner(LEVEL, {"weight_decay": 6.0, "budget": 600})
    run.step(300)
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
    assert run.latest()["circularity"] > 0.93
    run.model.seek(0)  # scrubbing back shows the scatter again
    assert circularity(run.model.projection()) < 0.7
    assert run.model.progress == 0.0


def test_record_round_trips_through_a_file(tmp_path):
    run = make_runner(LEVEL, {"budget": 500})
    run.step(60)
    record = run.model.record
    record.save(tmp_path / "run.npz")
    loaded = Record.load(tmp_path / "run.npz")
    assert loaded.steps == record.steps == [0, 50, 100]
    np.testing.assert_allclose(loaded.val_accuracy, record.val_accuracy, rtol=1e-6)
    np.testing.assert_allclose(loaded.spectra[-1], embedding_spectrum(record.embeddings[-1]), atol=1e-3)


def test_training_stops_at_the_budget_and_weight_decay_changes_live():
    run = make_runner(LEVEL, {"budget": 500, "modulus": 13})
    run.set_param("weight_decay", 0.0)
    assert run.model.run.optimizer.weight_decay == 0.0
    run.step(300)
    assert run.model.run.step_count == 500
    assert run.model.finished and run.latest()["progress"] == 1.0


def test_the_witness_runs():
    runpy.run_path(str(HERE / "witness.py"), run_name="__main__")
