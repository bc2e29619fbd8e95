"""The members of staff the tests act as: every name the tests use, and one of each narrow kind."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from domains.models import StaffMember
from domains.store_sessions import StoreSessions
from domains.vocabulary import StaffRole

#: Staff who may do all of a request's work (supervisor and privacy imply support).
TRUSTED = ("ann", "bob", "test", "a", "b", "cy", "eve", "alice", "bench")
#: One member per narrow role, and one whose account is disabled.
SUPPORT, SUPERVISOR, PRIVACY, ADMIN, DISABLED = "sam", "sue", "pia", "ada", "dan"
NARROW = {
    SUPPORT: [StaffRole.SUPPORT],
    SUPERVISOR: [StaffRole.SUPERVISOR],
    PRIVACY: [StaffRole.PRIVACY],
    ADMIN: [StaffRole.ADMIN],
    DISABLED: [StaffRole.SUPERVISOR],
}


def seed_staff(store: StoreSessions) -> None:
    """Write the test staff straight into the store (the staff API itself is under test);
    members already there are left as they are."""
    rows = {login: [StaffRole.SUPERVISOR, StaffRole.PRIVACY] for login in TRUSTED} | NARROW
    with store.write() as session:
        there = set(session.execute(select(col(StaffMember.login))).scalars())
        add_rows(session, {login: roles for login, roles in rows.items() if login not in there})


def add_rows(session: Session, rows: dict[str, list[StaffRole]]) -> None:
    for login, roles in rows.items():
        session.add(
            StaffMember(
                login=login,
                display_name=login.title(),
                roles=sorted(roles),
                active=login != DISABLED,
                created_by="system:tests",
            )
        )


def with_staff(store: StoreSessions) -> StoreSessions:
    """The store, after `seed_staff`."""
    seed_staff(store)
    return store


def add_me(store: StoreSessions, *roles: StaffRole) -> str:
    """Make whoever runs the tests (the OS account; on PostgreSQL the database login) a member of
    staff with exactly `roles`; their actor (`staff:LOGIN`)."""
    from domains.identity import system_login

    login = system_login(store)
    with store.write() as session:
        row = session.execute(select(StaffMember).where(col(StaffMember.login) == login)).scalar()
        if row is None:
            add_rows(session, {login: list(roles)})
        else:
            row.roles, row.active = sorted(roles), True
    return f"staff:{login}"
