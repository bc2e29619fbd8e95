"""The suite's own check (tests/conftest.py, `epp_frames_valid`): every frame our EPP client sends
is validated against the IETF schemas, and an invalid one is caught even when the registry's
answer would let the test pass."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from publishers.epp.client.commands import contact_check
from publishers.epp.session import EppSession
from publishers.sandbox.server import SandboxRegistry
from tests.support.epp_frames import validate_client_frames
from tests.support.sandbox import PASSWORDS, endpoint_for, logged_in, trustme_contexts

INVALID = (
    b'<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0">'
    b"<command><check><unknown/></check><clTRID>BAD-FRAME-1</clTRID></command></epp>"
)


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[EppSession]:
    context, ca_file = trustme_contexts(tmp_path)
    registry = SandboxRegistry(tmp_path / "sandbox.db", ssl_context=context, clients=PASSWORDS)
    await registry.start()
    try:
        opened = await logged_in(endpoint_for(registry, "regA", ca_file))
        yield opened
        await opened.close()
    finally:
        await registry.stop()


@pytest.mark.invalid_epp_frames  # this test sends one on purpose, to see it caught
async def test_an_invalid_frame_our_client_sends_is_caught(
    session: EppSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    caught = validate_client_frames(monkeypatch)
    checked = await session.command(lambda cltrid: contact_check(["IL-OK1"], cltrid=cltrid))
    assert checked.code == 1000 and caught == []
    answer = await session.command(lambda _: INVALID, cltrid="BAD-FRAME-1")
    assert answer.code == 2001
    (problem,) = caught
    assert "EPP schema" in problem and "BAD-FRAME-1" in problem
