"""The window for a learner's notes and for "Ask about this", opened from a level's panel.

Both are about one exact object of the level (the level, a claim, a challenge, a formula),
chosen in the window and preset to what is in view. A note (a reproduction, a repair or a
question) is saved with the progress and listed here; all notes export to one Markdown file. "Ask
about this" builds a prompt for the learner's own assistant from the object, the settings, the
last prediction and the learner's profile, and copies it to the clipboard: nothing leaves the
machine unless the learner pastes it somewhere.
"""

from __future__ import annotations

import time

from imgui_bundle import imgui

from ..notes import COMFORT, STYLE, ask_prompt, describe, notes_markdown, targets
from ..paths import user_data_dir
from ..progress import NOTE_KINDS
from .widgets import ACCENT, BAD, MUTED

NOTE_HELP = {
    "reproduction": "how you made it happen: the settings and steps, so someone can see it again",
    "repair": "what you had wrong and what fixed it",
    "question": "something you want to find out",
}
EXPORT_NAME = "notes.md"


class NotesWindow:
    """One per app; :meth:`show` opens it on a level's object, :meth:`draw` draws it each frame."""

    def __init__(self, app):
        self.app = app
        self.open = False
        self.mode = "note"  # or "ask"
        self.level: str | None = None
        self.target = ""
        self.kind = 0
        self.text = ""
        self.question = ""
        self.message: tuple[str, object] | None = None
        self.prompt = ""  # the last prompt built (what Copy puts on the clipboard)
        self._select_frames = 0  # frames left to select the mode's tab (ImGui takes two)

    def show(self, level_id: str, target: str = "", mode: str = "note") -> None:
        """Open on ``target`` of ``level_id`` in ``mode`` ("note" or "ask")."""
        self.open, self.level, self.target, self.mode = True, level_id, target, mode
        self.message = None
        self._select_frames = 2

    def close(self) -> None:
        self.open = False

    def reset(self) -> None:
        """Closed and empty (a kiosk's next visitor)."""
        self.__init__(self.app)

    def _manifest(self):
        entry = self.app.registry.entries.get(self.level or "")
        return entry.manifest if entry is not None else None

    def draw(self, width: float, height: float) -> None:
        manifest = self._manifest()
        if not self.open or manifest is None:
            return
        scale = self.app.imgui.scale
        imgui.set_next_window_pos(imgui.ImVec2(width / 2, height / 2), imgui.Cond_.appearing.value,
                                  imgui.ImVec2(0.5, 0.5))
        imgui.set_next_window_size(imgui.ImVec2(min(width * 0.92, 640 * scale), min(height * 0.9, 560 * scale)),
                                   imgui.Cond_.appearing.value)
        imgui.set_next_window_bg_alpha(0.97)
        if self._select_frames:
            imgui.set_next_window_focus()
        opened, keep = imgui.begin(f"Notes and questions: {manifest.title}###notes", True,
                                   imgui.WindowFlags_.no_collapse.value)
        self.open = bool(keep)
        if opened:
            self._body(manifest)
        imgui.end()

    def _body(self, manifest) -> None:
        options = targets(manifest)
        keys = [t.key for t in options]
        if self.target not in keys:
            self.target = ""
        imgui.text("About")
        imgui.same_line()
        imgui.set_next_item_width(-1)
        if imgui.begin_combo("##target", describe(manifest, self.target).label):
            for option in options:
                if imgui.selectable(option.label, option.key == self.target)[0]:
                    self.target = option.key
            imgui.end_combo()
        self.app.mark("notes:target")
        target = describe(manifest, self.target)
        if target.kind != "level":
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(MUTED, " ".join(target.text.split()))
            if target.detail and target.kind == "claim":
                imgui.text_colored(MUTED, f"Boundary: {target.detail}")
            imgui.pop_text_wrap_pos()
        if imgui.begin_tab_bar("notes-modes"):
            for mode, label, draw in (("note", "Leave a note", self._note), ("ask", "Ask about this", self._ask)):
                flags = imgui.TabItemFlags_.set_selected.value if self._select_frames and self.mode == mode else 0
                selected = imgui.begin_tab_item(f"{label}###{mode}", None, flags)[0]
                self.app.mark(f"notes:tab:{mode}")
                if selected:
                    if not self._select_frames:  # while a mode is being selected, it stays
                        self.mode = mode
                    if mode == self.mode:
                        draw(manifest)
                    imgui.end_tab_item()
            imgui.end_tab_bar()
        self._select_frames = max(0, self._select_frames - 1)
        if self.message:
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(self.message[1], self.message[0])
            imgui.pop_text_wrap_pos()

    # -- notes ---------------------------------------------------------------------------------
    def _note(self, manifest) -> None:
        for i, kind in enumerate(NOTE_KINDS):
            if i:
                imgui.same_line()
            if imgui.radio_button(kind.capitalize(), self.kind == i):
                self.kind = i
            if imgui.is_item_hovered():
                imgui.set_tooltip(NOTE_HELP[kind])
        imgui.text_colored(MUTED, NOTE_HELP[NOTE_KINDS[self.kind]].capitalize() + ".")
        line = imgui.get_text_line_height_with_spacing()
        _, self.text = imgui.input_text_multiline("##note-text", self.text, imgui.ImVec2(-1, 4.5 * line))
        self.app.mark("notes:text")
        imgui.begin_disabled(not self.text.strip())
        if imgui.button("Save the note"):
            note = self.app.add_note(manifest.id, self.target, NOTE_KINDS[self.kind], self.text)
            if note is not None:
                self.text = ""
                self.message = (f"Saved: a {note.kind} on {describe(manifest, note.target).label}.", ACCENT)
        imgui.end_disabled()
        self.app.mark("notes:save")
        notes = self.app.level_notes(manifest.id)
        if not self.app.kiosk:
            imgui.same_line()
            if imgui.button("Export all notes (Markdown)"):
                self.export()
        imgui.separator()
        imgui.text_colored(MUTED, f"YOUR NOTES ON THIS LEVEL ({len(notes)})" if notes else "No notes on this level yet.")
        imgui.push_text_wrap_pos(0.0)
        for note in reversed(notes):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(note.created))
            imgui.text_colored(ACCENT, f"{note.kind.capitalize()} on {describe(manifest, note.target).label} · {when}")
            imgui.text_wrapped(note.text)
            if imgui.small_button(f"Delete##note-{note.id}"):
                self.app.delete_note(manifest.id, note.id)
            imgui.spacing()
        imgui.pop_text_wrap_pos()

    def export(self):
        """Write every note to ``notes.md`` in the user data folder; returns its path (or None)."""
        manifests = {i: e.manifest for i, e in self.app.registry.entries.items()}
        try:
            path = user_data_dir() / EXPORT_NAME
            path.write_text(notes_markdown(self.app.progress.notes(), manifests), encoding="utf-8")
        except OSError as exc:
            self.message = (f"The notes could not be written: {exc}", BAD)
            return None
        self.message = (f"All notes written to {path}", ACCENT)
        return path

    # -- ask -----------------------------------------------------------------------------------
    def _ask(self, manifest) -> None:
        progress = self.app.progress
        profile = progress.profile()
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(MUTED, "Builds a question for your own AI assistant about what is in view, and copies it. "
                                  "Nothing is sent anywhere: you paste it where you like.")
        imgui.pop_text_wrap_pos()
        imgui.set_next_item_width(-1)
        _, self.question = imgui.input_text_with_hint("##question", "Your question (optional)", self.question)
        half = imgui.get_content_region_avail().x / 2 - imgui.get_style().item_spacing.x
        goal = profile.get("goal", "")
        imgui.set_next_item_width(-1)
        changed, goal = imgui.input_text_with_hint("##goal", "Your goal, e.g. read the Mamba paper", goal)
        if changed:
            progress.set_profile("goal", goal)
        for key, values, label in (("comfort", COMFORT, "Background"), ("style", STYLE, "You learn best")):
            imgui.set_next_item_width(half)
            current = profile.get(key, "")
            if imgui.begin_combo(f"##{key}", current or label):
                for value in values:
                    if imgui.selectable(value, value == current)[0]:
                        progress.set_profile(key, value)
                imgui.end_combo()
            if imgui.is_item_hovered():
                imgui.set_tooltip(label)
            if key == "comfort":
                imgui.same_line()
        self.prompt = ask_prompt(manifest, self.target, self._params(), self._last(manifest), progress.profile(),
                                 self.question)
        if imgui.button("Copy the question"):
            self.copy()
        self.app.mark("ask:copy")
        imgui.begin_child("prompt", imgui.ImVec2(-1, -1), imgui.ChildFlags_.borders.value)
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(MUTED, self.prompt)
        imgui.pop_text_wrap_pos()
        imgui.end_child()

    def copy(self) -> None:
        """Put the prompt on the clipboard (the app keeps it too, for the tests)."""
        imgui.set_clipboard_text(self.prompt)
        self.app.clipboard = self.prompt
        self.message = ("Copied: paste it into your assistant.", ACCENT)

    def _params(self) -> dict | None:
        host = self.app.host
        if host is None or host.entry.id != self.level or host.runner is None:
            return None
        return dict(host.active_runner.params)

    def _last(self, manifest) -> dict | None:
        """The attempt to mention: at the challenge in view, else the level's latest; none while a
        prediction is being made (what was measured last time would give the answer away)."""
        host = self.app.host
        if host is not None and host.entry.id == manifest.id and host.challenges.selected is not None \
                and host.challenges.attempt is None:
            return None
        if self.target.startswith("challenge:"):
            history = self.app.progress.history(manifest.id, self.target.split(":", 1)[1])
            return history[-1] if history else None
        return self.app.progress.last_attempt(manifest.id)
