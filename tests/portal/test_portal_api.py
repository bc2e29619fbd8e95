"""The JSON API under /api/v1: the same rules as the pages, problem documents for errors.

Every (method, path) of the OpenAPI schema is named by a test's @covers, and that test must
really call it (checked when the test ends); a schema endpoint no test covers fails the suite.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from domains.changes import Workflow
from domains.models import utcnow
from domains.store import Store
from portal.render import PROBLEM_JSON
from tests.factories import make_domain
from tests.portal.conftest import MASK_RE, Portal, make_portal, requests_of, snapshot

API = "/api/v1"
CONTACT = {
    "org": "Northwind Hosting GmbH",
    "name": "Greta Nord",
    "email": "noc@northwind.example.net",
    "voice": "+49 40 609040",
    "street": ["Speicherstadt 1"],
    "city": "Hamburg",
    "postal_code": "20457",
    "country": "DE",
    "consent": ["org", "email"],
}
#: (METHOD, schema path) -> the tests that cover it.
COVERED: dict[tuple[str, str], list[str]] = {}


def covers(method: str, path: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test as exercising an endpoint of the schema (verified when the test runs)."""

    def mark(test: Callable[..., Any]) -> Callable[..., Any]:
        COVERED.setdefault((method.upper(), API + path), []).append(test.__name__)
        test.covers = [*getattr(test, "covers", []), (method.upper(), API + path)]  # type: ignore[attr-defined]
        return test

    return mark


def _template_re(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$")


@pytest.fixture
def api(portal: Portal, request: pytest.FixtureRequest) -> Iterator[Portal]:
    """The portal's client, recording which endpoints the test calls; no cookies are kept."""
    called: set[tuple[str, str]] = set()
    wanted = getattr(request.function, "covers", [])

    def record(response: httpx.Response) -> None:
        called.add((response.request.method, response.request.url.path))

    portal.client.event_hooks["response"].append(record)
    yield portal
    assert not portal.client.cookies, "the API must not set cookies"
    for method, template in wanted:
        pattern = _template_re(template)
        assert any(m == method and pattern.match(p) for m, p in called), (
            f"{request.function.__name__} is marked as covering {method} {template} "
            "but never called it"
        )


def body(domain: str, **contact: Any) -> dict[str, Any]:
    return {"domain": domain, "technical_contact": {**CONTACT, **contact}}


def submit(portal: Portal, domain: str, **contact: Any) -> httpx.Response:
    return portal.client.post(f"{API}/change-requests", json=body(domain, **contact))


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert "Traceback" not in response.text
    return problem


def token_of(store: Store, domain: str, days_ago: int = 0) -> str:
    outcome = Workflow(store).submit(
        actor="customer:portal",
        domain_name=domain,
        proposal={k: v for k, v in CONTACT.items() if k != "consent"},
        channel="portal",
        now=utcnow() - timedelta(days=days_ago),
    )
    assert outcome.token
    return outcome.token


# -- the schema --------------------------------------------------------------------------------


def schema_of(portal: Portal) -> dict[str, Any]:
    response = portal.client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_the_openapi_schema_is_valid(lite: Portal) -> None:
    schema = schema_of(lite)
    assert schema["openapi"].startswith("3.1")
    assert schema["paths"], "the schema has no paths"
    for path, operations in schema["paths"].items():
        assert path.startswith(f"{API}/"), f"{path} is not an API path"
        for method, operation in operations.items():
            assert method in ("get", "post"), (method, path)
            assert operation["responses"], (method, path)
            for code, answer in operation["responses"].items():
                if int(code) >= 400:
                    assert list(answer["content"]) == [PROBLEM_JSON], (method, path, code)
                    schema_ref = answer["content"][PROBLEM_JSON]["schema"]["$ref"]
                    assert schema_ref == "#/components/schemas/Problem"
    body_schema = schema["components"]["schemas"]["TechnicalContactIn"]["properties"]
    assert body_schema["org"]["maxLength"] == 255 and body_schema["country"]["maxLength"] == 2
    try:
        from openapi_spec_validator import validate
    except ImportError:
        if os.environ.get("INTERLINK_REQUIRE_ALL") == "1":
            raise
        pytest.skip("openapi-spec-validator is not installed; the structure was checked above")
    validate(schema)


def test_every_endpoint_in_the_schema_is_covered_by_a_test(lite: Portal) -> None:
    schema = schema_of(lite)
    in_schema = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
    }
    missing = in_schema - set(COVERED)
    assert not missing, f"endpoints no test covers: {sorted(missing)}"
    stale = set(COVERED) - in_schema
    assert not stale, f"tests cover endpoints the schema no longer has: {sorted(stale)}"
    names = {name for tests in COVERED.values() for name in tests}
    assert all(callable(globals().get(name)) for name in names)


