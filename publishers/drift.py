"""The registry drift check (`interlink sync --reconcile`): every domain of the store asked of its
registry (domain:info, contact:info), each difference from what the store would send listed, and
the run kept in the store (`domains.drift`) for the Sync screen.

The comparison is `interlink registry show`'s (`registry_compare.compare`), plus what only a walk
meets: a domain the registry does not hold (2303) or that another registrar now sponsors (2201).
Each registry is asked over one session, no faster than its `commands_per_second`
(publishers/registries.py). Domains gone to another registrar (`domains.departures`) are skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from aiolimiter import AsyncLimiter
from sqlalchemy import select
from sqlmodel import col

from domains.drift import DriftRunView, Finding, save_run
from domains.models import Domain, utcnow
from domains.store import Store
from publishers.epp.client.commands import contact_info, domain_info, new_cltrid
from publishers.epp.model import ContactInfo, DomainInfo, Response
from publishers.epp.session import EppCommandError, EppSession, EppTransportError
from publishers.policy import build_view
from publishers.registries import Registry, RegistryMap, normalise_tld
from publishers.registry_compare import compare, registry_handles, store_intent

log = logging.getLogger(__name__)

CLTRID_PREFIX = "ILDRIFT"
PAGE = 500
MISSING, NOT_OURS = 2303, 2201
REGISTRY_SECTION = "registry"
"""The section of a finding that is no difference but an answer the walk could not use."""


class _Unusable(Exception):
    """The registry's answer about one domain cannot be compared (it is a finding itself)."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.field)
        self.finding = finding


@dataclass
class _Walk:
    """What a run has seen so far."""

    checked: int = 0
    errors: int = 0
    findings: list[Finding] = field(default_factory=list)


def _page(store: Store, tlds: list[str], after: str) -> list[str]:
    """The next names (after `after`, in name order) of the store's domains under `tlds` that
    are not gone."""
    with store.read() as session:
        return list(
            session.execute(
                select(col(Domain.name))
                .where(
                    col(Domain.tld).in_(tlds),
                    col(Domain.gone_at).is_(None),
                    col(Domain.name) > after,
                )
                .order_by(col(Domain.name))
                .limit(PAGE)
            ).scalars()
        )


async def _names(store: Store, tlds: list[str]) -> AsyncIterator[str]:
    after = ""
    while page := await asyncio.to_thread(_page, store, tlds, after):
        for name in page:
            yield name
        after = page[-1]


def _answer(response: Response) -> str:
    reasons = [reason for result in response.results for reason in result.reasons]
    text = f"EPP {response.code} {response.message}"
    return f"{text} ({'; '.join(reasons)})" if reasons else text


