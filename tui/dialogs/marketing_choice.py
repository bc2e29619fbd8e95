"""Ask staff which marketing choice a customer told them of (opt out or in) and how."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, RadioButton, RadioSet

from domains.marketing_choice import STAFF_CHANNELS
from domains.vocabulary import OptOutVia

#: How each channel reads in the dialog.
CHANNEL_LABELS = {OptOutVia.PHONE: "Phone", OptOutVia.LETTER: "Letter", OptOutVia.EMAIL: "E-mail"}


@dataclass(frozen=True)
class ChoiceAnswer:
    """What staff recorded: opt out (True) or back in, and how the customer said it."""

    opt_out: bool
    via: OptOutVia


class MarketingChoiceDialog(ModalScreen[ChoiceAnswer | None]):
    """The choice (the opposite of the account's current one first) and the channel; Escape
    gives None."""

    DEFAULT_CSS = """
    MarketingChoiceDialog {
        align: center middle;
    }
    MarketingChoiceDialog RadioSet {
        width: 100%;
        margin-bottom: 1;
    }
    """
    BINDINGS = [Binding("escape", "dismiss_none", "Close")]

    def __init__(self, number: str, *, opted_out: bool) -> None:
        super().__init__()
        self.number = number
        self.opted_out = opted_out

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="choice-box"):
            yield Label(f"Marketing mail for account {self.number}: what did the customer say?")
            with RadioSet(id="choice"):
                yield RadioButton(
                    "Opt out of marketing mail", value=not self.opted_out, id="choice-out"
                )
                yield RadioButton("Opt back in", value=self.opted_out, id="choice-in")
            yield Label("How did they tell us?")
            with RadioSet(id="channel"):
                for channel in STAFF_CHANNELS:
                    yield RadioButton(
                        CHANNEL_LABELS[channel],
                        value=channel is STAFF_CHANNELS[0],
                        id=f"channel-{channel.value}",
                    )
            with Horizontal(classes="buttons"):
                yield Button("Record", variant="primary", id="ok")
                yield Button("Back", id="back")

    def on_mount(self) -> None:
        self.query_one("#choice", RadioSet).focus()

    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        """Give back the choice and the channel picked."""
        opt_out = self.query_one("#choice-out", RadioButton).value
        pressed = self.query_one("#channel", RadioSet).pressed_button
        via = STAFF_CHANNELS[0]
        for channel in STAFF_CHANNELS:
            if pressed is not None and pressed.id == f"channel-{channel.value}":
                via = channel
        self.dismiss(ChoiceAnswer(opt_out=opt_out, via=via))

    @on(Button.Pressed, "#back")
    def action_dismiss_none(self) -> None:
        """Close without recording anything."""
        self.dismiss(None)
