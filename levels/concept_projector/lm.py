"""The Concept Projector's language model, its concept directions and the measures of steering.

A small transformer of the shared network kit (:class:`sim.nn.Transformer`: two layers, two
heads, GELU MLPs, pre-LayerNorm, absolute positions) learns the stories of :mod:`.world`.
A concept's direction at a layer is a difference of means of the residual stream there:
stories about women and girls minus stories about men and boys, at the position where the model
is about to name the person (the "the" after the clues: the contrastive recipe, read where the
decision is made); angry stories minus calm ones over every position after the first verb (tone).
At layer 0 the stream at the naming position holds only the word "the", the same in every story,
so the gender direction there is zero: the concept is not in the stream yet. Steering adds ``α·v`` to the residual
stream entering that layer (``net.steer``), at every position.

Run as a script it trains the level's default model and writes the stored checkpoint::

    python -m levels.concept_projector.lm
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sim import nn

from . import world

HERE = Path(__file__).resolve().parent
CHECKPOINT = HERE / "checkpoint.npz"
CONCEPTS = ("gender", "tone")
#: Stories per noun and tone from which the directions are measured (a fixed seed: the same
#: directions every time for one model).
DIRECTION_STORIES = 16
DIRECTION_SEED = 12345
#: The prompt of the king-to-queen question: its three clues (he, palace, book) name the king.
NAME_PROMPT = "he lived in the palace with a book . the"
#: Where each direction is measured in a story: at the naming position (the "the" before the
#: noun) for gender, at every position after the first verb for tone.
NAMING_AT, TONE_FROM = 9, 12
#: Slices of a batch, one a tick: a frame never carries a whole Adam step.
PARTS = 3
GENERATE = 26  # words the model writes after the prompt: to the end of the second story's clues


@dataclass
class Config:
    """The model and the recipe."""

    d_model: int = 32
    layers: int = 2
    heads: int = 2
    d_mlp: int = 64
    lr: float = 3e-3
    batch: int = 24
    dtype: str = "float32"


def build(config: Config, rng: np.random.Generator) -> nn.Transformer:
    """A fresh transformer for the config."""
    return nn.Transformer(world.VOCAB, config.d_model, config.layers, config.heads, rng, max_len=world.SEQ_LEN,
                          positions="absolute", d_mlp=config.d_mlp, layer_norm=True, dtype=np.dtype(config.dtype))


@dataclass
class Run:
    """A training run: the network, Adam, the data stream and the per-step loss."""

    config: Config
    seed: int = 0
    net: nn.Transformer = field(init=False)
    optimizer: nn.Adam = field(init=False)
    losses: list = field(default_factory=list)

    def __post_init__(self):
        self._part = 0
        self.net = build(self.config, np.random.default_rng(self.seed))
        self.optimizer = nn.Adam(self.net.params, lr=self.config.lr)
        self.data = np.random.default_rng(1_000_003 + self.seed)

    @property
    def step_count(self) -> int:
        return len(self.losses)

    def train_part(self) -> float | None:
        """One of :data:`PARTS` slices of an Adam step: the forward and backward passes of a
        slice of the batch, its gradient added in; the last slice applies the step. Returns the
        step's loss when a step completes, else None. Slicing changes nothing but the order of
        float sums: the gradient of the batch's mean loss is the mean of the slices' (equal sizes)."""
        net = self.net
        if self._part == 0:
            self._batch, _, _ = world.make_batch(self.data, self.config.batch)
            self._part_losses = []
            net.zero_grad()
        rows = np.array_split(self._batch, PARTS)[self._part]
        saved, net.steer = net.steer, {}
        try:
            logits = net.forward(rows[:, :-1])
            loss, grad = nn.sequence_cross_entropy(logits, rows[:, 1:])
            net.backward(grad / PARTS)
        finally:
            net.steer = saved
        self._part_losses.append(loss)
        self._part += 1
        if self._part < PARTS:
            return None
        self.optimizer.step(net.grads)
        self._part = 0
        self.losses.append(float(np.mean(self._part_losses)))
        return self.losses[-1]

    @property
    def part(self) -> int:
        """Slices of the current Adam step done (0 between steps)."""
        return self._part

    def train(self, steps: int = 1) -> float:
        """``steps`` Adam steps on fresh batches of two-story sequences; the last loss."""
        for _ in range(steps * PARTS - self._part):
            self.train_part()
        return self.losses[-1]

    def save(self, path: Path) -> None:
        """The parameters and the loss record, float32 (well under 1 MB)."""
        state = {f"net.{k}": v.astype(np.float32) for k, v in self.net.state_dict().items()}
        np.savez_compressed(path, losses=np.asarray(self.losses, dtype=np.float32),
                            config=np.array(str(asdict(self.config))), seed=np.array(self.seed), **state)

    @classmethod
    def load(cls, path: Path) -> Run:
        """A run as stored by :meth:`save` (trained; its loss record with it)."""
        with np.load(path) as f:
            run = cls(Config(), int(f["seed"]))
            run.net.load_state_dict({k[4:]: f[k] for k in f.files if k.startswith("net.")})
            run.losses = [float(x) for x in f["losses"]]
        return run


def entropy_floor() -> float:
    """The grammar's own loss per predicted word (nats): what no model can beat on average.

    Per story: the pronoun (2 choices), the place (4: its royalty is not known yet), the object
    (4: its age is not known yet), the first verb (tone and verb, 8), its adverb (2), the second
    verb (4, the tone known) and its adverb (2): 12 ln 2; every other word, the noun included,
    is fixed by what came before. The first story's pronoun is never predicted, so a sequence's
    35 predictions carry 23 ln 2.
    """
    return 23 * math.log(2) / (world.SEQ_LEN - 1)


def directions(net: nn.Transformer) -> dict[str, np.ndarray]:
    """``{concept: (n_layers + 1, D)}``: each concept's difference of means at every layer's input
    (the last row: the stream before the unembedding), measured on fixed stories."""
    rng = np.random.default_rng(DIRECTION_SEED)
    nouns = np.repeat(np.arange(len(world.NOUNS)), 2 * DIRECTION_STORIES)
    tones = np.tile([0, 1], len(world.NOUNS) * DIRECTION_STORIES)
    tokens = world.stories(rng, nouns, tones)
    saved, net.steer = net.steer, {}
    net.forward(tokens)
    net.steer = saved
    female = np.array([world.NOUNS[n][1] for n in nouns]) == 1
    angry = tones == 1
    g, t = NAMING_AT, TONE_FROM
    gender = np.stack([r[female, g].mean(0) - r[~female, g].mean(0) for r in net.resid])
    tone = np.stack([r[angry, t:].mean((0, 1)) - r[~angry, t:].mean((0, 1)) for r in net.resid])
    return {"gender": gender.astype(np.float64), "tone": tone.astype(np.float64)}


def steered_logits(net: nn.Transformer, tokens: np.ndarray, steer: dict[int, np.ndarray]) -> np.ndarray:
    """The next-word logits after ``tokens`` with ``steer`` added (``{layer: vector}``)."""
    saved, net.steer = net.steer, {k: v.astype(net.params[0].dtype) for k, v in steer.items()}
    try:
        return net.forward(np.asarray(tokens)[None])[0, -1].astype(np.float64)
    finally:
        net.steer = saved


def logit_difference(net, dirs, layer: int, alphas, concept: str = "gender",
                     prompt: str = NAME_PROMPT) -> np.ndarray:
    """For each α: logit(queen) − logit(king) (gender) after the prompt, or the mean logit of
    the angry words minus the calm ones (tone) after the prompt and the model's own next word
    (the noun it names, unsteered)."""
    tokens = world.encode(prompt)
    if concept == "tone":
        tokens = np.append(tokens, int(np.argmax(steered_logits(net, tokens, {}))))
    out = []
    for a in np.atleast_1d(alphas):
        z = steered_logits(net, tokens, {layer: a * dirs[concept][layer]})
        out.append(tone_score(z) if concept == "tone" else z[world.INDEX["queen"]] - z[world.INDEX["king"]])
    return np.array(out)


def tone_score(logits: np.ndarray) -> float:
    """Mean logit of the angry verbs and adverbs minus the calm ones."""
    calm, angry = world.TONE_WORDS
    return float(logits[list(angry)].mean() - logits[list(calm)].mean())


def next_word(net, dirs, layer: int, alpha: float, concept: str = "gender", prompt: str = NAME_PROMPT) -> str:
    """The model's most likely next word after ``prompt`` with ``α·v`` added at ``layer``."""
    z = steered_logits(net, world.encode(prompt), {layer: alpha * dirs[concept][layer]})
    return world.WORDS[int(np.argmax(z))]


