"""The flow straightener: rectified flow from noise to a 2-D target, and reflow, trained live.

A small network learns the velocity of straight lines between noise and data
(:mod:`.rectified_flow`); each reflow re-pairs noise with where the learned flow takes it
and trains again. The work is a schedule of small chunks (a few training iterations, one
evaluation, a slice of the reflow integration) so that one model step stays short and a view
can show a progress bar while it trains.
"""

from __future__ import annotations

import functools
import math
from typing import Generator, Iterator

import numpy as np

from sandbox.kit import derived, forget_derived
from sandbox.model import Model
from sim.mixture import preset, sliced_wasserstein

from .rectified_flow import RectifiedFlow, bending, euler_paths, exact_velocity, generate

#: The numbers of Euler steps whose sample quality is measured after each round.
STEP_COUNTS = (1, 2, 3, 5, 10, 20, 50)
#: "Many steps": the reference quality (and the integration of the straightness measure).
MANY_STEPS = STEP_COUNTS[-1]
#: Samples per batch: a distance compares a batch of generated samples with a batch of target
#: samples of this size, and the noise floor is the distance two target batches have.
PROBES = 2048
#: Independent batches (fresh noise, fresh target samples) whose distances are averaged. One
#: batch's distance varies by about 30% from draw to draw (mostly the share of points that falls
#: in each blob), as does the floor's; 16 batches bring the mean to about 5%, so which side of the
#: bar a flow falls is decided by the flow and not by the draw.
BATCHES = 16
#: Pairs of target batches averaged into the noise floor (4% for the blobs), once per target.
FLOOR_PAIRS = 64
FLOOR_SEED = 2048
#: Generation is "good enough" within this factor of the noise floor (the challenges' bar). It
#: sits where the quality curves fall steeply, between the answers: trained with seeds 0 to 19,
#: the first flow is at 3.1 to 4.1 times the floor after 3 Euler steps and 1.2 to 1.8 after 10,
#: the reflowed one at 1.4 to 1.7 after one step. (A bar of 1.5 once sat on the curves' flat
#: tail, where the draw of the samples decided the answer.)
QUALITY_BAR = 2.5
#: Euler steps that carry the noise of the reflow pairs to their partners, and how many of the
#: pairs one model step carries.
REFLOW_STEPS = 100
REFLOW_CHUNK = 256
#: Per round, the probe points whose paths the view draws and the training pairs it draws.
SHOWN_PATHS = 96
SHOWN_PAIRS = 96
#: The square every panel shows (the noise and every target fit in it), and the velocity grid in it.
EXTENT = (-4.0, 4.0, -4.0, 4.0)
FIELD_GRID = 13
GRID = np.stack([a.ravel() for a in np.meshgrid(np.linspace(EXTENT[0], EXTENT[1], FIELD_GRID),
                                                np.linspace(EXTENT[2], EXTENT[3], FIELD_GRID))], axis=1)
#: Far or non-finite points (an untrained or diverged flow) are pinned within this for drawing.
DRAW_LIMIT = 50.0


@functools.cache
def noise_floor(target: str) -> float:
    """The noise floor of a target preset: the mean sliced Wasserstein distance between two
    independent batches of :data:`PROBES` target samples (:data:`FLOOR_PAIRS` pairs, a fixed
    draw). A perfect sampler's batch is this far from a target batch, on average."""
    law, rng = preset(target), np.random.default_rng(FLOOR_SEED)
    return float(np.mean([sliced_wasserstein(law.sample(PROBES, rng), law.sample(PROBES, rng))
                          for _ in range(FLOOR_PAIRS)]))


def drawable(points: np.ndarray) -> np.ndarray:
    return np.clip(np.where(np.isfinite(points), points, 0.0), -DRAW_LIMIT, DRAW_LIMIT)


def round_row(evaluation: dict) -> list[float]:
    """A round's row of the ``rounds`` observable: the straightness S, the distance to the target
    after each of :data:`STEP_COUNTS` Euler steps, and the steps that reach the bar."""
    return [evaluation["straightness"], *(evaluation["quality"][n] for n in STEP_COUNTS),
            evaluation["steps_to_quality"]]


