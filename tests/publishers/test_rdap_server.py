"""The RDAP server on loopback (uvicorn, under /rdap beside the portal), asked with httpx."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from domains.settings import Settings
from domains.store import Store
from tests.support.rdap_schema import rdap_answer
from tests.support.rdds import LOOPBACK, check_redactions, rdds_settings
from tui.commands.serve import Services

RDAP_JSON = "application/rdap+json"
# The same fixtures as the WHOIS tests: the seeded store and the running services.


def get(services: Services, path: str, method: str = "GET") -> httpx.Response:
    """One request to the running HTTP server (a fresh client: nothing shared between calls)."""
    with httpx.Client(base_url=services.http_url, timeout=10) as client:
        return client.request(method, path)


def assert_rdap(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == RDAP_JSON
    assert response.headers["access-control-allow-origin"] == "*"
    return rdap_answer(response.content)


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    body = assert_rdap(response, status)
    assert body["errorCode"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["description"], list) and all(
        isinstance(line, str) for line in body["description"]
    )
    assert "Traceback" not in response.text
    return body


def without_time(body: dict[str, Any]) -> dict[str, Any]:
    events = [e for e in body["events"] if e["eventAction"] != "last update of RDAP database"]
    return {**body, "events": events}


def test_httpx_gets_a_valid_rdap_answer(
    services: Services, settings: Settings, seeded: dict[str, Any]
) -> None:
    body = assert_rdap(get(services, "/rdap/domain/kite-makers.com"), 200)
    assert body["objectClassName"] == "domain"
    assert body["ldhName"] == "kite-makers.com"
    assert body["handle"] == "D9137-COM"
    assert "redacted" in body["rdapConformance"]
    assert [ns["ldhName"] for ns in body["nameservers"]] == [
        "ns1.interlink.example.net",
        "ns2.interlink.example.net",
    ]
    (updated,) = [e for e in body["events"] if e["eventAction"] == "last update of RDAP database"]
    assert not updated["eventDate"].startswith("1111")
    assert check_redactions(body, settings) >= 10
    text = get(services, "/rdap/domain/kite-makers.com").text
    for private in ("Margarethe", "Quist", "m.quist@example.org", "901820", "Hauptstrasse"):
        assert private not in text


def test_any_form_of_the_name_gives_the_same_object(
    services: Services, seeded: dict[str, Any]
) -> None:
    reference = without_time(
        assert_rdap(get(services, f"/rdap/domain/{seeded['idn_alabel']}"), 200)
    )
    assert reference["unicodeName"] == seeded["idn"]
    for form in ("bücher-haus.de", "BÜCHER-HAUS.DE", "XN--BCHER-HAUS-9DB.DE", "bücher-haus.de."):
        assert without_time(assert_rdap(get(services, f"/rdap/domain/{form}"), 200)) == reference


def test_head_gives_the_headers_only(services: Services) -> None:
    full = get(services, "/rdap/domain/kite-makers.com")
    head = get(services, "/rdap/domain/kite-makers.com", "HEAD")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == RDAP_JSON
    assert head.headers["access-control-allow-origin"] == "*"
    assert int(head.headers["content-length"]) == len(full.content)
    missing = get(services, "/rdap/domain/not-ours.com", "HEAD")
    assert missing.status_code == 404 and missing.content == b""
    assert get(services, "/rdap/help", "HEAD").status_code == 200


def test_an_answer_ready_at_once_is_sent_as_the_route_sends_it(
    store: Store, settings: Settings, seeded: dict[str, Any]
) -> None:
    """The guard's shortcut for answers ready at once (rendered ahead or cached) gives the same
    status, headers and body as the FastAPI route that builds an answer."""
    live = rdds_settings(settings, publish_answers=False)
    with Services(store, live, whois_port=0, http_port=0) as running:
        lookup = running._lookups[-1]

        def both(path: str, method: str) -> tuple[httpx.Response, httpx.Response]:
            lookup.clear()
            built = get(running, path, method)  # not cached: the route builds it
            hits = lookup.stats["hits"]
            ready = get(running, path, method)  # cached and current: the guard sends it
            # (On PostgreSQL no answer is ready at once: the route reads each in a thread.)
            assert lookup.stats["hits"] == hits + (1 if store.is_sqlite else 0)
            return built, ready

        def headers(response: httpx.Response) -> list[tuple[bytes, bytes]]:
            return [(k, v) for k, v in response.headers.raw if k.lower() != b"date"]

        for form in ("kite-makers.com", "BÜCHER-HAUS.DE"):
            built, ready = both(f"/rdap/domain/{form}", "GET")
            assert (built.status_code, headers(built)) == (200, headers(ready))
            assert without_time(rdap_answer(built.content)) == without_time(
                rdap_answer(ready.content)
            )
            built, ready = both(f"/rdap/domain/{form}", "HEAD")
            assert (built.status_code, headers(built), built.content) == (
                200,
                headers(ready),
                b"",
            )
            assert ready.content == b""


def test_help(services: Services) -> None:
    body = assert_rdap(get(services, "/rdap/help"), 200)
    assert "rdap_level_0" in body["rdapConformance"]
    assert body["notices"][0]["title"] == "Help"


def test_not_ours_is_404_and_a_bad_name_is_400(services: Services) -> None:
    body = assert_error(get(services, "/rdap/domain/not-ours.com"), 404)
    assert "not-ours.com" in body["description"][0]
    for bad in ("a b.com", "-bad-.com", "com", "x" * 64 + ".com", "kite_makers.com"):
        assert_error(get(services, f"/rdap/domain/{bad}"), 400)


def test_other_paths_and_methods_get_rdap_errors(services: Services) -> None:
    assert_error(get(services, "/rdap/nameserver/ns1.example.net"), 404)
    assert_error(get(services, "/rdap/"), 404)
    response = get(services, "/rdap/domain/kite-makers.com", "POST")
    assert_error(response, 405)
    assert "GET" in response.headers.get("allow", "")


def test_the_portal_is_served_beside_rdap(services: Services) -> None:
    response = get(services, "/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_over_the_rate_limit_429_with_retry_after(
    store: Store, settings: Settings, seeded: dict[str, Any]
) -> None:
    limited = rdds_settings(
        settings,
        rate_limit={"per_address_rate": 0.01, "per_address_burst": 2, "allow_list": []},
    )
    with Services(store, limited, whois_port=0, http_port=0, portal=False) as running:
        assert get(running, "/rdap/domain/kite-makers.com").status_code == 200
        assert get(running, "/rdap/help").status_code == 200
        refused = get(running, "/rdap/domain/kite-makers.com")
        body = assert_error(refused, 429)
        assert int(refused.headers["retry-after"]) >= 1
        assert "try again" in body["description"][0]
    exempt = rdds_settings(
        settings,
        rate_limit={"per_address_rate": 0.01, "per_address_burst": 2, "allow_list": LOOPBACK},
    )
    with Services(store, exempt, whois_port=0, http_port=0, portal=False) as running:
        for _ in range(6):
            assert get(running, "/rdap/domain/kite-makers.com").status_code == 200


def test_a_change_in_the_store_shows_in_the_next_answer(
    services: Services, store: Store, seeded: dict[str, Any]
) -> None:
    def registrant_state() -> str:
        body = assert_rdap(get(services, "/rdap/domain/kite-makers.com"), 200)
        (entity,) = [e for e in body["entities"] if e["roles"] == ["registrant"]]
        (adr,) = [m for m in entity["vcardArray"][1] if m[0] == "adr"]
        return adr[3][4]

    assert registrant_state() == "Berlin"
    assert registrant_state() == "Berlin"  # cached
    handle = seeded["registrant"].handle
    contact = store.get_contact(handle)
    store.update_contact("staff:test", handle, contact.version, {"state": "Hamburg"})
    assert registrant_state() == "Hamburg"
    domain = store.get_domain("kite-makers.com")
    store.update_domain(
        "staff:test", "kite-makers.com", domain.version, {"statuses": ["clientTransferProhibited"]}
    )
    body = assert_rdap(get(services, "/rdap/domain/kite-makers.com"), 200)
    assert body["status"] == ["client transfer prohibited"]


def test_an_internal_failure_is_a_500_error_object_without_traceback(
    services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    lookup = services._lookups[-1]  # the RDAP lookup (made after the WHOIS one)

    async def broken(name: str) -> None:
        raise RuntimeError("boom: a secret detail")

    async def not_ready(name: str) -> None:
        return None  # nothing ready at once: the route answers (on either backend)

    monkeypatch.setattr(lookup, "answer_now", lambda name: None)
    monkeypatch.setattr(lookup, "answer_ready", not_ready)
    monkeypatch.setattr(lookup, "answer_alabel", broken)
    with caplog.at_level(logging.INFO):
        response = get(services, "/rdap/domain/kite-makers.com")
    assert_error(response, 500)
    assert "boom" not in response.text
    assert "Traceback" not in caplog.text and "secret detail" not in caplog.text
    monkeypatch.undo()
    assert get(services, "/rdap/domain/kite-makers.com").status_code == 200
