"""Hostile input against the real `serve` command in a child process (WHOIS and RDAP).

Each test does one hostile thing, then checks that the server still answers correctly and that
its resident memory (VmRSS of the child) stayed bounded. The server runs with a 1 s read
timeout so the slow-client test waits no longer than that.
"""

from __future__ import annotations

import contextlib
import resource
import shutil
import socket
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from domains.settings import Settings
from domains.store import Store
from tests.support.rdap_schema import rdap_answer
from tests.support.rdds import (
    MAX_CONNECTIONS,
    READ_TIMEOUT,
    Server,
    ask,
    read_all,
    seed,
    serve_env,
    start_server,
    stop_server,
)

RSS_GROWTH_LIMIT_KB = 24 * 1024
RSS_LIMIT_KB = 200 * 1024
RDAP_JSON = "application/rdap+json"


@pytest.fixture(scope="module")
def seeded_url(
    tmp_path_factory: pytest.TempPathFactory, migrated_templates: dict[str, str]
) -> Iterator[str]:
    """A SQLite store with the test domains (one per module: the child reads it)."""
    folder = tmp_path_factory.mktemp("hostile")
    target = folder / "store.db"
    shutil.copyfile(migrated_templates["sqlite"], target)
    url = f"sqlite:///{target}"
    store = Store.open(settings=Settings(database_url=url, data_dir=folder / "data"))
    seed(store)
    store.close()
    yield url


