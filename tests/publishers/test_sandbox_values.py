"""The sandbox answers a value of the wrong syntax as a registry does: 2005 "Parameter value
syntax error" (RFC 5730), with the value in <extValue>, and stores nothing."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from publishers.epp.client.commands import (
    contact_create,
    contact_update,
    domain_check,
    domain_create,
    domain_info,
    domain_update,
)
from publishers.epp.model import (
    Address,
    ContactChange,
    ContactUpdate,
    DomainCreate,
    DomainUpdate,
    PostalChange,
    Response,
)
from publishers.epp.session import EppSession
from publishers.sandbox.server import SandboxRegistry
from tests.support.sandbox import (
    PASSWORDS,
    make_contact,
    session_of,
    trustme_contexts,
)

SYNTAX = 2005


@pytest.fixture
async def tls(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    return trustme_contexts(tmp_path)


@pytest.fixture
async def sandbox(
    tmp_path: Path, tls: tuple[ssl.SSLContext, str]
) -> AsyncIterator[SandboxRegistry]:
    registry = SandboxRegistry(
        tmp_path / "sandbox.db", ssl_context=tls[0], clients=PASSWORDS, read_timeout=5.0
    )
    registry.seed_domain("example.com", "REG-A1", [("tech", "TECH-A1")], "regA")
    async with registry:
        yield registry


@pytest.fixture
async def session(
    sandbox: SandboxRegistry, tls: tuple[ssl.SSLContext, str]
) -> AsyncIterator[EppSession]:
    async with session_of(sandbox, "regA", tls[1]) as opened:
        yield opened


def refused(response: Response, value: str) -> str:
    """The reason of a 2005 answer that names value (fails the test otherwise)."""
    assert response.code == SYNTAX, (response.code, response.message, response.results)
    assert response.message == "Parameter value syntax error"
    (reason,) = response.results[0].reasons
    return reason


# ---------------------------------------------------------------- domain and host names


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("-harbour.com", "letters, digits and hyphens"),
        ("harbour-.com", "letters, digits and hyphens"),
        ("har_bour.com", "letters, digits and hyphens"),
        ("ab--cd.com", "positions 3 and 4"),
        ("xn--zz.com", "not a valid A-label"),
        (f"{'a' * 64}.com", "letters, digits and hyphens"),
        ("harbour.123", "all digits"),
        ("localhost", "at least two labels"),
    ],
)
async def test_domain_names_not_of_ldh_labels_are_refused(
    session: EppSession, sandbox: SandboxRegistry, name: str, why: str
) -> None:
    create = DomainCreate(name=name, registrant="REG-A1", auth_info="domain-pw1")
    response = await session.command(lambda cltrid: domain_create(create, cltrid=cltrid))
    assert why in refused(response, name)
    assert name.lower() not in sandbox.snapshot().domains
    check = await session.command(lambda cltrid: domain_check([name], cltrid=cltrid))
    assert check.code == SYNTAX
    info = await session.command(lambda cltrid: domain_info(name, cltrid=cltrid))
    assert info.code == SYNTAX


async def test_an_idn_a_label_and_a_plain_name_are_accepted(session: EppSession) -> None:
    for name in ("xn--bcher-kva.com", "harbour-side-1.com"):
        create = DomainCreate(name=name, registrant="REG-A1", auth_info="domain-pw1")
        response = await session.command(
            lambda cltrid, create=create: domain_create(create, cltrid=cltrid)
        )
        assert response.code == 1000, (name, response.results)


async def test_host_names_not_of_ldh_labels_are_refused(
    session: EppSession, sandbox: SandboxRegistry
) -> None:
    create = DomainCreate(
        name="hosts.com", registrant="REG-A1", ns=("ns_1.example.net",), auth_info="domain-pw1"
    )
    response = await session.command(lambda cltrid: domain_create(create, cltrid=cltrid))
    assert "not a host name" in refused(response, "ns_1.example.net")
    update = DomainUpdate(name="example.com", add_ns=("ns1.-bad.example.net",))
    response = await session.command(lambda cltrid: domain_update(update, cltrid=cltrid))
    assert "not a host name" in refused(response, "ns1.-bad.example.net")
    assert sandbox.snapshot().domains["example.com"].ns == ()


# ---------------------------------------------------------------- contacts


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"cc": "XX"}, "ISO 3166-1"),
        ({"cc": "gb"}, "ISO 3166-1"),
        ({"email": "tech.interlink.example.net"}, "not an e-mail address"),
        ({"email": "tech@@interlink.example.net"}, "not an e-mail address"),
        ({"voice": "+999.1179000000"}, "no country has the calling code +999"),
        ({"voice": "+44.1"}, "too few digits"),
        ({"fax": "+44.123456789012"}, "under +44"),
    ],
)
async def test_contact_values_of_the_wrong_syntax_are_refused(
    session: EppSession, sandbox: SandboxRegistry, changes: dict[str, str], why: str
) -> None:
    contact = make_contact("IL-BADVALUE", **changes)
    response = await session.command(lambda cltrid: contact_create(contact, cltrid=cltrid))
    assert why in refused(response, next(iter(changes.values())))
    assert "IL-BADVALUE" not in sandbox.snapshot().contacts


async def test_a_good_contact_is_created_and_a_bad_update_changes_nothing(
    session: EppSession, sandbox: SandboxRegistry
) -> None:
    contact = make_contact("IL-GOOD1", fax="+49.40609040")
    response = await session.command(lambda cltrid: contact_create(contact, cltrid=cltrid))
    assert response.code == 1000, response.results
    for change, value in (
        (ContactChange(email="no-at-sign.example.org"), "no-at-sign.example.org"),
        (ContactChange(postal=(PostalChange(addr=Address(city="Bristol", cc="UK")),)), "UK"),
        (ContactChange(voice="+999.12345678"), "+999.12345678"),
    ):
        update = ContactUpdate(handle="IL-GOOD1", change=change)
        answer = await session.command(
            lambda cltrid, update=update: contact_update(update, cltrid=cltrid)
        )
        refused(answer, value)
    held = sandbox.snapshot().contacts["IL-GOOD1"]
    assert (held.email, held.cc, held.voice) == (contact.email, "GB", contact.voice)
