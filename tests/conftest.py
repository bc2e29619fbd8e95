"""Shared fixtures: a fresh store on SQLite always, and on PostgreSQL when one is reachable."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from domains.mailer import SmtpMailer
from domains.settings import Settings
from domains.store import Store
from tests.support.browser import launch_chromium
from tests.support.cli import follow_the_terminal
from tests.support.dns import DnsFixture, serve_zones
from tests.support.epp_frames import MARKER, validate_client_frames
from tests.support.mail import SmtpSink
from tests.support.net import free_port
from tests.support.postgres import BACKENDS, POSTGRES_URL, postgres_base, postgres_database
from tests.support.staff import seed_staff, with_staff
from tui.commands.serve_processes import cores


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two pytest-xdist workers for each core this process may run on.

    Most tests spend their time waiting on servers, subprocesses, PostgreSQL and browsers, so
    two per core keep the cores busy (on 2 cores the whole suite ran in 11:18 with four workers
    against 12:56 with two).
    """
    return 2 * cores()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first (keeping their order): each worker starts one early, so the suite
    does not wait at its end for a minute-long test handed out last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def epp_frames_valid(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every frame our EPP client sends in a test is valid against the IETF schemas, or the test
    fails (tests that send invalid frames on purpose are marked invalid_epp_frames)."""
    invalid = validate_client_frames(monkeypatch)
    yield
    if invalid and request.node.get_closest_marker(MARKER) is None:
        pytest.fail(f"our EPP client sent {len(invalid)} invalid frame(s): {invalid[0]}")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from postgres_database()


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Per backend, a migrated store holding the house contact, copied for each test.

    Migrating once and copying is much faster than migrating for every test.
    """
    folder = tmp_path_factory.mktemp("template")
    sqlite_file = folder / "template.db"
    templates = {"sqlite": str(sqlite_file)}
    with_staff(
        Store.open(settings=Settings(database_url=f"sqlite:///{sqlite_file}", data_dir=folder))
    ).close()
    pg_name = None
    if POSTGRES_URL:
        base = postgres_base()
        pg_name = f"interlink_tmpl_{uuid.uuid4().hex[:12]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{pg_name}"'))
        url = base.set(database=pg_name).render_as_string(hide_password=False)
        with_staff(Store.open(settings=Settings(database_url=url, data_dir=folder))).close()
        templates["postgresql"] = pg_name
    yield templates
    if pg_name:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: dict[str, str]
) -> Iterator[str]:
    """A URL of a migrated database that holds only the house contact."""
    if request.param == "sqlite":
        target = tmp_path / "store.db"
        shutil.copyfile(migrated_templates["sqlite"], target)
        yield f"sqlite:///{target}"
    else:
        yield from postgres_database(template=migrated_templates["postgresql"])


@pytest.fixture
def settings(store_url: str, tmp_path: Path) -> Settings:
    """Settings for a test: its own (migrated) database and data directory."""
    return Settings(database_url=store_url, data_dir=tmp_path / "data")


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """A migrated store holding only the house contact (and the test staff)."""
    opened = Store.open(settings=settings)
    seed_staff(opened)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def pg_store(tmp_path: Path, migrated_templates: dict[str, str]) -> Iterator[Store]:
    """A migrated PostgreSQL store, for tests about PostgreSQL itself (skip them without one)."""
    for url in postgres_database(template=migrated_templates["postgresql"]):
        opened = Store.open(settings=Settings(database_url=url, data_dir=tmp_path / "data"))
        try:
            yield opened
        finally:
            opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store, for tests that need only one backend."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'one.db'}", data_dir=tmp_path / "d")
    opened = Store.open(settings=settings)
    seed_staff(opened)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpMailer, SmtpSink]]:
    """A real SMTP server on loopback and a mailer pointed at it."""
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpMailer("127.0.0.1", controller.port, starttls=False, timeout=5), sink
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from the system, or a skip (a failure when everything is required)."""
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def dns_server() -> Iterator[DnsFixture]:
    """A DNS server on 127.0.0.1, UDP and TCP on the same random free port."""
    with serve_zones() as server:
        yield server


@pytest.fixture(autouse=True)
def _consoles_follow_the_terminal() -> None:
    """Each test's CliRunner decides the width of the commands' output, whatever ran before."""
    follow_the_terminal()
