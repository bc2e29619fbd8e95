"""RFC 5734 framing: the length counts itself, frames split or glued by TCP come out whole."""

from __future__ import annotations

import asyncio
import ssl
import struct
from datetime import UTC, datetime

import pytest
import trustme

from publishers.epp.client.commands import contact_check, contact_info, hello
from publishers.epp.client.commands import login as login_frame
from publishers.epp.client.responses import parse_greeting, parse_response
from publishers.epp.model import CheckItem, Greeting
from publishers.epp.server.commands import parse_command
from publishers.epp.server.responses import build_greeting, build_response, contact_check_data
from publishers.epp.session import Endpoint, EppSession
from publishers.epp.transport import (
    EppConnection,
    FrameDecoder,
    FramingError,
    TransportError,
    client_ssl_context,
    encode_frame,
    read_frame,
    write_frame,
)
from publishers.sandbox.server import SandboxRegistry

FRAME_A = b'<?xml version="1.0"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>'
FRAME_B = b"<b>second frame \xc3\xa9</b>"


# ---------------------------------------------------------------- encode / decode


def test_length_header_counts_itself() -> None:
    frame = encode_frame(b"hello")
    assert frame[:4] == struct.pack(">I", 9)
    assert frame[4:] == b"hello"
    assert len(frame) == 9


def test_empty_payload_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_frame(b"")


def test_decoder_byte_by_byte() -> None:
    decoder = FrameDecoder(1024)
    data = encode_frame(FRAME_A)
    out: list[bytes] = []
    for index in range(len(data)):
        out += decoder.feed(data[index : index + 1])
        if index < len(data) - 1:
            assert out == []
    assert out == [FRAME_A]
    assert decoder.pending == 0


def test_decoder_two_frames_in_one_segment_and_a_partial_third() -> None:
    decoder = FrameDecoder(1024)
    third = encode_frame(b"third")
    glued = encode_frame(FRAME_A) + encode_frame(FRAME_B) + third[:6]
    assert decoder.feed(glued) == [FRAME_A, FRAME_B]
    assert decoder.pending == 6
    assert decoder.feed(third[6:]) == [b"third"]
    assert decoder.pending == 0


def test_decoder_split_header() -> None:
    decoder = FrameDecoder(1024)
    data = encode_frame(FRAME_B)
    assert decoder.feed(data[:2]) == []
    assert decoder.feed(data[2:3]) == []
    assert decoder.feed(data[3:]) == [FRAME_B]


@pytest.mark.parametrize("length", [0, 1, 4])
def test_decoder_refuses_short_lengths(length: int) -> None:
    decoder = FrameDecoder(1024)
    with pytest.raises(FramingError, match="minimum"):
        decoder.feed(struct.pack(">I", length) + b"xxxx")
    # The stream cannot be resynchronised: the decoder stays broken.
    with pytest.raises(FramingError):
        decoder.feed(encode_frame(b"ok"))


def test_decoder_refuses_oversized_lengths() -> None:
    decoder = FrameDecoder(100)
    assert decoder.feed(encode_frame(b"x" * 96)) == [b"x" * 96]
    with pytest.raises(FramingError, match="limit is 100"):
        decoder.feed(struct.pack(">I", 101))
    with pytest.raises(FramingError):
        FrameDecoder(100).feed(b"\xff\xff\xff\xff")


# ---------------------------------------------------------------- read_frame on a StreamReader


async def test_read_frame_from_pieces() -> None:
    reader = asyncio.StreamReader()
    data = encode_frame(FRAME_A) + encode_frame(FRAME_B)

    async def trickle() -> None:
        for index in range(0, len(data), 3):
            reader.feed_data(data[index : index + 3])
            await asyncio.sleep(0)

    task = asyncio.create_task(trickle())
    assert await read_frame(reader, max_frame=1024, timeout=5) == FRAME_A
    assert await read_frame(reader, max_frame=1024, timeout=5) == FRAME_B
    await task


async def test_read_frame_errors() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(struct.pack(">I", 2000))
    with pytest.raises(FramingError):
        await read_frame(reader, max_frame=1024, timeout=1)

    reader = asyncio.StreamReader()
    reader.feed_data(encode_frame(FRAME_A)[:10])
    reader.feed_eof()
    with pytest.raises(TransportError, match="middle of a frame"):
        await read_frame(reader, max_frame=1024, timeout=1)

    reader = asyncio.StreamReader()
    reader.feed_eof()
    with pytest.raises(TransportError, match="closed by the peer"):
        await read_frame(reader, max_frame=1024, timeout=1)

    reader = asyncio.StreamReader()
    reader.feed_data(encode_frame(FRAME_A)[:10])
    with pytest.raises(TransportError, match="timed out"):
        await read_frame(reader, max_frame=1024, timeout=0.05)


