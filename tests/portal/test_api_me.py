"""The control panel's JSON API: a bearer token or the session cookie; its own data only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domains.customer_sessions import CustomerSessions
from domains.store import Store
from tests.support.coverage import COVERED, calls_covered, covers
from tests.support.factories import account_with_domain
from tests.support.panel import sign_in
from tests.support.portal import API, CONTACT, Portal, assert_problem, requests_of

ME = f"{API}/me"


@pytest.fixture(autouse=True)
def covered(portal: Portal, request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test calls the endpoints it is marked as covering."""
    with calls_covered(portal, request):
        yield


def holder(store: Store, name: str, *, same_email: bool = True) -> tuple[str, int]:
    other = None if same_email else "registrant.elsewhere@example.org"
    account, _ = account_with_domain(store, name, registrant_email=other)
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


# -- the account and its contacts --------------------------------------------------------------


def account_with_contact(store: Store, domain: str = "kontakt.de") -> tuple[str, int, str]:
    """An account with a ccTLD domain whose registrant is its contact: (number, id, handle)."""
    account, registrant = account_with_domain(store, domain)
    assert account.id is not None
    return account.number, account.id, registrant.handle


@covers("get", "/me")
@covers("get", "/me/contacts/{handle}")
def test_the_overview_and_a_contact(portal: Portal, store: Store):
    number, account_id, handle = account_with_contact(store)
    headers = bearer(store, account_id)
    me = portal.client.get(ME, headers=headers)
    assert me.status_code == 200
    body = me.json()
    assert body["account"]["number"] == number
    assert [d["name"] for d in body["domains"]] == ["kontakt.de"]
    assert body["domains"][0]["roles"]["registrant"]["handle"] == handle
    page = portal.client.get(f"{ME}/contacts/{handle}", headers=headers)
    assert page.status_code == 200
    assert page.json()["handle"] == handle and "kontakt.de" in page.json()["preview_whois"]


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT"])
def test_another_accounts_contact_is_404(portal: Portal, store: Store, method: str):
    _, _, theirs = account_with_contact(store, "theirs.de")
    _, mine, _ = account_with_contact(store, "mine.de")
    path = f"{ME}/contacts/{theirs}" + ("/consent" if method == "PUT" else "")
    body = {"fields": ["email"]} if method == "PUT" else {"version": 1, "city": "Kiel"}
    refused = portal.client.request(method, path, json=body, headers=bearer(store, mine))
    problem = assert_problem(refused, 404)
    assert theirs not in problem["detail"]
    assert store.get_contact(theirs).city != "Kiel"


@covers("patch", "/me/contacts/{handle}")
def test_a_correction_applies_and_a_new_email_waits(portal: Portal, store: Store):
    _, account_id, handle = account_with_contact(store)
    headers = bearer(store, account_id)
    version = store.get_contact(handle).version
    done = portal.client.patch(
        f"{ME}/contacts/{handle}",
        json={"version": version, "city": "Kiel", "email": "new.box@example.net"},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["applied"] == ["city"] and result["email"]["address"] == "new.box@example.net"
    assert "token" not in done.text and "/verify-email/" not in done.text
    contact = store.get_contact(handle)
    assert contact.city == "Kiel" and contact.email != "new.box@example.net"
    [mail] = [m for m in portal.mails() if "new.box@example.net" in str(m["To"])]
    assert "/verify-email/" in mail.get_body(("plain",)).get_content()
    stale = portal.client.patch(
        f"{ME}/contacts/{handle}", json={"version": version, "city": "Bonn"}, headers=headers
    )
    assert "version" in assert_problem(stale, 409)["detail"]
    bad = portal.client.patch(
        f"{ME}/contacts/{handle}",
        json={"version": contact.version, "voice": "call me", "country": "XX"},
        headers=headers,
    )
    fields = {e["field"] for e in assert_problem(bad, 422)["errors"]}
    assert fields == {"voice", "country"}
    unknown = portal.client.patch(
        f"{ME}/contacts/{handle}", json={"version": 1, "kind": "org"}, headers=headers
    )
    assert [e["field"] for e in assert_problem(unknown, 422)["errors"]] == ["kind"]


@covers("put", "/me/contacts/{handle}/consent")
@covers("post", "/me/contacts/{handle}/consent/preview")
def test_consent_is_previewed_then_saved(portal: Portal, store: Store):
    _, account_id, handle = account_with_contact(store)
    headers = bearer(store, account_id)
    email = store.get_contact(handle).email
    preview = portal.client.post(
        f"{ME}/contacts/{handle}/consent/preview", json={"fields": ["email"]}, headers=headers
    )
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert email not in shown["before_whois"] and email in shown["after_whois"]
    assert store.get_contact(handle).consent_fields in ([], None)
    saved = portal.client.put(
        f"{ME}/contacts/{handle}/consent", json={"fields": ["email"]}, headers=headers
    )
    assert saved.status_code == 200 and saved.json()["consent_fields"] == ["email"]
    assert saved.json()["consent_method"] == "portal"
    wrong = portal.client.put(
        f"{ME}/contacts/{handle}/consent", json={"fields": ["country"]}, headers=headers
    )
    assert_problem(wrong, 422)


@covers("put", "/me/marketing")
def test_marketing_opt_out_and_back(portal: Portal, store: Store):
    number, account_id, _ = account_with_contact(store)
    headers = bearer(store, account_id)
    out = portal.client.put(f"{ME}/marketing", json={"opt_out": True}, headers=headers)
    assert out.status_code == 200 and out.json()["marketing_opt_out_at"]
    assert store.get_account(number).marketing_opt_out_at is not None
    back = portal.client.put(f"{ME}/marketing", json={"opt_out": False}, headers=headers)
    assert back.json()["marketing_opt_out_at"] is None
    assert_problem(
        portal.client.put(f"{ME}/marketing", json={"opt_out": "maybe"}, headers=headers), 422
    )


@covers("get", "/me/data")
@covers("get", "/me/requests")
def test_the_download_and_the_requests_are_the_accounts_only(portal: Portal, store: Store):
    other, other_id, _ = account_with_contact(store, "other-data.de")
    number, account_id, _ = account_with_contact(store, "data.de")
    headers = bearer(store, account_id)
    portal.client.post(f"{ME}/domains/data.de/tech-change", json=CONTACT, headers=headers)
    portal.client.post(
        f"{ME}/domains/other-data.de/tech-change", json=CONTACT, headers=bearer(store, other_id)
    )
    download = portal.client.get(f"{ME}/data", headers=headers)
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert download.json()["account"]["number"] == number
    assert other not in download.text and "other-data.de" not in download.text
    listed = portal.client.get(f"{ME}/requests", headers=headers)
    assert listed.status_code == 200
    assert [r["domain"] for r in listed.json()] == ["data.de"]


def test_every_endpoint_of_the_panel_api_is_covered_by_a_test(portal: Portal) -> None:
    schema = portal.client.get(f"{API}/openapi.json").json()
    mine = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if path.startswith(ME)
    }
    assert len(mine) >= 12
    assert not mine - set(COVERED), f"endpoints no test covers: {sorted(mine - set(COVERED))}"
