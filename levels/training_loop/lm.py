"""The training loop of a tiny character language model, one stage at a time; the counting
baselines it is measured against; and the sampling rules that turn it into text.

The network reads the :data:`CONTEXT` characters before a position and gives P(next character):
embeddings (one vector per character) side by side, a tanh layer, and logits over the V
characters (Bengio et al. 2003's neural language model, built from :mod:`sim.nn`). One
iteration of :class:`Loop` is six stages, each a method call, in the order of the seed's loop:

1. sample a batch of windows from the training text;
2. forward pass: the logits for every window;
3. softmax: P(x_i | x_<i) for every window;
4. the loss: the mean of −log P of the true next characters (maximum likelihood = cross-entropy);
5. backward pass: ∂L/∂θ for every parameter, by the chain rule;
6. the Adam update, then the same batch's loss again (it falls).

Step through it stage by stage, or run it: both call the same methods, so they reach the same
parameters. Held-out perplexity is measured on text the loop never trains on, in slices (a few
hundred windows per call) so that a frame of the app stays short; :meth:`Loop.held_out_nll`
measures it in one go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.sampling import keep_mask, log_softmax, sampler, softmax  # noqa: F401  (the rules of softmax_sampling)

from sim.nn import (
    Adam,
    Dense,
    Embedding,
    Flatten,
    Sequential,
    Tanh,
    softmax_cross_entropy,
)

from .grammar import Corpus

#: Characters the network reads before each prediction.
CONTEXT = 8
#: Numbers per character embedding, and tanh units.
EMBED = 12
HIDDEN = 128
#: Windows per batch.
BATCH = 64
#: The output layer starts this much smaller than Xavier's scale, so the untrained logits are
#: nearly equal and the first perplexity is near V (see :func:`initial_gap`).
OUTPUT_SCALE = 0.1
#: Held-out perplexity is re-measured every EVAL_EVERY iterations, EVAL_SLICE windows per call.
EVAL_EVERY = 10
EVAL_SLICE = 256
STAGES = ("sample a batch", "forward pass", "P(next | context)", "loss = −log P", "backward pass", "Adam update")
STRATEGIES = ("temperature", "top-k", "top-p")


def build_net(V: int, rng: np.random.Generator, dtype=np.float32, context: int = CONTEXT) -> Sequential:
    """Embeddings of the ``context`` characters side by side → tanh layer → V logits."""
    return Sequential(Embedding(V, EMBED, rng, dtype=dtype), Flatten(),
                      Dense(context * EMBED, HIDDEN, rng, dtype=dtype), Tanh(),
                      Dense(HIDDEN, V, rng, scale=OUTPUT_SCALE, dtype=dtype))


def windows(ids: np.ndarray, positions: np.ndarray, context: int = CONTEXT) -> tuple[np.ndarray, np.ndarray]:
    """The ``context`` characters before each position (inputs) and the character there (targets)."""
    positions = np.asarray(positions, dtype=np.int64)
    if positions.size and positions.min() < context:
        raise ValueError(f"a position needs {context} characters before it")
    idx = positions[:, None] - context + np.arange(context)
    return ids[idx], ids[positions]




# ----------------------------------------------------------------------------------------------
# sampling: the rules of the softmax_sampling level (temperature, top-k, top-p), on a model's logits




def generate(net: Sequential, corpus: Corpus, prompt: str, n_new: int, rng: np.random.Generator,
             temperature: float = 1.0, strategy: str = "temperature", top_k: int = 5, top_p: float = 0.9,
             context: int = CONTEXT) -> str:
    """Continue ``prompt`` by ``n_new`` characters drawn from the network with a strategy."""
    pad = corpus.encode(". ")  # what comes before any sentence: the end of the one before
    ids = list(np.concatenate([np.resize(pad, max(0, context - len(prompt))), corpus.encode(prompt)]))
    out = []
    for _ in range(n_new):
        logits = net.forward(np.array([ids[-context:]]))[0]
        q = sampler(logits, temperature, strategy, top_k, top_p)
        nxt = int(rng.choice(len(q), p=q))
        ids.append(nxt)
        out.append(corpus.chars[nxt])
    return prompt + "".join(out)


# ----------------------------------------------------------------------------------------------
# the counting baselines


class NGram:
    """A Markov model of order ``n`` (unigram 1, bigram 2, trigram 3) fitted by counting the
    training text, with add-k smoothing: P(c | h) = (count(h c) + k) / (count(h) + k V)."""

    def __init__(self, corpus: Corpus, n: int, k: float = 0.1):
        if n < 1 or n > 4:
            raise ValueError("orders 1 to 4 only")
        if not k > 0:
            raise ValueError("add-k smoothing needs k > 0, or an unseen pair would have probability 0")
        self.n, self.k, self.V = n, float(k), corpus.V
        train = corpus.ids[:corpus.split]
        idx = np.zeros(len(train) - n + 1, dtype=np.int64)
        for j in range(n):  # the index of each n-gram in a V^n table
            idx = idx * self.V + train[j:len(train) - n + 1 + j]
        counts = np.bincount(idx, minlength=self.V ** n).astype(np.float64).reshape((self.V,) * n)
        self.counts = counts
        self.prob = (counts + self.k) / (counts.sum(axis=-1, keepdims=True) + self.k * self.V)

    def held_out_nll(self, corpus: Corpus) -> float:
        """Mean −log P of every held-out character, each from the n − 1 characters before it."""
        ids, start = corpus.ids, corpus.split
        table = self.prob.reshape(-1)
        idx = np.zeros(len(ids) - start, dtype=np.int64)
        for j in range(self.n):
            idx = idx * self.V + ids[start - self.n + 1 + j:len(ids) - self.n + 1 + j]
        return float(-np.log(table[idx]).mean())


# ----------------------------------------------------------------------------------------------
# the loop


@dataclass
class StageData:
    """What the stages of the current iteration have produced so far."""

    positions: np.ndarray | None = None  # the batch: positions of the training text predicted
    x: np.ndarray | None = None  # (B, CONTEXT) the windows
    y: np.ndarray | None = None  # (B,) the true next characters
    logits: np.ndarray | None = None
    probs: np.ndarray | None = None
    loss: float = math.nan
    grad_logits: np.ndarray | None = None
    grad_norm: float = math.nan
    largest_grad: str = ""
    update_norm: float = math.nan
    loss_after: float = math.nan


@dataclass
class HeldOutCheck:
    """A held-out measurement under way: the parameters of one iteration, scored slice by slice."""

    iteration: int
    params: list[np.ndarray]
    next_start: int = 0
    nll_sum: float = 0.0
    done: bool = False


@dataclass
class Record:
    """Per iteration: the batch's loss; per measurement: the held-out perplexity."""

    iterations: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    eval_iterations: list[int] = field(default_factory=list)
    held_out_ppl: list[float] = field(default_factory=list)


