"""Task arithmetic on a small network: skills, a shared pre-trained start, task vectors, merges.

The network (the shared kit's :class:`sim.nn.Sequential` of dense ReLU layers) reads a point
``x`` of the square [-1, 1]² and a one-hot *task flag* that says which skill is asked (the
prompt of a language model plays that part), and answers one of four classes. Each skill is a
different partition of the square into four classes (rings, sectors, stripes).

A run has phases, trained one chunk at a time so that the app stays smooth:

1. *pre-training*: every skill, for a short budget, so the pre-trained model has each skill
   partly (a skill it never had cannot be forgotten by negation);
2. *fine-tuning* from that one start, once per skill, on that skill alone: θ_k, and the task
   vector τ_k = θ_k − θ_pre;
3. a *second lineage*: another pre-training from another random start, fine-tuned on skill B,
   so that two models with different ancestors can be averaged.

Run as a script it trains the level's default run and writes the checkpoint::

    python levels/model_mixer/mixer.py --seed 0 --checkpoint levels/model_mixer/checkpoints/seed0.npz
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: the repository root holds sim
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sim import nn

SKILLS = ("rings", "sectors", "stripes")
N_SKILLS = len(SKILLS)
N_CLASSES = 4
CHANCE = 1.0 / N_CLASSES
IN_DIM = 3 * N_SKILLS
#: Sectors of the sectors skill (the classes go round SECTORS / 4 times) and stripes per unit length.
SECTORS = 12
STRIPES = 2.5
#: Radii that split the square [-1, 1]² into four rings of equal area (so each class is a quarter).
RING_EDGES = (0.5642, 0.7979, 0.9772)


def labels(skill: int, x: np.ndarray) -> np.ndarray:
    """The class (0..3) of each point ``x`` (n, 2) under ``skill``."""
    if skill == 0:  # four rings of equal area
        r = np.hypot(x[:, 0], x[:, 1])
        return np.searchsorted(np.asarray(RING_EDGES), r)
    if skill == 1:  # SECTORS sectors, the classes going round SECTORS / 4 times
        angle = np.arctan2(x[:, 1], x[:, 0]) % (2 * math.pi)
        return (np.floor(angle / (2 * math.pi / SECTORS)).astype(np.int64)) % 4
    if skill == 2:  # diagonal stripes
        return np.floor((x[:, 0] - 0.6 * x[:, 1] + 1.6) * STRIPES).astype(np.int64) % 4
    raise ValueError(f"skill {skill} is not one of 0..{N_SKILLS - 1}")


def inputs(skill: int | np.ndarray, x: np.ndarray) -> np.ndarray:
    """The network's input: the point and the one-hot flag of the skill asked."""
    out = np.zeros((len(x), IN_DIM))
    rows = np.arange(len(x))
    skill = np.broadcast_to(np.asarray(skill), (len(x),))
    out[rows, 2 * skill] = x[:, 0]
    out[rows, 2 * skill + 1] = x[:, 1]
    out[rows, 2 * N_SKILLS + skill] = 1.0
    return out


@dataclass(frozen=True)
class Recipe:
    """How the level trains (the defaults are the level's)."""

    width: int = 64
    pre_steps: int = 60
    fine_steps: int = 300
    batch: int = 128
    pre_lr: float = 0.01
    fine_lr: float = 0.02


def make_net(width: int, rng: np.random.Generator) -> nn.Sequential:
    """Two hidden ReLU layers of ``width`` units."""
    return nn.Sequential(nn.Dense(IN_DIM, width, rng, init="he"), nn.ReLU(),
                         nn.Dense(width, width, rng, init="he"), nn.ReLU(),
                         nn.Dense(width, N_CLASSES * N_SKILLS, rng))


def pick(logits: np.ndarray, skill: np.ndarray) -> np.ndarray:
    """Each row's four logits of the skill asked (every skill has its own output head)."""
    idx = (np.asarray(skill)[:, None] * N_CLASSES + np.arange(N_CLASSES)[None, :])
    return np.take_along_axis(logits, idx, axis=1)


