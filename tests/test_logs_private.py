"""Logs hold no personal data: the demo journey, end to end in one process with every logger at
DEBUG, and no log line carries a private value of a contact it touched.

The journey uses the real parts: the demo data imported, the portal (uvicorn) asked for a new
technical contact over HTTP, the registrant's confirmation from the link an SMTP server received,
staff approving and applying, the notices sent over SMTP, the sync pushing the change to the
sandbox registry over TLS (EPP), WHOIS and RDAP answering, and a few bad inputs on the way.
Every record is scanned both as the product's formatter (`TypesOnlyFormatter`, `LOG_FORMAT`)
writes it and raw (the message with its arguments, and the exception with its full traceback).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from domains import notice_delivery
from domains.changes import Workflow
from domains.db import make_engine
from domains.errors import InterlinkError
from domains.exchange import import_records
from domains.mailer import SmtpMailer
from domains.settings import MailSettings, Settings
from domains.store import Store
from portal.links import PortalLinks
from publishers.registries import load_registries
from publishers.sandbox.server import SandboxRegistry
from publishers.sync.options import SyncOptions
from publishers.sync.worker import SyncWorker
from tests.support.environment import DEMO_FILE
from tests.support.logs import Capture, everything_at_debug, leaks, private_values
from tests.support.mail import SmtpSink
from tests.support.net import free_port
from tests.support.portal import csrf_of
from tests.support.rdds import poll, query, rdds_settings
from tests.support.staff import SUPPORT
from tests.support.sync import sandbox_in_thread
from tui.commands.serve import Services
from tui.demo_services import SANDBOX_CLIENT, SANDBOX_PASSWORD, registries_toml, seed_sandbox

#: The new technical contact the customer asks for: a person, nothing consented.
NEW_TECH = {
    "org": "Quayside Lantern Works Ltd",
    "name": "Philippa Marchbanks",
    "email": "philippa.marchbanks@lantern-works.example.com",
    "voice": "+44 117 496 0731",
    "street": "7 Cooperage Lane",
    "city": "Wolverhampton",
    "postal_code": "WV1 4QT",
    "state": "",
    "country": "GB",
}
#: The registrant's corrected street, as staff enter it.
MOVED = {"street": ["3 Ropewalk Court"]}
#: Loggers of the parts that stand in for the world outside Interlink, not scanned: aiosmtpd is
#: the registrar's mail relay, whose log names the mailboxes it delivers to (it is that server's
#: log, not Interlink's; Interlink's own SMTP client logs nothing of a message).
NOT_INTERLINK = {"mail.log"}
#: The registries the demo's sandbox serves (registries_toml).
SANDBOX_TLDS = {"com", "net", "org", "de", "fr", "nl", "se", "uk", "es", "it"}


def demo_target() -> tuple[str, dict[str, Any]]:
    """A demo domain at a sandbox TLD whose registrant is a person who consented to publish
    nothing, with the house as its tech: its name and its registrant."""
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    contacts = {c["handle"]: c for c in data["contacts"]}
    for domain in data["domains"]:
        registrant = contacts[domain["contacts"]["registrant"]]
        if (
            domain["name"].rsplit(".", 1)[1] in SANDBOX_TLDS
            and domain["name"].isascii()
            and registrant["kind"] == "person"
            and not registrant["consent_fields"]
            and domain["contacts"].get("tech") == "IL-HOUSE"
        ):
            return domain["name"], registrant
    raise AssertionError("the demo data has no domain for this journey")


@pytest.fixture
def journey_settings(store_url: str, tmp_path: Path) -> Iterator[tuple[Settings, SmtpSink]]:
    """Settings over a migrated store (with the test staff), a portal on a free loopback port,
    and mail through a real SMTP server on loopback."""
    sink = SmtpSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    http_port = free_port()
    settings = Settings(
        database_url=store_url,
        data_dir=tmp_path / "data",
        portal_base_url=f"http://127.0.0.1:{http_port}",
        mail=MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, starttls=False),
    )
    settings = rdds_settings(settings, http_port=http_port, whois_port=0)
    try:
        yield settings, sink
    finally:
        smtp.stop()


def confirm_path(sink: SmtpSink, address: str, base_url: str) -> tuple[str, str]:
    """The confirmation link's path and the request's reference, from the mail to `address`."""
    poll(lambda: bool(sink.to(address)), what=f"the confirmation mail to {address}")
    text = sink.to(address)[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(re.escape(base_url) + r"(/confirm/[A-Za-z0-9_-]+)", text)
    reference = re.search(r"CR-[A-Z0-9]{5}-[A-Z0-9]{5}", text)
    assert link and reference, text
    return link.group(1), reference.group(0)


def run_journey(
    store: Store, settings: Settings, sink: SmtpSink, tmp_path: Path, capture: Capture
) -> list[Any]:
    """The demo journey; the contacts it touched (as the store has them at the end)."""
    report = import_records(store, DEMO_FILE, actor="system:demo")
    assert not report.problems
    name, registrant = demo_target()
    mailer = SmtpMailer("127.0.0.1", settings.mail.smtp_port, starttls=False, timeout=5)
    sandbox_db = tmp_path / "sandbox.db"
    asyncio.run(seed_sandbox(store, sandbox_db))
    registry = SandboxRegistry(sandbox_db, clients={SANDBOX_CLIENT: SANDBOX_PASSWORD})
    services = Services(
        store, settings, whois_port=0, http_port=settings.serve.http_port, mailer=mailer
    )
    with sandbox_in_thread(registry), services:
        capture.at_debug()  # uvicorn set its loggers to the serve's level while starting
        base = settings.portal_base_url
        with httpx.Client(base_url=base, timeout=10) as browser:
            # Bad inputs first: a form without its CSRF token, one with a broken address and
            # phone (the form is shown again), and a domain Interlink does not hold (refused too).
            assert browser.post("/change", data={"domain": name, **NEW_TECH}).status_code == 403
            csrf = csrf_of(browser.get("/change").text)
            bad = {**NEW_TECH, "email": "philippa.marchbanks(at)example", "voice": "call me"}
            refused = browser.post("/change", data={"csrf_token": csrf, "domain": name, **bad})
            assert refused.status_code == 422 and "error" in refused.text.lower()
            csrf = csrf_of(browser.get("/change").text)
            unknown = {"csrf_token": csrf, "domain": "never-registered-here.com", **NEW_TECH}
            assert browser.post("/change", data=unknown).status_code == 422  # not ours: refused

            # The JSON API refuses a contact with a broken address (a problem document).
            api_contact = {**NEW_TECH, "street": [NEW_TECH["street"]], "email": "philippa@"}
            problem = httpx.post(
                f"{base}/api/v1/change-requests",
                json={"domain": name, "technical_contact": api_contact},
                timeout=10,
            )
            assert problem.status_code == 422 and "email" in problem.text, problem.text

            # The customer asks for the new technical contact.
            csrf = csrf_of(browser.get("/change").text)
            asked = browser.post("/change", data={"csrf_token": csrf, "domain": name, **NEW_TECH})
            assert asked.status_code == 200, asked.text

            # The registrant confirms from the mailed link.
            path, reference = confirm_path(sink, registrant["email"], base)
            page = browser.get(path)
            assert page.status_code == 200
            confirmed = browser.post(path, data={"csrf_token": csrf_of(page.text)})
            assert confirmed.status_code == 200
            assert browser.get("/confirm/not-a-token").status_code == 400  # a forged link

        # Staff look the registrant up by e-mail (and the new contact by name, once applied).
        assert store.search(registrant["email"], kind="email").hits

        # Staff approve (ann) and apply (bob); the notices go out over SMTP. Support staff
        # (sam) may not decide a request, and are told so.
        flow = Workflow(store)
        with pytest.raises(InterlinkError):
            flow.approve(actor=f"staff:{SUPPORT}", reference=reference)
        flow.approve(actor="staff:ann", reference=reference)
        applied = flow.apply(actor="staff:bob", reference=reference)
        sent = notice_delivery.deliver(
            store, applied.notice_ids, mailer=mailer, links=PortalLinks(settings)
        )
        assert sent and {n.status for n in sent} == {"sent"}
        assert store.search(NEW_TECH["name"], kind="name").hits

        # Staff correct the registrant's street (a stale edit is refused first): a contact
        # update for the registry too.
        current = store.get_contact(registrant["handle"])
        with pytest.raises(InterlinkError):
            store.update_contact("staff:ann", current.handle, current.version - 1, MOVED)
        store.update_contact("staff:ann", current.handle, current.version, MOVED)

        # The sync pushes both changes to the sandbox registry over TLS.
        registries = tmp_path / "registries.toml"
        registries.write_text(registries_toml(registry.port, str(registry.ca_file)))

        async def sync() -> Any:
            regs = load_registries(registries, data_dir=settings.data_dir)
            options = SyncOptions(retry_wait=0.01, retry_wait_max=0.05)
            async with SyncWorker(
                store, regs, options, mailer=mailer, links=PortalLinks(settings)
            ) as worker:
                async with asyncio.timeout(60):
                    return await worker.run_once()

        done = asyncio.run(sync())
        assert done.failed == 0 and done.requests_completed == 1, done
        assert flow.get(reference).state == "completed"
        tech = store.domain_record(name).contact("tech")
        assert tech is not None and tech.email == NEW_TECH["email"]
        snapshot = registry.snapshot()
        assert snapshot.domains[name].handles("tech") == (tech.handle,)
        assert list(snapshot.contacts[registrant["handle"]].street) == MOVED["street"]

        # WHOIS and RDAP answer for the domain, and for one that is not ours.
        assert name in query(services.whois_port, name).lower()
        assert "no match" in query(services.whois_port, "never-registered-here.com").lower()
        with httpx.Client(base_url=services.rdap_url, timeout=10) as rdap:
            assert rdap.get(f"domain/{name}").status_code == 200
            assert rdap.get("domain/never-registered-here.com").status_code == 404
            assert rdap.get("domain/-bad-.com").status_code == 400

    record = store.domain_record(name)
    touched = []
    for role in ("registrant", "admin", "billing", "tech"):
        contact = record.contact(role)
        if contact is not None:
            touched.append(contact)
    return touched


def test_the_demo_journey_logs_no_personal_data(journey_settings, tmp_path: Path) -> None:
    settings, sink = journey_settings
    with everything_at_debug() as capture:
        store = Store.open(settings=settings)
        try:
            touched = run_journey(store, settings, sink, tmp_path, capture)
        finally:
            store.close()

    registrant = demo_target()[1]
    values = private_values([*touched, registrant, {**NEW_TECH, "consent_fields": []}])
    assert {registrant["email"], NEW_TECH["name"], MOVED["street"][0]} <= values.keys()
    ours = [line for line in capture.lines if line.logger not in NOT_INTERLINK]
    theirs = [line for line in capture.lines if line.logger in NOT_INTERLINK]
    # The capture saw the libraries and the product at DEBUG...
    loggers = capture.loggers()
    for expected in (
        "sqlalchemy.engine.Engine",
        "httpx",
        "uvicorn.error",
        "interlink.portal",
        "domains.notice_delivery",
        "publishers.sync.runner",
        "publishers.epp.session",
        "mail.log",
    ):
        assert expected in loggers, sorted(loggers)
    # ... and the scan finds a private value where one is logged: the mail server's log names
    # the registrant's mailbox (a control: the capture and the scan work end to end).
    assert leaks(theirs, {registrant["email"]: "registrant e-mail"})
    found = leaks(ours, values)
    assert not found, "personal data in the logs:\n" + "\n".join(found)


def test_an_engine_logs_and_raises_without_bound_values_or_rows(database_url: str) -> None:
    """The store's engines at DEBUG: the SQL shows, never the values bound to it or the rows
    read; a constraint error's text does not quote the bound values either."""
    engine = make_engine(database_url)
    secret = "ottilie.quarrington@example.org"
    try:
        with everything_at_debug() as capture:
            with engine.begin() as connection:
                connection.execute(text("CREATE TABLE person (email VARCHAR(80) UNIQUE)"))
                connection.execute(text("INSERT INTO person VALUES (:email)"), {"email": secret})
                assert connection.execute(text("SELECT email FROM person")).scalar() == secret
            with pytest.raises(IntegrityError) as raised, engine.begin() as connection:
                connection.execute(text("INSERT INTO person VALUES (:email)"), {"email": secret})
    finally:
        engine.dispose()
    # SQLAlchemy's part of the text hides the parameters; PostgreSQL's own DETAIL line (after
    # the first) may quote the duplicate key, so the product logs such an error by its type (or
    # its first line, as `interlink` prints it), never its whole text.
    error = str(raised.value)
    assert "[SQL parameters hidden due to hide_parameters=True]" in error
    assert secret not in error.splitlines()[0]
    assert secret not in "\n".join(line for line in error.splitlines() if "DETAIL" not in line)
    statements = [line.raw for line in capture.lines if line.logger == "sqlalchemy.engine.Engine"]
    assert any("SELECT email FROM person" in line for line in statements)  # it did log, at DEBUG
    assert any(line.startswith("Col ") for line in statements)
    assert not leaks(capture.lines, {secret: "the bound e-mail address"})
