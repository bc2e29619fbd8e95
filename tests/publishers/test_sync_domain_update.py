"""The `domain.update` flow against the real sandbox over TLS: client statuses (the registrar
lock), name servers with and without glue, DS records (secDNS-1.1), a registrant change, the
registry's refusals, lost answers and injected errors; nothing doubled, nothing lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from domains.models import AuditEvent, OutboxEntry
from domains.store import DomainRecord
from portal.links import PortalLinks
from publishers.disclose import disclose_for
from publishers.epp.model import DomainInfo, DsData, HostAttr
from publishers.policy import build_view
from publishers.sandbox.faults import FaultPlan
from publishers.sandbox.server import SandboxRegistry
from publishers.sync.flows.domain_update import Change
from publishers.sync.options import SyncOptions
from publishers.sync.worker import SyncWorker
from tests.support.factories import contact_data as person_data
from tests.support.sync import (
    CLIENT_ID,
    LOCK,
    PASSWORD,
    TransformCountingSandbox,
    ds_record,
    entries,
    queue_domain_update,
    registered,
    registries,
    statuses,
    write_registries,
)

pytestmark = pytest.mark.usefixtures("sandbox_password")
FAST = {"retry_wait": 0.01, "retry_wait_max": 0.05, "backoff": 0.05, "backoff_max": 0.2}


async def run(store, regs, **options: Any):
    worker = SyncWorker(
        store, regs, SyncOptions(**{**FAST, **options}), links=PortalLinks(store.settings)
    )
    async with worker:
        async with asyncio.timeout(30):
            return await worker.run_once()


def ds(n: int) -> DsData:
    record = ds_record(n)
    return DsData(record["key_tag"], record["alg"], record["digest_type"], record["digest"])


def commands(store, entry_id: int) -> list[tuple[str, int | None]]:
    """The commands the entry's audit event lists, as (verb, code)."""
    with store.read() as session:
        event = session.execute(
            select(AuditEvent).where(
                AuditEvent.entity_type == "outbox_entry", AuditEvent.entity_id == str(entry_id)
            )
        ).scalar_one()
    return [(verb, code) for verb, _, _, code in event.changes["commands"]]


def entry(store, entry_id: int):
    return next(e for e in entries(store) if e.id == entry_id)


@pytest.fixture
async def counting(tmp_path: Path) -> AsyncIterator[TransformCountingSandbox]:
    registry = TransformCountingSandbox(tmp_path / "counting.db", clients={CLIENT_ID: PASSWORD})
    await registry.start()
    try:
        yield registry
    finally:
        await registry.stop()


async def test_registrar_lock_and_unlock(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "locked.com")
    lock = queue_domain_update(store, name, statuses={"add": LOCK})
    report = await run(store, regs)
    assert statuses(store) == {"done": 1} and report.done == 1
    assert sorted(sandbox.snapshot().domains[name].statuses) == LOCK
    assert commands(store, lock) == [("domain:update", 1000)]
    held = entry(store, lock)
    assert held.cltrid.startswith(f"ILS{lock}-") and held.svtrid.startswith("SBX-")

    unlock = queue_domain_update(store, name, statuses={"rem": LOCK})
    await run(store, regs)
    assert statuses(store) == {"done": 2}
    assert sandbox.snapshot().domains[name].statuses == ()
    assert commands(store, unlock) == [("domain:update", 1000)]
    assert sandbox.answers[2001] == 0


async def test_name_servers_with_glue_and_without(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "glue.net")
    inside, outside = f"ns1.{name}", "ns2.hosting-provider.example.org"
    change = queue_domain_update(
        store,
        name,
        ns={"add": [inside, outside], "rem": ["ns1.example.net"]},
        hosts={inside: ["192.0.2.10", "2001:db8::10"]},
    )
    await run(store, regs)
    assert statuses(store) == {"done": 1}, [e.last_error for e in entries(store)]
    snapshot = sandbox.snapshot()
    assert snapshot.domains[name].ns == (inside, outside)
    assert snapshot.hosts[inside].addrs == ("192.0.2.10", "2001:db8::10")
    assert snapshot.hosts[outside].addrs == ()
    assert commands(store, change) == [
        ("host:check", 1000),
        ("host:create", 1000),
        ("host:create", 1000),
        ("domain:update", 1000),
    ]
    # A name server the registry knows already is not created again.
    again = queue_domain_update(store, name, ns={"add": ["ns1.example.net"]})
    await run(store, regs)
    assert commands(store, again) == [("host:check", 1000), ("domain:update", 1000)]
    assert sandbox.snapshot().domains[name].ns == (inside, outside, "ns1.example.net")


