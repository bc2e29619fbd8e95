"""The public lookups' store reads: a domain's record, its fingerprint, its answer rendered ahead.

Each thread keeps its own store connection. On SQLite the reads run as SELECTs compiled once,
on the raw driver connection (autocommit mode, domains/db.py: each SELECT is its own
consistent snapshot and no transaction is left open), with the same SQLAlchemy result
processors as ORM reads (aware UTC times, JSON lists, booleans); on PostgreSQL through a
SQLAlchemy connection whose read transaction ends after each query. After a database error a
read is tried once more on a fresh connection (a held one may have died under us: a server
restart, a terminated backend); `LookupUnavailable` when that fails too.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from domains.models import UTCDateTime
from domains.store import Store
from publishers.published import lookup_statement
from publishers.records import CONTACT, DOMAIN, DOMAIN_CONTACT, ds_query, record_query

log = logging.getLogger(__name__)

READ_MMAP_BYTES = 4 << 30
READ_CACHE_KIB = 64 << 10
_T = TypeVar("_T")

_D, _DC, _C = DOMAIN, DOMAIN_CONTACT, CONTACT
FETCH = record_query().where(_D.c.name == bindparam("name"))
FINGERPRINT = (
    select(
        _D.c.id,
        _D.c.version,
        _D.c.updated_at,
        _DC.c.role,
        _C.c.id.label("c_id"),
        _C.c.version.label("c_version"),
        _C.c.updated_at.label("c_updated_at"),
    )
    .outerjoin(_DC, _DC.c.domain_id == _D.c.id)
    .outerjoin(_C, _C.c.id == _DC.c.contact_id)
    .where(_D.c.name == bindparam("name"))
)
#: Whether the store holds a domain: its name only (all a role without contacts may read).
EXISTS = select(_D.c.name).where(_D.c.name == bindparam("name"))
#: A signed domain's DS records (asked for after `fetch`, only when the domain is signed).
DS_FETCH = ds_query().where(_D.c.name == bindparam("name"))
_STATEMENTS = {"fetch": FETCH, "fingerprint": FINGERPRINT, "exists": EXISTS, "ds": DS_FETCH}


class LookupUnavailable(RuntimeError):
    """The store could not be read (a database error); the service should say so briefly."""


def fingerprint(rows: list[dict[str, Any]]) -> tuple[Any, ...] | None:
    """What identifies one state of a domain's record: versions and update times."""
    if not rows:
        return None
    first = rows[0]
    roles = sorted(
        (m["role"], m["c_id"], m["c_version"], m["c_updated_at"])
        for m in rows
        if m["role"] is not None
    )
    return (first["id"], first["version"], first["updated_at"], tuple(roles))


