"""The store's connections: its engine, read and write sessions, row locks and version checks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlmodel import Session, col

from domains import audit
from domains.db import is_sqlite, writer
from domains.errors import ConflictError, NotFound
from domains.models import Contact, utcnow
from domains.settings import Settings, get_settings

#: The one condition that picks Interlink's own contact: every query for it uses this.
IS_HOUSE = col(Contact.is_house).is_(True)


class StoreSessions:
    """An engine and the sessions over it; `Store` builds its reads and writes on these."""

    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        self.engine = engine
        self.settings = settings or get_settings()
        self._writer = writer(engine)

    @property
    def is_sqlite(self) -> bool:
        """True when the store lives in SQLite (one sync worker at a time)."""
        return is_sqlite(str(self.engine.url))

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any error."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def write_rows(self) -> Iterator[Connection]:
        """One write transaction on a plain connection, no ORM session: for Core statements on
        hot paths (a notice's claim and record), where a session costs more than the SQL."""
        with self._writer.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def now(self) -> datetime:
        """The store's clock (UTC)."""
        return datetime.now(UTC)

    @staticmethod
    def house_contact_in(session: Session) -> Contact | None:
        """Interlink's own contact (the default technical contact), read in `session`.

        The one query for it: every reader of the house contact comes here.
        """
        return session.execute(select(Contact).where(IS_HOUSE)).scalar()

    @staticmethod
    def _locked(session: Session, model: type, key_column: Any, key: Any, label: str) -> Any:
        """Load one row for update (row lock on PostgreSQL; SQLite holds the write lock)."""
        row = session.execute(select(model).where(key_column == key).with_for_update()).scalar()
        if row is None:
            raise NotFound(label, str(key))
        return row

    @staticmethod
    def _check_version(row: Any, expected: int | None, label: str, key: str) -> None:
        if expected is not None and row.version != expected:
            raise ConflictError(label, key, expected, row.version)

    @staticmethod
    def _write_changes(
        session: Session,
        actor: str,
        row: Any,
        label: str,
        key: str,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
        request_ref: str | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Set the fields of `after` that differ from `before` on the locked row, bump its version
        and audit them as `{label}.update`. The changes, as audit.diff gives them (empty: the row
        is as it was and nothing is written)."""
        changed = audit.diff(before, after)
        if not changed:
            return changed
        for name in changed:
            setattr(row, name, after[name])
        row.version += 1
        row.updated_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action=f"{label}.update",
            entity_type=label,
            entity_id=key,
            changes=changed,
            request_ref=request_ref,
        )
        return changed
