"""The sandbox's poll queue (RFC 5730 poll req/ack) and the transfer-out notice it queues
(RFC 5731 trnData), over TLS through our EPP session; and `interlink registry-sandbox
transfer-out`, which moves a domain away in a sandbox's file while the sandbox serves it."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publishers.epp.client.commands import domain_info, poll_ack, poll_request
from publishers.epp.model import DomainTransfer, Response
from publishers.epp.session import EppSession
from publishers.sandbox.messages import TransferRefused
from publishers.sandbox.server import SandboxRegistry
from tests.support.sandbox import PASSWORDS, endpoint_for, logged_in, session_of, trustme_contexts
from tui.cli import app


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
    registry.seed_domain("harbour.com", "REG-A1", [("tech", "TECH-A1")], "regA")
    registry.seed_domain("quay.net", "REG-A2", [("tech", "TECH-A1")], "regA")
    registry.seed_domain("dock.org", "REG-B1", [], "regB")
    async with registry:
        yield registry


@pytest.fixture
async def session_a(
    sandbox: SandboxRegistry, tls: tuple[ssl.SSLContext, str]
) -> AsyncIterator[EppSession]:
    async with session_of(sandbox, "regA", tls[1]) as opened:
        yield opened


async def poll(session: EppSession) -> Response:
    return await session.command(lambda cltrid: poll_request(cltrid=cltrid))


async def ack(session: EppSession, msg_id: str) -> Response:
    return await session.command(lambda cltrid: poll_ack(msg_id, cltrid=cltrid))


async def test_an_empty_queue_answers_1300(session_a: EppSession) -> None:
    response = await poll(session_a)
    assert (response.code, response.message) == (
        1300,
        "Command completed successfully; no messages",
    )
    assert response.msgq is None and response.res_data == {}


async def test_a_transfer_out_is_polled_and_acknowledged(
    session_a: EppSession, sandbox: SandboxRegistry
) -> None:
    first = sandbox.transfer_out("harbour.com")
    second = sandbox.transfer_out("quay.net", to="gaining-reg", status="clientApproved")
    assert sandbox.snapshot().domains["harbour.com"].sponsor == "other-registrar"

    response = await poll(session_a)
    assert response.code == 1301 and response.msgq is not None
    assert (response.msgq.count, response.msgq.id) == (2, first.id)
    assert response.msgq.q_date is not None and "harbour.com" in (response.msgq.message or "")
    transfer = response.res_data["domain_transfer"]
    assert isinstance(transfer, DomainTransfer)
    assert (transfer.name, transfer.status, transfer.re_id) == (
        "harbour.com",
        "serverApproved",
        "other-registrar",
    )
    assert transfer.approved and transfer.ex_date is not None
    # Polling again without an ack gives the same message.
    assert (await poll(session_a)).msgq == response.msgq

    acked = await ack(session_a, first.id)
    assert acked.code == 1000 and acked.msgq is not None
    assert (acked.msgq.count, acked.msgq.id) == (1, first.id)

    response = await poll(session_a)
    assert response.msgq is not None and response.msgq.id == second.id
    transfer = response.res_data["domain_transfer"]
    assert (transfer.name, transfer.status, transfer.re_id, transfer.ac_id) == (
        "quay.net",
        "clientApproved",
        "gaining-reg",
        "regA",
    )
    acked = await ack(session_a, second.id)
    assert acked.msgq is not None and acked.msgq.count == 0
    assert (await poll(session_a)).code == 1300

    # The domain is another registrar's now.
    info = await session_a.command(lambda cltrid: domain_info("harbour.com", cltrid=cltrid))
    assert info.code == 2201


async def test_an_ack_of_a_wrong_id_answers_2303(
    session_a: EppSession, sandbox: SandboxRegistry, tls: tuple[ssl.SSLContext, str]
) -> None:
    theirs = sandbox.transfer_out("dock.org")  # regB's message
    ours = sandbox.transfer_out("harbour.com")
    for wrong in ("999999", "not-a-number", theirs.id):
        response = await ack(session_a, wrong)
        assert response.code == 2303, wrong
        assert response.message == "Object does not exist: no such message"
    # Nothing was dequeued by the wrong acks.
    response = await poll(session_a)
    assert response.msgq is not None and (response.msgq.count, response.msgq.id) == (1, ours.id)
    session_b = await logged_in(endpoint_for(sandbox, "regB", tls[1]))
    try:
        response = await poll(session_b)
        assert response.msgq is not None and response.msgq.id == theirs.id
        assert (await ack(session_b, theirs.id)).code == 1000
    finally:
        await session_b.close()


async def test_transfer_out_refuses_what_it_cannot_do(sandbox: SandboxRegistry) -> None:
    with pytest.raises(TransferRefused, match="holds no domain"):
        sandbox.transfer_out("absent.com")
    with pytest.raises(TransferRefused, match="already sponsored"):
        sandbox.transfer_out("harbour.com", to="regA")
    with pytest.raises(TransferRefused, match="status"):
        sandbox.transfer_out("harbour.com", status="pending")
    assert sandbox.snapshot().domains["harbour.com"].sponsor == "regA"


async def test_the_transfer_out_command_acts_on_a_running_sandbox(
    session_a: EppSession, sandbox: SandboxRegistry
) -> None:
    runner = CliRunner()
    database = str(sandbox.db_path)
    result = runner.invoke(
        app,
        ["registry-sandbox", "transfer-out", "Harbour.com", "--db", database, "--to", "newreg"],
    )
    assert result.exit_code == 0, result.output
    assert "harbour.com moved to newreg (serverApproved)" in result.output
    response = await poll(session_a)
    assert response.res_data["domain_transfer"].re_id == "newreg"
    assert sandbox.snapshot().domains["harbour.com"].sponsor == "newreg"

    for args, message in (
        (["absent.com", "--db", database], "holds no domain absent.com"),
        (["quay.net", "--db", database, "--status", "pending"], "serverApproved"),
        (["quay.net", "--db", str(sandbox.db_path.with_name("none.db"))], "no sandbox database"),
    ):
        result = runner.invoke(app, ["registry-sandbox", "transfer-out", *args])
        assert result.exit_code != 0 and message in result.output, result.output
        assert "Traceback" not in result.output
    assert sandbox.snapshot().domains["quay.net"].sponsor == "regA"
