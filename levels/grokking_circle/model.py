"""Grokking modular addition: live training with a record, or the replay of a stored run.

``train``: every tick is one full-batch AdamW step of a :class:`.grokking.GrokkingRun` (a few
milliseconds, so a frame never waits long; the host's speed buttons fast-forward by running more
ticks a frame) until the budget is spent. ``replay``: every tick moves the playhead one training
step along the run stored with the level, which shows its latest snapshot (the view may also
``seek`` anywhere). Either way the app's step counter is the training step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from .grokking import (
    GROKKED_ACCURACY,
    GrokkingRun,
    Record,
    circle_projection,
    circularity,
    effective_frequencies,
    embedding_spectrum,
    key_frequencies,
)

#: One tick of the simulation is one training step, live and in replay, so the step counter the
#: app shows is the training step (about 4 ms at p = 47 on two cores; a step costs about p²).
#: The run stored with the level (``python levels/grokking_circle/grokking.py --record ...``).
STORED_RUN = Path(__file__).with_name("stored_run.npz")
#: The early moment of the key-frequency challenge: validation accuracy first above this.
EARLY_VALIDATION = 0.05
#: Training accuracy this high counts as memorised.
MEMORISED_ACCURACY = 0.999
#: Token labels sit this fraction of their radius outside their point (at least 0.6 of it).
LABEL_OFFSET = 0.13
#: The series the accuracy plot draws.
CURVES = ("train_accuracy", "val_accuracy", "weight_norm")


def canonical_circle(embedding: np.ndarray, k: int) -> np.ndarray:
    """The tokens on frequency ``k``'s plane, mirrored and rotated so that token ``a`` sits as near as
    the data allow to angle 2πka/p, and scaled to unit RMS radius.

    The plane's basis (from a QR factorisation) turns and flips from one snapshot to the next; this
    fixes the picture, so that scrubbing shows the tokens moving and not the axes.
    """
    points = circle_projection(embedding, k)
    p = len(points)
    z = points[:, 0] + 1j * points[:, 1]
    ideal = np.exp(2j * np.pi * k * np.arange(p) / p)
    forward, mirrored = np.vdot(ideal, z), np.vdot(np.conj(ideal), z)  # Σ z·conj(ideal), Σ z·ideal
    if abs(mirrored) > abs(forward):
        z, forward = np.conj(z), np.conj(mirrored)
    if abs(forward) > 1e-12:
        z = z * np.conj(forward) / abs(forward)
    rms = np.sqrt(np.mean(np.abs(z) ** 2))
    z = z / rms if rms > 1e-12 else z
    return np.stack([z.real, z.imag], axis=1)


class Circle(NamedTuple):
    """The tokens of one embedding on one frequency's plane, ready to draw."""

    step: int  # the training step of the embedding
    k: int  # the frequency whose plane this is
    spectrum: np.ndarray  # the share of power at each frequency 0 .. p//2
    keys: np.ndarray  # the key frequencies, strongest first
    points: np.ndarray  # (p, 2): token a's place (canonical orientation, unit RMS radius)
    places: np.ndarray  # (p,): where token a belongs on the circle, as a fraction of a turn (k·a mod p / p)
    ideal: np.ndarray  # (p, 2): that place on the unit circle
    loop: np.ndarray  # (p + 1, 2): the tokens joined in the order they belong, closed
    labels: np.ndarray  # (p, 2): where each token's number goes, just outside its point
    circularity: float


