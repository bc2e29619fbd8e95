"""The portal in a real browser: Debian's Chromium, headless, driven by Playwright.

Only the system binary is used (never a downloaded browser). Without /usr/bin/chromium the
tests skip, unless INTERLINK_REQUIRE_ALL=1 (as in CI), where they fail.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from domains.mailer import FolderMailer
from domains.settings import MailSettings, PortalSettings, Settings
from domains.store import Store
from portal.app import create_app
from tests.support.factories import make_domain
from tests.support.portal import FORM, confirm_link, requests_of, serve
from tests.support.staff import seed_staff

pytestmark = pytest.mark.slow


class Site:
    def __init__(self, base_url: str, store: Store, outbox: Path) -> None:
        self.base_url = base_url
        self.store = store
        self.outbox = outbox


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The portal under uvicorn on loopback, mail written to a folder."""
    stores: list[Store] = []
    outbox = tmp_path / "outbox"

    def build(base_url: str) -> FastAPI:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'browser.db'}",
            data_dir=tmp_path / "data",
            portal_base_url=base_url,
            mail=MailSettings(retries=0),
        )
        stores.append(Store.open(settings=settings))
        seed_staff(stores[0])
        return create_app(
            stores[0], mailer=FolderMailer(outbox), config=PortalSettings(secret="browser")
        )

    try:
        with serve(build) as base_url:
            yield Site(base_url, stores[0], outbox)
    finally:
        for store in stores:
            store.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (its own cookies) at a phone's width; fails on console errors.

    A form sent back with errors has status 422, which Chromium logs; that one is expected.
    """
    context = browser.new_context(viewport={"width": 360, "height": 740})
    tab = context.new_page()
    errors: list[str] = []
    expected = "Failed to load resource: the server responded with a status of 422"

    def console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith(expected):
            errors.append(message.text)

    tab.on("console", console)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.set_default_timeout(10_000)
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"the browser reported errors (CSP?): {errors}"


def box(page: Any, label: str) -> Any:
    """The text input whose label starts with `label` (labels may add "(required)")."""
    return page.get_by_role("textbox", name=re.compile("^" + re.escape(label)))


def fill_form(page: Any, domain: str, **overrides: str) -> None:
    values = {**FORM, **overrides}
    box(page, "Domain name").fill(domain)
    for label, key in (
        ("Organisation", "org"),
        ("Contact name", "name"),
        ("E-mail", "email"),
        ("Phone", "voice"),
        ("Street", "street"),
        ("City", "city"),
        ("Postal code", "postal_code"),
        ("Country code", "country"),
    ):
        box(page, label).fill(values[key])
    page.get_by_label("Publish the organisation").check()


def wait_for_mail(outbox: Path, count: int = 1) -> list[Path]:
    """The .eml files, once `count` are there (mail goes out after the answer)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        files = sorted(outbox.glob("*.eml")) if outbox.exists() else []
        if len(files) >= count:
            return files
        time.sleep(0.02)
    raise AssertionError(f"expected {count} mails in {outbox}")


