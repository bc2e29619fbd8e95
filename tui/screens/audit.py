"""Audit: the append-only trail, filtered by entity, actor and time."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Input, Static

from domains import audit
from domains.errors import FieldError, ValidationFailed
from domains.models import AuditEvent
from tui.screens.base import StaffScreen
from tui.widgets.mode_bar import ModeBar

PAGE = 200


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
    """Who changed what, when; Enter in a filter box applies the filters."""

    PALETTE_GROUP = "Audit"
    BINDINGS = [
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
        table = DataTable(id="audit", cursor_type="row", zebra_stripes=True)
        for column in ("When", "Actor", "Action", "Entity", "Changes"):
            table.add_column(column)
        yield table
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
            changes = json.dumps(event.changes, ensure_ascii=False, default=str)
            table.add_row(
                event.at.strftime("%Y-%m-%d %H:%M:%S"),
                escape(event.actor),
                event.action,
                escape(f"{event.entity_type}:{event.entity_id}"),
                escape(changes[:120]),
            )
        if events:
            self.oldest_id = events[-1].id
        more = " (m for older)" if len(events) == PAGE else ""
        self.query_one("#audit-status", Static).update(f"{table.row_count} events{more}")

    def action_focus_filters(self) -> None:
        """Jump to the first filter box."""
        self.query_one("#entity", Input).focus()
