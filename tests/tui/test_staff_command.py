"""Who acts is the system's word: `interlink staff ...`, and every command refusing the unknown,
the disabled and the ones whose roles do not allow what they ask (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from domains.changes import Workflow
from domains.identity import system_login
from domains.settings import Settings, get_settings
from domains.store import Store
from domains.vocabulary import StaffRole
from tests.support.cli import access_event_count, interlink, on, one_error, url_of
from tests.support.factories import NEW_TECH, confirmed_request, make_domain
from tests.support.rdap_schema import rdap_answer
from tests.support.staff import ADMIN, add_me, seed_staff

ROLES = "support, supervisor, privacy, admin"


def unknown(login: str) -> str:
    return (
        f"error: {login!r} is not a member of staff; an admin adds you with "
        f"`interlink staff add {login} --name NAME --role ROLE`"
    )


def test_an_unknown_identity_is_refused_and_sees_nothing(store: Store, tmp_path: Path) -> None:
    domain, registrant = make_domain(store)
    reference = confirmed_request(store, domain.name)
    me = system_login(store)
    for args in (
        ("show", domain.name, "--as", "private"),
        ("show", domain.name, "--as", "epp"),
        ("requests", "list"),
        ("requests", "show", reference),
        ("requests", "approve", reference),
        ("export", str(tmp_path / "out.json")),
        ("audit", "access", registrant.handle),
        ("staff", "list"),
    ):
        assert one_error(on(store, *args)) == unknown(me), args
    assert Workflow(store).get(reference).state == "confirmed"
    assert not (tmp_path / "out.json").exists()
    assert access_event_count(store) == 0


def test_public_formats_need_no_identity(store: Store) -> None:
    domain, registrant = make_domain(store)
    whois = on(store, "show", domain.name, "--as", "whois")
    assert whois.exit_code == 0, whois.output
    assert f"Domain Name: {domain.name.upper()}" in whois.stdout
    assert registrant.email not in whois.stdout
    rdap = on(store, "show", domain.name, "--as", "rdap")
    assert rdap.exit_code == 0 and rdap_answer(rdap.stdout)["ldhName"] == domain.name
    assert access_event_count(store) == 0


def test_a_disabled_member_is_refused(store: Store) -> None:
    domain, _ = make_domain(store)
    add_me(store, StaffRole.SUPERVISOR)
    me = system_login(store)
    assert on(store, "requests", "list").exit_code == 0
    store.staff.disable(f"staff:{ADMIN}", me)
    line = one_error(on(store, "show", domain.name, "--as", "private"))
    assert line == f"error: the staff account {me!r} is disabled; an admin can tell you why"
    assert one_error(on(store, "requests", "list")) == line
    assert access_event_count(store) == 0


def test_support_cannot_approve_and_nothing_changes(store: Store) -> None:
    domain, _ = make_domain(store)
    reference = confirmed_request(store, domain.name)
    add_me(store, StaffRole.SUPPORT)
    me = system_login(store)
    line = one_error(on(store, "requests", "approve", reference))
    assert line == (
        f"error: {me} may not approve, reject or apply change requests: "
        "that needs the supervisor role"
    )
    refused = on(store, "requests", "reject", reference, "--reason", "No")
    assert "that needs the supervisor role" in one_error(refused)
    request = Workflow(store).get(reference)
    assert request.state == "confirmed" and request.decided_by is None


def test_who_entered_a_request_cannot_approve_it_even_as_supervisor(
    store: Store, tmp_path: Path
) -> None:
    domain, _ = make_domain(store)
    me = add_me(store, StaffRole.SUPERVISOR)
    contact = tmp_path / "tech.json"
    contact.write_text(json.dumps(NEW_TECH), encoding="utf-8")
    flow = Workflow(store)
    outcome = flow.submit(actor=me, domain_name=domain.name, proposal=NEW_TECH, channel="phone")
    flow.confirm(token=outcome.token)
    reference = outcome.request.reference
    assert flow.get(reference).entered_by == me  # the identity, not a name typed in

    line = one_error(on(store, "requests", "approve", reference))
    assert line == (
        f"error: {me} entered request {reference} and cannot also approve it; "
        "another member of staff must"
    )
    assert flow.get(reference).state == "confirmed"
    flow.approve(actor="staff:bob", reference=reference)  # another member may
    assert flow.get(reference).state == "approved"


def test_staff_add_refuses_bad_input_with_one_clear_line(store: Store) -> None:
    add_me(store, StaffRole.ADMIN)
    add = ("staff", "add")
    empty = one_error(on(store, *add, "", "--name", "New Person", "--role", "support"))
    assert empty == "error: login: is empty; give the member's system login"
    duplicate = one_error(on(store, *add, "sam", "--name", "Sam Again", "--role", "support"))
    assert duplicate == "error: login: 'sam' is a member of staff already"
    role = one_error(on(store, *add, "newbie", "--name", "New Person", "--role", "boss"))
    assert role == f"error: role: 'boss' is not a role; the roles are {ROLES}"
    no_name = one_error(on(store, *add, "newbie", "--role", "support"))
    assert no_name == "error: name: is empty; give the member's full name"
    assert "newbie" not in {m.login for m in store.staff.members()}


def test_only_an_admin_manages_staff(store: Store) -> None:
    add_me(store, StaffRole.SUPERVISOR, StaffRole.PRIVACY)
    me = system_login(store)
    line = one_error(on(store, "staff", "add", "newbie", "--name", "N", "--role", "support"))
    assert line == f"error: {me} may not manage staff accounts: that needs the admin role"
    assert one_error(on(store, "staff", "grant", "sam", "admin")) == line
    assert one_error(on(store, "staff", "disable", "sam")) == line
    assert store.staff.get("sam").roles == (StaffRole.SUPPORT,)


def test_an_admin_adds_grants_revokes_disables_and_lists(store: Store) -> None:
    me = add_me(store, StaffRole.ADMIN)
    added = on(store, "staff", "add", "newbie", "--name", "New  Person", "--role", "support")
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() == "added newbie (New Person) as support"
    granted = on(store, "staff", "grant", "newbie", "supervisor")
    assert granted.stdout.strip() == "newbie now has: supervisor, support"
    revoked = on(store, "staff", "revoke", "newbie", "support")
    assert revoked.stdout.strip() == "newbie now has: supervisor"
    disabled = on(store, "staff", "disable", "newbie")
    assert disabled.stdout.strip() == "newbie is disabled"
    unknown_member = one_error(on(store, "staff", "grant", "nobody", "support"))
    assert unknown_member.startswith("error: 'nobody' is not a member of staff")

    listed = on(store, "staff", "list")
    assert listed.exit_code == 0, listed.output
    rows = {line.split("│")[1].strip(): line for line in listed.stdout.splitlines()[3:-1]}
    newbie = [cell.strip() for cell in rows["newbie"].split("│")[1:-1]]
    assert newbie[:5] == ["newbie", "New Person", "supervisor", "no", me]
    assert newbie[6] == me and newbie[7] != "-"
    mine = [cell.strip() for cell in rows[system_login(store)].split("│")[1:-1]]
    assert mine[2:4] == ["admin", "yes"] and mine[6:] == ["-", "-"]
    member = store.staff.get("newbie")
    assert (member.active, member.disabled_by) == (False, me)


def test_bootstrap_makes_the_first_admin_once(database_url: str, tmp_path: Path) -> None:
    first = interlink("staff", "add", "--bootstrap", "--name", "First Admin", "--db", database_url)
    assert first.exit_code == 0, first.output
    store = Store.open(settings=Settings(database_url=database_url, data_dir=tmp_path))
    try:
        me = system_login(store)
        assert first.stdout.startswith(f"{me} (First Admin) is the first admin; ")
        member = store.staff.get(me)
        assert member.roles == (StaffRole.ADMIN,) and member.created_by == "system:bootstrap"
        again = interlink("staff", "add", "--bootstrap", "--db", database_url)
        assert one_error(again) == (
            "error: staff accounts exist already; an admin adds members with `interlink staff add`"
        )
        with_login = interlink("staff", "add", "--bootstrap", "ann", "--db", database_url)
        assert "--bootstrap takes no LOGIN" in one_error(with_login)
        assert [m.login for m in store.staff.members()] == [me]
    finally:
        store.close()


@pytest.fixture
def clerk(pg_store: Store) -> Iterator[str]:
    """A second PostgreSQL login role allowed to use the test database; its URL."""
    store = pg_store
    seed_staff(store)
    name = f"il_clerk_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url_of(store), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{name}" LOGIN'))
        connection.execute(text(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{name}"'))
        connection.execute(text(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{name}"'))
    try:
        yield make_url(url_of(store)).set(username=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP OWNED BY "{name}"'))
            connection.execute(text(f'DROP ROLE "{name}"'))
        admin.dispose()


def test_on_postgresql_the_identity_is_the_database_login(
    pg_store: Store, clerk: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two logins, two members: the clerk (support) may look but not approve; the runner's own
    login (supervisor) approves what the clerk may not."""
    store = pg_store
    login = make_url(clerk).username
    assert login is not None
    domain, registrant = make_domain(store)
    reference = confirmed_request(store, domain.name)
    me = add_me(store, StaffRole.SUPERVISOR)
    stranger = one_error(interlink("requests", "approve", reference, "--db", clerk))
    assert stranger == unknown(login)

    store.staff.add(f"staff:{ADMIN}", login, "Clerk", [StaffRole.SUPPORT])
    refused = one_error(interlink("requests", "approve", reference, "--db", clerk))
    assert refused.startswith(f"error: {login} may not approve")
    looked = interlink("show", domain.name, "--as", "private", "--db", clerk)
    assert looked.exit_code == 0, looked.output
    assert {e.actor for e in store.access_events(registrant.handle)} == {f"staff:{login}"}

    monkeypatch.setenv("INTERLINK_DATA_DIR", str(tmp_path))  # the notices' mail goes here
    get_settings.cache_clear()
    try:
        approved = on(store, "requests", "approve", reference)
    finally:
        get_settings.cache_clear()
    assert approved.exit_code == 0, approved.output
    assert Workflow(store).get(reference).decided_by == me
