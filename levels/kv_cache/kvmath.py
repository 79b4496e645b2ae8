"""The KV-cache lab's arithmetic, with no GL and no ImGui: the memory formula and its presets, the
levers, a toy decoder that counts its own work, the paging simulation, and a bandwidth probe.

Units: bytes are counted exactly; GiB = 2³⁰ bytes and GB = 10⁹ bytes are named wherever they appear.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

GIB, GB = float(2**30), 1e9

#: the cache's number format: name -> bytes per number
DTYPES = {"fp32 (4 bytes)": 4.0, "fp16 / bf16 (2 bytes)": 2.0, "fp8 / int8 (1 byte)": 1.0, "int4 (0.5 byte)": 0.5}
#: the sliding window: name -> tokens kept (0: every token)
WINDOWS = {"none": 0, "1024 tokens": 1024, "4096 tokens": 4096, "8192 tokens": 8192, "32768 tokens": 32768}


@dataclass(frozen=True)
class Preset:
    """A published configuration: what its config.json says (``source`` names the file)."""

    name: str
    layers: int
    q_heads: int
    kv_heads: int
    d_head: int
    window: int  # 0: full attention
    max_context: int
    params_b: float  # parameters, billions (for the weights' bytes; approximate)
    source: str

    @property
    def kind(self) -> str:
        """Multi-head, grouped-query or multi-query attention, from the head counts."""
        if self.kv_heads == self.q_heads:
            return "multi-head"
        return "multi-query" if self.kv_heads == 1 else "grouped-query"


PRESETS = (
    Preset("Llama-2-7B", 32, 32, 32, 128, 0, 4096, 6.74, "meta-llama/Llama-2-7b-hf config.json"),
    Preset("Llama-2-70B", 80, 64, 8, 128, 0, 4096, 68.98, "meta-llama/Llama-2-70b-hf config.json"),
    Preset("Llama-3-8B", 32, 32, 8, 128, 0, 8192, 8.03, "meta-llama/Meta-Llama-3-8B config.json"),
    Preset("Llama-3-70B", 80, 64, 8, 128, 0, 8192, 70.55, "meta-llama/Meta-Llama-3-70B config.json"),
    Preset("Mistral-7B-v0.1", 32, 32, 8, 128, 4096, 32768, 7.24, "mistralai/Mistral-7B-v0.1 config.json"),
    Preset("Falcon-7B", 32, 71, 1, 64, 0, 2048, 6.92, "tiiuae/falcon-7b config.json"),
    Preset("Qwen2-7B", 28, 28, 4, 128, 0, 32768, 7.62, "Qwen/Qwen2-7B config.json"),
    Preset("Gemma-7B", 28, 16, 16, 256, 0, 8192, 8.54, "google/gemma-7b config.json"),
    Preset("Gemma-2B", 18, 8, 1, 256, 0, 8192, 2.51, "google/gemma-2b config.json"),
)
PRESET_BY_NAME = {p.name: p for p in PRESETS}


@dataclass(frozen=True)
class Card:
    """A GPU's memory: ``label`` as the vendor sells it; ``gib`` what the card holds, in GiB."""

    label: str
    gib: float
    note: str


#: the vendors say "GB" but the memory comes in binary sizes: a "80 GB" card holds 80 GiB = 85.9 GB.
#: The H200's 143 771 MiB is what its driver reports (measured once on one: 140.4 GiB, 150.8 GB).
CARDS = {
    "24 GB (RTX 4090)": Card("24 GB", 24.0, "24 GiB of GDDR6X"),
    "40 GB (A100 40GB)": Card("40 GB", 40.0, "40 GiB of HBM2"),
    "80 GB (A100 / H100 80GB)": Card("80 GB", 80.0, "80 GiB of HBM"),
    "141 GB (H200)": Card("141 GB", 143771 / 1024, "143 771 MiB as its driver reports"),
}

#: memory bandwidth from the vendors' spec sheets (bytes/s): arithmetic, not measured here
SPEC_BANDWIDTH = {"H100 SXM (3.35 TB/s, spec sheet)": 3.35e12, "H200 (4.8 TB/s, spec sheet)": 4.8e12}


