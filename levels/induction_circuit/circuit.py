"""The induction circuit of a two-layer attention-only transformer, trained from scratch.

Everything here is numpy on the shared network kit (:class:`sim.nn.Transformer`): the data (a
random segment repeated once, its length and place drawn per sequence), the training run and its
per-step record, the interpretability measures (previous-token, induction and copying scores of
every head), ablations, and the checkpoint the level ships.

Run as a script it trains the level's default model and writes the checkpoint::

    python levels/induction_circuit/circuit.py --checkpoint levels/induction_circuit/checkpoint.npz
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sim import nn

#: The vocabulary: one token per word, so that a learner can write sequences.
WORDS = ("Harry", "Potter", "Dursley", "owl", "wand", "broom", "cloak", "castle", "forest", "lake",
         "dragon", "snake", "stone", "key", "map", "cup", "spell", "night", "green", "red",
         "flew", "saw", "took", "hid")
VOCAB = len(WORDS)
LN_V = math.log(VOCAB)  # the loss of a uniform guess: chance
SEQ_LEN = 24
#: Segment lengths drawn per sequence: a fixed length (a fixed offset between the copies) would
#: let one positional head find the earlier copy without the two-head circuit.
MIN_SEGMENT, MAX_SEGMENT = 5, 11
#: The sequences the loss-against-position plot averages over: the first copy of 10 words starts
#: at position 2 (the repeat at 12), so that every position plays the same part in all of them.
PROFILE_SEGMENT, PROFILE_START = 10, 2
#: Attention above this share on the right key makes a previous-token / induction head.
HEAD_THRESHOLD = 0.5
#: A score's formation step is read from its running mean over this many steps (batch noise).
SMOOTH = 20
ABLATIONS = ("none", "layer 0", "layer 1", "previous-token head", "induction head", "K-composition")


@dataclass
class Batch:
    """Sequences ``prefix · segment · segment · filler`` of uniform random tokens.

    ``rep[b, t]``: the prediction made at position t (of token t + 1) is predictable by copying
    (t in the second copy, not its last token); ``first[b, t]``: the prediction lies inside the
    first copy, where nothing can be known (chance, ln V). ``starts``/``lengths``: the first
    copy's place and length.
    """

    tokens: np.ndarray
    rep: np.ndarray
    first: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray


def make_batch(rng: np.random.Generator, size: int, seq_len: int = SEQ_LEN, lengths: tuple[int, int] = (MIN_SEGMENT, MAX_SEGMENT),
               fixed_length: int | None = None, fixed_start: int | None = None, vocab: int = VOCAB) -> Batch:
    """``size`` sequences with a repeated segment of a random length in ``lengths`` (or
    ``fixed_length``) at a random place (or ``fixed_start``)."""
    tokens = rng.integers(0, vocab, size=(size, seq_len))
    if fixed_length is not None:
        seg = np.full(size, fixed_length)
    else:
        seg = rng.integers(lengths[0], lengths[1] + 1, size=size)
    if np.any(2 * seg > seq_len):
        raise ValueError(f"two copies of {seg.max()} tokens do not fit in {seq_len}")
    starts = np.full(size, fixed_start) if fixed_start is not None else rng.integers(0, seq_len - 2 * seg + 1)
    t = np.arange(seq_len)[None, :]
    second = (t >= starts[:, None] + seg[:, None]) & (t < starts[:, None] + 2 * seg[:, None])
    rows, cols = np.nonzero(second)
    tokens[rows, cols] = tokens[rows, cols - seg[rows]]
    p = np.arange(seq_len - 1)[None, :]  # prediction positions
    rep = (p >= starts[:, None] + seg[:, None]) & (p <= starts[:, None] + 2 * seg[:, None] - 2)
    first = (p >= starts[:, None]) & (p <= starts[:, None] + seg[:, None] - 2)
    return Batch(tokens, rep, first, starts, seg)


def encode(words: str | list[str]) -> np.ndarray:
    """Word tokens from text (words separated by spaces, any case); a clear error for a word
    outside the vocabulary."""
    items = words.split() if isinstance(words, str) else list(words)
    lookup = {w.lower(): i for i, w in enumerate(WORDS)}
    unknown = [w for w in items if w.lower() not in lookup]
    if unknown:
        raise ValueError(f"not in the vocabulary: {', '.join(unknown)}")
    return np.array([lookup[w.lower()] for w in items], dtype=np.int64)


@dataclass
class Config:
    """The model and the recipe. Two heads per layer: with one, some seeds settle for a while on
    a weaker solution (the repeated-half loss stalls near 2.4) before or instead of the circuit."""

    layers: int = 2
    heads: int = 2
    d_model: int = 32
    d_head: int = 16
    positions: str = "shortformer"
    lr: float = 6e-3
    batch: int = 64
    seq_len: int = SEQ_LEN
    dtype: str = "float32"  # half the time of float64 per step, and the same circuit


def build(config: Config, rng: np.random.Generator) -> nn.Transformer:
    """An attention-only transformer for the config."""
    return nn.Transformer(VOCAB, config.d_model, config.layers, config.heads, rng, d_head=config.d_head,
                          max_len=config.seq_len, positions=config.positions, dtype=np.dtype(config.dtype))


# ------------------------------------------------------------------------------------------------
# Scores of the heads
# ------------------------------------------------------------------------------------------------


def previous_token_scores(pattern: np.ndarray) -> np.ndarray:
    """Per head: the mean attention from each position t ≥ 1 to position t − 1 ``(H,)``."""
    diag = np.diagonal(pattern, offset=-1, axis1=-2, axis2=-1)  # (B, H, T-1): [t, t-1]
    return diag.mean(axis=(0, 2))


def induction_indices(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sequence, query position, key position) of every prediction in a second copy: the key is
    the token after the earlier copy of the query's token."""
    b, t = np.nonzero(batch.rep)
    return b, t, t - batch.lengths[b] + 1


