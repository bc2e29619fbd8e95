"""Migration 0013 (DS records): a domain flagged signed stays signed, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import insert, inspect, text

from domains.db import alembic_config, current_revision, make_engine, upgrade
from domains.migrations import HEAD
from domains.models import Domain, utcnow
from domains.settings import Settings
from domains.store import Store
from publishers.published import Publication, publish
from tests.support.factories import make_domain

ACTOR = "system:test"
DIGEST = "1F987CC6583E92DF0890718C42B7C96D43B7F5CA6D5F67C9A4A7D1F8A9E3B2C1"


def test_the_signed_flag_keeps_its_meaning_across_0013(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0012")
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    old = Store(engine, settings)  # only for tables no later migration changed (the account)
    account = old.create_account(
        ACTOR,
        {
            "number": "A-100900",
            "name": "Kite Makers Ltd",
            "email": "office@example.com",
            "country": "GB",
        },
    )
    # The rows as 0012 held them: only its columns (today's model has later ones).
    now = utcnow()
    with engine.begin() as connection:
        for name, signed in (("signed-before.com", True), ("plain-before.com", False)):
            connection.execute(
                insert(Domain.__table__),  # type: ignore[attr-defined]
                {
                    "name": name,
                    "unicode_name": name,
                    "tld": "com",
                    "account_id": account.id,
                    "statuses": [],
                    "nameservers": [],
                    "dnssec": signed,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                },
            )
    assert "ds_record" not in inspect(engine).get_table_names()

    upgrade(engine)
    assert current_revision(engine) == HEAD
    store = Store(engine, settings)
    signed, plain = (
        store.domain_record("signed-before.com"),
        store.domain_record("plain-before.com"),
    )
    assert (signed.domain.dnssec, signed.ds) == (True, ())  # signed, DS data not on file yet
    assert (plain.domain.dnssec, plain.ds) == (False, ())
    edit = store.set_ds(ACTOR, "plain-before.com", None, [f"2371 13 2 {DIGEST}"])
    assert edit.record.domain.dnssec is True

    upgrade_down(engine)
    with engine.connect() as connection:
        flags = dict(connection.execute(text("SELECT name, dnssec FROM domain")).all())
    assert {k: bool(v) for k, v in flags.items()} == {
        "signed-before.com": True,
        "plain-before.com": True,
    }
    assert "ds_record" not in inspect(engine).get_table_names()
    engine.dispose()


def upgrade_down(engine) -> None:
    """Back to 0012 (Alembic's downgrade, on the engine the store hands over)."""
    command.downgrade(alembic_config(engine), "0012")


def test_a_ds_row_written_by_anyone_makes_the_published_answer_stale(store: Store) -> None:
    created, _ = make_domain(store, "stale-ds.com", dnssec=True)
    publication = Publication(store.settings)
    publish(store, publication)

    def key() -> str:
        with store.read() as session:
            return session.execute(
                text("SELECT render_key FROM published_answer WHERE name = 'stale-ds.com'")
            ).scalar_one()

    assert key() == publication.key
    with store.write() as session:  # not through the store's methods
        session.execute(
            text(
                "INSERT INTO ds_record (domain_id, key_tag, algorithm, digest_type, digest) "
                "VALUES (:id, 2371, 13, 2, :digest)"
            ),
            {"id": created.id, "digest": DIGEST},
        )
    assert key() == ""
    publish(store, publication)
    assert key() == publication.key
    with store.write() as session:
        session.execute(text("DELETE FROM ds_record"))
    assert key() == ""