def flip_alpha(net, dirs, layer: int, high: float = 8.0, tol: float = 1e-3) -> float:
    """The smallest α ≥ 0 at which the next word after the name prompt is "queen" (a scan on a
    grid of 0.05, then bisection on logit(queen) − the largest other logit); inf if none up to
    ``high``."""
    tokens = world.encode(NAME_PROMPT)
    q = world.INDEX["queen"]

    def margin(a):
        z = steered_logits(net, tokens, {layer: a * dirs["gender"][layer]})
        return z[q] - np.delete(z, q).max()

    grid = np.arange(0.0, high + 1e-9, 0.05)
    for lo, hi in itertools.pairwise(grid):
        if margin(lo) > 0:
            return float(lo)
        if margin(hi) > 0:
            while hi - lo > tol:
                mid = 0.5 * (lo + hi)
                lo, hi = (lo, mid) if margin(mid) > 0 else (mid, hi)
            return float(hi)
    return math.inf


def generate(net, dirs, layer: int, steer: dict[str, float], prompt: str = NAME_PROMPT, n: int = GENERATE) -> np.ndarray:
    """Greedy continuation of ``prompt`` with ``Σ α_c v_c`` added at ``layer`` (``steer``:
    ``{concept: α}``): the prompt's tokens and then ``n`` new ones."""
    vector = sum(float(a) * dirs[c][layer] for c, a in steer.items())
    saved, net.steer = net.steer, {layer: np.asarray(vector, dtype=net.params[0].dtype)}
    try:
        return net.generate(world.encode(prompt), n)
    finally:
        net.steer = saved


