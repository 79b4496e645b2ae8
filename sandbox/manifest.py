"""Level manifests: the small declarative ``level.toml`` at the top of every level folder.

A manifest names the level, places it in the atlas, declares its typed parameters (with ranges,
defaults and units), its named observables and its prediction challenges. It never contains a
challenge's answer: answers are measured from the simulation by the model's ``measure_*``
methods (see :mod:`sandbox.challenges`).

Everything here is pure data and validation; nothing imports a level's code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

MANIFEST_NAME = "level.toml"

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

PARAM_TYPES = ("float", "int", "bool", "choice")
CHALLENGE_KINDS = ("choice", "number", "region")


class ManifestError(ValueError):
    """A manifest that cannot be used, with the file and the key at fault."""

    def __init__(self, path: Path | str, message: str):
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")


class ParamError(ValueError):
    """A parameter value that is unknown, of the wrong type or out of range."""


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
        bad = ParamError(f"parameter {self.name!r}: {value!r} is not valid; expected {self.describe_range()}")
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
                return value.lower() in ("true", "1", "yes", "on")
            raise bad
        if self.type == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            raise bad
        try:
            if self.type == "int":
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                number = int(value) if not isinstance(value, str) else int(value.strip())
            else:
                if isinstance(value, bool):
                    raise ValueError
                number = float(value)
        except (TypeError, ValueError):
            raise bad from None
        if not math.isfinite(number) or (self.min is not None and number < self.min) or (
            self.max is not None and number > self.max
        ):
            raise bad
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
    ``format`` says how a scalar is shown (one of :data:`OBSERVABLE_FORMATS`).
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

    def __post_init__(self):
        if not self.title:
            object.__setattr__(self, "title", default_title(self.id))

    def format_question(self, params: dict[str, Any]) -> str:
        """The question with ``{param}`` placeholders filled from the challenge's parameters."""
        try:
            return self.question.format(**params)
        except (KeyError, IndexError, ValueError):
            return self.question


@dataclass(frozen=True)
class Manifest:
    """A validated level manifest."""

    id: str
    title: str
    pillar: str
    summary: str
    folder: Path
    prerequisites: tuple[str, ...] = ()
    model: str = "model:Model"
    view: str = "view:View"
    steps_per_second: float = 60.0
    params: dict[str, Param] = field(default_factory=dict)
    observables: dict[str, Observable] = field(default_factory=dict)
    challenges: dict[str, Challenge] = field(default_factory=dict)
    plots: dict[str, PlotSpec] = field(default_factory=dict)
    goldens: dict[str, GoldenSpec] = field(default_factory=dict)
    math: tuple[tuple[str, str], ...] = ()  # the math card: (LaTeX, caption) pairs, in order

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
                raise ParamError(f"level {self.id!r} has no parameter {name!r}; valid parameters: {valid}")
            values[name] = self.params[name].coerce(value)
        return values


def _require(table: dict, key: str, kind: type | tuple, path: Path, where: str = "") -> Any:
    if key not in table:
        raise ManifestError(path, f"missing required key {where}{key!r}")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ManifestError(path, f"{where}{key!r} must be {names}, got {type(value).__name__}")
    return value


def _parse_when(table: dict, path: Path, where: str) -> tuple[tuple[str, tuple], ...]:
    when = table.get("when", {})
    if not isinstance(when, dict):
        raise ManifestError(path, f"{where}when must be a table like {{ mode = \"network\" }}")
    return tuple((k, tuple(v) if isinstance(v, list) else (v,)) for k, v in when.items())


def _parse_observable(name: str, t: dict, path: Path) -> Observable:
    where = f"observables.{name}."
    if not isinstance(t, dict):
        raise ManifestError(path, f"observables.{name} must be a table")
    unknown = set(t) - {"label", "unit", "help", "kind", "every", "keep", "color", "format"}
    if unknown:
        raise ManifestError(path, f"observables.{name} has unknown keys: {', '.join(sorted(unknown))}")
    kind = t.get("kind", "scalar")
    if kind not in OBSERVABLE_KINDS:
        raise ManifestError(path, f"{where}kind is {kind!r}; valid kinds: {', '.join(OBSERVABLE_KINDS)}")
    for key, default in (("every", 1), ("keep", 256)):
        value = t.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ManifestError(path, f"{where}{key} must be a positive integer")
    if t.get("keep", 256) < 2:
        raise ManifestError(path, f"{where}keep must be at least 2")
    color = t.get("color", "")
    if not isinstance(color, str) or (color and not hasattr(_palette(), color)):
        raise ManifestError(path, f"{where}color must name a palette colour ({', '.join(_palette_names())})")
    fmt = t.get("format", "number")
    if fmt not in OBSERVABLE_FORMATS:
        raise ManifestError(path, f"{where}format is {fmt!r}; valid formats: {', '.join(OBSERVABLE_FORMATS)}")
    if "format" in t and kind != "scalar":
        raise ManifestError(path, f"{where}format applies to scalar observables only")
    return Observable(name, str(t.get("label", name)), str(t.get("unit", "")), str(t.get("help", "")), kind,
                      int(t.get("every", 1)), int(t.get("keep", 256)), color, fmt)


