"""A requestor files a disclosure request with an attachment in Chromium (headless,
Playwright), confirms it by the mailed link, gets the acknowledgement, and later downloads the
partly disclosed document once; the customer is told at once. A request decided with a gag and
a date tells the customer nothing until that date, then once (a fixed clock: no waiting).

The portal runs under uvicorn on loopback and mails over SMTP to aiosmtpd. Without
/usr/bin/chromium the test skips, unless INTERLINK_REQUIRE_ALL=1 (as in CI), where it fails.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from domains.contact_corrections import deliver
from domains.disclosure_decisions import DisclosureDecisions
from domains.disclosures import Disclosures
from domains.mailer import SmtpMailer
from domains.models import utcnow
from domains.settings import MailSettings, PortalSettings, Settings
from domains.store import Store
from domains.vocabulary import DisclosureChannel, DisclosureOutcome, DisclosureState, GagReason
from portal.app import create_app
from portal.links import PortalLinks
from publishers.disclosure_document import public_key, verify_document
from tests.support.disclosures import PDF, customer_domain, form
from tests.support.mail import SignallingSink
from tests.support.net import free_port
from tests.support.portal import serve
from tests.support.staff import seed_staff

pytestmark = pytest.mark.slow

DOMAIN = "harbour-kites.com"
REQUESTOR = "m.voss@police.example"
MARKUP = '<img src=x onerror="document.title=1"><b>Voss</b>'


@dataclass
class Site:
    base_url: str
    store: Store
    sink: SignallingSink
    mailer: SmtpMailer


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The portal under uvicorn on loopback, its mail sent to aiosmtpd."""
    sink = SignallingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    stores: list[Store] = []
    mailer = SmtpMailer("127.0.0.1", controller.port, starttls=False, timeout=5)

    def build(base_url: str) -> FastAPI:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'browser.db'}",
            data_dir=tmp_path / "data",
            portal_base_url=base_url,
            mail=MailSettings(retries=0),
        )
        stores.append(Store.open(settings=settings))
        seed_staff(stores[0])
        return create_app(stores[0], mailer=mailer, config=PortalSettings(secret="browser"))

    try:
        with serve(build) as base_url:
            yield Site(base_url, stores[0], sink, mailer)
    finally:
        controller.stop()
        for store in stores:
            store.close()


def link_in(received: Any, base_url: str, path: str) -> str:
    body = received.message.get_body(("plain",))
    assert body is not None
    found = re.search(re.escape(base_url + path) + r"/[A-Za-z0-9_-]+", body.get_content())
    assert found, f"the mail has no {path} link"
    return found.group(0)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def customer_notices(site: Site, address: str) -> list[EmailMessage]:
    """What the SMTP server received for `address` so far (delivery is synchronous: once
    `deliver` returned, every message it sent is there)."""
    return [received.message for received in site.sink.to(address)]


def fill_request(page: Any, pdf: Path) -> None:
    page.get_by_label("Your name").fill(MARKUP)
    page.get_by_label("Organisation", exact=True).fill("Landeskriminalamt")
    page.get_by_label("E-mail address").fill(REQUESTOR)
    page.get_by_label("Jurisdiction").fill("DE")
    page.get_by_label("You are").select_option("law enforcement")
    page.get_by_label("Domain names").fill(f"<b>{DOMAIN}</b>")  # refused, and shown escaped
    page.get_by_label("Registrant name", exact=True).check()
    page.get_by_label("Registrant e-mail", exact=True).check()
    page.get_by_label("Valid legal process").check()
    page.get_by_label("Legal basis").fill("Production order under the Code of Criminal Procedure")
    page.get_by_label("Reference", exact=True).fill("AZ 12 Js 345/26")
    page.get_by_label("Attachments").set_input_files(str(pdf))


