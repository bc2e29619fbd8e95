"""Decide a disclosure request (the privacy role, never who entered it): the outcome, which
wanted fields of which domains are disclosed, the denial reason, the explanation and a gag on
telling the customer; the mails the decision queued are sent after its commit."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Select, Static

from domains.contact_corrections import deliver
from domains.disclosure_decisions import DisclosureDecisions
from domains.disclosure_views import DisclosureRequestView
from domains.errors import FieldError as Refusal
from domains.errors import InterlinkError, ValidationFailed
from domains.mailer import mailer_from_settings
from domains.vocabulary import DenialReason, DisclosureOutcome, GagReason
from portal.links import PortalLinks
from tui.widgets.form import (
    FieldError,
    FieldRow,
    FormSummary,
    show_form_errors,
)

log = logging.getLogger(__name__)

#: The choice of an optional closed list that means "none of them".
NONE = ""
LABELS = {
    "outcome": "Outcome",
    "approved": "Fields disclosed",
    "denial_reason": "Denied because",
    "explanation": "Explanation",
    "gag_reason": "Customer not told",
    "notify_after": "Tell customer from",
}
NAMES = tuple(LABELS)
NOT_OURS = "none: no domain of this request is registered with Interlink"


@dataclass(frozen=True)
class Decided:
    """What the dialog gives back: the request as decided, how many mails went out, and the
    download link when the requestor has no e-mail address (staff hand it over)."""

    request: DisclosureRequestView
    sent: int
    download_url: str | None = None


def wanted_triples(view: DisclosureRequestView, held: Sequence[str]) -> list[str]:
    """Every wanted field of every domain we hold, as "domain role field"."""
    return [f"{domain} {wanted}" for domain in held for wanted in view.wanted_fields]


def notify_date(text: str) -> datetime | None:
    """The date typed (YYYY-MM-DD) as midnight UTC that day; None when empty."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            Refusal("notify_after", f"{text!r} is not a date (YYYY-MM-DD)")
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def request_line(view: DisclosureRequestView) -> Text:
    """Which request this is, as typed (never read as markup)."""
    organisation = f", {view.requestor_organisation}" if view.requestor_organisation else ""
    who = view.requestor_name + organisation
    return Text(
        f"{view.reference} from {who} ({view.requestor_kind})\n"
        f"Ground: {view.ground}; entered by {view.entered_by}"
    )


