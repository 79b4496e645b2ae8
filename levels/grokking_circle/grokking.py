"""Grokking modular addition: a small network, its training record and the Fourier view of it.

The task is the table of ``a + b mod p``. A fraction of its ``p²`` entries is the training set,
the rest is held out. The network embeds both tokens, concatenates the two embeddings and
reads the answer out of one hidden ReLU layer::

    logits = ReLU([E_a, E_b] W₁ + b₁) W₂ + b₂            E: p × d,  W₁: 2d × h,  W₂: h × p

trained full-batch with AdamW (decoupled weight decay). It memorises the training set within
a few hundred steps; with enough weight decay it later *generalises* (grokking), and by then
its embedding ``E`` has turned into a few Fourier modes: token ``a`` sits at angle ``2πka/p`` on
a circle in the plane of frequency ``k``, so adding tokens is adding angles.

This module builds the data, the network (from :mod:`sim.nn`), the Fourier diagnostics
(:func:`embedding_spectrum`, :func:`circle_projection`, :func:`circularity`) and a trainer,
:class:`GrokkingRun`, that keeps a :class:`Record` of snapshots for replay.

``python levels/grokking_circle/grokking.py --bench`` prints training steps per second;
``python levels/grokking_circle/grokking.py --record FILE`` trains the default run and stores its record.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.nn import Adam, Dense, Embedding, Flatten, ReLU, Sequential, accuracy, softmax_cross_entropy

#: Defaults measured to grok fast on two cores (see BENCHMARKS-optimization.md): p = 47,
#: 40% of the table, d = 32, h = 128, AdamW at lr 6e-3, β = (0.9, 0.98), weight decay 1.
MODULUS = 47
TRAIN_FRACTION = 0.4
EMBED_DIM = 32
HIDDEN = 128
LEARNING_RATE = 6e-3
BETAS = (0.9, 0.98)
WEIGHT_DECAY = 1.0
#: Validation is measured every this many steps; a snapshot is stored every SNAPSHOT_EVERY.
EVAL_EVERY = 10
SNAPSHOT_EVERY = 50
#: A run has grokked when validation accuracy exceeds this.
GROKKED_ACCURACY = 0.9


def addition_table(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(a, b)`` as an int array ``(p², 2)`` and its answer ``(a + b) mod p``."""
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    pairs = np.stack([a.ravel(), b.ravel()], axis=1)
    return pairs, (pairs[:, 0] + pairs[:, 1]) % p


