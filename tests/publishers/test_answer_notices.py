"""PostgreSQL's notices keep the public servers' cached answers current (publishers/
answer_notices.py, answer_reads.py): a cached answer is given only after a barrier, so a
withdrawn consent is never served stale; a lost listening connection drops every cached answer;
the reads of many queries go in few round trips."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from domains.settings import Settings
from domains.store import Store
from publishers.answer_notices import CONNECTIONS
from publishers.answer_reader import LookupUnavailable
from publishers.answer_reads import AnswerReads
from publishers.published import count_answers, publish
from publishers.rdap_app import rdap_lookup
from tests.support.environment import REQUIRE_ALL
from tests.support.factories import account_data, contact_data, make_domain
from tests.support.postgres import NO_POSTGRES, POSTGRES_URL
from tests.support.rdds import poll, query, rdds_settings
from tui.commands.serve import Services

pytestmark = pytest.mark.skipif(not POSTGRES_URL and not REQUIRE_ALL, reason=NO_POSTGRES)

NAME = "Margarethe Quist"
DOMAIN = "kite-makers.com"


def url_of(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def consenting(store: Store) -> str:
    """A domain whose registrant agreed to show her name; the registrant's handle."""
    account = store.create_account("staff:test", account_data())
    registrant = store.create_contact(
        "staff:test",
        contact_data(
            name=NAME,
            consent_fields=["name", "email"],
            consent_at="2026-01-02T03:04:05Z",
            consent_method="portal",
        ),
        account_number=account.number,
    )
    store.create_domain(
        "staff:test",
        {"name": DOMAIN},
        account_number=account.number,
        contacts={"registrant": registrant.handle},
    )
    return registrant.handle


def set_consent(store: Store, handle: str, fields: list[str]) -> None:
    contact = store.get_contact(handle)
    given = {"consent_at": "2026-01-02T03:04:05Z", "consent_method": "portal"} if fields else {}
    store.update_contact("staff:test", handle, contact.version, {"consent_fields": fields, **given})


@pytest.fixture
def handle(pg_store: Store) -> str:
    return consenting(pg_store)


@pytest.fixture
async def reads(pg_store: Store) -> AsyncIterator[AnswerReads]:
    opened = AnswerReads(url_of(pg_store), pool_size=2)
    await opened.start()
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_change_drops_the_cached_answer_before_it_is_given_again(
    pg_store: Store, handle: str, reads: AnswerReads
) -> None:
    store = pg_store
    lookup = rdap_lookup(store, store.settings, reads=reads)
    try:
        await asyncio.to_thread(publish, store, lookup.publication)
        first = await lookup.answer_ready(DOMAIN)
        assert first is not None and NAME.encode() in first.body
        assert lookup.stats["read"] == 1
        again = await lookup.answer_ready(DOMAIN)
        assert again is not None and again.body == first.body
        assert lookup.stats["hits"] == 1  # from memory, after a barrier
        # Consent withdrawn (committed) in another connection: the next answer knows it.
        await asyncio.to_thread(set_consent, store, handle, [])
        assert await lookup.answer_ready(DOMAIN) is None  # stale now: not rendered ahead
        assert lookup.stats["noticed"] >= 1 and lookup.noticed.get(DOMAIN) is None
        live = await lookup.answer_async(DOMAIN)
        assert live.body is not None and NAME.encode() not in live.body
    finally:
        lookup.close()


async def test_answers_read_while_a_change_commits_are_not_kept(
    pg_store: Store, handle: str, reads: AnswerReads
) -> None:
    """A notice that comes while a read is under way: what was read is given, not kept."""
    store = pg_store
    lookup = rdap_lookup(store, store.settings, reads=reads)
    try:
        await asyncio.to_thread(publish, store, lookup.publication)
        seq = reads.notices.seq
        await asyncio.to_thread(set_consent, store, handle, [])
        await reads.notices.barrier()
        assert reads.notices.dropped_since(DOMAIN, seq)
        assert not reads.notices.dropped_since(DOMAIN, reads.notices.seq)
    finally:
        lookup.close()


