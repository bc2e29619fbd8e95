"""The control panel's JSON API: a bearer token or the session cookie; its own data only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domains.customer_sessions import CustomerSessions
from domains.store import Store
from tests.support.coverage import calls_covered, covers
from tests.support.factories import account_data, contact_data
from tests.support.panel import sign_in
from tests.support.portal import API, CONTACT, Portal, assert_problem, requests_of

ME = f"{API}/me"


@pytest.fixture(autouse=True)
def covered(portal: Portal, request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test calls the endpoints it is marked as covering."""
    with calls_covered(portal, request):
        yield


def holder(store: Store, name: str, *, same_email: bool = True) -> tuple[str, int]:
    account = store.create_account("staff:test", account_data())
    email = account.email if same_email else "registrant.elsewhere@example.org"
    registrant = store.create_contact(
        "staff:test", contact_data(email=email), account_number=account.number
    )
    store.create_domain(
        "staff:test",
        {"name": name},
        account_number=account.number,
        contacts={"registrant": registrant.handle},
    )
    assert account.id is not None
    return account.number, account.id


def bearer(store: Store, account_id: int) -> dict[str, str]:
    made = CustomerSessions(store).create_token(account_id, "tests")
    return {"Authorization": f"Bearer {made.token}"}


def test_without_a_token_or_session_it_is_401(portal: Portal):
    for method, path in (("GET", "/tokens"), ("POST", "/domains/x.com/tech-change")):
        refused = portal.client.request(method, ME + path, json={})
        assert_problem(refused, 401)
        assert refused.headers["www-authenticate"].startswith("Bearer")


@covers("post", "/me/tokens")
@covers("get", "/me/tokens")
@covers("delete", "/me/tokens/{token_id}")
def test_tokens_are_made_listed_used_and_revoked(portal: Portal, store: Store):
    number, _ = holder(store, "tokens.com")
    sign_in(portal, number)
    made = portal.client.post(f"{ME}/tokens", json={"label": "deploy <script>"})
    assert made.status_code == 201
    token, about = made.json()["token"], made.json()["about"]
    assert about["hint"] == token[-4:] and about["label"] == "deploy <script>"
    portal.client.cookies.clear()
    headers = {"Authorization": f"Bearer {token}"}
    listed = portal.client.get(f"{ME}/tokens", headers=headers)
    assert listed.status_code == 200 and [t["id"] for t in listed.json()] == [about["id"]]
    assert token not in listed.text
    gone = portal.client.delete(f"{ME}/tokens/{about['id']}", headers=headers)
    assert gone.status_code == 204
    refused = portal.client.get(f"{ME}/tokens", headers=headers)
    assert "revoked" in assert_problem(refused, 401)["detail"]


def test_another_accounts_token_id_is_404(portal: Portal, store: Store):
    _, other_id = holder(store, "other-tok.com")
    theirs = CustomerSessions(store).create_token(other_id, "theirs")
    _, mine_id = holder(store, "mine-tok.com")
    refused = portal.client.delete(f"{ME}/tokens/{theirs.view.id}", headers=bearer(store, mine_id))
    assert_problem(refused, 404)
    assert CustomerSessions(store).verify_token(theirs.token) is not None


@covers("post", "/me/domains/{name}/tech-change")
def test_a_tech_change_of_ones_own_domain(portal: Portal, store: Store):
    _, account_id = holder(store, "api-own.com")
    body = {k: v for k, v in CONTACT.items()}
    made = portal.client.post(
        f"{ME}/domains/api-own.com/tech-change", json=body, headers=bearer(store, account_id)
    )
    assert made.status_code == 201, made.text
    answer = made.json()
    assert answer["state"] == "confirmed" and answer["confirmed_by_registrant"] is True
    [request] = requests_of(store)
    assert request.reference == answer["reference"]


def test_a_tech_change_confirmed_by_the_registrant_elsewhere(portal: Portal, store: Store):
    _, account_id = holder(store, "api-elsewhere.com", same_email=False)
    made = portal.client.post(
        f"{ME}/domains/api-elsewhere.com/tech-change",
        json=CONTACT,
        headers=bearer(store, account_id),
    )
    assert made.status_code == 201 and made.json()["state"] == "submitted"
    [mail] = portal.mails()
    assert mail["To"].addresses[0].addr_spec == "registrant.elsewhere@example.org"


@pytest.mark.parametrize("domain", ["someone-elses.com", "nowhere-at-all.com"])
def test_another_accounts_domain_is_404_never_403(portal: Portal, store: Store, domain: str):
    holder(store, "someone-elses.com")
    _, mine = holder(store, "api-mine.com")
    refused = portal.client.post(
        f"{ME}/domains/{domain}/tech-change", json=CONTACT, headers=bearer(store, mine)
    )
    assert_problem(refused, 404)
    assert requests_of(store) == []


def test_bad_fields_are_named(portal: Portal, store: Store):
    _, account_id = holder(store, "api-bad.com")
    body = {**CONTACT, "email": "nope", "street": ["ok", ""], "consent": ["colour"]}
    refused = portal.client.post(
        f"{ME}/domains/api-bad.com/tech-change", json=body, headers=bearer(store, account_id)
    )
    fields = {e["field"] for e in assert_problem(refused, 422)["errors"]}
    assert "consent.0" in fields or "consent" in fields
    body = {**CONTACT, "email": "nope"}
    refused = portal.client.post(
        f"{ME}/domains/api-bad.com/tech-change", json=body, headers=bearer(store, account_id)
    )
    assert [e["field"] for e in assert_problem(refused, 422)["errors"]] == ["email"]


def test_a_cookie_session_write_from_another_site_is_refused(portal: Portal, store: Store):
    number, _ = holder(store, "api-cookie.com")
    sign_in(portal, number)
    refused = portal.client.post(
        f"{ME}/tokens",
        json={"label": "x"},
        headers={"Origin": "https://evil.example.com", "Sec-Fetch-Site": "cross-site"},
    )
    assert refused.status_code == 403
    assert portal.client.get(f"{ME}/tokens").json() == []
