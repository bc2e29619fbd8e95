"""The control panel's frozen views: the account, its domains and contacts, the download."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from domains.store import DomainRecord

# Every view holds str, int, bool, datetime, None, lists, dicts and other views only, so
# `dataclasses.asdict` gives plain data and `json_ready` gives JSON.


def json_ready(value: Any) -> Any:
    """A copy of `value` that `json.dumps` takes: times as ISO 8601 text, tuples as lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    return value


@dataclass(frozen=True)
class AccountSummary:
    """The account as its holder sees it."""

    number: str
    name: str
    email: str
    phone: str | None
    address: list[str]
    """The postal address as lines: street lines, then the city, state and postal code."""
    country: str
    marketing_opt_out_at: datetime | None
    marketing_opt_out_via: str | None
    version: int

    @property
    def receives_marketing(self) -> bool:
        """True while the account has not opted out of marketing mail."""
        return self.marketing_opt_out_at is None


@dataclass(frozen=True)
class RoleHolder:
    """Who holds one role on a domain; `yours` when the contact belongs to the account."""

    handle: str
    name: str
    yours: bool


@dataclass(frozen=True)
class DomainRow:
    """One domain of the account: its names, expiry, the holder of each role, any lock."""

    name: str
    unicode_name: str
    expires_at: datetime | None
    roles: dict[str, RoleHolder]
    """Role -> holder, in the order of `domains.vocabulary.ContactRole`."""
    lock_until: datetime | None
    """Until when the domain may not move to another registrar (a Change of Registrant)."""


@dataclass(frozen=True)
class ContactSummary:
    """One contact of the account and, in one line, what the public answers show of it."""

    handle: str
    name: str
    org: str | None
    kind: str
    roles: int
    """How many roles it holds on the account's domains."""
    public: str | None
    """None when the panel has no view of the publication policy."""
    version: int


@dataclass(frozen=True)
class Overview:
    """The control panel's first page: the account, its domains, its contacts."""

    account: AccountSummary
    domains: list[DomainRow]
    contacts: list[ContactSummary]


@dataclass(frozen=True)
class PublicField:
    """What the public answers show of one field of a contact in one role."""

    published: bool
    whois: str
    """The value of the field's WHOIS line(s), as the answer gives it."""
    rdap: str
    """What RDAP gives for it, in words (a value, or how it is redacted)."""


@dataclass(frozen=True)
class FieldRow:
    """One stored field of a contact beside what WHOIS and RDAP show of it, and its consent."""

    field: str
    label: str
    value: str | None
    """The stored value (street lines joined by line breaks); None when empty."""
    whois: str | None
    """What WHOIS shows (None: the contact holds no role the answers show)."""
    rdap: str | None
    published: bool | None
    consentable: bool
    consent_label: str | None
    consented: bool
    consent_at: datetime | None
    """When the consent to publish this field was given (None without consent)."""
    consent_method: str | None


@dataclass(frozen=True)
class ContactPage:
    """A contact of the account in full: every field, its publication, its consent, a preview."""

    handle: str
    kind: str
    name: str
    org: str | None
    version: int
    fields: list[FieldRow]
    consent_fields: list[str]
    consent_at: datetime | None
    consent_method: str | None
    roles: list[dict[str, str]]
    """Every role it holds: {"domain": name, "unicode_name": ..., "role": role}, by domain."""
    preview_domain: str | None
    """The domain whose public answer is shown as the preview (None: it holds no role)."""
    preview_role: str | None
    preview_whois: str | None
    """That domain's public WHOIS answer, exactly as the WHOIS service gives it now."""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class AccountData:
    """Everything Interlink holds about an account, for its holder to download."""

    generated_at: datetime
    account: dict[str, Any]
    contacts: list[dict[str, Any]]
    domains: list[dict[str, Any]]
    change_requests: list[dict[str, Any]]
    registrant_changes: list[dict[str, Any]]
    notices: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    """The audit trail of their records: when, what, which fields, and who in general words."""
    staff_access: list[dict[str, Any]]
    """When Interlink staff looked at their contacts' private data: when, role, purpose."""
    sign_in: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    email_verifications: list[dict[str, Any]] = field(default_factory=list)
    """New e-mail addresses of their contacts waiting for (or past) the link sent to them."""

    def as_json(self) -> dict[str, Any]:
        """The download as JSON data."""
        return json_ready(
            {
                "generated_at": self.generated_at,
                "account": self.account,
                "contacts": self.contacts,
                "domains": self.domains,
                "change_requests": self.change_requests,
                "registrant_changes": self.registrant_changes,
                "notices": self.notices,
                "changes": self.changes,
                "staff_access": self.staff_access,
                "email_verifications": self.email_verifications,
                "sign_in": self.sign_in,
            }
        )


class PublicLens(Protocol):
    """What the public answers (WHOIS, RDAP) show, from the publication policy.

    The policy lives in `publishers/` (which `domains` never imports): the panel is handed an
    implementation (publishers/customer_preview.py) and asks it, never the profile itself.
    """

    def shown_fields(self, role: str, contact: Mapping[str, Any]) -> frozenset[str] | None:
        """The fields the public sees of a contact (its stored columns) in `role`; None when the
        answers do not show that role at all."""
        ...

    def field_texts(self, record: DomainRecord, role: str) -> Mapping[str, PublicField] | None:
        """Per field, what WHOIS and RDAP show of the contact in `role` on the record's domain;
        None when the answers do not show that role."""
        ...

    def whois(self, record: DomainRecord) -> str:
        """The domain's public WHOIS answer, as the WHOIS service gives it."""
        ...
