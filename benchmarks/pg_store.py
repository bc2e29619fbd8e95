"""The benchmarks' SQLite store copied into a PostgreSQL database of its own, kept between runs.

The database (default `interlink_bench_rdds_N`, N the number of domains) is created on the server
of the given URL, migrated with the project's own migrations (`domains.db.ensure_schema`), then
filled table by table with COPY from the SQLite file, in one transaction (triggers off when the
role may do so: the rows are already consistent), its sequences moved past the copied ids, and
analysed. The store's fingerprint (migration, and every table's row count) is kept as the
database's comment, written in the same transaction: a later run that finds the same fingerprint
reuses the copy; any other is dropped and copied again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import Integer, MetaData
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python benchmarks/NAME.py` from anywhere
    sys.path.insert(0, str(ROOT))

from domains.db import ensure_schema, make_engine  # noqa: E402
from domains.migrations import HEAD  # noqa: E402

#: The server the benchmarks use when neither --pg-url nor INTERLINK_TEST_POSTGRES_URL says one.
LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
#: Rendered ahead by the publisher, not part of the store's data: copied (last, so that no
#: trigger of the tables before forgets them), but not in the fingerprint.
PUBLISHED = "published_answer"


def server_url(given: str | None = None) -> str:
    """The PostgreSQL server: `given`, else INTERLINK_TEST_POSTGRES_URL, else the local one."""
    return given or os.environ.get("INTERLINK_TEST_POSTGRES_URL") or LOCAL_POSTGRES_URL


def _url(url: str, database: str | None = None, driver: str = "postgresql") -> URL:
    parsed = make_url(url).set(drivername=driver)
    return parsed.set(database=database) if database else parsed


def _conninfo(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def fingerprint(source: Path) -> str:
    """What tells one store from another: the migration and every table's row count."""
    with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
            if name != PUBLISHED
        ]
        counts = [(t, db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables]
    listed = " ".join(f"{table}={count}" for table, count in counts)
    digest = hashlib.sha256(listed.encode()).hexdigest()[:24]
    return f"interlink benchmark store {source.name} at {HEAD}, {digest}"


def ensure_postgres_copy(source: Path, server: str, database: str) -> str:
    """The SQLite store `source` in PostgreSQL database `database` on `server` (copied unless it
    already holds the same store); its URL (postgresql+psycopg)."""
    target = _url(server, database, "postgresql+psycopg")
    wanted = fingerprint(source)
    with psycopg.connect(_conninfo(_url(server)), autocommit=True) as admin:
        found = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (database,),
        ).fetchone()
        if found is not None and found[0] == wanted:
            print(f"PostgreSQL database {database} holds the same store (reused)")
            return _conninfo(target)
        name = sql.Identifier(database)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    started = time.perf_counter()
    engine = make_engine(_conninfo(target))
    try:
        ensure_schema(engine)
        metadata = MetaData()
        metadata.reflect(engine)
    finally:
        engine.dispose()
    tables = [t for t in metadata.sorted_tables if t.name not in ("alembic_version", PUBLISHED)]
    tables.append(metadata.tables[PUBLISHED])
    rows = 0
    with (
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as lite,
        psycopg.connect(_conninfo(_url(server, database))) as pg,
        pg.transaction(),
    ):
        pg.execute("SET LOCAL TimeZone = 'UTC'")  # SQLite holds UTC times without an offset
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege), pg.transaction():
            pg.execute("SET LOCAL session_replication_role = replica")
        for table in tables:
            have = {row[1] for row in lite.execute(f'PRAGMA table_info("{table.name}")')}
            columns = [c.name for c in table.columns if c.computed is None and c.name in have]
            fields = sql.SQL(", ").join(map(sql.Identifier, columns))
            copy = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table.name), fields)
            listed = ", ".join(f'"{c}"' for c in columns)
            with pg.cursor().copy(copy) as into:
                for row in lite.execute(f'SELECT {listed} FROM "{table.name}"'):
                    into.write_row(row)
                    rows += 1
            for column in table.primary_key.columns:  # the sequences past the copied ids
                if not isinstance(column.type, Integer):
                    continue
                pg.execute(
                    sql.SQL(
                        "SELECT setval(s::regclass, (SELECT max({}) FROM {})) "
                        "FROM pg_get_serial_sequence(%s, %s) AS s WHERE s IS NOT NULL"
                    ).format(sql.Identifier(column.name), sql.Identifier(table.name)),
                    (f'"{table.name}"', column.name),
                )
        pg.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(name, sql.Literal(wanted)))
    with psycopg.connect(_conninfo(_url(server, database)), autocommit=True) as pg:
        pg.execute("ANALYZE")
    print(
        f"copied the store into PostgreSQL database {database}: {rows:,} rows of {len(tables)} "
        f"tables in {time.perf_counter() - started:.0f} s (once; it is reused)"
    )
    return _conninfo(target)
