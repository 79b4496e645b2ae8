"""Faults of the progress database, generated from seeds: whatever the file or its folder does,
the store works (from disk, or from memory with a message) and never raises; a healthy file
that another program holds locked is never moved aside; a file that is not ours is.

Permissions are real: as root (who may write anything) the read-only cases run in a child
process that has dropped to an unprivileged user.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import stat
import tempfile
import traceback
from pathlib import Path

import pytest

from sandbox.challenges import judge
from sandbox.manifest import Challenge
from sandbox.progress import SCHEMA, SCHEMA_VERSION, Progress

CHALLENGE = Challenge(id="c", kind="number", question="?", measure="m", tolerance=1.0)
NOBODY = 65534
TIMEOUT_S = 0.05  # the busy timeout: short, so a locked file costs the tests little
COLUMNS = ["level", "challenge", "prediction", "confidence", "measured", "correct", "score", "created"]

LOCKED = {"locked_writer", "locked_exclusive"}
READ_ONLY = {"readonly_file", "readonly_folder", "readonly_folder_no_db", "data_folder_cannot_be_made"}
NOT_OURS = {"missing_column", "unrelated_tables", "attempts_is_a_view", "visits_without_last", "garbage",
            "garbage_after_header", "truncated"}
IN_MEMORY = LOCKED | READ_ONLY | {"directory", "newer_version"}
FROM_DISK = {"zero_length", "first_schema"}
EITHER = {"damaged_pages"}  # bytes overwritten inside the file: SQLite may or may not notice
FAULTS = sorted(LOCKED | READ_ONLY | NOT_OURS | FROM_DISK | EITHER | {"directory", "newer_version"})
SEEDS = range(4)


def _healthy(path: Path, rng: random.Random) -> int:
    """A database of ours with a few committed attempts; returns how many."""
    store = Progress(path)
    n = rng.randint(1, 4)
    for _ in range(n):
        store.record("lvl", judge(CHALLENGE, rng.uniform(0, 20), 10.0, rng.choice([0.5, 0.7, 1.0])))
    store.visit("lvl")
    store.close()
    return n


def _build(fault: str, rng: random.Random, folder: Path) -> dict:
    """Make the fault on disk; returns what the check needs (the path, a lock holder, counts)."""
    path = folder / "progress.sqlite3"
    case: dict = {"path": path, "saved": 0, "holder": None, "data_dir": None}
    if fault in LOCKED:
        case["saved"] = _healthy(path, rng)
        holder = sqlite3.connect(path, isolation_level=None)
        if fault == "locked_writer":  # another program in the middle of a write transaction
            holder.execute("BEGIN IMMEDIATE")
            holder.execute("INSERT INTO visits (level, last) VALUES ('elsewhere', 1.0)")
        else:  # another program committing: nobody may even read
            holder.execute("BEGIN EXCLUSIVE")
        case["holder"] = holder
    elif fault == "readonly_file":
        case["saved"] = _healthy(path, rng)
        path.chmod(0o444)
        folder.chmod(0o777)  # the folder is writable, the file is not
    elif fault == "readonly_folder":
        case["saved"] = _healthy(path, rng)
        path.chmod(0o644)  # another user's file in another user's folder
    elif fault == "readonly_folder_no_db":
        pass
    elif fault == "data_folder_cannot_be_made":
        case["path"] = None
        case["data_dir"] = str(folder / "not" / "yet" / "there")
    elif fault == "missing_column":
        dropped = set(rng.sample(COLUMNS, rng.randint(1, len(COLUMNS))))
        kept = [c for c in COLUMNS if c not in dropped]
        db = sqlite3.connect(path)
        db.execute(f"CREATE TABLE attempts (id INTEGER PRIMARY KEY{''.join(', ' + c for c in kept)})")
        db.commit()
        db.close()
    elif fault == "unrelated_tables":
        db = sqlite3.connect(path)
        for i in range(rng.randint(1, 3)):
            db.execute(f"CREATE TABLE t{i} (a, b)")
            db.execute(f"INSERT INTO t{i} VALUES (?, ?)", (rng.random(), "x"))
        db.commit()
        db.close()
    elif fault == "attempts_is_a_view":
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE t (level, challenge)")
        db.execute("CREATE VIEW attempts AS SELECT * FROM t")
        db.commit()
        db.close()
    elif fault == "visits_without_last":
        db = sqlite3.connect(path)
        db.executescript(SCHEMA.replace("last REAL NOT NULL", "seen INTEGER"))
        db.close()
    elif fault == "garbage":
        path.write_bytes(rng.randbytes(rng.randint(1, 20_000)))
    elif fault == "garbage_after_header":
        path.write_bytes(b"SQLite format 3\x00" + rng.randbytes(rng.randint(100, 20_000)))
    elif fault == "truncated":  # a database cut short after its first page
        _healthy(path, rng)
        with sqlite3.connect(path) as db:  # enough rows for several pages
            db.executemany("INSERT INTO visits (level, last) VALUES (?, ?)",
                           [(f"level{i}" * 20, float(i)) for i in range(400)])
        db.close()
        data = path.read_bytes()
        path.write_bytes(data[:4096 + rng.randint(0, 4096)])
    elif fault == "damaged_pages":
        case["saved"] = _healthy(path, rng)
        with sqlite3.connect(path) as db:  # enough rows for several pages
            db.executemany("INSERT INTO visits (level, last) VALUES (?, ?)",
                           [(f"level{i}" * 20, float(i)) for i in range(400)])
        db.close()
        data = bytearray(path.read_bytes())
        for _ in range(rng.randint(1, 40)):
            data[rng.randrange(4096, len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data))
    elif fault == "zero_length":
        path.write_bytes(b"")
    elif fault == "directory":
        path.mkdir()
        (path / "inside").write_text("a folder where the database should be")
    elif fault == "newer_version":
        case["saved"] = _healthy(path, rng)
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1 + rng.randint(0, 5)}")
        db.commit()
        db.close()
    elif fault == "first_schema":
        db = sqlite3.connect(path)
        db.executescript(SCHEMA)
        n = rng.randint(1, 4)
        db.executemany("INSERT INTO attempts (level, challenge, prediction, confidence, measured, correct, score,"
                       " created) VALUES ('lvl', 'c', '1.0', 0.7, '10.0', 0, 51.0, 1.0)", [()] * n)
        db.commit()
        db.close()
        case["saved"] = n
    else:
        raise AssertionError(fault)
    return case


def _exercise(path: str | None, data_dir: str | None) -> dict:
    """Open the store and use every method once; returns what was seen. Any exception is a failure."""
    if data_dir is not None:
        os.environ["CF_DATA_DIR"] = data_dir
    store = Progress(path, busy_timeout_s=TIMEOUT_S)
    seen = {"notice": store.notice, "in_memory": store.in_memory}
    seen["before"] = sum(r.attempts for r in store.challenges("lvl").values())
    store.visit("lvl")
    store.record("lvl", judge(CHALLENGE, 10.0, 10.0, 0.8))
    seen["after"] = sum(r.attempts for r in store.challenges("lvl").values())
    seen["history"] = len(store.history("lvl", "c"))
    seen["visited"] = sorted(store.visited())
    seen["taken"] = store.take_notice()
    seen["taken_again"] = store.take_notice()
    seen["in_memory_at_end"] = store.in_memory
    store.close()
    return seen


def _unprivileged(fn, *args):
    """Run ``fn(*args)`` as a user the file permissions apply to (a forked child when we are root)."""
    if os.geteuid() != 0:
        return fn(*args)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, run, report, and leave without running the parent's exit hooks
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            out = json.dumps({"ok": fn(*args)})
        except BaseException:  # noqa: BLE001 - the child reports anything, then leaves
            out = json.dumps({"error": traceback.format_exc()})
        with os.fdopen(write, "w") as f:
            f.write(out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        data = f.read()
    os.waitpid(pid, 0)
    result = json.loads(data or '{"error": "the child process reported nothing"}')
    if "error" in result:
        pytest.fail(result["error"])
    return result["ok"]


@pytest.fixture
def folder():
    """A folder the unprivileged user can reach (pytest's own are private to their owner)."""
    base = Path(tempfile.mkdtemp(prefix="progress-faults-"))
    base.chmod(0o755)
    yield base
    for p in [base, *base.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | stat.S_IWUSR | stat.S_IXUSR)
    shutil.rmtree(base)


@pytest.mark.parametrize("fault, seed", [(f, s) for f in FAULTS for s in SEEDS]
                         + [(f, s) for f in EITHER for s in range(len(SEEDS), 6 * len(SEEDS))])
def test_a_database_fault_never_raises_and_says_what_happened(fault, seed, folder):
    rng = random.Random(f"{fault}-{seed}")
    case = _build(fault, rng, folder)
    path = case["path"]
    original = path.read_bytes() if path is not None and path.is_file() else None
    listing = sorted(p.name for p in folder.iterdir() if not p.name.endswith("-journal"))  # the holder's own
    try:
        if fault in READ_ONLY:
            seen = _unprivileged(_exercise, str(path) if path else None, case["data_dir"])
        else:
            seen = _exercise(str(path), None)
    finally:
        if case["holder"] is not None:
            case["holder"].execute("ROLLBACK")
            case["holder"].close()

    assert seen["after"] == seen["before"] + 1, "this session's attempt is counted"
    if not (fault in EITHER and seen["in_memory_at_end"]):  # (a damaged file may fail a later read)
        assert seen["history"] == seen["after"] and "lvl" in seen["visited"]
    assert seen["taken_again"] is None, "each message is handed over once"
    assert seen["notice"] is None or "\n" not in seen["notice"], "a message is one line"
    set_aside = sorted(p.name for p in folder.iterdir() if ".corrupt-" in p.name)

    if fault in FROM_DISK:
        assert seen["notice"] is None and not seen["in_memory_at_end"]
        assert seen["before"] == case["saved"]
        again = Progress(path)  # the session's attempt was saved
        assert sum(r.attempts for r in again.challenges("lvl").values()) == case["saved"] + 1
        again.close()
    elif fault in EITHER:  # read as it is, or set aside, or left for memory: each with a message
        assert not seen["in_memory"] and (seen["notice"] is None) == (not set_aside)
        assert not set_aside or (folder / set_aside[0]).read_bytes() == original
        assert (seen["taken"] is not None) == bool(set_aside or seen["in_memory_at_end"])
    elif fault in NOT_OURS:
        assert len(set_aside) == 1, "the file is kept, beside a fresh one"
        assert (folder / set_aside[0]).read_bytes() == original
        assert seen["notice"] and "moved to" in seen["notice"] and not seen["in_memory"]
        assert seen["before"] == 0 and seen["taken"] == seen["notice"]
    else:
        assert fault in IN_MEMORY
        assert seen["in_memory"] and seen["notice"] and "memory" in seen["notice"], seen
        assert seen["taken"] == seen["notice"]
        assert not set_aside, "a file that is locked, read-only or newer is never moved aside"
        assert sorted(p.name for p in folder.iterdir()) == listing, "nothing is created or moved"
        if original is not None and fault not in LOCKED:
            assert path.read_bytes() == original, "a file we may not write is left exactly as it was"
        if fault in {"locked_writer", "readonly_file", "readonly_folder", "newer_version"}:
            assert seen["before"] == case["saved"], "the session starts from what was saved"
        if fault in LOCKED:  # once the other program lets go, every committed attempt is there
            again = Progress(path)
            assert again.notice is None and not again.in_memory
            assert sum(r.attempts for r in again.challenges("lvl").values()) == case["saved"]
            again.close()
        if fault == "directory":
            assert (path / "inside").is_file()


@pytest.mark.parametrize("seed", range(6))
def test_a_fault_during_the_session_moves_it_to_memory_with_every_attempt(seed, folder):
    """The file is healthy at start; then another program locks it, makes it read-only, or drops a
    table. The store keeps every attempt of the session and says so once."""
    rng = random.Random(seed)
    path = folder / "progress.sqlite3"
    saved = _healthy(path, rng)
    store = Progress(path, busy_timeout_s=TIMEOUT_S)
    store.record("lvl", judge(CHALLENGE, 10.0, 10.0, 0.8))
    assert store.notice is None and not store.in_memory
    fault = ["locked_writer", "locked_exclusive", "dropped_table"][seed % 3]
    other = sqlite3.connect(path, isolation_level=None)
    if fault == "locked_writer":
        other.execute("BEGIN IMMEDIATE")
    elif fault == "locked_exclusive":
        other.execute("BEGIN EXCLUSIVE")
    else:
        other.execute("DROP TABLE attempts")
    for _ in range(rng.randint(1, 3)):
        store.record("lvl", judge(CHALLENGE, rng.uniform(0, 20), 10.0, 0.9))
        store.visit("lvl")
        store.challenges("lvl")
        store.history("lvl", "c")
        store.visited()
    assert store.in_memory and "memory" in store.take_notice() and store.take_notice() is None
    assert not [p for p in folder.iterdir() if ".corrupt-" in p.name]
    if fault == "locked_writer":  # the file could still be read: the session goes on from it
        assert store.challenges("lvl")["c"].attempts > saved + 1
    other.execute("ROLLBACK") if other.in_transaction else None
    other.close()
    store.close()
    if fault != "dropped_table":
        again = Progress(path)
        assert again.challenges("lvl")["c"].attempts == saved + 1, "what was committed stays committed"
        again.close()


@pytest.mark.parametrize("fault", ["locked_writer", "directory", "missing_column", "garbage"])
def test_the_app_starts_and_a_level_opens_and_records_whatever_the_database(fault, folder, make_app):
    case = _build(fault, random.Random(fault), folder)
    try:
        store = Progress(case["path"], busy_timeout_s=TIMEOUT_S)
        app = make_app(level="eos_canyon", progress=store)
        app.run_frames(2)
        verdict = judge(CHALLENGE, 10.0, 10.0, 0.8)
        app.record("eos_canyon", verdict)
        assert app.progress_records("eos_canyon")["c"].solved
        app.close_level()
        app.run_frames(2)  # the atlas reads every level's records
        assert app.host is None and store.notice
    finally:
        if case["holder"] is not None:
            case["holder"].execute("ROLLBACK")
            case["holder"].close()
