"""Sync: the registry outbox - pending, failed (with the registry's message) and done - and the
last registry drift check (`interlink sync --reconcile`)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, Header, Select, Static

from domains import drift, outbox
from domains.drift import DriftRunView
from domains.models import OutboxEntry
from domains.vocabulary import OutboxStatus
from tui.dialogs.drift import DriftDialog, drift_summary
from tui.screens.base import StaffScreen
from tui.widgets.fitted_table import Col, FittedTable
from tui.widgets.mode_bar import ModeBar

FILTERS = [("all", "all")] + [(s.value, s.value) for s in OutboxStatus]
REFRESH_SECONDS = 3.0
COLUMNS = (
    Col("Id", 4, share=1),
    Col("Kind", 14, share=1),
    Col("TLD", 3, share=1),
    Col("Status", 11),
    Col("Tries", 5),
    Col("Registry message", 12, share=4),
)


class SyncScreen(StaffScreen):
    """Watch the registry sync and put failed entries back in line."""

    PALETTE_GROUP = "Sync"
    BINDINGS = [
        Binding("t", "retry", "Retry failed"),
        Binding("d", "drift", "Drift check"),
        Binding("ctrl+r", "refresh", "Refresh"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield ModeBar("sync")
        with Horizontal(id="sync-filter"):
            yield Static("Status ", classes="label")
            yield Select(FILTERS, value="all", allow_blank=False, id="status")
        yield Static("", id="sync-counts")
        yield Static("", id="sync-drift")
        table = FittedTable(COLUMNS, id="outbox", zebra_stripes=True)
        yield table
        yield table.line
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "Registry sync"
        self.action_refresh()
        self.set_interval(REFRESH_SECONDS, self.refresh_if_shown)

    def refresh_if_shown(self) -> None:
        """The periodic refresh, only while this screen is the one on display."""
        if self.is_current:
            self.action_refresh()

    @on(Select.Changed, "#status")
    def status_changed(self) -> None:
        """A new filter reloads the list."""
        self.action_refresh()

    def action_refresh(self) -> None:
        """Read the counts and the entries."""
        status = self.query_one("#status", Select).value

        def work() -> tuple[dict[str, int], list[OutboxEntry], DriftRunView | None]:
            chosen = None if status == "all" else str(status)
            return (
                outbox.count_by_status(self.store),
                outbox.list_entries(self.store, status=chosen, limit=500),
                drift.last_run(self.store),
            )

        self.background(work, self.show, group="sync", exclusive=True)

    def show(self, data: tuple[dict[str, int], list[OutboxEntry], DriftRunView | None]) -> None:
        """Fill the counts line and the table, keeping the cursor on the same entry."""
        counts, entries, last_drift = data
        self.query_one("#sync-counts", Static).update(
            "  ".join(f"{s}: {counts.get(s, 0)}" for s in OutboxStatus)
        )
        self.query_one("#sync-drift", Static).update(drift_summary(last_drift))
        table = self.query_one("#outbox", DataTable)
        keep = table.cursor_row
        table.clear()
        for entry in entries:
            table.add_row(
                str(entry.id),
                entry.kind,
                entry.tld,
                entry.status,
                str(entry.attempts),
                entry.last_error,
                key=str(entry.id),
            )
        if entries:
            table.move_cursor(row=min(keep, len(entries) - 1))

    def action_retry(self) -> None:
        """Put the highlighted failed entry back in the queue."""
        table = self.query_one("#outbox", DataTable)
        if table.row_count == 0:
            return
        cell = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0))
        entry_id = int(str(cell.row_key.value))

        def done(entry: OutboxEntry) -> None:
            self.notify(f"entry {entry.id} is pending again")
            self.action_refresh()

        self.background(
            lambda: outbox.retry_entry(self.store, entry_id, actor=self.actor), done, group="retry"
        )

    def action_drift(self) -> None:
        """Show the last drift check's differences."""
        self.background(
            lambda: drift.last_run(self.store),
            lambda run: self.app.push_screen(DriftDialog(run)),
            group="drift",
        )
