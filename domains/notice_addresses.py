"""Where an essential notice may go: the recipient's addresses on file, the first not failing."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlmodel import Session, col

from domains import address_failures
from domains.mail_compose import NoticeError, Recipient
from domains.models import Contact, Domain, DomainContact
from domains.vocabulary import ContactRole


def recipient_addresses(session: Session, recipient: Recipient) -> list[str]:
    """Where an essential notice may go, in order: the recipient's own address, then for a
    customer the account's e-mail, then the registrant e-mail of the account's domains."""
    addresses = [recipient.address]
    account = recipient.account
    if account is not None:
        addresses.append(account.email)
        addresses += session.execute(
            select(col(Contact.email))
            .join(DomainContact, col(DomainContact.contact_id) == col(Contact.id))
            .join(Domain, col(Domain.id) == col(DomainContact.domain_id))
            .where(
                col(Domain.account_id) == account.id,
                col(DomainContact.role) == ContactRole.REGISTRANT,
            )
            .order_by(col(Domain.name))
        ).scalars()
    seen: set[str] = set()
    ordered = []
    for address in addresses:
        if address and address_failures.normal(address) not in seen:
            seen.add(address_failures.normal(address))
            ordered.append(address)
    return ordered


def reachable(session: Session, recipient: Recipient, *, redirect: bool = True) -> Recipient:
    """The recipient, at the first of `recipient_addresses` that is not failing (only its own
    address when the mail may not be redirected)."""
    addresses = recipient_addresses(session, recipient)
    bad = address_failures.failing_in(session, addresses)
    if recipient.address not in bad:
        return recipient
    if not redirect:
        raise NoticeError(
            "the address on file is failing, and this mail holds a link meant for that address "
            "only (see the Account screen)"
        )
    for address in addresses:
        if address not in bad:
            return replace(recipient, address=address)
    raise NoticeError("every address on file for this notice is failing (see the Account screen)")
