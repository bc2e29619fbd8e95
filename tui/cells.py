"""Table cells of stored values: shown as they are, never read as Rich markup.

DataTable reads a plain string cell as markup, so a contact named "[b]Ann" would show bold and
one named "[/b]" would stop the screen with a markup error; and parsing every cell's markup is
most of the cost of filling a long table. A value longer than its column ends in an ellipsis
(the fitted tables show it in full under the table, tui/widgets/fitted_table.py).
"""

from __future__ import annotations

from rich.text import Text


def plain(value: object) -> Text:
    """A one-line cell that shows `value` literally (None as empty), cut with an ellipsis."""
    return Text("" if value is None else str(value), no_wrap=True, overflow="ellipsis", end="")
