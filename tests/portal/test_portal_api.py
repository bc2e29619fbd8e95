"""The JSON API under /api/v1: the same rules as the pages, problem documents for errors.

Every (method, path) of the OpenAPI schema is named by a test's @covers, and that test must
really call it (checked when the test ends); a schema endpoint no test covers fails the suite.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from domains.store import Store
from portal.render import PROBLEM_JSON
from tests.support.coverage import COVERED, calls_covered, covers
from tests.support.factories import make_domain
from tests.support.portal import (
    API,
    CONTACT,
    MASK_RE,
    Portal,
    assert_problem,
    make_portal,
    requests_of,
    schema_of,
    snapshot,
    token_of,
)


#: (METHOD, schema path) -> the tests that cover it.
@pytest.fixture
def api(portal: Portal, request: pytest.FixtureRequest) -> Iterator[Portal]:
    """The portal's client, recording which endpoints the test calls; no cookies are kept."""
    with calls_covered(portal, request):
        yield portal
        assert not portal.client.cookies, "the API must not set cookies"


def body(domain: str, **contact: Any) -> dict[str, Any]:
    return {"domain": domain, "technical_contact": {**CONTACT, **contact}}


def submit(portal: Portal, domain: str, **contact: Any) -> httpx.Response:
    return portal.client.post(f"{API}/change-requests", json=body(domain, **contact))


# -- the schema --------------------------------------------------------------------------------


def test_the_openapi_schema_is_valid(lite: Portal) -> None:
    schema = schema_of(lite)
    assert schema["openapi"].startswith("3.1")
    assert schema["paths"], "the schema has no paths"
    for path, operations in schema["paths"].items():
        assert path.startswith(f"{API}/"), f"{path} is not an API path"
        for method, operation in operations.items():
            assert method in ("get", "post", "put", "patch", "delete"), (method, path)
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
    """The control panel's endpoints (/me/) are checked the same way in test_api_me."""
    schema = schema_of(lite)
    in_schema = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if not path.startswith(f"{API}/me")
    }
    missing = in_schema - set(COVERED)
    assert not missing, f"endpoints no test covers: {sorted(missing)}"
    stale = {c for c in COVERED if not c[1].startswith(f"{API}/me")} - in_schema
    assert not stale, f"tests cover endpoints the schema no longer has: {sorted(stale)}"
    for name in {name for marked in COVERED.values() for name in marked}:
        module, _, function = name.rpartition(".")
        assert callable(getattr(sys.modules[module], function, None)), name


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
def test_locked_and_busy_domains_get_the_same_answer(api: Portal, store: Store) -> None:
    make_domain(store, "api-ours.com")
    make_domain(store, "api-locked.com", statuses=["clientUpdateProhibited"])
    make_domain(store, "api-busy.com")
    assert submit(api, "api-busy.com").status_code == 202
    before = snapshot(store)
    answers = {}
    for name in ("api-locked.com", "api-busy.com"):
        response = submit(api, name)
        assert response.status_code == 202
        answers[name] = response.json()
    assert snapshot(store) == before
    ours = submit(api, "api-ours.com")  # one that goes through
    assert ours.status_code == 202
    shapes = set()
    for name, answer in [*answers.items(), ("api-ours.com", ours.json())]:
        text = answer["message"].replace(name, "D").replace(answer["registrant_email_masked"], "M")
        shapes.add((text, tuple(sorted(answer)), answer["expires_in_days"]))
        assert re.fullmatch(MASK_RE, answer["registrant_email_masked"])
    assert len(shapes) == 1


@covers("post", "/change-requests")
def test_a_domain_not_registered_with_interlink_is_a_422_on_domain(
    api: Portal, store: Store
) -> None:
    make_domain(store, "api-ours.com")
    before = snapshot(store)
    response = submit(api, "API-Not-Ours.com")
    problem = assert_problem(response, 422)
    assert problem["errors"] == [
        {
            "field": "domain",
            "message": "api-not-ours.com is not registered with Interlink, so we cannot change "
            "its technical contact here; which registrar holds it is public in RDAP and WHOIS",
        }
    ]
    assert "registrant_email_masked" not in problem and "***" not in response.text
    assert not re.search(MASK_RE, response.text), "an invented masked address"
    both = assert_problem(submit(api, "api-not-ours.com", voice="phone me maybe"), 422)
    assert [e["field"] for e in both["errors"]] == ["domain", "technical_contact.voice"]
    assert snapshot(store) == before
    assert api.mails() == []


def test_the_schema_documents_the_refusal_of_a_domain_not_ours(lite: Portal) -> None:
    operation = schema_of(lite)["paths"][f"{API}/change-requests"]["post"]
    refused = operation["responses"]["422"]["description"]
    assert "not registered with Interlink is an error on the field `domain`" in refused
    assert "one error on the field `body`" in refused
    answer = schema_of(lite)["components"]["schemas"]["SubmitOut"]["description"]
    assert "registered with Interlink" in answer and "whether or not the domain" not in answer


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


