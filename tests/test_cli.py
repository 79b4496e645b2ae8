"""The command line: output formats, and exit status 2 with the valid choices for mistakes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from sandbox.cli import main
from sandbox.testing import level, make_runner, measured_outcome


def cli(*args, capsys):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_json_names_every_level_with_its_folder(capsys):
    code, out, _ = cli("list", "--json", capsys=capsys)
    levels = {e["id"]: e for e in json.loads(out)}
    assert code == 0 and "eos_canyon" in levels
    assert levels["eos_canyon"]["folder"].endswith("eos_canyon") and levels["eos_canyon"]["error"] is None


def test_run_prints_one_json_object_with_params_steps_observables_and_histories(capsys):
    code, out, _ = cli("run", "eos_canyon", "--steps", "50", "--seed", "3", "--backend", "numpy", "--json",
                       capsys=capsys)
    result = json.loads(out)
    assert code == 0
    assert result["level"] == "eos_canyon" and result["steps"] == 50 and result["seed"] == 3
    assert set(result["observables"]) >= {"loss", "sharpness", "diverged"}
    assert len(result["history"]["loss"]) == 51  # the state at step 0, then one per step
    same = make_runner("eos_canyon", seed=3, backend="numpy")  # the same run, without the command line
    same.step(50)
    assert result["params"] == same.params and result["diverged"] is False and result["error"] is None
    for name, values in result["history"].items():
        np.testing.assert_allclose(values, same.series(name), rtol=1e-12, err_msg=name)
        assert result["observables"][name] == values[-1], name
    assert result["history"]["loss"][-1] < result["history"]["loss"][0]  # gradient descent descends


@pytest.mark.parametrize("args, fragment", [
    (["run", "no_such_level"], "levels found: "),
    (["run", "eos_canyon", "--set", "nope=1"], "valid parameters: "),
    (["run", "eos_canyon", "--set", "lr=-5"], "expected a float in"),
    (["run", "eos_canyon", "--set", "lr=fast"], "expected a float in"),
    (["run", "eos_canyon", "--set", "lr"], "NAME=VALUE"),
    (["challenge", "eos_canyon", "no_such_challenge", "--answer", "1"], "challenges: "),
    (["challenge", "eos_canyon", "settle_or_bounce", "--answer", "flies away"], "choose one of"),
])
def test_mistakes_exit_2_and_name_the_valid_choices(args, fragment, capsys):
    code, _, err = cli(*args, capsys=capsys)
    assert code == 2
    assert fragment in err


@pytest.fixture(scope="module")
def settle_or_bounce_truth():
    """What the simulation gives for eos_canyon's settle_or_bounce, measured without the command line."""
    return measured_outcome("eos_canyon", "settle_or_bounce", backend="numpy")


@pytest.mark.parametrize("answer", ["settles", "bounces", "diverges"])
def test_challenge_reports_the_measured_outcome_verdict_and_score(answer, settle_or_bounce_truth, capsys):
    code, out, _ = cli("challenge", "eos_canyon", "settle_or_bounce", "--answer", answer, "--confidence", "0.9",
                       "--backend", "numpy", "--json", capsys=capsys)
    result = json.loads(out)
    assert code == 0
    assert settle_or_bounce_truth == "bounces"  # the level's explanation: 2/eta = 66.7 < the floor's 80
    assert result["level"] == "eos_canyon" and result["challenge"] == "settle_or_bounce"
    assert result["prediction"] == answer and result["confidence"] == 0.9
    assert result["measured"] == settle_or_bounce_truth
    right = answer == settle_or_bounce_truth
    assert result["correct"] is right
    assert result["verdict"] == ("correct" if right else "wrong")
    assert type(result["score"]) is float and result["score"] == pytest.approx(99.0 if right else 19.0)  # Brier
    hints = level("eos_canyon").manifest.challenges["settle_or_bounce"].hints
    assert result["mistake"] == (None if right else answer)
    assert result["hint"] == ("" if right else hints[answer]) and (right or result["hint"])
    assert result["error"] is None  # a choice has no numeric error
    assert result["params"]["lr"] == 0.03 and result["params"]["depth"] == 80.0  # the challenge's settings
    assert result["steps"] == 1500


def test_without_a_display_the_atlas_says_so_in_one_line_and_exits():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-m", "sandbox"], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot open a window" in lines[0] and "shot LEVEL" in lines[0]


def test_new_level_scaffolds_a_level_that_validates(tmp_path, capsys):
    code, out, _ = cli("new-level", "my_first_level", "--dir", str(tmp_path), capsys=capsys)
    assert code == 0
    code, out, err = cli("validate", str(tmp_path / "my_first_level"), "--frames", "60", capsys=capsys)
    assert code == 0, out + err
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path / "my_first_level")], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:]


def test_new_level_refuses_a_bad_id(tmp_path, capsys):
    code, _, err = cli("new-level", "Bad-Id", "--dir", str(tmp_path), capsys=capsys)
    assert code == 2 and "lower-case Python identifier" in err


