"""The matrix as a map: a 2×2 matrix W moves the plane, and a 64×64 matrix is kept to its top k
singular values.

A run is an animation, one step a tick. In "map" mode the plane slides from the identity to W;
in "SVD" mode it goes there one factor of W = U Σ Vᵀ at a time, with pauses between; in "two
maps" mode it goes through W and then B (one pane) and through B and then W (the other); in "low
rank" mode the matrix is rebuilt one rank-1 layer σᵢuᵢvᵢᵀ at a time until k are kept. Editing W
or k once the animation is over shows the result at once. Everything shown is computed by :mod:`.maps`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from .maps import (
    HOUSE,
    SECOND_MAPS,
    SIZE,
    UNIT_SQUARE,
    compose_path,
    describe_lines,
    direction_scan,
    kept_lines,
    lora_counts,
    picture,
    signed_area,
    straight_path,
    svd_factors,
    svd_path,
    truncate,
    weight_update,
)

#: Steps of the slide from the identity to W ("map" mode), and of each stage of the others.
MORPH_STEPS = 40
#: Steps the SVD and two-maps animations hold still before each stage, so each can be read.
PAUSE_STEPS = 20
#: Steps between two layers σᵢuᵢvᵢᵀ of the low-rank build-up.
LAYER_STEPS = 5
#: The stages of each mode's animation (the morph parameter s runs from 0 to this).
STAGES = {"map": 1, "SVD": 3, "two maps": 2, "low rank": 0}
#: Two maps are called the same when their pictures differ by less than this (relative).
SAME_MAP = 1e-9
WEIGHT_UPDATE = "weight update ΔW"


def morph_progress(mode: str, step: int) -> float:
    """The morph parameter s after ``step`` steps: 0 (identity) to STAGES[mode] (the whole map).
    "map" slides at once; the staged modes pause before each stage (SVD also before the first,
    where the singular vectors are shown on the unit circle)."""
    stages = STAGES[mode]
    if mode == "map":
        return min(step / MORPH_STEPS, 1.0)
    lead = PAUSE_STEPS if mode == "SVD" else 0
    t = step - lead
    s = 0.0
    for stage in range(stages):
        start = stage * (MORPH_STEPS + PAUSE_STEPS)
        s = stage + min(max((t - start) / MORPH_STEPS, 0.0), 1.0)
        if t < start + MORPH_STEPS + PAUSE_STEPS:
            break
    return s


def steps_to_finish(mode: str) -> int:
    """Steps until a mode's animation is over (low rank: per layer, see ``LAYER_STEPS``)."""
    stages = STAGES[mode]
    if mode == "map":
        return MORPH_STEPS
    lead = PAUSE_STEPS if mode == "SVD" else 0
    return lead + stages * MORPH_STEPS + (stages - 1) * PAUSE_STEPS


