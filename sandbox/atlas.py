"""The atlas: every level, grouped by pillar, with its prerequisites drawn as a route graph.

Mouse, keyboard (arrows + Enter) and gamepad (d-pad + A) all work through ImGui navigation:
every level is a button on the route graph and in the list.
"""

from __future__ import annotations

from imgui_bundle import imgui

from .manifest import SECTIONS
from .registry import Registry
from .ui.widgets import ACCENT, BAD, GOOD, MUTED

NODE_W, NODE_H, GAP_X, GAP_Y = 190.0, 46.0, 70.0, 16.0


def route_layout(registry: Registry) -> dict[str, tuple[int, int]]:
    """(column, row) per level: the column is the length of the longest prerequisite chain."""
    depth: dict[str, int] = {}

    def level_depth(level_id: str, trail: tuple[str, ...] = ()) -> int:
        if level_id in depth:
            return depth[level_id]
        entry = registry.entries.get(level_id)
        prereqs = [p for p in (entry.manifest.prerequisites if entry and entry.manifest else ())
                   if p in registry.entries and p not in trail]
        depth[level_id] = 1 + max((level_depth(p, (*trail, level_id)) for p in prereqs), default=-1)
        return depth[level_id]

    order = list(SECTIONS)
    ids = sorted(registry.entries, key=lambda i: (order.index(registry.entries[i].manifest.pillar), i))
    for level_id in ids:
        level_depth(level_id)
    rows: dict[int, int] = {}
    layout = {}
    for level_id in ids:
        column = depth[level_id]
        layout[level_id] = (column, rows.get(column, 0))
        rows[column] = rows.get(column, 0) + 1
    return layout