async def test_in_bailiwick_name_server_without_glue_fails_clearly(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "noglue.org")
    bad = queue_domain_update(store, name, ns={"add": [f"ns9.{name}"]})
    await run(store, regs)
    failed = entry(store, bad)
    assert failed.status == "failed"
    assert f"ns9.{name} is under {name} itself and needs glue addresses" in failed.last_error
    assert sandbox.snapshot().domains[name].ns == ("ns1.example.net",)
    assert f"ns9.{name}" not in sandbox.snapshot().hosts


async def test_ds_records_added_and_removed(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "signed.de")
    added = queue_domain_update(store, name, ds={"add": [ds_record(1), ds_record(2)]})
    await run(store, regs)
    assert sandbox.snapshot().domains[name].ds == (ds(1), ds(2))
    assert commands(store, added) == [("domain:update", 1000)]
    queue_domain_update(store, name, ds={"rem": [ds_record(1)], "add": [ds_record(3)]})
    await run(store, regs)
    assert statuses(store) == {"done": 2}
    assert sandbox.snapshot().domains[name].ds == (ds(2), ds(3))


async def test_ds_change_fails_clearly_without_secdns(store, tmp_path):
    sandbox = SandboxRegistry(tmp_path / "nodns.db", clients={CLIENT_ID: PASSWORD}, secdns=False)
    async with sandbox:
        regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
        name = registered(store, sandbox, regs, "unsigned.com")
        bad = queue_domain_update(
            store, name, ds={"add": [ds_record(1)]}, statuses={"add": ["clientHold"]}
        )
        objects = sandbox.stats["object_commands"]
        await run(store, regs)
        failed = entry(store, bad)
        assert failed.status == "failed"
        assert "does not offer secDNS-1.1" in failed.last_error
        assert "nothing was sent" in failed.last_error
        # No object command went out (only the session's login and poll): not the statuses either.
        assert commands(store, bad) == []
        assert sandbox.snapshot().domains[name].statuses == ()
        assert sandbox.stats["object_commands"] == objects


async def test_registrant_change_creates_the_new_registrant_first(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "newholder.com")
    record = store.domain_record(name)
    old = record.contact("registrant")
    new = store.create_contact("staff:ann", person_data(), account_number=record.account.number)
    change = queue_domain_update(
        store, name, registrant={"before": old.handle, "after": new.handle}
    )
    await run(store, regs)
    assert statuses(store) == {"done": 1}, [e.last_error for e in entries(store)]
    snapshot = sandbox.snapshot()
    assert snapshot.domains[name].registrant == new.handle
    created = snapshot.contacts[new.handle]
    assert created.sponsor == CLIENT_ID and created.email == new.email
    assert commands(store, change) == [
        ("contact:info", 2303),
        ("contact:create", 1000),
        ("domain:update", 1000),
    ]
    # The disclose flags are the policy's for the new contact as the domain's registrant.
    view = build_view(
        DomainRecord(record.domain, record.account, {**record.contacts, "registrant": new}),
        profile=store.settings.publication_profile,
        registrar=store.settings.registrar,
        registry_policy=regs.contact_policy("com"),
    )
    assert created.disclose == disclose_for(view, "registrant")
    # Back to the old one, whom the registry has: no contact:create this time.
    back = queue_domain_update(store, name, registrant={"before": new.handle, "after": old.handle})
    await run(store, regs)
    assert commands(store, back) == [("contact:info", 1000), ("domain:update", 1000)]
    assert sandbox.snapshot().domains[name].registrant == old.handle


