"""Sessions with the sandbox registry over TLS (trustme), and contacts created there."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

from publishers.epp.model import (
    ContactData,
)
from publishers.epp.session import (
    Endpoint,
    EppSession,
)
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