def induction_scores(pattern: np.ndarray, batch: Batch) -> np.ndarray:
    """Per head: the mean attention from each position of the second copy to the token after the
    earlier copy of its own token (prefix matching) ``(H,)``."""
    b, t, k = induction_indices(batch)
    return pattern[b, :, t, k].mean(axis=0)


def copying_scores(net: nn.Transformer, layer: int) -> np.ndarray:
    """Per head: the share of the tokens whose own logit the head's OV circuit raises most,
    ``argmax_j (E W_V W_O U)[i, j] = i``, on the token embeddings ``(H,)``."""
    attn = net.blocks[layer].attn
    e, u = net.embed.W, net.unembed.W
    out = []
    for h in range(net.n_heads):
        m = e @ attn.W_V[h] @ attn.W_O[h] @ u
        out.append(float(np.mean(np.argmax(m, axis=1) == np.arange(len(m)))))
    return np.array(out)


def apply_ablation(net: nn.Transformer, ablation: str, heads: tuple[int, int]) -> None:
    """Set ``net``'s interventions for ``ablation`` (one of :data:`ABLATIONS`); ``heads`` are the
    previous-token head of layer 0 and the induction head of layer 1."""
    if ablation not in ABLATIONS:
        raise ValueError(f"unknown ablation {ablation!r}; valid: {', '.join(ABLATIONS)}")
    net.clear_interventions()
    if ablation == "layer 0":
        net.ablate_layer(0)
    elif ablation == "layer 1" and net.n_layers > 1:
        net.ablate_layer(1)
    elif ablation == "previous-token head":
        net.blocks[0].attn.head_mask[heads[0]] = 0.0
    elif ablation == "induction head" and net.n_layers > 1:
        net.blocks[1].attn.head_mask[heads[1]] = 0.0
    elif ablation == "K-composition" and net.n_layers > 1:
        net.cut[1] = {"k"}


@dataclass
class Evaluation:
    """The model on a fixed batch: losses, the loss at each position of a fixed-length profile
    batch, and every head's scores."""

    rep_loss: float
    first_loss: float
    profile: np.ndarray  # (T-1,) mean loss of the prediction at each position
    prev: np.ndarray  # (layers, heads)
    induction: np.ndarray  # (layers, heads)
    copying: np.ndarray  # (layers, heads)


