"""The public servers read answers on a streaming replica (serve.read_database_url) while writes,
publishing and notices stay on the primary: a real primary and hot standby (tests/support/
replica.py); a change on the primary shows in the next answer, and a replica whose replay is
paused is bypassed (the batch is read on the primary) until it has caught up again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from domains.settings import Settings, get_settings
from domains.store import Store
from publishers.answer_reads import AnswerReads
from publishers.published import count_answers
from tests.support.factories import account_data, contact_data
from tests.support.rdds import poll, query, rdds_settings
from tests.support.replica import ReplicaPair, need_replica, replica_pair
from tui.commands.serve import Services

NAME = "Margarethe Quist"
DOMAINS = ("kite-makers.com", "kite-flyers.net", "kite-tails.org")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicaPair]:
    """A private primary and its hot standby, built once for the module (seconds)."""
    need_replica()
    with replica_pair(tmp_path_factory.mktemp("replica-store")) as built:
        yield built


@pytest.fixture
def primary_store(pair: ReplicaPair, tmp_path: Path) -> Iterator[Store]:
    """A fresh migrated store on the primary (its copy replayed on the standby)."""
    database = pair.new_database()
    settings = Settings(database_url=pair.primary.url(database), data_dir=tmp_path / "data")
    opened = Store.open(settings=settings)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def handle(primary_store: Store) -> str:
    """DOMAINS, whose registrant agreed to show her name; her handle."""
    store = primary_store
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
    for domain in DOMAINS:
        store.create_domain(
            "staff:test",
            {"name": domain},
            account_number=account.number,
            contacts={"registrant": registrant.handle},
        )
    return registrant.handle


def standby_url(pair: ReplicaPair, store: Store) -> str:
    database = store.engine.url.database
    assert database
    return pair.standby.url(database)


@pytest.fixture
def served(pair: ReplicaPair, primary_store: Store, handle: str) -> Iterator[Services]:
    """WHOIS + RDAP over the primary's store, reading answers on the standby."""
    live = rdds_settings(
        primary_store.settings,
        publish_interval=0.05,
        read_database_url=standby_url(pair, primary_store),
        lookup_pool_size=2,
    )
    services = Services(primary_store, live, whois_port=0, http_port=0, portal=False).start()
    try:
        yield services
    finally:
        services.stop()


def set_consent(store: Store, handle: str, fields: list[str]) -> None:
    contact = store.get_contact(handle)
    given = {"consent_at": "2026-01-02T03:04:05Z", "consent_method": "portal"} if fields else {}
    store.update_contact("staff:test", handle, contact.version, {"consent_fields": fields, **given})


def shown(services: Services, client: httpx.Client, domain: str) -> tuple[bool, bool]:
    """Whether WHOIS and RDAP show the registrant's name for `domain`."""
    whois = query(services.whois_port, domain)
    rdap = client.get(f"domain/{domain}")
    assert rdap.status_code == 200 and whois.startswith(f"Domain Name: {domain.upper()}")
    assert f'"ldhName":"{domain}"' in rdap.text
    return NAME in whois, NAME in rdap.text


def reads_of(services: Services) -> AnswerReads:
    assert services.reads is not None
    return services.reads


def published(store: Store, services: Services) -> None:
    """Wait until the publisher has rendered every domain's answers ahead again (a first pass
    can take seconds on a busy machine)."""
    every = len(DOMAINS)
    poll(
        lambda: count_answers(store, services.publication) == (every, every),
        timeout=30,
        what="publishing",
    )


def all_shown(services: Services, client: httpx.Client, expected: bool) -> None:
    for domain in DOMAINS:
        assert shown(services, client, domain) == (expected, expected), domain


def test_answers_are_read_on_the_replica(
    pair: ReplicaPair, primary_store: Store, served: Services
) -> None:
    reads = reads_of(served)
    published(primary_store, served)
    pair.wait_replayed()
    with httpx.Client(base_url=served.rdap_url, timeout=10) as client:
        all_shown(served, client, True)
        all_shown(served, client, True)  # again: from memory, after a barrier
    assert reads.stats["replica"] > 0, reads.stats
    assert reads.notices.with_position  # the barrier on the primary gives its WAL position


