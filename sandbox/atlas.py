"""The atlas: every level, grouped by pillar, with its prerequisites drawn as a route graph.

The screen has three parts: the list of levels by pillar (title, progress, summary), the route
graph (each level a card with its picture, in columns by the length of its prerequisite chain)
and the card of the level under the mouse or the keyboard focus (its picture, what it asks you
to predict, what it builds on, how far you are). Levels with no prerequisites and nothing solved
are marked "start here".

Every size follows the text at the current UI scale: the rectangles are computed by the pure
functions below (:func:`graph_layout`, :func:`list_row`, :func:`split_panes`) from measured
text, so no text lands on another at any scale, and text shortened to fit has a tooltip.

Mouse, keyboard (arrows + Enter) and gamepad (d-pad + A) all work through ImGui navigation:
every level is a button on the route graph and in the list, and the keyboard focus starts on a
card as soon as the atlas shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from imgui_bundle import imgui

from .manifest import DOMAINS, SECTIONS, default_title
from .registry import Registry
from .routes import Route, by_domain, load_routes, next_step, progress_text, route_progress, routes_through, start_route
from .search import Hit, search
from .thumbnails import Thumbnails
from .ui.widgets import ACCENT, BAD, GOOD, MUTED

Rect = tuple[float, float, float, float]  # x, y, width, height
Measure = Callable[[str], tuple[float, float]]  # text -> its (width, height) in pixels

# Sizes at UI scale 1, in pixels; each is multiplied by the scale. The cards' own size is not
# here: it follows its text (see graph_layout).
NODE_W, NODE_H = 190.0, 46.0  # the smallest a card on the route graph may be
PAD = 7.0  # inside a card, around its text
GAP_X, GAP_Y = 46.0, 14.0  # between the columns and the rows of the route graph
MARGIN = 10.0  # around the route graph
TEXT_GAP = 14.0  # between a title and its progress on the same line
MAX_TEXT_W = 300.0  # a card's text wider than this is shortened (with a tooltip)
LIST_W = 420.0  # the list's widest
WIDE_W = 700.0  # the atlas shows the route graph when at least this wide
SIDE_W = 420.0  # narrower than this, the level's card goes under the list rather than beside it
THUMB_ASPECT = 16.0 / 9.0
DETAIL_THUMB_W = 256.0  # the picture on the level's card, at its widest
START = "start here"
HINTS = ("the mathematics of deep learning, played. Choose a level (arrows, Enter / A); F1 for help.",
         "Choose a level (arrows, Enter / A); F1 for help.",
         "Enter opens a level; F1 for help.")
SEARCH_HINT = "Search (Ctrl+F)"
SEARCH_W = 300.0  # the search box's width at its widest
#: where a search hit opens its level: a claim, a paper or a README section in About, a formula on
#: the math card, a challenge in the Challenges tab
HIT_TABS = {"claim": "About", "paper": "About", "section": "About", "formula": "Math", "challenge": "Challenges"}


# -- pure layout ---------------------------------------------------------------------------------
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
    # column by column, each level at the mean row of what it builds on (the barycentre rule of
    # layered graph drawing), so edges run mostly level and cross less; ties keep the pillar order
    layout: dict[str, tuple[int, int]] = {}
    for column in sorted(set(depth.values())):
        members = [i for i in ids if depth[i] == column]

        def centre(level_id: str) -> float:
            rows = [layout[p][1] for p in registry.entries[level_id].manifest.prerequisites if p in layout]
            return sum(rows) / len(rows) if rows else -1.0

        members.sort(key=lambda i: (centre(i), ids.index(i)))
        for row, level_id in enumerate(members):
            layout[level_id] = (column, row)
    return layout


def shorten(text: str, width: float, measure: Measure) -> str:
    """``text``, or as much of it as fits ``width`` followed by an ellipsis."""
    if measure(text)[0] <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with its ellipsis
        mid = (lo + hi + 1) // 2
        if measure(text[:mid].rstrip() + "…")[0] <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


@dataclass(frozen=True)
class Card:
    """Where one level's card on the route graph and its parts go (relative to the graph's origin).
    ``title_text`` and ``status_text`` are what fits; ``clipped`` says whether either was shortened."""

    box: Rect
    thumb: Rect
    title: Rect
    status: Rect
    title_text: str
    status_text: str
    clipped: bool

    def texts(self) -> list[Rect]:
        return [self.title, self.status]


def graph_layout(cells: dict[str, tuple[int, int]], texts: dict[str, tuple[str, str]], measure: Measure,
                 line: float, scale: float) -> dict[str, Card]:
    """The cards of the route graph: ``cells`` gives each level's (column, row), ``texts`` its title
    and its status line. The cards of a column share its width, made to fit its widest text (up
    to ``MAX_TEXT_W``, then shortened) beside a 16:9 picture as tall as the two lines of text."""
    pad, inset = PAD * scale, 4.0 * scale
    height = max(2 * pad + 2 * line + pad / 2, NODE_H * scale)
    thumb_h = height - 2 * inset
    thumb_w = thumb_h * THUMB_ASPECT
    text_w: dict[int, float] = {}
    for level_id, (column, _) in cells.items():
        title, status = texts.get(level_id, ("", ""))
        text_w[column] = max(text_w.get(column, 0.0), measure(title)[0], measure(status)[0])
    widths = {c: max(inset + thumb_w + pad + min(w, MAX_TEXT_W * scale) + pad, NODE_W * scale)
              for c, w in text_w.items()}
    lefts, x = {}, MARGIN * scale
    for column in sorted(widths):
        lefts[column] = x
        x += widths[column] + GAP_X * scale
    cards = {}
    for level_id, (column, row) in cells.items():
        title, status = texts.get(level_id, ("", ""))
        x, width = lefts[column], widths[column]
        y = MARGIN * scale + row * (height + GAP_Y * scale)
        tx = x + inset + thumb_w + pad
        room = x + width - pad - tx
        top = y + (height - 2 * line - pad / 2) / 2
        short_title, short_status = shorten(title, room, measure), shorten(status, room, measure)
        cards[level_id] = Card(
            box=(x, y, width, height), thumb=(x + inset, y + inset, thumb_w, thumb_h),
            title=(tx, top, measure(short_title)[0], line),
            status=(tx, top + line + pad / 2, measure(short_status)[0], line),
            title_text=short_title, status_text=short_status,
            clipped=short_title != title or short_status != status)
    return cards


def graph_size(cards: dict[str, Card], scale: float) -> tuple[float, float]:
    """The route graph's extent with its margin."""
    if not cards:
        return 0.0, 0.0
    return (max(c.box[0] + c.box[2] for c in cards.values()) + MARGIN * scale,
            max(c.box[1] + c.box[3] for c in cards.values()) + MARGIN * scale)


