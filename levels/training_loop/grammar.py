"""The tiny corpus: sentences drawn from a small stochastic grammar, so its entropy is known exactly.

Every sentence is ``det [adj] noun verb det noun.`` with each word chosen uniformly (the
adjective present half the time), then ``". "``. The text is a string of characters; because
spaces separate the words, the characters determine the choices and the choices determine the
characters, so the text carries exactly the information of the choices:

    H per character = H(sentence) / E[characters per sentence]

(sentences are independent, so this ratio of expectations is the entropy rate of the character
stream). No model of the characters can do better on average: ``exp`` of it is the corpus's own
perplexity, the floor the training loop falls toward. The grammar also scores any text exactly
(log P of a sentence is the sum of log-probabilities of its choices: the chain rule of
probability), and gives the true P(next character | the sentence so far).
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import product

import numpy as np

DETERMINERS = ("the", "a")
ADJECTIVES = ("red", "big", "old", "small", "quick")
NOUNS = ("cat", "dog", "bird", "fox", "hen", "owl", "cow", "bee")
VERBS = ("sees", "likes", "finds", "chases", "bites", "hears")
#: The chance that the subject has an adjective.
P_ADJECTIVE = 0.5
#: What ends every sentence (the next one follows at once).
END = ". "
#: The corpus: this many sentences, the last HELD_OUT of them kept out of training.
SENTENCES = 1200
HELD_OUT = 100
#: The corpus is the same text on every run and every machine (the training seed varies).
CORPUS_SEED = 2026


def sample_sentence(rng: np.random.Generator) -> str:
    """One sentence of the grammar, with its end."""
    words = [DETERMINERS[rng.integers(len(DETERMINERS))]]
    if rng.random() < P_ADJECTIVE:
        words.append(ADJECTIVES[rng.integers(len(ADJECTIVES))])
    words += [NOUNS[rng.integers(len(NOUNS))], VERBS[rng.integers(len(VERBS))],
              DETERMINERS[rng.integers(len(DETERMINERS))], NOUNS[rng.integers(len(NOUNS))]]
    return " ".join(words) + END


@lru_cache(maxsize=1)
def all_sentences() -> tuple[tuple[str, ...], np.ndarray]:
    """Every sentence the grammar can make and its probability (they sum to 1)."""
    texts, probs = [], []
    subjects = [((d,), 1.0 - P_ADJECTIVE) for d in DETERMINERS]
    subjects += [((d, a), P_ADJECTIVE / len(ADJECTIVES)) for d in DETERMINERS for a in ADJECTIVES]
    for (head, p_head), n1, v, d2, n2 in product(subjects, NOUNS, VERBS, DETERMINERS, NOUNS):
        texts.append(" ".join(head + (n1, v, d2, n2)) + END)
        probs.append(p_head / len(DETERMINERS) / len(NOUNS) / len(VERBS) / len(DETERMINERS) / len(NOUNS))
    return tuple(texts), np.array(probs)


def sentence_entropy() -> float:
    """H(sentence) in nats: the information in one sentence's choices."""
    _, p = all_sentences()
    return float(-(p * np.log(p)).sum())


def mean_sentence_length() -> float:
    """E[characters per sentence], the end included."""
    texts, p = all_sentences()
    return float(sum(len(t) * q for t, q in zip(texts, p)))


def entropy_rate() -> float:
    """The corpus's own entropy, nats per character: H(sentence) / E[characters]."""
    return sentence_entropy() / mean_sentence_length()


def sentence_log_prob(sentence: str) -> float:
    """log P(sentence) under the grammar: the sum of its choices' log-probabilities."""
    _texts, p = all_sentences()
    index = _sentence_index().get(sentence)
    if index is None:
        raise ValueError(f"{sentence!r} is not a sentence of the grammar")
    return float(np.log(p[index]))


@lru_cache(maxsize=1)
def _sentence_index() -> dict[str, int]:
    texts, _ = all_sentences()
    return {t: i for i, t in enumerate(texts)}


def split_sentences(text: str) -> list[str]:
    """The text cut into its sentences, each with its end."""
    parts = text.split(END)
    if parts[-1] == "":
        parts = parts[:-1]
    return [s + END for s in parts]


def text_log_prob(text: str) -> float:
    """log P(text) under the grammar, for a text made of whole sentences."""
    return sum(sentence_log_prob(s) for s in split_sentences(text))


@lru_cache(maxsize=4096)
def true_next(prefix: str) -> dict[str, float]:
    """The grammar's own P(next character | the sentence so far), from every sentence that
    starts with ``prefix`` (the characters since the last sentence's end)."""
    texts, p = all_sentences()
    mass: dict[str, float] = {}
    n = len(prefix)
    for t, q in zip(texts, p):
        if len(t) > n and t.startswith(prefix):
            mass[t[n]] = mass.get(t[n], 0.0) + float(q)
    total = sum(mass.values())
    if total <= 0.0:
        raise ValueError(f"no sentence of the grammar starts with {prefix!r}")
    return {c: m / total for c, m in mass.items()}


def sentence_prefix(text: str, position: int) -> str:
    """The characters of ``text`` before ``position`` that belong to the sentence ``position`` is in."""
    start = text.rfind(END, 0, position)
    start = 0 if start < 0 else start + len(END)
    start = min(start, position)  # at the space of an end the next sentence has not begun
    return text[start:position]


class Corpus:
    """The level's text: ``train`` and ``held_out`` (the last :data:`HELD_OUT` sentences), their
    characters as token ids over the sorted alphabet ``chars`` (V of them)."""

    def __init__(self, sentences: int = SENTENCES, held_out: int = HELD_OUT, seed: int = CORPUS_SEED):
        if not 0 < held_out < sentences:
            raise ValueError("the held-out part must be some, not all, of the sentences")
        rng = np.random.default_rng(seed)
        lines = [sample_sentence(rng) for _ in range(sentences)]
        self.sentences = lines
        self.train_text = "".join(lines[:-held_out])
        self.held_out_text = "".join(lines[-held_out:])
        self.text = self.train_text + self.held_out_text
        # every character the grammar can write, so a held-out character is never unknown
        self.chars = "".join(sorted(set("".join(DETERMINERS + ADJECTIVES + NOUNS + VERBS) + END)))
        self.V = len(self.chars)
        self.lookup = {c: i for i, c in enumerate(self.chars)}
        self.ids = self.encode(self.text)
        self.split = len(self.train_text)  # held-out characters are ids[split:]

    def encode(self, text: str) -> np.ndarray:
        """Characters → token ids; a character outside the alphabet is a clear error."""
        bad = sorted(set(text) - set(self.chars))
        if bad:
            raise ValueError(f"characters outside the alphabet: {''.join(bad)!r}")
        return np.fromiter((self.lookup[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        """Token ids → characters."""
        return "".join(self.chars[int(i)] for i in ids)

    def held_out_floor(self) -> float:
        """The grammar's own cross-entropy on the held-out text, nats per character: what the
        true model scores there (near :func:`entropy_rate`; finite text wanders around it)."""
        return -text_log_prob(self.held_out_text) / len(self.held_out_text)


def floor_perplexity() -> float:
    """exp(entropy rate): the perplexity of the grammar itself, the best any model can reach."""
    return math.exp(entropy_rate())
