"""The Domains screen's search box and results table, with their keys shown in the footer."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.widgets import Input

from tui.widgets.fitted_table import Col, FittedTable

RESULT_COLUMNS = (
    Col("Domain", 20, share=2, key="domain"),
    Col("Account", 8, share=1, key="account"),
    Col("Matched", 10, share=2, key="matched"),
)


class SearchBox(Input):
    """The search box: Enter opens the highlighted (first) result, Down goes to the results."""

    BINDINGS = [Binding("enter", "submit", "Open", show=True)]


class ResultsTable(FittedTable):
    """The results: Enter opens the highlighted domain; typing goes on in the search box."""

    BINDINGS = [Binding("enter", "select_cursor", "Open", show=True)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(RESULT_COLUMNS, id=id, zebra_stripes=True)

    def on_key(self, event: events.Key) -> None:
        """A printable key that nothing here is bound to goes to the end of the search box."""
        if not event.is_printable or event.key in self.screen.active_bindings:
            return
        box = self.screen.query(SearchBox).first()
        event.stop()
        event.prevent_default()
        box.focus()
        box.cursor_position = len(box.value)
        box.insert_text_at_cursor(event.character or "")
