"""Saved progress: every prediction, its measured outcome and its score, in SQLite.

The database lives in the user data folder. Each attempt is one transaction, so a crash loses
at most the attempt in flight. A file that is not a readable database is moved aside (the
message says where) and a fresh one is started: progress is never silently overwritten.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .paths import user_data_dir

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
"""


@dataclass(frozen=True)
class ChallengeRecord:
    """The best result so far of one challenge."""

    level: str
    challenge: str
    attempts: int
    best_score: float
    solved: bool


class Progress:
    """The progress store. ``notice`` holds a message for the learner (e.g. a corrupt file set aside)."""

    FILENAME = "progress.sqlite3"

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else user_data_dir() / self.FILENAME
        self.notice: str | None = None
        self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path)
            db.executescript(SCHEMA)
            row = db.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {row}")
            return db
        except sqlite3.DatabaseError as exc:
            try:
                db.close()
            except Exception:
                pass
            aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            self.path.replace(aside)
            self.notice = f"The progress file could not be read ({exc}); it was moved to {aside} and a fresh one started."
            db = sqlite3.connect(self.path)
            db.executescript(SCHEMA)
            return db

    def record(self, level: str, verdict) -> None:
        """Save one judged attempt (a :class:`sandbox.challenges.Verdict`)."""
        prediction = list(verdict.prediction) if isinstance(verdict.prediction, tuple) else verdict.prediction
        with self.db:
            self.db.execute(
                "INSERT INTO attempts (level, challenge, prediction, confidence, measured, correct, score, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (level, verdict.challenge, json.dumps(prediction), verdict.confidence, json.dumps(verdict.measured),
                 int(verdict.correct), verdict.score, time.time()),
            )

    def visit(self, level: str) -> None:
        """Remember that a level was opened."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO visits (level, last) VALUES (?, ?)", (level, time.time()))

    def challenges(self, level: str | None = None) -> dict[tuple[str, str], ChallengeRecord]:
        """Best score and solved flag per (level, challenge)."""
        query = "SELECT level, challenge, COUNT(*), MAX(score), MAX(correct) FROM attempts"
        args: tuple[Any, ...] = ()
        if level:
            query += " WHERE level = ?"
            args = (level,)
        rows = self.db.execute(query + " GROUP BY level, challenge", args).fetchall()
        return {(r[0], r[1]): ChallengeRecord(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows}

    def history(self, level: str, challenge: str) -> list[dict[str, Any]]:
        """Every attempt at one challenge, oldest first."""
        rows = self.db.execute(
            "SELECT prediction, confidence, measured, correct, score, created FROM attempts"
            " WHERE level = ? AND challenge = ? ORDER BY id", (level, challenge)).fetchall()
        return [dict(prediction=json.loads(r[0]), confidence=r[1], measured=json.loads(r[2]), correct=bool(r[3]),
                     score=r[4], created=r[5]) for r in rows]

    def visited(self) -> set[str]:
        """The levels opened at least once."""
        return {r[0] for r in self.db.execute("SELECT level FROM visits")}

    def close(self) -> None:
        self.db.close()
