"""Mutual TLS: our client certificate from the registries file, and a sandbox (`--client-ca`)
that refuses a connection without a certificate signed by its CA, or with another one."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from domains.models import OutboxEntry, utcnow
from publishers.epp.session import ClientCertificateRefused, Endpoint, EppSession
from publishers.epp.transport import EppConnection
from tests.support.cli import interlink
from tests.support.environment import REPO
from tests.support.sandbox import (
    ClientCertificates,
    RecordingSandbox,
    alerting_tls_server,
    assert_frames_valid,
    client_certificates,
    endpoint_for,
)
from tests.support.sync import (
    CLIENT_ID,
    PASSWORD,
    assert_sandbox_equals_store,
    entries,
    move_tech,
    new_tech,
    registries,
    seed,
    statuses,
    sync_once,
    write_registries,
)


@pytest.fixture
def certs(tmp_path: Path) -> ClientCertificates:
    return client_certificates(tmp_path / "certs")


@pytest.fixture
async def mtls_sandbox(tmp_path: Path, certs: ClientCertificates):
    """The sandbox requiring client certificates signed by the registrar CA."""
    registry = RecordingSandbox(
        tmp_path / "sandbox.db", clients={CLIENT_ID: PASSWORD}, client_ca=certs.ca_file
    )
    await registry.start()
    try:
        yield registry
    finally:
        await registry.stop()


async def session_with(sandbox, **files) -> EppSession:
    session = EppSession(endpoint_for(sandbox, CLIENT_ID, password=PASSWORD, **files))
    await session.connect()
    return session


async def test_the_right_client_certificate_is_let_in(mtls_sandbox, certs) -> None:
    session = await session_with(
        mtls_sandbox, cert_file=str(certs.cert_file), key_file=str(certs.key_file)
    )
    assert (await session.login()).code == 1000
    await session.logout()
    assert_frames_valid(mtls_sandbox.received)


async def test_no_client_certificate_is_refused_and_said_so(mtls_sandbox) -> None:
    with pytest.raises(ClientCertificateRefused) as caught:
        await session_with(mtls_sandbox)
    # asyncio's TLS server sends no alert: the connection just ends, and the client says what
    # is likely.
    assert str(caught.value) == (
        f"the EPP server at 127.0.0.1:{mtls_sandbox.port} ended the connection before its "
        "greeting; it may require a TLS client certificate, and none is configured (cert_file "
        "and key_file in the registries file)"
    )
    assert mtls_sandbox.received == [] and mtls_sandbox.stats["greetings"] == 0


async def test_a_certificate_of_another_ca_is_refused(mtls_sandbox, certs) -> None:
    with pytest.raises(ClientCertificateRefused) as caught:
        await session_with(
            mtls_sandbox,
            cert_file=str(certs.stranger_cert_file),
            key_file=str(certs.stranger_key_file),
        )
    assert str(caught.value) == (
        f"the EPP server at 127.0.0.1:{mtls_sandbox.port} ended the connection before its "
        f"greeting; it may have refused our TLS client certificate ({certs.stranger_cert_file})"
    )
    assert mtls_sandbox.stats["greetings"] == 0


@pytest.mark.parametrize("presented", ["none", "stranger", "ours"])
async def test_a_server_that_says_why_is_quoted(tmp_path, certs, presented: str) -> None:
    """A registry's OpenSSL server sends a TLS alert when it refuses our certificate."""
    files = {
        "none": (None, None),
        "stranger": (certs.stranger_cert_file, certs.stranger_key_file),
        "ours": (certs.cert_file, certs.key_file),
    }[presented]
    cert_file, key_file = (None if f is None else str(f) for f in files)
    with alerting_tls_server(certs.ca_file, tmp_path) as (port, server_ca):
        endpoint = Endpoint(
            host="127.0.0.1",
            port=port,
            client_id=CLIENT_ID,
            password=PASSWORD,
            ca_file=str(server_ca),
            cert_file=cert_file,
            key_file=key_file,
            connect_timeout=5,
            read_timeout=5,
        )
        connection = await EppConnection.open(
            "127.0.0.1",
            port,
            ssl_context=endpoint.ssl_context(),
            client_cert=cert_file,
            connect_timeout=5,
        )
        try:
            if presented == "ours":
                assert await connection.read_frame() == b"<greeting/>"
                return
            with pytest.raises(ClientCertificateRefused) as caught:
                await connection.read_frame()
        finally:
            connection.abort()
    if presented == "none":
        assert str(caught.value) == (
            f"the EPP server at 127.0.0.1:{port} refused the TLS connection: it requires a "
            "client certificate and none is configured (cert_file and key_file in the "
            "registries file)"
        )
    else:
        assert str(caught.value) == (
            f"the EPP server at 127.0.0.1:{port} refused our TLS client certificate "
            f"({cert_file}): it does not know the CA that signed it"
        )


