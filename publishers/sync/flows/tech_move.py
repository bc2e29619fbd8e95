"""`domain.tech_move`: the domain's technical contact moves to a new contact.

Commands: ``contact:create`` of the new contact (our deterministic handle, disclose flags from
the publication policy), one ``domain:update`` adding the new tech and removing the old, then
``domain:info`` to read it back. A 2302 on the create is ours when ``contact:info`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domains.models import Contact, OutboxEntry
from domains.store import DomainRecord
from domains.vocabulary import ContactRole, RegistryContactPolicy
from publishers.disclose import disclose_for
from publishers.epp.client.commands import domain_update
from publishers.epp.model import DomainInfo, DomainUpdate
from publishers.epp.session import AmbiguousOutcome
from publishers.passwords import DEFAULT_RULE
from publishers.sync.channel import RegistryChannel
from publishers.sync.contacts import contact_data, techs_of
from publishers.sync.jobs import Job, Preparation
from publishers.sync.outcomes import EXISTS_CODE, MISSING_CODE, Retry, classify


def _subject(entry: OutboxEntry) -> str:
    return str(entry.payload.get("domain"))


def prepare(preparation: Preparation, entries: Sequence[OutboxEntry]) -> list[Job]:
    """The moves' jobs: their domains (with holders) and new contacts read in a few queries."""
    names = {str(entry.payload.get("domain")) for entry in entries}
    handles = {str(entry.payload.get("new_tech")) for entry in entries}
    records = preparation.records(names)
    contacts = preparation.contacts(handles)
    return preparation.each(
        entries, lambda entry: _job(preparation, entry, records, contacts), _subject
    )


def _job(
    preparation: Preparation,
    entry: OutboxEntry,
    records: Mapping[str, DomainRecord],
    contacts: Mapping[str, Contact],
) -> Job:
    subject = _subject(entry)
    registry, policy, problem = preparation.registry(entry)
    if problem:
        return preparation.job(entry, subject, None, fail_reason=problem)
    payload = entry.payload
    record = records.get(str(payload.get("domain")))
    new = contacts.get(str(payload.get("new_tech")))
    if record is None or new is None:
        what = "domain" if record is None else "new technical contact"
        reason = f"the {what} is no longer in the store"
        return preparation.job(entry, subject, registry, fail_reason=reason)
    if policy.get(ContactRole.TECH) == RegistryContactPolicy.PROHIBITED:
        return preparation.job(
            entry,
            subject,
            registry,
            local_reason=f"the registry of .{entry.tld} takes no tech contacts (configured "
            "policy): kept locally, nothing sent",
        )
    held = record.contacts
    if held.get("tech") is None or held["tech"].handle != new.handle:
        # The store moved on since; the view is of the contact this entry moves in.
        record = DomainRecord(record.domain, record.account, {**held, "tech": new})
    view = preparation.view(record, policy)
    data = contact_data(new, rule=registry.contact_passwords if registry else DEFAULT_RULE)
    return preparation.job(
        entry, subject, registry, contact=data, disclose=disclose_for(view, "tech")
    )


def _moved(info: DomainInfo, old: str | None, new: str) -> bool:
    techs = techs_of(info)
    return new in techs and (old is None or old == new or old not in techs)


async def run(channel: RegistryChannel, job: Job, resume: bool) -> str | None:
    """Create the new contact, move the tech role, read it back; after a doubt, info first."""
    payload = job.payload
    name, old, new = str(payload["domain"]), payload.get("old_tech"), str(payload["new_tech"])
    current: DomainInfo | None = None
    note = None
    if resume:
        # A previous attempt may have done any part of this: learn the registry's state.
        current = await channel.domain_state()
        if _moved(current, old, new):
            return "already at the registry"
        known = await channel.contact_state() is not None
        if await channel.ensure_contact(known=known) == "exists":
            note = "contact already at the registry"
    elif await channel.ensure_contact(known=False) == "exists":
        note = "contact already at the registry (2302, ours)"

    pending = False
    for round_ in range(2):
        techs = techs_of(current) if current is not None else None
        add = () if techs is not None and new in techs else (("tech", new),)
        rem = (("tech", old),) if old and old != new and (techs is None or old in techs) else ()
        if not add and not rem:
            break
        change = DomainUpdate(name=name, add_contacts=add, rem_contacts=rem)

        def build(cltrid: str, update: DomainUpdate = change) -> bytes:
            return domain_update(update, cltrid=cltrid)

        try:
            response = await channel.send("domain:update", build)
        except AmbiguousOutcome:
            current = await channel.domain_state()
            if _moved(current, old, new):
                break
            if round_:
                raise Retry(f"domain:update of {name}: answer lost twice") from None
            continue
        if response.code in (EXISTS_CODE, MISSING_CODE) and current is None and not round_:
            # The registry's links are not what we thought: read them, then send only what
            # is still missing.
            current = await channel.domain_state()
            if _moved(current, old, new):
                break
            continue
        classify(response, f"domain:update {name}")
        pending = response.code == 1001
        break
    # Read it back.
    after = await channel.domain_state()
    if not _moved(after, old, new) and pending:
        # 1001: the registry accepted the change but applies it later (it will say so in
        # its poll queue); the read-back cannot show it yet.
        return "registry answered 1001: action pending"
    if not _moved(after, old, new):
        raise Retry(
            f"domain:info of {name} after the update shows tech "
            f"{', '.join(techs_of(after)) or 'none'}, not {new}"
        )
    return note