class EvalSet:
    """Fixed held-out points, the same for every skill, for cheap accuracy measurements."""

    def __init__(self, n: int = 400, seed: int = 12345):
        rng = np.random.default_rng(seed)
        self.x = rng.uniform(-1, 1, size=(n, 2))
        self.inputs = np.concatenate([inputs(k, self.x) for k in range(N_SKILLS)]).astype(np.float32)
        self.skills = np.repeat(np.arange(N_SKILLS), n)
        self.labels = np.concatenate([labels(k, self.x) for k in range(N_SKILLS)])
        self.n = n


class Evaluator:
    """Forward passes of flat parameter vectors, in float32 and without the training network's
    caches: what the sliders ask for every time they move."""

    def __init__(self, width: int):
        self.width = width

    def logits(self, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        w1, b1, w2, b2, w3, b3 = unpack(np.asarray(theta, np.float32), self.width)
        h = np.maximum(np.asarray(x, np.float32) @ w1 + b1, 0.0)
        h = np.maximum(h @ w2 + b2, 0.0)
        return h @ w3 + b3

    def accuracies(self, theta: np.ndarray, data: EvalSet) -> np.ndarray:
        """Each skill's accuracy (fraction right) on the evaluation points."""
        right = np.argmax(pick(self.logits(theta, data.inputs), data.skills), axis=1) == data.labels
        return right.reshape(N_SKILLS, data.n).mean(axis=1)


def unpack(theta: np.ndarray, width: int) -> list[np.ndarray]:
    """[W1, b1, W2, b2, W3, b3] views of a flat parameter vector."""
    shapes = [(IN_DIM, width), (width,), (width, width), (width,), (width, N_CLASSES * N_SKILLS), (N_CLASSES * N_SKILLS,)]
    out, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(theta[offset:offset + size].reshape(shape))
        offset += size
    return out


def pack(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([a.reshape(-1) for a in arrays])


def linear_assignment(score: np.ndarray) -> np.ndarray:
    """The permutation ``p`` maximising ``sum_i score[i, p[i]]`` (Hungarian algorithm, O(n³))."""
    cost = -np.asarray(score, dtype=np.float64)
    n = cost.shape[0]
    u, v = np.zeros(n + 1), np.zeros(n + 1)
    p, way = np.zeros(n + 1, dtype=np.int64), np.zeros(n + 1, dtype=np.int64)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(n + 1, np.inf)
        used = np.zeros(n + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            cur = cost[i0 - 1, :] - u[i0] - v[1:]
            free = ~used[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = j0
            masked = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(masked)) + 1
            delta = masked[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    result = np.zeros(n, dtype=np.int64)
    for j in range(1, n + 1):
        result[p[j] - 1] = j - 1
    return result


def weight_matching(theta_a: np.ndarray, theta_b: np.ndarray, width: int, rounds: int = 10) -> np.ndarray:
    """``theta_b`` with its hidden units permuted to match ``theta_a`` (Git Re-Basin's weight
    matching: each layer's permutation maximises the inner product of the weights into and out of
    its units, the other layer's held fixed, alternated until nothing changes). The network's
    function is unchanged: only the names of its units move."""
    a = unpack(theta_a, width)
    b = unpack(theta_b, width)
    perms = [np.arange(width), np.arange(width)]
    for _ in range(rounds):
        changed = False
        for layer in (0, 1):
            # units of hidden layer `layer`: incoming W (rows of W.T) and bias; outgoing W rows
            p_prev = perms[0] if layer == 1 else None
            w_in_b = b[2 * layer][p_prev, :] if p_prev is not None else b[2 * layer]
            score = a[2 * layer].T @ w_in_b + np.outer(a[2 * layer + 1], b[2 * layer + 1])
            w_out_a = a[2 * layer + 2]
            w_out_b = b[2 * layer + 2]
            if layer == 0:
                w_out_b = w_out_b[:, perms[1]]
            score = score + w_out_a @ w_out_b.T
            new = linear_assignment(score)
            if not np.array_equal(new, perms[layer]):
                perms[layer] = new
                changed = True
        if not changed:
            break
    p0, p1 = perms
    w1, b1, w2, b2, w3, b3 = b
    return pack([w1[:, p0], b1[p0], w2[p0][:, p1], b2[p1], w3[p1], b3])


PHASES = ("pre-training", "fine-tuning rings", "fine-tuning sectors", "fine-tuning stripes",
          "second start: pre-training", "second start: fine-tuning sectors")


class MixerRun:
    """The whole training of the level, advanced a chunk at a time with :meth:`train`.

    After :meth:`finished`: ``theta_pre``, ``theta_ft[k]`` (one per skill), ``tau[k]``, and the
    second lineage ``theta_pre2`` and ``theta_ft2`` (fine-tuned on sectors).
    """

    def __init__(self, recipe: Recipe = Recipe(), seed: int = 0):
        self.recipe = recipe
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.steps_total = 2 * recipe.pre_steps + (N_SKILLS + 1) * recipe.fine_steps
        self.step_count = 0
        self.theta_pre: np.ndarray | None = None
        self.theta_ft: list[np.ndarray] = []
        self.theta_pre2: np.ndarray | None = None
        self.theta_ft2: np.ndarray | None = None
        self.train_seconds = 0.0
        self._phase = -1
        self._net = None
        self._opt = None
        self._next_phase()

    # -- phases -----------------------------------------------------------------------------------
    @property
    def phase(self) -> str:
        return PHASES[self._phase] if self._phase < len(PHASES) else "done"

    @property
    def finished(self) -> bool:
        return self._phase >= len(PHASES)

    @property
    def progress(self) -> float:
        return min(1.0, self.step_count / self.steps_total)

    def _phase_spec(self, phase: int) -> tuple[int, float, list[int]]:
        r = self.recipe
        if phase in (0, 4):
            return r.pre_steps, r.pre_lr, list(range(N_SKILLS))
        if phase in (1, 2, 3):
            return r.fine_steps, r.fine_lr, [phase - 1]
        return r.fine_steps, r.fine_lr, [1]

    def _next_phase(self) -> None:
        # store what the finished phase made
        done = self._phase
        if done >= 0:
            theta = self._net.parameters_vector()
            if done == 0:
                self.theta_pre = theta
            elif done in (1, 2, 3):
                self.theta_ft.append(theta)
            elif done == 4:
                self.theta_pre2 = theta
            else:
                self.theta_ft2 = theta
        self._phase += 1
        self._phase_step = 0
        if self.finished:
            self._net = self._opt = None
            return
        r = self.recipe
        if self._phase in (0, 4):  # a fresh random start
            self._net = make_net(r.width, self.rng)
        else:
            self._net = make_net(r.width, self.rng)
            self._net.set_parameters_vector(self.theta_pre if self._phase < 4 else self.theta_pre2)
        _, lr, _ = self._phase_spec(self._phase)
        if self._phase in (0, 4):
            self._opt = nn.Adam(self._net.params, lr=lr)
        else:  # fine-tuning: small plain steps, so that the model stays near its start
            self._opt = nn.SGD(self._net.params, lr=lr, momentum=0.9)

    def train(self, n: int) -> None:
        """Up to ``n`` training steps, across phases."""
        t0 = time.perf_counter()
        for _ in range(n):
            if self.finished:
                break
            steps, _, skills = self._phase_spec(self._phase)
            b = self.recipe.batch
            x = self.rng.uniform(-1, 1, size=(b, 2))
            k = self.rng.choice(skills, size=b)
            y = np.empty(b, dtype=np.int64)
            for s in skills:
                y[k == s] = labels(s, x[k == s])
            self._net.zero_grad()
            out = self._net.forward(inputs(k, x))
            _, grad = nn.softmax_cross_entropy(pick(out, k), y)
            full = np.zeros_like(out)
            np.put_along_axis(full, k[:, None] * N_CLASSES + np.arange(N_CLASSES)[None, :], grad, axis=1)
            self._net.backward(full)
            self._opt.step(self._net.grads)
            self.step_count += 1
            self._phase_step += 1
            if self._phase_step >= steps:
                self._next_phase()
        self.train_seconds += time.perf_counter() - t0

    def current(self) -> np.ndarray:
        """The parameters of the network in training (the pre-trained model once all is done)."""
        if self._net is None:
            return self.theta_pre.copy()
        return self._net.parameters_vector()

    def train_all(self) -> MixerRun:
        self.train(self.steps_total)
        return self

    # -- task arithmetic --------------------------------------------------------------------------
    @property
    def tau(self) -> list[np.ndarray]:
        return [t - self.theta_pre for t in self.theta_ft]

    def merged(self, lambdas) -> np.ndarray:
        """θ_pre + Σ λ_k τ_k."""
        theta = self.theta_pre.copy()
        for lam, tau in zip(lambdas, self.tau):
            theta += float(lam) * tau
        return theta

    def cosines(self) -> np.ndarray:
        """cos(τ_i, τ_j) for every pair of skills."""
        t = np.stack(self.tau)
        t = t / np.linalg.norm(t, axis=1, keepdims=True)
        return t @ t.T

    def different_start_average(self, aligned: bool = False) -> np.ndarray:
        """The average of the rings model (first start) and the sectors model of the second
        start; ``aligned``: the second one's hidden units permuted to match first (weight matching)."""
        other = self.theta_ft2
        if aligned:
            other = weight_matching(self.theta_ft[0], other, self.recipe.width)
        return 0.5 * (self.theta_ft[0] + other)

    def shared_start_average(self) -> np.ndarray:
        """The average of the rings and sectors models fine-tuned from one start (λ = ½ each)."""
        return 0.5 * (self.theta_ft[0] + self.theta_ft[1])

    # -- checkpoint -------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """The trained weights (float32) and the recipe."""
        r = self.recipe
        np.savez_compressed(path, theta_pre=self.theta_pre.astype(np.float32),
                            theta_ft=np.stack(self.theta_ft).astype(np.float32),
                            theta_pre2=self.theta_pre2.astype(np.float32), theta_ft2=self.theta_ft2.astype(np.float32),
                            recipe=np.array([r.width, r.pre_steps, r.fine_steps, r.batch, r.pre_lr, r.fine_lr]),
                            seed=np.array(self.seed), train_seconds=np.array(self.train_seconds))

    @classmethod
    def load(cls, path: str | Path) -> MixerRun:
        with np.load(path) as data:
            w, pre, fine, batch, pre_lr, fine_lr = data["recipe"].tolist()
            run = cls(Recipe(int(w), int(pre), int(fine), int(batch), float(pre_lr), float(fine_lr)), int(data["seed"]))
            run.theta_pre = data["theta_pre"].astype(np.float64)
            run.theta_ft = [t.astype(np.float64) for t in data["theta_ft"]]
            run.theta_pre2 = data["theta_pre2"].astype(np.float64)
            run.theta_ft2 = data["theta_ft2"].astype(np.float64)
            run.train_seconds = float(data["train_seconds"])
        run._phase = len(PHASES)
        run._net = run._opt = None
        run.step_count = run.steps_total
        return run


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the Model Mixer's run and store its weights.")
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run = MixerRun(seed=args.seed).train_all()
    run.save(args.checkpoint)
    print(f"trained {run.step_count} steps in {run.train_seconds:.1f} s; wrote {args.checkpoint}")


if __name__ == "__main__":
    main()