class DecideDisclosureDialog(ModalScreen[Decided | None]):
    """The decision on one request under review."""

    DEFAULT_CSS = """
    DecideDisclosureDialog { align: center top; }
    DecideDisclosureDialog #decide-sheet {
        width: 100%; max-width: 100; height: 100%;
        border: round $primary; background: $background; padding: 0 1;
    }
    DecideDisclosureDialog #decide-request { height: auto; color: $text-muted; }
    DecideDisclosureDialog #decide-form { height: 1fr; }
    DecideDisclosureDialog #f-approved { height: auto; }
    DecideDisclosureDialog #decide-buttons { height: auto; align-horizontal: right; }
    DecideDisclosureDialog #decide-buttons Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+s", "submit", "Decide")]

    def __init__(self, request: DisclosureRequestView, held: Sequence[str]) -> None:
        super().__init__()
        self.request = request
        self.triples = wanted_triples(request, held)

    def compose(self) -> ComposeResult:
        with Vertical(id="decide-sheet") as sheet:
            sheet.border_title = f"Decide disclosure request {self.request.reference}"
            yield Static(request_line(self.request), id="decide-request")
            yield FormSummary(id="e-form")
            with VerticalScroll(id="decide-form"):
                yield FieldRow(
                    LABELS["outcome"],
                    Select(
                        [(str(o), str(o)) for o in DisclosureOutcome],
                        value=DisclosureOutcome.PARTLY_DISCLOSED,
                        allow_blank=False,
                        id="f-outcome",
                        compact=True,
                    ),
                    FieldError(id="e-outcome"),
                )
                boxes = [
                    Checkbox(Text(triple), id=f"c-approved-{i}", compact=True)
                    for i, triple in enumerate(self.triples)
                ]
                held = Vertical(*boxes, id="f-approved") if boxes else Static(Text(NOT_OURS))
                yield FieldRow(LABELS["approved"], held, FieldError(id="e-approved"))
                yield self._optional("denial_reason", DenialReason)
                yield FieldRow(
                    LABELS["explanation"],
                    Input(id="f-explanation", max_length=2000, compact=True),
                    FieldError(id="e-explanation"),
                )
                yield self._optional("gag_reason", GagReason)
                yield FieldRow(
                    LABELS["notify_after"],
                    Input(id="f-notify_after", placeholder="YYYY-MM-DD", compact=True),
                    FieldError(id="e-notify_after"),
                )
            with Horizontal(id="decide-buttons"):
                yield Button("Decide (ctrl+s)", variant="primary", id="submit", compact=True)
                yield Button("Close (esc)", id="close", compact=True)

    @staticmethod
    def _optional(name: str, choices: type[DenialReason] | type[GagReason]) -> FieldRow:
        """A closed list with "-" for none of them."""
        options = [("-", NONE)] + [(str(c), str(c)) for c in choices]
        return FieldRow(
            LABELS[name],
            Select(options, value=NONE, allow_blank=False, id=f"f-{name}", compact=True),
            FieldError(id=f"e-{name}"),
        )

    def on_mount(self) -> None:
        self.query_one("#f-outcome", Select).focus()

    def boxes(self) -> list[Checkbox]:
        return [self.query_one(f"#c-approved-{i}", Checkbox) for i in range(len(self.triples))]

    @on(Select.Changed, "#f-outcome")
    def outcome_changed(self, event: Select.Changed) -> None:
        """Disclosed ticks every field, denied none; partly leaves the choice to staff."""
        if event.value == DisclosureOutcome.DISCLOSED:
            for box in self.boxes():
                box.value = True
        elif event.value == DisclosureOutcome.DENIED:
            for box in self.boxes():
                box.value = False

    def choice(self, name: str) -> str | None:
        value = str(self.query_one(f"#f-{name}", Select).value)
        return value if value != NONE else None

    def show_errors(self, exc: Exception) -> None:
        """Errors under their fields, the others (four eyes, the role) in the summary."""
        show_form_errors(self, exc, "Not decided", NAMES, LABELS)

    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        """Decide in a worker; the mails it queued are sent after the commit."""
        reference = self.request.reference
        outcome = str(self.query_one("#f-outcome", Select).value)
        approved = [t for t, box in zip(self.triples, self.boxes(), strict=True) if box.value]
        denial, gag = self.choice("denial_reason"), self.choice("gag_reason")
        explanation = self.query_one("#f-explanation", Input).value.strip()
        after_text = self.query_one("#f-notify_after", Input).value.strip()
        store = self.app.context.store  # type: ignore[attr-defined]
        actor = self.app.context.actor  # type: ignore[attr-defined]

        def work() -> Decided:
            links = PortalLinks(store.settings)
            decided = DisclosureDecisions(store, links).decide(
                actor,
                reference,
                outcome,
                explanation=explanation,
                approved=approved,
                denial_reason=denial,
                gag_reason=gag,
                notify_after=notify_date(after_text),
            )
            sent = 0
            if decided.notice_ids:
                mailer = mailer_from_settings(store.settings)
                notices = deliver(
                    store, decided.notice_ids, decided.contexts, mailer=mailer, links=links
                )
                sent = sum(1 for notice in notices if notice.status == "sent")
            token = decided.download_token
            url = links.disclosure_download(token) if token else None
            return Decided(decided.request, sent, url)

        def runner() -> None:
            try:
                result = work()
            except InterlinkError as exc:
                self.app.call_from_thread(self.show_errors, exc)
                return
            except Exception as exc:  # a user never sees a traceback; the log keeps it
                log.exception("deciding a disclosure request failed")
                failed = RuntimeError(f"unexpected error ({type(exc).__name__}); see the log")
                self.app.call_from_thread(self.show_errors, failed)
                return
            self.app.call_from_thread(self.dismiss, result)

        self.run_worker(runner, thread=True, group="decide")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        """Close without deciding."""
        self.dismiss(None)
