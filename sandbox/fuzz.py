"""Seeded hostile input: random events for a running level, and mutated manifests.

:func:`fuzz_frames` drives a level with mouse, wheel, keys and parameter changes, one event a
frame; ``continuous-function validate`` and the test suite use it: a level must survive it with
no GL error, no exception and a state that is finite (or honestly reported as diverged).

:func:`mutate_manifest` turns a good ``level.toml`` into a hostile one (a key deleted, a value
of the wrong type or out of range, an unknown key, a bad question template, bytes that are not
UTF-8, arrays nested hundreds deep, broken TOML): reading it must give a manifest or a one-line
error, and the listing must keep every other level.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def _keys():
    from imgui_bundle import imgui  # only the frame fuzzer needs ImGui

    return [imgui.Key.space, imgui.Key.n, imgui.Key.r, imgui.Key.left_arrow, imgui.Key.right_arrow,
            imgui.Key.up_arrow, imgui.Key.w, imgui.Key.q, imgui.Key.e, imgui.Key.equal, imgui.Key.minus]


def random_value(param, rng: np.random.Generator):
    """A random valid value of a manifest parameter (log-uniform on log sliders)."""
    if param.type == "bool":
        return bool(rng.integers(2))
    if param.type == "choice":
        return param.choices[int(rng.integers(len(param.choices)))]
    if param.log:
        value = math.exp(rng.uniform(math.log(param.min), math.log(param.max)))
    else:
        value = rng.uniform(param.min, param.max)
    if param.type == "int":
        return int(min(max(round(value), param.min), param.max))
    return float(value)


def fuzz_frames(app, frames: int, seed: int = 0, param_every: int = 40) -> list[str]:
    """Drive ``app`` (a headless App with a level open) for ``frames`` frames of random input.

    Returns problems found: GL errors, level errors, non-finite state that was not reported.
    """
    rng = np.random.default_rng(seed)
    keys = _keys()
    problems: list[str] = []
    x0, y0, w, h = app.layout()["scene"]
    button_down = False
    for i in range(frames):
        host = app.host
        if host is None or host.runner is None:
            problems.append(f"frame {i}: the level closed or failed to open: {host.error if host else ''}")
            break
        r = rng.random()
        if r < 0.35:
            app.inject("mouse_pos", x0 + rng.random() * w, y0 + rng.random() * h)
        elif r < 0.5:
            button_down = not button_down
            app.inject("mouse_button", int(rng.integers(2)), button_down)
        elif r < 0.6:
            app.inject("wheel", float(rng.normal()))
        elif r < 0.7:
            key = keys[int(rng.integers(len(keys)))]
            app.inject("key", key, True)
            app.inject("key", key, False)
        if param_every and i % param_every == param_every - 1 and host.manifest.params:
            name = list(host.manifest.params)[int(rng.integers(len(host.manifest.params)))]
            host.runner.set_param(name, random_value(host.manifest.params[name], rng))
        if host.paused and rng.random() < 0.2:
            host.paused = False
        app.frame(1 / 60)
        error = app.ctx.error
        if error != "GL_NO_ERROR":
            problems.append(f"frame {i}: {error}")
        if app.host is not None and app.host.error:
            problems.append(f"frame {i}: the level failed:\n{app.host.error}")
            break
        run = app.host.runner if app.host else None
        if run is not None and run.error:
            problems.append(f"frame {i}: step failed:\n{run.error}")
            break
        if run is not None and not run.diverged:
            for name, array in run.model.state().items():
                if not np.all(np.isfinite(array)):
                    problems.append(f"frame {i}: state {name!r} is not finite but the run is not marked diverged")
                    break
        if run is not None and run.diverged:
            run.reset()
    return problems


# -- hostile manifests ----------------------------------------------------------------------------

def _toml_string(text: str) -> str:
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, _Nested):
        return "[" * value.depth + "]" * value.depth
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_string(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dump_toml(data: dict) -> str:
    """``data`` as TOML, every top-level key on one line with inline tables and arrays (valid
    TOML for anything :mod:`tomllib` reads, NaN and infinities included)."""
    return "".join(f"{_toml_string(k)} = {_toml_value(v)}\n" for k, v in data.items())


class _Nested:
    """Empty arrays nested ``depth`` deep, written without recursion (deeper than Python's limit)."""

    def __init__(self, depth: int):
        self.depth = depth


#: Values of every TOML type and of the edges of every range: each is wrong for some key.
HOSTILE_VALUES: list[Any] = [
    "", "no", "yes", "true", "x" * 5000, "not an identifier!", "line\nbreak", "{lr.__class__}", "{0}", "{x[0]}",
    "caf\u00e9 \u0000", 0, 1, -1, 2**31, -(2**31) - 1, 10**12, 10**30, -(10**300), 0.0, -0.0, 1e-320, 1e39,
    -1e39, 1e308, float("nan"), float("inf"), float("-inf"), True, False, [], [1, 2], ["a", "b"], [[1], [2]],
    [1, "a"], {}, {"a": 1}, {"lr": "nan"},
]
HOSTILE_TEMPLATES = ["{lr.__class__}", "{lr.__class__.__init__.__globals__}", "{x[0]}", "{0}", "{}", "{lr!r}",
                     "{lr:{lr}}", "{lr:99999999}", "{lr:.99999f}", "unbalanced { brace", "closing } brace",
                     "{no_such_param}", "{mode:.3f}", "{lr:%Y}"]
MUTATIONS = ("delete", "replace", "unknown_key", "question", "nested", "non_utf8_comment", "non_utf8_string",
             "truncate", "duplicate_line", "flip_byte", "huge_int", "nan_bounds")


def _slots(value: Any, path: tuple = ()) -> list[tuple]:
    """Every (container path, key) in a parsed manifest, tables and arrays alike."""
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((path, k))
            out += _slots(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append((path, i))
            out += _slots(v, (*path, i))
    return out


def _container(data: Any, path: tuple) -> Any:
    for key in path:
        data = data[key]
    return data


def mutate_manifest(text: str, rng: np.random.Generator, kind: str | None = None) -> tuple[bytes, str]:
    """A hostile variant of the manifest ``text``: ``(bytes of the new level.toml, what was done)``.

    ``kind`` is one of :data:`MUTATIONS` (default: one at random)."""
    kind = kind or MUTATIONS[int(rng.integers(len(MUTATIONS)))]

    def pick(seq):
        return seq[int(rng.integers(len(seq)))]

    raw = text.encode("utf-8")
    if kind in ("non_utf8_comment", "non_utf8_string", "truncate", "duplicate_line", "flip_byte"):
        lines = raw.split(b"\n")
        if kind == "non_utf8_comment":
            at = int(rng.integers(len(lines) + 1))
            lines.insert(at, b"# caf" + bytes([pick([0xE9, 0xFF, 0xC3, 0x80])]) + b" au lait")
            return b"\n".join(lines), f"a byte that is not UTF-8 in a comment at line {at + 1}"
        if kind == "non_utf8_string":
            quoted = [i for i, line in enumerate(lines) if b'"' in line]
            i = pick(quoted) if quoted else 0
            lines[i] = lines[i].replace(b'"', b'"\xff', 1)
            return b"\n".join(lines), f"a byte that is not UTF-8 in a string at line {i + 1}"
        if kind == "truncate":
            at = int(rng.integers(len(raw)))
            return raw[:at], f"cut at byte {at}"
        if kind == "duplicate_line":
            i = int(rng.integers(len(lines)))
            lines.insert(i, lines[i])
            return b"\n".join(lines), f"line {i + 1} twice"
        at = int(rng.integers(len(raw)))
        flipped = bytes([raw[at] ^ (1 << int(rng.integers(8)))])
        return raw[:at] + flipped + raw[at + 1:], f"a bit flipped at byte {at}"
    data = tomllib.loads(text)
    slots = _slots(data)
    if kind == "delete":
        path, key = pick(slots)
        del _container(data, path)[key]
        what = f"deleted {'.'.join(map(str, (*path, key)))}"
    elif kind in ("replace", "huge_int"):
        path, key = pick(slots)
        value = pick(HOSTILE_VALUES) if kind == "replace" else pick([10**19, 10**100, -(10**400), 2**63])
        _container(data, path)[key] = value
        what = f"{'.'.join(map(str, (*path, key)))} = {_toml_value(value)[:40]}"
    elif kind == "nested":
        path, key = pick(slots)
        depth = int(pick([100, 300, 500, 900, 2000]))
        _container(data, path)[key] = _Nested(depth)
        what = f"{'.'.join(map(str, (*path, key)))} = arrays nested {depth} deep"
    elif kind == "unknown_key":
        tables = [()] + [(*p, k) for p, k in slots if isinstance(_container(data, (*p, k)), dict)]
        path = pick(tables)
        name = pick(["colour", "tolerence", "hint", "lable", "minimum", "stepz", "a\nb", ""])
        _container(data, path)[name] = 1
        what = f"unknown key {name!r} in {'.'.join(map(str, path)) or 'the top level'}"
    elif kind == "question":
        challenges = data.get("challenges") or [{}]
        i = int(rng.integers(len(challenges)))
        challenges[i]["question"] = "Q " + pick(HOSTILE_TEMPLATES)
        data["challenges"] = challenges
        what = f"challenges[{i}].question = {challenges[i]['question']!r}"
    elif kind == "nan_bounds":
        params = [v for v in data.get("params", {}).values() if isinstance(v, dict) and "min" in v] or [data]
        param = pick(params)
        key = pick(["min", "max", "default"])
        param[key] = pick([float("nan"), float("inf"), float("-inf"), 1e39, 2**31, -(2**31) - 1])
        what = f"a parameter's {key} = {_toml_value(param[key])}"
    else:
        raise ValueError(f"unknown mutation {kind!r}; valid: {', '.join(MUTATIONS)}")
    return dump_toml(data).encode("utf-8"), what
