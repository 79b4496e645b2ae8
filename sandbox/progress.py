"""Saved progress: every prediction, its measured outcome and its score, the learner's notes and
profile, in SQLite.

The database lives in the user data folder. Each attempt is one transaction, so a crash loses
at most the attempt in flight. Nothing the file or its folder does ends the app:

- a file that is not a readable database, or a database whose tables are not ours, is moved
  aside (the message says where) and a fresh one is started: progress is never silently
  overwritten;
- a healthy file that another program holds locked is waited for (SQLite's busy timeout), and
  then the session works from memory: a locked file is never taken for a corrupt one;
- a read-only file, a read-only or missing data folder, a full disk, or any SQLite error while
  saving or reading switches the session to memory, starting from what could still be read.

Each of these leaves a one-line message for the learner (:meth:`Progress.take_notice`); no
method raises a database error to its caller.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .paths import user_data_dir

log = logging.getLogger(__name__)

#: The schema's version, kept in the file's ``PRAGMA user_version``. Version 0 is the first
#: schema, written before the version was recorded: the same tables, so migrating it only
#: records the number. A later schema adds its step to ``_MIGRATIONS``.
SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    level TEXT NOT NULL,
    challenge TEXT NOT NULL,
    prediction TEXT NOT NULL,
    confidence REAL NOT NULL,
    measured TEXT NOT NULL,
    correct INTEGER NOT NULL,
    score REAL NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_level ON attempts(level, challenge);
CREATE TABLE IF NOT EXISTS visits (level TEXT PRIMARY KEY, last REAL NOT NULL);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    level TEXT NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_level ON notes(level);
CREATE TABLE IF NOT EXISTS profile (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

#: The columns every version of our tables has; a table without one of them is not ours.
COLUMNS = {
    "attempts": {"id", "level", "challenge", "prediction", "confidence", "measured", "correct", "score", "created"},
    "visits": {"level", "last"},
    "notes": {"id", "level", "target", "kind", "text", "created"},
    "profile": {"key", "value"},
}

#: version -> the statements that bring a file of that version to the next one
_MIGRATIONS: dict[int, tuple[str, ...]] = {0: (), 1: ()}  # 1 -> 2 adds tables: SCHEMA creates them

#: what a note is: a way to reproduce a result, a repair of a misunderstanding, or a question
NOTE_KINDS = ("reproduction", "repair", "question")
NOTE_MAX_CHARS = 20_000
#: what the learner tells about themself, for "Ask about this" (see sandbox.companion)
PROFILE_KEYS = ("goal", "comfort", "style")

MEMORY_ONLY = "progress is kept in memory for this session only and will not be saved"

T = TypeVar("T")


@dataclass(frozen=True)
class Note:
    """A learner's note on an exact object: ``target`` is "" (the level itself), or
    ``"claim:<id>"``, ``"challenge:<id>"``, ``"formula:<index>"``."""

    id: int
    level: str
    target: str
    kind: str
    text: str
    created: float


@dataclass(frozen=True)
class ChallengeRecord:
    """The best result so far of one challenge."""

    level: str
    challenge: str
    attempts: int
    best_score: float
    solved: bool


class _NotOurs(Exception):
    """The file is a readable database, but its tables are not the ones this store writes."""


class _Damaged(Exception):
    """SQLite reads the file, but its integrity check fails."""


class _Newer(Exception):
    """The file was written by a newer version of the app (its schema version is higher)."""


def _error_kind(exc: sqlite3.Error) -> str:
    """``corrupt``, ``busy``, ``readonly`` (cannot write or open for writing) or ``other``."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        primary = code & 0xFF
        if primary in (11, 26):  # SQLITE_CORRUPT, SQLITE_NOTADB
            return "corrupt"
        if primary in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED
            return "busy"
        if primary in (3, 8, 10, 13, 14, 23):  # PERM, READONLY, IOERR, FULL, CANTOPEN, AUTH
            return "readonly"
        return "other"
    text = str(exc).lower()
    if "malformed" in text or "not a database" in text:
        return "corrupt"
    if "locked" in text or "busy" in text:
        return "busy"
    if "readonly" in text or "unable to open" in text or "disk i/o" in text or "full" in text:
        return "readonly"
    return "other"


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken at its start (``BEGIN IMMEDIATE``: a locked file waits the
    busy timeout there, rather than failing halfway); rolled back on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _json(value: Any) -> str:
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value, default=str)