def _palette():
    from .kit.color import PALETTE

    return PALETTE


def _palette_names() -> list[str]:
    import dataclasses

    return [f.name for f in dataclasses.fields(_palette())]


def _parse_plot(name: str, t: dict, observables: dict[str, Observable], params: dict[str, Param],
                path: Path) -> PlotSpec:
    where = f"plots.{name}."
    if not isinstance(t, dict):
        raise ManifestError(path, f"plots.{name} must be a table")
    unknown = set(t) - {"title", "series", "y_label", "y_log", "when"}
    if unknown:
        raise ManifestError(path, f"plots.{name} has unknown keys: {', '.join(sorted(unknown))}")
    series = t.get("series", [])
    if not isinstance(series, list) or not series or not all(isinstance(x, str) for x in series):
        raise ManifestError(path, f"{where}series must be a non-empty list of observable names")
    for item in series:
        if item not in observables or observables[item].kind != "scalar":
            scalars = [o for o, spec in observables.items() if spec.kind == "scalar"]
            raise ManifestError(path, f"{where}series: {item!r} is not a scalar observable; valid: {', '.join(scalars)}")
    when = _parse_when(t, path, where)
    for other, _ in when:
        if other not in params:
            raise ManifestError(path, f"{where}when: no parameter {other!r}")
    return PlotSpec(name, str(t.get("title", name)), tuple(series), str(t.get("y_label", "")),
                    bool(t.get("y_log", False)), when)


GOLDEN_TABS = ("play", "challenges", "math", "code", "about")


@dataclass(frozen=True)
class GoldenSpec:
    """A golden screenshot beyond the default one per tab: ``[goldens.<name>]`` with ``tab``,
    ``frames`` and ``set`` (parameter values)."""

    name: str
    tab: str = "play"
    frames: int = 90
    set: dict[str, Any] = field(default_factory=dict)


def _parse_settings(table: dict, params: dict[str, Param], path: Path, where: str) -> dict[str, Any]:
    """A ``set`` table of parameter values (a challenge's run, a golden's), each name and value checked."""
    settings = table.get("set", {})
    if not isinstance(settings, dict):
        raise ManifestError(path, f"{where}set must be a table of parameter values")
    for key, value in settings.items():
        if key not in params:
            raise ManifestError(path, f"{where}set.{key}: no such parameter; valid: {', '.join(params)}")
        try:
            params[key].coerce(value)
        except ParamError as exc:
            raise ManifestError(path, f"{where}set: {exc}") from None
    return dict(settings)


def _parse_golden(name: str, t: dict, params: dict[str, Param], path: Path) -> GoldenSpec:
    where = f"goldens.{name}."
    if not isinstance(t, dict):
        raise ManifestError(path, f"goldens.{name} must be a table")
    unknown = set(t) - {"tab", "frames", "set"}
    if unknown:
        raise ManifestError(path, f"goldens.{name} has unknown keys: {', '.join(sorted(unknown))}")
    tab = t.get("tab", "play")
    if tab not in GOLDEN_TABS:
        raise ManifestError(path, f"{where}tab is {tab!r}; valid: {', '.join(GOLDEN_TABS)}")
    frames = t.get("frames", 90)
    if not isinstance(frames, int) or isinstance(frames, bool) or not 1 <= frames <= 2000:
        raise ManifestError(path, f"{where}frames must be an integer from 1 to 2000")
    return GoldenSpec(name, tab, frames, _parse_settings(t, params, path, where))


def _parse_math(items, path: Path) -> tuple[tuple[str, str], ...]:
    """``[[math]]`` entries: ``tex`` (LaTeX; a TOML literal string '...' keeps backslashes) and an
    optional ``caption`` in words."""
    if not isinstance(items, list):
        raise ManifestError(path, "math must be an array of tables ([[math]] with tex and caption)")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("tex"), str) or not item["tex"].strip():
            raise ManifestError(path, f"math[{i}] must be a table with a non-empty string tex")
        unknown = set(item) - {"tex", "caption"}
        if unknown:
            raise ManifestError(path, f"math[{i}] has unknown keys: {', '.join(sorted(unknown))}")
        if not isinstance(item.get("caption", ""), str):
            raise ManifestError(path, f"math[{i}].caption must be a string")
        out.append((item["tex"], item.get("caption", "")))
    return tuple(out)


