"""The OpenAPI schema says what the server does: schemathesis against /api/v1, and its details.

The run is the schemathesis command line (every default check, every phase) against the portal
under uvicorn on loopback, deterministic with a bounded number of examples, so it is repeatable
and takes seconds. The schema's example names a domain of ours here, and real tokens, references
and domains are mixed into what it generates, so it reaches the answers past the 400s, 404s and
422s too, and checks them against the schema.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from domains.customer_sessions import CustomerSessions
from domains.mailer import FolderMailer
from domains.settings import PortalSettings
from domains.store import Store
from portal.render import PROBLEM_JSON
from portal.service import TOKEN_RE
from tests.support.factories import account_data, contact_data, make_domain
from tests.support.portal import (
    API,
    CONTACT,
    Portal,
    assert_problem,
    requests_of,
    schema_of,
    serve,
    token_of,
)

#: Limits a generated run never reaches (429 is documented, but not what is tested here).
NO_LIMITS = {f"{b}_burst": 100_000 for b in ("submit", "confirm", "lookup", "panel")}
MAX_EXAMPLES = 40

#: Statuses with which a request the schema allows may still be refused: an unknown or spent
#: token (400, 410) and a domain or contact the store's rules refuse (422). All documented.
CONFIG = """
color = false

[cache]
enabled = false

[generation]
max-examples = {max_examples}
deterministic = true
database = "none"

[dictionaries.tokens]
values = {tokens}

[dictionaries.references]
values = {references}

[dictionaries.domains]
values = {domains}

[parameters]
"path.token" = {{ dictionary = "tokens", probability = 0.3 }}
"path.reference" = {{ dictionary = "references", probability = 0.3 }}
"body.domain" = {{ dictionary = "domains", probability = 0.3 }}
"path.name" = {{ dictionary = "domains", probability = 0.5 }}

[[operations]]
include-path = "/api/v1/confirmations/{{token}}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "410", "429"]

# The first block that matches an operation is the one that counts.
[[operations]]
include-path-regex = "^/api/v1/me"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "404", "409", "422", "429"]

