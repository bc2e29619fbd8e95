"""Fixtures of the portal tests: settings for the portal, the app over the test store or SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domains.settings import MailSettings, Settings
from domains.store import Store
from tests.support.portal import BASE_URL, Portal, make_portal
from tests.support.staff import seed_staff


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test settings: quick mail retries, a fixed public base URL (overrides the shared one)."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        mail=MailSettings(retries=1, retry_wait=0.01, retry_wait_max=0.02),
        portal_base_url=BASE_URL,
    )


@pytest.fixture
def portal(store: Store, tmp_path: Path) -> Iterator[Portal]:
    """The portal over the test store (SQLite, and PostgreSQL when configured)."""
    made = make_portal(store, tmp_path / "outbox")
    with made.client:
        yield made


@pytest.fixture
def lite_store(tmp_path: Path) -> Iterator[Store]:
    """A SQLite store with the portal's test settings, for tests of HTTP alone."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'lite.db'}",
        data_dir=tmp_path / "lite",
        mail=MailSettings(retries=1, retry_wait=0.01, retry_wait_max=0.02),
        portal_base_url=BASE_URL,
    )
    opened = Store.open(settings=settings)
    seed_staff(opened)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def lite(lite_store: Store, tmp_path: Path) -> Iterator[Portal]:
    """The portal over SQLite only: for what does not depend on the database."""
    made = make_portal(lite_store, tmp_path / "outbox")
    with made.client:
        yield made
