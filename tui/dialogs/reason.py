"""Ask staff for a reason (to reject or cancel a request)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from tui.widgets.form import FieldError


class ReasonDialog(ModalScreen[str | None]):
    """A one-line reason; Escape gives None."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close")]

    def __init__(self, question: str, *, required: bool = True) -> None:
        super().__init__()
        self.question = question
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            yield Input(id="reason", max_length=1000)
            yield FieldError(id="reason-error")
            with Horizontal(classes="buttons"):
                yield Button("OK", variant="primary", id="ok")
                yield Button("Back", id="back")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        """Give back the reason (refusing an empty one when it is required)."""
        reason = self.query_one("#reason", Input).value.strip()
        if self.required and not reason:
            self.query_one("#reason-error", FieldError).show("a reason is required")
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#back")
    def action_dismiss_none(self) -> None:
        """Close without a reason."""
        self.dismiss(None)
