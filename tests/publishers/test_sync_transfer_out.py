"""A domain transferred away at the registry: the sync worker reads the poll message, marks the
domain gone (the date kept, audited), acknowledges the message, and the domain leaves the public
answers of WHOIS and RDAP. Real parts: the sandbox over TLS, the store on SQLite and PostgreSQL,
the WHOIS and RDAP servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from domains.departures import ACTION, mark_gone
from domains.models import AuditEvent, PublishedAnswer
from domains.settings import Settings
from domains.store import Store
from portal.links import PortalLinks
from publishers.published import publish
from publishers.sandbox import messages
from publishers.sandbox.server import SandboxRegistry
from publishers.sync.options import SyncOptions
from publishers.sync.worker import SyncWorker
from tests.support.rdds import query, rdds_settings
from tests.support.sync import (
    CLIENT_ID,
    LOCK,
    entries,
    queue_domain_update,
    registries,
    seed,
    write_registries,
)
from tui.commands.serve import Services
from tui.commands.sync import summary

pytestmark = pytest.mark.usefixtures("sandbox_password")


@pytest.fixture
def rdds(store: Store, settings: Settings) -> Iterator[Services]:
    """WHOIS + RDAP on free loopback ports over the test's store (no portal)."""
    running = Services(
        store, rdds_settings(settings), whois_port=0, http_port=0, portal=False
    ).start()
    try:
        yield running
    finally:
        running.stop()


def rdap_status(services: Services, name: str) -> int:
    with httpx.Client(base_url=services.http_url, timeout=10) as client:
        return client.get(f"/rdap/domain/{name}").status_code


async def run_once(store: Store, regs) -> object:
    async with SyncWorker(
        store, regs, SyncOptions(retry_wait=0.01), links=PortalLinks(store.settings)
    ) as worker:
        return await worker.run_once()


def published(store: Store, name: str) -> bool:
    with store.read() as session:
        found = session.execute(
            select(col(PublishedAnswer.name)).where(col(PublishedAnswer.name) == name)
        ).first()
    return found is not None


async def test_a_transfer_out_marks_the_domain_gone_and_ends_its_public_answers(
    store: Store, sandbox: SandboxRegistry, rdds: Services, tmp_path
) -> None:
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    gone, kept = seed(store, sandbox, 2).names  # sync0.com, sync1.net
    publish(store)
    assert published(store, gone) and published(store, kept)
    assert "Domain Name: SYNC0.COM" in query(rdds.whois_port, gone)
    assert rdap_status(rdds, gone) == 200

    notice = sandbox.transfer_out(gone, to="gaining-reg", status="clientApproved")
    report = await run_once(store, regs)

    assert (report.poll_messages, report.domains_gone) == (1, 1)
    domain = store.domain_record(gone).domain
    assert domain.gone_at == notice.transfer.ac_date
    assert store.domain_record(kept).domain.gone_at is None
    with store.read() as session:
        (event,) = session.execute(
            select(AuditEvent).where(col(AuditEvent.action) == ACTION)
        ).scalars()
    assert (event.actor, event.entity_id, event.changes["to"]) == (
        "system:sync",
        gone,
        "gaining-reg",
    )
    assert event.svtrid and event.svtrid.startswith("SBX-")
    # The message was acknowledged only after the domain was marked: the queue is empty.
    assert messages.first(sandbox.store.db, CLIENT_ID) == (0, None)

    # WHOIS and RDAP answer for it no more (their caches too); the other domain is answered.
    assert query(rdds.whois_port, gone).startswith(f'No match for "{gone.upper()}"')
    assert rdap_status(rdds, gone) == 404
    assert "Domain Name: SYNC1.NET" in query(rdds.whois_port, kept)
    assert rdap_status(rdds, kept) == 200
    # The publisher renders no answer for it again.
    assert not published(store, gone)
    publish(store)
    assert not published(store, gone) and published(store, kept)

    # A second run finds no message and changes nothing.
    report = await run_once(store, regs)
    assert (report.poll_messages, report.domains_gone) == (0, 0)
    assert store.domain_record(gone).domain.gone_at == notice.transfer.ac_date


async def test_other_messages_are_acknowledged_and_change_nothing(
    store: Store, sandbox: SandboxRegistry, tmp_path
) -> None:
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    (name,) = seed(store, sandbox, 1).names
    # A domain the store does not hold, moved away from us: acknowledged, nothing marked.
    sandbox.seed_domain("elsewhere.com", None, [], CLIENT_ID)
    sandbox.transfer_out("elsewhere.com")
    report = await run_once(store, regs)
    assert (report.poll_messages, report.domains_gone) == (1, 0)
    assert messages.first(sandbox.store.db, CLIENT_ID) == (0, None)
    assert store.domain_record(name).domain.gone_at is None


async def test_a_worker_that_reads_no_poll_leaves_the_queue(
    store: Store, sandbox: SandboxRegistry, tmp_path
) -> None:
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    (name,) = seed(store, sandbox, 1).names
    sandbox.transfer_out(name)
    async with SyncWorker(
        store, regs, SyncOptions(read_poll=False), links=PortalLinks(store.settings)
    ) as worker:
        report = await worker.run_once()
    assert report.poll_messages == 0
    assert messages.first(sandbox.store.db, CLIENT_ID)[0] == 1
    assert store.domain_record(name).domain.gone_at is None


async def test_entries_of_a_domain_gone_are_skipped_not_sent(
    store: Store, sandbox: SandboxRegistry, tmp_path
) -> None:
    """Changes queued for a domain that was transferred away are not sent (the registry would
    refuse them, 2201): each is skipped with the reason and the date; the other domain's go."""
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    gone, kept = seed(store, sandbox, 2).names
    early = queue_domain_update(store, gone, statuses={"add": LOCK})
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    mark_gone(store, gone, actor="system:sync", at=at, gaining="gaining-reg")
    late = queue_domain_update(store, gone, statuses={"rem": LOCK})
    other = queue_domain_update(store, kept, statuses={"add": LOCK})
    sandbox.transfer_out(gone, to="gaining-reg")
    before = sandbox.stats["object_commands"]
    report = await run_once(store, regs)
    held = {entry.id: entry for entry in entries(store)}
    reason = "domain transferred away on 2026-12-01: nothing sent"
    for entry_id in (early, late):
        assert (held[entry_id].status, held[entry_id].last_error) == ("skipped", reason)
    assert held[other].status == "done"
    assert (report.skipped, report.done, report.failed) == (2, 1, 0)
    assert "2 skipped (domain transferred away)" in summary(report)
    # Only the other domain's update went out; the gone domain's statuses stay the registry's.
    assert sandbox.stats["object_commands"] == before + 1
    assert sandbox.answers[2201] == 0
    with store.read() as session:
        events = session.execute(
            select(AuditEvent).where(col(AuditEvent.action) == "sync.skipped")
        ).scalars()
        skipped = {event.entity_id: event.changes for event in events}
    assert set(skipped) == {str(early), str(late)}
    assert all(c["note"] == reason and c["commands"] == [] for c in skipped.values())
