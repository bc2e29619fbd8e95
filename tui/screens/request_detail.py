"""One change request: current and proposed technical contact side by side, NS, decisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.coordinate import Coordinate
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Static

from domains import audit
from domains.changes import Workflow
from domains.dns_check import NsResult, live_nameservers
from domains.models import AuditEvent, ChangeRequest, Contact, Domain
from domains.request_mail import Outcome
from domains.vocabulary import OPEN_REQUEST_STATES, AccessPurpose, RequestState, RequestTarget
from portal.links import PortalLinks
from tui.dialogs.confirm import ConfirmDialog
from tui.live_ns import delegation, live_hosts
from tui.screens.base import StaffScreen
from tui.widgets.contact_card import contact_lines, contact_summary
from tui.widgets.fitted_table import Col, FittedTable

#: The request's audit trail: the columns share what the date leaves (Enter opens an event).
HISTORY = (Col("When", 16), Col("Actor", 9, share=2), Col("Action", 14, share=1))


@dataclass(frozen=True)
class RequestDetails:
    """A request with its domain, both technical contacts and its audit trail."""

    request: ChangeRequest
    domain: Domain
    current: Contact | None
    new: Contact | None
    history: list[AuditEvent]
    #: Interlink's own contact, for a request to move back to it that is not applied yet.
    house: Contact | None = None

    @property
    def incoming(self) -> Contact | dict | None:
        """The new technical contact: the one made when applied, else what was asked for."""
        if self.new is not None:
            return self.new
        if self.request.target == RequestTarget.HOUSE:
            return self.house or {"org": "Interlink (house contact)"}
        return self.request.proposed


def card_titles(state: str) -> tuple[str, str]:
    """The titles of the outgoing and the incoming contact's cards in this request state."""
    if state == RequestState.COMPLETED:
        return "Previous technical contact", "Technical contact"
    if state == RequestState.APPLIED:
        return "Previous technical contact", "Technical contact (registry update pending)"
    if state == RequestState.SYNC_FAILED:
        return "Previous technical contact", "Technical contact (registry refused it)"
    if state in OPEN_REQUEST_STATES:
        return "Current technical contact", "Proposed technical contact"
    return "Technical contact (unchanged)", f"Proposed technical contact ({state}, not made)"


def decision_facts(details: RequestDetails) -> list[tuple[str, str]]:
    """What a member of staff confirms: the domain, and the contact going and coming."""
    request = details.request
    return [
        ("Domain", details.domain.unicode_name),
        ("Request", f"{request.reference}, entered by {request.entered_by}"),
        ("New tech", contact_summary(details.incoming)),
        ("Replaces", contact_summary(details.current)),
    ]


#: Said under the facts of every decision that moves the technical contact.
MOVE_NOTE = "The technical contact moves now and the registry is told; this cannot be undone here."


