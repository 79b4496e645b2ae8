"""The particle shepherd: a cloud of noise condenses into a target by following the exact score.

The target is a Gaussian mixture (:mod:`sim.mixture`); noised by the VP process it stays a
mixture, so the score at every noise level is exact. The reverse SDE, the probability-flow ODE
(both Euler, over the same time grid from t = 1 to t = 0) and Langevin dynamics at a fixed t
move particles kept on the backend that computes them (:class:`.kernels.ParticleSystem`), and
the density image of each cloud is splatted there too (on the GPU with GLSL: no readback).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model
from sim.gpu import GpuArray
from sim.mixture import GaussianMixture, preset, sliced_wasserstein
from sim.rng import normal_pairs, stream_key

from .kernels import (INIT_COUNTER, ParticleSystem, VPSchedule, density_splat_numba, density_splat_reference,
                      langevin_coefficients, particle_step_reference, reverse_coefficients, splat_gl)

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
#: Particles whose paths are recorded (replayed on the CPU with the same noise: no readback).
TRACERS = 24
#: Particle-steps one model step does at most, over all clouds: bigger clouds are stepped in
#: slices of particles, so a time step takes several model steps (a count, never a measured
#: time: the same run on every machine). Clouds up to MIN_SLICE particles always take a whole
#: time step per model step (challenges and tests rely on one time step per step).
SLICE_WORK = 1 << 18
MIN_SLICE = 16384
#: The square of the plane the presets live in (the panes' framing, the density image's extent).
EXTENT = (-4.0, 4.0, -4.0, 4.0)
#: The density image shows at most this many particles of a cloud: a splat costs ~17 ms per
#: million on the software renderer, and a million already resolves every pixel of it.
DENSITY_LIMIT = 1 << 20
#: Particles per density pixel where the finished target is typical (sets the image's resolution).
TARGET_COUNT = 4.0
#: Targets with at most this many blobs have their mass per blob recorded (and plotted).
MASS_LIMIT = 8
#: The score field is recomputed when t moves this much (not every step).
FIELD_T_RESOLUTION = 0.004

SAMPLERS = {"sde+ode": ("sde", "ode"), "sde": ("sde",), "ode": ("ode",), "langevin": ("langevin",)}
DIRECTIONS = ("right", "up", "left", "down")


@dataclass(frozen=True, eq=False)
class Density:
    """A cloud splatted over EXTENT: ``size`` x ``size`` uint32 counts, row 0 at the bottom; a
    numpy array on CPU backends, a :class:`sim.gpu.GpuArray` on GLSL."""

    counts: np.ndarray | GpuArray
    size: int

    @property
    def texels(self):
        """What a texture upload takes: the array, or the GL buffer itself (no readback)."""
        return self.counts.buffer if isinstance(self.counts, GpuArray) else self.counts


def collision_density(mixture: GaussianMixture) -> float:
    """``∫ p(x)² dx``: the mean density a sample of ``p`` sits at (exact for a Gaussian mixture,
    ``Σ_jk w_j w_k N(m_j; m_k, C_j + C_k)``). It sets the density image's resolution and scale."""
    c = mixture.covariances[:, None] + mixture.covariances[None, :]
    d = mixture.means[:, None] - mixture.means[None, :]
    det = c[..., 0, 0] * c[..., 1, 1] - c[..., 0, 1] ** 2
    quadratic = (c[..., 1, 1] * d[..., 0] ** 2 - 2 * c[..., 0, 1] * d[..., 0] * d[..., 1]
                 + c[..., 0, 0] * d[..., 1] ** 2) / det
    overlap = np.exp(-0.5 * quadratic) / (2 * math.pi * np.sqrt(det))
    return float(mixture.weights @ overlap @ mixture.weights)


def assignments(mixture: GaussianMixture, points: np.ndarray) -> np.ndarray:
    """The most likely component of each point (the blob it belongs to)."""
    table = mixture.component_table(dtype=np.float64)
    d = points[:, None, :] - table[None, :, 0:2]
    quadratic = (table[:, 2] * d[..., 0] ** 2 + 2 * table[:, 3] * d[..., 0] * d[..., 1]
                 + table[:, 4] * d[..., 1] ** 2)
    return np.argmax(table[:, 5] - 0.5 * quadratic, axis=1)