class Atlas:
    """The start screen. ``chosen`` is set to a level id when the learner opens one."""

    def __init__(self, app):
        self.app = app
        self.chosen: str | None = None
        self.hovered: str | None = None

    def _progress_text(self, level_id: str) -> tuple[str, bool]:
        entry = self.app.registry.entries[level_id]
        total = len(entry.manifest.challenges)
        records = self.app.progress_records(level_id)
        solved = sum(1 for r in records.values() if r.solved)
        return (f"{solved}/{total} solved" if total else "sandbox"), (total > 0 and solved == total)

    def draw(self, size: tuple[float, float]) -> None:
        imgui.set_next_window_pos(imgui.ImVec2(0, 0))
        imgui.set_next_window_size(imgui.ImVec2(*size))
        flags = (imgui.WindowFlags_.no_decoration.value | imgui.WindowFlags_.no_move.value
                 | imgui.WindowFlags_.no_bring_to_front_on_focus.value)
        imgui.begin("Atlas", None, flags)
        imgui.push_font(self.app.imgui.font_bold, 0.0)
        imgui.text_colored(ACCENT, "Continuous Function")
        imgui.pop_font()
        imgui.same_line()
        imgui.text_colored(MUTED, "  the mathematics of deep learning, played.  Choose a level (Enter / A), F1 for help.")
        imgui.separator()
        list_width = min(420.0 * self.app.imgui.scale, size[0] * 0.4)
        imgui.begin_child("levels", imgui.ImVec2(list_width, 0), imgui.ChildFlags_.borders.value)
        self._list()
        imgui.end_child()
        imgui.same_line()
        imgui.begin_child("route", imgui.ImVec2(0, 0), imgui.ChildFlags_.borders.value,
                          imgui.WindowFlags_.horizontal_scrollbar.value)
        self._graph()
        self._details()
        imgui.end_child()
        imgui.end()

    def _list(self) -> None:
        registry = self.app.registry
        for key, title in SECTIONS.items():
            ids = sorted(i for i, e in registry.entries.items() if e.manifest.pillar == key)
            if not ids:
                continue
            imgui.push_font(self.app.imgui.font_bold, 0.0)
            imgui.text_colored(ACCENT, title)
            imgui.pop_font()
            for level_id in ids:
                manifest = registry.entries[level_id].manifest
                text, done = self._progress_text(level_id)
                right_edge = imgui.get_cursor_pos_x() + imgui.get_content_region_avail().x
                if imgui.selectable(f"{manifest.title}##list-{level_id}", self.hovered == level_id)[0]:
                    self.chosen = level_id
                if imgui.is_item_hovered() or imgui.is_item_focused():
                    self.hovered = level_id
                imgui.same_line(right_edge - imgui.calc_text_size(text).x)
                imgui.text_colored(GOOD if done else MUTED, text)
                imgui.indent()
                imgui.push_text_wrap_pos(0.0)
                imgui.text_colored(MUTED, manifest.summary)
                imgui.pop_text_wrap_pos()
                imgui.unindent()
            imgui.spacing()
        problems = [e for e in registry.problems]
        if problems:
            imgui.separator()
            imgui.text_colored(BAD, f"{len(problems)} level folder(s) could not be loaded:")
            for entry in problems:
                imgui.push_text_wrap_pos(0.0)
                imgui.text_colored(MUTED, f"{entry.folder.name}: {entry.error}")
                imgui.pop_text_wrap_pos()
                if entry.manifest is None and imgui.small_button(f"Reload##{entry.folder}"):
                    registry.retry(entry)

    def _graph(self) -> None:
        registry = self.app.registry
        scale = self.app.imgui.scale
        layout = route_layout(registry)
        origin = imgui.get_cursor_screen_pos()
        draw = imgui.get_window_draw_list()
        w, h, gx, gy = NODE_W * scale, NODE_H * scale, GAP_X * scale, GAP_Y * scale
        pos = {i: imgui.ImVec2(origin.x + 10 + c * (w + gx), origin.y + 10 + r * (h + gy)) for i, (c, r) in layout.items()}
        for level_id, p in pos.items():  # edges first, under the nodes
            for prereq in registry.entries[level_id].manifest.prerequisites:
                if prereq not in pos:
                    continue
                a = imgui.ImVec2(pos[prereq].x + w, pos[prereq].y + h / 2)
                b = imgui.ImVec2(p.x, p.y + h / 2)
                color = imgui.get_color_u32(imgui.ImVec4(0.5, 0.6, 0.75, 0.8))
                draw.add_bezier_cubic(a, imgui.ImVec2(a.x + gx / 2, a.y), imgui.ImVec2(b.x - gx / 2, b.y), b, color, 2.0)
                draw.add_triangle_filled(b, imgui.ImVec2(b.x - 8, b.y - 5), imgui.ImVec2(b.x - 8, b.y + 5), color)
        visited = self.app.visited()
        for level_id, p in pos.items():
            manifest = registry.entries[level_id].manifest
            imgui.set_cursor_screen_pos(p)
            if imgui.invisible_button(f"##node-{level_id}", imgui.ImVec2(w, h)):
                self.chosen = level_id
            active = imgui.is_item_hovered() or imgui.is_item_focused()
            if active:
                self.hovered = level_id
                imgui.set_tooltip(manifest.summary)
            text, done = self._progress_text(level_id)
            fill = imgui.ImVec4(0.18, 0.32, 0.5, 1.0) if active else imgui.ImVec4(0.13, 0.16, 0.22, 1.0)
            border = GOOD if done else (ACCENT if level_id in visited else imgui.ImVec4(0.35, 0.38, 0.45, 1.0))
            q = imgui.ImVec2(p.x + w, p.y + h)
            draw.add_rect_filled(p, q, imgui.get_color_u32(fill), 6.0)
            draw.add_rect(p, q, imgui.get_color_u32(border), 6.0, 2.0)
            draw.add_text(imgui.ImVec2(p.x + 8, p.y + 5), imgui.get_color_u32(imgui.ImVec4(1, 1, 1, 1)),
                          _clip(manifest.title, w))
            draw.add_text(imgui.ImVec2(p.x + 8, p.y + 5 + imgui.get_text_line_height()),
                          imgui.get_color_u32(GOOD if done else MUTED), f"{SECTIONS[manifest.pillar].split('.')[0]} · {text}")
        if pos:
            bottom = max(p.y for p in pos.values()) + h + 10
            right = max(p.x for p in pos.values()) + w + 10
            imgui.set_cursor_screen_pos(imgui.ImVec2(right, bottom))
            imgui.dummy(imgui.ImVec2(1, 1))


    def _details(self) -> None:
        """The level under the cursor (or keyboard focus): what it is, what it needs, how far you are."""
        entry = self.app.registry.entries.get(self.hovered or "")
        if entry is None:
            return
        manifest = entry.manifest
        imgui.spacing()
        imgui.separator()
        imgui.push_font(self.app.imgui.font_bold, 0.0)
        imgui.text_colored(ACCENT, manifest.title)
        imgui.pop_font()
        imgui.same_line()
        imgui.text_colored(MUTED, f"  {SECTIONS[manifest.pillar]}")
        imgui.push_text_wrap_pos(0.0)
        imgui.text_wrapped(manifest.summary)
        titles = [self.app.registry.entries[p].manifest.title for p in manifest.prerequisites
                  if p in self.app.registry.entries]
        imgui.text_colored(MUTED, "Builds on: " + (", ".join(titles) if titles else "nothing: a good place to start"))
        records = self.app.progress_records(entry.id)
        for challenge in manifest.challenges.values():
            record = records.get(challenge.id)
            status = ("solved" if record.solved else f"tried {record.attempts}x") if record else "not tried"
            imgui.bullet()
            imgui.text_colored(GOOD if record and record.solved else MUTED,
                               f"{challenge.id.replace('_', ' ')}: {status}")
        imgui.pop_text_wrap_pos()


def _clip(text: str, width: float) -> str:
    """Shorten ``text`` with an ellipsis to fit ``width`` pixels."""
    if imgui.calc_text_size(text).x <= width - 16:
        return text
    n = len(text)
    while n > 3 and imgui.calc_text_size(text[:n] + "…").x > width - 16:
        n -= 1
    return text[:n].rstrip() + "…"
