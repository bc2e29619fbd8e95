"""Ask staff to confirm an irreversible action: Yes does it, No or Escape leaves all as it is."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmDialog(ModalScreen[bool]):
    """A question, the facts it is about (shown literally), and Yes / No; No has the focus."""

    DEFAULT_CSS = """
    ConfirmDialog {
        align: center middle;
    }
    ConfirmDialog #confirm-box {
        height: auto;
    }
    ConfirmDialog #confirm-facts {
        height: auto;
        max-height: 12;
    }
    ConfirmDialog #confirm-question {
        text-style: bold;
        margin-bottom: 1;
    }
    """
    BINDINGS = [
        Binding("escape", "answer(False)", "No"),
        Binding("n", "answer(False)", "No", show=False),
        Binding("y", "answer(True)", "Yes", show=False),
    ]

    def __init__(self, question: str, facts: list[str], *, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.facts = facts
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(Text(self.question), id="confirm-question")
            with VerticalScroll(id="confirm-facts"):
                # What the store holds is shown as it is, never read as markup.
                yield Static(Text("\n".join(self.facts)), id="confirm-text")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", variant="primary", id="yes")
                yield Button("No (n)", id="no")

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
