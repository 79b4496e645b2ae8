"""Notes on the exact object, their Markdown, and "Ask about this"."""

from __future__ import annotations

import sqlite3

import pytest

from sandbox.notes import ask_prompt, describe, notes_markdown, targets
from sandbox.progress import Progress
from sandbox.registry import Registry
from sandbox.testing import open_challenge


@pytest.fixture(scope="module")
def eos():
    return Registry(packs=False).get("eos_canyon").manifest


def test_a_note_is_kept_on_its_object_and_survives_a_restart(tmp_path):
    store = Progress(tmp_path / "p.sqlite3")
    note = store.add_note("eos_canyon", "claim:hovers_at_two_over_eta", "reproduction", "  η = 0.02, 1500 steps  ")
    assert note.text == "η = 0.02, 1500 steps" and note.target == "claim:hovers_at_two_over_eta"
    assert store.add_note("eos_canyon", "", "question", "   ") is None  # nothing to save
    with pytest.raises(ValueError, match="reproduction, repair, question"):
        store.add_note("eos_canyon", "", "rant", "x")
    store.add_note("kv_cache", "", "question", "why 2?")
    store.close()
    again = Progress(tmp_path / "p.sqlite3")
    assert [n.text for n in again.notes("eos_canyon")] == ["η = 0.02, 1500 steps"]
    assert [n.level for n in again.notes()] == ["eos_canyon", "kv_cache"]
    again.delete_note(again.notes("kv_cache")[0].id)
    assert again.notes("kv_cache") == []