def evaluate(net: nn.Transformer, batch: Batch, profile_batch: Batch, ablation: str = "none",
             heads: tuple[int, int] | None = None) -> Evaluation:
    """The model (with ``ablation``) on ``batch`` and ``profile_batch``; interventions are
    cleared afterwards."""
    if heads is None:
        heads = circuit_heads(net, batch) if ablation.endswith("head") else (0, 0)
    apply_ablation(net, ablation, heads)
    try:
        logits = net.forward(batch.tokens[:, :-1])
        losses = nn.token_losses(logits, batch.tokens[:, 1:])
        prev = np.array([previous_token_scores(p) for p in net.patterns])
        ind = np.array([induction_scores(p, batch) for p in net.patterns])
        profile = nn.token_losses(net.forward(profile_batch.tokens[:, :-1]), profile_batch.tokens[:, 1:]).mean(axis=0)
    finally:
        net.clear_interventions()
    copy = np.array([copying_scores(net, layer) for layer in range(net.n_layers)])
    return Evaluation(float(losses[batch.rep].mean()), float(losses[batch.first].mean()),
                      *(np.asarray(a, np.float64) for a in (profile, prev, ind, copy)))


def circuit_heads(net: nn.Transformer, batch: Batch) -> tuple[int, int]:
    """(layer 0's head with the highest previous-token score, layer 1's head with the highest
    induction score) on ``batch``: measured, never assumed."""
    net.clear_interventions()
    net.forward(batch.tokens[:, :-1])
    prev = previous_token_scores(net.patterns[0])
    ind = induction_scores(net.patterns[-1], batch)
    return int(np.argmax(prev)), int(np.argmax(ind))


# ------------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------------

#: The per-step series of the record.
SERIES = ("loss", "rep_loss", "first_loss", "prev_score", "induction_score")


class CircuitRun:
    """A model trained on repeated segments, one Adam step per :meth:`train` step, with a per-step
    record: the training loss, the loss on the predictable (repeated) and unpredictable (first
    copy) predictions of the batch, the best layer-0 previous-token score and the best last-layer
    induction score (on the batch's own attention patterns)."""

    def __init__(self, config: Config | None = None, seed: int = 0):
        self.config = config or Config()
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.net = build(self.config, np.random.default_rng(seed + 1_000_003))
        self.optimizer = nn.Adam(self.net.params, lr=self.config.lr)
        eval_rng = np.random.default_rng(seed + 7)
        self.eval_batch = make_batch(eval_rng, 128, self.config.seq_len)
        self.profile_batch = make_batch(eval_rng, 96, self.config.seq_len, fixed_length=PROFILE_SEGMENT,
                                        fixed_start=PROFILE_START)
        self.step_count = 0
        self.history: dict[str, list[float]] = {name: [] for name in SERIES}

    def train(self, steps: int = 1) -> None:
        """``steps`` training steps on fresh batches."""
        net, cfg = self.net, self.config
        for _ in range(steps):
            batch = make_batch(self.rng, cfg.batch, cfg.seq_len)
            net.zero_grad()
            net.clear_interventions()
            logits = net.forward(batch.tokens[:, :-1])
            loss, grad = nn.sequence_cross_entropy(logits, batch.tokens[:, 1:])
            net.backward(grad)
            self.optimizer.step(net.grads)
            self.step_count += 1
            losses = nn.token_losses(logits, batch.tokens[:, 1:])
            h = self.history
            h["loss"].append(loss)
            h["rep_loss"].append(float(losses[batch.rep].mean()))
            h["first_loss"].append(float(losses[batch.first].mean()))
            h["prev_score"].append(float(previous_token_scores(net.patterns[0]).max()))
            h["induction_score"].append(float(induction_scores(net.patterns[-1], batch).max()))

    def series(self, name: str) -> np.ndarray:
        """One per-step series of the record (index i: after step i + 1)."""
        return np.asarray(self.history[name], dtype=np.float64)

    def evaluate(self, ablation: str = "none") -> Evaluation:
        """The model now, on the run's fixed evaluation batches."""
        return evaluate(self.net, self.eval_batch, self.profile_batch, ablation)

    def save(self, path: str | Path) -> None:
        """Write the checkpoint: the parameters, the config and the record (float32)."""
        arrays = {f"param/{k}": v.astype(np.float32) for k, v in self.net.state_dict().items()}
        arrays.update({f"history/{k}": np.asarray(v, np.float32) for k, v in self.history.items()})
        config = asdict(self.config)
        np.savez_compressed(path, **arrays, config_keys=np.array(list(config)),
                            config_values=np.array([str(v) for v in config.values()]),
                            seed=np.array(self.seed), steps=np.array(self.step_count))

    @classmethod
    def load(cls, path: str | Path) -> CircuitRun:
        """A run restored from :meth:`save` (parameters, record and step count; the optimizer
        state is not kept: further training restarts Adam's moments)."""
        with np.load(path) as data:
            raw = dict(zip(data["config_keys"].tolist(), data["config_values"].tolist()))
            types = {k: type(v) for k, v in asdict(Config()).items()}
            config = Config(**{k: types[k](v) for k, v in raw.items()})
            run = cls(config, seed=int(data["seed"]))
            run.net.load_state_dict({k[len("param/"):]: data[k] for k in data.files if k.startswith("param/")})
            run.history = {name: data[f"history/{name}"].astype(np.float64).tolist() for name in SERIES}
            run.step_count = int(data["steps"])
        return run


