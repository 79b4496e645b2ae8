"""``continuous-function validate DIR``: everything a level must satisfy, checked headless.

The manifest is read here (it is data; reading it runs nothing). The level's code (importing it,
constructing and stepping its model, frames of random input, its kernels and its challenges)
runs in a child process, stage by stage, each stage within a time limit: a level whose code
never returns, exits the process or crashes the interpreter gives a verdict naming the stage,
never a hang. The witness runs as its own process with its own limit.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .manifest import ManifestError, load_manifest

STAGE_TIMEOUT_S = 60.0  # each stage of the level's code: import, shaders, kernels, frames, each challenge
WITNESS_TIMEOUT_S = 120.0
ENGINE_TIMEOUT_S = 120.0  # the child's start-up (Python and the engine's own imports), before any level code
_ENGINE_STAGE = "starting the engine"
_OUTPUT_TAIL = 2000  # characters of the child's output quoted when it dies


def validate_level(folder: Path | str, frames: int = 120, backend: str | None = None,
                   timeout: float = STAGE_TIMEOUT_S, witness_timeout: float = WITNESS_TIMEOUT_S) -> list[str]:
    """Check a level folder: manifest, imports, shaders, its kernels against their numpy
    references on every available backend, frames of random input, challenges, README, witness.

    ``timeout`` bounds each stage of the level's code (seconds), ``witness_timeout`` the
    witness. Returns a list of problems (empty when the level is valid); never raises and never
    hangs for a bad level.
    """
    try:
        return _validate(Path(folder), frames, backend, timeout, witness_timeout)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - whatever happens, validate gives a verdict
        return [f"{folder}: validation stopped: {type(exc).__name__}: {exc}"]


def _validate(folder: Path, frames: int, backend: str | None, timeout: float, witness_timeout: float) -> list[str]:
    folder = folder.absolute()
    try:
        manifest = load_manifest(folder)
    except ManifestError as exc:
        return [str(exc)]
    from .registry import LevelEntry

    folder = folder.resolve()
    entry = LevelEntry(folder, "dir", manifest)
    problems = run_level_checks(folder, frames, backend, timeout)
    problems += _check_readme(entry)
    problems += _check_witness(entry, witness_timeout)
    return problems


# -- the parent's side: run the child, stage by stage, each within its limit -----------------------

def run_level_checks(folder: Path, frames: int = 120, backend: str | None = None,
                     timeout: float = STAGE_TIMEOUT_S) -> list[str]:
    """Run the checks of the level's code in a child process; each stage it reports must end
    within ``timeout`` seconds. Returns the problems found (the child's, or why it stopped)."""
    read_fd, write_fd = os.pipe()
    command = [sys.executable, "-m", "sandbox.validate", "--child", str(folder), "--frames", str(frames),
               "--report-fd", str(write_fd)]
    if backend:
        command += ["--backend", backend]
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)  # sandbox importable whatever the cwd
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryFile() as output:
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                       pass_fds=(write_fd,), env=env, start_new_session=True)
        finally:
            os.close(write_fd)
        timed_out = True  # until _follow says otherwise (an interrupt stops the child at once)
        engine_limit = max(timeout, ENGINE_TIMEOUT_S)
        try:
            problems, stage, done, timed_out = _follow(process, read_fd, timeout)
        finally:
            os.close(read_fd)
            _stop(process, grace=0.0 if timed_out else 10.0)
        if timed_out and stage == _ENGINE_STAGE:
            problems.append(f"{stage}: did not finish within {engine_limit:g} s; stopped")
        elif timed_out:
            problems.append(f"{stage}: did not finish within {timeout:g} s (level code that never returns?); stopped")
        elif not done:
            problems.append(f"{stage}: the level's code ended the validation process "
                            f"(exit code {process.returncode}) before it gave a verdict{_tail(output)}")
    return problems


