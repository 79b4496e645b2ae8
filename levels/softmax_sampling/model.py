"""Softmax and surprise: logits become probabilities, sampling draws from them, and information
theory measures them.

One vocabulary of twelve tokens and three prompts, each with its own logits for the next token.
Three lessons share them:

* **sampling**: the prompt's logits at temperature T, cut by greedy, top-k or top-p, sampled
  many times; the histogram of the draws converges on the distribution;
* **surprise**: text drawn from the data distribution p (the prompt at T = 1) is scored by a
  model q (the same logits at temperature T, uniform, or p with its top two tokens swapped):
  the mean surprise −log q(x) converges on the cross-entropy H(p, q) = H(p) + KL(p‖q);
* **mutual information**: the prompt (one of three, equally likely) and the next token, drawn
  in pairs: I(prompt; token) = H(token) − H(token | prompt), the entropy knowing the prompt
  removes.

Every step draws ``draws`` more samples with the level's kernel (:mod:`.kernels`); the draws
are counter-based, so a run is the same on every backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.sampling import STRATEGIES, keep_mask, log_softmax, ranked, sampler, softmax  # noqa: F401  (the level's maths, shared)

from sandbox.kit import derived
from sandbox.model import Model

from .kernels import draw_counts_for

VOCABULARY = ("mat", "floor", "sofa", "bed", "eggs", "toast", "cereal", "blue", "grey", "clear", "a", "the")
#: The next token's logits after each prompt (one per word of the vocabulary, in its order).
PROMPTS: dict[str, tuple[float, ...]] = {
    "The cat sat on the": (3.0, 2.3, 1.9, 1.6, -1.5, -1.8, -2.2, -1.2, -0.6, -2.0, -0.4, -1.0),
    "For breakfast I ate": (-2.5, -2.2, -2.8, -2.0, 2.6, 2.4, 2.0, -2.0, -2.4, -1.8, 1.1, 0.3),
    "The sky today is": (-2.8, -2.6, -3.0, -2.7, -2.5, -2.9, -3.0, 2.7, 2.2, 1.6, 0.6, -1.5),
}
#: Short names of the prompts, for column headings.
SHORT = {"The cat sat on the": "cat sat on…", "For breakfast I ate": "breakfast…", "The sky today is": "sky is…"}
LESSONS = ("sampling", "surprise", "mutual information")
MODELS = ("temperature", "uniform", "swapped")
#: The plug-in estimates of I kept for the plot: thinned to every other one past this many.
ESTIMATES_KEPT = 2048


# ----------------------------------------------------------------------------------------------
# the mathematics, as plain functions of arrays (the view draws a challenge's setup with them too)




def softmax_jacobian(logits, temperature: float = 1.0) -> np.ndarray:
    """∂σ_i/∂z_j = σ_i(δ_ij − σ_j) / T for σ = softmax(z / T)."""
    s = softmax(logits, temperature)
    return (np.diag(s) - np.outer(s, s)) / float(temperature)


def entropy(p) -> float:
    """H(p) = −Σ p log p in nats (0 log 0 = 0)."""
    p = np.asarray(p, dtype=np.float64).ravel()
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum()) + 0.0  # + 0.0: a certain outcome has entropy 0, not −0


def cross_entropy(p, log_q) -> float:
    """H(p, q) = −Σ p log q (nats); +inf where q is 0 on a token p can produce."""
    p, log_q = np.asarray(p, np.float64).ravel(), np.asarray(log_q, np.float64).ravel()
    on = p > 0
    return float(-(p[on] * log_q[on]).sum())


def kl(p, log_p, log_q) -> float:
    """KL(p‖q) = Σ p (log p − log q) in nats (terms with p = 0 are 0)."""
    p = np.asarray(p, np.float64).ravel()
    on = p > 0
    return float((p[on] * (np.asarray(log_p, np.float64).ravel()[on] - np.asarray(log_q, np.float64).ravel()[on])).sum())





def model_log_q(logits, temperature: float, model: str) -> np.ndarray:
    """log q for the surprise lesson's model: the data's logits at temperature T, uniform, or the
    data p (T = 1) with its two most likely tokens swapped."""
    if model == "temperature":
        return log_softmax(logits, temperature)
    if model == "uniform":
        return np.full(len(logits), -math.log(len(logits)))
    if model == "swapped":
        log_p = log_softmax(logits)
        first, second = ranked(log_p)[:2]
        out = log_p.copy()
        out[[first, second]] = log_p[[second, first]]
        return out
    raise ValueError(f"unknown model {model!r}; valid: {', '.join(MODELS)}")


def conditional_table(temperature: float) -> np.ndarray:
    """P(token | prompt) for every prompt at temperature T: ``(prompts, tokens)``, rows sum to 1."""
    return np.stack([softmax(z, temperature) for z in PROMPTS.values()])


def mutual_information(joint) -> float:
    """I(X; Y) = Σ P(x, y) log P(x, y) / (P(x) P(y)) = KL(P(x, y) ‖ P(x) P(y)), in nats."""
    joint = np.asarray(joint, dtype=np.float64)
    joint = joint / joint.sum()
    product = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    on = joint > 0
    return float((joint[on] * np.log(joint[on] / product[on])).sum())


def plugin_information(counts) -> float:
    """The plug-in estimate of I from a table of counts: H(X̂) + H(Ŷ) − H(X̂, Ŷ) of the empirical
    frequencies (biased upward, by about (|X| − 1)(|Y| − 1) / 2N when every cell is well filled)."""
    counts = np.asarray(counts, dtype=np.float64)
    return mutual_information(counts) if counts.sum() > 0 else 0.0


def expected_histogram_error(p, n: int | np.ndarray) -> np.ndarray:
    """The expected total-variation distance between the histogram of ``n`` draws and ``p``, for large n:
    ½ Σ E|X_i/n − p_i| ≈ Σ √(p_i (1 − p_i) / (2πn)) (each count near normal)."""
    p = np.asarray(p, dtype=np.float64).ravel()
    return np.sum(np.sqrt(p * (1 - p) / (2 * math.pi))) / np.sqrt(np.asarray(n, dtype=np.float64))


@dataclass(frozen=True)
class Picture:
    """Everything a lesson shows that follows from the parameters alone (not from the draws).

    ``drawn`` is the distribution the draws come from, flattened (the mutual information lesson
    draws (prompt, token) pairs: index prompt × V + token); ``scorer`` is log q of each of its
    outcomes, the model whose surprise is measured: the sampler itself (sampling), the model q
    (surprise), P(token | prompt) (mutual information).
    """

    lesson: str
    prompt: str
    logits: np.ndarray  # the prompt's logits (sampling, surprise)
    order: np.ndarray  # the rows, top to bottom: token indices
    full: np.ndarray  # sampling: softmax(z / T) before any cut; surprise: the data p; MI: P(token)
    drawn: np.ndarray
    scorer: np.ndarray
    q: np.ndarray  # surprise: the model q; otherwise the distribution drawn (per token)
    mask: np.ndarray  # the tokens that can be drawn next
    table: np.ndarray  # P(token | prompt) at T, (prompts, tokens)
    entropy: float
    cross_entropy: float
    kl_pq: float
    kl_qp: float
    information: float

    @property
    def kept(self) -> int:
        return int(self.mask.sum())


def picture(params: dict[str, Any]) -> Picture:
    """The :class:`Picture` of a lesson with these parameters."""
    lesson, prompt, temperature = params["lesson"], params["prompt"], float(params["temperature"])
    logits = np.asarray(PROMPTS[prompt], dtype=np.float64)
    table = conditional_table(temperature)
    information = mutual_information(table / len(table))
    # the surprise lesson's pair, reported in every lesson: data p (T = 1) against the model q; the
    # other lessons have no model to choose, and compare p with the same logits at their temperature
    log_p = log_softmax(logits)
    log_q = model_log_q(logits, temperature, params["model"] if lesson == "surprise" else "temperature")
    p, q = np.exp(log_p), np.exp(log_q)
    surprise = {"kl_pq": kl(p, log_p, log_q), "kl_qp": kl(q, log_q, log_p)}
    if lesson == "sampling":
        full = softmax(logits, temperature)
        drawn = sampler(logits, temperature, params["strategy"], params["top_k"], params["top_p"])
        with np.errstate(divide="ignore"):
            scorer = np.log(drawn)
        h = entropy(drawn)
        return Picture(lesson, prompt, logits, ranked(logits), full, drawn, scorer, drawn, drawn > 0, table,
                       h, h, information=information, **surprise)
    if lesson == "surprise":
        return Picture(lesson, prompt, logits, ranked(logits), p, p, log_q, q, p > 0, table, entropy(p),
                       cross_entropy(p, log_q), information=information, **surprise)
    if lesson == "mutual information":
        joint = table / len(table)
        marginal = joint.sum(axis=0)
        conditional = float(np.mean([entropy(row) for row in table]))
        return Picture(lesson, prompt, logits, np.arange(len(VOCABULARY)), marginal, joint.ravel(),
                       np.log(table).ravel(), marginal, marginal > 0, table, entropy(marginal), conditional,
                       information=information, **surprise)
    raise ValueError(f"unknown lesson {lesson!r}; valid: {', '.join(LESSONS)}")


# ----------------------------------------------------------------------------------------------
# the simulation


class SoftmaxSampling(Model):
    """Draws ``draws`` samples a step from the lesson's distribution and keeps their counts.

    For the view: ``picture()`` (the :class:`Picture` of the current parameters), ``counts``
    (per outcome of ``picture().drawn``), ``frequencies()``, ``token_frequencies()`` (per
    token; the mutual information lesson: per prompt and token), ``estimates()`` (the plug-in
    estimates of I so far, mutual information lesson).
    """

    work_unit = "draws"

    @derived("lesson", "prompt", "temperature", "strategy", "top_k", "top_p", "model")
    def picture(self) -> Picture:
        """The lesson's distributions and their exact information quantities."""
        return picture(self.params)

    def reset(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self.counter = 0
        self.counts = np.zeros(len(self.picture().drawn), dtype=np.int64)
        self._estimates: list[tuple[int, float]] = []
        self._draw()

    def step(self) -> None:
        self.counter += 1
        self._draw()

    def _draw(self) -> None:
        drawn = self.picture().drawn
        if len(self.counts) != len(drawn):  # a parameter that reshapes the draws restarts the counts
            self.counts = np.zeros(len(drawn), dtype=np.int64)
        self.counts += draw_counts_for(drawn, self.seed, self.counter, int(self.params["draws"]), self.backend)
        if self.params["lesson"] == "mutual information":
            self._estimates.append((self.samples, self.information_estimate()))
            if len(self._estimates) > ESTIMATES_KEPT:
                self._estimates = self._estimates[::2]

    @property
    def samples(self) -> int:
        return int(self.counts.sum())

    def frequencies(self) -> np.ndarray:
        """The share of the draws each outcome got (zeros before any draw)."""
        total = self.counts.sum()
        return self.counts / total if total else np.zeros(len(self.counts))

    def token_frequencies(self) -> np.ndarray:
        """The draws' shares per token; in the mutual information lesson the share of each token
        among the draws of each prompt, ``(prompts, tokens)``."""
        if self.params["lesson"] != "mutual information":
            return self.frequencies()
        table = self.counts.reshape(len(PROMPTS), len(VOCABULARY)).astype(np.float64)
        totals = table.sum(axis=1, keepdims=True)
        return np.divide(table, totals, out=np.zeros_like(table), where=totals > 0)

    def mean_surprise(self) -> float:
        """The mean of −log q over the draws (q: the lesson's scorer)."""
        drawn = self.counts > 0
        total = self.counts.sum()
        return float(-(self.counts[drawn] * self.picture().scorer[drawn]).sum() / total) + 0.0 if total else 0.0

    def histogram_error(self) -> float:
        """Total-variation distance between the draws' histogram and the distribution drawn from."""
        return float(0.5 * np.abs(self.frequencies() - self.picture().drawn).sum())

    def information_estimate(self) -> float:
        """The plug-in estimate of I(prompt; token) from the pairs drawn (mutual information lesson)."""
        return plugin_information(self.counts.reshape(len(PROMPTS), -1))

    def estimates(self) -> np.ndarray:
        """(samples, plug-in estimate of I) after each step so far: ``(N, 2)``, thinned past
        ``ESTIMATES_KEPT`` rows."""
        return np.array(self._estimates, dtype=np.float64).reshape(-1, 2)

    def observables(self) -> dict[str, float]:
        pic = self.picture()
        surprise = self.mean_surprise()
        return {
            "samples": float(self.samples),
            "entropy": pic.entropy,
            "perplexity": math.exp(pic.entropy),
            "kept": float(pic.kept),
            "histogram_error": self.histogram_error(),
            "mean_surprise": surprise,
            "measured_perplexity": math.exp(surprise),
            "cross_entropy": pic.cross_entropy,
            "kl_pq": pic.kl_pq,
            "kl_qp": pic.kl_qp,
            "information": pic.information,
            "counts": self.counts.astype(np.float64),
        }

    def work_per_step(self) -> float:
        return float(self.params["draws"])

    def state(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts.astype(np.float64)}

    # ------------------------------------------------------------------------------------------
    # challenge measurements, from the recorded run

    def measure_kept(self, run) -> int:
        """How many tokens the strategy keeps in the run."""
        return int(np.rint(run.series("kept")[-1]))

    def measure_perplexity(self, run) -> float:
        """The perplexity e^H of the distribution drawn from."""
        return float(run.series("perplexity")[-1])

    def measure_larger_kl(self, run) -> str:
        """Which direction of KL is larger for the run's pair (data p, model q)."""
        return "KL(p‖q)" if run.series("kl_pq")[-1] > run.series("kl_qp")[-1] else "KL(q‖p)"

    def measure_measured_perplexity(self, run) -> float:
        """exp of the mean surprise of the run's draws under its model."""
        return float(run.series("measured_perplexity")[-1])

    def measure_information(self, run) -> float:
        """I(prompt; next token) in nats."""
        return float(run.series("information")[-1])