def compression_ratio(tokens) -> float:
    """Bytes of the words after zlib over bytes before: near 1 for varied text, small for text
    that repeats itself (the generated words only, as text)."""
    raw = world.decode(tokens).encode()
    return len(zlib.compress(raw, 9)) / len(raw)


#: Word pairs the grammar allows (a word followed by another within or across stories).
def _allowed_pairs() -> set[tuple[int, int]]:
    rng = np.random.default_rng(0)
    tokens, _, _ = world.make_batch(rng, 4000)
    return set(zip(tokens[:, :-1].ravel().tolist(), tokens[:, 1:].ravel().tolist()))


_ALLOWED: set | None = None


def grammatical_share(tokens) -> float:
    """The share of consecutive word pairs that the world's grammar can produce: 1 for fluent
    text, lower as steering breaks it."""
    global _ALLOWED
    if _ALLOWED is None:
        _ALLOWED = _allowed_pairs()
    t = [int(x) for x in tokens]
    pairs = list(itertools.pairwise(t))
    return sum(p in _ALLOWED for p in pairs) / max(1, len(pairs))


def analogy(vectors: np.ndarray, a: str, b: str, c: str) -> str:
    """The word whose vector is nearest (cosine) to ``v_a − v_b + v_c``, the three inputs excluded
    (the usual rule of word-vector analogies)."""
    i = world.INDEX
    v = vectors[i[a]] - vectors[i[b]] + vectors[i[c]]
    cos = vectors @ v / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(v) + 1e-12)
    for w in (a, b, c):
        cos[i[w]] = -np.inf
    return world.WORDS[int(np.argmax(cos))]


def noun_vectors(net: nn.Transformer, layer: int) -> np.ndarray:
    """``(V, D)``: for each noun, its mean residual stream at ``layer`` at its own position over
    fixed stories, averaged over all the story's positions (other words: zero rows, never nearest
    to anything). At layer 0 this is the mean of the story's word embeddings, so a sum of its
    clues' embeddings: the analogies hold there by construction."""
    rng = np.random.default_rng(DIRECTION_SEED + 1)
    nouns = np.repeat(np.arange(len(world.NOUNS)), DIRECTION_STORIES)
    tones = np.tile([0, 1], len(nouns) // 2)
    tokens = world.stories(rng, nouns, tones)
    saved, net.steer = net.steer, {}
    net.forward(tokens)
    net.steer = saved
    out = np.zeros((world.VOCAB, net.d_model))
    for k, (word, *_rest) in enumerate(world.NOUNS):
        out[world.INDEX[word]] = net.resid[layer][nouns == k].mean((0, 1))
    return out


#: The analogies measured: (a, b, c, expected) for a − b + c.
ANALOGIES = (("king", "man", "woman", "queen"), ("prince", "boy", "girl", "princess"),
             ("queen", "woman", "man", "king"), ("king", "queen", "princess", "prince"),
             ("boy", "man", "king", "prince"), ("man", "boy", "princess", "queen"))


def main() -> None:
    """Train the level's default model and store it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=CHECKPOINT)
    args = parser.parse_args()
    run = Run(Config(), args.seed)
    start = time.perf_counter()
    for k in range(args.steps // 50):
        loss = run.train(50)
        print(f"step {run.step_count}: loss {loss:.3f} ({time.perf_counter() - start:.0f} s)")
    run.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB); floor {entropy_floor():.3f}")


if __name__ == "__main__":
    main()
