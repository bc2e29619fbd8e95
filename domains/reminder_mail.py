"""What the mails of essential reminders read: the reminder recorded, its domain, the data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from domains.contact_fields import FIELDS_BY_NAME
from domains.correction_notices import aware, gtld_registrant_domains, is_cctld, shown
from domains.models import Contact, Domain, Notice
from domains.notice_models import ReminderSent
from domains.vocabulary import ReminderKind

#: The reminder notices: the annual registration-data reminder and the expiry reminders.
TEMPLATES = ("reminder_wdrp", "reminder_expiry")
#: A reminder notice's subject_ref is this prefix and the id of its reminder_sent row.
REMINDER_REF = "RS-"
#: The registrant's fields the annual reminder shows, as stored (contact-field table order).
DATA_FIELDS = (
    "name",
    "org",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "email",
    "voice",
    "voice_ext",
    "fax",
    "fax_ext",
)


class ReminderMailError(Exception):
    """A reminder notice whose record or domain is gone; the text holds no personal data."""


@dataclass(frozen=True)
class FieldView:
    """One field of the data on file: its label and value in words."""

    label: str
    value: str


@dataclass(frozen=True)
class RegistrationView:
    """A domain in a reminder: its names and expiry date."""

    name: str
    unicode_name: str
    expires_at: datetime | None


@dataclass(frozen=True)
class ReminderView:
    """A reminder as its mail shows it: what kind, and for the expiry ones the date."""

    kind: str
    period: str
    expires_at: datetime | None
    expired: bool
    #: False for a ccTLD domain: ICANN's policies do not cover it, its mail says so.
    gtld: bool
    #: The annual reminder: the registrant's domains outside the ccTLDs and their data on file.
    domains: tuple[RegistrationView, ...]
    data: tuple[FieldView, ...]


def reminder_of(session: Session, subject_ref: str | None) -> ReminderSent:
    """The reminder_sent row a notice is about (subject_ref RS-<id>)."""
    number = (subject_ref or "").removeprefix(REMINDER_REF)
    row = session.get(ReminderSent, int(number)) if number.isdigit() else None
    if row is None:
        raise ReminderMailError(f"reminder {subject_ref} not found")
    return row


def data_on_file(contact: Contact) -> tuple[FieldView, ...]:
    """The registrant's fields as stored, each with its label (empty ones shown as a dash)."""
    return tuple(
        FieldView(FIELDS_BY_NAME[name].label, shown(getattr(contact, name))) for name in DATA_FIELDS
    )


def _registration(domain: Domain) -> RegistrationView:
    expires = aware(domain.expires_at) if domain.expires_at else None
    return RegistrationView(domain.name, domain.unicode_name, expires)


def context(session: Session, notice: Notice) -> dict[str, Any]:
    """What a reminder template may use (nothing for other templates): `reminder`, `domain`."""
    if notice.template not in TEMPLATES:
        return {}
    row = reminder_of(session, notice.subject_ref)
    domain = session.get(Domain, row.domain_id)
    if domain is None:
        raise ReminderMailError(f"the domain of reminder {notice.subject_ref} does not exist")
    domains: tuple[RegistrationView, ...] = ()
    data: tuple[FieldView, ...] = ()
    if row.kind == ReminderKind.WDRP:
        contact = session.get(Contact, notice.contact_id) if notice.contact_id else None
        if contact is None or contact.account_id is None:
            raise ReminderMailError(f"the registrant of reminder {notice.subject_ref} is gone")
        found = gtld_registrant_domains(session, contact.id or 0, contact.account_id)
        domains = tuple(_registration(d) for d in found) or (_registration(domain),)
        data = data_on_file(contact)
    expires = aware(domain.expires_at) if domain.expires_at else None
    view = ReminderView(
        kind=row.kind,
        period=row.period,
        expires_at=expires,
        expired=row.kind == ReminderKind.EXPIRED,
        gtld=not is_cctld(domain.tld),
        domains=domains,
        data=data,
    )
    # The annual reminder is about all of the registrant's domains, not the one it is keyed on.
    shown_domain = None if row.kind == ReminderKind.WDRP else _registration(domain)
    return {"reminder": view, "domain": shown_domain}