#: Phrases of pydantic and FastAPI that must never reach a client.
LIBRARY_WORDS = (
    "JSON decode error",
    "Field required",
    "Input should be",
    "Extra inputs are not permitted",
    "String should have",
    "List should have",
    "Expecting",
    "dictionary",
)


def post_raw(portal: Portal, content: bytes, content_type: str | None) -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    return portal.client.post(f"{API}/change-requests", content=content, headers=headers)


@covers("post", "/change-requests")
@pytest.mark.parametrize(
    ("content", "content_type", "said"),
    [
        (
            b"{nope",
            "application/json",
            "the request body is not valid JSON: the first error is at line 1, column 2; "
            "send one JSON object with the fields domain and technical_contact",
        ),
        (b'{"domain": "a.com",\n "x": }', "application/json", "at line 2, column 7"),
        (b"", "application/json", "the request body is empty; send one JSON object"),
        (b"   ", "application/json", "the request body is empty; send one JSON object"),
        (b"[1, 2]", "application/json", "the request body is an array, not a JSON object"),
        (b'"example.com"', "application/json", "the request body is a string, not a JSON object"),
        (b"null", "application/json", "the request body is null, not a JSON object"),
        (b"42", "application/json", "the request body is a number, not a JSON object"),
        (b'{"domain": "a.com"}', "text/plain", "with the header Content-Type: application/json"),
        (b'{"domain": "a.com"}', None, "with the header Content-Type: application/json"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_one_error_on_body(
    api: Portal, content: bytes, content_type: str | None, said: str
) -> None:
    problem = assert_problem(post_raw(api, content, content_type), 422)
    assert problem["detail"] == "The request body could not be read; see errors."
    ((error),) = problem["errors"]
    assert error["field"] == "body"
    assert said in error["message"], error["message"]
    for words in LIBRARY_WORDS:
        assert words not in error["message"]


@covers("post", "/change-requests")
def test_refused_fields_are_named_as_the_api_names_them_in_its_words(api: Portal) -> None:
    contact = {
        **CONTACT,
        "voice": "1" * 40,
        "street": ["a", "b", "c", "d"],
        "city": None,
        "consent": ["org", "bad"],
        "extra": 1,
    }
    del contact["email"]
    problem = assert_problem(
        api.client.post(
            f"{API}/change-requests",
            json={"domain": 5, "technical_contact": contact, "more": 2},
        ),
        422,
    )
    said = {e["field"]: e["message"] for e in problem["errors"]}
    assert list(said) == [  # in the order of the schema, never a bare list index
        "domain",
        "technical_contact.email",
        "technical_contact.voice",
        "technical_contact.street",
        "technical_contact.city",
        "technical_contact.consent",
        "technical_contact.extra",
        "more",
    ]
    assert said["domain"] == "must be text (a JSON string), not a number"
    assert said["technical_contact.email"] == "is required"
    assert said["technical_contact.voice"] == "is 40 characters long; at most 32 are allowed"
    assert said["technical_contact.street"] == "has 4 items; at most 3 are allowed"
    assert said["technical_contact.city"] == "must be text (a JSON string), not null"
    assert said["technical_contact.consent"] == (
        "'bad' is not one of: org, name, email, voice, street, city, postal_code"
    )
    assert said["technical_contact.extra"].startswith(
        "is not a field of technical_contact; the fields are org, name, email, voice"
    )
    assert said["more"] == (
        "is not a field of a change request; the fields are domain and technical_contact"
    )
    lines = assert_problem(submit(api, "api-lines.com", street=["ok", "x" * 300, 7]), 422)
    fields = [e["field"] for e in lines["errors"]]
    assert fields == ["technical_contact.street.1", "technical_contact.street.2"]
    not_an_object = {"domain": "a.com", "technical_contact": []}
    wrong_kind = assert_problem(api.client.post(f"{API}/change-requests", json=not_an_object), 422)
    assert wrong_kind["errors"] == [
        {
            "field": "technical_contact",
            "message": "must be a JSON object with the fields org, name, email, voice, street, "
            "city, postal_code, state, country and consent, not an array",
        }
    ]
    for response in (problem, lines, wrong_kind):
        for words in LIBRARY_WORDS:
            assert words not in str(response["errors"])


@covers("post", "/change-requests")
def test_validator_errors_come_in_the_order_of_the_schema(api: Portal, store: Store) -> None:
    make_domain(store, "api-order.com")
    problem = assert_problem(
        submit(api, "api-order.com", email="nope", voice="phone me maybe", country="ZZ"), 422
    )
    assert [e["field"] for e in problem["errors"]] == [
        "technical_contact.email",
        "technical_contact.voice",
        "technical_contact.country",
    ]


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
        make_domain(lite_store, "api-rate.com")
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
