"""A small neural-network kit in numpy: layers, losses, optimizers and curvature tools.

One kit for every level that trains a network. Everything is float64 by default, exact and
readable rather than fast: the networks of the levels are small enough that clarity wins.

Layers cache what their backward pass needs during ``forward`` and *accumulate* parameter
gradients into ``.grads`` during ``backward`` (call ``zero_grad()`` between steps)::

    net = Sequential(Dense(2, 32, rng), Tanh(), Dense(32, 1, rng))
    opt = SGD(net.params, lr=0.1)
    net.zero_grad()
    loss, grad = mse_loss(net.forward(x), y)
    net.backward(grad)
    opt.step(net.grads)

Losses return ``(loss, gradient with respect to their input)``; optimizers update the
parameter arrays in place. For curvature, :func:`hessian_vector_product` differentiates the
exact gradient by central differences and :func:`top_hessian_eigenvalue` runs power iteration
on it (the sharpness of the edge-of-stability level).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

LossFn = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------


class Layer:
    """Base class: a differentiable map with (possibly no) parameters.

    ``params`` and ``grads`` are parallel lists of arrays of the same shapes. Optimizers
    update ``params`` in place, so a layer must never rebind them.
    """

    def __init__(self) -> None:
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer's output for ``x``; remembers what ``backward`` needs."""
        raise NotImplementedError

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        """Given dL/dy of the last ``forward``, accumulate dL/dparams and return dL/dx."""
        raise NotImplementedError

    def zero_grad(self) -> None:
        """Set every accumulated parameter gradient to zero."""
        for g in self.grads:
            g.fill(0.0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)


_INIT_STD = {
    # standard deviation of the weights before ``scale`` multiplies it
    "xavier": lambda n_in, n_out: math.sqrt(2.0 / (n_in + n_out)),  # Glorot: keeps variance both ways
    "he": lambda n_in, n_out: math.sqrt(2.0 / n_in),  # Kaiming: keeps ReLU activations' variance
    "normal": lambda n_in, n_out: 1.0,  # plain N(0, scale²), for explicit parametrisations
}


class Dense(Layer):
    """Affine map ``y = x @ W + b`` on the last axis of ``x`` (any leading axes are batch axes).

    ``W`` has shape ``(n_in, n_out)``, drawn from a normal with the standard deviation of
    ``init`` (``"xavier"``: sqrt(2/(n_in+n_out)), ``"he"``: sqrt(2/n_in), ``"normal"``: 1)
    times ``scale``; the bias starts at zero.
    """

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator, init: str = "xavier",
                 scale: float = 1.0, bias: bool = True, dtype=np.float64):
        super().__init__()
        if init not in _INIT_STD:
            raise ValueError(f"unknown init {init!r}; valid: {', '.join(_INIT_STD)}")
        self.n_in, self.n_out = n_in, n_out
        std = _INIT_STD[init](n_in, n_out) * scale
        self.W = (rng.standard_normal((n_in, n_out)) * std).astype(dtype)
        self.params.append(self.W)
        self.grads.append(np.zeros_like(self.W))
        self.b = None
        if bias:
            self.b = np.zeros(n_out, dtype=dtype)
            self.params.append(self.b)
            self.grads.append(np.zeros_like(self.b))
        self._x: np.ndarray | None = None

    def forward(self, x):
        self._x = x
        y = x @ self.W
        return y + self.b if self.b is not None else y

    def backward(self, grad_y):
        x2 = self._x.reshape(-1, self.n_in)
        g2 = grad_y.reshape(-1, self.n_out)
        self.grads[0] += x2.T @ g2
        if self.b is not None:
            self.grads[1] += g2.sum(axis=0)
        return grad_y @ self.W.T


class Tanh(Layer):
    """Elementwise ``tanh``."""

    def forward(self, x):
        self._y = np.tanh(x)
        return self._y

    def backward(self, grad_y):
        return grad_y * (1.0 - self._y * self._y)


class ReLU(Layer):
    """Elementwise ``max(x, 0)`` (gradient 0 at the kink)."""

    def forward(self, x):
        self._mask = x > 0
        return np.where(self._mask, x, 0.0).astype(x.dtype, copy=False)

    def backward(self, grad_y):
        return np.where(self._mask, grad_y, 0.0).astype(grad_y.dtype, copy=False)


_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


class GELU(Layer):
    """GELU in its tanh form, ``½x(1 + tanh(√(2/π)(x + 0.044715x³)))`` (as in GPT-2).

    The backward pass is the exact derivative of this form.
    """

    def forward(self, x):
        self._x = x
        self._t = np.tanh(_GELU_C * (x + _GELU_A * (x * x * x)))  # products: a float32 power is many times slower
        return 0.5 * x * (1.0 + self._t)

    def backward(self, grad_y):
        x, t = self._x, self._t
        du_dx = _GELU_C * (1.0 + 3.0 * _GELU_A * x * x)
        return grad_y * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du_dx)