def _follow(process: subprocess.Popen, read_fd: int, timeout: float) -> tuple[list[str], str, bool, bool]:
    """Read the child's reports until it is done, dies, or a stage outlives ``timeout``."""
    problems: list[str] = []
    stage, done, buffer = _ENGINE_STAGE, False, b""
    engine_limit = max(timeout, ENGINE_TIMEOUT_S)  # a loaded machine may be slow to start; no level code runs yet
    deadline = time.monotonic() + engine_limit
    with selectors.DefaultSelector() as selector:
        selector.register(read_fd, selectors.EVENT_READ)
        while not done:
            left = deadline - time.monotonic()
            if left <= 0:
                return problems, stage, False, True
            if not selector.select(min(left, 0.5)):
                if process.poll() is not None:  # it died; a descendant may still hold the pipe open
                    break
                continue
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    report = json.loads(line)
                except ValueError:
                    continue
                if "start" in report:
                    stage = str(report["start"])
                deadline = time.monotonic() + (engine_limit if stage == _ENGINE_STAGE else timeout)
                problems += [str(p) for p in report.get("problems", [])]
                done = done or bool(report.get("done"))
    return problems, stage, done, False


def _stop(process: subprocess.Popen, grace: float = 0.0) -> None:
    """End the child and anything it started (its own process group) after ``grace`` seconds
    for it to exit on its own, and reap it."""
    if grace > 0 and process.poll() is None:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _tail(output) -> str:
    output.seek(0, os.SEEK_END)
    size = output.tell()
    output.seek(max(0, size - 4 * _OUTPUT_TAIL))
    text = output.read().decode("utf-8", errors="replace").strip()[-_OUTPUT_TAIL:]
    return f"; its last output:\n{text}" if text else ""


# -- the child's side: the level's code, one stage at a time -------------------------------------

class _Reporter:
    """Writes the child's progress to the parent, one JSON line per event."""

    def __init__(self, fd: int):
        self.stream = os.fdopen(fd, "w", buffering=1, encoding="utf-8")

    def send(self, **report) -> None:
        self.stream.write(json.dumps(report) + "\n")
        self.stream.flush()

    def stage(self, name: str, check) -> list[str]:
        """Run one stage; any exception (``SystemExit`` included) is its problem."""
        self.send(start=name)
        try:
            problems = list(check())
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - level code may raise anything, sys.exit included
            problems = [f"{name}: {type(exc).__name__}: {exc}"]
        self.send(problems=problems)
        return problems


def _child(folder: Path, frames: int, backend: str | None, reporter: _Reporter) -> None:
    reporter.send(start=_ENGINE_STAGE)
    from .manifest import load_manifest
    from .model import Model
    from .registry import LevelEntry, Registry
    from .view import View

    manifest = load_manifest(folder)
    registry = Registry([folder.parent], builtin=False, packs=False)
    entry = registry.entries.get(manifest.id)
    if entry is None or entry.folder != folder:  # a sibling with the same id came first
        entry = LevelEntry(folder, "dir", manifest)
        registry.entries[manifest.id] = entry

    def imports() -> list[str]:
        problems = []
        for kind, loader, base in (("model", entry.model_class, Model), ("view", entry.view_class, View)):
            try:
                cls = loader()
                if not (isinstance(cls, type) and issubclass(cls, base)):
                    problems.append(f"{folder}: the {kind} {getattr(manifest, kind)!r} is not a subclass of "
                                    f"{base.__module__}.{base.__name__}")
            except Exception as exc:  # noqa: BLE001 - a load error is this check's finding
                problems.append(str(exc))
        return problems

    if reporter.stage("import", imports):
        return
    reporter.stage("shaders", lambda: _check_shaders(folder))
    reporter.stage("kernels", lambda: _check_kernels(entry))
    reporter.stage("frames", lambda: _check_frames(entry, registry, frames, backend))
    for challenge in manifest.challenges.values():
        reporter.stage(f"challenge {challenge.id}", lambda c=challenge: _check_challenge(entry, c))
    reporter.stage("claims", lambda: _check_claims(entry))


def _check_claims(entry) -> list[str]:
    """Every declared claim has its check: a claim without one is a statement no one can test.
    (The checks themselves run in the tests and from the About tab; they can take a while.)"""
    from . import claims

    problems = []
    for claim in entry.manifest.claims.values():
        try:
            claims.check_function(entry, claim)
        except Exception as exc:  # noqa: BLE001 - a missing claims.py or function is this check's finding
            problems.append(f"claim {claim.id!r} has no check: {exc}")
    return problems


