"""The grokking level's claims, each checked at one point of its range (see [[claims]] in level.toml).

The default recipe (p = 47, 40% of the table) groks after about 2000 full-batch steps, several
seconds of training: too slow to run for every claim. So the claims about how the race goes are
checked live on a small recipe that groks in a few hundred steps (p = 23, 80% of the table, the
same network and optimizer), and the default recipe's numbers on the run stored with the level,
whose first steps are trained again live to show it is this level's run.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from sandbox.testing import make_runner

from .grokking import (
    EVAL_EVERY,
    GROKKED_ACCURACY,
    Record,
    circle_projection,
    circularity,
    effective_frequencies,
    embedding_spectrum,
    key_frequencies,
)
from .model import EARLY_VALIDATION, MEMORISED_ACCURACY, STORED_RUN, canonical_circle

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed

#: The small recipe: p = 23 on 80% of its table groks within about 500 steps at weight decay 1
#: (the default recipe, p = 47 on 40%, takes about 2000).
SMALL = {"modulus": "23", "train_fraction": 0.8}
SMALL_BUDGET = 600
#: Going round a grokked circle, at least this share of the tokens is followed by the one k⁻¹ on
#: (neighbours a fraction of a place apart can swap).
IN_ORDER = 0.8


@functools.cache
def _trained(seed: int, weight_decay: float, steps: int, **params):
    """A live run of ``steps`` training steps; its record of (step, train accuracy, validation
    accuracy) every :data:`EVAL_EVERY` steps, when validation is measured."""
    budget = max(steps, 500)  # the slider's least; the run here stops at ``steps`` itself
    run = make_runner(HERE.name, {**params, "weight_decay": weight_decay, "budget": budget}, seed=seed,
                      levels_dir=HERE.parent)
    assert run.error is None, run.error
    training, history = run.model.run, []
    while training.step_count < steps:
        training.train(EVAL_EVERY)  # the training steps the level's ticks take, without drawing each one
        history.append((training.step_count, training.metrics["train_accuracy"], training.metrics["val_accuracy"]))
    return training, np.array(history)


def _small(seed: int, weight_decay: float = 1.0):
    return _trained(seed, weight_decay, SMALL_BUDGET, **SMALL)


def _first(history: np.ndarray, column: int, above: float) -> int | None:
    hits = np.flatnonzero(history[:, column] > above)
    return int(history[hits[0], 0]) if len(hits) else None


def check_memorises_then_groks(seed: int) -> dict:
    """Training accuracy 100% within 100 steps, validation at 0 to chance while it memorises, and
    past 90% only several times later."""
    training, history = _small(seed)
    p = training.p
    memorised = _first(history, 1, MEMORISED_ACCURACY)
    grokked = _first(history, 2, GROKKED_ACCURACY)
    while_memorising = float(history[(history[:, 0] >= 50) & (history[:, 0] <= 200), 2].max())
    measured = {"train 100% at step": memorised, "validation > 90% at step": grokked,
                "validation, steps 50-200, at most": f"{while_memorising:.1%}", "chance 1/p": f"{1 / p:.1%}"}
    assert memorised is not None and memorised <= 100, f"training accuracy reached 100% at step {memorised}"
    assert while_memorising < 1 / p, f"validation reached {while_memorising:.1%} while memorising, chance is {1 / p:.1%}"
    assert grokked is not None and grokked >= 4 * memorised, f"validation passed 90% at step {grokked}"
    return measured


def check_below_chance_while_memorising(modulus: int, seed: int) -> dict:
    """The level's recipe (40% of the table) at step 200: the held-out accuracy, and what the
    memoriser answers: a sum a training pair of row a or column b taught it, never the right one."""
    training, _ = _trained(seed, 1.0, 200, modulus=str(modulus))
    p = training.p
    pairs, answers = training.pairs[training.val_index], training.answers[training.val_index]
    logits = training.net.forward(pairs).astype(np.float64)
    held_out = float(np.mean(logits.argmax(1) == answers))
    rows, columns = np.zeros((p, p), bool), np.zeros((p, p), bool)  # [a, c]: a training pair of row a has sum c
    a, b = training.pairs[training.train_index].T
    rows[a, training.answers[training.train_index]] = True
    columns[b, training.answers[training.train_index]] = True
    taught = rows[pairs[:, 0]] | columns[pairs[:, 1]]
    index = np.arange(len(answers))
    answered_taught = float(np.mean(taught[index, logits.argmax(1)]))
    measured = {"train accuracy": f"{training.metrics['train_accuracy']:.1%}", "held-out accuracy": f"{held_out:.2%}",
                "chance 1/p": f"{1 / p:.1%}", "answers taught by row a or column b": f"{answered_taught:.1%}"}
    assert training.metrics["train_accuracy"] > MEMORISED_ACCURACY, measured
    assert held_out < 0.2 / p, f"held-out accuracy {held_out:.2%} against chance {1 / p:.1%}"
    assert not taught[index, answers].any(), "a right sum was taught by its own row or column"
    assert answered_taught > 0.97, f"only {answered_taught:.1%} of the answers are sums taught for a or b"
    return measured


def check_decay_sets_the_pace(seed: int) -> dict:
    """The small recipe at weight decay 1 and at 0.3, the same budget."""
    _, strong = _small(seed, 1.0)
    _, weak = _small(seed, 0.3)
    measured = {"decay 1: validation at the end": f"{strong[-1, 2]:.0%}",
                "decay 0.3: validation at the end": f"{weak[-1, 2]:.0%}",
                "decay 0.3: training accuracy": f"{weak[-1, 1]:.0%}"}
    assert strong[-1, 2] > GROKKED_ACCURACY, f"with decay 1 validation is {strong[-1, 2]:.0%} at step {SMALL_BUDGET}"
    assert weak[-1, 1] > MEMORISED_ACCURACY and weak[-1, 2] < 0.5, measured
    return measured


def check_too_much_decay_cannot_fit(seed: int) -> dict:
    _, history = _trained(seed, 6.0, 300, **SMALL)
    best = float(history[:, 1].max())
    measured = {"decay 6: best training accuracy": f"{best:.0%}"}
    assert best < 0.95, f"with decay 6 training accuracy reached {best:.0%}"
    return measured


def check_spectrum_sharpens_onto_a_circle(seed: int) -> dict:
    """The embedding at step 0 and after grokking: frequencies in use, the strongest frequency's
    circle, and whether going round it each token is followed by the token k⁻¹ (mod p) further on
    (token a at place k·a)."""
    training, _ = _small(seed)
    p = training.p
    start = np.asarray(training.record.embeddings[0], np.float64)
    end = np.asarray(training.embedding, np.float64)
    spectrum = embedding_spectrum(end)
    k = int(np.argmax(spectrum[1:]) + 1)
    n_start, n_end = effective_frequencies(embedding_spectrum(start)), effective_frequencies(spectrum)
    round_start = circularity(circle_projection(start, int(np.argmax(embedding_spectrum(start)[1:]) + 1)))
    round_end = circularity(circle_projection(end, k))
    points = canonical_circle(end, k)  # turned so that token a sits near angle 2πka/p
    angle = np.angle(points[:, 0] + 1j * points[:, 1]) % (2 * np.pi)
    order = np.argsort(angle)  # the tokens in the order they go round
    # token a sits at place k·a mod p, so the next place holds the token k⁻¹ (mod p) further on
    in_order = float(np.mean(np.diff(np.append(order, order[0])) % p == pow(k, -1, p)))
    measured = {"frequencies in use, start": round(n_start, 1), "frequencies in use, end": round(n_end, 1),
                "uniform": p // 2, "strongest k": k, "circularity, start": round(round_start, 2),
                "circularity, end": round(round_end, 3), "each followed by the token k⁻¹ on": f"{in_order:.0%}"}
    assert n_end < 0.8 * n_start, f"frequencies in use went from {n_start:.1f} to {n_end:.1f}"
    assert round_end > 0.9 and round_end > round_start + 0.2, f"circularity {round_start:.2f} → {round_end:.3f}"
    assert in_order >= IN_ORDER, f"only {in_order:.0%} of the tokens are followed by the token k⁻¹ further on"
    return measured


@functools.cache
def _stored() -> Record:
    return Record.load(STORED_RUN)


def check_the_stored_run_is_this_levels_run() -> dict:
    """Train the default recipe live (seed 0) for 200 steps and compare its snapshots with the
    stored run's first ones."""
    training, _ = _trained(0, 1.0, 200)
    stored = _stored()
    live = training.record
    shared = min(len(live), len(stored))
    norms = np.abs(np.array(live.weight_norm[:shared]) - np.array(stored.weight_norm[:shared]))
    accuracies = np.abs(np.array(live.train_accuracy[:shared]) - np.array(stored.train_accuracy[:shared]))
    measured = {"snapshots compared": shared, "largest ‖θ‖ gap": float(f"{norms.max():.2g}"),
                "largest train accuracy gap": float(f"{accuracies.max():.2g}"), "stored p": stored.modulus}
    assert stored.modulus == training.p and list(stored.steps[:shared]) == list(live.steps[:shared]), measured
    assert norms.max() < 0.01 * stored.weight_norm[0] and accuracies.max() < 0.01, measured
    return measured