def _fast_utc(general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLite's text times ("2024-01-01 00:00:00.000000", UTC) read with fromisoformat.

    The same result as the column type's processor (an aware UTC datetime), at a tenth of the
    cost; anything fromisoformat does not read goes to that processor.
    """

    def process(value: Any) -> Any:
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return general(value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)

    return process


class _Prepared:
    """A SELECT compiled once for the store's dialect, run on a raw SQLite cursor."""

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.params = tuple(compiled.positiontup or ())
        columns = list(statement.selected_columns)
        self.keys = tuple(column.name for column in columns)
        processors = []
        for index, column in enumerate(columns):
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None and isinstance(column.type, UTCDateTime):
                process = _fast_utc(process)
            if process is not None:
                processors.append((index, process))
        self.processors = tuple(processors)

    def run(self, cursor: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
        cursor.execute(self.sql, tuple(values[name] for name in self.params))
        rows = []
        for raw in cursor.fetchall():
            row = list(raw)
            for index, process in self.processors:
                row[index] = process(row[index])
            rows.append(dict(zip(self.keys, row, strict=True)))
        return rows


class AnswerReader:
    """The reads of one public service (`service`: whose answers rendered ahead it reads)."""

    def __init__(self, store: Store, service: str | None) -> None:
        self.store = store
        self.service = service
        self.sqlite = store.is_sqlite
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[Any] = []
        dialect = store.engine.dialect
        self._prepared = (
            {kind: _Prepared(statement, dialect) for kind, statement in _STATEMENTS.items()}
            if self.sqlite
            else {}
        )
        self._published_sql = (
            str(lookup_statement(service).compile(dialect=dialect)) if service is not None else ""
        )

    def _raw(self) -> Any:
        """This thread's raw SQLite connection and cursor (opened on first use)."""
        raw = getattr(self._local, "raw", None)
        if raw is None:
            fairy = self.store.engine.raw_connection()
            with self._lock:
                self._connections.append(fairy)
            driver = fairy.driver_connection
            assert driver is not None  # a connection just taken from the pool
            cursor = driver.cursor()
            # Lookups jump all over a large store: map it, rather than a read() per page.
            cursor.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}")
            cursor.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
            raw = self._local.raw = (fairy, cursor)
        return raw

    def _connection(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.store.engine.connect()
            with self._lock:
                self._connections.append(conn)
        return conn

    def _drop_connections(self) -> None:
        """Forget this thread's connections after an error; the next query opens new ones."""
        for attribute in ("conn", "raw"):
            held = getattr(self._local, attribute, None)
            setattr(self._local, attribute, None)
            if held is None:
                continue
            conn = held[0] if isinstance(held, tuple) else held
            with self._lock:
                if conn in self._connections:
                    self._connections.remove(conn)
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # a broken connection may fail to close; it is dropped anyway
                log.debug("closing a broken store connection failed", exc_info=True)

    def _read(self, read: Callable[[], _T]) -> _T:
        """`read()` on this thread's connection; after a database error, once more on a fresh
        connection. A read is safe to repeat; LookupUnavailable when the second one fails too."""
        try:
            return read()
        except (SQLAlchemyError, sqlite3.Error) as exc:
            self._drop_connections()
            log.info("store read failed (%s); trying a fresh connection", type(exc).__name__)
        try:
            return read()
        except (SQLAlchemyError, sqlite3.Error) as exc:
            self._drop_connections()
            log.warning("store read failed: %s", type(exc).__name__)
            raise LookupUnavailable("the store cannot be read just now") from None

    def query(self, kind: str, name: str, key: str | None) -> list[dict[str, Any]]:
        """The rows of the `fetch`, `fingerprint`, `exists`, `ds` or `published` query for an
        A-label (`key`: the render key of the answers rendered ahead)."""
        values = {"name": name, "key": key}
        if self.sqlite:
            prepared = self._prepared[kind]
            return self._read(lambda: prepared.run(self._raw()[1], values))
        if kind == "published":
            statement = lookup_statement(self.service or "")
        else:
            statement = _STATEMENTS[kind]

        def read() -> list[dict[str, Any]]:
            conn = self._connection()
            rows = [dict(row._mapping) for row in conn.execute(statement, values)]
            conn.rollback()  # end the read transaction: the next query sees new commits
            return rows

        return self._read(read)

    def published(self, name: str, key: str) -> bytes | None:
        """The packed answer rendered ahead for `name` under the render key `key`, if any."""
        if self.service is None:
            return None
        if self.sqlite:

            def read() -> Any:
                cursor = self._raw()[1]
                cursor.execute(self._published_sql, (name, key))
                return cursor.fetchone()

            row = self._read(read)
            return None if row is None else row[0]
        rows = self.query("published", name, key)
        return rows[0][self.service] if rows else None

    def data_token(self) -> Any:
        """A token that stays equal while nothing is committed to the store (SQLite), or None."""
        if not self.sqlite:
            return None
        try:
            fairy, cursor = self._raw()
            cursor.execute("PRAGMA data_version")
            return (id(fairy), cursor.fetchone()[0])
        except (SQLAlchemyError, sqlite3.Error):
            self._drop_connections()
            return None

    def close(self) -> None:
        """Close every store connection this reader opened (in any thread)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.close()
            except Exception:  # closing at shutdown: nothing more to do
                log.debug("closing a store connection failed", exc_info=True)
