"""The Circuit Trace: a two-layer attention-only transformer learns to complete repeats.

Every tick is one training step (a fresh batch of 64 sequences with a repeated random segment) until
the budget is spent; or, with ``start = checkpoint``, the trained model stored with the level is
loaded at once, with its training record, for instant play. The model also keeps the learner's
prompt (words of the vocabulary) and what the network makes of it: its prediction, the attention
patterns, and the circuit behind the prediction.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from .circuit import (
    HEAD_THRESHOLD,
    LN_V,
    SEQ_LEN,
    WORDS,
    CircuitRun,
    Config,
    apply_ablation,
    checkpoint_name,
    drop_step,
    encode,
    formation_step,
)

HERE = Path(__file__).resolve().parent
#: The trained models stored with the level (``python levels/induction_circuit/circuit.py``).
CHECKPOINTS = HERE / "checkpoints"
#: The prompt a run starts with: a random segment, then its first word again.
DEFAULT_PROMPT = "owl flew Harry Potter took red cloak hid stone Harry"
#: How often (in training steps) the model re-measures itself on its fixed evaluation batches.
EVAL_EVERY = 10
#: Layer 0 ablated, the repeated-half loss has come back "most of the way" when it recovers more
#: than this share of the gap between the trained loss and chance.
MOST_OF_THE_WAY = 0.5
#: The drop-step challenge's answers: half-decades of steps, so it is scored on a log scale.
DROP_BINS = ((0, 100, "before step 100"), (100, 300, "between 100 and 300"), (300, 1000, "between 300 and 1000"),
             (1000, math.inf, "after step 1000, or not at all"))


def checkpoint_path(positions: str, layers: int, seed: int = 0) -> Path:
    """Where the stored model of this recipe and seed lives (it may not exist)."""
    return CHECKPOINTS / checkpoint_name(positions, layers, seed)


class Trace(NamedTuple):
    """The circuit behind the prediction at the prompt's last position."""

    tokens: np.ndarray  # (T,) the prompt
    patterns: list[np.ndarray]  # per layer (H, T, T)
    prev_head: int  # layer 0's head with the highest previous-token score
    ind_head: int  # the last layer's head with the highest induction score
    source: int  # where the last layer's head looks from the last position (the argmax)
    earlier: int | None  # the earlier copy of the last token (source − 1), if it is the same word
    probs: np.ndarray  # (V,) the prediction for the next word
    predicted: int


