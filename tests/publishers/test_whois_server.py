"""The WHOIS server on loopback, with real clients: Debian's whois and python-whois.

The servers run through `Services` (what `interlink serve` runs) in a background thread, over
the test store (SQLite, and PostgreSQL when configured).
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest
import whois as python_whois

from domains.settings import Settings
from domains.store import Store
from tests.support.factories import contact_data
from tests.support.rdds import (
    LOOPBACK,
    ask,
    need_whois_client,
    query,
    rdds_settings,
    read_all,
    whois_cli,
    without_stamp,
)
from tui.commands.serve import Services


def test_debian_whois_prints_our_record(services: Services, seeded: dict[str, Any]) -> None:
    need_whois_client()
    out = whois_cli(services.whois_port, "kite-makers.com")
    assert "Domain Name: KITE-MAKERS.COM" in out
    assert "Registry Domain ID: D9137-COM" in out
    assert "Registrar: Interlink Networks Ltd" in out
    assert "Registrant Name: REDACTED FOR PRIVACY" in out
    assert "Registrant Country: DE" in out
    assert "Name Server: NS1.INTERLINK.EXAMPLE.NET" in out
    assert ">>> Last update of WHOIS database:" in out
    for private in ("Margarethe", "Quist", "m.quist@example.org", "901820", "Hauptstrasse"):
        assert private not in out
    # A U-label on the command line reaches the same record.
    idn = whois_cli(services.whois_port, "BÜCHER-HAUS.DE")
    assert f"Domain Name: {seeded['idn_alabel'].upper()}" in idn


def test_python_whois_parses_it(services: Services) -> None:
    need_whois_client()
    parsed = python_whois.whois(
        "kite-makers.com",
        command=True,
        executable_opts=["-h", "127.0.0.1", "-p", str(services.whois_port)],
    )
    assert parsed.domain_name == "KITE-MAKERS.COM"
    assert parsed.registrar == "Interlink Networks Ltd"
    assert parsed.creation_date is not None
    assert parsed.updated_date is not None
    assert parsed.expiration_date.year == 2031
    assert parsed.name_servers == ["NS1.INTERLINK.EXAMPLE.NET", "NS2.INTERLINK.EXAMPLE.NET"]
    assert parsed.name == "REDACTED FOR PRIVACY"  # the registrant's name
    assert parsed.state == "Berlin" and parsed.country == "DE"  # published by the policy
    assert "m.quist@example.org" not in (parsed.emails or [])


def test_any_form_of_the_name_gives_the_same_record(
    services: Services, seeded: dict[str, Any]
) -> None:
    port = services.whois_port
    reference = without_stamp(query(port, seeded["idn_alabel"]))
    assert reference.startswith(f"Domain Name: {seeded['idn_alabel'].upper()}\r\n")
    for form in ("bücher-haus.de", "BÜCHER-HAUS.DE", "XN--BCHER-HAUS-9DB.DE", "bücher-haus.de."):
        assert without_stamp(query(port, form)) == reference, form
    plain = query(port, "Kite-Makers.COM")
    assert plain.startswith("Domain Name: KITE-MAKERS.COM\r\n")
    assert plain.endswith("\r\n") and "\n" not in plain.replace("\r\n", "")


def test_an_unknown_domain_gets_no_match(services: Services) -> None:
    answer = query(services.whois_port, "not-ours.com")
    first, second, rest = answer.split("\r\n", 2)
    assert first == 'No match for "NOT-OURS.COM".'
    assert second.startswith(">>> Last update of WHOIS database: ") and second.endswith(" <<<")
    assert rest == ""


def test_a_query_without_line_end_is_answered_on_half_close(services: Services) -> None:
    with socket.create_connection(("127.0.0.1", services.whois_port), timeout=10) as sock:
        sock.sendall(b"kite-makers.com")
        sock.shutdown(socket.SHUT_WR)
        answer = read_all(sock)
    assert answer.startswith(b"Domain Name: KITE-MAKERS.COM\r\n")


def test_a_change_in_the_store_shows_in_the_next_answer(
    services: Services, store: Store, seeded: dict[str, Any]
) -> None:
    port = services.whois_port
    before = query(port, "kite-makers.com")
    assert "Registrant State/Province: Berlin" in before
    assert "Domain Status: ok " in before
    assert query(port, "kite-makers.com") is not None  # now cached
    handle = seeded["registrant"].handle
    contact = store.get_contact(handle)
    store.update_contact("staff:test", handle, contact.version, {"state": "Hamburg"})
    after = query(port, "kite-makers.com")
    assert "Registrant State/Province: Hamburg" in after
    domain = store.get_domain("kite-makers.com")
    store.update_domain(
        "staff:test", "kite-makers.com", domain.version, {"statuses": ["clientHold"]}
    )
    assert "Domain Status: clientHold https://icann.org/epp#clientHold" in query(
        port, "kite-makers.com"
    )


def test_every_answer_has_its_own_time(services: Services) -> None:
    first = query(services.whois_port, "kite-makers.com")
    time.sleep(1.1)
    second = query(services.whois_port, "kite-makers.com")  # the cached answer, restamped
    stamp = [line for line in second.split("\r\n") if line.startswith(">>> Last update")]
    assert len(stamp) == 1 and "1111-11-11" not in second
    assert without_stamp(first) == without_stamp(second) and first != second


def test_over_the_rate_limit_a_one_line_refusal(
    store: Store, settings: Settings, seeded: dict[str, Any]
) -> None:
    limited = rdds_settings(
        settings,
        rate_limit={"per_address_rate": 0.001, "per_address_burst": 2, "allow_list": []},
    )
    with Services(store, limited, whois_port=0, http_port=0, portal=False) as running:
        answers = [query(running.whois_port, "kite-makers.com") for _ in range(3)]
        assert answers[0].startswith("Domain Name:") and answers[1].startswith("Domain Name:")
        assert answers[2].startswith("Error: rate limit exceeded; try again in ")
        assert answers[2].count("\r\n") == 1 and answers[2].endswith("seconds.\r\n")
    exempt = rdds_settings(
        settings,
        rate_limit={"per_address_rate": 0.001, "per_address_burst": 2, "allow_list": LOOPBACK},
    )
    with Services(store, exempt, whois_port=0, http_port=0, portal=False) as running:
        for _ in range(10):
            assert query(running.whois_port, "kite-makers.com").startswith("Domain Name:")


def test_connections_over_the_maximum_are_refused(
    store: Store, settings: Settings, seeded: dict[str, Any]
) -> None:
    narrow = rdds_settings(settings, whois_max_connections=2)
    with Services(store, narrow, whois_port=0, http_port=0, portal=False) as running:
        port = running.whois_port
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
        try:
            time.sleep(0.2)  # let the server accept both
            assert ask(port, b"kite-makers.com\r\n") == (
                b"Error: too many connections; try again later.\r\n"
            )
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.2)
        assert query(port, "kite-makers.com").startswith("Domain Name:")


def test_logs_carry_no_personal_data(
    services: Services, caplog: pytest.LogCaptureFixture, seeded: dict[str, Any]
) -> None:
    with caplog.at_level(logging.DEBUG):
        query(services.whois_port, "kite-makers.com")
        query(services.whois_port, "\x00\x01binary")
        query(services.whois_port, "not-ours.com")
    text = caplog.text
    for private in ("Margarethe", "Quist", "m.quist@example.org", "127.0.0.1"):
        assert private not in text


def test_the_lean_read_path_builds_the_same_view_as_the_store(
    store: Store, seeded: dict[str, Any]
) -> None:
    """public_lookup reads with its own prepared query; the view must be the store's exactly."""
    from datetime import UTC, datetime

    from publishers.policy import build_view
    from publishers.public_lookup import PublicLookup
    from publishers.whois import render_whois

    consented = store.create_contact(
        "staff:test",
        contact_data(
            kind="organization",
            org="Kite Makers GmbH",
            street=["Hauptstrasse 5", "Hinterhaus"],
            consent_fields=["name", "email"],
            consent_at="2026-01-02T03:04:05Z",
            consent_method="portal",
        ),
    )
    store.assign_contact("staff:test", "kite-makers.com", "admin", consented.handle)
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    lookup = PublicLookup(store, lambda view: render_whois(view).encode())
    try:
        for name in ("kite-makers.com", seeded["idn"]):
            stored = store.domain_record(name)
            lean = lookup.view(name, now=now)
            assert lean == build_view(
                stored, profile=lookup.publications, registrar=lookup.registrar, now=now
            )
            assert lean is not None and lean.domain.created == stored.domain.created_at.replace(
                microsecond=0
            )
        assert lookup.view("not-ours.com") is None
    finally:
        lookup.close()
