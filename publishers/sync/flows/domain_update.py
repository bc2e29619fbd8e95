"""`domain.update`: a domain's client statuses, name servers, DS records or registrant changed.

Command: one ``domain:update`` with only the parts of the entry: ``<domain:add>``/``<domain:rem>``
of client statuses and name servers, ``<domain:chg><domain:registrant>``, and the secDNS-1.1
extension (RFC 5910) adding and removing DS records (``<secDNS:rem><secDNS:all>`` when the
domain is left without any). Before it, the name servers the registry lacks are created as host
objects (RFC 5732; those under the domain itself with their glue), those under the domain that it
has (ours) get the entry's glue with ``host:update``, and a new registrant the registry lacks is
created as a contact. After it, the name servers removed that are under one of our domains and
that none of our domains uses any more are deleted (``host:delete``; one still linked at the
registry, 2305, is left and the note says so). After a doubt, ``domain:info`` first, and only
what is still missing is sent (nothing when the registry already matches).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from domains.models import Contact, OutboxEntry
from domains.store import DomainRecord
from domains.vocabulary import ContactRole, RegistryContactPolicy
from publishers.disclose import disclose_for
from publishers.epp.client.commands import domain_update
from publishers.epp.model import HOST_NS, SECDNS_NS, DomainInfo, DomainUpdate, DsData, HostAttr
from publishers.epp.session import AmbiguousOutcome
from publishers.sync.channel import RegistryChannel
from publishers.sync.contacts import contact_data
from publishers.sync.hosts import delete_hosts, ensure_hosts, glue_for
from publishers.sync.jobs import Job, Preparation
from publishers.sync.outcomes import (
    EXISTS_CODE,
    MISSING_CODE,
    POLICY_CODE,
    Permanent,
    Retry,
    classify,
)

STATUS_PROHIBITS_CODE = 2304
STALE_CODES = frozenset({EXISTS_CODE, MISSING_CODE, POLICY_CODE, STATUS_PROHIBITS_CODE})
"""Refusals that may only mean the registry is not as we thought (a status already set, a name
server already gone, a lock that is already on...): read the domain, then send what is still
missing (the refusal stands when that is all of it)."""


# ---------------------------------------------------------------- the change an entry asks for


def _pair(payload: Mapping[str, Any], key: str) -> tuple[list[Any], list[Any]]:
    part = payload.get(key)
    if part is None:
        return [], []
    if not isinstance(part, Mapping) or set(part) - {"add", "rem"}:
        raise ValueError(f'"{key}" must be {{"add": [...], "rem": [...]}}')
    add, rem = part.get("add") or [], part.get("rem") or []
    if not isinstance(add, list) or not isinstance(rem, list):
        raise ValueError(f'"{key}" add and rem must be lists')
    return add, rem


def _status(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("client"):
        raise ValueError(f"status {value!r} is not a client status")
    return value


def _host(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"name server {value!r} is not a host name")
    return value.strip().rstrip(".").lower()


def _ds(value: Any) -> DsData:
    if not isinstance(value, Mapping):
        raise ValueError(f"DS record {value!r} is not an object")
    numbers = []
    for key in ("key_tag", "alg", "digest_type"):
        number = value.get(key)
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValueError(f"DS {key} {number!r} is not a number")
        numbers.append(number)
    digest = value.get("digest")
    if not isinstance(digest, str):
        raise ValueError(f"DS digest {digest!r} is not hexadecimal text")
    key_tag, alg, digest_type = numbers
    return DsData(key_tag, alg, digest_type, digest)


@dataclass(frozen=True)
class Change:
    """What an entry asks of the registry (or what of it is still missing there)."""

    add_statuses: tuple[str, ...] = ()
    rem_statuses: tuple[str, ...] = ()
    add_ns: tuple[str, ...] = ()
    rem_ns: tuple[str, ...] = ()
    add_ds: tuple[DsData, ...] = ()
    rem_ds: tuple[DsData, ...] = ()
    registrant: str | None = None
    glue: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    rem_all_ds: bool = False
    """Remove every DS record the registry holds (the domain is left without any)."""

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> Change:
        """The change of an entry's payload; ValueError naming what is wrong in it."""
        add_s, rem_s = _pair(payload, "statuses")
        add_n, rem_n = _pair(payload, "ns")
        add_d, rem_d = _pair(payload, "ds")
        registrant = payload.get("registrant")
        after = None
        if registrant is not None:
            after = registrant.get("after") if isinstance(registrant, Mapping) else None
            if not isinstance(after, str) or not after.strip():
                raise ValueError('"registrant" must be {"before": handle, "after": handle}')
        hosts = payload.get("hosts") or {}
        if not isinstance(hosts, Mapping):
            raise ValueError('"hosts" must map name servers to their addresses')
        if not all(isinstance(addresses, list) for addresses in hosts.values()):
            raise ValueError('"hosts" must map each name server to a list of addresses')
        glue = {_host(name): tuple(map(str, addresses)) for name, addresses in hosts.items()}
        return cls(
            add_statuses=tuple(dict.fromkeys(map(_status, add_s))),
            rem_statuses=tuple(dict.fromkeys(map(_status, rem_s))),
            add_ns=tuple(dict.fromkeys(map(_host, add_n))),
            rem_ns=tuple(dict.fromkeys(map(_host, rem_n))),
            add_ds=tuple(dict.fromkeys(map(_ds, add_d))),
            rem_ds=tuple(dict.fromkeys(map(_ds, rem_d))),
            registrant=after.strip() if after else None,
            glue=glue,
        )

    def is_empty(self) -> bool:
        return self.registrant is None and not (
            self.rem_all_ds
            or self.add_statuses
            or self.rem_statuses
            or self.add_ns
            or self.rem_ns
            or self.add_ds
            or self.rem_ds
        )

    @property
    def has_ds(self) -> bool:
        return bool(self.add_ds or self.rem_ds or self.rem_all_ds)

    def emptying_ds(self) -> Change:
        """This change removing every DS record (rem all) instead of the ones it names."""
        if self.add_ds or not self.rem_ds:
            return self
        return replace(self, rem_ds=(), rem_all_ds=True)

    def still_missing(self, info: DomainInfo) -> Change:
        """The part of the change the registry's domain does not show yet."""
        statuses, ns, ds = set(info.statuses), {h.lower() for h in info.ns}, set(info.ds)
        return replace(
            self,
            add_statuses=tuple(s for s in self.add_statuses if s not in statuses),
            rem_statuses=tuple(s for s in self.rem_statuses if s in statuses),
            add_ns=tuple(h for h in self.add_ns if h not in ns),
            rem_ns=tuple(h for h in self.rem_ns if h in ns),
            add_ds=tuple(d for d in self.add_ds if d not in ds),
            rem_ds=tuple(d for d in self.rem_ds if d in ds),
            rem_all_ds=self.rem_all_ds and bool(ds),
            registrant=None if info.registrant == self.registrant else self.registrant,
        )

    def command(self, name: str, *, host_objects: bool) -> DomainUpdate:
        """The domain:update sending this change (name servers as objects or attributes)."""
        ns: dict[str, Any]
        if host_objects:
            ns = {"add_ns": self.add_ns, "rem_ns": self.rem_ns}
        else:
            ns = {
                "add_host_attrs": tuple(
                    HostAttr(h, glue_for(h, name, self.glue)) for h in self.add_ns
                ),
                "rem_host_attrs": tuple(HostAttr(h) for h in self.rem_ns),
            }
        return DomainUpdate(
            name=name,
            add_statuses=self.add_statuses,
            rem_statuses=self.rem_statuses,
            registrant=self.registrant,
            add_ds=self.add_ds,
            rem_ds=self.rem_ds,
            rem_all_ds=self.rem_all_ds,
            **ns,
        )


