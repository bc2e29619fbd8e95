"""The registries' poll queues (RFC 5730 section 2.9.2.3): the worker reads each message, acts
on it, and only then acknowledges it, so a message is never lost to a crash in between.

A transfer approved away from us (RFC 5731 trnData: serverApproved or clientApproved, the
requesting registrar not us) marks the domain gone from Interlink (`domains.departures`): the
date kept and audited, and the domain out of the public answers. Other messages are
acknowledged after they are logged by kind (a poll message may name a contact: never its text).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from domains.departures import mark_gone
from domains.errors import NotFound
from domains.store import Store
from publishers.epp.client.commands import new_cltrid, poll_ack, poll_request
from publishers.epp.model import DomainTransfer
from publishers.epp.session import EppCommandError, EppSession, EppTransportError, ServiceMissing
from publishers.registries import Registry, RegistryConfigError, RegistryMap
from publishers.sync.pool import RegistryPools
from publishers.sync.record import ACTOR
from publishers.sync.report import SyncReport

log = logging.getLogger(__name__)

CLTRID_PREFIX = "ILPOLL"
MAX_MESSAGES = 1000
"""Messages read from one registry in one pass at most (the rest wait for the next)."""

Database = Callable[..., Awaitable[Any]]


class PollReader:
    """Reads, acts on and acknowledges every registry's poll messages; `db` runs store work on
    the worker's database thread (`loop.DatabaseThread`)."""

    def __init__(
        self, store: Store, registries: RegistryMap, pools: RegistryPools, db: Database
    ) -> None:
        self.store = store
        self.registries = registries
        self.pools = pools
        self.db = db

    async def drain(self, report: SyncReport) -> None:
        """One pass over every registry's queue; a registry that cannot be asked is logged and
        left for the next pass (never raises for it)."""
        for registry in self.registries:
            try:
                await self._drain(registry, report)
            except EppCommandError as exc:
                self.pools.warn_once(registry, "registry %s refused our login: EPP %s", exc.code)
            except ServiceMissing as exc:  # the entries' flows say so too, on each entry
                self.pools.warn_once(registry, "registry %s cannot be polled: %s", str(exc))
            except (EppTransportError, RegistryConfigError, OSError) as exc:
                log.warning("poll of registry %s failed: %s", registry.name, type(exc).__name__)

    async def _drain(self, registry: Registry, report: SyncReport) -> None:
        async with self.pools.get(registry).session() as session:
            for _ in range(MAX_MESSAGES):
                response = await session.command(
                    lambda cltrid: poll_request(cltrid=cltrid), cltrid=new_cltrid(CLTRID_PREFIX)
                )
                if response.code == 1300:
                    return
                queue = response.msgq
                if response.code != 1301 or queue is None or not queue.id:
                    log.warning("poll of registry %s answered EPP %s", registry.name, response.code)
                    return
                transfer = response.res_data.get("domain_transfer")
                if isinstance(transfer, DomainTransfer):
                    await self._transfer(registry, transfer, response.svtrid, report)
                else:
                    log.info("registry %s: poll message %s acknowledged", registry.name, queue.id)
                if not await self._ack(session, registry, queue.id):
                    return
                report.poll_messages += 1

    async def _transfer(
        self, registry: Registry, transfer: DomainTransfer, svtrid: str, report: SyncReport
    ) -> None:
        if not transfer.approved or transfer.re_id == registry.client_id:
            log.info(
                "registry %s: transfer of %s %s", registry.name, transfer.name, transfer.status
            )
            return
        try:
            departure = await self.db(self._mark_gone, transfer, svtrid)
        except NotFound:
            log.info(
                "registry %s: %s transferred away, not in the store", registry.name, transfer.name
            )
            return
        if departure.marked:
            report.domains_gone += 1
            log.info(
                "registry %s: %s transferred to %s, marked gone",
                registry.name,
                transfer.name,
                transfer.re_id,
            )

    def _mark_gone(self, transfer: DomainTransfer, svtrid: str) -> Any:
        return mark_gone(
            self.store,
            transfer.name.lower(),
            actor=ACTOR,
            at=transfer.ac_date,
            gaining=transfer.re_id,
            svtrid=svtrid,
        )

    async def _ack(self, session: EppSession, registry: Registry, msg_id: str) -> bool:
        response = await session.command(
            lambda cltrid: poll_ack(msg_id, cltrid=cltrid), cltrid=new_cltrid(CLTRID_PREFIX)
        )
        if not response.ok:
            log.warning(
                "registry %s: ack of poll message %s answered EPP %s",
                registry.name,
                msg_id,
                response.code,
            )
        return response.ok


__all__ = ["PollReader"]