def fits_the_screen(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_fill_submit_and_confirm_in_chromium(site: Site, page: Any) -> None:
    make_domain(site.store, "browser-move.com")
    page.goto(f"{site.base_url}/change")
    assert fits_the_screen(page)
    fill_form(page, "browser-move.com")
    page.get_by_role("button", name="Send the request").click()
    page.get_by_role("heading", name="Request received").wait_for()
    answer = page.get_by_role("status").inner_text()
    assert re.search(
        r"If browser-move\.com is registered with Interlink, we are sending a confirmation link "
        r"to its registrant at \S\*\*\*@\S\*\*\*\.\w+\.",
        " ".join(answer.split()),
    ), answer
    assert fits_the_screen(page)

    (mail_file,) = wait_for_mail(site.outbox)
    mail = email.message_from_bytes(mail_file.read_bytes(), policy=email.policy.default)
    link = confirm_link(mail, site.base_url)  # type: ignore[arg-type]
    page.goto(site.base_url + link)  # as if clicked in the mail program
    page.get_by_role("heading", name="Confirm the change for browser-move.com").wait_for()
    assert requests_of(site.store)[0].state == "submitted"
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("Confirmed; Interlink staff will review it.").wait_for()
    assert requests_of(site.store)[0].state == "confirmed"


def test_a_bad_phone_shows_its_error_beside_the_field(site: Site, page: Any) -> None:
    make_domain(site.store, "browser-typo.com")
    page.goto(f"{site.base_url}/")
    fill_form(page, "browser-typo.com", voice="12345")
    page.get_by_role("button", name="Send the request").click()
    error = page.locator("#error-voice")
    error.wait_for()
    assert "phone number" in error.inner_text() or "valid number" in error.inner_text()
    phone = box(page, "Phone")
    assert phone.input_value() == "12345"  # what was typed is kept
    assert "error-voice" in (phone.get_attribute("aria-describedby") or "")
    assert phone.get_attribute("aria-invalid") == "true"
    # Beside the field: in the same block as its label and input, just above the input.
    same_block = page.locator(".field-bad", has=page.locator("#f-voice"))
    assert same_block.locator("#error-voice").count() == 1
    error_box, input_box = error.bounding_box(), phone.bounding_box()
    assert error_box and input_box and 0 <= input_box["y"] - error_box["y"] < 80
    assert box(page, "Organisation").input_value() == FORM["org"]
    assert page.get_by_label("Publish the organisation").is_checked()
    assert requests_of(site.store) == []
    assert fits_the_screen(page)


def test_a_domain_not_registered_with_interlink_is_said_so_in_chromium(
    site: Site, page: Any
) -> None:
    page.goto(f"{site.base_url}/change")
    fill_form(page, "not-ours-browser.com")
    page.get_by_role("button", name="Send the request").click()
    error = page.locator("#error-domain")
    error.wait_for()
    said = " ".join(error.inner_text().split())
    assert said == (
        "Error: Domain name not-ours-browser.com is not registered with Interlink, so we cannot "
        "change its technical contact here; which registrar holds it is public in RDAP and WHOIS"
    ), said
    summary = page.get_by_role("alert")
    assert "not-ours-browser.com is not registered with Interlink" in summary.inner_text()
    main = page.locator("main").inner_text()
    assert "***" not in main and "Request received" not in main  # no invented address
    domain = box(page, "Domain name")
    assert domain.input_value() == "not-ours-browser.com"  # kept, to correct a typo
    assert domain.get_attribute("aria-invalid") == "true"
    summary.get_by_role("link", name="Domain name").click()
    assert page.evaluate("document.activeElement.id") == "f-domain"
    assert requests_of(site.store) == []
    assert not site.outbox.exists() or not list(site.outbox.glob("*.eml"))
    assert fits_the_screen(page)


def test_the_error_summary_follows_the_order_of_the_form_in_chromium(site: Site, page: Any) -> None:
    make_domain(site.store, "browser-order.com")
    page.goto(f"{site.base_url}/change")
    fill_form(
        page, "browser-order.com", email="nope", voice="phone me maybe", city="", country="ZZ"
    )
    page.get_by_role("button", name="Send the request").click()
    page.locator("#error-country").wait_for()
    summary = page.get_by_role("alert")
    links = [" ".join(t.split()) for t in summary.get_by_role("link").all_inner_texts()]
    assert links == ["E-mail", "Phone", "City", "Country code"], links
    beside = page.locator("p.error").evaluate_all("nodes => nodes.map(n => n.id)")
    assert beside == ["error-email", "error-voice", "error-city", "error-country"]
    tops = [page.locator(f"#{i}").bounding_box()["y"] for i in beside]
    assert tops == sorted(tops)  # the summary reads in the order the fields stand on the page
    phone = " ".join(page.locator("#error-voice").inner_text().split())
    assert "'phone me maybe' is not a phone number; write it in international form" in phone
    assert "did not seem" not in phone
    assert requests_of(site.store) == []
    assert fits_the_screen(page)
