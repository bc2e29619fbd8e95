"""Least-privilege PostgreSQL roles: what each process may touch, one table applied idempotently.

`ROLES` says, role by role, which tables (or which of their columns) each process of Interlink
may read or write; `apply_grants` creates the roles that are missing (roles are cluster-wide),
revokes everything they held on this database's tables and sequences, and grants exactly the
table again, so running it twice changes nothing. It then gives every active member of staff a
login role of their own in `interlink_staff` (and admins in `interlink_staff_admin`), and takes
both away from disabled members. Names always go through the dialect's identifier quoting.

Why each role holds what it holds:

- `interlink_rdds` (WHOIS and RDAP): the answers rendered ahead, and the name of each domain
  (to tell "not ours" from "not rendered yet"); nothing of contacts or accounts.
- `interlink_publish` (`interlink publish`, `interlink serve --publish-db`): reads what the
  answers are rendered from (domains, roles, contacts; no accounts) and writes the answers.
  Its reads lock rows FOR SHARE, which PostgreSQL allows only with UPDATE on a column of each
  table: it gets UPDATE on `version` of domains and contacts and on `role` of roles only.
- `interlink_sync` (the registry sync): claims and records outbox entries, reads what it
  sends, completes or fails change requests, queues and delivers their notices, writes audit.
- `interlink_portal` (the customer portal and its control panel): reads domains, contacts and
  accounts, writes contacts and the marketing opt-out of accounts for customers, keeps sign-in
  links, sessions, API tokens and passkeys, reads audit and access events for a download,
  enters and
  confirms change requests, queues notices and writes audit; locking a domain FOR UPDATE needs
  UPDATE on one of its columns (`version`).
- `interlink_staff` (a group without login; each member of staff logs in as themselves): the
  customer tables, requests, outbox, notices; audit and access trails INSERT and SELECT only;
  the staff list SELECT only; UPDATE on the id sequences of accounts, contacts and domains,
  which an import moves past the ids it gave (setval). `interlink_staff_admin` adds writing
  the staff list, and only active admins are in it.

Every role that reads a domain record for a face or a service reads its DS records (`ds_record`)
too; staff, who edit them, also delete them. Everyone who changes a domain, a role or a contact
(or staff, a DS record: migration 0013) fires the triggers of migration 0004, which
run as that role: such roles also get SELECT (name) and UPDATE (render_key, whois, rdap) on the
published answers. No service role may write `alembic_version`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random

from domains.errors import InterlinkError
from domains.models import SQLModel
from domains.staff import StaffView
from domains.vocabulary import StaffRole

READ, ADD, CHANGE, REMOVE = "SELECT", "INSERT", "UPDATE", "DELETE"
PRIVILEGES = frozenset({READ, ADD, CHANGE, REMOVE})
ALEMBIC = "alembic_version"
#: Runs of `apply_grants` when another run on the cluster updates the same catalog row at once.
CATALOG_ATTEMPTS = 5
STAFF_GROUP = "interlink_staff"
ADMIN_GROUP = "interlink_staff_admin"
_COLUMNS = {t.name: tuple(c.name for c in t.c) for t in SQLModel.metadata.sorted_tables}
_COLUMNS[ALEMBIC] = ("version_num",)


class RolesNeedPostgres(InterlinkError):
    """Database roles were asked of a store that has none (SQLite)."""

    def __init__(self) -> None:
        super().__init__(
            "database roles are a PostgreSQL feature: this store is SQLite, where the file's "
            "owner and permissions decide who may read it"
        )


@dataclass(frozen=True)
class Grant:
    """Privileges on one table: on every column, or (`columns`) on those only."""

    table: str
    privileges: tuple[str, ...]
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleSpec:
    """A role Interlink needs: whether it logs in, what it is for, and what it may touch."""

    name: str
    login: bool
    purpose: str
    grants: tuple[Grant, ...]
    #: Tables whose id sequence this role may move (setval: an import gives ids up front).
    set_sequences: tuple[str, ...] = ()


def _on(tables: Iterable[str], *privileges: str) -> tuple[Grant, ...]:
    return tuple(Grant(table, privileges) for table in tables)


#: What firing migration 0004's triggers needs (a change to a domain, a role or a contact).
_STALE_ANSWERS = (
    Grant("published_answer", (READ,), ("name",)),
    Grant("published_answer", (CHANGE,), ("render_key", "whois", "rdap")),
)
_CUSTOMER = ("account", "contact", "domain", "domain_contact")
#: The customer's control panel: sign-in, sessions, tokens, passkeys and the changes waiting for
#: a confirmation by link (customer_models).
#: Of those, the changes waiting for a confirmation, which staff see and may end.
_PANEL_STAFF = ("email_verification", "registrant_change", "transfer_lock")
_PANEL = (
    "signin_token",
    "customer_session",
    "api_token",
    "passkey",
    "passkey_challenge",
    *_PANEL_STAFF,
)
_REVISION = Grant(ALEMBIC, (READ,))
#: What a customer changes on their own account: the marketing opt-out.
_PANEL_ACCOUNT_COLUMNS = (
    "marketing_opt_out_at",
    "marketing_opt_out_via",
    "marketing_opt_out_by",
    "updated_at",
    "version",
)
#: Mail to customers: announcement runs, essential reminders sent, addresses that fail.
_MAIL = ("announcement", "reminder_sent", "address_failure")
#: The registry drift check's last run (`interlink sync --reconcile`).
_DRIFT = ("drift_run", "drift_difference")

ROLES: tuple[RoleSpec, ...] = (
    RoleSpec(
        "interlink_rdds",
        True,
        "the WHOIS and RDAP servers (interlink serve)",
        (
            Grant("published_answer", (READ,), ("name", "render_key", "whois", "rdap")),
            # A domain gone to another registrar is answered no more (its gone_at is set).
            Grant("domain", (READ,), ("name", "gone_at")),
            _REVISION,
        ),
    ),
    RoleSpec(
        "interlink_publish",
        True,
        "rendering the public answers ahead (interlink publish)",
        (
            Grant("domain", (READ,)),
            Grant("domain_contact", (READ,)),
            Grant("contact", (READ,)),
            Grant("ds_record", (READ,)),
            *(Grant(t, (CHANGE,), ("version",)) for t in ("domain", "contact")),
            Grant("domain_contact", (CHANGE,), ("role",)),
            Grant("published_answer", (READ, ADD, CHANGE, REMOVE)),
            _REVISION,
        ),
    ),
    RoleSpec(
        "interlink_sync",
        True,
        "the registry sync (interlink sync)",
        (
            *_on(_CUSTOMER, READ),
            Grant("ds_record", (READ,)),
            Grant("outbox_entry", (READ, CHANGE)),
            Grant("change_request", (READ, CHANGE)),
            # Changes of registrant not confirmed in time end in its housekeeping; it sends the
            # reminders that are due and records the addresses the relay refuses for good.
            Grant("registrant_change", (READ, CHANGE)),
            *_on(_MAIL, READ, ADD, CHANGE),
            Grant("notice", (READ, ADD, CHANGE)),
            Grant("audit_event", (READ, ADD)),
            Grant("staff_member", (READ,)),
            # The registry's poll says a domain was transferred away: it is marked gone and its
            # answer rendered ahead is dropped; the drift check keeps its last run.
            Grant("domain", (CHANGE,), ("gone_at", "updated_at", "version")),
            *_STALE_ANSWERS,
            Grant("published_answer", (REMOVE,)),
            *_on(_DRIFT, READ, ADD, REMOVE),
            _REVISION,
        ),
    ),
    RoleSpec(
        "interlink_portal",
        True,
        "the customer portal (interlink serve --portal-db)",
        (
            *_on(_CUSTOMER, READ),
            Grant("ds_record", (READ,)),
            Grant("domain", (CHANGE,), ("version",)),
            # The panel: customers correct their contacts and choose what is published ...
            Grant("contact", (CHANGE,)),
            Grant("account", (CHANGE,), _PANEL_ACCOUNT_COLUMNS),
            Grant("outbox_entry", (ADD,)),
            Grant("outbox_entry", (READ,), ("id",)),
            *_on(_PANEL, READ, ADD, CHANGE),
            Grant("change_request", (READ, ADD, CHANGE)),
            Grant("notice", (READ, ADD, CHANGE)),
            *_on(("address_failure",), READ, ADD, CHANGE),
            Grant("announcement", (READ,)),
            # ... and download what is held about them: their changes and who looked.
            Grant("audit_event", (READ, ADD)),
            Grant("access_event", (READ,)),
            Grant("staff_member", (READ,)),
            *_STALE_ANSWERS,
            _REVISION,
        ),
    ),
    RoleSpec(
        STAFF_GROUP,
        False,
        "members of staff, each logged in as themselves (interlink tui, staff, requests...)",
        (
            *_on(_CUSTOMER, READ, ADD, CHANGE),
            # A domain's DS records are replaced, so staff also delete them.
            Grant("ds_record", (READ, ADD, CHANGE, REMOVE)),
            Grant("change_request", (READ, ADD, CHANGE)),
            Grant("outbox_entry", (READ, ADD, CHANGE)),
            Grant("notice", (READ, ADD, CHANGE)),
            Grant("audit_event", (READ, ADD)),
            Grant("access_event", (READ, ADD)),
            Grant("staff_member", (READ,)),
            *_on(_PANEL_STAFF, READ, CHANGE),
            *_on(_MAIL, READ, ADD, CHANGE),
            *_STALE_ANSWERS,
            Grant("published_answer", (REMOVE,)),
            *_on(_DRIFT, READ, ADD, REMOVE),
            _REVISION,
        ),
        set_sequences=("account", "contact", "domain"),
    ),
    RoleSpec(
        ADMIN_GROUP,
        False,
        "admins among the staff: adding, changing and disabling staff accounts",
        (Grant("staff_member", (READ, ADD, CHANGE)),),
    ),
)
SERVICE_ROLES = frozenset(spec.name for spec in ROLES)


def check_roles(roles: Iterable[RoleSpec]) -> None:
    """Refuse a table that names an unknown table, column or privilege, or writes Alembic's."""
    for spec in roles:
        for grant in spec.grants:
            where = f"{spec.name} on {grant.table}"
            if grant.table not in _COLUMNS:
                raise ValueError(f"{where}: no such table")
            unknown = set(grant.privileges) - PRIVILEGES
            if unknown or not grant.privileges:
                raise ValueError(f"{where}: privileges {sorted(unknown)} are not known")
            if set(grant.columns) - set(_COLUMNS[grant.table]):
                raise ValueError(f"{where}: no columns {sorted(set(grant.columns))}")
            if grant.columns and REMOVE in grant.privileges:
                raise ValueError(f"{where}: DELETE is granted on whole rows, not columns")
            if grant.table == ALEMBIC and grant.privileges != (READ,):
                raise ValueError(f"{where}: the migrations' table is read-only to services")
        for table in spec.set_sequences:
            adds = [g for g in spec.grants if g.table == table and ADD in g.privileges]
            if "id" not in _COLUMNS.get(table, ()) or not adds:
                raise ValueError(f"{spec.name}: sets the id sequence of {table} it cannot insert")


