"""The KV-cache lab: the memory formula as a calculator (every symbol a parameter), the levers that
shrink it, and a serving simulation: requests of random lengths decoding one token per step, held
in memory preallocated to the longest length or in fixed blocks (paging)."""

from __future__ import annotations

import numpy as np

from sandbox.kit import derived
from sandbox.model import Model

from .kvmath import (
    CARDS,
    DTYPES,
    GB,
    GIB,
    PRESETS,
    WINDOWS,
    Config,
    PagingState,
    ToyDecoder,
    advance,
    best_lever,
    best_levers,
    decode_step_bytes,
    lever_savings,
    new_requests,
    occupancy,
)

#: the weights' number format: name -> bytes per parameter
WEIGHT_DTYPES = {"bf16 (2 bytes)": 2.0, "int8 (1 byte)": 1.0, "int4 (0.5 byte)": 0.5}
#: the sequence lengths of the memory curve: 128 .. 1 048 576 tokens
CURVE_LENGTHS = 2.0 ** np.arange(7, 21)
#: the lengths of the toy decoder's work curve
WORK_LENGTHS = 2.0 ** np.arange(4, 13)


class KVCacheLab(Model):
    """State: the paging simulation's requests (``paging``: their total and current lengths).
    Everything else is the formula, computed from the parameters: ``config()``, ``kv_bytes()``,
    ``weight_bytes()``, ``lever_savings()``."""

    work_unit = "decode steps"

    def reset(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        slots, max_len = int(self.params["slots"]), int(self.params["max_len"])
        total, prompt = new_requests(self.rng, slots, max_len)
        # start mid-way through each request, as a server that has been running a while would be
        current = prompt + np.floor(self.rng.random(slots) * (total - prompt + 1)).astype(np.int64)
        self.paging = PagingState(total=total, current=np.minimum(current, total))
        self.decoded = 0

    def step(self) -> None:
        advance(self.paging, self.rng, int(self.params["max_len"]))
        self.decoded += len(self.paging.current)

    # -- the formula ---------------------------------------------------------------------------

    def config(self) -> Config:
        """The formula's symbols as the parameters set them."""
        p = self.params
        return Config(batch=int(p["batch"]), layers=int(p["layers"]), context=int(p["context"]),
                      kv_heads=int(p["kv_heads"]), d_head=int(p["d_head"]), bytes=DTYPES[p["cache_dtype"]],
                      window=WINDOWS[p["window"]])

    def kv_bytes(self) -> float:
        return self.config().kv_bytes()

    def weight_bytes(self) -> float:
        """The weights' bytes: parameters × bytes per parameter (what the formula leaves out)."""
        return float(self.params["params_b"]) * 1e9 * WEIGHT_DTYPES[self.params["weight_dtype"]]

    def card_bytes(self) -> float:
        return CARDS[self.params["gpu"]].gib * GIB

    def lever_savings(self) -> dict[str, float]:
        """Bytes each lever frees from this configuration's cache."""
        return lever_savings(self.config())

    def matching_presets(self) -> list[str]:
        """The published configurations whose attention the parameters match (Llama-2-70B and
        Llama-3-70B share theirs)."""
        p = self.params
        here = (p["layers"], p["q_heads"], p["kv_heads"], p["d_head"], WINDOWS[p["window"]])
        return [preset.name for preset in PRESETS
                if (preset.layers, preset.q_heads, preset.kv_heads, preset.d_head, preset.window) == here]

    def attention_kind(self) -> str:
        q, kv = int(self.params["q_heads"]), int(self.params["kv_heads"])
        if kv >= q:
            return "multi-head"
        return "multi-query" if kv == 1 else f"grouped-query ({q / kv:.3g} query heads per KV head)"

    @derived("batch", "layers", "kv_heads", "d_head", "cache_dtype", "window")
    def memory_curve(self) -> dict[str, np.ndarray]:
        """KV cache (bytes) against the sequence length T, everything else as set."""
        config = self.config()
        kv = np.array([config.replace(context=int(t)).kv_bytes() for t in CURVE_LENGTHS])
        return {"lengths": CURVE_LENGTHS, "kv": kv}

    @derived()
    def work_curve(self) -> dict[str, np.ndarray]:
        """The toy decoder's FLOPs per generated token against the sequence length, with and
        without the cache (counted by formula; the tests check it against the decoder's own count)."""
        toy = ToyDecoder()
        return {"lengths": WORK_LENGTHS,
                "cached": np.array([toy.step_flops(int(t), True) for t in WORK_LENGTHS], float),
                "uncached": np.array([toy.step_flops(int(t), False) for t in WORK_LENGTHS], float)}

    def decode_bytes(self) -> float:
        """Bytes one decode step of the whole batch reads at least: the weights once, every cache."""
        return decode_step_bytes(self.config(), float(self.params["params_b"]),
                                 WEIGHT_DTYPES[self.params["weight_dtype"]])

    def occupancy(self) -> dict[str, float]:
        return occupancy(self.paging.current, int(self.params["max_len"]), int(self.params["block"]))

    # -- what is recorded ------------------------------------------------------------------------

    def observables(self) -> dict:
        kv, weights, card = self.kv_bytes(), self.weight_bytes(), self.card_bytes()
        occ = self.occupancy()
        out = {
            "kv_gib": kv / GIB,
            "kv_gb": kv / GB,
            "per_token_kib": self.config().per_token() / 1024,
            "weights_gib": weights / GIB,
            "total_gib": (kv + weights) / GIB,
            "fits": float(kv + weights <= card),
            "prealloc_waste": occ["prealloc_waste"],
            "paged_waste": occ["paged_waste"],
            "lengths": self.paging.current.astype(np.float64),
        }
        return out  # the levers' shares are drawn by the view, which hides them while you predict

    def state(self) -> dict[str, np.ndarray]:
        return {"current": self.paging.current.astype(np.float64), "total": self.paging.total.astype(np.float64)}

    # -- challenges ------------------------------------------------------------------------------

    def measure_best_lever(self, run) -> str:
        """The lever that frees the most bytes, from the formula with the run's configuration."""
        return best_lever(self.config())

    def measure_best_levers(self, run) -> tuple[str, ...]:
        """The levers that free the most bytes from the run's configuration (several when they tie)."""
        return best_levers(self.config())

    def measure_kv_gib(self, run) -> float:
        """The cache of the run's configuration in GiB, as recorded."""
        return float(run.series("kv_gib")[-1])

    def measure_prealloc_waste(self, run) -> float:
        """The share of preallocated memory that held no token, averaged over the run's steps."""
        return float(np.mean(run.series("prealloc_waste")))
