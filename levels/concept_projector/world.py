"""The Concept Projector's synthetic world: eight people who vary along gender, royalty and age,
told about in short stories whose verbs and adverbs carry one tone, calm or angry.

A story (18 words): ``PRON lived in the P with a OBJ . the N V1 ADV and PRON V2 ADV .`` where

- ``N`` is one of the eight nouns (king, queen, prince, princess, man, woman, boy, girl);
- the story names its person only after three clues: ``PRON`` gives the gender (he / she), ``P``
  the royalty (palace, castle / village, farm), ``OBJ`` the age (adults: book, cup; young: ball,
  kite); so the noun after "the" is fixed by the clues, and a model must combine them to name it;
- ``V1``, ``V2`` and the adverbs are drawn from the story's tone (calm or angry), one tone a
  story: the first verb reveals it and every later one depends on it.

A training sequence is two stories one after the other (their people and tones independent).
Everything is generated here, with numpy, from a seed: nothing is downloaded.
"""

from __future__ import annotations

import numpy as np

#: The people: (word, gender, royal, young) with gender 0 male, 1 female.
NOUNS = (("king", 0, 1, 0), ("queen", 1, 1, 0), ("prince", 0, 1, 1), ("princess", 1, 1, 1),
         ("man", 0, 0, 0), ("woman", 1, 0, 0), ("boy", 0, 0, 1), ("girl", 1, 0, 1))
PRONOUNS = ("he", "she")
PLACES = (("village", "farm"), ("palace", "castle"))  # by royalty
OBJECTS = (("book", "cup"), ("ball", "kite"))  # by age
#: Verbs and adverbs by tone: 0 calm, 1 angry.
VERBS = (("smiled", "rested", "sang", "waited"), ("shouted", "growled", "stormed", "yelled"))
ADVERBS = (("softly", "kindly"), ("loudly", "fiercely"))
FUNCTION = ("the", "lived", "in", "with", "a", "and", ".")

WORDS = tuple(dict.fromkeys(
    FUNCTION + tuple(n[0] for n in NOUNS) + PRONOUNS + sum(PLACES, ()) + sum(OBJECTS, ())
    + sum(VERBS, ()) + sum(ADVERBS, ())))
VOCAB = len(WORDS)
INDEX = {w: i for i, w in enumerate(WORDS)}
STORY_LEN = 18
SEQ_LEN = 2 * STORY_LEN
TONE_WORDS = (tuple(INDEX[w] for w in VERBS[0] + ADVERBS[0]), tuple(INDEX[w] for w in VERBS[1] + ADVERBS[1]))
NOUN_IDS = tuple(INDEX[n[0]] for n in NOUNS)


def encode(text: str | list[str]) -> np.ndarray:
    """Word tokens from text (words separated by spaces, any case); a clear error for a word
    outside the world's vocabulary."""
    items = text.split() if isinstance(text, str) else list(text)
    unknown = [w for w in items if w.lower() not in INDEX]
    if unknown:
        raise ValueError(f"not in the vocabulary: {', '.join(unknown)}")
    return np.array([INDEX[w.lower()] for w in items], dtype=np.int64)


def decode(tokens) -> str:
    """Text from word tokens."""
    return " ".join(WORDS[int(t)] for t in tokens)


def story(rng: np.random.Generator, noun: int | None = None, tone: int | None = None) -> tuple[list[str], int, int]:
    """One story's words, its noun's index in :data:`NOUNS` and its tone (drawn unless given)."""
    n = int(rng.integers(len(NOUNS))) if noun is None else noun
    t = int(rng.integers(2)) if tone is None else tone
    tokens = stories(rng, np.array([n]), np.array([t]))[0]
    return [WORDS[int(x)] for x in tokens], n, t


_NOUN_TABLE = np.array([[INDEX[w], g, r, y] for w, g, r, y in NOUNS])
_VERB_TABLE = np.array([[INDEX[v] for v in row] for row in VERBS])
_ADVERB_TABLE = np.array([[INDEX[a] for a in row] for row in ADVERBS])
_PLACE_TABLE = np.array([[INDEX[p] for p in row] for row in PLACES])
_OBJECT_TABLE = np.array([[INDEX[o] for o in row] for row in OBJECTS])
_PRONOUN_TABLE = np.array([INDEX[p] for p in PRONOUNS])


def stories(rng: np.random.Generator, nouns: np.ndarray, tones: np.ndarray) -> np.ndarray:
    """Token arrays ``(n, STORY_LEN)`` of stories about ``nouns`` (indices into :data:`NOUNS`) in
    ``tones`` (0 calm, 1 angry), the free words drawn from ``rng``."""
    nouns, tones = np.asarray(nouns), np.asarray(tones)
    n = len(nouns)
    word, gender, royal, young = _NOUN_TABLE[nouns].T
    col = lambda value: np.full(n, INDEX[value])
    verb = lambda: _VERB_TABLE[tones, rng.integers(0, _VERB_TABLE.shape[1], n)]
    adverb = lambda: _ADVERB_TABLE[tones, rng.integers(0, _ADVERB_TABLE.shape[1], n)]
    pronoun = _PRONOUN_TABLE[gender]
    columns = [pronoun, col("lived"), col("in"), col("the"), _PLACE_TABLE[royal, rng.integers(0, 2, n)],
               col("with"), col("a"), _OBJECT_TABLE[young, rng.integers(0, 2, n)], col("."),
               col("the"), word, verb(), adverb(), col("and"), pronoun, verb(), adverb(), col(".")]
    return np.stack(columns, axis=1).astype(np.int64)


def make_batch(rng: np.random.Generator, size: int):
    """``size`` sequences of two stories: tokens ``(size, SEQ_LEN)``, the nouns ``(size, 2)`` and
    the tones ``(size, 2)``."""
    nouns = rng.integers(0, len(NOUNS), (size, 2))
    tones = rng.integers(0, 2, (size, 2))
    tokens = np.concatenate([stories(rng, nouns[:, 0], tones[:, 0]), stories(rng, nouns[:, 1], tones[:, 1])], axis=1)
    return tokens, nouns, tones
