"""Domain: contacts, statuses, name servers, DNSSEC, dates, requests, history, checks, edits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from domains import audit
from domains.changes import Workflow
from domains.dns_check import NsResult, live_nameservers
from domains.models import AuditEvent, ChangeRequest
from domains.store import DomainRecord
from domains.validation import UPDATE_LOCKS
from domains.vocabulary import AccessPurpose, ContactRole
from tui.live_ns import delegation, live_hosts
from tui.live_whois import WhoisResult, live_whois
from tui.screens.base import StaffScreen
from tui.widgets.fitted_table import Col, FittedTable

if TYPE_CHECKING:
    from tui.dialogs.domain_edit import DomainEditDialog

CONTACT_COLUMNS = (
    Col("Role", 10),
    Col("Handle", 8, share=1),
    Col("Name / organisation", 12, share=3),
    Col("E-mail", 12, share=3),
    Col("Country", 7),
)
REQUEST_COLUMNS = (
    Col("Reference", 14),
    Col("State", 11),
    Col("Channel", 7),
    Col("Entered by", 8, share=1),
    Col("Created", 16),
)
HISTORY_COLUMNS = (
    Col("When", 16),
    Col("Actor", 9, share=1),
    Col("Action", 13, share=1),
    Col("Changes", 8, share=3),
)


@dataclass(frozen=True)
class DomainDetails:
    """Everything the Domain screen shows, read in one go off the UI thread."""

    record: DomainRecord
    requests: list[ChangeRequest]
    history: list[AuditEvent]


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def dnssec_line(record: DomainRecord) -> str:
    """Signed or not, and the DS records on file (key tag and algorithm of each)."""
    if not record.domain.dnssec:
        return "unsigned"
    if not record.ds:
        return "signed (DS not on file)"
    return "signed, DS " + ", ".join(f"{ds.key_tag}/{ds.algorithm_name}" for ds in record.ds)


class DomainScreen(StaffScreen):
    """One domain, as staff need to see it."""

    PALETTE_GROUP = "Domain"
    #: The contacts have the focus, their cursor shown: Down, then e edits that row's contact.
    AUTO_FOCUS = "#contacts"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("e", "edit_contact", "Edit contact"),
        Binding("p", "publication", "Publication"),
        Binding("c", "change_tech", "Change tech"),
        Binding("l", "live_checks", "Live DNS/WHOIS"),
        Binding("ctrl+r", "reload", "Reload"),
        # In the palette; the footer has no room left at 80 columns.
        Binding("w", "who_looked", "Who looked at the contact", show=False),
        Binding("a", "account", "Account", show=False),
        Binding("k", "lock", "Lock, unlock or client statuses", show=False),
        Binding("n", "edit_ns", "Edit name servers", show=False),
        Binding("d", "edit_ds", "Edit DS records", show=False),
        Binding("r", "change_registrant", "Change registrant", show=False),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.domain_name = name
        self.details: DomainDetails | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="domain-tabs"):
            with TabPane("Overview", id="overview"), VerticalScroll():
                yield Static("loading...", id="summary")
                contacts = FittedTable(CONTACT_COLUMNS, id="contacts")
                yield contacts
                yield contacts.line
            with TabPane("Requests", id="requests-tab"):
                requests = FittedTable(REQUEST_COLUMNS, id="domain-requests")
                yield requests
                yield requests.line
            with TabPane("History", id="history-tab"):
                history = FittedTable(HISTORY_COLUMNS, id="history")
                yield history
                yield history.line
            with TabPane("Live", id="live-tab"), VerticalScroll():
                yield Static("press l to ask the DNS and the public WHOIS", id="live-ns")
                yield Static("", id="live-whois")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = self.domain_name
        self.action_reload()

    def on_screen_resume(self) -> None:
        """Coming back from an edit or a dialog: show the store as it is now."""
        if self.details is not None:
            self.action_reload()

    def action_reload(self) -> None:
        """Read the domain, its requests and history again (a recorded look at its contacts)."""
        actor = self.actor

        def work() -> DomainDetails:
            record = self.store.look_at_domain(actor, self.domain_name, AccessPurpose.DOMAIN_SCREEN)
            requests = Workflow(self.store).list(domain_id=record.domain.id, limit=50)
            history = audit.list_events(
                self.store, entity_type="domain", entity_id=record.domain.name, limit=100
            )
            return DomainDetails(record, requests, history)

        self.background(work, self.show_details)

    def show_details(self, details: DomainDetails) -> None:
        """Fill every tab from a fresh read."""
        self.details = details
        domain, account = details.record.domain, details.record.account
        self.title = domain.unicode_name
        locks = [s for s in domain.statuses if s in UPDATE_LOCKS]
        lock_line = (
            f"\n[b red]Locked:[/] {', '.join(locks)} - contacts cannot be changed until lifted"
            if locks
            else ""
        )
        if domain.gone_at is not None:
            lock_line += (
                f"\n[b red]Gone:[/] transferred to another registrar {_when(domain.gone_at)}"
                " - no longer in Interlink's WHOIS and RDAP"
            )
        self.query_one("#summary", Static).update(
            f"[b]{domain.unicode_name}[/]  ({domain.name})   ROID {domain.roid or '-'}\n"
            f"Account {account.number} {escape(account.name)} ({account.status})\n"
            f"Statuses: {', '.join(domain.statuses)}{lock_line}\n"
            f"Created {_when(domain.created_at)}  Expires {_when(domain.expires_at)}  "
            f"Updated {_when(domain.updated_at)}\n"
            f"Name servers: {', '.join(domain.nameservers) or '-'}   "
            f"DNSSEC: {dnssec_line(details.record)}"
        )
        contacts = self.query_one("#contacts", DataTable)
        role_before = self.selected_role()  # a reload keeps the cursor on the same role
        contacts.clear()
        for role in ContactRole:
            contact = details.record.contact(role)
            if contact is None:
                continue
            label = (contact.org and f"{contact.org} / {contact.name}") or contact.name
            contacts.add_row(role, contact.handle, label, contact.email, contact.country, key=role)
        if role_before in details.record.contacts:
            contacts.move_cursor(row=contacts.get_row_index(role_before), animate=False)
        requests = self.query_one("#domain-requests", DataTable)
        requests.clear()
        for request in details.requests:
            requests.add_row(
                request.reference,
                request.state,
                request.channel,
                request.entered_by,
                _when(request.created_at),
                key=request.reference,
            )
        history = self.query_one("#history", DataTable)
        history.clear()
        for event in details.history:
            changes = ", ".join(sorted(event.changes))
            history.add_row(_when(event.at), event.actor, event.action, changes)

    # -- actions ------------------------------------------------------------------------

    def selected_role(self) -> str:
        """The role highlighted in the contacts table (registrant when none)."""
        table = self.query_one("#contacts", DataTable)
        if table.row_count == 0:
            return "registrant"
        return str(table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value)

    def action_edit_contact(self) -> None:
        """Edit the highlighted contact."""
        if self.details is None:
            return
        contact = self.details.record.contact(self.selected_role())
        if contact is None:
            return
        from tui.screens.contact_edit import ContactEditScreen

        self.app.push_screen(ContactEditScreen(contact.handle))

    def action_who_looked(self) -> None:
        """Who looked at the highlighted contact's private fields."""
        if self.details is None:
            return
        contact = self.details.record.contact(self.selected_role())
        if contact is None:
            return
        from tui.screens.access_log import AccessLogScreen

        self.app.push_screen(AccessLogScreen(contact.handle))

    def action_account(self) -> None:
        """The domain's account: its data, contacts, domains and the customer's own changes."""
        if self.details is None:
            return
        from tui.screens.account import AccountScreen

        self.app.push_screen(AccountScreen(self.details.record.account.number))

    def action_publication(self) -> None:
        """What the public sees of this domain."""
        from tui.screens.publication import PublicationScreen

        self.app.push_screen(PublicationScreen(self.domain_name))

    def action_change_tech(self) -> None:
        """Enter a technical-contact change for a customer who phoned or wrote."""
        if self.details is None:
            return
        from tui.dialogs.enter_request import EnterRequestDialog

        self.app.push_screen(EnterRequestDialog(self.details.record.domain.name))

    def _edit(self, dialog: type[DomainEditDialog]) -> None:
        """Open a dialog editing the domain's registry data; reload after a change."""
        if self.details is None:
            return

        def done(changed: bool | None) -> None:
            if changed:
                self.action_reload()

        self.app.push_screen(dialog(self.details.record), done)

    def action_lock(self) -> None:
        """Lock or unlock the domain, or set its client statuses one by one."""
        from tui.dialogs.client_statuses import ClientStatusesDialog

        self._edit(ClientStatusesDialog)

    def action_edit_ns(self) -> None:
        """Edit the name servers (with the addresses of new ones under the domain)."""
        from tui.dialogs.name_servers import NameServersDialog

        self._edit(NameServersDialog)

    def action_edit_ds(self) -> None:
        """Edit the DS records (the domain is signed while it has any)."""
        from tui.dialogs.ds_records import DsRecordsDialog

        self._edit(DsRecordsDialog)

    def action_change_registrant(self) -> None:
        """Make another contact of the account the registrant."""
        from tui.dialogs.change_registrant import ChangeRegistrantDialog

        self._edit(ChangeRegistrantDialog)

    def action_live_checks(self) -> None:
        """Ask the DNS for the live NS records and the public WHOIS for the record."""
        if self.details is None:
            return
        domain = self.details.record.domain
        self.query_one("#live-ns", Static).update("asking the DNS...")
        self.query_one("#live-whois", Static).update("asking the public WHOIS...")
        self.query_one("#domain-tabs", TabbedContent).active = "live-tab"
        settings = self.store.settings.dns
        stored = list(domain.nameservers)
        self.background(
            lambda: live_nameservers(domain.name, settings=settings),
            lambda result: self.show_ns(stored, result),
            group="dns",
        )
        whois = self.app.context.whois  # type: ignore[attr-defined]
        self.background(lambda: live_whois(domain.name, whois), self.show_whois, group="whois")

    def show_ns(self, stored: list[str], result: NsResult) -> None:
        """Live NS records beside the stored ones."""
        self.query_one("#live-ns", Static).update(
            f"[b]Live NS[/] ({result.elapsed_ms:.0f} ms): {live_hosts(result)}\n"
            f"{delegation(stored, result)}"
        )

    def show_whois(self, result: WhoisResult) -> None:
        """The public WHOIS as parsed by python-whois."""
        self.query_one("#live-whois", Static).update(result.summary())

    @on(DataTable.RowSelected, "#domain-requests")
    def open_request(self, event: DataTable.RowSelected) -> None:
        """Enter on a request opens it in the Requests screen."""
        from tui.screens.request_detail import RequestDetailScreen

        self.app.push_screen(RequestDetailScreen(str(event.row_key.value)))