def _parse_param(name: str, table: dict, path: Path) -> Param:
    where = f"params.{name}."
    if not isinstance(table, dict):
        raise ManifestError(path, f"params.{name} must be a table")
    ptype = _require(table, "type", str, path, where)
    if ptype not in PARAM_TYPES:
        raise ManifestError(path, f"{where}type is {ptype!r}; valid types: {', '.join(PARAM_TYPES)}")
    unknown = set(table) - {"type", "default", "label", "unit", "help", "min", "max", "choices", "log", "resets", "when"}
    if unknown:
        raise ManifestError(path, f"{where[:-1]} has unknown keys: {', '.join(sorted(unknown))}")
    lo = table.get("min")
    hi = table.get("max")
    if ptype in ("float", "int"):
        for key, bound in (("min", lo), ("max", hi)):
            if not isinstance(bound, (int, float)) or isinstance(bound, bool):
                raise ManifestError(path, f"{where}{key} is required for a {ptype} parameter and must be a number")
        if lo >= hi:
            raise ManifestError(path, f"{where}min ({lo}) must be below max ({hi})")
        if table.get("log") and lo <= 0:
            raise ManifestError(path, f"{where}log needs min > 0")
    when = _parse_when(table, path, where)
    choices = tuple(table.get("choices", ()))
    if ptype == "choice" and (not choices or not all(isinstance(c, str) for c in choices)):
        raise ManifestError(path, f"{where}choices must be a non-empty list of strings")
    param = Param(
        name=name,
        type=ptype,
        default=None,
        label=str(table.get("label", name)),
        unit=str(table.get("unit", "")),
        help=str(table.get("help", "")),
        min=lo,
        max=hi,
        choices=choices,
        log=bool(table.get("log", False)),
        resets=bool(table.get("resets", False)),
        when=when,
    )
    if "default" not in table:
        raise ManifestError(path, f"missing required key {where}'default'")
    try:
        default = param.coerce(table["default"])
    except ParamError as exc:
        raise ManifestError(path, f"{where}default: {exc}") from None
    return Param(**{**param.__dict__, "default": default})


def _parse_challenge(index: int, table: dict, manifest_params: dict[str, Param], path: Path) -> Challenge:
    if not isinstance(table, dict):
        raise ManifestError(path, f"challenges[{index}] must be a table")
    cid = _require(table, "id", str, path, f"challenges[{index}].")
    where = f"challenges.{cid}."
    kind = _require(table, "kind", str, path, where)
    if kind not in CHALLENGE_KINDS:
        raise ManifestError(path, f"{where}kind is {kind!r}; valid kinds: {', '.join(CHALLENGE_KINDS)}")
    forbidden = {"answer", "correct", "solution"} & set(table)
    if forbidden:
        raise ManifestError(
            path, f"{where} must not state its answer ({', '.join(sorted(forbidden))}): the outcome is measured"
        )
    question = _require(table, "question", str, path, where)
    measure = _require(table, "measure", str, path, where)
    settings = _parse_settings(table, manifest_params, path, where)
    choices = tuple(table.get("choices", ()))
    if kind == "choice" and len(choices) < 2:
        raise ManifestError(path, f"{where}choices must list at least two options")
    tolerance = float(table.get("tolerance", 0.0))
    if kind == "number" and tolerance <= 0:
        raise ManifestError(path, f"{where}tolerance must be positive for a number challenge")
    axis = table.get("axis")
    if kind == "region":
        if not (isinstance(axis, list) and len(axis) == 2 and axis[0] < axis[1]):
            raise ManifestError(path, f"{where}axis must be [low, high] for a region challenge")
        axis = (float(axis[0]), float(axis[1]))
    steps = table.get("steps", 500)
    if not isinstance(steps, int) or steps < 1:
        raise ManifestError(path, f"{where}steps must be a positive integer")
    hints = table.get("hints", {})
    if not isinstance(hints, dict):
        raise ManifestError(path, f"{where}hints must be a table")
    hides = table.get("hides", [])
    if not isinstance(hides, list) or not all(isinstance(h, str) for h in hides):
        raise ManifestError(path, f"{where}hides must be a list of observable names")
    title = table.get("title", "")
    if "title" in table and (not isinstance(title, str) or not title.strip() or "\n" in title
                             or len(title) > CHALLENGE_TITLE_MAX):
        raise ManifestError(path, f"{where}title must be a non-empty one-line string of at most "
                                  f"{CHALLENGE_TITLE_MAX} characters")
    return Challenge(
        id=cid,
        kind=kind,
        question=question,
        measure=measure,
        steps=steps,
        seed=int(table.get("seed", 0)),
        set=dict(settings),
        choices=choices,
        tolerance=tolerance,
        relative=bool(table.get("relative", False)),
        unit=str(table.get("unit", "")),
        plot=str(table.get("plot", "")),
        axis=axis,
        hints={str(k): str(v) for k, v in hints.items()},
        explain=str(table.get("explain", "")),
        hides=tuple(hides),
        title=title.strip(),
    )


