"""The paper mapper: notation-tolerant, typo-tolerant search over the levels."""

from __future__ import annotations

import json

import pytest

from sandbox.cli import main
from sandbox.registry import Registry
from sandbox.search import Index, words


@pytest.fixture(scope="module")
def index():
    return Index(Registry(packs=False))


def levels(hits, n=1):
    return [h.level for h in hits][:n]


@pytest.mark.parametrize("query", [
    "softmax(QK^T/sqrt(d))V",
    r"\mathrm{softmax}(QK^\top/\sqrt{d})V",
    "softmax(QKᵀ/√d)V",
    "softmax( Q K^T / sqrt d ) V",
])
def test_one_equation_in_any_notation_finds_attention_by_hand_first(index, query):
    assert levels(index.search(query)) == ["attention_worked"]


def test_the_kv_cache_equation_finds_the_kv_cache_lab(index):
    hits = index.search("Mem_KV = B * N_layers * T * H_kv * d_head * 2 * bytes")
    assert levels(hits) == ["kv_cache"]
    assert any(h.kind == "formula" and h.level == "kv_cache" for h in hits[:5])


@pytest.mark.parametrize("query", ["2103.00065", "arXiv:2103.00065v2", "https://arxiv.org/abs/2103.00065"])
def test_an_arxiv_id_finds_its_paper_first(index, query):
    hit = index.search(query)[0]
    assert (hit.kind, hit.level, hit.object) == ("paper", "eos_canyon", "2103.00065")


@pytest.mark.parametrize("query, level", [
    ("rectifed flow", "flow_straightener"),  # a typo
    ("newton schulz iterations", "muon_orthogonalizer"),  # a plural
    ("edge of stability", "eos_canyon"),
    ("nucleus sampling Holtzman", "softmax_sampling"),
])
def test_terms_typos_and_plurals_find_their_level(index, query, level):
    assert levels(index.search(query)) == [level]


def test_an_excerpt_of_a_claim_finds_that_claim(index):
    entry = index.registry.entries["eos_canyon"].manifest.claims["hovers_at_two_over_eta"]
    excerpt = " ".join(entry.statement.split()[4:16])
    hits = index.search(excerpt)
    assert any(h.kind == "claim" and h.object == "hovers_at_two_over_eta" for h in hits[:3])


def test_nonsense_finds_nothing_and_every_hit_carries_its_path(index):
    assert index.search("zzqx florbium quuxotic") == []
    assert index.search("") == []
    for hit in index.search("attention"):
        assert hit.path[-1] == hit.level and 0 < hit.score


def test_words_meet_across_latex_unicode_and_plain_text():
    assert set(words(r"\sqrt{d}")) == set(words("√d")) == set(words("sqrt(d)")) == {"sqrt", "d"}
    assert "eta" in words("2/η") and "eta" in words(r"2/\eta")
    assert {"q", "k", "t"} <= set(words("QK^T")) and {"q", "k", "t"} <= set(words(r"Q K^\top"))
    assert words("Matrices claims") == ["matrix", "claim"]


def test_the_command_prints_json_a_program_can_read(capsys):
    assert main(["search", "softmax(QK^T/sqrt(d))V", "--json", "--limit", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["query"] == "softmax(QK^T/sqrt(d))V" and len(out["hits"]) == 3
    assert out["hits"][0]["level"] == "attention_worked" and out["hits"][0]["path"][-1] == "attention_worked"
    assert main(["search", "zzqx florbium"]) == 0
    assert "Nothing matches" in capsys.readouterr().out
