"""Routes through the levels, domains, repairs and the manifest keys they rest on."""

from __future__ import annotations

import pytest

from sandbox.manifest import DOMAINS, ManifestError, parse_manifest
from sandbox.registry import Registry
from sandbox.routes import (by_domain, load_routes, next_step, prerequisite_path, progress_text, read_routes,
                            route_progress, start_route)


@pytest.fixture(scope="module")
def registry():
    return Registry(packs=False)


def test_the_shipped_routes_load_and_every_step_is_a_level(registry):
    routes, problems = load_routes(registry)
    assert problems == []
    assert len(routes) >= 5
    for route in routes:
        assert route.missing(registry) == [], (route.id, route.missing(registry))


def test_attention_to_serving_is_start_here_and_names_what_comes_before_it(registry):
    routes, _ = load_routes(registry)
    route = start_route(routes, registry)
    assert route.id == "attention_to_serving"
    assert route.steps == ("attention_worked", "associativity_switch", "kv_cache")
    before = route.before(registry)
    assert {"softmax_sampling", "matrix_transform"} <= set(before) and not set(before) & set(route.steps)
    for i, level in enumerate(before):  # each after what it builds on
        assert set(registry.entries[level].manifest.prerequisites) & set(before) <= set(before[:i])


def test_progress_along_a_route_counts_levels_done_and_finds_the_next(registry):
    routes, _ = load_routes(registry)
    route = start_route(routes, registry)
    totals = {s: len(registry.entries[s].manifest.challenges) for s in route.steps}
    nothing = route_progress(route, registry, lambda level: 0, set())
    assert next_step(nothing) == "attention_worked" and progress_text(nothing) == "0 of 3 levels done"
    first_done = route_progress(route, registry, lambda level: totals[level] if level == "attention_worked" else 1,
                                set())
    assert next_step(first_done) == "associativity_switch" and progress_text(first_done) == "1 of 3 levels done"
    all_done = route_progress(route, registry, lambda level: totals[level], set())
    assert next_step(all_done) is None and progress_text(all_done) == "complete"


def test_the_atlas_starts_a_newcomer_on_the_route_and_moves_on_as_steps_are_solved(make_app):
    app = make_app()
    assert app.atlas.starts() == {"attention_worked"}
    solved = {"attention_worked": len(app.registry.entries["attention_worked"].manifest.challenges)}
    app.atlas.solved = lambda level: solved.get(level, 0)
    assert app.atlas.starts() == {"associativity_switch"}


def test_a_prerequisite_path_ends_at_the_level_and_starts_where_nothing_is_needed(registry):
    for level_id in registry.entries:
        path = prerequisite_path(registry, level_id)
        assert path[-1] == level_id and len(set(path)) == len(path)
        assert not registry.entries[path[0]].manifest.prerequisites or path == [level_id]
        for i, level in enumerate(path):
            assert set(registry.entries[level].manifest.prerequisites) & set(registry.entries) <= set(path[:i])


def test_every_domain_is_listed_and_every_level_names_a_domain(registry):
    groups = by_domain(registry)
    assert list(groups) == list(DOMAINS)
    for level_id, entry in registry.entries.items():
        assert entry.manifest.domains, f"{level_id} names no domain"
        for domain in entry.manifest.domains:
            assert level_id in groups[domain]
    assert any(not ids for ids in groups.values())  # the map shows domains no level teaches yet


def test_every_shipped_repair_points_to_a_level_and_claim_that_exist(registry):
    for entry in registry.entries.values():
        for challenge in entry.manifest.challenges.values():
            if not challenge.repair:
                continue
            level, _, claim = challenge.repair.partition(":")
            assert level in registry.entries, (entry.id, challenge.id, challenge.repair)
            assert not claim or claim in registry.entries[level].manifest.claims, (entry.id, challenge.id)


def test_a_broken_routes_file_is_a_one_line_problem_and_its_good_routes_load(tmp_path):
    path = tmp_path / "routes.toml"
    path.write_text('[[routes]]\nid = "good"\ntitle = "Good"\nsteps = ["a", "b"]\n'
                    '[[routes]]\nid = "Bad Id"\ntitle = "x"\nsteps = ["a"]\n'
                    '[[routes]]\nid = "twice"\ntitle = "T"\nsteps = ["a", "a"]\n'
                    '[[routes]]\nid = "odd"\ntitle = "O"\nsteps = ["a"]\ncolour = "red"\n')
    routes, problems = read_routes(path)
    assert [r.id for r in routes] == ["good"]
    assert len(problems) == 3 and all("\n" not in p and str(path) in p for p in problems)
    path.write_text("[[routes]\nid = ")
    routes, problems = read_routes(path)
    assert routes == [] and problems[0].startswith(f"{path}: invalid TOML")
    path.write_bytes(b"\xff\xfe routes")
    assert read_routes(path)[1] == [f"{path}: not UTF-8 text"]


def test_a_modders_folder_adds_its_routes_and_a_duplicate_id_keeps_the_first(tmp_path):
    (tmp_path / "routes.toml").write_text('[[routes]]\nid = "mine"\ntitle = "Mine"\nsteps = ["eos_canyon"]\n'
                                          '[[routes]]\nid = "attention_to_serving"\ntitle = "X"\nsteps = ["a"]\n')
    registry = Registry([tmp_path], packs=False)
    routes, problems = load_routes(registry)
    ids = [r.id for r in routes]
    assert "mine" in ids and ids.count("attention_to_serving") == 1
    assert next(r for r in routes if r.id == "attention_to_serving").title == "Attention to Serving"
    assert len(problems) == 1 and "already defined" in problems[0]


BASE = {"id": "lvl", "title": "L", "pillar": "foundations", "summary": "s"}


@pytest.mark.parametrize("extra, message", [
    ({"domains": ["linear-algebra", "astrology"]}, "domains has 'astrology'"),
    ({"papers": [{"title": "T", "arxiv": "not an id"}]}, "papers[0].arxiv must be an arXiv id"),
    ({"papers": [{"title": ""}]}, "papers[0].title must not be empty"),
    ({"papers": [{"title": "T", "doi": "x"}]}, "unknown keys: doi"),
])
def test_bad_domains_and_papers_are_refused_naming_the_key(tmp_path, extra, message):
    folder = tmp_path / "lvl"
    folder.mkdir()
    with pytest.raises(ManifestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_manifest({**BASE, **extra}, folder)


def test_a_challenges_repair_must_name_a_level_or_a_levels_claim(tmp_path):
    folder = tmp_path / "lvl"
    folder.mkdir()
    challenge = {"id": "c", "kind": "number", "question": "q", "measure": "m", "tolerance": 1.0}
    ok = parse_manifest({**BASE, "challenges": [{**challenge, "repair": "eos_canyon:hovers"}]}, folder)
    assert ok.challenges["c"].repair == "eos_canyon:hovers"
    with pytest.raises(ManifestError, match="repair must be a level id"):
        parse_manifest({**BASE, "challenges": [{**challenge, "repair": "Eos Canyon!"}]}, folder)
