"""`interlink serve`, the real command in a child process: WHOIS, RDAP and the portal together.

Real clients nobody here wrote ask it: Debian's whois, python-whois, httpx. It says where each
service listens, a change in the store shows in the next answer of both servers, and SIGTERM or
SIGINT stop it cleanly (exit 0, no traceback).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import whois as python_whois

from domains.settings import Settings
from domains.store import Store
from tests.support.environment import REPO, REQUIRE_ALL
from tests.support.rdap_schema import rdap_answer
from tests.support.rdds import (
    Server,
    ask,
    check_redactions,
    need_whois_client,
    rdds_settings,
    seed,
    serve_env,
    start_server,
    stop_server,
    whois_cli,
)
from tui.commands.serve import Services

RDAP_JSON = "application/rdap+json"


def serve_is_registered() -> bool:
    """True when `interlink serve` exists (registered eagerly or through the lazy group)."""
    import click
    import typer

    from tui.cli import app

    group = typer.main.get_command(app)
    if not hasattr(group, "get_command"):  # a group (Typer's own click classes)
        return False
    return group.get_command(click.Context(group), "serve") is not None


def need_registered() -> None:
    if not serve_is_registered():
        message = "'serve' is not registered in tui/cli.py yet"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "tui.cli", "serve", *args]


@pytest.fixture
def seeded_store(store: Store) -> dict[str, Any]:
    return seed(store)


@pytest.fixture
def server(
    store: Store, settings: Settings, seeded_store: dict[str, Any], tmp_path: Path
) -> Iterator[Server]:
    """`interlink serve` on free ports over the test store."""
    need_registered()
    command = cli("--whois-port", "0", "--http-port", "0", "--db", settings.database_url)
    running = start_server(command, serve_env(tmp_path))
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(10)


def rdap(server: Server, name: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{server.http_port}/rdap/domain/{name}", timeout=10)


def test_serve_says_where_each_service_listens(server: Server) -> None:
    text = "".join(server.output)
    assert f"WHOIS  listening on 127.0.0.1:{server.whois_port}" in text
    assert f"RDAP   listening on http://127.0.0.1:{server.http_port}/rdap/" in text
    assert f"Portal listening on http://127.0.0.1:{server.http_port}/" in text
    code, err = stop_server(server)
    assert code == 0, err
    assert "Traceback" not in err
    assert "Stopped." in "".join(server.output)


def test_real_clients_against_serve(
    server: Server, settings: Settings, store: Store, seeded_store: dict[str, Any]
) -> None:
    need_whois_client()
    out = whois_cli(server.whois_port, "kite-makers.com")
    assert "Domain Name: KITE-MAKERS.COM" in out
    assert "Registrant Name: REDACTED FOR PRIVACY" in out
    assert "Quist" not in out
    parsed = python_whois.whois(
        "kite-makers.com",
        command=True,
        executable_opts=["-h", "127.0.0.1", "-p", str(server.whois_port)],
    )
    assert parsed.domain_name == "KITE-MAKERS.COM"
    assert parsed.registrar == settings.registrar.name
    assert parsed.creation_date is not None and parsed.expiration_date.year == 2031
    assert parsed.name_servers == ["NS1.INTERLINK.EXAMPLE.NET", "NS2.INTERLINK.EXAMPLE.NET"]
    assert parsed.name == "REDACTED FOR PRIVACY"

    response = rdap(server, "kite-makers.com")
    assert response.status_code == 200
    assert response.headers["content-type"] == RDAP_JSON
    assert response.headers["access-control-allow-origin"] == "*"
    body = rdap_answer(response.content, "domainAnswer")
    assert body["ldhName"] == "kite-makers.com"
    assert check_redactions(body, settings) >= 10
    assert "Quist" not in response.text
    portal = httpx.get(f"http://127.0.0.1:{server.http_port}/", timeout=10)
    assert portal.status_code == 200 and portal.headers["content-type"].startswith("text/html")

    # A change in the store shows in the next answer of both servers.
    handle = seeded_store["registrant"].handle
    contact = store.get_contact(handle)
    store.update_contact("staff:test", handle, contact.version, {"state": "Hamburg"})
    domain = store.get_domain("kite-makers.com")
    store.update_domain(
        "staff:test", "kite-makers.com", domain.version, {"statuses": ["clientHold"]}
    )
    out = whois_cli(server.whois_port, "kite-makers.com")
    assert "Registrant State/Province: Hamburg" in out
    assert "Domain Status: clientHold" in out
    body = rdap_answer(rdap(server, "kite-makers.com").content, "domainAnswer")
    assert body["status"] == ["client hold"]
    (registrant,) = [e for e in body["entities"] if e["roles"] == ["registrant"]]
    (adr,) = [m for m in registrant["vcardArray"][1] if m[0] == "adr"]
    assert adr[3][4] == "Hamburg"

    assert server.rss() < 200 * 1024  # kB: each server under 200 MB resident (architecture §10)
    code, err = stop_server(server)
    assert code == 0 and "Traceback" not in err, err


def test_sigint_stops_cleanly(server: Server) -> None:
    assert ask(server.whois_port, b"kite-makers.com\r\n").startswith(b"Domain Name:")
    server.process.send_signal(signal.SIGINT)
    code, err = stop_server(server)
    assert code == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def test_a_port_in_use_is_one_clear_line(
    settings: Settings, seeded_store: dict[str, Any], tmp_path: Path
) -> None:
    need_registered()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            cli("--whois-port", str(port), "--http-port", "0", "--db", settings.database_url),
            cwd=REPO,
            env=serve_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout


def test_a_bad_port_is_refused(settings: Settings, tmp_path: Path) -> None:
    need_registered()
    done = subprocess.run(
        cli("--whois-port", "70000", "--db", settings.database_url),
        cwd=REPO,
        env=serve_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "70000" in done.stderr and "Traceback" not in done.stderr


def test_the_services_runner_starts_and_stops_again(
    store: Store, settings: Settings, seeded_store: dict[str, Any]
) -> None:
    """What `interlink demo` reuses: start in the background, ports, stop, ports released."""
    runner = Services(store, rdds_settings(settings), whois_port=0, http_port=0)
    with runner:
        assert runner.whois_port and runner.http_port
        assert ask(runner.whois_port, b"kite-makers.com\r\n").startswith(b"Domain Name:")
        assert httpx.get(f"{runner.rdap_url}domain/kite-makers.com", timeout=10).status_code == 200
        assert any("/rdap/" in line for line in runner.describe())
        ports = (runner.whois_port, runner.http_port)
    for port in ports:
        with socket.socket() as again:
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.1", port))  # released
    # And it can be started once more on the same ports.
    rerun = Services(store, rdds_settings(settings), whois_port=ports[0], http_port=ports[1])
    with rerun:
        assert ask(rerun.whois_port, b"kite-makers.com\r\n").startswith(b"Domain Name:")


def test_the_command_module_runs_on_its_own(
    settings: Settings, seeded_store: dict[str, Any], tmp_path: Path
) -> None:
    """`python -m tui.commands.serve` is the same command (used before it was registered)."""
    env = serve_env(tmp_path)
    env.pop("INTERLINK_REQUIRE_ALL", None)
    command = [sys.executable, "-m", "tui.commands.serve", "--whois-port", "0", "--http-port", "0"]
    running = start_server([*command, "--db", settings.database_url, "--no-portal"], env)
    try:
        assert ask(running.whois_port, b"kite-makers.com\r\n").startswith(b"Domain Name:")
        portal = httpx.get(f"http://127.0.0.1:{running.http_port}/", timeout=10)
        assert portal.status_code == 404
    finally:
        code, err = stop_server(running)
    assert code == 0 and "Traceback" not in err, err