check_roles(ROLES)


@dataclass
class GrantsReport:
    """What `apply_grants` did: roles created, and staff logins created, joined or left."""

    created: list[str] = field(default_factory=list)
    granted: list[str] = field(default_factory=list)
    logins_created: list[str] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def _role_exists(connection: Connection, name: str) -> bool:
    found = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
    return found.first() is not None


def _member_of(connection: Connection, member: str, group: str) -> bool:
    row = connection.execute(
        text(
            "SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles r ON r.oid = m.member WHERE g.rolname = :g AND r.rolname = :m"
        ),
        {"g": group, "m": member},
    )
    return row.first() is not None


def _create_role(connection: Connection, quoted: str, attributes: str) -> None:
    """CREATE ROLE, and nothing when another run made it meanwhile. `quoted`: a quoted name
    (logins hold no `$`, so it cannot end the dollar-quoted block)."""
    connection.execute(
        text(
            f"DO $$ BEGIN CREATE ROLE {quoted} {attributes}; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    )


def _sequence(connection: Connection, table: str) -> str | None:
    if "id" not in _COLUMNS[table]:
        return None
    found = connection.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table})
    return found.scalar()


def _grant_sql(connection: Connection, spec: RoleSpec, grant: Grant) -> str:
    columns = ", ".join(_quote(connection, c) for c in grant.columns)
    what = ", ".join(f"{p} ({columns})" if columns else p for p in grant.privileges)
    table, role = _quote(connection, grant.table), _quote(connection, spec.name)
    return f"GRANT {what} ON TABLE {table} TO {role}"