def test_a_standby_cannot_listen_so_notices_need_the_primary(
    pair: ReplicaPair, primary_store: Store
) -> None:
    """Why the servers always need the primary's URL too: no LISTEN during recovery."""
    database = str(primary_store.engine.url.database)
    with (
        psycopg.connect(pair.standby.libpq(database)) as conn,
        pytest.raises(psycopg.Error, match="LISTEN"),
    ):
        conn.execute("LISTEN interlink_answers")


def test_a_change_on_the_primary_shows_in_the_next_answers_of_both_services(
    pair: ReplicaPair, primary_store: Store, handle: str, served: Services
) -> None:
    """Consent withdrawn and given again while the publisher renders ahead and the standby
    replays: each answer after a commit on the primary shows exactly what it holds."""
    reads = reads_of(served)
    with httpx.Client(base_url=served.rdap_url, timeout=10) as client:
        for round_ in range(6):
            consent = round_ % 2 == 1
            set_consent(primary_store, handle, ["name", "email"] if consent else [])
            # At once (on the replica or not yet), then rendered ahead and replayed.
            assert shown(served, client, DOMAINS[0]) == (consent, consent), round_
            published(primary_store, served)
            pair.wait_replayed()
            for _ in range(2):
                all_shown(served, client, consent)
    assert reads.stats["replica"] > 0, reads.stats
    assert reads.notices.stats["notices"] > 0


def test_a_replica_that_lags_is_bypassed_until_it_has_caught_up(
    pair: ReplicaPair, primary_store: Store, handle: str, served: Services
) -> None:
    reads = reads_of(served)
    with httpx.Client(base_url=served.rdap_url, timeout=10) as client:
        published(primary_store, served)
        pair.wait_replayed()
        all_shown(served, client, True)
        pair.pause_replay()
        try:
            set_consent(primary_store, handle, [])
            all_shown(served, client, False)  # the next answers already
            published(primary_store, served)
            behind = reads.stats["replica_behind"]
            # Rendered ahead on the primary, not replayed on the standby: read on the primary.
            assert pair.standby.one("SELECT pg_is_wal_replay_paused()") is True
            all_shown(served, client, False)
            assert reads.stats["replica_behind"] > behind, reads.stats
        finally:
            pair.resume_replay()
        pair.wait_replayed()
        on_replica = reads.stats["replica"]
        set_consent(primary_store, handle, ["name"])
        all_shown(served, client, True)
        published(primary_store, served)
        pair.wait_replayed()
        all_shown(served, client, True)
        assert reads.stats["replica"] > on_replica, reads.stats


def test_the_read_url_comes_from_the_environment(
    pair: ReplicaPair,
    primary_store: Store,
    handle: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`INTERLINK_SERVE__READ_DATABASE_URL` is what the settings, and so the servers, read on."""
    read_url = standby_url(pair, primary_store)
    monkeypatch.setenv("INTERLINK_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv(
        "INTERLINK_DATABASE_URL",
        str(primary_store.engine.url.render_as_string(hide_password=False)),
    )
    monkeypatch.setenv("INTERLINK_DATA_DIR", str(tmp_path / "env-data"))
    monkeypatch.setenv("INTERLINK_SERVE__READ_DATABASE_URL", read_url)
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert settings.serve.read_database_url == read_url
        assert Settings().serve.read_database_url == read_url
        services = Services(primary_store, settings, whois_port=0, http_port=0, portal=False)
        services.start()
        try:
            reads = reads_of(services)
            assert query(services.whois_port, DOMAINS[1]).startswith("Domain Name: ")
            assert reads.stats["replica"] + reads.stats["replica_behind"] > 0, reads.stats
        finally:
            services.stop()
    finally:
        get_settings.cache_clear()  # the next caller reads its own environment again
