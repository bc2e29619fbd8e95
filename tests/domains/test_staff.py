"""Staff identity and roles, enforced by the store and workflow, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import pwd

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from domains.access import for_contact
from domains.changes import Workflow
from domains.errors import RuleViolation, ValidationFailed
from domains.identity import identify, system_login
from domains.staff import Refused, UnknownStaff
from domains.store import Store
from domains.vocabulary import AccessPurpose, RequestState, StaffRole
from tests.support.factories import NEW_TECH, contact_data, make_domain
from tests.support.portal import snapshot
from tests.support.staff import ADMIN, DISABLED, PRIVACY, SUPERVISOR, SUPPORT


def confirmed(store: Store, name: str, actor: str = "customer:portal") -> str:
    make_domain(store, name)
    flow = Workflow(store)
    outcome = flow.submit(actor=actor, domain_name=name, proposal=NEW_TECH, channel="phone")
    flow.confirm(token=outcome.token)
    return outcome.request.reference


def test_the_identity_is_the_system_account_or_the_database_login(store: Store) -> None:
    expected = (
        pwd.getpwuid(os.getuid()).pw_name
        if store.engine.dialect.name == "sqlite"
        else store.engine.url.username
    )
    assert system_login(store) == expected


def test_an_unknown_identity_is_refused_until_an_admin_adds_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "ann")  # the environment names a trusted member: it does not count
    monkeypatch.setenv("LOGNAME", "ann")
    me = system_login(store)
    with pytest.raises(UnknownStaff, match=f"'{me}' is not a member of staff"):
        identify(store)
    store.staff.add(f"staff:{ADMIN}", me, "The Operator", ["support"])
    assert identify(store).login == me


def test_a_disabled_member_is_refused(store: Store) -> None:
    with pytest.raises(UnknownStaff, match="disabled"):
        store.staff.active(DISABLED)
    with pytest.raises(UnknownStaff, match="disabled"):
        store.update_contact(f"staff:{DISABLED}", "IL-HOUSE", 1, {"city": "Bath"})


def test_support_may_not_approve_and_nothing_changes(store: Store) -> None:
    reference = confirmed(store, "approve-me.com")
    before = snapshot(store)
    with pytest.raises(Refused) as refused:
        Workflow(store).approve(actor=f"staff:{SUPPORT}", reference=reference)
    assert str(refused.value) == (
        "sam may not approve, reject or apply change requests: that needs the supervisor role"
    )
    assert refused.value.missing == StaffRole.SUPERVISOR
    assert snapshot(store) == before
    done = Workflow(store).approve(actor=f"staff:{SUPERVISOR}", reference=reference)
    assert done.request.state == RequestState.APPROVED


def test_the_enterer_may_not_approve_even_as_supervisor(store: Store) -> None:
    reference = confirmed(store, "phoned-in.com", actor=f"staff:{SUPERVISOR}")
    before = snapshot(store)
    with pytest.raises(RuleViolation, match="entered request .* cannot also approve it"):
        Workflow(store).approve(actor=f"staff:{SUPERVISOR}", reference=reference)
    assert snapshot(store) == before


def test_an_admin_manages_staff_but_sees_no_customer_data(store: Store) -> None:
    make_domain(store, "private.com")
    with pytest.raises(Refused, match="ada may not see customer data: that needs the support role"):
        store.look_at_domain(f"staff:{ADMIN}", "private.com", AccessPurpose.DOMAIN_SCREEN)
    with pytest.raises(Refused, match="manage staff accounts: that needs the admin role"):
        store.staff.add(f"staff:{SUPERVISOR}", "newbie", "New Bie", ["support"])
    added = store.staff.add(f"staff:{ADMIN}", "newbie", "New Bie", ["support"])
    assert added.roles == (StaffRole.SUPPORT,)
    granted = store.staff.grant(f"staff:{ADMIN}", "newbie", "supervisor")
    assert granted.roles == (StaffRole.SUPERVISOR, StaffRole.SUPPORT)
    assert store.staff.revoke(f"staff:{ADMIN}", "newbie", "support").roles == (
        StaffRole.SUPERVISOR,
    )
    assert not store.staff.disable(f"staff:{ADMIN}", "newbie").active
    with pytest.raises(UnknownStaff, match="disabled"):
        store.staff.active("newbie")


@pytest.mark.parametrize(
    ("login", "name", "roles", "field", "message"),
    [
        ("", "Some One", ["support"], "login", "is empty"),
        ("  ", "Some One", ["support"], "login", "is empty"),
        ("Ann Smith", "Some One", ["support"], "login", "is not a login"),
        ("ann", "Ann Again", ["support"], "login", "'ann' is a member of staff already"),
        ("zed", "Zed", ["janitor"], "role", "'janitor' is not a role; the roles are support,"),
        ("zed", "Zed", [], "role", "give at least one role"),
        ("zed", "", ["support"], "name", "is empty"),
    ],
)
def test_staff_add_refuses_bad_input_naming_the_field(
    store: Store, login: str, name: str, roles: list[str], field: str, message: str
) -> None:
    before = store.staff.members()
    with pytest.raises(ValidationFailed) as refused:
        store.staff.add(f"staff:{ADMIN}", login, name, roles)
    assert message in (refused.value.for_field(field) or ""), str(refused.value)
    assert store.staff.members() == before


def test_bootstrap_makes_the_first_admin_once(tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        first = store.staff.bootstrap("root", "The Operator")
        assert first.roles == (StaffRole.ADMIN,) and first.created_by == "system:bootstrap"
        with pytest.raises(RuleViolation, match="staff accounts exist already"):
            store.staff.bootstrap("other", "Somebody Else")
    finally:
        store.close()


def test_a_look_at_private_fields_is_recorded_and_listed(store: Store) -> None:
    make_domain(store, "looked-at.com")
    record = store.look_at_domain(f"staff:{SUPPORT}", "looked-at.com", AccessPurpose.DOMAIN_SCREEN)
    registrant = record.contacts["registrant"].handle
    store.look_at_contact(f"staff:{PRIVACY}", registrant, AccessPurpose.CONTACT_EDIT)
    events = store.access_events(registrant)
    assert [(e.actor, e.purpose, e.contact) for e in events] == [
        (f"staff:{PRIVACY}", "contact edit", registrant),
        (f"staff:{SUPPORT}", "domain screen", registrant),
    ]
    assert events[1].domain == "looked-at.com"
    house = {e.contact for e in for_contact(store, "IL-HOUSE")}
    assert house == {"IL-HOUSE"}


@pytest.mark.parametrize("table", ["audit_event", "access_event"])
def test_the_trails_are_append_only_at_the_database(store: Store, table: str) -> None:
    make_domain(store, "trail.com")
    store.create_contact("staff:ann", contact_data())
    store.look_at_domain("staff:ann", "trail.com", AccessPurpose.DOMAIN_SCREEN)
    with store.engine.connect() as connection:
        count = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    assert count
    for statement in (f"UPDATE {table} SET actor = 'staff:nobody'", f"DELETE FROM {table}"):
        with store.engine.begin() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))
    with store.engine.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == count
        assert not connection.execute(
            text(f"SELECT count(*) FROM {table} WHERE actor = 'staff:nobody'")
        ).scalar_one()
