"""Staff record an opt-out given by phone, letter or e-mail (when, how, who), and an opt-in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domains.account_detail import account_detail
from domains.errors import NotFound, RuleViolation
from domains.marketing_choice import OPT_IN_ACTION, record_choice
from domains.models import AuditEvent, utcnow
from domains.staff import Refused
from domains.store import Store
from domains.vocabulary import OptOutVia
from publishers.customer_preview import customer_panel
from tests.support.factories import account_data
from tests.support.staff import ADMIN, SUPPORT

SAM = f"staff:{SUPPORT}"


def audit_of(store: Store, number: str) -> list[AuditEvent]:
    with store.read() as session:
        return list(
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.entity_type == "account", AuditEvent.entity_id == number)
                .order_by(AuditEvent.id)
            ).scalars()
        )


@pytest.fixture
def number(store: Store) -> str:
    return store.create_account("staff:ann", account_data(email="holder@example.com")).number


def test_support_records_an_opt_out_by_phone_with_when_how_and_who(
    store: Store, number: str
) -> None:
    before = utcnow()
    choice = record_choice(store, SAM, number, opt_out=True, via=OptOutVia.PHONE)

    assert choice.changed and choice.opted_out
    account = store.get_account(number)
    assert account.marketing_opt_out_at is not None
    assert before <= account.marketing_opt_out_at <= utcnow()
    assert (account.marketing_opt_out_via, account.marketing_opt_out_by) == ("phone", SAM)
    [update] = [e for e in audit_of(store, number) if e.action == "account.update"]
    assert update.actor == SAM
    assert update.changes["marketing_opt_out_via"] == {"before": None, "after": "phone"}
    assert update.changes["marketing_opt_out_by"] == {"before": None, "after": SAM}

    words = account_detail(store, SAM, number).opt_out_words
    assert words.startswith("opted out of marketing mail on ")
    assert words.endswith(f", by phone, recorded by {SAM}")


def test_an_opt_in_by_letter_clears_the_opt_out_and_is_audited_with_its_channel(
    store: Store, number: str
) -> None:
    record_choice(store, SAM, number, opt_out=True, via="email")
    choice = record_choice(store, SAM, number, opt_out=False, via="Letter")

    assert choice.changed and not choice.opted_out
    account = store.get_account(number)
    assert (
        account.marketing_opt_out_at,
        account.marketing_opt_out_via,
        account.marketing_opt_out_by,
    ) == (None, None, None)
    events = audit_of(store, number)
    updates = [e for e in events if e.action == "account.update"]
    assert [u.changes["marketing_opt_out_via"]["after"] for u in updates] == ["email", None]
    [opt_in] = [e for e in events if e.action == OPT_IN_ACTION]
    assert opt_in.actor == SAM
    assert opt_in.changes == {"marketing_opt_in_via": {"before": None, "after": "letter"}}
    assert account_detail(store, SAM, number).opt_out is None


def test_a_choice_that_already_stands_changes_nothing(store: Store, number: str) -> None:
    first = record_choice(store, SAM, number, opt_out=True, via=OptOutVia.LETTER)
    again = record_choice(store, "staff:ann", number, opt_out=True, via=OptOutVia.PHONE)
    assert not again.changed
    assert (again.at, again.via, again.by) == (first.at, "letter", SAM)
    assert len([e for e in audit_of(store, number) if e.action == "account.update"]) == 1


def test_the_control_panel_opt_in_clears_a_choice_staff_recorded(store: Store, number: str) -> None:
    record_choice(store, SAM, number, opt_out=True, via=OptOutVia.PHONE)
    panel = customer_panel(store)
    panel.set_marketing(number, False)
    account = store.get_account(number)
    assert (account.marketing_opt_out_at, account.marketing_opt_out_by) == (None, None)

    panel.set_marketing(number, True)
    account = store.get_account(number)
    assert account.marketing_opt_out_via == OptOutVia.PORTAL == "control panel"
    assert account.marketing_opt_out_by == f"customer:{number}"
    assert account_detail(store, SAM, number).opt_out_words.endswith(
        f", in the control panel, recorded by customer:{number}"
    )


def test_a_role_without_the_permission_is_refused_and_nothing_changes(
    store: Store, number: str
) -> None:
    with pytest.raises(Refused, match="may not record a customer's choice about marketing"):
        record_choice(store, f"staff:{ADMIN}", number, opt_out=True, via=OptOutVia.PHONE)
    assert store.get_account(number).marketing_opt_out_at is None
    assert [e.action for e in audit_of(store, number)] == ["account.create"]


@pytest.mark.parametrize("via", ["fax", "control panel", "one-click unsubscribe", ""])
def test_only_the_channels_staff_hear_of_are_accepted(store: Store, number: str, via: str) -> None:
    with pytest.raises(RuleViolation, match="give one of: phone, letter, email"):
        record_choice(store, SAM, number, opt_out=True, via=via)
    assert store.get_account(number).marketing_opt_out_at is None


def test_an_unknown_account_or_a_customer_actor_is_refused(store: Store, number: str) -> None:
    with pytest.raises(NotFound, match="no account 'A-999999'"):
        record_choice(store, SAM, "A-999999", opt_out=True, via="phone")
    with pytest.raises(RuleViolation, match="customers use the panel"):
        record_choice(store, f"customer:{number}", number, opt_out=True, via="phone")
