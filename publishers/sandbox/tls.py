"""The sandbox's TLS: a given certificate or its own CA's, and client certificates on request."""

from __future__ import annotations

import os
import ssl
from collections.abc import Sequence
from pathlib import Path


def _server_context() -> ssl.SSLContext:
    # Not create_default_context: that trusts the system's CAs for client certificates too.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def require_client_certificates(context: ssl.SSLContext, client_ca: str | os.PathLike[str]) -> None:
    """Make a server context refuse every client without a certificate signed by the CA in the
    PEM file client_ca (and trust no other CA for clients)."""
    context.load_verify_locations(cafile=os.fspath(client_ca))
    context.verify_mode = ssl.CERT_REQUIRED


def context_from_files(certfile: str, keyfile: str | None) -> ssl.SSLContext:
    """A server context with the given certificate chain and key."""
    context = _server_context()
    context.load_cert_chain(certfile, keyfile)
    return context


def context_from_own_ca(tls_dir: Path, names: Sequence[str]) -> tuple[ssl.SSLContext, Path]:
    """A server context for names, signed by the CA in tls_dir (made on first use); and its PEM."""
    import trustme

    context = _server_context()
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca_file, key_file = tls_dir / "ca.pem", tls_dir / "ca.key"
    if ca_file.exists() and key_file.exists():
        ca = trustme.CA.from_pem(ca_file.read_bytes(), key_file.read_bytes())
    else:
        ca = trustme.CA(organization_name="Interlink EPP sandbox")
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(ca.private_key_pem.bytes())
        ca_file.write_bytes(ca.cert_pem.bytes())
    ca.issue_cert(*dict.fromkeys(names)).configure_cert(context)
    return context, ca_file


def names_for(host: str, server_names: Sequence[str]) -> list[str]:
    """The names the sandbox's own certificate is issued for: loopback, server_names, host."""
    names = ["localhost", "127.0.0.1", "::1", *server_names]
    if host not in {"", "0.0.0.0", "::"}:
        names.append(host)
    return names