def test_the_html_pages_are_not_in_the_schema(lite: Portal) -> None:
    paths = schema_of(lite)["paths"]
    assert not any(p in paths for p in ("/", "/change", "/confirm/{token}", "/status/{reference}"))


# -- submit ------------------------------------------------------------------------------------


@covers("post", "/change-requests")
def test_a_valid_request_is_accepted_with_202_and_mailed_to_the_registrant(
    api: Portal, store: Store
) -> None:
    _, registrant = make_domain(store, "api-move.com")
    response = api.client.post(f"{API}/change-requests", json=body("API-Move.com"))
    assert response.status_code == 202, response.text
    answer = response.json()
    assert set(answer) == {"message", "domain", "registrant_email_masked", "expires_in_days"}
    assert answer["domain"] == "api-move.com"
    assert re.fullmatch(MASK_RE, answer["registrant_email_masked"])
    assert answer["registrant_email_masked"][0] == registrant.email[0]
    assert answer["message"].startswith("If api-move.com is registered with Interlink")
    assert "set-cookie" not in response.headers
    (request,) = requests_of(store)
    assert request.state == "submitted" and request.proposed["consent_fields"] == ["org", "email"]
    assert request.reference not in response.text
    (mail,) = api.mails()
    assert mail["To"].addresses[0].addr_spec == registrant.email


@covers("post", "/change-requests")
def test_unknown_locked_and_busy_domains_get_the_same_answer(api: Portal, store: Store) -> None:
    make_domain(store, "api-ours.com")
    make_domain(store, "api-locked.com", statuses=["clientUpdateProhibited"])
    make_domain(store, "api-busy.com")
    assert submit(api, "api-busy.com").status_code == 202
    before = snapshot(store)
    answers = {}
    for name in ("api-unknown.com", "api-locked.com", "api-busy.com"):
        response = submit(api, name)
        assert response.status_code == 202
        answers[name] = response.json()
    assert snapshot(store) == before
    assert submit(api, "api-ours.com").status_code == 202  # and one that goes through
    normal = submit(api, "api-ours.com")  # now busy too: compare the shapes of all answers
    shapes = set()
    for name, answer in [*answers.items(), ("api-ours.com", normal.json())]:
        text = answer["message"].replace(name, "D").replace(answer["registrant_email_masked"], "M")
        shapes.add((text, tuple(sorted(answer)), answer["expires_in_days"]))
    assert len(shapes) == 1
    assert submit(api, "api-unknown.com").json() == answers["api-unknown.com"]