def _apply_role(
    connection: Connection, spec: RoleSpec, database: str, report: GrantsReport
) -> None:
    role = _quote(connection, spec.name)
    login = "LOGIN" if spec.login else "NOLOGIN"
    if not _role_exists(connection, spec.name):
        _create_role(connection, role, login)
        report.created.append(spec.name)
    # The same attributes every time, whoever created it: no superuser, no new roles.
    connection.execute(
        text(f"ALTER ROLE {role} {login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS")
    )
    connection.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"))
    connection.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}"))
    connection.execute(text(f"REVOKE CREATE ON SCHEMA public FROM {role}"))
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    connection.execute(text(f"GRANT CONNECT ON DATABASE {_quote(connection, database)} TO {role}"))
    for grant in spec.grants:
        connection.execute(text(_grant_sql(connection, spec, grant)))
        if ADD in grant.privileges:
            sequence = _sequence(connection, grant.table)
            if sequence is not None:  # already quoted as PostgreSQL names it
                connection.execute(text(f"GRANT USAGE ON SEQUENCE {sequence} TO {role}"))
    for table in spec.set_sequences:
        sequence = _sequence(connection, table)
        if sequence is not None:
            connection.execute(text(f"GRANT UPDATE ON SEQUENCE {sequence} TO {role}"))
    report.granted.append(spec.name)