class RequestDetailScreen(StaffScreen):
    """Review a request and decide: approve (and apply), reject with a reason, or cancel."""

    PALETTE_GROUP = "Request"
    #: Seconds between two looks at an open request's state while the screen is shown.
    FOLLOW_SECONDS: ClassVar[float] = 3.0
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "approve", "Approve"),
        Binding("x", "reject", "Reject"),
        Binding("k", "cancel_request", "Cancel"),
        Binding("s", "resend", "Resend link"),
        Binding("y", "apply", "Apply"),
        Binding("ctrl+r", "reload", "Reload"),
        Binding("enter", "open_event", "Open event", show=False),
    ]

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference
        self.details: RequestDetails | None = None
        self._loading = False
        self._follow_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static("loading...", id="request-summary")
            with Horizontal(id="side-by-side"):
                yield Static("", id="current-tech", classes="card")
                yield Static("", id="proposed-tech", classes="card")
            yield Static("", id="request-ns")
            table = FittedTable(HISTORY, id="request-history")
            yield table
            yield table.line
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = self.reference
        self.action_reload()

    # -- following the request as others (the sync worker, colleagues) move it -----------

    @property
    def following(self) -> bool:
        """Whether the screen looks at its request's state now and then."""
        return self._follow_timer is not None

    def _follow(self, shown: bool) -> None:
        """Look for news only while the screen is shown and the request is still open."""
        wanted = (
            shown and self.details is not None and self.details.request.state in OPEN_REQUEST_STATES
        )
        if wanted and self._follow_timer is None:
            self._follow_timer = self.set_interval(self.FOLLOW_SECONDS, self.look_for_news)
        elif not wanted and self._follow_timer is not None:
            self._follow_timer.stop()
            self._follow_timer = None

    def on_screen_resume(self) -> None:
        """Shown again: catch up at once, then keep following."""
        self._follow(shown=True)
        if self.following:
            self.look_for_news()

    def on_screen_suspend(self) -> None:
        """Hidden (another screen or dialog on top): stop looking."""
        self._follow(shown=False)

    def look_for_news(self) -> None:
        """Read the request alone (one row); reload the screen only if it changed."""
        if self.details is None or self._loading:
            return

        def compare(request: ChangeRequest) -> None:
            if self.details is not None and request.version != self.details.request.version:
                self.action_reload()

        self.background(
            lambda: Workflow(self.store).get(self.reference),
            compare,
            group="follow",
            exclusive=True,
            failed=self.follow_failed,
        )

    def follow_failed(self, exc: Exception) -> None:
        """Say once that the request could not be read, and stop following (ctrl+r resumes)."""
        self._follow(shown=False)
        self.show_error(exc)

    def action_reload(self) -> None:
        """Read the request again (a recorded look at the contacts it shows), then ask the DNS
        for the domain's live NS."""
        actor = self.actor

        def work() -> RequestDetails:
            parties = Workflow(self.store).parties(self.reference)
            request, domain = parties.request, parties.domain

            def looked(contact: Contact | None) -> Contact | None:
                if contact is None:
                    return None
                purpose = AccessPurpose.REQUEST_SCREEN
                return self.store.look_at_contact(actor, contact.handle, purpose, domain.name)

            current, new = looked(parties.old_tech), looked(parties.new_tech)
            history = audit.list_events(self.store, request_ref=request.reference, limit=100)
            house = parties.house if new is None else None
            return RequestDetails(request, domain, current, new, list(reversed(history)), house)

        self._loading = True
        self.background(work, self.show_details, failed=self.load_failed)

    def load_failed(self, exc: Exception) -> None:
        """The request could not be read: say so."""
        self._loading = False
        self.show_error(exc)

    def show_details(self, details: RequestDetails) -> None:
        """Fill the screen, follow the request while it is open, start the live DNS check."""
        self._loading = False
        self.details = details
        self._follow(shown=self.is_current)
        request, domain = details.request, details.domain
        self.title = f"{request.reference} {domain.unicode_name}"
        decided = f"\nDecided by {escape(request.decided_by)}" if request.decided_by else ""
        reason = f"\nReason: {escape(request.reason)}" if request.reason else ""
        error = f"\n[red]Registry: {escape(request.sync_error)}[/]" if request.sync_error else ""
        self.query_one("#request-summary", Static).update(
            f"[b]{domain.unicode_name}[/] - request {request.reference} is [b]{request.state}[/]\n"
            f"Channel {request.channel}, entered by {escape(request.entered_by)}, "
            f"created {request.created_at:%Y-%m-%d %H:%M}, expires {request.expires_at:%Y-%m-%d}"
            f"{decided}{reason}{error}"
        )
        outgoing, incoming = card_titles(request.state)
        self.query_one("#current-tech", Static).update(contact_lines(outgoing, details.current))
        self.query_one("#proposed-tech", Static).update(contact_lines(incoming, details.incoming))
        table = self.query_one("#request-history", FittedTable)
        table.clear()
        for event in details.history:
            table.add_row(
                event.at.strftime("%Y-%m-%d %H:%M"), event.actor, event.action, key=str(event.id)
            )
        stored = list(domain.nameservers)
        self.query_one("#request-ns", Static).update(
            f"Stored NS: {', '.join(stored) or '-'}\nLive NS: asking the DNS..."
        )
        settings = self.store.settings.dns
        self.background(
            lambda: live_nameservers(domain.name, settings=settings),
            lambda result: self.show_ns(stored, result),
            group="dns",
        )

    def show_ns(self, stored: list[str], result: NsResult) -> None:
        """Whether the DNS already moved to the new company."""
        self.query_one("#request-ns", Static).update(
            f"Stored NS: {', '.join(stored) or '-'}\nLive NS: {live_hosts(result)}\n"
            f"{delegation(stored, result)}"
        )

    def action_open_event(self) -> None:
        """Open the highlighted event of the request's history in full."""
        table = self.query_one("#request-history", FittedTable)
        if table.row_count == 0:
            return
        from tui.screens.audit_event import AuditEventScreen

        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        self.app.push_screen(AuditEventScreen(int(str(key))))

    @on(DataTable.RowSelected, "#request-history")
    def event_selected(self) -> None:
        """Enter on an event opens it."""
        self.action_open_event()

    # -- decisions ----------------------------------------------------------------------

    def _decide(self, work, done_message: str) -> None:
        def run() -> Outcome:
            flow = Workflow(self.store, PortalLinks(self.store.settings))
            outcome = work(flow)
            flow.deliver(outcome)
            return outcome

        def done(outcome: Outcome) -> None:
            self.notify(done_message.format(state=outcome.request.state), title=self.reference)
            self.action_reload()

        self.background(run, done, group="decide")

    def _confirm_then(self, question: str, yes: str, work, done_message: str) -> None:
        """Ask first, naming the domain and both contacts; decide only on Yes."""
        if self.details is None:
            self.notify("the request is still being read; try again in a moment")
            return

        def answered(go_ahead: bool | None) -> None:
            if go_ahead:
                self._decide(work, done_message)

        self.app.push_screen(
            ConfirmDialog(question, decision_facts(self.details), note=MOVE_NOTE, yes=yes),
            answered,
        )

    def action_approve(self) -> None:
        """Approve the confirmed request and apply it, once staff confirm."""
        self._confirm_then(
            f"Approve request {self.reference} and apply it now?",
            "Approve and apply",
            lambda flow: flow.approve_and_apply(actor=self.actor, reference=self.reference),
            "approved and applied; the request is now {state}",
        )

    def action_apply(self) -> None:
        """Apply an approved request whose first apply failed, once staff confirm."""
        self._confirm_then(
            f"Apply request {self.reference} now?",
            "Apply",
            lambda flow: flow.apply(actor=self.actor, reference=self.reference),
            "applied; the request is now {state}",
        )

    def action_reject(self) -> None:
        """Reject with a reason the customer will read."""
        from tui.dialogs.reason import ReasonDialog

        def chosen(reason: str | None) -> None:
            if reason:
                self._decide(
                    lambda flow: flow.reject(
                        actor=self.actor, reference=self.reference, reason=reason
                    ),
                    "rejected",
                )

        self.app.push_screen(ReasonDialog("Why is this request rejected?"), chosen)

    def action_cancel_request(self) -> None:
        """Cancel a request that is not decided yet."""
        from tui.dialogs.reason import ReasonDialog

        def chosen(reason: str | None) -> None:
            if reason is not None:
                self._decide(
                    lambda flow: flow.cancel(
                        actor=self.actor, reference=self.reference, reason=reason or None
                    ),
                    "cancelled",
                )

        self.app.push_screen(
            ReasonDialog("Why is it cancelled? (optional)", required=False), chosen
        )

    def action_resend(self) -> None:
        """Send the registrant a new confirmation link."""
        self._decide(
            lambda flow: flow.resend_confirmation(actor=self.actor, reference=self.reference),
            "a new confirmation link was sent to the registrant",
        )