def test_file_confirm_and_download_a_disclosure_in_chromium(
    site: Site, browser: Any, tmp_path: Path
) -> None:
    store = site.store
    customer = customer_domain(store, DOMAIN)
    pdf = tmp_path / "order.pdf"
    pdf.write_bytes(PDF)
    context = browser.new_context(viewport={"width": 390, "height": 800}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    expected = "Failed to load resource: the server responded with a status of 4"

    def console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith(expected):
            errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(10_000)
    try:
        page.goto(site.base_url)
        page.get_by_role("link", name="Request non-public registration data").click()
        page.get_by_role("heading", name="Request non-public registration data").wait_for()
        fill_request(page, pdf)
        page.get_by_role("button", name="Send the request").click()
        page.get_by_role("heading", name="Please correct 1 field").wait_for()
        assert page.locator("main img, main b").count() == 0  # markup stays text
        assert page.get_by_label("Your name").input_value() == MARKUP  # kept as typed
        assert page.title() != "1"
        page.get_by_label("Domain names").fill(DOMAIN)
        page.get_by_label("Attachments").set_input_files(str(pdf))  # files are not kept
        page.get_by_role("button", name="Send the request").click()
        page.get_by_role("heading", name="Please confirm your e-mail address").wait_for()

        [verify_mail] = site.sink.wait_for(REQUESTOR)
        verify = link_in(verify_mail, site.base_url, "/disclosure-requests/verify")
        page.goto(verify)  # as if clicked in the mail program
        page.get_by_role("heading", name="Confirm your request for registration data").wait_for()
        page.get_by_role("button", name="Confirm").click()
        page.get_by_role("heading", name="Request confirmed").wait_for()
        acknowledgement = site.sink.wait_for(REQUESTOR, count=2)[1].message
        reference = re.search(r"DR-[A-Z0-9]{5}-[A-Z0-9]{5}", page.inner_text("main"))
        assert reference and reference.group(0) in str(acknowledgement["Subject"])
        view = Disclosures(store).get(reference.group(0))
        assert view.state == DisclosureState.ACKNOWLEDGED
        assert view.requestor_name == MARKUP
        [attachment] = view.attachments
        assert (attachment.filename, attachment.size) == ("order.pdf", len(PDF))

        Disclosures(store).review("staff:pia", view.reference)
        decided = DisclosureDecisions(store, PortalLinks(store.settings)).decide(
            "staff:pia",
            view.reference,
            DisclosureOutcome.PARTLY_DISCLOSED,
            explanation="The order covers the registrant's e-mail only.",
            approved=(f"{DOMAIN} registrant email",),
        )
        links = PortalLinks(store.settings)
        deliver(store, decided.notice_ids, decided.contexts, mailer=site.mailer, links=links)
        ready = site.sink.wait_for(REQUESTOR, count=3)[2]
        told = customer_notices(site, customer["registrant"].email)  # told at once: no gag
        assert [str(m["Subject"]) for m in told] == [
            f"We disclosed some of your registration data ({view.reference})"
        ]
        assert f"{DOMAIN}, registrant: E-mail" in text_of(told[0])
        assert customer["registrant"].email not in text_of(told[0])  # names, never values
        assert REQUESTOR not in text_of(told[0])
        assert customer_notices(site, customer["admin"].email) == []  # nothing of theirs went
        download = link_in(ready, site.base_url, "/disclosure-requests/download")
        page.goto(download)
        page.get_by_role("heading", name="Download the disclosed data").wait_for()
        with page.expect_download() as started:
            page.get_by_role("button", name="Download").click()
        assert started.value.suggested_filename == f"disclosure-{view.reference}.zip"
        with zipfile.ZipFile(Path(started.value.path())) as bundle:
            signed = bundle.read(f"disclosure-{view.reference}.json")
            text = bundle.read(f"disclosure-{view.reference}.txt").decode()
        payload = verify_document(signed, public_key(store.settings))
        assert hashlib.sha256(signed).hexdigest() in text
        [domain] = payload["domains"]
        assert [(f["role"], f["field"]) for f in domain["fields"]] == [("registrant", "email")]

        page.goto(download)  # a second time: refused in words, with no button
        page.get_by_role("heading", name="This link cannot be used").wait_for()
        assert page.get_by_role("button", name="Download").count() == 0
        assert "already been used" in page.inner_text("main")
    finally:
        context.close()
    assert not errors, f"the browser reported errors (CSP?): {errors}"


GAGGED = "quiet-harbour.org"
INVESTIGATOR = "k.brandt@bka.example"


def test_a_gag_holds_the_customer_notice_until_its_date_in_chromium(
    site: Site, browser: Any
) -> None:
    store, links = site.store, PortalLinks(site.store.settings)
    customer = customer_domain(store, GAGGED)
    start = utcnow().replace(microsecond=0)  # the clock the register is given below
    entered = Disclosures(store).enter(
        "staff:ann",
        form((GAGGED,), requestor_email=INVESTIGATOR),
        DisclosureChannel.EMAIL,
        now=start,
    )
    reference = entered.request.reference
    deliver(store, entered.notice_ids, entered.contexts, mailer=site.mailer, links=links)
    Disclosures(store).review("staff:pia", reference, now=start)
    until = start + timedelta(days=90)
    decisions = DisclosureDecisions(store, links)
    decided = decisions.decide(
        "staff:pia",
        reference,
        DisclosureOutcome.PARTLY_DISCLOSED,
        explanation="The order covers the holder's name; the investigation is confidential.",
        approved=(f"{GAGGED} registrant name",),
        gag_reason=GagReason.CRIMINAL_INVESTIGATION,
        notify_after=until,
        now=start + timedelta(minutes=5),
    )
    deliver(store, decided.notice_ids, decided.contexts, mailer=site.mailer, links=links)
    acknowledged, ready = site.sink.wait_for(INVESTIGATOR, count=2)
    assert reference in str(acknowledged.message["Subject"])
    registrant = customer["registrant"].email
    assert customer_notices(site, registrant) == []  # the decision told the customer nothing

    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:  # the requestor has their data while the customer is not told
        page.goto(link_in(ready, site.base_url, "/disclosure-requests/download"))
        with page.expect_download() as started:
            page.get_by_role("button", name="Download").click()
        with zipfile.ZipFile(Path(started.value.path())) as bundle:
            signed = bundle.read(f"disclosure-{reference}.json")
        [domain] = verify_document(signed, public_key(store.settings))["domains"]
        assert [(f["role"], f["field"]) for f in domain["fields"]] == [("registrant", "name")]
    finally:
        context.close()
    assert customer_notices(site, registrant) == []

    assert decisions.notify_due(now=until - timedelta(seconds=1)) == ()  # not yet
    assert customer_notices(site, registrant) == []
    due = decisions.notify_due(now=until + timedelta(hours=1))  # the date has passed
    assert len(due) == 1
    sent = deliver(store, due, {}, mailer=site.mailer, links=links)
    assert [notice.status for notice in sent] == ["sent"]
    assert decisions.notify_due(now=until + timedelta(days=1)) == ()  # once only
    [told] = customer_notices(site, registrant)
    assert str(told["Subject"]) == f"We disclosed some of your registration data ({reference})"
    assert f"{GAGGED}, registrant: Name" in text_of(told)
    assert customer_notices(site, customer["admin"].email) == []
