"""PostgreSQL for the tests: the server to use (if one answers), and a fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.environment import REQUIRE_ALL

#: Where the PostgreSQL tests run when INTERLINK_TEST_POSTGRES_URL is not set: the local server
#: that CI and the developers' machines run (trust authentication, database `test`).
LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _reachable_postgres() -> str | None:
    """The configured PostgreSQL URL, else the local server's if it answers, else None."""
    configured = os.environ.get("INTERLINK_TEST_POSTGRES_URL")
    if configured:
        return configured
    try:
        psycopg.connect(LOCAL_POSTGRES_URL, connect_timeout=2).close()
    except psycopg.Error:
        return None
    return LOCAL_POSTGRES_URL


POSTGRES_URL = _reachable_postgres()


NO_POSTGRES = (
    "no PostgreSQL: INTERLINK_TEST_POSTGRES_URL is not set and 127.0.0.1:5432 does not answer"
)


#: Every test of a store runs on both backends; without a server the PostgreSQL ones are skipped
#: (counted, not hidden), and fail in CI (INTERLINK_REQUIRE_ALL=1), which must run them.
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(POSTGRES_URL is None and not REQUIRE_ALL, reason=NO_POSTGRES),
    ),
]


def postgres_base():
    assert POSTGRES_URL, NO_POSTGRES
    base = make_url(POSTGRES_URL)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    return base


def postgres_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database for one test (empty, or a copy of `template`), then dropped."""
    base = postgres_base()
    name = f"interlink_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        suffix = f' TEMPLATE "{template}"' if template else ""
        connection.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
