"""One change request: current and proposed technical contact side by side, NS, decisions."""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from domains import audit
from domains.changes import Outcome, Workflow, deliver_outcome
from domains.dns_check import NsResult, live_nameservers
from domains.models import AuditEvent, ChangeRequest, Contact, Domain
from tui.cells import plain
from tui.live_ns import delegation, live_hosts
from tui.screens.base import StaffScreen
from tui.widgets.contact_card import contact_lines


@dataclass(frozen=True)
class RequestDetails:
    """A request with its domain, both technical contacts and its audit trail."""

    request: ChangeRequest
    domain: Domain
    current: Contact | None
    new: Contact | None
    history: list[AuditEvent]


class RequestDetailScreen(StaffScreen):
    """Review a request and decide: approve (and apply), reject with a reason, or cancel."""

    PALETTE_GROUP = "Request"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "approve", "Approve"),
        Binding("x", "reject", "Reject"),
        Binding("k", "cancel_request", "Cancel"),
        Binding("s", "resend", "Resend link"),
        Binding("y", "apply", "Apply"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference
        self.details: RequestDetails | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static("loading...", id="request-summary")
            with Horizontal(id="side-by-side"):
                yield Static("", id="current-tech", classes="card")
                yield Static("", id="proposed-tech", classes="card")
            yield Static("", id="request-ns")
            table = DataTable(id="request-history", cursor_type="row")
            for column in ("When", "Actor", "Action"):
                table.add_column(column)
            yield table
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = self.reference
        self.action_reload()

    def action_reload(self) -> None:
        """Read the request again, then ask the DNS for the domain's live NS."""

        def work() -> RequestDetails:
            request = Workflow(self.store).get(self.reference)
            with self.store.read() as session:
                domain = session.get(Domain, request.domain_id)
                current = session.get(Contact, request.old_tech_id) if request.old_tech_id else None
                new = session.get(Contact, request.new_tech_id) if request.new_tech_id else None
            history = audit.list_events(self.store, request_ref=request.reference, limit=100)
            return RequestDetails(request, domain, current, new, list(reversed(history)))

        self.background(work, self.show_details)

    def show_details(self, details: RequestDetails) -> None:
        """Fill the screen and start the live DNS check."""
        self.details = details
        request, domain = details.request, details.domain
        self.title = f"{request.reference} {domain.unicode_name}"
        decided = f"\nDecided by {escape(request.decided_by)}" if request.decided_by else ""
        reason = f"\nReason: {escape(request.reason)}" if request.reason else ""
        error = f"\n[red]Registry: {escape(request.sync_error)}[/]" if request.sync_error else ""
        self.query_one("#request-summary", Static).update(
            f"[b]{domain.unicode_name}[/] - request {request.reference} is [b]{request.state}[/]\n"
            f"Channel {request.channel}, entered by {escape(request.entered_by)}, "
            f"expires {request.expires_at:%Y-%m-%d}{decided}{reason}{error}"
        )
        self.query_one("#current-tech", Static).update(
            contact_lines("Current technical contact", details.current)
        )
        proposed = (
            details.new
            if details.new is not None
            else (
                {"org": "Interlink (house contact)"}
                if request.target == "house"
                else request.proposed
            )
        )
        self.query_one("#proposed-tech", Static).update(
            contact_lines("Proposed technical contact", proposed)
        )
        table = self.query_one("#request-history", DataTable)
        table.clear()
        for event in details.history:
            table.add_row(event.at.strftime("%Y-%m-%d %H:%M"), plain(event.actor), event.action)
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

    # -- decisions ----------------------------------------------------------------------

    def _decide(self, work, done_message: str) -> None:
        def run() -> Outcome:
            outcome = work(Workflow(self.store))
            deliver_outcome(self.store, outcome)
            return outcome

        def done(outcome: Outcome) -> None:
            self.notify(done_message.format(state=outcome.request.state), title=self.reference)
            self.action_reload()

        self.background(run, done, group="decide")

    def action_approve(self) -> None:
        """Approve the confirmed request and apply it."""
        self._decide(
            lambda flow: flow.approve_and_apply(actor=self.actor, reference=self.reference),
            "approved and applied; the request is now {state}",
        )

    def action_apply(self) -> None:
        """Apply an approved request whose first apply failed."""
        self._decide(
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
