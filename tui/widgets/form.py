"""Compact form rows for 80x24: a label beside each field, its error wrapped under it, a summary.

Fields are `#f-NAME`, their errors `#e-NAME`, check boxes `#c-NAME`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from rich.text import Text
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Static

from domains.errors import ValidationFailed


class FieldError(Static):
    """One field's error, under the field and wrapped to its width; hidden while there is none.

    The message may quote what was typed: it is shown as it is, never read as markup.
    """

    DEFAULT_CSS = """
    FieldError {
        color: $text-error;
        height: auto;
        display: none;
    }
    """

    def show(self, message: str) -> None:
        """Show `message` (an empty one hides the line)."""
        self.update(Text(message))
        self.display = bool(message)


class FormSummary(Static):
    """What stops a form from being saved, in the form above its fields (never over them)."""

    DEFAULT_CSS = """
    FormSummary {
        color: $text-error;
        background: $error 15%;
        height: auto;
        padding: 0 1;
        display: none;
    }
    """

    def show(self, lines: Iterable[str]) -> None:
        """Show these lines, as they are; none hides the summary."""
        text = "\n".join(line for line in lines if line)
        self.update(Text(text))
        self.display = bool(text)


class FieldRow(Horizontal):
    """A label, and beside it the field with its error under it; one line while all is well."""

    DEFAULT_CSS = """
    FieldRow {
        height: auto;
    }
    FieldRow > .field-label {
        width: 19;
        padding-right: 1;
        color: $text-muted;
    }
    FieldRow:focus-within > .field-label {
        color: $text;
        text-style: bold;
    }
    FieldRow > .field-cell {
        width: 1fr;
        height: auto;
    }
    FieldRow .choices {
        layout: grid;
        grid-size: 4;
        grid-rows: 1;
        grid-columns: auto;
        grid-gutter: 0 1;
        height: auto;
    }
    """

    def __init__(self, label: str, *widgets: Widget, id: str | None = None) -> None:
        super().__init__(
            Label(Text(label), classes="field-label"),
            Vertical(*widgets, classes="field-cell"),
            id=id,
        )


def text_rows(fields: Iterable[tuple[str, str]]) -> Iterator[FieldRow]:
    """A row per (name, label): the input `#f-NAME`, its error `#e-NAME` under it."""
    for name, label in fields:
        yield FieldRow(
            label,
            Input(id=f"f-{name}", max_length=255, compact=True),
            FieldError(id=f"e-{name}"),
        )


def choices_row(label: str, names: Iterable[str], *, id: str | None = None) -> FieldRow:
    """A row of check boxes `#c-NAME`, four to a line."""
    boxes = (Checkbox(name, id=f"c-{name}", compact=True) for name in names)
    return FieldRow(label, Grid(*boxes, id=id, classes="choices"))


def show_field_errors(screen: Screen, names: Iterable[str], errors: Mapping[str, str]) -> None:
    """Under each named field its error, if it has one; the others' errors cleared."""
    for name in names:
        screen.query_one(f"#e-{name}", FieldError).show(errors.get(name, ""))


def show_summary(
    screen: Screen,
    verb: str,
    errors: Mapping[str, str],
    labels: Mapping[str, str],
    general: Iterable[str] = (),
) -> None:
    """Above the form, e.g. 'Not saved: 2 fields need fixing: Phone, City', then the errors
    that belong to no field; with none of either, the summary goes."""
    lines = list(general)
    if errors:
        count = "1 field needs" if len(errors) == 1 else f"{len(errors)} fields need"
        names = ", ".join(labels.get(name, name) for name in errors)
        lines.insert(0, f"{verb}: {count} fixing: {names}")
    screen.query_one("#e-form", FormSummary).show(lines)


def focus_first_error(screen: Screen, names: Iterable[str]) -> Widget | None:
    """Focus the field `#f-NAME` of the first of `names` that has one, and show its row whole."""
    for name in names:
        found = screen.query(f"#f-{name}")
        if not found or not found.first().focusable:
            continue
        field = found.first()
        field.focus(scroll_visible=False)
        row = next((a for a in field.ancestors if isinstance(a, FieldRow)), field)
        # After the errors are laid out: the label, the field and its error, all in view.
        screen.call_after_refresh(row.scroll_visible, animate=False)
        return field
    return None


def show_form_errors(
    screen: Screen,
    exc: Exception,
    verb: str,
    names: Sequence[str],
    labels: Mapping[str, str],
) -> None:
    """A refusal shown on the form: a ValidationFailed's errors under their fields (the others,
    and any other error, in the summary headed by `verb`), the first field in error focused."""
    found: dict[str, str] = {}
    general: list[str] = []
    if isinstance(exc, ValidationFailed):
        for error in exc.errors:
            if error.field in names:
                found.setdefault(error.field, error.message)
            else:
                general.append(str(error))
    else:
        general.append(str(exc))
    show_field_errors(screen, names, found)
    show_summary(screen, verb, found, labels, general)
    focus_first_error(screen, (n for n in names if n in found))
