"""The registry sync under `interlink_sync`: the grants of `interlink db grants` are enough.

A backlog of tech moves and contact edits, made by the owner; one worker logged in as
`interlink_sync` sends them to the sandbox registry, records each entry, completes the change
requests and sends their notices, without a permission it lacks.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from domains.drift import last_run
from domains.grants import apply_grants
from domains.models import AuditEvent, ChangeRequest, PublishedAnswer
from domains.settings import Settings
from domains.store import Store
from portal.links import PortalLinks
from publishers.drift import reconcile
from publishers.published import publish
from publishers.sandbox.server import SandboxRegistry
from publishers.sync.options import SyncOptions
from publishers.sync.worker import run_worker
from tests.support.environment import REQUIRE_ALL
from tests.support.postgres import NO_POSTGRES, POSTGRES_URL
from tests.support.sync import (
    CLIENT_ID,
    PASSWORD,
    PASSWORD_ENV,
    assert_sandbox_equals_store,
    entries,
    registered,
    registries,
    seed_backlog,
    write_registries,
)

pytestmark = pytest.mark.skipif(not POSTGRES_URL and not REQUIRE_ALL, reason=NO_POSTGRES)


async def test_the_sync_role_sends_records_and_completes(pg_store, tmp_path, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    store = pg_store
    apply_grants(store.engine, store.staff.members())
    sandbox = SandboxRegistry(tmp_path / "sandbox.db", clients={CLIENT_ID: PASSWORD})
    await sandbox.start()
    try:
        regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
        seeded, references = seed_backlog(store, sandbox, 3, edits=1, city="Bergen", tlds=("com",))
        url = make_url(store.engine.url).set(username="interlink_sync", password=None)
        settings = Settings(
            database_url=url.render_as_string(hide_password=False), data_dir=tmp_path / "data"
        )
        sync = Store.open(settings=settings)
        try:
            report = await run_worker(
                sync, regs, SyncOptions(worker_id="role-test"), links=PortalLinks(sync.settings)
            )
        finally:
            sync.close()
        assert_sandbox_equals_store(store, sandbox, regs, seeded.names)
    finally:
        await sandbox.stop()
    assert [entry.status for entry in entries(store)] == ["done"] * 4, report
    with store.read() as session:
        states = session.execute(
            select(ChangeRequest.state).where(ChangeRequest.reference.in_(references))
        ).scalars()
        assert set(states) == {"completed"}
        done = session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "sync.done")
        ).scalar_one()
    assert done == 4


async def test_the_sync_role_marks_a_transferred_domain_gone_and_checks_drift(
    pg_store, tmp_path, monkeypatch
):
    """The poll's transfer notice and the drift check, under `interlink_sync` too."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    store = pg_store
    apply_grants(store.engine, store.staff.members())
    sandbox = SandboxRegistry(tmp_path / "sandbox.db", clients={CLIENT_ID: PASSWORD})
    await sandbox.start()
    try:
        regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
        gone = registered(store, sandbox, regs, "leaving-role.com")
        kept = registered(store, sandbox, regs, "staying-role.com")
        publish(store)
        sandbox.transfer_out(gone)
        url = make_url(store.engine.url).set(username="interlink_sync", password=None)
        settings = Settings(
            database_url=url.render_as_string(hide_password=False), data_dir=tmp_path / "data"
        )
        sync = Store.open(settings=settings)
        try:
            report = await run_worker(
                sync, regs, SyncOptions(worker_id="role-test"), links=PortalLinks(sync.settings)
            )
            run = await reconcile(sync, regs, actor="system:drift-check")
        finally:
            sync.close()
    finally:
        await sandbox.stop()
    assert (report.poll_messages, report.domains_gone) == (1, 1)
    assert store.domain_record(gone).domain.gone_at is not None
    assert (run.domains_checked, run.differences, run.errors) == (1, 0, 0)
    assert last_run(store) == run
    with store.read() as session:
        names = set(session.execute(select(PublishedAnswer.name)).scalars())
    assert gone not in names and kept in names
