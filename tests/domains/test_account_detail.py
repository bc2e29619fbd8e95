"""The Account screen's read: only the account's own rows, for staff allowed, each look recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert, select
from sqlmodel import col

from domains.account_detail import OptOut, account_detail
from domains.audit import customer_actor
from domains.customer_models import EmailVerification, RegistrantChange, TransferLock
from domains.errors import NotFound, RuleViolation
from domains.models import Domain, DomainContact, utcnow
from domains.staff import Refused, UnknownStaff
from domains.store import Store
from domains.vocabulary import AccessPurpose
from tests.support.factories import account_data, contact_data
from tests.support.staff import ADMIN, DISABLED, SUPPORT

STAFF = f"staff:{SUPPORT}"


def make_account(store: Store, domains: int = 1) -> dict:
    """An account with a registrant and an admin contact, and `domains` domains."""
    account = store.create_account("staff:test", account_data())
    registrant = store.create_contact(
        "staff:test", contact_data(org="Example Trading Ltd"), account_number=account.number
    )
    admin = store.create_contact("staff:test", contact_data(), account_number=account.number)
    names = []
    for _ in range(domains):
        domain = store.create_domain(
            "staff:test",
            {"name": f"{account.number.lower()}-{len(names)}.com"},
            account_number=account.number,
            contacts={"registrant": registrant.handle, "admin": admin.handle},
        )
        names.append(domain.name)
    return {
        "number": account.number,
        "registrant": registrant.handle,
        "admin": admin.handle,
        "domains": names,
    }


def waiting_email(store: Store, handle: str, new_email: str, age: timedelta) -> None:
    """A new e-mail address asked for `age` ago, its link not followed yet."""
    contact = store.get_contact(handle)
    assert contact.id is not None
    asked = utcnow() - age
    with store.write() as session:
        session.add(
            EmailVerification(
                contact_id=contact.id,
                new_email=new_email,
                token_hash=f"{handle}-{new_email}"[:64],
                requested_by="customer:test",
                created_at=asked,
                expires_at=asked + timedelta(days=7),
            )
        )


def looks(store: Store, handle: str) -> list[tuple[str, str]]:
    return [(e.actor, e.purpose) for e in store.access_events(handle)]


def test_the_account_its_contacts_domains_and_pending_changes(store):
    mine = make_account(store)
    theirs = make_account(store)
    number = mine["number"]
    domain = store.get_domain(mine["domains"][0])
    registrant = store.get_contact(mine["registrant"])
    with store.write() as session:
        session.add(
            TransferLock(domain_id=domain.id, until=utcnow() + timedelta(days=60), reason="COR")
        )
        session.add(
            RegistrantChange(
                reference="COR-TEST-1",
                contact_id=registrant.id,
                account_id=registrant.account_id,
                state="waiting",
                changes={"name": {"before": "a", "after": "b"}, "org": {"before": 1, "after": 2}},
                prior_email="old@example.org",
                new_email="new@example.org",
                prior_token_hash="p" * 64,
                new_token_hash="n" * 64,
                requested_by=customer_actor(number),
                expires_at=utcnow() + timedelta(days=5),
            )
        )
    waiting_email(store, theirs["registrant"], "other@example.org", timedelta(days=20))

    detail = account_detail(store, STAFF, number.lower())

    assert detail.number == number and detail.actor == f"customer:{number}"
    assert detail.opt_out is None
    assert detail.opt_out_words == "receives marketing mail (no opt-out)"
    assert [c.handle for c in detail.contacts] == [mine["registrant"], mine["admin"]]
    first = detail.contacts[0]
    assert (first.name, first.org, first.email) == (
        registrant.name,
        "Example Trading Ltd",
        registrant.email,
    )
    assert all(c.pending_email is None for c in detail.contacts)  # theirs is not ours
    (change,) = detail.registrant_changes
    assert (change.reference, change.contact_handle, change.fields) == (
        "COR-TEST-1",
        mine["registrant"],
        ("name", "org"),
    )
    (listed,) = detail.domains
    assert listed.name == domain.name
    assert listed.holders == (
        ("registrant", mine["registrant"]),
        ("admin", mine["admin"]),
        ("tech", store.house_contact().handle),
    )
    assert listed.lock_until is not None and listed.lock_until > utcnow()
    assert listed.lock_reason == "COR"
    assert detail.changes == ()  # staff made every change so far


def test_a_lock_that_ran_out_and_a_decided_change_are_not_pending(store):
    mine = make_account(store)
    domain = store.get_domain(mine["domains"][0])
    registrant = store.get_contact(mine["registrant"])
    with store.write() as session:
        session.add(
            TransferLock(domain_id=domain.id, until=utcnow() - timedelta(days=1), reason="COR")
        )
        session.add(
            RegistrantChange(
                reference="COR-TEST-2",
                contact_id=registrant.id,
                account_id=registrant.account_id,
                state="done",
                prior_email="old@example.org",
                new_email="new@example.org",
                prior_token_hash="q" * 64,
                new_token_hash="r" * 64,
                requested_by="customer:x",
                expires_at=utcnow() + timedelta(days=5),
                decided_at=utcnow(),
            )
        )
    detail = account_detail(store, STAFF, mine["number"])
    assert detail.domains[0].lock_until is None
    assert detail.registrant_changes == ()


def test_the_customers_own_changes_newest_first_and_no_one_elses(store):
    mine, theirs = make_account(store), make_account(store)
    number = mine["number"]
    actor = customer_actor(number)
    opted = utcnow().replace(microsecond=0)
    store.update_account(
        actor,
        number,
        None,
        {"marketing_opt_out_at": opted, "marketing_opt_out_via": "portal"},
    )
    contact = store.get_contact(mine["admin"])
    store.update_contact(actor, contact.handle, contact.version, {"voice": "+49 30 901821"})
    store.update_contact(  # staff's change to the same contact is not the customer's
        "staff:test", contact.handle, contact.version + 1, {"city": "Potsdam"}
    )
    other = store.get_contact(theirs["admin"])
    store.update_contact(
        customer_actor(theirs["number"]), other.handle, other.version, {"city": "Hamburg"}
    )

    detail = account_detail(store, STAFF, number)

    assert [(c.action, c.entity, c.fields) for c in detail.changes] == [
        ("contact.update", f"contact:{mine['admin']}", ("voice",)),
        ("account.update", f"account:{number}", ("marketing_opt_out_at", "marketing_opt_out_via")),
    ]
    assert detail.changes[0].at >= detail.changes[1].at
    assert detail.opt_out is not None and detail.opt_out.at == opted
    assert detail.opt_out.how == "in the portal"
    assert detail.opt_out_words.startswith("opted out of marketing mail on ")
    assert detail.opt_out_words.endswith(", in the portal")


@pytest.mark.parametrize(
    ("via", "how"),
    [
        ("portal", "in the portal"),
        ("letter", "by letter"),
        ("phone", "by phone"),
        ("email", "by e-mail"),
        ("Reply to newsletter 12", "via Reply to newsletter 12"),
        (None, "how was not recorded"),
    ],
)
def test_how_an_opt_out_was_given_is_shown_in_words(via, how):
    opt_out = OptOut(at=datetime(2025, 3, 14, 10, 22, 41, tzinfo=UTC), via=via)
    assert opt_out.how == how
    assert opt_out.words == f"opted out of marketing mail on 2025-03-14 10:22 UTC, {how}"


def test_an_address_unverified_for_more_than_15_days_is_flagged(store):
    mine = make_account(store)
    waiting_email(store, mine["registrant"], "older@example.org", timedelta(days=16))
    waiting_email(store, mine["admin"], "fresh@example.org", timedelta(days=2))

    detail = account_detail(store, STAFF, mine["number"])

    registrant, admin = detail.contacts
    assert registrant.pending_email is not None and admin.pending_email is not None
    assert registrant.pending_email.new_email == "older@example.org"
    assert registrant.pending_email.overdue and registrant.pending_email.link_expired
    assert registrant.pending_email.flag == "unverified for more than 15 days"
    assert admin.pending_email.new_email == "fresh@example.org"
    assert not admin.pending_email.overdue
    assert admin.pending_email.flag == "waiting for verification"


def test_a_verified_or_cancelled_address_is_not_pending(store):
    mine = make_account(store)
    waiting_email(store, mine["registrant"], "done@example.org", timedelta(days=20))
    waiting_email(store, mine["admin"], "dropped@example.org", timedelta(days=20))
    with store.write() as session:
        for row in session.execute(select(EmailVerification)).scalars():
            if row.new_email == "done@example.org":
                row.verified_at = utcnow()
            else:
                row.cancelled_at = utcnow()
    detail = account_detail(store, STAFF, mine["number"])
    assert all(c.pending_email is None for c in detail.contacts)


def test_each_contact_shown_is_a_recorded_look_for_the_account_screen(store):
    mine, theirs = make_account(store), make_account(store)
    account_detail(store, STAFF, mine["number"])
    for handle in (mine["registrant"], mine["admin"]):
        assert looks(store, handle) == [(STAFF, AccessPurpose.ACCOUNT_SCREEN)]
        assert AccessPurpose.ACCOUNT_SCREEN == "account screen"
    assert looks(store, theirs["registrant"]) == []


@pytest.mark.parametrize(
    ("actor", "error"),
    [(f"staff:{ADMIN}", Refused), (f"staff:{DISABLED}", UnknownStaff)],
)
def test_staff_without_the_support_role_are_refused_and_nothing_is_recorded(store, actor, error):
    mine = make_account(store)
    with pytest.raises(error):
        account_detail(store, actor, mine["number"])
    assert looks(store, mine["registrant"]) == []


def test_only_staff_read_the_account_screen(store):
    mine = make_account(store)
    with pytest.raises(RuleViolation, match="for staff"):
        account_detail(store, customer_actor(mine["number"]), mine["number"])


def test_an_unknown_account_is_not_found(store):
    with pytest.raises(NotFound):
        account_detail(store, STAFF, "A-999999")


def test_an_account_with_a_thousand_domains_is_read_in_a_few_statements(store):
    mine = make_account(store)
    account_id = store.get_account(mine["number"]).id
    registrant = store.get_contact(mine["registrant"]).id
    now = utcnow()
    with store.write() as session:
        session.execute(
            insert(Domain),
            [
                {
                    "name": f"bulk{n:04d}.com",
                    "unicode_name": f"bulk{n:04d}.com",
                    "tld": "com",
                    "account_id": account_id,
                    "statuses": ["ok"],
                    "nameservers": [],
                    "dnssec": False,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for n in range(1000)
            ],
        )
        ids = session.execute(
            select(col(Domain.id)).where(col(Domain.name).startswith("bulk"))
        ).scalars()
        session.execute(
            insert(DomainContact),
            [{"domain_id": i, "role": "registrant", "contact_id": registrant} for i in ids],
        )
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        detail = account_detail(store, STAFF, mine["number"])
    finally:
        event.remove(store.engine, "before_cursor_execute", count)

    assert len(detail.domains) == 1001
    bulk = [d for d in detail.domains if d.name.startswith("bulk")]
    assert all(d.holders == (("registrant", mine["registrant"]),) for d in bulk)
    # The staff check, the account, contacts, e-mail checks, changes of registrant, domains,
    # role holders, the customer's changes (and the recorded looks): never one per domain.
    assert len(statements) < 20, statements