def check_default_recipe_timeline() -> dict:
    """The stored default run (seed 0, a snapshot every 50 steps): memorised by step 100, validation
    between 0 and 0.3% for the next several hundred steps, above 90% between steps 1500 and 2500;
    ‖θ‖ rises past its start, then falls."""
    record = _stored()
    steps, val, norm = np.array(record.steps), np.array(record.val_accuracy), np.array(record.weight_norm)
    memorised = record.first_step("train_accuracy", MEMORISED_ACCURACY)
    grokked = record.first_step("val_accuracy", GROKKED_ACCURACY)
    low = float(val[(steps >= 100) & (steps <= 600)].max())
    peak = int(np.argmax(norm))
    measured = {"train 100% at step": memorised, "validation, steps 100-600, at most": f"{low:.2%}",
                "validation > 90% at step": grokked, "‖θ‖ start": round(float(norm[0]), 1),
                "‖θ‖ peak": round(float(norm[peak]), 1), "at step": int(steps[peak]), "‖θ‖ end": round(float(norm[-1]), 1)}
    assert memorised is not None and memorised <= 100, measured
    assert round(low, 3) <= 0.003, measured  # 4 of the 1325 held-out sums: 0.30%
    assert grokked is not None and 1500 <= grokked <= 2500, measured
    assert norm[peak] > 1.1 * norm[0] and norm[-1] < 0.9 * norm[peak], measured
    return measured


