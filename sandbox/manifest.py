"""Level manifests: the small declarative ``level.toml`` at the top of every level folder.

A manifest names the level, places it in the atlas, declares its typed parameters (with ranges,
defaults and units), its named observables and its prediction challenges. It never contains a
challenge's answer: answers are measured from the simulation by the model's ``measure_*``
methods (see :mod:`sandbox.challenges`).

Everything here is pure data and validation; nothing imports a level's code. Every value is
type-checked when the manifest is read, and every key of every table must be one the engine
knows (a typo is reported, not ignored): whatever the file holds, reading it either gives a
:class:`Manifest` or raises :class:`ManifestError` with a one-line message naming the file, the
table and the key.
"""

from __future__ import annotations

import math
import os
import re
import stat
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

MANIFEST_NAME = "level.toml"
MANIFEST_MAX_BYTES = 1 << 20  # a manifest is a page of text; anything bigger is not one

#: The atlas sections: the pillars of the blueprint (seed 000), the foundations (seed 002) and
#: the threads of seeds 001, 003 and 004. Order is the atlas order.
SECTIONS: dict[str, str] = {
    "foundations": "Foundations",
    "sequence": "I. Sequence modeling dynamics",
    "optimization": "II. Optimization thermodynamics",
    "generative": "III. Generative physics",
    "geometry": "IV. Geometry",
    "interpretability": "V. Mechanistic interpretability",
    "transformers": "Transformers as dynamical systems",
    "manifolds": "The manifold view",
    "serving": "From attention to serving",
}

#: The domains of the learning map (seed 004): the atlas groups levels by them and shows the ones
#: no level covers yet. A level names the domains it teaches, most central first.
DOMAINS: dict[str, str] = {
    "linear-algebra": "Linear algebra",
    "calculus": "Calculus",
    "optimization": "Optimization",
    "machine-learning": "Machine learning",
    "probability": "Probability",
    "information-theory": "Information theory",
    "transformers": "Transformers",
    "representations": "Representation geometry",
    "generative-models": "Generative models",
    "scaling": "Scaling",
    "alignment": "Alignment",
    "efficiency": "Efficient ML",
    "inference": "Serving and inference",
    "interpretability": "Interpretability",
    "dynamics": "Dynamical systems",
    "mlops": "ML operations",
}

PARAM_TYPES = ("float", "int", "bool", "choice")
CHALLENGE_KINDS = ("choice", "number", "region")

# Limits that keep a manifest's numbers inside what the engine can hold. Sliders are float32 and
# int32 in ImGui: a bound beyond them (or a range whose width is beyond them) turns into inf.
FLOAT32_MAX = 3.4028234663852886e38
INT32_MAX = 2**31 - 1
MAX_STEPS_PER_SECOND = 100_000
MAX_CHALLENGE_STEPS = 10**7  # a challenge run the learner waits for; more is a typo
MAX_SEED = 2**32 - 1
MAX_EVERY = 10**6
MAX_KEEP = 65_536  # array snapshots held in memory
MAX_FORMAT_WIDTH = 64  # width and precision in a question's {name:spec}


def _one_line(text: str, limit: int = 600) -> str:
    """``text`` on one line (control characters escaped) and at most ``limit`` characters."""
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: limit + 1])
    return out if len(out) <= limit else out[: limit - 1] + "…"


class ManifestError(ValueError):
    """A manifest that cannot be used, with the file and the key at fault (one line)."""

    def __init__(self, path: Path | str, message: str):
        self.path = Path(path)
        self.detail = _one_line(message)
        super().__init__(f"{_one_line(str(self.path), 300)}: {self.detail}")


class ParamError(ValueError):
    """A parameter value that is unknown, of the wrong type or out of range."""


def _kind_of(value: Any) -> str:
    """A TOML value's type in words."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time" if type(value).__module__ == "datetime" else type(value).__name__


def _show(value: Any) -> str:
    """A short, safe rendering of a value for a message: never a huge or deeply nested repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value.bit_length() <= 64:
            return str(value)
        if value.bit_length() <= 14_000:  # str() refuses more than 4300 digits
            return f"an integer of {len(str(abs(value)))} digits"
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value[:40] + ("…" if len(value) > 40 else ""))
    return _kind_of(value)


@dataclass(frozen=True)
class Param:
    """A typed, bounded parameter of a level."""

    name: str
    type: str
    default: Any
    label: str = ""
    unit: str = ""
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    log: bool = False  # a slider on a log scale
    resets: bool = False  # changing it restarts the simulation
    more: bool = False  # shown under "more settings" on the Play tab (the few that matter come first)
    when: tuple[tuple[str, tuple], ...] = ()  # shown only while these parameters have these values

    def applies(self, values: dict[str, Any]) -> bool:
        """Whether the parameter matters for these values of the others (its ``when`` holds)."""
        return all(values.get(name) in allowed for name, allowed in self.when)

    def describe_range(self) -> str:
        """The valid values in words, for error messages and help."""
        if self.type == "bool":
            return "true or false"
        if self.type == "choice":
            return "one of " + ", ".join(self.choices)
        unit = f" {self.unit}" if self.unit else ""
        return f"a{'n' if self.type == 'int' else ''} {self.type} in [{self.min}, {self.max}]{unit}"

    def coerce(self, value: Any) -> Any:
        """Return ``value`` as this parameter's type, or raise :class:`ParamError`.

        Strings (from the command line) are parsed; numbers are range-checked.
        """
        def bad() -> ParamError:
            return ParamError(f"parameter {self.name!r}: {_show(value)} is not valid; expected {self.describe_range()}")

        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
                return value.lower() in ("true", "1", "yes", "on")
            raise bad()
        if self.type == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            raise bad()
        try:
            if self.type == "int":
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                number = int(value) if not isinstance(value, str) else int(value.strip())
            else:
                if isinstance(value, bool):
                    raise ValueError
                number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise bad() from None
        if (isinstance(number, float) and not math.isfinite(number)) or (
            self.min is not None and number < self.min
        ) or (self.max is not None and number > self.max):
            raise bad()
        return number


