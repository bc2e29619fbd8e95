"""The sandbox registry's host objects (RFC 5732: check, create, info, update, delete),
secDNS-1.1 DS records (RFC 5910), registrant changes and client statuses, over real TLS
(trustme CA) through EppSession."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from publishers.epp.client.commands import (
    domain_create,
    domain_info,
    domain_update,
    host_check,
    host_create,
    host_delete,
    host_info,
    host_update,
)
from publishers.epp.model import (
    HOST_NS,
    SECDNS_NS,
    DomainCreate,
    DomainUpdate,
    DsData,
    HostAttr,
    HostCreate,
    HostUpdate,
    Response,
)
from publishers.epp.session import EppSession
from publishers.sandbox.server import SandboxRegistry
from tests.support.sandbox import PASSWORDS, endpoint_for, logged_in, session_of, trustme_contexts

DS1 = DsData(12345, 13, 2, "49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC1234")
DS2 = DsData(4711, 8, 2, "AB" * 32)


def make_registry(tmp_path: Path, context: ssl.SSLContext, **options: object) -> SandboxRegistry:
    registry = SandboxRegistry(
        tmp_path / "sandbox.db",
        ssl_context=context,
        clients=PASSWORDS,
        read_timeout=5.0,
        **options,  # type: ignore[arg-type]
    )
    registry.seed_domain(
        "example.com", "REG-A1", [("tech", "TECH-A1")], "regA", ns=("ns1.provider.net",)
    )
    registry.seed_domain("other.net", "REG-B1", [], "regB")
    return registry


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    return trustme_contexts(tmp_path)


@pytest.fixture
async def sandbox(
    tmp_path: Path, tls: tuple[ssl.SSLContext, str]
) -> AsyncIterator[SandboxRegistry]:
    registry = make_registry(tmp_path, tls[0])
    async with registry:
        yield registry


@pytest.fixture
async def session(
    sandbox: SandboxRegistry, tls: tuple[ssl.SSLContext, str]
) -> AsyncIterator[EppSession]:
    async with session_of(sandbox, "regA", tls[1]) as opened:
        yield opened


async def send(session: EppSession, build: Callable[[str], bytes]) -> Response:
    async with asyncio.timeout(10):
        return await session.command(build)


async def test_greeting_offers_hosts_and_secdns_and_login_names_them(
    sandbox: SandboxRegistry, session: EppSession
) -> None:
    assert session.greeting is not None
    assert HOST_NS in session.greeting.obj_uris and session.greeting.ext_uris == (SECDNS_NS,)
    objects, extensions = session.services()
    assert HOST_NS in objects and extensions == (SECDNS_NS,)


async def test_host_objects_with_and_without_glue(
    sandbox: SandboxRegistry, session: EppSession
) -> None:
    # Under a domain of the registry: addresses required, and the domain must be ours.
    bare = HostCreate(name="ns1.example.com")
    refused = await send(session, lambda t: host_create(bare, cltrid=t))
    assert refused.code == 2003 and "glue" in refused.results[0].reasons[0]
    theirs = HostCreate(name="ns1.other.net", addrs=("192.0.2.9",))
    assert (await send(session, lambda t: host_create(theirs, cltrid=t))).code == 2201
    glued = HostCreate(name="ns1.example.com", addrs=("192.0.2.1", "2001:db8::1"))
    created = await send(session, lambda t: host_create(glued, cltrid=t))
    assert created.code == 1000 and created.res_data["host_create"].name == "ns1.example.com"
    assert (await send(session, lambda t: host_create(glued, cltrid=t))).code == 2302
    # Anywhere else: no addresses.
    external = HostCreate(name="ns2.provider.net", addrs=("192.0.2.2",))
    assert (await send(session, lambda t: host_create(external, cltrid=t))).code == 2306
    plain = HostCreate(name="ns2.provider.net")
    assert (await send(session, lambda t: host_create(plain, cltrid=t))).code == 1000

    check = await send(
        session, lambda t: host_check(["ns1.example.com", "ns9.provider.net"], cltrid=t)
    )
    items = check.res_data["host_check"]
    assert (items["ns1.example.com"].avail, items["ns9.provider.net"].avail) == (False, True)
    info = (await send(session, lambda t: host_info("ns1.example.com", cltrid=t))).res_data[
        "host_info"
    ]
    assert info.addrs == ("192.0.2.1", "2001:db8::1") and info.statuses == ("ok",)
    assert info.cl_id == "regA"
    # The seeded domain's name server is a host object, linked.
    seeded = await send(session, lambda t: host_info("ns1.provider.net", cltrid=t))
    assert seeded.res_data["host_info"].statuses == ("linked",)
    assert (await send(session, lambda t: host_info("ns9.provider.net", cltrid=t))).code == 2303
    assert set(sandbox.snapshot().hosts) == {
        "ns1.provider.net",
        "ns1.example.com",
        "ns2.provider.net",
    }


async def test_name_servers_must_exist_as_host_objects(
    sandbox: SandboxRegistry, session: EppSession
) -> None:
    add = DomainUpdate(name="example.com", add_ns=("ns3.provider.net",))
    missing = await send(session, lambda t: domain_update(add, cltrid=t))
    assert missing.code == 2303 and "host object" in missing.results[0].reasons[0]
    create = HostCreate(name="ns3.provider.net")
    assert (await send(session, lambda t: host_create(create, cltrid=t))).code == 1000
    swap = DomainUpdate(
        name="example.com", add_ns=("ns3.provider.net",), rem_ns=("ns1.provider.net",)
    )
    assert (await send(session, lambda t: domain_update(swap, cltrid=t))).code == 1000
    assert sandbox.snapshot().domains["example.com"].ns == ("ns3.provider.net",)
    # Host attributes are not taken from a registry of host objects.
    attrs = DomainUpdate(name="example.com", add_host_attrs=(HostAttr("ns4.provider.net"),))
    assert (await send(session, lambda t: domain_update(attrs, cltrid=t))).code == 2306
    new = DomainCreate(
        name="fresh.com", registrant="REG-A1", ns=("ns8.provider.net",), auth_info="domain-pw9"
    )
    assert (await send(session, lambda t: domain_create(new, cltrid=t))).code == 2303
    # domain:info lists the hosts under the domain.
    glued = HostCreate(name="ns1.example.com", addrs=("192.0.2.1",))
    assert (await send(session, lambda t: host_create(glued, cltrid=t))).code == 1000
    info = (await send(session, lambda t: domain_info("example.com", cltrid=t))).res_data[
        "domain_info"
    ]
    assert info.hosts == ("ns1.example.com",) and info.ns == ("ns3.provider.net",)


async def test_ds_records_added_removed_and_shown(
    sandbox: SandboxRegistry, session: EppSession
) -> None:
    add = DomainUpdate(name="example.com", add_ds=(DS1, DS2))
    assert (await send(session, lambda t: domain_update(add, cltrid=t))).code == 1000
    assert sandbox.snapshot().domains["example.com"].ds == (DS1, DS2)
    again = await send(session, lambda t: domain_update(add, cltrid=t))
    assert again.code == 2302
    info = (await send(session, lambda t: domain_info("example.com", cltrid=t))).res_data[
        "domain_info"
    ]
    assert info.ds == (DS1, DS2)
    rem = DomainUpdate(name="example.com", rem_ds=(DS1,))
    assert (await send(session, lambda t: domain_update(rem, cltrid=t))).code == 1000
    assert (await send(session, lambda t: domain_update(rem, cltrid=t))).code == 2303
    assert sandbox.snapshot().domains["example.com"].ds == (DS2,)


async def test_ds_needs_secdns_announced_at_login(
    sandbox: SandboxRegistry, tls: tuple[ssl.SSLContext, str]
) -> None:
    quiet = await logged_in(endpoint_for(sandbox, "regA", tls[1], ext_uris=()))
    try:
        add = DomainUpdate(name="example.com", add_ds=(DS1,))
        refused = await send(quiet, lambda t: domain_update(add, cltrid=t))
        assert refused.code == 2103
        hold = DomainUpdate(name="example.com", add_statuses=("clientHold",))
        assert (await send(quiet, lambda t: domain_update(hold, cltrid=t))).code == 1000
    finally:
        await quiet.close()
    assert sandbox.snapshot().domains["example.com"].ds == ()


async def test_registrant_change_and_client_statuses(
    sandbox: SandboxRegistry, session: EppSession
) -> None:
    chg = DomainUpdate(name="example.com", registrant="NO-SUCH-1")
    assert (await send(session, lambda t: domain_update(chg, cltrid=t))).code == 2303
    chg = DomainUpdate(name="example.com", registrant="TECH-A1")
    assert (await send(session, lambda t: domain_update(chg, cltrid=t))).code == 1000
    lock = DomainUpdate(
        name="example.com",
        add_statuses=(
            "clientTransferProhibited",
            "clientUpdateProhibited",
            "clientDeleteProhibited",
        ),
    )
    assert (await send(session, lambda t: domain_update(lock, cltrid=t))).code == 1000
    held = sandbox.snapshot().domains["example.com"]
    assert held.registrant == "TECH-A1" and set(held.statuses) == set(lock.add_statuses)
    # Locked: nothing but the unlock itself goes through.
    blocked = DomainUpdate(name="example.com", add_ds=(DS1,))
    assert (await send(session, lambda t: domain_update(blocked, cltrid=t))).code == 2304
    unlock = DomainUpdate(name="example.com", rem_statuses=lock.add_statuses)
    assert (await send(session, lambda t: domain_update(unlock, cltrid=t))).code == 1000
    assert sandbox.snapshot().domains["example.com"].statuses == ()


async def test_registry_without_host_objects_takes_host_attributes(
    tmp_path: Path, tls: tuple[ssl.SSLContext, str]
) -> None:
    registry = make_registry(tmp_path, tls[0], host_objects=False, secdns=False)
    async with registry:
        opened = await logged_in(endpoint_for(registry, "regA", tls[1]))
        try:
            assert opened.greeting is not None
            assert HOST_NS not in opened.greeting.obj_uris and opened.greeting.ext_uris == ()
            assert opened.services() == (
                tuple(u for u in opened.endpoint.obj_uris if u != HOST_NS),
                (),
            )
            glueless = DomainUpdate(
                name="example.com", add_host_attrs=(HostAttr("ns1.example.com"),)
            )
            assert (await send(opened, lambda t: domain_update(glueless, cltrid=t))).code == 2003
            update = DomainUpdate(
                name="example.com",
                add_host_attrs=(
                    HostAttr("ns1.example.com", ("192.0.2.1",)),
                    HostAttr("ns.elsewhere.org"),
                ),
                rem_host_attrs=(HostAttr("ns1.provider.net"),),
            )
            assert (await send(opened, lambda t: domain_update(update, cltrid=t))).code == 1000
            objects = DomainUpdate(name="example.com", add_ns=("ns2.provider.net",))
            assert (await send(opened, lambda t: domain_update(objects, cltrid=t))).code == 2306
            info = (await send(opened, lambda t: domain_info("example.com", cltrid=t))).res_data[
                "domain_info"
            ]
            assert info.ns == ("ns1.example.com", "ns.elsewhere.org")
            assert info.host_addrs == (HostAttr("ns1.example.com", ("192.0.2.1",)),)
            check = await send(opened, lambda t: host_check(["ns1.example.com"], cltrid=t))
            assert check.code == 2307  # no host object service here
            ds = DomainUpdate(name="example.com", add_ds=(DS1,))
            assert (await send(opened, lambda t: domain_update(ds, cltrid=t))).code == 2103
        finally:
            await opened.close()


async def test_a_seeded_domain_keeps_its_ds_records(
    sandbox: SandboxRegistry, session: EppSession
) -> None:
    sandbox.seed_domain("signed.com", "REG-A1", [], "regA", ds=(DS1,), ns=("ns5.provider.net",))
    info = (await send(session, lambda t: domain_info("signed.com", cltrid=t))).res_data[
        "domain_info"
    ]
    assert info.ds == (DS1,) and info.ns == ("ns5.provider.net",)
    assert "ns5.provider.net" in sandbox.snapshot().hosts


# ---------------------------------------------------------------- host update and delete


async def test_host_update_adds_and_removes_addresses_with_the_rfc_checks(
    sandbox: SandboxRegistry, session: EppSession, tls: tuple[ssl.SSLContext, str]
) -> None:
    glued = HostCreate(name="ns1.example.com", addrs=("192.0.2.1",))
    assert (await send(session, lambda t: host_create(glued, cltrid=t))).code == 1000
    swap = HostUpdate(
        name="ns1.example.com", add_addrs=("192.0.2.2", "2001:db8::2"), rem_addrs=("192.0.2.1",)
    )
    assert (await send(session, lambda t: host_update(swap, cltrid=t))).code == 1000
    assert sandbox.snapshot().hosts["ns1.example.com"].addrs == ("192.0.2.2", "2001:db8::2")
    info = (await send(session, lambda t: host_info("ns1.example.com", cltrid=t))).res_data[
        "host_info"
    ]
    assert info.addrs == ("192.0.2.2", "2001:db8::2") and info.up_id == "regA"

    async def code(update: HostUpdate) -> int:
        return (await send(session, lambda t: host_update(update, cltrid=t))).code

    # Adding an address it has, removing one it lacks, removing the last: 2306.
    assert await code(HostUpdate(name="ns1.example.com", add_addrs=("192.0.2.2",))) == 2306
    assert await code(HostUpdate(name="ns1.example.com", rem_addrs=("192.0.2.9",))) == 2306
    last = HostUpdate(name="ns1.example.com", rem_addrs=("192.0.2.2", "2001:db8::2"))
    assert await code(last) == 2306
    # An external host takes no addresses (2306); an unknown host is 2303.
    assert await code(HostUpdate(name="ns1.provider.net", add_addrs=("192.0.2.3",))) == 2306
    assert await code(HostUpdate(name="ns9.provider.net", add_addrs=("192.0.2.3",))) == 2303
    # Host statuses are not implemented here.
    status = HostUpdate(name="ns1.example.com", add_statuses=("clientUpdateProhibited",))
    assert await code(status) == 2102
    # A bad IP address (schema-valid text) is 2005, naming it.
    wrong = HostUpdate(name="ns1.example.com", add_addrs=("192.0.2.30",))
    bad = await send(session, lambda t: host_update(wrong, cltrid=t).replace(b".30<", b".300<"))
    assert bad.code == 2005 and bad.results[0].reasons == ("not an IP address",)
    assert sandbox.snapshot().hosts["ns1.example.com"].addrs == ("192.0.2.2", "2001:db8::2")
    # Another registrar's host: 2201.
    async with session_of(sandbox, "regB", tls[1]) as other:
        theirs = HostUpdate(name="ns1.example.com", add_addrs=("192.0.2.4",))
        refused = await send(other, lambda t: host_update(theirs, cltrid=t))
        assert refused.code == 2201
        assert (await send(other, lambda t: host_delete("ns1.example.com", cltrid=t))).code == 2201
    assert sandbox.snapshot().hosts["ns1.example.com"].addrs == ("192.0.2.2", "2001:db8::2")


async def test_host_rename_follows_rfc_5732(sandbox: SandboxRegistry, session: EppSession) -> None:
    """Renaming an external host that another registrar's domain uses is 2305; one that only
    our domains use is renamed, and so are those domains' name servers."""
    shared = HostCreate(name="ns7.provider.net")
    assert (await send(session, lambda t: host_create(shared, cltrid=t))).code == 1000
    sandbox.seed_domain("third.org", "REG-B1", [], "regB", ns=("ns7.provider.net",))
    rename = HostUpdate(name="ns7.provider.net", new_name="ns8.provider.net")
    refused = await send(session, lambda t: host_update(rename, cltrid=t))
    assert refused.code == 2305
    assert sandbox.snapshot().domains["third.org"].ns == ("ns7.provider.net",)
    taken = HostUpdate(name="ns1.provider.net", new_name="ns7.provider.net")
    assert (await send(session, lambda t: host_update(taken, cltrid=t))).code == 2302
    ours = HostUpdate(name="ns1.provider.net", new_name="ns2.provider.net")
    assert (await send(session, lambda t: host_update(ours, cltrid=t))).code == 1000
    snapshot = sandbox.snapshot()
    assert snapshot.domains["example.com"].ns == ("ns2.provider.net",)
    assert "ns1.provider.net" not in snapshot.hosts and "ns2.provider.net" in snapshot.hosts