async def test_without_client_ca_no_certificate_is_needed(tmp_path) -> None:
    async with RecordingSandbox(tmp_path / "plain.db", clients={CLIENT_ID: PASSWORD}) as plain:
        session = await session_with(plain)
        assert (await session.login()).code == 1000
        await session.logout()


@pytest.mark.usefixtures("sandbox_password")
async def test_the_sync_presents_the_certificate_of_the_registries_file(
    store, mtls_sandbox, certs, tmp_path
) -> None:
    seeded = seed(store, mtls_sandbox, 2)
    for i, name in enumerate(seeded.names):
        move_tech(store, name, new_tech(60 + i))

    # Without the certificate: nothing goes, and the entries say why.
    bare = registries(write_registries(tmp_path / "bare.toml", mtls_sandbox), tmp_path)
    await sync_once(store, bare)
    assert statuses(store) == {"pending": 2}
    for entry in entries(store):
        assert "may require a TLS client certificate, and none is configured" in entry.last_error

    path = write_registries(
        tmp_path / "mtls.toml", mtls_sandbox, client_cert=(certs.cert_file, certs.key_file)
    )
    regs = registries(path, tmp_path)
    assert regs.registry_for("com").cert_file == certs.cert_file
    with store.write() as session:
        session.execute(update(OutboxEntry).values(next_attempt_at=utcnow()))
    await sync_once(store, regs)
    assert statuses(store) == {"done": 2}
    assert_sandbox_equals_store(store, mtls_sandbox, regs, seeded.names)
    assert_frames_valid(mtls_sandbox.received)


def test_the_command_names_a_missing_client_ca(tmp_path) -> None:
    result = interlink(
        "registry-sandbox", "--port", "0", "--db", str(tmp_path / "s.db"),
        "--client-ca", str(tmp_path / "nowhere.pem"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--client-ca" in result.stderr and "does not exist" in result.stderr


async def test_the_command_requires_client_certificates(tmp_path, certs) -> None:
    """`interlink registry-sandbox --client-ca CA`, a real process, as staff would run it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["INTERLINK_DATA_DIR"] = str(tmp_path / "data")
    process = subprocess.Popen(
        [sys.executable, "-c", "from tui.cli import main; main()", "registry-sandbox",
         "--port", "0", "--db", str(tmp_path / "cli.db"), "--client", f"{CLIENT_ID}:{PASSWORD}",
         "--client-ca", str(certs.ca_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Stop with"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert await asyncio.to_thread(ready.wait, 30), lines
        text = "".join(lines)
        assert f"client certificates: required, signed by {certs.ca_file}" in text
        port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", text)[1])
        ca_file = re.search(r"CA certificate: (\S+)", text)[1]

        running = SimpleNamespace(port=port, ca_file=ca_file)  # what endpoint_for reads
        with pytest.raises(ClientCertificateRefused, match="none is configured"):
            await session_with(running)
        session = await session_with(
            running, cert_file=str(certs.cert_file), key_file=str(certs.key_file)
        )
        assert (await session.login()).code == 1000
        await session.logout()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
    assert process.returncode == 0
