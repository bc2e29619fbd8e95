"""Enter a technical-contact change for a customer who phoned or wrote."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from domains.changes import CHANNELS, Workflow, deliver_outcome
from domains.errors import InterlinkError, ValidationFailed

FIELDS = (
    ("org", "Organisation"),
    ("name", "Contact name"),
    ("email", "E-mail"),
    ("voice", "Phone"),
    ("street", "Street"),
    ("city", "City"),
    ("postal_code", "Postal code"),
    ("state", "State/province"),
    ("country", "Country (e.g. DE)"),
)
CONSENTS = ("org", "name", "email", "voice")


class EnterRequestDialog(ModalScreen[str | None]):
    """The same request a customer makes in the portal; the registrant must still confirm."""

    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+s", "submit", "Submit")]

    def __init__(self, domain: str | None) -> None:
        super().__init__()
        self.domain = domain

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("[b]Enter a technical-contact change[/]")
            with VerticalScroll():
                yield Label("Domain")
                yield Input(value=self.domain or "", id="f-domain", disabled=bool(self.domain))
                yield Static("", id="e-domain", classes="field-error")
                yield Label("How did the customer ask?")
                yield Select(
                    [(c, c) for c in CHANNELS if c != "portal"],
                    value="phone",
                    id="channel",
                    allow_blank=False,
                )
                yield Checkbox("Move back to Interlink (house contact)", id="house")
                for name, label in FIELDS:
                    yield Label(label)
                    yield Input(id=f"f-{name}", max_length=255)
                    yield Static("", id=f"e-{name}", classes="field-error")
                yield Label("Publish (consent given by the new contact)")
                for name in CONSENTS:
                    yield Checkbox(name, id=f"c-{name}")
            yield Static("", id="e-form", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Submit", variant="primary", id="submit")
                yield Button("Close", id="close")

    def values(self) -> dict[str, object]:
        """The proposal as the workflow takes it."""
        data: dict[str, object] = {
            name: self.query_one(f"#f-{name}", Input).value.strip() or None for name, _ in FIELDS
        }
        data["street"] = [data["street"]] if data["street"] else []
        consent = [c for c in CONSENTS if self.query_one(f"#c-{c}", Checkbox).value]
        if consent:
            data["consent_fields"] = consent
            data["consent_method"] = str(self.query_one("#channel", Select).value)
        return data

    def show_errors(self, exc: Exception) -> None:
        """Each error beside its field; anything else under the form."""
        for name in ("domain", *(n for n, _ in FIELDS)):
            self.query_one(f"#e-{name}", Static).update("")
        general = []
        if isinstance(exc, ValidationFailed):
            for error in exc.errors:
                field = error.field.split("[", 1)[0]
                target = self.query(f"#e-{field}")
                if target:
                    target.first(Static).update(escape(error.message))
                else:
                    general.append(str(error))
        else:
            general.append(str(exc))
        self.query_one("#e-form", Static).update(escape("\n".join(general)))

    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        """Submit the request in a worker."""
        domain = self.query_one("#f-domain", Input).value.strip()
        channel = str(self.query_one("#channel", Select).value)
        house = self.query_one("#house", Checkbox).value
        proposal = None if house else self.values()
        store = self.app.context.store  # type: ignore[attr-defined]
        actor = self.app.context.actor  # type: ignore[attr-defined]

        def work() -> str:
            outcome = Workflow(store).submit(
                actor=actor,
                domain_name=domain,
                proposal=proposal,
                channel=channel,
                target="house" if house else "new",
            )
            deliver_outcome(store, outcome)
            return outcome.request.reference

        def done(reference: str) -> None:
            self.app.notify(f"request {reference} entered; the registrant must confirm it")
            self.dismiss(reference)

        def runner() -> None:
            try:
                reference = work()
            except InterlinkError as exc:
                self.app.call_from_thread(self.show_errors, exc)
                return
            self.app.call_from_thread(done, reference)

        self.run_worker(runner, thread=True, group="submit")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        """Close without entering anything."""
        self.dismiss(None)
