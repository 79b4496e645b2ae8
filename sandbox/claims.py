"""Claims as data: every statement a level makes, with its boundary and the check that measures it.

A level declares its claims in ``level.toml``::

    [[claims]]
    id = "hovers_at_two_over_eta"
    statement = "Gradient descent's sharpness rises until it hovers at 2/η."
    boundary = "Full-batch gradient descent on this canyon; with minibatch noise it sits below 2/η."
    over = { lr = [0.01, 0.02, 0.04], seed = [0, 1, 2] }

and a function ``check_<id>(**point)`` in the level's ``claims.py`` that runs the simulation at one
point of ``over`` (every combination is checked), asserts the claim there, and returns the
numbers it measured (``{"sharpness / (2/η)": 0.98}``). The test suite runs every claim of every
level; the About tab's **Check** button and ``continuous-function claims LEVEL`` run them on the
learner's machine in a child process with a time limit, and show the numbers beside the statement.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .child import Child

CLAIMS_MODULE = "claims"
CHECK_TIME_LIMIT_S = 120.0  # a whole level's claims, in the child process


@dataclass
class PointResult:
    """One point of a claim's range: the arguments, whether the claim held, what was measured."""

    point: dict[str, Any]
    passed: bool
    measured: dict[str, Any] = field(default_factory=dict)
    error: str = ""  # the assertion's message (or the exception) when it did not hold


@dataclass
class ClaimResult:
    """A claim checked over its whole range: it holds only if it held at every point."""

    id: str
    statement: str
    passed: bool
    points: list[PointResult]
    seconds: float
    error: str = ""  # the check could not run at all (no function, a time limit, a crash)

    def to_json(self) -> dict[str, Any]:
        return _finite(asdict(self))


def points(claim) -> list[dict[str, Any]]:
    """Every combination of the values in the claim's ``over`` (one empty point when it has none)."""
    names = [name for name, _ in claim.over]
    return [dict(zip(names, values)) for values in itertools.product(*(v for _, v in claim.over))]


def check_function(entry, claim):
    """The level's ``check_<id>`` (or the claim's ``check``) from its ``claims.py``."""
    module = entry.module(CLAIMS_MODULE)
    name = claim.check or f"check_{claim.id}"
    function = getattr(module, name, None)
    if not callable(function):
        raise LookupError(f"{entry.folder / 'claims.py'} has no function {name}() for the claim {claim.id!r}")
    return function


def check(entry, claim) -> ClaimResult:
    """Run ``claim``'s check at every point of its range, in this process."""
    started = time.perf_counter()
    try:
        function = check_function(entry, claim)
    except Exception as exc:  # noqa: BLE001 - a missing or broken claims.py is the claim's result
        return ClaimResult(claim.id, claim.statement, False, [], 0.0, _one_line(exc))
    results = []
    for point in points(claim):
        try:
            measured = function(**point)
            results.append(PointResult(point, True, dict(measured or {})))
        except AssertionError as exc:
            results.append(PointResult(point, False, getattr(exc, "measured", {}), str(exc) or "assertion failed"))
        except Exception as exc:  # noqa: BLE001 - a crash at one point fails the claim there
            results.append(PointResult(point, False, {}, _one_line(exc)))
    passed = bool(results) and all(r.passed for r in results)
    return ClaimResult(claim.id, claim.statement, passed, results, time.perf_counter() - started)


def check_in_child(folder: Path | str, claim_ids: list[str] | None = None,
                   time_limit: float = CHECK_TIME_LIMIT_S) -> Child:
    """Start checking a level's claims (all, or ``claim_ids``) in a child process; poll the
    returned :class:`~sandbox.child.Child` and read it with :func:`results_from`."""
    return Child(["-m", "sandbox.claims", str(folder), *(claim_ids or []), "--json"], Path(folder), time_limit)


def results_from(child: Child, claims) -> list[ClaimResult]:
    """The results a finished child printed; a child that timed out or crashed fails every claim
    it was asked about, with the reason."""
    if child.code == 0 or child.code == 1:
        try:
            data = json.loads(child.output.strip().splitlines()[-1])
            return [ClaimResult(d["id"], d["statement"], d["passed"], [PointResult(**p) for p in d["points"]],
                                d["seconds"], d.get("error", "")) for d in data]
        except (ValueError, KeyError, IndexError, TypeError):
            pass
    reason = (f"stopped after {child.time_limit:.0f} s (the time limit)" if child.timed_out
              else _last_line(child.output) or f"the check exited with status {child.code}")
    return [ClaimResult(c.id, c.statement, False, [], child.seconds, reason) for c in claims]


def describe_range(claim) -> str:
    """``over`` in words: "lr ∈ {0.01, 0.02}, seed ∈ {0, 1, 2}" (empty when the claim has none)."""
    return ", ".join(f"{name} ∈ {{{', '.join(short_value(v) for v in values)}}}" for name, values in claim.over)


def describe_point(point: PointResult) -> tuple[str, str]:
    """A checked point in words: where it was ("lr = 0.02, seed = 1", or "as set") and what was
    measured there (or, where the claim failed without numbers, why)."""
    where = ", ".join(f"{k} = {short_value(v)}" for k, v in point.point.items()) or "as set"
    numbers = ", ".join(f"{k} = {short_value(v)}" for k, v in point.measured.items())
    return where, (numbers if point.passed or not point.error else point.error)


def short_value(value: Any) -> str:
    """A point's argument or a measured number as shown beside a claim: floats to 4 digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _finite(value.item())
    return value


def main(argv: list[str] | None = None) -> int:
    """``python -m sandbox.claims FOLDER [CLAIM ...] [--json]``: check a level's claims; exit 0
    when all hold, 1 when one does not, 2 when the level cannot be loaded."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.claims")
    parser.add_argument("folder", type=Path)
    parser.add_argument("claims", nargs="*")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from .registry import LevelEntry

    try:
        entry = LevelEntry(folder=args.folder.resolve(), source=f"dir:{args.folder}")
        entry.reload_manifest()
        if entry.manifest is None:
            raise RuntimeError(entry.error)
        claims = [c for c in entry.manifest.claims.values() if not args.claims or c.id in args.claims]
        unknown = set(args.claims) - set(entry.manifest.claims)
        if unknown:
            raise KeyError(f"no claim {', '.join(sorted(unknown))}; the level's claims: "
                           f"{', '.join(entry.manifest.claims) or 'none'}")
    except Exception:  # noqa: BLE001 - reported in one line
        print(traceback.format_exc().strip().splitlines()[-1], file=sys.stderr)
        return 2
    results = [check(entry, claim) for claim in claims]
    if args.json:
        print(json.dumps([r.to_json() for r in results]))
    else:
        for result in results:
            print(f"{'holds' if result.passed else 'FAILS'}  {result.id}: {result.statement}")
            for point in result.points:
                where, measured = describe_point(point)
                print(f"    {'ok ' if point.passed else 'no '} at {where}: {measured}")
            if result.error:
                print(f"    {result.error}")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
