"""Hostile and edge-of-range command lines, generated from seeds: every command and option gets
values that are empty, huge, negative, not numbers, at and just past the ends of their range,
folders for files and files for folders. Each must exit 0 (or 2 with one line naming the
mistake), never with a traceback.

The command-line layer runs for real (parsing, checks, the level registry, models for a few
steps, challenges that take one step); what would take seconds per case (rendering frames,
benchmarks, validating in a child process, opening a window) is replaced by stand-ins that check
the values they are handed are in range.
"""

from __future__ import annotations

import json
import math
import random

import pytest

from sandbox import cli
from sandbox.registry import Registry

CASES = 400

GENERIC = ["", " ", "-", "--", "-1", "0", "1", "-0", "00", "+1", "1.5", "-1.5", "1e3", "-1e-3", "1e309", "-1e309",
           "nan", "NaN", "inf", "-inf", "9" * 30, "-" + "9" * 30, "0x10", "1_000", "１２", "½", "\u200b1", "1 2", "a",
           "None", "true", "[]", "'1'", "\\", "../../x", "/", ".", "\t", "é" * 200, "x" * 5000, "=", "a=b=c", "%s",
           "{0}", "{lr.__class__}", "$(echo hi)", "\x7f", "\udcff", "--json", "-h"]


@pytest.fixture(scope="module")
def registry():
    return Registry([])  # the built-in levels, found once for every case


class FakeApp:
    """Stands in for the app: checks what the command line hands it."""

    def __init__(self, size=(1280, 720), headless=False, level=None, levels_dirs=(), backend=None, params=None,
                 seed=0, fullscreen=False, ui_scale=1.0, idle_reset_s=None, progress=None, **_):
        w, h = size
        assert isinstance(w, int) and isinstance(h, int) and 64 <= w <= 8192 and 64 <= h <= 8192
        assert isinstance(seed, int) and 0 <= seed <= cli.MAX_SEED
        assert math.isfinite(ui_scale) and cli.UI_SCALES[0] <= ui_scale <= cli.UI_SCALES[1]
        assert idle_reset_s is None or (math.isfinite(idle_reset_s) and idle_reset_s > 0)
        assert params is None or isinstance(params, dict)
        self.host = None

    def shutdown(self):
        pass

    def run(self):
        pass


@pytest.fixture
def stand_ins(monkeypatch, registry, tmp_path):
    import sandbox.app
    import sandbox.bench
    import sandbox.gfx.context
    import sandbox.goldens
    import sandbox.runner
    import sandbox.shots
    import sandbox.validate

    monkeypatch.setattr(cli, "_registry", lambda args: registry)
    monkeypatch.setattr(sandbox.app, "App", FakeApp)
    monkeypatch.setattr(sandbox.gfx.context, "display_reason", lambda: "no display here (test)")

    def render_shot(app, out, frames, tab="play"):
        assert out.parent.is_dir() and out.suffix.lower() == ".png" and not out.is_dir()
        assert isinstance(frames, int) and 1 <= frames <= cli.MAX_FRAMES

    def bench_level(entry, args, params):
        assert isinstance(args.frames, int) and 1 <= args.frames <= cli.MAX_FRAMES
        return {"level": entry.id, "frames": args.frames, "frame_median_ms": 1.0}

    def memory_level(entry, args, params):
        assert isinstance(args.cycles, int) and 0 <= args.cycles <= cli.MAX_FRAMES
        assert isinstance(args.steps, int) and 0 <= args.steps <= cli.MAX_STEPS
        return {"level": entry.id, "cycles": args.cycles, "steps": args.steps}

    def validate_level(folder, frames=120, backend=None):
        assert folder.is_dir() and 1 <= frames <= cli.MAX_FRAMES
        return []

    step = sandbox.runner.Runner.step
    monkeypatch.setattr(sandbox.shots, "render_shot", render_shot)
    monkeypatch.setattr(sandbox.bench, "bench_level", bench_level)
    monkeypatch.setattr(sandbox.bench, "memory_level", memory_level)
    monkeypatch.setattr(sandbox.validate, "validate_level", validate_level)
    monkeypatch.setattr(sandbox.goldens, "render", lambda shot, out, registry=None, progress=None: None)
    monkeypatch.setattr(sandbox.goldens, "compare", lambda actual, expected, diff_out=None: 0.0)
    monkeypatch.setattr(sandbox.runner.Runner, "step", lambda self, n=1: step(self, min(n, 3)))
    return tmp_path


LEVELS = ["eos_canyon", "discretization_lab", "associativity_switch"]  # models cheap to build at any setting
CHALLENGES = {"eos_canyon": ["settle_or_bounce"], "discretization_lab": ["euler_limit", "bilinear_unstable"],
              "associativity_switch": ["memory_matrix"]}


