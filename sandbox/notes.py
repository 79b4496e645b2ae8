"""Notes on the exact object, and the prompt that asks about it.

A learner's note belongs to a level and, inside it, to one object: the level itself, a claim, a
challenge or a formula of its math card. The target is written ``""``, ``"claim:<id>"``,
``"challenge:<id>"`` or ``"formula:<index>"`` (the store is :class:`sandbox.progress.Progress`).
This module names targets for people (:func:`targets`, :func:`describe`), writes notes out as
Markdown (:func:`notes_markdown`), and builds "Ask about this": a prompt for the learner's own
assistant about the object in view (:func:`ask_prompt`), made here without any network.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from .manifest import Manifest
from .progress import NOTE_KINDS, Note

#: the answers the profile offers (what the learner tells about themself)
COMFORT = ("new to this", "some background", "at home with the math")
STYLE = ("intuition first", "math first", "code first")


@dataclass(frozen=True)
class Target:
    """One object a note or a question can be about."""

    key: str  # "", "claim:<id>", "challenge:<id>", "formula:<index>"
    kind: str  # level, claim, challenge, formula
    label: str  # short, for a menu
    text: str  # the whole statement, question or formula
    detail: str = ""  # a claim's boundary, a formula's caption


def targets(manifest: Manifest) -> list[Target]:
    """Everything in ``manifest`` a note can be attached to, the level first."""
    out = [Target("", "level", f"the level: {manifest.title}", manifest.summary)]
    for claim in manifest.claims.values():
        out.append(Target(f"claim:{claim.id}", "claim", f"claim: {_clip(claim.statement)}", claim.statement,
                          claim.boundary))
    for challenge in manifest.challenges.values():
        out.append(Target(f"challenge:{challenge.id}", "challenge", f"challenge: {challenge.title}",
                          challenge.format_question(manifest.resolve_params(challenge.set)), challenge.explain))
    for i, (tex, caption) in enumerate(manifest.math):
        out.append(Target(f"formula:{i}", "formula", f"formula: {_clip(caption or tex)}", tex, caption))
    return out


def describe(manifest: Manifest | None, key: str) -> Target:
    """The target ``key`` of ``manifest``; one that no longer exists (a claim renamed since the
    note was left) is described by its key, so an old note still reads."""
    if manifest is not None:
        for target in targets(manifest):
            if target.key == key:
                return target
    kind = key.split(":", 1)[0] if key else "level"
    return Target(key, kind, key or "the level", key or "", "(no longer in the level)")


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def notes_markdown(notes: Iterable[Note], manifests: dict[str, Manifest]) -> str:
    """The notes as one Markdown document, by level, each under the object it is about."""
    notes = list(notes)
    lines = ["# Notes from Continuous Function", ""]
    if not notes:
        return "\n".join(lines + ["No notes yet.", ""])
    for level in dict.fromkeys(n.level for n in notes):
        manifest = manifests.get(level)
        lines += [f"## {manifest.title if manifest else level} (`{level}`)", ""]
        for note in (n for n in notes if n.level == level):
            target = describe(manifest, note.target)
            stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(note.created))
            lines.append(f"### {note.kind.capitalize()} on {target.label} ({stamp})")
            lines.append("")
            if target.kind == "formula":
                lines += ["$$", target.text, "$$", ""]
            elif target.kind != "level":
                lines += [f"> {' '.join(target.text.split())}", ""]
            lines += [note.text, ""]
    return "\n".join(lines)


def ask_prompt(manifest: Manifest, target_key: str, params: dict | None = None, last: dict | None = None,
               profile: dict | None = None, question: str = "") -> str:
    """A prompt for the learner's own AI assistant about one object of a level: what the object
    states and where it stops holding, the settings on screen, the learner's last prediction and
    what was measured, and who is asking (goal, comfort, preferred style). ``last`` is an attempt
    from the progress store (prediction, measured, correct); ``question`` the learner's own."""
    target = describe(manifest, target_key)
    profile = profile or {}
    out = [f"I am learning with Continuous Function, an interactive sandbox where the mathematics of deep "
           f"learning is played. I am in the level \"{manifest.title}\": {manifest.summary}", ""]
    if target.kind == "claim":
        out += [f"The claim I am looking at: {target.text}"]
        if target.detail:
            out += [f"Its stated boundary (where it stops holding): {target.detail}"]
    elif target.kind == "challenge":
        out += [f"The challenge I am working on: {target.text}"]
    elif target.kind == "formula":
        out += [f"The formula I am looking at (LaTeX): {target.text}"]
        if target.detail:
            out += [f"What it says: {target.detail}"]
    if params:  # the settings that apply (a network's width means nothing in canyon mode)
        shown = ", ".join(f"{p.label} = {_value(params[name])}" for name, p in manifest.params.items()
                          if name in params and p.applies(params))
        out += [f"The settings on screen: {shown}."]
    if last:
        verdict = "right" if last.get("correct") else "wrong"
        out += [f"My last prediction was {_value(last.get('prediction'))}; the simulation measured "
                f"{_value(last.get('measured'))}, so I was {verdict}."]
    out.append("")
    if profile.get("goal"):
        out.append(f"My goal: {profile['goal']}.")
    if profile.get("comfort"):
        out.append(f"My background: {profile['comfort']}.")
    if profile.get("style"):
        out.append(f"I learn best {profile['style']}.")
    ask = question.strip() or ("Explain why this holds, what would make it fail, and one small experiment I "
                               "can run in the level to test my understanding.")
    out += ["", ask, "Keep to what the sandbox's model is (a small, idealised one); say when an answer "
                     "would differ for large real models."]
    return "\n".join(line for line in out).strip() + "\n"


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


__all__ = ["COMFORT", "NOTE_KINDS", "STYLE", "Target", "ask_prompt", "describe", "notes_markdown", "targets"]
