"""Interop: an EPP client that is not ours, `epptools` (PyPI, a standard-library RFC 5730-5734
client), logs in to our sandbox over TLS and runs check, info, create, update and poll; every frame
it sends passes the sandbox's schema check, and the answers are what a registry gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from epptools import Client, Config
from epptools.exceptions import CommandException

from publishers.sandbox.server import SandboxRegistry
from tests.support.sandbox import PASSWORDS
from tests.support.sync import sandbox_in_thread


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxRegistry]:
    registry = SandboxRegistry(tmp_path / "sandbox.db", clients=PASSWORDS, read_timeout=5.0)
    with sandbox_in_thread(registry):
        yield registry


@pytest.fixture
def client(sandbox: SandboxRegistry) -> Iterator[Client]:
    config = Config(
        host="127.0.0.1",
        port=sandbox.port,
        clid="regA",
        password=PASSWORDS["regA"],
        ca_file=sandbox.ca_file,
        ext_uris=[],
        connect_timeout=5.0,
        read_timeout=5.0,
    )
    opened = Client(config)
    try:
        yield opened
    finally:
        opened.disconnect()


def test_epptools_checks_creates_updates_and_polls(
    client: Client, sandbox: SandboxRegistry
) -> None:
    greeting = client.connect()
    assert greeting.value("svID") == sandbox.sv_id
    assert client.login().code() == 1000

    assert client.contact.check(["EPPT-1"]).code() == 1000
    created = client.contact.create(
        "EPPT-1",
        name="Ines Interop",
        org="Interop Testing Ltd",
        street=["1 Quay Street"],
        city="Bath",
        pc="BA1 1AA",
        cc="GB",
        voice="+44.1225000000",
        email="ines@interop.example.org",
        auth_info="contact-pw1",
    )
    assert created.code() == 1000
    assert client.contact.info("EPPT-1").value("email") == "ines@interop.example.org"

    # The sandbox keeps name servers as host objects (RFC 5732), as most registries do.
    assert client.host.check(["ns1.example.net", "ns2.example.net"]).code() == 1000
    for host in ("ns1.example.net", "ns2.example.net"):
        assert client.host.create(host).code() == 1000
    assert client.host.info("ns1.example.net").code() == 1000

    name = "interop-check.com"
    assert client.domain.check([name]).is_available(name) is True
    domain = client.domain.create(
        name,
        years=1,
        registrant="EPPT-1",
        contacts={"tech": "EPPT-1"},
        nameservers=["ns1.example.net"],
        auth_info="domain-pw1",
    )
    assert domain.code() == 1000
    assert client.domain.check([name]).is_available(name) is False
    info = client.domain.info(name)
    assert info.nameservers() == ["ns1.example.net"] and info.expiry_date()

    moved = client.domain.update(
        name, add={"ns": ["ns2.example.net"]}, rem={"ns": ["ns1.example.net"]}
    )
    assert moved.code() == 1000
    changed = client.contact.update("EPPT-1", chg={"email": "desk@interop.example.org"})
    assert changed.code() == 1000
    held = sandbox.snapshot()
    assert held.domains[name].ns == ("ns2.example.net",)
    assert held.contacts["EPPT-1"].email == "desk@interop.example.org"

    # A value of the wrong syntax is refused as a registry refuses it.
    with pytest.raises(CommandException) as refused:
        client.contact.create(
            "EPPT-2",
            name="X",
            city="Bath",
            cc="XX",
            email="x@interop.example.org",
            auth_info="contact-pw1",
        )
    assert refused.value.epp_code == 2005

    # The poll queue: empty, then the notice of the domain moved away, acknowledged.
    assert client.poll.request().code() == 1300
    sandbox.transfer_out(name, to="gaining-reg")
    notice = client.poll.request()
    assert notice.code() == 1301 and notice.message_count() == 1
    transfer = notice.transfer()
    assert transfer is not None and transfer["status"] == "serverApproved"
    assert transfer["requested_by"] == "gaining-reg"
    with pytest.raises(CommandException) as wrong:
        client.poll.ack("424242")
    assert wrong.value.epp_code == 2303
    assert client.poll.ack(notice.message_id()).code() == 1000
    assert client.poll.request().code() == 1300

    assert client.logout().code() == 1500
    # The sandbox found nothing to refuse in any frame epptools sent.
    assert sandbox.stats["syntax_errors"] == 0 and sandbox.answers[2001] == 0
