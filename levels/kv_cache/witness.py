"""The KV cache: its size, its levers, a decoder with and without it, and paging, in plain numpy."""
import numpy as np

GIB, GB = 2**30, 1e9


def kv_bytes(B, layers, T, kv_heads, d_head, nbytes, window=0):
    """Mem_KV = B · N_layers · T · H_kv · d_head · 2 · bytes, T capped by a sliding window."""
    return B * layers * (min(T, window) if window else T) * kv_heads * d_head * 2 * nbytes


# Published configurations (config.json): layers, KV heads, d_head; one token, 16 bits
per_token = {name: kv_bytes(1, layers, 1, kv, d, 2) / 1024 for name, (layers, kv, d) in
             {"Llama-2-7B": (32, 32, 128), "Llama-3-8B": (32, 8, 128), "Falcon-7B": (32, 1, 64)}.items()}
print("KiB per token:", per_token)
assert per_token == {"Llama-2-7B": 512, "Llama-3-8B": 128, "Falcon-7B": 8}
m = kv_bytes(1, 80, 131072, 8, 128, 2)
print(f"Llama-3-70B, 131072 tokens: {m / GIB:g} GiB = {m / GB:.1f} GB")
assert m == 40 * GIB

# The levers: each multiplies the cache by a factor; the winner depends on the build
def levers(B, layers, T, kv, d, nbytes):
    base = kv_bytes(B, layers, T, kv, d, nbytes)
    moved = {"B/2": kv_bytes(max(1, B // 2), layers, T, kv, d, nbytes), "T/2": kv_bytes(B, layers, T // 2, kv, d, nbytes),
             "MQA": kv_bytes(B, layers, T, 1, d, nbytes), "4-bit": kv_bytes(B, layers, T, kv, d, min(nbytes, 0.5)),
             "window 4096": kv_bytes(B, layers, T, kv, d, nbytes, 4096)}
    return {k: 1 - v / base for k, v in moved.items()}


for name, build, winner in (("Llama-2-7B, B=8, T=4096", (8, 32, 4096, 32, 128, 2), "MQA"),
                            ("Llama-3-8B, B=1, T=131072", (1, 32, 131072, 8, 128, 2), "window 4096"),
                            ("Falcon-7B, B=16, T=2048", (16, 32, 2048, 1, 64, 2), "4-bit")):
    freed = levers(*build)
    print(name, {k: f"{v:.1%}" for k, v in freed.items()})
    assert max(freed, key=freed.get) == winner

# A toy decoder: one attention layer; with the cache, the new token's K and V are appended
rng = np.random.default_rng(0)
d, vocab = 32, 50
E, Wq, Wk, Wv, U = (rng.normal(0, 1 / np.sqrt(d), s) for s in ((vocab, d), (d, d), (d, d), (d, d), (d, vocab)))
E *= np.sqrt(d)


def attend(q, K, V):
    s = q @ K.T / np.sqrt(d)
    w = np.exp(s - s.max())
    return (w / w.sum()) @ V


def generate(prompt, n, cached):
    tokens, K, V, flops = list(prompt), np.zeros((0, d)), np.zeros((0, d)), []
    for _ in range(n):
        if cached:  # project only the tokens not yet in the cache: O(T) work per step
            new = E[tokens[len(K):]]
            K, V = np.vstack([K, new @ Wk]), np.vstack([V, new @ Wv])
            flops.append(2 * len(new) * d * d * 2 + 4 * len(K) * d)
        else:  # project the whole sequence again, and attend from every position: O(T²)
            X = E[tokens]
            K, V = X @ Wk, X @ Wv
            flops.append(2 * len(X) * d * d * 2 + 4 * len(X) * len(X) * d)
        x = E[tokens[-1]]
        tokens.append(int(np.argmax(attend(x @ Wq, K, V) @ U)))
    return tokens, flops


with_cache, f_c = generate([3, 1, 4], 40, True)
without, f_u = generate([3, 1, 4], 40, False)
assert with_cache == without  # the cache changes the work, not the result
print("FLOPs for token 40: with cache", f_c[-1], " without", f_u[-1])
assert f_u[-1] > 10 * f_c[-1]

# Paging: requests of random length in fixed blocks against preallocated maximum lengths
lengths = rng.integers(1, 2049, 32)
prealloc_waste = 1 - lengths.sum() / (32 * 2048)
paged_waste = 1 - lengths.sum() / (np.ceil(lengths / 16) * 16).sum()
print(f"empty: preallocated {prealloc_waste:.0%}, blocks of 16 {paged_waste:.1%}")
assert prealloc_waste > 0.3 and paged_waste < 0.03
