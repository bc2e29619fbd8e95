"""Privacy on PostgreSQL with two server processes (`interlink serve --processes 2`): a consent
given or withdrawn in the store shows in the next answers of both processes, WHOIS and RDAP,
whether an answer is built, read from the answers rendered ahead, or held in a process's memory
(publishers/answer_notices.py). Every query opens a new connection, which SO_REUSEPORT hands to
either process by its source port, so each round's queries reach both."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from domains.settings import Settings
from domains.store import Store
from tests.support.factories import account_data, contact_data
from tests.support.postgres import BACKENDS
from tests.support.rdds import Server, ask, poll, serve_env, start_server
from tui.commands.serve_processes import has_reuse_port

pytestmark = [
    pytest.mark.skipif(not has_reuse_port(), reason="SO_REUSEPORT is Linux's"),
    pytest.mark.parametrize("store_url", [BACKENDS[1]], indirect=True),
]

NAME = "Margarethe Quist"
DOMAIN = "kite-makers.com"
QUERIES = 12  # per service and check: each process gets some (else 2 ** -11 per check)
ROUNDS = 6
CONSENT = {"consent_at": "2026-01-02T03:04:05Z", "consent_method": "portal"}


@pytest.fixture
def handle(store: Store) -> str:
    account = store.create_account("staff:test", account_data())
    registrant = store.create_contact(
        "staff:test",
        contact_data(name=NAME, consent_fields=["name", "email"], **CONSENT),
        account_number=account.number,
    )
    store.create_domain(
        "staff:test",
        {"name": DOMAIN},
        account_number=account.number,
        contacts={"registrant": registrant.handle},
    )
    return registrant.handle


@pytest.fixture
def server(settings: Settings, handle: str, tmp_path: Path) -> Iterator[Server]:
    command = [
        *("-m", "tui.cli", "serve", "--processes", "2", "--no-portal"),
        *("--whois-port", "0", "--http-port", "0", "--db", settings.database_url),
    ]
    env = serve_env(tmp_path, INTERLINK_SERVE__PUBLISH_INTERVAL="0.05")
    running = start_server([sys.executable, *command], env)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(10)


def set_consent(store: Store, handle: str, given: bool) -> None:
    contact = store.get_contact(handle)
    changes = {"consent_fields": ["name", "email"], **CONSENT} if given else {"consent_fields": []}
    store.update_contact("staff:test", handle, contact.version, changes)


def rendered_ahead(store: Store) -> bool:
    with store.engine.connect() as connection:
        return bool(
            connection.execute(
                text("SELECT count(*) FROM published_answer WHERE name = :n AND render_key <> ''"),
                {"n": DOMAIN},
            ).scalar_one()
        )


def check(server: Server, shown: bool, round_: int) -> None:
    """QUERIES answers of each service, each on a new connection, all as the store says."""
    for _ in range(QUERIES):
        whois = ask(server.whois_port, f"{DOMAIN}\r\n".encode()).decode()
        assert whois.startswith(f"Domain Name: {DOMAIN.upper()}"), whois[:200]
        assert (NAME in whois) is shown, f"round {round_}: WHOIS shows the consent of before"
        response = httpx.get(
            f"http://127.0.0.1:{server.http_port}/rdap/domain/{DOMAIN}",
            headers={"Connection": "close"},
            timeout=10,
        )
        assert response.status_code == 200
        assert (NAME in response.text) is shown, f"round {round_}: RDAP shows the old consent"


@pytest.mark.slow
def test_consent_changes_show_in_both_processes_next_answers(
    store: Store, handle: str, server: Server
) -> None:
    check(server, True, 0)
    for round_ in range(1, ROUNDS + 1):
        shown = round_ % 2 == 0
        set_consent(store, handle, shown)
        check(server, shown, round_)  # at once: built, as nothing is rendered ahead yet
        poll(lambda: rendered_ahead(store), 30, "the answer rendered ahead again")
        check(server, shown, round_)  # read from the answers rendered ahead, then kept
        check(server, shown, round_)  # from each process's memory, after a barrier
