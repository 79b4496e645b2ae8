"""Routes: ordered paths through levels, read from data, with the learner's progress along them.

A folder of levels may hold a ``routes.toml`` beside its level folders (the shipped one is
``levels/routes.toml``; a modder's folder or pack can add its own)::

    [[routes]]
    id = "attention_to_serving"
    title = "Attention to Serving"
    summary = "From the attention equation to the memory a served model's cache takes."
    start = true                      # the atlas's "Start here" (the first such route wins)
    steps = ["attention_worked", "associativity_switch", "kv_cache"]

A route's steps are levels in the order to play them. What comes *before* a route is read from
the levels' own prerequisites: every level a step builds on, directly or not, that is not a step
itself (:meth:`Route.before`). A step whose level is not installed stays in the route, marked
missing, so a route can name the levels a pack adds.

Nothing a routes file holds stops the atlas: a file that cannot be read or a route that is
malformed becomes a one-line problem, and the other routes load.

The same module groups levels by the domains of the learning map (``domains`` in a manifest,
see :data:`sandbox.manifest.DOMAINS`) and gives the prerequisite path to any level
(:func:`prerequisite_path`), which the search shows beside each hit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .manifest import DOMAINS, tomllib
from .registry import Registry

ROUTES_FILE = "routes.toml"
ROUTES_MAX_BYTES = 1 << 20
_ID = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_KEYS = ("id", "title", "summary", "start", "steps")


@dataclass(frozen=True)
class Route:
    """One route: its id, title, one-line summary, and its steps (level ids, in order)."""

    id: str
    title: str
    summary: str
    steps: tuple[str, ...]
    start: bool = False
    source: str = ""  # the file it came from

    def present(self, registry: Registry) -> list[str]:
        """The steps whose levels are installed, in order."""
        return [s for s in self.steps if s in registry.entries]

    def missing(self, registry: Registry) -> list[str]:
        """The steps whose levels are not installed."""
        return [s for s in self.steps if s not in registry.entries]

    def before(self, registry: Registry) -> list[str]:
        """The levels the steps build on (directly or not) that are not steps themselves, in an
        order that puts every level after what it builds on."""
        steps = set(self.steps)
        out: list[str] = []
        for step in self.present(registry):
            for level_id in prerequisite_path(registry, step)[:-1]:
                if level_id not in steps and level_id not in out:
                    out.append(level_id)
        return out


@dataclass(frozen=True)
class StepProgress:
    """How far the learner is in one step: challenges solved of total (a sandbox level without
    challenges counts as done once visited)."""

    level: str
    solved: int
    total: int
    visited: bool

    @property
    def done(self) -> bool:
        return self.solved >= self.total if self.total else self.visited


def route_progress(route: Route, registry: Registry, solved: Callable[[str], int],
                   visited: set[str]) -> list[StepProgress]:
    """Each installed step's progress. ``solved(level_id)`` counts a level's solved challenges."""
    return [StepProgress(level, solved(level), len(registry.entries[level].manifest.challenges), level in visited)
            for level in route.present(registry)]


def next_step(progress: list[StepProgress]) -> str | None:
    """The first step not done yet (None when the route is complete)."""
    return next((p.level for p in progress if not p.done), None)


def progress_text(progress: list[StepProgress]) -> str:
    """"1 of 3 levels done" (or "complete")."""
    done = sum(p.done for p in progress)
    if progress and done == len(progress):
        return "complete"
    return f"{done} of {len(progress)} level{'s' if len(progress) != 1 else ''} done"


def load_routes(registry: Registry) -> tuple[list[Route], list[str]]:
    """Every route of every folder of levels the registry read, and the problems (one line
    each). A route id seen twice keeps its first definition."""
    routes: list[Route] = []
    problems: list[str] = []
    seen: set[str] = set()
    for directory, _source in registry.directories:
        path = Path(directory) / ROUTES_FILE
        try:
            if not path.exists():
                continue
            found, errors = read_routes(path)
        except OSError as exc:
            problems.append(f"{path}: cannot be read: {exc.strerror or exc}")
            continue
        problems += errors
        for route in found:
            if route.id in seen:
                problems.append(f"{path}: route {route.id!r} is already defined; this one is ignored")
                continue
            seen.add(route.id)
            routes.append(route)
    return routes, problems


def read_routes(path: Path) -> tuple[list[Route], list[str]]:
    """The routes of one file and the problems with it; a malformed route is left out with its
    reason, the file's other routes load."""
    raw = path.read_bytes()[: ROUTES_MAX_BYTES + 1]
    if len(raw) > ROUTES_MAX_BYTES:
        return [], [f"{path}: larger than {ROUTES_MAX_BYTES} bytes; not a routes file"]
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return [], [f"{path}: not UTF-8 text"]
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        return [], [f"{path}: invalid TOML: {' '.join(str(exc).split())[:200]}"]
    unknown = [k for k in data if k != "routes"]
    problems = [f"{path}: unknown top-level keys {', '.join(map(repr, unknown))}; a routes file holds [[routes]]"] \
        if unknown else []
    items = data.get("routes", [])
    if not isinstance(items, list):
        return [], problems + [f"{path}: routes must be an array of tables ([[routes]])"]
    routes = []
    for i, item in enumerate(items):
        try:
            routes.append(_parse_route(item, path))
        except ValueError as exc:
            problems.append(f"{path}: routes[{i}]: {exc}")
    return routes, problems