@dataclass(frozen=True)
class Row:
    """A level's line in the list (relative to the row's top-left): its title, then its status
    right-aligned on the same line when both fit with a gap, else right-aligned on a line of its
    own; text that does not fit the width at all is shortened (``clipped``)."""

    title: Rect
    status: Rect
    height: float
    title_text: str
    status_text: str
    clipped: bool


def list_row(title: str, status: str, width: float, measure: Measure, line: float, scale: float) -> Row:
    """Lay out one row of the list in ``width`` pixels."""
    short_title, short_status = shorten(title, width, measure), shorten(status, width, measure)
    tw, sw = measure(short_title)[0], measure(short_status)[0]
    same_line = tw + TEXT_GAP * scale + sw <= width
    status_y = 0.0 if same_line else line
    return Row(title=(0.0, 0.0, tw, line), status=(width - sw, status_y, sw, line),
               height=line if same_line else 2 * line, title_text=short_title, status_text=short_status,
               clipped=short_title != title or short_status != status)


@dataclass(frozen=True)
class Panes:
    """The atlas's regions below its header: the list, the route graph (None when the atlas is
    too narrow for it: the card then says what a level builds on) and the level's card."""

    levels: Rect
    graph: Rect | None
    details: Rect


def split_panes(area: Rect, graph_needs: tuple[float, float], scale: float, spacing: float) -> Panes:
    """Share ``area`` between the list, the route graph and the level's card.

    Wide (at least ``WIDE_W`` pixels at scale 1): the list on the left gives the graph room down
    to a quarter of the width; on the right the graph takes the height it needs up to 60% and the
    card the rest. Narrower: no graph, the list beside the card, or above it when even that
    would leave the text too little width (under ``SIDE_W``)."""
    x, y, w, h = area
    if w >= WIDE_W * scale:
        widest = min(LIST_W * scale, 0.4 * w)
        narrowest = min(widest, max(0.26 * w, 200.0 * scale))
        list_w = max(narrowest, min(widest, w - spacing - graph_needs[0]))
        right_w = w - list_w - spacing
        graph_h = min(graph_needs[1], 0.6 * (h - spacing))
        return Panes(levels=(x, y, list_w, h), graph=(x + list_w + spacing, y, right_w, graph_h),
                     details=(x + list_w + spacing, y + graph_h + spacing, right_w, h - graph_h - spacing))
    if w >= SIDE_W * scale:
        list_w = 0.42 * w
        return Panes(levels=(x, y, list_w, h), graph=None,
                     details=(x + list_w + spacing, y, w - list_w - spacing, h))
    list_h = (h - spacing) / 2
    return Panes(levels=(x, y, w, list_h), graph=None, details=(x, y + list_h + spacing, w, h - list_h - spacing))


def detail_picture(width: float, height: float, scale: float) -> tuple[float, float]:
    """The size of the picture beside the text on the level's card of ``width`` x ``height``
    (inner) pixels: at most ``DETAIL_THUMB_W``, 42% of the width, or the card's height; (0, 0)
    when that leaves it too small to make out, the card then shows the text alone."""
    w = min(DETAIL_THUMB_W * scale, 0.42 * width, height * THUMB_ASPECT)
    return (w, w / THUMB_ASPECT) if w >= 96.0 * scale else (0.0, 0.0)


def overlapping(rects: list[Rect]) -> list[tuple[int, int]]:
    """The pairs of ``rects`` that share any area (indices into the list)."""
    out = []
    for i, a in enumerate(rects):
        for j in range(i + 1, len(rects)):
            b = rects[j]
            if a[2] > 0 and a[3] > 0 and b[2] > 0 and b[3] > 0 and \
                    a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]:
                out.append((i, j))
    return out


