"""Screenshots of the control panel for the README, taken in headless Chromium on the demo data.

Every run drives the pages and takes each screenshot (so they can always be taken again); the
files in docs/screenshots/ are written only when INTERLINK_WRITE_SCREENSHOTS=1:

    INTERLINK_WRITE_SCREENSHOTS=1 python -m pytest tests/portal/test_panel_screenshots.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from domains.exchange import import_records
from domains.mailer import FolderMailer
from domains.settings import MailSettings, PortalSettings, Settings
from domains.store import Store
from portal.app import create_app
from tests.support.browser import launch_chromium
from tests.support.environment import DEMO_FILE, REPO
from tests.support.panel import sign_in_browser
from tests.support.portal import serve
from tui.demo_staff import seed_demo_staff

pytestmark = pytest.mark.slow

SHOTS = REPO / "docs" / "screenshots"
WRITE = os.environ.get("INTERLINK_WRITE_SCREENSHOTS") == "1"
PNG = b"\x89PNG\r\n\x1a\n"
ACCOUNT = "A-100044"
CONTACT = "ILC1049"
#: file name -> the page it shows
PAGES = {
    "panel-signin.png": "/signin",
    "panel-overview.png": "/account",
    "panel-contact.png": f"/account/contacts/{CONTACT}",
    "panel-edit.png": f"/account/contacts/{CONTACT}/edit",
}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    """The portal under uvicorn on loopback over the demo data."""
    stores: list[Store] = []

    def build(base_url: str) -> FastAPI:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'panel.db'}",
            data_dir=tmp_path / "data",
            portal_base_url=base_url,
            mail=MailSettings(retries=0),
        )
        store = Store.open(settings=settings)
        stores.append(store)
        seed_demo_staff(store)
        assert import_records(store, DEMO_FILE, actor="system:demo").written
        return create_app(
            store, mailer=FolderMailer(tmp_path / "outbox"), config=PortalSettings(secret="shots")
        )

    try:
        with serve(build) as base_url:
            yield base_url, stores[0]
    finally:
        for store in stores:
            store.close()


def test_the_panel_pages_are_taken(site: tuple[str, Store]) -> None:
    base_url, store = site
    taken: dict[str, bytes] = {}
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1000, "height": 900})
        page = context.new_page()
        page.goto(base_url + PAGES["panel-signin.png"])
        taken["panel-signin.png"] = page.screenshot(full_page=False)
        sign_in_browser(context, base_url, store, ACCOUNT)
        for name in ("panel-overview.png", "panel-contact.png"):
            page.goto(base_url + PAGES[name])
            assert page.locator("h1").count() == 1
            assert "Page not found" not in page.inner_text("main")
            taken[name] = page.screenshot(full_page=False)
        page.goto(base_url + PAGES["panel-edit.png"])
        page.fill("[name=voice]", "call me")
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_selector(".error")
        taken["panel-edit.png"] = page.screenshot(full_page=False)
        context.close()
    assert set(taken) == set(PAGES)
    for name, image in taken.items():
        assert image.startswith(PNG), name
    if WRITE:
        SHOTS.mkdir(parents=True, exist_ok=True)
        for name, image in taken.items():
            (SHOTS / name).write_bytes(image)


def test_the_panel_screenshots_are_in_the_repository() -> None:
    for name in PAGES:
        path = SHOTS / name
        assert path.is_file(), f"{path} is missing: INTERLINK_WRITE_SCREENSHOTS=1 pytest {__file__}"
        assert path.read_bytes().startswith(PNG)
