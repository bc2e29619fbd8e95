"""A claimed outbox entry made ready for the registry (`Job`), what preparing one may read
(`Preparation`), and what every outbox kind provides (`Flow`; the kinds are in `flows/`)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import String, cast, select
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from domains.models import Account, Contact, Domain, DomainContact, DsRecord, OutboxEntry
from domains.settings import Settings
from domains.store import DomainRecord
from publishers.epp.model import ContactData, Disclose
from publishers.policy import PublicationView, build_view
from publishers.profiles import Publications
from publishers.registries import Registry, RegistryMap, UnknownTld
from publishers.sync.outcomes import where

if TYPE_CHECKING:
    from publishers.sync.channel import RegistryChannel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A claimed entry with everything its EPP commands need, read from the store at claim."""

    entry_id: int
    kind: str
    tld: str
    subject: str
    """The domain name or contact handle (no personal data): what logs and audit events name."""
    attempts: int
    payload: Mapping[str, Any]
    registry: Registry | None
    claimed_at: datetime | None = None
    contact: ContactData | None = None
    """The contact to create (tech move, new registrant) or update (contact edit)."""
    disclose: Disclose | None = None
    local_reason: str | None = None
    """Set when the registry's configured policy keeps this change local: nothing is sent."""
    fail_reason: str | None = None
    """Set when the store cannot make this entry into commands (e.g. no registry for the TLD)."""
    skip_reason: str | None = None
    """Set when the entry is not to be sent at all (its domain was transferred away)."""
    unused_hosts: tuple[str, ...] = ()
    """Name servers the change removes that are under one of our domains and that none of our
    domains uses any more (the store says so at claim): deleted at the registry afterwards."""
    ds_emptied: bool = False
    """The change leaves the domain without DS records (in the store): removed with rem all."""

    @property
    def request_ref(self) -> str | None:
        return self.payload.get("request")

    @property
    def cltrid_prefix(self) -> str:
        return f"ILS{self.entry_id}"


class Flow(Protocol):
    """One outbox kind (a module of `publishers.sync.flows`, listed in its `FLOWS`).

    `prepare` makes the claimed entries of the kind into jobs inside the claim's transaction
    (all of them at once, so that it can read what they need in a few queries; an entry that
    cannot be prepared becomes a failed job, see `Preparation.each`). `run` sends one job's
    commands through `channel` and returns a note for staff (None: nothing to say), or raises
    `Retry`, `Permanent` or `LocalOnly` (`publishers.sync.outcomes`). `resume` is True when an
    earlier attempt may have done any part of the job: run then learns the registry's state
    with info before it sends anything.
    """

    def prepare(self, preparation: Preparation, entries: Sequence[OutboxEntry]) -> list[Job]: ...

    async def run(self, channel: RegistryChannel, job: Job, resume: bool) -> str | None: ...