def split(count: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random ``fraction`` of ``range(count)`` for training (at least one), the rest held out."""
    order = rng.permutation(count)
    n_train = int(np.clip(round(fraction * count), 1, count - 1))
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def build_network(p: int, rng: np.random.Generator, embed_dim: int = EMBED_DIM, hidden: int = HIDDEN,
                  dtype=np.float32) -> tuple[Sequential, Embedding]:
    """The embed-concatenate-MLP network and its embedding layer (float32: twice as fast here)."""
    embedding = Embedding(p, embed_dim, rng, scale=1.0, dtype=dtype)
    net = Sequential(embedding, Flatten(), Dense(2 * embed_dim, hidden, rng, init="he", dtype=dtype), ReLU(),
                     Dense(hidden, p, rng, dtype=dtype))
    return net, embedding


# ----------------------------------------------------------------------------------------------
# Fourier diagnostics


def embedding_spectrum(embedding: np.ndarray) -> np.ndarray:
    """The share of the embedding's power at each frequency ``k = 0 .. p//2`` (sums to 1).

    Power at ``k`` is ``Σ_j |Σ_a E[a, j] e^{−2πi k a/p}|²`` over the embedding dimensions ``j``,
    of the embedding with its mean token removed (so ``k = 0`` carries ~nothing). Frequencies
    ``k`` and ``p − k`` are the same real mode and are counted once.
    """
    centred = np.asarray(embedding, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    power = np.sum(np.abs(np.fft.rfft(centred, axis=0)) ** 2, axis=1)
    total = power.sum()
    return power / total if total > 0 else np.full_like(power, 1.0 / power.size)


def key_frequencies(spectrum: np.ndarray) -> np.ndarray:
    """Frequencies ``k ≥ 1`` holding more than twice a uniform share, strongest first."""
    shares = np.asarray(spectrum)[1:]
    threshold = 2.0 / shares.size
    keys = np.flatnonzero(shares > threshold) + 1
    return keys[np.argsort(-np.asarray(spectrum)[keys])]


def effective_frequencies(spectrum: np.ndarray) -> float:
    """``1 / Σ s_k²`` over ``k ≥ 1``: how many frequencies share the power (all p//2 when uniform)."""
    shares = np.asarray(spectrum)[1:]
    shares = shares / shares.sum()
    return float(1.0 / np.sum(shares * shares))


def circle_projection(embedding: np.ndarray, k: int) -> np.ndarray:
    """Every token's embedding projected on the plane of frequency ``k``: an array ``(p, 2)``.

    The plane is spanned by the real and imaginary parts of the embedding's Fourier coefficient
    at ``k`` (made orthonormal). A network that uses frequency ``k`` puts token ``a`` at angle
    ``±2πka/p`` on a circle there; before that the tokens are a scatter.
    """
    centred = np.asarray(embedding, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    p = centred.shape[0]
    phase = np.exp(-2j * np.pi * k * np.arange(p) / p)
    coefficient = phase @ centred  # (d,) complex
    basis, _ = np.linalg.qr(np.stack([coefficient.real, coefficient.imag], axis=1))
    return centred @ basis


def circularity(points: np.ndarray) -> float:
    """``1 − std(r)/mean(r)`` of the points' distances from their centre: 1 on a circle."""
    radii = np.linalg.norm(points - points.mean(axis=0), axis=1)
    mean = radii.mean()
    return float(1.0 - radii.std() / mean) if mean > 0 else 0.0


# ----------------------------------------------------------------------------------------------
# Training, with a record of snapshots


#: The scalar series of a :class:`Record`, one value per snapshot.
SERIES = ("train_accuracy", "val_accuracy", "train_loss", "val_loss", "weight_norm")


@dataclass
class Record:
    """Snapshots of a run, every ``SNAPSHOT_EVERY`` steps, for scrubbing and replay.

    ``embeddings`` are stored as float16 (a replay only draws them); everything else float32.
    """

    modulus: int
    steps: list[int] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    weight_norm: list[float] = field(default_factory=list)
    spectra: list[np.ndarray] = field(default_factory=list)
    embeddings: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.steps)

    def add(self, step: int, metrics: dict[str, float], embedding: np.ndarray) -> None:
        self.steps.append(int(step))
        for name in SERIES:
            getattr(self, name).append(float(metrics[name]))
        self.spectra.append(embedding_spectrum(embedding).astype(np.float32))
        self.embeddings.append(np.asarray(embedding, dtype=np.float16))

    def first_step(self, series: str, above: float) -> int | None:
        """The first recorded step at which ``series`` (e.g. ``"val_accuracy"``) exceeds ``above``."""
        for step, value in zip(self.steps, getattr(self, series)):
            if value > above:
                return step
        return None

    def save(self, path: str | Path) -> None:
        """Store the record as a compressed ``.npz``."""
        series = {name: np.asarray(getattr(self, name), np.float32) for name in SERIES}
        np.savez_compressed(path, modulus=self.modulus, steps=np.asarray(self.steps, np.int32), **series,
                            spectra=np.asarray(self.spectra, np.float32),
                            embeddings=np.asarray(self.embeddings, np.float16))

    @classmethod
    def load(cls, path: str | Path) -> "Record":
        """Read a record written by :meth:`save`."""
        with np.load(path) as data:
            series = {name: data[name].tolist() for name in SERIES}
            return cls(modulus=int(data["modulus"]), steps=data["steps"].tolist(), **series,
                       spectra=list(data["spectra"]), embeddings=list(data["embeddings"]))


class GrokkingRun:
    """Full-batch AdamW on a fraction of the addition table mod ``p``, with a :class:`Record`.

    ``train(n)`` takes ``n`` steps; validation accuracy is measured every ``EVAL_EVERY`` steps
    and a snapshot stored every ``SNAPSHOT_EVERY`` (and at step 0). ``metrics`` holds the latest
    values; ``embedding`` is the live embedding matrix ``(p, d)``.
    """

    def __init__(self, p: int = MODULUS, train_fraction: float = TRAIN_FRACTION, weight_decay: float = WEIGHT_DECAY,
                 lr: float = LEARNING_RATE, seed: int = 0, embed_dim: int = EMBED_DIM, hidden: int = HIDDEN):
        self.p = p
        rng = np.random.default_rng(seed)
        self.pairs, self.answers = addition_table(p)
        self.train_index, self.val_index = split(len(self.pairs), train_fraction, rng)
        self.net, self._embedding = build_network(p, rng, embed_dim, hidden)
        self.optimizer = Adam(self.net.params, lr=lr, betas=BETAS, weight_decay=weight_decay)
        self.step_count = 0
        self.record = Record(modulus=p)
        self.metrics: dict[str, float] = {}
        self._train_inputs = self.pairs[self.train_index]
        self._train_answers = self.answers[self.train_index]
        self._evaluate_validation()
        self._snapshot()

    @property
    def embedding(self) -> np.ndarray:
        return self._embedding.W

    @property
    def weight_decay(self) -> float:
        return self.optimizer.weight_decay

    @weight_decay.setter
    def weight_decay(self, value: float) -> None:
        self.optimizer.weight_decay = float(value)

    def weight_norm(self) -> float:
        """‖θ‖ over every parameter: weight decay shrinks it once the data is fitted."""
        return float(np.sqrt(sum(float(np.sum(np.square(p, dtype=np.float64))) for p in self.net.params)))

    def _evaluate_validation(self) -> None:
        inputs, answers = self.pairs[self.val_index], self.answers[self.val_index]
        logits = self.net.forward(inputs)
        loss, _ = softmax_cross_entropy(logits, answers)
        self.metrics["val_loss"] = loss
        self.metrics["val_accuracy"] = accuracy(logits, answers)
        if "train_loss" not in self.metrics:
            logits = self.net.forward(self._train_inputs)
            self.metrics["train_loss"], _ = softmax_cross_entropy(logits, self._train_answers)
            self.metrics["train_accuracy"] = accuracy(logits, self._train_answers)

    def _snapshot(self) -> None:
        self.metrics["weight_norm"] = self.weight_norm()
        self.record.add(self.step_count, self.metrics, self.embedding)

    def train(self, steps: int) -> None:
        """``steps`` full-batch AdamW steps."""
        for _ in range(steps):
            self.net.zero_grad()
            logits = self.net.forward(self._train_inputs)
            loss, grad = softmax_cross_entropy(logits, self._train_answers)
            # metrics of the parameters the forward pass saw, i.e. before this update
            self.metrics["train_loss"] = loss
            self.metrics["train_accuracy"] = accuracy(logits, self._train_answers)
            self.net.backward(grad)
            self.optimizer.step(self.net.grads)
            self.step_count += 1
            if self.step_count % EVAL_EVERY == 0:
                self._evaluate_validation()
            if self.step_count % SNAPSHOT_EVERY == 0:
                self._snapshot()

    def grokked(self) -> bool:
        return self.metrics["val_accuracy"] > GROKKED_ACCURACY


# ----------------------------------------------------------------------------------------------
# Command line: benchmark and stored runs


def main(argv=None) -> None:
    """Benchmark training (steps per second), or train the default run and store its record."""
    parser = argparse.ArgumentParser(prog="python levels/grokking_circle/grokking.py", description=main.__doc__)
    parser.add_argument("--bench", action="store_true", help="print training steps per second (default action)")
    parser.add_argument("--record", metavar="FILE", help="train the default run and save its record (.npz)")
    parser.add_argument("--steps", type=int, default=4000, help="steps of the stored run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.record:
        run = GrokkingRun(seed=args.seed)
        run.train(args.steps)
        run.record.save(args.record)
        print(f"stored {len(run.record)} snapshots of {args.steps} steps in {args.record}; "
              f"train 100% at step {run.record.first_step('train_accuracy', 0.999)}, "
              f"validation > 90% at step {run.record.first_step('val_accuracy', GROKKED_ACCURACY)}")
        return
    run = GrokkingRun(seed=args.seed)
    run.train(20)  # warm-up
    t0 = time.perf_counter()
    run.train(500)
    rate = 500 / (time.perf_counter() - t0)
    print(f"p = {run.p}: {len(run.train_index)} training pairs, {run.net.num_parameters()} parameters: "
          f"{rate:.0f} training steps/s (full batch, with validation every {EVAL_EVERY} steps)")
    t0 = time.perf_counter()
    run = GrokkingRun(seed=args.seed)
    while not run.grokked() and run.step_count < 20000:
        run.train(EVAL_EVERY)
    elapsed = time.perf_counter() - t0
    print(f"default run (seed {args.seed}): train 100% at step {run.record.first_step('train_accuracy', 0.999)}, "
          f"validation > 90% at step {run.step_count}, {elapsed:.1f} s")


if __name__ == "__main__":
    main()