def _parse_route(item, path: Path) -> Route:
    if not isinstance(item, dict):
        raise ValueError("must be a table")
    unknown = [k for k in item if k not in _KEYS]
    if unknown:
        raise ValueError(f"unknown keys {', '.join(map(repr, unknown))}; valid keys: {', '.join(_KEYS)}")
    rid = item.get("id")
    if not isinstance(rid, str) or not _ID.fullmatch(rid):
        raise ValueError(f"id must be lower-case letters, digits and _, got {rid!r}")
    title, summary = item.get("title"), item.get("summary", "")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"route {rid!r}: title must be a non-empty string")
    if not isinstance(summary, str):
        raise ValueError(f"route {rid!r}: summary must be a string")
    steps = item.get("steps")
    if not (isinstance(steps, list) and steps and all(isinstance(s, str) and _ID.fullmatch(s) for s in steps)):
        raise ValueError(f"route {rid!r}: steps must be a non-empty array of level ids")
    if len(set(steps)) != len(steps):
        raise ValueError(f"route {rid!r}: steps name a level twice")
    start = item.get("start", False)
    if not isinstance(start, bool):
        raise ValueError(f"route {rid!r}: start must be true or false")
    return Route(id=rid, title=title.strip(), summary=summary.strip(), steps=tuple(steps), start=start,
                 source=str(path))


def start_route(routes: list[Route], registry: Registry) -> Route | None:
    """The atlas's Start Here: the first route marked ``start`` with a level installed."""
    return next((r for r in routes if r.start and r.present(registry)), None)


def prerequisite_path(registry: Registry, level_id: str) -> list[str]:
    """Every level ``level_id`` builds on, directly or not, then the level itself: an order in
    which each level comes after the levels it builds on (prerequisites that are not installed
    are left out; a cycle is cut where it closes)."""
    out: list[str] = []

    def visit(lid: str, trail: tuple[str, ...]) -> None:
        if lid in out or lid in trail or lid not in registry.entries:
            return
        for prereq in registry.entries[lid].manifest.prerequisites:
            visit(prereq, (*trail, lid))
        out.append(lid)

    visit(level_id, ())
    return out


def by_domain(registry: Registry) -> dict[str, list[str]]:
    """Every domain of the learning map with the levels that teach it (a level's first domain
    first), in the map's order; a domain without a level has an empty list."""
    groups: dict[str, list[str]] = {d: [] for d in DOMAINS}
    for level_id in sorted(registry.entries):
        for domain in registry.entries[level_id].manifest.domains:
            groups[domain].append(level_id)
    for domain, ids in groups.items():
        ids.sort(key=lambda i: (registry.entries[i].manifest.domains.index(domain), i))
    return groups


def routes_through(routes: list[Route], level_id: str) -> list[Route]:
    """The routes that have ``level_id`` as a step."""
    return [r for r in routes if level_id in r.steps]