[[operations]]
include-path = "/api/v1/change-requests"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "422", "429"]
"""


@pytest.fixture
def running(lite_store: Store, tmp_path: Path) -> Iterator[str]:
    """The portal under uvicorn on 127.0.0.1 over SQLite, without rate limits in the way."""

    def build(base_url: str) -> FastAPI:
        from portal.app import create_app

        settings = lite_store.settings.model_copy(update={"portal_base_url": base_url})
        return create_app(
            lite_store,
            mailer=FolderMailer(tmp_path / "outbox"),
            settings=settings,
            config=PortalSettings(secret="schemathesis", **NO_LIMITS),
        )

    with serve(build) as base_url:
        yield base_url


@pytest.mark.slow
def test_schemathesis_finds_no_failures(running: str, lite_store: Store, tmp_path: Path) -> None:
    example, _ = make_domain(lite_store, "example.com")
    for name in ("schema-ours.com", "schema-a.com", "schema-b.com", "schema-c.com"):
        make_domain(lite_store, name)
    tokens = [token_of(lite_store, name) for name in ("schema-a.com", "schema-b.com")]
    tokens.append(token_of(lite_store, "schema-c.com", days_ago=30))  # expired
    # The /me/ operations act for one account, by a bearer token made after other accounts'
    # (a revoked id of another account is a 404, so most generated ids leave this one alone).
    sessions = CustomerSessions(lite_store)
    for other in range(5):
        sessions.create_token(example.account_id, f"other {other}")
    me = lite_store.create_account("staff:test", account_data())
    assert me.id is not None
    registrant = lite_store.create_contact(
        "staff:test", contact_data(email=me.email), account_number=me.number
    )
    lite_store.create_domain(
        "staff:test",
        {"name": "schema-me.com"},
        account_number=me.number,
        contacts={"registrant": registrant.handle},
    )
    bearer = sessions.create_token(me.id, "schemathesis").token
    references = [r.reference for r in requests_of(lite_store)]
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.format(
            max_examples=MAX_EXAMPLES,
            tokens=json.dumps(tokens),
            references=json.dumps(references),
            domains=json.dumps(["schema-ours.com", "Schema-Ours.com", "schema-me.com"]),
        ),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config)]
    run = subprocess.run(
        [
            *command,
            "--no-color",
            "run",
            "-H",
            f"Authorization: Bearer {bearer}",
            f"{running}{API}/openapi.json",
        ],
        cwd=tmp_path,  # its own files (hypothesis' and reports) stay in the test's folder
        capture_output=True,
        text=True,
        timeout=180,
    )
    said = run.stdout + run.stderr
    print(said[-6_000:])  # shown with -s, and in the report of a failure
    assert run.returncode == 0, said[-12_000:]
    operations = sum(
        len(ops) for ops in httpx.get(f"{running}{API}/openapi.json").json()["paths"].values()
    )
    assert operations > 4
    selected = f"{operations} selected / {operations} total"
    assert selected in said and f"Tested: {operations}" in said, said[-4_000:]
    assert " passed" in said and "failed" not in said.split("SUMMARY")[-1], said[-4_000:]
    # It got past the refusals: the example was accepted (202) and opened a request after the
    # answer, and a real token was confirmed (200).
    deadline = time.monotonic() + 10
    while not any(r.domain_id == example.id for r in requests_of(lite_store)):
        assert time.monotonic() < deadline, "the example opened no request"
        time.sleep(0.01)
    assert "confirmed" in {r.state for r in requests_of(lite_store)}


# -- the details schemathesis relies on --------------------------------------------------------


def parameter(schema: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    (found,) = [p for p in schema["paths"][API + path][method]["parameters"] if p["name"] == name]
    return found["schema"]


def test_the_token_parameter_has_the_tokens_pattern_and_length(lite: Portal) -> None:
    schema = schema_of(lite)
    for method in ("get", "post"):
        token = parameter(schema, "/confirmations/{token}", method, "token")
        assert token["minLength"] == token["maxLength"] == 43
        assert token["pattern"] == TOKEN_RE.pattern
    reference = parameter(schema, "/change-requests/{reference}", "get", "reference")
    assert "pattern" in reference


def test_a_token_of_another_shape_is_refused_as_not_valid(lite: Portal) -> None:
    for token in ("A" * 42, "A" * 44, "A" * 42 + "!", "A" * 128):
        for method in ("GET", "POST"):
            refused = lite.client.request(method, f"{API}/confirmations/{token}")
            assert assert_problem(refused, 400)["detail"] == "This confirmation link is not valid."


def test_required_strings_may_not_be_empty_in_the_schema(lite: Portal) -> None:
    components = schema_of(lite)["components"]["schemas"]
    for model in ("ChangeRequestIn", "TechnicalContactIn"):
        body = components[model]
        for name in body["required"]:
            field = body["properties"][name]
            if field.get("type") == "string":
                assert field.get("minLength", 0) >= 1, (model, name)


def test_an_empty_required_string_is_refused_in_the_products_words(lite: Portal) -> None:
    contact = {**CONTACT, "org": "", "city": ""}
    refused = lite.client.post(
        f"{API}/change-requests", json={"domain": "", "technical_contact": contact}
    )
    said = {e["field"]: e["message"] for e in assert_problem(refused, 422)["errors"]}
    assert set(said) == {"domain", "technical_contact.org", "technical_contact.city"}
    assert said["domain"].startswith("is required")


def test_a_body_that_is_not_text_is_a_documented_400_on_body(lite: Portal) -> None:
    operation = schema_of(lite)["paths"][f"{API}/change-requests"]["post"]
    documented = operation["responses"]["400"]
    assert list(documented["content"]) == [PROBLEM_JSON]
    assert "not text in UTF-8" in documented["description"]
    response = lite.client.post(
        f"{API}/change-requests",
        content=b'{"domain": "\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    problem = assert_problem(response, 400)
    assert problem["errors"] == [
        {
            "field": "body",
            "message": "the request body is not text in UTF-8, so it cannot be JSON; send one "
            "JSON object with the fields domain and technical_contact, encoded in UTF-8",
        }
    ]


def test_only_operations_with_a_body_document_422(lite: Portal) -> None:
    for path, operations in schema_of(lite)["paths"].items():
        for method, operation in operations.items():
            has_body = "requestBody" in operation
            assert ("422" in operation["responses"]) == has_body, (method, path)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (f"{API}/confirmations/{'A' * 43}", {"GET", "POST"}),
        (f"{API}/change-requests", {"POST"}),
        (f"{API}/change-requests/CR-AAAAA-BBBBB", {"GET"}),
        ("/confirm/" + "A" * 43, {"GET", "POST"}),
        ("/change", {"GET", "POST"}),
        ("/static/portal.css", {"GET", "HEAD"}),  # a mount's own answer is kept
    ],
)
def test_a_405_lists_every_method_of_the_path(lite: Portal, path: str, allowed: set[str]) -> None:
    for method in ("OPTIONS", "PUT", "DELETE", "PATCH"):
        refused = lite.client.request(method, path)
        assert refused.status_code == 405, (method, path)
        assert {m.strip() for m in refused.headers["allow"].split(",")} == allowed


def test_the_schema_lists_the_methods_the_405_allows(running: str) -> None:
    """What the schema documents for a path is exactly what its Allow header says."""
    with httpx.Client(base_url=running, timeout=10) as client:
        schema = client.get(f"{API}/openapi.json").json()
        for path, operations in schema["paths"].items():
            concrete = path.replace("{token}", "A" * 43).replace("{reference}", "CR-AAAAA-BBBBB")
            for name, value in (("{name}", "example.com"), ("{token_id}", "1"), ("{handle}", "H1")):
                concrete = concrete.replace(name, value)
            refused = client.request("OPTIONS", concrete)
            allowed = {m.strip().lower() for m in refused.headers["allow"].split(",")}
            assert allowed == set(operations), path
