"""The control panel in Chromium against `interlink serve`'s services: consent, opt-out, download.

The portal, WHOIS and RDAP run as `interlink serve` runs them (tui.commands.serve.Services) on
loopback over one SQLite store; the browser is Debian's Chromium, headless, through Playwright.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domains.mailer import FolderMailer
from domains.models import Contact
from domains.settings import Settings
from domains.store import Store
from tests.support.factories import account_data, contact_data
from tests.support.panel import sign_in_browser
from tests.support.rdds import query, rdds_settings
from tests.support.staff import seed_staff
from tui.commands.serve import Services

pytestmark = pytest.mark.slow


@dataclass
class Holder:
    number: str
    registrant: Contact
    domain: str


def holder(store: Store, tag: str, domain: str) -> Holder:
    account = store.create_account(
        "staff:test", account_data(email=f"holder.{tag}@example.com", name=f"Holder {tag}")
    )
    registrant = store.create_contact(
        "staff:test",
        contact_data(name=f"Rita {tag.title()}", email=f"rita.{tag}@example.org"),
        account_number=account.number,
    )
    store.create_domain(
        "staff:test",
        {"name": domain},
        account_number=account.number,
        contacts={"registrant": registrant.handle},
    )
    return Holder(account.number, registrant, domain)


@dataclass
class Site:
    services: Services
    store: Store
    ours: Holder
    theirs: Holder

    @property
    def url(self) -> str:
        return self.services.http_url

    def whois(self, name: str) -> str:
        """The real WHOIS service's answer (RFC 3912 over TCP)."""
        return query(self.services.whois_port, name)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """WHOIS, RDAP and the portal as `interlink serve` runs them, over a SQLite store."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'panel.db'}",
        data_dir=tmp_path / "data",
        portal_base_url="http://127.0.0.1",
    )
    store = Store.open(settings=settings)
    seed_staff(store)
    ours = holder(store, "browser", "panel-browser.com")
    theirs = holder(store, "stranger", "stranger-browser.net")
    services = Services(
        store,
        rdds_settings(settings),
        whois_port=0,
        http_port=0,
        mailer=FolderMailer(tmp_path / "outbox"),
    ).start()
    try:
        yield Site(services, store, ours, theirs)
    finally:
        services.stop()
        store.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (its own cookies) at a phone's width."""
    made = browser.new_context(viewport={"width": 360, "height": 740}, accept_downloads=True)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def expected_errors() -> list[str]:
    """Console errors a test expects (their start), such as the load of a 404 page."""
    return []


@pytest.fixture
def tab(context: Any, expected_errors: list[str]) -> Iterator[Any]:
    """A page of the context that fails the test on any other console error (CSP included)."""
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    opened.set_default_timeout(10_000)
    yield opened
    unexpected = [e for e in errors if not any(e.startswith(x) for x in expected_errors)]
    assert not unexpected, f"the browser reported errors: {unexpected}"


