"""Audit: the append-only trail, filtered by entity, actor and time."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, Header, Input, Static

from domains import audit
from domains.errors import FieldError, ValidationFailed
from domains.models import AuditEvent
from tui.screens.base import StaffScreen
from tui.widgets.fitted_table import Col, FittedTable
from tui.widgets.mode_bar import ModeBar

PAGE = 200
#: The entity first gets the width the others leave: what the changes were, Enter shows.
COLUMNS = (
    Col("When", 16),
    Col("Actor", 9, share=1),
    Col("Action", 13, share=1),
    Col("Entity", 16, share=3),
    Col("Changes", 6, share=1),
)


def parse_day(field: str, text: str) -> datetime | None:
    """A date (YYYY-MM-DD) or ISO time; times without a zone are UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            FieldError(field, f"{text!r} is not a date such as 2026-11-27")
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class AuditScreen(StaffScreen):
    """Who changed what, when; Enter in a filter box applies the filters, on an event opens it."""

    PALETTE_GROUP = "Audit"
    #: The trail has the focus first: Enter opens the highlighted event.
    AUTO_FOCUS = "#audit"
    BINDINGS = [
        Binding("enter", "open_event", "Open event"),
        Binding("ctrl+f", "focus_filters", "Filter"),
        Binding("m", "more", "Older"),
        Binding("ctrl+r", "apply_filters", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.oldest_id: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield ModeBar("audit")
        with Horizontal(id="audit-filters"):
            yield Input(placeholder="entity (type:id)", id="entity")
            yield Input(placeholder="actor (prefix)", id="actor")
            yield Input(placeholder="since YYYY-MM-DD", id="since")
            yield Input(placeholder="until YYYY-MM-DD", id="until")
        yield Static("", id="audit-status")
        table = FittedTable(COLUMNS, id="audit", zebra_stripes=True)
        yield table
        yield table.line
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "Audit"
        self.action_apply_filters()

    def filters(self) -> dict[str, object]:
        """The filter boxes as arguments of audit.list_events."""
        entity = self.query_one("#entity", Input).value.strip()
        entity_type, _, entity_id = entity.partition(":") if ":" in entity else ("", "", entity)
        return {
            "entity_type": entity_type or None,
            "entity_id": entity_id or None,
            "actor": self.query_one("#actor", Input).value.strip() or None,
            "since": parse_day("since", self.query_one("#since", Input).value),
            "until": parse_day("until", self.query_one("#until", Input).value),
        }

    @on(Input.Submitted)
    def action_apply_filters(self) -> None:
        """Load the newest events that match the filters."""
        try:
            filters = self.filters()
        except ValidationFailed as exc:
            self.query_one("#audit-status", Static).update(f"[red]{escape(str(exc))}[/]")
            return
        self.background(
            lambda: audit.list_events(self.store, limit=PAGE, **filters),  # type: ignore[arg-type]
            lambda events: self.show(events, replace=True),
            group="audit",
            exclusive=True,
        )

    def action_more(self) -> None:
        """Load the next (older) page."""
        if self.oldest_id is None:
            return
        try:
            filters = self.filters()
        except ValidationFailed as exc:
            self.query_one("#audit-status", Static).update(f"[red]{escape(str(exc))}[/]")
            return
        before = self.oldest_id
        self.background(
            lambda: audit.list_events(self.store, limit=PAGE, before_id=before, **filters),  # type: ignore[arg-type]
            lambda events: self.show(events, replace=False),
            group="audit",
        )

    def show(self, events: list[AuditEvent], *, replace: bool) -> None:
        """Fill or extend the table."""
        table = self.query_one("#audit", DataTable)
        if replace:
            table.clear()
        for event in events:
            table.add_row(
                event.at.strftime("%Y-%m-%d %H:%M"),
                event.actor,
                event.action,
                f"{event.entity_type}:{event.entity_id}",
                json.dumps(event.changes, ensure_ascii=False, default=str),
                key=str(event.id),
            )
        if events:
            self.oldest_id = events[-1].id
        more = " (m for older)" if len(events) == PAGE else ""
        self.query_one("#audit-status", Static).update(f"{table.row_count} events{more}")

    def action_focus_filters(self) -> None:
        """Jump to the first filter box."""
        self.query_one("#entity", Input).focus()

    def action_open_event(self) -> None:
        """Open the highlighted event: every field before and after."""
        table = self.query_one("#audit", DataTable)
        if table.row_count == 0:
            return
        event_id = int(
            str(table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value)
        )
        from tui.screens.audit_event import AuditEventScreen

        self.app.push_screen(AuditEventScreen(event_id))

    @on(DataTable.RowSelected, "#audit")
    def row_selected(self) -> None:
        """Enter on an event opens it."""
        self.action_open_event()