def _child_main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sandbox.validate")
    parser.add_argument("--child", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--backend")
    parser.add_argument("--report-fd", type=int, required=True)
    args = parser.parse_args(argv)
    reporter = _Reporter(args.report_fd)
    try:
        _child(args.child, args.frames, args.backend, reporter)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which gives the verdict
        reporter.send(problems=[f"validation stopped: {type(exc).__name__}: {exc}"])
    reporter.send(done=True)
    return 0


def _check_shaders(folder: Path) -> list[str]:
    from sim.backends import BackendError, gl_context

    from .gfx.glsl import load_source
    from .gfx.shaders import compile_compute, compile_program

    files = sorted(folder.rglob("*.glsl"))
    if not files:
        return []
    try:
        ctx = gl_context()
    except BackendError as exc:
        return [f"cannot compile shaders: {exc}"]
    problems = []
    for path in files:
        try:
            stages = load_source(path).stages()
            if "VERTEX_SHADER" in stages:
                compile_program(ctx, path).release()
            if "COMPUTE_SHADER" in stages:
                compile_compute(ctx, path).release()
        except Exception as exc:  # noqa: BLE001 - every shader's error is reported, not just the first
            problems.append(f"shader {path.name}: {exc}")
    return problems


def _check_kernels(entry) -> list[str]:
    """The level's own kernels, on every backend available here, against their numpy references."""
    from .kernels import level_kernel_problems

    return level_kernel_problems(entry)


def _check_readme(entry) -> list[str]:
    from .registry import LevelFileError

    try:
        text = entry.read_text("README.md")
    except LevelFileError as exc:
        return [f"{entry.folder}: README.md for learners cannot be read: {exc}"]
    if len(text.strip()) < 40:
        return [f"{entry.folder}: README.md for learners is missing or empty (the claim and its boundary)"]
    return []


def _check_frames(entry, registry, frames: int, backend: str | None) -> list[str]:
    from .app import App
    from .fuzz import fuzz_frames
    from .progress import Progress

    try:
        app = App(size=(1024, 640), headless=True, level=entry.id, registry=registry, backend=backend,
                  progress=Progress(":memory:"))
    except Exception as exc:  # noqa: BLE001 - the level's failure to open is the finding
        return [f"cannot open the level headless: {exc}"]
    try:
        if app.host.error:
            return [f"the level failed to open:\n{app.host.error}"]
        return fuzz_frames(app, frames)
    finally:
        app.shutdown()


def _check_challenge(entry, challenge) -> list[str]:
    """That the challenge can be measured: its run plays out and the model's measure answers."""
    from .challenges import ChallengeRun

    neutral = challenge.choices[0] if challenge.kind == "choice" else ("0,0" if challenge.kind == "region" else 0.0)
    attempt = ChallengeRun(entry, challenge)
    try:
        attempt.lock(neutral, 0.5)
        attempt.finish()
    except Exception as exc:  # noqa: BLE001 - the measurement's failure is the finding
        return [f"challenge {challenge.id!r} cannot be measured: {exc}"]
    return []


def _check_witness(entry, timeout: float = WITNESS_TIMEOUT_S) -> list[str]:
    """The witness runs on its own, within ``timeout`` seconds, and exits 0."""
    if not os.path.lexists(Path(entry.folder) / "witness.py"):
        return []
    witness = entry.level_file("witness.py")
    if witness is None:
        return [f"witness.py cannot be run: {entry.file_problem('witness.py')}"]
    process = subprocess.Popen([sys.executable, str(witness)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        return [f"witness.py did not finish within {timeout:g} s; stopped"]
    finally:
        _stop(process)
    if process.returncode != 0:
        text = stderr.decode("utf-8", errors="replace")[-_OUTPUT_TAIL:]
        return [f"witness.py failed (exit code {process.returncode}):\n{text}"]
    return []


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
