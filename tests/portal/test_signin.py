"""Signing in by a mailed link: one answer for every identifier, single-use links, safe sessions."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from sqlalchemy import select

from domains.customer_models import CustomerSession, SigninToken
from domains.customer_sessions import CustomerSessions, SignInRefused, digest
from domains.models import utcnow
from domains.store import Store
from portal.customer_auth import SESSION_COOKIE
from tests.support.factories import account_data
from tests.support.panel import sign_in, signin_link
from tests.support.portal import Portal, csrf_of, main_of, make_portal

ACCOUNT = account_data(number="IL-100234", email="ann.owner@example.com", name="Ann Owner")


@pytest.fixture
def account(store: Store) -> str:
    store.create_account("staff:test", dict(ACCOUNT))
    return ACCOUNT["number"]


def ask_for_link(portal: Portal, identifier: str):
    form = portal.client.get("/signin")
    assert form.status_code == 200
    return portal.client.post(
        "/signin",
        data={"csrf_token": csrf_of(form.text), "identifier": identifier, "next": "/account"},
        follow_redirects=False,
    )


def press_sign_in(portal: Portal, path: str):
    shown = portal.client.get(path)
    assert shown.status_code == 200, shown.text
    return portal.client.post(
        path, data={"csrf_token": csrf_of(shown.text), "next": "/account"}, follow_redirects=False
    )


def set_cookie_of(response) -> SimpleCookie:
    jar = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar


def test_the_mailed_link_signs_in_after_the_button_and_only_once(portal: Portal, account: str):
    answer = ask_for_link(portal, "ann.owner@EXAMPLE.com")
    assert answer.status_code == 303 and answer.headers["location"] == "/signin/sent"
    [mail] = portal.mails()
    assert mail["To"].addresses[0].addr_spec == "ann.owner@example.com"
    assert "IL-100234" in mail.get_body(("plain",)).get_content()
    path = signin_link(mail)

    shown = portal.client.get(path)  # what a mail scanner does: nobody is signed in
    assert "Sign in to account IL-100234" in shown.text
    assert SESSION_COOKIE not in portal.client.cookies
    assert portal.client.get("/account/tokens", follow_redirects=False).status_code == 303

    signed = press_sign_in(portal, path)
    assert signed.status_code == 303 and signed.headers["location"] == "/account"
    cookie = set_cookie_of(signed)[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"].lower() == "lax" and cookie["secure"]
    with portal.store.read() as session:
        rows = session.execute(select(CustomerSession)).scalars().all()
    assert [r.session_hash for r in rows] == [digest(cookie.value)]  # only the hash is kept

    again = portal.client.get(path)
    assert again.status_code == 410 and "used already" in again.text


def test_every_identifier_gets_the_same_answer_and_only_real_ones_get_mail(
    portal: Portal, account: str
):
    known = ask_for_link(portal, "IL-100234")
    unknown = ask_for_link(portal, "IL-999999")
    stranger = ask_for_link(portal, "nobody@example.org")
    assert known.status_code == unknown.status_code == stranger.status_code == 303
    assert known.headers["location"] == unknown.headers["location"] == "/signin/sent"
    assert len(portal.mails()) == 1
    sent = portal.client.get("/signin/sent")
    assert "If what you typed belongs to an Interlink account" in sent.text


def test_an_empty_or_oversized_identifier_is_named(portal: Portal):
    empty = ask_for_link(portal, "  ")
    assert empty.status_code == 422 and "is required" in empty.text
    huge = ask_for_link(portal, "<b>" + "x" * 400)
    assert huge.status_code == 422 and "at most 254" in huge.text
    assert "<b>" not in main_of(huge.text)


def test_expired_unknown_and_foreign_links_are_refused(portal: Portal, store: Store, account: str):
    sessions = CustomerSessions(store)
    [old] = sessions.request_links(account, now=utcnow() - timedelta(minutes=16))
    expired = portal.client.get(f"/signin/{old.token}")
    assert expired.status_code == 410 and "expired" in expired.text
    unknown = portal.client.get("/signin/" + "A" * 43)
    assert unknown.status_code == 400 and "not valid" in unknown.text
    with pytest.raises(SignInRefused):
        sessions.redeem_link(old.token)
    # A link of another portal's store (another account's mail) signs nobody in here.
    assert portal.client.get("/signin/not-a-token").status_code == 400


def test_sign_in_replaces_a_planted_session(portal: Portal, store: Store, account: str):
    """Session fixation: a cookie set before sign-in is ended; the browser gets a fresh one."""
    other = store.create_account("staff:test", account_data())
    planted = sign_in(portal, other.number)
    [link] = CustomerSessions(store).request_links(account)
    signed = press_sign_in(portal, f"/signin/{link.token}")
    fresh = set_cookie_of(signed)[SESSION_COOKIE].value
    assert fresh != planted
    assert CustomerSessions(store).resume(planted) is None
    who = CustomerSessions(store).resume(fresh)
    assert who is not None and who.account_number == account


def test_sessions_end_when_idle_or_old_and_everywhere(store: Store, account: str):
    sessions = CustomerSessions(store)
    start = utcnow()
    new = sessions.start(account, now=start)
    assert sessions.resume(new.cookie, now=start + timedelta(minutes=29)) is not None
    # Used at 29 minutes, so it is alive at 58; idle past 30 after that, it ends.
    assert sessions.resume(new.cookie, now=start + timedelta(minutes=58)) is not None
    assert sessions.resume(new.cookie, now=start + timedelta(minutes=89)) is None
    busy = sessions.start(account, now=start)
    for minutes in range(25, 12 * 60, 25):
        assert sessions.resume(busy.cookie, now=start + timedelta(minutes=minutes)) is not None
    assert sessions.resume(busy.cookie, now=start + timedelta(hours=12, minutes=1)) is None
    one, two = sessions.start(account), sessions.start(account)
    assert sessions.end_all(one.who.account_id) >= 2
    assert sessions.resume(one.cookie) is None and sessions.resume(two.cookie) is None


def test_sign_out_here_and_everywhere(portal: Portal, store: Store, account: str):
    elsewhere = CustomerSessions(store).start(account)
    sign_in(portal, account)
    page = portal.client.get("/signin")
    out = portal.client.post("/signout/everywhere", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 200 and "signed out" in out.text
    assert CustomerSessions(store).resume(elsewhere.cookie) is None
    assert portal.client.get("/account/tokens", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", ["/signin", "/signout", "/signout/everywhere", "/signin/TOKEN"])
def test_every_sign_in_form_needs_its_csrf_token(portal: Portal, store: Store, account: str, path):
    if path.endswith("TOKEN"):
        [link] = CustomerSessions(store).request_links(account)
        path = f"/signin/{link.token}"
    sign_in(portal, account)
    refused = portal.client.post(path, data={"identifier": account}, follow_redirects=False)
    assert refused.status_code == 403 and "security check" in refused.text


def test_rate_limits_per_client_and_per_account(store: Store, tmp_path: Path, account: str):
    limited = make_portal(store, tmp_path / "outbox", signin_burst=3, signin_account_burst=1)
    with limited.client:
        assert ask_for_link(limited, account).status_code == 303
        assert ask_for_link(limited, ACCOUNT["email"]).status_code == 303  # same answer ...
        assert len(limited.mails()) == 1  # ... but one mail per account in the window
        assert ask_for_link(limited, "IL-1").status_code == 303
        refused = ask_for_link(limited, "IL-2")
        assert refused.status_code == 429 and refused.headers["retry-after"]


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/x", "/\\x"])
def test_after_sign_in_the_browser_stays_on_this_site(
    portal: Portal, store: Store, account: str, target: str
):
    [link] = CustomerSessions(store).request_links(account)
    shown = portal.client.get(f"/signin/{link.token}?next={target}")
    assert target not in shown.text
    signed = portal.client.post(
        f"/signin/{link.token}",
        data={"csrf_token": csrf_of(shown.text), "next": target},
        follow_redirects=False,
    )
    assert signed.headers["location"] == "/account"


def test_a_link_is_stored_hashed_and_has_256_bits(store: Store, account: str):
    [link] = CustomerSessions(store).request_links(account)
    assert len(link.token) >= 43
    with store.read() as session:
        [row] = session.execute(select(SigninToken)).scalars().all()
    assert row.token_hash == digest(link.token) and link.token not in row.token_hash


def test_a_token_made_for_something_else_signs_nobody_in(
    portal: Portal, store: Store, account: str
):
    """A request's confirmation token, an API token or a session cookie is no sign-in link."""
    from domains.changes import Workflow
    from tests.support.factories import NEW_TECH, make_domain

    make_domain(store, "foreign-link.com")
    confirmation = (
        Workflow(store)
        .submit(
            actor="customer:portal",
            domain_name="foreign-link.com",
            proposal=NEW_TECH,
            channel="portal",
        )
        .token
    )
    sessions = CustomerSessions(store)
    account_id = store.get_account(account).id
    assert account_id is not None
    api_token = sessions.create_token(account_id, "x").token
    cookie = sessions.start(account).cookie
    for token in (confirmation, api_token, cookie):
        assert token is not None
        assert portal.client.get(f"/signin/{token}").status_code == 400
        with pytest.raises(SignInRefused):
            sessions.redeem_link(token)
