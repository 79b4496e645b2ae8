"""The level's claims in the About tab, each with what it does not show and a Check button that
measures it on this machine (in a child process, with a time limit) and shows the numbers."""

from __future__ import annotations

from imgui_bundle import imgui

from ..claims import ClaimResult, check_in_child, describe_point, describe_range, results_from
from .widgets import BAD, GOOD, MUTED


class ClaimsPanel:
    """Draws a level's ``[[claims]]`` and checks them on request."""

    def __init__(self, entry, on_note=None):
        """``on_note(target, mode)`` opens the notes window on a claim ("note" or "ask")."""
        self.entry = entry
        self.on_note = on_note
        self.pointed: str | None = None  # the claim last under the mouse or the keyboard
        self.results: dict[str, ClaimResult] = {}
        self._child = None
        self._asked: list = []

    @property
    def checking(self) -> bool:
        return self._child is not None

    def check(self, claims) -> None:
        """Start checking ``claims`` (a list of the manifest's Claim) in a child process."""
        if self._child is not None:
            return
        self._asked = list(claims)
        self._child = check_in_child(self.entry.folder, [c.id for c in self._asked])

    def poll(self) -> None:
        if self._child is not None and self._child.poll():
            for result in results_from(self._child, self._asked):
                self.results[result.id] = result
            self._child = None

    def release(self) -> None:
        if self._child is not None:
            self._child.cancel()
            self._child = None

    def draw(self) -> None:
        manifest = self.entry.manifest
        if manifest is None or not manifest.claims:
            return
        self.poll()
        imgui.text_colored(MUTED, "WHAT THIS LEVEL CLAIMS")
        imgui.same_line()
        imgui.begin_disabled(self.checking)
        if imgui.small_button("Check all"):
            self.check(manifest.claims.values())
        imgui.end_disabled()
        if imgui.is_item_hovered(imgui.HoveredFlags_.allow_when_disabled.value):
            imgui.set_tooltip("Run every claim's check on this machine, across the range it claims to hold for.")
        imgui.push_text_wrap_pos(0.0)
        for claim in manifest.claims.values():
            imgui.separator()
            imgui.text_wrapped(claim.statement)
            self._point(claim)
            if claim.boundary:
                imgui.text_colored(MUTED, f"Boundary: {claim.boundary}")
            span = describe_range(claim)
            if span:
                imgui.text_colored(MUTED, f"Checked at every combination of {span}.")
            self._result(claim)
        imgui.pop_text_wrap_pos()
        imgui.separator()
        imgui.spacing()

    def _point(self, claim) -> None:
        if imgui.is_item_hovered() or imgui.is_item_focused():
            self.pointed = claim.id

    def _result(self, claim) -> None:
        result = self.results.get(claim.id)
        busy = self.checking and any(c.id == claim.id for c in self._asked)
        imgui.begin_disabled(self.checking)
        if imgui.small_button(f"Check##{claim.id}"):
            self.check([claim])
        imgui.end_disabled()
        self._point(claim)
        if self.on_note is not None:
            for mode, label in (("note", "Note"), ("ask", "Ask")):
                imgui.same_line()
                if imgui.small_button(f"{label}##{mode}-{claim.id}"):
                    self.on_note(f"claim:{claim.id}", mode)
                self._point(claim)
        imgui.same_line()
        if busy:
            imgui.text_colored(MUTED, f"checking… {self._child.seconds:.0f} s")
            return
        if result is None:
            imgui.text_colored(MUTED, "not checked yet")
            return
        points = result.points
        held = sum(p.passed for p in points)
        if result.passed:
            imgui.text_colored(GOOD, f"holds at all {len(points)} point(s), measured in {result.seconds:.1f} s")
        elif result.error:
            imgui.text_colored(BAD, f"could not be checked: {result.error}")
        else:
            imgui.text_colored(BAD, f"does NOT hold at {len(points) - held} of {len(points)} point(s)")
        if points and imgui.tree_node(f"measured##{claim.id}"):
            for point in points:
                where, numbers = describe_point(point)
                imgui.text_colored(GOOD if point.passed else BAD, f"{'holds' if point.passed else 'fails'} at {where}")
                imgui.indent()
                imgui.text_wrapped(numbers)
                imgui.unindent()
            imgui.tree_pop()
