"""The shared network kit: exact gradients, working optimizers, correct curvature."""

import numpy as np
import pytest

from sim import nn


def _regression_data(rng, n=7, d_in=3, d_out=2):
    return rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))


@pytest.mark.parametrize("activation", [nn.Tanh, nn.ReLU, nn.GELU])
@pytest.mark.parametrize("init", ["xavier", "he", "normal"])
def test_mlp_gradient_matches_finite_differences(activation, init):
    rng = np.random.default_rng(1)
    net = nn.Sequential(nn.Dense(3, 5, rng, init=init, scale=0.8), activation(), nn.Dense(5, 2, rng, init=init))
    x, y = _regression_data(rng)
    assert nn.gradient_check(net, nn.mse_loss, x, y) < 1e-6


def test_dense_without_bias_and_with_batch_axes_has_exact_gradient():
    rng = np.random.default_rng(2)
    net = nn.Sequential(nn.Dense(4, 3, rng, bias=False), nn.GELU(), nn.Dense(3, 3, rng))
    x = rng.standard_normal((2, 5, 4))  # (batch, sequence, features)
    y = rng.standard_normal((2, 5, 3))
    assert len(net.params) == 3
    assert nn.gradient_check(net, nn.mse_loss, x, y) < 1e-6


def test_input_gradient_of_each_layer_matches_finite_differences():
    rng = np.random.default_rng(3)
    for layer in (nn.Dense(4, 3, rng), nn.Tanh(), nn.ReLU(), nn.GELU()):
        x = rng.standard_normal((5, 4))
        upstream = rng.standard_normal(layer.forward(x).shape)
        layer.zero_grad()
        analytic = layer.backward(upstream)
        numeric = np.zeros_like(x)
        eps = 1e-6
        for idx in np.ndindex(*x.shape):
            xp, xm = x.copy(), x.copy()
            xp[idx] += eps
            xm[idx] -= eps
            numeric[idx] = np.sum((layer.forward(xp) - layer.forward(xm)) * upstream) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_embedding_gradient_accumulates_repeated_tokens():
    rng = np.random.default_rng(4)
    net = nn.Sequential(nn.Embedding(6, 4, rng, scale=0.5), nn.Tanh(), nn.Dense(4, 6, rng))
    tokens = np.array([[0, 3, 3], [5, 0, 1]])
    labels = np.array([[1, 2, 2], [4, 0, 5]])
    assert nn.gradient_check(net, nn.softmax_cross_entropy, tokens, labels) < 1e-6
    unused = 2  # token 2 never appears: its row gets no gradient
    assert not np.any(net.layers[0].grads[0][unused])


def test_flattened_token_pairs_have_exact_gradients():
    rng = np.random.default_rng(5)
    net = nn.Sequential(nn.Embedding(7, 3, rng), nn.Flatten(), nn.Dense(6, 7, rng))
    pairs = np.array([[0, 1], [2, 2], [6, 3]])  # (N, 2) tokens -> (N, 2, 3) -> (N, 6)
    assert nn.gradient_check(net, nn.softmax_cross_entropy, pairs, np.array([1, 4, 2])) < 1e-6


def test_mse_loss_value_and_gradient():
    pred = np.array([[1.0, 2.0], [3.0, 5.0]])
    target = np.array([[1.0, 0.0], [3.0, 4.0]])
    loss, grad = nn.mse_loss(pred, target)
    assert loss == pytest.approx((4.0 + 1.0) / 4)
    np.testing.assert_allclose(grad, 2 * (pred - target) / 4)


