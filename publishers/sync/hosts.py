"""Name servers as the registry needs them: host objects checked, created and given their glue
(RFC 5732) before a domain names them, deleted when no domain of ours uses them."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from publishers.epp.client.commands import host_check, host_create, host_delete, host_info
from publishers.epp.client.commands import host_update as host_update_frame
from publishers.epp.model import CheckItem, HostCreate, HostInfo, HostUpdate
from publishers.epp.session import AmbiguousOutcome
from publishers.sync.channel import RegistryChannel
from publishers.sync.outcomes import EXISTS_CODE, MISSING_CODE, Permanent, Retry, classify

ASSOCIATION_CODE = 2305
"""Object association prohibits operation: a host still linked at the registry."""
AUTHORIZATION_CODE = 2201


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


@dataclass
class HostsReady:
    """What making the name servers ready did: hosts created, hosts whose addresses were
    updated, and notes for staff (a host left as it is, and why)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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


async def host_state(channel: RegistryChannel, host: str) -> HostInfo | None:
    """The registry's host:info of host, None when it has no such host."""
    try:
        response = await channel.send("host:info", lambda c: host_info(host, cltrid=c))
    except AmbiguousOutcome as exc:
        raise Retry(f"host:info of {host}: answer lost") from exc
    if response.code == MISSING_CODE:
        return None
    classify(response, f"host:info {host}")
    info = response.res_data.get("host_info")
    if info is None:
        raise Retry(f"host:info of {host} gave no data")
    return info


def _canonical(addresses: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(str(ipaddress.ip_address(a.strip())) for a in addresses))


def address_change(host: str, have: Sequence[str], want: Sequence[str]) -> HostUpdate:
    """The host:update that makes the addresses `have` exactly `want` (empty when equal)."""
    held, wanted = _canonical(have), _canonical(want)
    return HostUpdate(
        name=host,
        add_addrs=tuple(a for a in wanted if a not in held),
        rem_addrs=tuple(a for a in held if a not in wanted),
    )


async def _align(
    channel: RegistryChannel, host: str, want: Sequence[str], ready: HostsReady
) -> None:
    """Give an existing host of ours exactly the addresses want (RFC 5732 section 3.2.5): read
    it, send only the difference; after a lost answer, read it again before anything else."""
    client_id = channel.registry.client_id
    for round_ in range(2):
        info = await host_state(channel, host)
        if info is None:
            raise Retry(f"host {host} vanished at the registry while its addresses were set")
        if info.cl_id != client_id:
            ready.notes.append(
                f"host {host} is sponsored by {info.cl_id} at the registry: its addresses "
                "were left as they are"
            )
            return
        update = address_change(host, info.addrs, want)
        if update.is_empty():
            return

        def build(cltrid: str, update: HostUpdate = update) -> bytes:
            return host_update_frame(update, cltrid=cltrid)

        try:
            response = await channel.send("host:update", build)
        except AmbiguousOutcome:
            if round_:
                raise Retry(f"host:update of {host}: answer lost twice") from None
            continue
        classify(response, f"host:update {host}")
        ready.updated.append(host)
        return
    info = await host_state(channel, host)
    if info is None or address_change(host, info.addrs, want).is_empty():
        ready.updated.append(host)
        return
    raise Retry(f"host:update of {host}: the registry does not show it after a lost answer")


async def ensure_hosts(
    channel: RegistryChannel, domain: str, hosts: Sequence[str], glue: Mapping[str, Sequence[str]]
) -> HostsReady:
    """Create the host objects of hosts that the registry lacks (in-bailiwick ones with their
    glue, others without addresses), and give the in-bailiwick ones it has (ours) the glue of
    the entry with host:update. A lost answer is settled by checking again before anything is
    sent twice."""
    ready = HostsReady()
    if not hosts:
        return ready
    missing = await _missing(channel, hosts)
    for host in hosts:
        if host not in missing and in_bailiwick(host, domain) and glue.get(host):
            await _align(channel, host, glue[host], ready)
    for host in missing:
        create = HostCreate(name=host, addrs=glue_for(host, domain, glue))

        def build(cltrid: str, create: HostCreate = create) -> bytes:
            return host_create(create, cltrid=cltrid)

        try:
            response = await channel.send("host:create", build)
        except AmbiguousOutcome:
            if await _missing(channel, [host]):
                raise Retry(f"host:create of {host}: answer lost") from None
            ready.created.append(host)
            continue
        if response.code == EXISTS_CODE:
            # Made since our check (by us in an earlier attempt, or by its sponsor).
            if in_bailiwick(host, domain) and glue.get(host):
                await _align(channel, host, glue[host], ready)
            continue
        classify(response, f"host:create {host}")
        ready.created.append(host)
    return ready


async def delete_hosts(channel: RegistryChannel, hosts: Sequence[str]) -> list[str]:
    """Delete host objects that none of our domains uses any more (RFC 5732 section 3.2.2);
    notes for staff. A host still linked at the registry (2305), another's (2201) or gone
    already (2303) is left, with a note saying why; a lost answer is settled with host:info."""
    notes: list[str] = []
    deleted: list[str] = []
    for host in hosts:

        def drop(cltrid: str, host: str = host) -> bytes:
            return host_delete(host, cltrid=cltrid)

        try:
            response = await channel.send("host:delete", drop)
        except AmbiguousOutcome:
            if await host_state(channel, host) is not None:
                raise Retry(f"host:delete of {host}: answer lost") from None
            deleted.append(host)
            continue
        if response.code == ASSOCIATION_CODE:
            notes.append(
                f"host {host} left at the registry: still linked to another object there "
                f"(EPP {ASSOCIATION_CODE})"
            )
        elif response.code == MISSING_CODE:
            notes.append(f"host {host} was gone from the registry already")
        elif response.code == AUTHORIZATION_CODE:
            notes.append(
                f"host {host} left at the registry: sponsored by another registrar "
                f"(EPP {AUTHORIZATION_CODE})"
            )
        else:
            classify(response, f"host:delete {host}")
            deleted.append(host)
    if deleted:
        notes.insert(0, f"host objects deleted: {', '.join(deleted)}")
    return notes


__all__ = [
    "HostsReady",
    "address_change",
    "delete_hosts",
    "ensure_hosts",
    "glue_for",
    "host_state",
    "in_bailiwick",
]
