"""The demo's staff: one member of each role, in one table, added to every demo store."""

from __future__ import annotations

from dataclasses import dataclass

from domains.errors import InterlinkError
from domains.identity import system_login
from domains.staff import StaffView
from domains.store import Store
from domains.vocabulary import StaffRole


@dataclass(frozen=True)
class DemoMember:
    """A fictional member of staff of the demo."""

    login: str
    name: str
    role: StaffRole


#: One of each role; the admin comes first (the demo's first account is an admin's).
DEMO_STAFF: tuple[DemoMember, ...] = (
    DemoMember("otto", "Otto Brandvold", StaffRole.ADMIN),
    DemoMember("ann", "Ann Keller", StaffRole.SUPERVISOR),
    DemoMember("sid", "Sid Moreau", StaffRole.SUPPORT),
    DemoMember("priya", "Priya Lindqvist", StaffRole.PRIVACY),
)
#: Who the demo acts as unless --user names another.
DEFAULT_LOGIN = "ann"


class NotDemoStaff(InterlinkError):
    """--user named nobody of the demo's staff."""

    def __init__(self, login: str) -> None:
        known = ", ".join(f"{m.login} ({m.role})" for m in DEMO_STAFF)
        super().__init__(f"{login!r} is not one of the demo staff; they are {known}")


def demo_member(login: str | None) -> DemoMember:
    """The demo member with this login (the default one for None); NotDemoStaff otherwise."""
    wanted = (login or DEFAULT_LOGIN).strip()
    for member in DEMO_STAFF:
        if member.login == wanted:
            return member
    raise NotDemoStaff(wanted)


def seed_demo_staff(store: Store) -> tuple[StaffView, ...]:
    """Add the demo staff to a store that has no staff yet, through the staff directory (the
    first admin by bootstrap, the others added by that admin); their views, in table order."""
    admin, *others = DEMO_STAFF
    store.staff.bootstrap(admin.login, admin.name)
    for member in others:
        store.staff.add(f"staff:{admin.login}", member.login, member.name, [member.role])
    return demo_staff_views(store)


def add_the_operator(store: Store) -> StaffView | None:
    """Make whoever runs the demo (the system's identity of its store) a supervisor, so that
    `interlink` in a second terminal acts as them; None when they are one of the demo staff."""
    login = system_login(store)
    if any(member.login == login for member in DEMO_STAFF):
        return None
    admin = DEMO_STAFF[0]
    name = f"You ({login})"
    return store.staff.add(f"staff:{admin.login}", login, name, [StaffRole.SUPERVISOR])


def demo_staff_views(store: Store) -> tuple[StaffView, ...]:
    """The demo staff as stored, in table order."""
    return tuple(store.staff.active(member.login) for member in DEMO_STAFF)
