"""`interlink db grants`: the least-privilege PostgreSQL roles, checked by logging in as each.

Real PostgreSQL (roles are cluster-wide; each test has its own database), the real command,
and `interlink serve` as a child process under `interlink_rdds`, asked by Debian's whois and
httpx. On SQLite the command says in one line that roles are PostgreSQL's.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from typer.testing import CliRunner

from domains.changes import Workflow
from domains.exchange.export import export_records
from domains.exchange.importer import import_records
from domains.grants import ROLES, Grant, RoleSpec, check_roles
from domains.identity import identify
from domains.settings import Settings
from domains.store import Store
from publishers.published import Publication, publish
from tests.support.environment import REQUIRE_ALL
from tests.support.factories import NEW_TECH, account_data
from tests.support.postgres import NO_POSTGRES, POSTGRES_URL, postgres_database
from tests.support.rdap_schema import rdap_answer
from tests.support.rdds import (
    need_whois_client,
    query,
    seed,
    serve_env,
    start_server,
    stop_server,
    whois_cli,
)
from tests.support.staff import ADMIN, DISABLED, PRIVACY, SUPERVISOR, SUPPORT
from tui.cli import app

postgres_only = pytest.mark.skipif(not POSTGRES_URL and not REQUIRE_ALL, reason=NO_POSTGRES)


def grants(url: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, ["db", "grants", "--db", url])
    return done.exit_code, done.output


def as_role(url: str, role: str) -> str:
    """The same database, logged in as `role` (trust authentication on 127.0.0.1)."""
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


def run(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def refused(url: str, sql: str) -> str:
    """The error PostgreSQL gives `sql` (it must give one)."""
    with pytest.raises(ProgrammingError) as caught:
        run(url, sql)
    return str(caught.value.orig)


def privileges(url: str) -> list[tuple[object, ...]]:
    """Every table and column privilege Interlink's roles hold on the database."""
    names = ", ".join(f"'{spec.name}'" for spec in ROLES)
    return run(
        url,
        "SELECT grantee, table_name, privilege_type, '' FROM information_schema.table_privileges "
        f"WHERE grantee IN ({names}) UNION ALL "
        "SELECT grantee, table_name, privilege_type, column_name "
        f"FROM information_schema.column_privileges WHERE grantee IN ({names}) ORDER BY 1, 2, 3, 4",
    )


def staff_group(url: str) -> set[str]:
    """The logins in interlink_staff."""
    rows = run(
        url,
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles r ON r.oid = m.member WHERE g.rolname = 'interlink_staff'",
    )
    return {str(row[0]) for row in rows}


@pytest.fixture
def granted(pg_store: Store) -> Iterator[tuple[Store, str]]:
    """A migrated PostgreSQL store with the test staff, after `interlink db grants`."""
    url = pg_store.engine.url.render_as_string(hide_password=False)
    code, output = grants(url)
    assert code == 0, output
    yield pg_store, url


@postgres_only
def test_grants_twice_changes_nothing(granted: tuple[Store, str]) -> None:
    url = granted[1]
    before = privileges(url)
    code, output = grants(url)
    assert code == 0, output
    assert all(spec.name in output for spec in ROLES)
    assert "created" not in output and "joined" not in output and "left" not in output
    assert privileges(url) == before
    assert ("interlink_rdds", "published_answer", "SELECT", "whois") in before
    assert not [row for row in before if row[0] == "interlink_rdds" and row[1] == "contact"]


@postgres_only
def test_rdds_reads_published_answers_but_no_contact(granted: tuple[Store, str]) -> None:
    store, url = granted
    seed(store)
    publish(store, Publication(store.settings))
    rdds = as_role(url, "interlink_rdds")
    assert "permission denied for table contact" in refused(rdds, "SELECT * FROM contact")
    assert "permission denied" in refused(rdds, "SELECT name FROM account")
    assert "permission denied" in refused(rdds, "SELECT unicode_name FROM domain")
    rows = run(rdds, "SELECT name FROM published_answer ORDER BY name")
    assert rows == [("kite-makers.com",), ("xn--bcher-haus-9db.de",)]
    assert "permission denied" in refused(rdds, "DELETE FROM published_answer")
    assert "permission denied" in refused(rdds, "UPDATE alembic_version SET version_num = 'x'")


@postgres_only
def test_audit_trail_is_append_only_for_sync_and_staff(granted: tuple[Store, str]) -> None:
    store, url = granted
    seed(store)  # writes audit events
    for role in ("interlink_sync", SUPPORT, ADMIN):
        login = as_role(url, role)
        assert run(login, "SELECT count(*) FROM audit_event")[0][0] > 0
        assert "permission denied" in refused(login, "UPDATE audit_event SET actor = 'x'")
        assert "permission denied" in refused(login, "DELETE FROM audit_event")
        assert "permission denied" in refused(login, "TRUNCATE audit_event")
        run(
            login,
            "INSERT INTO audit_event (at, actor, action, entity_type, entity_id, changes) "
            f"VALUES (now(), 'system:{role}', 'test.insert', 'test', '1', '{{}}')",
        )
    staff = as_role(url, SUPPORT)
    assert "permission denied" in refused(staff, "DELETE FROM access_event")
    assert "permission denied" in refused(staff, "UPDATE staff_member SET roles = '[\"admin\"]'")
    assert "permission denied" in refused(
        as_role(url, "interlink_sync"), "SELECT * FROM access_event"
    )