def test_softmax_cross_entropy_value_gradient_and_stability():
    logits = np.array([[2.0, 1.0, 0.1], [1000.0, 0.0, -1000.0]])  # the second would overflow exp naively
    labels = np.array([0, 1])
    loss, grad = nn.softmax_cross_entropy(logits, labels)
    p0 = np.exp(logits[0]) / np.exp(logits[0]).sum()
    assert loss == pytest.approx((-np.log(p0[0]) + 1000.0) / 2)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad.sum(axis=-1), 0.0, atol=1e-12)  # softmax − onehot sums to zero
    rng = np.random.default_rng(5)
    z = rng.standard_normal((4, 5))
    lab = rng.integers(0, 5, size=4)
    _, g = nn.softmax_cross_entropy(z, lab)
    eps = 1e-6
    for idx in np.ndindex(*z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += eps
        zm[idx] -= eps
        numeric = (nn.softmax_cross_entropy(zp, lab)[0] - nn.softmax_cross_entropy(zm, lab)[0]) / (2 * eps)
        assert g[idx] == pytest.approx(numeric, rel=1e-6, abs=1e-10)


def test_accuracy_counts_argmax_hits():
    logits = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert nn.accuracy(logits, np.array([1, 0, 0])) == pytest.approx(2 / 3)


def test_parameter_vector_round_trips():
    rng = np.random.default_rng(6)
    net = nn.Sequential(nn.Dense(3, 4, rng), nn.Tanh(), nn.Dense(4, 2, rng))
    v = net.parameters_vector()
    assert v.size == net.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2
    net.set_parameters_vector(v * 2.0)
    np.testing.assert_allclose(net.parameters_vector(), 2.0 * v)
    assert net.layers[0].W is net.params[0]  # written in place: optimizers keep their references
    with pytest.raises(ValueError):
        net.set_parameters_vector(v[:-1])


def _train(make_optimizer, steps=300):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((32, 2))
    y = np.sin(x[:, :1]) + 0.5 * x[:, 1:]
    net = nn.Sequential(nn.Dense(2, 16, rng), nn.Tanh(), nn.Dense(16, 1, rng))
    opt = make_optimizer(net.params)
    first = None
    for _ in range(steps):
        net.zero_grad()
        loss, grad = nn.mse_loss(net.forward(x), y)
        first = loss if first is None else first
        net.backward(grad)
        opt.step(net.grads)
    return first, nn.mse_loss(net.forward(x), y)[0]


@pytest.mark.parametrize("make_optimizer", [
    lambda p: nn.SGD(p, lr=0.1),
    lambda p: nn.SGD(p, lr=0.05, momentum=0.9),
    lambda p: nn.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4),
    lambda p: nn.Adam(p, lr=0.01),
    lambda p: nn.Adam(p, lr=0.01, weight_decay=0.01),
], ids=["sgd", "momentum", "nesterov-wd", "adam", "adamw"])
def test_optimizers_reduce_a_regression_loss(make_optimizer):
    first, last = _train(make_optimizer)
    assert last < 0.1 * first


def test_sgd_step_is_exactly_minus_lr_times_gradient():
    p = [np.array([1.0, -2.0])]
    opt = nn.SGD(p, lr=0.5)
    opt.step([np.array([0.2, 0.4])])
    np.testing.assert_allclose(p[0], [0.9, -2.2])
    opt.lr = 1.0  # the learning rate is mutable between steps
    opt.step([np.array([0.1, 0.0])])
    np.testing.assert_allclose(p[0], [0.8, -2.2])


def test_adamw_decay_is_decoupled_from_the_gradient():
    p = [np.array([2.0])]
    opt = nn.Adam(p, lr=0.1, weight_decay=0.5)
    opt.step([np.array([0.0])])  # zero gradient: only the decay acts
    np.testing.assert_allclose(p[0], [2.0 * (1 - 0.1 * 0.5)])


def test_first_adam_step_has_size_lr_in_every_coordinate():
    p = [np.array([0.0, 0.0, 0.0])]
    nn.Adam(p, lr=0.01).step([np.array([1e-3, -5.0, 300.0])])
    np.testing.assert_allclose(p[0], [-0.01, 0.01, -0.01], rtol=1e-4)


def _quadratic_model(rng, n=6):
    """A linear model with MSE: the loss is exactly quadratic, with Hessian 2XᵀX/N."""
    x = rng.standard_normal((20, n))
    y = rng.standard_normal((20, 1))
    net = nn.Sequential(nn.Dense(n, 1, rng, bias=False))
    hessian = 2.0 * x.T @ x / x.shape[0]
    return net, x, y, hessian


def test_hessian_vector_product_matches_exact_hessian_of_a_quadratic():
    rng = np.random.default_rng(8)
    net, x, y, hessian = _quadratic_model(rng)
    for _ in range(3):
        v = rng.standard_normal(hessian.shape[0])
        np.testing.assert_allclose(nn.hessian_vector_product(net, nn.mse_loss, x, y, v), hessian @ v,
                                   rtol=1e-6, atol=1e-8)


