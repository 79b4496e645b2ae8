"""Selective scan: the selective-copying game, an LTI SSM that cannot play it, and the
parallel scan tree that computes both."""

from __future__ import annotations

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model
from sim.scan import TREE_KINDS, affine_scan, scan_tree_levels, tree_depth, tree_work

NOISE = -1  # mark of a token that belongs to no register


def make_stream(length: int, registers: int, vocab: int, burst: int, rng: np.random.Generator):
    """A stream of token values with ``registers`` marked tokens among noise.

    Returns ``(values, marks, targets)``: ``values[t]`` in 0..vocab-1, ``marks[t]`` the register
    a token is marked for (or NOISE), ``targets[r]`` the value register r must remember. The
    marked tokens come in register order; the last one is followed by exactly ``burst`` noise
    tokens (as many as fit).
    """
    burst = min(burst, length - registers)
    values = rng.integers(0, vocab, length)
    marks = np.full(length, NOISE)
    last = length - burst - 1
    earlier = np.sort(rng.choice(last, registers - 1, replace=False)) if registers > 1 else np.zeros(0, int)
    positions = np.append(earlier, last)
    marks[positions] = np.arange(registers)
    return values, marks, values[positions]


def selective_gates(marks: np.ndarray, registers: int, delta_mark: float, delta_noise: float) -> np.ndarray:
    """Delta(x) per token and register, ``(L, K)``: ``delta_mark`` where a token is marked for the
    register, ``delta_noise`` everywhere else. This is the selection: the gate reads the input."""
    gates = np.full((len(marks), registers), float(delta_noise))
    gates[marks[:, None] == np.arange(registers)[None, :]] = float(delta_mark)
    return gates


def lti_gates(length: int, registers: int, delta: float) -> np.ndarray:
    """A constant Delta per register, the same for every token (time-invariant), ``(L, K)``.

    The registers get time scales spread over a decade below ``delta``, the most generous an
    LTI model of this size can be: some remember longer, some react faster.
    """
    spread = 10.0 ** (-np.arange(registers) / max(1, registers - 1))
    return np.broadcast_to(delta * spread, (length, registers)).copy()


def ssm_states(gates: np.ndarray, values: np.ndarray, vocab: int, backend: str) -> np.ndarray:
    """States ``h_t[r] = a h_{t-1}[r] + (1 - a) e(x_t)`` with ``a = exp(-Delta_t[r])``, ``(L, K, V)``.

    Zero-order hold of ``h' = -h + e(x)`` with step Delta: a large step lands on the input, a
    small one barely moves. ``e`` is one-hot over the vocabulary; all K x V channels run through
    one affine scan.
    """
    length, registers = gates.shape
    decays = np.exp(-gates)
    embedded = np.eye(vocab)[values]
    inputs = (1.0 - decays)[:, :, None] * embedded[:, None, :]
    channel_decays = np.repeat(decays, vocab, axis=1)
    return affine_scan(channel_decays, inputs.reshape(length, registers * vocab),
                       backend=backend).reshape(length, registers, vocab)


def token_weights(decays: np.ndarray, t: int) -> np.ndarray:
    """How much of each token s <= t is in a state at time t: ``(1 - a_s) a_{s+1} ... a_t``.

    The state is linear in the inputs, so these weights say exactly what it holds.
    """
    log_after = np.concatenate([np.cumsum(np.log(decays[: t + 1])[::-1])[::-1][1:], [0.0]])
    return (1.0 - decays[: t + 1]) * np.exp(log_after)