def parse_manifest(data: dict, folder: Path) -> Manifest:
    """Validate a manifest's TOML table; raise :class:`ManifestError` naming the key at fault."""
    path = folder / MANIFEST_NAME
    level_id = _require(data, "id", str, path)
    if not level_id.isidentifier() or level_id != level_id.lower():
        raise ManifestError(path, f"id {level_id!r} must be a lower-case Python identifier (letters, digits, _)")
    if level_id != folder.name:
        raise ManifestError(path, f"id {level_id!r} must match its folder name {folder.name!r}")
    pillar = _require(data, "pillar", str, path)
    if pillar not in SECTIONS:
        raise ManifestError(path, f"pillar {pillar!r} is unknown; valid: {', '.join(SECTIONS)}")
    params_table = data.get("params", {})
    if not isinstance(params_table, dict):
        raise ManifestError(path, "params must be a table of tables")
    params = {name: _parse_param(name, table, path) for name, table in params_table.items()}
    for param in params.values():
        for other, allowed in param.when:
            if other not in params or other == param.name:
                raise ManifestError(path, f"params.{param.name}.when: no other parameter {other!r}")
            for value in allowed:
                try:
                    params[other].coerce(value)
                except ParamError as exc:
                    raise ManifestError(path, f"params.{param.name}.when: {exc}") from None
    obs_table = data.get("observables", {})
    if not isinstance(obs_table, dict):
        raise ManifestError(path, "observables must be a table of tables")
    observables = {name: _parse_observable(name, t, path) for name, t in obs_table.items()}
    plots_table = data.get("plots", {})
    if not isinstance(plots_table, dict):
        raise ManifestError(path, "plots must be a table of tables ([plots.NAME])")
    plots = {name: _parse_plot(name, t, observables, params, path) for name, t in plots_table.items()}
    goldens_table = data.get("goldens", {})
    if not isinstance(goldens_table, dict):
        raise ManifestError(path, "goldens must be a table of tables ([goldens.NAME])")
    goldens = {name: _parse_golden(name, t, params, path) for name, t in goldens_table.items()}
    math = _parse_math(data.get("math", []), path)
    clash = set(goldens) & set(GOLDEN_TABS)
    if clash:
        raise ManifestError(path, f"goldens.{sorted(clash)[0]}: a tab's own golden has that name; choose another")
    challenge_list = data.get("challenges", [])
    if not isinstance(challenge_list, list):
        raise ManifestError(path, "challenges must be an array of tables ([[challenges]])")
    challenges: dict[str, Challenge] = {}
    for i, table in enumerate(challenge_list):
        challenge = _parse_challenge(i, table, params, path)
        if challenge.id in challenges:
            raise ManifestError(path, f"challenge id {challenge.id!r} appears twice")
        if challenge.plot and challenge.plot not in observables:
            raise ManifestError(path, f"challenges.{challenge.id}.plot: no observable {challenge.plot!r}")
        for name in challenge.hides:
            if name not in observables:
                raise ManifestError(path, f"challenges.{challenge.id}.hides: no observable {name!r}; "
                                          f"valid: {', '.join(observables)}")
        challenges[challenge.id] = challenge
    prerequisites = data.get("prerequisites", [])
    if not isinstance(prerequisites, list) or not all(isinstance(p, str) for p in prerequisites):
        raise ManifestError(path, "prerequisites must be a list of level ids")
    rate = data.get("steps_per_second", 60.0)
    if not isinstance(rate, (int, float)) or rate <= 0:
        raise ManifestError(path, "steps_per_second must be a positive number")
    return Manifest(
        id=level_id,
        title=_require(data, "title", str, path),
        pillar=pillar,
        summary=_require(data, "summary", str, path),
        folder=folder,
        prerequisites=tuple(prerequisites),
        model=str(data.get("model", "model:Model")),
        view=str(data.get("view", "view:View")),
        steps_per_second=float(rate),
        params=params,
        observables=observables,
        challenges=challenges,
        plots=plots,
        goldens=goldens,
        math=math,
    )


def load_manifest(folder: Path) -> Manifest:
    """Read and validate ``folder/level.toml``."""
    path = Path(folder) / MANIFEST_NAME
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ManifestError(path, "no level.toml in this folder") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(path, f"invalid TOML: {exc}") from None
    return parse_manifest(data, Path(folder))
