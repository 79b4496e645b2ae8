"""The Training Loop: a tiny character language model trained live, one stage at a time or all at once.

Two modes share one :class:`.lm.Loop`: **step through** does one stage of the loop every
:data:`STAGE_TICKS` ticks (about ¾ s at 1x; the view's Next-stage button jumps to the next), so
each of the six stages can be watched; **run** does a whole iteration per tick. Both call the
same stage methods, so they reach the same parameters. The held-out perplexity is measured every
few iterations on text the loop never trains on, beside the counting baselines (unigram, bigram,
trigram with add-k smoothing) and the grammar's own perplexity, the floor no model can beat.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from .grammar import Corpus, entropy_rate, sentence_prefix, true_next
from .lm import CONTEXT, STAGES, Loop, NGram, generate

#: Ticks per stage in step-through mode (60 ticks a second at 1x).
STAGE_TICKS = 45
#: The close-up position in run mode: the start of a sentence, "the small ", then a noun.
PROBE = ". the small "
#: Characters sampled for the text the model writes, and how often (in iterations) it is redrawn.
SAMPLE_LENGTH = 72
SAMPLE_EVERY = 50
SAMPLE_PROMPT = "the "
#: The bins of the bigram challenge.
BEATS = ("above the bigram's", "between the bigram's and the trigram's", "below the trigram's")


@lru_cache(maxsize=1)
def corpus() -> Corpus:
    """The level's text (the same on every run)."""
    return Corpus()


@lru_cache(maxsize=8)
def baselines(k: float) -> dict[str, float]:
    """Held-out perplexities of the counting models (add-k smoothing) and of the grammar itself."""
    c = corpus()
    out = {name: math.exp(NGram(c, n, k).held_out_nll(c)) for n, name in ((1, "unigram"), (2, "bigram"), (3, "trigram"))}
    out["floor"] = math.exp(entropy_rate())
    out["grammar_on_held_out"] = math.exp(c.held_out_floor())
    return out


class Spotlight(NamedTuple):
    """One position, close up: the context the network reads, the true next character (None in
    run mode's probe, whose next character is a noun's first letter, not one fixed character),
    the network's P(next), the grammar's own P(next), and the P shown before the last update."""

    context: str
    target: str | None
    probs: np.ndarray
    truth: np.ndarray
    before: np.ndarray | None


