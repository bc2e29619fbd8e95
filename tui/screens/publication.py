"""Publication: WHOIS and RDAP exactly as the public gets them, beside the stored record."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from domains.store import DomainRecord
from domains.vocabulary import AccessPurpose
from publishers.policy import PublicationView, build_view
from publishers.profiles import FIELDS
from publishers.rdap import rdap_json
from publishers.tld_publication import load_publications
from publishers.whois import render_whois
from tui.screens.base import StaffScreen
from tui.widgets.fitted_table import Col, FittedTable

#: Below this width the stored record and the public texts are stacked, not side by side.
NARROW = 120
#: The stored record: a value its column cuts is shown in full under the table.
STORED = (Col("Field", 12, share=1), Col("Public", 8, share=1), Col("Stored", 10, share=2))


def public_marker(shown: bool, published: bool, method: str | None) -> Text:
    """Whether the public sees a field: not shown, public, REDACTED and how, or omitted (no part
    of the role's public data under the profile)."""
    if not shown:
        return Text("not shown", style="dim")
    if published:
        return Text("public", style="green")
    if method is None:
        return Text("omitted", style="dim")
    return Text.assemble(("REDACTED", "bold red"), f" {method}")


def publication_words(view: PublicationView) -> str:
    """The profile the domain's TLD publishes under, and whose RDDS answers for it."""
    rdds = view.registry_rdds
    if rdds is None:
        return f"profile {view.profile}"
    return f"profile {view.profile} · RDDS: the registry's ({rdds.whois_server})"


@dataclass(frozen=True)
class Renderings:
    """The stored record, its view, and the public texts made from the view."""

    record: DomainRecord
    view: PublicationView
    whois: str
    rdap: str


def stored_value(record: DomainRecord, role: str, field: str) -> str:
    """The stored value of a field, as staff see it."""
    contact = record.contact(role)
    if contact is None:
        return ""
    if field == "handle":
        return contact.handle
    value = getattr(contact, field, None)
    if isinstance(value, list):
        return ", ".join(value)
    return value or ""


class PublicationScreen(StaffScreen):
    """See exactly what leaves the house for one domain, and why."""

    PALETTE_GROUP = "Publication"
    DEFAULT_CSS = """
    PublicationScreen #stored-pane {
        width: 1fr;
    }
    PublicationScreen #publication.narrow #stored-pane {
        width: 100%;
        height: 1fr;
    }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("w", "show_tab('whois')", "WHOIS"),
        Binding("j", "show_tab('rdap')", "RDAP"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.domain_name = name

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="publication"):
            with Vertical(id="stored-pane"):
                table = FittedTable(STORED, id="stored", zebra_stripes=True)
                yield table
                yield table.line
            with TabbedContent(id="public-tabs"):
                with TabPane("WHOIS", id="whois"), VerticalScroll():
                    yield Static("", id="whois-text", markup=False)
                with TabPane("RDAP", id="rdap"), VerticalScroll():
                    yield Static("", id="rdap-text", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"Publication: {self.domain_name}"
        self.action_reload()

    def on_resize(self) -> None:
        """Side by side when there is room; the record above the public texts when not."""
        self.query_one("#publication").set_class(self.size.width < NARROW, "narrow")

    def action_reload(self) -> None:
        """Render the domain again from the store (a recorded look at the stored record)."""
        settings, actor = self.store.settings, self.actor

        def work() -> Renderings:
            record = self.store.look_at_domain(
                actor, self.domain_name, AccessPurpose.PUBLICATION_SCREEN
            )
            # The profile of the domain's TLD, from the registries file.
            view = build_view(
                record, profile=load_publications(settings), registrar=settings.registrar
            )
            return Renderings(record, view, render_whois(view), rdap_json(view, indent=2))

        self.background(work, self.show)

    def show(self, renderings: Renderings) -> None:
        """Fill the stored-record table with every redacted field marked, and the texts."""
        table = self.query_one("#stored", FittedTable)
        table.clear()
        for role in renderings.view.roles:
            if not role.present:
                continue
            for field in FIELDS:
                view = role.field(field)
                stored = stored_value(renderings.record, role.role, field)
                shown = role.shown and renderings.view.registry_rdds is None
                public = public_marker(shown, view.published, view.method)
                table.add_row(f"{role.role}.{field}", public, stored)
        self.query_one("#whois-text", Static).update(renderings.whois.replace("\r\n", "\n"))
        self.query_one("#rdap-text", Static).update(renderings.rdap)
        self.sub_title = publication_words(renderings.view)

    def action_show_tab(self, tab: str) -> None:
        """Switch between the WHOIS and RDAP renderings."""
        self.query_one("#public-tabs", TabbedContent).active = tab