def test_hessian_vector_product_restores_parameters_and_gradients():
    rng = np.random.default_rng(9)
    net = nn.Sequential(nn.Dense(3, 4, rng), nn.Tanh(), nn.Dense(4, 1, rng))
    x, y = _regression_data(rng, d_out=1)
    _, grad = nn.loss_and_gradient(net, nn.mse_loss, x, y)
    theta = net.parameters_vector()
    nn.hessian_vector_product(net, nn.mse_loss, x, y, rng.standard_normal(theta.size))
    np.testing.assert_array_equal(net.parameters_vector(), theta)
    np.testing.assert_array_equal(net.gradient_vector(), grad)


def test_hessian_vector_product_of_a_network_is_symmetric_and_matches_second_differences():
    rng = np.random.default_rng(10)
    net = nn.Sequential(nn.Dense(2, 5, rng), nn.Tanh(), nn.Dense(5, 1, rng))
    x, y = _regression_data(rng, d_in=2, d_out=1)
    n = net.num_parameters()
    u, w = rng.standard_normal(n), rng.standard_normal(n)
    hu = nn.hessian_vector_product(net, nn.mse_loss, x, y, u)
    hw = nn.hessian_vector_product(net, nn.mse_loss, x, y, w)
    assert w @ hu == pytest.approx(u @ hw, rel=1e-6)  # the Hessian is symmetric
    theta = net.parameters_vector()
    h = 1e-4
    values = []
    for s in (1, 0, -1):
        net.set_parameters_vector(theta + s * h * u)
        values.append(nn.mse_loss(net.forward(x), y)[0])
    net.set_parameters_vector(theta)
    assert u @ hu == pytest.approx((values[0] - 2 * values[1] + values[2]) / h**2, rel=1e-4)


def test_power_iteration_finds_the_top_eigenvalue():
    rng = np.random.default_rng(11)
    net, x, y, hessian = _quadratic_model(rng)
    exact = np.linalg.eigvalsh(hessian)
    value, vector = nn.top_hessian_eigenvalue(net, nn.mse_loss, x, y, iters=200, rng=rng)
    assert value == pytest.approx(exact[-1], rel=1e-6)
    assert np.linalg.norm(hessian @ vector - exact[-1] * vector) < 1e-3 * exact[-1]


def test_power_iteration_warm_start_converges_at_once():
    rng = np.random.default_rng(12)
    net, x, y, hessian = _quadratic_model(rng)
    exact_value, exact_vectors = np.linalg.eigh(hessian)
    value, _ = nn.top_hessian_eigenvalue(net, nn.mse_loss, x, y, iters=1, v0=exact_vectors[:, -1])
    assert value == pytest.approx(exact_value[-1], rel=1e-7)


# --- transformers --------------------------------------------------------------------------


