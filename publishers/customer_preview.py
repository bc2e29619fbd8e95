"""What the public answers show of a customer's contacts, now and with the consent they propose."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from domains.contact_fields import NAMES
from domains.customer_overview import PublicField
from domains.customer_panel import CustomerPanel, checked_consent
from domains.models import Account, Contact, Domain
from domains.settings import Settings
from domains.store import DomainRecord, Store
from publishers.policy import FieldView, PublicationView, RegistrarView, build_view
from publishers.profiles import Profile, get_profile
from publishers.whois import render_whois

#: What RDAP does with a redacted field, by its RFC 9537 method, in the portal's words.
RDAP_WORDS = {
    "removal": "left out (listed as redacted)",
    "emptyValue": "empty (listed as redacted)",
}
_STUB_TIME = datetime(2020, 1, 1, tzinfo=UTC)
_CONTACT_COLUMNS = tuple(c.name for c in Contact.__table__.columns)  # type: ignore[attr-defined]


def _stub_contact(kind: str, is_house: bool, consent: tuple[str, ...]) -> Contact:
    """A contact with every field filled, standing for any contact with this kind, house flag
    and consent: the only things of a contact the policy's decisions read (publishers/policy.py
    `_basis`, `_consented`); its values only fill the answer."""
    return Contact(
        id=0,
        handle="ILC0",
        kind=kind,
        name="-",
        org="-",
        street=["-"],
        city="-",
        state="-",
        postal_code="-",
        country="GB",
        voice="+44.1179000000",
        voice_ext="1",
        fax="+44.1179000001",
        fax_ext="1",
        email="stub@example.com",
        consent_fields=list(consent),
        is_house=is_house,
        name_key="-",
        email_key="stub@example.com",
    )


def _stub_record(contacts: dict[str, Contact]) -> DomainRecord:
    domain = Domain(
        id=0,
        name="stub.com",
        unicode_name="stub.com",
        tld="com",
        account_id=0,
        created_at=_STUB_TIME,
        updated_at=_STUB_TIME,
    )
    return DomainRecord(domain=domain, account=Account(id=0), contacts=contacts)  # type: ignore[call-arg]


def rdap_words(view: FieldView) -> str:
    """What RDAP gives for one field, in words: its value, or how it is redacted."""
    if view.published:
        return ", ".join(view.lines) if view.lines else (view.value or "(empty)")
    if view.method == "replacementValue":
        return f"{view.value} (a contact form instead of the address)"
    return RDAP_WORDS.get(view.method or "", "redacted")


def whois_words(view: FieldView) -> str:
    """What WHOIS shows for one field: its line's value (each street line on a line of its own)."""
    if view.published and view.lines:
        return "\n".join(view.lines)
    return view.whois_text


def public_field(view: FieldView) -> PublicField:
    return PublicField(published=view.published, whois=whois_words(view), rdap=rdap_words(view))


class PolicyLens:
    """The publication policy under the store's settings, as the control panel asks it."""

    def __init__(self, settings: Settings, profile: Profile | str | None = None) -> None:
        chosen = settings.publication_profile if profile is None else profile
        self.profile = get_profile(chosen) if isinstance(chosen, str) else chosen
        self.registrar = RegistrarView.from_settings(settings.registrar)
        self._shown: dict[tuple[str, str, bool, tuple[str, ...]], frozenset[str] | None] = {}

    def view(self, record: DomainRecord, now: datetime | None = None) -> PublicationView:
        """The policy's view of a record (the one the public services build)."""
        return build_view(record, profile=self.profile, registrar=self.registrar, now=now)

    def shown_fields(self, role: str, contact: Mapping[str, Any]) -> frozenset[str] | None:
        """The fields the public sees of a contact in `role` (None: the role is not shown).

        Decided once per role, kind, house flag and consent, on a stand-in contact: an
        overview of a thousand contacts asks the policy a handful of times.
        """
        consent = tuple(sorted(contact.get("consent_fields") or ()))
        key = (role, str(contact.get("kind")), bool(contact.get("is_house")), consent)
        if key not in self._shown:
            stub = _stub_contact(key[1], key[2], consent)
            role_view = self.view(_stub_record({role: stub}), _STUB_TIME).role(role)
            self._shown[key] = (
                frozenset(f.field for f in role_view.fields if f.published and f.field != "handle")
                if role_view.shown
                else None
            )
        return self._shown[key]

    def field_texts(self, record: DomainRecord, role: str) -> Mapping[str, PublicField] | None:
        """Per contact field, what WHOIS and RDAP show of the contact in `role`."""
        role_view = self.view(record).role(role)
        if not role_view.shown:
            return None
        return {f.field: public_field(f) for f in role_view.fields if f.field != "handle"}

    def whois(self, record: DomainRecord, now: datetime | None = None) -> str:
        """The domain's public WHOIS answer (ICANN layout, CRLF line ends)."""
        return render_whois(self.view(record, now))