OBSERVABLE_KINDS = ("scalar", "array")
#: How a scalar observable's value is shown: ``number`` (as it is), ``int`` (rounded), ``bool``
#: (yes / no), ``bytes`` (B / KB / MB / GB) or ``percent`` (a fraction shown as %).
OBSERVABLE_FORMATS = ("number", "int", "bool", "bytes", "percent")


@dataclass(frozen=True)
class Observable:
    """A named quantity the model reports every step.

    A ``scalar`` is recorded every step. An ``array`` (a vector, a point set, a matrix, an
    image) is recorded every ``every`` steps, and at most ``keep`` snapshots are kept: when the
    store is full every other snapshot goes and the spacing doubles, so memory stays bounded
    while the snapshots still span the whole run. ``color`` names a palette colour for plots.
    ``format`` says how a scalar is shown (one of :data:`OBSERVABLE_FORMATS`); ``when`` limits
    its readout to some parameter values, as for parameters.
    """

    name: str
    label: str = ""
    unit: str = ""
    help: str = ""
    kind: str = "scalar"
    every: int = 1
    keep: int = 256
    color: str = ""
    format: str = "number"
    when: tuple[tuple[str, tuple], ...] = ()  # shown in the readouts only while parameters have these values

    def applies(self, values: dict[str, Any]) -> bool:
        """Whether the readout means something for these parameter values (its ``when`` holds)."""
        return all(values.get(name) in allowed for name, allowed in self.when)


@dataclass(frozen=True)
class PlotSpec:
    """A plot of the strip at the bottom, declared in the manifest as ``[plots.<name>]``:
    ``series`` (scalar observables, one line each, against the step), ``y_log``, ``y_label``,
    and ``when`` (shown only while parameters have these values, as for parameters)."""

    name: str
    title: str
    series: tuple[str, ...]
    y_label: str = ""
    y_log: bool = False
    when: tuple[tuple[str, tuple], ...] = ()

    def applies(self, values: dict[str, Any]) -> bool:
        return all(values.get(name) in allowed for name, allowed in self.when)


def default_title(challenge_id: str) -> str:
    """A challenge's title when the manifest gives none: the id in words, first letter capitalised
    (``settle_or_bounce`` -> ``Settle or bounce``)."""
    words = challenge_id.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


CHALLENGE_TITLE_MAX = 80  # characters: a title is a short name for a list, not a question

# The format-spec mini-language of str.format, with width and precision captured to bound them:
# [[fill]align][sign][z][#][0][width][grouping][.precision][type]
_FORMAT_SPEC = re.compile(r"(?:.?[<>=^])?[+\- ]?z?#?0?(?P<width>\d*)[,_]?(?:\.(?P<precision>\d+))?[bcdeEfFgGnosxX%]?",
                          re.DOTALL)


def template_fields(template: str) -> list[tuple[str, str]]:
    """The ``(name, spec)`` of every placeholder of a question template; raise ``ValueError`` for
    anything but a plain ``{name}`` or ``{name:spec}``: no attribute or index lookups, no
    conversions, no nested fields, no positional fields, bounded widths."""
    out = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"{{{_one_line(name, 40)}}} is not a plain parameter name (write {{{{ and }}}} "
                             "for literal braces)")
        if conversion is not None:
            raise ValueError(f"{{{name}!{conversion}}}: conversions are not allowed")
        spec = spec or ""
        m = _FORMAT_SPEC.fullmatch(spec)
        if "{" in spec or "}" in spec or m is None:
            raise ValueError(f"{{{name}:{_one_line(spec, 40)}}} is not a valid format")
        if len(m["width"] or "") > 3 or int(m["width"] or 0) > MAX_FORMAT_WIDTH or len(
                m["precision"] or "") > 3 or int(m["precision"] or 0) > MAX_FORMAT_WIDTH:
            raise ValueError(f"{{{name}:{spec}}}: width and precision are at most {MAX_FORMAT_WIDTH}")
        out.append((name, spec))
    return out


def render_template(template: str, values: dict[str, Any]) -> str:
    """``template`` with its ``{name}`` / ``{name:spec}`` placeholders filled from ``values``.

    Only plain lookups of names are done (see :func:`template_fields`); raises ``ValueError``,
    ``KeyError`` or ``TypeError`` when a placeholder cannot be filled."""
    template_fields(template)  # refuse attribute and index lookups before formatting anything
    out = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(format(values[name], spec or ""))
    return "".join(out)


