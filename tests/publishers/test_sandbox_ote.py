"""OT&E against the sandbox registry over real TLS (trustme CA), through EppSession and the pool.

The ordered test walks a technical-contact move the way a registry's OT&E script does; the
negative cases each assert the parsed result code (2001, 2201, 2302, 2303, 2306 and friends).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from lxml import etree

from publishers.epp.client.commands import (
    contact_check,
    contact_create,
    contact_delete,
    contact_info,
    contact_update,
    domain_create,
    domain_info,
    domain_update,
    new_cltrid,
)
from publishers.epp.model import (
    CONTACT_NS,
    DOMAIN_NS,
    Address,
    ContactChange,
    ContactUpdate,
    Disclose,
    DomainCreate,
    DomainUpdate,
    PostalChange,
)
from publishers.epp.session import (
    AmbiguousOutcome,
    Endpoint,
    EppCommandError,
    EppSession,
    EppTransportError,
    SessionPool,
    TransportError,
)
from publishers.epp.xmlwrite import XML_DECLARATION
from publishers.sandbox.faults import FaultPlan
from publishers.sandbox.process import SandboxProcess, run_sandbox
from publishers.sandbox.server import SandboxRegistry
from publishers.sandbox.store import read_snapshot
from tests.support.sandbox import PASSWORDS, endpoint_for, logged_in, make_contact, trustme_contexts

NS = {
    "e": "urn:ietf:params:xml:ns:epp-1.0",
    "c": "urn:ietf:params:xml:ns:contact-1.0",
    "d": "urn:ietf:params:xml:ns:domain-1.0",
}


# ---------------------------------------------------------------- helpers shared by the EPP tests


def seed(registry: SandboxRegistry) -> None:
    registry.seed_domain(
        "example.com",
        "REG-A1",
        [("admin", "ADM-A1"), ("tech", "OLD-TECH"), ("billing", "ADM-A1")],
        "regA",
        ns=("ns1.interlink.example.net", "ns2.interlink.example.net"),
    )
    registry.seed_domain("other.net", "REG-B1", [("tech", "TECH-B1")], "regB")
    registry.seed_domain("example.co.uk", "REG-A2", [], "regA")


@pytest.fixture
async def tls(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    return trustme_contexts(tmp_path)


@pytest.fixture
async def sandbox(
    tmp_path: Path, tls: tuple[ssl.SSLContext, str]
) -> AsyncIterator[SandboxRegistry]:
    context, _ = tls
    registry = SandboxRegistry(
        tmp_path / "sandbox.db",
        ssl_context=context,
        clients=PASSWORDS,
        contacts_policy={"uk": "prohibited"},
        read_timeout=5.0,
    )
    seed(registry)
    await registry.start()
    try:
        yield registry
    finally:
        await registry.stop()


@pytest.fixture
def ca_file(tls: tuple[ssl.SSLContext, str]) -> str:
    return tls[1]


@pytest.fixture
async def session_a(sandbox: SandboxRegistry, ca_file: str) -> AsyncIterator[EppSession]:
    session = await logged_in(endpoint_for(sandbox, "regA", ca_file))
    try:
        yield session
    finally:
        await session.close()


# ---------------------------------------------------------------- the ordered OT&E walk


async def test_ote_tech_move(sandbox: SandboxRegistry, ca_file: str) -> None:
    async with asyncio.timeout(30):
        session = EppSession(endpoint_for(sandbox, "regA", ca_file))
        assert session.closed

        # 1. Greeting, with its data collection policy.
        greeting = await session.connect()
        assert greeting.sv_id
        assert CONTACT_NS in greeting.obj_uris and DOMAIN_NS in greeting.obj_uris
        assert greeting.dcp.access == "all"
        assert greeting.dcp.statements and greeting.dcp.statements[0].purposes
        assert session.greeting == greeting and not session.closed

        # 2. Login.
        response = await session.login()
        assert response.code == 1000 and session.logged_in

        svtrids = {response.svtrid}
        new = make_contact("IL-NEWTECH1")
        disclose = Disclose(org=True, voice=False, email=True)

        async def run(build, expected: int = 1000):
            cltrid = new_cltrid("OTE")
            result = await session.command(build, cltrid=cltrid)
            assert result.code == expected, result
            assert result.cltrid == cltrid
            assert result.svtrid not in svtrids
            svtrids.add(result.svtrid)
            return result

        # 3. Check: available.
        checked = await run(lambda t: contact_check(["IL-NEWTECH1"], cltrid=t))
        assert checked.res_data["contact_check"]["IL-NEWTECH1"].avail is True

        # 4. Create with disclose flags.
        created = await run(lambda t: contact_create(new, disclose, cltrid=t))
        assert created.res_data["contact_create"].handle == "IL-NEWTECH1"

        # 5. Check again: now taken.
        checked = await run(lambda t: contact_check(["IL-NEWTECH1", "IL-FREE1"], cltrid=t))
        item = checked.res_data["contact_check"]["IL-NEWTECH1"]
        assert item.avail is False and item.reason
        assert checked.res_data["contact_check"]["IL-FREE1"].avail is True

        # 6. Info shows what was sent.
        info = (await run(lambda t: contact_info("IL-NEWTECH1", cltrid=t))).res_data["contact_info"]
        assert info.handle == "IL-NEWTECH1" and info.roid
        assert info.postal_info[0].name == "Jane Tech"
        assert info.postal_info[0].addr.city == "Bristol"
        assert info.voice == "+44.1179000000" and info.email == new.email
        assert info.cl_id == "regA" and info.auth_info == "contact-pw9"
        assert info.statuses == ("ok",)
        assert info.disclose == disclose

        # 7. Update: chg (address, phone, email) and disclose in one command.
        change = ContactChange(
            postal=(
                PostalChange(
                    addr=Address(
                        street=("1 Quay Street", "Floor 2"), city="Bath", pc="BA1 1AA", cc="GB"
                    )
                ),
            ),
            voice="+44.1225000000",
            email="noc@interlink.example.net",
            disclose=Disclose(),
        )
        await run(
            lambda t: contact_update(ContactUpdate(handle="IL-NEWTECH1", change=change), cltrid=t)
        )
        info = (await run(lambda t: contact_info("IL-NEWTECH1", cltrid=t))).res_data["contact_info"]
        assert info.postal_info[0].addr.street == ("1 Quay Street", "Floor 2")
        assert info.postal_info[0].addr.city == "Bath"
        assert info.postal_info[0].name == "Jane Tech"  # untouched
        assert info.voice == "+44.1225000000"
        assert info.email == "noc@interlink.example.net"
        assert info.disclose == Disclose()
        assert info.up_id == "regA" and info.up_date is not None

        # 8. Domain info: the old tech is on the domain.
        domain = (await run(lambda t: domain_info("example.com", cltrid=t))).res_data["domain_info"]
        assert ("tech", "OLD-TECH") in domain.contacts
        assert domain.registrant == "REG-A1" and domain.cl_id == "regA"

        # The old contact cannot go while the domain uses it: 2305.
        refused = await run(lambda t: contact_delete("OLD-TECH", cltrid=t), 2305)
        assert refused.results[0].reasons

        # 9. ONE domain:update adds the new tech and removes the old one.
        move = DomainUpdate(
            name="example.com",
            add_contacts=(("tech", "IL-NEWTECH1"),),
            rem_contacts=(("tech", "OLD-TECH"),),
        )
        frame = domain_update(move, cltrid="OTE-FRAME-CHECK")
        tree = etree.fromstring(frame)
        assert len(tree.findall(".//d:update", NS)) == 1
        assert tree.find(".//d:add/d:contact", NS).text == "IL-NEWTECH1"
        assert tree.find(".//d:rem/d:contact", NS).text == "OLD-TECH"
        await run(lambda t: domain_update(move, cltrid=t))

        # 10. Domain info shows it.
        domain = (await run(lambda t: domain_info("example.com", cltrid=t))).res_data["domain_info"]
        assert [handle for role, handle in domain.contacts if role == "tech"] == ["IL-NEWTECH1"]
        assert ("admin", "ADM-A1") in domain.contacts and ("billing", "ADM-A1") in domain.contacts
        assert domain.up_id == "regA"
        linked = (await run(lambda t: contact_info("IL-NEWTECH1", cltrid=t))).res_data[
            "contact_info"
        ]
        assert "linked" in linked.statuses

        # 11. The old contact, now unlinked, can be deleted.
        await run(lambda t: contact_delete("OLD-TECH", cltrid=t))
        await run(lambda t: contact_info("OLD-TECH", cltrid=t), 2303)

        # 12. Logout ends the session.
        response = await session.logout()
        assert response.code == 1500
        assert session.closed and not session.logged_in

    snapshot = sandbox.snapshot()
    assert "OLD-TECH" not in snapshot.contacts
    assert snapshot.domains["example.com"].handles("tech") == ("IL-NEWTECH1",)
    assert snapshot.contacts["IL-NEWTECH1"].email == "noc@interlink.example.net"
    assert snapshot.contacts["IL-NEWTECH1"].disclose == Disclose()
    # The same state, read from the file by another connection (as another process would).
    assert read_snapshot(sandbox.db_path) == snapshot


# ---------------------------------------------------------------- negative cases


@pytest.mark.invalid_epp_frames
async def test_2001_schema_invalid_frame_sent_raw(session_a: EppSession) -> None:
    async with asyncio.timeout(10):
        valid = contact_create(make_contact("IL-RAW1"), cltrid="RAW-2001-A")
        tree = etree.fromstring(valid)
        email = tree.find(".//c:email", NS)
        email.getparent().remove(email)  # <contact:email> is required
        invalid = XML_DECLARATION + etree.tostring(tree)
        response = await session_a.command(lambda _: invalid, cltrid="RAW-2001-A")
        assert response.code == 2001
        assert response.cltrid == "RAW-2001-A"
        assert response.results[0].reasons and "schema" in response.results[0].reasons[0]
        # Not well-formed at all; the session goes on.
        response = await session_a.command(lambda _: b"<epp><command>", cltrid="RAW-2001-B")
        assert response.code == 2001
        checked = await session_a.command(lambda t: contact_check(["IL-RAW1"], cltrid=t))
        assert checked.code == 1000
        assert checked.res_data["contact_check"]["IL-RAW1"].avail is True


async def test_2201_another_registrars_objects(
    sandbox: SandboxRegistry, ca_file: str, session_a: EppSession
) -> None:
    async with asyncio.timeout(15):
        session_b = await logged_in(endpoint_for(sandbox, "regB", ca_file))
        try:
            created = await session_b.command(
                lambda t: contact_create(make_contact("B-OWNED1"), cltrid=t)
            )
            assert created.code == 1000
        finally:
            await session_b.logout()

        async def code(build) -> int:
            return (await session_a.command(build)).code

        assert await code(lambda t: contact_info("B-OWNED1", cltrid=t)) == 2201
        update = ContactUpdate(handle="B-OWNED1", change=ContactChange(email="x@example.org"))
        assert await code(lambda t: contact_update(update, cltrid=t)) == 2201
        assert await code(lambda t: contact_delete("B-OWNED1", cltrid=t)) == 2201
        assert await code(lambda t: domain_info("other.net", cltrid=t)) == 2201
        move = DomainUpdate(name="other.net", add_contacts=(("tech", "B-OWNED1"),))
        assert await code(lambda t: domain_update(move, cltrid=t)) == 2201
        # With the right authInfo the foreign objects can be read (not changed), a wrong one 2202.
        info = await session_a.command(
            lambda t: contact_info("B-OWNED1", cltrid=t, auth_info="contact-pw9")
        )
        assert info.code == 1000 and info.res_data["contact_info"].auth_info is None
        wrong = await session_a.command(
            lambda t: domain_info("other.net", cltrid=t, auth_info="wrong-pw1")
        )
        assert wrong.code == 2202
    assert sandbox.snapshot().contacts["B-OWNED1"].email == "tech@interlink.example.net"


async def test_2302_create_twice(session_a: EppSession) -> None:
    async with asyncio.timeout(10):
        contact = make_contact("IL-TWICE1")
        first = await session_a.command(lambda t: contact_create(contact, cltrid=t))
        second = await session_a.command(lambda t: contact_create(contact, cltrid=t))
        assert (first.code, second.code) == (1000, 2302)
        domain = DomainCreate(name="example.com", registrant="IL-TWICE1", auth_info="domain-pw2")
        again = await session_a.command(lambda t: domain_create(domain, cltrid=t))
        assert again.code == 2302
        # Adding a contact the domain already has is 2302 as well.
        dup = DomainUpdate(name="example.com", add_contacts=(("admin", "ADM-A1"),))
        assert (await session_a.command(lambda t: domain_update(dup, cltrid=t))).code == 2302


async def test_2303_unknown_objects(sandbox: SandboxRegistry, session_a: EppSession) -> None:
    async with asyncio.timeout(10):

        async def code(build) -> int:
            return (await session_a.command(build)).code

        assert await code(lambda t: contact_info("NO-SUCH1", cltrid=t)) == 2303
        assert await code(lambda t: domain_info("no-such.com", cltrid=t)) == 2303
        assert await code(lambda t: contact_delete("NO-SUCH1", cltrid=t)) == 2303
        # A tech move that adds an unknown contact, or removes one the domain does not have,
        # changes nothing.
        before = sandbox.snapshot().domains["example.com"]
        bad_add = DomainUpdate(
            name="example.com",
            add_contacts=(("tech", "NO-SUCH1"),),
            rem_contacts=(("tech", "OLD-TECH"),),
        )
        response = await session_a.command(lambda t: domain_update(bad_add, cltrid=t))
        assert response.code == 2303 and response.results[0].reasons
        bad_rem = DomainUpdate(
            name="example.com",
            add_contacts=(("tech", "ADM-A1"),),
            rem_contacts=(("tech", "REG-A1"),),
        )
        assert await code(lambda t: domain_update(bad_rem, cltrid=t)) == 2303
        assert sandbox.snapshot().domains["example.com"] == before


async def test_2306_contacts_prohibited_policy(
    sandbox: SandboxRegistry, session_a: EppSession, tmp_path: Path, ca_file: str
) -> None:
    async with asyncio.timeout(15):
        created = await session_a.command(
            lambda t: contact_create(make_contact("IL-UKTECH1"), cltrid=t)
        )
        assert created.code == 1000
        move = DomainUpdate(name="example.co.uk", add_contacts=(("tech", "IL-UKTECH1"),))
        refused = await session_a.command(lambda t: domain_update(move, cltrid=t))
        assert refused.code == 2306 and refused.results[0].reasons
        create = DomainCreate(
            name="new.co.uk",
            registrant="IL-UKTECH1",
            contacts=(("tech", "IL-UKTECH1"),),
            auth_info="domain-pw3",
        )
        assert (await session_a.command(lambda t: domain_create(create, cltrid=t))).code == (2306)
        # The registrant alone is fine there.
        thin = DomainCreate(name="new.co.uk", registrant="IL-UKTECH1", auth_info="domain-pw3")
        assert (await session_a.command(lambda t: domain_create(thin, cltrid=t))).code == 1000
    assert sandbox.snapshot().domains["example.co.uk"].contacts == ()

    # A registry that takes no contact objects at all refuses contact:create with 2306.
    context, _ = trustme_contexts(tmp_path)
    thin_registry = SandboxRegistry(
        tmp_path / "thin.db",
        ssl_context=context,
        clients=PASSWORDS,
        contacts_policy={"*": "prohibited"},
    )
    async with asyncio.timeout(15), thin_registry:
        ca = str(tmp_path / "trustme-ca.pem")
        session = await logged_in(endpoint_for(thin_registry, "regA", ca))
        response = await session.command(
            lambda t: contact_create(make_contact("IL-THIN1"), cltrid=t)
        )
        assert response.code == 2306
        await session.logout()
    assert thin_registry.snapshot().contacts == {}


async def test_session_use_errors(sandbox: SandboxRegistry, ca_file: str) -> None:
    async with asyncio.timeout(15):
        session = EppSession(endpoint_for(sandbox, "regA", ca_file))
        await session.connect()
        # 2002: an object command before login.
        early = await session.command(lambda t: contact_check(["IL-EARLY"], cltrid=t))
        assert early.code == 2002
        await session.login()
        # 2002 again: a second login on the same session.
        with pytest.raises(EppCommandError) as error:
            await session.login()
        assert error.value.code == 2002
        # 2101: a command the sandbox does not implement (domain:renew is valid EPP).
        renew = (
            XML_DECLARATION + b'<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><renew>'
            b'<domain:renew xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">'
            b"<domain:name>example.com</domain:name><domain:curExpDate>2030-01-01"
            b"</domain:curExpDate></domain:renew></renew><clTRID>RENEW-0001</clTRID>"
            b"</command></epp>"
        )
        assert (await session.command(lambda _: renew, cltrid="RENEW-0001")).code == 2101
        # 2304: a status that prohibits the command.
        lock = ContactUpdate(handle="ADM-A1", add_statuses=("clientDeleteProhibited",))
        assert (await session.command(lambda t: contact_update(lock, cltrid=t))).code == 1000
        unlinked = await session.command(
            lambda t: contact_create(make_contact("IL-LOCK1"), cltrid=t)
        )
        assert unlinked.code == 1000
        lock = ContactUpdate(handle="IL-LOCK1", add_statuses=("clientDeleteProhibited",))
        assert (await session.command(lambda t: contact_update(lock, cltrid=t))).code == 1000
        assert (await session.command(lambda t: contact_delete("IL-LOCK1", cltrid=t))).code == 2304
        await session.logout()

        # 2200: a wrong password.
        wrong = EppSession(endpoint_for(sandbox, "regA", ca_file, password="not-the-pw"))
        await wrong.connect()
        with pytest.raises(EppCommandError) as error:
            await wrong.login()
        assert error.value.code == 2200
        await wrong.close()


# ---------------------------------------------------------------- session behaviour


async def test_transport_errors_before_and_after_writing(
    sandbox: SandboxRegistry, ca_file: str
) -> None:
    async with asyncio.timeout(15):
        session = EppSession(endpoint_for(sandbox, "regA", ca_file))
        with pytest.raises(TransportError) as before:
            await session.command(lambda t: contact_check(["IL-X001"], cltrid=t))
        assert not before.value.written
        assert isinstance(before.value, EppTransportError)

        await session.connect()
        await session.login()
        # The registry commits and then drops the connection: "sent, answer unknown".
        sandbox.faults = FaultPlan(drop_after_commit_share=1.0)
        with pytest.raises(AmbiguousOutcome) as after:
            await session.command(
                lambda t: contact_create(make_contact("IL-AMBIG1"), cltrid=t),
                cltrid="AMBIG-0001",
            )
        assert after.value.cltrid == "AMBIG-0001"
        assert isinstance(after.value, EppTransportError)
        assert session.closed and not session.logged_in
        with pytest.raises(TransportError):
            await session.command(lambda t: contact_check(["IL-X001"], cltrid=t))
        sandbox.faults = FaultPlan()
        # The outcome is learned with info: the create went through.
        again = await logged_in(endpoint_for(sandbox, "regA", ca_file))
        info = await again.command(lambda t: contact_info("IL-AMBIG1", cltrid=t))
        assert info.code == 1000
        await again.logout()
    assert sandbox.stats["dropped"] == 1


async def test_unreachable_registry_is_a_transport_error(tmp_path: Path) -> None:
    _, ca = trustme_contexts(tmp_path)
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    endpoint = Endpoint(
        host="127.0.0.1",
        port=port,
        client_id="regA",
        password="passwordA",
        ca_file=ca,
        connect_timeout=2.0,
    )
    async with asyncio.timeout(10):
        with pytest.raises(TransportError):
            await EppSession(endpoint).connect()
        pool = SessionPool(endpoint, 2)
        with pytest.raises(TransportError):
            async with pool.session():
                pass
        await pool.close()


async def test_keepalive_hello_before_idle_limit(sandbox: SandboxRegistry, ca_file: str) -> None:
    async with asyncio.timeout(15):
        session = await logged_in(endpoint_for(sandbox, "regA", ca_file, idle_limit=0.5))
        before = sandbox.stats["hello"]
        await asyncio.sleep(1.3)  # idle: hellos at about 0.4 s, 0.8 s and 1.2 s
        assert sandbox.stats["hello"] - before >= 2
        assert not session.closed and session.logged_in
        # A busy session sends no hello.
        before = sandbox.stats["hello"]
        for _ in range(10):
            await session.command(lambda t: contact_check(["IL-BUSY1"], cltrid=t))
            await asyncio.sleep(0.05)
        assert sandbox.stats["hello"] - before <= 1
        greeting = await session.hello()
        assert greeting.sv_id == session.greeting.sv_id
        await session.logout()


async def test_registry_drops_an_idle_session_and_the_pool_reconnects(
    sandbox: SandboxRegistry, ca_file: str
) -> None:
    sandbox.idle_timeout = 0.3
    endpoint = endpoint_for(sandbox, "regA", ca_file, idle_limit=3600)
    async with asyncio.timeout(15), SessionPool(endpoint, 1) as pool:
        async with pool.session() as first:
            check = await first.command(lambda t: contact_check(["IL-IDLE1"], cltrid=t))
            assert check.code == 1000
        await asyncio.sleep(0.8)  # the registry's idle limit passes; no keep-alive here
        assert first.closed  # the registry's close was noticed while the session sat idle
        async with pool.session() as second:
            assert second is not first and second.logged_in
            check = await second.command(lambda t: contact_check(["IL-IDLE1"], cltrid=t))
            assert check.code == 1000
    assert sandbox.stats["timeouts"] >= 1


async def test_pool_limits_sessions_and_survives_a_sandbox_restart(
    sandbox: SandboxRegistry, ca_file: str
) -> None:
    endpoint = endpoint_for(sandbox, "regA", ca_file)
    async with asyncio.timeout(30):
        pool = SessionPool(endpoint, 2)
        in_use = 0
        peak = 0
        seen: set[int] = set()

        async def work(index: int) -> None:
            nonlocal in_use, peak
            async with pool.session() as session:
                in_use += 1
                peak = max(peak, in_use)
                seen.add(id(session))
                handle = f"IL-POOL{index:03d}"
                response = await session.command(
                    lambda t: contact_create(make_contact(handle), cltrid=t)
                )
                assert response.code == 1000
                await asyncio.sleep(0.01)
                in_use -= 1

        await asyncio.gather(*(work(index) for index in range(12)))
        assert peak == 2 and len(seen) == 2
        assert pool.greeting is not None

        # Restart the registry on the same port and file: the pool reconnects and logs in
        # again, and the state is still there.
        await sandbox.stop()
        await sandbox.start()
        assert sandbox.port == endpoint.port
        results = []
        for _ in range(3):
            try:
                async with pool.session() as session:
                    results.append(
                        (await session.command(lambda t: contact_info("IL-POOL007", cltrid=t))).code
                    )
            except EppTransportError as exc:  # a dead idle session shows up on first use
                results.append(type(exc).__name__)
        assert results[-1] == 1000
        await pool.close()
        assert pool.closed
        with pytest.raises(TransportError):
            async with pool.session():
                pass
    assert len([h for h in sandbox.snapshot().contacts if h.startswith("IL-POOL")]) == 12


async def test_new_password_is_used_from_then_on(sandbox: SandboxRegistry, ca_file: str) -> None:
    endpoint = endpoint_for(sandbox, "regA", ca_file, new_password="passwordA2")
    async with asyncio.timeout(15):
        pool = SessionPool(endpoint, 1)
        async with pool.session() as session:
            assert session.logged_in
            await session.close()  # force a new login
        async with pool.session() as session:  # logs in with the new password now
            assert session.logged_in
        await pool.close()
        # A new process still configured with old + new: the old is refused, the new works.
        again = await logged_in(endpoint)
        assert again.logged_in
        await again.logout()
        old_only = EppSession(endpoint_for(sandbox, "regA", ca_file))
        await old_only.connect()
        with pytest.raises(EppCommandError) as error:
            await old_only.login()
        assert error.value.code == 2200
        await old_only.close()


async def test_fault_plan_errors_commit_nothing(sandbox: SandboxRegistry, ca_file: str) -> None:
    async with asyncio.timeout(15):
        session = await logged_in(endpoint_for(sandbox, "regA", ca_file))
        sandbox.faults = FaultPlan(error_share=1.0, error_code=2400, delay_ms=20, seed=1)
        started = asyncio.get_running_loop().time()
        response = await session.command(
            lambda t: contact_create(make_contact("IL-FAULT1"), cltrid=t)
        )
        assert response.code == 2400
        assert asyncio.get_running_loop().time() - started >= 0.02
        assert "IL-FAULT1" not in sandbox.snapshot().contacts
        # A "closing connection" code closes the session after answering.
        sandbox.faults = FaultPlan(error_share=1.0, error_code=2500)
        response = await session.command(lambda t: contact_check(["IL-FAULT1"], cltrid=t))
        assert response.code == 2500 and session.closed
        sandbox.faults = FaultPlan(error_share=0.5, seed=7)
        session = await logged_in(endpoint_for(sandbox, "regA", ca_file))
        codes = [
            (await session.command(lambda t: contact_check(["IL-FAULT1"], cltrid=t))).code
            for _ in range(40)
        ]
        assert 5 < codes.count(2400) < 35 and set(codes) == {1000, 2400}
        await session.logout()
    assert sandbox.stats["injected"] >= 7


async def test_sandbox_makes_its_own_certificate_and_keeps_state(tmp_path: Path) -> None:
    database = tmp_path / "own.db"
    registry = SandboxRegistry(database, clients=PASSWORDS)
    async with asyncio.timeout(20):
        async with registry:
            assert registry.ca_file and Path(registry.ca_file).exists()
            session = await logged_in(endpoint_for(registry))
            response = await session.command(
                lambda t: contact_create(make_contact("IL-KEEP1"), cltrid=t)
            )
            assert response.code == 1000
            await session.logout()
        ca_pem = Path(registry.ca_file).read_bytes()
        # A new registry object on the same file: same CA, same state.
        reopened = SandboxRegistry(database, clients=PASSWORDS)
        async with reopened:
            assert Path(reopened.ca_file).read_bytes() == ca_pem
            session = await logged_in(endpoint_for(reopened))
            response = await session.command(lambda t: contact_info("IL-KEEP1", cltrid=t))
            assert response.code == 1000
            await session.logout()
            # A client that trusts another CA refuses the sandbox.
            other = tmp_path / "other"
            other.mkdir()
            _, other_ca = trustme_contexts(other)
            with pytest.raises(TransportError):
                await EppSession(endpoint_for(reopened, ca_file=other_ca)).connect()


async def test_sandbox_in_a_child_process_survives_kill_and_restart(tmp_path: Path) -> None:
    database = tmp_path / "child.db"
    seeded = SandboxRegistry(database, clients=PASSWORDS)
    seeded.seed_domain("example.com", "REG-A1", [("tech", "OLD-TECH")], "regA")
    seeded.close_db()
    child = SandboxProcess(database, clients=PASSWORDS, read_timeout=5.0)
    await asyncio.to_thread(child.start)
    try:
        async with asyncio.timeout(30):
            endpoint = Endpoint(
                host="127.0.0.1",
                port=child.port,
                client_id="regA",
                password="passwordA",
                ca_file=child.ca_file,
                connect_timeout=5,
                read_timeout=5,
            )
            session = await logged_in(endpoint)
            created = await session.command(
                lambda t: contact_create(make_contact("IL-CHILD1"), cltrid=t)
            )
            assert created.code == 1000
            # SIGKILL right after the answer: the committed contact is still there.
            await asyncio.to_thread(child.kill)
            assert "IL-CHILD1" in read_snapshot(database).contacts
            # Whether the client noticed before sending (TransportError) or after
            # (AmbiguousOutcome) depends on timing; both are transport failures.
            with pytest.raises(EppTransportError):
                await session.command(lambda t: contact_info("IL-CHILD1", cltrid=t))
            await asyncio.to_thread(child.start)
            assert child.port == endpoint.port
            session = await logged_in(endpoint)
            assert (
                await session.command(lambda t: contact_info("IL-CHILD1", cltrid=t))
            ).code == 1000
            await session.logout()
            assert child.snapshot().domains["example.com"].handles("tech") == ("OLD-TECH",)
    finally:
        await asyncio.to_thread(child.stop)
    assert not child.running


def test_run_sandbox_in_a_thread_and_a_pool_used_from_several_event_loops(
    tmp_path: Path,
) -> None:
    """run_sandbox() serves until its stop_event; a pool survives asyncio.run() after run()."""
    ready: list[SandboxRegistry] = []
    started = threading.Event()
    stop = threading.Event()

    def on_ready(registry: SandboxRegistry) -> None:
        ready.append(registry)
        started.set()

    thread = threading.Thread(
        target=run_sandbox,
        args=(tmp_path / "thread.db",),
        kwargs={"port": 0, "clients": PASSWORDS, "on_ready": on_ready, "stop_event": stop},
        daemon=True,
    )
    thread.start()
    try:
        assert started.wait(20)
        pool = SessionPool(endpoint_for(ready[0]), 2)

        async def create(handle: str) -> int:
            async with asyncio.timeout(10), pool.session() as session:
                response = await session.command(
                    lambda t: contact_create(make_contact(handle), cltrid=t)
                )
                return response.code

        assert asyncio.run(create("IL-LOOP1")) == 1000
        assert asyncio.run(create("IL-LOOP2")) == 1000

        async def close() -> None:
            async with asyncio.timeout(10):
                await pool.close()

        asyncio.run(close())
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive()
    assert {"IL-LOOP1", "IL-LOOP2"} <= set(read_snapshot(tmp_path / "thread.db").contacts)
