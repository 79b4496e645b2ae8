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
        with pytest.raises(ManifestError, match="title must (be|not be empty)"):
            parse(challenges=[{**BASE["challenges"][0], "title": bad}])


def test_an_observable_declares_how_its_value_is_shown():
    assert parse().observables["loss"].format == "number"
    m = parse(observables={"diverged": {"format": "bool"}, "memory": {"format": "bytes"}})
    assert (m.observables["diverged"].format, m.observables["memory"].format) == ("bool", "bytes")
    with pytest.raises(ManifestError, match="valid formats: number, int, bool, bytes, percent"):
        parse(observables={"loss": {"format": "yesno"}})
    with pytest.raises(ManifestError, match="scalar observables only"):
        parse(observables={"cloud": {"kind": "array", "format": "int"}})


CHALLENGE = BASE["challenges"][0]
NUMBER = {"id": "n", "kind": "number", "question": "q", "measure": "m", "tolerance": 0.1}
REGION = {"id": "r", "kind": "region", "question": "q", "measure": "m", "axis": [0.0, 1.0]}


def lr(**changes):
    return {"params": {**BASE["params"], "lr": {**BASE["params"]["lr"], **changes}}}


def n(**changes):
    return {"params": {**BASE["params"], "n": {**BASE["params"]["n"], **changes}}}


@pytest.mark.parametrize("changes, fragment", [
    # numbers the engine cannot hold
    (lr(min=float("nan")), r"params\.lr\.min must be a finite number, got nan"),
    (lr(max=float("inf")), r"params\.lr\.max must be a finite number, got inf"),
    (lr(min=-float("inf")), r"params\.lr\.min must be a finite number"),
    (lr(max=1e39), r"params\.lr\.max must be a number at least .* and at most 3\.40282e\+38"),
    (lr(min=-3e38, max=3e38), r"params\.lr\.max - min must fit in a float32"),
    (n(max=2**31), r"params\.n\.max must be an integer from -2147483647 to 2147483647, got 2147483648"),
    (n(min=-10**30), r"params\.n\.min must be an integer .* got an integer of 31 digits"),
    (n(max=10**300), r"params\.n\.max must be an integer .* got an integer of 301 digits"),
    (n(max=9.0), r"params\.n\.max must be an integer"),
    ({"steps_per_second": float("nan")}, r"steps_per_second must be a finite number, got nan"),
    ({"steps_per_second": 0}, r"steps_per_second must be a number above 0"),
    ({"steps_per_second": -5}, r"steps_per_second must be a number above 0"),
    ({"steps_per_second": "fast"}, r"steps_per_second must be a number, got 'fast'"),
    ({"challenges": [{**NUMBER, "tolerance": float("nan")}]}, r"challenges\.n\.tolerance must be a finite number"),
    ({"challenges": [{**NUMBER, "tolerance": float("inf")}]}, r"challenges\.n\.tolerance must be a finite number"),
    ({"challenges": [{**NUMBER, "tolerance": -0.1}]}, r"challenges\.n\.tolerance must be a number above 0"),
    ({"challenges": [{**NUMBER, "tolerance": "0.1"}]}, r"challenges\.n\.tolerance must be a number, got '0\.1'"),
    ({"challenges": [{**REGION, "tolerance": float("nan")}]}, r"challenges\.r\.tolerance must be a finite number"),
    ({"challenges": [{**NUMBER, "steps": 10**12}]}, r"challenges\.n\.steps must be an integer from 1 to 10000000"),
    ({"challenges": [{**NUMBER, "steps": 0}]}, r"challenges\.n\.steps must be an integer from 1"),
    # a bool is a bool, a string is a string
    ({"challenges": [{**NUMBER, "relative": "no"}]}, r"challenges\.n\.relative must be true or false, got 'no'"),
    ({"challenges": [{**NUMBER, "relative": 1}]}, r"challenges\.n\.relative must be true or false, got 1"),
    ({"challenges": [{**NUMBER, "seed": "7"}]}, r"challenges\.n\.seed must be an integer .* got '7'"),
    ({"challenges": [{**NUMBER, "seed": 1.5}]}, r"challenges\.n\.seed must be an integer"),
    ({"challenges": [{**NUMBER, "seed": -1}]}, r"challenges\.n\.seed must be an integer from 0"),
    ({"challenges": [{**REGION, "axis": "0,1"}]}, r"challenges\.r\.axis must be \[low, high\]"),
    ({"challenges": [{**REGION, "axis": [0, float("nan")]}]}, r"challenges\.r\.axis must be \[low, high\]"),
    ({"challenges": [{**REGION, "axis": [[0], [1]]}]}, r"challenges\.r\.axis must be \[low, high\]"),
    ({"challenges": [{**CHALLENGE, "choices": "x, y"}]}, r"challenges\.c\.choices must be an array of strings, got 'x, y'"),
    ({"challenges": [{**CHALLENGE, "choices": [1, 2]}]}, r"challenges\.c\.choices must be an array of strings"),
    (lr(label=["a"]), r"params\.lr\.label must be a string, got an array"),
    (lr(log="yes"), r"params\.lr\.log must be true or false"),
    ({"params": {"mode": {"type": "choice", "default": "a", "choices": "a b"}}}, r"params\.mode\.choices must be"),
    ({"prerequisites": "eos_canyon"}, r"prerequisites must be a list of level ids"),
    ({"model": "../../elsewhere:Model"}, r"model must look like 'module:Class'"),
    # unknown keys, named with the valid ones
    ({"colour": "red"}, r"top-level unknown keys: colour; valid keys: id, title"),
    ({"challenges": [{**NUMBER, "tolerence": 0.1}]}, r"challenges\.n has unknown keys: tolerence; valid keys: id, "),
    ({"challenges": [{**CHALLENGE, "hint": {"x": "?"}}]}, r"challenges\.c has unknown keys: hint"),
    ({"observables": {"loss": {"lable": "loss"}}}, r"observables\.loss has unknown keys: lable; valid keys: label"),
    ({"challenges": [{**CHALLENGE, "hints": {"z": "?"}}]}, r"challenges\.c\.hints\.z: no such mistake; valid: x, y"),
    ({"challenges": [{**CHALLENGE, "tolerance": 0.1}]}, r"challenges\.c\.tolerance applies to number and region"),
    ({"challenges": [{**NUMBER, "relative": True, "axis": [0, 1]}]}, r"challenges\.n\.axis applies to region"),
    ({"params": {"on": {"type": "bool", "default": True, "min": 0}}}, r"params\.on\.min applies to float and int"),
    # question templates: plain lookups of parameters only
    ({"challenges": [{**CHALLENGE, "question": "{lr.__class__}"}]}, r"question has a bad placeholder"),
    ({"challenges": [{**CHALLENGE, "question": "{lr[0]}"}]}, r"question has a bad placeholder"),
    ({"challenges": [{**CHALLENGE, "question": "{lr!r}"}]}, r"conversions are not allowed"),
    ({"challenges": [{**CHALLENGE, "question": "{}"}]}, r"question has a bad placeholder"),
    ({"challenges": [{**CHALLENGE, "question": "{lr:{n}}"}]}, r"is not a valid format"),
    ({"challenges": [{**CHALLENGE, "question": "{lr:999999999}"}]}, r"width and precision are at most 64"),
    ({"challenges": [{**CHALLENGE, "question": "{speed}"}]}, r"placeholder \{speed\} that is no parameter"),
    ({"challenges": [{**CHALLENGE, "question": "{mode:.3f}"}]}, r"question cannot be filled in"),
    ({"challenges": [{**CHALLENGE, "question": "a } b"}]}, r"question has a bad placeholder"),
])
def test_every_value_is_type_checked_and_named(changes, fragment):
    with pytest.raises(ManifestError, match=fragment) as info:
        parse(**changes)
    assert "\n" not in str(info.value) and str(info.value).startswith("/somewhere/demo/level.toml: ")


