"""`contact.update`: a contact's details changed.

Command: ``contact:update`` with every item and the disclose flags (one EPP contact object serves
every role the contact holds under the registry). A registry that has no such contact gets it
created; after a doubt, ``contact:info`` first, and nothing is sent when it already matches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import col

from domains.models import Account, Contact, Domain, DomainContact, OutboxEntry
from domains.store import DomainRecord
from domains.vocabulary import RegistryContactPolicy
from publishers.disclose import disclose_for
from publishers.epp.client.commands import contact_update
from publishers.epp.model import ContactChange, ContactUpdate
from publishers.epp.session import AmbiguousOutcome
from publishers.sync.channel import RegistryChannel
from publishers.sync.contacts import contact_data, matches
from publishers.sync.jobs import Job, Preparation
from publishers.sync.outcomes import MISSING_CODE, Retry, classify


def _subject(entry: OutboxEntry) -> str:
    return str(entry.payload.get("handle"))


def prepare(preparation: Preparation, entries: Sequence[OutboxEntry]) -> list[Job]:
    """The edits' jobs, one entry at a time."""
    return preparation.each(entries, lambda entry: _job(preparation, entry), _subject)


def _job(preparation: Preparation, entry: OutboxEntry) -> Job:
    session = preparation.session
    subject = _subject(entry)
    registry, policy, problem = preparation.registry(entry)
    if problem:
        return preparation.job(entry, subject, None, fail_reason=problem)
    handle = str(entry.payload.get("handle"))
    contact = session.execute(select(Contact).where(col(Contact.handle) == handle)).scalar()
    if contact is None:
        reason = "the contact is no longer in the store"
        return preparation.job(entry, subject, registry, fail_reason=reason)
    roles = sorted(
        set(
            session.execute(
                select(col(DomainContact.role))
                .join(Domain, col(Domain.id) == col(DomainContact.domain_id))
                .where(col(DomainContact.contact_id) == contact.id, col(Domain.tld) == entry.tld)
                .distinct()
            ).scalars()
        )
    )
    sent = [role for role in roles if policy.get(role) != RegistryContactPolicy.PROHIBITED]
    if not sent:
        reason = (
            f"the contact holds no role on a .{entry.tld} domain any more"
            if not roles
            else f"the registry of .{entry.tld} takes no {'/'.join(roles)} contacts "
            "(configured policy): kept locally, nothing sent"
        )
        return preparation.job(entry, subject, registry, local_reason=reason)
    domain = session.execute(
        select(Domain)
        .join(DomainContact, col(DomainContact.domain_id) == col(Domain.id))
        .where(col(DomainContact.contact_id) == contact.id, col(Domain.tld) == entry.tld)
        .limit(1)
    ).scalar_one()
    account = session.get(Account, domain.account_id)
    # One EPP contact object serves every role the contact holds under this registry: put
    # it in all of them, so the disclose flags keep private what any of them keeps private.
    record = DomainRecord(domain, account, {role: contact for role in roles})  # type: ignore[arg-type]
    view = preparation.view(record, policy)
    return preparation.job(
        entry,
        subject,
        registry,
        contact=contact_data(contact),
        disclose=disclose_for(view, sent[0]),
    )


async def run(channel: RegistryChannel, job: Job, resume: bool) -> str | None:
    """Update the registry's copy of the contact (after a doubt: only when it differs)."""
    assert job.contact is not None
    data, disclose = job.contact, job.disclose
    if resume:
        state = await channel.contact_state()
        if state is None:
            await channel.ensure_contact(known=False)
            return "created at the registry"
        if matches(state, data, disclose):
            return "already at the registry"
    change = dataclasses.replace(ContactChange.from_contact(data, disclose), auth_info=None)
    edit = ContactUpdate(handle=data.handle, change=change)
    try:
        response = await channel.send("contact:update", lambda c: contact_update(edit, cltrid=c))
    except AmbiguousOutcome:
        state = await channel.contact_state()
        if state is not None and matches(state, data, disclose):
            return None
        raise Retry(f"contact:update of {data.handle}: answer lost") from None
    if response.code == MISSING_CODE:
        await channel.ensure_contact(known=False)
        return "created at the registry (it had no such contact)"
    classify(response, f"contact:update {data.handle}")
    return None