def test_layer_norm_gradient_and_input_gradient():
    rng = np.random.default_rng(20)
    net = nn.Sequential(nn.Dense(4, 5, rng), nn.LayerNorm(5), nn.Dense(5, 3, rng))
    net.layers[1].gain[:] = rng.standard_normal(5)
    net.layers[1].bias[:] = rng.standard_normal(5)
    x = rng.standard_normal((2, 3, 4))
    y = rng.standard_normal((2, 3, 3))
    assert nn.gradient_check(net, nn.mse_loss, x, y) < 1e-6
    plain = nn.LayerNorm(5).forward(rng.standard_normal((3, 5)) * 4.0 + 2.0)
    np.testing.assert_allclose(plain.mean(axis=-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(plain.std(axis=-1), 1.0, rtol=1e-4)


def _check(model, loss_fn, tokens, labels, eps=1e-5):
    """Backward's gradient against central differences, every entry: the largest error is
    below 1e-7 of the largest gradient entry (a wrong term shows as an error of order one).
    Entrywise relative errors would flag round-off on entries near zero in these deeper maps."""
    _, analytic = nn.loss_and_gradient(model, loss_fn, tokens, labels)
    theta = model.parameters_vector()
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        values = []
        for sign in (1.0, -1.0):
            probe = theta.copy()
            probe[i] += sign * eps
            model.set_parameters_vector(probe)
            values.append(loss_fn(model.forward(tokens), labels)[0])
        numeric[i] = (values[0] - values[1]) / (2.0 * eps)
    model.set_parameters_vector(theta)
    return np.max(np.abs(analytic - numeric)) < 1e-7 * np.max(np.abs(analytic))


def _tiny(positions, **kw):
    rng = np.random.default_rng(21)
    model = nn.Transformer(vocab=7, d_model=8, n_layers=2, n_heads=2, rng=rng, max_len=8, positions=positions, **kw)
    tokens = rng.integers(0, 7, size=(2, 5))
    labels = rng.integers(0, 7, size=(2, 5))
    return model, tokens, labels


@pytest.mark.parametrize("positions", nn.POSITIONS)
def test_attention_only_transformer_has_exact_gradients(positions):
    model, tokens, labels = _tiny(positions)
    assert _check(model, nn.sequence_cross_entropy, tokens, labels)


def test_transformer_with_mlp_and_layer_norm_has_exact_gradients():
    model, tokens, labels = _tiny("absolute", d_mlp=5, layer_norm=True)
    for p in model.params:  # move norms off their initial gain 1 / bias 0
        p += 0.1 * np.random.default_rng(22).standard_normal(p.shape)
    assert _check(model, nn.sequence_cross_entropy, tokens, labels)


@pytest.mark.parametrize("cut", [{"k"}, {"q"}, {"v"}, {"q", "k", "v"}])
@pytest.mark.parametrize("layer_norm", [False, True])
def test_cut_composition_paths_have_exact_gradients(cut, layer_norm):
    model, tokens, labels = _tiny("shortformer", layer_norm=layer_norm)
    model.cut[1] = set(cut)
    model.blocks[0].attn.head_mask[1] = 0.0
    model.steer[1] = np.random.default_rng(23).standard_normal(8)
    assert _check(model, nn.sequence_cross_entropy, tokens, labels)


def test_weighted_sequence_cross_entropy_gradient_and_token_losses():
    rng = np.random.default_rng(24)
    model, tokens, labels = _tiny("rotary")
    w = (rng.random(labels.shape) < 0.5).astype(float)
    w[0, 0] = 1.0
    loss_fn = lambda z, y: nn.sequence_cross_entropy(z, y, w)
    assert _check(model, loss_fn, tokens, labels)
    logits = model.forward(tokens)
    per_token = nn.token_losses(logits, labels)
    assert nn.sequence_cross_entropy(logits, labels, w)[0] == pytest.approx((per_token * w).sum() / w.sum())
    assert nn.sequence_cross_entropy(logits, labels)[0] == pytest.approx(nn.softmax_cross_entropy(logits, labels)[0])
    with pytest.raises(ValueError):
        nn.sequence_cross_entropy(logits, labels, np.zeros_like(w))


def test_attention_is_causal_and_patterns_are_distributions():
    model, tokens, _ = _tiny("shortformer")
    logits = model.forward(tokens)
    for a in model.patterns:
        assert a.shape == (2, 2, 5, 5)
        np.testing.assert_allclose(a.sum(axis=-1), 1.0)
        assert np.all(np.triu(a[0, 0], 1) == 0.0)
    changed = tokens.copy()
    changed[:, -1] = (changed[:, -1] + 1) % 7  # the future never changes the past
    np.testing.assert_allclose(model.forward(changed)[:, :-1], logits[:, :-1])


def test_shortformer_positions_stay_out_of_the_residual_stream():
    model, tokens, _ = _tiny("shortformer")
    model.forward(tokens)
    np.testing.assert_array_equal(model.resid[0], model.embed.W[tokens])
    model_abs, _, _ = _tiny("absolute")
    model_abs.forward(tokens)
    np.testing.assert_allclose(model_abs.resid[0], model_abs.embed.W[tokens] + model_abs.pos[:5])


def test_rotary_scores_depend_on_relative_position_only():
    rng = np.random.default_rng(25)
    cos, sin = nn.rotary_tables(12, 4)
    q, k = rng.standard_normal(4), rng.standard_normal(4)
    def score(t, s):
        return nn._rotate(q[None], cos[t:t + 1], sin[t:t + 1]) @ nn._rotate(k[None], cos[s:s + 1], sin[s:s + 1]).T
    assert score(5, 2)[0, 0] == pytest.approx(score(9, 6)[0, 0])
    with pytest.raises(ValueError):
        nn.rotary_tables(4, 3)


def test_ablations_remove_exactly_what_they_name():
    model, tokens, _ = _tiny("shortformer")
    model.blocks[0].attn.keep_head_outputs = True
    model.forward(tokens)
    heads = model.blocks[0].attn.head_out
    model.blocks[0].attn.head_mask[0] = 0.0
    model.forward(tokens)
    np.testing.assert_allclose(model.resid[1] - model.resid[0], heads[:, 1])  # only head 1 writes
    model.clear_interventions()
    model.ablate_layer(0)
    model.forward(tokens)
    np.testing.assert_array_equal(model.resid[1], model.resid[0])
    model.clear_interventions()
    # cutting K-composition: layer 1's keys see the embeddings, so its pattern is the one it
    # would have without layer 0, while its queries still read layer 0's output
    model.cut[1] = {"k"}
    model.forward(tokens)
    cut_pattern = model.patterns[1].copy()
    model.clear_interventions()
    model.forward(tokens)
    assert not np.allclose(cut_pattern, model.patterns[1])


def test_flat_vectors_state_dict_and_task_arithmetic():
    model, _, _ = _tiny("shortformer", d_mlp=4, layer_norm=True)
    theta = model.parameters_vector()
    assert theta.size == model.num_parameters() == sum(p.size for p in model.state_dict().values())
    assert len(set(model.names)) == len(model.names) == len(model.params)
    state = model.state_dict()
    model.set_parameters_vector(theta + 1.0)
    assert model.params[0] is model.embed.W  # in place: optimizers keep their references
    model.load_state_dict(state)
    np.testing.assert_array_equal(model.parameters_vector(), theta)
    with pytest.raises(ValueError):
        model.load_state_dict({k: v for k, v in state.items() if k != "pos"})
    with pytest.raises(ValueError):
        model.load_state_dict({**state, "pos": state["pos"][:2]})


def test_transformer_rejects_bad_input_with_a_message():
    model, _, _ = _tiny("none")
    with pytest.raises(ValueError, match="longer"):
        model.forward(np.zeros((1, 9), dtype=int))
    with pytest.raises(ValueError, match="tokens"):
        model.forward(np.array([[0, 7]]))
    with pytest.raises(ValueError, match="positions"):
        nn.Transformer(5, 4, 1, 1, np.random.default_rng(0), positions="learned")


def test_a_two_layer_model_learns_to_copy_with_adam_and_generates():
    # the next token is always the current one: one head attending to itself suffices
    rng = np.random.default_rng(26)
    model = nn.Transformer(vocab=5, d_model=8, n_layers=1, n_heads=1, rng=rng, max_len=6)
    opt = nn.Adam(model.params, lr=0.03)
    for _ in range(150):
        tokens = rng.integers(0, 5, size=(16, 6))
        model.zero_grad()
        loss, grad = nn.sequence_cross_entropy(model.forward(tokens), tokens)
        model.backward(grad)
        opt.step(model.grads)
    assert loss < 0.1
    np.testing.assert_array_equal(model.generate(np.array([3]), 3), [3, 3, 3, 3])


@pytest.mark.parametrize("positions", nn.POSITIONS)
def test_a_float32_transformer_stays_float32_and_matches_float64(positions):
    kw = {"vocab": 7, "d_model": 8, "n_layers": 2, "n_heads": 2, "max_len": 8, "positions": positions}
    m64 = nn.Transformer(rng=np.random.default_rng(30), **kw)
    m32 = nn.Transformer(rng=np.random.default_rng(30), dtype=np.float32, **kw)
    tokens = np.random.default_rng(31).integers(0, 7, size=(3, 6))
    l64, g64 = nn.loss_and_gradient(m64, nn.sequence_cross_entropy, tokens, tokens)
    l32, g32 = nn.loss_and_gradient(m32, nn.sequence_cross_entropy, tokens, tokens)
    assert m32.forward(tokens).dtype == np.float32 and all(g.dtype == np.float32 for g in m32.grads)
    assert l32 == pytest.approx(l64, rel=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-5)
