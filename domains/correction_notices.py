"""What the mails of contact corrections read: their addresses, the change, its domains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from domains.contact_fields import FIELDS_BY_NAME
from domains.customer_models import EmailVerification, RegistrantChange, TransferLock
from domains.models import Contact, Domain, DomainContact, Notice
from domains.vocabulary import ContactRole

#: The notices of contact corrections, in the order they are sent.
TEMPLATES = (
    "email_verify",
    "registrant_change_confirm_prior",
    "registrant_change_confirm_new",
    "registrant_change_done",
    "registrant_change_refused",
    "registrant_change_expired",
)
#: The recipient kinds that name an address kept with the change (never in the notice row):
#: "new_email" the address being verified (or the new registrant's), "prior_email" the address
#: the registrant had on file when the change of registrant was asked for.
RECIPIENTS = ("new_email", "prior_email")
#: The mails whose link (made when they are queued, its token in memory only) they need.
NEEDS_LINK = {
    "email_verify": "verify_url",
    "registrant_change_confirm_prior": "decide_url",
    "registrant_change_confirm_new": "decide_url",
}
#: An e-mail verification's subject_ref is this prefix and its id.
VERIFICATION_REF = "EV-"


class CorrectionMailError(Exception):
    """A correction notice whose change or address is gone; the text holds no personal data."""


@dataclass(frozen=True)
class FieldChangeView:
    """One field of a change as a mail or a page shows it."""

    name: str
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class ChangeView:
    """A change of registrant as its mails show it."""

    reference: str
    state: str
    fields: tuple[FieldChangeView, ...]
    domains: tuple[str, ...]
    expires_at: datetime
    lock_until: datetime | None
    lock_opt_out: bool
    refused_by: str | None


@dataclass(frozen=True)
class VerificationView:
    """An e-mail verification as its mail shows it."""

    handle: str
    address: str
    expires_at: datetime


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def is_cctld(tld: str) -> bool:
    """True for a two-letter country-code TLD (outside ICANN's Transfer Policy part II)."""
    return len(tld) == 2 and tld.isascii() and tld.isalpha()


def gtld_registrant_domains(session: Session, contact_id: int, account_id: int) -> list[Domain]:
    """The account's domains outside the ccTLDs whose registrant is this contact, by name."""
    rows = session.execute(
        select(Domain)
        .join(DomainContact, col(DomainContact.domain_id) == col(Domain.id))
        .where(
            col(DomainContact.contact_id) == contact_id,
            col(DomainContact.role) == ContactRole.REGISTRANT,
            col(Domain.account_id) == account_id,
        )
        .order_by(col(Domain.name))
    ).scalars()
    return [domain for domain in rows if not is_cctld(domain.tld)]


def shown(value: Any) -> str:
    """A field value in words: street lines joined, nothing as a dash."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value if v) or "-"
    return "-" if value in (None, "") else str(value)


def field_changes(changes: dict[str, Any]) -> tuple[FieldChangeView, ...]:
    """A change's fields (audit.diff form), in the order of the contact-field table."""
    return tuple(
        FieldChangeView(name, row.label, shown(change["before"]), shown(change["after"]))
        for name, row in FIELDS_BY_NAME.items()
        if (change := changes.get(name)) is not None
    )


def change_of(session: Session, reference: str | None) -> RegistrantChange:
    """The change of registrant a notice is about."""
    change = session.execute(
        select(RegistrantChange).where(col(RegistrantChange.reference) == (reference or ""))
    ).scalar()
    if change is None:
        raise CorrectionMailError(f"change of registrant {reference} not found")
    return change


def verification_of(session: Session, subject_ref: str | None) -> EmailVerification:
    """The e-mail verification a notice is about (subject_ref EV-<id>)."""
    number = (subject_ref or "").removeprefix(VERIFICATION_REF)
    verification = session.get(EmailVerification, int(number)) if number.isdigit() else None
    if verification is None:
        raise CorrectionMailError(f"e-mail verification {subject_ref} not found")
    return verification


def lock_until(session: Session, reference: str) -> datetime | None:
    """The latest transfer lock a change of registrant set, if any."""
    until = session.execute(
        select(func.max(col(TransferLock.until))).where(col(TransferLock.change_ref) == reference)
    ).scalar()
    return aware(until) if until else None


def change_view(session: Session, change: RegistrantChange) -> ChangeView:
    """A change of registrant with its domains (read now) and the lock it set."""
    domains = gtld_registrant_domains(session, change.contact_id, change.account_id)
    return ChangeView(
        reference=change.reference,
        state=change.state,
        fields=field_changes(change.changes),
        domains=tuple(d.unicode_name for d in domains),
        expires_at=aware(change.expires_at),
        lock_until=lock_until(session, change.reference),
        lock_opt_out=change.lock_opt_out,
        refused_by=change.refused_by,
    )


def address(session: Session, notice: Notice) -> tuple[str, str]:
    """(name, address) of a notice to a new_email or prior_email recipient."""
    contact = session.get(Contact, notice.contact_id) if notice.contact_id else None
    name = contact.name if contact else ""
    if notice.template == "email_verify":
        verification = verification_of(session, notice.subject_ref)
        return name, verification.new_email
    change = change_of(session, notice.subject_ref)
    if notice.recipient == "prior_email":
        return name, change.prior_email
    new_name = (change.changes.get("name") or {}).get("after")
    return new_name or name, change.new_email


def context(session: Session, notice: Notice) -> dict[str, Any]:
    """What a correction template may use (nothing for other templates).

    The links (`verify_url`, `decide_url`) hold a token that lives only in memory: the caller
    passes them, and a template that needs one fails to render without it.
    """
    if notice.template not in TEMPLATES:
        return {}
    values: dict[str, Any] = {
        "change": None,
        "verification": None,
        "party": "new" if notice.recipient == "new_email" else "prior",
    }
    if notice.template == "email_verify":
        verification = verification_of(session, notice.subject_ref)
        contact = session.get(Contact, verification.contact_id)
        values["verification"] = VerificationView(
            handle=contact.handle if contact else "",
            address=verification.new_email,
            expires_at=aware(verification.expires_at),
        )
    else:
        values["change"] = change_view(session, change_of(session, notice.subject_ref))
    return values
