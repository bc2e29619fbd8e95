"""Migrations take an empty database to head on SQLite and PostgreSQL, matching the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel
from typer.testing import CliRunner

from domains.db import current_revision, head_revision, make_engine, upgrade
from domains.settings import Settings
from domains.store import Store
from tui.commands.database import app as db_app

TABLES = {"account", "contact", "domain", "domain_contact", "audit_event", "outbox_entry", "notice"}


# SQLite cannot reflect expression indexes (ix_contact_email_domain), so Alembic skips comparing
# it there and says so; PostgreSQL reflects and compares it.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_empty_database_to_head_matches_the_models(database_url):
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []
    engine.dispose()


def test_first_use_of_a_new_database_migrates_it(database_url, tmp_path):
    store = Store.open(settings=Settings(database_url=database_url, data_dir=tmp_path))
    assert current_revision(store.engine) == head_revision()
    store.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    engine.dispose()


def test_db_upgrade_command(database_url):
    result = CliRunner().invoke(db_app, ["upgrade", "--db", database_url])
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output
    engine = make_engine(database_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_the_recorded_head_is_alembics_head():
    from domains.migrations import HEAD

    assert head_revision() == HEAD
