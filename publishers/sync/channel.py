"""One job's channel to its registry: each command on a pooled session, logged with its
clTRID (naming the entry) and svTRID, and the questions every flow asks (`info`) before it
sends anything again after a doubt."""

from __future__ import annotations

import logging
from collections.abc import Callable

from publishers.epp.client.commands import contact_create, contact_info, domain_info, new_cltrid
from publishers.epp.model import ContactInfo, DomainInfo, Greeting, Response
from publishers.epp.session import (
    AmbiguousOutcome,
    ClientCertificateRefused,
    EppCommandError,
    EppTransportError,
    ServiceMissing,
)
from publishers.registries import Registry, RegistryConfigError
from publishers.sync.jobs import Job
from publishers.sync.outcomes import EXISTS_CODE, MISSING_CODE, Permanent, Retry, classify
from publishers.sync.pool import RegistryPools
from publishers.sync.report import Sent

log = logging.getLogger(__name__)


class RegistryChannel:
    """Sends the commands of `job` on the registry's pooled sessions; every command goes into
    `sent` (the entry's audit event lists them)."""

    def __init__(self, pools: RegistryPools, job: Job, sent: list[Sent]) -> None:
        self.pools = pools
        self.job = job
        self.sent = sent

    @property
    def registry(self) -> Registry:
        assert self.job.registry is not None
        return self.job.registry

    async def send(self, verb: str, build: Callable[[str], bytes]) -> Response:
        """One command on a pooled session; Retry on trouble before sending, AmbiguousOutcome
        (to be resolved with info) when the command left but no answer came."""
        job, registry = self.job, self.registry
        cltrid = new_cltrid(job.cltrid_prefix)
        try:
            pool = self.pools.get(registry)
            async with pool.session() as session:
                response = await session.command(build, cltrid=cltrid)
        except AmbiguousOutcome:
            self.sent.append(Sent(verb, cltrid, None, None))
            log.info("entry %s: %s %s sent, answer lost", job.entry_id, verb, cltrid)
            raise
        except EppCommandError as exc:
            self.pools.warn_once(registry, "registry %s refused our login: EPP %s", exc.code)
            raise Retry(
                f"login to registry {registry.name} failed: {exc.code} {exc.message}", exc.code
            ) from exc
        except (ClientCertificateRefused, ServiceMissing) as exc:
            # Ours to mend (the registries file) or the registry's: said once, tried later.
            self.pools.warn_once(registry, "registry %s cannot be used: %s", exc)
            raise Retry(f"registry {registry.name}: {exc}") from exc
        except EppTransportError as exc:
            raise Retry(f"registry {registry.name} unreachable: {exc}") from exc
        except RegistryConfigError as exc:
            self.pools.warn_once(registry, "registry %s cannot be used: %s", exc)
            raise Retry(str(exc)) from exc
        self.sent.append(Sent(verb, cltrid, response.svtrid, response.code))
        log.debug("entry %s: %s %s -> %s", job.entry_id, verb, cltrid, response.code)
        return response

    async def greeting(self) -> Greeting:
        """The registry's greeting (its object services and extensions), from the pool's
        sessions; a session is opened for it when none has been yet (Retry on trouble)."""
        registry = self.registry
        try:
            pool = self.pools.get(registry)
            if pool.greeting is None:
                async with pool.session():
                    pass
        except EppCommandError as exc:
            self.pools.warn_once(registry, "registry %s refused our login: EPP %s", exc.code)
            raise Retry(
                f"login to registry {registry.name} failed: {exc.code} {exc.message}", exc.code
            ) from exc
        except EppTransportError as exc:
            raise Retry(f"registry {registry.name} unreachable: {exc}") from exc
        except RegistryConfigError as exc:
            self.pools.warn_once(registry, "registry %s cannot be used: %s", exc)
            raise Retry(str(exc)) from exc
        if pool.greeting is None:
            raise Retry(f"registry {registry.name} sent no greeting")
        return pool.greeting

    async def contact_state(self) -> ContactInfo | None:
        """The registry's copy of our contact, None when it has none; Permanent when the
        handle is another registrar's."""
        assert self.job.contact is not None
        handle = self.job.contact.handle
        try:
            response = await self.send("contact:info", lambda c: contact_info(handle, cltrid=c))
        except AmbiguousOutcome as exc:
            raise Retry(f"contact:info of {handle}: answer lost") from exc
        if response.code == MISSING_CODE:
            return None
        classify(response, f"contact:info {handle}")
        info = response.res_data.get("contact_info")
        if info is None:
            raise Retry(f"contact:info of {handle} gave no data")
        client_id = self.job.registry.client_id if self.job.registry else None
        if info.cl_id != client_id:
            raise Permanent(
                f"contact {handle} exists at the registry but is sponsored by {info.cl_id}, "
                "not by us",
                EXISTS_CODE,
            )
        return info

    async def ensure_contact(self, *, known: bool | None) -> str:
        """Create our contact unless the registry has it; "created" or "exists"."""
        assert self.job.contact is not None
        if known:
            return "exists"
        data, disclose = self.job.contact, self.job.disclose

        def create(cltrid: str) -> bytes:
            return contact_create(data, disclose, cltrid=cltrid)

        try:
            response = await self.send("contact:create", create)
        except AmbiguousOutcome:
            # Did it go through? Ask before sending anything again.
            if await self.contact_state() is not None:
                return "exists"
            try:
                response = await self.send("contact:create", create)
            except AmbiguousOutcome as exc:
                raise Retry(f"contact:create of {data.handle}: answer lost twice") from exc
        if response.code == EXISTS_CODE:
            # 2302 on our own deterministic handle: done before (by us), if info says it is ours.
            await self.contact_state()
            return "exists"
        classify(response, f"contact:create {data.handle}")
        return "created"

    async def domain_state(self) -> DomainInfo:
        """The registry's domain:info of the job's domain: its name servers (hosts="del", no
        subordinate hosts) and its DS records when the session speaks secDNS-1.1."""
        name = str(self.job.payload["domain"])
        try:
            response = await self.send(
                "domain:info", lambda c: domain_info(name, cltrid=c, hosts="del")
            )
        except AmbiguousOutcome as exc:
            raise Retry(f"domain:info of {name}: answer lost") from exc
        classify(response, f"domain:info {name}")
        info = response.res_data.get("domain_info")
        if info is None:
            raise Retry(f"domain:info of {name} gave no data")
        return info


__all__ = ["RegistryChannel"]
