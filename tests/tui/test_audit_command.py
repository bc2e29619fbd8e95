"""The access trail from the shell: `show --as private` and `export` are recorded, `interlink
audit access CONTACT` lists them; export and import need their roles (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from domains.identity import system_login
from domains.store import Store
from domains.vocabulary import AccessPurpose, StaffRole
from tests.support.cli import access_event_count, on, one_error
from tests.support.factories import confirmed_request, make_domain
from tests.support.staff import add_me
from tui.commands.audit import EVERY_CONTACT


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("│")[1:-1]]


def test_show_private_and_export_are_listed_by_audit_access(store: Store, tmp_path: Path) -> None:
    domain, registrant = make_domain(store)
    me = add_me(store, StaffRole.PRIVACY)  # privacy: exports, and sees customer data

    shown = on(store, "show", domain.name, "--as", "private")
    assert shown.exit_code == 0, shown.output
    assert registrant.email in shown.stdout
    exported = on(store, "export", str(tmp_path / "all.json"))
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "all.json").exists()
    # one event per contact of the domain (registrant, house tech), and one for the export
    assert access_event_count(store) == 3

    trail = on(store, "audit", "access", registrant.handle)
    assert trail.exit_code == 0, trail.output
    rows = [cells(line) for line in trail.stdout.splitlines() if line.startswith("│")]
    assert [row[1:] for row in rows] == [
        [me, AccessPurpose.EXPORT, EVERY_CONTACT, "-"],
        [me, AccessPurpose.SHOW_PRIVATE, registrant.handle, domain.name],
    ]
    assert all(row[0].endswith("+00:00") and row[0][10] == "T" for row in rows)


def test_a_contact_nobody_looked_at_and_an_unknown_one(store: Store) -> None:
    _, registrant = make_domain(store)
    add_me(store, StaffRole.SUPPORT)
    quiet = on(store, "audit", "access", registrant.handle)
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout.strip() == f"nobody has looked at {registrant.handle}'s private fields"
    assert one_error(on(store, "audit", "access", "ILC999999")) == "error: no contact 'ILC999999'"


def test_audit_access_needs_the_support_role(store: Store) -> None:
    _, registrant = make_domain(store)
    add_me(store, StaffRole.ADMIN)  # an admin sees no customer data by that role alone
    line = one_error(on(store, "audit", "access", registrant.handle))
    assert line == (
        f"error: {system_login(store)} may not see customer data: that needs the support role"
    )


def test_export_needs_the_privacy_role_and_writes_nothing_without_it(
    store: Store, tmp_path: Path
) -> None:
    make_domain(store)
    add_me(store, StaffRole.SUPERVISOR)
    line = one_error(on(store, "export", str(tmp_path / "all.json")))
    assert line == (
        f"error: {system_login(store)} may not export customer data: that needs the privacy role"
    )
    assert not (tmp_path / "all.json").exists()
    assert not (tmp_path / "all.json.tmp").exists()
    assert access_event_count(store) == 0


def test_import_needs_the_supervisor_role_and_writes_nothing_without_it(
    store: Store, tmp_path: Path
) -> None:
    make_domain(store)
    add_me(store, StaffRole.PRIVACY)
    path = tmp_path / "all.json"
    assert on(store, "export", str(path)).exit_code == 0
    before = store.count_domains()
    line = one_error(on(store, "import", str(path)))
    assert line == (
        f"error: {system_login(store)} may not import records: that needs the supervisor role"
    )
    assert store.count_domains() == before


def test_show_as_epp_and_requests_show_are_recorded_with_their_own_purpose(store: Store) -> None:
    domain, registrant = make_domain(store)
    me = add_me(store, StaffRole.SUPPORT)
    assert on(store, "show", domain.name, "--as", "epp").exit_code == 0
    reference = confirmed_request(store, domain.name)
    shown = on(store, "requests", "show", reference)
    assert shown.exit_code == 0, shown.output
    trail = on(store, "audit", "access", "IL-HOUSE")  # the current tech contact
    rows = [cells(line) for line in trail.stdout.splitlines() if line.startswith("│")]
    assert [row[1:3] for row in rows] == [
        [me, AccessPurpose.REQUEST_COMMAND],
        [me, AccessPurpose.SHOW_EPP],
    ]
    assert [e.purpose for e in store.access_events(registrant.handle)] == [AccessPurpose.SHOW_EPP]
