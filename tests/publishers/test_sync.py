"""Registry sync against the real sandbox over TLS: store -> outbox -> EPP -> sandbox.

Every classification of architecture §6 is driven by the sandbox itself (no mocks): done,
already done (2302 on our own handle, confirmed by info), local-only (2306, or the configured
policy: nothing sent), permanent failure (the registry's code and message, request sync_failed),
retry later (2400), and a lost answer resolved with info before anything is sent again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import col
from typer.testing import CliRunner

from domains.changes import Workflow
from domains.mailer import NOTICE_HEADER
from domains.models import AuditEvent, Notice, OutboxEntry, utcnow
from portal.links import PortalLinks
from publishers.registries import (
    DEFAULT_FILE,
    RegistryConfigError,
    UnknownTld,
    load_registries,
    parse_registries,
)
from publishers.sandbox.faults import FaultPlan
from publishers.sandbox.server import SandboxRegistry
from publishers.sync.contacts import contact_data
from publishers.sync.lock import WorkerBusy
from publishers.sync.options import SyncOptions
from publishers.sync.worker import SyncWorker
from tests.support.factories import contact_data as person_data
from tests.support.sync import (
    CLIENT_ID,
    PASSWORD,
    PASSWORD_ENV,
    assert_sandbox_equals_store,
    contact_matches_store,
    entries,
    expected_disclose,
    move_tech,
    new_tech,
    registries,
    sandbox_in_thread,
    seed,
    statuses,
    write_registries,
)

#: The sandbox's password in the environment, as the registries file names it.
pytestmark = pytest.mark.usefixtures("sandbox_password")
FAST = {"retry_wait": 0.01, "retry_wait_max": 0.05, "backoff": 0.05, "backoff_max": 0.2}


def worker(store, regs, mailer=None, **options) -> SyncWorker:
    return SyncWorker(
        store,
        regs,
        SyncOptions(**{**FAST, **options}),
        mailer=mailer,
        links=PortalLinks(store.settings),
    )


async def run(store, regs, **options):
    async with worker(store, regs, **options) as w:
        async with asyncio.timeout(30):
            return await w.run_once()


def request_state(store, reference: str) -> str:
    return Workflow(store).get(reference).state


# ---------------------------------------------------------------- end to end


async def test_tech_moves_and_contact_edits_reach_the_sandbox(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    seeded = seed(store, sandbox, 4)
    refs = [move_tech(store, name, new_tech(i)) for i, name in enumerate(seeded.names[:3])]
    # A contact edit of a registrant (already at the registry) and of a brand-new tech contact.
    registrant = store.domain_record(seeded.names[3]).contact("registrant")
    store.update_contact("staff:ann", registrant.handle, registrant.version, {"city": "Potsdam"})
    moved = store.domain_record(seeded.names[0]).contact("tech")
    store.update_contact(
        "staff:ann", moved.handle, moved.version, {"email": "hostmaster@moved.example.net"}
    )

    report = await run(store, regs)

    assert statuses(store) == {"done": 5}, [(e.kind, e.last_error) for e in entries(store)]
    assert report.done == 5 and report.requests_completed == 3
    assert all(request_state(store, ref) == "completed" for ref in refs)
    snapshot = assert_sandbox_equals_store(store, sandbox, regs, seeded.names)
    assert snapshot.domains[seeded.names[3]].handles("tech") == (seeded.house,)
    assert contact_matches_store(snapshot, store.get_contact(registrant.handle), None) == []
    assert snapshot.contacts[moved.handle].email == "hostmaster@moved.example.net"
    # Disclose flags come from the policy: a tech contact without consent keeps its name,
    # phone and e-mail private; consent to org and e-mail (odd n) publishes the e-mail, and not
    # the organisation, which is no part of the RDP's technical contact (name, phone, e-mail).
    flags = snapshot.contacts[store.domain_record(seeded.names[1]).contact("tech").handle]
    assert flags.disclose == expected_disclose(store, regs, seeded.names[1], "tech")
    assert flags.disclose.email and not flags.disclose.org and not flags.disclose.name
    # clTRID and svTRID on every entry and on its audit event; the sandbox never saw a bad frame.
    with store.read() as session:
        events = list(
            session.execute(select(AuditEvent).where(AuditEvent.action == "sync.done")).scalars()
        )
    assert len(events) == 5
    by_entry = {int(e.entity_id): e for e in events}
    for entry in entries(store):
        assert entry.cltrid.startswith(f"ILS{entry.id}-") and entry.svtrid.startswith("SBX-")
        assert entry.completed_at is not None and entry.claimed_by is not None
        event = by_entry[entry.id]
        assert (event.actor, event.cltrid, event.svtrid) == (
            "system:sync",
            entry.cltrid,
            entry.svtrid,
        )
    move_event = by_entry[next(e.id for e in entries(store) if e.kind == "domain.tech_move")]
    verbs = [command[0] for command in move_event.changes["commands"]]
    assert verbs == ["contact:create", "domain:update", "domain:info"]
    assert sandbox.answers[2001] == 0
    # Nothing left to do: a second run sends no command (it only looks at the poll queue).
    commands = sandbox.stats["object_commands"]
    assert (await run(store, regs)).claimed == 0
    assert sandbox.stats["object_commands"] == commands


async def test_non_ascii_contact_goes_as_loc(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    seeded = seed(store, sandbox, 1)
    move_tech(store, seeded.names[0], new_tech(7, org="Bücherstube Müller GmbH", city="Köln"))
    await run(store, regs)
    assert statuses(store) == {"done": 1}
    snapshot = assert_sandbox_equals_store(store, sandbox, regs, seeded.names)
    tech = store.domain_record(seeded.names[0]).contact("tech")
    assert snapshot.contacts[tech.handle].postal_type == "loc"


# ---------------------------------------------------------------- classifications


async def test_2302_on_our_own_handle_is_done_after_info(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    seeded = seed(store, sandbox, 1)
    ref = move_tech(store, seeded.names[0], new_tech(3))
    tech = store.domain_record(seeded.names[0]).contact("tech")
    # As if an earlier run had created it and died before recording that.
    sandbox.seed_contact(contact_data(tech), CLIENT_ID)

    await run(store, regs)

    (entry,) = entries(store)
    assert entry.status == "done" and entry.attempts == 1
    event = _event(store, entry.id)
    codes = [(verb, code) for verb, _, _, code in event.changes["commands"]]
    assert codes[:2] == [("contact:create", 2302), ("contact:info", 1000)]
    assert "2302" in event.changes["note"]
    assert request_state(store, ref) == "completed"
    snapshot = sandbox.snapshot()
    assert snapshot.domains[seeded.names[0]].handles("tech") == (tech.handle,)


async def test_2302_on_a_handle_another_registrar_holds_is_a_failure(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    seeded = seed(store, sandbox, 1)
    ref = move_tech(store, seeded.names[0], new_tech(4))
    tech = store.domain_record(seeded.names[0]).contact("tech")
    sandbox.add_client("otherreg", "other-pw1")
    sandbox.seed_contact(contact_data(tech), "otherreg")

    await run(store, regs)

    (entry,) = entries(store)
    assert entry.status == "failed"
    assert "2201" in entry.last_error  # contact:info of another registrar's contact
    request = Workflow(store).get(ref)
    assert request.state == "sync_failed" and "2201" in request.sync_error


async def test_2306_contacts_prohibited_is_local_only(store, sandbox, tmp_path):
    sandbox.contacts_policy = {"de": "prohibited"}
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    seeded = seed(store, sandbox, 4)  # sync3.de
    de_name = seeded.names[3]
    ref = move_tech(store, de_name, new_tech(5))

    await run(store, regs)

    (entry,) = entries(store)
    assert entry.status == "local_only" and "2306" in entry.last_error
    assert request_state(store, ref) == "completed"
    assert _event(store, entry.id).action == "sync.local_only"
    assert sandbox.snapshot().domains[de_name].handles("tech") == (seeded.house,)
    assert_sandbox_equals_store(store, sandbox, regs, seeded.names, local_only=[de_name])


async def test_configured_policy_prohibited_sends_nothing(store, sandbox, tmp_path):
    path = write_registries(
        tmp_path / "r.toml", sandbox, tld_contacts={"net": {"tech": "prohibited"}}
    )
    regs = registries(path, tmp_path)
    seeded = seed(store, sandbox, 2)  # sync1.net
    ref = move_tech(store, seeded.names[1], new_tech(6))
    commands = sandbox.stats["object_commands"]

    await run(store, regs)

    (entry,) = entries(store)
    assert entry.status == "local_only" and "configured policy" in entry.last_error
    assert request_state(store, ref) == "completed"
    # Not one command went out (the run only looked at the poll queue).
    assert sandbox.stats["object_commands"] == commands
    assert _event(store, entry.id).changes["commands"] == []


async def test_permanent_refusal_fails_with_the_registry_message(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    house = store.house_contact()
    sandbox.seed_contact(contact_data(house), CLIENT_ID)
    from tests.support.factories import make_domain

    domain, registrant = make_domain(store, "locked-at-registry.com")
    sandbox.seed_contact(contact_data(registrant), CLIENT_ID)
    sandbox.seed_domain(
        domain.name,
        registrant.handle,
        [("tech", house.handle)],
        CLIENT_ID,
        statuses=["clientUpdateProhibited"],
    )
    ref = move_tech(store, domain.name, new_tech(8))

    await run(store, regs)

    (entry,) = entries(store)
    assert entry.status == "failed"
    assert entry.last_error.startswith("domain:update locked-at-registry.com: 2304 ")
    assert "clientUpdateProhibited" in entry.last_error
    request = Workflow(store).get(ref)
    assert request.state == "sync_failed" and request.sync_error == entry.last_error
    assert _event(store, entry.id).changes["code"] == 2304


async def test_unknown_domain_at_the_registry_fails(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    from tests.support.factories import make_domain

    domain, _ = make_domain(store, "never-registered.org")
    ref = move_tech(store, domain.name, new_tech(9))
    await run(store, regs)
    (entry,) = entries(store)
    assert entry.status == "failed" and "2303" in entry.last_error
    assert request_state(store, ref) == "sync_failed"


async def test_2400_is_retried_later(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    seeded = seed(store, sandbox, 1)
    ref = move_tech(store, seeded.names[0], new_tech(10))
    sandbox.faults = FaultPlan(error_share=1.0, error_code=2400, seed=1)
    before = utcnow()

    report = await run(store, regs, quick_retries=2, backoff=30.0, backoff_max=60.0)

    (entry,) = entries(store)
    assert entry.status == "pending" and entry.attempts == 1 and report.retried == 1
    assert entry.next_attempt_at > before + timedelta(seconds=20)
    assert "2400" in entry.last_error and entry.claimed_by is None and entry.claimed_at is None
    assert request_state(store, ref) == "applied"
    assert sandbox.stats["injected"] >= 2  # the quick retries went out too
    # Not due yet: a run now leaves it alone.
    assert (await run(store, regs)).claimed == 0
    # The registry recovers and the time comes: done.
    sandbox.faults = FaultPlan()
    with store.write() as session:
        session.execute(update(OutboxEntry).values(next_attempt_at=utcnow()))
    await run(store, regs)
    (entry,) = entries(store)
    assert entry.status == "done" and entry.attempts == 2
    assert request_state(store, ref) == "completed"
    assert_sandbox_equals_store(store, sandbox, regs, seeded.names)


async def test_a_lost_answer_is_resolved_with_info_before_resending(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    seeded = seed(store, sandbox, 2)
    move_tech(store, seeded.names[0], new_tech(11))
    registrant = store.domain_record(seeded.names[1]).contact("registrant")
    store.update_contact("staff:ann", registrant.handle, registrant.version, {"city": "Leipzig"})
    # Every create and update is committed, then the connection is dropped unanswered.
    sandbox.faults = FaultPlan(drop_after_commit_share=1.0, seed=2)

    await run(store, regs)

    assert statuses(store) == {"done": 2}
    for entry in entries(store):
        verbs = [(verb, code) for verb, _, _, code in _event(store, entry.id).changes["commands"]]
        if entry.kind == "domain.tech_move":
            assert verbs == [
                ("contact:create", None),
                ("contact:info", 1000),
                ("domain:update", None),
                ("domain:info", 1000),
                ("domain:info", 1000),
            ]
        else:
            # info first (what the registry holds narrows the change), then after the lost
            # answer info again: nothing is sent twice.
            assert verbs == [
                ("contact:info", 1000),
                ("contact:update", None),
                ("contact:info", 1000),
            ]
    assert sandbox.stats["dropped"] == 3
    assert_sandbox_equals_store(store, sandbox, regs, seeded.names)
    assert sandbox.snapshot().contacts[registrant.handle].city == "Leipzig"


async def test_contact_edit_of_a_contact_the_registry_lacks_creates_it(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    from tests.support.factories import make_domain

    house = store.house_contact()
    sandbox.seed_contact(contact_data(house), CLIENT_ID)
    domain, registrant = make_domain(store, "fresh-registrant.com")
    other = store.create_contact("staff:ann", person_data())
    sandbox.seed_domain(domain.name, other.handle, [("tech", house.handle)], CLIENT_ID)
    store.update_contact("staff:ann", registrant.handle, registrant.version, {"city": "Dresden"})
    await run(store, regs)
    (entry,) = entries(store)
    assert entry.status == "done"
    assert (
        contact_matches_store(sandbox.snapshot(), store.get_contact(registrant.handle), None) == []
    )


async def test_sqlite_runs_one_worker_at_a_time(sqlite_store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    first = worker(sqlite_store, regs)
    second = worker(sqlite_store, regs)
    try:
        await first.run_once()
        with pytest.raises(WorkerBusy, match="one worker runs at a time"):
            await second.run_once()
    finally:
        await first.close()
        await second.close()
    # The lock goes with the worker.
    async with worker(sqlite_store, regs) as third:
        await third.run_once()


async def test_orphaned_entry_of_a_dead_worker_is_reclaimed(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    seeded = seed(store, sandbox, 1)
    ref = move_tech(store, seeded.names[0], new_tech(12))
    # A worker claimed it, sent the create, and died.
    tech = store.domain_record(seeded.names[0]).contact("tech")
    sandbox.seed_contact(contact_data(tech), CLIENT_ID)
    with store.write() as session:
        session.execute(
            update(OutboxEntry).values(
                status="in_progress",
                claimed_by="dead-worker",
                claimed_at=utcnow() - timedelta(minutes=10),
                attempts=1,
            )
        )
    await run(store, regs, lease=60)
    (entry,) = entries(store)
    assert entry.status == "done" and entry.attempts == 2
    verbs = [c[0] for c in _event(store, entry.id).changes["commands"]]
    # A reclaimed entry starts by asking: domain:info, contact:info, then only what is missing.
    assert verbs == ["domain:info", "contact:info", "domain:update", "domain:info"]
    assert request_state(store, ref) == "completed"


async def test_a_finished_entry_completes_its_request_after_a_crash(store, sandbox, tmp_path):
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    seeded = seed(store, sandbox, 1)
    ref = move_tech(store, seeded.names[0], new_tech(13))
    with store.write() as session:  # recorded as done, then the worker died
        session.execute(update(OutboxEntry).values(status="done", cltrid="ILS1-x", svtrid="S-1"))
    report = await run(store, regs)
    assert report.requests_completed == 1
    assert request_state(store, ref) == "completed"


async def test_the_worker_sends_the_notices_of_the_requests_it_completes(
    store,
    sandbox,
    tmp_path,
    smtp,
):
    mailer, sink = smtp
    regs = registries(write_registries(tmp_path / "r.toml", sandbox), tmp_path)
    seeded = seed(store, sandbox, 2)
    registrant = store.domain_record(seeded.names[0]).contact("registrant")
    ref = move_tech(store, seeded.names[0], new_tech(21))
    # A notice queued long ago whose deliverer stopped before sending it (another request's).
    other = move_tech(store, seeded.names[1], new_tech(22))
    with store.write() as session:
        late = Notice(
            category="essential",
            template="request_approved",
            recipient="proposed_tech",
            subject_ref=other,
            created_at=utcnow() - timedelta(hours=1),
        )
        session.add(late)
        session.flush()
        late_id = late.id

    report = await run(store, regs, mailer=mailer)

    assert report.requests_completed == 2
    with store.read() as session:
        completed = {
            n.id: n
            for n in session.execute(
                select(Notice).where(
                    Notice.template == "request_completed", Notice.subject_ref == ref
                )
            ).scalars()
        }
        assert session.get(Notice, late_id).status == "sent"
    # The registrant, Interlink (the old technical contact) and the new one: each got theirs.
    assert len(completed) == 3 and {n.status for n in completed.values()} == {"sent"}
    got = {int(m.message[NOTICE_HEADER]): m.rcpt_tos for m in sink.messages}
    assert {tuple(got[i]) for i in completed} == {
        (registrant.email,),
        (store.house_contact().email,),
        ("noc21@hosting21.example.net",),
    }
    assert got[late_id] == ["noc22@hosting22.example.net"]
    assert report.notices_sent == len(sink.messages) == 7  # 3 + 3 for the other request, + 1


def _event(store, entry_id: int) -> AuditEvent:
    with store.read() as session:
        return (
            session.execute(
                select(AuditEvent)
                .where(
                    AuditEvent.entity_type == "outbox_entry",
                    AuditEvent.entity_id == str(entry_id),
                    col(AuditEvent.action).startswith("sync."),
                )
                .order_by(col(AuditEvent.id).desc())
            )
            .scalars()
            .first()
        )


# ---------------------------------------------------------------- the command


def _sync_app():
    import typer

    from tui.commands.sync import sync_command

    app = typer.Typer()
    app.command()(sync_command)
    return app


def test_sync_command_once(sqlite_store, tmp_path, monkeypatch):
    sync_app = _sync_app()

    registry = SandboxRegistry(tmp_path / "sandbox.db", clients={CLIENT_ID: PASSWORD})
    seeded = seed(sqlite_store, registry, 2)
    move_tech(sqlite_store, seeded.names[0], new_tech(14))
    url = str(sqlite_store.engine.url)
    with sandbox_in_thread(registry):
        path = write_registries(tmp_path / "r.toml", registry)
        result = CliRunner().invoke(
            sync_app, ["--once", "--registries", str(path), "--db", url, "--sessions", "2"]
        )
    assert result.exit_code == 0, result.output
    assert "1 done" in result.output
    assert statuses(sqlite_store) == {"done": 1}


def test_sync_command_refuses_several_workers_on_sqlite(sqlite_store, tmp_path):
    sync_app = _sync_app()

    url = str(sqlite_store.engine.url)
    result = CliRunner().invoke(sync_app, ["--once", "--workers", "2", "--db", url])
    assert result.exit_code != 0
    assert "SQLite" in result.output


# ---------------------------------------------------------------- the registries file


def test_default_registries_point_the_demo_tlds_at_the_sandbox(tmp_path, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    regs = load_registries(DEFAULT_FILE, data_dir=tmp_path)
    for tld in ("com", "net", "org", "de", "fr", "nl", "se", "uk", "es", "it"):
        registry = regs.registry_for(tld)
        assert (registry.name, registry.host, registry.port) == ("sandbox", "127.0.0.1", 7000)
        assert registry.client_id == "interlink"
    registry = regs.registry_for(".COM")
    assert registry.ca_file == tmp_path / "sandbox.db.tls" / "ca.pem"
    assert registry.password() == "sandbox-pw1"  # the documented demo default
    monkeypatch.setenv(PASSWORD_ENV, "from-the-env1")
    assert registry.endpoint().password == "from-the-env1"
    assert "from-the-env1" not in repr(registry.endpoint())
    with pytest.raises(UnknownTld, match=r"\.info"):
        regs.registry_for("info")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[registries.x]\nhost = 'h'\nclient_id = 'c'\n", "registries.x.password_env"),
        ("[registries.x]\nclient_id = 'c'\npassword_env = 'P'\n", "registries.x.host"),
        (
            "[registries.x]\nhost='h'\nclient_id='c'\npassword_env='P'\nport='700'\n",
            "registries.x.port",
        ),
        (
            "[registries.x]\nhost='h'\nclient_id='c'\npassword_env='P'\nsessions=0\n",
            "registries.x.sessions",
        ),
        (
            "[registries.x]\nhost='h'\nclient_id='c'\npassword_env='P'\n"
            "[registries.x.contacts]\ntech='maybe'\n",
            "registries.x.contacts.tech",
        ),
        (
            "[registries.x]\nhost='h'\nclient_id='c'\npassword_env='P'\n"
            "[registries.x.contacts]\nowner='required'\n",
            "registries.x.contacts.owner",
        ),
        (
            "[registries.x]\nhost='h'\nclient_id='c'\npassword_env='P'\nhots='typo'\n",
            "registries.x.hots",
        ),
        (
            "[registries.x]\nhost='h'\nclient_id='c'\npassword_env='my secret!'\n",
            "registries.x.password_env",
        ),
        (
            "[registries.x]\ntlds=['com']\nhost='h'\nclient_id='c'\npassword_env='P'\n"
            "[registries.y]\ntlds=['com']\nhost='h'\nclient_id='c'\npassword_env='P'\n",
            "registries.y.tlds",
        ),
        ("[tlds.com]\ncontacts={tech='optional'}\n", "registries"),
        (
            "[registries.x]\nhost='h'\nclient_id='c'\npassword_env='P'\n[tlds.fr]\n",
            "tlds.fr.registry",
        ),
        (
            "[registries.x]\nhost='h'\nclient_id='c'\npassword_env='P'\ncert_file='c.pem'\n",
            "registries.x.cert_file",
        ),
    ],
)
def test_registries_errors_name_the_key(tmp_path, text, key):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(RegistryConfigError) as caught:
        load_registries(path, data_dir=tmp_path)
    assert key in str(caught.value)
    assert str(path.resolve()) in str(caught.value)


def test_registries_file_problems_are_clear(tmp_path, monkeypatch):
    with pytest.raises(RegistryConfigError, match="does not exist"):
        load_registries(tmp_path / "missing.toml", data_dir=tmp_path)
    (tmp_path / "broken.toml").write_text("[registries\n")
    with pytest.raises(RegistryConfigError, match="not valid TOML"):
        load_registries(tmp_path / "broken.toml", data_dir=tmp_path)
    regs = parse_registries(
        {
            "registries": {
                "r": {
                    "tlds": ["uk", "co.uk"],
                    "host": "epp.example",
                    "client_id": "c",
                    "password_env": "INTERLINK_TEST_UNSET_PW",
                    "ca_file": "certs/ca.pem",
                    "contacts": {"admin": "prohibited"},
                }
            },
            "tlds": {"uk": {"contacts": {"tech": "prohibited"}}},
        },
        path=tmp_path / "conf.toml",
    )
    assert regs.contact_policy("uk")["tech"] == "prohibited"
    assert regs.contact_policy("uk")["admin"] == "prohibited"
    assert regs.contact_policy("co.uk")["tech"] == "optional"
    assert regs.registry_for("uk").ca_file == tmp_path / "certs" / "ca.pem"
    monkeypatch.delenv("INTERLINK_TEST_UNSET_PW", raising=False)
    with pytest.raises(RegistryConfigError, match="INTERLINK_TEST_UNSET_PW"):
        regs.registry_for("uk").password()
