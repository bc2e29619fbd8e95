"""Registry sync under faults: 20% of answers 2400, connections dropped after the registry
committed, and a registry restart in the middle. Afterwards every entry is done or local-only,
the sandbox equals the store, and no contact exists twice."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from portal.links import PortalLinks
from publishers.sandbox.faults import FaultPlan
from publishers.sandbox.server import SandboxRegistry
from publishers.sync.options import SyncOptions
from publishers.sync.worker import SyncWorker
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

DOMAINS = 48
EDITS = 16


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.mark.slow
async def test_faults_restart_and_lost_answers_lose_nothing_and_double_nothing(
    store, tmp_path: Path
):
    sandbox = SandboxRegistry(
        tmp_path / "sandbox.db",
        clients={CLIENT_ID: PASSWORD},
        contacts_policy={"de": "prohibited"},
    )
    await sandbox.start()
    try:
        regs = registries(write_registries(tmp_path / "r.toml", sandbox, sessions=3), tmp_path)
        # com, net, org, de in turn
        seeded, _ = seed_backlog(store, sandbox, DOMAINS, edits=EDITS, city="Rostock")
        total = DOMAINS + EDITS
        sandbox.faults = FaultPlan(
            error_share=0.2, error_code=2400, drop_after_commit_share=0.2, seed=20261127
        )

        worker = SyncWorker(
            store,
            regs,
            SyncOptions(
                retry_wait=0.01,
                retry_wait_max=0.05,
                backoff=0.05,
                backoff_max=0.3,
                poll_interval=0.05,
                concurrency=12,
                batch=8,
            ),
            links=PortalLinks(store.settings),
        )
        stop = asyncio.Event()
        running = asyncio.create_task(worker.follow(stop))

        def finished() -> int:
            return sum(statuses(store)[s] for s in ("done", "local_only", "failed"))

        async with asyncio.timeout(60):
            # Restart the registry once a third of the backlog is through.
            while await asyncio.to_thread(finished) < total // 3:
                await asyncio.sleep(0.02)
            await sandbox.stop()
            await asyncio.sleep(0.5)
            await sandbox.start()
            while await asyncio.to_thread(finished) < total:
                await asyncio.sleep(0.05)
            stop.set()
            await running
        await worker.close()
    finally:
        with contextlib.suppress(Exception):
            await sandbox.stop()

    counts = statuses(store)
    assert counts["failed"] == 0, [e.last_error for e in entries(store) if e.status == "failed"]
    de_domains = [name for name in seeded.names if name.endswith(".de")]
    assert counts == {"done": total - len(de_domains), "local_only": len(de_domains)}
    # The faults really happened.
    assert sandbox.stats["injected"] >= 10 and sandbox.stats["dropped"] >= 5
    assert sandbox.stats["connections"] > 3
    snapshot = assert_sandbox_equals_store(
        store, sandbox, regs, seeded.names, local_only=de_domains
    )
    for name in seeded.names[:EDITS]:
        registrant = store.domain_record(name).contact("registrant")
        assert snapshot.contacts[registrant.handle].city == "Rostock"
    # Each new tech contact exists once at the registry, linked to exactly its one domain.
    for name in seeded.names:
        if name in de_domains:
            continue
        tech = store.domain_record(name).contact("tech").handle
        links = [d for d in snapshot.domains.values() if ("tech", tech) in d.contacts]
        assert [d.name for d in links] == [name]