@dataclass(frozen=True)
class Preparation:
    """What preparing a claim's entries may read: the claim's session (its transaction), the
    registries (which one serves a TLD, and its contact policy) and the settings."""

    session: Session
    registries: RegistryMap
    settings: Settings

    def registry(self, entry: OutboxEntry) -> tuple[Registry | None, Mapping[str, str], str | None]:
        """The entry's registry, its contact policy, and a problem (no registry for the TLD)."""
        try:
            config = self.registries.tld(entry.tld)
        except UnknownTld as exc:
            return None, {}, str(exc)
        return config.registry, config.contacts, None

    @functools.cached_property
    def publications(self) -> Publications:
        """Each TLD's publication profile, from the registries (the EPP disclose flags)."""
        return self.registries.publications(self.settings.publication_profile)

    def records(self, names: Iterable[str]) -> dict[str, DomainRecord]:
        """The named domains with their accounts and role holders, by name (a few queries)."""
        session = self.session
        names = set(names)
        if not names:
            return {}
        domains = list(session.execute(select(Domain).where(col(Domain.name).in_(names))).scalars())
        if not domains:
            return {}
        ids = [d.id for d in domains]
        accounts = {
            a.id: a
            for a in session.execute(
                select(Account).where(col(Account.id).in_({d.account_id for d in domains}))
            ).scalars()
        }
        holders: dict[int | None, dict[str, Contact]] = {}
        for domain_id, role, contact in session.execute(
            select(col(DomainContact.domain_id), col(DomainContact.role), Contact)
            .join(Contact, col(Contact.id) == col(DomainContact.contact_id))
            .where(col(DomainContact.domain_id).in_(ids))
        ).all():
            holders.setdefault(domain_id, {})[role] = contact
        return {
            d.name: DomainRecord(
                domain=d,
                account=accounts.get(d.account_id),  # type: ignore[arg-type]  # foreign key
                contacts=holders.get(d.id, {}),
            )
            for d in domains
        }

    def contacts(self, handles: Iterable[str]) -> dict[str, Contact]:
        """The contacts of the given handles, by handle (one query)."""
        handles = set(handles)
        if not handles:
            return {}
        found = self.session.execute(select(Contact).where(col(Contact.handle).in_(handles)))
        return {contact.handle: contact for contact in found.scalars()}

    def unused_hosts(self, hosts: Iterable[str]) -> tuple[str, ...]:
        """The hosts under one of our domains (not gone) that none of our domains (not gone)
        names as a name server (a few queries)."""
        hosts = list(dict.fromkeys(hosts))
        if not hosts:
            return ()
        session = self.session
        parents = {
            ".".join(labels[i:]): host
            for host in hosts
            for labels in (host.split("."),)
            for i in range(1, len(labels) - 1)
        }
        ours = set(
            session.execute(
                select(col(Domain.name)).where(
                    col(Domain.name).in_(parents), col(Domain.gone_at).is_(None)
                )
            ).scalars()
        )
        under_ours = [h for h in hosts if any(parents.get(p) == h for p in ours)]
        unused = []
        for host in under_ours:
            # The JSON text holds the name quoted; the list itself says whether it is there.
            users = session.execute(
                select(col(Domain.nameservers)).where(
                    cast(col(Domain.nameservers), String).like(f'%"{host}"%'),
                    col(Domain.gone_at).is_(None),
                )
            ).scalars()
            if not any(host in (ns or ()) for ns in users):
                unused.append(host)
        return tuple(unused)

    def has_ds(self, domain_name: str) -> bool:
        """Whether the store holds DS records of the domain."""
        found = self.session.execute(
            select(col(DsRecord.id))
            .join(Domain, col(Domain.id) == col(DsRecord.domain_id))
            .where(col(Domain.name) == domain_name)
            .limit(1)
        ).first()
        return found is not None

    def view(self, record: DomainRecord, policy: Mapping[str, str]) -> PublicationView:
        """The publication view of record under a registry's contact policy."""
        settings = self.settings
        return build_view(
            record,
            profile=self.publications,
            registrar=settings.registrar,
            registry_policy=policy,
        )

    @staticmethod
    def job(entry: OutboxEntry, subject: str, registry: Registry | None, **extra: Any) -> Job:
        assert entry.id is not None
        return Job(
            entry_id=entry.id,
            kind=entry.kind,
            tld=entry.tld,
            subject=subject,
            attempts=entry.attempts,
            claimed_at=entry.claimed_at,
            payload=dict(entry.payload),
            registry=registry,
            **extra,
        )

    def each(
        self,
        entries: Sequence[OutboxEntry],
        make: Callable[[OutboxEntry], Job],
        subject: Callable[[OutboxEntry], str],
    ) -> list[Job]:
        """make(entry) for every entry; an entry that cannot be prepared becomes a failed job
        (a broken entry must not stop the others), a database error fails the whole claim."""
        jobs = []
        for entry in entries:
            try:
                jobs.append(make(entry))
            except DBAPIError:
                raise  # the database failed, not the entry: the whole claim is tried again
            except Exception as exc:
                log.error("outbox entry %s cannot be prepared: %s", entry.id, where(exc))
                reason = f"cannot prepare the entry: {exc}"
                jobs.append(self.job(entry, subject(entry), None, fail_reason=reason))
        return jobs


__all__ = ["Flow", "Job", "Preparation"]
