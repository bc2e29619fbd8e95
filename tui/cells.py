"""Table cells of stored values: shown as they are, never read as Rich markup.

DataTable reads a plain string cell as markup, so a contact named "[b]Ann" would show bold and
one named "[/b]" would stop the screen with a markup error; and parsing every cell's markup is
most of the cost of filling a long table.
"""

from __future__ import annotations

from rich.text import Text


def plain(value: object) -> Text:
    """A one-line cell that shows `value` literally (None as empty)."""
    return Text("" if value is None else str(value), no_wrap=True, end="")