async def test_stale_view_sends_only_what_is_missing(store, sandbox, tmp_path):
    """The registry already holds one of the lock's statuses: the refused update is followed
    by domain:info and an update of the other two."""
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "halflocked.com")
    half = queue_domain_update(store, name, statuses={"add": ["clientTransferProhibited"]})
    await run(store, regs)
    lock = queue_domain_update(store, name, statuses={"add": LOCK})
    await run(store, regs)
    assert entry(store, half).status == entry(store, lock).status == "done"
    assert sorted(sandbox.snapshot().domains[name].statuses) == LOCK
    assert commands(store, lock) == [
        ("domain:update", 2306),
        ("domain:info", 1000),
        ("domain:update", 1000),
    ]
    # Nothing left to send: a repeated lock (refused: the domain is locked) is done with one
    # refusal and one read.
    repeat = queue_domain_update(store, name, statuses={"add": LOCK})
    await run(store, regs)
    assert entry(store, repeat).status == "done"
    assert commands(store, repeat) == [("domain:update", 2304), ("domain:info", 1000)]


async def test_registry_refusals_are_classified(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "refused.com")
    queue_domain_update(store, name, statuses={"add": ["clientUpdateProhibited"]})
    await run(store, regs)
    # Locked against updates: a name server change is refused for good (2304).
    blocked = queue_domain_update(store, name, ns={"rem": ["ns1.example.net"]})
    # A payload the flow cannot send fails at once, naming what is wrong.
    broken = queue_domain_update(store, name, statuses={"add": ["serverHold"]})
    await run(store, regs)
    await run(store, regs)  # one run takes one entry of a domain
    assert entry(store, blocked).status == "failed"
    assert entry(store, blocked).last_error.startswith(f"domain:update {name}: 2304 ")
    assert [verb for verb, _ in commands(store, blocked)] == ["domain:update", "domain:info"]
    assert entry(store, broken).status == "failed"
    assert "'serverHold' is not a client status" in entry(store, broken).last_error
    assert sandbox.snapshot().domains[name].ns == ("ns1.example.net",)


async def test_registry_without_host_objects_gets_host_attributes(store, tmp_path):
    sandbox = SandboxRegistry(
        tmp_path / "attrs.db", clients={CLIENT_ID: PASSWORD}, host_objects=False
    )
    async with sandbox:
        regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
        name = registered(store, sandbox, regs, "attrs.com")
        change = queue_domain_update(
            store,
            name,
            ns={"add": [f"ns1.{name}", "ns.dns-host.example.net"], "rem": ["ns1.example.net"]},
            hosts={f"ns1.{name}": ["198.51.100.7"]},
        )
        await run(store, regs)
        assert statuses(store) == {"done": 1}, [e.last_error for e in entries(store)]
        snapshot = sandbox.snapshot()
        assert snapshot.domains[name].ns == (f"ns1.{name}", "ns.dns-host.example.net")
        assert snapshot.hosts[f"ns1.{name}"].addrs == ("198.51.100.7",)
        assert commands(store, change) == [("domain:update", 1000)]


async def test_lost_answers_resolved_with_info_each_change_applied_once(store, counting, tmp_path):
    """Every create and update is committed and its answer lost: the flow reads the registry
    before sending anything again, so each change reaches the registry exactly once."""
    sandbox = counting
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    names = [registered(store, sandbox, regs, f"lost{i}.com") for i in range(3)]
    record = store.domain_record(names[2])
    newcomer = store.create_contact(
        "staff:ann", person_data(), account_number=record.account.number
    )
    ids = [
        queue_domain_update(store, names[0], statuses={"add": LOCK}, ds={"add": [ds_record(7)]}),
        queue_domain_update(
            store,
            names[1],
            ns={"add": [f"ns1.{names[1]}"], "rem": ["ns1.example.net"]},
            hosts={f"ns1.{names[1]}": ["192.0.2.77"]},
        ),
        queue_domain_update(
            store,
            names[2],
            registrant={"before": record.contact("registrant").handle, "after": newcomer.handle},
        ),
    ]
    sandbox.faults = FaultPlan(drop_after_commit_share=1.0)
    await run(store, regs, quick_retries=4)
    assert statuses(store) == {"done": 3}, [e.last_error for e in entries(store)]
    snapshot = sandbox.snapshot()
    assert sorted(snapshot.domains[names[0]].statuses) == LOCK
    assert snapshot.domains[names[0]].ds == (ds(7),)
    assert snapshot.domains[names[1]].ns == (f"ns1.{names[1]}",)
    assert snapshot.hosts[f"ns1.{names[1]}"].addrs == ("192.0.2.77",)
    assert snapshot.domains[names[2]].registrant == newcomer.handle
    for entry_id in ids:
        assert sandbox.transforms[(entry_id, "domain:update")] == 1, commands(store, entry_id)
    assert sandbox.transforms[(ids[1], "host:create")] == 1
    assert sandbox.transforms[(ids[2], "contact:create")] == 1
    # The lost answer of the update was settled by reading the domain.
    verbs = [verb for verb, _ in commands(store, ids[0])]
    assert verbs == ["domain:update", "domain:info"]