# ---------------------------------------------------------------- prepare


def _subject(entry: OutboxEntry) -> str:
    return str(entry.payload.get("domain"))


def _new_registrant(entry: OutboxEntry) -> str | None:
    registrant = entry.payload.get("registrant")
    return str(registrant.get("after")) if isinstance(registrant, Mapping) else None


def prepare(preparation: Preparation, entries: Sequence[OutboxEntry]) -> list[Job]:
    """The updates' jobs; for a registrant change, its domain and new contact (to create it
    at a registry that lacks it, with the disclose flags of the publication policy)."""
    changing = [entry for entry in entries if _new_registrant(entry)]
    records = preparation.records(_subject(entry) for entry in changing)
    contacts = preparation.contacts(str(_new_registrant(entry)) for entry in changing)
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
    if not isinstance(entry.payload.get("domain"), str):
        raise ValueError('the entry names no "domain"')
    change = Change.of(entry.payload)
    extra: dict[str, Any] = {}
    if change.rem_ns:
        extra["unused_hosts"] = preparation.unused_hosts(change.rem_ns)
    if change.rem_ds and not change.add_ds and not preparation.has_ds(subject):
        extra["ds_emptied"] = True
    handle = _new_registrant(entry)
    if handle is None:
        if change.is_empty():
            return preparation.job(entry, subject, registry, local_reason="nothing to send")
        return preparation.job(entry, subject, registry, **extra)
    if policy.get(ContactRole.REGISTRANT) == RegistryContactPolicy.PROHIBITED:
        reason = (
            f"the registry of .{entry.tld} takes no registrant (configured policy): "
            "kept locally, nothing sent"
        )
        if replace(change, registrant=None).is_empty():
            return preparation.job(entry, subject, registry, local_reason=reason)
        job = preparation.job(entry, subject, registry, **extra)
        payload = {k: v for k, v in job.payload.items() if k != "registrant"}
        return replace(job, payload=payload)
    record, new = records.get(subject), contacts.get(handle)
    if record is None or new is None:
        what = "domain" if record is None else f"new registrant {handle}"
        reason = f"the {what} is no longer in the store"
        return preparation.job(entry, subject, registry, fail_reason=reason)
    held = record.contacts
    if held.get("registrant") is None or held["registrant"].handle != new.handle:
        # The store moved on since; the view is of the contact this entry makes registrant.
        record = DomainRecord(record.domain, record.account, {**held, "registrant": new})
    view = preparation.view(record, policy)
    return preparation.job(
        entry,
        subject,
        registry,
        contact=contact_data(new),
        disclose=disclose_for(view, ContactRole.REGISTRANT),
        **extra,
    )


