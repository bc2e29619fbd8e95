"""A technical-contact change asked for in the control panel, for the account's own domains."""

from __future__ import annotations

from sqlalchemy import select

from domains.models import AuditEvent
from domains.store import Store
from tests.support.factories import account_with_domain
from tests.support.panel import sign_in
from tests.support.portal import FORM, Portal, csrf_of, main_of, requests_of


def holder(store: Store, *, same_email: bool, name: str) -> str:
    """An account with one domain; its registrant has the account's e-mail or another."""
    other = None if same_email else "someone.else@example.org"
    account, _ = account_with_domain(store, name, registrant_email=other)
    return account.number


def post_change(portal: Portal, domain: str, **overrides: str):
    form = portal.client.get(f"/account/domains/{domain}/change")
    assert form.status_code == 200, form.text
    data = {"csrf_token": csrf_of(form.text), **FORM, **overrides}
    return portal.client.post(f"/account/domains/{domain}/change", data=data)


def test_the_form_is_prefilled_with_the_account(portal: Portal, store: Store):
    number = holder(store, same_email=True, name="prefill.com")
    sign_in(portal, number)
    shown = portal.client.get("/account/domains/prefill.com/change")
    account = store.get_account(number)
    assert f'value="{account.email}"' in shown.text and "prefill.com" in main_of(shown.text)


def test_the_registrant_account_asks_and_it_counts_as_confirmed(portal: Portal, store: Store):
    number = holder(store, same_email=True, name="mine.com")
    sign_in(portal, number)
    done = post_change(portal, "mine.com")
    assert done.status_code == 200 and "counts as" in done.text
    [request] = requests_of(store)
    assert request.state == "confirmed" and request.confirmed_at is not None
    subjects = [m["Subject"] for m in portal.mails()]
    assert subjects and not any("confirm" in s.lower() and "please" in s.lower() for s in subjects)
    with store.read() as session:
        actors = (
            session.execute(
                select(AuditEvent.actor).where(AuditEvent.action.like("change.%"))  # type: ignore[attr-defined]
            )
            .scalars()
            .all()
        )
    assert set(actors) == {f"customer:{number}"}


def test_another_address_on_file_gets_the_confirmation_link(portal: Portal, store: Store):
    number = holder(store, same_email=False, name="theirs.com")
    sign_in(portal, number)
    done = post_change(portal, "theirs.com")
    assert done.status_code == 200 and "confirmation link" in done.text
    [request] = requests_of(store)
    assert request.state == "submitted"
    [mail] = portal.mails()
    assert mail["To"].addresses[0].addr_spec == "someone.else@example.org"
    assert "/confirm/" in mail.get_body(("plain",)).get_content()


def test_another_accounts_domain_is_not_found(portal: Portal, store: Store):
    holder(store, same_email=True, name="other.com")
    mine = holder(store, same_email=True, name="own.com")
    sign_in(portal, mine)
    foreign = portal.client.get("/account/domains/other.com/change")
    unknown = portal.client.get("/account/domains/nowhere.com/change")
    assert foreign.status_code == unknown.status_code == 404
    assert main_of(foreign.text) == main_of(unknown.text)
    own = portal.client.get("/account/domains/own.com/change")
    posted = portal.client.post(
        "/account/domains/other.com/change", data={"csrf_token": csrf_of(own.text), **FORM}
    )
    assert posted.status_code == 404 and requests_of(store) == []


def test_a_bad_field_is_named_and_the_typed_values_kept(portal: Portal, store: Store):
    number = holder(store, same_email=True, name="typo.com")
    sign_in(portal, number)
    refused = post_change(portal, "typo.com", email="not-an-address", org="<b>Bold</b> Ltd")
    assert refused.status_code == 422
    assert 'id="error-email"' in refused.text
    assert "&lt;b&gt;Bold&lt;/b&gt; Ltd" in refused.text and "<b>Bold</b>" not in refused.text
    assert requests_of(store) == []


def test_the_form_needs_its_csrf_token(portal: Portal, store: Store):
    number = holder(store, same_email=True, name="csrf.com")
    sign_in(portal, number)
    refused = portal.client.post("/account/domains/csrf.com/change", data=FORM)
    assert refused.status_code == 403 and requests_of(store) == []
