"""The selective scan's stated claims, checked over every size they are stated for."""

import math
from pathlib import Path

import numpy as np

from sandbox.testing import finished_challenge, level, make_runner
from sim.scan import TREE_KINDS, tree_depth

LEVEL = "selective_scan"
FOLDER = Path(__file__).parents[1]
# The work-efficient tree's rounds as the math card and the README give them, and the same in Python.
BRENT_KUNG_TEX = r"\lfloor \log_2 N \rfloor + \lfloor \log_2 \tfrac{2N}{3} \rfloor"


def brent_kung_rounds(n: int) -> int:
    """⌊log₂N⌋ up-sweep rounds, then one down-sweep round for each stride s = 2^k with 3s ≤ N."""
    return int(math.floor(math.log2(n)) + math.floor(math.log2(2 * n / 3)))


def test_the_stated_round_count_is_exact_for_every_n_not_only_powers_of_two():
    assert all(brent_kung_rounds(n) == tree_depth(n, "work_efficient") for n in range(2, 4097))
    assert all(brent_kung_rounds(2 ** m) == 2 * m - 1 for m in range(1, 13))
    # 2⌈log₂N⌉ − 1 is only a bound: N = 1000 takes 18 rounds, not 19.
    assert tree_depth(1000, "work_efficient") == 18 < 2 * math.ceil(math.log2(1000)) - 1
    assert all(tree_depth(n, "step_efficient") == math.ceil(math.log2(n)) for n in range(2, 4097))


def test_the_rounds_plot_is_exact_at_every_n():
    model = make_runner(LEVEL).model
    sizes, depths = model.depth_table(4096)
    for n in range(2, 4097):  # the stairs hold each count until the next size drawn
        at = int(np.searchsorted(sizes, n, side="right")) - 1
        for kind in TREE_KINDS:
            assert depths[kind][at] == tree_depth(n, kind), (kind, n)


def test_the_math_card_and_the_readme_give_the_exact_count():
    manifest = level(LEVEL).manifest
    cards = [tex for tex, caption in manifest.math if "Brent-Kung" in caption]
    assert len(cards) == 1 and cards[0].startswith(BRENT_KUNG_TEX), cards
    assert r"\lceil \log_2 N \rceil - 1" not in cards[0]
    readme = (FOLDER / "README.md").read_text()
    assert r"2\lceil\log_2 N\rceil - 1" not in readme
    assert r"\lfloor\log_2 N\rfloor + \lfloor\log_2\tfrac{2N}{3}\rfloor" in readme




def test_the_rounds_challenge_ends_on_the_trees_last_round():
    attempt = finished_challenge(LEVEL, "parallel_steps")
    model = attempt.runner.model
    assert model.tree_level == len(model.tree_levels) == attempt.verdict.measured == 19
    assert attempt.runner.steps >= 2 * len(model.tree_levels)  # every round is on screen for a while


def test_the_burst_challenge_ends_on_the_last_token_of_the_stream_it_asks_about():
    attempt = finished_challenge(LEVEL, "after_burst")
    model, params = attempt.runner.model, attempt.runner.params
    assert model.round == 0 and model.position == params["stream_len"]
    marked = int(model.marks.tolist().index(0))
    assert len(model.values) - 1 - marked == params["burst"]  # the burst the question names has passed
