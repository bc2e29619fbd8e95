"""`interlink accounts opt-out|opt-in ACCOUNT --via ...`: a choice told to staff, who and how."""

from __future__ import annotations

import pytest

from domains.store import Store
from domains.vocabulary import StaffRole
from tests.support.cli import on, one_error
from tests.support.factories import account_data
from tests.support.staff import add_me


@pytest.fixture
def number(store: Store) -> str:
    return store.create_account("staff:ann", account_data(email="holder@example.com")).number


def test_support_records_an_opt_out_by_phone_and_an_opt_in_by_letter(
    store: Store, number: str
) -> None:
    me = add_me(store, StaffRole.SUPPORT)
    result = on(store, "accounts", "opt-out", number.lower(), "--via", "phone")
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert said.startswith(f"account {number} opted out of marketing mail on ")
    assert said.endswith(f"by phone, recorded by {me}")
    account = store.get_account(number)
    assert account.marketing_opt_out_at is not None
    assert (account.marketing_opt_out_via, account.marketing_opt_out_by) == ("phone", me)

    again = on(store, "accounts", "opt-out", number, "--via", "email")
    assert again.exit_code == 0, again.output
    assert "already opted out of marketing mail: nothing changed" in again.stdout
    assert store.get_account(number).marketing_opt_out_via == "phone"

    back = on(store, "accounts", "opt-in", number, "--via", "letter")
    assert back.exit_code == 0, back.output
    assert f"account {number} receives marketing mail again (opted in by letter)" in (
        " ".join(back.stdout.split())
    )
    account = store.get_account(number)
    assert (account.marketing_opt_out_at, account.marketing_opt_out_by) == (None, None)


def test_a_bad_channel_an_unknown_account_and_a_missing_role_are_one_clear_line(
    store: Store, number: str
) -> None:
    add_me(store, StaffRole.SUPPORT)
    bad = one_error(on(store, "accounts", "opt-out", number, "--via", "fax"))
    assert "'fax' is not how a customer tells staff; give one of: phone, letter, email" in bad
    unknown = one_error(on(store, "accounts", "opt-out", "A-999999", "--via", "phone"))
    assert "no account 'A-999999'" in unknown

    add_me(store, StaffRole.ADMIN)
    refused = one_error(on(store, "accounts", "opt-in", number, "--via", "phone"))
    assert "may not record a customer's choice about marketing mail" in refused
    assert "needs the support role" in refused
    assert store.get_account(number).marketing_opt_out_at is None


def test_without_via_the_command_says_what_is_missing(store: Store, number: str) -> None:
    add_me(store, StaffRole.SUPPORT)
    result = on(store, "accounts", "opt-out", number)
    assert result.exit_code == 2
    assert "--via" in result.stderr
