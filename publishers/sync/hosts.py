"""Name servers as the registry needs them before a domain names them: host objects checked and
created (RFC 5732), glue addresses for the hosts under the domain itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from publishers.epp.client.commands import host_check, host_create
from publishers.epp.model import CheckItem, HostCreate
from publishers.epp.session import AmbiguousOutcome
from publishers.sync.channel import RegistryChannel
from publishers.sync.outcomes import EXISTS_CODE, Permanent, Retry, classify


def in_bailiwick(host: str, domain: str) -> bool:
    """True when the host name is under the domain itself (it needs glue addresses)."""
    return host.endswith("." + domain)


def glue_for(host: str, domain: str, glue: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The addresses to create host with; Permanent for a host under domain without any."""
    addresses = tuple(glue.get(host, ()))
    if in_bailiwick(host, domain) and not addresses:
        raise Permanent(
            f"name server {host} is under {domain} itself and needs glue addresses, "
            "but the entry carries none"
        )
    return addresses


async def _missing(channel: RegistryChannel, hosts: Sequence[str]) -> list[str]:
    """The hosts the registry has no host object of (host:check)."""
    try:
        response = await channel.send("host:check", lambda c: host_check(hosts, cltrid=c))
    except AmbiguousOutcome as exc:
        raise Retry(f"host:check of {', '.join(hosts)}: answer lost") from exc
    classify(response, f"host:check {', '.join(hosts)}")
    items: Mapping[str, CheckItem] = response.res_data.get("host_check", {})
    found = {name.lower(): item for name, item in items.items()}
    missing = []
    for host in hosts:
        item = found.get(host)
        if item is None:
            raise Retry(f"host:check gave no answer for {host}")
        if item.avail:
            missing.append(host)
    return missing


async def ensure_hosts(
    channel: RegistryChannel, domain: str, hosts: Sequence[str], glue: Mapping[str, Sequence[str]]
) -> list[str]:
    """Create the host objects of hosts that the registry lacks (in-bailiwick ones with their
    glue, others without addresses); the hosts created. A lost answer is settled by checking
    again before anything is sent twice."""
    if not hosts:
        return []
    missing = await _missing(channel, hosts)
    created = []
    for host in missing:
        create = HostCreate(name=host, addrs=glue_for(host, domain, glue))

        def build(cltrid: str, create: HostCreate = create) -> bytes:
            return host_create(create, cltrid=cltrid)

        try:
            response = await channel.send("host:create", build)
        except AmbiguousOutcome:
            if await _missing(channel, [host]):
                raise Retry(f"host:create of {host}: answer lost") from None
            created.append(host)
            continue
        if response.code == EXISTS_CODE:
            continue  # made since our check (by us in an earlier attempt, or by its sponsor)
        classify(response, f"host:create {host}")
        created.append(host)
    return created


__all__ = ["ensure_hosts", "glue_for", "in_bailiwick"]