class Embedding(Layer):
    """A lookup table: integer tokens of any shape ``(...)`` → vectors ``(..., dim)``.

    The table starts as N(0, scale²). Tokens are not differentiable: ``backward`` returns None.
    """

    def __init__(self, n_tokens: int, dim: int, rng: np.random.Generator, scale: float = 1.0,
                 dtype=np.float64):
        super().__init__()
        self.W = (rng.standard_normal((n_tokens, dim)) * scale).astype(dtype)
        self.params.append(self.W)
        self.grads.append(np.zeros_like(self.W))

    def forward(self, x):
        self._idx = np.asarray(x, dtype=np.int64)
        return self.W[self._idx]

    def backward(self, grad_y):
        # add.at, not fancy-index assignment: a token that occurs twice gets both contributions
        np.add.at(self.grads[0], self._idx.reshape(-1), grad_y.reshape(-1, self.W.shape[1]))


class Flatten(Layer):
    """``(N, ...)`` → ``(N, features)``: e.g. two token embeddings ``(N, 2, d)`` side by side."""

    def forward(self, x):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_y):
        return grad_y.reshape(self._shape)


class Sequential(Layer):
    """Layers applied in order; its ``params``/``grads`` are the layers' lists, concatenated."""

    def __init__(self, *layers: Layer):
        super().__init__()
        self.layers = list(layers)
        for layer in self.layers:
            self.params.extend(layer.params)
            self.grads.extend(layer.grads)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_y):
        for layer in reversed(self.layers):
            grad_y = layer.backward(grad_y)
        return grad_y

    def num_parameters(self) -> int:
        """How many scalar parameters the network has."""
        return sum(p.size for p in self.params)

    def parameters_vector(self) -> np.ndarray:
        """All parameters flattened into one new vector (in ``params`` order)."""
        return _flatten(self.params)

    def set_parameters_vector(self, v: np.ndarray) -> None:
        """Write a flat vector back into the parameter arrays (in place)."""
        _unflatten_into(v, self.params)

    def gradient_vector(self) -> np.ndarray:
        """All accumulated gradients flattened into one new vector."""
        return _flatten(self.grads)


def _flatten(arrays: list[np.ndarray]) -> np.ndarray:
    if not arrays:
        return np.zeros(0)
    return np.concatenate([a.reshape(-1) for a in arrays])


def _unflatten_into(v: np.ndarray, arrays: list[np.ndarray]) -> None:
    total = sum(a.size for a in arrays)
    if v.size != total:
        raise ValueError(f"vector has {v.size} entries; the parameters have {total}")
    offset = 0
    for a in arrays:
        a[...] = v[offset:offset + a.size].reshape(a.shape)
        offset += a.size


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------


def mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all entries, ``mean((pred − target)²)``, and its gradient."""
    diff = pred - target
    return float(np.mean(diff * diff)), 2.0 * diff / diff.size


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) (classes on the last axis) against integer labels.

    The gradient with respect to the logits is ``(softmax − onehot) / N`` for N predictions.
    """
    labels = np.asarray(labels, dtype=np.int64)
    shifted = logits - logits.max(axis=-1, keepdims=True)  # log-sum-exp without overflow
    log_z = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    log_p = shifted - log_z
    n = labels.size
    picked = np.take_along_axis(log_p, labels[..., None], axis=-1)
    grad = np.exp(log_p)
    np.put_along_axis(grad, labels[..., None], np.take_along_axis(grad, labels[..., None], axis=-1) - 1.0, axis=-1)
    return float(-picked.sum() / n), grad / n


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of predictions whose largest logit is the label."""
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(labels)))


# --------------------------------------------------------------------------------------------
# Optimizers
# --------------------------------------------------------------------------------------------


class SGD:
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

    Per step: ``g ← g + wd·p``; with momentum ``buf ← μ·buf + g`` and the step direction is
    ``buf`` (or ``g + μ·buf`` for Nesterov); ``p ← p − lr·direction``. ``lr`` may be changed
    between steps.
    """

    def __init__(self, params: list[np.ndarray], lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.buffers = [np.zeros_like(p) for p in params] if momentum else None

    def step(self, grads: list[np.ndarray]) -> None:
        """Update every parameter in place from its gradient."""
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.buffers is not None:
                buf = self.buffers[i]
                buf *= self.momentum
                buf += g
                g = g + self.momentum * buf if self.nesterov else buf
            p -= self.lr * g


class Adam:
    """Adam with bias correction and decoupled (AdamW) weight decay.

    Per step t: ``p ← p − lr·wd·p``; ``m ← β₁m + (1−β₁)g``; ``v ← β₂v + (1−β₂)g²``;
    ``p ← p − lr·m̂/(√v̂ + eps)`` with ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``.
    """

    def __init__(self, params: list[np.ndarray], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        self.params = params
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.t = 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        """Update every parameter in place from its gradient."""
        self.t += 1
        b1, b2 = self.betas
        correction1 = 1.0 - b1**self.t
        correction2 = 1.0 - b2**self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            if self.weight_decay:
                p -= self.lr * self.weight_decay * p  # decoupled: not part of the adaptive step
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            p -= self.lr * (m / correction1) / (np.sqrt(v / correction2) + self.eps)


# --------------------------------------------------------------------------------------------
# Gradient checks and curvature
# --------------------------------------------------------------------------------------------


def loss_and_gradient(model: Sequential, loss_fn: LossFn, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss at the current parameters and its exact gradient as one flat vector.

    Overwrites the model's accumulated gradients.
    """
    model.zero_grad()
    loss, grad = loss_fn(model.forward(x), y)
    model.backward(grad)
    return loss, model.gradient_vector()


def gradient_check(model: Sequential, loss_fn: LossFn, x: np.ndarray, y: np.ndarray, eps: float = 1e-6) -> float:
    """Largest relative error between backward's gradient and central finite differences.

    Every parameter entry is perturbed by ±eps, so keep the model small. The relative error
    of an entry is ``|a − n| / (|a| + |n|)``, with a floor on the denominator at 1e-7 of the
    largest gradient entry so that entries at round-off level do not dominate.
    The parameters are restored; the model's gradients hold the analytic gradient.
    """
    _, analytic = loss_and_gradient(model, loss_fn, x, y)
    theta = model.parameters_vector()
    numeric = np.empty_like(theta)
    probe = theta.copy()
    for i in range(theta.size):
        probe[i] = theta[i] + eps
        model.set_parameters_vector(probe)
        up, _ = loss_fn(model.forward(x), y)
        probe[i] = theta[i] - eps
        model.set_parameters_vector(probe)
        down, _ = loss_fn(model.forward(x), y)
        probe[i] = theta[i]
        numeric[i] = (up - down) / (2.0 * eps)
    model.set_parameters_vector(theta)
    floor = 1e-7 * float(np.max(np.abs(analytic), initial=0.0)) + 1e-300
    denom = np.maximum(np.abs(analytic) + np.abs(numeric), floor)
    return float(np.max(np.abs(analytic - numeric) / denom, initial=0.0))


def hessian_vector_product(model: Sequential, loss_fn: LossFn, x: np.ndarray, y: np.ndarray, v: np.ndarray,
                           eps: float = 1e-5) -> np.ndarray:
    """``H v``: the central difference of exact gradients, ``(∇L(θ+rv̂) − ∇L(θ−rv̂)) ‖v‖ / 2r``.

    ``r = eps·max(1, ‖θ‖/√n)`` balances truncation (O(r²)) against round-off (O(1e-16/r)) in
    float64. Parameters and gradients are restored afterwards (layer caches are not: run a
    forward pass before the next backward).
    """
    norm = float(np.linalg.norm(v))
    if norm == 0.0 or not math.isfinite(norm):
        return np.zeros_like(v) if norm == 0.0 else np.full_like(v, np.nan)
    theta = model.parameters_vector()
    saved_grads = model.gradient_vector()
    direction = v / norm
    r = eps * max(1.0, float(np.linalg.norm(theta)) / math.sqrt(max(theta.size, 1)))
    model.set_parameters_vector(theta + r * direction)
    _, g_plus = loss_and_gradient(model, loss_fn, x, y)
    model.set_parameters_vector(theta - r * direction)
    _, g_minus = loss_and_gradient(model, loss_fn, x, y)
    model.set_parameters_vector(theta)
    _unflatten_into(saved_grads, model.grads)
    return (g_plus - g_minus) * (norm / (2.0 * r))


def top_hessian_eigenvalue(model: Sequential, loss_fn: LossFn, x: np.ndarray, y: np.ndarray, iters: int = 20,
                           rng: np.random.Generator | None = None,
                           v0: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """The Hessian's eigenvalue of largest magnitude and its unit eigenvector, by power iteration.

    Near a minimum, and at the edge of stability, that is the top eigenvalue: the sharpness.
    Pass the previous call's vector as ``v0`` to warm-start (a few iterations per training
    step then track the sharpness). Returns ``(nan, v)`` if the Hessian product is not finite.
    """
    n = sum(p.size for p in model.params)
    if v0 is not None and v0.shape == (n,) and np.all(np.isfinite(v0)) and np.any(v0):
        v = np.array(v0, dtype=np.float64)
    else:
        v = (rng if rng is not None else np.random.default_rng(0)).standard_normal(n)
    v /= np.linalg.norm(v)
    eigenvalue = 0.0
    for _ in range(max(1, iters)):
        hv = hessian_vector_product(model, loss_fn, x, y, v)
        if not np.all(np.isfinite(hv)):
            return math.nan, v
        eigenvalue = float(v @ hv)  # Rayleigh quotient of the current unit vector
        norm = float(np.linalg.norm(hv))
        if norm == 0.0:
            return 0.0, v
        v = hv / norm
    return eigenvalue, v


# --------------------------------------------------------------------------------------------
# Transformers: attention, layer norm, a small language model
# --------------------------------------------------------------------------------------------
#
# Shapes: tokens (B, T) ints; the residual stream (B, T, D); per-head arrays (B, H, T, ·);
# attention patterns (B, H, T_query, T_key). Everything is exact: every backward pass is the
# derivative of its forward pass (tests/test_nn.py checks each by finite differences).

POSITIONS = ("shortformer", "absolute", "rotary", "none")


class LayerNorm(Layer):
    """``y = (x − mean) / sqrt(var + eps) · gain + bias`` over the last axis.

    ``gain`` starts at one and ``bias`` at zero; both are trained.
    """

    def __init__(self, dim: int, eps: float = 1e-5, dtype=np.float64):
        super().__init__()
        self.eps = eps
        self.gain = np.ones(dim, dtype=dtype)
        self.bias = np.zeros(dim, dtype=dtype)
        self.params += [self.gain, self.bias]
        self.grads += [np.zeros_like(self.gain), np.zeros_like(self.bias)]

    def forward(self, x):
        mu = x.mean(axis=-1, keepdims=True)
        xc = x - mu
        self._inv = 1.0 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + self.eps)
        self._xhat = xc * self._inv
        return self._xhat * self.gain + self.bias

    def backward(self, grad_y):
        d = self.gain.size
        self.grads[0] += (grad_y * self._xhat).reshape(-1, d).sum(axis=0)
        self.grads[1] += grad_y.reshape(-1, d).sum(axis=0)
        g = grad_y * self.gain
        # the derivative of normalisation: remove the mean and the component along x̂
        return self._inv * (g - g.mean(axis=-1, keepdims=True)
                            - self._xhat * (g * self._xhat).mean(axis=-1, keepdims=True))


def rotary_tables(n_positions: int, d_head: int, base: float = 10000.0) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin tables ``(n_positions, d_head // 2)`` of rotary position embeddings (RoPE).

    Pair ``i`` of a query or key at position ``t`` turns by the angle ``t · base^(−2i/d_head)``,
    so that the score of a query at ``t`` and a key at ``s`` depends on ``t − s`` only.
    """
    if d_head % 2:
        raise ValueError(f"rotary positions need an even head dimension, not {d_head}")
    freq = base ** (-np.arange(d_head // 2) * 2.0 / d_head)
    angle = np.arange(n_positions)[:, None] * freq[None, :]
    return np.cos(angle), np.sin(angle)


def _rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray, sign: float = 1.0) -> np.ndarray:
    """Turn consecutive pairs (x[2i], x[2i+1]) of the last axis by ±angle; ``sign=-1`` undoes it."""
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * cos - sign * b * sin
    out[..., 1::2] = a * sin * sign + b * cos
    return out


class CausalSelfAttention(Layer):
    """Multi-head causal self-attention, ``y = Σ_h mask_h · softmax(q_h k_hᵀ/√d_h + causal) v_h W_O,h``.

    Weights: ``W_Q, W_K, W_V`` of shape ``(H, D, d_head)`` and ``W_O`` of shape ``(H, d_head, D)``
    (no biases: the circuits of a head are then its two matrices ``W_Q W_Kᵀ`` and ``W_V W_O``).

    ``forward(x, pos=None, x_q=None, x_k=None, x_v=None)``: queries, keys and values read ``x``
    unless ``x_q``/``x_k``/``x_v`` are given (a model cuts Q-, K- or V-composition by giving
    them a stream without earlier layers' outputs). ``pos`` ``(T, D)``, if given, is added to the
    inputs of queries and keys only (Shortformer-style positions: values, and so the residual
    stream, never carry position). With ``rotary=True`` queries and keys are turned by RoPE.

    Hooks: after ``forward``, ``pattern`` holds the attention patterns ``(B, H, T, T)`` and
    ``head_out`` nothing unless ``keep_head_outputs`` (then ``(B, H, T, D)``, each head's
    contribution to the residual stream). ``head_mask`` ``(H,)`` multiplies each head's output:
    set an entry to 0 to ablate that head (the gradient respects it).
    After ``backward``, ``grad_pos``, ``grad_x_q``, ``grad_x_k``, ``grad_x_v`` hold the
    gradients for the optional inputs (None where the input was not given); ``backward``
    returns the gradient for ``x`` (the part through the inputs that read ``x``).
    """

    def __init__(self, d_model: int, n_heads: int, d_head: int, rng: np.random.Generator,
                 rotary: bool = False, max_len: int = 512, scale: float = 1.0, dtype=np.float64):
        super().__init__()
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_head
        std_in = scale / math.sqrt(d_model)
        std_out = scale / math.sqrt(n_heads * d_head)
        shape_in = (n_heads, d_model, d_head)
        self.W_Q = (rng.standard_normal(shape_in) * std_in).astype(dtype)
        self.W_K = (rng.standard_normal(shape_in) * std_in).astype(dtype)
        self.W_V = (rng.standard_normal(shape_in) * std_in).astype(dtype)
        self.W_O = (rng.standard_normal((n_heads, d_head, d_model)) * std_out).astype(dtype)
        self.params += [self.W_Q, self.W_K, self.W_V, self.W_O]
        self.grads += [np.zeros_like(p) for p in self.params]
        self.head_mask = np.ones(n_heads, dtype=dtype)
        self.rotary = rotary
        self._rot = tuple(t.astype(dtype) for t in rotary_tables(max_len, d_head)) if rotary else None
        self.keep_head_outputs = False
        self.pattern: np.ndarray | None = None
        self.head_out: np.ndarray | None = None
        self.grad_pos = self.grad_x_q = self.grad_x_k = self.grad_x_v = None

    def forward(self, x, pos=None, x_q=None, x_k=None, x_v=None):
        T = x.shape[-2]
        xq = x if x_q is None else x_q
        xk = x if x_k is None else x_k
        xv = x if x_v is None else x_v
        if pos is not None:
            xq = xq + pos[:T]
            xk = xk + pos[:T]
        self._inputs = (x_q is not None, x_k is not None, x_v is not None, pos is not None)
        self._xq, self._xk, self._xv = xq, xk, xv
        q, k, v = self._project(xq, self.W_Q), self._project(xk, self.W_K), self._project(xv, self.W_V)
        if self.rotary:
            if T > self._rot[0].shape[0]:
                raise ValueError(f"sequence of {T} tokens is longer than the rotary table ({self._rot[0].shape[0]})")
            cos, sin = self._rot[0][:T], self._rot[1][:T]
            q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)
        scores = (q @ k.swapaxes(-1, -2)) * (1.0 / math.sqrt(self.d_head))
        causal = np.triu(np.ones((T, T), dtype=bool), 1)
        scores[..., causal] = -np.inf
        scores -= scores.max(axis=-1, keepdims=True)
        a = np.exp(scores, out=scores)
        a /= a.sum(axis=-1, keepdims=True)
        z = a @ v  # (B, H, T, e)
        self._q, self._k, self._v, self._z = q, k, v, z
        self.pattern = a
        self.head_out = z @ self.W_O if self.keep_head_outputs else None  # (B, H, T, D): each head's write
        zm = z * self.head_mask[None, :, None, None]
        return self._merge(zm) @ self.W_O.reshape(-1, self.d_model)

    # The projections as single matrix products over all heads (one GEMM, not B·H small ones).
    def _project(self, x, w):
        """``x`` (B, T, D) and ``w`` (H, D, e) → (B, H, T, e)."""
        B, T, D = x.shape
        H, _, e = w.shape
        y = x.reshape(B * T, D) @ w.transpose(1, 0, 2).reshape(D, H * e)
        return y.reshape(B, T, H, e).transpose(0, 2, 1, 3)

    @staticmethod
    def _merge(z):
        """(B, H, T, e) → (B, T, H·e)."""
        B, H, T, e = z.shape
        return z.transpose(0, 2, 1, 3).reshape(B, T, H * e)

    def _weight_grad(self, x, g):
        """dL/dW (H, D, e) of ``_project(x, W)`` given its gradient ``g`` (B, H, T, e)."""
        B, T, D = x.shape
        H, e = g.shape[1], g.shape[3]
        return (x.reshape(B * T, D).T @ self._merge(g).reshape(B * T, H * e)).reshape(D, H, e).transpose(1, 0, 2)

    def _input_grad(self, g, w):
        """dL/dx (B, T, D) of ``_project(x, w)`` given its gradient ``g`` (B, H, T, e)."""
        H, D, e = w.shape
        return self._merge(g) @ w.transpose(1, 0, 2).reshape(D, H * e).T

    def backward(self, grad_y):
        a, q, k, v, z = self.pattern, self._q, self._k, self._v, self._z
        B, H, T, e = z.shape
        D = self.d_model
        mask = self.head_mask[None, :, None, None]
        g2 = grad_y.reshape(B * T, D)
        zm = self._merge(z * mask).reshape(B * T, H * e)
        self.grads[3] += (zm.T @ g2).reshape(H, e, D)
        gz = (g2 @ self.W_O.reshape(H * e, D).T).reshape(B, T, H, e).transpose(0, 2, 1, 3) * mask
        ga = gz @ v.swapaxes(-1, -2)
        gv = a.swapaxes(-1, -2) @ gz
        gs = a * (ga - (ga * a).sum(axis=-1, keepdims=True))  # softmax's Jacobian (masked entries: a = 0)
        gs *= 1.0 / math.sqrt(self.d_head)
        gq = gs @ k
        gk = gs.swapaxes(-1, -2) @ q
        if self.rotary:
            cos, sin = self._rot[0][:T], self._rot[1][:T]
            gq, gk = _rotate(gq, cos, sin, -1.0), _rotate(gk, cos, sin, -1.0)  # a rotation's transpose
        self.grads[0] += self._weight_grad(self._xq, gq)
        self.grads[1] += self._weight_grad(self._xk, gk)
        self.grads[2] += self._weight_grad(self._xv, gv)
        dxq = self._input_grad(gq, self.W_Q)
        dxk = self._input_grad(gk, self.W_K)
        dxv = self._input_grad(gv, self.W_V)
        has_q, has_k, has_v, has_pos = self._inputs
        self.grad_pos = (dxq + dxk).sum(axis=0) if has_pos else None
        self.grad_x_q = dxq if has_q else None
        self.grad_x_k = dxk if has_k else None
        self.grad_x_v = dxv if has_v else None
        dx = np.zeros_like(grad_y)
        for given, d in ((has_q, dxq), (has_k, dxk), (has_v, dxv)):
            if not given:
                dx += d
        return dx


class Block:
    """One transformer block on the residual stream: ``x += attn(ln(x))`` then, if it has an MLP,
    ``x += mlp(ln(x))``. Layer norms only if the model has them."""

    def __init__(self, attn: CausalSelfAttention, mlp: Sequential | None, ln1: LayerNorm | None,
                 ln2: LayerNorm | None):
        self.attn, self.mlp, self.ln1, self.ln2 = attn, mlp, ln1, ln2


class Transformer:
    """A small decoder-only language model: tokens → logits for the next token at every position.

    ``Transformer(vocab, d_model, n_layers, n_heads, rng, d_head=None, max_len=64,
    positions="shortformer", d_mlp=0, layer_norm=False)``

    - ``positions``: ``"shortformer"`` (a learned table added to the inputs of queries and keys
      only, never to the residual stream), ``"absolute"`` (a learned table added to the token
      embeddings: position lives in the residual stream), ``"rotary"`` (RoPE on queries and
      keys), or ``"none"``.
    - ``d_mlp = 0`` gives an attention-only model (the circuits papers' toy); otherwise each
      block has a GELU MLP of that width. ``layer_norm`` adds pre-norms and a final norm.

    The forward pass keeps what interpretability needs: ``resid[l]`` is the residual stream
    entering block ``l`` (``resid[-1]`` the final one), ``patterns[l]`` layer ``l``'s attention
    patterns. Interventions, all honoured by the backward pass:

    - ``blocks[l].attn.head_mask[h] = 0`` ablates a head; :meth:`ablate_layer` a whole layer;
    - ``cut[l]``: a subset of ``{"q", "k", "v"}``: layer ``l``'s queries/keys/values then read
      only the embedding stream (tokens, and absolute positions), so the Q-, K- or
      V-composition with earlier layers is cut while everything else stays;
    - ``steer[l]``: a vector ``(D,)`` (or an array broadcastable to ``(B, T, D)``) added to the
      residual stream entering block ``l`` (``l = n_layers``: before the unembedding).

    Parameters: ``params``/``grads`` are parallel lists, ``names`` says what each is; the flat
    vector methods serve task arithmetic (``θ_pre + Σ λ_i τ_i``), and :meth:`state_dict` /
    :meth:`load_state_dict` checkpoints. ``forward``/``backward``/``zero_grad`` follow
    :class:`Layer`, so :func:`gradient_check` and :func:`loss_and_gradient` take a Transformer.
    """

    def __init__(self, vocab: int, d_model: int, n_layers: int, n_heads: int, rng: np.random.Generator,
                 d_head: int | None = None, max_len: int = 64, positions: str = "shortformer",
                 d_mlp: int = 0, layer_norm: bool = False, init_scale: float = 1.0, dtype=np.float64):
        if positions not in POSITIONS:
            raise ValueError(f"unknown positions {positions!r}; valid: {', '.join(POSITIONS)}")
        if d_head is None:
            if d_model % n_heads:
                raise ValueError(f"d_model {d_model} is not a multiple of n_heads {n_heads}; give d_head")
            d_head = d_model // n_heads
        self.vocab, self.d_model, self.n_layers, self.n_heads, self.d_head = vocab, d_model, n_layers, n_heads, d_head
        self.max_len, self.positions, self.d_mlp, self.layer_norm = max_len, positions, d_mlp, layer_norm
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self.names: list[str] = []

        # unit-variance entries: the stream has norm ~√D, queries and keys ~unit entries
        self.embed = Embedding(vocab, d_model, rng, scale=init_scale, dtype=dtype)
        self._add("embed.W", self.embed, 0)
        self.pos = None
        if positions in ("shortformer", "absolute"):
            self.pos = (rng.standard_normal((max_len, d_model)) * init_scale).astype(dtype)
            self.params.append(self.pos)
            self.grads.append(np.zeros_like(self.pos))
            self.names.append("pos")
        self.blocks: list[Block] = []
        for i in range(n_layers):
            attn = CausalSelfAttention(d_model, n_heads, d_head, rng, rotary=positions == "rotary",
                                       max_len=max_len, scale=init_scale, dtype=dtype)
            ln1 = LayerNorm(d_model, dtype=dtype) if layer_norm else None
            ln2 = LayerNorm(d_model, dtype=dtype) if layer_norm and d_mlp else None
            mlp = None
            if d_mlp:
                mlp = Sequential(Dense(d_model, d_mlp, rng, init="he", scale=init_scale, dtype=dtype), GELU(),
                                 Dense(d_mlp, d_model, rng, scale=init_scale, dtype=dtype))
            block = Block(attn, mlp, ln1, ln2)
            self.blocks.append(block)
            if ln1 is not None:
                self._add_all(f"blocks.{i}.ln1", ln1, ("gain", "bias"))
            self._add_all(f"blocks.{i}.attn", attn, ("W_Q", "W_K", "W_V", "W_O"))
            if ln2 is not None:
                self._add_all(f"blocks.{i}.ln2", ln2, ("gain", "bias"))
            if mlp is not None:
                self._add_all(f"blocks.{i}.mlp", mlp, ("0.W", "0.b", "2.W", "2.b"))
        self.ln_final = LayerNorm(d_model, dtype=dtype) if layer_norm else None
        if self.ln_final is not None:
            self._add_all("ln_final", self.ln_final, ("gain", "bias"))
        self.unembed = Dense(d_model, vocab, rng, bias=False, scale=init_scale, dtype=dtype)
        self._add("unembed.W", self.unembed, 0)

        self.cut: dict[int, set[str]] = {}
        self.steer: dict[int, np.ndarray] = {}
        self.resid: list[np.ndarray] = []
        self.patterns: list[np.ndarray] = []

    def _add(self, name, layer, index):
        self.params.append(layer.params[index])
        self.grads.append(layer.grads[index])
        self.names.append(name)

    def _add_all(self, prefix, layer, names):
        for i, n in enumerate(names):
            self._add(f"{prefix}.{n}", layer, i)

    # -- forward and backward -----------------------------------------------------------------

    def forward(self, tokens: np.ndarray) -> np.ndarray:
        """Logits ``(B, T, vocab)`` for the next token after each position of ``tokens`` ``(B, T)``."""
        tokens = np.asarray(tokens)
        if tokens.ndim != 2:
            raise ValueError(f"tokens must be (batch, time), not shape {tokens.shape}")
        T = tokens.shape[1]
        if T > self.max_len:
            raise ValueError(f"sequence of {T} tokens is longer than max_len {self.max_len}")
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.vocab):
            raise ValueError(f"tokens must lie in 0..{self.vocab - 1}")
        x = self.embed.forward(tokens)
        if self.positions == "absolute":
            x = x + self.pos[:T]
        self._embedded = x
        qk_pos = self.pos if self.positions == "shortformer" else None
        self.resid, self.patterns = [], []
        for i, block in enumerate(self.blocks):
            if i in self.steer:
                x = x + self.steer[i]
            self.resid.append(x)
            cut = self.cut.get(i, ())
            h = block.ln1.forward(x) if block.ln1 is not None else x
            base = None
            if cut:
                base = block.ln1.forward(self._embedded) if block.ln1 is not None else self._embedded
                if block.ln1 is not None:  # the layer norm's cache must describe h for backward
                    block._ln1_base = (block.ln1._inv, block.ln1._xhat)
                    block.ln1.forward(x)
            attn_out = block.attn.forward(h, pos=qk_pos, x_q=base if "q" in cut else None,
                                          x_k=base if "k" in cut else None, x_v=base if "v" in cut else None)
            x = x + attn_out
            if block.mlp is not None:
                h2 = block.ln2.forward(x) if block.ln2 is not None else x
                x = x + block.mlp.forward(h2)
            self.patterns.append(block.attn.pattern)
        if self.n_layers in self.steer:
            x = x + self.steer[self.n_layers]
        self.resid.append(x)
        h = self.ln_final.forward(x) if self.ln_final is not None else x
        return self.unembed.forward(h)

    def backward(self, grad_logits: np.ndarray) -> None:
        """Accumulate every parameter's gradient from dL/dlogits of the last ``forward``."""
        g = self.unembed.backward(grad_logits)
        if self.ln_final is not None:
            g = self.ln_final.backward(g)
        g_embedded = np.zeros_like(g)
        pos_index = self.names.index("pos") if self.pos is not None else None
        for i in reversed(range(self.n_layers)):
            block = self.blocks[i]
            if block.mlp is not None:
                g2 = block.mlp.backward(g)
                g = g + (block.ln2.backward(g2) if block.ln2 is not None else g2)
            ga = block.attn.backward(g)
            attn = block.attn
            if attn.grad_pos is not None:
                self.grads[pos_index] += np.pad(attn.grad_pos, ((0, self.max_len - attn.grad_pos.shape[0]), (0, 0)))
            g_base = None
            for gb in (attn.grad_x_q, attn.grad_x_k, attn.grad_x_v):
                if gb is not None:
                    g_base = gb if g_base is None else g_base + gb
            if block.ln1 is not None:
                ga = block.ln1.backward(ga)
                if g_base is not None:  # the same norm applied to the embedding stream
                    saved = (block.ln1._inv, block.ln1._xhat)
                    block.ln1._inv, block.ln1._xhat = block._ln1_base
                    g_base = block.ln1.backward(g_base)
                    block.ln1._inv, block.ln1._xhat = saved
            g = g + ga
            if g_base is not None:
                g_embedded += g_base
        g = g + g_embedded
        if self.positions == "absolute":
            T = g.shape[1]
            self.grads[pos_index][:T] += g.sum(axis=0)
        self.embed.backward(g)

    def zero_grad(self) -> None:
        """Set every accumulated parameter gradient to zero."""
        for g in self.grads:
            g.fill(0.0)

    def __call__(self, tokens):
        return self.forward(tokens)

    # -- interventions --------------------------------------------------------------------------

    def ablate_layer(self, layer: int, on: bool = True) -> None:
        """Zero (or restore) every head of ``layer``: the layer then writes nothing."""
        self.blocks[layer].attn.head_mask[:] = 0.0 if on else 1.0

    def clear_interventions(self) -> None:
        """Restore every head, every composition path and remove every steering vector."""
        for block in self.blocks:
            block.attn.head_mask[:] = 1.0
        self.cut.clear()
        self.steer.clear()

    # -- parameters -----------------------------------------------------------------------------

    def num_parameters(self) -> int:
        """How many scalar parameters the model has."""
        return sum(p.size for p in self.params)

    def parameters_vector(self) -> np.ndarray:
        """All parameters flattened into one new vector (in ``params`` order)."""
        return _flatten(self.params)

    def set_parameters_vector(self, v: np.ndarray) -> None:
        """Write a flat vector back into the parameter arrays (in place)."""
        _unflatten_into(v, self.params)

    def gradient_vector(self) -> np.ndarray:
        """All accumulated gradients flattened into one new vector."""
        return _flatten(self.grads)

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{name: copy of parameter}``: save it with ``np.savez``."""
        return {n: p.copy() for n, p in zip(self.names, self.params)}

    def load_state_dict(self, state) -> None:
        """Copy parameters in from a mapping of the same names and shapes (e.g. an ``np.load``)."""
        missing = [n for n in self.names if n not in state]
        if missing:
            raise ValueError(f"checkpoint lacks {', '.join(missing)}")
        for n, p in zip(self.names, self.params):
            value = np.asarray(state[n])
            if value.shape != p.shape:
                raise ValueError(f"checkpoint's {n} has shape {value.shape}; the model needs {p.shape}")
            p[...] = value

    # -- use -------------------------------------------------------------------------------------

    def generate(self, prompt: np.ndarray, n_new: int, temperature: float = 0.0,
                 rng: np.random.Generator | None = None) -> np.ndarray:
        """Continue ``prompt`` (a 1-D token array) by ``n_new`` tokens: greedy at temperature 0,
        else sampled from softmax(logits / temperature). The context is cut to ``max_len``."""
        seq = [int(t) for t in np.asarray(prompt).reshape(-1)]
        for _ in range(n_new):
            logits = self.forward(np.array([seq[-self.max_len:]]))[0, -1]
            if temperature <= 0.0:
                seq.append(int(np.argmax(logits)))
            else:
                z = logits / temperature
                p = np.exp(z - z.max())
                p /= p.sum()
                seq.append(int((rng or np.random.default_rng()).choice(self.vocab, p=p)))
        return np.array(seq, dtype=np.int64)


def token_losses(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``−log softmax(logits)[label]`` at every position: shape of ``labels``."""
    labels = np.asarray(labels, dtype=np.int64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]


def sequence_cross_entropy(logits: np.ndarray, labels: np.ndarray,
                           weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Weighted mean cross-entropy over a batch of sequences, and its gradient for the logits.

    ``logits`` ``(B, T, V)``, ``labels`` ``(B, T)``; ``weights`` ``(B, T)`` (e.g. 1 on the
    positions that count, 0 elsewhere) default to all ones. The loss is
    ``Σ w·(−log p_label) / Σ w``; its gradient ``w (softmax − onehot) / Σ w``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    w = np.ones(labels.shape, dtype=logits.dtype) if weights is None else np.asarray(weights, dtype=logits.dtype)
    total = float(w.sum())
    if total <= 0.0:
        raise ValueError("the weights select no position")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=-1, keepdims=True)
    picked = np.take_along_axis(p, labels[..., None], axis=-1)[..., 0]
    loss = float(-(w * np.log(np.maximum(picked, 1e-300))).sum() / total)
    grad = p
    np.put_along_axis(grad, labels[..., None], (picked - 1.0)[..., None], axis=-1)
    grad *= (w / total)[..., None]
    return loss, grad