@dataclass(frozen=True)
class Config:
    """The formula's symbols: B · N_layers · T · H_kv · d_head · 2 · bytes, and a sliding window."""

    batch: int
    layers: int
    context: int
    kv_heads: int
    d_head: int
    bytes: float
    window: int = 0  # 0: none

    @property
    def cached_tokens(self) -> int:
        """Tokens whose keys and values are kept per sequence: T, or the window when it is shorter."""
        return min(self.context, self.window) if self.window > 0 else self.context

    def per_token(self) -> float:
        """Bytes of keys and values one token adds to one sequence: N_layers · H_kv · d_head · 2 · bytes."""
        return self.layers * self.kv_heads * self.d_head * 2 * self.bytes

    def kv_bytes(self) -> float:
        """Mem_KV = B · N_layers · T · H_kv · d_head · 2 · bytes, T capped by the window."""
        return self.batch * self.cached_tokens * self.per_token()

    def replace(self, **changes) -> Config:
        return Config(**{**self.__dict__, **changes})


#: the levers, in the order the challenges list them: name -> the move it makes
LEVERS = ("halve the batch B", "halve the context T", "one KV head (MQA)", "4-bit cache", "4096-token window")


def lever_moves(config: Config) -> dict[str, Config]:
    """What each lever makes of ``config``: the batch halved (not below 1), the context halved, one
    KV head shared by every query head, the cache stored in 4 bits, a window of 4096 tokens (a
    lever never makes the cache larger: a wider window or more bytes is left as it is)."""
    return {
        LEVERS[0]: config.replace(batch=max(1, config.batch // 2)),
        LEVERS[1]: config.replace(context=max(1, config.context // 2)),
        LEVERS[2]: config.replace(kv_heads=1),
        LEVERS[3]: config.replace(bytes=min(config.bytes, 0.5)),
        LEVERS[4]: config.replace(window=4096 if config.window == 0 else min(config.window, 4096)),
    }


def lever_savings(config: Config) -> dict[str, float]:
    """Bytes each lever frees from the cache of ``config`` (never negative)."""
    before = config.kv_bytes()
    return {name: max(0.0, before - moved.kv_bytes()) for name, moved in lever_moves(config).items()}


def best_lever(config: Config) -> str:
    """The lever that frees the most bytes (the first in LEVERS order among equals)."""
    savings = lever_savings(config)
    return max(LEVERS, key=lambda name: (savings[name], -LEVERS.index(name)))


def best_levers(config: Config) -> tuple[str, ...]:
    """Every lever that frees the most bytes: more than one when they tie (halving B and halving
    T both free half), each of them a right answer."""
    savings = lever_savings(config)
    most = max(savings.values())
    return tuple(name for name in LEVERS if savings[name] == most)


def number(x: float) -> str:
    """Three significant digits below 1000, whole numbers above (2,048, not 2.05e+03)."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def units(nbytes: float) -> str:
    """A size in GiB and GB (both, since they differ by 7%), or MiB and MB below a GiB."""
    if nbytes >= GIB:
        return f"{number(nbytes / GIB)} GiB ({number(nbytes / GB)} GB)"
    return f"{number(nbytes / 2**20)} MiB ({number(nbytes / 1e6)} MB)"


# -- the toy decoder ------------------------------------------------------------------------------


class Counter:
    """Multiply-adds counted as FLOPs (2 per multiply-add) and the bytes of the operands read."""

    def __init__(self) -> None:
        self.flops = 0
        self.bytes_read = 0

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        m, k = a.shape[-2] if a.ndim > 1 else 1, a.shape[-1]
        n = b.shape[-1]
        batch = int(np.prod(a.shape[:-2])) if a.ndim > 2 else 1
        self.flops += 2 * batch * m * k * n
        self.bytes_read += a.nbytes + b.nbytes
        return a @ b


@dataclass
class ToyDecoder:
    """A small decoder-only transformer in float64: token embedding, ``layers`` blocks of causal
    multi-head attention and a ReLU MLP (pre-norm, residual), and an output projection; greedy.
    Its weights are random (seeded): it generates nonsense, but it does the work a real one does."""

    vocab: int = 64
    d_model: int = 64
    heads: int = 4
    layers: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        d, v = self.d_model, self.vocab
        s = 1.0 / math.sqrt(d)
        self.embed = rng.normal(0, 1, (v, d))
        self.positions = rng.normal(0, 0.1, (4096, d))
        self.blocks = [{"qkv": rng.normal(0, s, (d, 3 * d)), "out": rng.normal(0, s, (d, d)),
                        "up": rng.normal(0, s, (d, 4 * d)), "down": rng.normal(0, s / 2, (4 * d, d))}
                       for _ in range(self.layers)]
        self.unembed = rng.normal(0, s, (d, v))
        self.d_head = d // self.heads

    @property
    def weight_bytes(self) -> int:
        """Bytes of the weights one token's pass reads (embedding row aside)."""
        return sum(w.nbytes for b in self.blocks for w in b.values()) + self.unembed.nbytes

    def cache_bytes_per_token(self) -> int:
        """Bytes of keys and values one token adds: layers · heads · d_head · 2 · 8."""
        return self.layers * self.d_model * 2 * 8

    @staticmethod
    def _norm(x: np.ndarray) -> np.ndarray:
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + 1e-6)

    def _heads(self, x: np.ndarray) -> np.ndarray:  # (t, d) -> (heads, t, d_head)
        return x.reshape(x.shape[0], self.heads, self.d_head).transpose(1, 0, 2)

    def forward(self, tokens, counter: Counter, cache: list | None = None, start: int = 0) -> np.ndarray:
        """Logits for ``tokens`` at positions start.. (rows: one per token). With ``cache`` (a list of
        per-layer [K, V], filled here), each new token attends to every cached key; without, to the
        ``tokens`` before it only."""
        tokens = np.asarray(tokens)
        t = len(tokens)
        x = self.embed[tokens] + self.positions[start:start + t]
        for layer, block in enumerate(self.blocks):
            q, k, v = np.split(counter.matmul(self._norm(x), block["qkv"]), 3, axis=1)
            q, k, v = self._heads(q), self._heads(k), self._heads(v)
            if cache is not None:
                if len(cache) <= layer:
                    cache.append([k, v])
                else:
                    cache[layer] = [np.concatenate([cache[layer][0], k], 1), np.concatenate([cache[layer][1], v], 1)]
                k, v = cache[layer]
            scores = counter.matmul(q, k.transpose(0, 2, 1)) / math.sqrt(self.d_head)
            total = k.shape[1]
            # token i (position start + i) sees keys 0 .. start + i
            mask = np.arange(total)[None, :] > (start + np.arange(t))[:, None]
            scores = np.where(mask[None], -np.inf, scores)
            scores -= scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            mixed = counter.matmul(weights, v).transpose(1, 0, 2).reshape(t, self.d_model)
            x = x + counter.matmul(mixed, block["out"])
            x = x + counter.matmul(np.maximum(counter.matmul(self._norm(x), block["up"]), 0.0), block["down"])
        return counter.matmul(self._norm(x), self.unembed)

    def generate(self, prompt, new_tokens: int, cached: bool) -> tuple[list[int], list[Counter], np.ndarray]:
        """Greedy generation of ``new_tokens`` after ``prompt``: with the cache (one prefill, then one
        token per step) or without (the whole sequence again every step). Returns the tokens, the
        work of each step (step 0: the prompt) and the last step's logits."""
        tokens = [int(t) for t in prompt]
        counters = []
        cache: list | None = [] if cached else None
        counter = Counter()
        logits = self.forward(tokens, counter, cache)[-1]
        counters.append(counter)
        for _ in range(new_tokens):
            tokens.append(int(np.argmax(logits)))
            counter = Counter()
            if cached:
                logits = self.forward(tokens[-1:], counter, cache, start=len(tokens) - 1)[-1]
            else:
                logits = self.forward(tokens, counter)[-1]
            counters.append(counter)
        return tokens, counters, logits

    def step_flops(self, length: int, cached: bool) -> int:
        """FLOPs of the step that produces the token after a sequence of ``length`` tokens: with the
        cache, one token's projections plus its attention over ``length`` keys; without, the whole
        sequence's projections and a length × length attention."""
        d, f = self.d_model, 4 * self.d_model
        rows = 1 if cached else length
        per_row = 2 * d * 3 * d + 2 * d * d + 2 * d * f + 2 * f * d  # qkv, out, up, down
        attention = 2 * 2 * rows * length * d  # scores and the weighted sum, every head together
        return self.layers * (rows * per_row + attention) + rows * 2 * d * self.vocab


def time_decoding(lengths=(64, 128, 256, 512), seed: int = 0, repeats: int = 3) -> dict[str, np.ndarray]:
    """Measured seconds per generated token at each length, with and without the cache (the best of
    ``repeats``). A measurement of this machine: it varies from run to run."""
    model = ToyDecoder(seed=seed)
    rng = np.random.default_rng(seed)
    with_cache, without = [], []
    for length in lengths:
        prompt = rng.integers(0, model.vocab, length)
        cache: list = []
        model.forward(prompt, Counter(), cache)
        best_c = best_u = math.inf
        for _ in range(repeats):
            trial = [[k.copy(), v.copy()] for k, v in cache]
            t0 = time.perf_counter()
            model.forward(prompt[-1:], Counter(), trial, start=length)
            best_c = min(best_c, time.perf_counter() - t0)
            t0 = time.perf_counter()
            model.forward(prompt, Counter())
            best_u = min(best_u, time.perf_counter() - t0)
        with_cache.append(best_c)
        without.append(best_u)
    return {"lengths": np.array(lengths, float), "cached": np.array(with_cache), "uncached": np.array(without)}


def time_prefill(length: int = 256, seed: int = 0) -> dict[str, float]:
    """Prefill of ``length`` tokens as one pass (large products) against the same tokens fed one at a
    time through the cache (many small products): seconds and FLOP/s of each. A measurement."""
    model = ToyDecoder(seed=seed)
    prompt = np.random.default_rng(seed).integers(0, model.vocab, length)
    one, many = Counter(), Counter()
    t0 = time.perf_counter()
    model.forward(prompt, one, [])
    t_one = time.perf_counter() - t0
    cache: list = []
    t0 = time.perf_counter()
    for i, token in enumerate(prompt):
        model.forward([token], many, cache, start=i)
    t_many = time.perf_counter() - t0
    return {"prefill_s": t_one, "stepwise_s": t_many, "prefill_flops": float(one.flops),
            "stepwise_flops": float(many.flops)}


def measure_bandwidth(megabytes: int = 256, repeats: int = 5) -> float:
    """This machine's memory read bandwidth in bytes/s: the best of ``repeats`` sums of an array of
    ``megabytes`` MB (larger than any cache). A measurement: it varies from run to run."""
    data = np.ones(megabytes * 1_000_000 // 8)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        float(data.sum())
        best = min(best, time.perf_counter() - t0)
    return data.nbytes / best


def decode_step_bytes(config: Config, params_b: float, weight_bytes: float) -> float:
    """Bytes one decode step reads at least: every weight once, and every sequence's cache."""
    return params_b * 1e9 * weight_bytes + config.kv_bytes()


# -- paging ---------------------------------------------------------------------------------------


@dataclass
class PagingState:
    """Requests in ``slots``: each has a total length (prompt + output, 1 .. max_len tokens) and a
    current length that grows by one token per step; a finished request is replaced by a new one."""

    total: np.ndarray
    current: np.ndarray


def new_requests(rng: np.random.Generator, n: int, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` requests: a total length uniform in 1..max_len and a prompt uniform in 1..total."""
    total = rng.integers(1, max_len + 1, n)
    prompt = np.floor(rng.random(n) * total).astype(np.int64) + 1
    return total, prompt


def advance(state: PagingState, rng: np.random.Generator, max_len: int) -> None:
    """One decode step: every request grows by a token; those past their length are replaced."""
    state.current += 1
    done = state.current > state.total
    if np.any(done):
        total, prompt = new_requests(rng, int(done.sum()), max_len)
        state.total[done], state.current[done] = total, prompt


def occupancy(current: np.ndarray, max_len: int, block: int) -> dict[str, float]:
    """Tokens held (used), reserved by preallocating max_len per request, and reserved in blocks of
    ``block`` tokens (the last block of each request partly empty); the wasted share of each."""
    used = float(current.sum())
    prealloc = float(len(current) * max_len)
    paged = float((np.ceil(current / block) * block).sum())
    return {"used": used, "prealloc": prealloc, "paged": paged,
            "prealloc_waste": 1.0 - used / prealloc, "paged_waste": 1.0 - used / paged}
