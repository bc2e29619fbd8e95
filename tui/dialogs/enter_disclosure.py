"""Enter a disclosure request that came by letter, phone or e-mail: it counts at once, and the
acknowledgement is mailed at once when there is an address."""

from __future__ import annotations

import logging
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select

from domains.contact_corrections import deliver
from domains.disclosure_input import Attachment, RequestForm
from domains.disclosures import Disclosures
from domains.errors import FieldError as Refusal
from domains.errors import InterlinkError, ValidationFailed
from domains.mailer import mailer_from_settings
from domains.vocabulary import (
    REGULAR,
    DisclosureChannel,
    DisclosureGround,
    RequestorKind,
    UrgencyCategory,
)
from portal.links import PortalLinks
from tui.widgets.form import (
    FieldError,
    FieldRow,
    FormSummary,
    show_form_errors,
    text_rows,
)

log = logging.getLogger(__name__)

TEXTS = (
    ("requestor_name", "Requestor name"),
    ("requestor_organisation", "Organisation"),
    ("requestor_email", "E-mail"),
    ("requestor_phone", "Phone"),
    ("jurisdiction", "Jurisdiction"),
    ("domains", "Domains (a b c)"),
    ("wanted_fields", "Fields (role field, ...)"),
    ("legal_basis", "Legal basis"),
    ("legal_reference", "Case/order no."),
    ("attachments", "Attachment file"),
)
CHOICES: dict[str, tuple[str, list[str]]] = {
    "channel": ("Came by", [c for c in DisclosureChannel if c != DisclosureChannel.WEB_FORM]),
    "requestor_kind": ("Requestor kind", [str(k) for k in RequestorKind]),
    "ground": ("Ground", [str(g) for g in DisclosureGround]),
    "urgency": ("Urgency", [REGULAR, *UrgencyCategory]),
}
NAMES = (*(n for n, _ in TEXTS), *CHOICES)
LABELS = dict(TEXTS) | {name: label for name, (label, _) in CHOICES.items()}


def read_attachment(path: str) -> tuple[Attachment, ...]:
    """The file at `path` as an attachment (none for an empty path)."""
    if not path:
        return ()
    try:
        return (Attachment(Path(path).name, Path(path).expanduser().read_bytes()),)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValidationFailed(Refusal("attachments", f"cannot be read: {reason}")) from None


class EnterDisclosureDialog(ModalScreen[str | None]):
    """The request as the letter, call or e-mail gave it."""

    DEFAULT_CSS = """
    EnterDisclosureDialog { align: center top; }
    EnterDisclosureDialog #disclosure-sheet {
        width: 100%; max-width: 100; height: 100%;
        border: round $primary; background: $background; padding: 0 1;
    }
    EnterDisclosureDialog #disclosure-form { height: 1fr; }
    EnterDisclosureDialog #disclosure-buttons { height: auto; align-horizontal: right; }
    EnterDisclosureDialog #disclosure-buttons Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+s", "submit", "Submit")]

    def compose(self) -> ComposeResult:
        with Vertical(id="disclosure-sheet") as sheet:
            sheet.border_title = "Enter a disclosure request"
            yield FormSummary(id="e-form")
            with VerticalScroll(id="disclosure-form"):
                for name, (label, options) in CHOICES.items():
                    yield FieldRow(
                        label,
                        Select(
                            [(str(o), str(o)) for o in options],
                            value=str(options[0]),
                            allow_blank=False,
                            id=f"f-{name}",
                            compact=True,
                        ),
                        FieldError(id=f"e-{name}"),
                    )
                yield from text_rows(TEXTS)
            with Horizontal(id="disclosure-buttons"):
                yield Button("Submit (ctrl+s)", variant="primary", id="submit", compact=True)
                yield Button("Close (esc)", id="close", compact=True)

    def text(self, name: str) -> str:
        return self.query_one(f"#f-{name}", Input).value.strip()

    def choice(self, name: str) -> str:
        return str(self.query_one(f"#f-{name}", Select).value)

    def show_errors(self, exc: Exception) -> None:
        """Errors under their fields, a summary above them; the first field in error focused."""
        show_form_errors(self, exc, "Not entered", NAMES, LABELS)

    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        """Enter the request in a worker; its acknowledgement is mailed after the commit."""
        urgency = self.choice("urgency")
        values = {name: self.text(name) for name, _ in TEXTS}
        channel = self.choice("channel")
        kind, ground = self.choice("requestor_kind"), self.choice("ground")
        store = self.app.context.store  # type: ignore[attr-defined]
        actor = self.app.context.actor  # type: ignore[attr-defined]

        def work() -> str:
            form = RequestForm(
                requestor_name=values["requestor_name"],
                requestor_email=values["requestor_email"] or None,
                requestor_kind=kind,
                jurisdiction=values["jurisdiction"],
                ground=ground,
                legal_basis=values["legal_basis"],
                domains=tuple(values["domains"].replace(",", " ").split()),
                wanted_fields=tuple(w.strip() for w in values["wanted_fields"].split(",") if w),
                requestor_organisation=values["requestor_organisation"] or None,
                requestor_phone=values["requestor_phone"] or None,
                legal_reference=values["legal_reference"] or None,
                urgency=None if urgency == REGULAR else urgency,
                attachments=read_attachment(values["attachments"]),
            )
            links = PortalLinks(store.settings)
            outcome = Disclosures(store, links).enter(actor, form, channel)
            if outcome.notice_ids:
                mailer = mailer_from_settings(store.settings)
                deliver(store, outcome.notice_ids, outcome.contexts, mailer=mailer, links=links)
            return outcome.request.reference

        def done(reference: str) -> None:
            self.app.notify(f"disclosure request {reference} entered")
            self.dismiss(reference)

        def runner() -> None:
            try:
                reference = work()
            except InterlinkError as exc:
                self.app.call_from_thread(self.show_errors, exc)
                return
            except Exception as exc:  # a user never sees a traceback; the log keeps it
                log.exception("entering a disclosure request failed")
                self.app.call_from_thread(self.show_errors, RuntimeError(type(exc).__name__))
                return
            self.app.call_from_thread(done, reference)

        self.run_worker(runner, thread=True, group="submit")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        """Close without entering anything."""
        self.dismiss(None)