async def test_read_frame_idle_timeout_then_frame_timeout() -> None:
    reader = asyncio.StreamReader()
    with pytest.raises(TransportError, match="timed out"):
        await read_frame(reader, max_frame=1024, timeout=5, idle_timeout=0.05)
    # Once a frame has begun, the (shorter) frame timeout applies.
    reader = asyncio.StreamReader()
    reader.feed_data(b"\x00")
    with pytest.raises(TransportError, match="timed out"):
        await read_frame(reader, max_frame=1024, timeout=0.05, idle_timeout=5)
    reader = asyncio.StreamReader()
    reader.feed_data(encode_frame(FRAME_B))
    assert await read_frame(reader, max_frame=1024, timeout=1, idle_timeout=1) == FRAME_B


# ---------------------------------------------------------------- real sockets


async def _echo_server(received: list[bytes], ssl_context: ssl.SSLContext | None = None):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                frame = await read_frame(reader, max_frame=4096, timeout=5)
                received.append(frame)
                await write_frame(writer, b"echo:" + frame)
        except TransportError:
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_context)


async def test_frame_written_byte_by_byte_to_a_real_socket() -> None:
    received: list[bytes] = []
    server = await _echo_server(received)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data = encode_frame(FRAME_A)
        for index in range(len(data)):
            writer.write(data[index : index + 1])
            await writer.drain()
            if index % 16 == 0:
                await asyncio.sleep(0.001)
        assert await read_frame(reader, max_frame=4096, timeout=5) == b"echo:" + FRAME_A
        # Two frames in one write come back as two answers.
        writer.write(encode_frame(FRAME_A) + encode_frame(FRAME_B))
        await writer.drain()
        assert await read_frame(reader, max_frame=4096, timeout=5) == b"echo:" + FRAME_A
        assert await read_frame(reader, max_frame=4096, timeout=5) == b"echo:" + FRAME_B
        writer.close()
        await writer.wait_closed()
    assert received == [FRAME_A, FRAME_A, FRAME_B]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


