"""A customer signs in by the mailed link and corrects a contact in Chromium (headless, Playwright).

The portal runs under uvicorn on loopback; its mail goes over SMTP to aiosmtpd, and the link in
that mail is followed in the same browser. Without /usr/bin/chromium the test skips, unless
INTERLINK_REQUIRE_ALL=1 (as in CI), where it fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from domains.mailer import SmtpMailer
from domains.settings import MailSettings, PortalSettings, Settings
from domains.store import Store
from portal.app import create_app
from tests.support.factories import account_data, contact_data
from tests.support.mail import SignallingSink
from tests.support.net import free_port
from tests.support.panel import sign_in_browser
from tests.support.portal import serve
from tests.support.staff import seed_staff

pytestmark = pytest.mark.slow


@dataclass
class Site:
    base_url: str
    store: Store
    sink: SignallingSink


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The portal under uvicorn on loopback, its mail sent to aiosmtpd."""
    sink = SignallingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    stores: list[Store] = []

    def build(base_url: str) -> FastAPI:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'browser.db'}",
            data_dir=tmp_path / "data",
            portal_base_url=base_url,
            mail=MailSettings(retries=0),
        )
        stores.append(Store.open(settings=settings))
        seed_staff(stores[0])
        mailer = SmtpMailer("127.0.0.1", controller.port, starttls=False, timeout=5)
        return create_app(stores[0], mailer=mailer, config=PortalSettings(secret="browser"))

    try:
        with serve(build) as base_url:
            yield Site(base_url, stores[0], sink)
    finally:
        controller.stop()
        for store in stores:
            store.close()


def box(page: Any, label: str) -> Any:
    """The text input labelled `label` (labels may add "(required)")."""
    return page.get_by_role(
        "textbox", name=re.compile("^" + re.escape(label) + r"( \(required\))?$")
    )


def fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_correct_a_contact_then_verify_the_new_address_in_chromium(
    site: Site, browser: Any
) -> None:
    store = site.store
    account = store.create_account("staff:test", account_data())
    contact = store.create_contact("staff:test", contact_data(), account_number=account.number)
    context = browser.new_context(viewport={"width": 360, "height": 740})
    sign_in_browser(context, site.base_url, store, account.number)
    page = context.new_page()
    errors: list[str] = []
    expected = "Failed to load resource: the server responded with a status of 422"

    def console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith(expected):
            errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{site.base_url}/account/contacts/{contact.handle}/edit")
        page.get_by_role("heading", name=f"Correct contact {contact.handle}").wait_for()
        assert fits_the_screen(page)
        box(page, "City").fill("Potsdam")
        box(page, "Phone").fill("call me")
        page.get_by_role("button", name="Save").click()
        page.get_by_role("heading", name="Please correct 1 field").wait_for()
        assert page.locator("#error-voice").is_visible()
        assert box(page, "City").input_value() == "Potsdam"  # what was typed is kept
        assert store.get_contact(contact.handle).city == "Berlin"

        box(page, "Phone").fill("+49 331 977 0")
        box(page, "E-mail").fill("browser.person@example.com")
        page.get_by_role("button", name="Save").click()
        page.get_by_role("heading", name=f"Contact {contact.handle} saved").wait_for()
        page.get_by_text("Waiting for e-mail verification").wait_for()
        saved = store.get_contact(contact.handle)
        assert (saved.city, saved.voice, saved.email) == ("Potsdam", "+49.3319770", contact.email)

        mail = site.sink.wait_for("browser.person@example.com")[0].message
        body = mail.get_body(("plain",))
        assert body is not None
        link = re.search(
            re.escape(site.base_url) + r"/verify-email/[A-Za-z0-9_-]+", body.get_content()
        )
        assert link, "the mail has no verification link"
        page.goto(link.group(0))  # as if clicked in the mail program
        page.get_by_role("heading", name="Confirm your new e-mail address").wait_for()
        assert fits_the_screen(page)
        assert store.get_contact(contact.handle).email == contact.email
        page.get_by_role("button", name="Confirm").click()
        page.get_by_role("heading", name="E-mail address confirmed").wait_for()
        assert store.get_contact(contact.handle).email == "browser.person@example.com"
    finally:
        context.close()
    assert not errors, f"the browser reported errors (CSP?): {errors}"


def test_sign_in_by_the_mailed_link_in_chromium(site: Site, browser: Any) -> None:
    """The whole way in: the sign-in form, the mail over SMTP, its page's button, the panel."""
    account = site.store.create_account("staff:test", account_data())
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site.base_url}/account")
    assert page.url.startswith(f"{site.base_url}/signin")  # not signed in: off to sign in
    page.get_by_label("Account number or e-mail address").fill(account.email.upper())
    page.get_by_role("button", name="E-mail me a sign-in link").click()
    page.wait_for_url(f"{site.base_url}/signin/sent")
    mail = site.sink.wait_for(account.email)[0].message
    body = mail.get_body(("plain",))
    assert body is not None
    found = re.search(r"https?://\S+/signin/[A-Za-z0-9_-]+", body.get_content())
    assert found, "the mail has no sign-in link"
    page.goto(found.group(0))
    assert "Sign in to account " + account.number in page.inner_text("h1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.base_url}/account")
    assert account.number in page.inner_text("h1")
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["interlink_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    page.goto(found.group(0))  # the link works once
    assert "used already" in page.inner_text("main")
    page.goto(f"{site.base_url}/account")
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.goto(f"{site.base_url}/account")
    assert page.url.startswith(f"{site.base_url}/signin")
    context.close()
