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
    record = again.challenges("lvl")[("lvl", "c")]
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
    assert store.challenges()[("lvl", "c")].solved