def _loads(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


class Progress:
    """The progress store.

    ``path`` is the database file (default: ``progress.sqlite3`` in the user data folder), or
    ``":memory:"`` for a store kept for the session only (the kiosk's). ``in_memory`` tells
    whether the session is saving to disk; ``notice`` is the latest message for the learner (a
    corrupt file set aside, a locked or read-only file), and :meth:`take_notice` hands each
    message over once.
    """

    FILENAME = "progress.sqlite3"
    BUSY_TIMEOUT_S = 2.0

    def __init__(self, path: Path | str | None = None, busy_timeout_s: float = BUSY_TIMEOUT_S):
        self.notice: str | None = None
        self._pending: list[str] = []
        self.busy_timeout_s = float(busy_timeout_s)
        self.session_only = str(path) == ":memory:"
        self.in_memory = True
        self.path: Path | None = None
        if self.session_only:
            self.db = self._memory()
            return
        if path:
            self.path = Path(path)
        else:
            try:
                self.path = user_data_dir() / self.FILENAME
            except OSError as exc:
                self.db = self._memory()
                self._say(f"The user data folder could not be made ({exc}); {MEMORY_ONLY}.")
                return
        self.db = self._open()

    # -- messages ------------------------------------------------------------------------------
    def _say(self, message: str) -> None:
        message = " ".join(message.split())  # one line: SQLite's reports can run over several
        log.warning("%s", message)
        self.notice = message
        self._pending.append(message)

    def take_notice(self) -> str | None:
        """The messages not yet shown (one per line), once; None when there are none."""
        if not self._pending:
            return None
        text, self._pending = "\n".join(self._pending), []
        return text

    # -- opening -------------------------------------------------------------------------------
    @staticmethod
    def _memory() -> sqlite3.Connection:
        db = sqlite3.connect(":memory:", isolation_level=None)
        db.executescript(SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return db

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)

    def _open(self) -> sqlite3.Connection:
        db = None
        try:
            db = self._connect()
            self._prepare(db)
            self.in_memory = False
            return db
        except _NotOurs as exc:
            self._close(db)
            return self._set_aside(f"its tables are not the ones this version writes: {exc}")
        except _Damaged as exc:
            self._close(db)
            return self._set_aside(str(exc))
        except _Newer as exc:
            return self._fall_back(db, f"The progress file {self.path} was written by a newer version of "
                                       f"Continuous Function ({exc}); {MEMORY_ONLY}")
        except sqlite3.Error as exc:
            kind = _error_kind(exc)
            if kind == "corrupt":
                self._close(db)
                return self._set_aside(str(exc))
            if kind == "busy":
                return self._fall_back(db, f"The progress file {self.path} is in use by another program "
                                           f"({exc}); {MEMORY_ONLY}")
            if kind == "other" and db is not None and self._schema_conflict(db):
                self._close(db)
                return self._set_aside(f"its tables are not the ones this version writes: {exc}")
            return self._fall_back(db, f"The progress file {self.path} cannot be written ({exc}); {MEMORY_ONLY}")

    def _prepare(self, db: sqlite3.Connection) -> None:
        """Check the file (integrity, then that its tables are ours), then create or migrate the
        schema in one write transaction, which also proves the file can be written."""
        row = db.execute("PRAGMA integrity_check(1)").fetchone()
        if row is None or row[0] != "ok":
            found = " ".join(str(row[0]).split()) if row else "no answer"
            raise _Damaged(f"integrity check failed: {found[:160]}")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise _Newer(f"schema version {version}; this version reads {SCHEMA_VERSION}")
        self._check_tables(db)
        with _transaction(db):  # statement by statement: executescript would commit on its own
            for statement in filter(str.strip, SCHEMA.split(";")):
                db.execute(statement)
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    db.execute(statement)
            # written every time, so a file or folder we may not write is found here, at the start
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @staticmethod
    def _check_tables(db: sqlite3.Connection) -> None:
        objects = dict(db.execute("SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall())
        tables = {name for name, kind in objects.items() if kind == "table"}
        if tables and "attempts" not in tables:
            raise _NotOurs(f"no attempts table; tables: {', '.join(sorted(tables))}")
        for name, columns in COLUMNS.items():
            if name not in objects:
                continue
            if objects[name] != "table":
                raise _NotOurs(f"{name} is a {objects[name]}, not a table")
            have = {r[1] for r in db.execute(f"PRAGMA table_info({name})")}
            missing = columns - have
            if missing:
                raise _NotOurs(f"{name} has no column {', '.join(sorted(missing))}")

    @staticmethod
    def _schema_conflict(db: sqlite3.Connection) -> bool:
        """A generic SQL error while creating our tables: the file holds something in their way."""
        try:
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.Error:
            return False
        return bool(names & {"attempts", "visits", "attempts_level", "notes", "notes_level", "profile"})

    def _set_aside(self, reason: str) -> sqlite3.Connection:
        """Move an unreadable file (and its journal) aside and start a fresh one at the same path."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        try:
            self.path.replace(aside)
        except OSError as exc:
            self._say(f"The progress file {self.path} could not be read ({reason}) nor moved aside ({exc}); "
                      f"{MEMORY_ONLY}.")
            return self._memory()
        for suffix in ("-journal", "-wal", "-shm"):
            # a journal left beside the old file must not be played into the fresh one
            side = self.path.with_name(self.path.name + suffix)
            with contextlib.suppress(OSError):
                if side.exists():
                    side.replace(aside.with_name(aside.name + suffix))
        db = None
        try:
            db = self._connect()
            self._prepare(db)
        except (sqlite3.Error, _NotOurs, _Damaged, _Newer) as exc:
            self._close(db)
            self._say(f"The progress file could not be read ({reason}); it was moved to {aside}, and a fresh one "
                      f"could not be started ({exc}); {MEMORY_ONLY}.")
            return self._memory()
        self.in_memory = False
        self._say(f"The progress file could not be read ({reason}); it was moved to {aside} and a fresh one started.")
        return db

    def _fall_back(self, db: sqlite3.Connection | None, message: str) -> sqlite3.Connection:
        """Continue in memory, from a copy of what ``db`` still lets us read (nothing if it does not)."""
        memory = self._memory()
        copied = 0
        if db is not None:
            # row by row rather than Connection.backup, which retries a locked file for ever
            try:
                attempts = db.execute("SELECT level, challenge, prediction, confidence, measured, correct, score,"
                                      " created FROM attempts ORDER BY id").fetchall()
                visits = db.execute("SELECT level, last FROM visits").fetchall()
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                notes = db.execute("SELECT level, target, kind, text, created FROM notes ORDER BY id").fetchall() \
                    if "notes" in tables else []
                profile = db.execute("SELECT key, value FROM profile").fetchall() if "profile" in tables else []
                with _transaction(memory):
                    memory.executemany("INSERT INTO attempts (level, challenge, prediction, confidence, measured,"
                                       " correct, score, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", attempts)
                    memory.executemany("INSERT OR REPLACE INTO visits (level, last) VALUES (?, ?)", visits)
                    memory.executemany("INSERT INTO notes (level, target, kind, text, created) VALUES (?, ?, ?, ?, ?)",
                                       notes)
                    memory.executemany("INSERT OR REPLACE INTO profile (key, value) VALUES (?, ?)", profile)
                copied = len(attempts) + len(visits) + len(notes) + len(profile)
            except sqlite3.Error:
                memory.close()
                memory = self._memory()
        self._close(db)
        self.db = memory
        self.in_memory = True
        self._say(message + (", starting from what it holds." if copied else "."))
        return memory

    @staticmethod
    def _close(db: sqlite3.Connection | None) -> None:
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()

    # -- every use of the database goes through here ----------------------------------------
    def _use(self, what: str, action: Callable[[sqlite3.Connection], T], default: T) -> T:
        """Run ``action`` on the database; on a database error, switch to memory (once, with a
        message) and run it there. Never raises a database error."""
        try:
            return action(self.db)
        except sqlite3.Error as exc:
            if self.in_memory:
                log.warning("progress (in memory): could not %s: %s", what, exc)
                return default
            self._fall_back(self.db, f"Progress could not {what} in {self.path} ({exc}); {MEMORY_ONLY}")
        try:
            return action(self.db)
        except sqlite3.Error as exc:
            log.warning("progress (in memory): could not %s: %s", what, exc)
            return default

    # -- the store -----------------------------------------------------------------------------
    def record(self, level: str, verdict) -> None:
        """Save one judged attempt (a :class:`sandbox.challenges.Verdict`), in one transaction."""
        row = (level, verdict.challenge, _json(verdict.prediction), float(verdict.confidence),
               _json(verdict.measured), int(bool(verdict.correct)), float(verdict.score), time.time())

        def insert(db):
            with _transaction(db):
                db.execute("INSERT INTO attempts (level, challenge, prediction, confidence, measured, correct, score,"
                           " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)

        self._use("save an attempt", insert, None)

    def visit(self, level: str) -> None:
        """Remember that a level was opened."""
        def upsert(db):
            with _transaction(db):
                db.execute("INSERT OR REPLACE INTO visits (level, last) VALUES (?, ?)", (level, time.time()))

        self._use("save a visit", upsert, None)

    def challenges(self, level: str) -> dict[str, ChallengeRecord]:
        """Best score and solved flag of each challenge of ``level`` tried so far, by challenge id."""
        def query(db):
            rows = db.execute("SELECT challenge, COUNT(*), MAX(score), MAX(correct) FROM attempts WHERE level = ?"
                              " GROUP BY challenge", (level,)).fetchall()
            return {r[0]: ChallengeRecord(level, r[0], int(r[1]), float(r[2]), bool(r[3])) for r in rows}

        return self._use("read the attempts", query, {})

    def history(self, level: str, challenge: str) -> list[dict[str, Any]]:
        """Every attempt at one challenge, oldest first."""
        def query(db):
            rows = db.execute("SELECT prediction, confidence, measured, correct, score, created FROM attempts"
                              " WHERE level = ? AND challenge = ? ORDER BY id", (level, challenge)).fetchall()
            return [{"prediction": _loads(r[0]), "confidence": r[1], "measured": _loads(r[2]),
                     "correct": bool(r[3]), "score": r[4], "created": r[5]} for r in rows]

        return self._use("read the attempts", query, [])

    def last_attempt(self, level: str) -> dict[str, Any] | None:
        """The most recent attempt at any challenge of ``level`` (with its ``challenge``), or None."""
        def query(db):
            r = db.execute("SELECT challenge, prediction, confidence, measured, correct, score, created FROM attempts"
                           " WHERE level = ? ORDER BY id DESC LIMIT 1", (level,)).fetchone()
            return None if r is None else {"challenge": r[0], "prediction": _loads(r[1]), "confidence": r[2],
                                           "measured": _loads(r[3]), "correct": bool(r[4]), "score": r[5],
                                           "created": r[6]}

        return self._use("read the attempts", query, None)

    def visited(self) -> set[str]:
        """The levels opened at least once."""
        return self._use("read the visits", lambda db: {r[0] for r in db.execute("SELECT level FROM visits")}, set())

    # -- notes and the learner's profile ----------------------------------------------------
    def add_note(self, level: str, target: str, kind: str, text: str) -> Note | None:
        """Save a note on ``level`` (and ``target`` inside it, "" for the level); returns it, or
        None when there is nothing to save. Raises ValueError for a kind not in NOTE_KINDS."""
        if kind not in NOTE_KINDS:
            raise ValueError(f"a note is one of {', '.join(NOTE_KINDS)}, not {kind!r}")
        text = str(text).strip()[:NOTE_MAX_CHARS]
        if not text:
            return None
        created = time.time()

        def insert(db):
            with _transaction(db):
                cursor = db.execute("INSERT INTO notes (level, target, kind, text, created) VALUES (?, ?, ?, ?, ?)",
                                    (level, target, kind, text, created))
            return Note(int(cursor.lastrowid), level, target, kind, text, created)

        return self._use("save a note", insert, None)

    def notes(self, level: str | None = None) -> list[Note]:
        """The notes on ``level`` (every note when None), oldest first."""
        def query(db):
            sql = "SELECT id, level, target, kind, text, created FROM notes"
            rows = db.execute(sql + (" WHERE level = ? ORDER BY id" if level else " ORDER BY level, id"),
                              (level,) if level else ()).fetchall()
            return [Note(int(r[0]), r[1], r[2], r[3], r[4], float(r[5])) for r in rows]

        return self._use("read the notes", query, [])

    def delete_note(self, note_id: int) -> None:
        """Remove one note."""
        def delete(db):
            with _transaction(db):
                db.execute("DELETE FROM notes WHERE id = ?", (int(note_id),))

        self._use("delete a note", delete, None)

    def profile(self) -> dict[str, str]:
        """What the learner said about themself (keys of PROFILE_KEYS that were set)."""
        def query(db):
            return {k: v for k, v in db.execute("SELECT key, value FROM profile") if k in PROFILE_KEYS}

        return self._use("read the profile", query, {})

    def set_profile(self, key: str, value: str) -> None:
        """Remember one answer of the learner's profile."""
        if key not in PROFILE_KEYS:
            raise ValueError(f"the profile holds {', '.join(PROFILE_KEYS)}, not {key!r}")

        def upsert(db):
            with _transaction(db):
                db.execute("INSERT OR REPLACE INTO profile (key, value) VALUES (?, ?)", (key, str(value)[:500]))

        self._use("save the profile", upsert, None)

    def reset_session(self) -> bool:
        """Forget every attempt, visit, note and profile answer of a session-only store (``":memory:"``, the kiosk's),
        so the next visitor starts afresh; returns True if it did. A store saved on disk is left
        as it is: an idle timer never erases a learner's progress."""
        if not self.session_only:
            return False
        self.db.close()
        self.db = self._memory()
        return True

    def close(self) -> None:
        """Close the database (every attempt is already committed)."""
        self._close(self.db)