@pytest.fixture(scope="module")
def server(seeded_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`serve` in a child process (the command's own module, so it runs before registration)."""
    tmp = tmp_path_factory.mktemp("hostile-serve")
    command = [sys.executable, "-m", "tui.commands.serve", "--whois-port", "0", "--http-port", "0"]
    running = start_server([*command, "--db", seeded_url], serve_env(tmp))
    try:
        warm_up(running)
        yield running
    finally:
        code, err = stop_server(running)
        assert code == 0, err
        assert "Traceback" not in err


def warm_up(server: Server) -> None:
    for _ in range(20):
        assert_serving(server)


def assert_serving(server: Server) -> None:
    """The server still answers WHOIS and RDAP correctly."""
    answer = ask(server.whois_port, b"kite-makers.com\r\n")
    assert answer.startswith(b"Domain Name: KITE-MAKERS.COM\r\n"), answer[:200]
    assert b"REDACTED FOR PRIVACY" in answer
    response = httpx.get(
        f"http://127.0.0.1:{server.http_port}/rdap/domain/kite-makers.com", timeout=10
    )
    assert response.status_code == 200
    assert rdap_answer(response.content)["ldhName"] == "kite-makers.com"


@pytest.fixture
def bounded(server: Server) -> Iterator[Server]:
    """Checks after the test: still serving, memory within bounds."""
    before = server.rss()
    yield server
    assert server.process.poll() is None, "the server died"
    assert_serving(server)
    after = server.rss()
    assert after - before < RSS_GROWTH_LIMIT_KB, (before, after)
    assert after < RSS_LIMIT_KB, after


def one_line_error(answer: bytes) -> str:
    """The answer is exactly one line starting with 'Error: ', ending in CRLF; its text."""
    assert answer.startswith(b"Error: "), answer[:200]
    assert answer.endswith(b"\r\n") and answer.count(b"\n") == 1, answer
    text = answer.decode("ascii")
    assert "Traceback" not in text
    return text


# -- WHOIS ------------------------------------------------------------------------------


def test_binary_bytes(bounded: Server) -> None:
    for payload in (
        bytes(range(256)),
        bytes(range(255, -1, -1)) + b"\r\n",
        b"\xff\xfe\xfd\xfc\r\n",
        b"\xc0\xae\xc0\xae.com\r\n",  # overlong UTF-8
        b"\xed\xa0\x80.com\r\n",  # a lone surrogate in UTF-8
    ):
        text = one_line_error(ask(bounded.whois_port, payload))
        assert "UTF-8" in text or "control" in text, text


def test_a_one_megabyte_line(bounded: Server) -> None:
    with socket.create_connection(("127.0.0.1", bounded.whois_port), timeout=10) as sock:
        # The server may stop reading: what it said is still there to read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"a" * (1024 * 1024) + b".com\r\n")
        answer = read_all(sock)
    assert one_line_error(answer) == "Error: query longer than 512 bytes.\r\n"
    # Exactly at the limit it is still a query (a long but invalid name).
    at_limit = ask(bounded.whois_port, b"a" * 508 + b".com\r\n")
    assert "longer than 512" not in one_line_error(at_limit)


def test_a_line_that_never_ends(bounded: Server) -> None:
    with socket.create_connection(("127.0.0.1", bounded.whois_port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"kite-makers")  # ... and nothing more, ever
        answer = read_all(sock)
        waited = time.monotonic() - started
    assert one_line_error(answer) == "Error: no query line received in time.\r\n"
    assert READ_TIMEOUT - 0.2 <= waited < READ_TIMEOUT + 3, waited


def test_a_thousand_connections_at_once(bounded: Server) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))

    # Open all thousand (each sends its query at once), then read every answer.
    socks = []
    try:
        for _ in range(1000):
            sock = socket.create_connection(("127.0.0.1", bounded.whois_port), timeout=30)
            socks.append(sock)
            sock.sendall(b"kite-makers.com\r\n")
        answers = [read_all(sock) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    answered = sum(a.startswith(b"Domain Name: KITE-MAKERS.COM\r\n") for a in answers)
    refused = sum(a == b"Error: too many connections; try again later.\r\n" for a in answers)
    # On a loaded machine a connection may wait in the accept queue past the read timeout.
    late = sum(a == b"Error: no query line received in time.\r\n" for a in answers)
    odd = [a[:80] for a in answers if not a.startswith((b"Domain Name:", b"Error: "))]
    assert answered + refused + late == 1000, odd[:5]
    assert answered >= MAX_CONNECTIONS // 2, (answered, refused, late)


def test_nul_and_control_characters(bounded: Server) -> None:
    for query in (
        b"kite\x00makers.com",
        b"\x00",
        b"kite-makers.com\x1b[2J",
        b"\x07\x08\x7f",
        "kite-makers.com\u0085".encode(),  # NEL, a C1 control
        "kite\u2028makers.com".encode(),  # LINE SEPARATOR
        "kite\u200bmakers.com".encode(),  # ZERO WIDTH SPACE
        "\u202ekite-makers.com".encode(),  # RIGHT-TO-LEFT OVERRIDE
        b"kite-makers.com\rinjected: line",
        b"\t",
        b"",
    ):
        text = one_line_error(ask(bounded.whois_port, query + b"\r\n"))
        assert "control" in text or "space" in text or "empty" in text or "valid" in text, text


def test_an_over_long_label_and_name(bounded: Server) -> None:
    # In the product's words, not idna's ("Label too long").
    label = one_line_error(ask(bounded.whois_port, b"a" * 64 + b".com\r\n"))
    assert "is 64 characters long; at most 63 are allowed" in label, label
    long_name = ".".join(["abcdefghij"] * 25) + ".com"  # 278 octets, every label fine
    name = one_line_error(ask(bounded.whois_port, long_name.encode() + b"\r\n"))
    assert "278 characters long; at most 253 are allowed" in name, name
    assert "not a full domain name" in one_line_error(ask(bounded.whois_port, b"com\r\n"))


def test_mixed_script_idn(bounded: Server) -> None:
    for query in ("pаypal.com", "kαλημέρα.gr", "bücher-хаус.de", "аpple.com"):
        text = one_line_error(ask(bounded.whois_port, query.encode() + b"\r\n"))
        assert "mixes scripts" in text, text
    # One script per label is fine: a plain No match.
    assert ask(bounded.whois_port, "καλημέρα.gr\r\n".encode()).startswith(b'No match for "XN--')
    assert ask(bounded.whois_port, "日本語ドメイン.jp\r\n".encode()).startswith(b"No match for")


# -- RDAP -------------------------------------------------------------------------------


def raw_http(port: int, target: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request with the target sent byte for byte (no client normalisation)."""
    request = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode("latin-1"))
        data = read_all(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


TRICKS = (
    "/rdap/domain/..%2f..%2fetc%2fpasswd",
    "/rdap/domain/..%2F..%2F..%2Fetc%2Fpasswd",
    "/rdap/domain/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/rdap/domain/%252e%252e%252fetc%252fpasswd",
    "/rdap/domain/%25252e%25252e%25252f",
    "/rdap/domain/%00",
    "/rdap/domain/kite-makers.com%00",
    "/rdap/domain/kite-makers.com%00.evil.com",
    "/rdap/domain/kite-makers.com%0d%0aSet-Cookie:%20x=1",
    "/rdap/domain/kite-makers.com/../../../etc/passwd",
    "/rdap/domain/../../../etc/passwd",
    "/rdap/domain/..",
    "/rdap/domain/.",
    "/rdap/domain/",
    "/rdap/domain/%c0%ae%c0%ae%c0%af",
    "/rdap/domain/%ff%fe",
    "/rdap/domain/%ef%bc%8e%ef%bc%8e%ef%bc%8fetc",  # fullwidth dots and slash
    "/rdap/domain/kite-makers.com%2f..%2f..%2f",
    "/rdap/domain/kite-makers.com%5c..%5c..%5cwindows",
    "/rdap/domain/%2fetc%2fpasswd",
    "/rdap/domain/xn--.com",
    "/rdap/domain/" + "a" * 64 + ".com",
    "/rdap/domain/" + "%41" * 3000,
    "/rdap/domain/p%D0%B0ypal.com",  # mixed-script IDN, URL-encoded
    "/rdap/domain/kite%20makers.com",
    "/rdap/..%2fdomain%2fkite-makers.com",
    "/rdap/%2e%2e/%2e%2e/etc/passwd",
    "/rdap/domain%2fkite-makers.com",
)


def test_url_encoded_tricks_and_path_traversal(bounded: Server) -> None:
    for target in TRICKS:
        status, headers, body = raw_http(bounded.http_port, target)
        assert status in (400, 404), (target, status, body[:200])
        assert headers["content-type"] == RDAP_JSON, (target, headers)
        assert headers["access-control-allow-origin"] == "*", target
        error = rdap_answer(body, "errorAnswer")
        assert error["errorCode"] == status and error["title"] and error["description"]
        assert b"root:" not in body and b"Traceback" not in body
        assert "set-cookie" not in headers
    # httpx removes dot segments itself; what stays under /rdap gets RDAP errors, what leaves
    # it (/etc/passwd) is the portal's 404 page, with nothing from any file.
    with httpx.Client(base_url=f"http://127.0.0.1:{bounded.http_port}", timeout=10) as client:
        for target in (
            "/rdap/domain/%2e%2e%2fetc",
            "/rdap/domain/./x/../%00",
            "/rdap/x/../help/..",
        ):
            response = client.get(target)
            assert response.status_code in (400, 404), target
            assert response.headers["content-type"] == RDAP_JSON, target
            assert rdap_answer(response.content, "errorAnswer")["errorCode"] == response.status_code
        outside = client.get("/rdap/domain/../../etc/passwd")
        assert outside.status_code == 404 and "root:" not in outside.text
