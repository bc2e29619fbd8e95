"""Domains: search-as-you-type over the whole store, fetched page by page."""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, Header, Input, Static

from domains.store import DomainHit, SearchPage
from tui.cells import plain
from tui.screens.base import StaffScreen
from tui.widgets.banner import Banner
from tui.widgets.mode_bar import ModeBar
from tui.widgets.search import ResultsTable, SearchBox

#: Fetch the next page when the cursor comes this close to the last loaded row.
PREFETCH_MARGIN = 20
#: Rows the table holds at most. Textual's DataTable slows down as it grows, so deep in a long
#: list the table shows a window of the fetched rows, re-drawn around the cursor as it moves.
WINDOW = 5000
#: When a new page overflows the window, the window keeps this many rows above the cursor: the
#: reader is going down, so most of the window is left for the pages to come (fewer re-draws).
KEEP_ABOVE = WINDOW // 5


class DomainsScreen(StaffScreen):
    """Find any domain among a million in a keystroke."""

    PALETTE_GROUP = "Domains"
    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("down", "focus_results", "Results", show=False),
        # Enter opens too (the table's own key); this one also serves the command palette.
        Binding("ctrl+o", "open_domain", "Open domain", show=False),
        Binding("ctrl+r", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_text = ""
        self.next_cursor: str | None = None
        self.loading_more = False
        self.generation = 0
        self.loaded = 0
        self.hits: list[DomainHit] = []
        self.window_start = 0
        #: The search whose first page the table shows.
        self.shown_generation = -1
        #: Enter was pressed in the box before the latest search answered: open its first hit.
        self.open_when_found = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield ModeBar("domains")
        yield Banner()
        yield SearchBox(
            placeholder="domain, e-mail or @mail-domain, name, account (or email: name: account:)",
            id="search",
        )
        yield Static("", id="search-status")
        table = ResultsTable(id="domains")
        yield table
        yield table.line
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "Domains"
        self.query_one("#search", Input).focus()
        self.start_search("")

    # -- searching ----------------------------------------------------------------------

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        """Every keystroke starts a fresh search; older answers are dropped."""
        self.start_search(event.value)

    @on(Input.Submitted, "#search")
    def search_submitted(self) -> None:
        """Enter in the search box opens the highlighted (first) result, once it is found."""
        if self.shown_generation == self.generation:
            self.action_open_domain()
        else:
            self.open_when_found = True

    def start_search(self, text: str) -> None:
        """Search the store for `text` (first page) in a worker."""
        self.query_text = text
        self.open_when_found = False
        self.generation += 1
        generation = self.generation
        page_size = self.app.context.page_size  # type: ignore[attr-defined]
        self.background(
            lambda: self.store.search(text, limit=page_size),
            lambda page: self.show_first_page(generation, page),
            group="search",
            exclusive=True,
            failed=self.search_failed,
        )

    def show_first_page(self, generation: int, page: SearchPage) -> None:
        """Replace the rows with the first page of a search (if it is still the latest)."""
        if generation != self.generation:
            return
        table = self.query_one("#domains", DataTable)
        table.clear()
        self.hits = []
        self.window_start = 0
        self.loaded = 0
        self.shown_generation = generation
        self.add_page(page)
        table.move_cursor(row=0)
        if self.open_when_found:
            self.open_when_found = False
            self.action_open_domain()

    @staticmethod
    def _row(hit: DomainHit) -> tuple[Text, Text, Text]:
        name = hit.unicode_name
        if hit.unicode_name != hit.name:
            name = f"{hit.unicode_name} ({hit.name})"
        return plain(name), plain(hit.account_number), plain(hit.matched)

    def add_page(self, page: SearchPage) -> None:
        """Append a page of hits and remember where the next one starts."""
        table = self.query_one("#domains", DataTable)
        first = len(self.hits)
        self.hits.extend(page.hits)
        self.loaded = len(self.hits)
        if self.loaded - self.window_start > WINDOW:
            here = self.window_start + table.cursor_row
            self.show_window(max(0, here - KEEP_ABOVE), here)
        else:
            for index in range(first, self.loaded):
                hit = self.hits[index]
                table.add_row(*self._row(hit), key=f"{hit.name}#{index}")
        self.next_cursor = page.next_cursor
        more = " (more below)" if page.next_cursor else ""
        what = "no matches" if not self.loaded else f"{self.loaded} shown{more}"
        self.query_one("#search-status", Static).update(f"{page.kind} search: {what}")

    def show_window(self, start: int, cursor_at: int) -> None:
        """Put hits[start:start+WINDOW] in the table, the cursor on hit number cursor_at."""
        table = self.query_one("#domains", DataTable)
        self.window_start = start
        table.clear()
        for index in range(start, min(start + WINDOW, self.loaded)):
            hit = self.hits[index]
            table.add_row(*self._row(hit), key=f"{hit.name}#{index}")
        table.move_cursor(row=cursor_at - start, animate=False)

    def search_failed(self, exc: Exception) -> None:
        """A bad query (e.g. too long) shows under the box, not as a crash."""
        self.open_when_found = False
        self.query_one("#search-status", Static).update(f"[red]{escape(str(exc))}[/]")

    # -- paging -------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#domains")
    def maybe_load_more(self, _event: DataTable.RowHighlighted) -> None:
        """Fetch the next page as the cursor nears the end of what is loaded."""
        table = self.query_one("#domains", DataTable)
        # The table's cursor now, not the event's: a re-drawn window posts stale highlights.
        row = table.cursor_row
        if row >= table.row_count - PREFETCH_MARGIN:
            if self.window_start + table.row_count < self.loaded:
                here = self.window_start + row
                self.show_window(max(0, here - WINDOW // 2), here)
            else:
                self.load_more()
        elif row < PREFETCH_MARGIN and self.window_start > 0:
            here = self.window_start + row
            self.show_window(max(0, here - WINDOW // 2), here)

    def load_more(self) -> None:
        """Fetch the next page of the current search."""
        if self.next_cursor is None or self.loading_more:
            return
        self.loading_more = True
        cursor, text, generation = self.next_cursor, self.query_text, self.generation
        page_size = self.app.context.page_size  # type: ignore[attr-defined]

        def done(page: SearchPage) -> None:
            self.loading_more = False
            if generation == self.generation:
                self.add_page(page)

        def failed(exc: Exception) -> None:
            self.loading_more = False
            self.show_error(exc)

        self.background(
            lambda: self.store.search(text, cursor=cursor, limit=page_size),
            done,
            group="page",
            failed=failed,
        )

    # -- actions ------------------------------------------------------------------------

    def action_focus_search(self) -> None:
        """Put the cursor in the search box."""
        self.query_one("#search", Input).focus()

    def action_focus_results(self) -> None:
        """Down from the search box moves into the results."""
        self.query_one("#domains", DataTable).focus()

    def action_refresh(self) -> None:
        """Search again (the store may have changed)."""
        self.start_search(self.query_text)

    def action_open_domain(self) -> None:
        """Open the highlighted domain."""
        table = self.query_one("#domains", DataTable)
        if not self.loaded:
            return
        row_key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key
        name = str(row_key.value).split("#", 1)[0]
        from tui.screens.domain import DomainScreen

        self.app.push_screen(DomainScreen(name))

    @on(DataTable.RowSelected, "#domains")
    def row_selected(self) -> None:
        """Enter on a row opens it."""
        self.action_open_domain()
