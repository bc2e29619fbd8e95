"""Account: a customer's data, opt-out, contacts, domains and their own recent changes."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from domains.account_detail import AccountContact, AccountDetail, account_detail
from domains.marketing_choice import MarketingChoice, record_choice
from domains.staff import Permission
from domains.vocabulary import ContactRole
from tui.dialogs.marketing_choice import ChoiceAnswer, MarketingChoiceDialog
from tui.screens.base import StaffScreen
from tui.widgets.fitted_table import Col, FittedTable

CONTACT_COLUMNS = (
    Col("Handle", 8, share=1),
    Col("Name / organisation", 12, share=3),
    Col("E-mail", 10, share=3),
    Col("New e-mail waiting", 10, share=3),
)
COR_COLUMNS = (
    Col("Reference", 10, share=1),
    Col("Contact", 8),
    Col("State", 8, share=1),
    Col("Fields", 6, share=2),
    Col("Requested", 16),
)
DOMAIN_COLUMNS = (
    Col("Domain", 14, share=4),
    *(Col(role.value.title(), 7, share=1) for role in ContactRole),
    Col("Locked to", 10),
)
CHANGE_COLUMNS = (
    Col("When", 16),
    Col("Action", 14, share=1),
    Col("Entity", 12, share=2),
    Col("Fields", 8, share=3),
)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "-"


def summary(detail: AccountDetail) -> Text:
    """The account's own data, its opt-out in words, and what needs a look."""
    text = Text(end="")
    text.append(detail.number, style="bold")
    text.append(f"  {detail.name}  ({detail.status})   changes by the customer: {detail.actor}\n")
    text.append("E-mail ", style="bold")
    text.append(detail.email)
    text.append("   Phone ", style="bold")
    text.append(detail.phone or "-")
    text.append("\nAddress ", style="bold")
    text.append(detail.address or "-")
    text.append("\nMarketing ", style="bold")
    text.append(detail.opt_out_words)
    text.append(
        f"\nCustomer since {_day(detail.created_at)}, updated {_when(detail.updated_at)}; "
        f"{len(detail.contacts)} contact(s), {len(detail.domains)} domain(s)"
    )
    overdue = [c.handle for c in detail.contacts if c.pending_email and c.pending_email.overdue]
    if overdue:
        text.append(
            f"\nNew e-mail unverified for more than 15 days: {', '.join(overdue)}",
            style="bold red",
        )
    for failing in detail.failing:
        text.append(
            f"\nFailing address {failing.address} ({', '.join(failing.holders)}): "
            f"{failing.reason}, since {_day(failing.since)}",
            style="bold red",
        )
    return text


def waiting_cell(contact: AccountContact) -> Text:
    """The new address waiting for its link, and how long: flagged when overdue."""
    pending = contact.pending_email
    if pending is None:
        return Text("-", no_wrap=True, overflow="ellipsis", end="")
    cell = Text(f"{pending.new_email} ({pending.flag})", no_wrap=True, overflow="ellipsis", end="")
    if pending.overdue:
        cell.stylize("bold red")
    return cell