def stream_scores(run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each stream's score from the recorded run: ``(streams, selective, lti)``, the fraction of
    registers each model copied, as last recorded while that stream played (1-based streams)."""
    rounds = np.asarray(run.series("round"))
    last = np.flatnonzero(np.append(rounds[1:] != rounds[:-1], True))  # the last record of each stream
    return (rounds[last] + 1, np.asarray(run.series("selective_accuracy"))[last],
            np.asarray(run.series("lti_accuracy"))[last])


class SelectiveScan(Model):
    """Selective copying with gates Delta(x), an LTI SSM of the same size, and the scan tree.

    Public state for the view (L = ``stream_len``, K = ``registers``, V = ``vocab``):

    * ``values``, ``marks`` (register or NOISE), ``targets``: the stream and what to remember.
    * ``gates``: the selective Delta per token and register, ``(L, K)``; ``lti_gates`` likewise.
    * ``selective_states``, ``lti_states``: ``(L, K, V)`` states after each token;
      ``decoded_selective``, ``decoded_lti``: ``(L, K)`` the value each register reads as.
    * ``position``: the playhead, 1..L (show states[position - 1]); ``round``: streams played;
      ``score``: (selective, LTI) fraction of registers copied in this stream (the earlier streams'
      scores are in the recorded run: :func:`stream_scores`).
    * ``shares(register)``: what each token is worth in a register's state, both models;
      ``token_deltas``: each token's Delta for the register it is marked for (else the noise Delta).
    * ``tree_levels``: the rounds of the parallel scan (:class:`sim.scan.TreeLevel`) over
      ``tree_a``, ``tree_b`` (``tree_n`` pairs); ``tree_sequential``: the loop's states;
      ``tree_level``: the animation cursor, 0 (inputs) .. depth; ``tree_after(rounds)``: the values
      after a number of rounds; ``loop_steps``: how far the loop has got meanwhile.
    * ``marked_share(register)``: what a register's marked token is worth in its state now.
    """

    work_unit = "tokens"

    def work_per_step(self) -> float:
        return float(self.params["tokens_per_step"])

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        self.round = 0
        self._played = np.zeros(2)  # the scores of the finished streams, summed
        self._new_stream()
        self._build_tree()
        self._tree_clock = 0

    # -- the game -----------------------------------------------------------------------------

    def _new_stream(self) -> None:
        p = self.params
        rng = np.random.default_rng([self.seed, self.round])
        self.values, self.marks, self.targets = make_stream(p["stream_len"], p["registers"], p["vocab"],
                                                            p["burst"], rng)
        self.position = 1
        self._run_models()

    def _run_models(self) -> None:
        p = self.params
        length, registers, vocab = p["stream_len"], p["registers"], p["vocab"]
        self.gates = selective_gates(self.marks, registers, p["delta_mark"], p["delta_noise"])
        self.lti_gates = lti_gates(length, registers, p["lti_delta"])
        self.selective_states = ssm_states(self.gates, self.values, vocab, self.backend)
        self.lti_states = ssm_states(self.lti_gates, self.values, vocab, self.backend)
        self.decoded_selective = np.argmax(self.selective_states, axis=2)
        self.decoded_lti = np.argmax(self.lti_states, axis=2)
        self.score = (float(np.mean(self.decoded_selective[-1] == self.targets)),
                      float(np.mean(self.decoded_lti[-1] == self.targets)))

    def set_param(self, name, value) -> None:
        super().set_param(name, value)
        if name in ("delta_mark", "delta_noise", "lti_delta"):
            self._run_models()
        elif name in ("tree", "tree_n"):
            self._build_tree()

    def weights_in_register(self, register: int, t: int | None = None) -> np.ndarray:
        """The share of each token 0..t in ``register``'s selective state after token t."""
        t = self.position - 1 if t is None else t
        return token_weights(np.exp(-self.gates[:, register]), t)

    def shares(self, register: int) -> tuple[np.ndarray, np.ndarray]:
        """The share of each token so far in ``register``'s state: (selective, LTI)."""
        t = self.position - 1
        return self.weights_in_register(register, t), token_weights(np.exp(-self.lti_gates[:, register]), t)

    def marked_share(self, register: int) -> float | None:
        """The share of ``register``'s marked token in its selective state now; None before it arrives."""
        arrived = np.flatnonzero(self.marks[: self.position] == register)
        return float(self.weights_in_register(register)[arrived[0]]) if len(arrived) else None

    @staticmethod
    def taken(delta: float) -> float:
        """The share 1 - e^(-Delta) of the state that one token with step Delta takes."""
        return 1.0 - float(np.exp(-delta))

    @property
    def kept_after_burst(self) -> float:
        """What the last marked token keeps of its share after the burst: e^(-burst * Delta_noise)."""
        return float(np.exp(-self.params["burst"] * self.params["delta_noise"]))

    @property
    def token_deltas(self) -> np.ndarray:
        """Each token's Delta for the register it is marked for; a noise token's noise Delta."""
        return self.gates[np.arange(len(self.marks)), np.where(self.marks != NOISE, self.marks, 0)]

    @derived()
    def depth_table(self, largest: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Both trees' rounds for every N from 2 to ``largest``, as steps: (sizes, kind -> rounds),
        the rounds at each size holding until the next size. The sizes are those where a count can
        change (Brent-Kung's up-sweep gains a round at 2^m, its down-sweep at 3·2^k; Hillis-Steele
        at 2^m + 1), so a stairs plot of them is exact at every N, powers of two or not."""
        marks = {2, int(largest)}
        for m in range(1, int(np.log2(largest)) + 2):
            marks.update(n for n in (2 ** m, 2 ** m + 1, 3 * 2 ** (m - 1)) if 2 <= n <= largest)
        sizes = np.array(sorted(marks))
        return sizes.astype(np.float64), {kind: np.array([tree_depth(int(n), kind) for n in sizes], np.float64)
                                          for kind in TREE_KINDS}

    # -- the scan tree ------------------------------------------------------------------------

    def _build_tree(self) -> None:
        n = self.params["tree_n"]
        rng = np.random.default_rng([self.seed, 10_000])
        self.tree_a = rng.uniform(0.5, 1.0, n)
        self.tree_b = rng.uniform(-1.0, 1.0, n)
        self.tree_levels = scan_tree_levels(self.tree_a, self.tree_b, self.params["tree"])
        self.tree_sequential = affine_scan(self.tree_a, self.tree_b, backend=self.backend)
        self.tree_level = 0

    @property
    def loop_steps(self) -> int:
        """The steps the sequential loop has taken on the tree's clock: one per round."""
        return min(self.tree_level, len(self.tree_b) - 1)

    def tree_after(self, rounds: int) -> np.ndarray:
        """The tree's values after its first ``rounds`` rounds (0: the inputs b; all: the scan)."""
        return self.tree_b if rounds == 0 else self.tree_levels[rounds - 1].b

    # -- stepping -----------------------------------------------------------------------------

    def step(self) -> None:
        self.position += self.params["tokens_per_step"]
        if self.position > self.params["stream_len"]:
            self._played += self.score
            self.round += 1
            self._new_stream()
        self._tree_clock += 1
        if self._tree_clock >= self.params["tree_steps_per_level"]:
            self._tree_clock = 0
            self.tree_level = (self.tree_level + 1) % (len(self.tree_levels) + 1)

    def observables(self) -> dict[str, float]:
        t = self.position - 1
        noise = float(self.weights_in_register(0, t)[self.marks[: t + 1] != 0].sum())
        means = (self._played + self.score) / (self.round + 1)
        mark = self.marks[t]
        return {
            "position": float(self.position),
            "round": float(self.round),
            "gate": float(self.gates[t, mark] if mark != NOISE else self.params["delta_noise"]),
            "marked_take": self.taken(self.params["delta_mark"]),
            "noise_take": self.taken(self.params["delta_noise"]),
            "kept_after_burst": self.kept_after_burst,
            "marked_weight": self.marked_share(0) or 0.0,
            "noise_weight": noise,
            "selective_accuracy": self.score[0],
            "lti_accuracy": self.score[1],
            "mean_selective_accuracy": float(means[0]),
            "mean_lti_accuracy": float(means[1]),
            "tree_depth": float(len(self.tree_levels)),
            "tree_work": float(tree_work(self.params["tree_n"], self.params["tree"])),
            "tree_level": float(self.tree_level),
            "scan_error": float(np.max(np.abs(self.tree_after(len(self.tree_levels)) - self.tree_sequential))),
        }

    def state(self) -> dict[str, np.ndarray]:
        return {"selective_states": self.selective_states, "lti_states": self.lti_states,
                "tree_sequential": self.tree_sequential}

    # -- challenges ---------------------------------------------------------------------------

    def measure_burst_outcome(self, run) -> str:
        """What register 0 holds at the end of the stream: a token with at least half of the
        state's weight, or a blur when no single token has that much."""
        weights = self.weights_in_register(0, len(self.values) - 1)
        marked = int(np.flatnonzero(self.marks == 0)[0])
        if weights[marked] >= 0.5:
            return "the marked token"
        if weights[-1] >= 0.5 and self.marks[-1] == NOISE:
            return "the last noise token"
        return "a blur of the burst"

    def measure_parallel_steps(self, run) -> float:
        """The number of parallel rounds of the scan tree over ``tree_n`` tokens, as recorded."""
        return float(run.series("tree_depth")[-1])