# -- what the atlas says about a level -------------------------------------------------------------
def by_challenge(records: dict) -> dict:
    """A level's progress records keyed by challenge id, whether the store keys them by id or by
    (level, challenge id)."""
    return {(key[1] if isinstance(key, tuple) else key): record for key, record in records.items()}


def challenge_title(challenge) -> str:
    """The short name a challenge is shown by."""
    return getattr(challenge, "title", None) or default_title(challenge.id)


def start_levels(registry: Registry, solved: Callable[[str], int], route: Route | None = None,
                 visited: set[str] | None = None) -> set[str]:
    """Where a newcomer starts: the next step of the Start Here ``route`` when there is one (and
    it is not complete); else the levels that build on no other level shown, and in which nothing
    is solved yet. ``solved(level_id)`` counts a level's solved challenges."""
    if route is not None:
        step = next_step(route_progress(route, registry, solved, visited or set()))
        if step is not None:
            return {step}
    out = set()
    for level_id, entry in registry.entries.items():
        prereqs = [p for p in entry.manifest.prerequisites if p in registry.entries]
        if not prereqs and solved(level_id) == 0:
            out.add(level_id)
    return out


def first_question(manifest) -> str | None:
    """The first challenge's question, with its parameters filled in (None without challenges)."""
    challenge = next(iter(manifest.challenges.values()), None)
    if challenge is None:
        return None
    try:
        return challenge.format_question(manifest.resolve_params(challenge.set))
    except Exception:  # noqa: BLE001  (a question never stops the atlas: shown as written)
        return challenge.question


