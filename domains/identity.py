"""Who is at the keyboard, from the system (OS account, database login), never a name typed in."""

from __future__ import annotations

import os
import pwd
from typing import TYPE_CHECKING

from sqlalchemy import text

from domains.staff import StaffView

if TYPE_CHECKING:
    from domains.store import Store
    from domains.store_sessions import StoreSessions


def system_login(store: StoreSessions) -> str:
    """The login the system vouches for: `session_user` of a PostgreSQL connection, else the
    account of the process's real user id (not $USER or $LOGNAME, which anyone can set)."""
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as connection:
            return str(connection.execute(text("SELECT session_user")).scalar_one())
    return pwd.getpwuid(os.getuid()).pw_name


def identify(store: Store) -> StaffView:
    """The active member of staff running this process; UnknownStaff for anyone else."""
    return store.staff.active(system_login(store))