async def test_every_listening_connection_hears_every_change(
    pg_store: Store, handle: str, reads: AnswerReads
) -> None:
    """Rounds take the listening connections in turn; a barrier on any of them holds."""
    notices = reads.notices
    assert len(notices.backend_pids) == CONNECTIONS >= 2
    lookup = rdap_lookup(pg_store, pg_store.settings, reads=reads)
    try:
        for fields in ([], ["name"], [], ["name"]):
            await asyncio.to_thread(publish, pg_store, lookup.publication)
            seq = notices.seq
            await asyncio.to_thread(set_consent, pg_store, handle, fields)
            await notices.barrier()
            assert notices.dropped_since(DOMAIN, seq)
    finally:
        lookup.close()


def waiting_on_a_lock(store: Store, pids: list[int]) -> bool:
    with store.engine.connect() as connection:
        waiting = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        ).scalars()
        return bool(set(waiting) & set(pids))


async def test_a_round_waiting_on_the_database_does_not_hold_up_the_next(
    pg_store: Store, handle: str, reads: AnswerReads
) -> None:
    store = pg_store
    lookup = rdap_lookup(store, store.settings, reads=reads)
    admin = create_engine(url_of(store), poolclass=NullPool)
    try:
        await asyncio.to_thread(publish, store, lookup.publication)
        assert lookup.publication is not None
        key, notices = lookup.publication.key, reads.notices
        with admin.connect() as locker:
            locker.execute(text("LOCK TABLE published_answer IN ACCESS EXCLUSIVE MODE"))
            stuck = asyncio.create_task(notices.read(key, DOMAIN))
            async with asyncio.timeout(10):
                while not await asyncio.to_thread(waiting_on_a_lock, store, notices.backend_pids):
                    await asyncio.sleep(0.01)
                await notices.barrier()  # the next round, on the other connection
            assert not stuck.done()
            locker.rollback()
        async with asyncio.timeout(10):
            assert await stuck is not None
    finally:
        admin.dispose()
        lookup.close()


async def test_closing_tells_a_waiting_read_at_once(pg_store: Store, handle: str) -> None:
    """A read under way when the server stops is told the answer cannot be checked, not left
    waiting for a connection that is gone."""
    store = pg_store
    reads = AnswerReads(url_of(store), pool_size=2)
    await reads.start()
    lookup = rdap_lookup(store, store.settings, reads=reads)
    admin = create_engine(url_of(store), poolclass=NullPool)
    try:
        await asyncio.to_thread(publish, store, lookup.publication)
        assert lookup.publication is not None
        notices = reads.notices
        with admin.connect() as locker:
            locker.execute(text("LOCK TABLE published_answer IN ACCESS EXCLUSIVE MODE"))
            stuck = asyncio.create_task(notices.read(lookup.publication.key, DOMAIN))
            async with asyncio.timeout(10):
                while not await asyncio.to_thread(waiting_on_a_lock, store, notices.backend_pids):
                    await asyncio.sleep(0.01)
                await reads.close()
                with pytest.raises(LookupUnavailable):
                    await stuck
            locker.rollback()
    finally:
        admin.dispose()
        lookup.close()


async def test_many_queries_at_once_are_read_in_few_batches(
    pg_store: Store, reads: AnswerReads
) -> None:
    store = pg_store
    names = [make_domain(store, f"batch{i}.com")[0].name for i in range(60)]
    lookup = rdap_lookup(store, store.settings, reads=reads)
    try:
        await asyncio.to_thread(publish, store, lookup.publication)
        answers = await asyncio.gather(*(lookup.answer_ready(name) for name in names))
        assert all(a is not None and a.name == n for a, n in zip(answers, names, strict=True))
        # Read by the notices' rounds, on their one connection: few round trips for 60 names.
        assert reads.notices.stats["read"] == 60
        assert reads.notices.stats["barriers"] <= 3, reads.notices.stats
        bodies = {a.name: a.body for a in answers if a is not None}
        for name in names[:5]:  # each body is its own domain's
            assert f'"ldhName":"{name}"'.encode() in bodies[name]
    finally:
        lookup.close()