class AccountScreen(StaffScreen):
    """One customer account, as support staff need to see it; staff record the customer's
    marketing choice here (everything else is read only)."""

    PALETTE_GROUP = "Account"
    AUTO_FOCUS = "#account-contacts"
    DEFAULT_CSS = """
    AccountScreen #account-summary, AccountScreen #account-cor-title {
        height: auto;
        padding: 0 1;
    }
    AccountScreen #account-contacts, AccountScreen #account-cors {
        height: auto;
    }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+r", "reload", "Reload"),
        Binding("o", "show_tab('account-tab')", "Overview"),
        Binding("d", "show_tab('account-domains-tab')", "Domains"),
        Binding("h", "show_tab('account-changes-tab')", "Customer changes"),
        Binding("m", "marketing_choice", "Marketing choice", show=False),
        # Enter on a table row does it too; the footer has no room left at 80 columns.
        Binding("enter", "open_row", "Open the domain or change", show=False),
    ]

    def __init__(self, number: str) -> None:
        super().__init__()
        self.number = number
        self.detail: AccountDetail | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="account-tabs"):
            with TabPane("Overview", id="account-tab"), VerticalScroll():
                yield Static("loading...", id="account-summary", markup=False)
                contacts = FittedTable(CONTACT_COLUMNS, id="account-contacts")
                yield contacts
                yield contacts.line
                yield Static("", id="account-cor-title", markup=False)
                cors = FittedTable(COR_COLUMNS, id="account-cors")
                yield cors
                yield cors.line
            with TabPane("Domains", id="account-domains-tab"):
                domains = FittedTable(DOMAIN_COLUMNS, id="account-domains", zebra_stripes=True)
                yield domains
                yield domains.line
            with TabPane("Customer changes", id="account-changes-tab"):
                changes = FittedTable(CHANGE_COLUMNS, id="account-changes", zebra_stripes=True)
                yield changes
                yield changes.line
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"Account {self.number}"
        if not self.staff.may(Permission.VIEW):
            # Nothing is read: the member sees why, as on the app's first screen.
            from tui.screens.no_access import NoAccessScreen

            self.app.switch_screen(NoAccessScreen())
            return
        self.action_reload()

    def action_show_tab(self, tab: str) -> None:
        """Show one section, its table focused (a table left focused in a hidden tab would
        bring its tab back)."""
        self.query_one("#account-tabs", TabbedContent).active = tab
        self.query_one(f"#{tab} FittedTable", FittedTable).focus()

    def action_reload(self) -> None:
        """Read the account again (a recorded look at each of its contacts)."""
        actor, number = self.actor, self.number
        self.background(lambda: account_detail(self.store, actor, number), self.show)

    def show(self, detail: AccountDetail) -> None:
        """Fill every section from a fresh read."""
        self.detail = detail
        self.title = f"Account {detail.number}"
        self.sub_title = detail.name
        self.query_one("#account-summary", Static).update(summary(detail))
        contacts = self.query_one("#account-contacts", FittedTable)
        contacts.clear()
        for contact in detail.contacts:
            label = (contact.org and f"{contact.org} / {contact.name}") or contact.name
            contacts.add_row(
                contact.handle, label, contact.email, waiting_cell(contact), key=contact.handle
            )
        cors = detail.registrant_changes
        self.query_one("#account-cor-title", Static).update(
            Text(
                f"Changes of registrant waiting: {len(cors)}"
                if cors
                else "No change of registrant waiting",
                style="bold",
            )
        )
        table = self.query_one("#account-cors", FittedTable)
        table.clear()
        table.display = bool(cors)
        for cor in cors:
            table.add_row(
                cor.reference,
                cor.contact_handle,
                cor.state,
                ", ".join(cor.fields),
                _when(cor.requested_at),
                key=cor.reference,
            )
        domains = self.query_one("#account-domains", FittedTable)
        domains.clear()
        for domain in detail.domains:
            domains.add_row(
                domain.unicode_name,
                *(domain.holder(role) or "-" for role in ContactRole),
                _day(domain.lock_until),
                key=domain.name,
            )
        changes = self.query_one("#account-changes", FittedTable)
        changes.clear()
        for change in detail.changes:
            changes.add_row(
                _when(change.at),
                change.action,
                change.entity,
                ", ".join(change.fields),
                key=str(change.id),
            )

    def action_marketing_choice(self) -> None:
        """Record the customer's opt-out of marketing mail, or their opt-in, and how it came."""
        if self.detail is None:
            return
        dialog = MarketingChoiceDialog(
            self.detail.number, opted_out=self.detail.opt_out is not None
        )
        self.app.push_screen(dialog, self.record_choice)

    def record_choice(self, answer: ChoiceAnswer | None) -> None:
        """Save the answer of the dialog (the store checks the role), then read again."""
        if answer is None:
            return
        actor, number = self.actor, self.number

        def done(choice: MarketingChoice) -> None:
            if not choice.changed:
                said = "nothing changed: the choice already stood"
            elif choice.opted_out:
                said = f"opted out of marketing mail ({choice.via})"
            else:
                said = f"receives marketing mail again ({answer.via})"
            self.notify(f"{choice.number}: {said}", title="Recorded", markup=False)
            self.action_reload()

        self.background(
            lambda: record_choice(
                self.store, actor, number, opt_out=answer.opt_out, via=answer.via
            ),
            done,
        )

    def action_open_row(self) -> None:
        """Open the highlighted domain (its Domain screen) or change (its audit event)."""
        tab = self.query_one("#account-tabs", TabbedContent).active
        if tab == "account-domains-tab":
            self.open_domain()
        elif tab == "account-changes-tab":
            self.open_change()

    @on(DataTable.RowSelected, "#account-domains")
    def open_domain(self) -> None:
        """The highlighted domain's Domain screen."""
        key = self.highlighted("#account-domains")
        if key is not None:
            from tui.screens.domain import DomainScreen

            self.app.push_screen(DomainScreen(key))

    @on(DataTable.RowSelected, "#account-changes")
    def open_change(self) -> None:
        """The highlighted change's audit event: every field before and after."""
        key = self.highlighted("#account-changes")
        if key is not None:
            from tui.screens.audit_event import AuditEventScreen

            self.app.push_screen(AuditEventScreen(int(key)))

    def highlighted(self, selector: str) -> str | None:
        """The key of the highlighted row of a table (None when it has no rows)."""
        table = self.query_one(selector, FittedTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value)