@pytest.fixture(scope="module")
def settings(registry) -> dict[str, list[str]]:
    """Per level, ``--set`` values a person may give: each parameter's default, both ends of its
    range and each of its choices (the ends are where a level is most likely to break)."""
    pools = {}
    for level in LEVELS:
        values = []
        for p in registry.get(level).manifest.params.values():
            if p.choices:
                values += [f"{p.name}={c}" for c in p.choices]
            elif p.type == "bool":
                values += [f"{p.name}=true", f"{p.name}=false"]
            else:
                values += [f"{p.name}={v}" for v in (p.default, p.min, p.max) if v is not None]
        pools[level] = values
    return pools


def _pools(tmp):
    """Per option: values that are right (``valid``), and the ends of each range with values just
    past them (``edge``); the generic values are tried on every option."""
    (tmp / "a_file.txt").write_text("not a folder")
    (tmp / "folder").mkdir(exist_ok=True)
    valid = {
        "--frames": ["1", "120", str(cli.MAX_FRAMES)],
        "--cycles": ["0", "1", "100", str(cli.MAX_FRAMES)],
        "--steps": ["0", "1", "5", str(cli.MAX_STEPS)],
        "--seed": ["0", "7", str(cli.MAX_SEED)],
        "--confidence": ["0.5", "0.7", "1", "1.0"],
        "--history": ["none", "full", "1", "2", "10000000"],
        "--size": ["64x64", "8192x8192", "1280X720", "640x400"],
        "--out": [str(tmp / "shot.png"), str(tmp / "SHOT.PNG")],
        "--tab": ["play", "challenges", "math", "code", "about"],
        "--backend": ["numpy"],
        "--levels-dir": [str(tmp / "folder")],
        "--ui-scale": ["0.5", "3", "1", "1.25"],
        "--kiosk": ["1", "86400", "0.001"],
        "dir": [str(tmp / "folder")],
        "--dir": [str(tmp / "folder"), str(tmp)],
        "id": ["fresh_level", "another_one"],
    }
    edge = {
        "--frames": [str(cli.MAX_FRAMES + 1), "0", "-5"],
        "--cycles": [str(cli.MAX_FRAMES + 1), "-1", "1.5"],
        "--steps": [str(cli.MAX_STEPS + 1), "-1", "2" * 20],
        "--seed": [str(cli.MAX_SEED + 1), "-1", "2" * 25],
        "--confidence": ["0", "0.49999", "1.0000001", "-0.5", "1e-300"],
        "--history": ["0", "10000001", "-3", "Full"],
        "--size": ["63x64", "0x0", "-1x5", "1280x", "x", "1280x720x3", "9e9x9e9", "8193x64"],
        "--set": ["lr=", "=1", "lr", "nope=1", "lr=1e309", "mode=nope", "lr==1", "depth=nan", "lr=0x1", "method=",
                  "dt=-0", "dt=1e-320", "mode=Network"],
        "--out": [str(tmp), str(tmp / "missing" / "shot.png"), str(tmp / "shot.jpg"), str(tmp / "shot.png") + "/",
                  str(tmp / "folder"), str(tmp / "a_file.txt"), str(tmp / ".png")],
        "--tab": ["Play", "nope"],
        "--backend": ["numba", "glsl", "cuda", "NUMPY"],
        "--levels-dir": [str(tmp / "missing"), str(tmp / "a_file.txt")],
        "--ui-scale": ["0.49", "3.01", "0"],
        "--kiosk": ["0", "86401", "-1"],
        "--answer": ["bounces", "Bounces", "diverges", "-1e-3", "1e308", "-0", "1,2", "2,1", "-1,-0.5", "1,", ",",
                     "nan,1", "1,2,3", "-1e-3,-1e-4", "1e308,1e309"],
        "level": ["nope", "EOS_CANYON", "../levels/eos_canyon", "atlas", "eos_canyon/"],
        "challenge": ["nope", "crossover", "Settle_or_bounce"],
        "dir": [str(tmp / "missing"), str(tmp / "a_file.txt")],
        "--dir": [str(tmp / "missing"), str(tmp / "a_file.txt"), str(tmp / "missing" / "deeper")],
        "id": ["Bad", "1abc", "class", "__init__", "x/y", "a" * 300, "eos_canyon"],
    }
    return valid, edge