class _Asker:
    """One logged-in session to a registry, each command waiting for the registry's rate."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.limiter = AsyncLimiter(1, 1 / registry.commands_per_second)
        self.session: EppSession | None = None

    async def _open(self) -> EppSession:
        session = self.session
        if session is not None and not session.closed and session.logged_in:
            return session
        session = EppSession(self.registry.endpoint())
        await self.limiter.acquire()
        await session.connect()
        try:
            await self.limiter.acquire()
            await session.login()
        except BaseException:
            await session.close()
            raise
        self.session = session
        return session

    async def ask(self, build: Callable[[str], bytes]) -> Response:
        session = await self._open()
        await self.limiter.acquire()
        return await session.command(build, cltrid=new_cltrid(CLTRID_PREFIX))

    async def close(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        try:
            if session.logged_in:
                await session.logout()
        except (EppTransportError, EppCommandError):
            await session.close()


async def _domain(asker: _Asker, name: str, client_id: str) -> DomainInfo:
    response = await asker.ask(lambda cltrid: domain_info(name, cltrid=cltrid, hosts="del"))
    found = response.res_data.get("domain_info")
    if response.ok and isinstance(found, DomainInfo):
        return found
    if response.code == MISSING:
        raise _Unusable(Finding(name, "domain", "domain object", None, name))
    if response.code == NOT_OURS:
        raise _Unusable(
            Finding(name, "domain", "sponsoring client", "another registrar", client_id)
        )
    raise _Unusable(Finding(name, REGISTRY_SECTION, "domain:info", _answer(response), None))


async def _contact(
    asker: _Asker, name: str, handle: str, *, referenced: bool
) -> ContactInfo | None:
    response = await asker.ask(lambda cltrid: contact_info(handle, cltrid=cltrid))
    found = response.res_data.get("contact_info")
    if response.ok and isinstance(found, ContactInfo):
        return found
    if response.code == MISSING and not referenced:
        return None  # ours, not at the registry: compare() shows it as a difference
    what = f"contact:info {handle}"
    raise _Unusable(Finding(name, REGISTRY_SECTION, what, _answer(response), None))


async def _check(store: Store, registries: RegistryMap, asker: _Asker, name: str) -> list[Finding]:
    """The differences of one domain (empty: registry and store agree)."""
    record = await asyncio.to_thread(store.domain_record, name)
    config = registries.tld(record.domain.tld)
    registry = config.registry
    settings = store.settings
    view = build_view(
        record,
        profile=settings.publication_profile,
        registrar=settings.registrar,
        registry_policy=config.contacts,
    )
    intent = store_intent(record, view, registry.client_id)
    info = await _domain(asker, name, registry.client_id)
    referenced = [h for held in registry_handles(info).values() for h in held]
    contacts: dict[str, ContactInfo | None] = {}
    for handle in dict.fromkeys([*referenced, *intent.contacts]):
        contacts[handle] = await _contact(asker, name, handle, referenced=handle in referenced)
    comparison = compare(
        record,
        intent,
        info,
        contacts,
        registry=registry.name,
        address=f"{registry.host}:{registry.port}",
    )
    findings = []
    for index, section in enumerate(comparison.sections):
        # The domain object's values are registry data (handles, hosts, statuses); a contact's
        # are personal: only the field is named.
        public = index == 0
        for row in section.rows:
            if row.differs:
                findings.append(
                    Finding(
                        name,
                        "domain" if public else section.title,
                        row.field,
                        row.registry if public else None,
                        row.store if public else None,
                    )
                )
    return findings


async def _walk_registry(
    store: Store, registries: RegistryMap, registry: Registry, tlds: list[str], walk: _Walk
) -> None:
    asker = _Asker(registry)
    try:
        async for name in _names(store, tlds):
            walk.checked += 1
            try:
                walk.findings += await _check(store, registries, asker, name)
            except _Unusable as unusable:
                walk.findings.append(unusable.finding)
                if unusable.finding.section == REGISTRY_SECTION:
                    walk.errors += 1
            except EppCommandError as exc:
                walk.errors += 1
                walk.findings.append(
                    Finding(name, REGISTRY_SECTION, "login", f"EPP {exc.code} {exc.message}")
                )
            except EppTransportError as exc:
                walk.errors += 1
                walk.findings.append(
                    Finding(name, REGISTRY_SECTION, "connection", f"not reachable: {exc}")
                )
                await asker.close()
    finally:
        await asker.close()


async def reconcile(
    store: Store, registries: RegistryMap, *, actor: str, tld: str | None = None
) -> DriftRunView:
    """Walk the store's domains (of one TLD, or of every TLD a registry serves), compare each
    with its registry, and keep the run in the store in place of the last one; its view.

    UnknownTld when `tld` has no registry.
    """
    started = utcnow()
    if tld is not None:
        only = normalise_tld(tld)
        registries.tld(only)
        served = {only}
    else:
        served = set(registries.tlds)
    walk = _Walk()
    for registry in registries:
        tlds = sorted(t for t in served if registries.tlds[t].registry.name == registry.name)
        if tlds:
            await _walk_registry(store, registries, registry, tlds, walk)
    run = await asyncio.to_thread(
        lambda: save_run(
            store,
            actor=actor,
            started_at=started,
            finished_at=utcnow(),
            tld=normalise_tld(tld) if tld else None,
            domains_checked=walk.checked,
            errors=walk.errors,
            findings=walk.findings,
        )
    )
    log.info(
        "drift check: %d domains, %d differing, %d differences, %d errors",
        run.domains_checked,
        run.domains_differing,
        run.differences,
        run.errors,
    )
    return run


__all__ = ["REGISTRY_SECTION", "reconcile"]
