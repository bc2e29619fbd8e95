"""Fixtures of the publisher tests: the seeded RDDS services and the sandbox registry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from domains.settings import Settings
from domains.store import Store
from publishers.sandbox.server import SandboxRegistry
from tests.support.rdds import rdds_settings, seed
from tests.support.sandbox import RecordingSandbox
from tests.support.sync import (
    CLIENT_ID,
    PASSWORD,
    PASSWORD_ENV,
)
from tui.commands.serve import Services


@pytest.fixture
def seeded(store: Store) -> dict[str, Any]:
    """The test store with the RDDS tests' domains; what was written."""
    return seed(store)


@pytest.fixture
def services(store: Store, settings: Settings, seeded: dict[str, Any]) -> Iterator[Services]:
    """WHOIS + RDAP + portal on free loopback ports, over the seeded store."""
    running = Services(store, rdds_settings(settings), whois_port=0, http_port=0).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def seeded_store(sqlite_store: Store) -> Store:
    """Connection handling does not depend on the backend: one SQLite store, seeded."""
    seed(sqlite_store)
    return sqlite_store


@pytest.fixture
def sandbox_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's password in the environment variable the test registries file names."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SandboxRegistry]:
    """The sandbox registry over TLS on the test's event loop, our client id known to it."""
    registry = SandboxRegistry(tmp_path / "sandbox.db", clients={CLIENT_ID: PASSWORD})
    await registry.start()
    try:
        yield registry
    finally:
        await registry.stop()


@pytest.fixture
async def recording_sandbox(tmp_path: Path) -> AsyncIterator[RecordingSandbox]:
    """The sandbox fixture's registry, keeping every frame a client sent it."""
    registry = RecordingSandbox(tmp_path / "sandbox.db", clients={CLIENT_ID: PASSWORD})
    await registry.start()
    try:
        yield registry
    finally:
        await registry.stop()
