"""A table whose columns share the terminal's width; a value too long for its column is cut with
an ellipsis, and the highlighted row's cut values are shown in full on a line under the table.

Each column declares a fixed width, or a minimum and a share of the width left over: on every
resize and whenever a longer value arrives, the flexible columns grow (by share) up to their
widest value, then share what nobody needs. Cells are stored text, shown literally (cells.plain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from tui.cells import plain
from tui.widgets.row_line import RowLine


@dataclass(frozen=True)
class Col:
    """A column: `width` cells always, or (share > 0) at least `width`, growing by `share`."""

    label: str
    width: int
    share: int = 0
    key: str | None = None


def _spread(widths: list[int], columns: Sequence[Col], limits: Sequence[float], spare: int) -> int:
    """Give `spare` cells to the flexible columns below their limit, by share, a column that
    needs less than its share getting just what it needs; the cells nobody took."""
    growing = [i for i, c in enumerate(columns) if c.share and widths[i] < limits[i]]
    while spare > 0 and growing:
        shares = sum(columns[i].share for i in growing)
        small = [i for i in growing if (limits[i] - widths[i]) * shares <= spare * columns[i].share]
        if small:
            for i in small:
                spare -= int(limits[i]) - widths[i]
                widths[i] = int(limits[i])
            growing = [i for i in growing if i not in small]
            continue
        parts = [spare * columns[i].share // shares for i in growing]
        rest = spare - sum(parts)  # fewer than len(growing): one more each to the first ones
        for n, i in enumerate(growing):
            widths[i] += parts[n] + (n < rest)
        spare = 0
    return spare


def fit_widths(columns: Sequence[Col], widest: Sequence[int], space: int) -> list[int]:
    """Each column's width in `space` cells: fixed ones as declared, flexible ones from their
    minimum up to their widest value by share, then the rest of the space by share."""
    widths = [c.width for c in columns]
    spare = _spread(widths, columns, widest, space - sum(widths))
    _spread(widths, columns, [float("inf")] * len(columns), spare)
    return widths


class FittedTable(DataTable):
    """A row-cursor table of declared columns, fitted to its width; see the module docstring.

    `line` is the RowLine to show under it (the screen yields it after the table).
    """

    DEFAULT_CSS = """
    FittedTable {
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(
        self,
        columns: Sequence[Col],
        *,
        id: str | None = None,
        zebra_stripes: bool = False,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=zebra_stripes)
        self.fits = tuple(columns)
        self.line = RowLine(id=f"{id}-line" if id else None)
        self._widest = [cell_len(c.label) for c in self.fits]
        self._fit_pending = False
        for column in self.fits:
            self.add_column(
                Text(column.label, no_wrap=True, overflow="ellipsis", end=""),
                width=column.width,
                key=column.key or column.label,
            )

    # -- rows -----------------------------------------------------------------------------

    def add_row(
        self,
        *cells: Any,
        height: int | None = 1,
        key: str | None = None,
        label: Any = None,
    ) -> RowKey:
        """Add a row; plain values (str, None) are shown literally, never as markup."""
        shown = [cell if isinstance(cell, Text) else plain(cell) for cell in cells]
        grew = False
        for index, cell in enumerate(shown[: len(self._widest)]):
            if cell.cell_len > self._widest[index]:
                self._widest[index] = cell.cell_len
                grew = True
        row_key = super().add_row(*shown, height=height, key=key, label=label)
        if grew or self.row_count == 1:
            self._schedule_fit()
        return row_key

    def clear(self, columns: bool = False) -> FittedTable:
        """Remove the rows (the declared columns stay)."""
        super().clear(columns=False)
        self._widest = [cell_len(c.label) for c in self.fits]
        self._schedule_fit()
        return self

    def row_values(self, row: int | None = None) -> list[str]:
        """The full values of a row (the highlighted one by default), as text."""
        if not self.row_count:
            return []
        cells = self.get_row_at(self.cursor_row if row is None else row)
        return [cell.plain if isinstance(cell, Text) else str(cell) for cell in cells]

    def cut_values(self) -> list[tuple[str, str]]:
        """(column label, full value) of each value of the highlighted row cut by its column."""
        values = self.row_values()
        return [
            (fit.label, value)
            for fit, column, value in zip(self.fits, self.ordered_columns, values, strict=False)
            if cell_len(value) > column.width
        ]

    # -- fitting ------------------------------------------------------------------------

    def _schedule_fit(self) -> None:
        if not self._fit_pending and self.is_mounted:
            self._fit_pending = True
            self.call_after_refresh(self.fit)

    def on_mount(self) -> None:
        self._schedule_fit()

    def on_resize(self, _event: events.Resize) -> None:
        self.fit()

    def fit(self) -> None:
        """Share the width among the columns as declared, then show the cut values."""
        self._fit_pending = False
        if not self.size.width:
            return
        padding = 2 * self.cell_padding * len(self.fits)
        space = self.size.width - self.styles.scrollbar_size_vertical - padding
        widths = fit_widths(self.fits, self._widest, space)
        columns = self.ordered_columns
        if widths != [column.width for column in columns]:
            for column, width in zip(columns, widths, strict=True):
                column.width = width
                column.auto_width = False
            # DataTable has no public way to re-size a column: this is what its add_column does
            # once the widths changed (its render caches are keyed by the update count).
            self._update_count += 1
            self._require_update_dimensions = True
            self.check_idle()
            self.refresh()
        self.show_cut_values()

    def show_cut_values(self) -> None:
        """Put the highlighted row's cut values on the line under the table."""
        self.line.show(self.cut_values())

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        """The cursor moved: the line follows it (the message goes on to the screen)."""
        self.show_cut_values()
