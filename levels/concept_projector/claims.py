"""Checks of the Concept Projector's claims, on the stored models of three seeds (one check per
claim and seed; each loads the model and measures, well within a few seconds)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import lm, world
from .model import checkpoint_path


@lru_cache(maxsize=3)
def _loaded(seed: int):
    run = lm.Run.load(checkpoint_path(seed))
    return run, lm.directions(run.net)


def names_every_person(net) -> int:
    """How many of the eight clue combinations (he/she, palace/village, book/ball) the model
    turns into the right noun."""
    right = 0
    for word, gender, royal, young in world.NOUNS:
        prompt = f"{world.PRONOUNS[gender]} lived in the {world.PLACES[royal][0]} with a {world.OBJECTS[young][0]} . the"
        z = lm.steered_logits(net, world.encode(prompt), {})
        right += world.WORDS[int(np.argmax(z))] == word
    return right


def check_learns_the_world(seed: int = 0) -> dict:
    run, _ = _loaded(seed)
    loss = float(np.mean(run.losses[-100:]))
    named = names_every_person(run.net)
    assert loss < lm.entropy_floor() + 0.03, f"loss {loss:.3f} against the floor {lm.entropy_floor():.3f}"
    assert named == 8, f"names {named} of 8 people right"
    return {"loss": loss, "floor": lm.entropy_floor(), "named": named}


def check_king_becomes_queen(seed: int = 0) -> dict:
    run, dirs = _loaded(seed)
    flips = {layer: lm.flip_alpha(run.net, dirs, layer) for layer in range(3)}
    for layer in (1, 2):
        assert 0.3 < flips[layer] < 2.0, f"layer {layer}: flips at α = {flips[layer]}"
    norm0 = float(np.linalg.norm(dirs["gender"][0]))
    assert norm0 < 1e-6 and flips[0] == float("inf"), f"layer 0: |v| = {norm0}, flips at {flips[0]}"
    return {**{f"flip_layer{k}": v for k, v in flips.items()}, "norm_layer0": norm0}


def _line_fit(xs, ys) -> tuple[float, float]:
    """(slope, R²) of the least-squares line through the points."""
    fit = np.polyfit(xs, ys, 1)
    return float(fit[0]), float(1 - np.sum((np.polyval(fit, xs) - ys) ** 2) / np.sum((ys - ys.mean()) ** 2))


def check_linear_near_zero(seed: int = 0) -> dict:
    run, dirs = _loaded(seed)
    out = {}
    for concept, reach, least in (("gender", 0.2, 0.95), ("tone", 1.0, 0.99)):
        xs = np.linspace(-reach, reach, 9)
        for layer in (1, 2):
            slope, r2 = _line_fit(xs, lm.logit_difference(run.net, dirs, layer, xs, concept))
            assert slope > 0, f"{concept}, layer {layer}: the logit difference falls with α (slope {slope:.3f})"
            assert r2 > least, f"{concept}, layer {layer}: not a line over |α| ≤ {reach} (R² = {r2:.4f})"
            out[f"{concept}_layer{layer}"] = {"slope": slope, "r2": r2}
    return out


def check_tone_steers_text(seed: int = 0, layer: int = 1) -> dict:
    run, dirs = _loaded(seed)
    scores = lm.logit_difference(run.net, dirs, layer, [-1.0, 0.0, 1.0], "tone")
    first = {a: lm.next_word(run.net, dirs, layer, a, "tone", lm.NAME_PROMPT + " king") for a in (-1.5, 1.5)}
    assert scores[0] < scores[1] < scores[2], f"angry − calm logit not increasing in α: {scores}"
    assert first[1.5] in world.VERBS[1], f"α = +1.5 writes '{first[1.5]}' after the king"
    assert first[-1.5] in world.VERBS[0], f"α = −1.5 writes '{first[-1.5]}' after the king"
    return {"tone_score_-1_0_1": [float(s) for s in scores], "verb_at_-1.5": first[-1.5], "verb_at_+1.5": first[1.5]}


def check_large_alpha_costs_fluency(seed: int = 0) -> dict:
    run, dirs = _loaded(seed)
    out = {}
    for layer in range(3):
        small = lm.grammatical_share(lm.generate(run.net, dirs, layer, {"tone": 1.0}))
        large = lm.grammatical_share(lm.generate(run.net, dirs, layer, {"tone": 4.0}))
        assert small >= 0.95, f"layer {layer}: α = 1 already loses fluency ({small:.2f})"
        assert large < 0.9, f"layer {layer}: α = 4 keeps {large:.2f} of the pairs grammatical"
        out[f"layer{layer}"] = (small, large)
    return out


def check_analogies_at_last_layer(seed: int = 0) -> dict:
    run, _ = _loaded(seed)
    vectors = lm.noun_vectors(run.net, run.net.n_layers)
    found = [lm.analogy(vectors, a, b, c) for a, b, c, _ in lm.ANALOGIES]
    wrong = [f"{a} − {b} + {c} → {f}" for (a, b, c, want), f in zip(lm.ANALOGIES, found) if f != want]
    assert len(wrong) <= 1, "; ".join(wrong)
    return {"found": found, "right": len(found) - len(wrong)}