class TrainingLoopModel(Model):
    """The loop, its mode, and what the view shows of it (see the module docstring)."""

    work_unit = "training iterations"

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        self.corpus = corpus()
        self.loop = Loop(self.corpus, seed=seed, lr=float(self.params["lr"]))
        self.ticks = STAGE_TICKS - 1  # the first tick of step-through mode does a stage at once
        self.last_stage = -1  # the stage done last (−1: none yet)
        self.probe_ids = self.corpus.encode(PROBE[-CONTEXT:])

    def set_param(self, name: str, value: Any) -> None:
        super().set_param(name, value)
        if name == "lr":
            self.loop.optimizer.lr = float(value)

    @property
    def budget(self) -> int:
        return int(self.params["iterations"])

    @property
    def finished(self) -> bool:
        return self.loop.iteration >= self.budget

    @property
    def stepping(self) -> bool:
        return self.params["mode"] == "step through"

    def step(self) -> None:
        """Run mode: one iteration. Step-through mode: one tick, a stage every STAGE_TICKS."""
        loop = self.loop
        if self.finished and loop.stage == -1:
            loop.finish_checks()
            return
        if self.stepping:
            self.ticks += 1
            if self.ticks >= STAGE_TICKS:
                self.ticks = 0
                self.last_stage = loop.advance()
        else:
            loop.iterate()
            self.last_stage = len(STAGES) - 1
        loop.check_tick()
        if loop.record.train_loss and not math.isfinite(loop.record.train_loss[-1]):
            self.diverged = True

    def ticks_to_next_stage(self) -> int:
        """Ticks until step-through mode does its next stage."""
        return max(1, STAGE_TICKS - self.ticks)

    def hurry(self) -> None:
        """Make the next tick do the next stage (the Next-stage button: only the pacing changes)."""
        self.ticks = max(self.ticks, STAGE_TICKS - 1)

    def work_per_step(self) -> float:
        return 0.0 if self.finished or self.stepping else 1.0

    @property
    def progress(self) -> float:
        return min(1.0, self.loop.iteration / max(1, self.budget))

    # -- what the view shows ------------------------------------------------------------------
    def baselines(self) -> dict[str, float]:
        return baselines(float(self.params["smoothing"]))

    @property
    def held_out_ppl(self) -> float:
        """The latest held-out perplexity measured."""
        return self.loop.record.held_out_ppl[-1]

    @derived(key=lambda self: (id(self.loop), self.loop.iteration, self.loop.stage, self.last_stage,
                               self.params["mode"]))
    def spotlight(self) -> Spotlight:
        """The position shown close up: the batch's first window in step-through mode (once a
        batch is drawn), the probe "the small _" otherwise."""
        loop, c = self.loop, self.corpus
        d = loop.data
        stage = self.last_stage
        if self.stepping and d.positions is not None:
            pos = int(d.positions[0])
            context = c.text[pos - CONTEXT:pos]
            truth = self._truth(true_next(sentence_prefix(c.text, pos)))
            if stage in (2, 3, 4) and d.probs is not None:
                return Spotlight(context, c.text[pos], d.probs[0], truth, None)
            if stage == 5 and d.probs is not None:
                return Spotlight(context, c.text[pos], loop.predict(d.x[0]), truth, d.probs[0])
            return Spotlight(context, c.text[pos], loop.predict(d.x[0]), truth, None)
        truth = self._truth(true_next(PROBE[2:]))
        return Spotlight(PROBE[-CONTEXT:], None, loop.predict(self.probe_ids), truth, None)

    def _truth(self, dist: dict[str, float]) -> np.ndarray:
        out = np.zeros(self.corpus.V)
        for ch, p in dist.items():
            out[self.corpus.lookup[ch]] = p
        return out

    @derived(key=lambda self: (id(self.loop), min(self.loop.iteration, self.budget) // SAMPLE_EVERY, self.finished,
                               self.params["strategy"], self.params["temperature"], self.params["top_k"],
                               self.params["top_p"]))
    def sample(self) -> str:
        """Text the network writes now, after "the ", with the chosen strategy (redrawn every
        SAMPLE_EVERY iterations and whenever a sampling setting changes)."""
        rng = np.random.default_rng([self.seed, 7])
        p = self.params
        return generate(self.loop.looking_net(), self.corpus, SAMPLE_PROMPT, SAMPLE_LENGTH, rng,
                        temperature=float(p["temperature"]), strategy=str(p["strategy"]),
                        top_k=int(p["top_k"]), top_p=float(p["top_p"]))

    # -- runner interface ---------------------------------------------------------------------
    def observables(self) -> dict[str, Any]:
        loop = self.loop
        b = self.baselines()
        losses = loop.record.train_loss
        return {"iteration": float(loop.iteration),
                "progress": self.progress,
                "batch_loss": losses[-1] if losses else math.log(self.corpus.V),
                "held_out_ppl": self.held_out_ppl,
                "initial_ppl": math.exp(loop.initial_nll),
                "vocabulary": float(self.corpus.V),
                "bigram_ppl": b["bigram"], "trigram_ppl": b["trigram"], "unigram_ppl": b["unigram"],
                "floor_ppl": b["floor"]}

    def state(self) -> dict[str, np.ndarray]:
        return {f"param{i}": p for i, p in enumerate(self.loop.net.params)}

    # -- challenge measures ---------------------------------------------------------------------
    def measure_initial_perplexity(self, run) -> float:
        """The held-out perplexity of the untrained network (measured at reset, before any update)."""
        return float(run.series("initial_ppl")[0])

    def now_ppl(self) -> float:
        """The held-out perplexity of the network as it is now, measured in full."""
        return math.exp(self.loop.held_out_nll())

    def measure_against_bigram(self, run) -> str:
        """Where the network's held-out perplexity now lies against the bigram's and the trigram's."""
        ppl, b = self.now_ppl(), self.baselines()
        if ppl > b["bigram"]:
            return BEATS[0]
        return BEATS[1] if ppl > b["trigram"] else BEATS[2]