def check_default_recipe_circles() -> dict:
    """The stored default run: frequencies in use from about 22 to about 7, circularity of the
    strongest frequency near 1, and the challenge's early peak (the strongest frequency when
    validation first passes 5%) among the key frequencies at the end."""
    record = _stored()
    spectra = [np.asarray(s, np.float64) for s in record.spectra]
    n_start, n_end = effective_frequencies(spectra[0]), effective_frequencies(spectra[-1])
    end = np.asarray(record.embeddings[-1], np.float64)
    k = int(np.argmax(spectra[-1][1:]) + 1)
    early = next(i for i, v in enumerate(record.val_accuracy) if v > EARLY_VALIDATION)
    early_k = int(np.argmax(spectra[early][1:]) + 1)
    keys = key_frequencies(spectra[-1]).tolist()
    measured = {"frequencies in use, start": round(n_start, 1), "end": round(n_end, 1),
                "circularity at the end": round(circularity(circle_projection(end, k)), 3),
                "early peak": early_k, "at step": int(record.steps[early]), "key frequencies at the end": keys}
    assert 19 <= n_start <= 23 and 5 <= n_end <= 9, measured
    assert measured["circularity at the end"] > 0.9, measured
    assert early_k in keys, measured
    return measured


def check_circles_add(modulus: int) -> dict:
    """The hand-built circuit of the math card (the code witness): token a at angle 2πka/p for
    three key frequencies, logits Σ_k cos(θ_a + θ_b − θ_c); its accuracy on all p² sums. And for a
    composite modulus, 49 (7 · 7), frequency 7 folds the tokens onto 7 angles."""
    p, keys = modulus, (3, 2, 12)
    a, b = (t.ravel() for t in np.meshgrid(np.arange(p), np.arange(p), indexing="ij"))
    c = np.arange(p)
    logits = sum(np.cos(2 * np.pi * k * ((a + b)[:, None] - c[None]) / p) for k in keys)
    accuracy = float(np.mean(np.argmax(logits, axis=1) == (a + b) % p))
    angles = {round(float(x), 9) for x in (2 * np.pi * 7 * np.arange(49) / 49) % (2 * np.pi)}
    measured = {"p": p, "accuracy on all sums": f"{accuracy:.0%}", "angles of k = 7 at p = 49": len(angles)}
    assert accuracy == 1.0, f"the circuit gets {accuracy:.1%} of the {p * p} sums at p = {p}"
    assert len(angles) == 7, measured
    return measured

