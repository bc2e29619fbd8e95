"""One disclosure request: the requestor, ground and deadlines, the attachments' names and
SHA-256, and for each domain and wanted field what the public sees beside what would be
disclosed (the privacy role only: opening the request puts it under review, the look recorded)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from domains.contact_corrections import deliver
from domains.disclosure_decisions import DisclosureDecisions
from domains.disclosure_views import DecisionView, DisclosureRequestView
from domains.disclosures import Disclosures
from domains.errors import RuleViolation
from domains.mailer import mailer_from_settings
from domains.settings import Settings
from domains.staff import Permission
from domains.store import DomainRecord
from domains.vocabulary import DisclosureState
from portal.links import PortalLinks
from publishers.policy import build_disclosure_view, build_view
from publishers.tld_publication import load_publications
from tui.dialogs.confirm import ConfirmDialog
from tui.screens.base import StaffScreen
from tui.widgets.fitted_table import Col, FittedTable

#: The domains' wanted fields: the public value beside the one that would be disclosed.
FIELD_COLUMNS = (
    Col("Domain", 12, share=1),
    Col("Field", 16),
    Col("Public", 10, share=1),
    Col("Would be disclosed", 12, share=2),
)
WHEN = "%Y-%m-%d %H:%M UTC"


@dataclass(frozen=True)
class FieldLine:
    """One wanted field of one domain: what the public sees and what would be disclosed."""

    domain: str
    field: str
    public: str
    disclosed: str


@dataclass(frozen=True)
class DisclosureDetails:
    """A request, and (for the privacy role) its fields side by side."""

    request: DisclosureRequestView
    lines: tuple[FieldLine, ...]
    reviewed: bool
    #: The domains asked about that Interlink holds (known once reviewed).
    held: tuple[str, ...] = ()


def field_lines(
    view: DisclosureRequestView, records: Mapping[str, DomainRecord], settings: Settings
) -> tuple[FieldLine, ...]:
    """Every wanted field of every domain asked about, public beside private."""
    profile, registrar = load_publications(settings), settings.registrar
    wanted = [tuple(w.split()) for w in view.wanted_fields]
    approved = tuple((name, role, field) for name in records for role, field in wanted)
    disclosed = build_disclosure_view(
        records,
        approved,
        reference=view.reference,
        outcome="preview",
        decided_at=view.created_at,
        registrar=registrar,
    )
    values = {
        (domain.name, f.role, f.field): f.value
        for domain in disclosed.domains
        for f in domain.fields
    }
    lines = []
    for name in view.domains:
        record = records.get(name)
        if record is None:
            lines.append(FieldLine(name, "(all)", "not ours", "nothing"))
            continue
        public = build_view(record, profile=profile, registrar=registrar)
        for role, field in wanted:
            seen = next(r for r in public.roles if r.role == role).field(field)
            shown = (seen.value or "(empty)") if seen.published else "redacted"
            value = values.get((name, role, field))
            lines.append(
                FieldLine(name, f"{role} {field}", shown, (value or "(empty)").replace("\n", ", "))
            )
    return tuple(lines)


def _when(value: datetime | None) -> str:
    return value.strftime(WHEN) if value else "-"


def customer_told(decision: DecisionView) -> str:
    """Whether the customer was told, or why not yet."""
    if decision.customers_notified_at is not None:
        return _when(decision.customers_notified_at)
    if decision.gag_reason is None:
        return "no (nothing of theirs disclosed)"
    after = f"; from {_when(decision.notify_after)}" if decision.notify_after else ""
    return f"not yet: {decision.gag_reason}{after}"


def facts(view: DisclosureRequestView) -> Text:
    """The request in lines of "label: value"; every value shown as typed, never as markup."""
    rows = [
        ("Reference", view.reference),
        ("State", view.state),
        ("Channel", f"{view.channel}, entered by {view.entered_by}"),
        ("Requestor", view.requestor_name),
        ("Organisation", view.requestor_organisation or "-"),
        ("Kind", view.requestor_kind),
        ("E-mail", view.requestor_email or "-"),
        ("Phone", view.requestor_phone or "-"),
        ("Jurisdiction", view.jurisdiction),
        ("Ground", view.ground),
        ("Legal basis", view.legal_basis),
        ("Reference no.", view.legal_reference or "-"),
        ("Urgency", view.urgency_label),
        ("Domains", ", ".join(view.domains)),
        ("Not ours", ", ".join(view.unknown_domains) or "-"),
        ("Fields wanted", ", ".join(view.wanted_fields)),
        (
            "Acknowledge by",
            view.acknowledge_due_at.strftime(WHEN) if view.acknowledge_due_at else "-",
        ),
        ("Answer by", view.answer_due_at.strftime(WHEN) if view.answer_due_at else "-"),
    ]
    for attachment in view.attachments:
        rows.append(
            (
                "Attachment",
                f"{attachment.filename} ({attachment.media_type}, {attachment.size} bytes)\n"
                f"  SHA-256 {attachment.sha256}",
            )
        )
    if view.decision is not None:
        decision = view.decision
        rows.append(("Decision", f"{decision.outcome} by {decision.decided_by}"))
        if decision.denial_reason:
            rows.append(("Denied because", decision.denial_reason))
        rows.append(("Explanation", decision.explanation))
        rows.append(("Disclosed", "\n".join(decision.approved_fields) or "nothing"))
        rows.append(("Customer told", customer_told(decision)))
    text = Text()
    for label, value in rows:
        text.append(f"{label:>15}: ", style="bold")
        text.append(f"{value}\n")
    return text


class DisclosureDetailScreen(StaffScreen):
    """A disclosure request; the privacy role sees the domains' fields side by side."""

    PALETTE_GROUP = "Disclosure"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("d", "decide_disclosure", "Decide"),
        Binding("a", "acknowledge_disclosure", "Acknowledged"),
        Binding("l", "new_download_link", "New link"),
        Binding("c", "close_disclosure", "Close"),
        Binding("s", "save_attachment", "Save file"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference
        self.details: DisclosureDetails | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="disclosure-body"):
            yield Static("", id="disclosure-facts")
            yield Static("", id="disclosure-fields-title")
            table = FittedTable(FIELD_COLUMNS, id="disclosure-fields")
            yield table
            yield table.line
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"Disclosure {self.reference}"
        self.action_reload()

    def action_reload(self) -> None:
        """Read the request; the privacy role reviews it (records read, the look recorded)."""
        store, actor, privacy = self.store, self.actor, self.staff.may(Permission.DECIDE_DISCLOSURE)

        def work() -> DisclosureDetails:
            register = Disclosures(store)
            if privacy:
                try:
                    review = register.review(actor, self.reference)
                except RuleViolation:
                    pass  # not open to review (unverified, closed): the request alone
                else:
                    lines = field_lines(review.request, review.records, store.settings)
                    held = tuple(review.records)
                    return DisclosureDetails(review.request, lines, True, held)
            return DisclosureDetails(register.get(self.reference), (), False)

        self.background(work, self.show)

    def show(self, details: DisclosureDetails) -> None:
        """Fill the facts and the fields table."""
        self.details = details
        self.query_one("#disclosure-facts", Static).update(facts(details.request))
        title = (
            "Each wanted field: what the public sees, and what would be disclosed"
            if details.reviewed
            else "The domains' data is shown to the privacy role only."
        )
        self.query_one("#disclosure-fields-title", Static).update(Text(title, style="bold"))
        table = self.query_one("#disclosure-fields", FittedTable)
        table.clear()
        for line in details.lines:
            table.add_row(line.domain, line.field, line.public, line.disclosed)

    def action_decide_disclosure(self) -> None:
        """Decide the request under review: the decision form."""
        details = self.details
        if details is None or not details.reviewed:
            self.notify("only a request under review can be decided; it is still being read")
            return
        if details.request.state != DisclosureState.UNDER_REVIEW:
            self.notify(f"this request is {details.request.state}: there is nothing to decide")
            return
        from tui.dialogs.decide_disclosure import Decided, DecideDisclosureDialog

        def decided(result: Decided | None) -> None:
            if result is None:
                return
            decision = result.request.decision
            outcome = decision.outcome if decision else result.request.state
            self.notify(f"{outcome}; {result.sent} mail(s) sent", title=self.reference)
            self.show_link(result.download_url)
            self.action_reload()

        self.app.push_screen(DecideDisclosureDialog(details.request, details.held), decided)

    def show_link(self, url: str | None) -> None:
        """A download link there was no address to mail to: staff hand it over."""
        if url:
            self.notify(
                f"no e-mail address: give the requestor this link: {url}",
                title="Download link",
                timeout=60,
                markup=False,
            )

    def _confirm_then(self, question: str, yes: str, note: str, work, message: str) -> None:
        """Ask first; on Yes run `work` in a worker, say `message` and read the request again."""
        if self.details is None:
            self.notify("the request is still being read; try again in a moment")
            return
        view = self.details.request
        about = [
            ("Request", f"{view.reference} ({view.state})"),
            ("Requestor", view.requestor_name),
            ("Domains", ", ".join(view.domains)),
        ]

        def done(url: str | None) -> None:
            self.notify(message, title=self.reference)
            self.show_link(url)
            self.action_reload()

        def answered(go_ahead: bool | None) -> None:
            if go_ahead:
                self.background(work, done, group="act")

        self.app.push_screen(ConfirmDialog(question, about, note=note, yes=yes), answered)

    def action_acknowledge_disclosure(self) -> None:
        """Record that a requestor without e-mail was acknowledged by letter or phone."""
        store, actor, reference = self.store, self.actor, self.reference

        def work() -> None:
            Disclosures(store).acknowledge(actor, reference)

        self._confirm_then(
            f"Record that request {reference} was acknowledged by letter or phone?",
            "Acknowledged",
            "Only for a requestor without e-mail: the others were acknowledged by mail.",
            work,
            "acknowledged",
        )

    def action_close_disclosure(self) -> None:
        """Close a decided request (a download link still open stops working)."""
        store, actor, reference = self.store, self.actor, self.reference

        def work() -> None:
            Disclosures(store).close(actor, reference)

        self._confirm_then(
            f"Close request {reference}?",
            "Close",
            "Nothing more happens to it; a download link not used yet stops working.",
            work,
            "closed",
        )

    def action_new_download_link(self) -> None:
        """A new download link for the requestor, mailed; the old one stops working."""
        store, actor, reference = self.store, self.actor, self.reference

        def work() -> str | None:
            links = PortalLinks(store.settings)
            outcome = DisclosureDecisions(store, links).new_download_link(actor, reference)
            if outcome.notice_ids:
                mailer = mailer_from_settings(store.settings)
                deliver(store, outcome.notice_ids, outcome.contexts, mailer=mailer, links=links)
            token = outcome.download_token
            return links.disclosure_download(token) if token else None

        self._confirm_then(
            f"Send the requestor of {reference} a new download link?",
            "New link",
            "The link sent before stops working.",
            work,
            "a new download link was made",
        )

    def action_save_attachment(self) -> None:
        """Save one of the request's attachments to a file (never over one already there)."""
        if self.details is None or not self.details.request.attachments:
            self.notify("this request has no attachment")
            return
        from tui.dialogs.save_attachment import SaveAttachmentDialog

        def saved(path: Path | None) -> None:
            if path is not None:
                self.notify(f"saved to {path}", title=self.reference, markup=False)

        attachments = self.details.request.attachments
        self.app.push_screen(SaveAttachmentDialog(self.reference, attachments), saved)