@dataclass(frozen=True)
class Challenge:
    """A prediction challenge: a question whose answer is measured from the simulation.

    ``kind`` is ``choice`` (pick one of ``choices``), ``number`` (a value; right within
    ``tolerance``, absolute, or relative when ``relative``), or ``region`` (mark an interval
    on the axis of ``plot``; right when the measured value falls inside it).
    ``measure`` names the model method ``measure_<measure>(run)`` that returns the outcome.
    ``title`` is the short name shown for it (default: the id in words, see :func:`default_title`).
    """

    id: str
    kind: str
    question: str
    measure: str
    steps: int = 500
    seed: int = 0
    set: dict[str, Any] = field(default_factory=dict)
    choices: tuple[str, ...] = ()
    tolerance: float = 0.0
    relative: bool = False
    unit: str = ""
    plot: str = ""  # the observable plotted for a region challenge (and shown after the reveal)
    axis: tuple[float, float] | None = None  # the axis range offered for a region
    hints: dict[str, str] = field(default_factory=dict)
    explain: str = ""
    hides: tuple[str, ...] = ()  # observables that would give the answer away while it is open
    title: str = ""  # the short human name shown instead of the id; empty: made from the id
    #: what to repair after a wrong answer: the level (``"level_id"``) or the claim of a level
    #: (``"level_id:claim_id"``) its hints rest on; empty: none named
    repair: str = ""
    #: the run starts from the learner's current settings in the sandbox (then ``set``), so a
    #: question can be about the build the learner made; headless, from the defaults
    from_sandbox: bool = False

    def __post_init__(self):
        if not self.title:
            object.__setattr__(self, "title", default_title(self.id))

    def format_question(self, params: dict[str, Any]) -> str:
        """The question with ``{param}`` / ``{param:spec}`` placeholders filled from the
        challenge's parameters; the question as written if a value does not fit its spec.
        Only plain name lookups are done (the manifest refuses any other placeholder)."""
        try:
            return render_template(self.question, params)
        except Exception:  # noqa: BLE001 - a question that cannot be filled is shown as written
            return self.question


@dataclass(frozen=True)
class Claim:
    """A statement the level makes (in its README, math card or panels), checkable on the spot.

    ``boundary`` says what this toy shows and what depends on scale; ``over`` is the range it
    holds for, as (argument, values) pairs: the check ``claims.py: check_<id>(**point)`` (or the
    function named by ``check``) runs at every combination, asserts the claim and returns the
    numbers it measured (see :mod:`sandbox.claims`)."""

    id: str
    statement: str
    boundary: str = ""
    over: tuple[tuple[str, tuple], ...] = ()
    check: str = ""


