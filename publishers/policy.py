"""The publication policy: one PublicationView per domain, the single source of truth.

`build_view` is the only place that reads a contact's private fields and decides what the public
may see. Every rendering (WHOIS, RDAP, EPP disclose flags, the staff preview) reads the view,
never the contact, and a redacted FieldView holds no private value, so no renderer can leak one.

Registry contact policy (`required` | `optional` | `prohibited` per role) decides what is sent to
the registry (`PublicationView.registry_roles`), not what the registrar's own RDDS shows: a
prohibited role is still the registrar's data, kept locally, and WHOIS/RDAP show it exactly as
the profile says (a role the registry prohibits is typically one the profile hides anyway).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, overload
from urllib.parse import quote

from domains.contact_fields import CONSENTABLE, CONTACT_FIELDS, FIELDS_BY_NAME
from domains.dnssec import DsView
from domains.models import Contact
from domains.settings import Registrar
from domains.store import DomainRecord
from domains.validation import choice
from domains.vocabulary import ContactKind, ContactRole, RegistryContactPolicy
from publishers.profiles import FIELDS, Method, Profile, Rule, get_profile

REDACTED_TEXT = "REDACTED FOR PRIVACY"
#: What a registry says about each role unless its configuration says otherwise.
DEFAULT_REGISTRY_POLICY: Mapping[str, str] = {
    ContactRole.REGISTRANT: RegistryContactPolicy.REQUIRED,
    ContactRole.ADMIN: RegistryContactPolicy.OPTIONAL,
    ContactRole.TECH: RegistryContactPolicy.OPTIONAL,
    ContactRole.BILLING: RegistryContactPolicy.OPTIONAL,
}
#: Consent to a field (domains.contact_fields.CONSENTABLE) covers it and the fields part of it.
CONSENT_COVERS: Mapping[str, tuple[str, ...]] = {
    given: (given, *(f.name for f in CONTACT_FIELDS if f.part_of == given)) for given in CONSENTABLE
}
_ROLE_LABELS: Mapping[str, str] = {
    ContactRole.REGISTRANT: "Registrant",
    ContactRole.ADMIN: "Admin",
    ContactRole.TECH: "Tech",
    ContactRole.BILLING: "Billing",
}


def field_label(role: str, field: str) -> str:
    """The ICANN label of a field, which is also its RFC 9537 redaction name."""
    if field == "handle":
        return f"Registry {_ROLE_LABELS[role]} ID"
    return f"{_ROLE_LABELS[role]} {FIELDS_BY_NAME[field].icann_label}"


_LABELS: dict[tuple[str, str], str] = {
    (role, field): field_label(role, field) for role in ContactRole for field in FIELDS
}
_FIELD_INDEX = {field: index for index, field in enumerate(FIELDS)}


@dataclass(frozen=True)
class FieldView:
    """One field of one role as the public may see it; `value` is never a redacted value."""

    role: str
    field: str
    published: bool
    method: Method | None
    value: str | None
    """The public value: the field itself when published, the replacement when replaced."""
    whois_text: str
    rdap_name: str
    reason: str
    """Why: profile, consent, house contact, legal person, or no contact."""
    lines: tuple[str, ...] = ()
    """The street lines, when the street is published."""


@dataclass(frozen=True)
class RoleView:
    """One role of the domain: who holds it (if anyone), whether RDDS shows it, its fields."""

    role: str
    present: bool
    shown: bool
    registry: str
    basis: str
    fields: tuple[FieldView, ...]
    shares_contact_with: tuple[str, ...] = ()
    """The other roles held by the same contact (one EPP contact object, one disclose)."""

    def field(self, name: str) -> FieldView:
        """The view of one field."""
        return self.fields[_FIELD_INDEX[name]]

    @property
    def sent_to_registry(self) -> bool:
        """True when a contact holds the role and the registry does not prohibit it."""
        return self.present and self.registry != RegistryContactPolicy.PROHIBITED


@dataclass(frozen=True)
class RegistrarView:
    """The registrar identity shown in WHOIS and RDAP (from settings)."""

    name: str
    iana_id: str
    whois_server: str
    url: str
    abuse_email: str
    abuse_phone: str
    contact_form_url: str
    rdap_base_url: str
    terms_url: str

    @classmethod
    def from_settings(cls, registrar: Registrar) -> RegistrarView:
        """A frozen copy of the settings' registrar."""
        return cls(**registrar.model_dump(include=set(cls.__dataclass_fields__)))


