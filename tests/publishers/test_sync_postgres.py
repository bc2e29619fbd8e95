"""On PostgreSQL, four worker processes drain one backlog side by side (SELECT ... FOR UPDATE SKIP
LOCKED) and no entry is processed twice: the sandbox records every clTRID it receives, and each
entry's commands (their clTRIDs name the entry) arrive exactly once."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from domains.models import AuditEvent
from domains.settings import Settings
from domains.store import Store
from portal.links import PortalLinks
from publishers.sandbox.server import SandboxRegistry
from tests.support.environment import REQUIRE_ALL
from tests.support.postgres import NO_POSTGRES, POSTGRES_URL
from tests.support.sync import (
    CLIENT_ID,
    PASSWORD,
    PASSWORD_ENV,
    assert_sandbox_equals_store,
    entries,
    registries,
    seed_backlog,
    statuses,
    write_registries,
)

pytestmark = pytest.mark.skipif(not POSTGRES_URL and not REQUIRE_ALL, reason=NO_POSTGRES)

MOVES = 60
EDITS = 20
WORKERS = 4
CLTRID = re.compile(rb"<(?:\w+:)?clTRID>\s*ILS(\d+)-")


class RecordingSandbox(SandboxRegistry):
    """The sandbox, noting the outbox entry named by each incoming command's clTRID."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: Counter[int] = Counter()

    async def _handle(self, state, frame: bytes):
        found = CLTRID.search(frame)
        if found:
            self.seen[int(found[1])] += 1
        return await super()._handle(state, frame)


def pg_worker_main(
    database_url: str, registries_path: str, data_dir: str, name: str, ready: Any
) -> None:
    """One worker process: its own store (own connections), its own EPP sessions; it starts
    work when all the workers are ready (`ready`, a barrier), so none finds the work done."""
    from publishers.registries import load_registries
    from publishers.sync.options import SyncOptions
    from publishers.sync.worker import run_worker

    os.environ[PASSWORD_ENV] = PASSWORD
    store = Store.open(settings=Settings(database_url=database_url, data_dir=Path(data_dir)))
    try:
        regs = load_registries(registries_path, data_dir=Path(data_dir))
        options = SyncOptions(worker_id=name, batch=4, concurrency=8)
        ready.wait(60)
        asyncio.run(run_worker(store, regs, options, links=PortalLinks(store.settings)))
    finally:
        store.close()


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.mark.slow
async def test_four_workers_drain_one_backlog_without_doing_anything_twice(pg_store, tmp_path):
    store = pg_store
    sandbox = RecordingSandbox(tmp_path / "sandbox.db", clients={CLIENT_ID: PASSWORD})
    await sandbox.start()
    try:
        path = write_registries(tmp_path / "r.toml", sandbox, sessions=2)
        regs = registries(path, tmp_path)
        seeded, _ = seed_backlog(
            store, sandbox, MOVES, edits=EDITS, city="Bergen", tlds=("com", "net", "org")
        )
        total = MOVES + EDITS

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["publishers.sync.worker", "tests.support.sync"])
        url = store.engine.url.render_as_string(hide_password=False)
        ready = context.Barrier(WORKERS)
        workers = [
            context.Process(
                target=pg_worker_main,
                args=(url, str(path), str(tmp_path / "data"), f"pg-worker-{n}", ready),
            )
            for n in range(WORKERS)
        ]
        for process in workers:
            process.start()
        async with asyncio.timeout(90):
            for process in workers:
                await asyncio.to_thread(process.join, 90)
        assert [p.exitcode for p in workers] == [0] * WORKERS
    finally:
        await sandbox.stop()

    assert statuses(store) == {"done": total}
    # The workers ran in child processes, out of the reach of the suite's in-process frame check
    # (tests/conftest.py): the sandbox schema-checks every frame it receives, and refused none.
    assert sandbox.stats["syntax_errors"] == 0 and sandbox.answers[2001] == 0
    done = entries(store)
    # Every entry was claimed once and its commands reached the registry once.
    assert all(entry.attempts == 1 for entry in done)
    # A move: contact:create, domain:update, domain:info; an edit: contact:info (what the
    # registry holds narrows the change), contact:update.
    expected = {e.id: (3 if e.kind == "domain.tech_move" else 2) for e in done}
    assert dict(sandbox.seen) == expected
    with store.read() as session:
        per_entry = Counter(
            session.execute(
                select(AuditEvent.entity_id).where(AuditEvent.action == "sync.done")
            ).scalars()
        )
        completions = session.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "change.complete")
        ).scalar_one()
    assert set(per_entry.values()) == {1} and len(per_entry) == total
    assert completions == MOVES
    # The work really was shared. (Not necessarily by all four: they start together, but on a
    # loaded machine one may be scheduled only once the others have drained the backlog.)
    by_worker = Counter(entry.claimed_by for entry in done)
    assert len(by_worker) >= 2, by_worker
    assert_sandbox_equals_store(store, sandbox, regs, seeded.names)
