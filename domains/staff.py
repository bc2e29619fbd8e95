"""Staff accounts and roles: who may act, and the one table of what each action needs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import Session, col

from domains import audit
from domains.errors import FieldError, InterlinkError, RuleViolation, ValidationFailed
from domains.models import StaffMember, utcnow
from domains.vocabulary import StaffRole

if TYPE_CHECKING:
    from domains.store_sessions import StoreSessions


class Permission(StrEnum):
    """What an action needs; each names one role in `NEEDS` (the words fit "may not ...")."""

    VIEW = "see customer data"
    EDIT_CONTACT = "edit contacts"
    EDIT_DOMAIN = "change a domain's locks, name servers or DS records"
    CHANGE_REGISTRANT = "change a domain's registrant"
    ENTER_REQUEST = "enter change requests"
    DECIDE_REQUEST = "approve, reject or apply change requests"
    RETRY_SYNC = "retry the registry sync"
    IMPORT = "import records"
    EXPORT = "export customer data"
    ENTER_DISCLOSURE = "enter disclosure requests"
    DECIDE_DISCLOSURE = "decide disclosure requests"
    MANAGE_STAFF = "manage staff accounts"
    RECORD_MARKETING_CHOICE = "record a customer's choice about marketing mail"
    HANDLE_RETURNED_MAIL = "handle returned mail (bounces and unsubscribe requests)"
    SEND_ANNOUNCEMENT = "send announcements"


#: The role each permission needs (a role also holds the permissions of the roles it implies).
NEEDS: dict[Permission, StaffRole] = {
    Permission.VIEW: StaffRole.SUPPORT,
    Permission.EDIT_CONTACT: StaffRole.SUPPORT,
    Permission.EDIT_DOMAIN: StaffRole.SUPPORT,
    Permission.CHANGE_REGISTRANT: StaffRole.SUPERVISOR,
    Permission.ENTER_REQUEST: StaffRole.SUPPORT,
    Permission.DECIDE_REQUEST: StaffRole.SUPERVISOR,
    Permission.RETRY_SYNC: StaffRole.SUPERVISOR,
    Permission.IMPORT: StaffRole.SUPERVISOR,
    Permission.EXPORT: StaffRole.PRIVACY,
    Permission.ENTER_DISCLOSURE: StaffRole.SUPPORT,
    Permission.DECIDE_DISCLOSURE: StaffRole.PRIVACY,
    Permission.MANAGE_STAFF: StaffRole.ADMIN,
    Permission.RECORD_MARKETING_CHOICE: StaffRole.SUPPORT,
    Permission.HANDLE_RETURNED_MAIL: StaffRole.SUPERVISOR,
    Permission.SEND_ANNOUNCEMENT: StaffRole.SUPERVISOR,
}
#: A supervisor and the privacy officer also do support's work; an admin sees no customer data
#: by that role alone.
IMPLIES: dict[StaffRole, frozenset[StaffRole]] = {
    StaffRole.SUPPORT: frozenset(),
    StaffRole.SUPERVISOR: frozenset({StaffRole.SUPPORT}),
    StaffRole.PRIVACY: frozenset({StaffRole.SUPPORT}),
    StaffRole.ADMIN: frozenset(),
}
assert set(NEEDS) == set(Permission) and set(IMPLIES) == set(StaffRole)

STAFF = "staff:"
LOGIN = re.compile(r"[a-z_][a-z0-9_.-]{0,62}")


def actor_of(login: str) -> str:
    """The audit actor of a member of staff."""
    return STAFF + login


def login_of(actor: str) -> str | None:
    """The login in a staff actor (`staff:ann` -> `ann`); None for a customer or the system."""
    return actor[len(STAFF) :] if actor.startswith(STAFF) else None


class UnknownStaff(InterlinkError):
    """Whoever runs this is not a member of staff, or no longer is."""

    def __init__(self, login: str, disabled: bool = False) -> None:
        self.login = login
        if disabled:
            super().__init__(f"the staff account {login!r} is disabled; an admin can tell you why")
        else:
            super().__init__(
                f"{login!r} is not a member of staff; an admin adds you with "
                f"`interlink staff add {login} --name NAME --role ROLE`"
            )


class Refused(RuleViolation):
    """A member of staff tried what their roles do not allow; nothing was changed."""

    def __init__(self, login: str, permission: Permission) -> None:
        self.login = login
        self.permission = permission
        self.missing = NEEDS[permission]
        super().__init__(f"{login} may not {permission}: that needs the {self.missing} role")


def held(roles: Iterable[str]) -> frozenset[StaffRole]:
    """Every role the given ones amount to (each with those it implies)."""
    out: set[StaffRole] = set()
    for name in roles:
        role = StaffRole(name)
        out |= {role, *IMPLIES[role]}
    return frozenset(out)


@dataclass(frozen=True)
class StaffView:
    """A member of staff as the faces see them."""

    login: str
    display_name: str
    roles: tuple[StaffRole, ...]
    active: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None
    disabled_by: str | None

    @property
    def actor(self) -> str:
        return actor_of(self.login)

    def may(self, permission: Permission) -> bool:
        """Whether this member's roles allow `permission` (and the account is active)."""
        return self.active and NEEDS[permission] in held(self.roles)

    @classmethod
    def of(cls, row: StaffMember) -> StaffView:
        return cls(
            login=row.login,
            display_name=row.display_name,
            roles=tuple(StaffRole(r) for r in row.roles),
            active=row.active,
            created_at=row.created_at,
            created_by=row.created_by,
            disabled_at=row.disabled_at,
            disabled_by=row.disabled_by,
        )