def test_a_file_of_the_previous_schema_gains_notes_and_keeps_its_attempts(tmp_path):
    path = tmp_path / "p.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, level TEXT NOT NULL, challenge TEXT NOT NULL,
            prediction TEXT NOT NULL, confidence REAL NOT NULL, measured TEXT NOT NULL, correct INTEGER NOT NULL,
            score REAL NOT NULL, created REAL NOT NULL);
        CREATE TABLE visits (level TEXT PRIMARY KEY, last REAL NOT NULL);
        PRAGMA user_version = 1;""")
    old.execute("INSERT INTO attempts (level, challenge, prediction, confidence, measured, correct, score, created)"
                " VALUES ('lvl', 'c', '3.0', 0.9, '10.0', 0, 19.0, 1.0)")
    old.commit()
    old.close()
    store = Progress(path)
    assert store.notice is None and store.challenges("lvl")["c"].attempts == 1
    assert store.add_note("lvl", "", "repair", "fixed") is not None and len(store.notes("lvl")) == 1
    store.set_profile("goal", "read the Mamba paper")
    assert store.profile() == {"goal": "read the Mamba paper"}


def test_the_kiosk_forgets_notes_and_profile_with_the_visitor():
    store = Progress(":memory:")
    store.add_note("lvl", "", "question", "q")
    store.set_profile("style", "code first")
    assert store.reset_session()
    assert store.notes() == [] and store.profile() == {}


def test_every_object_of_a_level_can_carry_a_note(eos):
    keys = [t.key for t in targets(eos)]
    assert keys[0] == ""
    assert {f"claim:{c}" for c in eos.claims} | {f"challenge:{c}" for c in eos.challenges} <= set(keys)
    assert {f"formula:{i}" for i in range(len(eos.math))} <= set(keys)
    gone = describe(eos, "claim:renamed_since")  # an old note still reads
    assert gone.kind == "claim" and "no longer" in gone.detail


def test_notes_export_to_markdown_under_the_object_they_are_about(tmp_path, eos):
    store = Progress(tmp_path / "p.sqlite3")
    store.add_note("eos_canyon", "claim:hovers_at_two_over_eta", "reproduction", "η = 0.02 hovers at 100")
    store.add_note("eos_canyon", "formula:0", "question", "where does the 2 come from?")
    text = notes_markdown(store.notes(), {"eos_canyon": eos})
    assert text.startswith("# Notes from Continuous Function")
    assert "## The Edge of Stability (`eos_canyon`)" in text
    assert "### Reproduction on claim:" in text and "> The ball starts" in text
    assert "$$\n" + eos.math[0][0] + "\n$$" in text and "where does the 2 come from?" in text
    assert notes_markdown([], {}).strip().endswith("No notes yet.")


def test_the_question_for_an_assistant_states_the_claim_its_boundary_and_the_learner(eos):
    claim = eos.claims["hovers_at_two_over_eta"]
    params = eos.defaults()
    last = {"prediction": "bounce", "measured": "settle", "correct": False}
    profile = {"goal": "understand EoS", "comfort": "new to this", "style": "intuition first"}
    text = ask_prompt(eos, "claim:hovers_at_two_over_eta", params, last, profile, "Why 2/η?")
    assert claim.statement in text and claim.boundary in text
    assert "learning rate η = 0.05" in text and "network width" not in text  # only settings that apply
    assert "My last prediction was bounce; the simulation measured settle, so I was wrong." in text
    assert "My goal: understand EoS." in text and "I learn best intuition first." in text
    assert "Why 2/η?" in text


def test_a_note_left_from_the_panel_is_on_the_challenge_in_view_and_found_after_a_restart(make_app, tmp_path):
    app = make_app(level="eos_canyon")
    app.run_frames(2)
    open_challenge(app, "bounce_sharpness")
    tap(app, "header:note")
    assert app.notes.open and app.notes.mode == "note" and app.notes.target == "challenge:bounce_sharpness"
    app.notes.text = "I guessed 2/η too low"
    app.notes.kind = 1
    tap(app, "notes:save")
    tap(app, "header:ask")
    assert app.notes.mode == "ask"
    tap(app, "ask:copy")
    assert app.clipboard.startswith("I am learning with Continuous Function") and "The challenge I am working" in app.clipboard
    app.shutdown()  # the app ends; a new one opens the same file
    again = make_app(progress=Progress(tmp_path / "progress.sqlite3"))
    notes = again.progress.notes("eos_canyon")
    assert [(n.kind, n.target, n.text) for n in notes] == [("repair", "challenge:bounce_sharpness",
                                                           "I guessed 2/η too low")]


def tap(app, mark, frames=4):
    app.run_frames(2)
    x, y, w, h = app.marks[mark]
    app.inject("tap", x + w / 2, y + h / 2)
    app.run_frames(frames)


def test_a_wrong_answer_offers_the_claim_to_repair_and_opens_it(make_app):
    app = make_app(level="attention_worked", size=(1280, 720))
    app.run_frames(2)
    open_challenge(app, "self_share")
    host = app.host
    assert host.challenges.lock(host.manifest.challenges["self_share"], 0.01)
    while host.challenges.attempt.verdict is None:
        app.run_frames(5)
    assert not host.challenges.attempt.verdict.correct
    tap(app, "repair", frames=8)
    assert app.host.entry.id == "softmax_sampling" and app.host.tab == "About"


def test_while_a_prediction_is_open_the_question_for_an_assistant_leaves_out_the_last_measurement(make_app):
    from sandbox.challenges import judge

    app = make_app(level="eos_canyon")
    app.run_frames(2)
    challenge = app.host.manifest.challenges["bounce_sharpness"]
    app.progress.record("eos_canyon", judge(challenge, 30.0, 40.0, 0.8))
    open_challenge(app, "bounce_sharpness")  # trying again: choosing a prediction
    app.notes.show("eos_canyon", "challenge:bounce_sharpness", "ask")
    app.run_frames(4)
    assert "The challenge I am working on" in app.notes.prompt and "measured" not in app.notes.prompt
    app.host.challenges.close()
    app.host.challenges.selected = None  # the prediction is put away: the last attempt may be mentioned
    app.run_frames(3)
    assert "the simulation measured 40" in app.notes.prompt
