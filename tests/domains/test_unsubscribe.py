"""Unsubscribe tokens name an account and nobody, refuse forgeries, and opt out once, audited."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select
from sqlmodel import col

from domains.models import Account, AuditEvent
from domains.server_secret import derive_key, load_secret
from domains.store import Store
from domains.unsubscribe import (
    TOKEN_LENGTH,
    InvalidUnsubscribeToken,
    Tokens,
    Unsubscribes,
)
from domains.vocabulary import OptOutVia
from tests.support.factories import account_data


def account_events(store: Store, number: str) -> list[AuditEvent]:
    with store.read() as session:
        return list(
            session.execute(
                select(AuditEvent)
                .where(col(AuditEvent.entity_type) == "account")
                .where(col(AuditEvent.entity_id) == number)
                .order_by(col(AuditEvent.id))
            ).scalars()
        )


def account_row(store: Store, number: str) -> Account:
    with store.read() as session:
        return session.execute(select(Account).where(col(Account.number) == number)).scalar_one()


def test_a_token_names_its_account_and_no_personal_data(store: Store) -> None:
    unsubscribes = Unsubscribes(store)
    first = store.create_account("staff:test", account_data(email="first.holder@example.com"))
    second = store.create_account("staff:test", account_data(email="second.holder@example.org"))
    assert first.id is not None and second.id is not None
    token = unsubscribes.token_for(first.id)
    assert unsubscribes.account_of(token) == first.id
    assert unsubscribes.account_of(unsubscribes.token_for(second.id)) == second.id
    # The same link every time, one per account, and a fixed length of URL-safe characters.
    assert unsubscribes.token_for(first.id) == token != unsubscribes.token_for(second.id)
    assert len(token) == TOKEN_LENGTH and token.isascii()
    raw = base64.urlsafe_b64decode(token)
    for secret in (first.number, first.email, first.name, "holder", "example"):
        assert secret.lower() not in token.lower()
        assert secret.encode() not in raw
    # The id is enciphered: its plain bytes are not in the token.
    assert first.id.to_bytes(8, "big") not in raw


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t[:-1],  # cut short, as a mail client may wrap a long line
        lambda t: t[:20],
        lambda t: t + "A",
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature changed
        lambda t: t[:3] + ("A" if t[3] != "A" else "B") + t[4:],  # the account changed
        lambda t: "C" + t[1:],  # another format version
        lambda t: t.replace(t[5], "*"),  # not base64url
        lambda t: "",
    ],
)
def test_a_forged_or_truncated_token_is_refused(store: Store, damage) -> None:
    account = store.create_account("staff:test", account_data())
    assert account.id is not None
    unsubscribes = Unsubscribes(store)
    token = unsubscribes.token_for(account.id)
    with pytest.raises(InvalidUnsubscribeToken, match="unsubscribe link"):
        unsubscribes.account_of(damage(token))
    with pytest.raises(InvalidUnsubscribeToken):
        unsubscribes.opt_out(damage(token), OptOutVia.ONE_CLICK)
    assert account_row(store, account.number).marketing_opt_out_at is None


def test_a_token_for_another_purpose_or_another_secret_is_refused(store: Store) -> None:
    account = store.create_account("staff:test", account_data())
    assert account.id is not None
    secret = load_secret(store.settings.portal, store.settings.data_dir)
    other_purpose = Tokens(derive_key(secret, "csrf")).token_for(account.id)
    other_secret = Tokens(derive_key(b"another server's secret", "unsubscribe")).token_for(
        account.id
    )
    unsubscribes = Unsubscribes(store)
    for token in (other_purpose, other_secret, None, 42):
        with pytest.raises(InvalidUnsubscribeToken):
            unsubscribes.account_of(token)
    assert account_events(store, account.number)[-1].action == "account.create"


def test_opting_out_twice_records_it_once_as_the_customers_own_choice(store: Store) -> None:
    account = store.create_account("staff:test", account_data())
    assert account.id is not None
    unsubscribes = Unsubscribes(store)
    token = unsubscribes.token_for(account.id)
    assert not unsubscribes.opted_out(token)

    first = unsubscribes.opt_out(token, OptOutVia.ONE_CLICK)
    assert first.changed and first.account_number == account.number
    row = account_row(store, account.number)
    assert row.marketing_opt_out_at is not None
    assert row.marketing_opt_out_via == "one-click unsubscribe"
    assert row.marketing_opt_out_by == f"customer:{account.number}"
    assert unsubscribes.opted_out(token)

    again = unsubscribes.opt_out(token, OptOutVia.UNSUBSCRIBE_MAIL)
    assert not again.changed
    after = account_row(store, account.number)
    assert after.marketing_opt_out_at == row.marketing_opt_out_at
    assert after.marketing_opt_out_via == "one-click unsubscribe" and after.version == row.version

    updates = [e for e in account_events(store, account.number) if e.action == "account.update"]
    assert len(updates) == 1
    assert updates[0].actor == f"customer:{account.number}"
    assert updates[0].changes["marketing_opt_out_via"]["after"] == "one-click unsubscribe"
    assert updates[0].changes["marketing_opt_out_by"]["after"] == f"customer:{account.number}"


def test_a_token_of_an_account_that_is_gone_changes_nothing(store: Store) -> None:
    unsubscribes = Unsubscribes(store)
    with pytest.raises(InvalidUnsubscribeToken, match="names no account"):
        unsubscribes.opt_out(unsubscribes.token_for(987_654), OptOutVia.ONE_CLICK)


def test_the_html_footer_of_marketing_mail_links_to_the_unsubscribe_page() -> None:
    from domains.mail_compose import environment

    values = {
        "category": "marketing",
        "recipient_name": "Reader",
        "company": "Interlink Networks Ltd",
        "support_url": "https://www.interlink.example.net",
        "domain": None,
        "subject": "News",
    }
    page = environment().from_string('{% extends "_base.html" %}')
    url = "https://portal.example.org/unsubscribe/" + "A" * TOKEN_LENGTH
    html = page.render({**values, "unsubscribe_url": url})
    assert f'<a href="{url}">Unsubscribe</a>' in html
    assert "tell our support team" not in html
    essential = page.render({**values, "category": "essential", "unsubscribe_url": None})
    assert "/unsubscribe/" not in essential and "service message" in essential