def test_questions_take_plain_lookups_and_format_specs():
    question = "lr {lr:.2f}, n {n:>3}, {mode} {{literal}}"
    m = parse(challenges=[{**CHALLENGE, "question": question}])
    challenge = m.challenges["c"]
    assert challenge.format_question(m.resolve_params({"lr": 0.25})) == "lr 0.25, n   3, a {literal}"
    # a value that does not fit its spec at run time shows the question as written, never raises
    assert challenge.format_question({"lr": "text", "n": 3, "mode": "a"}) == question


def test_a_key_with_control_characters_gives_a_one_line_message():
    with pytest.raises(ManifestError) as info:
        parse(observables={"a\nb": {}})
    assert "\n" not in str(info.value) and "observables" in str(info.value)


@pytest.mark.parametrize("content, fragment", [
    (b"id = 'demo' # caf\xe9\n", r"not UTF-8 text: byte 0xe9 at line 1, column 18"),
    (b"id = 'demo'\nx = " + b"[" * 5000 + b"]" * 5000 + b"\n", r"invalid TOML: .*nested too deeply"),
    (b"id = 'demo'\nx = " + b"9" * 5000 + b"\n", r"invalid TOML"),
    (b"id = 'demo'\n" + b"#" * (1 << 21), r"a manifest is at most"),
])
def test_unreadable_files_give_a_manifest_error(tmp_path, content, fragment):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "level.toml").write_bytes(content)
    with pytest.raises(ManifestError, match=fragment) as info:
        load_manifest(folder)
    assert "\n" not in str(info.value)


def test_a_manifest_that_is_not_a_regular_file_or_links_outside_is_refused(tmp_path):
    import os

    folder = tmp_path / "demo"
    folder.mkdir()
    os.mkfifo(folder / "level.toml")  # opening it would wait for a writer forever
    with pytest.raises(ManifestError, match="not a regular file"):
        load_manifest(folder)
    (folder / "level.toml").unlink()
    (tmp_path / "elsewhere.toml").write_text("id = 'demo'\n")
    (folder / "level.toml").symlink_to(tmp_path / "elsewhere.toml")
    with pytest.raises(ManifestError, match="links outside its level folder"):
        load_manifest(folder)


def test_an_observable_readout_can_depend_on_the_parameters(tmp_path):
    from sandbox.manifest import ManifestError, parse_manifest

    folder = tmp_path / "lvl"
    folder.mkdir()
    data = {"id": "lvl", "title": "L", "pillar": "foundations", "summary": "s",
            "params": {"mode": {"type": "choice", "choices": ["a", "b"], "default": "a"}},
            "observables": {"x": {"when": {"mode": "b"}}, "y": {}}}
    manifest = parse_manifest(data, folder)
    assert not manifest.observables["x"].applies({"mode": "a"}) and manifest.observables["x"].applies({"mode": "b"})
    assert manifest.observables["y"].applies({"mode": "a"})
    data["observables"]["x"]["when"] = {"mode": "c"}
    with pytest.raises(ManifestError, match="observables.x.when"):
        parse_manifest(data, folder)