# each command: its positional slots, the options it takes, and its flags
COMMANDS = {
    "list": ([], [], ["--json"]),
    "run": (["level"], ["--set", "--steps", "--seed", "--history", "--backend"], ["--json"]),
    "challenge": (["level", "challenge", "--answer"], ["--confidence", "--backend"], ["--json"]),
    "shot": (["level"], ["--out", "--frames", "--size", "--seed", "--set", "--tab", "--backend"], []),
    "bench": (["level"], ["--frames", "--size", "--set", "--backend", "--cycles", "--steps"], ["--json", "--memory"]),
    "validate": (["dir"], ["--frames", "--backend"], []),
    "new-level": (["id"], ["--dir"], []),
    "goldens": (["level"], [], []),
    "play": (["level"], ["--set", "--seed", "--size"], []),
}
GLOBAL = ["--levels-dir", "--ui-scale", "--kiosk"]
ALWAYS = {"--out", "--backend"}  # --backend numpy: no case waits for a JIT or a GL context


def _case(seed: int, tmp, registry, settings: dict[str, list[str]]) -> list[str]:
    """One command line: valid values everywhere but in zero, one or two slots."""
    rng = random.Random(seed)
    valid, edge = _pools(tmp)
    command = rng.choice(sorted(COMMANDS))
    positional, options, flags = COMMANDS[command]
    slots = positional + [o for o in options if o in ALWAYS or rng.random() < 0.5]
    slots += [o for o in GLOBAL if rng.random() < 0.15]
    hostile = set(rng.sample(slots, min(len(slots), rng.choice([0, 1, 1, 1, 2])))) if slots else set()
    level = rng.choice(LEVELS)
    challenge = registry.get(level).manifest.challenges[rng.choice(CHALLENGES[level])]
    answers = {"choice": list(challenge.choices), "number": ["0.1", "-1e-3", "12", "0", "-7"],
               "region": ["1,2", "-1,-0.5"]}[challenge.kind]

    def value(slot: str) -> str:
        if slot in hostile:
            return rng.choice(edge.get(slot, []) + GENERIC if rng.random() < 0.3 else edge.get(slot) or GENERIC)
        return {"level": level, "challenge": challenge.id}.get(slot) or rng.choice(
            answers if slot == "--answer" else settings[level] if slot == "--set" else valid[slot])

    argv = []
    for slot in slots:
        if slot in GLOBAL:
            argv += [slot, value(slot)]
    argv.append(command)
    for slot in slots:
        if slot in GLOBAL:
            continue
        if slot.startswith("--"):
            argv += [slot, value(slot)] if rng.random() < 0.8 else [f"{slot}={value(slot)}"]
        else:
            argv.append(value(slot))
    argv += [f for f in flags if rng.random() < 0.5]
    return argv


@pytest.mark.parametrize("seed", range(CASES))
def test_a_hostile_command_line_exits_0_or_2_with_one_line(seed, stand_ins, registry, settings, capsys, monkeypatch):
    monkeypatch.chdir(stand_ins)
    argv = _case(seed, stand_ins, registry, settings)
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, argv
    lines = err.strip().splitlines()
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("continuous-function"), (argv, err)
    elif code == 1:  # only a window that cannot open here, said in one line
        assert argv[argv.index("play") if "play" in argv else 0] == "play" and len(lines) == 1, (argv, err)
        assert "cannot open a window" in lines[0]
    else:
        assert code == 0, (argv, code, err)
        if "--json" in argv and not {"list", "-h"} & set(argv) and out.strip():
            json.loads(out)


def test_the_cases_reach_every_command_and_both_outcomes(stand_ins, registry, settings, capsys, monkeypatch):
    """The generator is worth its cases: every command is tried, and both accepted and refused
    command lines come out of it."""
    monkeypatch.chdir(stand_ins)
    commands, codes = set(), set()
    for seed in range(0, CASES, 4):
        argv = _case(seed, stand_ins, registry, settings)
        commands |= set(COMMANDS) & set(argv)
        codes.add(cli.main(argv))
        capsys.readouterr()
    assert commands == set(COMMANDS)
    assert {0, 2} <= codes


def test_every_parameter_at_both_ends_of_its_range_runs(stand_ins, registry, settings, capsys):
    """``run`` at each parameter's default, minimum, maximum and every choice, for the levels the
    cases use: a value the manifest accepts must give a run, not a model that fails."""
    failed = []
    for level, values in settings.items():
        for setting in values:
            code = cli.main(["run", level, "--set", setting, "--steps", "3", "--backend", "numpy", "--json",
                             "--history", "2"])
            out, err = capsys.readouterr()
            if code != 0 or json.loads(out)["error"] is not None:
                failed.append(f"{level} {setting}: {err.strip() or json.loads(out)['error'].splitlines()[-1]}")
    assert not failed, failed