async def test_resumed_entry_finds_its_change_done(store, counting, tmp_path):
    """An entry claimed again after a crash (attempts > 1) that had gone through: info only."""
    sandbox = counting
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "resumed.com")
    done = queue_domain_update(store, name, statuses={"add": ["clientHold"]})
    await run(store, regs)
    with store.write() as session:
        row = session.get(OutboxEntry, done)
        row.status, row.attempts, row.completed_at = "pending", 2, None
    await run(store, regs)
    assert entry(store, done).status == "done"
    assert sandbox.transforms[(done, "domain:update")] == 1
    with store.read() as session:
        notes = [
            e.changes.get("note")
            for e in session.execute(
                select(AuditEvent).where(AuditEvent.entity_id == str(done))
            ).scalars()
        ]
    assert "already at the registry" in notes


async def test_injected_errors_end_with_every_change_applied(store, counting, tmp_path):
    sandbox = counting
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    names = [registered(store, sandbox, regs, f"flaky{i}.net") for i in range(6)]
    for i, name in enumerate(names):
        queue_domain_update(store, name, statuses={"add": LOCK})
        queue_domain_update(store, name, statuses={"rem": LOCK}, ds={"add": [ds_record(i)]})
        queue_domain_update(
            store,
            name,
            ns={"add": [f"ns1.{name}"]},
            hosts={f"ns1.{name}": [f"192.0.2.{i + 1}"]},
        )
    sandbox.faults = FaultPlan(
        error_share=0.3, error_code=2400, drop_after_commit_share=0.2, seed=5910
    )
    worker = SyncWorker(
        store,
        regs,
        SyncOptions(**FAST, poll_interval=0.05, concurrency=6),
        links=PortalLinks(store.settings),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.follow(stop))
    async with asyncio.timeout(60):
        while statuses(store)["done"] < 18:
            await asyncio.sleep(0.05)
        stop.set()
        await running
    await worker.close()
    assert statuses(store) == {"done": 18}
    snapshot = sandbox.snapshot()
    for i, name in enumerate(names):
        held = snapshot.domains[name]
        assert held.statuses == () and held.ds == (ds(i),)
        assert held.ns == ("ns1.example.net", f"ns1.{name}")
        assert snapshot.hosts[f"ns1.{name}"].addrs == (f"192.0.2.{i + 1}",)


# ---------------------------------------------------------------- the change an entry asks for


