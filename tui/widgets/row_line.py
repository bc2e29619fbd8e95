"""The line under a fitted table: the highlighted row's values that its columns cut, in full."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static


class RowLine(Static):
    """`Label: full value` for each value of the highlighted row that its column shows cut."""

    DEFAULT_CSS = """
    RowLine {
        height: auto;
        max-height: 3;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, classes="row-line", markup=False)
        self.values: tuple[tuple[str, str], ...] = ()

    def show(self, values: Sequence[tuple[str, str]]) -> None:
        """Show these (label, full value) pairs, stored text literally; nothing when empty."""
        self.values = tuple(values)
        line = Text(end="")
        for label, value in self.values:
            if line:
                line.append("   ")
            line.append(f"{label}: ", style="bold")
            line.append(value)
        self.update(line)