@dataclass(frozen=True)
class Manifest:
    """A validated level manifest."""

    id: str
    title: str
    pillar: str
    summary: str
    folder: Path
    prerequisites: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()  # keys of DOMAINS, most central first
    model: str = "model:Model"
    view: str = "view:View"
    steps_per_second: float = 60.0
    params: dict[str, Param] = field(default_factory=dict)
    observables: dict[str, Observable] = field(default_factory=dict)
    challenges: dict[str, Challenge] = field(default_factory=dict)
    plots: dict[str, PlotSpec] = field(default_factory=dict)
    goldens: dict[str, GoldenSpec] = field(default_factory=dict)
    math: tuple[tuple[str, str], ...] = ()  # the math card: (LaTeX, caption) pairs, in order
    claims: dict[str, Claim] = field(default_factory=dict)  # what the level states, each checkable
    papers: tuple[Paper, ...] = ()  # the sources it rests on

    @property
    def path(self) -> Path:
        return self.folder / MANIFEST_NAME

    def defaults(self) -> dict[str, Any]:
        """The default value of every parameter."""
        return {name: p.default for name, p in self.params.items()}

    def resolve_params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated with ``overrides``, each checked; unknown names raise :class:`ParamError`."""
        values = self.defaults()
        for name, value in (overrides or {}).items():
            if name not in self.params:
                valid = ", ".join(self.params) or "(none)"
                raise ParamError(f"level {self.id!r} has no parameter {_show(name)}; valid parameters: {valid}")
            values[name] = self.params[name].coerce(value)
        return values


GOLDEN_TABS = ("play", "challenges", "math", "code", "about")


@dataclass(frozen=True)
class GoldenSpec:
    """A golden screenshot beyond the default one per tab: ``[goldens.<name>]`` with ``tab``,
    ``frames`` and ``set`` (parameter values)."""

    name: str
    tab: str = "play"
    frames: int = 90
    set: dict[str, Any] = field(default_factory=dict)


# -- reading tables -------------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")  # parameter, observable, plot, golden, challenge names
_CODE_REF = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")  # "module:Class"
_MISSING = object()


def _key_text(key: str) -> str:
    """A key as it appears in a message: bare when it is a plain name, else quoted and short."""
    return key if _NAME.fullmatch(key) else _show(key)


class _Table:
    """One TOML table being read: each key is taken with its type checked, and keys the table
    does not know are refused up front, naming the valid ones."""

    def __init__(self, data: Any, path: Path, where: str, valid: tuple[str, ...], what: str = "a table"):
        self.path, self.where = path, where
        if not isinstance(data, dict):
            raise ManifestError(path, f"{where or 'the manifest'} must be {what}, got {_kind_of(data)}")
        unknown = [k for k in data if k not in valid]
        if unknown:
            names = ", ".join(_key_text(k) for k in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            place = f"{where} has" if where else "the manifest has top-level"
            raise ManifestError(path, f"{place} unknown keys: {names}; valid keys: {', '.join(valid)}")
        self.data = data

    def at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, message: str) -> ManifestError:
        """An error about ``key`` (a message starting with ':' follows the key directly)."""
        return ManifestError(self.path, f"{self.at(key)}{'' if message.startswith(':') else ' '}{message}")

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise ManifestError(self.path, f"missing required key {self.at(key)}")
        return default

    def _wrong(self, key: str, value: Any, expected: str) -> ManifestError:
        return self.fail(key, f"must be {expected}, got {_show(value)}")

    def str(self, key: str, default: Any = _MISSING, *, nonempty: bool = False, one_line: bool = False,
            max_len: int | None = None) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            raise self._wrong(key, value, "a string")
        if nonempty and not value.strip():
            raise self.fail(key, "must not be empty")
        if one_line and ("\n" in value or "\r" in value):
            raise self.fail(key, "must be one line")
        if max_len is not None and len(value) > max_len:
            raise self.fail(key, f"must be at most {max_len} characters (it has {len(value)})")
        return value

    def name(self, key: str, default: Any = _MISSING, what: str = "a name") -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or not _NAME.fullmatch(value):
            raise self._wrong(key, value, f"{what} (letters, digits and _, not starting with a digit)")
        return value

    def choice(self, key: str, valid: tuple[str, ...], default: Any = _MISSING, noun: str = "valid") -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or value not in valid:
            raise self.fail(key, f"is {_show(value)}; {noun}: {', '.join(valid)}")
        return value

    def bool(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self._wrong(key, value, "true or false")
        return value

    def int(self, key: str, default: Any = _MISSING, lo: int = -INT32_MAX, hi: int = INT32_MAX) -> int:
        value = self._get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise self._wrong(key, value, f"an integer from {lo} to {hi}")
        return value

    def number(self, key: str, default: Any = _MISSING, lo: float = -FLOAT32_MAX, hi: float = FLOAT32_MAX,
               above: float | None = None) -> float:
        """A finite number in [lo, hi] (and > ``above`` when given), as a float."""
        value = self._get(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self._wrong(key, value, "a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(key, f"must be a finite number, got {_show(value)}")
        if not lo <= value <= hi or (above is not None and value <= above):
            low = f"above {above:g}" if above is not None else f"at least {lo:g}"
            raise self.fail(key, f"must be a number {low} and at most {hi:g}, got {_show(value)}")
        return float(value)

    def str_list(self, key: str, default: Any = _MISSING, *, names: bool = False, unique: bool = True,
                 what: str = "an array of strings") -> tuple[str, ...]:
        value = self._get(key, default)
        pattern = _NAME if names else None
        if not isinstance(value, list) or not all(
                isinstance(v, str) and (pattern is None or pattern.fullmatch(v)) for v in value):
            raise self._wrong(key, value, what)
        if unique and len(set(value)) != len(value):
            raise self.fail(key, "lists a value twice")
        return tuple(value)

    def table(self, key: str) -> dict:
        value = self._get(key, {})
        if not isinstance(value, dict):
            raise self._wrong(key, value, f"a table ([{self.at(key)}])")
        return value


def _parse_when(t: _Table, params: dict[str, Param] | None) -> tuple[tuple[str, tuple], ...]:
    """``when = { mode = "network" }``: show only while these parameters have one of these values."""
    when = t.table("when")
    out = []
    for name, allowed in when.items():
        where = f"{t.at('when')}.{_key_text(name)}"
        values = allowed if isinstance(allowed, list) else [allowed]
        if not values or not all(isinstance(v, (str, int, float, bool)) for v in values):
            raise ManifestError(t.path, f"{where} must be a value or an array of values")
        if params is not None:
            if name not in params:
                raise ManifestError(t.path, f"{where}: no parameter {_key_text(name)}; valid: {', '.join(params)}")
            for value in values:
                try:
                    params[name].coerce(value)
                except ParamError as exc:
                    raise ManifestError(t.path, f"{where}: {exc}") from None
        out.append((name, tuple(values)))
    return tuple(out)


def _named_tables(data: dict, key: str, path: Path) -> dict[str, Any]:
    """The sub-tables of ``[key.NAME]``, each name checked."""
    tables = _Table(data, path, "", _TOP_KEYS).table(key)
    for name in tables:
        if not _NAME.fullmatch(name):
            raise ManifestError(path, f"{key}.{_key_text(name)}: a name is letters, digits and _ "
                                      "(not starting with a digit, at most 64)")
    return tables


def _palette():
    from .kit.color import PALETTE

    return PALETTE


def _palette_names() -> list[str]:
    import dataclasses

    return [f.name for f in dataclasses.fields(_palette())]


_PARAM_KEYS = ("type", "default", "label", "unit", "help", "min", "max", "choices", "log", "resets", "when", "more")


def _parse_param(name: str, data: Any, path: Path) -> Param:
    t = _Table(data, path, f"params.{name}", _PARAM_KEYS)
    ptype = t.choice("type", PARAM_TYPES, noun="valid types")
    lo = hi = None
    if ptype in ("float", "int"):
        if ptype == "int":
            lo, hi = t.int("min"), t.int("max")
            if hi - lo > INT32_MAX:
                raise t.fail("max", f"- min must be at most {INT32_MAX} (an int slider's range)")
        else:
            lo, hi = t.number("min"), t.number("max")
            if hi - lo > FLOAT32_MAX:
                raise t.fail("max", "- min must fit in a float32 (a slider's range)")
        if lo >= hi:
            raise t.fail("min", f"({lo}) must be below max ({hi})")
        log = t.bool("log", False)
        if log and lo <= 0:
            raise t.fail("log", "needs min > 0")
    else:
        for key in ("min", "max", "log"):
            if t.has(key):
                raise t.fail(key, f"applies to float and int parameters, not {ptype}")
        log = False
    choices: tuple[str, ...] = ()
    if ptype == "choice":
        choices = t.str_list("choices", what="a non-empty array of strings")
        if not choices or not all(c.strip() for c in choices):
            raise t.fail("choices", "must be a non-empty array of non-empty strings")
    elif t.has("choices"):
        raise t.fail("choices", "applies to choice parameters only")
    param = Param(
        name=name,
        type=ptype,
        default=None,
        label=t.str("label", name),
        unit=t.str("unit", ""),
        help=t.str("help", ""),
        min=lo,
        max=hi,
        choices=choices,
        log=log,
        resets=t.bool("resets", False),
        more=t.bool("more", False),
        when=(),  # checked once every parameter is known
    )
    t._get("default", _MISSING)
    try:
        default = param.coerce(t.data["default"])
    except ParamError as exc:
        raise t.fail("default", f": {exc}") from None
    return Param(**{**param.__dict__, "default": default})


_OBSERVABLE_KEYS = ("label", "unit", "help", "kind", "every", "keep", "color", "format", "when")


def _parse_observable(name: str, data: Any, path: Path, params: dict[str, Param]) -> Observable:
    t = _Table(data, path, f"observables.{name}", _OBSERVABLE_KEYS)
    kind = t.choice("kind", OBSERVABLE_KINDS, "scalar", noun="valid kinds")
    every = t.int("every", 1, 1, MAX_EVERY)
    keep = t.int("keep", 256, -INT32_MAX, MAX_KEEP)
    if keep < 2:
        raise t.fail("keep", "must be at least 2")
    color = t.str("color", "")
    if color and color not in _palette_names():
        raise t.fail("color", f"must name a palette colour ({', '.join(_palette_names())})")
    fmt = t.choice("format", OBSERVABLE_FORMATS, "number", noun="valid formats")
    if t.has("format") and kind != "scalar":
        raise t.fail("format", "applies to scalar observables only")
    return Observable(name, t.str("label", name), t.str("unit", ""), t.str("help", ""), kind, every, keep,
                      color, fmt, _parse_when(t, params))


_PLOT_KEYS = ("title", "series", "y_label", "y_log", "when")


def _parse_plot(name: str, data: Any, observables: dict[str, Observable], params: dict[str, Param],
                path: Path) -> PlotSpec:
    t = _Table(data, path, f"plots.{name}", _PLOT_KEYS)
    scalars = [o for o, spec in observables.items() if spec.kind == "scalar"]
    series = t.str_list("series", [], what="a non-empty list of observable names")
    if not series:
        raise t.fail("series", "must be a non-empty list of observable names")
    for item in series:
        if item not in scalars:
            raise t.fail("series", f": {_show(item)} is not a scalar observable; valid: {', '.join(scalars)}")
    return PlotSpec(name, t.str("title", name), series, t.str("y_label", ""), t.bool("y_log", False),
                    _parse_when(t, params))


def _parse_settings(t: _Table, params: dict[str, Param]) -> dict[str, Any]:
    """A ``set`` table of parameter values (a challenge's run, a golden's), each name and value checked."""
    settings = t.table("set")
    for key, value in settings.items():
        if key not in params:
            raise ManifestError(t.path, f"{t.at('set')}.{_key_text(key)}: no such parameter; valid: {', '.join(params)}")
        try:
            params[key].coerce(value)
        except ParamError as exc:
            raise ManifestError(t.path, f"{t.at('set')}: {exc}") from None
    return dict(settings)


def _parse_golden(name: str, data: Any, params: dict[str, Param], path: Path) -> GoldenSpec:
    t = _Table(data, path, f"goldens.{name}", ("tab", "frames", "set"))
    tab = t.choice("tab", GOLDEN_TABS, "play")
    frames = t.int("frames", 90, 1, 2000)
    return GoldenSpec(name, tab, frames, _parse_settings(t, params))


def _parse_math(items: Any, path: Path) -> tuple[tuple[str, str], ...]:
    """``[[math]]`` entries: ``tex`` (LaTeX; a TOML literal string '...' keeps backslashes) and an
    optional ``caption`` in words."""
    if not isinstance(items, list):
        raise ManifestError(path, "math must be an array of tables ([[math]] with tex and caption)")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("tex"), str) or not item["tex"].strip():
            raise ManifestError(path, f"math[{i}] must be a table with a non-empty string tex")
        t = _Table(item, path, f"math[{i}]", ("tex", "caption"))
        out.append((t.str("tex"), t.str("caption", "")))
    return tuple(out)


_CHALLENGE_KEYS = ("id", "title", "kind", "question", "measure", "set", "steps", "seed", "choices", "tolerance",
                   "relative", "unit", "plot", "axis", "hints", "explain", "hides", "repair", "from_sandbox")
_KIND_KEYS = {"choices": ("choice",), "tolerance": ("number", "region"), "relative": ("number",),
              "axis": ("region",)}
_HINT_KEYS = {"number": ("too_low", "too_high", "wrong"), "region": ("too_low", "too_high", "too_wide", "wrong")}


def _parse_challenge(index: int, data: Any, params: dict[str, Param], observables: dict[str, Observable],
                     path: Path) -> Challenge:
    if not isinstance(data, dict):
        raise ManifestError(path, f"challenges[{index}] must be a table, got {_kind_of(data)}")
    forbidden = [k for k in ("answer", "correct", "solution") if k in data]
    cid = data.get("id")
    where = f"challenges.{cid}" if isinstance(cid, str) and _NAME.fullmatch(cid) else f"challenges[{index}]"
    if forbidden:
        raise ManifestError(path, f"{where} must not state its answer ({', '.join(forbidden)}): the outcome is measured")
    t = _Table(data, path, where, _CHALLENGE_KEYS)
    cid = t.name("id", what="an id")
    kind = t.choice("kind", CHALLENGE_KINDS, noun="valid kinds")
    for key, kinds in _KIND_KEYS.items():
        if t.has(key) and kind not in kinds:
            raise t.fail(key, f"applies to {' and '.join(kinds)} challenges, not {kind}")
    title = t.str("title", nonempty=True, one_line=True, max_len=CHALLENGE_TITLE_MAX) if t.has("title") else ""
    question = t.str("question", nonempty=True)
    measure = t.name("measure", what="a name (the model method is measure_<name>)")
    settings = _parse_settings(t, params)
    try:
        fields = template_fields(question)
    except ValueError as exc:
        raise t.fail("question", f"has a bad placeholder: {exc}") from None
    for name, _ in fields:
        if name not in params:
            raise t.fail("question", f"has a placeholder {{{name}}} that is no parameter; valid: {', '.join(params)}")
    try:
        render_template(question, {**{n: p.default for n, p in params.items()},
                                   **{k: params[k].coerce(v) for k, v in settings.items()}})
    except (ValueError, TypeError, KeyError) as exc:
        raise t.fail("question", f"cannot be filled in: {_one_line(str(exc), 120)}") from None
    choices: tuple[str, ...] = ()
    if kind == "choice":
        choices = t.str_list("choices", [], what="an array of strings")
        if len(choices) < 2 or not all(c.strip() for c in choices):
            raise t.fail("choices", "must list at least two non-empty options")
    tolerance = 0.0
    if kind == "number":
        if not t.has("tolerance"):
            raise t.fail("tolerance", "is required for a number challenge: a positive number")
        tolerance = t.number("tolerance", lo=0.0, above=0.0)
    elif kind == "region":
        tolerance = t.number("tolerance", 0.0, lo=0.0)  # the widest region that counts; 0: any width
    axis = None
    if kind == "region":
        raw = t._get("axis", None)
        if not (isinstance(raw, list) and len(raw) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= FLOAT32_MAX
                for v in raw) and raw[0] < raw[1]):
            raise t.fail("axis", "must be [low, high] for a region challenge: two finite numbers, low below high")
        axis = (float(raw[0]), float(raw[1]))
    hints = t.table("hints")
    valid_hints = (*choices, "wrong") if kind == "choice" else _HINT_KEYS[kind]
    for key, text in hints.items():
        if key not in valid_hints:
            raise ManifestError(path, f"{t.at('hints')}.{_key_text(key)}: no such mistake; valid: {', '.join(valid_hints)}")
        if not isinstance(text, str):
            raise ManifestError(path, f"{t.at('hints')}.{key} must be a string, got {_show(text)}")
    hides = t.str_list("hides", [], what="a list of observable names")
    for name in hides:
        if name not in observables:
            raise t.fail("hides", f": no observable {_show(name)}; valid: {', '.join(observables)}")
    plot = t.str("plot", "")
    if plot and plot not in observables:
        raise t.fail("plot", f": no observable {_show(plot)}; valid: {', '.join(observables)}")
    return Challenge(
        id=cid,
        kind=kind,
        question=question,
        measure=measure,
        steps=t.int("steps", 500, 1, MAX_CHALLENGE_STEPS),
        seed=t.int("seed", 0, 0, MAX_SEED),
        set=settings,
        choices=choices,
        tolerance=tolerance,
        relative=t.bool("relative", False),
        unit=t.str("unit", ""),
        plot=plot,
        axis=axis,
        hints=dict(hints),
        explain=t.str("explain", ""),
        hides=hides,
        title=title.strip(),
        repair=_parse_repair(t),
        from_sandbox=t.bool("from_sandbox", False),
    )


_REPAIR = re.compile(r"[a-z_][a-z0-9_]{0,63}(?::[A-Za-z_][A-Za-z0-9_]{0,63})?")


def _parse_repair(t: _Table) -> str:
    """``repair = "level_id"`` or ``"level_id:claim_id"``: checked for its form only here (the
    level may come from another folder or pack); the atlas and the challenge panel look it up."""
    repair = t.str("repair", "")
    if repair and not _REPAIR.fullmatch(repair):
        raise t.fail("repair", f"must be a level id or level_id:claim_id, got {_show(repair)}")
    return repair


@dataclass(frozen=True)
class Paper:
    """A source a level rests on (``[[papers]]``): the search finds the level by its title,
    authors or arXiv id."""

    title: str
    authors: str = ""
    year: int = 0
    arxiv: str = ""  # e.g. "2103.00065"
    url: str = ""
    note: str = ""  # what the level takes from it


_PAPER_KEYS = ("title", "authors", "year", "arxiv", "url", "note")
_ARXIV = re.compile(r"(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})(v\d+)?")


def _parse_papers(data: Any, path: Path) -> tuple[Paper, ...]:
    if not isinstance(data, list):
        raise ManifestError(path, "papers must be an array of tables ([[papers]])")
    out = []
    for i, item in enumerate(data):
        t = _Table(item, path, f"papers[{i}]", _PAPER_KEYS)
        arxiv = t.str("arxiv", "").strip()
        if arxiv and not _ARXIV.fullmatch(arxiv):
            raise t.fail("arxiv", f"must be an arXiv id such as 2103.00065, got {_show(arxiv)}")
        out.append(Paper(title=t.str("title", nonempty=True, one_line=True), authors=t.str("authors", ""),
                         year=t.int("year", 0, 0, 3000), arxiv=arxiv, url=t.str("url", "", one_line=True),
                         note=t.str("note", "")))
    return tuple(out)


_TOP_KEYS = ("id", "title", "pillar", "summary", "prerequisites", "domains", "model", "view", "steps_per_second", "params",
             "observables", "plots", "goldens", "math", "challenges", "claims", "papers")
_CLAIM_KEYS = ("id", "statement", "boundary", "over", "check")
MAX_CLAIM_POINTS = 64  # the points a claim's range may have: every one is checked


def _parse_claim(index: int, data: Any, path: Path) -> Claim:
    t = _Table(data, path, f"claims[{index}]", _CLAIM_KEYS)
    cid = t.name("id", what="a claim id")
    t.where = f"claims.{cid}"
    over = []
    for name, values in t.table("over").items():
        where = f"{t.at('over')}.{_key_text(name)}"
        if not _NAME.fullmatch(name):
            raise ManifestError(path, f"{where}: an argument name is letters, digits and _")
        if not (isinstance(values, list) and values and all(
                isinstance(v, (str, int, float, bool)) and not (isinstance(v, float) and not math.isfinite(v))
                and not (isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT32_MAX) for v in values)):
            raise ManifestError(path, f"{where} must be a non-empty array of finite numbers, strings or booleans")
        over.append((name, tuple(values)))
    count = math.prod(len(v) for _, v in over)
    if count > MAX_CLAIM_POINTS:
        raise t.fail("over", f"has {count} combinations; at most {MAX_CLAIM_POINTS} (each is checked)")
    check = t.str("check", "")
    if check and not _NAME.fullmatch(check):
        raise t.fail("check", f"must name a function of claims.py, got {_show(check)}")
    return Claim(id=cid, statement=t.str("statement", nonempty=True), boundary=t.str("boundary", ""),
                 over=tuple(over), check=check)


def _parse(data: Any, folder: Path) -> Manifest:
    path = folder / MANIFEST_NAME
    top = _Table(data, path, "", _TOP_KEYS)
    level_id = top.str("id")
    if not _NAME.fullmatch(level_id) or level_id != level_id.lower():
        raise ManifestError(path, f"id {_show(level_id)} must be a lower-case Python identifier (letters, digits, _)")
    if level_id != folder.name:
        raise ManifestError(path, f"id {level_id!r} must match its folder name {_show(folder.name)}")
    pillar = top.choice("pillar", tuple(SECTIONS), noun="valid")
    params = {name: _parse_param(name, t, path) for name, t in _named_tables(data, "params", path).items()}
    for name, spec in _named_tables(data, "params", path).items():
        when = _parse_when(_Table(spec, path, f"params.{name}", _PARAM_KEYS), params)
        if any(other == name for other, _ in when):
            raise ManifestError(path, f"params.{name}.when: a parameter cannot depend on itself")
        params[name] = Param(**{**params[name].__dict__, "when": when})
    observables = {name: _parse_observable(name, t, path, params)
                   for name, t in _named_tables(data, "observables", path).items()}
    plots = {name: _parse_plot(name, t, observables, params, path)
             for name, t in _named_tables(data, "plots", path).items()}
    goldens = {name: _parse_golden(name, t, params, path) for name, t in _named_tables(data, "goldens", path).items()}
    clash = set(goldens) & set(GOLDEN_TABS)
    if clash:
        raise ManifestError(path, f"goldens.{min(clash)}: a tab's own golden has that name; choose another")
    math_card = _parse_math(data.get("math", []), path)
    challenge_list = data.get("challenges", [])
    if not isinstance(challenge_list, list):
        raise ManifestError(path, "challenges must be an array of tables ([[challenges]])")
    challenges: dict[str, Challenge] = {}
    for i, table in enumerate(challenge_list):
        challenge = _parse_challenge(i, table, params, observables, path)
        if challenge.id in challenges:
            raise ManifestError(path, f"challenge id {challenge.id!r} appears twice")
        challenges[challenge.id] = challenge
    claim_list = data.get("claims", [])
    if not isinstance(claim_list, list):
        raise ManifestError(path, "claims must be an array of tables ([[claims]])")
    claims: dict[str, Claim] = {}
    for i, table in enumerate(claim_list):
        claim = _parse_claim(i, table, path)
        if claim.id in claims:
            raise ManifestError(path, f"claim id {claim.id!r} appears twice")
        claims[claim.id] = claim
    prerequisites = top.str_list("prerequisites", [], names=True, what="a list of level ids")
    domains = top.str_list("domains", [], what="a list of domain names")
    for domain in domains:
        if domain not in DOMAINS:
            raise top.fail("domains", f"has {_show(domain)}; the domains are {', '.join(DOMAINS)}")
    code = {}
    for key, default in (("model", "model:Model"), ("view", "view:View")):
        code[key] = top.str(key, default)
        if not _CODE_REF.fullmatch(code[key]):
            raise top.fail(key, f"must look like 'module:Class' (a module of the level folder), got {_show(code[key])}")
    return Manifest(
        id=level_id,
        title=top.str("title", nonempty=True),
        pillar=pillar,
        summary=top.str("summary"),
        folder=folder,
        prerequisites=prerequisites,
        domains=tuple(domains),
        model=code["model"],
        view=code["view"],
        steps_per_second=top.number("steps_per_second", 60.0, 0.0, MAX_STEPS_PER_SECOND, above=0.0),
        params=params,
        observables=observables,
        challenges=challenges,
        plots=plots,
        goldens=goldens,
        math=math_card,
        claims=claims,
        papers=_parse_papers(data.get("papers", []), path),
    )


def parse_manifest(data: dict, folder: Path) -> Manifest:
    """Validate a manifest's TOML table; raise :class:`ManifestError` naming the key at fault.

    Nothing else escapes: whatever ``data`` holds, the result is a manifest or a ManifestError."""
    folder = Path(folder)
    try:
        return _parse(data, folder)
    except ManifestError:
        raise
    except RecursionError:
        raise ManifestError(folder / MANIFEST_NAME, "values nested too deeply to read") from None
    except Exception as exc:  # noqa: BLE001 - a value no check foresaw is one level's error, not the app's
        raise ManifestError(folder / MANIFEST_NAME,
                            f"cannot be read: {type(exc).__name__}: {_one_line(str(exc), 200)}") from None


def _utf8_problem(raw: bytes, exc: UnicodeDecodeError) -> str:
    line = raw.count(b"\n", 0, exc.start) + 1
    column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
    return f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}, column {column}"


def read_manifest_bytes(path: Path) -> bytes:
    """The bytes of a manifest file, after checking it is a regular file of sensible size (a FIFO
    or a device would block or never end); raise :class:`ManifestError` otherwise."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ManifestError(path, "no level.toml in this folder") from None
    except OSError as exc:
        raise ManifestError(path, f"cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ManifestError(path, "is not a regular file")
    if info.st_size > MANIFEST_MAX_BYTES:
        raise ManifestError(path, f"is {info.st_size} bytes; a manifest is at most {MANIFEST_MAX_BYTES}")
    try:
        with open(path, "rb") as f:
            return f.read(MANIFEST_MAX_BYTES + 1)
    except OSError as exc:
        raise ManifestError(path, f"cannot be read: {exc.strerror or exc}") from None


def load_manifest(folder: Path) -> Manifest:
    """Read and validate ``folder/level.toml``; raise :class:`ManifestError` (only) if it cannot
    be used. The file must be a regular file inside the folder (a link out of it is refused)."""
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    try:
        inside = path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ManifestError(path, f"cannot be resolved: {exc}") from None
    if not inside:
        raise ManifestError(path, "links outside its level folder; a level reads only its own files")
    raw = read_manifest_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(path, _utf8_problem(raw, exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(path, f"invalid TOML: {exc}") from None
    except RecursionError:
        raise ManifestError(path, "invalid TOML: arrays or tables nested too deeply") from None
    except (ValueError, OverflowError, MemoryError) as exc:  # e.g. an integer of thousands of digits
        raise ManifestError(path, f"invalid TOML: {type(exc).__name__}: {_one_line(str(exc), 200)}") from None
    return parse_manifest(data, folder)
