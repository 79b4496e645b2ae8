"""The ``continuous-function`` command: the atlas in a window, and headless tools.

Errors a person can fix (an unknown level, parameter or backend; a value out of range; a
malformed answer; a folder that is not there) exit with status 2 and a one-line message naming
the valid choices, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path

USAGE_ERROR = 2

HEADLESS_HINT = ("headless commands: continuous-function list | run LEVEL --json | shot LEVEL --out FILE.png | "
                 "challenge LEVEL CHALLENGE --answer VALUE | validate DIR | bench LEVEL")

MAX_FRAMES = 100_000  # shot, bench, validate: a typo with extra zeros is refused, not waited for
MAX_STEPS = 100_000_000  # run: memory stays bounded (the histories are), but time does not
MAX_SEED = 2**32 - 1  # the models seed numpy's generators and counter-based noise with it
UI_SCALES = (0.5, 3.0)  # sandbox.ui.imgui_layer's MIN_SCALE, MAX_SCALE (not imported: it loads ImGui)
MAX_KIOSK_S = 86_400.0
DEFAULT_HISTORY = 1000  # run --json: values per series unless asked otherwise

#: options that take a value which may start with '-' (argparse reads "-1e-3" as an option)
_VALUE_OPTIONS = {"--answer", "--confidence", "--seed", "--steps", "--frames", "--ui-scale", "--kiosk",
                  "--history", "--set"}
_NEGATIVE = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)


class UsageError(Exception):
    """A mistake in the command line; printed and exits with status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with its mistakes in one line (the usage is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w < 64 or h < 64 or w > 8192 or h > 8192:
            raise ValueError
        return w, h
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 1280x720 (64..8192 each)") from None


def _integer(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not in {low}..{high}")
        return value
    return parse


def _real(low: float, high: float, low_open: bool = False):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (low < value <= high if low_open else low <= value <= high):  # NaN is in no range
            raise argparse.ArgumentTypeError(f"{text} is not in {'(' if low_open else '['}{low:g}, {high:g}]")
        return value
    return parse


def _history(text: str) -> str | int:
    if text in ("none", "full"):
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 10_000_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not none, full or a number of values 1..10000000")
    return value


def _settings(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--set expects NAME=VALUE, got {pair!r}")
        out[name.strip()] = value.strip()
    return out


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--answer -1e-3`` as ``--answer=-1e-3``: argparse takes a value that starts with '-' and
    is not a plain decimal for an option, and refuses it."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in _VALUE_OPTIONS and i + 1 < len(argv) and _NEGATIVE.match(argv[i + 1]):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def build_parser() -> argparse.ArgumentParser:
    from .challenges import DEFAULT_CONFIDENCE, MIN_CONFIDENCE

    parser = _Parser(prog="continuous-function",
                                     description="Continuous Function: the mathematics of deep learning, played.")
    parser.add_argument("--levels-dir", action="append", default=[], metavar="DIR",
                        help="also load the level folders in DIR (repeatable)")
    parser.add_argument("--ui-scale", type=_real(*UI_SCALES), default=1.0, help="UI scale (0.5..3)")
    parser.add_argument("--fullscreen", action="store_true", help="start fullscreen")
    parser.add_argument("--backend", choices=["glsl", "numba", "numpy"], help="simulation backend")
    parser.add_argument("--kiosk", type=_real(0.0, MAX_KIOSK_S, low_open=True), metavar="SECONDS", default=None,
                        help="unattended kiosk: fullscreen, progress kept only for the session, and back to "
                             "the atlas after SECONDS without input")
    parser.add_argument("--kiosk-packs", default=None, metavar="NAME,...",
                        help="with --kiosk: the installed level packs allowed to load (default: none, "
                             "only the built-in levels and --levels-dir folders)")
    sub = parser.add_subparsers(dest="command")

    def backend_option(p):  # accepted after the command too; SUPPRESS keeps a global value
        p.add_argument("--backend", choices=["glsl", "numba", "numpy"], default=argparse.SUPPRESS,
                       help="simulation backend")

    p = sub.add_parser("list", help="every level found, with its folder and any error")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("play", help="open one level in a window")
    backend_option(p)
    p.add_argument("level")
    p.add_argument("--set", action="append", metavar="NAME=VALUE")
    p.add_argument("--seed", type=_integer(0, MAX_SEED), default=0)
    p.add_argument("--size", type=_size, default=(1280, 720))

    p = sub.add_parser("shot", help="render a level headless to a PNG, UI included")
    backend_option(p)
    p.add_argument("level", help="a level id, or 'atlas'")
    p.add_argument("--out", required=True, type=Path, help="the PNG file to write (its folder must exist)")
    p.add_argument("--frames", type=_integer(1, MAX_FRAMES), default=120)
    p.add_argument("--size", type=_size, default=(1280, 720))
    p.add_argument("--seed", type=_integer(0, MAX_SEED), default=0)
    p.add_argument("--set", action="append", metavar="NAME=VALUE")
    p.add_argument("--tab", choices=["play", "challenges", "math", "code", "about"], default="play",
                   help="the side-panel tab to show")

    p = sub.add_parser("run", help="run a level's model headless and print its observables")
    backend_option(p)
    p.add_argument("level")
    p.add_argument("--set", action="append", metavar="NAME=VALUE")
    p.add_argument("--steps", type=_integer(0, MAX_STEPS), default=500)
    p.add_argument("--seed", type=_integer(0, MAX_SEED), default=0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--history", type=_history, default=DEFAULT_HISTORY, metavar="none|full|N",
                   help=f"histories in the JSON: none (final values only), full (all recorded), or at most "
                        f"N values per series spread over the run (default {DEFAULT_HISTORY})")

    p = sub.add_parser("challenge", help="run one challenge headless with a prediction")
    backend_option(p)
    p.add_argument("level")
    p.add_argument("challenge")
    p.add_argument("--answer", required=True, help="a choice, a number, or LOW,HIGH for a region")
    p.add_argument("--confidence", type=_real(MIN_CONFIDENCE, 1.0), default=DEFAULT_CONFIDENCE,
                   help=f"how sure you are that the prediction is right, {MIN_CONFIDENCE:g} (a coin flip) to 1 "
                        f"(certain); default {DEFAULT_CONFIDENCE:g}")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("validate", help="check a level folder and exit non-zero on problems")
    backend_option(p)
    p.add_argument("dir", type=Path)
    p.add_argument("--frames", type=_integer(1, MAX_FRAMES), default=120)

    p = sub.add_parser("new-level", help="scaffold a new level that passes validate")
    p.add_argument("id")
    p.add_argument("--dir", type=Path, default=Path("."), help="the existing folder to create the level folder in")

    p = sub.add_parser("goldens", help="compare every level's golden screenshots, or write them anew")
    p.add_argument("levels", nargs="*", help="level ids (default: every level found)")
    p.add_argument("--update", action="store_true", help="write the goldens instead of comparing")

    p = sub.add_parser("search", help="find the levels, claims and formulas that match a term, an equation, "
                                      "an arXiv id or an excerpt, with the path of levels that leads to each")
    p.add_argument("text", nargs="+", help="what to look for (quote an equation: 'softmax(QK^T/sqrt(d))V')")
    p.add_argument("--limit", type=_integer(1, 200), default=12, help="at most this many results (default 12)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("notes", help="the notes left on levels, claims, challenges and formulas, as Markdown")
    p.add_argument("--level", default=None, help="only this level's notes")
    p.add_argument("--out", type=Path, default=None, help="write them to this file instead of printing them")

    p = sub.add_parser("routes", help="the routes through the levels, with progress along each")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("bench", help="frame time and model throughput of a level, headless")
    backend_option(p)
    p.add_argument("level")
    p.add_argument("--frames", type=_integer(1, MAX_FRAMES), default=300)
    p.add_argument("--size", type=_size, default=(1280, 720))
    p.add_argument("--set", action="append", metavar="NAME=VALUE")
    p.add_argument("--json", action="store_true")
    p.add_argument("--memory", action="store_true",
                   help="measure memory growth instead: resident memory over --cycles opens, reloads and closes "
                        "of the level, and over --steps model steps")
    p.add_argument("--cycles", type=_integer(0, MAX_FRAMES), default=100, help="with --memory (default 100)")
    p.add_argument("--steps", type=_integer(0, MAX_STEPS), default=1_000_000, help="with --memory (default 1000000)")
    return parser


def _registry(args):
    from .registry import Registry

    return Registry(args.levels_dir, packs=_packs(args))


def _packs(args):
    """Which installed level packs load: all of them, or in a kiosk only those it allows."""
    if getattr(args, "kiosk", None) is None:
        if getattr(args, "kiosk_packs", None):
            raise UsageError("--kiosk-packs applies with --kiosk SECONDS")
        return None
    allowed = [name.strip() for name in (args.kiosk_packs or "").split(",") if name.strip()]
    return allowed or False


def _is(test, path: Path) -> bool:
    """``path.is_dir()`` and the like, False for a path the system refuses (too long, a NUL)."""
    try:
        return test(Path(path))
    except (OSError, ValueError, TypeError):  # TypeError: argparse hands "--dir=--" over as []
        return False


def _existing_folder(path: Path, what: str) -> None:
    if not _is(Path.is_dir, path):
        raise UsageError(f"{what} {_shown(path)} is not an existing folder")


def _shown(path) -> str:
    """A path for a message: quoted, clipped, and printable whatever bytes it holds."""
    text = str(path)
    return repr(text if len(text) <= 120 else text[:100] + "…" + text[-16:])


def _entry(args):
    registry = _registry(args)
    try:
        entry = registry.get(args.level)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    if entry.manifest is None:
        raise UsageError(f"level {args.level!r} is broken: {entry.error}")
    return registry, entry


def _params(entry, args) -> dict:
    from .manifest import ParamError

    try:
        return entry.manifest.resolve_params(_settings(getattr(args, "set", None)))
    except ParamError as exc:
        raise UsageError(str(exc)) from None


def _backend(args) -> str:
    from sim.backends import BackendError, choose

    try:
        return choose(args.backend)
    except BackendError as exc:
        raise UsageError(str(exc)) from None


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def cmd_list(args) -> int:
    registry = _registry(args)
    entries = registry.all_entries()
    if args.json:
        print(json.dumps([e.to_json() for e in entries], indent=2))
        return 0
    for e in entries:
        status = f"ERROR: {e.error}" if e.error else (e.manifest.title if e.manifest else "")
        print(f"{e.id:24s} {e.source:10s} {status}\n{'':24s} {e.folder}")
    return 0


def _open_app(args, headless: bool, level: str | None = None, size=(1280, 720), params=None, seed=0):
    from sim.backends import BackendError

    from .app import App
    from .gfx.context import DisplayError, display_reason
    from .progress import Progress

    if not headless:
        reason = display_reason()
        if reason:
            print(f"continuous-function: cannot open a window: {reason}. Use the {HEADLESS_HINT}.", file=sys.stderr)
            return None
    try:
        # the backend is chosen inside the app, once its GL context exists (kernels share it)
        kiosk = getattr(args, "kiosk", None)
        return App(size=size, headless=headless, level=level, registry=_registry(args), backend=args.backend,
                   params=params, seed=seed, fullscreen=args.fullscreen or bool(kiosk and not headless),
                   ui_scale=args.ui_scale, idle_reset_s=kiosk,
                   progress=Progress(":memory:") if kiosk else None)
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    except DisplayError as exc:
        print(f"continuous-function: cannot open a window: {exc}. Use the {HEADLESS_HINT}.", file=sys.stderr)
        return None


def cmd_atlas(args) -> int:
    app = _open_app(args, headless=False)
    if app is None:
        return 1
    app.run()
    return 0


def cmd_play(args) -> int:
    _, entry = _entry(args)
    params = _params(entry, args)
    app = _open_app(args, headless=False, level=entry.id, size=args.size, params=params, seed=args.seed)
    if app is None:
        return 1
    app.run()
    return 0


def _png_out(out: Path) -> Path:
    """The file ``shot --out`` writes: a .png in an existing folder we may write; no folder is
    created (a typo must not leave folders anywhere)."""
    if _is(Path.is_dir, out) or str(out).endswith(("/", os.sep)):
        raise UsageError(f"--out {_shown(out)} is a folder; give a file name in it, e.g. {_shown(out / 'shot.png')}")
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out {_shown(out)} must name a .png file")
    folder = out.parent
    if not _is(Path.is_dir, folder):
        raise UsageError(f"--out {_shown(out)}: the folder {_shown(folder)} does not exist")
    if not os.access(folder, os.W_OK) or (_is(Path.exists, out) and not os.access(out, os.W_OK)):
        raise UsageError(f"--out {_shown(out)} cannot be written here (permission denied)")
    return out


def cmd_shot(args) -> int:
    from .shots import render_shot

    out = _png_out(args.out)
    level = None
    params = None
    if args.level != "atlas":
        _, entry = _entry(args)
        params = _params(entry, args)
        level = entry.id
    app = _open_app(args, headless=True, level=level, size=args.size, params=params, seed=args.seed)
    if app is None:
        return 1
    try:
        error = render_shot(app, out, args.frames, tab=args.tab)
    except OSError as exc:  # the disk filled, the folder went away
        raise UsageError(f"could not write {_shown(out)}: {exc.strerror or exc}") from None
    finally:
        app.shutdown()
    print(f"saved {out}")
    if error:
        print(f"the level reported an error:\n{error}", file=sys.stderr)
        return 1
    return 0


def cmd_run(args) -> int:
    from .runner import Runner

    _, entry = _entry(args)
    params = _params(entry, args)
    runner = Runner(entry.manifest, entry.model_class(), params, seed=args.seed, backend=_backend(args))
    runner.step(args.steps)
    if args.json:
        print(json.dumps(runner.to_json(history=args.history)))
    else:
        result = runner.to_json(history=None)
        print(f"{entry.id}: {runner.steps} steps" + (" (diverged)" if runner.diverged else ""))
        for name, value in result["observables"].items():
            print(f"  {name:20s} {value}")
    if runner.error:
        print(f"continuous-function: the level's model failed: {runner.error.strip().splitlines()[-1]}",
              file=sys.stderr)
        return 1
    return 0


def cmd_challenge(args) -> int:
    from .challenges import AnswerError, ChallengeRun

    _, entry = _entry(args)
    challenges = entry.manifest.challenges
    if args.challenge not in challenges:
        raise UsageError(f"level {entry.id!r} has no challenge {args.challenge!r}; challenges: {', '.join(challenges) or '(none)'}")
    attempt = ChallengeRun(entry, challenges[args.challenge], backend=_backend(args))
    try:
        attempt.lock(args.answer, args.confidence)
    except AnswerError as exc:
        raise UsageError(str(exc)) from None
    verdict = attempt.finish()
    out = {"level": entry.id, **verdict.to_json(), "params": attempt.params, "steps": attempt.runner.steps}
    if args.json:
        print(json.dumps(out, default=_json_safe))
    else:
        print(f"predicted {out['prediction']}, measured {out['measured']}: {out['verdict']}, score {out['score']:.0f}")
        if verdict.hint:
            print(f"hint: {verdict.hint}")
    return 0


def cmd_validate(args) -> int:
    from .validate import validate_level

    _existing_folder(args.dir, "the level folder")
    problems = validate_level(args.dir, frames=args.frames, backend=args.backend)
    for line in problems:
        print(f"FAIL {line}")
    if problems:
        return 1
    print(f"ok: {args.dir} is a valid level")
    return 0


def cmd_new_level(args) -> int:
    from .scaffold import ScaffoldError, new_level

    _existing_folder(args.dir, "--dir")
    try:
        folder = new_level(args.id, args.dir)
    except ScaffoldError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"could not create the level in {_shown(args.dir)}: {exc.strerror or exc}") from None
    print(f"created {folder}\nnext: continuous-function --levels-dir {args.dir} play {args.id}")
    return 0


def cmd_goldens(args) -> int:
    import tempfile

    from . import goldens

    registry = _registry(args)
    try:
        entries = [registry.get(level) for level in args.levels] if args.levels else [
            e for e in registry.all_entries() if e.manifest is not None]
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for entry in entries:
            if entry.manifest is None:
                raise UsageError(f"level {entry.id!r} does not load: {entry.error}")
            for shot in goldens.shots(entry.manifest):
                golden = shot.path(entry.folder)
                out = golden if args.update else Path(tmp) / f"{entry.id}-{shot.name}.png"
                out.parent.mkdir(parents=True, exist_ok=True)
                try:
                    error = goldens.render(shot, out, registry=registry)
                except goldens.RendererError as exc:
                    raise UsageError(str(exc)) from None
                if error:
                    print(f"{entry.id}/{shot.name}: the level reported an error: {error.strip().splitlines()[-1]}")
                    failed += 1
                    continue
                if args.update:
                    print(f"wrote {golden}")
                    continue
                if not golden.is_file():
                    print(f"{entry.id}/{shot.name}: no golden (run with --update)")
                    failed += 1
                    continue
                diff = golden.with_name(f"{shot.name}-diff.png")
                mismatch = goldens.compare(out, golden, Path(tmp) / diff.name)
                ok = mismatch <= goldens.MAX_MISMATCH
                print(f"{entry.id}/{shot.name}: {mismatch:.2%} of pixels differ" + ("" if ok else "  MISMATCH"))
                failed += not ok
    return 1 if failed else 0


def cmd_bench(args) -> int:
    from .bench import bench_level, memory_level

    _, entry = _entry(args)
    params = _params(entry, args)
    result = (memory_level if args.memory else bench_level)(entry, args, params)
    if args.json:
        print(json.dumps(result, default=_json_safe))
    else:
        for key, value in result.items():
            print(f"{key:28s} {value}")
    return 0


def cmd_search(args) -> int:
    from .search import search

    registry = _registry(args)
    query = " ".join(args.text)
    if not query.strip():
        raise UsageError("search needs some text to look for")
    hits = search(registry, query, args.limit)
    if args.json:
        print(json.dumps({"query": query, "hits": [h.to_json() for h in hits]}, indent=2))
        return 0
    if not hits:
        print(f"Nothing matches {query!r}. Try fewer words, a formula's symbols, or an arXiv id.")
        return 0
    titles = {i: e.manifest.title for i, e in registry.entries.items()}
    for hit in hits:
        print(f"{hit.kind:9s} {hit.level_title} ({hit.level}){'' if hit.kind == 'level' else ': ' + hit.title}")
        if hit.snippet and hit.snippet != hit.title:
            print(f"{'':10s}{hit.snippet}")
        if len(hit.path) > 1:
            print(f"{'':10s}path: {' → '.join(titles.get(i, i) for i in hit.path)}")
    return 0


def cmd_notes(args) -> int:
    from .notes import notes_markdown
    from .progress import Progress

    registry = _registry(args)
    progress = Progress()
    try:
        text = notes_markdown(progress.notes(args.level), {i: e.manifest for i, e in registry.entries.items()})
        notice = progress.take_notice()
    finally:
        progress.close()
    if notice:
        print(notice, file=sys.stderr)
    if args.out is None:
        print(text, end="")
        return 0
    try:
        Path(args.out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {_shown(args.out)}: {exc.strerror or exc}") from None
    print(f"wrote {args.out}")
    return 0


def cmd_routes(args) -> int:
    from .progress import Progress
    from .routes import load_routes, next_step, progress_text, route_progress

    registry = _registry(args)
    routes, problems = load_routes(registry)
    progress = Progress()
    try:
        solved = lambda level: sum(r.solved for r in progress.challenges(level).values())  # noqa: E731
        visited = progress.visited()
        out = []
        for route in routes:
            steps = route_progress(route, registry, solved, visited)
            out.append({"id": route.id, "title": route.title, "summary": route.summary, "start": route.start,
                        "steps": list(route.steps), "missing": route.missing(registry),
                        "before": route.before(registry), "next": next_step(steps),
                        "progress": {p.level: {"solved": p.solved, "total": p.total, "done": p.done} for p in steps}})
    finally:
        progress.close()
    if args.json:
        print(json.dumps({"routes": out, "problems": problems}, indent=2))
        return 0
    titles = {i: e.manifest.title for i, e in registry.entries.items()}
    for route, data in zip(routes, out):
        mark = "  (start here)" if route.start else ""
        steps = route_progress(route, registry, lambda level: data["progress"][level]["solved"], set())
        print(f"{route.title}{mark}: {progress_text(steps)}")
        if data["before"]:
            print(f"  before it: {', '.join(titles[i] for i in data['before'])}")
        for level in route.steps:
            state = "not installed" if level not in titles else \
                f"{data['progress'][level]['solved']}/{data['progress'][level]['total']} solved"
            print(f"  {'→' if level == data['next'] else ' '} {titles.get(level, level)} ({state})")
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 0


COMMANDS = {"list": cmd_list, "search": cmd_search, "notes": cmd_notes, "routes": cmd_routes, "play": cmd_play, "shot": cmd_shot, "run": cmd_run, "challenge": cmd_challenge,
            "validate": cmd_validate, "new-level": cmd_new_level, "goldens": cmd_goldens, "bench": cmd_bench, None: cmd_atlas}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(_join_negative_values(list(sys.argv[1:] if argv is None else argv)))
    except SystemExit as exc:  # a mistake (2, said in one line) or --help (0): a status, as every command gives
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    try:
        for folder in args.levels_dir:
            _existing_folder(Path(folder), "--levels-dir")
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"continuous-function: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
