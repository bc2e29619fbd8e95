"""The sandbox survives hostile clients and keeps serving everyone else.

Garbage, impossible length headers, DTDs, non-UTF-8, plain TCP on the TLS port, clients that
stall in the handshake or in the middle of a frame, and many connections at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from publishers.epp.client.commands import contact_check, contact_create, hello, login
from publishers.epp.client.responses import parse_greeting, parse_response
from publishers.epp.model import Greeting, Response
from publishers.epp.server.responses import build_greeting
from publishers.epp.transport import (
    TransportError,
    client_ssl_context,
    encode_frame,
    read_frame,
)
from publishers.sandbox.server import SandboxRegistry
from tests.support.sandbox import PASSWORDS, endpoint_for, logged_in, make_contact

MAX_FRAME = 65536


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SandboxRegistry]:
    registry = SandboxRegistry(
        tmp_path / "hostile.db",
        clients=PASSWORDS,
        max_frame=MAX_FRAME,
        read_timeout=0.5,
    )
    registry.seed_domain("example.com", "REG-A1", [("tech", "OLD-TECH")], "regA")
    await registry.start()
    try:
        yield registry
    finally:
        await registry.stop()


async def raw(registry: SandboxRegistry) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TLS connection whose greeting has been read; frames are written by hand."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1",
        registry.port,
        ssl=client_ssl_context(registry.ca_file, None, None),
        server_hostname="127.0.0.1",
    )
    parse_greeting(await read_frame(reader, max_frame=MAX_FRAME, timeout=5))
    return reader, writer


async def answer(reader: asyncio.StreamReader) -> Response:
    return parse_response(await read_frame(reader, max_frame=MAX_FRAME, timeout=5), validate=True)


async def send(writer: asyncio.StreamWriter, payload: bytes) -> None:
    writer.write(encode_frame(payload))
    await writer.drain()


async def assert_closed(reader: asyncio.StreamReader) -> None:
    with pytest.raises((TransportError, ConnectionError, ssl.SSLError)):
        await read_frame(reader, max_frame=MAX_FRAME, timeout=5)


async def assert_serving(registry: SandboxRegistry) -> None:
    """Another client can log in and work normally."""
    session = await logged_in(endpoint_for(registry))
    check = await session.command(lambda t: contact_check(["IL-ALIVE1"], cltrid=t))
    assert check.code == 1000
    await session.logout()


async def test_garbage_payload_is_2001_and_the_connection_goes_on(
    sandbox: SandboxRegistry,
) -> None:
    async with asyncio.timeout(20):
        reader, writer = await raw(sandbox)
        for garbage in (
            b"\x00\x01\x02\xff\xfe garbage",
            b"\xff\xfe<\x00e\x00p\x00p\x00>\x00",  # UTF-16
            b"\xc3\x28 not utf-8",
            b"plain text, no XML",
            b"<epp xmlns='urn:ietf:params:xml:ns:epp-1.0'><hello/></epp><epp/>",
            b"<response xmlns='urn:ietf:params:xml:ns:epp-1.0'/>",
            build_greeting(Greeting(sv_id="me", sv_date=datetime.now(UTC))),
            b" ",
        ):
            await send(writer, garbage)
            response = await answer(reader)
            assert response.code == 2001, garbage
            assert response.results[0].reasons
        # Still the same, usable connection.
        await send(writer, login("regA", "passwordA", cltrid="HOSTILE-LOGIN"))
        assert (await answer(reader)).code == 1000
        writer.close()
        await assert_serving(sandbox)
    assert sandbox.stats["syntax_errors"] == 8


async def test_dtd_and_entities_are_refused(sandbox: SandboxRegistry) -> None:
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><check>'
        b'<contact:check xmlns:contact="urn:ietf:params:xml:ns:contact-1.0">'
        b"<contact:id>&lol2;</contact:id></contact:check></check>"
        b"<clTRID>DTD-00001</clTRID></command></epp>"
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE epp SYSTEM "file:///etc/passwd">'
        b'<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>'
    )
    async with asyncio.timeout(20):
        reader, writer = await raw(sandbox)
        for frame in (bomb, external):
            await send(writer, frame)
            response = await answer(reader)
            assert response.code == 2001
            assert "DOCTYPE" in response.results[0].reasons[0]
        await expect_greeting(reader, writer)
        writer.close()
        await assert_serving(sandbox)


async def expect_greeting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send a hello and expect a greeting back."""
    await send(writer, hello())
    parse_greeting(await read_frame(reader, max_frame=MAX_FRAME, timeout=5))