# ---------------------------------------------------------------- run


async def run(channel: RegistryChannel, job: Job, resume: bool) -> str | None:
    """Send what the entry changes (after a doubt: only what the registry does not show), then
    delete the host objects it left unused."""
    name = str(job.payload["domain"])
    change = Change.of(job.payload)
    greeting = await channel.greeting()
    if change.has_ds and SECDNS_NS not in greeting.ext_uris:
        raise Permanent(
            f"registry {channel.registry.name} does not offer secDNS-1.1 (RFC 5910), so the DS "
            f"records of {name} cannot be sent; nothing was sent"
        )
    if job.ds_emptied:
        change = change.emptying_ds()
    host_objects = HOST_NS in greeting.obj_uris
    notes = await _update(channel, name, change, resume, host_objects=host_objects)
    if host_objects and job.unused_hosts:
        notes += await delete_hosts(channel, job.unused_hosts)
    return "; ".join(notes) or None


async def _update(
    channel: RegistryChannel, name: str, change: Change, resume: bool, *, host_objects: bool
) -> list[str]:
    """The domain:update of change (and the hosts and contact it needs first); its notes."""
    notes: list[str] = []
    current: DomainInfo | None = None
    if resume:
        # A previous attempt may have done any part of this: learn the registry's state.
        current = await channel.domain_state()
        change = change.still_missing(current)
        if change.is_empty():
            return ["already at the registry"]
    contact_ready = hosts_ready = False
    pending = False
    for round_ in range(2):
        if change.registrant is not None and not contact_ready:
            if await channel.contact_state() is None:
                await channel.ensure_contact(known=False)
                notes.append(f"registrant {change.registrant} created at the registry")
            contact_ready = True
        if host_objects and change.add_ns and not hosts_ready:
            ready = await ensure_hosts(channel, name, change.add_ns, change.glue)
            if ready.created:
                notes.append(f"host objects created: {', '.join(ready.created)}")
            if ready.updated:
                notes.append(f"host addresses updated: {', '.join(ready.updated)}")
            notes += ready.notes
            hosts_ready = True
        update = change.command(name, host_objects=host_objects)

        def build(cltrid: str, update: DomainUpdate = update) -> bytes:
            return domain_update(update, cltrid=cltrid)

        try:
            response = await channel.send("domain:update", build)
        except AmbiguousOutcome:
            current = await channel.domain_state()
            change = change.still_missing(current)
            if change.is_empty():
                break
            if round_:
                raise Retry(f"domain:update of {name}: answer lost twice") from None
            continue
        if response.code in STALE_CODES and current is None and not round_:
            # The registry is not as we thought: read it, then send only what is missing.
            current = await channel.domain_state()
            rest = change.still_missing(current)
            if rest.is_empty():
                notes.append("already at the registry")
                break
            if rest != change:
                change = rest
                continue
        classify(response, f"domain:update {name}")
        pending = response.code == 1001
        break
    if pending:
        # 1001: accepted, applied later (the registry says so in its poll queue).
        notes.append("registry answered 1001: action pending")
    return notes