async def test_host_delete_refused_while_linked(
    sandbox: SandboxRegistry, session: EppSession
) -> None:
    linked = await send(session, lambda t: host_delete("ns1.provider.net", cltrid=t))
    assert linked.code == 2305 and "still names it" in linked.results[0].reasons[0]
    assert "ns1.provider.net" in sandbox.snapshot().hosts
    unlink = DomainUpdate(name="example.com", rem_ns=("ns1.provider.net",))
    assert (await send(session, lambda t: domain_update(unlink, cltrid=t))).code == 1000
    assert (await send(session, lambda t: host_delete("ns1.provider.net", cltrid=t))).code == 1000
    assert "ns1.provider.net" not in sandbox.snapshot().hosts
    gone = await send(session, lambda t: host_delete("ns1.provider.net", cltrid=t))
    assert gone.code == 2303


async def test_ds_records_removed_all_at_once(
    sandbox: SandboxRegistry, session: EppSession
) -> None:
    add = DomainUpdate(name="example.com", add_ds=(DS1, DS2))
    assert (await send(session, lambda t: domain_update(add, cltrid=t))).code == 1000
    everything = DomainUpdate(name="example.com", rem_all_ds=True)
    assert (await send(session, lambda t: domain_update(everything, cltrid=t))).code == 1000
    assert sandbox.snapshot().domains["example.com"].ds == ()
    # Nothing left: removing all again changes nothing and is no error.
    assert (await send(session, lambda t: domain_update(everything, cltrid=t))).code == 1000
