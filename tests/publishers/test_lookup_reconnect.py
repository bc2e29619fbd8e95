"""Public lookups whose held store connections die under them (PostgreSQL: every backend of
the database terminated; SQLite: the lookups' connections closed) answer every query: the read
is tried once more on a fresh connection. The background publisher keeps publishing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from domains.settings import Settings
from domains.store import Store
from publishers.published import count_answers
from tests.support.factories import make_domain
from tests.support.rdap_schema import rdap_answer
from tests.support.rdds import query, rdds_settings
from tui.commands.serve import Services

DOMAINS = 36
ROUNDS = 3
TERMINATE = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.fixture
def names(store: Store) -> list[str]:
    return [make_domain(store, f"reconnect{i}.com")[0].name for i in range(DOMAINS)]


@pytest.fixture
def running(store: Store, settings: Settings, names: list[str]) -> Iterator[Services]:
    live = rdds_settings(settings, publish_interval=0.1)
    services = Services(store, live, whois_port=0, http_port=0, portal=False).start()
    try:
        yield services
    finally:
        services.stop()


def drop_connections(store: Store, services: Services) -> int:
    """Kill the store connections the lookups hold; how many went."""
    if not store.is_sqlite:
        admin = create_engine(store.engine.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with admin.connect() as connection:
                return connection.execute(TERMINATE).scalar_one()
        finally:
            admin.dispose()
    closed = 0
    for lookup in services._lookups:
        for held in list(lookup.reader._connections):
            held.driver_connection.close()  # the raw SQLite connection, gone under the lookup
            closed += 1
    return closed


def rdap(services: Services, name: str) -> httpx.Response:
    with httpx.Client(base_url=services.rdap_url, timeout=10) as client:
        return client.get(f"domain/{name}")


def assert_answers(services: Services, names: list[str]) -> None:
    """Every name answered by both services (no 503, no "temporarily unavailable")."""
    problems: list[str] = []
    for name in names:
        answer = query(services.whois_port, name)
        if not answer.startswith(f"Domain Name: {name.upper()}"):
            problems.append(f"WHOIS {name}: {answer.splitlines()[:1]}")
        response = rdap(services, name)
        if response.status_code != 200 or rdap_answer(response.content).get("ldhName") != name:
            problems.append(f"RDAP {name}: {response.status_code} {response.text[:120]}")
    assert not problems, problems


def wait_for(condition: Any, what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_lookups_answer_after_their_connections_die(
    store: Store, running: Services, names: list[str]
) -> None:
    publisher = running.publisher
    assert publisher is not None
    # Every answer rendered ahead, then the lookups' connections opened by a first round.
    wait_for(lambda: count_answers(store, running.publication) == (DOMAINS, DOMAINS), "publishing")
    assert_answers(running, names[:4])
    per_round = (DOMAINS - 4) // ROUNDS
    for round_ in range(ROUNDS):
        assert drop_connections(store, running) > 0
        # Names not asked before first (nothing cached: the store is read), then known ones.
        fresh = names[4 + round_ * per_round : 4 + (round_ + 1) * per_round]
        assert_answers(running, fresh + names[:4])

    # The publisher went through the same: it still runs, and publishes what changes now.
    passes = publisher.passes
    drop_connections(store, running)
    registrant = store.domain_record(names[0]).contact("registrant")
    store.update_contact("staff:test", registrant.handle, registrant.version, {"city": "Tromsoe"})
    wait_for(lambda: publisher.passes > passes, "a publishing pass")
    wait_for(lambda: count_answers(store, running.publication) == (DOMAINS, DOMAINS), "publishing")
    assert publisher._thread.is_alive()
    assert_answers(running, names[:2])