@postgres_only
def test_staff_log_in_as_themselves_and_lose_access_when_disabled(
    granted: tuple[Store, str], tmp_path: Path
) -> None:
    url = granted[1]
    admin = f"staff:{ADMIN}"
    member = f"new.member-{uuid.uuid4().hex[:8]}"  # roles outlive the test's database
    try:
        logged_in_and_out(url, admin, member, tmp_path)
    finally:
        run(url, f'DROP ROLE IF EXISTS "{member}"')


def logged_in_and_out(url: str, admin: str, member: str, tmp_path: Path) -> None:
    # The admin adds and later disables the member, logged in as herself.
    admins = Store.open(
        settings=Settings(database_url=as_role(url, ADMIN), data_dir=tmp_path / "a"),
        migrate=False,
    )
    try:
        admins.staff.add(admin, member, "New Member", ["support"])
    finally:
        admins.close()
    code, output = grants(url)
    assert code == 0, output
    assert f"staff login {member} created" in output
    login = as_role(url, member)
    assert run(login, "SELECT session_user") == [(member,)]
    own = Store.open(
        settings=Settings(database_url=login, data_dir=tmp_path / "data"), migrate=False
    )
    try:
        assert identify(own).login == member
    finally:
        own.close()
    assert run(login, "SELECT count(*) FROM contact")[0][0] >= 1
    assert "permission denied" in refused(
        login, "INSERT INTO staff_member (login) VALUES ('intruder')"
    )
    # Admins write the staff list through their own group; the disabled member reads nothing.
    assert run(as_role(url, ADMIN), "UPDATE staff_member SET version = version") == []
    assert DISABLED not in staff_group(url)
    admins = Store.open(
        settings=Settings(database_url=as_role(url, ADMIN), data_dir=tmp_path / "a"),
        migrate=False,
    )
    try:
        admins.staff.disable(admin, member)
    finally:
        admins.close()
    code, output = grants(url)
    assert code == 0, output
    assert f"{member} left interlink_staff" in output
    assert member not in staff_group(url)
    assert "permission denied" in refused(login, "SELECT * FROM contact")


@postgres_only
def test_serve_as_rdds_answers_whois_and_rdap(granted: tuple[Store, str], tmp_path: Path) -> None:
    store, url = granted
    seed(store)
    publisher = Store.open(
        settings=Settings(database_url=as_role(url, "interlink_publish"), data_dir=tmp_path / "p")
    )
    try:
        assert publish(publisher, Publication(publisher.settings)).published == 2
    finally:
        publisher.close()
    rdds = as_role(url, "interlink_rdds")
    command = [sys.executable, "-m", "tui.cli", "serve", "--whois-port", "0", "--http-port", "0"]
    server = start_server([*command, "--db", rdds, "--no-portal"], serve_env(tmp_path))
    try:
        answer = query(server.whois_port, "kite-makers.com")
        assert "Domain Name: KITE-MAKERS.COM" in answer
        assert "Registrant Name: REDACTED FOR PRIVACY" in answer
        assert "Quist" not in answer
        assert 'No match for "NOT-OURS.COM"' in query(server.whois_port, "not-ours.com")
        if need_whois_client_here():
            assert "Registry Domain ID: D9137-COM" in whois_cli(
                server.whois_port, "kite-makers.com"
            )
        base = f"http://127.0.0.1:{server.http_port}/rdap/domain/"
        found = httpx.get(base + "kite-makers.com", timeout=10)
        assert found.status_code == 200
        body = rdap_answer(found.content, "domainAnswer")
        assert (body["ldhName"], body["handle"]) == ("kite-makers.com", "D9137-COM")
        assert httpx.get(base + "not-ours.com", timeout=10).status_code == 404
        # A change drops the answer (the triggers); under this role nothing renders it again,
        # and the contact table is not read instead: the service says it is unavailable.
        run(url, "UPDATE domain SET version = version + 1 WHERE name = 'kite-makers.com'")
        assert httpx.get(base + "kite-makers.com", timeout=10).status_code == 503
        assert "temporarily unavailable" in query(server.whois_port, "kite-makers.com")
    finally:
        code, err = stop_server(server)
    assert code == 0, err
    assert "Traceback" not in err
    assert "Answers from rendered answers only" in "".join(server.output)


