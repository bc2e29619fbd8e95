"""`interlink show DOMAIN --as whois|rdap|epp|private`: what each audience sees of a domain."""

from __future__ import annotations

from collections.abc import Mapping

import typer
from lxml import etree
from rich.console import Console
from rich.table import Table
from rich.text import Text

from domains import validation
from domains.models import Contact
from domains.settings import Settings
from domains.staff import Permission
from domains.store import DomainRecord
from domains.vocabulary import AccessPurpose
from publishers.disclose import disclose_for
from publishers.epp.client.commands import contact_create
from publishers.epp.model import ContactData
from publishers.epp.xmlsafe import parse_frame
from publishers.policy import FieldView, PublicationView, build_view
from publishers.profiles import FIELDS, Publications
from publishers.rdap import rdap_json
from publishers.registries import load_registries
from publishers.sync.contacts import contact_data as sync_contact_data
from publishers.whois import render_whois
from tui.commands.common import acting, opened_store, user_errors

FORMATS = ("whois", "rdap", "epp", "private")
#: What anyone may query anyway: no identity needed. EPP and private show private fields.
PUBLIC = ("whois", "rdap")
PREVIEW_CLTRID = "SHOW-PREVIEW"
PREVIEW_AUTH_INFO = "set-at-sync"
"""The preview never shows a real authInfo; the sync job sets one when it sends the contact."""


def registry_policy(settings: Settings, tld: str) -> Mapping[str, str] | None:
    """The contact policy per role of the registry of `tld` (None: no registry configured)."""
    registries = load_registries(settings.registries_file, data_dir=settings.data_dir)
    return registries.contact_policy(tld) if tld in registries else None


def publication_of(settings: Settings, profile: str | None) -> Publications:
    """The profile given for every TLD, or each TLD's own from the registries file."""
    if profile is not None:
        return Publications.single(profile)
    registries = load_registries(settings.registries_file, data_dir=settings.data_dir)
    return registries.publications(settings.publication_profile)


def contact_data(contact: Contact) -> ContactData:
    """The stored contact as <contact:create> sends it (the sync's own form: "int", or "loc"
    with its ASCII form beside it), with a placeholder authInfo."""
    return sync_contact_data(contact, auth_info=PREVIEW_AUTH_INFO)


def epp_preview(record: DomainRecord, view: PublicationView) -> str:
    """The <contact:create> frames the registry would get, one per contact, pretty-printed."""
    parts: list[str] = []
    done: set[str] = set()
    for role in view.roles:
        contact = record.contact(role.role)
        if contact is None or contact.handle in done:
            continue
        if not role.sent_to_registry:
            parts.append(
                f"<!-- {role.role}: prohibited by the registry; kept locally, not sent -->"
            )
            continue
        roles = ", ".join((role.role, *role.shares_contact_with))
        done.add(contact.handle)
        frame = contact_create(
            contact_data(contact), disclose_for(view, role.role), cltrid=PREVIEW_CLTRID
        )
        pretty = etree.tostring(parse_frame(frame), pretty_print=True, encoding="unicode")
        parts.append(f"<!-- {roles}: contact:create, disclose from profile {view.profile} -->")
        parts.append(pretty.rstrip())
    return "\n".join(parts) + "\n"


def _stored_text(contact: Contact, field: str) -> str:
    value = contact.street if field == "street" else getattr(contact, field)
    if isinstance(value, list):
        return "\n".join(value)
    return value or ""


def _mark(role_shown: bool, view: FieldView) -> Text:
    if not role_shown:
        return Text("NOT SHOWN (role hidden)", style="dim")
    if view.published:
        return Text(f"PUBLIC ({view.reason})", style="green")
    if view.omitted:
        return Text("NOT SHOWN (omitted by the profile)", style="dim")
    return Text(f"REDACTED ({view.method})", style="bold red")


def _rdds_words(view: PublicationView) -> str:
    rdds = view.registry_rdds
    return "" if rdds is None else f" · RDDS: the registry's ({rdds.whois_server})"


def private_table(record: DomainRecord, view: PublicationView) -> Table:
    """The stored record, every field marked PUBLIC or REDACTED (method): the staff's view."""
    domain = view.domain
    table = Table(
        title=f"{domain.unicode_name} ({domain.name}) · account {record.account.number} · "
        f"profile {view.profile}{_rdds_words(view)}",
        caption=f"sent to the registry: {', '.join(view.registry_roles) or 'none'}",
    )
    for column in ("role", "field", "stored value", "public"):
        table.add_column(column, overflow="fold")
    for role in view.roles:
        contact = record.contact(role.role)
        if contact is None:
            table.add_row(role.role, "", Text("(no contact)", style="dim"), "")
            continue
        label = f"{role.role}\n{role.basis}\nregistry: {role.registry}"
        for index, field in enumerate(FIELDS):
            table.add_row(
                label if index == 0 else "",
                field,
                Text(_stored_text(contact, field)),
                _mark(role.shown, role.field(field)),
            )
        table.add_section()
    return table


def show_command(
    domain: str = typer.Argument(..., help="The domain, as A-label or U-label."),
    as_: str = typer.Option("private", "--as", help="whois, rdap, epp or private."),
    profile: str = typer.Option(
        None, "--profile", help="Publication profile (default: the TLD's, registries file)."
    ),
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
) -> None:
    """Show a domain as WHOIS, RDAP or the registry (EPP) get it, or the stored record.

    EPP and private show private fields: they need a member of staff (from the system) with
    the support role, and each look is recorded in the access trail.
    """
    if as_ not in FORMATS:
        raise typer.BadParameter(f"{as_!r} is not one of {', '.join(FORMATS)}", param_hint="--as")
    with user_errors():
        # A name the store would refuse cannot be in it: say what is wrong with it instead.
        validation.domain_name(domain, field="domain")
    with user_errors(), opened_store(database_url, create=False) as store:
        if as_ in PUBLIC:
            record = store.domain_record(domain)
        else:
            # The stored record and what the registry gets hold private fields: staff only, and
            # the look at them is recorded (one access event per contact).
            actor = acting(store, Permission.VIEW).actor
            purpose = AccessPurpose.SHOW_EPP if as_ == "epp" else AccessPurpose.SHOW_PRIVATE
            record = store.look_at_domain(actor, domain, purpose)
        settings = store.settings
        view = build_view(
            record,
            profile=publication_of(settings, profile),
            registrar=settings.registrar,
            # What reaches the registry matters only to these two; WHOIS and RDAP never need it.
            registry_policy=registry_policy(settings, record.domain.tld)
            if as_ in ("epp", "private")
            else None,
        )
    if as_ == "whois":
        typer.echo(render_whois(view), nl=False)
    elif as_ == "rdap":
        typer.echo(rdap_json(view, indent=2))
    elif as_ == "epp":
        typer.echo(epp_preview(record, view), nl=False)
    else:
        Console().print(private_table(record, view))