def test_change_of_a_payload_is_normalised_and_compared_with_the_registry():
    change = Change.of(
        {
            "domain": "example.com",
            "statuses": {"add": ["clientHold", "clientHold"], "rem": ["clientUpdateProhibited"]},
            "ns": {"add": ["NS1.Example.COM.", "ns2.dns.example.net"], "rem": ["ns0.example.net"]},
            "ds": {"add": [{"key_tag": 1, "alg": 13, "digest_type": 2, "digest": "ab" * 32}]},
            "registrant": {"before": "IL-1", "after": "IL-2"},
            "hosts": {"ns1.example.com.": ["192.0.2.1"]},
        }
    )
    assert change.add_statuses == ("clientHold",)
    assert change.add_ns == ("ns1.example.com", "ns2.dns.example.net")
    assert change.add_ds == (DsData(1, 13, 2, "AB" * 32),)
    assert change.glue == {"ns1.example.com": ("192.0.2.1",)}
    info = DomainInfo(
        name="example.com",
        roid="D1-SBX",
        statuses=("clientHold",),
        registrant="IL-2",
        ns=("ns1.example.com", "ns0.example.net"),
        cl_id="interlink",
        ds=(DsData(1, 13, 2, "AB" * 32),),
    )
    rest = change.still_missing(info)
    assert rest == Change(add_ns=("ns2.dns.example.net",), rem_ns=("ns0.example.net",))
    assert not rest.is_empty() and rest.glue == change.glue
    done = DomainInfo(
        name="example.com",
        roid="D1-SBX",
        statuses=("clientHold",),
        registrant="IL-2",
        ns=("ns1.example.com", "ns2.dns.example.net"),
        cl_id="interlink",
        ds=(DsData(1, 13, 2, "AB" * 32),),
    )
    assert change.still_missing(done).is_empty()
    update = rest.command("example.com", host_objects=False)
    assert update.add_host_attrs == (HostAttr("ns2.dns.example.net"),)
    assert update.rem_host_attrs == (HostAttr("ns0.example.net"),)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"statuses": ["clientHold"]}, '"statuses" must be'),
        ({"statuses": {"add": ["ok"]}}, "'ok' is not a client status"),
        ({"ns": {"add": [""]}}, "is not a host name"),
        (
            {"ds": {"add": [{"key_tag": "1", "alg": 13, "digest_type": 2, "digest": "AB"}]}},
            "key_tag",
        ),
        ({"ds": {"add": [{"key_tag": 1, "alg": 13, "digest_type": 2, "digest": "XYZ"}]}}, "digest"),
        ({"registrant": {"before": "IL-1"}}, '"registrant" must be'),
        ({"hosts": {"ns1.example.com": "192.0.2.1"}}, "list of addresses"),
    ],
)
def test_change_of_a_bad_payload_says_what_is_wrong(payload, message):
    with pytest.raises(ValueError, match=message):
        Change.of({"domain": "example.com", **payload})


# ---------------------------------------------------------------- the store's edits, end to end


async def test_staff_edits_of_the_store_reach_the_sandbox(store, sandbox, tmp_path):
    """Lock, unlock, name servers with glue, a DS record and a new registrant, each edited
    through the store (which queues one domain.update per edit): the sandbox ends as the store."""
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "edited-by-staff.com")
    record = store.domain_record(name)
    newcomer = store.create_contact(
        "staff:ann", person_data(), account_number=record.account.number
    )
    digest = "49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE3F4D8B1E9D1C6B8D2E5A7F30"
    assert store.lock("staff:ann", name).changed
    assert store.unlock("staff:ann", name).changed
    store.set_nameservers(
        "staff:ann",
        name,
        None,
        [f"ns1.{name}", "ns2.example.org"],
        {f"ns1.{name}": ["192.0.2.53", "2001:db8::53"]},
    )
    store.add_ds(
        "staff:ann", name, None, [{"key_tag": 2371, "alg": 13, "digest_type": 2, "digest": digest}]
    )
    store.change_registrant("staff:ann", name, None, newcomer.handle)
    for _ in range(8):  # one entry of a domain per run
        if statuses(store)["done"] == 5:
            break
        await run(store, regs)
    assert statuses(store) == {"done": 5}, [e.last_error for e in entries(store)]
    held, stored = sandbox.snapshot().domains[name], store.domain_record(name)
    assert held.statuses == ()
    assert list(held.ns) == stored.domain.nameservers == [f"ns1.{name}", "ns2.example.org"]
    assert sandbox.snapshot().hosts[f"ns1.{name}"].addrs == ("192.0.2.53", "2001:db8::53")
    assert held.ds == tuple(
        DsData(d.key_tag, d.algorithm, d.digest_type, d.digest) for d in stored.ds
    )
    assert held.ds and held.registrant == newcomer.handle == stored.contact("registrant").handle


