"""The decoding rules levels share (sim.sampling): softmax at a temperature, greedy, top-k, top-p."""

from __future__ import annotations

import numpy as np
import pytest

from sim.sampling import keep_mask, log_softmax, sampler, softmax


def test_softmax_at_a_temperature_is_stable_and_sums_to_one():
    z = np.array([1000.0, 999.0, -1000.0])
    p = softmax(z)
    assert np.isfinite(p).all() and p.sum() == pytest.approx(1.0)
    assert p[0] / p[1] == pytest.approx(np.e)
    assert softmax(z, 2.0)[0] / softmax(z, 2.0)[1] == pytest.approx(np.e ** 0.5)
    np.testing.assert_allclose(np.exp(log_softmax(np.ones((2, 4)))), 0.25)


@pytest.mark.parametrize("seed", range(5))
def test_each_rule_keeps_what_it_says_and_renormalises(seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2.0, size=30)
    p = softmax(z)
    order = np.argsort(-p)
    assert keep_mask(p, "temperature").all()
    assert np.flatnonzero(keep_mask(p, "greedy")).tolist() == [order[0]]
    assert set(np.flatnonzero(keep_mask(p, "top-k", top_k=5))) == set(order[:5])
    for top_p in (0.1, 0.5, 0.9, 0.999):
        kept = keep_mask(p, "top-p", top_p=top_p)
        mass = p[kept].sum()
        assert mass >= top_p - 1e-12  # enough
        assert mass - p[kept].min() < top_p  # and the smallest set: without its least likely, too little
        assert set(np.flatnonzero(kept)) == set(order[:kept.sum()])  # the most likely ones
    q = sampler(z, 0.7, "top-k", top_k=3)
    assert q.sum() == pytest.approx(1.0) and (q > 0).sum() == 3
    np.testing.assert_allclose(q[q > 0], softmax(z, 0.7)[q > 0] / softmax(z, 0.7)[q > 0].sum())
    with pytest.raises(ValueError, match="unknown strategy 'beam'"):
        keep_mask(p, "beam")
