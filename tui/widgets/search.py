"""The Domains screen's search box and results table, with their keys shown in the footer."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable, Input


class SearchBox(Input):
    """The search box: Enter goes to the results."""

    BINDINGS = [Binding("enter", "submit", "Results", show=True)]


class ResultsTable(DataTable):
    """The results: Enter opens the highlighted domain."""

    BINDINGS = [Binding("enter", "select_cursor", "Open", show=True)]
