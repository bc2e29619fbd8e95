"""End to end with real parts: uvicorn on loopback, a real SMTP server, httpx as the browser.

A visitor asks for the change; the registrant's mailbox gets the link; the link's page (GET)
changes nothing; its button (POST) confirms; staff approve; the store, the audit trail, the
registry outbox and every party's mailbox show the change.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy import select

from domains import notice_delivery
from domains.changes import Workflow
from domains.mailer import SmtpMailer
from domains.models import AuditEvent, OutboxEntry
from domains.settings import MailSettings, PortalSettings, Settings
from domains.store import Store
from portal.app import create_app
from portal.links import PortalLinks
from tests.support.factories import make_domain
from tests.support.portal import FORM, csrf_of, serve
from tests.support.staff import seed_staff

WAIT = 10.0


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping (recipients, message) of everything it receives."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls it by this name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    def wait_for(self, count: int) -> list[tuple[list[str], EmailMessage]]:
        """The first `count` messages, waiting for them (mail goes out after the answer)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received[:count])
            time.sleep(0.02)
        raise AssertionError(f"expected {count} messages, got {len(self.received)}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Running:
    base_url: str
    store: Store
    mailbox: Mailbox
    mailer: SmtpMailer


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    """The portal under uvicorn on 127.0.0.1, sending through an SMTP server on loopback."""
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    mailer = SmtpMailer("127.0.0.1", smtp.port, starttls=False, timeout=5)
    stores: list[Store] = []

    def build(base_url: str) -> FastAPI:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'e2e.db'}",
            data_dir=tmp_path / "data",
            portal_base_url=base_url,
            mail=MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, starttls=False),
        )
        stores.append(Store.open(settings=settings))
        seed_staff(stores[0])
        return create_app(stores[0], mailer=mailer, config=PortalSettings(secret="e2e"))

    try:
        with serve(build) as base_url:
            yield Running(base_url, stores[0], mailbox, mailer)
    finally:
        smtp.stop()
        for store in stores:
            store.close()


def recipients(messages: list[tuple[list[str], EmailMessage]]) -> list[str]:
    return sorted(address for rcpt, _ in messages for address in rcpt)


def test_a_change_from_the_portal_form_to_the_registry_outbox(running: Running) -> None:
    store, mailbox = running.store, running.mailbox
    domain, registrant = make_domain(store, "e2e-move.com")
    house = store.house_contact()

    with httpx.Client(base_url=running.base_url, timeout=WAIT) as browser:
        # 1. The visitor fills in the form (with the CSRF cookie and field of the page).
        form = browser.get("/change")
        assert form.status_code == 200 and "interlink_csrf" in browser.cookies
        data = {"csrf_token": csrf_of(form.text), "domain": "e2e-move.com", **FORM}
        data["consent"] = ["org", "email"]
        answer = browser.post("/change", data=data)
        assert answer.status_code == 200
        assert "If e2e-move.com is registered with Interlink, we are" in answer.text

        # 2. The registrant's mailbox (the address on file) receives the link.
        [(to, message)] = mailbox.wait_for(1)
        assert to == [registrant.email]
        text = message.get_body(("plain",)).get_content()
        found = re.search(re.escape(running.base_url) + r"/confirm/[A-Za-z0-9_-]+", text)
        assert found, text
        link = found.group(0)
        reference = re.search(r"CR-[A-Z0-9]{5}-[A-Z0-9]{5}", text).group(0)  # type: ignore[union-attr]
        flow = Workflow(store)

        # 3. Following the link shows the request and changes nothing.
        page = browser.get(link)
        assert page.status_code == 200 and "Confirm</button>" in page.text
        assert flow.get(reference).state == "submitted"

        # 4. The button confirms.
        confirmed = browser.post(link, data={"csrf_token": csrf_of(page.text)})
        assert confirmed.status_code == 200
        assert "Confirmed; Interlink staff will review it." in confirmed.text
        assert flow.get(reference).state == "confirmed"
        confirmations = mailbox.wait_for(4)[1:]
        assert recipients(confirmations) == sorted([registrant.email, house.email, FORM["email"]])

        # 5. Staff approve; the change is applied and its notices delivered.
        outcome = flow.approve_and_apply(actor="staff:bob", reference=reference)
        assert outcome.request.state == "applied"
        sent = notice_delivery.deliver(
            store, outcome.notice_ids, mailer=running.mailer, links=PortalLinks(store.settings)
        )
        assert {n.status for n in sent} == {"sent"}
        status = browser.get(f"/status/{reference}")
        assert "sent to the registry" in status.text

    approvals = mailbox.wait_for(7)[4:]
    assert recipients(approvals) == sorted([registrant.email, house.email, FORM["email"]])
    for _, message in approvals:
        assert (
            reference in str(message["Subject"])
            or reference in message.get_body(("plain",)).get_content()
        )

    # The store shows the new technical contact...
    tech = store.domain_record("e2e-move.com").contact("tech")
    assert tech is not None and tech.id != house.id
    assert (tech.org, tech.email, tech.city, tech.country) == (
        FORM["org"],
        FORM["email"],
        FORM["city"],
        FORM["country"],
    )
    assert tech.consent_fields == ["org", "email"] and tech.consent_method == "portal"
    with store.read() as session:
        # ... the audit trail has every step ...
        events = list(
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.request_ref == reference)
                .order_by(AuditEvent.id)
            ).scalars()
        )
        # ... and the outbox has the registry change.
        entries = list(
            session.execute(select(OutboxEntry).where(OutboxEntry.domain_id == domain.id)).scalars()
        )
    actions = [e.action for e in events]
    for step in (
        "change.submit",
        "change.confirm",
        "change.approve",
        "contact.create",
        "domain.assign",
        "change.apply",
    ):
        assert step in actions, actions
    assert actions.index("change.submit") < actions.index("change.confirm")
    assert actions.index("change.confirm") < actions.index("change.approve")
    assert next(e for e in events if e.action == "change.approve").actor == "staff:bob"
    assert next(e for e in events if e.action == "change.submit").actor == "customer:portal"
    moves = [e for e in entries if e.kind == "domain.tech_move"]
    assert len(moves) == 1
    assert moves[0].payload["request"] == reference
    assert moves[0].payload["new_tech"] == tech.handle
    assert moves[0].payload["old_tech"] == house.handle