class GrokkingModel(Model):
    """A network learning ``a + b mod p``, and the Fourier view of its embedding.

    For the view:

    * ``record``: the :class:`.grokking.Record` of snapshots the scrubber and the spectrogram
      move along (live: it grows every ``SNAPSHOT_EVERY`` steps; replay: the stored run);
    * ``playhead``: the snapshot shown in replay mode (``seek(i)`` moves it);
    * :meth:`circle` (the tokens on a frequency's plane, now or at a snapshot), :meth:`curves`
      (accuracies and ‖θ‖ against the step), :meth:`reached` (milestones), :meth:`spectrogram`;
    * ``progress`` (0..1 for a progress bar), ``finished``, ``current_step``, ``last_step``.
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
        self.replay_ticks = 0  # replay: the training step of the stored run the playhead is at
        if self.replaying:
            self.run = None
            self.record = Record.load(STORED_RUN)
        else:
            self.run = GrokkingRun(p=self.modulus, train_fraction=float(self.params["train_fraction"]),
                                   weight_decay=float(self.params["weight_decay"]), seed=seed)
            self.record = self.run.record

    def set_param(self, name: str, value: Any) -> None:
        super().set_param(name, value)
        if name == "weight_decay" and self.run is not None:
            self.run.weight_decay = float(value)

    @property
    def modulus(self) -> int:
        """p: the manifest offers primes only (a choice, so a string)."""
        return int(self.params["modulus"])

    @property
    def finished(self) -> bool:
        """Training has spent its budget (replay: the playhead is at the stored run's end)."""
        return self.current_step >= self.last_step

    def step(self) -> None:
        """One training step (replay: the playhead moves one training step along the stored run)."""
        if self.replaying:
            self.replay_ticks = min(self.replay_ticks + 1, self.last_step)
        elif self.run.step_count < int(self.params["budget"]):
            self.run.train(1)

    def work_per_step(self) -> float:
        return 0.0 if self.replaying else 1.0

    @property
    def playhead(self) -> int:
        """The snapshot shown in replay mode: the last one recorded at or before the playhead's step."""
        return max(0, int(np.searchsorted(self.record.steps, self.replay_ticks, side="right")) - 1)

    def seek(self, index: int) -> None:
        """Move the replay playhead to snapshot ``index`` (clamped to the record)."""
        self.replay_ticks = int(self.record.steps[int(np.clip(index, 0, len(self.record) - 1))])

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
    def current_step(self) -> int:
        """The training step the run is at (replay: the playhead's; the embedding shown is the
        snapshot at or before it)."""
        return self.replay_ticks if self.replaying else int(self.run.step_count)

    @property
    def last_step(self) -> int:
        """The step the run ends at: the training budget (replay: the stored run's last snapshot)."""
        return int(self.record.steps[-1]) if self.replaying else int(self.params["budget"])

    @property
    def progress(self) -> float:
        return min(1.0, self.current_step / max(1, self.last_step))

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

    @derived(key=lambda self: (id(self.record), len(self.record), self.playhead, self.run and self.run.step_count))
    def circle(self, index: int | None = None, k: int | None = None) -> Circle | None:
        """The tokens on the plane of frequency ``k`` (the strongest if None or out of range), for
        the recorded snapshot ``index`` or, if None, the embedding shown now; None if the
        embedding is not finite."""
        if index is None:
            embedding = self.embedding
            step = int(self.record.steps[self.playhead]) if self.replaying else self.current_step
        else:
            embedding, step = np.asarray(self.record.embeddings[index], np.float64), int(self.record.steps[index])
        if not np.all(np.isfinite(embedding)):
            return None
        spectrum = embedding_spectrum(embedding)
        if k is None or not 1 <= k < len(spectrum):
            k = int(np.argmax(spectrum[1:]) + 1)
        points = np.clip(canonical_circle(embedding, k), -50, 50)
        places = (k * np.arange(self.p)) % self.p / self.p
        order = np.argsort(places)
        radii = np.linalg.norm(points, axis=1, keepdims=True)
        outward = np.where(radii > 1e-9, points / np.maximum(radii, 1e-9), [1.0, 0.0])
        return Circle(step, k, spectrum, key_frequencies(spectrum), points, places,
                      np.stack([np.cos(2 * np.pi * places), np.sin(2 * np.pi * places)], axis=1),
                      np.concatenate([points[order], points[order[:1]]]),
                      points + LABEL_OFFSET * np.maximum(radii, 0.6) * outward, circularity(points))

    @derived("source", key=lambda self: id(self.record))
    def _stored_curves(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        record = self.record
        return np.asarray(record.steps, np.float64), {name: np.asarray(getattr(record, name), np.float64)
                                                      for name in CURVES}

    def curves(self, run, last: int | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The training step and the series of :data:`CURVES` against it: every step of the
        recorded ``run`` while training; in replay the stored run's snapshots. All of them, or up
        to the step of snapshot ``last``."""
        if not self.replaying:
            steps, series = run.series_steps().astype(np.float64), {name: run.series(name) for name in CURVES}
        else:
            steps, series = self._stored_curves()
        end = len(steps) if last is None else int(np.searchsorted(steps, self.record.steps[last], side="right"))
        return steps[:end], {name: values[:end] for name, values in series.items()}

    def first_snapshot(self, series: str, above: float) -> int | None:
        """The first recorded snapshot at which ``series`` exceeds ``above`` (None: not yet)."""
        hits = np.flatnonzero(np.asarray(getattr(self.record, series)) > above)
        return int(hits[0]) if len(hits) else None

    def reached(self, run, name: str, above: float) -> int | None:
        """The first step at which ``name`` exceeded ``above``, if the run shown has got there yet."""
        steps, series = self.curves(run)
        hits = np.flatnonzero(series[name] > above)
        return int(steps[hits[0]]) if len(hits) and steps[hits[0]] <= self.current_step else None

    @derived(key=lambda self: (id(self.record), len(self.record)))
    def spectrogram(self, last: int | None = None) -> tuple[np.ndarray, float, float]:
        """The spectra of the snapshots (all, or up to ``last``) as a heatmap and the steps its
        first and last columns span: row 0 is the highest frequency, k = 1 the last row; the square
        root of each share, for contrast."""
        spectra = np.asarray(self.record.spectra[: None if last is None else last + 1], dtype=np.float64)[:, 1:]
        end = float(self.record.steps[len(spectra) - 1]) if len(spectra) > 1 else 1.0
        half = 0.5 * end / max(len(spectra) - 1, 1)  # half a column on each side of a snapshot's step
        return np.ascontiguousarray(np.sqrt(spectra.T[::-1])), -half, end + half

    # -- runner interface -------------------------------------------------------------------------

    def _current(self) -> dict[str, float]:
        if self.replaying:
            i = self.playhead
            return {"train_accuracy": self.record.train_accuracy[i],
                    "val_accuracy": self.record.val_accuracy[i], "train_loss": self.record.train_loss[i],
                    "val_loss": self.record.val_loss[i], "weight_norm": self.record.weight_norm[i]}
        metrics = self.run.metrics
        return {"train_accuracy": metrics["train_accuracy"],
                "val_accuracy": metrics["val_accuracy"], "train_loss": metrics["train_loss"],
                "val_loss": metrics["val_loss"], "weight_norm": metrics["weight_norm"]}

    def observables(self) -> dict[str, Any]:
        spectrum = self.spectrum()
        strongest = int(np.argmax(spectrum[1:]) + 1)
        values = self._current()
        values.update(progress=self.progress, key_frequency=strongest,
                      effective_frequencies=effective_frequencies(spectrum),
                      circularity=circularity(circle_projection(self.embedding, strongest)))
        return {**{name: float(value) for name, value in values.items()}, "spectrum": spectrum}

    def state(self) -> dict[str, np.ndarray]:
        if self.replaying:
            return {"embedding": self.embedding}
        return {f"param{i}": p for i, p in enumerate(self.run.net.params)}

    # -- challenge measures -------------------------------------------------------------------------

    def measure_grokked(self, run) -> str:
        """"yes" if validation accuracy passed 90% within the budget (read from the recorded run)."""
        steps, val = run.series_steps(), run.series("val_accuracy")
        return "yes" if np.any((val > GROKKED_ACCURACY) & (steps <= int(self.params["budget"]))) else "no"

    def early_peak(self, run) -> tuple[int, int] | None:
        """(step, strongest frequency) when validation accuracy first passed 5% in the recorded run."""
        hits = np.flatnonzero(run.series("val_accuracy") > EARLY_VALIDATION)
        if not len(hits):
            return None
        return int(run.series_steps()[hits[0]]), int(run.series("key_frequency")[hits[0]])

    def measure_early_peak_kept(self, run) -> str:
        """Whether the early strongest frequency is among the key frequencies at the end of the run."""
        early = self.early_peak(run)
        kept = early is not None and early[1] in set(key_frequencies(run.array("spectrum")).tolist())
        return "yes: the early peak is kept" if kept else "no: other frequencies take over"
