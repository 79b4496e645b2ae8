"""The particle shepherd: a cloud of noise condenses into a target by following the exact score.

The target is a Gaussian mixture (:mod:`sim.mixture`); noised by the VP process it stays a
mixture, so the score at every noise level is exact. The reverse SDE, the probability-flow ODE
(both Euler, over the same time grid from t = 1 to t = 0) and Langevin dynamics at a fixed t
move particles kept on the backend that computes them (:class:`sim.diffusion.ParticleSystem`).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from sandbox.model import Model
from sim.mixture import GaussianMixture, preset, sliced_wasserstein
from sim.rng import normal_pairs, stream_key

from .kernels import (INIT_COUNTER, ParticleSystem, VPSchedule, langevin_coefficients,
                     particle_step_reference, reverse_coefficients)

#: Particles compared with the target for the distance observables (read back every few steps).
DISTANCE_SAMPLE = 2048
#: Time steps between two distance measurements (and always at the last step).
MEASURE_EVERY = 10
#: Independent pairs of target samples averaged into the noise floor of the distance.
FLOOR_PAIRS = 4
#: A cloud is on target when its distance is within this factor of the noise floor ...
ON_TARGET_DISTANCE = 2.0
#: ... and true samples are at most this many nats per point more likely than its particles.
ON_TARGET_GAP = 0.5
#: Particles whose paths are recorded (replayed on the CPU with the same noise: no readback),
#: and the path points kept per tracer.
TRACERS = 24
TRAIL = 1024
#: Wall time one model step may spend on particles; bigger clouds are stepped in slices.
STEP_BUDGET_S = 0.008
#: Clouds up to this size always take a whole time step per model step (challenges and tests
#: rely on one time step per step); only bigger ones are sliced. Big clouds start with slices
#: of FIRST_SLICE particles, which then grow or shrink to fit STEP_BUDGET_S.
MIN_SLICE = 16384
FIRST_SLICE = 262144
#: The square of the plane the presets live in (the view's default framing).
EXTENT = (-4.0, 4.0, -4.0, 4.0)

SAMPLERS = {"sde+ode": ("sde", "ode"), "sde": ("sde",), "ode": ("ode",), "langevin": ("langevin",)}
DIRECTIONS = ("right", "up", "left", "down")


class ParticleShepherd(Model):
    """Particles from noise to a Gaussian-mixture target along the exact score.

    For the view:

    * ``systems``: ``{"sde": ParticleSystem, "ode": ...}`` (or ``"langevin"``), in display order;
      each has ``gl_buffer`` (the SSBO of vec2, GLSL backend) or ``positions`` (CPU backends),
      and ``count``. ``sim.diffusion.splat_gl`` splats a GL buffer into a density image.
    * ``mixture``: the target (:class:`sim.mixture.GaussianMixture`), editable with
      :meth:`add_blob`, :meth:`move_blob`, :meth:`remove_blob`, :meth:`nearest_blob`.
    * ``t``, ``alpha``, ``sigma``: the play head and the noise level; ``done``: t reached 0.
    * :meth:`tracer_paths`: the recent path of a few particles of each system, (L, TRACERS, 2).
    * :meth:`score_field`: the exact score on a grid (arrows or streamlines) at the current t.
    * :meth:`log_density_grid`: the noised target's log density on a grid (a backdrop).
    * :meth:`marker_velocity`: which way a particle at the marker moves at the marker's time.
    * ``EXTENT``: the square worth framing.
    """

    work_unit = "particle-steps"

    def __init__(self, params: dict[str, Any], backend: str = "numpy"):
        super().__init__(params, backend)
        self.schedule = VPSchedule()
        self.mixture: GaussianMixture = preset(self.params["preset"])
        self.systems: dict[str, ParticleSystem] = {}

    # -- life cycle --------------------------------------------------------------------------

    def reset(self, seed: int = 0) -> None:
        self.seed = int(seed)
        count = int(self.params["particles"])
        for system in self.systems.values():
            system.release()
        # every system starts from the same noise (same seed): the SDE and ODE are compared
        # particle by particle as well as as clouds
        self.systems = {name: ParticleSystem(count, self.backend, seed=self.seed)
                        for name in SAMPLERS[self.params["sampler"]]}
        self.langevin = self.params["sampler"] == "langevin"
        self.n_steps = int(self.params["steps"])
        self.time_step = 0  # completed time steps
        self.cursor = 0  # particles of the current time step already moved
        self.slice = min(count, FIRST_SLICE)  # particles per model step, sized to STEP_BUDGET_S
        self.t = float(self.params["langevin_t"]) if self.langevin else 1.0
        self.done = False
        tracer_count = min(TRACERS, count)
        start = normal_pairs(stream_key(self.seed, INIT_COUNTER), np.arange(tracer_count))
        self._tracers = {name: start.astype(np.float32) for name in self.systems}
        self._paths = {name: [start.astype(np.float32)] for name in self.systems}
        self._path_length = {name: np.zeros(tracer_count) for name in self.systems}
        self._target_changed()

    def target_law(self) -> GaussianMixture:
        """The law the particles should end in: the target, or for Langevin the target noised to t_L."""
        if self.langevin:
            return self.mixture.noised(self.alpha, self.sigma)
        return self.mixture

    def _target_changed(self) -> None:
        """New reference samples (and noise floor) for the distances, then measure now."""
        rng = np.random.default_rng([self.seed, 7])
        size = min(DISTANCE_SAMPLE, int(self.params["particles"]))
        law = self.target_law()
        self.reference = law.sample(size, rng)
        self.reference_log_density = float(law.log_density(self.reference).mean())
        # the floor is noisy itself (which blob each sample falls in): average a few pairs
        self.floor = float(np.mean([sliced_wasserstein(law.sample(size, rng), law.sample(size, rng))
                                    for _ in range(FLOOR_PAIRS)]))
        self._measure()

    def set_param(self, name: str, value: Any) -> None:
        super().set_param(name, value)
        if name == "preset":
            self.mixture = preset(value)  # the runner resets next (preset has resets = true)
        elif name == "langevin_t" and self.systems and self.langevin:
            self.t = float(value)  # a new fixed noise level: a new law to sample
            self._target_changed()

    def release(self) -> None:
        """Free the particle buffers (GL memory): call it when the level closes."""
        for system in self.systems.values():
            system.release()

    # -- the noise level ---------------------------------------------------------------------

    @property
    def alpha(self) -> float:
        return self.schedule.alpha(self.t)

    @property
    def sigma(self) -> float:
        return self.schedule.sigma(self.t)

    def langevin_step_size(self, t: float) -> float:
        """``eps`` = the slider's fraction of the smallest variance of the noised components:
        the score's steepest curvature is 1 / that variance, so this keeps the step stable."""
        noisy = self.mixture.noised(self.schedule.alpha(t), self.schedule.sigma(t))
        smallest = float(np.linalg.eigvalsh(noisy.covariances).min())
        return float(self.params["langevin_step"]) * smallest

    def coefficients(self, kind: str, t: float) -> tuple[float, float, float]:
        """``(a, b, c)`` of one step of sampler ``kind`` at time ``t``."""
        if kind == "langevin":
            return langevin_coefficients(self.langevin_step_size(t))
        return reverse_coefficients(self.schedule, t, 1.0 / self.n_steps, stochastic=kind == "sde")

    # -- stepping ----------------------------------------------------------------------------

    def step(self) -> None:
        if self.done:
            return
        count = next(iter(self.systems.values())).count
        table = self.mixture.component_table(self.alpha, self.sigma)
        begin, end = self.cursor, min(count, self.cursor + self.slice)
        started = time.perf_counter()
        for name, system in self.systems.items():
            system.step(table, *self.coefficients(name, self.t), self.time_step + 1, begin, end)
            system.finish()  # wait for the GPU, so the time below is the slice's true cost
        self._adapt_slice(end - begin, time.perf_counter() - started)
        if begin == 0:
            self._step_tracers(table)
        self.cursor = end
        if end >= count:
            self._finish_time_step()

    def _adapt_slice(self, moved: int, seconds: float) -> None:
        """Size the next slice so that a model step stays within STEP_BUDGET_S."""
        if seconds > STEP_BUDGET_S and moved > MIN_SLICE:
            self.slice = max(MIN_SLICE, int(moved * STEP_BUDGET_S / seconds))
        elif seconds < 0.5 * STEP_BUDGET_S:
            self.slice = min(next(iter(self.systems.values())).count, 2 * self.slice)

    def _step_tracers(self, table: np.ndarray) -> None:
        """Replay particles 0..TRACERS-1 on the CPU: same noise keys, so the same paths."""
        key = stream_key(self.seed, self.time_step + 1)
        for name, tracers in self._tracers.items():
            moved = particle_step_reference(tracers, table, *self.coefficients(name, self.t), key).astype(np.float32)
            self._path_length[name] += np.linalg.norm(moved - tracers, axis=1)
            self._tracers[name] = moved
            path = self._paths[name]
            path.append(moved)
            if len(path) > 2 * TRAIL:
                del path[:-TRAIL]

    def _finish_time_step(self) -> None:
        self.cursor = 0
        self.time_step += 1
        if not self.langevin:
            # t on the grid 1 - j/n, exactly 0 at the end
            self.t = max(0.0, 1.0 - self.time_step / self.n_steps)
            self.done = self.time_step >= self.n_steps
        if self.done or self.time_step % MEASURE_EVERY == 0:
            self._measure()

    def _measure(self) -> None:
        """Read back a sample of every system; its distance and likelihood gap to the target."""
        law = self.target_law()
        self.samples = {name: system.sample(len(self.reference)) for name, system in self.systems.items()}
        self.distances, self.likelihood_gaps = {}, {}
        for name, sample in self.samples.items():
            if np.all(np.isfinite(sample)):
                self.distances[name] = sliced_wasserstein(sample, self.reference)
                self.likelihood_gaps[name] = self.reference_log_density - float(law.log_density(sample).mean())
            else:
                self.distances[name] = self.likelihood_gaps[name] = math.inf
                self.diverged = True

    # -- observables -------------------------------------------------------------------------

    def observables(self) -> dict[str, float]:
        names = list(self.systems)
        first, last = names[0], names[-1]
        return {
            "t": self.t,
            "sigma": self.sigma,
            "distance": self.distances[first],
            "distance_twin": self.distances[last],
            "distance_floor": self.floor,
            "likelihood_gap": self.likelihood_gaps[first],
            "likelihood_gap_twin": self.likelihood_gaps[last],
            "tortuosity": self.tortuosity(first),
            "tortuosity_twin": self.tortuosity(last),
            "components": float(self.mixture.n_components),
        }

    def state(self) -> dict[str, np.ndarray]:
        return {f"tracers_{name}": tracers for name, tracers in self._tracers.items()}

    def work_per_step(self) -> float:
        count = next(iter(self.systems.values())).count
        return float(min(self.slice, count) * len(self.systems))

    def tortuosity(self, name: str) -> float:
        """Mean path length of the tracers over their mean net displacement (1 = straight)."""
        displacement = np.linalg.norm(self._tracers[name] - self._paths[name][0], axis=1).mean()
        if self.time_step == 0 or displacement == 0.0:
            return 1.0
        return float(self._path_length[name].mean() / displacement)

    def benchmark(self) -> dict:
        """Extra figures for ``continuous-function bench``: particle-steps per second of every
        backend here (medians, 1 M particles, this target) and, per backend that can draw, the
        most particles whose frame (one step + a 1280x720 density splat) keeps a 16.7 ms median."""
        from sim import backends
        from .kernels import bench_frame, bench_throughput

        rows = bench_throughput(counts=(1_000_000,), presets=(self.params["preset"],), repeats=3, budget_s=1.0)
        result: dict[str, Any] = {
            "particle_steps_per_s": {row["backend"]: round(row["particle_steps_per_s"]) for row in rows},
            "components": rows[0]["components"] if rows else self.mixture.n_components,
        }
        if backends.glsl_reason() is None:
            result["max_particles_60fps_1280x720"] = {
                backend: bench_frame(backend, self.params["preset"])["max_particles"]
                for backend in backends.available() if backend != "numpy"}
        return result

    # -- for the view ------------------------------------------------------------------------

    def tracer_paths(self, name: str) -> np.ndarray:
        """The recorded path of the tracers of system ``name``: (L, TRACERS, 2) float32."""
        return np.stack(self._paths[name][-TRAIL:])

    def grid(self, n: int, extent=EXTENT) -> np.ndarray:
        """An ``n`` x ``n`` grid of points over ``extent``, (n*n, 2), row-major from the bottom."""
        x0, x1, y0, y1 = extent
        xs, ys = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        return np.stack([xs.ravel(), ys.ravel()], axis=1)

    def score_field(self, n: int = 24, extent=EXTENT) -> tuple[np.ndarray, np.ndarray]:
        """``(points, scores)``: the exact score of the noised target on an n x n grid."""
        points = self.grid(n, extent)
        return points, self.mixture.score(points, self.alpha, self.sigma)

    def log_density_grid(self, n: int = 128, extent=EXTENT) -> np.ndarray:
        """The log density of the target noised to the current t on an n x n grid, (n, n)."""
        noisy = self.mixture.noised(self.alpha, self.sigma)
        return noisy.log_density(self.grid(n, extent)).reshape(n, n)

    def marker_velocity(self) -> np.ndarray:
        """Where the probability-flow ODE moves a particle at the marker, at the marker's time,
        per unit of reverse time (the direction a particle there takes as t decreases)."""
        t = float(self.params["marker_t"])
        point = np.array([[self.params["marker_x"], self.params["marker_y"]]], dtype=np.float64)
        h = 1e-3
        table = self.mixture.component_table(self.schedule.alpha(t), self.schedule.sigma(t), dtype=np.float64)
        a, b, c = reverse_coefficients(self.schedule, t, h, stochastic=False)
        return ((particle_step_reference(point, table, a, b, c, 0) - point) / h)[0]

    # -- painting the target ---------------------------------------------------------------------

    def add_blob(self, x: float, y: float, std: float = 0.25, weight: float | None = None) -> int:
        """Paint a round blob into the target; returns its index (-1 if the target is full)."""
        index = self.mixture.add((x, y), std, weight)
        self._target_changed()
        return index

    def move_blob(self, index: int, x: float, y: float) -> None:
        """Drag component ``index`` of the target to (x, y)."""
        self.mixture.move(index, (x, y))
        self._target_changed()

    def remove_blob(self, index: int) -> bool:
        """Erase component ``index`` (never the last one)."""
        removed = self.mixture.remove(index)
        if removed:
            self._target_changed()
        return removed

    def nearest_blob(self, x: float, y: float) -> tuple[int, float]:
        """The component nearest to (x, y) and its distance (to pick one to drag)."""
        return self.mixture.nearest((x, y))

    # -- challenges ------------------------------------------------------------------------------

    def on_target(self, name: str) -> bool:
        """Whether system ``name``'s cloud matches the target law: it is spread like it (sliced
        Wasserstein distance near the noise floor) and as sharp (no likelihood gap)."""
        return (self.distances[name] <= ON_TARGET_DISTANCE * self.floor
                and self.likelihood_gaps[name] <= ON_TARGET_GAP)

    def measure_landing(self, run) -> str:
        """Do the SDE and the ODE, from the same noise, land on the same points / distribution?"""
        model = run.model
        if set(model.systems) != {"sde", "ode"}:
            raise ValueError("the landing challenge runs the sde+ode sampler")
        sde, ode = model.samples["sde"], model.samples["ode"]
        same_law = model.on_target("sde") and model.on_target("ode")
        if run.diverged or not same_law or sliced_wasserstein(sde, ode) > ON_TARGET_DISTANCE * model.floor:
            return "different distributions"
        # paired by index (same starting noise): the same points if partners end close together
        # compared with the target's own spread
        spread = float(np.sqrt(np.trace(np.cov(model.reference.T))))
        paired = float(np.linalg.norm(sde - ode, axis=1).mean())
        return "the same points" if paired < 0.1 * spread else "the same distribution, different points"

    def measure_few_steps(self, run) -> str:
        """With few Euler steps: on target (as a many-step run is), off target, or blown up."""
        model = run.model
        if run.diverged:
            return "the particles blow up"
        on = all(model.on_target(name) for name in model.systems)
        return "as close as with many steps" if on else "visibly off the target"

    def measure_heavy_fraction(self, run) -> float:
        """The fraction of the (first) cloud's particles nearer the heavier of the two heaviest blobs."""
        model = run.model
        order = np.argsort(model.mixture.weights)[::-1]
        heavy, light = model.mixture.means[order[0]], model.mixture.means[order[1]]
        sample = next(iter(model.samples.values())).astype(np.float64)
        nearer_heavy = np.linalg.norm(sample - heavy, axis=1) < np.linalg.norm(sample - light, axis=1)
        return float(nearer_heavy.mean())

    def measure_marker_direction(self, run) -> str:
        """The compass direction (or none) of the probability-flow velocity at the marker."""
        velocity = run.model.marker_velocity()
        if np.linalg.norm(velocity) < 0.05:
            return "stays put"
        angle = math.atan2(velocity[1], velocity[0])
        return DIRECTIONS[int(round(angle / (math.pi / 2))) % 4]
