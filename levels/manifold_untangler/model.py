"""The Manifold Untangler: small tanh nets try to pull a disc out of the ring around it (or two
linked rings apart), trained live; they are judged on the dense continuum of both sets, beside
their training points and beside a nearest-neighbour classifier that needs no training.

Each tick is a chunk of full-batch Adam steps (CHUNK) for the net in training, so a frame stays
short; with ``nets`` > 1 the seeds seed, seed + 1, ... train one after the other and the best on
the continuum is kept (best of several seeds, as the challenges ask).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model
from sim.nn import softmax_cross_entropy

from .untangle import (
    DISC_R,
    N_TRAIN,
    RING_IN,
    RING_OUT,
    Training,
    accuracy_on,
    continuum,
    dataset,
    hidden_layers,
    knn_predict,
    layer_dets,
    predict,
    stretch,
)

#: Adam steps per tick: about 7 ms of a frame on two cores for the deepest net.
CHUNK = 12
#: The continuum accuracy is measured again every this many ticks while training (and at the end).
MEASURE_EVERY = 5
#: The decision map of the input plane: this many cells a side over [−HALF, HALF]².
MAP_CELLS = 121
HALF = 2.3
DISC = "disc in a ring"


class UntanglerModel(Model):
    """Training data, the nets being trained, and their accuracies.

    For the view: ``x``, ``y`` (training points), ``cx``, ``cy`` (the continuum), ``net`` (the net
    shown: the one training, or the best once all are done), ``progress``, ``finished``,
    :meth:`layers` (the training points after each layer), :meth:`decision_map`,
    :meth:`accuracies`, ``shown_layer``.
    """

    work_unit = "Adam steps"

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        p = self.params
        self.data = p["data"]
        x, y = dataset(self.data, N_TRAIN, np.random.default_rng(1000 + seed))
        cx, cy = continuum(self.data)
        self.factor = float(p["stretch"]) if self.data == DISC else 1.0
        if self.factor != 1.0:
            x, cx = stretch(x, self.factor), stretch(cx, self.factor)
        self.x, self.y, self.cx, self.cy = x, y, cx, cy
        self.width, self.depth = int(p["width"]), int(p["depth"])
        self.trainings = [Training(x, y, self.width, self.depth, seed + k, int(p["steps"]))
                          for k in range(int(p["nets"]))]
        self.current = 0
        self.ticks = 0
        self._scores: dict[int, tuple[int, float]] = {}  # net index -> (steps done, continuum accuracy)
        self.best = 0

    # -- training --------------------------------------------------------------------------------
    def step(self) -> None:
        if self.finished:
            return
        training = self.trainings[self.current]
        training.advance(CHUNK)
        self.ticks += 1
        if not np.isfinite(training.losses[-1]):
            self.diverged = True
        if training.finished:
            self._score(self.current)
            self.current = min(self.current + 1, len(self.trainings) - 1)
        if self.finished:
            scores = [self._score(k) for k in range(len(self.trainings))]
            self.best = int(np.argmax(scores))

    @property
    def finished(self) -> bool:
        return all(t.finished for t in self.trainings)

    @property
    def progress(self) -> float:
        total = sum(t.steps for t in self.trainings)
        return sum(t.done for t in self.trainings) / max(total, 1)

    def work_per_step(self) -> float:
        return float(CHUNK)

    def finish(self) -> None:
        """Train every net to the end at once (tests, claims and a challenge's preview)."""
        while not self.finished:
            self.step()

    @property
    def training(self) -> Training:
        """The run on show: the net in training, or the best on the continuum once all are done."""
        return self.trainings[self.best if self.finished else self.current]

    @property
    def picture_key(self) -> tuple:
        """Changes when what the net's pictures show should be drawn again: every MEASURE_EVERY
        ticks while training, and once when the best net is chosen."""
        return (self.seed, self.current, self.finished, self.best, self.ticks // MEASURE_EVERY)

    @property
    def net(self):
        return self.training.net

    @property
    def shown_layer(self) -> int:
        return min(int(self.params["layer"]), self.depth)

    # -- accuracies --------------------------------------------------------------------------------
    def _score(self, k: int) -> float:
        """Net k's continuum accuracy, measured again only when it has trained further."""
        t = self.trainings[k]
        cached = self._scores.get(k)
        if cached is None or cached[0] != t.done:
            cached = (t.done, accuracy_on(t.net, self.cx, self.cy))
            self._scores[k] = cached
        return cached[1]

    def continuum_accuracy(self) -> float:
        """The net on show, on the dense continuum (re-measured every MEASURE_EVERY ticks)."""
        k = self.best if self.finished else self.current
        if self.finished or self.ticks % MEASURE_EVERY == 0 or k not in self._scores:
            return self._score(k)
        return self._scores[k][1]

    def train_accuracy(self) -> float:
        return accuracy_on(self.net, self.x, self.y)

    def best_continuum_accuracy(self) -> float:
        """The best continuum accuracy over the nets trained to the end so far (before any has
        finished: the one in training)."""
        done = [self._score(k) for k, t in enumerate(self.trainings) if t.finished]
        return max(done) if done else self.continuum_accuracy()

    @derived("k", key=lambda self: (self.seed, self.data, self.factor))
    def knn_accuracy(self) -> float:
        """k nearest neighbours of the training points (no training), on the same continuum."""
        return float(np.mean(knn_predict(self.x, self.y, self.cx, int(self.params["k"])) == self.cy))

    def smallest_det(self) -> float:
        """The smallest |det W| of the square hidden layers (0 would fold the plane flat)."""
        dets = layer_dets(self.net)
        return min(abs(d) for d in dets) if dets else float("nan")

    # -- what the view draws ---------------------------------------------------------------------
    def layers(self) -> list[np.ndarray]:
        """The training points at the input and after every tanh layer."""
        return hidden_layers(self.net, self.x)

    def carry(self, points: np.ndarray, layer: int) -> np.ndarray:
        """Input points carried through the first ``layer`` layers of the net on show."""
        return hidden_layers(self.net, points)[layer]

    def map_edges(self) -> tuple[float, float, float, float]:
        """The rectangle the maps cover (x0, x1, y0, y1): the input square, its height divided by
        the squash so that a squashed plane keeps MAP_CELLS rows across its thin band."""
        return -HALF, HALF, -HALF / self.factor, HALF / self.factor

    def map_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """The centres of the maps' cells, (x, y) each (MAP_CELLS, MAP_CELLS), row 0 at the top."""
        x0, x1, y0, y1 = self.map_edges()
        half_x, half_y = 0.5 * (x1 - x0) / MAP_CELLS, 0.5 * (y1 - y0) / MAP_CELLS
        xs = np.linspace(x0 + half_x, x1 - half_x, MAP_CELLS)
        ys = np.linspace(y1 - half_y, y0 + half_y, MAP_CELLS)
        return np.meshgrid(xs, ys)

    def decision_map(self) -> np.ndarray:
        """The net's label on a MAP_CELLS² grid of the input plane (row 0 at the top)."""
        xx, yy = self.map_grid()
        return predict(self.net, np.stack([xx.ravel(), yy.ravel()], 1)).reshape(MAP_CELLS, MAP_CELLS)

    def knn_map(self) -> np.ndarray:
        """k-NN's label on the same grid as :meth:`decision_map`."""
        xx, yy = self.map_grid()
        grid = np.stack([xx.ravel(), yy.ravel()], 1)
        return knn_predict(self.x, self.y, grid, int(self.params["k"])).reshape(MAP_CELLS, MAP_CELLS)

    def membership_map(self) -> np.ndarray:
        """Which set each cell of the map's grid lies in, in the (stretched) plane shown: −1 none,
        0 the disc, 1 the ring (the stretch is undone to ask the original radius)."""
        xx, yy = self.map_grid()
        x0, y0 = xx, yy
        if self.factor != 1.0:  # the data were squashed (see reset): undo it
            y0 = yy * self.factor
            x0 = xx - 0.5 * y0
        r = np.hypot(x0, y0)
        out = np.full(r.shape, -1, np.int64)
        out[r <= DISC_R] = 0
        out[(r >= RING_IN) & (r <= RING_OUT)] = 1
        return out

    # -- what the runner records -----------------------------------------------------------------
    def observables(self) -> dict[str, Any]:
        t = self.training
        return {
            "loss": t.losses[-1] if t.losses else softmax_cross_entropy(t.net.forward(self.x), self.y)[0],
            "train_acc": self.train_accuracy(),
            "continuum_acc": self.continuum_accuracy(),
            "best_acc": self.best_continuum_accuracy(),
            "knn_acc": self.knn_accuracy(),
            "smallest_det": self.smallest_det(),
            "progress": self.progress,
        }

    def state(self) -> dict[str, np.ndarray]:
        return {"x": self.x, "weights": np.concatenate([p.ravel() for p in self.net.params])}

    # -- challenge measurements ------------------------------------------------------------------
    def measure_reaches_full(self, run) -> str:
        """Whether the best of the nets labels every point of the continuum right."""
        return "yes, 100%" if self.best_continuum_accuracy() >= 1.0 else "no, below 100%"

    def measure_continuum_percent(self, run) -> float:
        """The best net's accuracy on the continuum, in percent."""
        return 100.0 * self.best_continuum_accuracy()

    def measure_knn_percent(self, run) -> float:
        """k-NN's accuracy on the continuum, in percent."""
        return 100.0 * self.knn_accuracy()