def formation_step(values: np.ndarray, threshold: float = HEAD_THRESHOLD, window: int = SMOOTH) -> int | None:
    """The training step at which ``values`` (per step, index i = step i + 1) pass ``threshold``:
    the middle of the first ``window`` steps whose mean passes it (the batch noise averaged out,
    a clean jump found within a step or two); None if it never does."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < window:
        return None
    mean = np.convolve(values, np.ones(window) / window, mode="valid")  # mean[i] ends at step i + window
    hits = np.flatnonzero(mean > threshold)
    return int(hits[0] + window - window // 2) if len(hits) else None


def drop_step(rep_loss: np.ndarray, fraction: float = 0.5, window: int = SMOOTH) -> int | None:
    """The first step at which the running mean of the repeated-half loss falls below
    ``fraction`` · ln V; None if it never does."""
    return formation_step(-np.asarray(rep_loss), -fraction * LN_V, window)


#: The stored models: (positions, layers, seed). The default recipe over three seeds (the claims
#: read them), the one-layer control and the absolute-positions variant.
CHECKPOINTS = (("shortformer", 2, 0), ("shortformer", 2, 1), ("shortformer", 2, 2), ("shortformer", 1, 0),
               ("absolute", 2, 0), ("rotary", 2, 0))
CHECKPOINT_STEPS = 1500


def checkpoint_name(positions: str, layers: int, seed: int) -> str:
    """The file name of a stored model."""
    return f"{positions}_{layers}layer_seed{seed}.npz"


def main(argv=None) -> None:
    """Train the level's stored models (every recipe of CHECKPOINTS, or one) and write them."""
    parser = argparse.ArgumentParser(prog="python levels/induction_circuit/circuit.py", description=main.__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().with_name("checkpoints"))
    parser.add_argument("--steps", type=int, default=CHECKPOINT_STEPS)
    parser.add_argument("--only", type=int, default=None, help="train only this entry of CHECKPOINTS")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = CHECKPOINTS if args.only is None else (CHECKPOINTS[args.only],)
    for positions, layers, seed in chosen:
        run = CircuitRun(Config(layers=layers, positions=positions), seed=seed)
        start = time.perf_counter()
        run.train(args.steps)
        seconds = time.perf_counter() - start
        ev = run.evaluate()
        path = args.out / checkpoint_name(positions, layers, seed)
        run.save(path)
        print(f"{path.name}: {args.steps} steps in {seconds:.1f} s; drop at step {drop_step(run.series('rep_loss'))}; "
              f"repeated half {ev.rep_loss:.3f}, first copy {ev.first_loss:.3f} (ln V = {LN_V:.3f}); "
              f"prev {np.round(ev.prev, 2).tolist()} induction {np.round(ev.induction, 2).tolist()}; "
              f"{path.stat().st_size / 1024:.0f} KB", flush=True)


if __name__ == "__main__":
    main()
