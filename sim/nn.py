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
from typing import Callable

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
        self._t = np.tanh(_GELU_C * (x + _GELU_A * x**3))
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
        return None


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