@dataclass(frozen=True)
class DomainView:
    """The domain's public data: names, ROID, statuses, dates (UTC, seconds), NS, DNSSEC.

    DS records are public (they are published in the parent zone): a signed domain carries those
    on file, an unsigned one none.
    """

    name: str
    unicode_name: str
    roid: str | None
    statuses: tuple[str, ...]
    created: datetime | None
    updated: datetime | None
    expires: datetime | None
    nameservers: tuple[str, ...]
    dnssec: bool
    ds: tuple[DsView, ...] = ()

    @property
    def is_idn(self) -> bool:
        """True when the U-label differs from the A-label."""
        return self.unicode_name != self.name


@dataclass(frozen=True)
class PublicationView:
    """Everything any public rendering of one domain may use, and nothing more."""

    profile: str
    domain: DomainView
    registrar: RegistrarView
    roles: tuple[RoleView, ...]
    generated_at: datetime

    def role(self, name: str) -> RoleView:
        """The view of one role."""
        for view in self.roles:
            if view.role == name:
                return view
        raise KeyError(name)

    def field(self, role: str, name: str) -> FieldView:
        """The view of one field of one role."""
        return self.role(role).field(name)

    @property
    def shown_roles(self) -> tuple[RoleView, ...]:
        """The roles WHOIS and RDAP show, in ICANN order."""
        return tuple(view for view in self.roles if view.shown)

    @property
    def registry_roles(self) -> tuple[str, ...]:
        """The roles whose contact is sent to the registry."""
        return tuple(view.role for view in self.roles if view.sent_to_registry)

    @property
    def registry_missing(self) -> tuple[str, ...]:
        """Roles the registry requires that no contact holds."""
        return tuple(
            v.role
            for v in self.roles
            if v.registry == RegistryContactPolicy.REQUIRED and not v.present
        )

    @property
    def redactions(self) -> tuple[FieldView, ...]:
        """The redacted fields of the shown roles: what RDAP lists in `redacted`."""
        return tuple(f for role in self.shown_roles for f in role.fields if not f.published)


def contact_form_url(registrar: RegistrarView | Registrar, domain: str, role: str) -> str:
    """The web form that reaches the contact of `role` on `domain`; it names no private data."""
    return f"{registrar.contact_form_url}?domain={quote(domain, safe='')}&role={quote(role)}"


@overload
def utc_seconds(value: datetime) -> datetime: ...
@overload
def utc_seconds(value: None) -> None: ...
def utc_seconds(value: datetime | None) -> datetime | None:
    """An aware UTC datetime without microseconds (naive values from SQLite are UTC)."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=0)


def _domain_view(record: DomainRecord) -> DomainView:
    domain = record.domain
    return DomainView(
        name=domain.name,
        unicode_name=domain.unicode_name,
        roid=domain.roid,
        statuses=tuple(domain.statuses or ("ok",)),
        created=utc_seconds(domain.created_at),
        updated=utc_seconds(domain.updated_at),
        expires=utc_seconds(domain.expires_at),
        nameservers=tuple(host.lower() for host in domain.nameservers),
        dnssec=bool(domain.dnssec),
        ds=tuple(record.ds) if domain.dnssec else (),
    )


def _stored(contact: Contact, field: str) -> Any:
    """The stored value of a field: None when empty, a tuple of lines for the street."""
    if field == "street":
        return tuple(line for line in (contact.street or ()) if line and line.strip())
    value = getattr(contact, field)
    return value if value else None


def _consented(contact: Contact) -> frozenset[str]:
    return frozenset(
        covered
        for given in contact.consent_fields or ()
        for covered in CONSENT_COVERS.get(given, ())
    )


def _basis(contact: Contact, profile: Profile) -> str:
    if contact.is_house:
        return "house contact"
    if profile.organizations_in_full and contact.kind == ContactKind.ORGANIZATION:
        return "legal person"
    return "profile"


_PUBLISH = Rule("publish")


def _rule(basis: str, rule: Rule, consented: bool) -> tuple[Rule, str]:
    if basis != "profile":
        return _PUBLISH, basis
    if consented and not rule.published:
        return _PUBLISH, "consent"
    return rule, "profile"


@functools.cache
def _no_contact(role: str) -> tuple[FieldView, ...]:
    """The fields of a role nobody holds: nothing to publish, nothing to hide."""
    return tuple(
        FieldView(role, field, True, None, None, "", _LABELS[role, field], "no contact")
        for field in FIELDS
    )


def _field_view(
    role: str, field: str, rule: Rule, reason: str, stored: Any, form_url: str
) -> FieldView:
    label = _LABELS[role, field]
    if rule.published:
        lines = stored if field == "street" and stored else ()
        value = ", ".join(lines) if field == "street" else stored
        return FieldView(role, field, True, None, value or None, value or "", label, reason, lines)
    replacement = form_url if rule.method == "replacementValue" else None
    return FieldView(
        role, field, False, rule.method, replacement, replacement or REDACTED_TEXT, label, reason
    )


def _holders(record: DomainRecord) -> dict[str, tuple[str, ...]]:
    """handle -> the roles its contact holds on the domain."""
    holders: dict[str, tuple[str, ...]] = {}
    for role in ContactRole:
        contact = record.contact(role)
        if contact is not None:
            holders[contact.handle] = (*holders.get(contact.handle, ()), role)
    return holders


def _role_view(
    record: DomainRecord,
    role: str,
    profile: Profile,
    registrar: RegistrarView,
    registry: str,
    holders: dict[str, tuple[str, ...]],
) -> RoleView:
    contact = record.contact(role)
    shown = role in profile.shown_roles
    if contact is None:
        return RoleView(role, False, shown, registry, "no contact", _no_contact(role))
    basis = _basis(contact, profile)
    consented = _consented(contact)
    form_url = contact_form_url(registrar, record.domain.name, role)
    rules = profile.rules[role]
    fields = tuple(
        _field_view(
            role,
            field,
            *_rule(basis, rules[field], field in consented),
            _stored(contact, field),
            form_url,
        )
        for field in FIELDS
    )
    sharing = tuple(other for other in holders[contact.handle] if other != role)
    return RoleView(role, True, shown, registry, basis, fields, sharing)


def _registry_policy(given: Mapping[str, str] | None) -> dict[str, str]:
    policy = dict(DEFAULT_REGISTRY_POLICY)
    for role, value in (given or {}).items():
        choice("registry contact policy role", role, ContactRole)
        policy[role] = choice(f"registry contact policy of {role}", value, RegistryContactPolicy)
    return policy


def build_view(
    record: DomainRecord,
    *,
    profile: Profile | str,
    registrar: Registrar | RegistrarView,
    registry_policy: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> PublicationView:
    """The public view of one domain under a profile and the registry's contact policy."""
    if isinstance(profile, str):
        profile = get_profile(profile)
    if isinstance(registrar, Registrar):
        registrar = RegistrarView.from_settings(registrar)
    policy = _registry_policy(registry_policy)
    holders = _holders(record)
    roles = tuple(
        _role_view(record, role, profile, registrar, policy[role], holders) for role in ContactRole
    )
    return PublicationView(
        profile=profile.name,
        domain=_domain_view(record),
        registrar=registrar,
        roles=roles,
        generated_at=utc_seconds(now or datetime.now(UTC)),
    )


