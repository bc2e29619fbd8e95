"""Requests: the queue of technical-contact changes by state."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Select, Static

from domains.changes import Workflow
from domains.models import ChangeRequest
from domains.vocabulary import RequestState
from tui.screens.base import StaffScreen
from tui.widgets.fitted_table import Col, FittedTable
from tui.widgets.mode_bar import ModeBar

FILTERS = [("open (to do)", "open"), ("all", "all")] + [(s.value, s.value) for s in RequestState]
TODO_STATES = ("confirmed", "submitted", "approved", "sync_failed")
#: At 80 columns the domain and who entered the request share what the rest leaves.
COLUMNS = (
    Col("Reference", 14),
    Col("Domain", 13, share=3),
    Col("State", 9, share=1),  # sync_failed, the longest, is rare
    Col("Channel", 7),
    Col("Entered by", 8, share=1),
    Col("Created", 16),
)


class RequestsScreen(StaffScreen):
    """Change requests, filtered by state; Enter opens one."""

    PALETTE_GROUP = "Requests"
    #: The list has the focus first: Enter opens the highlighted request.
    AUTO_FOCUS = "#requests"
    BINDINGS = [
        Binding("enter", "open_request", "Open"),
        Binding("n", "new_request", "New request"),
        Binding("ctrl+r", "refresh", "Refresh"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield ModeBar("requests")
        with Horizontal(id="request-filter"):
            yield Static("State ", classes="label")
            yield Select(FILTERS, value="open", allow_blank=False, id="state")
        table = FittedTable(COLUMNS, id="requests", zebra_stripes=True)
        yield table
        yield table.line
        yield Static("", id="requests-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "Requests"
        self.action_refresh()

    def on_screen_resume(self) -> None:
        """Back from a request: its state may have changed."""
        self.action_refresh()

    @on(Select.Changed, "#state")
    def state_changed(self) -> None:
        """A new filter reloads the list."""
        self.action_refresh()

    def action_refresh(self) -> None:
        """Read the requests in the chosen state."""
        choice = self.query_one("#state", Select).value

        def work() -> list[tuple[ChangeRequest, str]]:
            flow = Workflow(self.store)
            if choice == "open":
                rows = [r for state in TODO_STATES for r in flow.list(state=state, limit=200)]
            else:
                rows = flow.list(state=None if choice == "all" else str(choice), limit=500)
            names = flow.domain_names(rows)
            return [(r, names[r.domain_id]) for r in rows]

        self.background(work, self.show_rows, exclusive=True, group="requests")

    def show_rows(self, rows: list[tuple[ChangeRequest, str]]) -> None:
        """Fill the table."""
        table = self.query_one("#requests", DataTable)
        table.clear()
        for request, domain in rows:
            table.add_row(
                request.reference,
                domain,
                request.state,
                request.channel,
                request.entered_by,
                request.created_at.strftime("%Y-%m-%d %H:%M"),
                key=request.reference,
            )
        self.query_one("#requests-status", Static).update(f"{len(rows)} request(s)")

    def action_open_request(self) -> None:
        """Open the highlighted request."""
        table = self.query_one("#requests", DataTable)
        if table.row_count == 0:
            return
        reference = str(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)
        from tui.screens.request_detail import RequestDetailScreen

        self.app.push_screen(RequestDetailScreen(reference))

    @on(DataTable.RowSelected, "#requests")
    def row_selected(self) -> None:
        """Enter on a row opens it."""
        self.action_open_request()

    def action_new_request(self) -> None:
        """Enter a request for a customer who phoned or wrote."""
        from tui.dialogs.enter_request import EnterRequestDialog

        self.app.push_screen(EnterRequestDialog(None), lambda _ref: self.action_refresh())
