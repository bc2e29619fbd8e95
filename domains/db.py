"""Engines and migrations: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL by URL."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Alembic is imported only when a migration is looked at: opening an up-to-date store (the
# staff app, the servers) should not pay for it.
log = logging.getLogger(__name__)


def is_sqlite(url: str) -> bool:
    """True when the URL names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


# SQLite's own words for a condition that passes: another writer, a file briefly unavailable.
_SQLITE_PASSING = ("locked", "busy", "unable to open", "disk i/o")


def is_transient(exc: BaseException) -> bool:
    """True when a database error may pass if the operation is tried again.

    A dropped or refused connection, a server shutting down or restarting, a serialization
    failure, an exhausted pool, SQLite's busy or locked file. Not a missing table, a constraint,
    a syntax error: those are bugs or bad data, and trying again changes nothing.
    """
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    import sqlite3

    if isinstance(exc, sqlite3.OperationalError):
        return any(word in str(exc).lower() for word in _SQLITE_PASSING)
    if isinstance(exc, sqlite3.Error):
        return False
    try:
        import psycopg
    except ImportError:  # pragma: no cover - PostgreSQL support is optional
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


class _NoRows(logging.Filter):
    """Drops SQLAlchemy's DEBUG lines that print each fetched row ("Row (...)"): a row of the
    contact table is a person's name, address, phone and e-mail (architecture §3, Logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.endswith("Row %r"))


_NO_ROWS = _NoRows()


def make_engine(url: str, *, busy_timeout_ms: int = 10_000) -> Engine:
    """An engine with the connection settings the store relies on.

    Logs hold no personal data, whatever level `sqlalchemy.engine` is set to:
    `hide_parameters=True` keeps the bound values (a contact's name, e-mail, phone...) out of
    the engine's INFO lines and out of the text of its errors (IntegrityError and the like, which
    callers may log), and the `_NoRows` filter drops its DEBUG lines that print fetched rows. The
    SQL itself (with placeholders) and the timings still show.
    """
    engine = _make_engine(url, busy_timeout_ms)
    # Every engine made here logs to this one logger (none has a logging_name); added once.
    logging.getLogger("sqlalchemy.engine.Engine").addFilter(_NO_ROWS)
    return engine


def _make_engine(url: str, busy_timeout_ms: int) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
            poolclass=NullPool if parsed.database in (None, "", ":memory:") else None,
            hide_parameters=True,  # see make_engine: no personal data in logs or errors
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            # Python's sqlite3 opens transactions lazily; we issue BEGIN ourselves so that
            # SELECT ... then UPDATE inside one transaction is really atomic.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection) -> None:
            # A writer takes the write lock at BEGIN, so two writers queue on the busy timeout
            # instead of failing halfway with "database is locked"; readers stay deferred.
            immediate = connection.get_execution_options().get("sqlite_write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)  # see make_engine


def writer(engine: Engine) -> Engine:
    """The same engine, marked so that its transactions take SQLite's write lock up front."""
    return engine.execution_options(sqlite_write=True)


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to this engine, with the packaged migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    """The store's migration revision, or None for an empty database."""
    from sqlalchemy import inspect, text

    with engine.connect() as connection:
        # Read alembic's own table directly: the same answer as MigrationContext without
        # importing Alembic on every start.
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration shipped with this version."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (head by default)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def ensure_schema(engine: Engine) -> bool:
    """Bring the database to head if it is behind; True if anything was applied."""
    from domains.migrations import HEAD

    if current_revision(engine) == HEAD:
        return False
    log.info("applying database migrations")
    upgrade(engine)
    return True