def need_whois_client_here() -> bool:
    """Whether Debian's whois client is installed (required under INTERLINK_REQUIRE_ALL)."""
    try:
        need_whois_client()
    except pytest.skip.Exception:
        return False
    return True


@postgres_only
def test_serve_as_rdds_refuses_the_portal_without_its_own_role(granted: tuple[Store, str]) -> None:
    url = granted[1]
    done = CliRunner().invoke(
        app, ["serve", "--db", as_role(url, "interlink_rdds"), "--whois-port", "0"]
    )
    assert done.exit_code == 1
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and "--portal-db" in lines[0], done.output


def test_grants_on_sqlite_is_one_clear_line(tmp_path: Path) -> None:
    database = tmp_path / "store.db"
    code, output = grants(f"sqlite:///{database}")
    assert code == 1
    assert output.strip().splitlines() == [
        "error: database roles are a PostgreSQL feature: this store is SQLite, where the "
        "file's owner and permissions decide who may read it"
    ]
    assert not database.exists()


@pytest.mark.parametrize(
    ("grant", "words"),
    [
        (Grant("contacts", ("SELECT",)), "no such table"),
        (Grant("contact", ("SELECT",), ("nickname",)), "no columns"),
        (Grant("contact", ("READ",)), "not known"),
        (Grant("contact", ("DELETE",), ("name",)), "whole rows"),
        (Grant("alembic_version", ("SELECT", "UPDATE")), "read-only"),
    ],
)
def test_the_role_table_is_checked(grant: Grant, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        check_roles([RoleSpec("interlink_x", True, "a test", (grant,))])


def test_a_role_sets_only_sequences_it_inserts_with() -> None:
    reads = (Grant("contact", ("SELECT",)),)
    with pytest.raises(ValueError, match="cannot insert"):
        check_roles([RoleSpec("interlink_x", True, "a test", reads, set_sequences=("contact",))])


@postgres_only
def test_each_role_does_its_part_of_a_change_request(
    granted: tuple[Store, str], tmp_path: Path
) -> None:
    """The portal opens and confirms a request, a member of staff applies it, the sync worker
    takes it (the registry is not there: it records the failure): each under its own role."""
    store, url = granted
    seed(store)

    def opened(role: str) -> Store:
        settings = Settings(database_url=as_role(url, role), data_dir=tmp_path / "data")
        return Store.open(settings=settings)

    portal, staff = opened("interlink_portal"), opened(SUPERVISOR)
    try:
        asked = Workflow(portal).submit(
            actor="customer:portal",
            domain_name="kite-makers.com",
            proposal=NEW_TECH,
            channel="portal",
        )
        assert asked.token is not None
        assert Workflow(portal).confirm(token=asked.token).request.state == "confirmed"
        reference = asked.request.reference
        applied = Workflow(staff).approve_and_apply(
            actor=f"staff:{SUPERVISOR}", reference=reference
        )
        assert applied.request.state == "applied"
    finally:
        portal.close()
        staff.close()
    sync = as_role(url, "interlink_sync")
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "sync", "--once", "--db", sync],
        env=serve_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "permission denied" not in done.stdout + done.stderr
    assert "1 sync failed" in " ".join(done.stdout.split()), done.stdout + done.stderr
    state = run(url, f"SELECT state FROM change_request WHERE reference = '{reference}'")
    assert state == [("sync_failed",)]


@postgres_only
def test_staff_export_and_import_under_their_own_logins(
    granted: tuple[Store, str], migrated_templates: dict[str, str], tmp_path: Path
) -> None:
    """The privacy officer exports, a supervisor imports into another store (its id sequences
    moved past the ids the import gave), each logged in as themselves."""
    store, url = granted
    seed(store)
    # A signed domain: its DS records go into the file and from there into the other store.
    store.import_ds("staff:test", "kite-makers.com", [f"2371 13 2 {'1F98' * 16}"])
    file = tmp_path / "export.json"

    def opened(database: str, role: str) -> Store:
        settings = Settings(database_url=as_role(database, role), data_dir=tmp_path / "data")
        return Store.open(settings=settings)

    privacy = opened(url, PRIVACY)
    try:
        assert export_records(privacy, file, actor=f"staff:{PRIVACY}")["domains"] == 2
    finally:
        privacy.close()
    for other in postgres_database(template=migrated_templates["postgresql"]):
        code, output = grants(other)
        assert code == 0, output
        supervisor = opened(other, SUPERVISOR)
        try:
            report = import_records(supervisor, file, actor=f"staff:{SUPERVISOR}")
            assert (report.domains, report.ds, report.problems) == (2, 1, [])
            assert len(supervisor.domain_record("kite-makers.com").ds) == 1
            account = supervisor.create_account(f"staff:{SUPERVISOR}", account_data())
            assert account.id is not None and account.id > 1  # the sequence moved on
        finally:
            supervisor.close()