class Atlas:
    """The start screen. ``chosen`` is set to a level id when the learner opens one.

    ``hovered`` is the level under the mouse or the keyboard focus (its card shows). After each
    frame ``text_rects`` holds, per region, the screen rectangles of the texts the layout placed
    (the header, the list's rows, the cards), for checks that nothing overlaps."""

    def __init__(self, app):
        self.app = app
        self.chosen: str | None = None
        self.hovered: str | None = None
        self.thumbnails = Thumbnails(app)
        self.text_rects: dict[str, list[Rect]] = {}
        self._drawn_frame: int | None = None
        self._focus: str | None = None  # the card that takes the keyboard focus this frame
        self._opened: str | None = None  # the level last opened from here (focused on return)
        self._input_events = -1
        self._busy = False
        self._over: str | None = None  # this frame: the level under the mouse, the one focused
        self._focused: str | None = None
        self._last_over: str | None = None  # the same, the frame before
        self._last_focused: str | None = None
        self.routes: list[Route] = []
        self.route_problems: list[str] = []
        self.query = ""  # the search box
        self.hits: list[Hit] = []
        self._searched = ""  # the query ``hits`` answer
        self._focus_search = False
        self.group = "pillar"  # the list by "pillar" or by "domain"
        self.load_routes()

    def load_routes(self) -> None:
        """Read the routes again (the atlas does so each time it shows)."""
        self.routes, self.route_problems = load_routes(self.app.registry)

    @property
    def start_route(self) -> Route | None:
        """The Start Here route (None when no route is marked to start with)."""
        return start_route(self.routes, self.app.registry)

    def starts(self) -> set[str]:
        """The levels marked "start here" (see :func:`start_levels`)."""
        return start_levels(self.app.registry, self.solved, self.start_route, self.app.visited())

    def run_search(self, query: str) -> list[Hit]:
        """Search the levels for ``query`` (what the search box does as the learner types)."""
        self.query = query
        if query != self._searched:
            self.hits = search(self.app.registry, query, 30) if query.strip() else []
            self._searched = query
        return self.hits

    def open_hit(self, hit: Hit) -> None:
        """Open the level of a search hit where the hit is: a claim in About, a formula on the
        Math tab, a challenge opened in the Challenges tab."""
        challenge = hit.object if hit.kind == "challenge" else None
        self.app.go_to(hit.level, HIT_TABS.get(hit.kind), challenge)
        self._opened = hit.level

    # -- data ------------------------------------------------------------------------------------
    def records(self, level_id: str) -> dict:
        """The level's progress records by challenge id."""
        return by_challenge(self.app.progress_records(level_id))

    def solved(self, level_id: str) -> int:
        return sum(1 for r in self.records(level_id).values() if r.solved)

    def status(self, level_id: str, starts: set[str]) -> tuple[str, object]:
        """The level's status line and its colour: solved of total, and the start mark."""
        total = len(self.app.registry.entries[level_id].manifest.challenges)
        solved = self.solved(level_id)
        text = f"{solved}/{total} solved" if total else "sandbox"
        if level_id in starts:
            return f"{START} · {text}", ACCENT
        return text, (GOOD if total and solved == total else MUTED)

    def challenge_lines(self, level_id: str) -> list[tuple[str, bool]]:
        """One line per challenge of the level for its card, its title then "solved", "tried 2×,
        best score 40" or "not tried"; with whether it is solved."""
        records = self.records(level_id)
        lines = []
        for challenge in self.app.registry.entries[level_id].manifest.challenges.values():
            record = records.get(challenge.id)
            if record is None:
                state = "not tried"
            elif record.solved:
                state = "solved"
            else:
                state = f"tried {record.attempts}×, best score {record.best_score:.0f}"
            # a dash, not a colon: many titles are questions ("Settle, bounce or diverge?")
            lines.append((f"{challenge_title(challenge)} — {state}", bool(record and record.solved)))
        return lines

    def order(self) -> list[str]:
        """The levels in the order the atlas lists them (by pillar, then id)."""
        sections = list(SECTIONS)
        entries = self.app.registry.entries
        return sorted(entries, key=lambda i: (sections.index(entries[i].manifest.pillar), i))

    # -- the frame ---------------------------------------------------------------------------------
    def draw(self, size: tuple[float, float]) -> None:
        registry = self.app.registry
        scale = self.app.imgui.scale
        appearing = self._drawn_frame is None or self.app.frame_count != self._drawn_frame + 1
        self._drawn_frame = self.app.frame_count
        if appearing:
            self.load_routes()
        starts = self.starts()
        order = self.order()
        if appearing:
            self.thumbnails.refresh()  # a level edited while it was open gets a new picture
        if appearing or (self.hovered is None and order):
            first = next((i for i in order if i in starts), order[0] if order else None)
            self._focus = self._opened if self._opened in registry.entries else first
            self.hovered = self._focus
        self._thumbnail_work(order, starts)
        self.text_rects = {}

        imgui.set_next_window_pos(imgui.ImVec2(0, 0))
        imgui.set_next_window_size(imgui.ImVec2(*size))
        flags = (imgui.WindowFlags_.no_decoration.value | imgui.WindowFlags_.no_move.value
                 | imgui.WindowFlags_.no_bring_to_front_on_focus.value)
        imgui.begin("Atlas", None, flags)
        self._header()
        spacing = imgui.get_style().item_spacing.x
        line = imgui.get_text_line_height()
        cells = route_layout(registry)
        texts = {i: (registry.entries[i].manifest.title, self.status(i, starts)[0]) for i in cells}
        cards = graph_layout(cells, texts, _measure, line, scale)
        needs = graph_size(cards, scale)
        # the child windows' padding and a scrollbar's width around the graph's own extent
        frame = 2 * imgui.get_style().window_padding.x + imgui.get_style().scrollbar_size
        origin = imgui.get_cursor_pos()
        avail = imgui.get_content_region_avail()
        panes = split_panes((origin.x, origin.y, avail.x, avail.y), (needs[0] + frame, needs[1] + frame),
                            scale, spacing)
        # flattened: the arrows move between the list, the graph and the card as one surface
        child = imgui.ChildFlags_.borders.value | imgui.ChildFlags_.nav_flattened.value
        imgui.set_cursor_pos(imgui.ImVec2(panes.levels[0], panes.levels[1]))
        imgui.begin_child("levels", imgui.ImVec2(panes.levels[2], panes.levels[3]), child)
        self._list(starts, focus=panes.graph is None)
        imgui.end_child()
        if panes.graph is not None:
            imgui.set_cursor_pos(imgui.ImVec2(panes.graph[0], panes.graph[1]))
            imgui.begin_child("route", imgui.ImVec2(panes.graph[2], panes.graph[3]), child,
                              imgui.WindowFlags_.horizontal_scrollbar.value)
            self._graph(cards, starts)
            imgui.end_child()
        self._settle_hover()
        imgui.set_cursor_pos(imgui.ImVec2(panes.details[0], panes.details[1]))
        imgui.begin_child("details", imgui.ImVec2(panes.details[2], panes.details[3]), child)
        self._details(starts)
        imgui.end_child()
        imgui.end()
        self._focus = None
        if self.chosen:
            self._opened = self.chosen
            self.thumbnails.cancel()  # the level opens now: the one being drawn for its picture waits

    def _track(self, level_id: str) -> None:
        """Note whether the item just drawn for ``level_id`` is under the mouse or has the keyboard
        focus (:meth:`_settle_hover` decides which shows)."""
        if imgui.is_item_hovered():
            self._over = level_id
        if imgui.is_item_focused():
            self._focused = level_id

    def _settle_hover(self) -> None:
        """The level whose card shows is the one the learner moved to last: the mouse onto a card
        or row, or the keyboard focus onto another (ImGui keeps the focus where it was while the
        mouse moves, and the card under a resting mouse must not take over from the arrows)."""
        if self._over is not None and self._over != self._last_over:
            self.hovered = self._over
        elif self._focused is not None and self._focused != self._last_focused:
            self.hovered = self._focused
        self._last_over, self._last_focused = self._over, self._focused
        self._over = self._focused = None

    def _tooltip(self, text: str) -> None:
        """A tooltip wrapped to a readable width."""
        imgui.begin_tooltip()
        imgui.push_text_wrap_pos(imgui.get_font_size() * 30.0)
        imgui.text_unformatted(text)
        imgui.pop_text_wrap_pos()
        imgui.end_tooltip()

    def _thumbnail_work(self, order: list[str], starts: set[str]) -> None:
        """One piece of picture-making a frame, none in a frame with input (the learner is
        moving), the levels to start with first."""
        events = self.app.imgui.input_events()
        quiet, self._input_events = events == self._input_events, events
        quiet = quiet and not imgui.get_io().want_text_input  # typed characters arrive one a frame
        wanted = sorted(order, key=lambda i: i not in starts)
        self._busy = self.thumbnails.work(wanted, render=quiet)

    @property
    def animating(self) -> bool:
        """True while pictures of levels are still being made: the atlas changes by itself, so the
        app should keep drawing frames (each makes one piece of a picture) until they are done."""
        return self._busy

    def _header(self) -> None:
        """The app's name, how to choose, and the search box: beside the name the longest hint
        that fits before the search box, else the middle one wrapped on the lines below."""
        width = imgui.get_content_region_avail().x
        left = imgui.get_cursor_pos_x()
        scale = self.app.imgui.scale
        gap = TEXT_GAP * scale
        search_w = min(SEARCH_W * scale, 0.45 * width)
        imgui.push_font(self.app.imgui.font_bold, 0.0)
        title = "Continuous Function"
        title_w = imgui.calc_text_size(title).x
        imgui.text_colored(ACCENT, title)
        imgui.pop_font()
        rects = [_item_rect()]
        room = width - search_w - gap
        hint = next((h for h in HINTS if title_w + gap + _measure(h)[0] <= room), None)
        if hint is not None:
            imgui.same_line(0.0, gap)
            imgui.text_colored(MUTED, hint)
            rects.append(_item_rect())
        imgui.same_line()
        imgui.set_cursor_pos_x(left + width - search_w)
        self._search_box(search_w)
        if hint is None:
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(MUTED, HINTS[1])
            imgui.pop_text_wrap_pos()
            rects.append(_item_rect())
        self.text_rects["header"] = rects
        imgui.separator()

    def _search_box(self, width: float) -> None:
        """The search: results replace the list as the learner types; Enter opens the first."""
        io = imgui.get_io()
        if io.key_ctrl and imgui.is_key_pressed(imgui.Key.f, False):
            self._focus_search = True
        if self._focus_search and "search" in self.app.mark_ids:
            # activating it by id works wherever the keyboard focus was (a card, another window)
            imgui.internal.activate_item_by_id(self.app.mark_ids["search"])
            self._focus_search = False
        imgui.set_next_item_width(width)
        entered, text = imgui.input_text_with_hint("##search", SEARCH_HINT, self.query,
                                                   imgui.InputTextFlags_.enter_returns_true.value)
        self.app.mark("search")
        if imgui.is_item_active() and imgui.is_key_pressed(imgui.Key.escape, False):
            text = ""  # Esc empties the search and gives the keyboard back to the levels
            imgui.internal.clear_active_id()
        if imgui.is_item_hovered() and not imgui.is_item_active():
            self._tooltip("Search the levels, their claims and formulas. Paste a term, an equation (softmax(QK^T/sqrt(d))V), an arXiv id or a sentence: the levels, "
                          "claims and formulas that match, with the levels that lead to them.")
        self.run_search(text)
        if entered and self.hits:
            self.open_hit(self.hits[0])

    def _list(self, starts: set[str], focus: bool) -> None:
        """The search's results while there is a query; else the Start Here route, the levels by
        pillar or by domain, and the other routes. ``focus``: the keyboard focus starts here (no
        route graph shown)."""
        registry = self.app.registry
        rects: list[Rect] = []
        if self.query.strip():
            self._results(rects)
            self.text_rects["list"] = rects
            return
        if not registry.entries:
            imgui.text_wrapped("No levels were found. Levels live in folders with a level.toml; "
                               "see MODDING.md for how to make one.")
        route = self.start_route
        if route is not None:
            self._route(route, rects, start=True)
        imgui.text_colored(MUTED, "Levels by")
        imgui.same_line()
        for key, label in (("pillar", "pillar"), ("domain", "domain")):
            if imgui.radio_button(f"{label}##group", self.group == key):
                self.group = key
            self.app.mark(f"group:{key}")
            imgui.same_line()
        imgui.new_line()
        if self.group == "domain":
            groups = [(DOMAINS[d], ids) for d, ids in by_domain(registry).items()]
        else:
            groups = [(section, [i for i in self.order() if registry.entries[i].manifest.pillar == key])
                      for key, section in SECTIONS.items()]
        for heading, ids in groups:
            if not ids and self.group == "pillar":
                continue
            imgui.push_font(self.app.imgui.font_bold, 0.0)
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(ACCENT if ids else MUTED, heading)
            imgui.pop_text_wrap_pos()
            imgui.pop_font()
            rects.append(_item_rect())
            if not ids:
                imgui.indent()
                imgui.text_colored(MUTED, "no level yet")
                rects.append(_item_rect())
                imgui.unindent()
            self._rows(ids, starts, focus, rects)
            imgui.spacing()
        others = [r for r in self.routes if r is not route and r.present(registry)]
        if others:
            imgui.push_font(self.app.imgui.font_bold, 0.0)
            imgui.text_colored(ACCENT, "Routes")
            imgui.pop_font()
            rects.append(_item_rect())
            for other in others:
                self._route(other, rects, start=False)
        self.text_rects["list"] = rects
        problems = [f"{e.folder.name}: {e.error}" for e in registry.problems] + self.route_problems
        if problems:
            imgui.separator()
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(BAD, f"{len(problems)} problem(s) while reading the levels:")
            for entry in registry.problems:
                imgui.text_colored(MUTED, f"{entry.folder.name}: {entry.error}")
                if entry.manifest is None and imgui.small_button(f"Reload##{entry.folder}"):
                    registry.retry(entry)
            for problem in self.route_problems:
                imgui.text_colored(MUTED, problem)
            imgui.pop_text_wrap_pos()

    def _rows(self, ids: list[str], starts: set[str], focus: bool, rects: list[Rect]) -> None:
        """One selectable row per level: its title and status, its summary below."""
        registry = self.app.registry
        scale = self.app.imgui.scale
        line = imgui.get_text_line_height()
        draw = imgui.get_window_draw_list()
        for level_id in ids:
            manifest = registry.entries[level_id].manifest
            status, color = self.status(level_id, starts)
            width = imgui.get_content_region_avail().x
            row = list_row(manifest.title, status, width, _measure, line, scale)
            at = imgui.get_cursor_screen_pos()
            if imgui.selectable(f"##list-{level_id}", self.hovered == level_id, 0,
                                imgui.ImVec2(width, row.height))[0]:
                self.chosen = level_id
            if focus and self._focus == level_id:
                _take_focus()
            self._track(level_id)
            if row.clipped and imgui.is_item_hovered():
                self._tooltip(f"{manifest.title}: {status}")
            for rect, text, col in ((row.title, row.title_text, imgui.ImVec4(1, 1, 1, 1)),
                                    (row.status, row.status_text, color)):
                placed = (at.x + rect[0], at.y + rect[1], rect[2], rect[3])
                draw.add_text(imgui.ImVec2(placed[0], placed[1]), imgui.get_color_u32(col), text)
                rects.append(placed)
            imgui.indent()
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(MUTED, manifest.summary)
            imgui.pop_text_wrap_pos()
            rects.append(_item_rect())
            imgui.unindent()

    def _route(self, route: Route, rects: list[Rect], start: bool) -> None:
        """A route: its title and progress, its summary (Start Here only), the levels before it,
        and its steps, each a button that opens its level, the next one marked."""
        registry = self.app.registry
        steps = route_progress(route, registry, self.solved, self.app.visited())
        following = next_step(steps)
        imgui.push_text_wrap_pos(0.0)
        if start:
            imgui.push_font(self.app.imgui.font_bold, 0.0)
            imgui.text_colored(ACCENT, f"Start here: {route.title}")
            imgui.pop_font()
        else:
            imgui.text(route.title)
        rects.append(_item_rect())
        state = progress_text(steps)
        if following is not None and start:
            state += f" · next: {registry.entries[following].manifest.title}"
        imgui.text_colored(GOOD if following is None else MUTED, state)
        rects.append(_item_rect())
        if start and route.summary:
            imgui.text_colored(MUTED, route.summary)
            rects.append(_item_rect())
        before = route.before(registry)
        if before:
            titles = ", ".join(registry.entries[i].manifest.title for i in before)
            imgui.text_colored(MUTED, f"Builds on: {titles}")
            rects.append(_item_rect())
        imgui.pop_text_wrap_pos()
        done = {p.level: p.done for p in steps}
        width = imgui.get_content_region_avail().x
        for i, level_id in enumerate(route.steps):
            if i:
                imgui.same_line(0.0, 0.0)
                imgui.text_colored(MUTED, " → ")
                imgui.same_line(0.0, 0.0)
            entry = registry.entries.get(level_id)
            label = entry.manifest.title if entry else f"{level_id} (not installed)"
            label = ("✓ " if done.get(level_id) else "") + label
            size = imgui.calc_text_size(label).x + 2 * imgui.get_style().frame_padding.x
            if i and imgui.get_cursor_pos_x() + size > width:
                imgui.new_line()
            imgui.begin_disabled(entry is None)
            highlight = level_id == following
            if highlight:
                imgui.push_style_color(imgui.Col_.button, imgui.ImVec4(0.18, 0.32, 0.5, 1.0))
            if imgui.small_button(f"{label}##route-{route.id}-{level_id}"):
                self.chosen = level_id
            if highlight:
                imgui.pop_style_color()
            imgui.end_disabled()
            self.app.mark(f"route:{route.id}:{level_id}")
            if entry is not None:
                self._track(level_id)
        imgui.spacing()

    def _results(self, rects: list[Rect]) -> None:
        """The search's hits: what matched (a level, a claim, a formula ...), where it is, a
        snippet, and the path of levels that leads to it; each opens its level where it is."""
        registry = self.app.registry
        if not self.hits:
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(MUTED, f"Nothing matches \"{self.query}\". Try fewer words, a formula's symbols, "
                                      "or an arXiv id.")
            imgui.pop_text_wrap_pos()
            rects.append(_item_rect())
            return
        levels = list(dict.fromkeys(h.level for h in self.hits))
        imgui.text_colored(MUTED, f"{len(levels)} level{'s' if len(levels) != 1 else ''} match · Enter opens the first")
        rects.append(_item_rect())
        pad = 2 * imgui.get_style().frame_padding.x
        for level_id in levels:
            hits = [h for h in self.hits if h.level == level_id]
            first = hits[0]
            imgui.push_font(self.app.imgui.font_bold, 0.0)
            width = imgui.get_content_region_avail().x
            label = shorten(first.level_title, width - pad, _measure)
            if imgui.selectable(f"{label}##hit-{level_id}", False)[0]:
                self.open_hit(next((h for h in hits if h.kind == "level"), first))
            imgui.pop_font()
            self.app.mark(f"hit:{level_id}")
            self._track(level_id)
            rects.append(_item_rect())
            imgui.indent()
            imgui.push_text_wrap_pos(0.0)
            if len(first.path) > 1:
                titles = [registry.entries[j].manifest.title for j in first.path[:-1] if j in registry.entries]
                imgui.text_colored(MUTED, "after: " + " → ".join(titles))
                rects.append(_item_rect())
            imgui.pop_text_wrap_pos()
            for hit in [h for h in hits if h.kind != "level"][:3]:
                width = imgui.get_content_region_avail().x
                what = f"{hit.kind}: {hit.title}"
                label = shorten(what, width - pad, _measure)
                if imgui.selectable(f"{label}##hit-{level_id}-{hit.kind}-{hit.object}", False)[0]:
                    self.open_hit(hit)
                self.app.mark(f"hit:{level_id}:{hit.kind}:{hit.object}")
                self._track(level_id)
                if imgui.is_item_hovered() and (label != what or hit.kind in ("section", "claim")):
                    self._tooltip(what if hit.kind not in ("section", "claim") else f"{what}\n\n{hit.snippet}")
                rects.append(_item_rect())
            imgui.unindent()
            imgui.spacing()

    def _graph(self, cards: dict[str, Card], starts: set[str]) -> None:
        registry = self.app.registry
        scale = self.app.imgui.scale
        origin = imgui.get_cursor_screen_pos()
        ox, oy = origin.x, origin.y
        draw = imgui.get_window_draw_list()
        edge = imgui.get_color_u32(imgui.ImVec4(0.5, 0.6, 0.75, 0.8))
        gap = GAP_X * scale
        for level_id, card in cards.items():  # edges first, under the cards
            for prereq in registry.entries[level_id].manifest.prerequisites:
                if prereq not in cards:
                    continue
                p = cards[prereq].box
                a = imgui.ImVec2(ox + p[0] + p[2], oy + p[1] + p[3] / 2)
                b = imgui.ImVec2(ox + card.box[0], oy + card.box[1] + card.box[3] / 2)
                draw.add_bezier_cubic(a, imgui.ImVec2(a.x + gap / 2, a.y), imgui.ImVec2(b.x - gap / 2, b.y), b,
                                      edge, max(1.5 * scale, 1.0))
                head = 7.0 * scale
                draw.add_triangle_filled(b, imgui.ImVec2(b.x - head, b.y - head * 0.6),
                                         imgui.ImVec2(b.x - head, b.y + head * 0.6), edge)
        visited = self.app.visited()
        rects: list[Rect] = []
        white = imgui.get_color_u32(imgui.ImVec4(1, 1, 1, 1))
        for level_id, card in cards.items():
            manifest = registry.entries[level_id].manifest
            x, y, w, h = card.box
            imgui.set_cursor_screen_pos(imgui.ImVec2(ox + x, oy + y))
            # an invisible button takes part in keyboard and gamepad navigation only when asked
            if imgui.invisible_button(f"##node-{level_id}", imgui.ImVec2(w, h), imgui.ButtonFlags_.enable_nav.value):
                self.chosen = level_id
            self.app.mark(f"level:{level_id}")
            if self._focus == level_id:
                _take_focus()
            self._track(level_id)
            active = self.hovered == level_id
            if card.clipped and imgui.is_item_hovered():  # the card below says the rest
                self._tooltip(f"{manifest.title}: {self.status(level_id, starts)[0]}")
            color = self.status(level_id, starts)[1]
            complete = color is GOOD
            fill = imgui.ImVec4(0.18, 0.32, 0.5, 1.0) if active else imgui.ImVec4(0.13, 0.16, 0.22, 1.0)
            border = GOOD if complete else (ACCENT if level_id in visited or level_id in starts
                                            else imgui.ImVec4(0.35, 0.38, 0.45, 1.0))
            p, q = imgui.ImVec2(ox + x, oy + y), imgui.ImVec2(ox + x + w, oy + y + h)
            draw.add_rect_filled(p, q, imgui.get_color_u32(fill), 6.0 * scale)
            draw.add_rect(p, q, imgui.get_color_u32(border), 6.0 * scale,
                          (3.0 if level_id in starts else 2.0) * scale)
            self._picture(draw, level_id, (ox + card.thumb[0], oy + card.thumb[1], card.thumb[2], card.thumb[3]))
            for rect, text, col in ((card.title, card.title_text, white),
                                    (card.status, card.status_text, imgui.get_color_u32(color))):
                draw.add_text(imgui.ImVec2(ox + rect[0], oy + rect[1]), col, text)
                rects.append((ox + rect[0], oy + rect[1], rect[2], rect[3]))
        self.text_rects["graph"] = rects
        if cards:
            width, height = graph_size(cards, scale)
            imgui.set_cursor_screen_pos(origin)
            imgui.dummy(imgui.ImVec2(width, height))  # the scroll extent

    def _picture(self, draw, level_id: str, rect: Rect) -> None:
        """The level's thumbnail in ``rect`` (screen coordinates), or a plain frame until it is ready."""
        x, y, w, h = rect
        p, q = imgui.ImVec2(x, y), imgui.ImVec2(x + w, y + h)
        thumb = self.thumbnails.get(level_id)
        if thumb is not None:
            draw.add_image(thumb.ref, p, q)
        else:
            draw.add_rect_filled(p, q, imgui.get_color_u32(imgui.ImVec4(0.075, 0.085, 0.105, 1.0)))
        draw.add_rect(p, q, imgui.get_color_u32(imgui.ImVec4(0.3, 0.33, 0.4, 0.8)))

    def _details(self, starts: set[str]) -> None:
        """The level under the cursor or the keyboard focus: its picture, what it asks you to
        predict, what it builds on, how far you are."""
        registry = self.app.registry
        entry = registry.entries.get(self.hovered or "")
        if entry is None:
            imgui.text_colored(MUTED, "Point at a level, or move to one with the arrows, to see it here.")
            return
        manifest = entry.manifest
        scale = self.app.imgui.scale
        avail = imgui.get_content_region_avail()
        tw, th = detail_picture(avail.x, avail.y, scale)
        if tw > 0:
            at = imgui.get_cursor_screen_pos()
            imgui.dummy(imgui.ImVec2(tw, th))
            self._picture(imgui.get_window_draw_list(), entry.id, (at.x, at.y, tw, th))
            if self.thumbnails.status(entry.id) == "pending":
                self._caption(at, (tw, th), "drawing its picture…")
            elif self.thumbnails.status(entry.id) == "failed" and imgui.is_item_hovered():
                self._tooltip(f"No picture: {self.thumbnails.errors.get(entry.id, 'it could not be drawn')}")
            imgui.same_line()
        imgui.begin_group()
        imgui.push_text_wrap_pos(0.0)
        imgui.push_font(self.app.imgui.font_bold, 0.0)
        imgui.text_colored(ACCENT, manifest.title)
        imgui.pop_font()
        imgui.text_colored(MUTED, SECTIONS[manifest.pillar])
        titles = [registry.entries[p].manifest.title for p in manifest.prerequisites if p in registry.entries]
        if titles:
            imgui.text_colored(MUTED, "Builds on: " + ", ".join(titles))
        elif entry.id in starts:
            imgui.text_colored(ACCENT, "Start here: it builds on no other level.")
        else:
            imgui.text_colored(MUTED, "Builds on no other level.")
        imgui.text_wrapped(manifest.summary)
        routes = routes_through(self.routes, entry.id)
        if routes:
            imgui.text_colored(MUTED, "On the route" + ("s " if len(routes) > 1 else " ")
                               + ", ".join(r.title for r in routes))
        if manifest.domains:
            imgui.text_colored(MUTED, "Domains: " + ", ".join(DOMAINS[d] for d in manifest.domains))
        notes = len(self.app.level_notes(entry.id))
        if notes:
            imgui.text_colored(ACCENT, f"Your notes here: {notes}")
        challenges = list(manifest.challenges.values())
        if challenges:
            count = "one thing" if len(challenges) == 1 else f"{len(challenges)} things"
            imgui.text_wrapped(f"You predict {count}, then the simulation measures it. The first: "
                               f"{first_question(manifest)}")
            for text, solved in self.challenge_lines(entry.id):
                imgui.bullet()
                imgui.text_colored(GOOD if solved else MUTED, text)
        else:
            imgui.text_wrapped("A sandbox: no challenges yet, play with it freely.")
        imgui.text_colored(MUTED, "Enter / A / click opens it.")
        imgui.pop_text_wrap_pos()
        imgui.end_group()

    def _caption(self, at, size: tuple[float, float], text: str) -> None:
        """Text centred on a picture's placeholder, left out when it does not fit."""
        tw, th = _measure(text)
        if tw <= size[0] - 8 and th <= size[1]:
            imgui.get_window_draw_list().add_text(
                imgui.ImVec2(at.x + (size[0] - tw) / 2, at.y + (size[1] - th) / 2), imgui.get_color_u32(MUTED), text)

    def reset(self) -> None:
        """Back to how the atlas first shows (a kiosk's next visitor): no level chosen, the focus
        on the first place to start, no search, the list by pillar; the pictures are kept."""
        self.chosen = self.hovered = self._opened = None
        self.query, self.hits, self._searched, self.group = "", [], "", "pillar"
        self._drawn_frame = None

    def release(self) -> None:
        """Free the pictures' textures and close a level being drawn for its picture (call it
        before the app's window closes)."""
        self.thumbnails.release()


def _measure(text: str) -> tuple[float, float]:
    size = imgui.calc_text_size(text)
    return size.x, size.y


def _take_focus() -> None:
    """Give the keyboard focus to the item just drawn, with its highlight: arrows move from it and
    Enter presses it at once, with no Ctrl+Tab or first arrow press to wake the navigation."""
    imgui.internal.focus_item()
    imgui.set_nav_cursor_visible(True)


def _item_rect() -> Rect:
    lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
    return lo.x, lo.y, hi.x - lo.x, hi.y - lo.y
