"""Sessions with the sandbox registry over TLS (trustme), and contacts created there."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

from publishers.epp.model import (
    Command,
    ContactData,
)
from publishers.epp.schema import validate_frame
from publishers.epp.server.commands import parse_command
from publishers.epp.session import (
    Endpoint,
    EppSession,
)
from publishers.epp.transport import encode_frame
from publishers.sandbox.server import SandboxRegistry

PASSWORDS = {"regA": "passwordA", "regB": "passwordB"}


def make_contact(handle: str, **changes: object) -> ContactData:
    values: dict[str, object] = {
        "handle": handle,
        "name": "Jane Tech",
        "org": "Interlink Networks Ltd",
        "street": ("12 Harbour Road",),
        "city": "Bristol",
        "sp": "Bristol",
        "pc": "BS1 5TT",
        "cc": "GB",
        "voice": "+44.1179000000",
        "email": "tech@interlink.example.net",
        "auth_info": "contact-pw9",
    }
    values.update(changes)
    return ContactData(**values)  # type: ignore[arg-type]


def trustme_contexts(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    """A server context with a trustme certificate for 127.0.0.1, and the CA's PEM file."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    ca_file = tmp_path / "trustme-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, str(ca_file)


def endpoint_for(
    registry: SandboxRegistry, client_id: str = "regA", ca_file: str | None = None, **extra
) -> Endpoint:
    values = {
        "host": "127.0.0.1",
        "port": registry.port,
        "client_id": client_id,
        "password": PASSWORDS.get(client_id, "passwordX"),
        "ca_file": ca_file or registry.ca_file,
        "connect_timeout": 5.0,
        "read_timeout": 5.0,
    }
    values.update(extra)
    return Endpoint(**values)


async def logged_in(endpoint: Endpoint) -> EppSession:
    session = EppSession(endpoint)
    await session.connect()
    await session.login()
    return session


@asynccontextmanager
async def session_of(
    registry: SandboxRegistry, client_id: str = "regA", ca_file: str | None = None
) -> AsyncIterator[EppSession]:
    """A logged-in session of `client_id` with the running sandbox, closed afterwards."""
    opened = await logged_in(endpoint_for(registry, client_id, ca_file))
    try:
        yield opened
    finally:
        await opened.close()


class RecordingSandbox(SandboxRegistry):
    """The sandbox, keeping every frame a client sent it, so that a test can check them all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[bytes] = []

    async def _handle(self, state: Any, frame: bytes) -> Any:
        self.received.append(frame)
        return await super()._handle(state, frame)

    def commands(self, name: str, obj: str | None = None) -> list[Command]:
        """The commands received of one name (and object), parsed, in order."""
        parsed = [parse_command(frame) for frame in self.received]
        return [c for c in parsed if c.name == name and (obj is None or c.obj == obj)]


def assert_frames_valid(frames: Sequence[bytes]) -> None:
    """Every frame is valid against the IETF EPP schemas shipped in publishers/epp/schemas."""
    assert frames, "no frame was sent"
    for frame in frames:
        validate_frame(frame)


@dataclass(frozen=True)
class ClientCertificates:
    """A registry's CA for registrar certificates, our certificate from it, and a stranger's."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    stranger_cert_file: Path
    stranger_key_file: Path


def client_certificates(folder: Path) -> ClientCertificates:
    """trustme certificates for mutual TLS, written as PEM files into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    registry_ca, other_ca = trustme.CA(), trustme.CA()
    ours = registry_ca.issue_cert("interlink.example.net")
    theirs = other_ca.issue_cert("interlink.example.net")
    files = ClientCertificates(
        ca_file=folder / "registrar-ca.pem",
        cert_file=folder / "client.pem",
        key_file=folder / "client.key",
        stranger_cert_file=folder / "stranger.pem",
        stranger_key_file=folder / "stranger.key",
    )
    registry_ca.cert_pem.write_to_path(str(files.ca_file))
    ours.cert_chain_pems[0].write_to_path(str(files.cert_file))
    ours.private_key_pem.write_to_path(str(files.key_file))
    theirs.cert_chain_pems[0].write_to_path(str(files.stranger_cert_file))
    theirs.private_key_pem.write_to_path(str(files.stranger_key_file))
    return files


@contextmanager
def alerting_tls_server(ca_file: Path, folder: Path) -> Iterator[tuple[int, Path]]:
    """A blocking OpenSSL server on 127.0.0.1 that requires client certificates of the CA in
    ca_file and, unlike asyncio's, says why it refuses with a TLS alert, as registries' servers
    do; a client it accepts gets one EPP frame. Yields its port and its own CA's PEM file."""
    server_ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ca.issue_cert("127.0.0.1").configure_cert(context)
    context.load_verify_locations(cafile=str(ca_file))
    context.verify_mode = ssl.CERT_REQUIRED
    server_ca_file = folder / "alerting-server-ca.pem"
    server_ca.cert_pem.write_to_path(str(server_ca_file))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(5)
            try:
                with context.wrap_socket(connection, server_side=True) as tls:
                    tls.sendall(encode_frame(b"<greeting/>"))
            except (OSError, ssl.SSLError):
                connection.close()  # the alert went out inside the handshake

    thread = threading.Thread(target=serve, name="alerting-tls", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], server_ca_file
    finally:
        stop.set()
        thread.join(5)
        listener.close()