def customer_panel(store: Store, settings: Settings | None = None) -> CustomerPanel:
    """The control panel over `store`, seeing the publication as the public services do."""
    return CustomerPanel(store, PolicyLens(settings or store.settings))


@dataclass(frozen=True)
class ConsentPreview:
    """A domain's public answers as they are and as they would be with the proposed consent."""

    domain: str | None
    """The domain shown (one the contact holds a role on); None when it holds none."""
    role: str | None
    consent_fields: list[str]
    before_whois: str | None
    after_whois: str | None
    before_rdap: list[str]
    """The contact's fields as RDAP gives them now, one "label: what" line each."""
    after_rdap: list[str]
    newly_public: list[str]
    """The fields the change would publish that are hidden now, in the order of the table."""
    newly_hidden: list[str]


def _with_consent(contact: Contact, fields: list[str]) -> Contact:
    """A detached copy of `contact` consenting to exactly `fields` (nothing is stored)."""
    values = {name: getattr(contact, name) for name in _CONTACT_COLUMNS}
    values["consent_fields"] = list(fields)
    return Contact(**values)


def _rdap_lines(view: PublicationView, role: str) -> list[str]:
    role_view = view.role(role)
    if not role_view.shown:
        return []
    return [f"{f.rdap_name}: {rdap_words(f)}" for f in role_view.fields if f.field != "handle"]


def consent_preview(
    panel: CustomerPanel,
    number: str,
    handle: str,
    fields: Iterable[str],
    lens: PolicyLens | None = None,
) -> ConsentPreview:
    """The public answers of one of the contact's domains now and with consent to `fields`.

    The contact must be one of the account's (NotFound otherwise, as for one that does not
    exist). Nothing is stored: the answers are rendered from a copy of the record. `lens`:
    the panel's own when it has a PolicyLens, else one under the store's settings.
    """
    if lens is None:
        lens = (
            panel.lens if isinstance(panel.lens, PolicyLens) else PolicyLens(panel.store.settings)
        )
    chosen = checked_consent(fields)
    page = panel.contact(number, handle)
    if page.preview_domain is None or page.preview_role is None:
        return ConsentPreview(None, None, chosen, None, None, [], [], [], [])
    record = panel.store.domain_record(page.preview_domain)
    changed = {
        role: (_with_consent(contact, chosen) if contact.handle == handle else contact)
        for role, contact in record.contacts.items()
    }
    proposed = replace(record, contacts=changed)
    now = datetime.now(UTC)
    before, after = lens.view(record, now), lens.view(proposed, now)
    role = page.preview_role

    def public(view: PublicationView) -> set[str]:
        return {f.field for f in view.role(role).fields if f.published and f.field != "handle"}

    shown = before.role(role).shown
    return ConsentPreview(
        domain=page.preview_domain,
        role=role,
        consent_fields=chosen,
        before_whois=render_whois(before),
        after_whois=render_whois(after),
        before_rdap=_rdap_lines(before, role),
        after_rdap=_rdap_lines(after, role),
        newly_public=[n for n in NAMES if n in public(after) - public(before)] if shown else [],
        newly_hidden=[n for n in NAMES if n in public(before) - public(after)] if shown else [],
    )
