"""The sync worker PROCESS killed with SIGKILL at random moments while a backlog of 260 changes
(tech moves, contact edits, domain updates with host creates, updates and deletes) drains:
afterwards (a clean worker finishes) nothing is lost and nothing is doubled.

Most kills hit a worker process forked from a forkserver that preloaded the modules (so it is
syncing within a fraction of a second); some hit `python -m tui.commands.sync --follow`, the
command itself, started cold. The sandbox slows every command a little so that kills land in
the middle of claimed work: between a command and its answer, between the registry's commit and
our record of it, between the entry's record and its change request's completion.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import signal
import sys
import time
from pathlib import Path

import pytest

from domains.changes import Workflow
from portal.links import PortalLinks
from publishers.epp.model import DsData
from publishers.sandbox.faults import FaultPlan
from publishers.sync.options import SyncOptions
from publishers.sync.worker import SyncWorker
from tests.support.sync import (
    CLIENT_ID,
    LOCK,
    PASSWORD,
    PASSWORD_ENV,
    TransformCountingSandbox,
    assert_sandbox_equals_store,
    ds_record,
    entries,
    queue_domain_update,
    registries,
    seed_backlog,
    statuses,
    worker_process_main,
    write_registries,
)

REPO = Path(__file__).resolve().parents[2]
MOVES = 150
EDITS = 50
LOCKED = 20  # domain.update entries: locks with a DS record
SERVED = 20  # domains given name servers with glue (one host new, one existing: host:update),
# then one of them taken off again (host:delete)
UPDATES = LOCKED + 2 * SERVED
TOTAL = MOVES + EDITS + UPDATES
KILLS = 24
COLD_EVERY = 8  # every 8th kill hits the command started cold


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def claimed_by(store) -> set[str]:
    """The workers holding entries in progress."""
    return {e.claimed_by for e in entries(store) if e.status == "in_progress"}


async def holding_work(store, pid: int, extra: float) -> None:
    """Wait until the worker `pid` holds claimed work (at most 5 s: a slow machine starts
    processes slowly), then `extra` seconds more, so the kill lands in the middle of work."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        holders = await asyncio.to_thread(claimed_by, store)
        if any(f":{pid}:" in holder for holder in holders):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(extra)


def _preload() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["publishers.sync.worker", "tui.commands.sync", "tests.support.sync"]
    )
    return context