async def test_a_lost_listening_connection_drops_every_cached_answer(
    pg_store: Store, handle: str, reads: AnswerReads
) -> None:
    store = pg_store
    lookup = rdap_lookup(store, store.settings, reads=reads)
    try:
        await asyncio.to_thread(publish, store, lookup.publication)
        assert await lookup.answer_ready(DOMAIN) is not None
        assert lookup.noticed.get(DOMAIN) is not None
        listener_pid = reads.notices.backend_pids[0]  # one of the listening connections
        admin = create_engine(url_of(store), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener_pid})
        admin.dispose()
        await asyncio.to_thread(set_consent, store, handle, [])
        # Whichever connection the next round takes, the cached answer is not given: the live
        # one hears of the change, the lost one fails its round and every cache is dropped.
        answer = await lookup.answer_async(DOMAIN)
        assert answer.body is not None and NAME.encode() not in answer.body
        # A round on the lost connection (the periodic ones take each in turn) finds it gone.
        async with asyncio.timeout(10):
            while not (reads.notices.stats["reconnects"] == 1 and reads.notices.listening):
                await asyncio.sleep(0.02)
        assert listener_pid not in reads.notices.backend_pids
        assert lookup.noticed.get(DOMAIN) is None
        again = await lookup.answer_async(DOMAIN)
        assert again.body is not None and NAME.encode() not in again.body
    finally:
        lookup.close()


# ---------------------------------------------------------------- the servers


@pytest.fixture
def served(pg_store: Store, handle: str) -> Iterator[Services]:
    live = rdds_settings(pg_store.settings, publish_interval=0.05)
    services = Services(pg_store, live, whois_port=0, http_port=0, portal=False).start()
    try:
        yield services
    finally:
        services.stop()


def shown(services: Services, client: httpx.Client) -> tuple[bool, bool]:
    """Whether WHOIS and RDAP show the registrant's name."""
    whois = query(services.whois_port, DOMAIN)
    rdap = client.get(f"domain/{DOMAIN}")
    assert rdap.status_code == 200 and whois.startswith(f"Domain Name: {DOMAIN.upper()}")
    return NAME in whois, NAME in rdap.text


def test_a_withdrawn_consent_shows_in_the_next_answers_of_both_services(
    pg_store: Store, handle: str, served: Services
) -> None:
    """Consent given and withdrawn again and again while the publisher renders ahead: each
    answer after a change shows exactly what the store holds (cached, read or built)."""
    assert served.reads is not None
    with httpx.Client(base_url=served.rdap_url, timeout=10) as client:
        for round_ in range(12):
            consent = round_ % 2 == 1
            set_consent(pg_store, handle, ["name", "email"] if consent else [])
            # At once (rendered ahead yet or not), then rendered ahead: read, then from memory.
            assert shown(served, client) == (consent, consent), round_
            poll(
                lambda: count_answers(pg_store, served.publication) == (1, 1),
                timeout=30,
                what="publishing",
            )
            for _ in range(3):
                assert shown(served, client) == (consent, consent), round_
    assert served.reads.notices.stats["read"] > 0
    stats: dict[str, Any] = {}
    for lookup in served._lookups:
        for key, value in lookup.stats.items():
            stats[key] = stats.get(key, 0) + value
    assert stats["hits"] > 0 and stats["noticed"] > 0, stats


def test_settings_name_the_read_database(tmp_path: Any) -> None:
    """`INTERLINK_SERVE__READ_DATABASE_URL` is the lookups' read URL."""
    settings = Settings(
        database_url="sqlite:///x.db",
        data_dir=tmp_path,
        serve={"read_database_url": "postgresql://reader@127.0.0.1:5433/test"},
    )
    assert settings.serve.read_database_url.endswith(":5433/test")