# ---------------------------------------------------------------- host objects kept in step


def note_of(store, entry_id: int) -> str | None:
    with store.read() as session:
        event = session.execute(
            select(AuditEvent).where(
                AuditEvent.entity_type == "outbox_entry", AuditEvent.entity_id == str(entry_id)
            )
        ).scalar_one()
    return event.changes.get("note")


async def test_existing_in_bailiwick_host_gets_the_entry_glue(store, sandbox, tmp_path):
    """The registry has our host under the domain already, with other addresses: host:info,
    then host:update of only the difference, then the domain:update naming it."""
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "reglued.com")
    host = f"ns1.{name}"
    sandbox.store.insert_host(host, ("192.0.2.1", "2001:db8::1"), CLIENT_ID)
    change = queue_domain_update(
        store, name, ns={"add": [host]}, hosts={host: ["2001:DB8::1", "192.0.2.50"]}
    )
    await run(store, regs)
    assert statuses(store) == {"done": 1}, [e.last_error for e in entries(store)]
    assert commands(store, change) == [
        ("host:check", 1000),
        ("host:info", 1000),
        ("host:update", 1000),
        ("domain:update", 1000),
    ]
    snapshot = sandbox.snapshot()
    assert snapshot.hosts[host].addrs == ("2001:db8::1", "192.0.2.50")
    assert snapshot.domains[name].ns == ("ns1.example.net", host)
    assert note_of(store, change) == f"host addresses updated: {host}"
    # The same glue again (the host was taken off and is named anew): info, no update.
    with sandbox.store.db as db:
        db.execute("UPDATE domain SET ns = 'ns1.example.net' WHERE name = ?", (name,))
    again = queue_domain_update(
        store, name, ns={"add": [host]}, hosts={host: ["192.0.2.50", "2001:db8::1"]}
    )
    await run(store, regs)
    assert commands(store, again) == [
        ("host:check", 1000),
        ("host:info", 1000),
        ("domain:update", 1000),
    ]


async def test_host_update_answer_lost_is_sent_once(store, counting, tmp_path):
    sandbox = counting
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "lostglue.com")
    host = f"ns1.{name}"
    sandbox.store.insert_host(host, ("192.0.2.1",), CLIENT_ID)
    change = queue_domain_update(
        store, name, ns={"add": [host]}, hosts={host: ["192.0.2.2", "2001:db8::2"]}
    )
    sandbox.faults = FaultPlan(drop_after_commit_share=1.0)
    await run(store, regs, quick_retries=4)
    assert statuses(store) == {"done": 1}, [e.last_error for e in entries(store)]
    assert sandbox.transforms[(change, "host:update")] == 1
    assert sandbox.transforms[(change, "domain:update")] == 1
    assert sandbox.snapshot().hosts[host].addrs == ("192.0.2.2", "2001:db8::2")
    verbs = [verb for verb, _ in commands(store, change)]
    assert verbs[:5] == ["host:check", "host:info", "host:update", "host:info", "domain:update"]


async def test_host_no_domain_of_ours_uses_is_deleted_after_the_update(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "hoster.com")
    user = registered(store, sandbox, regs, "tenant.net")
    host = f"ns1.{name}"
    store.set_nameservers("staff:ann", name, None, ["ns1.example.net", host], {host: ["192.0.2.8"]})
    store.set_nameservers("staff:ann", user, None, ["ns1.example.net", host])
    await run(store, regs)
    await run(store, regs)
    assert statuses(store) == {"done": 2}, [e.last_error for e in entries(store)]
    assert sandbox.snapshot().domains[user].ns == ("ns1.example.net", host)
    # Taken off its own domain: another of our domains still uses it, so it stays.
    store.set_nameservers("staff:ann", name, None, ["ns1.example.net"])
    await run(store, regs)
    kept = entries(store)[-1].id
    assert commands(store, kept) == [("domain:update", 1000)]
    assert host in sandbox.snapshot().hosts
    # Taken off the last one: deleted after the domain:update.
    store.set_nameservers("staff:ann", user, None, ["ns1.example.net"])
    await run(store, regs)
    freed = entries(store)[-1].id
    assert statuses(store) == {"done": 4}, [e.last_error for e in entries(store)]
    assert commands(store, freed) == [("domain:update", 1000), ("host:delete", 1000)]
    assert host not in sandbox.snapshot().hosts
    assert note_of(store, freed) == f"host objects deleted: {host}"


