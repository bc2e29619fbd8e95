"""Enter a technical-contact change for a customer who phoned or wrote."""

from __future__ import annotations

import logging

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Select

from domains import contact_fields
from domains.changes import Workflow
from domains.errors import InterlinkError, ValidationFailed
from domains.vocabulary import RequestChannel, RequestTarget
from portal.links import PortalLinks
from tui.widgets.form import (
    FieldError,
    FieldRow,
    FormSummary,
    choices_row,
    focus_first_error,
    show_field_errors,
    show_summary,
    text_rows,
)

#: Where this dialog words a field otherwise than the table: the new contact is a person or a team.
_WORDING = {"name": "Contact name", "country": "Country (e.g. DE)"}
#: The new technical contact's fields, as the portal's form has them.
FIELDS = tuple(
    (name, _WORDING.get(name, contact_fields.field(name).label))
    for name in contact_fields.REQUEST_FIELDS
)
#: The consent choices: the portal's very own (domains.contact_fields.REQUEST_CONSENTS).
CONSENTS = tuple(contact_fields.REQUEST_CONSENTS)
log = logging.getLogger(__name__)


class EnterRequestDialog(ModalScreen[str | None]):
    """The same request a customer makes in the portal; the registrant must still confirm."""

    DEFAULT_CSS = """
    EnterRequestDialog {
        align: center top;
    }
    EnterRequestDialog #request-sheet {
        width: 100%;
        max-width: 100;
        height: 100%;
        border: round $primary;
        border-title-style: bold;
        background: $background;
        padding: 0 1;
    }
    EnterRequestDialog #request-body {
        height: 1fr;
    }
    EnterRequestDialog #request-buttons {
        height: auto;
        align-horizontal: right;
    }
    EnterRequestDialog #request-buttons Button {
        margin-left: 2;
    }
    """
    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+s", "submit", "Submit")]

    def __init__(self, domain: str | None) -> None:
        super().__init__()
        self.domain = domain

    def compose(self) -> ComposeResult:
        with Vertical(id="request-sheet") as sheet:
            sheet.border_title = "Enter a technical-contact change"
            yield FormSummary(id="e-form")
            with VerticalScroll(id="request-body"):
                yield FieldRow(
                    "Domain",
                    Input(
                        value=self.domain or "",
                        id="f-domain",
                        disabled=bool(self.domain),
                        compact=True,
                    ),
                    FieldError(id="e-domain"),
                )
                yield FieldRow(
                    "Customer asked by",
                    Select(
                        [(c, c) for c in RequestChannel if c != RequestChannel.PORTAL],
                        value=RequestChannel.PHONE,
                        id="channel",
                        allow_blank=False,
                        compact=True,
                    ),
                )
                yield FieldRow(
                    "",
                    Checkbox("Move back to Interlink (house contact)", id="house", compact=True),
                )
                yield from text_rows(FIELDS)
                yield choices_row("Consent to publish", CONSENTS)
            with Horizontal(id="request-buttons"):
                yield Button("Submit (ctrl+s)", variant="primary", id="submit", compact=True)
                yield Button("Close (esc)", id="close", compact=True)

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
        """Errors under their fields, a summary above them; the first field in error focused."""
        names = ("domain", *(n for n, _ in FIELDS))
        found: dict[str, str] = {}
        general: list[str] = []
        if isinstance(exc, ValidationFailed):
            for error in exc.errors:
                field = error.field.split("[", 1)[0]
                if field in names:
                    found.setdefault(field, error.message)
                else:
                    general.append(str(error))
        else:
            general.append(str(exc))
        show_field_errors(self, names, found)
        show_summary(self, "Not entered", found, dict(FIELDS, domain="Domain"), general)
        focus_first_error(self, (n for n in names if n in found))

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
            flow = Workflow(store, PortalLinks(store.settings))
            outcome = flow.submit(
                actor=actor,
                domain_name=domain,
                proposal=proposal,
                channel=channel,
                target=RequestTarget.HOUSE if house else RequestTarget.NEW,
            )
            flow.deliver(outcome)
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
            except Exception as exc:  # a user never sees a traceback; the log keeps it
                log.exception("entering a request failed")
                self.app.call_from_thread(
                    self.show_errors, RuntimeError(f"unexpected error: {exc}")
                )
                return
            self.app.call_from_thread(done, reference)

        self.run_worker(runner, thread=True, group="submit")

    @on(Checkbox.Changed, "#house")
    def house_changed(self, event: Checkbox.Changed) -> None:
        """Back to Interlink: there is no new contact to enter, so its fields are switched off."""
        for name, _ in FIELDS:
            self.query_one(f"#f-{name}", Input).disabled = event.value
            self.query_one(f"#e-{name}", FieldError).show("")
        for name in CONSENTS:
            self.query_one(f"#c-{name}", Checkbox).disabled = event.value

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        """Close without entering anything."""
        self.dismiss(None)
