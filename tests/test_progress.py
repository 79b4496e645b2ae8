"""Progress persists, and a corrupt file is set aside, never overwritten."""

import pytest

from sandbox.challenges import judge
from sandbox.manifest import Challenge
from sandbox.progress import Progress

CHALLENGE = Challenge(id="c", kind="number", question="?", measure="m", tolerance=1.0)


def test_attempts_persist_across_sessions(tmp_path):
    path = tmp_path / "p.sqlite3"
    store = Progress(path)
    store.record("lvl", judge(CHALLENGE, 3.0, 10.0, 0.9))
    store.record("lvl", judge(CHALLENGE, 9.5, 10.0, 0.9))
    store.visit("lvl")
    store.close()
    again = Progress(path)
    record = again.challenges("lvl")["c"]
    assert record.attempts == 2 and record.solved and record.best_score == pytest.approx(99.0)  # 100 (1 - 0.1^2)
    assert [a["prediction"] for a in again.history("lvl", "c")] == [3.0, 9.5]
    assert again.visited() == {"lvl"}


def test_a_corrupt_file_is_moved_aside_with_a_message(tmp_path):
    path = tmp_path / "p.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = Progress(path)
    assert store.notice and "moved to" in store.notice
    aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    store.record("lvl", judge(CHALLENGE, 10.0, 10.0, 0.7))
    assert store.challenges("lvl")["c"].solved and not store.in_memory


def test_records_are_keyed_by_challenge_id_and_kept_per_level(tmp_path):
    store = Progress(tmp_path / "p.sqlite3")
    store.record("a", judge(CHALLENGE, 10.0, 10.0, 1.0))
    store.record("b", judge(CHALLENGE, 0.0, 10.0, 1.0))
    assert set(store.challenges("a")) == {"c"} and store.challenges("a")["c"].solved
    assert not store.challenges("b")["c"].solved
    assert store.challenges("nowhere") == {}


def test_an_attempt_is_committed_before_record_returns(tmp_path):
    import sqlite3

    path = tmp_path / "p.sqlite3"
    store = Progress(path)
    store.record("lvl", judge(CHALLENGE, 10.0, 10.0, 0.7))
    other = sqlite3.connect(path)  # another program, while the store is still open
    assert other.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 1
    other.close()


def test_a_file_of_the_first_schema_is_migrated_with_its_records(tmp_path):
    import sqlite3

    from sandbox.progress import SCHEMA, SCHEMA_VERSION

    path = tmp_path / "p.sqlite3"
    old = sqlite3.connect(path)  # the first schema: the same tables, no version recorded
    old.executescript(SCHEMA)
    old.execute("INSERT INTO attempts (level, challenge, prediction, confidence, measured, correct, score, created)"
                " VALUES ('lvl', 'c', '3.0', 0.9, '10.0', 0, 19.0, 1.0)")
    old.commit()
    old.close()
    store = Progress(path)
    assert store.notice is None and not store.in_memory
    assert store.challenges("lvl")["c"].attempts == 1
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_the_kiosk_forgets_its_session_in_one_call_and_a_saved_store_never_does(tmp_path):
    kiosk = Progress(":memory:")
    kiosk.record("lvl", judge(CHALLENGE, 10.0, 10.0, 0.7))
    kiosk.visit("lvl")
    assert kiosk.reset_session() is True
    assert kiosk.challenges("lvl") == {} and kiosk.visited() == set()
    kiosk.record("lvl", judge(CHALLENGE, 10.0, 10.0, 0.7))  # the next visitor plays on
    assert kiosk.challenges("lvl")["c"].attempts == 1
    saved = Progress(tmp_path / "p.sqlite3")
    saved.record("lvl", judge(CHALLENGE, 10.0, 10.0, 0.7))
    assert saved.reset_session() is False and saved.challenges("lvl")["c"].attempts == 1
