"""`contact.update`: a contact's details changed; the registry gets only what changed.

What changed is the entry's payload ``fields``: the store fields the edit changed, written by
the store in the edit's own transaction (``Store.update_contact``). It is durable the moment the
edit is, and every attempt of the entry, after any crash of the worker, the database or the
connection, reads the same list, so this is the crash-safe meaning of "changed". A diff against
a ``contact:info`` read before the update is not: it is whatever differs at the moment of each
attempt, and the registry keeps values its own way (case, spacing, the form of a phone number),
so it may hold a name or organisation that nobody changed, which some ccTLD registries take as a
change of holder; and an info read before a crash says nothing about what the lost attempt did.

The command is one ``contact:update`` (one EPP contact object serves every role the contact
holds there) whose ``<contact:chg>`` holds, for the fields changed: the name, the org, or the
whole addr (street, city, state, postal code, country) in each postalInfo type the registry
holds (a change of the stored ASCII form, ``ascii_postal``, is one of name, org and addr of the
"int" postalInfo); voice or fax with its extension, empty only when the number was removed; the
e-mail. The disclose flags go whenever they differ from the registry's: they come from the
publication policy (consent, kind, roles), not from one stored field.

A ``contact:info`` comes first. It only ever narrows the change, never widens it: an element
that already holds our value is left out (so after a doubt nothing is sent twice, and nothing at
all when everything is there). It also says which postalInfo types the registry holds: a "loc"
one follows every change, also once the data became ASCII (EPP cannot remove a postalInfo), and
when the data became non-ASCII the new "loc" one is sent whole beside the "int" one. A registry
without the contact gets it created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from domains.models import Account, Contact, Domain, DomainContact, OutboxEntry
from domains.store import DomainRecord
from domains.vocabulary import RegistryContactPolicy
from publishers.disclose import disclose_for
from publishers.epp.client.commands import contact_update
from publishers.epp.model import (
    ContactChange,
    ContactData,
    ContactInfo,
    ContactUpdate,
    Disclose,
    PostalChange,
)
from publishers.epp.session import AmbiguousOutcome
from publishers.passwords import DEFAULT_RULE
from publishers.sync.channel import RegistryChannel
from publishers.sync.contacts import ALL_PUBLIC, contact_data, same_address, wanted_forms
from publishers.sync.jobs import Job, Preparation
from publishers.sync.outcomes import MISSING_CODE, Retry, classify

ELEMENTS = {
    "name": "name",
    "org": "org",
    "street": "addr",
    "city": "addr",
    "state": "addr",
    "postal_code": "addr",
    "country": "addr",
    "voice": "voice",
    "voice_ext": "voice",
    "fax": "fax",
    "fax_ext": "fax",
    "email": "email",
}
"""The <contact:chg> element that carries each store field (others, such as consent, are only
seen through the disclose flags)."""
POSTAL_ELEMENTS = frozenset(("name", "org", "addr"))
"""The elements the stored ASCII form (ascii_postal) changes: those of the "int" postalInfo."""


def changed_elements(payload: Mapping[str, Any]) -> frozenset[str]:
    """The chg elements of the fields the payload names (all of them for an entry without its
    list of fields)."""
    fields = payload.get("fields")
    if not isinstance(fields, list):
        return frozenset(ELEMENTS.values())
    elements = frozenset(ELEMENTS[field] for field in fields if field in ELEMENTS)
    return elements | POSTAL_ELEMENTS if "ascii_postal" in fields else elements


def needed_change(
    data: ContactData, disclose: Disclose | None, elements: frozenset[str], held: ContactInfo
) -> ContactChange | None:
    """The chg that brings the registry's contact (`held`) to data for the changed `elements`
    and the disclose flags; None when it holds all of them already."""
    postal = []
    forms = wanted_forms(data, held)
    for kind, want in forms.items():
        have = held.postal(kind)
        if have is None:
            if elements & {"name", "org", "addr"}:
                # A postalInfo type the registry lacks (the data became non-ASCII): whole.
                postal.append(PostalChange(type=kind, name=want.name, org=want.org, addr=want.addr))
            continue
        partial = PostalChange(
            type=kind,
            name=want.name if "name" in elements and have.name != want.name else None,
            org=(want.org or "")
            if "org" in elements and (have.org or None) != (want.org or None)
            else None,
            addr=want.addr
            if "addr" in elements and not same_address(have.addr, want.addr)
            else None,
        )
        if not partial.is_empty():
            postal.append(partial)
    phones: dict[str, Any] = {}
    for phone in ("voice", "fax"):
        number, ext = getattr(data, phone), getattr(data, f"{phone}_ext")
        same = (getattr(held, phone) or None) == (number or None) and (
            getattr(held, f"{phone}_ext") or None
        ) == (ext or None)
        if phone in elements and not same:
            # "" (an empty element) only here: the number is being removed.
            phones[phone], phones[f"{phone}_ext"] = number or "", ext if number else None
    email = data.email if "email" in elements and held.email != data.email else None
    flags = disclose if disclose is not None and (held.disclose or ALL_PUBLIC) != disclose else None
    change = ContactChange(
        postal=tuple(postal),
        email=email,
        disclose=flags,
        disclose_types=tuple(forms),
        **phones,
    )
    return None if change.is_empty() else change


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
        contact=contact_data(
            contact, rule=registry.contact_passwords if registry else DEFAULT_RULE
        ),
        disclose=disclose_for(view, sent[0]),
    )


async def run(channel: RegistryChannel, job: Job, resume: bool) -> str | None:
    """Send the registry what changed and it does not hold yet (see the module's docstring)."""
    assert job.contact is not None
    data, disclose = job.contact, job.disclose
    elements = changed_elements(job.payload)
    state = await channel.contact_state()
    if state is None:
        await channel.ensure_contact(known=False)
        return "created at the registry"
    change = needed_change(data, disclose, elements, state)
    if change is None:
        return "already at the registry"
    edit = ContactUpdate(handle=data.handle, change=change)
    try:
        response = await channel.send("contact:update", lambda c: contact_update(edit, cltrid=c))
    except AmbiguousOutcome:
        state = await channel.contact_state()
        if state is not None and needed_change(data, disclose, elements, state) is None:
            return None
        raise Retry(f"contact:update of {data.handle}: answer lost") from None
    if response.code == MISSING_CODE:
        await channel.ensure_contact(known=False)
        return "created at the registry (it had no such contact)"
    classify(response, f"contact:update {data.handle}")
    return None