async def test_2001_echoes_a_readable_cltrid(sandbox: SandboxRegistry) -> None:
    async with asyncio.timeout(20):
        reader, writer = await raw(sandbox)
        frame = b"<epp xmlns='urn:ietf:params:xml:ns:epp-1.0'><command><clTRID>ABC-123</clTRID>"
        await send(writer, frame)
        response = await answer(reader)
        assert (response.code, response.cltrid) == (2001, "ABC-123")
        writer.close()


@pytest.mark.parametrize(
    "header",
    [
        struct.pack(">I", MAX_FRAME + 1),
        b"\xff\xff\xff\xff",
        b"GET / HTTP/1.1\r\n\r\n",  # a stray HTTP client: the "length" is about 1.2 GB
        struct.pack(">I", 4),
        struct.pack(">I", 0),
    ],
)
async def test_impossible_length_header_is_answered_and_closed(
    sandbox: SandboxRegistry, header: bytes
) -> None:
    async with asyncio.timeout(20):
        reader, writer = await raw(sandbox)
        writer.write(header)
        await writer.drain()
        response = await answer(reader)
        assert response.code == 2001
        assert "length" in response.results[0].reasons[0]
        await assert_closed(reader)
        writer.close()
        await assert_serving(sandbox)
    assert sandbox.stats["framing_errors"] == 1


async def test_slow_clients_are_dropped_while_others_are_served(sandbox: SandboxRegistry) -> None:
    async with asyncio.timeout(20):
        # One stalls in the middle of a frame, one trickles a byte every 0.2 s.
        stalled_reader, stalled = await raw(sandbox)
        stalled.write(struct.pack(">I", 200) + b"<epp")
        await stalled.drain()
        trickle_reader, trickle = await raw(sandbox)
        frame = encode_frame(hello())

        async def dribble() -> None:
            try:
                for byte in frame:
                    trickle.write(bytes([byte]))
                    await trickle.drain()
                    await asyncio.sleep(0.2)
            except (ConnectionError, ssl.SSLError, RuntimeError):
                pass

        dribbler = asyncio.create_task(dribble())
        # Meanwhile other clients get prompt answers.
        started = asyncio.get_running_loop().time()
        await assert_serving(sandbox)
        assert asyncio.get_running_loop().time() - started < 0.5
        # The read timeout (0.5 s) closes both slow connections.
        await assert_closed(stalled_reader)
        await assert_closed(trickle_reader)
        dribbler.cancel()
        await asyncio.gather(dribbler, return_exceptions=True)
        stalled.close()
        trickle.close()
        await assert_serving(sandbox)
    assert sandbox.stats["timeouts"] >= 2


async def test_plain_tcp_and_stalled_handshakes_do_no_harm(sandbox: SandboxRegistry) -> None:
    async with asyncio.timeout(20):
        # Plain TCP garbage on the TLS port.
        reader, writer = await asyncio.open_connection("127.0.0.1", sandbox.port)
        writer.write(encode_frame(hello()) + b"\x16\x03\x01 not a client hello" * 10)
        await writer.drain()
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(reader.read(), 5)  # at most a TLS alert, then EOF
        assert reader.at_eof() or reader.exception() is not None
        writer.close()
        # A client that connects and never starts TLS is dropped after the handshake timeout.
        silent = socket.create_connection(("127.0.0.1", sandbox.port), timeout=5)
        await assert_serving(sandbox)
        loop = asyncio.get_running_loop()
        data = await asyncio.wait_for(loop.run_in_executor(None, silent.recv, 100), 5)
        assert data == b""
        silent.close()
        await assert_serving(sandbox)


async def test_many_connections_at_once(sandbox: SandboxRegistry) -> None:
    async with asyncio.timeout(30):

        async def client(index: int) -> int:
            session = await logged_in(endpoint_for(sandbox))
            handle = f"IL-MANY{index:03d}"
            response = await session.command(
                lambda t: contact_create(make_contact(handle), cltrid=t)
            )
            await session.logout()
            return response.code

        codes = await asyncio.gather(*(client(index) for index in range(40)))
        assert codes == [1000] * 40
    assert len(sandbox.snapshot().contacts) == 40 + 2  # plus the seeded REG-A1 and OLD-TECH


async def test_connection_limit(tmp_path: Path) -> None:
    registry = SandboxRegistry(tmp_path / "limit.db", clients=PASSWORDS, max_connections=2)
    async with asyncio.timeout(20), registry:
        first = await raw(registry)
        second = await raw(registry)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1",
            registry.port,
            ssl=client_ssl_context(registry.ca_file, None, None),
            server_hostname="127.0.0.1",
        )
        response = await answer(reader)
        assert response.code == 2502
        await assert_closed(reader)
        writer.close()
        for _, other in (first, second):
            other.close()
