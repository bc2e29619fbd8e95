"""Who looked: every recorded look at one contact's private fields (and exports), newest first."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Static

from domains.access import AccessEventView
from tui.screens.base import StaffScreen
from tui.widgets.fitted_table import Col, FittedTable

COLUMNS = (
    Col("When", 16),
    Col("Who", 10, share=1),
    Col("Why", 14, share=2),
    Col("Domain", 10, share=2),
)


class AccessLogScreen(StaffScreen):
    """The access trail of one contact: when, who, why (the screen or command) and for which
    domain; an export (every contact at once) shows as such."""

    PALETTE_GROUP = "Who looked"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, handle: str) -> None:
        super().__init__()
        self.handle = handle
        self.events: list[AccessEventView] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading...", id="access-status", markup=False)
        table = FittedTable(COLUMNS, id="access", zebra_stripes=True)
        yield table
        yield table.line
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"Who looked at {self.handle}"
        self.action_reload()

    def action_reload(self) -> None:
        """Read the contact's access trail again."""
        self.background(lambda: self.store.access_events(self.handle), self.show)

    def show(self, events: list[AccessEventView]) -> None:
        """One row per look, newest first."""
        self.events = events
        table = self.query_one("#access", FittedTable)
        table.clear()
        for event in events:
            table.add_row(
                event.at.strftime("%Y-%m-%d %H:%M"),
                event.actor,
                event.purpose,
                event.domain if event.contact else "(every contact: export)",
                key=str(event.id),
            )
        self.query_one("#access-status", Static).update(
            f"{len(events)} recorded look(s) at {self.handle}'s private fields"
            if events
            else f"nobody has looked at {self.handle}'s private fields yet"
        )