# -- disclosure ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DisclosedFieldView:
    """One approved field of one role of one domain, with its stored value (None: empty)."""

    role: str
    field: str
    label: str
    value: str | None


@dataclass(frozen=True)
class DisclosedDomainView:
    """One approved domain and exactly its approved fields, in ICANN order."""

    name: str
    unicode_name: str
    fields: tuple[DisclosedFieldView, ...]


@dataclass(frozen=True)
class DisclosureView:
    """What a decision discloses: exactly the approved fields of the approved domains, and
    nothing else (no other field, role, contact or domain is read into it)."""

    reference: str
    outcome: str
    decided_at: datetime
    generated_at: datetime
    registrar: str
    domains: tuple[DisclosedDomainView, ...]


def _disclosed_value(contact: Contact | None, field: str) -> str | None:
    if contact is None:
        return None
    if field == "handle":
        return contact.handle
    stored = _stored(contact, field)
    if field == "street":
        return "\n".join(stored) or None
    return stored


def build_disclosure_view(
    records: Mapping[str, DomainRecord],
    approved: tuple[tuple[str, str, str], ...],
    *,
    reference: str,
    outcome: str,
    decided_at: datetime,
    registrar: Registrar | RegistrarView,
    now: datetime | None = None,
) -> DisclosureView:
    """The disclosure of the approved (domain, role, field) triples, read from the records.

    A triple whose domain is not in `records` is left out (a domain no longer ours); a role
    nobody holds gives an empty value. Domains and fields come in the order of the roles and of
    ICANN's layout."""
    wanted: dict[str, set[tuple[str, str]]] = {}
    for domain, role, field in approved:
        wanted.setdefault(domain, set()).add((role, field))
    domains = []
    for name in sorted(wanted):
        record = records.get(name)
        if record is None:
            continue
        fields = tuple(
            DisclosedFieldView(
                role, field, _LABELS[role, field], _disclosed_value(record.contact(role), field)
            )
            for role in ContactRole
            for field in FIELDS
            if (role, field) in wanted[name]
        )
        domains.append(DisclosedDomainView(record.domain.name, record.domain.unicode_name, fields))
    return DisclosureView(
        reference=reference,
        outcome=outcome,
        decided_at=utc_seconds(decided_at),
        generated_at=utc_seconds(now or datetime.now(UTC)),
        registrar=registrar.name,
        domains=tuple(domains),
    )
