"""The selective scan's claims, each checked at one point of its range (see [[claims]] in level.toml).

Every check builds the level's own run and measures what the README, the math card, the panels and
the challenges state: the game's scores and shares from the recorded run and the model's states, the
scan tree's rounds and combines from the tree the level animates. The numbers each check returns are
shown beside its claim.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sandbox.testing import make_runner

from .model import stream_scores

HERE = Path(__file__).resolve().parent  # this level's folder, wherever it is installed

LTI_DELTAS = (0.001, 0.01, 0.1, 1.0, 10.0)  # the LTI Δ slider's range, a value a decade
MARKED_TOKENS = 24  # the game claim plays streams until this many tokens were to be copied
LTI_MOST = 0.5  # the README: no LTI Δ copies the tokens; over many streams it copies under half of them


def _run(seed: int = 0, **params):
    run = make_runner(HERE.name, params, seed=seed, levels_dir=HERE.parent)
    assert run.error is None, run.error
    return run


def check_selective_copies_and_lti_cannot(registers: int, seed: int) -> dict:
    """Play streams until 24 tokens were to be copied (8 streams of 3 registers): the selective model
    (Δ 4 on a marked token, 0.003 on noise, the level's defaults) copies every one; at each LTI Δ of
    the slider's range, a decade apart, the LTI model copies under half of them."""
    streams = math.ceil(MARKED_TOKENS / registers)
    run = _run(seed, registers=registers, tokens_per_step=8)  # 96 tokens: 12 steps a stream
    model, copied = run.model, dict.fromkeys(LTI_DELTAS, 0.0)
    for _ in range(streams):
        for delta in LTI_DELTAS:  # the same stream, each LTI Δ: a live change re-runs both models on it
            model.set_param("lti_delta", delta)
            copied[delta] += model.score[1]
        run.step(run.params["stream_len"] // run.params["tokens_per_step"])
    assert model.round == streams, f"{model.round} streams were played, not {streams}"
    played, scores, _ = stream_scores(run)  # each stream's score as the run recorded it
    selective = float(np.mean(scores[played <= streams]))
    lti = {delta: total / streams for delta, total in copied.items()}
    best = max(lti, key=lti.get)
    measured = {"streams": streams, "selective: copied": f"{selective:.0%}",
                **{f"LTI Δ = {delta:g}": f"{share:.0%}" for delta, share in lti.items()}}
    assert selective == 1.0, f"the selective model copied {selective:.0%} of the marked tokens, not all"
    assert lti[best] < LTI_MOST, f"the LTI model with Δ = {best:g} copied {lti[best]:.0%} of them, not under half"
    return measured


def check_state_is_its_tokens_shares(delta_noise: float, seed: int) -> dict:
    """After every token t, each register's state, in both models, equals the sum over the tokens
    s ≤ t of (1 − a_s) a_(s+1) ⋯ a_t e(x_s), the shares multiplied out token by token (not the
    model's own cumulative-log form); and the shares the view draws at the playhead are those products."""
    run = _run(seed, delta_mark=2.0, delta_noise=delta_noise, lti_delta=0.3)
    run.step(50)
    model, vocab = run.model, run.params["vocab"]
    embedded, playhead = np.eye(vocab)[model.values], model.position - 1
    worst_state = worst_share = 0.0
    for gates, states, drawn in ((model.gates, model.selective_states, 0), (model.lti_gates, model.lti_states, 1)):
        decays = np.exp(-gates)
        for register in range(run.params["registers"]):
            shares = np.zeros(0)
            for t in range(len(model.values)):  # every earlier share times a_t, and the new token's 1 − a_t
                shares = np.append(shares * decays[t, register], 1.0 - decays[t, register])
                gap = np.abs(shares @ embedded[:t + 1] - states[t, register]).max()
                worst_state = max(worst_state, float(gap))
                if t == playhead:
                    worst_share = max(worst_share, float(np.abs(model.shares(register)[drawn] - shares).max()))
    measured = {"tokens": len(model.values), "largest |state − Σ share·e(x)|": f"{worst_state:.1e}",
                "largest |share drawn − product|": f"{worst_share:.1e}"}
    assert worst_state < 1e-12, f"a state is {worst_state:.2g} from the sum of its tokens' shares"
    assert worst_share < 1e-12, f"a share drawn is {worst_share:.2g} from (1 − a_s) a_s+1 ⋯ a_t"
    return measured


def check_a_burst_fades_the_mark(delta_mark: float, delta_noise: float, burst: int) -> dict:
    """One register, its token then a burst of M noise tokens: played to the stream's end, the
    marked token's share in the register is (1 − e^−Δmark) e^−MΔ, and no noise token holds more than
    1 − e^−Δ."""
    run = _run(registers=1, stream_len=64, burst=burst, delta_mark=delta_mark, delta_noise=delta_noise)
    run.step(63)  # the run ends on the stream's last token
    model = run.model
    marked = int(np.flatnonzero(model.marks == 0)[0])
    weights = model.weights_in_register(0, len(model.values) - 1)
    held, noise = float(run.series("marked_weight")[-1]), float(np.delete(weights, marked).max())
    stated = (1.0 - math.exp(-delta_mark)) * math.exp(-burst * delta_noise)
    measured = {"noise tokens after it": len(model.values) - 1 - marked, "marked share": round(held, 5),
                "(1 − e^−Δmark) e^−MΔ": round(stated, 5), "largest noise share": round(noise, 5),
                "1 − e^−Δ": round(1.0 - math.exp(-delta_noise), 5)}
    assert len(model.values) - 1 - marked == burst, "the burst is not the tokens after the mark"
    assert abs(held - stated) < 1e-12, f"the marked token holds {held:.6g}, the formula says {stated:.6g}"
    assert noise <= 1.0 - math.exp(-delta_noise) + 1e-12, f"a noise token holds {noise:.4g}"
    return measured


#: What the register holds after M noise tokens of step Δ (the challenge's Δ = 0.1, and a decade and a
#: half either side): Δ·M ≪ 1 keeps the mark, Δ ≫ 1 hands the register to each new token.
OUTCOMES = {0.003: "the marked token", 0.1: "a blur of the burst", 3.0: "the last noise token"}


def check_what_survives_a_burst(delta_noise: float, burst: int) -> dict:
    """The after-burst challenge's measure at its Δ on a marked token (4) and stream (64 tokens),
    for three noise Δ and bursts of 20 to 40 tokens."""
    run = _run(registers=1, stream_len=64, burst=burst, delta_mark=4.0, delta_noise=delta_noise)
    run.step(63)
    model = run.model
    outcome = model.measure_burst_outcome(run)
    weights = model.weights_in_register(0, len(model.values) - 1)
    marked = int(np.flatnonzero(model.marks == 0)[0])
    measured = {"register holds": outcome, "marked share": round(float(weights[marked]), 3),
                "last token's share": round(float(weights[-1]), 3),
                "largest noise share": round(float(np.delete(weights, marked).max()), 3)}
    assert outcome == OUTCOMES[delta_noise], f"Δ = {delta_noise:g}, M = {burst}: the register holds {outcome}"
    return measured


def check_tree_equals_the_loop(tree: str, tree_n: int) -> dict:
    """The tree the level animates, run to its last round, against the sequential loop over the
    same pairs (a_t, b_t); and, composing three random steps both ways, the operator's grouping."""
    run = _run(tree=tree, tree_n=tree_n)
    model = run.model
    final = model.tree_after(len(model.tree_levels))
    loop = np.zeros(tree_n)
    h = 0.0
    for t in range(tree_n):  # h_t = a_t h_t−1 + b_t, one token at a time
        h = model.tree_a[t] * h + model.tree_b[t]
        loop[t] = h
    gap = float(np.abs(final - loop).max() / np.abs(loop).max())
    rng = np.random.default_rng(tree_n)
    (a1, b1), (a2, b2), (a3, b3) = rng.uniform(0.5, 1.0, (3, 2))

    def compose(first, second):  # (a1, b1) ∘ (a2, b2) = (a1 a2, a2 b1 + b2): first step, then the second
        return first[0] * second[0], second[0] * first[1] + second[1]

    left = compose(compose((a1, b1), (a2, b2)), (a3, b3))
    right = compose((a1, b1), compose((a2, b2), (a3, b3)))
    grouping = float(np.abs(np.subtract(left, right)).max())
    measured = {"rounds": len(model.tree_levels), "largest |tree − loop| / |h|": f"{gap:.1e}",
                "shown |tree − loop|": f"{run.latest()['scan_error']:.1e}", "grouping gap": f"{grouping:.1e}"}
    assert gap < 1e-13, f"the tree's result is {gap:.2g} (relative) from the loop's"
    assert run.latest()["scan_error"] < 1e-12, "the table shows a gap beyond rounding"
    assert grouping < 1e-15, f"the two groupings differ by {grouping:.2g}"
    return measured


def check_work_efficient_rounds(tree_n: int) -> dict:
    """The work-efficient tree as the level builds it: its rounds, its combines, and whether any round
    reads a position another combine of that round writes (then it could not run at once, in place)."""
    run = _run(tree="work_efficient", tree_n=tree_n)
    model, latest = run.model, run.latest()
    rounds, combines = int(latest["tree_depth"]), int(latest["tree_work"])
    stated = math.floor(math.log2(tree_n)) + math.floor(math.log2(2 * tree_n / 3))
    clash = sum(bool(set(level.sources.tolist()) & set(level.targets.tolist())) for level in model.tree_levels)
    measured = {"rounds": rounds, "⌊log₂N⌋ + ⌊log₂(2N/3)⌋": stated, "2⌈log₂N⌉ − 1": 2 * math.ceil(math.log2(tree_n)) - 1,
                "combines": combines, "2N": 2 * tree_n}
    assert rounds == len(model.tree_levels) == stated, f"N = {tree_n}: {rounds} rounds, the formula says {stated}"
    bound = 2 * math.ceil(math.log2(tree_n)) - 1
    if tree_n & (tree_n - 1) == 0:
        assert rounds == bound, f"N = {tree_n}: {rounds} rounds, not 2 log₂N − 1 = {bound}"
    else:
        assert rounds < bound, f"N = {tree_n}: {rounds} rounds, not fewer than 2⌈log₂N⌉ − 1 = {bound}"
    assert combines < 2 * tree_n, f"N = {tree_n}: {combines} combines, not fewer than 2N"
    assert clash == 0, f"{clash} rounds read a position they write"
    return measured


def check_step_efficient_rounds(tree_n: int) -> dict:
    """The step-efficient tree as the level builds it: ⌈log₂N⌉ rounds, and in the round of stride s
    every position from s on combines, N − s of them: N⌈log₂N⌉ − (2^⌈log₂N⌉ − 1) in all."""
    run = _run(tree="step_efficient", tree_n=tree_n)
    latest = run.latest()
    rounds, combines = int(latest["tree_depth"]), int(latest["tree_work"])
    depth = math.ceil(math.log2(tree_n))
    stated = tree_n * depth - (2 ** depth - 1)
    about = combines / (tree_n * math.log2(tree_n))
    measured = {"rounds": rounds, "⌈log₂N⌉": depth, "combines": combines, "N log₂N": round(tree_n * math.log2(tree_n)),
                "combines ÷ loop's N − 1": round(combines / (tree_n - 1), 1)}
    assert rounds == depth, f"N = {tree_n}: {rounds} rounds, not ⌈log₂N⌉ = {depth}"
    assert combines == stated, f"N = {tree_n}: {combines} combines, not {stated}"
    assert 0.5 <= about <= 1.0, f"N = {tree_n}: {combines} combines, {about:.2f} N log₂N"
    return measured
