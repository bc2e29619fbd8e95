"""Ask staff to confirm an irreversible action: Yes does it, No or Escape leaves all as it is."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


def facts_table(facts: Sequence[tuple[str, str]]) -> Table:
    """Label and value a line each, values wrapped beside their label, shown literally."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in facts:
        table.add_row(Text(label), Text(value))
    return table


class ConfirmDialog(ModalScreen[bool]):
    """A question, the facts it is about, a warning, and Yes / No; No has the focus."""

    DEFAULT_CSS = """
    ConfirmDialog {
        align: center middle;
    }
    ConfirmDialog #confirm-box {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    ConfirmDialog #confirm-question {
        text-style: bold;
        margin-bottom: 1;
    }
    ConfirmDialog #confirm-facts {
        height: auto;
        max-height: 12;
    }
    ConfirmDialog #confirm-note {
        margin-top: 1;
        color: $text-warning;
    }
    ConfirmDialog #confirm-buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    ConfirmDialog #confirm-buttons Button {
        margin-left: 2;
    }
    """
    BINDINGS = [
        Binding("escape", "answer(False)", "No"),
        Binding("n", "answer(False)", "No", show=False),
        Binding("y", "answer(True)", "Yes", show=False),
    ]

    def __init__(
        self, question: str, facts: Sequence[tuple[str, str]], *, note: str = "", yes: str = "Yes"
    ) -> None:
        super().__init__()
        self.question = question
        self.facts = list(facts)
        self.note = note
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(self.question), id="confirm-question")
            with VerticalScroll(id="confirm-facts"):
                yield Static(facts_table(self.facts), id="confirm-text")
            if self.note:
                yield Static(Text(self.note), id="confirm-note")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.yes} (y)", variant="primary", id="yes", compact=True)
                yield Button("No (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def yes_pressed(self) -> None:
        """Go ahead."""
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def no_pressed(self) -> None:
        """Leave everything as it is."""
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        """Close with the answer of the key pressed."""
        self.dismiss(answer)
