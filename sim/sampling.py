"""Softmax at a temperature and the decoding rules built on it: temperature sampling, greedy,
top-k and top-p (nucleus). Plain functions of arrays, shared by every level that samples text
from logits, so one rule is written once."""

from __future__ import annotations

import numpy as np

#: the decoding rules :func:`keep_mask` knows
STRATEGIES = ("temperature", "greedy", "top-k", "top-p")


def log_softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """log softmax(z / T) over the last axis, computed stably in float64 (the largest logit is
    subtracted first)."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """softmax(z / T): the probabilities of logits ``z`` at temperature ``T`` (last axis)."""
    return np.exp(log_softmax(logits, temperature))


def ranked(p) -> np.ndarray:
    """Indices from the most to the least likely (ties: in index order)."""
    return np.argsort(-np.asarray(p, dtype=np.float64), kind="stable")


def keep_mask(p, strategy: str, top_k: int = 1, top_p: float = 1.0) -> np.ndarray:
    """Which outcomes a rule may draw from the distribution ``p``: all (temperature), the most
    likely (greedy), the ``top_k`` most likely, or the smallest set of most likely outcomes whose
    probabilities add up to at least ``top_p`` (top-p, the nucleus)."""
    p = np.asarray(p, dtype=np.float64)
    order = ranked(p)
    if strategy == "temperature":
        count = len(p)
    elif strategy == "greedy":
        count = 1
    elif strategy == "top-k":
        count = int(np.clip(top_k, 1, len(p)))
    elif strategy == "top-p":
        cumulative = np.cumsum(p[order])
        # a hair of tolerance: a head that sums to p up to rounding reaches p
        count = min(int(np.searchsorted(cumulative, float(top_p) * (1 - 1e-12), side="left")) + 1, len(p))
    else:
        raise ValueError(f"unknown strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    mask = np.zeros(len(p), dtype=bool)
    mask[order[:count]] = True
    return mask


def sampler(logits, temperature: float, strategy: str, top_k: int = 1, top_p: float = 1.0) -> np.ndarray:
    """The distribution a rule draws from: softmax(z / T) on the kept outcomes, renormalised (the
    temperature is applied before the cut)."""
    p = softmax(logits, temperature)
    kept = np.where(keep_mask(p, strategy, top_k, top_p), p, 0.0)
    return kept / kept.sum()
