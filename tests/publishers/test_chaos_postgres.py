"""On PostgreSQL, every backend of the test's database is terminated again and again while
`interlink sync --follow` (a process of its own), the public servers and notice delivery run:
the worker keeps running, every lookup after a termination is answered, no notice fails or goes
out twice, and every change reaches the registry exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from domains.changes import Workflow
from domains.mailer import NOTICE_HEADER
from domains.models import Notice
from domains.store import Store
from publishers.sandbox.faults import FaultPlan
from tests.support.environment import REQUIRE_ALL
from tests.support.postgres import NO_POSTGRES, POSTGRES_URL
from tests.support.rdds import rdds_settings
from tests.support.sync import (
    CLIENT_ID,
    PASSWORD,
    PASSWORD_ENV,
    TransformCountingSandbox,
    assert_sandbox_equals_store,
    entries,
    move_tech,
    new_tech,
    registries,
    seed,
    write_registries,
)
from tui.commands.serve import Services

pytestmark = pytest.mark.skipif(not POSTGRES_URL and not REQUIRE_ALL, reason=NO_POSTGRES)

REPO = Path(__file__).resolve().parents[2]
DOMAINS = 24
ROUNDS = 6
LOOKUPS = 8  # per service and round
TERMINATE = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


def whois(port: int, name: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(name.encode() + b"\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def notice_files(outbox: Path) -> Counter[str]:
    """How many mails each notice id has in the outbox folder."""
    found: Counter[str] = Counter()
    for path in outbox.glob("*.eml"):
        found[str(message_from_bytes(path.read_bytes())[NOTICE_HEADER])] += 1
    return found


async def test_terminated_backends_stop_nothing(pg_store: Store, tmp_path, monkeypatch) -> None:
    store = pg_store
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    killer = create_engine(str(store.engine.url.set(drivername="postgresql+psycopg")))
    sandbox = TransformCountingSandbox(tmp_path / "sandbox.db", clients={CLIENT_ID: PASSWORD})
    await sandbox.start()
    worker = None
    services = Services(store, rdds_settings(store.settings), whois_port=0, http_port=0)
    try:
        path = write_registries(tmp_path / "r.toml", sandbox)
        regs = registries(path, tmp_path)
        seeded = seed(store, sandbox, DOMAINS)
        sandbox.faults = FaultPlan(delay_ms=10)
        outbox = store.settings.outbox_dir()
        env = {
            **os.environ,
            "INTERLINK_DATA_DIR": str(store.settings.data_dir),
            "INTERLINK_SYNC__DATABASE_RETRY_WAIT": "0.05",
            "INTERLINK_SYNC__DATABASE_RETRY_WAIT_MAX": "0.5",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tui.commands.sync", "--follow", "--registries", str(path),
            "--db", str(store.engine.url.render_as_string(hide_password=False)),
            "--no-progress", "--batch", "4",
            cwd=REPO, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        services.start()
        per_round = DOMAINS // ROUNDS
        references: list[str] = []
        terminated = 0
        failed_lookups: list[str] = []
        async with httpx.AsyncClient(base_url=services.http_url, timeout=10) as client:
            for round_ in range(ROUNDS):
                for i in range(round_ * per_round, (round_ + 1) * per_round):
                    name = seeded.names[i]
                    references.append(await asyncio.to_thread(move_tech, store, name, new_tech(i)))
                with killer.connect() as connection:
                    terminated += connection.execute(TERMINATE).scalar_one()
                for name in seeded.names[:LOOKUPS]:
                    answer = await asyncio.to_thread(whois, services.whois_port, name)
                    if f"DOMAIN NAME: {name.upper()}" not in answer.upper():
                        failed_lookups.append(f"whois {name}: {answer[:80]!r}")
                    reply = await client.get(f"/rdap/domain/{name}")
                    if reply.status_code != 200:
                        failed_lookups.append(f"rdap {name}: {reply.status_code}")
                assert worker.returncode is None, "the sync worker stopped"
        assert terminated >= ROUNDS  # the worker's, the servers' and our own connections went
        assert not failed_lookups, failed_lookups

        # Everything drains: every change done, every completion mail written.
        workflow = Workflow(store)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            done = all(entry.status == "done" for entry in entries(store))
            completed = all(workflow.get(ref).state == "completed" for ref in references)
            with store.read() as session:
                unsent = session.execute(
                    select(Notice.id).where(
                        Notice.template == "request_completed", Notice.status != "sent"
                    )
                ).all()
            if done and completed and not unsent:
                break
            await asyncio.sleep(0.1)
        assert worker.returncode is None, "the sync worker stopped"
        assert all(entry.status == "done" for entry in entries(store))
        assert all(workflow.get(ref).state == "completed" for ref in references)
        with store.read() as session:
            notices = list(session.execute(select(Notice)).scalars())
        assert not [n.id for n in notices if n.status == "failed"]
        completed_mail = [n for n in notices if n.template == "request_completed"]
        assert completed_mail and all(n.status == "sent" for n in completed_mail)
        files = notice_files(outbox)
        assert not [notice for notice, count in files.items() if count > 1]
        assert {str(n.id) for n in completed_mail} <= set(files)
        # Each change reached the registry exactly once.
        assert_sandbox_equals_store(store, sandbox, regs, seeded.names)
        assert len(sandbox.transforms) >= DOMAINS
        assert set(sandbox.transforms.values()) == {1}, sandbox.transforms
    finally:
        if worker is not None and worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(worker.communicate(), 30)
            assert b"Traceback" not in err, err.decode()[-2000:]
        services.stop()
        await sandbox.stop()
        killer.dispose()