class FlowStraightener(Model):
    """Rectified flow and reflow between ``N(0, I)`` and a Gaussian-mixture target.

    For the view (round ``k``: 0 is the first flow, ``k`` the flow after ``k`` reflows):

    * ``flow``: the :class:`.rectified_flow.RectifiedFlow` (``flow.field`` is the network
      being trained, ``flow.fields`` all of them, ``flow.pairs`` the reflow pairs or None);
    * ``phase``: "training", "evaluating", "reflowing" or "done"; ``round``: reflows so far;
      ``phase_progress`` and ``progress`` (0..1, the progress bar);
    * the ``rounds`` observable: one row per evaluated round (:func:`round_row`);
    * :meth:`paths` and :meth:`particles`: Euler paths of round k from a fixed set of noise
      points, and where they are at time t; :meth:`velocity_grid`: round k's (or the exact
      first-flow) velocity on :data:`GRID` at time t; :meth:`round_pairs`: a few of round k's
      training pairs;
    * ``probe_noise`` and ``reference``: the :data:`BATCHES` batches of noise and of target
      samples the quality is measured with; ``floor``: the distance two target batches have.
    """

    work_unit = "training iterations"

    def reset(self, seed: int = 0) -> None:
        forget_derived(self)
        self.seed = int(seed)
        self.target = preset(self.params["target"])
        self.rng = np.random.default_rng([self.seed, 11])
        self.flow = RectifiedFlow(self.target, self.rng, width=int(self.params["width"]), lr=float(self.params["lr"]))
        probes = np.random.default_rng([self.seed, 12])
        self.probe_noise = probes.standard_normal((BATCHES, PROBES, 2))
        self.reference = np.stack([self.target.sample(PROBES, probes) for _ in range(BATCHES)])
        self.floor = noise_floor(self.params["target"])
        self.evaluations: list[dict] = []
        self.reflow_samples: list[tuple[np.ndarray, np.ndarray]] = []  # the first pairs of each reflow
        self.loss = math.nan
        self._latest = self._evaluate_now()  # the untrained network (one batch), so every observable starts finite
        self.phase, self.phase_progress, self.done = "training", 0.0, False
        self._phases_done = 0
        self._phase_count = 2 + 3 * int(self.params["reflows"])  # train + evaluate, then reflow + train + evaluate each
        self._work: Iterator[None] = self._schedule()

    # -- the schedule --------------------------------------------------------------------------

    def _schedule(self) -> Iterator[None]:
        for round_index in range(int(self.params["reflows"]) + 1):
            if round_index:
                yield from self._reflow()
            yield from self._train()
            yield from self._evaluate()

    def _enter(self, phase: str) -> None:
        self.phase, self.phase_progress = phase, 0.0

    def _leave(self) -> None:
        self._phases_done += 1

    def _train(self) -> Iterator[None]:
        self._enter("training")
        total = int(self.params["train_iterations"])
        done, losses = 0, []
        while done < total:
            chunk = min(int(self.params["iterations_per_step"]), total - done)
            losses.append(self.flow.train(chunk, total))
            self.loss = losses[-1] if math.isnan(self.loss) or not done else 0.9 * self.loss + 0.1 * losses[-1]
            done += chunk
            self.phase_progress = done / total
            if not math.isfinite(self.loss):
                self.diverged = True
            yield
        self._leave()

    def _evaluate(self) -> Iterator[None]:
        self._enter("evaluating")
        self._latest = yield from self._measure_quality()
        self.evaluations.append(self._latest)
        self._leave()

    def _measure_quality(self, batches: int = BATCHES) -> Generator[None, None, dict]:
        """Sample quality for each number of Euler steps, averaged over ``batches`` batches, and the
        straightness S; two model steps a batch (the few-step samples, then the many-step paths, so
        that no step integrates more than :data:`MANY_STEPS` steps of one batch). Returns the record."""
        distances = {n: [] for n in STEP_COUNTS}
        bends = []  # per batch: the mean squared deviation from the chord, and the mean squared chord
        for b in range(batches):
            noise, reference = self.probe_noise[b], self.reference[b]
            for n in STEP_COUNTS[:-1]:
                distances[n].append(sliced_wasserstein(generate(self.flow.field, noise, n), reference))
            self.phase_progress = (2 * b + 1) / (2 * batches)
            yield
            path, velocities = euler_paths(self.flow.field, noise, MANY_STEPS)
            distances[MANY_STEPS].append(sliced_wasserstein(path[-1], reference))
            bends.append(bending(path, velocities))
            self.phase_progress = (2 * b + 2) / (2 * batches)
            yield
        deviation, chord = np.mean(bends, axis=0)
        return self._record({n: float(np.mean(d)) for n, d in distances.items()}, deviation / max(chord, 1e-12))

    def _reflow(self) -> Iterator[None]:
        """Carry fresh noise along the current flow a chunk of points at a time, then pair."""
        self._enter("reflowing")
        n_pairs = int(self.params["pairs"])
        x0 = self.flow.rng.standard_normal((n_pairs, 2))
        x1 = np.empty_like(x0)
        for start in range(0, n_pairs, REFLOW_CHUNK):
            x1[start:start + REFLOW_CHUNK] = generate(self.flow.field, x0[start:start + REFLOW_CHUNK], REFLOW_STEPS)
            self.phase_progress = min(1.0, (start + REFLOW_CHUNK) / n_pairs)
            yield
        self.reflow_samples.append((x0[:SHOWN_PAIRS].copy(), drawable(x1[:SHOWN_PAIRS])))
        self.flow.start_round(x0, x1)
        self._leave()

    def _evaluate_now(self) -> dict:
        work = self._measure_quality(batches=1)
        while True:
            try:
                next(work)
            except StopIteration as finished:
                return finished.value

    def _record(self, quality: dict[int, float], straightness: float) -> dict:
        """An evaluation: the quality for each number of steps, S, and the fewest steps that reach the bar."""
        good = [n for n in STEP_COUNTS if quality[n] <= QUALITY_BAR * self.floor]
        return {
            "round": self.flow.rounds,
            "straightness": float(straightness),
            "quality": quality,
            "steps_to_quality": good[0] if good else 2 * MANY_STEPS,
        }

    def step(self) -> None:
        if self.done:
            return
        if next(self._work, StopIteration) is StopIteration:
            self.done, self.phase, self.phase_progress = True, "done", 1.0

    # -- observables ---------------------------------------------------------------------------

    @property
    def round(self) -> int:
        return self.flow.rounds

    @property
    def progress(self) -> float:
        """The whole schedule's progress, 0..1 (phases count equally)."""
        if self.done:
            return 1.0
        return (self._phases_done + self.phase_progress) / self._phase_count

    @derived(key=lambda self: len(self.evaluations))
    def rounds_table(self) -> np.ndarray:
        """One :func:`round_row` per evaluated round, ``(rounds, 2 + len(STEP_COUNTS))``."""
        return np.array([round_row(e) for e in self.evaluations], dtype=np.float64).reshape(-1, 2 + len(STEP_COUNTS))

    def observables(self) -> dict:
        latest = self._latest
        return {
            "rounds": self.rounds_table(),
            "round": float(self.round),
            "progress": self.progress,
            "loss": self.loss if math.isfinite(self.loss) or self.diverged else 0.0,
            "straightness": latest["straightness"],
            "distance_one_step": latest["quality"][1],
            "distance_many_steps": latest["quality"][MANY_STEPS],
            "distance_floor": self.floor,
            "steps_to_quality": float(latest["steps_to_quality"]),
        }

    def state(self) -> dict[str, np.ndarray]:
        return {"parameters": self.flow.field.net.parameters_vector()}

    def work_per_step(self) -> float:
        return float(self.params["iterations_per_step"])

    # -- for the view --------------------------------------------------------------------------

    def _field_version(self):
        """Changes whenever a field changes: only the newest one trains, the others are frozen."""
        return self.flow.rounds, self.flow.iterations

    @derived("view_steps", key=_field_version)
    def paths(self, k: int) -> np.ndarray:
        """Euler paths of round ``k``'s flow from the first probe noise points, ``(view_steps + 1,
        SHOWN_PATHS, 2)``, pinned within :data:`DRAW_LIMIT`."""
        steps = int(self.params["view_steps"])
        return drawable(euler_paths(self.flow.fields[k], self.probe_noise[0, :SHOWN_PATHS], steps)[0])

    def particles(self, k: int, t: float) -> np.ndarray:
        """Where the particles of :meth:`paths` are at time ``t`` (linear within each Euler step)."""
        paths = self.paths(k)
        s = float(np.clip(t, 0.0, 1.0)) * (len(paths) - 1)
        i = min(int(s), len(paths) - 2)
        return paths[i] + (s - i) * (paths[i + 1] - paths[i])

    @derived("target", key=_field_version)
    def velocity_grid(self, k: int, t: float, exact: bool = False) -> np.ndarray:
        """Round ``k``'s velocity on :data:`GRID` at time ``t``, or with ``exact`` the first flow's
        exact field ``E[x1 - x0 | x_t]`` (what round 0 should learn); non-finite values are 0."""
        velocities = exact_velocity(self.target, GRID, t) if exact else self.flow.fields[k](GRID, t)
        return np.where(np.isfinite(velocities), velocities, 0.0)

    @derived("target")
    def _independent_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, 13])
        return rng.standard_normal((SHOWN_PAIRS, 2)), self.target.sample(SHOWN_PAIRS, rng)

    def round_pairs(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """A few training pairs (x0, x1) of round ``k``: independent noise and data for the first
        flow; for a reflow, the first of its pairs (noise and where the previous flow took it)."""
        return self._independent_pairs() if k == 0 else self.reflow_samples[k - 1]

    # -- challenges ----------------------------------------------------------------------------

    def measure_steps_needed(self, run) -> str:
        """The fewest Euler steps of the last evaluated flow that reach the quality bar, as a bucket."""
        rounds = run.array("rounds")
        steps = rounds[-1, -1] if len(rounds) else 2 * MANY_STEPS
        for bucket, top in (("1", 1), ("2 to 3", 3), ("5 to 10", 10), ("20 to 50", 50)):
            if steps <= top:
                return bucket
        return "more than 50"

    def measure_second_reflow(self, run) -> str:
        """How the straightness drop of the second reflow compares with the first's."""
        rounds = run.array("rounds")
        if len(rounds) < 3:
            raise ValueError("the second-reflow challenge needs two reflows")
        s0, s1, s2 = rounds[:3, 0]
        first, second = s0 - s1, s1 - s2
        if second < 0.25 * first:
            return "much less than the first"
        return "more than the first" if second > 1.25 * first else "about as much as the first"