def check_login(value: object) -> str:
    """A login as stored: the system account or database role name, in lower case."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationFailed(FieldError("login", "is empty; give the member's system login"))
    if not LOGIN.fullmatch(text):
        raise ValidationFailed(
            FieldError(
                "login",
                f"{text!r} is not a login: lower-case letters, digits, '_', '.', '-', "
                "starting with a letter or '_', at most 63 characters",
            )
        )
    return text


def check_name(value: object) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text:
        raise ValidationFailed(FieldError("name", "is empty; give the member's full name"))
    if len(text) > 100 or not text.isprintable():
        raise ValidationFailed(
            FieldError("name", "must be printable text of at most 100 characters")
        )
    return text


def check_roles(values: Iterable[str]) -> tuple[StaffRole, ...]:
    roles: list[StaffRole] = []
    for value in values:
        try:
            role = StaffRole(value.strip().lower())
        except ValueError:
            known = ", ".join(StaffRole)
            raise ValidationFailed(
                FieldError("role", f"{value!r} is not a role; the roles are {known}")
            ) from None
        if role not in roles:
            roles.append(role)
    if not roles:
        raise ValidationFailed(FieldError("role", "give at least one role"))
    return tuple(sorted(roles))


def require(session: Session, actor: str, permission: Permission) -> StaffView | None:
    """Refuse `actor` unless it may do `permission`: a staff actor needs an active account with
    the role; the system and customers pass here (their own rules apply elsewhere)."""
    login = login_of(actor)
    if login is None:
        return None
    row = session.execute(select(StaffMember).where(col(StaffMember.login) == login)).scalar()
    if row is None or not row.active:
        raise UnknownStaff(login, disabled=row is not None)
    member = StaffView.of(row)
    if not member.may(permission):
        raise Refused(login, permission)
    return member


class StaffDirectory:
    """The staff accounts: who may act, kept by admins, every change in the audit trail."""

    def __init__(self, store: StoreSessions) -> None:
        self.store = store

    def get(self, login: str) -> StaffView:
        with self.store.read() as session:
            return StaffView.of(self._row(session, login))

    def members(self) -> list[StaffView]:
        with self.store.read() as session:
            rows = session.execute(select(StaffMember).order_by(col(StaffMember.login))).scalars()
            return [StaffView.of(row) for row in rows]

    def active(self, login: str) -> StaffView:
        """The active member with this login, else UnknownStaff."""
        with self.store.read() as session:
            row = session.execute(
                select(StaffMember).where(col(StaffMember.login) == login)
            ).scalar()
            if row is None or not row.active:
                raise UnknownStaff(login, disabled=row is not None)
            return StaffView.of(row)

    def bootstrap(self, login: str, name: str) -> StaffView:
        """The first admin: refused once any member of staff exists."""
        with self.store.write() as session:
            count = session.execute(select(func.count()).select_from(StaffMember)).scalar_one()
            if count:
                raise RuleViolation(
                    "staff accounts exist already; an admin adds members with `interlink staff add`"
                )
            return self._add(session, "system:bootstrap", login, name, [StaffRole.ADMIN])

    def add(self, actor: str, login: str, name: str, roles: Iterable[str]) -> StaffView:
        with self.store.write() as session:
            require(session, actor, Permission.MANAGE_STAFF)
            return self._add(session, actor, login, name, roles)

    def grant(self, actor: str, login: str, role: str) -> StaffView:
        return self._change_roles(actor, login, add=check_roles([role]))

    def revoke(self, actor: str, login: str, role: str) -> StaffView:
        return self._change_roles(actor, login, remove=check_roles([role]))

    def disable(self, actor: str, login: str) -> StaffView:
        with self.store.write() as session:
            require(session, actor, Permission.MANAGE_STAFF)
            row = self._row(session, login)
            if login_of(actor) == row.login:
                raise RuleViolation("you cannot disable your own account; ask another admin")
            if row.active:
                row.active, row.disabled_at, row.disabled_by = False, utcnow(), actor
                row.version += 1
                self._audit(session, actor, "staff.disable", row, {"active": (True, False)})
            return StaffView.of(row)

    def _add(
        self, session: Session, actor: str, login: str, name: str, roles: Iterable[str]
    ) -> StaffView:
        login, name, checked = check_login(login), check_name(name), check_roles(roles)
        exists = session.execute(
            select(col(StaffMember.id)).where(col(StaffMember.login) == login)
        ).first()
        if exists:
            raise ValidationFailed(FieldError("login", f"{login!r} is a member of staff already"))
        row = StaffMember(login=login, display_name=name, roles=list(checked), created_by=actor)
        session.add(row)
        session.flush()
        self._audit(
            session,
            actor,
            "staff.add",
            row,
            {"display_name": (None, name), "roles": (None, list(checked))},
        )
        return StaffView.of(row)

    def _change_roles(
        self,
        actor: str,
        login: str,
        add: tuple[StaffRole, ...] = (),
        remove: tuple[StaffRole, ...] = (),
    ) -> StaffView:
        with self.store.write() as session:
            require(session, actor, Permission.MANAGE_STAFF)
            row = self._row(session, login)
            before = list(row.roles)
            after = sorted((set(before) | set(add)) - set(remove))
            if StaffRole.ADMIN in remove and login_of(actor) == row.login:
                raise RuleViolation(
                    "you cannot take the admin role from yourself; ask another admin"
                )
            if after != before:
                row.roles = after
                row.version += 1
                self._audit(session, actor, "staff.roles", row, {"roles": (before, after)})
            return StaffView.of(row)

    @staticmethod
    def _row(session: Session, login: str) -> StaffMember:
        row = session.execute(
            select(StaffMember).where(col(StaffMember.login) == check_login(login))
        ).scalar()
        if row is None:
            raise UnknownStaff(login.strip())
        return row

    @staticmethod
    def _audit(
        session: Session,
        actor: str,
        action: str,
        row: StaffMember,
        changes: dict[str, tuple[object, object]],
    ) -> None:
        audit.record(
            session,
            actor=actor,
            action=action,
            entity_type="staff",
            entity_id=row.login,
            changes={k: {"before": b, "after": a} for k, (b, a) in changes.items()},
        )
