"""Disclosures: the open requests for customers' non-public data, the soonest deadline first,
with a countdown and the overdue ones in red; decided and closed ones behind the state filter
(the most recently finished first); filters by state and urgency."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, Header, Select, Static

from domains.disclosure_views import ListedRequest
from domains.disclosures import Disclosures
from domains.models import utcnow
from domains.vocabulary import OPEN_DISCLOSURE_STATES, REGULAR, DisclosureState, UrgencyCategory
from tui.screens.base import StaffScreen
from tui.widgets.fitted_table import Col, FittedTable
from tui.widgets.mode_bar import ModeBar

ALL = "all"
OPEN = "open"
URGENT = "urgent"
FINISHED = (DisclosureState.DECIDED, DisclosureState.CLOSED)
STATES = (
    [("open (all)", OPEN)]
    + [(s, s) for s in DisclosureState if s in OPEN_DISCLOSURE_STATES]
    + [(s, s) for s in FINISHED]
    + [("any", ALL)]
)
URGENCIES = [("any", ALL), (REGULAR, REGULAR), (URGENT, URGENT)] + [(u, u) for u in UrgencyCategory]
COLUMNS = (
    Col("Reference", 14),
    Col("Due in", 10),
    Col("Next", 11),
    Col("State", 12, share=1),
    Col("Urgency", 8, share=2),
    Col("Requestor", 8, share=1),
)


def countdown(deadline: datetime, now: datetime) -> str:
    """The time left to a deadline ("3d 4h", "5h 10m"), or how late it is ("2h late")."""
    left = deadline - now
    late = left < timedelta(0)
    left = abs(left)
    days, rest = divmod(int(left.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    text = f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m"
    return f"{text} late" if late else text


def states_of(state: object) -> list[str]:
    """The states the state filter asks for."""
    if state == OPEN:
        return sorted(OPEN_DISCLOSURE_STATES)
    if state == ALL:
        return [*sorted(OPEN_DISCLOSURE_STATES), *FINISHED]
    return [str(state)]


def matches(item: ListedRequest, urgency: object) -> bool:
    """Whether a listed request passes the urgency filter."""
    if urgency == URGENT:
        return item.urgency != REGULAR
    return urgency == ALL or item.urgency == urgency


class DisclosuresScreen(StaffScreen):
    """Disclosure requests waiting for an answer; Enter opens one, n enters one."""

    PALETTE_GROUP = "Disclosures"
    AUTO_FOCUS = "#disclosures"
    BINDINGS = [
        Binding("enter", "open_disclosure", "Open"),
        Binding("n", "new_disclosure", "New request"),
        Binding("ctrl+r", "refresh", "Refresh"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield ModeBar("disclosures")
        with Horizontal(id="disclosure-filter"):
            yield Static("State ", classes="label")
            yield Select(STATES, value=OPEN, allow_blank=False, id="d-state", compact=True)
            yield Static(" Urgency ", classes="label")
            yield Select(URGENCIES, value=ALL, allow_blank=False, id="d-urgency", compact=True)
        table = FittedTable(COLUMNS, id="disclosures", zebra_stripes=True)
        yield table
        yield table.line
        yield Static("", id="disclosures-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "Disclosures"
        self.action_refresh()

    def on_screen_resume(self) -> None:
        """Back from a request: its state may have changed."""
        self.action_refresh()

    @on(Select.Changed, "#d-state")
    @on(Select.Changed, "#d-urgency")
    def filter_changed(self) -> None:
        """A new filter reloads the queue."""
        self.action_refresh()

    def action_refresh(self) -> None:
        """Read the queue (the soonest deadline first) and apply the filters."""
        state = self.query_one("#d-state", Select).value
        urgency = self.query_one("#d-urgency", Select).value

        def work() -> tuple[list[ListedRequest], datetime]:
            now = utcnow()
            listed = Disclosures(self.store).listing(states_of(state), now=now, limit=500)
            return [item for item in listed if matches(item, urgency)], now

        self.background(work, self.show_rows, exclusive=True, group="disclosures")

    def show_rows(self, found: tuple[list[ListedRequest], datetime]) -> None:
        """Fill the table; an overdue request's row is red; a finished one shows when it was
        finished and its outcome."""
        items, now = found
        table = self.query_one("#disclosures", FittedTable)
        table.clear()
        for item in items:
            style = "bold red" if item.overdue else ""
            if item.next_deadline is not None:
                when, step = countdown(item.next_deadline, now), item.next_step
            else:
                finished = item.finished_at
                when = finished.strftime("%Y-%m-%d") if finished else "-"
                step = item.outcome or "-"
            cells = (
                item.reference,
                when,
                step or "-",
                item.state,
                item.urgency,
                item.requestor_kind,
            )
            table.add_row(*(Text(cell, style=style) for cell in cells), key=item.reference)
        late = sum(1 for item in items if item.overdue)
        still_open = sum(1 for item in items if item.next_deadline is not None)
        status = f"{still_open} open request(s)" + (f", {late} overdue" if late else "")
        if len(items) > still_open:
            status += f", {len(items) - still_open} decided or closed"
        self.query_one("#disclosures-status", Static).update(Text(status))

    def action_open_disclosure(self) -> None:
        """Open the highlighted request."""
        table = self.query_one("#disclosures", DataTable)
        if table.row_count == 0:
            return
        reference = str(table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value)
        from tui.screens.disclosure_detail import DisclosureDetailScreen

        self.app.push_screen(DisclosureDetailScreen(reference))

    @on(DataTable.RowSelected, "#disclosures")
    def row_selected(self) -> None:
        """Enter on a row opens it."""
        self.action_open_disclosure()

    def action_new_disclosure(self) -> None:
        """Enter a request that came by letter, phone or e-mail."""
        from tui.dialogs.enter_disclosure import EnterDisclosureDialog

        self.app.push_screen(EnterDisclosureDialog(), lambda _ref: self.action_refresh())