class MatrixModel(Model):
    """The level's state: W (from the parameters), the animation's step, and the low-rank matrix.

    For the view: ``W``, ``B`` (the second map), ``morph()`` (the matrix the plane shows now, in
    the main pane; ``morph_other()`` for the second pane of "two maps"), ``stage()``,
    ``lines()`` (the lines W keeps), ``factors()`` (its SVD angles and σ), ``scan()`` (what W does
    to each direction), ``matrix()`` / ``svd()`` / ``approximation(k)`` and ``shown_rank`` in
    "low rank" mode.
    """

    work_unit = "animation steps"

    # ------------------------------------------------------------------------------------------
    # life cycle

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        self.t = 0
        self._record_rank()

    def step(self) -> None:
        self.t += 1
        self._record_rank()

    def finish(self) -> None:
        """Jump to the end of the animation (a challenge's setup is shown this way)."""
        self.t = max(steps_to_finish(self.mode), LAYER_STEPS * int(self.params["k"]))
        self._record_rank()

    def _record_rank(self) -> None:
        """The rank shown: one more layer every LAYER_STEPS steps until k is reached; from then on,
        k itself (a slider moved afterwards shows its copy at once)."""
        k = int(self.params["k"])
        if self.t == 0:
            self.built = False
        self.built = self.built or 1 + self.t // LAYER_STEPS >= k
        self.shown_rank = k if self.built else 1 + self.t // LAYER_STEPS

    def set_param(self, name: str, value: Any) -> None:
        super().set_param(name, value)
        if name == "k":
            self._record_rank()

    @property
    def mode(self) -> str:
        return self.params["mode"]

    # ------------------------------------------------------------------------------------------
    # the 2×2 maps

    @property
    def W(self) -> np.ndarray:
        p = self.params
        return np.array([[p["w11"], p["w12"]], [p["w21"], p["w22"]]], dtype=np.float64)

    @property
    def B(self) -> np.ndarray:
        return SECOND_MAPS[self.params["second"]].copy()

    @property
    def progress(self) -> float:
        """The morph parameter s, from 0 to the mode's number of stages."""
        return morph_progress(self.mode, self.t)

    def stage(self) -> int:
        """The stage the animation is in or has just finished: 0 before it starts, then 1, 2, ..."""
        return 0 if self.progress <= 0 else math.ceil(self.progress)

    def morph(self) -> np.ndarray:
        """The matrix the (main) pane shows now: on its way from the identity to W (in "two maps"
        mode, to BW: W first, then B)."""
        s = self.progress
        if self.mode == "SVD":
            return svd_path(self.W, s, self.factors())
        if self.mode == "two maps":
            return compose_path(self.W, self.B, s)
        return straight_path(self.W, s)

    def morph_other(self) -> np.ndarray:
        """The second pane of "two maps": B first, then W, on its way to WB."""
        return compose_path(self.B, self.W, self.progress)

    @derived("w11", "w12", "w21", "w22")
    def lines(self) -> list[tuple[float, float]] | None:
        """The lines W keeps, (angle, λ) each, found by scanning directions (None: every one)."""
        return kept_lines(self.W)

    @derived("w11", "w12", "w21", "w22")
    def eigenvalues(self) -> np.ndarray:
        """W's eigenvalues (complex), for the panel's λ = a ± bi when no line is kept."""
        return np.linalg.eigvals(self.W)

    @derived("w11", "w12", "w21", "w22")
    def factors(self) -> tuple[float, float, float, float, float]:
        """(θ, φ, σ₁, σ₂, sign) with W = R(φ) diag(σ₁, sign·σ₂) R(θ)ᵀ (see :func:`.maps.svd_factors`)."""
        return svd_factors(self.W)

    @derived("w11", "w12", "w21", "w22")
    def scan(self, samples: int = 361) -> dict[str, np.ndarray]:
        """|Wx| and the turn from x to Wx for unit x at each angle of half a turn."""
        return direction_scan(self.W, samples)

    @derived("w11", "w12", "w21", "w22", "second")
    def products(self) -> tuple[np.ndarray, np.ndarray]:
        """(BW, WB): W then B, and B then W."""
        return self.B @ self.W, self.W @ self.B

    def square(self) -> np.ndarray:
        """The image of the unit square's corners under the matrix shown now (4, 2)."""
        return UNIT_SQUARE @ self.morph().T

    # ------------------------------------------------------------------------------------------
    # low rank

    @derived("matrix", key=lambda self: self.seed)
    def matrix(self) -> np.ndarray:
        """The 64×64 matrix of "low rank" mode: the picture, or a weight update made from the seed."""
        return weight_update(self.seed) if self.params["matrix"] == WEIGHT_UPDATE else picture()

    @derived("matrix", key=lambda self: self.seed)
    def svd(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(U, σ, Vᵀ) of :meth:`matrix`, σ largest first."""
        return np.linalg.svd(self.matrix())

    @derived("matrix", key=lambda self: self.seed)
    def approximation(self, k: int) -> np.ndarray:
        """A_k: the matrix rebuilt from its top k singular values and vectors."""
        return truncate(self.svd(), k)

    @derived("matrix", key=lambda self: self.seed)
    def kept_share(self, k: int) -> float:
        """‖A_k‖²_F / ‖A‖²_F, from the rebuilt matrix itself (not from the σ's)."""
        return float(np.sum(self.approximation(k) ** 2) / np.sum(self.matrix() ** 2))

    @derived("matrix", key=lambda self: self.seed)
    def error_norm(self, k: int) -> float:
        """‖A − A_k‖_F, from the rebuilt matrix."""
        return float(np.linalg.norm(self.matrix() - self.approximation(k)))

    def lora(self) -> dict[str, int]:
        """LoRA's count for the manifest's d and r, and for this matrix at r = k."""
        trained, full = lora_counts(int(self.params["lora_d"]), int(self.params["lora_r"]))
        here, here_full = lora_counts(SIZE, int(self.params["k"]))
        return {"trained": trained, "full": full, "here": here, "here_full": here_full}

    # ------------------------------------------------------------------------------------------
    # what the runner records

    def observables(self) -> dict[str, Any]:
        W, (bw, wb) = self.W, self.products()
        sigma = self.factors()[2:4]
        square = self.square()
        return {
            "det": float(np.linalg.det(W)),
            "sigma1": sigma[0],
            "sigma2": sigma[1],
            "keeps_a_line": 0.0 if self.lines() == [] else 1.0,
            "order_gap": float(np.linalg.norm(bw - wb)),
            "rank": float(self.shown_rank),
            "kept_share": self.kept_share(self.shown_rank),
            "error_norm": self.error_norm(self.shown_rank),
            "square": square,
            "picture": HOUSE.reshape(-1, 2) @ self.morph().T,
            "picture_other": HOUSE.reshape(-1, 2) @ self.morph_other().T,
        }

    def state(self) -> dict[str, np.ndarray]:
        return {"W": self.W}

    # ------------------------------------------------------------------------------------------
    # challenge measurements

    def measure_kept_lines(self, run) -> str:
        """Which lines W keeps, in the challenges' words, found by scanning every direction."""
        return describe_lines(kept_lines(self.W))

    def measure_signed_area(self, run) -> float:
        """The signed area of the unit square's image at the end of the run (the shoelace formula)."""
        return signed_area(run.array("square"))

    def measure_order(self, run) -> str:
        """"the same" when W-then-B and B-then-W carry the picture to the same place, else "different"."""
        first, other = run.array("picture"), run.array("picture_other")
        size = max(float(np.max(np.abs(first))), float(np.max(np.abs(other))), 1.0)
        return "the same" if float(np.max(np.abs(first - other))) <= SAME_MAP * size else "different"

    def measure_kept_share(self, run) -> float:
        """The share of ‖A‖²_F the rebuilt matrix holds at the end of the run."""
        return float(run.series("kept_share")[-1])
