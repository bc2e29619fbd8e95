"""Audit event: who, when, what, why, and every field before and after, side by side."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from domains.audit import AuditEventView
from tui.screens.base import StaffScreen


def shown(value: Any) -> Text:
    """A recorded value as literal text: lists one item a line, mappings as indented JSON."""
    if value is None or value == "" or value == []:
        return Text("-", style="dim")
    if isinstance(value, list | tuple):
        return Text("\n".join(shown(v).plain for v in value))
    if isinstance(value, dict):
        return Text(json.dumps(value, ensure_ascii=False, indent=1, default=str))
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    return Text(str(value))


def summary(event: AuditEventView) -> Text:
    """The event's who, when, what and why, one labelled line each."""
    lines = [
        ("Event", str(event.id)),
        ("When", event.at.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("Actor", event.actor),
        ("Action", event.action),
        ("Entity", event.entity),
        ("Request", event.request_ref),
        ("Reason", event.reason),
        ("EPP ids", " / ".join(i for i in (event.cltrid, event.svtrid) if i) or None),
    ]
    text = Text(end="")
    for label, value in lines:
        if value is None:
            continue
        if text:
            text.append("\n")
        text.append(f"{label:8} ", style="bold")
        text.append(value)
    return text


def changes_table(event: AuditEventView) -> Table | Text:
    """Every field: before and after side by side (or the value, for an event that records
    values without a before, like an import's counts), wrapped, never cut."""
    if not event.fields:
        return Text("No fields were recorded with this event.", style="dim")
    paired = any(change.changed for change in event.fields)
    table = Table(expand=True, show_lines=True, pad_edge=False)
    table.add_column("Field", style="bold", overflow="fold", ratio=2)
    if paired:
        table.add_column("Before", overflow="fold", ratio=3)
    table.add_column("After" if paired else "Value", overflow="fold", ratio=3)
    for change in event.fields:
        after = shown(change.after)
        if not paired:
            table.add_row(change.field, after)
            continue
        before = shown(change.before) if change.changed else Text("")
        if change.changed:
            before.stylize("red")
            after.stylize("green")
        table.add_row(change.field, before, after)
    return table


class AuditEventScreen(StaffScreen):
    """One audit event in full; escape goes back to the trail."""

    PALETTE_GROUP = "Audit event"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, event_id: int) -> None:
        super().__init__()
        self.event_id = event_id
        self.event: AuditEventView | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="audit-event"):
            yield Static("loading...", id="event-summary")
            yield Static("", id="event-changes")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"Audit event {self.event_id}"
        self.query_one("#audit-event", VerticalScroll).focus()
        self.background(
            lambda: self.store.audit_event(self.event_id), self.show, failed=self.show_failed
        )

    def show(self, event: AuditEventView) -> None:
        """Fill the view from the event."""
        self.event = event
        self.title = f"{event.action} {event.entity}"
        self.query_one("#event-summary", Static).update(summary(event))
        self.query_one("#event-changes", Static).update(changes_table(event))

    def show_failed(self, exc: Exception) -> None:
        """The event could not be read: say so here and in a notification."""
        self.query_one("#event-summary", Static).update(Text(str(exc)))
        self.show_error(exc)