def test_validate_fails_with_a_clear_message_for_a_broken_level(tmp_path, capsys):
    cli("new-level", "broken", "--dir", str(tmp_path), capsys=capsys)
    model = tmp_path / "broken" / "model.py"
    model.write_text(model.read_text().replace("def step(self) -> None:", "def step(self) -> None:\n        raise ValueError('boom')"))
    code, out, _ = cli("validate", str(tmp_path / "broken"), "--frames", "20", capsys=capsys)
    assert code == 1
    assert "boom" in out


def test_shot_writes_a_png_of_the_level(tmp_path, capsys):
    from sandbox.image import load_png

    out = tmp_path / "shot.png"
    code, _, err = cli("shot", "eos_canyon", "--out", str(out), "--frames", "10", "--size", "640x400", capsys=capsys)
    assert code == 0, err
    pixels = load_png(out)
    assert pixels.shape == (400, 640, 3) and pixels.std() > 5  # not a blank frame


def test_list_shows_a_broken_level_with_its_error(tmp_path, capsys):
    cli("new-level", "half_done", "--dir", str(tmp_path), capsys=capsys)
    (tmp_path / "half_done" / "level.toml").write_text("id = 'half_done'\n")
    code, out, _ = cli("--levels-dir", str(tmp_path), "list", "--json", capsys=capsys)
    broken = [e for e in json.loads(out) if e["id"] == "half_done"]
    assert code == 0 and broken and "missing required key" in broken[0]["error"]


def _one_line_error(code, err):
    lines = err.strip().splitlines()
    return (code == 2 and len(lines) == 1 and lines[0].startswith("continuous-function") and "error: " in lines[0]
            and "Traceback" not in err)


def test_bench_with_no_frames_is_refused_in_one_line(capsys):
    code, _, err = cli("bench", "eos_canyon", "--frames", "0", capsys=capsys)
    assert _one_line_error(code, err) and "--frames" in err and "1..100000" in err


def test_shot_writes_only_a_png_into_a_folder_that_exists(tmp_path, capsys):
    code, _, err = cli("shot", "eos_canyon", "--out", str(tmp_path), capsys=capsys)
    assert _one_line_error(code, err) and "is a folder" in err
    missing = tmp_path / "not" / "here" / "shot.png"
    code, _, err = cli("shot", "eos_canyon", "--out", str(missing), capsys=capsys)
    assert _one_line_error(code, err) and "does not exist" in err
    assert not (tmp_path / "not").exists(), "no folder is created"
    code, _, err = cli("shot", "eos_canyon", "--out", str(tmp_path / "shot.jpg"), capsys=capsys)
    assert _one_line_error(code, err) and ".png" in err


def test_run_json_histories_none_full_or_spread_over_the_run(capsys):
    base = ["run", "eos_canyon", "--steps", "300", "--backend", "numpy", "--json"]
    full = json.loads(cli(*base, "--history", "full", capsys=capsys)[1])
    assert full["history_steps"] == list(range(301)) and len(full["history"]["loss"]) == 301
    none = json.loads(cli(*base, "--history", "none", capsys=capsys)[1])
    assert "history" not in none and "history_steps" not in none
    assert none["observables"] == full["observables"]
    some = json.loads(cli(*base, "--history", "7", capsys=capsys)[1])
    steps = some["history_steps"]
    assert len(steps) <= 7 and steps[0] == 0 and steps[-1] == 300 and steps == sorted(set(steps))
    assert max(np.diff(steps)) <= 2 * 300 / 6, "spread over the run, not bunched"
    for name, values in some["history"].items():
        assert values == [full["history"][name][s] for s in steps], name
    default = json.loads(cli(*base[:3], "3000", *base[4:], capsys=capsys)[1])
    assert len(default["history_steps"]) <= 1000 and default["history_steps"][-1] == 3000  # bounded by default


def test_a_negative_number_is_an_answer_not_an_option(capsys):
    code, out, err = cli("challenge", "discretization_lab", "euler_limit", "--answer", "-1e-3", "--backend", "numpy",
                         "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["prediction"] == -1e-3
    code, out, err = cli("run", "eos_canyon", "--steps", "1", "--seed", "-1", capsys=capsys)
    assert _one_line_error(code, err) and "--seed" in err  # a negative seed is refused, not taken for an option


@pytest.mark.parametrize("confidence, fragment", [("0", "not in [0.5, 1]"), ("0.49", "not in [0.5, 1]"),
                                                  ("1.01", "not in [0.5, 1]"), ("nan", "not in [0.5, 1]"),
                                                  ("sure", "not a number")])
def test_confidence_outside_a_coin_flip_to_certain_is_refused(confidence, fragment, capsys):
    code, _, err = cli("challenge", "eos_canyon", "settle_or_bounce", "--answer", "settles", "--confidence",
                       confidence, capsys=capsys)
    assert _one_line_error(code, err) and fragment in err


def test_argparse_mistakes_are_one_line_too(capsys):
    for args in (["run"], ["nope"], ["run", "eos_canyon", "--steps"], ["shot", "eos_canyon"],
                 ["run", "eos_canyon", "--steps", "1e3"]):
        code, _, err = cli(*args, capsys=capsys)
        assert _one_line_error(code, err), (args, err)