def _sync_staff(connection: Connection, members: Iterable[StaffView], report: GrantsReport) -> None:
    staff, admins = _quote(connection, STAFF_GROUP), _quote(connection, ADMIN_GROUP)
    for member in members:
        login = member.login
        if login in SERVICE_ROLES or login.startswith("pg_"):
            report.skipped.append(f"{login} (a name PostgreSQL or Interlink keeps for itself)")
            continue
        quoted = _quote(connection, login)
        exists = _role_exists(connection, login)
        if not member.active:
            for group, name in ((staff, STAFF_GROUP), (admins, ADMIN_GROUP)):
                if exists and _member_of(connection, login, name):
                    connection.execute(text(f"REVOKE {group} FROM {quoted}"))
                    report.left.append(f"{login} left {name}")
            continue
        if not exists:
            _create_role(connection, quoted, "LOGIN INHERIT")
            report.logins_created.append(login)
        if not _member_of(connection, login, STAFF_GROUP):
            connection.execute(text(f"GRANT {staff} TO {quoted}"))
            report.joined.append(f"{login} joined {STAFF_GROUP}")
        admin = StaffRole.ADMIN in member.roles
        if admin and not _member_of(connection, login, ADMIN_GROUP):
            connection.execute(text(f"GRANT {admins} TO {quoted}"))
            report.joined.append(f"{login} joined {ADMIN_GROUP}")
        elif not admin and _member_of(connection, login, ADMIN_GROUP):
            connection.execute(text(f"REVOKE {admins} FROM {quoted}"))
            report.left.append(f"{login} left {ADMIN_GROUP}")


def apply_grants(engine: Engine, members: Iterable[StaffView]) -> GrantsReport:
    """Create the roles, grant exactly `ROLES` on this database, and match the staff logins to
    `members`; all in one transaction. RolesNeedPostgres on SQLite."""
    if engine.dialect.name != "postgresql":
        raise RolesNeedPostgres()
    members = list(members)
    # Two runs on two databases of one cluster may grant the same cluster-wide role membership
    # at once; PostgreSQL then fails one with "tuple concurrently updated" (nothing applied:
    # the transaction rolls back). That one is run again, after a short random wait.
    for attempt in Retrying(
        retry=retry_if_exception(_concurrent_catalog_update),
        wait=wait_random(0.05, 0.5),
        stop=stop_after_attempt(CATALOG_ATTEMPTS),
        reraise=True,
    ):
        with attempt:
            return _apply_all(engine, members)
    raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover


def _concurrent_catalog_update(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and "tuple concurrently updated" in str(exc.orig)


def _apply_all(engine: Engine, members: list[StaffView]) -> GrantsReport:
    report = GrantsReport()
    with engine.begin() as connection:
        # Two runs on one database queue here; on two databases of one cluster (roles are
        # cluster-wide) a role the other run just made counts as there (_create_role).
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('interlink grants'))"))
        database = str(connection.execute(text("SELECT current_database()")).scalar_one())
        for spec in ROLES:
            _apply_role(connection, spec, database, report)
        _sync_staff(connection, members, report)
    return report


def may_read_contacts(engine: Engine) -> bool:
    """Whether the store's login may read the contact table (a PostgreSQL role such as
    `interlink_rdds` may not); always True on SQLite."""
    if engine.dialect.name != "postgresql":
        return True
    with engine.connect() as connection:
        query = text("SELECT has_table_privilege('contact', 'SELECT')")
        return bool(connection.execute(query).scalar_one())