async def test_host_still_linked_at_the_registry_is_left_with_a_note(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "linked.org")
    host = f"ns1.{name}"
    store.set_nameservers("staff:ann", name, None, ["ns1.example.net", host], {host: ["192.0.2.9"]})
    await run(store, regs)
    # A domain the store does not hold (another registrar's) names it at the registry.
    sandbox.seed_domain("elsewhere.com", None, [], "other-registrar", ns=[host])
    store.set_nameservers("staff:ann", name, None, ["ns1.example.net"])
    await run(store, regs)
    last = entries(store)[-1]
    assert last.status == "done" and last.last_error is None
    assert commands(store, last.id) == [("domain:update", 1000), ("host:delete", 2305)]
    assert note_of(store, last.id) == (
        f"host {host} left at the registry: still linked to another object there (EPP 2305)"
    )
    assert host in sandbox.snapshot().hosts
    assert sandbox.snapshot().domains[name].ns == ("ns1.example.net",)


async def test_host_delete_answer_lost_is_settled_with_info(store, counting, tmp_path):
    sandbox = counting
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "lostdelete.de")
    host = f"ns1.{name}"
    store.set_nameservers("staff:ann", name, None, ["ns1.example.net", host], {host: ["192.0.2.7"]})
    await run(store, regs)
    store.set_nameservers("staff:ann", name, None, ["ns1.example.net"])
    sandbox.faults = FaultPlan(drop_after_commit_share=1.0)
    await run(store, regs, quick_retries=4)
    last = entries(store)[-1]
    assert statuses(store) == {"done": 2}, [e.last_error for e in entries(store)]
    assert sandbox.transforms[(last.id, "domain:update")] == 1
    assert sandbox.transforms[(last.id, "host:delete")] == 1
    assert host not in sandbox.snapshot().hosts
    assert commands(store, last.id) == [
        ("domain:update", None),
        ("domain:info", 1000),
        ("host:delete", None),
        ("host:info", 2303),
    ]
    assert note_of(store, last.id) == f"host objects deleted: {host}"


async def test_ds_set_emptied_is_removed_all_at_once(store, counting, tmp_path):
    """The store's last DS records removed: secDNS rem all, which also takes a record the
    registry held beyond ours; after a lost answer, the registry's empty set settles it."""
    sandbox = counting
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    name = registered(store, sandbox, regs, "unsign.com")
    store.add_ds("staff:ann", name, None, [ds_record(1), ds_record(2)])
    await run(store, regs)
    with sandbox.store.db as db:
        seq = db.execute("SELECT seq FROM domain WHERE name = ?", (name,)).fetchone()[0]
        db.execute(
            "INSERT INTO domain_ds VALUES (?, ?, ?, ?, ?)", (seq, *tuple(vars(ds(9)).values()))
        )
    assert sandbox.snapshot().domains[name].ds == (ds(1), ds(2), ds(9))
    store.remove_ds("staff:ann", name, None, [ds_record(1)])
    store.remove_ds("staff:ann", name, None, [ds_record(2)])
    sandbox.faults = FaultPlan(drop_after_commit_share=1.0)
    await run(store, regs, quick_retries=4)
    await run(store, regs, quick_retries=4)
    assert statuses(store) == {"done": 3}, [e.last_error for e in entries(store)]
    assert sandbox.snapshot().domains[name].ds == ()
    first, second = (e.id for e in entries(store)[-2:])
    assert sandbox.transforms[(first, "domain:update")] == 1
    # Each removal leaves the store without records: each is a rem all (the second one
    # changes nothing); each lost answer is settled by the registry's empty set.
    for entry_id in (first, second):
        assert commands(store, entry_id) == [("domain:update", None), ("domain:info", 1000)]