@covers("post", "/change-requests")
def test_invalid_fields_are_named_in_a_problem_document(api: Portal, store: Store) -> None:
    make_domain(store, "api-bad.com")
    before = snapshot(store)
    problem = assert_problem(submit(api, "api-bad.com", voice="12345", org="A\x07B"), 422)
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert set(fields) == {"technical_contact.voice", "technical_contact.org"}
    assert "control character U+0007" in fields["technical_contact.org"]
    problem = assert_problem(submit(api, "no-tld", street=["ok", "bad\x1b"]), 422)
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert "has no TLD" in fields["domain"]
    assert "U+001B" in fields["technical_contact.street.1"]
    too_long = assert_problem(submit(api, "api-bad.com", org="O" * 256, extra="x"), 422)
    fields = {e["field"]: e["message"] for e in too_long["errors"]}
    assert "255" in fields["technical_contact.org"]
    assert "technical_contact.extra" in fields
    empty = assert_problem(api.client.post(f"{API}/change-requests", json={}), 422)
    assert {e["field"] for e in empty["errors"]} == {"domain", "technical_contact"}
    not_json = api.client.post(
        f"{API}/change-requests", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert_problem(not_json, 422)
    assert snapshot(store) == before


@covers("post", "/change-requests")
def test_an_oversized_body_is_refused_with_413(api: Portal, store: Store) -> None:
    before = snapshot(store)
    response = api.client.post(
        f"{API}/change-requests", json=body("api-big.com", name="n" * 20_000)
    )
    assert "larger than 16 KiB" in assert_problem(response, 413)["detail"]
    assert snapshot(store) == before


def test_a_rate_limited_client_gets_429_problem_with_retry_after(
    lite_store: Store, tmp_path: Path
) -> None:
    made = make_portal(lite_store, tmp_path / "outbox", submit_burst=1, lookup_burst=1)
    with made.client:
        assert submit(made, "api-rate.com").status_code == 202
        before = snapshot(lite_store)
        limited = submit(made, "api-rate.com")
        assert made.client.get(f"{API}/change-requests/CR-AAAAA-BBBBB").status_code == 404
        looked = made.client.get(f"{API}/change-requests/CR-AAAAA-BBBBB")
    for response in (limited, looked):
        problem = assert_problem(response, 429)
        assert int(response.headers["retry-after"]) > 0
        assert "Too many requests" in problem["detail"]
    assert snapshot(lite_store) == before


# -- status ------------------------------------------------------------------------------------


@covers("get", "/change-requests/{reference}")
def test_the_status_of_a_request(api: Portal, store: Store) -> None:
    _, registrant = make_domain(store, "api-status.com")
    submit(api, "api-status.com")
    (request,) = requests_of(store)
    response = api.client.get(f"{API}/change-requests/{request.reference}")
    assert response.status_code == 200
    status = response.json()
    assert status["reference"] == request.reference and status["state"] == "submitted"
    assert status["domain"] == "api-status.com"
    assert "Waiting for the registrant" in status["description"]
    assert re.fullmatch(MASK_RE, status["registrant_email_masked"])
    for private in (registrant.email, registrant.name, CONTACT["email"], CONTACT["org"]):
        assert private not in response.text
    missing = api.client.get(f"{API}/change-requests/CR-AAAAA-BBBBB")
    assert "no request with that reference" in assert_problem(missing, 404)["detail"]


# -- confirmation ------------------------------------------------------------------------------


@covers("get", "/confirmations/{token}")
def test_describing_a_confirmation_changes_nothing(api: Portal, store: Store) -> None:
    make_domain(store, "api-describe.com")
    token = token_of(store, "api-describe.com")
    before = snapshot(store)
    for _ in range(2):
        response = api.client.get(f"{API}/confirmations/{token}")
        assert response.status_code == 200
    shown = response.json()
    assert shown["domain"] == "api-describe.com" and shown["state"] == "submitted"
    assert shown["new_technical_contact_org"] == CONTACT["org"]
    assert shown["new_technical_contact_email_masked"] == "n***@n***.net"
    assert CONTACT["email"] not in response.text
    assert snapshot(store) == before
    bad = api.client.get(f"{API}/confirmations/{'Q' * 43}")
    assert assert_problem(bad, 400)["detail"] == "This confirmation link is not valid."


@covers("post", "/confirmations/{token}")
def test_confirming_by_api_then_reuse_and_expiry_are_refused(api: Portal, store: Store) -> None:
    make_domain(store, "api-confirm.com")
    make_domain(store, "api-stale.com")
    token = token_of(store, "api-confirm.com")
    stale = token_of(store, "api-stale.com", days_ago=8)
    response = api.client.post(f"{API}/confirmations/{token}")  # no CSRF on the API
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["message"] == "Confirmed; Interlink staff will review it."
    assert done["status"]["state"] == "confirmed"
    assert {m["To"].addresses[0].addr_spec for m in api.mails()} >= {CONTACT["email"]}
    before = snapshot(store)
    again = api.client.post(f"{API}/confirmations/{token}")
    assert assert_problem(again, 410)["detail"] == "This confirmation link has already been used."
    expired = api.client.post(f"{API}/confirmations/{stale}")
    assert assert_problem(expired, 410)["detail"] == (
        "This confirmation link has expired; the request must be made again."
    )
    wrong = api.client.post(f"{API}/confirmations/{'Z' * 43}")
    assert assert_problem(wrong, 400)["detail"] == "This confirmation link is not valid."
    assert snapshot(store) == before
    states = {r.reference: r.state for r in requests_of(store)}
    assert sorted(states.values()) == ["confirmed", "submitted"]