class Loop:
    """The training loop of a :func:`build_net` network on a :class:`Corpus`.

    ``stage`` is the index in :data:`STAGES` of the last stage done (−1: none yet of this
    iteration); :meth:`advance` does the next one, :meth:`iterate` the rest of the iteration.
    """

    def __init__(self, corpus: Corpus, seed: int = 0, lr: float = 3e-3, batch: int = BATCH, dtype=np.float32):
        self.corpus = corpus
        self.batch = int(batch)
        self.batch_rng = np.random.default_rng([seed, 1])
        self.net = build_net(corpus.V, np.random.default_rng([seed, 0]), dtype=dtype)
        # scoring and looking use copies: a forward pass of the training network between its
        # forward and backward stages would overwrite what the backward pass needs
        self.eval_net = build_net(corpus.V, np.random.default_rng(0), dtype=dtype)
        self.look_net = build_net(corpus.V, np.random.default_rng(0), dtype=dtype)
        self.optimizer = Adam(self.net.params, lr=lr)
        self.iteration = 0
        self.stage = -1
        self.data = StageData()
        self.record = Record()
        self.check: HeldOutCheck | None = None
        self.initial_nll = self.held_out_nll()
        self.record.eval_iterations.append(0)
        self.record.held_out_ppl.append(math.exp(self.initial_nll))

    # -- the six stages -------------------------------------------------------------------------
    def advance(self) -> int:
        """Do the next stage; returns its index."""
        stage = (self.stage + 1) % len(STAGES)
        if stage == 0:
            self.data = StageData()
        getattr(self, f"_stage{stage}")()
        self.stage = stage
        if stage == len(STAGES) - 1:
            self.iteration += 1
            self.record.iterations.append(self.iteration)
            self.record.train_loss.append(self.data.loss)
            if self.iteration % EVAL_EVERY == 0:
                self.start_check()
            self.stage = -1
        return stage

    def iterate(self) -> None:
        """Finish the iteration under way (a whole one if none is)."""
        while True:
            if self.advance() == len(STAGES) - 1:
                return

    def _stage0(self) -> None:  # sample a batch: positions with CONTEXT characters before them
        d = self.data
        d.positions = self.batch_rng.integers(CONTEXT, self.corpus.split, self.batch)
        d.x, d.y = windows(self.corpus.ids, d.positions)

    def _stage1(self) -> None:  # forward pass
        self.data.logits = self.net.forward(self.data.x)

    def _stage2(self) -> None:  # P(x_i | x_<i) for every window
        self.data.probs = softmax(self.data.logits)

    def _stage3(self) -> None:  # the loss, and its gradient for the logits: (P − onehot) / B
        d = self.data
        d.loss, d.grad_logits = softmax_cross_entropy(d.logits, d.y)

    def _stage4(self) -> None:  # backward pass: the chain rule through every layer
        self.net.zero_grad()
        self.net.backward(self.data.grad_logits)
        norms = [float(np.linalg.norm(g)) for g in self.net.grads]
        self.data.grad_norm = float(np.sqrt(sum(n * n for n in norms)))
        self.data.largest_grad = self._group_name(int(np.argmax(norms)))

    def _stage5(self) -> None:  # Adam, then the same batch again
        before = [p.copy() for p in self.net.params]
        self.optimizer.step(self.net.grads)
        self.data.update_norm = float(np.sqrt(sum(float(((p - b) ** 2).sum()) for p, b in zip(self.net.params, before))))
        self.data.loss_after, _ = softmax_cross_entropy(self.net.forward(self.data.x), self.data.y)

    def _group_name(self, index: int) -> str:
        names = ("embeddings", "tanh weights", "tanh biases", "output weights", "output biases")
        return names[min(index, len(names) - 1)]

    # -- held-out measurements ------------------------------------------------------------------
    def held_out_nll(self, net: Sequential | None = None) -> float:
        """Mean −log P of every held-out character (each from the CONTEXT characters before it)."""
        net = net or self.looking_net()
        positions = np.arange(self.corpus.split, len(self.corpus.ids))
        total = 0.0
        for start in range(0, len(positions), 1024):
            x, y = windows(self.corpus.ids, positions[start:start + 1024])
            logp = log_softmax(net.forward(x))
            total -= float(np.take_along_axis(logp, y[:, None], axis=1).sum())
        return total / len(positions)

    def start_check(self) -> None:
        """Freeze the parameters now, to be scored slice by slice by :meth:`check_tick`."""
        self.check = HeldOutCheck(self.iteration, [p.copy() for p in self.net.params])

    def check_tick(self) -> None:
        """Score one slice of the held-out text with the frozen parameters; record the perplexity
        when the last slice is done."""
        c = self.check
        if c is None or c.done:
            return
        for p, q in zip(self.eval_net.params, c.params):
            p[...] = q
        positions = np.arange(self.corpus.split, len(self.corpus.ids))
        part = positions[c.next_start:c.next_start + EVAL_SLICE]
        x, y = windows(self.corpus.ids, part)
        logp = log_softmax(self.eval_net.forward(x))
        c.nll_sum -= float(np.take_along_axis(logp, y[:, None], axis=1).sum())
        c.next_start += len(part)
        if c.next_start >= len(positions):
            c.done = True
            self.record.eval_iterations.append(c.iteration)
            self.record.held_out_ppl.append(math.exp(c.nll_sum / len(positions)))

    def finish_checks(self) -> None:
        """Complete the measurement under way at once."""
        while self.check is not None and not self.check.done:
            self.check_tick()

    # -- one position, close up -----------------------------------------------------------------
    def looking_net(self) -> Sequential:
        """A copy of the network as it is now, to look at without disturbing the loop."""
        for p, q in zip(self.look_net.params, self.net.params):
            p[...] = q
        return self.look_net

    def predict(self, context_ids: np.ndarray) -> np.ndarray:
        """P(next character) after one window of CONTEXT characters."""
        return softmax(self.looking_net().forward(np.asarray(context_ids, dtype=np.int64)[None]))[0]


def initial_gap(net: Sequential, corpus: Corpus) -> tuple[float, float]:
    """Why an untrained model's held-out cross-entropy is not exactly ln V. Per position,
    −log P(x) = [logsumexp(z) − ln V − mean(z)] + [mean(z) − z_x] + ln V: the first bracket is
    never negative (the logits' spread: 0 only when they are all equal), the second averages to
    about 0 (the luck of random logits that favour or disfavour the true character).
    Returns (spread, luck), each averaged over the held-out characters, in nats."""
    positions = np.arange(corpus.split, len(corpus.ids))
    x, y = windows(corpus.ids, positions)
    z = np.asarray(net.forward(x), dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
    spread = lse - math.log(corpus.V) - z.mean(axis=1)
    luck = z.mean(axis=1) - z[np.arange(len(y)), y]
    return float(spread.mean()), float(luck.mean())