@pytest.mark.slow
async def test_sigkilled_workers_lose_nothing_and_double_nothing(sqlite_store, tmp_path):
    store = sqlite_store
    sandbox = TransformCountingSandbox(tmp_path / "sandbox.db", clients={CLIENT_ID: PASSWORD})
    await sandbox.start()
    try:
        path = write_registries(tmp_path / "r.toml", sandbox, tlds=("com", "net", "org"))
        regs = registries(path, tmp_path)
        seeded, references = seed_backlog(
            store, sandbox, MOVES, edits=EDITS, city="Kiel", tlds=("com", "net", "org")
        )
        served = seeded.names[-SERVED:]
        locked = seeded.names[-SERVED - LOCKED : -SERVED]
        updates = [
            queue_domain_update(store, name, statuses={"add": LOCK}, ds={"add": [ds_record(i)]})
            for i, name in enumerate(locked)
        ]
        glued, freed = [], []
        for i, name in enumerate(served):
            # ns2 is at the registry already (ours) with an old address: host:update.
            sandbox.store.insert_host(f"ns2.{name}", ("198.51.100.1",), CLIENT_ID)
            glued.append(
                queue_domain_update(
                    store,
                    name,
                    ns={"add": [f"ns1.{name}", f"ns2.{name}", "ns.dns-host.example.net"]},
                    hosts={
                        f"ns1.{name}": [f"192.0.2.{i + 1}"],
                        f"ns2.{name}": [f"2001:db8::{i + 1}"],
                    },
                )
            )
        for name in served:
            # ns1 taken off again: no domain of ours uses it, so host:delete after the update.
            freed.append(queue_domain_update(store, name, ns={"rem": [f"ns1.{name}"]}))
        updates += glued + freed
        assert len(entries(store)) == TOTAL == 260
        sandbox.faults = FaultPlan(delay_ms=20)

        url = str(store.engine.url)
        context = _preload()
        warm = context.Process(target=os.getpid)
        warm.start()
        await asyncio.to_thread(warm.join, 30)
        env = {**os.environ, "INTERLINK_DATA_DIR": str(tmp_path / "data")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        rng = random.Random(5734)
        interrupted = 0
        async with asyncio.timeout(240):
            for kill in range(KILLS):
                if kill % COLD_EVERY == COLD_EVERY - 1:
                    process = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "tui.commands.sync", "--follow",
                        "--registries", str(path), "--db", url, "--no-progress",
                        "--batch", "16",
                        cwd=REPO, env=env,
                        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                    )  # fmt: skip
                    await holding_work(store, process.pid, rng.uniform(0.3, 1.2))
                    os.kill(process.pid, signal.SIGKILL)
                    assert await process.wait() == -signal.SIGKILL
                else:
                    process = context.Process(
                        target=worker_process_main, args=(url, str(path), str(tmp_path / "data"))
                    )
                    process.start()
                    await holding_work(store, process.pid, rng.uniform(0.1, 0.8))
                    os.kill(process.pid, signal.SIGKILL)
                    await asyncio.to_thread(process.join, 10)
                    assert process.exitcode == -signal.SIGKILL
                # Did the kill leave work this process had claimed unfinished?
                holders = await asyncio.to_thread(claimed_by, store)
                interrupted += any(f":{process.pid}:" in holder for holder in holders)
        drained_by_killed = sum(statuses(store)[s] for s in ("done", "local_only"))

        # A clean worker finishes the rest.
        sandbox.faults = FaultPlan()
        worker = SyncWorker(
            store,
            regs,
            SyncOptions(sessions=4, poll_interval=0.05, backoff=0.05),
            links=PortalLinks(store.settings),
        )
        stop = asyncio.Event()
        running = asyncio.create_task(worker.follow(stop))
        async with asyncio.timeout(30):
            while statuses(store)["done"] < TOTAL:
                await asyncio.sleep(0.05)
            stop.set()
            await running
        await worker.close()
    finally:
        await sandbox.stop()

    # The kills really interrupted claimed work, and the killed workers did real work too.
    assert interrupted >= 5, interrupted
    # The workers ran in child processes, out of the reach of the suite's in-process frame check
    # (tests/conftest.py): the sandbox schema-checks every frame it receives, and refused none.
    assert sandbox.stats["syntax_errors"] == 0 and sandbox.answers[2001] == 0
    assert drained_by_killed >= 10, drained_by_killed
    assert statuses(store) == {"done": TOTAL}
    flow = Workflow(store)
    assert all(flow.get(ref).state == "completed" for ref in references)
    snapshot = assert_sandbox_equals_store(store, sandbox, regs, seeded.names)
    for name in seeded.names[:EDITS]:
        holder = store.domain_record(name).contact("registrant")
        assert snapshot.contacts[holder.handle].city == "Kiel"
    # Every new tech contact exists once and is the tech of exactly its own domain.
    tech_links: dict[str, list[str]] = {}
    for domain in snapshot.domains.values():
        for kind, handle in domain.contacts:
            if kind == "tech":
                tech_links.setdefault(handle, []).append(domain.name)
    for name in seeded.names:
        handle = store.domain_record(name).contact("tech").handle
        assert tech_links[handle] == [name]
    assert len(snapshot.contacts) == 1 + 2 * MOVES  # house, registrants, new techs
    # Every domain update applied, each exactly once (host objects too).
    for i, name in enumerate(locked):
        held = snapshot.domains[name]
        assert sorted(held.statuses) == LOCK
        record = ds_record(i)
        assert held.ds == (
            DsData(record["key_tag"], record["alg"], record["digest_type"], record["digest"]),
        )
    for i, name in enumerate(served):
        assert snapshot.domains[name].ns == (f"ns2.{name}", "ns.dns-host.example.net")
        assert f"ns1.{name}" not in snapshot.hosts
        assert snapshot.hosts[f"ns2.{name}"].addrs == (f"2001:db8::{i + 1}",)
    assert snapshot.hosts["ns.dns-host.example.net"].addrs == ()
    applied = {entry_id: sandbox.transforms[(entry_id, "domain:update")] for entry_id in updates}
    assert set(applied.values()) == {1}, applied
    created = sum(n for (entry_id, verb), n in sandbox.transforms.items() if verb == "host:create")
    assert created == SERVED + 1  # each glued host once, the shared one once
    assert [sandbox.transforms[(entry_id, "host:update")] for entry_id in glued] == [1] * SERVED
    assert [sandbox.transforms[(entry_id, "host:delete")] for entry_id in freed] == [1] * SERVED