async def test_eppconnection_over_tls_verifies_the_server(
    ca: trustme.CA, server_context: ssl.SSLContext, tmp_path
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    received: list[bytes] = []
    server = await _echo_server(received, server_context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        connection = await EppConnection.open(
            "127.0.0.1",
            port,
            ssl_context=client_ssl_context(str(ca_file), None, None),
            connect_timeout=5,
            read_timeout=5,
            max_frame=4096,
        )
        await connection.send(FRAME_B)
        assert await connection.read_frame() == b"echo:" + FRAME_B
        await connection.close()
        assert connection.closed
        with pytest.raises(TransportError) as info:
            await connection.send(FRAME_B)
        assert not info.value.written

        # A client that trusts another CA refuses the server.
        other = trustme.CA()
        other_file = tmp_path / "other.pem"
        other.cert_pem.write_to_path(str(other_file))
        with pytest.raises(TransportError, match="cannot connect"):
            await EppConnection.open(
                "127.0.0.1",
                port,
                ssl_context=client_ssl_context(str(other_file), None, None),
                connect_timeout=5,
            )


async def test_connect_errors_are_transport_errors() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(TransportError):
        await EppConnection.open("127.0.0.1", port, ssl_context=None, connect_timeout=2)


def test_client_context_is_strict(ca: trustme.CA, tmp_path) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = client_ssl_context(str(ca_file), None, None)
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    leaf = ca.issue_cert("client.example")
    cert_file = tmp_path / "client.pem"
    leaf.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    client_ssl_context(str(ca_file), str(cert_file), None)
    with pytest.raises(ValueError):
        client_ssl_context(str(ca_file), None, str(cert_file))


# ---------------------------------------------------------------- both ways, over TLS


async def _sandbox(tmp_path) -> SandboxRegistry:
    registry = SandboxRegistry(tmp_path / "framing.db", clients={"regA": "passwordA"})
    await registry.start()
    return registry


async def test_sandbox_reads_split_and_glued_frames(tmp_path) -> None:
    registry = await _sandbox(tmp_path)
    try:
        async with asyncio.timeout(20):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1",
                registry.port,
                ssl=client_ssl_context(registry.ca_file, None, None),
                server_hostname="127.0.0.1",
            )
            parse_greeting(await read_frame(reader, max_frame=65536, timeout=5))

            # One frame, one byte per TLS record (and per TCP segment), drained each time.
            data = encode_frame(login_frame("regA", "passwordA", cltrid="SPLIT-LOGIN"))
            for index in range(len(data)):
                writer.write(data[index : index + 1])
                await writer.drain()
                if index % 32 == 0:
                    await asyncio.sleep(0.001)
            login = parse_response(await read_frame(reader, max_frame=65536, timeout=5))
            assert (login.code, login.cltrid) == (1000, "SPLIT-LOGIN")

            # Three frames in one segment, the third's header cut in half by the segment end.
            check = contact_check(["IL-GLUE1"], cltrid="GLUE-CHECK")
            info = contact_info("IL-GLUE1", cltrid="GLUE-INFO")
            glued = encode_frame(hello()) + encode_frame(check) + encode_frame(info)
            cut = len(glued) - len(encode_frame(info)) + 2
            writer.write(glued[:cut])
            await writer.drain()
            parse_greeting(await read_frame(reader, max_frame=65536, timeout=5))
            checked = parse_response(await read_frame(reader, max_frame=65536, timeout=5))
            assert (checked.code, checked.cltrid) == (1000, "GLUE-CHECK")
            await asyncio.sleep(0.05)
            writer.write(glued[cut:])
            await writer.drain()
            unknown = parse_response(await read_frame(reader, max_frame=65536, timeout=5))
            assert (unknown.code, unknown.cltrid) == (2303, "GLUE-INFO")
            writer.close()
    finally:
        await registry.stop()
    assert registry.stats["frames"] == 4


async def test_client_reads_split_and_glued_frames(
    ca: trustme.CA, server_context: ssl.SSLContext, tmp_path
) -> None:
    """A tiny registry that splits its greeting into 3-byte pieces and glues two answers."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    now = datetime.now(UTC)

    async def pieces(writer: asyncio.StreamWriter, data: bytes, size: int) -> None:
        for index in range(0, len(data), size):
            writer.write(data[index : index + size])
            await writer.drain()
            await asyncio.sleep(0.001)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            greeting = build_greeting(Greeting(sv_id="tiny", sv_date=now))
            await pieces(writer, encode_frame(greeting), 3)
            login = parse_command(await read_frame(reader, max_frame=65536, timeout=5))
            assert login.name == "login"
            # The login's answer and the next command's answer in one write.
            writer.write(
                encode_frame(build_response(1000, None, login.cltrid, "TINY-1"))
                + encode_frame(build_response(1000, None, "NEXT-0001", "TINY-2"))
            )
            await writer.drain()
            nxt = parse_command(await read_frame(reader, max_frame=65536, timeout=5))
            assert nxt.cltrid == "NEXT-0001"
            last = parse_command(await read_frame(reader, max_frame=65536, timeout=5))
            data = contact_check_data([CheckItem("IL-TINY1", True)])
            answer = build_response(1000, None, last.cltrid, "TINY-3", data)
            await pieces(writer, encode_frame(answer), 5)
            logout = parse_command(await read_frame(reader, max_frame=65536, timeout=5))
            await write_frame(writer, build_response(1500, None, logout.cltrid, "TINY-4"))
        except (TransportError, AssertionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    endpoint = Endpoint(
        host="127.0.0.1",
        port=port,
        client_id="regA",
        password="passwordA",
        ca_file=str(ca_file),
        connect_timeout=5,
        read_timeout=5,
    )
    async with server, asyncio.timeout(20):
        session = EppSession(endpoint)
        greeting = await session.connect()
        assert greeting.sv_id == "tiny"
        assert (await session.login()).svtrid == "TINY-1"
        glued = await session.command(
            lambda t: contact_check(["IL-TINY1"], cltrid=t), cltrid="NEXT-0001"
        )
        assert (glued.code, glued.svtrid) == (1000, "TINY-2")
        split = await session.command(lambda t: contact_check(["IL-TINY1"], cltrid=t))
        assert split.svtrid == "TINY-3"
        assert split.res_data["contact_check"]["IL-TINY1"].avail is True
        assert (await session.logout()).code == 1500
