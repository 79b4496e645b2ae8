"""The Concept Projector: a small language model of a synthetic world, steered along concept
directions.

With ``start = checkpoint`` the trained model stored with the level is loaded at once; with
``scratch`` a fresh one trains live, one Adam step per tick, with a progress bar. Once trained, each
tick measures one more point of the fluency sweep (the text written at each α, each layer), so no
frame carries more than one generation. The steering itself (``alpha_gender``, ``alpha_tone``,
``layer``) needs no training: every readout is the model run again with ``α·v`` added.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from . import lm, world

HERE = Path(__file__).resolve().parent
CHECKPOINTS = HERE / "checkpoints"
#: Training steps between two measurements of the directions while a model trains.
DIRECTIONS_EVERY = 50
#: The α of the logit-difference curve (gender, in units of the direction) and of the fluency
#: sweep (tone).
GENDER_ALPHAS = np.round(np.arange(-2.0, 3.01, 0.125), 3)
TONE_ALPHAS = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0])
#: The α of the angry − calm curve.
TONE_CURVE_ALPHAS = np.round(np.arange(-2.0, 4.01, 0.25), 2)
#: "Fluent": at least this share of the text's word pairs are ones the grammar can produce.
FLUENT = 0.9
#: The challenge's "large α": this many times the angry − calm difference of means.
LARGE_ALPHA = 3.0


def checkpoint_path(seed: int = 0) -> Path:
    """Where the stored model of this seed lives (it may not exist)."""
    return CHECKPOINTS / f"seed{seed}.npz"


class ConceptModel(Model):
    """A trained (or training) :class:`.lm.Run`, its concept directions, and the steered model.

    For the view: ``run``, :meth:`directions`, :meth:`text` (what the steered model writes),
    :meth:`readout` (the next word's probabilities and where the steered stream points),
    :meth:`gender_curve`, ``sweep`` (fluency against α per layer, filled a point a tick),
    :meth:`analogies`, ``progress``, ``finished``.
    """

    work_unit = "training steps"

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        self.loaded = False
        path = checkpoint_path(seed)
        if self.params["start"] == "checkpoint" and path.exists():
            self.run = lm.Run.load(path)
            self.loaded = True
        else:
            self.run = lm.Run(lm.Config(lr=float(self.params["lr"])), seed)
        self.run.optimizer.lr = float(self.params["lr"])
        self._dirs_at = -1
        self._dirs = None
        self.sweep = np.full((self.run.net.n_layers + 1, len(TONE_ALPHAS)), np.nan)
        self._sweep_next = 0

    def set_param(self, name: str, value: Any) -> None:
        super().set_param(name, value)
        if name == "lr":
            self.run.optimizer.lr = float(value)

    @property
    def budget(self) -> int:
        return int(self.params["budget"])

    @property
    def finished(self) -> bool:
        return self.loaded or self.run.step_count >= self.budget

    @property
    def progress(self) -> float:
        return 1.0 if self.loaded else min(1.0, self.run.step_count / max(1, self.budget))

    @property
    def layer(self) -> int:
        return int(self.params["layer"])

    def step(self) -> None:
        """A third of a training step (a slice of the batch) while training; then one point of the
        fluency sweep a tick."""
        if not self.finished:
            loss = self.run.train_part()
            if loss is not None and not np.isfinite(loss):
                self.diverged = True
        elif self._sweep_next < self.sweep.size:
            layer, k = divmod(self._sweep_next, len(TONE_ALPHAS))
            self.sweep[layer, k] = self.fluency(layer, float(TONE_ALPHAS[k]))
            self._sweep_next += 1

    def work_per_step(self) -> float:
        return 0.0 if self.finished else 1.0 / lm.PARTS

    # -- the directions and the steered model -------------------------------------------------------

    def directions(self) -> dict[str, np.ndarray]:
        """Each concept's difference of means at every layer (re-measured every
        :data:`DIRECTIONS_EVERY` steps while training)."""
        step = self.run.step_count
        if self._dirs is None or (step != self._dirs_at and (self.finished or step - self._dirs_at >= DIRECTIONS_EVERY)):
            self._dirs = lm.directions(self.run.net)
            self._dirs_at = step
            self.sweep[:] = np.nan
            self._sweep_next = 0
        return self._dirs

    @property
    def steering(self) -> dict[str, float]:
        return {"gender": float(self.params["alpha_gender"]), "tone": float(self.params["alpha_tone"])}

    def vector(self, layer: int | None = None, steering: dict[str, float] | None = None) -> np.ndarray:
        """``Σ α_c v_c`` at ``layer`` (default: the chosen one and the chosen α)."""
        dirs = self.directions()
        layer = self.layer if layer is None else layer
        steering = self.steering if steering is None else steering
        return sum(a * dirs[c][layer] for c, a in steering.items())

    def _version(self) -> tuple[int, int]:
        """Which model the readouts describe: the run and the step its directions were measured
        at. While a model trains, everything shown is measured again with the directions (every
        :data:`DIRECTIONS_EVERY` steps), not at every step."""
        self.directions()
        return id(self.run), self._dirs_at

    def _key(self):
        return (self._version(), self.layer, self.params["alpha_gender"], self.params["alpha_tone"])

    @derived(key=lambda self: self._key())
    def text(self) -> np.ndarray:
        """What the steered model writes (greedy) after the name prompt: prompt and new words."""
        return lm.generate(self.run.net, self.directions(), self.layer, self.steering)

    @derived(key=lambda self: self._key())
    def readout(self) -> dict[str, Any]:
        """After the name prompt, steered: the next word's probabilities, logit(queen) − logit(king),
        and the final stream (normalised, unbiased) at the last position."""
        net = self.run.net
        tokens = world.encode(lm.NAME_PROMPT)
        logits = lm.steered_logits(net, tokens, {self.layer: self.vector()})
        final = net.resid[-1][0, -1].astype(np.float64)
        z = logits - logits.max()
        probs = np.exp(z) / np.exp(z).sum()
        return {"probs": probs, "logits": logits, "final": final,
                "logit_diff": float(logits[world.INDEX["queen"]] - logits[world.INDEX["king"]])}

    @derived(key=lambda self: self._key())
    def tone_diff(self) -> float:
        """The angry words' mean logit minus the calm ones' after the prompt and the noun, steered."""
        self.directions()
        tokens = world.encode(lm.NAME_PROMPT)
        tokens = np.append(tokens, int(np.argmax(lm.steered_logits(self.run.net, tokens, {}))))
        return lm.tone_score(lm.steered_logits(self.run.net, tokens, {self.layer: self.vector()}))

    @derived(key=lambda self: (self._version(), self.layer))
    def gender_curve(self) -> np.ndarray:
        """logit(queen) − logit(king) at each of :data:`GENDER_ALPHAS`, gender steering alone at the
        chosen layer."""
        return lm.logit_difference(self.run.net, self.directions(), self.layer, GENDER_ALPHAS)

    @derived(key=lambda self: (self._version(), self.layer))
    def tone_curve(self) -> np.ndarray:
        """The angry − calm logit at each of :data:`TONE_CURVE_ALPHAS`, tone steering alone at the
        chosen layer."""
        return lm.logit_difference(self.run.net, self.directions(), self.layer, TONE_CURVE_ALPHAS, "tone")

    def fluency(self, layer: int, alpha_tone: float) -> float:
        """The grammatical share of the text written with ``α_tone`` alone at ``layer``."""
        return lm.grammatical_share(lm.generate(self.run.net, self.directions(), layer, {"tone": alpha_tone}))

    def map_plane(self) -> np.ndarray:
        """``(2, D)``: the gender direction and the tone direction at the last layer, made
        orthonormal (Gram-Schmidt): the map's axes."""
        dirs = self.directions()
        g = dirs["gender"][-1] / max(np.linalg.norm(dirs["gender"][-1]), 1e-12)
        t = dirs["tone"][-1] - (dirs["tone"][-1] @ g) * g
        return np.stack([g, t / max(np.linalg.norm(t), 1e-12)])

    @derived(key=lambda self: self._version())
    def word_points(self) -> np.ndarray:
        """``(V, 2)``: each word's readout vector (its unembedding row, through the final norm's
        gain) as cosines with the map's two axes."""
        net = self.run.net
        u = net.unembed.params[0].T.astype(np.float64)
        if net.ln_final is not None:
            u = u * net.ln_final.params[0].astype(np.float64)
        plane = self.map_plane()
        return (u @ plane.T) / np.linalg.norm(u, axis=1, keepdims=True)

    def steered_point(self) -> np.ndarray:
        """The steered final stream at the last position, as cosines with the map's axes (its mean
        removed, as the final norm does)."""
        h = self.readout()["final"]
        h = h - h.mean()
        return self.map_plane() @ h / max(np.linalg.norm(h), 1e-12)

    @derived(key=lambda self: (self._version(), self.layer))
    def analogies(self) -> list[tuple[str, str, str, str, str]]:
        """(a, b, c, expected, found) for each of :data:`lm.ANALOGIES`, on the nouns' mean stream
        at the chosen layer."""
        vectors = lm.noun_vectors(self.run.net, self.layer)
        return [(a, b, c, want, lm.analogy(vectors, a, b, c)) for a, b, c, want in lm.ANALOGIES]

    # -- runner interface ---------------------------------------------------------------------------

    def observables(self) -> dict[str, Any]:
        text = self.text()
        written = text[len(world.encode(lm.NAME_PROMPT)):]
        losses = self.run.losses
        return {"progress": self.progress,
                "loss": float(np.mean(losses[-20:])) if losses else math.log(world.VOCAB),
                "logit_diff": self.readout()["logit_diff"],
                "tone_diff": self.tone_diff(),
                "fluency": lm.grammatical_share(text),
                "compression": lm.compression_ratio(written)}

    def state(self) -> dict[str, np.ndarray]:
        return dict(zip(self.run.net.names, self.run.net.params))

    # -- challenge measures -------------------------------------------------------------------------

    def measure_flip_alpha(self, run) -> float:
        """The smallest α of the gender direction, added at the chosen layer, at which the model's
        next word after the name prompt is "queen" instead of "king"."""
        return lm.flip_alpha(self.run.net, self.directions(), self.layer)

    def measure_late_fluency(self, run) -> str:
        """Whether α_tone = :data:`LARGE_ALPHA` at the last layer drops the text's grammatical
        share below :data:`FLUENT`."""
        last = self.run.net.n_layers
        return "loses fluency" if self.fluency(last, LARGE_ALPHA) < FLUENT else "stays fluent"