class ParticleShepherd(Model):
    """Particles from noise to a Gaussian-mixture target along the exact score.

    For the view:

    * ``systems``: ``{"sde": ParticleSystem, "ode": ...}`` (or ``"langevin"``), in display order;
      the first one's observables are ``distance``, ``tracers``, ..., the second's
      ``distance_twin``, ``tracers_twin``, ... (:meth:`suffix`).
    * :meth:`density`: a cloud's density image (splatted where the particles live), with
      :meth:`density_size` and :meth:`typical_count` for its resolution and colour scale.
    * ``mixture``: the target (:class:`sim.mixture.GaussianMixture`), editable with
      :meth:`add_blob`, :meth:`move_blob`, :meth:`remove_blob`, :meth:`nearest_blob`;
      ``version`` counts its changes.
    * ``t``, ``alpha``, ``sigma``: the play head and the noise level; ``done``: t reached 0.
    * :meth:`score_field`: the exact score on a grid at the current t (memoised).
    * :meth:`log_density_grid`: the noised target's log density on a grid (a backdrop).
    * ``marker`` and :meth:`marker_velocity`: which way a particle at the marker moves at the
      marker's time.
    * :meth:`twins`: how far a particle of the first cloud ends from its twin in the second.
    """

    work_unit = "particle-steps"

    def __init__(self, params: dict[str, Any], backend: str = "numpy"):
        super().__init__(params, backend)
        self.schedule = VPSchedule()
        self.mixture: GaussianMixture = preset(self.params["preset"])
        self.systems: dict[str, ParticleSystem] = {}
        self.version = 0  # changes of the target
        self.generation = 0  # resets: a new cloud
        self._densities: dict[str, tuple] = {}  # per system: (what it shows, Density)
        self._gl_counts: dict[str, GpuArray] = {}  # per system: what its density is splatted into (GLSL)

    # -- life cycle --------------------------------------------------------------------------

    def reset(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self.generation += 1
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
        self.slice = max(MIN_SLICE, SLICE_WORK // len(self.systems))  # particles per model step
        self.t = float(self.params["langevin_t"]) if self.langevin else 1.0
        self.done = False
        start = normal_pairs(stream_key(self.seed, INIT_COUNTER), np.arange(min(TRACERS, count))).astype(np.float32)
        self._start = start
        self._tracers = {name: start.copy() for name in self.systems}
        self._path_length = {name: np.zeros(len(start)) for name in self.systems}
        self._target_changed()

    @property
    def count(self) -> int:
        """Particles per cloud."""
        return next(iter(self.systems.values())).count

    def suffix(self, name: str) -> str:
        """The suffix of system ``name``'s observables: "" for the first, "_twin" for the second."""
        return "" if name == next(iter(self.systems)) else "_twin"

    def target_law(self) -> GaussianMixture:
        """The law the particles should end in: the target, or for Langevin the target noised to t_L."""
        if self.langevin:
            return self.mixture.noised(self.alpha, self.sigma)
        return self.mixture

    def _target_changed(self) -> None:
        """New reference samples (and noise floor) for the distances, then measure now."""
        self.version += 1
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
            self.version += 1
        elif name == "langevin_t" and self.systems and self.langevin:
            self.t = float(value)  # a new fixed noise level: a new law to sample
            self._target_changed()

    def release(self) -> None:
        """Free the particle and density buffers (GL memory): called when the run ends."""
        for system in self.systems.values():
            system.release()
        for buffer in self._gl_counts.values():
            buffer.release()
        self._gl_counts.clear()
        self._densities.clear()

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
        table = self.mixture.component_table(self.alpha, self.sigma)
        begin, end = self.cursor, min(self.count, self.cursor + self.slice)
        for name, system in self.systems.items():
            system.step(table, *self.coefficients(name, self.t), self.time_step + 1, begin, end)
        if begin == 0:
            self._step_tracers(table)
        self.cursor = end
        if end >= self.count:
            self._finish_time_step()

    def _step_tracers(self, table: np.ndarray) -> None:
        """Replay particles 0..TRACERS-1 on the CPU: same noise keys, so the same paths."""
        key = stream_key(self.seed, self.time_step + 1)
        for name, tracers in self._tracers.items():
            moved = particle_step_reference(tracers, table, *self.coefficients(name, self.t), key).astype(np.float32)
            self._path_length[name] += np.linalg.norm(moved - tracers, axis=1)
            self._tracers[name] = moved

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
        """Read back a sample of every system: its distance and likelihood gap to the target, and
        (few blobs) which fraction of it sits in each blob."""
        law = self.target_law()
        self.samples = {name: system.sample(len(self.reference)) for name, system in self.systems.items()}
        self.distances, self.likelihood_gaps, self.mass = {}, {}, {}
        for name, sample in self.samples.items():
            self.mass[name] = np.zeros(0)
            if np.all(np.isfinite(sample)):
                self.distances[name] = sliced_wasserstein(sample, self.reference)
                self.likelihood_gaps[name] = self.reference_log_density - float(law.log_density(sample).mean())
                if law.n_components <= MASS_LIMIT:
                    blobs = np.bincount(assignments(law, sample.astype(np.float64)), minlength=law.n_components)
                    self.mass[name] = blobs / max(len(sample), 1)
            else:
                self.distances[name] = self.likelihood_gaps[name] = math.inf
                self.diverged = True

    # -- observables -------------------------------------------------------------------------

    def observables(self) -> dict[str, Any]:
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
            "tracers": self._tracers[first],
            "tracers_twin": self._tracers[last],
            "sample": self.samples[first],
            "sample_twin": self.samples[last],
            "mass": self.mass[first],
            "mass_twin": self.mass[last],
        }

    def state(self) -> dict[str, np.ndarray]:
        return {f"tracers_{name}": tracers for name, tracers in self._tracers.items()}

    def work_per_step(self) -> float:
        return float(min(self.slice, self.count) * len(self.systems))

    def tortuosity(self, name: str) -> float:
        """Mean path length of the tracers over their mean net displacement (1 = straight)."""
        displacement = np.linalg.norm(self._tracers[name] - self._start, axis=1).mean()
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

    def density(self, name: str, size: int) -> Density:
        """System ``name``'s cloud (its first DENSITY_LIMIT particles: as dense as all of them)
        splatted into ``size`` x ``size`` counts over EXTENT by the density_splat kernel, where
        the particles live; computed again when a time step completes (a step done in slices
        shows when it is whole, so the image never mixes two noise levels)."""
        shows = (self.generation, self.time_step, size)
        known = self._densities.get(name)
        if known is not None and known[0] == shows:
            return known[1]
        system = self.systems[name]
        count = min(system.count, DENSITY_LIMIT)
        if system.gl_buffer is not None:  # GLSL: the particles never leave the GPU
            counts = self._gl_counts.get(name)
            if counts is None or counts.shape != (size, size):
                if counts is not None:
                    counts.release()
                counts = self._gl_counts[name] = GpuArray(system.ctx, (size, size), np.uint32)
            system.ctx.memory_barrier()  # the step kernel wrote the particles
            counts.clear()
            splat_gl(system.ctx, system.gl_buffer, count, counts.buffer, EXTENT, size, size)
            system.ctx.memory_barrier()  # the counts are read next
        else:
            splat = density_splat_numba if system.backend == "numba" else density_splat_reference
            counts = splat(system.sample(count), EXTENT, size, size).astype(np.uint32)
        image = Density(counts, size)
        self._densities[name] = (shows, image)
        return image

    @derived(key=lambda self: self.version)
    def target_collision_density(self) -> float:
        """:func:`collision_density` of the target."""
        return collision_density(self.mixture)

    def density_size(self, screen: float) -> int:
        """Density pixels per side: about TARGET_COUNT particles per pixel where the finished
        target is typical (a lone particle in a fine grid is noise, not density), never finer
        than ``screen`` (the pixels EXTENT spans on screen); in steps of 32, so that zooming and
        painting rarely change it."""
        side = EXTENT[1] - EXTENT[0]
        natural = side * math.sqrt(min(self.count, DENSITY_LIMIT) * self.target_collision_density() / TARGET_COUNT)
        return int(np.clip(round(min(natural, screen) / 32) * 32, 64, 1024))

    @derived("particles", key=lambda self: (self.version, round(self.t, 2)))
    def typical_count(self, size: int) -> float:
        """The count per density pixel at a typical particle of the target noised to the current
        t (the colour scale follows the cloud as it sharpens)."""
        density = collision_density(self.mixture.noised(self.alpha, self.sigma))
        pixel_area = ((EXTENT[1] - EXTENT[0]) / size) ** 2
        return min(self.count, DENSITY_LIMIT) * density * pixel_area

    def grid(self, n: int, extent=EXTENT) -> np.ndarray:
        """An ``n`` x ``n`` grid of points over ``extent``, (n*n, 2), row-major from the bottom."""
        x0, x1, y0, y1 = extent
        xs, ys = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        return np.stack([xs.ravel(), ys.ravel()], axis=1)

    @derived(key=lambda self: (self.version, round(self.t / FIELD_T_RESOLUTION)))
    def score_field(self, n: int = 24, extent=EXTENT) -> tuple[np.ndarray, np.ndarray]:
        """``(points, scores)``: the exact score of the noised target on an n x n grid."""
        points = self.grid(n, extent)
        return points, self.mixture.score(points, self.alpha, self.sigma)

    @derived(key=lambda self: (self.version, round(self.t / FIELD_T_RESOLUTION)))
    def score_arrows(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The score field to draw as arrows, ``(points, vectors, strength)``: each vector along
        the score, squashed into its grid cell by ``strength = s / (1 + s)``, where s = |score| x
        spacing is how much the log density changes over one cell."""
        points, scores = self.score_field(n)
        spacing = (EXTENT[1] - EXTENT[0]) / (n - 1)
        scores = np.where(np.isfinite(scores), scores, 0.0)
        norm = np.linalg.norm(scores, axis=1, keepdims=True)
        strength = norm[:, 0] * spacing / (1.0 + norm[:, 0] * spacing)
        return points, scores / np.maximum(norm, 1e-12) * (0.85 * spacing * strength)[:, None], strength

    def log_density_grid(self, n: int = 128, extent=EXTENT) -> np.ndarray:
        """The log density of the target noised to the current t on an n x n grid, (n, n)."""
        noisy = self.mixture.noised(self.alpha, self.sigma)
        return noisy.log_density(self.grid(n, extent)).reshape(n, n)

    @property
    def marker(self) -> np.ndarray:
        """The marked point (its parameters)."""
        return np.array([self.params["marker_x"], self.params["marker_y"]], dtype=np.float64)

    @derived("marker_x", "marker_y", "marker_t", key=lambda self: self.version)
    def marker_velocity(self) -> np.ndarray:
        """Where the probability-flow ODE moves a particle at the marker, at the marker's time,
        per unit of reverse time (the direction a particle there takes as t decreases)."""
        t = float(self.params["marker_t"])
        point = self.marker[None]
        h = 1e-3
        table = self.mixture.component_table(self.schedule.alpha(t), self.schedule.sigma(t), dtype=np.float64)
        a, b, c = reverse_coefficients(self.schedule, t, h, stochastic=False)
        return ((particle_step_reference(point, table, a, b, c, 0) - point) / h)[0]

    @derived(key=lambda self: self.version)
    def spread(self) -> float:
        """The target law's spread: the root of its total variance (exact for a mixture)."""
        law = self.target_law()
        mean = law.weights @ law.means
        second = law.weights @ (np.trace(law.covariances, axis1=1, axis2=2) + np.sum(law.means ** 2, axis=1))
        return float(np.sqrt(max(second - mean @ mean, 0.0)))

    def twins(self, run) -> tuple[float, float] | None:
        """How far apart a particle of the first cloud and its twin in the second (the same
        starting noise) are on average, at the last measurement of ``run``, and the target's
        spread to compare it with; None unless two clouds run and both are finite."""
        if len(self.systems) < 2:
            return None
        first, second = run.array("sample"), run.array("sample_twin")
        if len(first) != len(second) or not (np.all(np.isfinite(first)) and np.all(np.isfinite(second))):
            return None
        return float(np.linalg.norm(first - second, axis=1).mean()), self.spread()

    # -- painting the target ---------------------------------------------------------------------

    def add_blob(self, x: float, y: float, std: float = 0.25, weight: float | None = None) -> int:
        """Paint a round blob into the target; returns its index (-1 if the target is full)."""
        index = self.mixture.add((float(x), float(y)), std, weight)
        self._target_changed()
        return index

    def move_blob(self, index: int, x: float, y: float) -> None:
        """Drag component ``index`` of the target to (x, y)."""
        self.mixture.move(index, (float(x), float(y)))
        self._target_changed()

    def remove_blob(self, index: int) -> bool:
        """Erase component ``index`` (never the last one)."""
        removed = self.mixture.remove(index)
        if removed:
            self._target_changed()
        return removed

    def nearest_blob(self, x: float, y: float) -> tuple[int, float]:
        """The component nearest to (x, y) and its distance (to pick one to drag)."""
        return self.mixture.nearest((float(x), float(y)))

    # -- challenges ------------------------------------------------------------------------------

    def on_target(self, run, name: str) -> bool:
        """Whether system ``name``'s cloud matched the target law at ``run``'s last step: spread
        like it (sliced Wasserstein distance near the noise floor) and as sharp (no likelihood gap)."""
        latest, suffix = run.latest(), self.suffix(name)
        return (latest["distance" + suffix] <= ON_TARGET_DISTANCE * latest["distance_floor"]
                and latest["likelihood_gap" + suffix] <= ON_TARGET_GAP)

    def measure_landing(self, run) -> str:
        """Do the SDE and the ODE, from the same noise, land on the same points / distribution?"""
        model = run.model
        if set(model.systems) != {"sde", "ode"}:
            raise ValueError("the landing challenge runs the sde+ode sampler")
        same_law = model.on_target(run, "sde") and model.on_target(run, "ode")
        apart = sliced_wasserstein(run.array("sample"), run.array("sample_twin"))
        twins = model.twins(run)
        if run.diverged or not same_law or twins is None or apart > ON_TARGET_DISTANCE * run.latest()["distance_floor"]:
            return "different distributions"
        # paired by index (same starting noise): the same points if partners end close together
        # compared with the target's own spread
        paired, spread = twins
        return "the same points" if paired < 0.1 * spread else "the same distribution, different points"

    def measure_few_steps(self, run) -> str:
        """With few Euler steps: on target (as a many-step run is), off target, or blown up."""
        model = run.model
        if run.diverged:
            return "the particles blow up"
        on = all(model.on_target(run, name) for name in model.systems)
        return "as close as with many steps" if on else "visibly off the target"

    def measure_heavy_fraction(self, run) -> float:
        """The fraction of the (first) cloud's particles nearer the heavier of the two heaviest blobs."""
        model = run.model
        order = np.argsort(model.mixture.weights)[::-1]
        heavy, light = model.mixture.means[order[0]], model.mixture.means[order[1]]
        sample = run.array("sample").astype(np.float64)
        nearer_heavy = np.linalg.norm(sample - heavy, axis=1) < np.linalg.norm(sample - light, axis=1)
        return float(nearer_heavy.mean())

    def measure_marker_direction(self, run) -> str:
        """The compass direction (or none) of the probability-flow velocity at the marker."""
        velocity = run.model.marker_velocity()
        if np.linalg.norm(velocity) < 0.05:
            return "stays put"
        angle = math.atan2(velocity[1], velocity[0])
        return DIRECTIONS[int(round(angle / (math.pi / 2))) % 4]