class CircuitModel(Model):
    """A live :class:`.circuit.CircuitRun` and the learner's prompt.

    For the view: ``run`` (the training run and its per-step ``history``), :meth:`evaluation`
    (losses and scores on fixed batches, with the chosen ablation), :meth:`trace` (the prompt's
    prediction and circuit), ``prompt`` (tokens; :meth:`set_prompt`), ``progress``,
    ``finished``, :meth:`milestones` (the drop and where each head forms, measured).
    """

    work_unit = "training steps"

    def __init__(self, params: dict[str, Any], backend: str = "numpy"):
        super().__init__(params, backend)
        self.run: CircuitRun | None = None
        self.prompt = encode(DEFAULT_PROMPT)
        self.loaded = False

    # -- life cycle -----------------------------------------------------------------------------------

    @property
    def config(self) -> Config:
        return Config(layers=int(self.params["layers"]), positions=str(self.params["positions"]),
                      lr=float(self.params["lr"]))

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        self.loaded = False
        path = checkpoint_path(self.config.positions, self.config.layers, seed)
        if self.params["start"] == "checkpoint" and path.exists():
            self.run = CircuitRun.load(path)
            self.run.optimizer.lr = float(self.params["lr"])
            self.loaded = True
        else:
            self.run = CircuitRun(self.config, seed=seed)
        self._evaluation = None
        self._evaluated_at = -1

    def set_param(self, name: str, value: Any) -> None:
        super().set_param(name, value)
        if name == "lr" and self.run is not None:
            self.run.optimizer.lr = float(value)
        if name == "ablation":
            self._evaluated_at = -1  # measure the ablated model now, not at the next evaluation step

    @property
    def budget(self) -> int:
        return int(self.params["budget"])

    @property
    def finished(self) -> bool:
        return self.loaded or self.run.step_count >= self.budget

    def step(self) -> None:
        """One training step (nothing once the budget is spent or a checkpoint is loaded)."""
        if not self.finished:
            self.run.train(1)
            if not np.isfinite(self.run.history["loss"][-1]):
                self.diverged = True

    def work_per_step(self) -> float:
        return 0.0 if self.finished else 1.0

    @property
    def progress(self) -> float:
        return 1.0 if self.loaded else min(1.0, self.run.step_count / max(1, self.budget))

    # -- measurements ---------------------------------------------------------------------------------

    def evaluation(self):
        """The model now (with the chosen ablation) on the run's fixed batches, re-measured every
        :data:`EVAL_EVERY` steps and whenever the ablation changes."""
        step = self.run.step_count
        stale = self._evaluated_at < 0 or step - self._evaluated_at >= EVAL_EVERY or \
            (self.finished and step != self._evaluated_at)
        if self._evaluation is None or stale:
            ablation = str(self.params["ablation"])
            self._evaluation = self.run.evaluate(ablation)
            whole = self._evaluation if ablation == "none" else self.run.evaluate("none")
            self._heads = (int(np.argmax(whole.prev[0])), int(np.argmax(whole.induction[-1])))
            self._evaluated_at = step
        return self._evaluation

    def heads(self) -> tuple[int, int]:
        """(layer 0's best previous-token head, the last layer's best induction head), measured on
        the evaluation batch of the model without ablation."""
        self.evaluation()
        return self._heads

    def milestones(self) -> dict[str, int | None]:
        """Measured from the per-step record: the step the repeated-half loss falls below ln V / 2,
        and the steps at which the previous-token and induction scores pass the threshold."""
        run = self.run
        return {"drop": drop_step(run.series("rep_loss")),
                "previous-token head": formation_step(run.series("prev_score"), HEAD_THRESHOLD),
                "induction head": formation_step(run.series("induction_score"), HEAD_THRESHOLD)}

    def set_prompt(self, tokens) -> None:
        """The learner's sequence (word tokens, at most the model's context); a clear error otherwise."""
        tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
        if len(tokens) == 0:
            raise ValueError("the prompt needs at least one word")
        if len(tokens) > SEQ_LEN:
            raise ValueError(f"the model reads at most {SEQ_LEN} words")
        if tokens.min() < 0 or tokens.max() >= len(WORDS):
            raise ValueError(f"words are tokens 0..{len(WORDS) - 1}")
        self.prompt = tokens

    @derived(key=lambda self: (self.run and self.run.step_count, id(self.run), self.prompt.tobytes(),
                               self.params["ablation"]))
    def trace(self) -> Trace:
        """The prediction after the prompt and the circuit behind it (with the chosen ablation)."""
        net = self.run.net
        heads = self.heads()
        apply_ablation(net, str(self.params["ablation"]), heads)
        try:
            logits = net.forward(self.prompt[None])[0, -1]
            patterns = [p[0].copy() for p in net.patterns]
        finally:
            net.clear_interventions()
        z = logits - logits.max()
        probs = np.exp(z) / np.exp(z).sum()
        last = len(self.prompt) - 1
        prev_head, ind_head = heads
        source = int(np.argmax(patterns[-1][ind_head, last]))
        earlier = source - 1 if source >= 1 and self.prompt[source - 1] == self.prompt[last] and source - 1 < last else None
        return Trace(self.prompt.copy(), patterns, prev_head, ind_head, source, earlier, probs, int(np.argmax(probs)))

    # -- runner interface -----------------------------------------------------------------------------

    def observables(self) -> dict[str, Any]:
        ev = self.evaluation()
        h = self.run.history
        layer_last = ev.induction.shape[0] - 1
        heads = (int(np.argmax(ev.prev[0])), int(np.argmax(ev.induction[layer_last])))
        return {"progress": self.progress,
                "train_loss": float(h["loss"][-1]) if h["loss"] else LN_V,
                "rep_loss": ev.rep_loss, "first_loss": ev.first_loss,
                "prev_score": float(ev.prev[0].max()), "induction_score": float(ev.induction[layer_last].max()),
                "copying_score": float(ev.copying[layer_last, heads[1]]),
                "profile": ev.profile}

    def state(self) -> dict[str, np.ndarray]:
        return dict(zip(self.run.net.names, self.run.net.params))

    # -- challenge measures ---------------------------------------------------------------------------

    def gap_recovered(self, ablation: str = "layer 0") -> tuple[float, float, float]:
        """(trained repeated-half loss, with ``ablation``, the share of the gap to ln V it brings back)."""
        full = self.run.evaluate("none").rep_loss
        ablated = self.run.evaluate(ablation).rep_loss
        return full, ablated, (ablated - full) / max(LN_V - full, 1e-9)

    def measure_layer0_back_to_chance(self, run) -> str:
        """Whether zeroing layer 0 brings back more than half the gap between the trained
        repeated-half loss and chance."""
        _, _, share = self.gap_recovered("layer 0")
        return "yes" if share > MOST_OF_THE_WAY else "no"

    def measure_drop_step(self, run) -> str:
        """The half-decade of training steps in which the repeated-half loss first fell below ln V / 2."""
        step = drop_step(self.run.series("rep_loss"))
        value = math.inf if step is None else step
        return next(label for low, high, label in DROP_BINS if low <= value < high)

