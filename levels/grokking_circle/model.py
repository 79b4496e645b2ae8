"""Grokking modular addition: live training with a record, or the replay of a stored run.

``train``: every tick takes a few full-batch AdamW steps (two at p = 47) of a
:class:`sim.grokking.GrokkingRun` (a few milliseconds, so a frame never waits long; the host's
speed buttons fast-forward by running more ticks a frame) until the budget is spent.
``replay``: the playhead moves one snapshot every ``REPLAY_TICKS_PER_SNAPSHOT`` ticks along the run
stored with the level (the view may also ``seek`` anywhere).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sandbox.model import Model

from .grokking import (
    GROKKED_ACCURACY,
    MODULUS,
    GrokkingRun,
    Record,
    circle_projection,
    circularity,
    effective_frequencies,
    embedding_spectrum,
    key_frequencies,
)

#: Training steps per tick at the default modulus: ~8 ms on two cores, inside the host's 12 ms
#: budget per frame. A step costs about p², so smaller tables take more steps per tick.
TRAIN_STEPS_PER_TICK = 2
MAX_TRAIN_STEPS_PER_TICK = 8


def train_steps_per_tick(p: int) -> int:
    """Training steps per tick for modulus ``p``: about the same time per tick for every p."""
    return max(1, min(MAX_TRAIN_STEPS_PER_TICK, round(TRAIN_STEPS_PER_TICK * (MODULUS / p) ** 2)))


#: Replay: ticks per snapshot (40 ticks a second: the stored 4000-step run plays in 8 s at 1×).
REPLAY_TICKS_PER_SNAPSHOT = 4
#: The run stored with the level (``python -m sim.grokking --record ...``, default settings).
STORED_RUN = Path(__file__).with_name("stored_run.npz")
#: The early moment of the key-frequency challenge: validation accuracy first above this.
EARLY_VALIDATION = 0.05


class GrokkingModel(Model):
    """A network learning ``a + b mod p``, and the Fourier view of its embedding.

    For the view:

    * ``record``: the :class:`sim.grokking.Record` of the run (live: it grows every
      ``sim.grokking.SNAPSHOT_EVERY`` steps; replay: the stored run). ``record.steps``,
      ``record.train_accuracy``, ``record.val_accuracy`` (curves), ``record.spectra[i]``
      (the share of power per frequency at snapshot ``i``), ``record.embeddings[i]`` (p × d);
    * ``playhead``: the snapshot shown in replay mode (``seek(i)`` moves it);
    * ``embedding``: the embedding matrix shown now (live, or the playhead's snapshot);
    * ``spectrum()``, ``key_frequencies()``, ``projection(k)`` (p × 2 points on frequency
      ``k``'s plane; token ``a`` should sit at angle ``±2πka/p``), ``tokens`` (0 .. p−1);
    * ``progress`` (0..1 for a progress bar), ``finished``.
    """

    work_unit = "training steps"

    def __init__(self, params: dict[str, Any], backend: str = "numpy"):
        super().__init__(params, backend)
        self.run: GrokkingRun | None = None
        self.record: Record | None = None
        self.replay_ticks = 0

    # -- life cycle -------------------------------------------------------------------------------

    @property
    def replaying(self) -> bool:
        return self.params["source"] == "replay"

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        self.replay_ticks = 0
        if self.replaying:
            self.run = None
            self.record = Record.load(STORED_RUN)
        else:
            self.run = GrokkingRun(p=int(self.params["modulus"]), train_fraction=float(self.params["train_fraction"]),
                                   weight_decay=float(self.params["weight_decay"]), seed=seed)
            self.record = self.run.record

    def set_param(self, name: str, value: Any) -> None:
        super().set_param(name, value)
        if name == "weight_decay" and self.run is not None:
            self.run.weight_decay = float(value)

    @property
    def finished(self) -> bool:
        """Training has spent its budget (replay: the playhead is at the last snapshot)."""
        if self.replaying:
            return self.playhead >= len(self.record) - 1
        return self.run.step_count >= int(self.params["budget"])

    def step(self) -> None:
        if self.replaying:
            self.replay_ticks = min(self.replay_ticks + 1, (len(self.record) - 1) * REPLAY_TICKS_PER_SNAPSHOT)
            return
        remaining = int(self.params["budget"]) - self.run.step_count
        if remaining > 0:
            self.run.train(min(train_steps_per_tick(self.run.p), remaining))

    def work_per_step(self) -> float:
        return 0.0 if self.replaying else float(train_steps_per_tick(self.run.p))

    @property
    def playhead(self) -> int:
        """The snapshot shown in replay mode."""
        return self.replay_ticks // REPLAY_TICKS_PER_SNAPSHOT

    def seek(self, index: int) -> None:
        """Move the replay playhead to snapshot ``index`` (clamped to the record)."""
        self.replay_ticks = int(np.clip(index, 0, len(self.record) - 1)) * REPLAY_TICKS_PER_SNAPSHOT

    # -- what the view draws ----------------------------------------------------------------------

    @property
    def p(self) -> int:
        return self.record.modulus

    @property
    def tokens(self) -> np.ndarray:
        return np.arange(self.p)

    @property
    def embedding(self) -> np.ndarray:
        if self.replaying:
            return np.asarray(self.record.embeddings[self.playhead], dtype=np.float64)
        return np.asarray(self.run.embedding, dtype=np.float64)

    @property
    def progress(self) -> float:
        if self.replaying:
            return self.playhead / max(1, len(self.record) - 1)
        return min(1.0, self.run.step_count / int(self.params["budget"]))

    def spectrum(self) -> np.ndarray:
        """The share of the embedding's power at each frequency 0 .. p//2."""
        return embedding_spectrum(self.embedding)

    def key_frequencies(self) -> np.ndarray:
        """The frequencies with more than twice a uniform share of the power, strongest first."""
        return key_frequencies(self.spectrum())

    def strongest_frequency(self) -> int:
        return int(np.argmax(self.spectrum()[1:]) + 1)

    def projection(self, k: int | None = None) -> np.ndarray:
        """The tokens' embeddings on the plane of frequency ``k`` (the strongest if None)."""
        return circle_projection(self.embedding, self.strongest_frequency() if k is None else k)

    # -- runner interface -------------------------------------------------------------------------

    def _current(self) -> dict[str, float]:
        if self.replaying:
            i = self.playhead
            return {"step": self.record.steps[i], "train_accuracy": self.record.train_accuracy[i],
                    "val_accuracy": self.record.val_accuracy[i], "train_loss": self.record.train_loss[i],
                    "val_loss": self.record.val_loss[i], "weight_norm": self.record.weight_norm[i]}
        metrics = self.run.metrics
        return {"step": self.run.step_count, "train_accuracy": metrics["train_accuracy"],
                "val_accuracy": metrics["val_accuracy"], "train_loss": metrics["train_loss"],
                "val_loss": metrics["val_loss"], "weight_norm": metrics["weight_norm"]}

    def observables(self) -> dict[str, float]:
        spectrum = self.spectrum()
        strongest = int(np.argmax(spectrum[1:]) + 1)
        values = self._current()
        values.update(progress=self.progress, key_frequency=strongest,
                      effective_frequencies=effective_frequencies(spectrum),
                      circularity=circularity(circle_projection(self.embedding, strongest)))
        return {name: float(value) for name, value in values.items()}

    def state(self) -> dict[str, np.ndarray]:
        if self.replaying:
            return {"embedding": self.embedding}
        return {f"param{i}": p for i, p in enumerate(self.run.net.params)}

    # -- challenge measures -------------------------------------------------------------------------

    def grokked_at(self) -> int | None:
        """The first recorded step with validation accuracy above 90% (None if never)."""
        return self.record.first_step("val_accuracy", GROKKED_ACCURACY)

    def measure_grokked(self, run) -> str:
        """"yes" if validation accuracy passed 90% within the budget."""
        step = self.grokked_at()
        return "yes" if step is not None and step <= int(self.params["budget"]) else "no"

    def early_peak(self) -> tuple[int, int] | None:
        """(step, tallest frequency) at the first snapshot with validation accuracy above 5%."""
        for step, val, spectrum in zip(self.record.steps, self.record.val_accuracy, self.record.spectra):
            if val > EARLY_VALIDATION:
                return step, int(np.argmax(spectrum[1:]) + 1)
        return None

    def measure_early_peak_kept(self, run) -> str:
        """Whether the early tallest frequency is among the key frequencies at the end of the run."""
        early = self.early_peak()
        kept = early is not None and early[1] in set(self.key_frequencies().tolist())
        return "yes: the early peak is kept" if kept else "no: other frequencies take over"
