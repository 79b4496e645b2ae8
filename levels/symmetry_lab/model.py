"""The Symmetry Lab: one station at a time; the transformation g is applied to the input (by the
learner's button, and once every PERIOD steps while ``auto`` is on), and every model's
equivariance error after g^k is measured live.

Everything computed lives in :mod:`.stations`; this module holds the run: which station, how many
times g has been applied (k), the models' outputs f(x) (computed once per reset) and their outputs
on g^k·x, recorded as observables.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sandbox.model import Model

from .stations import BREAK, TOLERANCE, Outcome, evaluate, make_station, verdict

#: Steps between two automatic applications of g (1.5 s at the level's 30 steps a second).
PERIOD = 45
#: Bending is applied at most this many times before the sheet is laid flat again.
BEND_CYCLE = 5
#: The observables of each station's four models, in the station's order.
ERRORS = {
    "Grids": ("grid_circular", "grid_zero", "grid_stride", "grid_pool"),
    "Groups": ("group_p4", "group_cnn", "group_p4_pool", "group_cnn_pool"),
    "Graphs": ("graph_mp", "graph_sum", "graph_attn", "graph_attn_pos"),
    "Geodesics": ("geo_geodesic", "geo_defect", "geo_straight", "geo_coords"),
    "Gauges": ("gauge_equivariant", "gauge_no_transport", "gauge_general_w", "gauge_lengths"),
}
STRIDE_OUTCOMES = ("it shifts by whole output pixels", "it stays exactly the same", "it changes: no shift of it matches")
SIZE_OUTCOMES = ("only rounding (below 1e-12)", "a little (below 1%)", "some (1% to 10%)", "a lot (over 10%)")
UNCHANGED_OUTCOMES = ("none of them", "the sum readout only", "message passing and the sum readout",
                      "all but attention with positions", "all four")
TURN_OUTCOMES = ("exactly, to rounding", "only approximately")
BEND_OUTCOMES = ("geodesic distance and angle defect", "geodesic and straight-line distance",
                 "all four", "none of them")
GAUGE_OUTCOMES = ("the gauge-equivariant layer only", "every layer that transports",
                  "all three layers", "none of them")


def degrees_of(choice: str) -> float:
    """'45°' → 45.0."""
    return float(str(choice).rstrip("°"))


class SymmetryModel(Model):
    """A station and the transformation applied k times.

    For the view: ``station`` (:class:`~.stations.Station`: its input and models), ``k`` (the
    applications so far; ``effective_k`` is what is applied), ``outcomes`` (one
    :class:`~.stations.Outcome` per model), ``moved_input()`` (g^k·x), ``verdicts()``.
    """

    work_unit = "steps"

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        p = self.params
        self.station = make_station(p["station"], seed, p["dtype"], size=int(p["size"]), shift_px=int(p["shift"]),
                                    degrees=degrees_of(p["angle"]), nodes=int(p["nodes"]), deform=p["deform"])
        self.outs = [m.f(self.station.x) for m in self.station.models]
        self.t = 0
        self.k = 1  # g is applied once from the start: the first picture already shows every verdict
        self._evaluate()

    # -- the transformation ------------------------------------------------------------------------
    def step(self) -> None:
        self.t += 1
        if self.params["auto"] and self.t % PERIOD == 0:
            self.k += 1
            self._evaluate()

    def apply(self) -> None:
        """Apply g once more (the scene's big button)."""
        self.k += 1
        self._evaluate()

    def undo_all(self) -> None:
        """Back to the untransformed input (k = 0)."""
        self.k = 0
        self._evaluate()

    @property
    def effective_k(self) -> int:
        """The power of g applied: k, except that bending starts over flat after BEND_CYCLE − 1 folds."""
        if self.station.name == "Geodesics" and self.params["deform"] == "bend":
            return self.k % BEND_CYCLE
        return self.k

    def is_identity(self) -> bool:
        """Whether g^k is the identity (k = 0, or a full turn, or a whole cycle of shifts)."""
        k = self.effective_k
        if k == 0:
            return True
        name = self.station.name
        if name == "Grids":
            return (int(self.params["shift"]) * k) % int(self.params["size"]) == 0
        if name == "Groups":
            return abs(math.remainder(degrees_of(self.params["angle"]) * k, 360.0)) < 1e-9
        return False

    def _evaluate(self) -> None:
        self.moved = self.station.act_input(self.station.x, self.effective_k)
        self.outcomes: list[Outcome] = evaluate(self.station, self.effective_k, self.outs)

    def moved_input(self):
        """g^k·x: the input the models see now."""
        return self.moved

    def verdicts(self) -> list[str]:
        """Per model: "moves with it", "stays" or "breaks" (see :func:`.stations.verdict`)."""
        return [verdict(o, self.params["dtype"], self.is_identity()) for o in self.outcomes]

    # -- what the runner records ----------------------------------------------------------------
    def observables(self) -> dict[str, Any]:
        obs: dict[str, Any] = {"applied": float(self.k)}
        for station, names in ERRORS.items():  # the other stations' errors are 0: their readouts are hidden
            for name, outcome in zip(names, self.outcomes):
                obs[name] = outcome.error if station == self.station.name else 0.0
        obs["errors"] = np.array([o.error for o in self.outcomes])
        obs["unchanged"] = np.array([o.unchanged for o in self.outcomes])
        return obs

    def state(self) -> dict[str, np.ndarray]:
        return {"outputs": np.concatenate([np.ravel(np.asarray(o.moved, np.float64)) for o in self.outcomes])}

    # -- challenge measurements -------------------------------------------------------------------
    def _tolerance(self) -> float:
        return TOLERANCE[self.params["dtype"]]

    def measure_stride_shift(self, run) -> str:
        """What the stride-2 output does after the shift: it matches a shift of f(x), it is f(x)
        itself, or no shift of f(x) matches (from the recorded errors of the last step)."""
        error, unchanged = run.array("errors")[2], run.array("unchanged")[2]
        tol = self._tolerance()
        if unchanged <= tol:
            return STRIDE_OUTCOMES[1]
        return STRIDE_OUTCOMES[0] if error <= tol else STRIDE_OUTCOMES[2]

    def measure_stride_change(self, run) -> str:
        """How far the stride-2 output is from the nearest shift of f(x), in the challenge's bands."""
        error = float(run.array("errors")[2])
        if error < TOLERANCE["float64"]:
            return SIZE_OUTCOMES[0]
        return SIZE_OUTCOMES[1] if error < 0.01 else SIZE_OUTCOMES[2] if error < 0.1 else SIZE_OUTCOMES[3]

    def measure_relabel_unchanged(self, run) -> str:
        """Which of the graph models give exactly (to rounding) the same output after relabelling."""
        same = [u <= self._tolerance() for u in run.array("unchanged")]
        if not any(same):
            return UNCHANGED_OUTCOMES[0]
        if all(same):
            return UNCHANGED_OUTCOMES[4]
        if same == [False, True, False, False]:
            return UNCHANGED_OUTCOMES[1]
        if same == [True, True, False, False]:
            return UNCHANGED_OUTCOMES[2]
        if same == [True, True, True, False]:
            return UNCHANGED_OUTCOMES[3]
        return "another set: " + ", ".join(m.short for m, s in zip(self.station.models, same) if s)

    def measure_p4_turn(self, run) -> str:
        """Whether the p4 network's output turned with the picture to rounding, or only approximately."""
        return TURN_OUTCOMES[0] if run.array("errors")[0] <= self._tolerance() else TURN_OUTCOMES[1]

    def measure_bend_stays(self, run) -> str:
        """Which features of the sheet are unchanged (to rounding) after bending."""
        same = [u <= self._tolerance() for u in run.array("unchanged")]
        names = {(True, True, False, False): 0, (True, False, True, False): 1, (True, True, True, True): 2,
                 (False, False, False, False): 3}
        index = names.get(tuple(same))
        return BEND_OUTCOMES[index] if index is not None else "another set"

    def measure_gauge_follows(self, run) -> str:
        """Which of the three layers' outputs turn with the frames (error to rounding)."""
        ok = [e <= self._tolerance() for e in run.array("errors")[:3]]
        names = {(True, False, False): 0, (True, False, True): 1, (True, True, True): 2, (False, False, False): 3}
        index = names.get(tuple(ok))
        return GAUGE_OUTCOMES[index] if index is not None else "another set"


__all__ = ["BREAK", "ERRORS", "PERIOD", "SymmetryModel"]
