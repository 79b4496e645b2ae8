"""Claims as data: parsed strictly, checked across their range, every shipped claim a test."""

import pytest

from sandbox import claims, scaffold
from sandbox.manifest import ManifestError, load_manifest
from sandbox.registry import Registry

BUILTIN = Registry()
SHIPPED = [(entry.id, claim_id) for entry in BUILTIN.entries.values() for claim_id in entry.manifest.claims]


@pytest.fixture
def demo(tmp_path):
    scaffold.new_level("claims_demo", tmp_path)
    return tmp_path / "claims_demo"


@pytest.mark.parametrize(("level", "claim"), SHIPPED or [pytest.param(None, None, marks=pytest.mark.skip("none yet"))])
def test_every_shipped_claim_holds_across_its_range(level, claim):
    entry = BUILTIN.get(level)
    result = claims.check(entry, entry.manifest.claims[claim])
    failures = [f"{p.point}: {p.error}" for p in result.points if not p.passed]
    assert result.passed, result.error or "\n".join(failures)


def test_a_claim_is_checked_at_every_point_of_its_range(demo):
    entry = Registry(extra_dirs=[demo.parent]).get("claims_demo")
    claim = entry.manifest.claims["stable_below_two"]
    assert len(claims.points(claim)) == 6 and "curvature ∈ {2, 3, 4}" in claims.describe_range(claim)
    result = claims.check(entry, claim)
    assert result.passed and len(result.points) == 6
    assert {p.measured["eta * a"] for p in result.points} == {1.8, 2.2}


def test_a_claim_that_is_false_somewhere_fails_there(demo):
    text = (demo / "level.toml").read_text().replace("margin = [0.9, 1.1]", "margin = [0.9, 1.1, 0.99, 1.01]")
    (demo / "claims.py").write_text((demo / "claims.py").read_text().replace("run.step(200)", "run.step(5)"))
    (demo / "level.toml").write_text(text)
    entry = Registry(extra_dirs=[demo.parent]).get("claims_demo")
    result = claims.check(entry, entry.manifest.claims["stable_below_two"])
    assert not result.passed
    failed = [p.point for p in result.points if not p.passed]
    assert failed and all(p["margin"] in (0.9, 0.99) for p in failed), "5 steps are too few to converge"


def test_a_claim_without_its_check_function_cannot_pass(demo):
    (demo / "claims.py").write_text("")
    entry = Registry(extra_dirs=[demo.parent]).get("claims_demo")
    result = claims.check(entry, entry.manifest.claims["stable_below_two"])
    assert not result.passed and "check_stable_below_two" in result.error


def test_the_check_runs_in_a_child_process_and_reports_json(demo):
    child = claims.check_in_child(demo).wait()
    manifest = load_manifest(demo)
    (result,) = claims.results_from(child, list(manifest.claims.values()))
    assert child.code == 0 and result.passed and len(result.points) == 6


def test_a_check_that_runs_past_its_limit_fails_with_the_reason(demo):
    (demo / "claims.py").write_text("def check_stable_below_two(**point):\n    while True:\n        pass\n")
    manifest = load_manifest(demo)
    child = claims.check_in_child(demo, time_limit=2.0).wait()
    (result,) = claims.results_from(child, list(manifest.claims.values()))
    assert not result.passed and "time limit" in result.error


@pytest.mark.parametrize(("claim", "message"), [
    ({"statement": "x"}, r"missing required key claims\[0\]\.id"),
    ({"id": "a", "statement": ""}, "must not be empty"),
    ({"id": "a", "statement": "x", "over": {"lr": []}}, "non-empty array"),
    ({"id": "a", "statement": "x", "over": {"lr": [float("nan")]}}, "finite"),
    ({"id": "a", "statement": "x", "over": {"a": list(range(9)), "b": list(range(9))}}, "at most 64"),
    ({"id": "a", "statement": "x", "chek": "f"}, "unknown keys: chek"),
    ({"id": "a", "statement": "x", "check": "not a name"}, "must name a function"),
])
def test_claims_are_read_strictly(tmp_path, claim, message):
    from sandbox.manifest import parse_manifest

    folder = tmp_path / "lvl"
    folder.mkdir()
    data = {"id": "lvl", "title": "L", "pillar": "foundations", "summary": "s", "claims": [claim]}
    with pytest.raises(ManifestError, match=message):
        parse_manifest(data, folder)


def test_the_about_tab_lists_the_claims_and_checks_them(make_app, demo):
    app = make_app(level="claims_demo", registry=Registry(extra_dirs=[demo.parent]), backend="numpy")
    app.host.requested_tab = "About"
    app.run_frames(3)
    panel = app.host.claims
    assert panel is not None and not panel.results
    panel.check(app.host.manifest.claims.values())
    panel._child.wait()
    app.run_frames(2)
    assert panel.results["stable_below_two"].passed


def test_validate_fails_a_claim_without_its_check(demo):
    from sandbox.validate import validate_level

    assert not [p for p in validate_level(demo, frames=5) if "claim" in p]
    (demo / "claims.py").write_text('"""No checks."""\n')
    problems = validate_level(demo, frames=5)
    assert any("claim 'stable_below_two' has no check" in p for p in problems), problems