def fits_the_screen(tab: Any) -> bool:
    return tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_consent_preview_save_opt_out_and_download_in_chromium(
    site: Site, context: Any, tab: Any
) -> None:
    ours, theirs = site.ours, site.theirs
    before = site.whois(ours.domain)
    assert "Registrant Name: REDACTED FOR PRIVACY" in before
    assert "rita.browser@example.org" not in before

    sign_in_browser(context, site.url, site.store, ours.number)
    tab.goto(f"{site.url}/account")
    tab.get_by_role("heading", name=f"Your account {ours.number}").wait_for()
    domains = tab.locator("#domains")
    assert "panel-browser.com" in domains.inner_text()
    assert "stranger-browser" not in tab.locator("main").inner_text()
    summary = tab.locator(f"#contact-{ours.registrant.handle}").inner_text()
    assert "Public (registrant): State/province Berlin; Country DE." in summary
    assert fits_the_screen(tab)

    # The contact: every field beside WHOIS and RDAP; tick two consents and preview.
    tab.get_by_role("link", name="Rita Browser").first.click()
    tab.get_by_role("heading", name="Rita Browser").wait_for()
    name_row = tab.locator("#field-name").inner_text()
    assert "Rita Browser" in name_row and "REDACTED FOR PRIVACY" in name_row
    assert "Registrant Name: REDACTED FOR PRIVACY" in tab.locator("#public-whois").inner_text()
    assert fits_the_screen(tab)
    tab.get_by_label("Publish the contact name").check()
    tab.get_by_label("Publish the e-mail address").check()
    tab.get_by_role("button", name="Preview").click()
    tab.get_by_role("heading", name="Preview: nothing is saved yet").wait_for()
    assert tab.evaluate("window.scrollY") > 0  # the page opens at the preview (#preview)
    heading = tab.get_by_role("heading", name="Preview: nothing is saved yet").bounding_box()
    assert heading is not None and 0 <= heading["y"] < 740
    after = tab.locator("#preview-after").inner_text()
    assert "Registrant Name: Rita Browser" in after
    assert "Registrant Email: rita.browser@example.org" in after
    assert "Registrant Name: REDACTED FOR PRIVACY" in tab.locator("#preview-before").inner_text()
    assert "It would publish: Name, E-mail." in tab.locator("#preview").inner_text()
    assert "Registrant Name: REDACTED FOR PRIVACY" in site.whois(ours.domain)  # not saved
    assert fits_the_screen(tab)

    # Save: the real WHOIS service answers with the new consent at once.
    assert tab.get_by_label("Publish the contact name").is_checked()
    tab.get_by_role("button", name="Save").click()
    tab.get_by_text("Saved. The public WHOIS and RDAP answers show your choice").wait_for()
    answer = site.whois(ours.domain)
    assert "Registrant Name: Rita Browser" in answer
    assert "Registrant Email: rita.browser@example.org" in answer
    assert "Registrant Street: REDACTED FOR PRIVACY" in answer
    assert "Registrant Name: Rita Browser" in tab.locator("#public-whois").inner_text()
    contact = site.store.get_contact(ours.registrant.handle)
    assert contact.consent_fields == ["name", "email"] and contact.consent_method == "portal"
    assert "Registrant Name: REDACTED FOR PRIVACY" in site.whois(theirs.domain)

    # Marketing: opt out beside the policy on essential mail.
    tab.get_by_role("link", name="Your account").first.click()
    tab.get_by_role("heading", name=f"Your account {ours.number}").wait_for()
    policy = tab.locator("#essential-mail").inner_text()
    assert "essential for maintaining or updating your account" in policy
    tab.get_by_role("button", name="Stop marketing mail").click()
    tab.get_by_text("You will no longer receive marketing mail from Interlink.").wait_for()
    account = site.store.get_account(ours.number)
    assert account.marketing_opt_out_at is not None
    assert account.marketing_opt_out_via == "control panel"
    assert tab.get_by_role("button", name="Receive marketing mail again").is_visible()

    # Download: a JSON file of this account, and nothing of the other.
    with tab.expect_download() as started:
        tab.get_by_role("link", name="Download my data").click()
    download = started.value
    assert re.fullmatch(
        rf"interlink-account-{re.escape(ours.number)}-\d{{4}}-\d\d-\d\d\.json",
        download.suggested_filename,
    )
    text = Path(download.path()).read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["account"]["number"] == ours.number
    assert data["account"]["marketing_opt_out_via"] == "control panel"
    assert [c["handle"] for c in data["contacts"]] == [ours.registrant.handle]
    assert data["contacts"][0]["consent_fields"] == ["name", "email"]
    assert [d["name"] for d in data["domains"]] == [ours.domain]
    mine = [c for c in data["changes"] if c["by"] == "you"]
    assert {c["action"] for c in mine} == {"contact.update", "account.update"}
    for foreign in (theirs.number, theirs.registrant.handle, "rita.stranger", theirs.domain):
        assert foreign not in text, foreign


def test_another_accounts_contact_is_page_not_found_in_chromium(
    site: Site, context: Any, tab: Any, expected_errors: list[str]
) -> None:
    expected_errors.append("Failed to load resource: the server responded with a status of 404")
    sign_in_browser(context, site.url, site.store, site.ours.number)
    answer = tab.goto(f"{site.url}/account/contacts/{site.theirs.registrant.handle}")
    assert answer is not None and answer.status == 404
    tab.get_by_role("heading", name="Page not found").wait_for()
    assert "Rita Stranger" not in tab.content()
