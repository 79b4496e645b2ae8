"""Manifests: what is accepted, and the messages for what is not."""

from pathlib import Path

import pytest

from sandbox.manifest import ManifestError, ParamError, load_manifest, parse_manifest

BASE = {
    "id": "demo", "title": "Demo", "pillar": "foundations", "summary": "s",
    "params": {"lr": {"type": "float", "default": 0.1, "min": 0.0, "max": 1.0, "unit": "1/s"},
               "n": {"type": "int", "default": 3, "min": 1, "max": 9},
               "mode": {"type": "choice", "default": "a", "choices": ["a", "b"]},
               "on": {"type": "bool", "default": True}},
    "observables": {"loss": {"label": "loss"}},
    "challenges": [{"id": "c", "kind": "choice", "question": "q {lr}", "measure": "m", "choices": ["x", "y"],
                    "set": {"lr": 0.5}}],
}


def parse(**changes):
    data = {**BASE, **changes}
    return parse_manifest(data, Path("/somewhere/demo"))


def test_a_valid_manifest_parses_with_typed_defaults():
    m = parse()
    assert m.defaults() == {"lr": 0.1, "n": 3, "mode": "a", "on": True}
    assert m.challenges["c"].format_question(m.resolve_params({"lr": "0.25"})) == "q 0.25"


@pytest.mark.parametrize("changes, fragment", [
    ({"id": "Other"}, "lower-case"),
    ({"id": "other"}, "must match its folder"),
    ({"pillar": "astrology"}, "valid: foundations"),
    ({"params": {"lr": {"type": "float", "default": 2.0, "min": 0.0, "max": 1.0}}}, "default"),
    ({"params": {"lr": {"type": "float", "default": 0.5, "min": 1.0, "max": 0.0}}}, "must be below max"),
    ({"params": {"lr": {"type": "complex", "default": 0}}}, "valid types"),
    ({"params": {"lr": {"type": "float", "default": 0.5, "min": 0, "max": 1, "colour": 1}}}, "unknown keys"),
    ({"challenges": [{"id": "c", "kind": "choice", "question": "q", "measure": "m", "choices": ["x", "y"],
                      "answer": "x"}]}, "must not state its answer"),
    ({"challenges": [{"id": "c", "kind": "number", "question": "q", "measure": "m"}]}, "tolerance"),
    ({"challenges": [{"id": "c", "kind": "region", "question": "q", "measure": "m"}]}, "axis"),
    ({"challenges": [{"id": "c", "kind": "choice", "question": "q", "measure": "m", "choices": ["x", "y"],
                      "set": {"nope": 1}}]}, "no such parameter"),
])
def test_bad_manifests_are_rejected_with_the_key_at_fault(changes, fragment):
    with pytest.raises(ManifestError, match=fragment):
        parse(**changes)


@pytest.mark.parametrize("name, value, fragment", [
    ("lr", "2", r"\[0.0, 1.0\] 1/s"),
    ("lr", "abc", "expected a float"),
    ("n", "2.5", "expected an int"),
    ("mode", "c", "one of a, b"),
    ("on", "maybe", "true or false"),
    ("speed", "1", "valid parameters: lr, n, mode, on"),
])
def test_bad_parameter_values_name_the_valid_range(name, value, fragment):
    with pytest.raises(ParamError, match=fragment):
        parse().resolve_params({name: value})


def test_invalid_toml_is_reported_with_the_file(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "level.toml").write_text("id = 'demo\n")
    with pytest.raises(ManifestError, match="invalid TOML") as info:
        load_manifest(folder)
    assert "level.toml" in str(info.value)


def test_a_parameter_can_apply_only_in_some_modes():
    params = dict(BASE["params"])
    params["width"] = {"type": "int", "default": 8, "min": 1, "max": 64, "when": {"mode": "b"}}
    m = parse(params=params)
    assert not m.params["width"].applies(m.defaults())
    assert m.params["width"].applies({**m.defaults(), "mode": "b"})
    params["width"]["when"] = {"mode": "z"}
    with pytest.raises(ManifestError, match="one of a, b"):
        parse(params=params)


def test_a_challenge_title_defaults_to_its_id_in_words():
    m = parse()
    assert m.challenges["c"].title == "C"
    challenges = [{**BASE["challenges"][0], "id": "settle_or_bounce"},
                  {**BASE["challenges"][0], "id": "named", "title": "Settle or bounce?"}]
    m = parse(challenges=challenges)
    assert m.challenges["settle_or_bounce"].title == "Settle or bounce"
    assert m.challenges["named"].title == "Settle or bounce?"
    for bad in ("", "two\nlines", 3, "x" * 81):
        with pytest.raises(ManifestError, match="title must be"):
            parse(challenges=[{**BASE["challenges"][0], "title": bad}])


def test_an_observable_declares_how_its_value_is_shown():
    assert parse().observables["loss"].format == "number"
    m = parse(observables={"diverged": {"format": "bool"}, "memory": {"format": "bytes"}})
    assert (m.observables["diverged"].format, m.observables["memory"].format) == ("bool", "bytes")
    with pytest.raises(ManifestError, match="valid formats: number, int, bool, bytes, percent"):
        parse(observables={"loss": {"format": "yesno"}})
    with pytest.raises(ManifestError, match="scalar observables only"):
        parse(observables={"cloud": {"kind": "array", "format": "int"}})
